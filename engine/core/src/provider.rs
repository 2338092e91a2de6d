//! The one door to the outside world: the `Provider` trait that the AWS and
//! Docker targets implement, and its error type.
//!
//! A provider receives attributes in the normalized shape of
//! [`crate::desired`] with every `${...}` reference already resolved and
//! sensitive values in clear (in memory only), and returns what it saw in
//! the same shape. It never sees YAML and never touches state: the engine
//! journals before and records after every call.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use apprun_schema::{Address, Kind};
use miette::Diagnostic;
use serde_json::Value;
use thiserror::Error;

use crate::live::{Deployment, LiveStatus, LogEvent, LogQuery};

/// The tag (or label) naming the stack that owns a resource: every target
/// puts it on what it creates, and `discover` reads it.
pub const STACK_TAG: &str = "apprun:stack";
/// The tag naming the address (`services.web`) a resource was made for.
pub const ADDRESS_TAG: &str = "apprun:address";

/// Progress messages from a long operation ("waiting for the deployment").
pub type Progress = Arc<dyn Fn(&Address, &str) + Send + Sync>;

/// What [`Created::report`] returns: done once the record is durable.
type Recording = Pin<Box<dyn Future<Output = Result<(), ProviderError>> + Send>>;

/// Where a create reports that its resource exists, the moment its primary
/// call succeeded and before any follow-up call (policies, lifecycle,
/// tags, waiting): the engine journals the resource as incomplete, so a
/// follow-up that fails, or a crash, leaves it in state and never in the
/// provider alone. A create may report more than once (each replica of a
/// local service): the last report is the one recorded.
#[derive(Clone, Default)]
pub struct Created(Option<Arc<dyn Fn(Applied) -> Recording + Send + Sync>>);

impl Created {
    /// A hook that runs `record` on each report.
    pub fn new<F, Fut>(record: F) -> Self
    where
        F: Fn(Applied) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ProviderError>> + Send + 'static,
    {
        Created(Some(Arc::new(move |applied| Box::pin(record(applied)))))
    }

    /// A hook that records nothing (benchmarks, tests of one provider).
    pub fn ignore() -> Self {
        Created(None)
    }

    /// Reports that the resource exists as `applied` says; returns once the
    /// engine recorded it. An error means the state could not be written:
    /// stop and return it.
    pub async fn report(&self, applied: &Applied) -> Result<(), ProviderError> {
        match &self.0 {
            Some(record) => record(applied.clone()).await,
            None => Ok(()),
        }
    }
}

/// One resource to create or update.
#[derive(Clone)]
pub struct ResourceRequest<'a> {
    /// The stack's name (for ownership tags and labels).
    pub stack: &'a str,
    /// The resource's address (for ownership tags and labels).
    pub address: &'a Address,
    /// Its physical name.
    pub name: &'a str,
    /// Attributes, references resolved, secrets in clear.
    pub attributes: &'a Value,
    /// The outputs of the resources it depends on, by address.
    pub dependencies: &'a BTreeMap<Address, BTreeMap<String, Value>>,
    /// Where to report progress while waiting.
    pub progress: Progress,
    /// Where a create reports that its resource exists, before any
    /// follow-up call (ignored by updates).
    pub created: Created,
}

impl std::fmt::Debug for ResourceRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Attributes may hold secrets: never print them.
        f.debug_struct("ResourceRequest")
            .field("stack", &self.stack)
            .field("address", &self.address)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What a create or update produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The provider's id for the resource (an ARN on AWS).
    pub physical_id: String,
    /// Outputs that references may use (`arn`, `url`, `uri`, ...).
    pub outputs: BTreeMap<String, Value>,
}

/// What a read saw.
#[derive(Clone, PartialEq)]
pub struct Observed {
    /// Attributes in the normalized shape, secrets in clear (the engine
    /// seals them before comparing or storing).
    pub attributes: Value,
    /// Current outputs.
    pub outputs: BTreeMap<String, Value>,
    /// Set when the resource can only be deleted (App Runner
    /// `CREATE_FAILED`), with the reason.
    pub failed: Option<String>,
}

impl std::fmt::Debug for Observed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observed")
            .field("outputs", &self.outputs)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

