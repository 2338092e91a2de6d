//! The S3 state backend: [`S3Store`] implements [`Storage`] and [`Locker`]
//! (hence `StateStore`) on one S3 object per state.
//!
//! - State at `key`, previous version at `<key>.backup`, verified on read
//!   with [`apprun_state::format::decode`].
//! - Writes are compare-and-swap: `PutObject` with `If-Match: <etag read>`
//!   (or `If-None-Match: *` for the first write), so a writer that lost its
//!   lock cannot overwrite a newer state (P3).
//! - Journal batches (`Storage::append`) take the trait's default: a whole
//!   state write per batch, so an apply of N resources writes O(N^2) bytes
//!   here (the local store appends O(batch) instead). A known limit (issue
//!   16 item 7): batch objects under a `<key>.journal/` prefix, each a
//!   conditional create of its serial, folded like the local journal, are
//!   the next step. `Storage::fold` has nothing to do.
//! - The lock is `<key>.lock`, taken with a conditional create
//!   (`If-None-Match: *`); its body is the holder's [`LockInfo`], so a second
//!   locker's error names the holder.
//!
//! The traits are synchronous. Every S3 call runs on a private tokio runtime
//! and the caller waits on a channel, so the store works from plain threads,
//! from `spawn_blocking` and even from inside an async task without the
//! "runtime within a runtime" panic; the runtime is shut down in the
//! background on drop, which never blocks.

use std::future::Future;
use std::sync::Arc;

