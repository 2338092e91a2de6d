//! An in-memory provider for tests (feature `testing`): every kind, with
//! scripted failures, an ambiguous-create mode and a call log.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use apprun_schema::{Address, Kind};
use serde_json::{Value, json};

use crate::live::{Deployment, LogEvent, LogQuery};
use crate::provider::{Applied, Observed, Progress, Provider, ProviderError, ResourceRequest};

/// One resource the fake provider holds.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeResource {
    /// The address it was created for.
    pub address: Address,
    /// Its name.
    pub name: String,
    /// Its attributes as last written (secrets in clear: test data only).
    pub attributes: Value,
    /// Its outputs.
    pub outputs: BTreeMap<String, Value>,
}

/// A scripted failure.
#[derive(Debug, Clone)]
pub enum FakeFailure {
    /// Fail with this error.
    Error(ProviderError),
    /// Do the create, then report an ambiguous outcome.
    CommitThenAmbiguous,
    /// Do the create's primary call, then fail a follow-up call with this
    /// error (a policy that does not exist, a service that ends
    /// `CREATE_FAILED`). Once only: the next create or update succeeds.
    FollowUpFails(ProviderError),
}

/// The in-memory provider.
#[derive(Debug, Default)]
pub struct FakeProvider {
    resources: Mutex<BTreeMap<String, FakeResource>>,
    failures: Mutex<BTreeMap<(String, Address), FakeFailure>>,
    calls: Mutex<Vec<String>>,
    counter: Mutex<u64>,
    delay: Option<Duration>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeProvider {
    /// An empty provider.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every call waits this long (to test concurrency and stops).
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Makes `operation` (`create`, `update`, `delete`, `read`, `find`) on
    /// `address` fail.
    pub fn fail(&self, operation: &str, address: &Address, failure: FakeFailure) {
        lock(&self.failures).insert((operation.to_string(), address.clone()), failure);
    }

    /// Makes `operation` on `address` succeed again.
    pub fn heal(&self, operation: &str, address: &Address) {
        lock(&self.failures).remove(&(operation.to_string(), address.clone()));
    }

    /// The calls made, as `operation address` lines, in order.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }

    /// The mutating calls made.
    pub fn mutating_calls(&self) -> usize {
        lock(&self.calls)
            .iter()
            .filter(|c| !c.starts_with("read") && !c.starts_with("find"))
            .count()
    }

    /// The resources it holds, by physical id.
    pub fn resources(&self) -> BTreeMap<String, FakeResource> {
        lock(&self.resources).clone()
    }

    fn log(&self, line: String) {
        lock(&self.calls).push(line);
    }

    fn failure(&self, operation: &str, address: &Address) -> Option<FakeFailure> {
        lock(&self.failures)
            .get(&(operation.to_string(), address.clone()))
            .cloned()
    }

    async fn pause(&self) {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
    }

    fn outputs(&self, address: &Address, name: &str, id: &str) -> BTreeMap<String, Value> {
        let mut outputs = BTreeMap::new();
        outputs.insert("arn".to_string(), json!(id));
        outputs.insert("name".to_string(), json!(name));
        match address.kind {
            Kind::Repository => {
                outputs.insert(
                    "uri".into(),
                    json!(format!(
                        "111122223333.dkr.ecr.us-east-1.amazonaws.com/{name}"
                    )),
                );
            }
            Kind::Service => {
                outputs.insert("url".into(), json!(format!("https://{name}.fake.local")));
                outputs.insert("id".into(), json!(id.rsplit('/').next().unwrap_or(id)));
            }
            Kind::AutoScaling | Kind::VpcConnector | Kind::Observability => {
                outputs.insert("revision".into(), json!("1"));
            }
            Kind::Connection => {
                outputs.insert("status".into(), json!("AVAILABLE"));
            }
            Kind::Domain => {
                outputs.remove("arn");
                outputs.insert("domain".into(), json!(name));
                outputs.insert("dns_target".into(), json!("fake.awsapprunner.com"));
                outputs.insert("status".into(), json!("active"));
                outputs.insert("validation_records".into(), json!([]));
            }
            Kind::VpcIngress => {
                outputs.insert("domain_name".into(), json!(format!("{name}.fake.local")));
            }
            Kind::Role => {}
        }
        outputs
    }
}

impl Provider for FakeProvider {
    fn target(&self) -> &str {
        "fake"
    }

    async fn read(
        &self,
        _kind: Kind,
        physical_id: &str,
        _recorded: &Value,
    ) -> Result<Option<Observed>, ProviderError> {
        self.log(format!("read {physical_id}"));
        let address = lock(&self.resources)
            .get(physical_id)
            .map(|r| r.address.clone());
        if let Some(FakeFailure::Error(error)) =
            address.and_then(|address| self.failure("read", &address))
        {
            return Err(error);
        }
        Ok(lock(&self.resources).get(physical_id).map(|r| Observed {
            attributes: r.attributes.clone(),
            outputs: r.outputs.clone(),
            failed: None,
        }))
    }

    async fn claim(
        &self,
        _kind: Kind,
        _physical_id: &str,
        _stack: &str,
        address: &Address,
    ) -> Result<(), ProviderError> {
        self.log(format!("claim {address}"));
        Ok(())
    }