/// A provider failure, classified by what the engine should do about it.
/// Messages never contain secret values.
#[derive(Debug, Clone, Error, Diagnostic, PartialEq)]
#[non_exhaustive]
pub enum ProviderError {
    /// The API throttled us and retries ran out.
    #[error("{operation} was throttled: {message}")]
    #[diagnostic(
        code(provider::throttled),
        help("apply again later, or lower --parallelism")
    )]
    Throttled {
        /// The API operation.
        operation: String,
        /// The service's message.
        message: String,
    },
    /// A transient failure (5xx, timeout) that retries did not overcome.
    #[error("{operation} failed with a transient error: {message}")]
    #[diagnostic(
        code(provider::transient),
        help("apply again; the state records what was done")
    )]
    Transient {
        /// The API operation.
        operation: String,
        /// What happened.
        message: String,
    },
    /// The request may or may not have taken effect (a dropped connection,
    /// a timeout after sending). The engine reconciles by reading before any
    /// retry.
    #[error("{operation} may or may not have taken effect: {message}")]
    #[diagnostic(
        code(provider::ambiguous),
        help("apply again: apprun looks the resource up by its ownership tags first")
    )]
    Ambiguous {
        /// The API operation.
        operation: String,
        /// What happened.
        message: String,
    },
    /// The resource does not exist.
    #[error("{what} not found")]
    #[diagnostic(code(provider::not_found))]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// A resource with that name exists already and is not ours.
    #[error("{what} already exists")]
    #[diagnostic(
        code(provider::already_exists),
        help(
            "another stack or a person created it; choose another `name`, or adopt it with `apprun import`"
        )
    )]
    AlreadyExists {
        /// What exists.
        what: String,
    },
    /// The API refused the request as invalid.
    #[error("{operation} was refused: {message}")]
    #[diagnostic(
        code(provider::invalid),
        help("fix the stack; the message says what the API refused")
    )]
    Invalid {
        /// The API operation.
        operation: String,
        /// The service's message.
        message: String,
    },
    /// An asynchronous operation ended in failure (a rolled-back deployment,
    /// `CREATE_FAILED`, a failed health check).
    #[error("{what} failed: {message}")]
    #[diagnostic(code(provider::operation_failed), help("{help}"))]
    OperationFailed {
        /// What failed ("deployment of services.web").
        what: String,
        /// The status and message.
        message: String,
        /// What to do.
        help: String,
    },
    /// Waiting for an operation took longer than allowed.
    #[error("timed out after {seconds} s waiting for {what}")]
    #[diagnostic(
        code(provider::timeout),
        help("the operation may still finish; run `apprun plan` to see where it stands")
    )]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long we waited.
        seconds: u64,
    },
    /// The credentials may not make this call (IAM `AccessDenied`).
    #[error("{operation} was denied: {message}")]
    #[diagnostic(
        code(provider::access_denied),
        help("grant the credentials this permission, or use credentials that have it")
    )]
    AccessDenied {
        /// The API operation.
        operation: String,
        /// The service's message.
        message: String,
    },
    /// Anything else: credentials, an unreachable endpoint, a bug.
    #[error("{message}")]
    #[diagnostic(code(provider::fatal), help("{help}"))]
    Fatal {
        /// What happened.
        message: String,
        /// What to do.
        help: String,
    },
}

/// A service a listing found: what `discover` filters on before it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedService {
    /// Its physical id (the ARN on AWS).
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A resource read with every tag it carries ([`Provider::read_tagged`]).
#[derive(Debug, Clone)]
pub struct Tagged {
    /// The physical id to record.
    pub id: String,
    /// What the read saw.
    pub observed: Observed,
    /// Every tag, ownership and AWS's own included.
    pub tags: BTreeMap<String, String>,
}

/// A target: AWS or the local Docker engine.
pub trait Provider: Send + Sync {
    /// The target's name (`aws`, `docker`).
    fn target(&self) -> &str;

    /// Reads a resource; `Ok(None)` when it no longer exists.
    fn read(
        &self,
        kind: Kind,
        physical_id: &str,
        recorded: &Value,
    ) -> impl Future<Output = Result<Option<Observed>, ProviderError>> + Send;

    /// Finds a resource this stack created for `address` (by its ownership
    /// tags or labels and its name): how an interrupted or ambiguous create
    /// is reconciled instead of creating a duplicate.
    fn find_owned(
        &self,
        stack: &str,
        address: &Address,
        name: &str,
    ) -> impl Future<Output = Result<Option<Applied>, ProviderError>> + Send;

    /// Creates a resource; waits until it is usable.
    fn create(
        &self,
        request: &ResourceRequest<'_>,
    ) -> impl Future<Output = Result<Applied, ProviderError>> + Send;

    /// Changes a resource in place; `changed` lists the attribute paths that
    /// differ, so the provider sends only what changed.
    fn update(
        &self,
        physical_id: &str,
        request: &ResourceRequest<'_>,
        changed: &[String],
    ) -> impl Future<Output = Result<Applied, ProviderError>> + Send;