use apprun_state::format::decode;
use apprun_state::{
    Generation, LockAttempt, LockError, LockGuard, LockInfo, LockRelease, LockRequest, LockStatus,
    Locker, Snapshot, StaleLock, StateError, Storage, wait_for_lock,
};
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A state stored in S3 (or an S3-compatible endpoint).
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Option<tokio::runtime::Runtime>,
    client: Client,
    bucket: String,
    key: String,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.inner.bucket)
            .field("key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

/// One object as read: its bytes and ETag.
struct Object {
    bytes: Vec<u8>,
    etag: Option<String>,
}

/// Why a conditional put did not happen.
enum PutError {
    /// The condition failed (412, or 409 for a concurrent conditional write).
    Condition,
    /// Anything else.
    Other(String, BoxError),
}

impl S3Store {
    /// A store for `s3://bucket/key` with the given AWS configuration
    /// (credentials, region, endpoint; an IP endpoint such as 127.0.0.1
    /// uses path-style addressing by itself).
    pub fn new(
        config: &SdkConfig,
        bucket: impl Into<String>,
        key: impl Into<String>,
    ) -> Result<Self, StateError> {
        let s3 = aws_sdk_s3::config::Builder::from(config).build();
        Self::with_client(Client::from_conf(s3), bucket, key)
    }

    /// A store for `s3://bucket/key` with the standard credential chain,
    /// profile, region and `AWS_ENDPOINT_URL[_S3]` resolution.
    pub fn from_env(bucket: impl Into<String>, key: impl Into<String>) -> Result<Self, StateError> {
        Self::from_env_in_region(bucket, key, None)
    }

    /// Like [`S3Store::from_env`], with the bucket's region when it is known
    /// (the stack's `state.region`, or its region).
    pub fn from_env_in_region(
        bucket: impl Into<String>,
        key: impl Into<String>,
        region: Option<String>,
    ) -> Result<Self, StateError> {
        let (bucket, key) = (bucket.into(), key.into());
        let runtime = new_runtime(&bucket, &key)?;
        let config = block_on(&runtime, &location_of(&bucket, &key), async {
            let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
            let loader = match region {
                Some(region) => loader.region(aws_config::Region::new(region)),
                None => loader,
            };
            loader.load().await
        })?;
        let force_path_style = std::env::var("AWS_S3_FORCE_PATH_STYLE")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(force_path_style)
            .build();
        Ok(S3Store {
            inner: Arc::new(Inner {
                runtime: Some(runtime),
                client: Client::from_conf(s3),
                bucket,
                key,
            }),
        })
    }

    /// A store using an S3 client built by the caller.
    pub fn with_client(
        client: Client,
        bucket: impl Into<String>,
        key: impl Into<String>,
    ) -> Result<Self, StateError> {
        let (bucket, key) = (bucket.into(), key.into());
        let runtime = new_runtime(&bucket, &key)?;
        Ok(S3Store {
            inner: Arc::new(Inner {
                runtime: Some(runtime),
                client,
                bucket,
                key,
            }),
        })
    }

    /// Parses `s3://bucket/key` into bucket and key.
    pub fn parse_url(url: &str) -> Option<(String, String)> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/')?;
        (!bucket.is_empty() && !key.is_empty()).then(|| (bucket.to_owned(), key.to_owned()))
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.inner.key)
    }

    fn backup_key(&self) -> String {
        format!("{}.backup", self.inner.key)
    }

    fn backup_location(&self) -> String {
        location_of(&self.inner.bucket, &self.backup_key())
    }

    /// Runs `fut` on the private runtime and waits for it.
    fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, (String, BoxError)> {
        match &self.inner.runtime {
            Some(rt) => block_on(rt, &self.location(), fut).map_err(|e| {
                (
                    "the S3 client's runtime stopped".to_owned(),
                    Box::new(e) as BoxError,
                )
            }),
            None => Err((
                "the S3 client's runtime is gone".to_owned(),
                "no runtime".into(),
            )),
        }
    }

    /// The region the client sends to, for messages.
    fn region(&self) -> String {
        self.inner
            .client
            .config()
            .region()
            .map_or_else(|| "(no region)".to_owned(), ToString::to_string)
    }

    /// Reads an object; `None` if absent.
    fn get(&self, key: String) -> Result<Option<Object>, (String, BoxError)> {
        let client = self.inner.client.clone();
        let bucket = self.inner.bucket.clone();
        let region = self.region();
        self.run(async move {
            let out = match client.get_object().bucket(bucket).key(&key).send().await {
                Ok(out) => out,
                Err(e) => {
                    let absent = e.as_service_error().is_some_and(|s| s.is_no_such_key())
                        || e.raw_response().is_some_and(|r| r.status().as_u16() == 404);
                    return if absent {
                        Ok(None)
                    } else {
                        Err((
                            explain("GetObject", &key, &region, &e),
                            Box::new(e) as BoxError,
                        ))
                    };
                }
            };
            let etag = out.e_tag().map(str::to_owned);
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| (format!("reading {key}: {e}"), Box::new(e) as BoxError))?;
            Ok(Some(Object {
                bytes: bytes.into_bytes().to_vec(),
                etag,
            }))
        })?
    }

    /// Puts an object; `if_match`: `Some(etag)` for a swap, `Some("*")` with
    /// `create_only` for a create, `None` unconditional.
    fn put(
        &self,
        key: String,
        body: Vec<u8>,
        condition: Condition,
    ) -> Result<Option<String>, PutError> {
        let client = self.inner.client.clone();
        let bucket = self.inner.bucket.clone();
        let region = self.region();
        let out = self.run(async move {
            let mut req = client
                .put_object()
                .bucket(bucket)
                .key(&key)
                .content_type("application/json")
                .body(ByteStream::from(body));
            req = match condition {
                Condition::None => req,
                Condition::Absent => req.if_none_match("*"),
                Condition::Etag(etag) => req.if_match(etag),
            };
            match req.send().await {
                Ok(out) => Ok(out.e_tag().map(str::to_owned)),
                Err(e) => {
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    if matches!(status, Some(412) | Some(409)) {
                        Err(PutError::Condition)
                    } else {
                        Err(PutError::Other(
                            explain("PutObject", &key, &region, &e),
                            Box::new(e),
                        ))
                    }
                }
            }
        });
        match out {
            Ok(r) => r,
            Err((d, e)) => Err(PutError::Other(d, e)),
        }
    }

    /// Deletes an object (absent is fine).
    fn delete(&self, key: String) -> Result<(), (String, BoxError)> {
        self.delete_if(key, None).map(|_| ())
    }

    /// Deletes an object if its ETag is still `etag` (`None`: whatever it
    /// holds). `Ok(false)`: it changed since, and is left alone.
    fn delete_if(&self, key: String, etag: Option<String>) -> Result<bool, (String, BoxError)> {
        let client = self.inner.client.clone();
        let bucket = self.inner.bucket.clone();
        let region = self.region();
        self.run(async move {
            match client
                .delete_object()
                .bucket(bucket)
                .key(&key)
                .set_if_match(etag)
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(412) => Ok(false),
                Err(e) => Err((
                    explain("DeleteObject", &key, &region, &e),
                    Box::new(e) as BoxError,
                )),
            }
        })?
    }

    fn state_err(&self, (detail, source): (String, BoxError)) -> StateError {
        StateError::Backend {
            location: self.location(),
            detail,
            source: Some(source),
        }
    }

    fn lock_err(&self, (detail, source): (String, BoxError)) -> LockError {
        LockError::Backend {
            location: location_of(&self.inner.bucket, &self.lock_key()),
            detail,
            source: Some(source),
        }
    }

    /// The current state: its object and the verified snapshot.
    fn read_current(&self) -> Result<Option<(Object, Snapshot)>, StateError> {
        let location = self.location();
        match self
            .get(self.inner.key.clone())
            .map_err(|e| self.state_err(e))?
        {
            Some(object) => {
                let backup = self.backup_location();
                let snapshot = decode(&object.bytes, &location, Some(&backup))?;
                Ok(Some((object, snapshot)))
            }
            None => {
                let backup = self.get(self.backup_key()).map_err(|e| self.state_err(e))?;
                match backup {
                    Some(_) => Err(StateError::Missing {
                        location,
                        detail: "the state object is gone but its backup remains".to_owned(),
                        backup: Some(self.backup_location()),
                    }),
                    None => Ok(None),
                }
            }
        }
    }

    /// The compare half of the compare-and-swap (shared with every backend).
    fn check_stored(
        &self,
        stored: Option<&Snapshot>,
        snapshot: &Snapshot,
        expected: Option<&Generation>,
    ) -> Result<(), StateError> {
        apprun_state::check_stored(
            &self.location(),
            stored.map(Snapshot::generation).as_ref(),
            &snapshot.lineage,
            expected,
            None,
        )
    }

    /// The lock record: `None` if there is no lock object, `Some(Err)` if
    /// its body is unreadable.
    fn read_lock(&self) -> Result<Option<Result<LockInfo, String>>, LockError> {
        let object = self.get(self.lock_key()).map_err(|e| self.lock_err(e))?;
        Ok(object.map(|o| serde_json::from_slice::<LockInfo>(&o.bytes).map_err(|e| e.to_string())))
    }
}