    async fn find_owned(
        &self,
        _stack: &str,
        address: &Address,
        name: &str,
    ) -> Result<Option<Applied>, ProviderError> {
        self.log(format!("find {address}"));
        if let Some(FakeFailure::Error(error)) = self.failure("find", address) {
            return Err(error);
        }
        Ok(lock(&self.resources)
            .iter()
            .find(|(_, r)| &r.address == address && r.name == name)
            .map(|(id, r)| Applied {
                physical_id: id.clone(),
                outputs: r.outputs.clone(),
            }))
    }

    async fn create(&self, request: &ResourceRequest<'_>) -> Result<Applied, ProviderError> {
        self.log(format!("create {}", request.address));
        self.pause().await;
        let failure = self.failure("create", request.address);
        if let Some(FakeFailure::Error(error)) = failure {
            return Err(error);
        }
        // Auto scaling and observability configurations take a new
        // revision under the same name.
        if !matches!(
            request.address.kind,
            Kind::AutoScaling | Kind::Observability
        ) && lock(&self.resources)
            .values()
            .any(|r| r.address.kind == request.address.kind && r.name == request.name)
        {
            return Err(ProviderError::AlreadyExists {
                what: format!("{} `{}`", request.address.kind.noun(), request.name),
            });
        }
        let n = {
            let mut counter = lock(&self.counter);
            *counter += 1;
            *counter
        };
        let id = format!(
            "fake:{}/{}/{n}",
            request.address.kind.section(),
            request.name
        );
        let outputs = self.outputs(request.address, request.name, &id);
        lock(&self.resources).insert(
            id.clone(),
            FakeResource {
                address: request.address.clone(),
                name: request.name.to_string(),
                attributes: request.attributes.clone(),
                outputs: outputs.clone(),
            },
        );
        let applied = Applied {
            physical_id: id.clone(),
            outputs: outputs.clone(),
        };
        request.created.report(&applied).await?;
        if let Some(FakeFailure::FollowUpFails(error)) = failure {
            lock(&self.failures).remove(&("create".to_string(), request.address.clone()));
            return Err(error);
        }
        (request.progress)(request.address, "created");
        if let Some(FakeFailure::CommitThenAmbiguous) = failure {
            return Err(ProviderError::Ambiguous {
                operation: "Create".to_string(),
                message: "connection dropped after the request was sent".to_string(),
            });
        }
        Ok(Applied {
            physical_id: id,
            outputs,
        })
    }

    async fn update(
        &self,
        physical_id: &str,
        request: &ResourceRequest<'_>,
        changed: &[String],
    ) -> Result<Applied, ProviderError> {
        self.log(format!("update {} {}", request.address, changed.join(",")));
        self.pause().await;
        if let Some(FakeFailure::Error(error)) = self.failure("update", request.address) {
            return Err(error);
        }
        let mut resources = lock(&self.resources);
        let resource = resources
            .get_mut(physical_id)
            .ok_or_else(|| ProviderError::NotFound {
                what: physical_id.to_string(),
            })?;
        resource.attributes = request.attributes.clone();
        Ok(Applied {
            physical_id: physical_id.to_string(),
            outputs: resource.outputs.clone(),
        })
    }

    async fn delete(
        &self,
        kind: Kind,
        physical_id: &str,
        _recorded: &Value,
        _progress: Progress,
    ) -> Result<(), ProviderError> {
        let address = lock(&self.resources)
            .get(physical_id)
            .map(|r| r.address.clone());
        self.log(format!(
            "delete {}",
            address.as_ref().map_or_else(
                || format!("{} {physical_id}", kind.section()),
                ToString::to_string
            )
        ));
        self.pause().await;
        if let Some(address) = &address
            && let Some(FakeFailure::Error(error)) = self.failure("delete", address)
        {
            return Err(error);
        }
        lock(&self.resources).remove(physical_id);
        Ok(())
    }

    /// Redeploys in place: the resource's attributes become the request's;
    /// the operation id counts deployments.
    async fn deploy(
        &self,
        physical_id: &str,
        request: &ResourceRequest<'_>,
    ) -> Result<Deployment, ProviderError> {
        self.log(format!("deploy {}", request.address));
        self.pause().await;
        if let Some(FakeFailure::Error(error)) = self.failure("deploy", request.address) {
            return Err(error);
        }
        let mut resources = lock(&self.resources);
        let resource = resources
            .get_mut(physical_id)
            .ok_or_else(|| ProviderError::NotFound {
                what: physical_id.to_string(),
            })?;
        resource.attributes = request.attributes.clone();
        let n = {
            let mut counter = lock(&self.counter);
            *counter += 1;
            *counter
        };
        Ok(Deployment {
            operation_id: Some(format!("deployment-{n}")),
            image_digest: None,
        })
    }

    /// One event per call so far, at the call's index (ms); a resource it
    /// does not hold has no log yet.
    async fn logs(
        &self,
        physical_id: &str,
        _recorded: &Value,
        query: LogQuery,
    ) -> Result<Vec<LogEvent>, ProviderError> {
        if !lock(&self.resources).contains_key(physical_id) {
            return Err(ProviderError::NotFound {
                what: format!("the log of {physical_id}"),
            });
        }
        let source = if query.system {
            "service"
        } else {
            "application"
        };
        Ok(self
            .calls()
            .into_iter()
            .enumerate()
            .filter_map(|(i, call)| {
                let at_ms = i64::try_from(i).ok()?;
                (query.since_ms.is_none_or(|since| at_ms >= since)).then(|| LogEvent {
                    at_ms,
                    source: source.to_owned(),
                    message: call,
                })
            })
            .collect())
    }
}