    /// Deletes a resource; `Ok` also when it was already gone.
    fn delete(
        &self,
        kind: Kind,
        physical_id: &str,
        recorded: &Value,
        progress: Progress,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send;

    /// Checks, once before the first call that reaches the target, what
    /// every call needs (AWS: that the credential chain yields
    /// credentials), so a missing prerequisite fails once, clearly, instead
    /// of once per resource. By default, nothing to check.
    fn preflight(&self) -> impl Future<Output = Result<(), ProviderError>> + Send {
        std::future::ready(Ok(()))
    }

    /// The live status of a resource for `apprun status`; `Ok(None)` when
    /// it no longer exists. By default, what [`Provider::read`] can tell:
    /// present (healthy unless it can only be deleted) or gone.
    fn status(
        &self,
        kind: Kind,
        physical_id: &str,
        recorded: &Value,
    ) -> impl Future<Output = Result<Option<LiveStatus>, ProviderError>> + Send {
        async move {
            Ok(LiveStatus::from_read(
                self.read(kind, physical_id, recorded).await?,
            ))
        }
    }

    /// Deploys again what a service already declares (App Runner
    /// `StartDeployment`: the image under the same tag, the latest commit)
    /// and waits for it like an update. `request` is what apply would send
    /// for the service (references resolved, secrets in clear). By default
    /// the target cannot.
    fn deploy(
        &self,
        physical_id: &str,
        request: &ResourceRequest<'_>,
    ) -> impl Future<Output = Result<Deployment, ProviderError>> + Send {
        let _ = (physical_id, request);
        std::future::ready(Err(ProviderError::Fatal {
            message: format!("the {} target cannot deploy a service", self.target()),
            help: "run `apprun apply` instead".to_owned(),
        }))
    }

    /// The log events of a service at `physical_id` (recorded attributes
    /// `recorded`), oldest first. A log that does not exist yet is
    /// [`ProviderError::NotFound`]. By default the target has none.
    fn logs(
        &self,
        physical_id: &str,
        recorded: &Value,
        query: LogQuery,
    ) -> impl Future<Output = Result<Vec<LogEvent>, ProviderError>> + Send {
        let _ = (physical_id, recorded, query);
        std::future::ready(Err(ProviderError::Fatal {
            message: format!("the {} target keeps no logs apprun can read", self.target()),
            help: "read the logs where the target keeps them".to_owned(),
        }))
    }

    /// Every App Runner service in the target's region (`apprun discover`),
    /// in the order the API lists them. By default the target has none to
    /// list.
    fn list_services(
        &self,
    ) -> impl Future<Output = Result<Vec<ListedService>, ProviderError>> + Send {
        std::future::ready(Err(ProviderError::Fatal {
            message: format!("the {} target has nothing to discover", self.target()),
            help: "discover reads an AWS account: use `--target aws`".to_owned(),
        }))
    }

    /// Reads a resource (as [`Provider::read`]) with every tag it carries
    /// ([`Provider::all_tags`]), under the physical id to record
    /// ([`Provider::canonical_id`]); `Ok(None)` when it does not exist. A
    /// target whose read sees the tags anyway answers with one call fewer.
    fn read_tagged(
        &self,
        kind: Kind,
        physical_id: &str,
        recorded: &Value,
    ) -> impl Future<Output = Result<Option<Tagged>, ProviderError>> + Send {
        async move {
            let Some(observed) = self.read(kind, physical_id, recorded).await? else {
                return Ok(None);
            };
            let id = self.canonical_id(kind, physical_id, &observed);
            let tags = self.all_tags(kind, &id).await?;
            Ok(Some(Tagged { id, observed, tags }))
        }
    }

    /// Every tag of a resource, ownership and CloudFormation tags included
    /// (what `discover` decides ownership by). By default, none.
    fn all_tags(
        &self,
        kind: Kind,
        physical_id: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, ProviderError>> + Send {
        let _ = (kind, physical_id);
        std::future::ready(Ok(BTreeMap::new()))
    }

    /// The resources attached to service `service_id` that the service
    /// does not name itself (custom domains, VPC ingress connections), as
    /// kinds and physical ids. By default, none. (`discover` asks once per
    /// service, a few at a time; a target may list region-wide things once
    /// per provider.)
    fn attached(
        &self,
        service_id: &str,
    ) -> impl Future<Output = Result<Vec<(Kind, String)>, ProviderError>> + Send {
        let _ = service_id;
        std::future::ready(Ok(Vec::new()))
    }

    /// Puts this stack's ownership tags (`stack`, `address`) on a resource
    /// adopted by `discover`, leaving every other tag alone. By default
    /// there is nothing to tag.
    fn claim(
        &self,
        kind: Kind,
        physical_id: &str,
        stack: &str,
        address: &Address,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send {
        let _ = (kind, physical_id, stack, address);
        std::future::ready(Ok(()))
    }

    /// Removes whatever the target still holds for `stack` once its state
    /// records nothing (the last step of a destroy): objects an
    /// interrupted run made after its last journal write, which no record
    /// names. Returns how many were removed. By default nothing: only a
    /// target whose labels tell this state's objects from any other's
    /// (Docker: stack and state location) can sweep safely.
    fn sweep(&self, stack: &str) -> impl Future<Output = Result<usize, ProviderError>> + Send {
        let _ = stack;
        std::future::ready(Ok(0))
    }

    /// The physical id to record for a resource a user named by `id`
    /// (import), given what reading it returned: the form `create` records,
    /// when the target accepts several (an IAM role's name for its ARN).
    /// By default, `id` as given.
    fn canonical_id(&self, kind: Kind, id: &str, observed: &Observed) -> String {
        let _ = (kind, observed);
        id.to_owned()
    }
}
