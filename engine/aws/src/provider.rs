//! [`AwsProvider`]: the engine's `Provider` for AWS, dispatching by kind.

use std::collections::BTreeMap;
use std::sync::Arc;

use apprun_engine::live::{Deployment, LiveStatus, LogEvent, LogQuery};
use apprun_engine::provider::{
    Applied, ListedService, Observed, Progress, Provider, ProviderError, ResourceRequest, Tagged,
};
use apprun_schema::{Address, Kind};
use aws_config::{BehaviorVersion, SdkConfig};
use serde_json::Value;

use crate::config::{Clients, Ctx, Settings};
use crate::{
    autoscaling, connections, domains, observability, repositories, roles, services,
    vpc_connectors, vpc_ingress,
};

/// The AWS target: ECR repositories, IAM roles, App Runner VPC connectors,
/// auto scaling and observability configurations, connections, services,
/// custom domains (with Route 53 records) and VPC ingress connections.
///
/// Cheap to clone (the clients are shared).
#[derive(Clone, Debug)]
pub struct AwsProvider {
    ctx: Arc<Ctx>,
    credentials: Option<aws_sdk_iam::config::SharedCredentialsProvider>,
    /// The endpoints the user set, checked by the preflight.
    endpoints: Vec<crate::reachability::Endpoint>,
    /// The answer of the first [`Provider::preflight`], kept for the
    /// commands that ask again (apply asks before settling, refreshing and
    /// showing changes): the credential chain is asked once per process.
    preflight: Arc<tokio::sync::OnceCell<Result<(), ProviderError>>>,
    /// The region's VPC ingress connections (service ARN, connection ARN),
    /// listed once for `discover`'s `attached` questions.
    vpc_ingress: Arc<tokio::sync::OnceCell<Vec<(String, String)>>>,
}

impl AwsProvider {
    /// A provider with the standard credential chain, profiles,
    /// `AWS_MAX_ATTEMPTS` (1-20) and `AWS_ENDPOINT_URL` /
    /// `AWS_ENDPOINT_URL_<SERVICE>` resolution of `aws-config`; the region is `settings.region` when set (the stack's),
    /// else the standard resolution.
    pub async fn from_env(mut settings: Settings) -> Self {
        // The SDK's own variable: how many times a call is tried in all.
        if let Some(attempts) = std::env::var("AWS_MAX_ATTEMPTS")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|n| (1..=20).contains(n))
        {
            settings.max_attempts = attempts;
        }
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).retry_config(settings.retry_config());
        if let Some(region) = &settings.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let config = loader.load().await;
        Self::from_sdk_config(&config, settings)
    }

    /// A provider from an explicit `SdkConfig` (credentials, region,
    /// endpoint), with `settings.endpoints` overriding per service.
    pub fn from_sdk_config(config: &SdkConfig, settings: Settings) -> Self {
        let clients = Clients::new(config, &settings);
        let endpoints = crate::reachability::configured(config, &settings);
        AwsProvider {
            ctx: Arc::new(Ctx {
                clients,
                settings,
                network_checks: Default::default(),
                fresh: Default::default(),
            }),
            credentials: config.credentials_provider(),
            endpoints,
            preflight: Default::default(),
            vpc_ingress: Default::default(),
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.ctx.settings
    }
}

/// Asks the configuration's credential chain once.
async fn check_credentials(
    chain: Option<&aws_sdk_iam::config::SharedCredentialsProvider>,
) -> Result<(), ProviderError> {
    use aws_sdk_iam::config::ProvideCredentials as _;
    let missing = |why: String| ProviderError::Fatal {
        message: format!("no AWS credentials were found: {why}"),
        help: "set AWS_PROFILE (after `aws configure` or `aws sso login`), or \
               AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; to run without an AWS \
               account, start moto and the emulator with `scripts/local-aws up` and \
               source the variables it prints"
            .to_owned(),
    };
    let Some(chain) = chain else {
        return Err(missing("no credential source is configured".to_owned()));
    };
    match chain.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(error) => Err(missing(credentials_reason(&error))),
    }
}

/// The first line of a credentials error's own message, without the
/// debug dump of its sources.
fn credentials_reason(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let first = text.lines().next().unwrap_or_default();
    // aws-config appends its sources as `(Variant { .. })`.
    first.split(" (").next().unwrap_or(first).trim().to_owned()
}

impl Provider for AwsProvider {
    fn target(&self) -> &str {
        "aws"
    }

