//! The emulated account: every resource, its status and history, and the
//! helpers the operation handlers share (ids, pagination, lookups).
//!
//! Invariant: all of it sits behind one mutex and no handler awaits while
//! holding it, so each request is atomic, like the real control plane's
//! per-request consistency.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::arn::Scope;
use crate::error::ApiError;
use crate::model::{
    EncryptionConfiguration, HealthCheckConfiguration, InstanceConfiguration, NetworkConfiguration,
    ServiceObservabilityConfiguration, SourceConfiguration,
};

/// The id of the built-in default auto scaling configuration.
pub(crate) const DEFAULT_ASC_ID: &str = "00000000000000000000000000000001";
/// The name of the built-in default auto scaling configuration.
pub(crate) const DEFAULT_ASC_NAME: &str = "DefaultConfiguration";

/// Settings the handlers read (changeable at run time through the admin API).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub scope: Scope,
    /// How long each asynchronous operation (and each rollback) takes.
    pub operation_duration_ms: u64,
    /// Services (any status but `DELETED`) allowed at once.
    pub max_services: usize,
    /// Auto scaling configuration names allowed at once.
    pub max_asc_names: usize,
    /// Revisions allowed per auto scaling configuration name.
    pub max_asc_revisions: usize,
    /// VPC connectors allowed at once.
    pub max_vpc_connectors: usize,
    /// When set, a custom domain pending DNS validation validates this long
    /// after it became pending, whatever DNS holds.
    pub domain_validation_ms: Option<u64>,
    /// When set, a Route 53 endpoint (`http://host:port`, e.g. moto) whose
    /// hosted zones a background task polls for validation records.
    pub route53_endpoint: Option<String>,
}

/// `ServiceStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServiceStatus {
    CreateFailed,
    Running,
    Deleted,
    DeleteFailed,
    Paused,
    OperationInProgress,
}

impl ServiceStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::CreateFailed => "CREATE_FAILED",
            ServiceStatus::Running => "RUNNING",
            ServiceStatus::Deleted => "DELETED",
            ServiceStatus::DeleteFailed => "DELETE_FAILED",
            ServiceStatus::Paused => "PAUSED",
            ServiceStatus::OperationInProgress => "OPERATION_IN_PROGRESS",
        }
    }
}

/// `OperationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OperationType {
    StartDeployment,
    CreateService,
    PauseService,
    ResumeService,
    DeleteService,
    UpdateService,
}

impl OperationType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OperationType::StartDeployment => "START_DEPLOYMENT",
            OperationType::CreateService => "CREATE_SERVICE",
            OperationType::PauseService => "PAUSE_SERVICE",
            OperationType::ResumeService => "RESUME_SERVICE",
            OperationType::DeleteService => "DELETE_SERVICE",
            OperationType::UpdateService => "UPDATE_SERVICE",
        }
    }

    /// Whether the operation deploys code or an image (and so can roll back).
    pub(crate) fn deploys(self) -> bool {
        matches!(
            self,
            OperationType::CreateService
                | OperationType::UpdateService
                | OperationType::StartDeployment
        )
    }
}

/// `OperationStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OperationStatus {
    InProgress,
    Failed,
    Succeeded,
    RollbackInProgress,
    RollbackFailed,
    RollbackSucceeded,
}

impl OperationStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OperationStatus::InProgress => "IN_PROGRESS",
            OperationStatus::Failed => "FAILED",
            OperationStatus::Succeeded => "SUCCEEDED",
            OperationStatus::RollbackInProgress => "ROLLBACK_IN_PROGRESS",
            OperationStatus::RollbackFailed => "ROLLBACK_FAILED",
            OperationStatus::RollbackSucceeded => "ROLLBACK_SUCCEEDED",
        }
    }
}

/// How an asynchronous operation will end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The operation succeeds.
    Succeed,
    /// The operation fails: a create ends `CREATE_FAILED`, a delete
    /// `DELETE_FAILED`, a deployment rolls back (`ROLLBACK_SUCCEEDED`), a
    /// pause or resume ends `FAILED` with the service as it was.
    Fail,
    /// A deployment fails and its rollback fails too (`ROLLBACK_FAILED`).
    RollbackFailed,
}