enum Condition {
    None,
    Absent,
    Etag(String),
}

fn location_of(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

fn new_runtime(bucket: &str, key: &str) -> Result<tokio::runtime::Runtime, StateError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("apprun-s3-state")
        .enable_all()
        .build()
        .map_err(|e| StateError::Io {
            location: location_of(bucket, key),
            action: "start the S3 client runtime for",
            source: e,
        })
}

/// Spawns `fut` on `rt` and waits for it on a channel (never `block_on`, so
/// it is safe inside another runtime's context).
fn block_on<T: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    location: &str,
    fut: impl Future<Output = T> + Send + 'static,
) -> Result<T, StateError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv().map_err(|_| StateError::Backend {
        location: location.to_owned(),
        detail: "the S3 client's runtime stopped before answering".to_owned(),
        source: None,
    })
}

/// What an S3 failure of `operation` on `key` means and what to do, in a
/// sentence: a missing bucket, access denied, a bucket in another region;
/// else the SDK's own chain.
fn explain<E, R>(
    operation: &str,
    key: &str,
    region: &str,
    error: &aws_sdk_s3::error::SdkError<E, R>,
) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = error
        .as_service_error()
        .and_then(|e| e.code())
        .unwrap_or_default();
    let why = match code {
        "NoSuchBucket" => "the bucket does not exist: create it, or fix `state.bucket`".to_owned(),
        "AccessDenied" | "AllAccessDisabled" | "InvalidAccessKeyId" => format!(
            "{code}: the credentials in use may not use it; they need s3:GetObject, s3:PutObject and s3:DeleteObject on the key and its `.lock` and `.backup` objects"
        ),
        "PermanentRedirect"
        | "AuthorizationHeaderMalformed"
        | "IllegalLocationConstraintException" => format!(
            "{code}: the bucket is not in {region}; set `state.region` to the bucket's region"
        ),
        _ => DisplayErrorContext(error).to_string(),
    };
    format!("{operation} {key} (region {region}): {why}")
}