    async fn read(
        &self,
        kind: Kind,
        physical_id: &str,
        recorded: &Value,
    ) -> Result<Option<Observed>, ProviderError> {
        let ctx = &self.ctx;
        match kind {
            Kind::Repository => repositories::read(ctx, physical_id, recorded).await,
            Kind::Role => roles::read(ctx, physical_id, recorded).await,
            Kind::VpcConnector => vpc_connectors::read(ctx, physical_id).await,
            Kind::AutoScaling => autoscaling::read(ctx, physical_id).await,
            Kind::Service => services::read(ctx, physical_id, recorded).await,
            Kind::Observability => observability::read(ctx, physical_id).await,
            Kind::Connection => connections::read(ctx, physical_id).await,
            Kind::Domain => domains::read(ctx, physical_id, recorded).await,
            Kind::VpcIngress => vpc_ingress::read(ctx, physical_id).await,
        }
    }

    /// The credential chain yields credentials and the endpoints the user
    /// set accept connections (asked on the first call only).
    async fn preflight(&self) -> Result<(), ProviderError> {
        self.preflight
            .get_or_init(|| async {
                check_credentials(self.credentials.as_ref()).await?;
                crate::reachability::check(&self.endpoints).await
            })
            .await
            .clone()
    }

    /// Services: `DescribeService` and their last operations; connections,
    /// custom domains and VPC ingress connections: their App Runner status. Other kinds: what
    /// a read tells (the trait's default).
    async fn status(
        &self,
        kind: Kind,
        physical_id: &str,
        recorded: &Value,
    ) -> Result<Option<LiveStatus>, ProviderError> {
        let ctx = &self.ctx;
        match kind {
            Kind::Service => crate::day2::service_status(ctx, physical_id).await,
            Kind::Connection => crate::day2::connection_status(ctx, physical_id).await,
            Kind::Domain => crate::day2::domain_status(ctx, physical_id, recorded).await,
            Kind::VpcIngress => crate::day2::vpc_ingress_status(ctx, physical_id).await,
            _ => Ok(LiveStatus::from_read(
                self.read(kind, physical_id, recorded).await?,
            )),
        }
    }

    /// App Runner `StartDeployment`, waited for as an update.
    async fn deploy(
        &self,
        physical_id: &str,
        request: &ResourceRequest<'_>,
    ) -> Result<Deployment, ProviderError> {
        if request.address.kind != Kind::Service {
            return Err(ProviderError::Fatal {
                message: format!("{} is not a service: only services deploy", request.address),
                help: "run `apprun apply` instead".to_owned(),
            });
        }
        crate::day2::deploy(&self.ctx, physical_id, request).await
    }

    /// The service's application (or system) log from CloudWatch Logs.
    async fn logs(
        &self,
        physical_id: &str,
        recorded: &Value,
        query: LogQuery,
    ) -> Result<Vec<LogEvent>, ProviderError> {
        let _ = recorded;
        crate::logs::service_logs(&self.ctx, physical_id, query).await
    }

    async fn list_services(&self) -> Result<Vec<ListedService>, ProviderError> {
        crate::discover::list_services(&self.ctx).await
    }

    async fn all_tags(
        &self,
        kind: Kind,
        physical_id: &str,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        crate::discover::all_tags(&self.ctx, kind, physical_id).await
    }

    async fn read_tagged(
        &self,
        kind: Kind,
        physical_id: &str,
        recorded: &Value,
    ) -> Result<Option<Tagged>, ProviderError> {
        if kind == Kind::Service {
            let read = services::read_tagged(&self.ctx, physical_id, recorded).await?;
            return Ok(read.map(|(observed, tags)| Tagged {
                id: physical_id.to_owned(),
                tags: crate::tags::all(&tags),
                observed,
            }));
        }
        let Some(observed) = self.read(kind, physical_id, recorded).await? else {
            return Ok(None);
        };
        let id = self.canonical_id(kind, physical_id, &observed);
        let tags = crate::discover::all_tags(&self.ctx, kind, &id).await?;
        Ok(Some(Tagged { id, observed, tags }))
    }

    async fn attached(&self, service_id: &str) -> Result<Vec<(Kind, String)>, ProviderError> {
        let mut out = crate::discover::domains(&self.ctx, service_id).await?;
        let ingress = self
            .vpc_ingress
            .get_or_try_init(|| crate::discover::vpc_ingress(&self.ctx))
            .await?;
        out.extend(
            ingress
                .iter()
                .filter(|(service, _)| service == service_id)
                .map(|(_, arn)| (Kind::VpcIngress, arn.clone())),
        );
        Ok(out)
    }