/// Everything a service can be updated in, after defaults are applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServiceSpec {
    pub source: SourceConfiguration,
    pub instance: InstanceConfiguration,
    pub health: HealthCheckConfiguration,
    pub auto_scaling_arn: String,
    pub network: NetworkConfiguration,
    pub observability: ServiceObservabilityConfiguration,
    pub encryption: Option<EncryptionConfiguration>,
}

/// One entry of `ListOperations`.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub id: String,
    pub kind: OperationType,
    pub status: OperationStatus,
    pub target_arn: String,
    pub started_at: u64,
    pub ended_at: Option<u64>,
    pub updated_at: u64,
}

/// The phase an unfinished operation is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Main,
    RollingBack,
}

/// The operation a service is busy with.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub operation_id: String,
    pub kind: OperationType,
    pub phase: Phase,
    pub phase_ends_at: u64,
    pub duration_ms: u64,
    pub outcome: Outcome,
    /// The spec to restore on rollback.
    pub previous_spec: Option<ServiceSpec>,
    /// The status the service had before the operation.
    pub previous_status: ServiceStatus,
}

/// An App Runner service.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub name: String,
    pub id: String,
    pub arn: String,
    pub url: String,
    pub created_at: u64,
    pub updated_at: u64,
    pub deleted_at: Option<u64>,
    pub status: ServiceStatus,
    pub spec: ServiceSpec,
    /// Oldest first.
    pub operations: Vec<Operation>,
    pub pending: Option<Pending>,
}

/// One revision of an auto scaling configuration.
#[derive(Debug, Clone)]
pub(crate) struct AutoScaling {
    pub arn: String,
    pub name: String,
    pub revision: u32,
    pub max_concurrency: i64,
    pub min_size: i64,
    pub max_size: i64,
    pub created_at: u64,
    pub deleted_at: Option<u64>,
}

/// A VPC connector.
#[derive(Debug, Clone)]
pub(crate) struct VpcConnector {
    pub arn: String,
    pub name: String,
    pub revision: u32,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub created_at: u64,
    pub deleted_at: Option<u64>,
}

/// One revision of an observability configuration.
#[derive(Debug, Clone)]
pub(crate) struct Observability {
    pub arn: String,
    pub name: String,
    pub revision: u32,
    pub trace_vendor: Option<String>,
    pub created_at: u64,
    pub deleted_at: Option<u64>,
}

/// `VpcIngressConnectionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IngressStatus {
    Available,
    PendingCreation,
    PendingUpdate,
    PendingDeletion,
    FailedCreation,
    FailedUpdate,
    FailedDeletion,
    Deleted,
}

impl IngressStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            IngressStatus::Available => "AVAILABLE",
            IngressStatus::PendingCreation => "PENDING_CREATION",
            IngressStatus::PendingUpdate => "PENDING_UPDATE",
            IngressStatus::PendingDeletion => "PENDING_DELETION",
            IngressStatus::FailedCreation => "FAILED_CREATION",
            IngressStatus::FailedUpdate => "FAILED_UPDATE",
            IngressStatus::FailedDeletion => "FAILED_DELETION",
            IngressStatus::Deleted => "DELETED",
        }
    }
}

/// A VPC ingress connection.
#[derive(Debug, Clone)]
pub(crate) struct VpcIngress {
    pub arn: String,
    pub name: String,
    pub service_arn: String,
    pub vpc_id: String,
    pub vpc_endpoint_id: String,
    /// The private domain name (`<random>.<region>.awsapprunner.com`).
    pub domain_name: String,
    pub status: IngressStatus,
    pub created_at: u64,
    pub deleted_at: Option<u64>,
    /// When the pending status (if any) ends, and how.
    pub pending_ends_at: Option<u64>,
    pub outcome: Outcome,
}