impl Storage for S3Store {
    fn location(&self) -> String {
        location_of(&self.inner.bucket, &self.inner.key)
    }

    fn read(&self) -> Result<Option<Snapshot>, StateError> {
        Ok(self.read_current()?.map(|(_, s)| s))
    }

    fn write(&self, snapshot: &Snapshot, expected: Option<&Generation>) -> Result<(), StateError> {
        let location = self.location();
        let bytes = apprun_state::prepare_write(snapshot, expected, &location)?;

        let current = self.read_current()?;
        self.check_stored(current.as_ref().map(|(_, s)| s), snapshot, expected)?;
        let condition = match &current {
            Some((object, _)) => {
                // Keep the version we replace. Written before the swap: if
                // the swap then fails, the backup is still a valid state.
                self.put(self.backup_key(), object.bytes.clone(), Condition::None)
                    .map_err(|e| match e {
                        PutError::Other(d, s) => self.state_err((d, s)),
                        PutError::Condition => StateError::Backend {
                            location: self.backup_location(),
                            detail: "unconditional backup write refused".to_owned(),
                            source: None,
                        },
                    })?;
                match &object.etag {
                    Some(etag) => Condition::Etag(etag.clone()),
                    None => {
                        return Err(StateError::Backend {
                            location,
                            detail: "the stored object has no ETag; cannot compare-and-swap"
                                .to_owned(),
                            source: None,
                        });
                    }
                }
            }
            None => Condition::Absent,
        };
        match self.put(self.inner.key.clone(), bytes.clone(), condition) {
            Ok(_) => Ok(()),
            Err(PutError::Other(d, s)) => Err(self.state_err((d, s))),
            Err(PutError::Condition) => {
                // Someone wrote in between (or our own earlier attempt landed
                // and the SDK retried it): look at what is there now.
                let now = self.read_current()?;
                if let Some((object, _)) = &now
                    && object.bytes == bytes
                {
                    return Ok(());
                }
                self.check_stored(now.as_ref().map(|(_, s)| s), snapshot, expected)?;
                Err(StateError::StaleSerial {
                    location,
                    stored: now.as_ref().map_or(0, |(_, s)| s.serial),
                    given: expected.map_or(0, |e| e.serial),
                })
            }
        }
    }
}

struct S3Release {
    store: S3Store,
    id: String,
    /// The ETag of the lock object this holder wrote.
    etag: Option<String>,
}