    async fn claim(
        &self,
        kind: Kind,
        physical_id: &str,
        stack: &str,
        address: &Address,
    ) -> Result<(), ProviderError> {
        crate::discover::claim(&self.ctx, kind, physical_id, stack, address).await
    }

    /// Roles and repositories can be named by name or ARN (as Terraform
    /// imports them, by name); their state records the ARN, as `create`
    /// does. App Runner resources are only ever named by ARN.
    fn canonical_id(&self, kind: Kind, id: &str, observed: &Observed) -> String {
        match (kind, observed.outputs.get("arn").and_then(Value::as_str)) {
            (Kind::Role | Kind::Repository, Some(arn)) if !id.starts_with("arn:") => arn.to_owned(),
            _ => id.to_owned(),
        }
    }

    async fn find_owned(
        &self,
        stack: &str,
        address: &Address,
        name: &str,
    ) -> Result<Option<Applied>, ProviderError> {
        let ctx = &self.ctx;
        match address.kind {
            Kind::Repository => repositories::find_owned(ctx, stack, address, name).await,
            Kind::Role => roles::find_owned(ctx, stack, address, name).await,
            Kind::VpcConnector => vpc_connectors::find_owned(ctx, stack, address, name).await,
            Kind::AutoScaling => autoscaling::find_owned(ctx, stack, address, name).await,
            Kind::Service => services::find_owned(ctx, stack, address, name).await,
            Kind::Observability => observability::find_owned(ctx, stack, address, name).await,
            Kind::Connection => connections::find_owned(ctx, stack, address, name).await,
            Kind::Domain => domains::find_owned(ctx, stack, address, name).await,
            Kind::VpcIngress => vpc_ingress::find_owned(ctx, stack, address, name).await,
        }
    }

    async fn create(&self, request: &ResourceRequest<'_>) -> Result<Applied, ProviderError> {
        let ctx = &self.ctx;
        match request.address.kind {
            Kind::Repository => repositories::create(ctx, request).await,
            Kind::Role => roles::create(ctx, request).await,
            Kind::VpcConnector => vpc_connectors::create(ctx, request).await,
            Kind::AutoScaling => autoscaling::create(ctx, request).await,
            Kind::Service => services::create(ctx, request).await,
            Kind::Observability => observability::create(ctx, request).await,
            Kind::Connection => connections::create(ctx, request).await,
            Kind::Domain => domains::create(ctx, request).await,
            Kind::VpcIngress => vpc_ingress::create(ctx, request).await,
        }
    }

    async fn update(
        &self,
        physical_id: &str,
        request: &ResourceRequest<'_>,
        changed: &[String],
    ) -> Result<Applied, ProviderError> {
        let ctx = &self.ctx;
        match request.address.kind {
            Kind::Repository => repositories::update(ctx, physical_id, request, changed).await,
            Kind::Role => roles::update(ctx, physical_id, request, changed).await,
            Kind::VpcConnector => vpc_connectors::update(ctx, physical_id, request, changed).await,
            Kind::AutoScaling => autoscaling::update(ctx, physical_id, request, changed).await,
            Kind::Service => services::update(ctx, physical_id, request, changed).await,
            Kind::Observability => observability::update(ctx, physical_id, request, changed).await,
            Kind::Connection => connections::update(ctx, physical_id, request, changed).await,
            Kind::Domain => domains::update(ctx, physical_id, request, changed).await,
            Kind::VpcIngress => vpc_ingress::update(ctx, physical_id, request, changed).await,
        }
    }

    async fn delete(
        &self,
        kind: Kind,
        physical_id: &str,
        recorded: &Value,
        progress: Progress,
    ) -> Result<(), ProviderError> {
        let ctx = &self.ctx;
        match kind {
            Kind::Repository => repositories::delete(ctx, physical_id, recorded).await,
            Kind::Role => roles::delete(ctx, physical_id).await,
            Kind::VpcConnector => vpc_connectors::delete(ctx, physical_id).await,
            Kind::AutoScaling => autoscaling::delete(ctx, physical_id).await,
            Kind::Service => services::delete(ctx, physical_id, progress).await,
            Kind::Observability => observability::delete(ctx, physical_id).await,
            Kind::Connection => connections::delete(ctx, physical_id).await,
            Kind::Domain => domains::delete(ctx, physical_id, recorded, progress).await,
            Kind::VpcIngress => vpc_ingress::delete(ctx, physical_id, progress).await,
        }
    }
}