/// `CustomDomainAssociationStatus`. The service sends these in lower case,
/// unlike the API model's upper-case enum (see `custom_domains`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DomainStatus {
    Creating,
    PendingCertificateDnsValidation,
    BindingCertificate,
    Active,
    Deleting,
}

impl DomainStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DomainStatus::Creating => "creating",
            DomainStatus::PendingCertificateDnsValidation => "pending_certificate_dns_validation",
            DomainStatus::BindingCertificate => "binding_certificate",
            DomainStatus::Active => "active",
            DomainStatus::Deleting => "deleting",
        }
    }
}

/// One certificate validation CNAME record of a custom domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidationRecord {
    /// The record name, fully qualified with a trailing dot.
    pub name: String,
    /// The CNAME target, fully qualified with a trailing dot.
    pub value: String,
}

/// A custom domain associated with a service.
#[derive(Debug, Clone)]
pub(crate) struct CustomDomain {
    pub service_arn: String,
    pub domain_name: String,
    pub www: bool,
    pub records: Vec<ValidationRecord>,
    pub status: DomainStatus,
    /// Whether the certificate validated (records show `SUCCESS`).
    pub validated: bool,
    /// When the status became `pending_certificate_dns_validation`.
    pub pending_since: Option<u64>,
    /// When the current timed phase (creating, binding, deleting) ends.
    pub phase_ends_at: Option<u64>,
}

/// `ConnectionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionStatus {
    PendingHandshake,
    Available,
    Error,
    Deleted,
}

impl ConnectionStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::PendingHandshake => "PENDING_HANDSHAKE",
            ConnectionStatus::Available => "AVAILABLE",
            ConnectionStatus::Error => "ERROR",
            ConnectionStatus::Deleted => "DELETED",
        }
    }
}

/// A connection to a source code provider.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub arn: String,
    pub name: String,
    pub provider: String,
    pub status: ConnectionStatus,
    pub created_at: u64,
}

/// The emulated account and region.
#[derive(Debug)]
pub(crate) struct State {
    pub rng: fastrand::Rng,
    pub services: Vec<Service>,
    pub auto_scaling: Vec<AutoScaling>,
    /// Last revision handed out per name (revisions never repeat).
    pub auto_scaling_revisions: HashMap<String, u32>,
    pub default_auto_scaling_arn: String,
    pub vpc_connectors: Vec<VpcConnector>,
    pub observability: Vec<Observability>,
    pub observability_revisions: HashMap<String, u32>,
    pub vpc_ingress: Vec<VpcIngress>,
    pub custom_domains: Vec<CustomDomain>,
    pub connections: Vec<Connection>,
    /// Tags by resource ARN, by key.
    pub tags: HashMap<String, BTreeMap<String, String>>,
}

impl State {
    /// A fresh account holding only the default auto scaling configuration.
    pub(crate) fn new(scope: &Scope, seed: u64, created_at: u64) -> Self {
        let default_arn = scope.auto_scaling_arn(DEFAULT_ASC_NAME, 1, DEFAULT_ASC_ID);
        let default = AutoScaling {
            arn: default_arn.clone(),
            name: DEFAULT_ASC_NAME.to_owned(),
            revision: 1,
            max_concurrency: 100,
            min_size: 1,
            max_size: 25,
            created_at,
            deleted_at: None,
        };
        State {
            rng: fastrand::Rng::with_seed(seed),
            services: Vec::new(),
            auto_scaling: vec![default],
            auto_scaling_revisions: HashMap::from([(DEFAULT_ASC_NAME.to_owned(), 1)]),
            default_auto_scaling_arn: default_arn,
            vpc_connectors: Vec::new(),
            observability: Vec::new(),
            observability_revisions: HashMap::new(),
            vpc_ingress: Vec::new(),
            custom_domains: Vec::new(),
            connections: Vec::new(),
            tags: HashMap::new(),
        }
    }

    /// 32 lowercase hex characters (service and configuration ids).
    pub(crate) fn hex_id(&mut self) -> String {
        format!("{:032x}", self.rng.u128(..))
    }