impl LockRelease for S3Release {
    /// Deletes the lock object only if it is still the one this holder
    /// wrote: the id it names is ours, and (`If-Match`) it has not changed
    /// since, so a lock taken over between the read and the delete stays.
    fn release(self: Box<Self>) -> Result<(), LockError> {
        match self.store.read_lock()? {
            Some(Ok(info)) if info.id.as_str() == self.id => self
                .store
                .delete_if(self.store.lock_key(), self.etag.clone())
                .map(|_| ())
                .map_err(|e| self.store.lock_err(e)),
            // Gone or taken over (force-unlocked): nothing of ours to remove.
            _ => Ok(()),
        }
    }
}

impl Locker for S3Store {
    fn lock(&self, request: &LockRequest) -> Result<LockGuard, LockError> {
        let lock_location = location_of(&self.inner.bucket, &self.lock_key());
        let info = LockInfo::for_current_process(request).map_err(|e| LockError::Io {
            location: lock_location.clone(),
            action: "make an id for",
            source: e,
        })?;
        let body = serde_json::to_vec_pretty(&info).map_err(|e| LockError::Backend {
            location: lock_location.clone(),
            detail: format!("cannot encode the lock record: {e}"),
            source: None,
        })?;
        let mut stale = None;
        wait_for_lock(request, &self.location(), || {
            match self.put(self.lock_key(), body.clone(), Condition::Absent) {
                Ok(etag) => {
                    return Ok(LockAttempt::Acquired(LockGuard::new(
                        info.clone(),
                        stale.take(),
                        Box::new(S3Release {
                            store: self.clone(),
                            id: info.id.to_string(),
                            etag,
                        }),
                    )));
                }
                Err(PutError::Other(d, s)) => return Err(self.lock_err((d, s))),
                Err(PutError::Condition) => {}
            }
            Ok(match self.read_lock()? {
                // Released in between: try again at once.
                None => LockAttempt::Retry,
                Some(Ok(h)) if h.holder_running() == Some(false) => {
                    tracing::warn!(
                        "stale lock record from pid {} on {} (not running); taking over the lock on {}",
                        h.pid,
                        h.host,
                        self.location()
                    );
                    self.delete(self.lock_key()).map_err(|e| self.lock_err(e))?;
                    stale = Some(StaleLock {
                        record: Some(h),
                        holder_running: Some(false),
                    });
                    LockAttempt::Retry
                }
                Some(Ok(h)) => LockAttempt::Held(Some(Box::new(h))),
                Some(Err(_)) => LockAttempt::Held(None),
            })
        })
    }

    fn force_unlock(&self, id: &str) -> Result<(), LockError> {
        match self.read_lock()? {
            None => Err(LockError::NotLocked {
                location: self.location(),
            }),
            Some(Ok(h)) if h.id.as_str() != id => Err(LockError::IdMismatch {
                location: self.location(),
                given: id.to_owned(),
                holder: Some(Box::new(h)),
            }),
            Some(Ok(h)) if h.holder_running() == Some(true) => Err(LockError::HolderRunning {
                location: self.location(),
                holder: Some(Box::new(h)),
            }),
            Some(Ok(_)) => self.delete(self.lock_key()).map_err(|e| self.lock_err(e)),
            Some(Err(_)) => Err(LockError::IdMismatch {
                location: self.location(),
                given: id.to_owned(),
                holder: None,
            }),
        }
    }

    fn lock_status(&self) -> Result<LockStatus, LockError> {
        Ok(match self.read_lock()? {
            None => LockStatus::Free,
            Some(Ok(h)) if h.holder_running() == Some(false) => LockStatus::Stale(StaleLock {
                record: Some(h),
                holder_running: Some(false),
            }),
            Some(Ok(h)) => LockStatus::Held(Some(h)),
            Some(Err(_)) => LockStatus::Held(None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_urls() {
        assert_eq!(
            S3Store::parse_url("s3://bucket/stacks/shop.json"),
            Some(("bucket".to_owned(), "stacks/shop.json".to_owned()))
        );
        assert_eq!(S3Store::parse_url("s3://bucket"), None);
        assert_eq!(S3Store::parse_url("file:///x"), None);
    }
}