    /// A version-4 UUID (operation ids).
    pub(crate) fn uuid(&mut self) -> String {
        let n = self.rng.u128(..);
        let n = (n & !(0xf << 76)) | (0x4 << 76);
        let n = (n & !(0x3 << 62)) | (0x2 << 62);
        let h = format!("{n:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// A service URL subdomain, like `abcd1234ef.us-east-1.awsapprunner.com`.
    pub(crate) fn service_url(&mut self, region: &str) -> String {
        let sub: String = (0..10)
            .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[self.rng.usize(..36)]))
            .collect();
        format!("{sub}.{region}.awsapprunner.com")
    }
}

/// The account's resources in every region a request was signed for:
/// each region is separate, as in AWS (an ARN of one region is not found
/// in another, listings show one region's resources).
#[derive(Debug)]
pub(crate) struct Regions {
    seed: u64,
    default_region: String,
    by_region: BTreeMap<String, State>,
}

impl Regions {
    /// The default region's fresh state; other regions start on first use.
    pub(crate) fn new(scope: &Scope, seed: u64, now: u64) -> Self {
        let mut regions = Regions {
            seed,
            default_region: scope.region.clone(),
            by_region: BTreeMap::new(),
        };
        regions.get(scope, now);
        regions
    }

    /// The state of `scope`'s region, made fresh (holding only the default
    /// auto scaling configuration) at `now` when the region is new. The
    /// default region keeps the emulator's seed, so its ids do not depend
    /// on which other regions were used; another region's seed mixes in
    /// its name, so two regions hand out different ids.
    pub(crate) fn get(&mut self, scope: &Scope, now: u64) -> &mut State {
        let seed = if scope.region == self.default_region {
            self.seed
        } else {
            // FNV-1a of the region name.
            let mixed = scope
                .region
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                });
            self.seed ^ mixed
        };
        self.by_region
            .entry(scope.region.clone())
            .or_insert_with(|| State::new(scope, seed, now))
    }

    /// Every region's state, by region name.
    pub(crate) fn regions_mut(&mut self) -> impl Iterator<Item = (&String, &mut State)> {
        self.by_region.iter_mut()
    }

    /// Every region's state.
    pub(crate) fn all_mut(&mut self) -> impl Iterator<Item = &mut State> {
        self.by_region.values_mut()
    }
}

/// One page of a list, and the token of the next one.
pub(crate) fn paginate<T: Clone>(
    items: &[T],
    next_token: Option<&str>,
    max_results: Option<i64>,
    default_max: usize,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let start = match next_token {
        None => 0,
        Some(token) => token
            .strip_prefix("emu-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| ApiError::invalid("Invalid NextToken"))?,
    };
    let max = max_results
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(default_max);
    let end = start.saturating_add(max).min(items.len());
    let page = items[start..end].to_vec();
    let next = (end < items.len()).then(|| format!("emu-{end}"));
    Ok((page, next))
}

/// Removes `null` members recursively: the wire omits unset members.
pub(crate) fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn uuids_have_the_model_shape() {
        let scope = Scope {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
        };
        let mut s = State::new(&scope, 7, 0);
        let re = regex::Regex::new(
            "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .unwrap();
        for _ in 0..100 {
            assert!(re.is_match(&s.uuid()));
        }
        assert_eq!(s.hex_id().len(), 32);
    }

    #[test]
    fn pages_and_tokens() {
        let items: Vec<u32> = (0..5).collect();
        let (page, next) = paginate(&items, None, Some(2), 20).unwrap();
        assert_eq!(page, vec![0, 1]);
        let (page, next) = paginate(&items, next.as_deref(), Some(2), 20).unwrap();
        assert_eq!(page, vec![2, 3]);
        let (page, next) = paginate(&items, next.as_deref(), Some(2), 20).unwrap();
        assert_eq!((page, next), (vec![4], None));
        assert!(paginate(&items, Some("garbage"), None, 20).is_err());
    }
}
