//! The listing side `apprun discover` needs beyond reads: the services of
//! the region, every tag of a resource (ownership and CloudFormation tags
//! included), what is attached to a service without the service naming it
//! (custom domains, VPC ingress connections), and putting the ownership
//! tags on a resource discover adopted.

use std::collections::BTreeMap;

use apprun_engine::provider::{ListedService, ProviderError};
use apprun_schema::{Address, Kind};
use serde_json::Value;

use crate::config::Ctx;

use crate::attrs::arn_tail;
use crate::pages::{Pages, paginator};
use crate::tags;
use crate::{repositories, roles};

/// Every service of the region, as `ListServices` names them.
pub(crate) async fn list_services(ctx: &Ctx) -> Result<Vec<ListedService>, ProviderError> {
    Pages::new(&ctx.settings, "ListServices", |token| {
        paginator!(
            ctx.clients
                .apprunner
                .list_services()
                .max_results(20)
                .set_next_token(token)
        )
    })
    .all(|page| {
        page.service_summary_list()
            .iter()
            .filter_map(|s| {
                Some(ListedService {
                    id: s.service_arn()?.to_owned(),
                    name: s.service_name()?.to_owned(),
                })
            })
            .collect()
    })
    .await
    .map_err(|f| f.into_provider("services"))
}

/// Every tag of the resource `id` of `kind`; none for a custom domain.
pub(crate) async fn all_tags(
    ctx: &Ctx,
    kind: Kind,
    id: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let answer = match kind {
        Kind::Domain => return Ok(BTreeMap::new()),
        Kind::Role => roles::role_tags(ctx, arn_tail(id))
            .await
            .map(|t| tags::all(&t)),
        Kind::Repository => repositories::list_tags(ctx, id)
            .await
            .map(|t| tags::all(&t)),
        _ => tags::list_apprunner(ctx, id).await.map(|t| tags::all(&t)),
    };
    answer.map_err(|f| f.into_provider(id))
}

/// The custom domains of service `service`, as `SERVICE_ARN#DOMAIN` ids.
pub(crate) async fn domains(
    ctx: &Ctx,
    service: &str,
) -> Result<Vec<(Kind, String)>, ProviderError> {
    Pages::new(&ctx.settings, "DescribeCustomDomains", |token| {
        paginator!(
            ctx.clients
                .apprunner
                .describe_custom_domains()
                .service_arn(service)
                .max_results(5)
                .set_next_token(token)
        )
    })
    .all(|page| {
        page.custom_domains()
            .iter()
            .map(|d| (Kind::Domain, format!("{service}#{}", d.domain_name())))
            .collect()
    })
    .await
    .map_err(|f| f.into_provider(service))
}

/// Every VPC ingress connection of the region, as (service ARN,
/// connection ARN): listed once, not once per service.
pub(crate) async fn vpc_ingress(ctx: &Ctx) -> Result<Vec<(String, String)>, ProviderError> {
    Pages::new(&ctx.settings, "ListVpcIngressConnections", |token| {
        paginator!(
            ctx.clients
                .apprunner
                .list_vpc_ingress_connections()
                .max_results(100)
                .set_next_token(token)
        )
    })
    .all(|page| {
        page.vpc_ingress_connection_summary_list()
            .iter()
            .filter_map(|s| {
                Some((
                    s.service_arn()?.to_owned(),
                    s.vpc_ingress_connection_arn()?.to_owned(),
                ))
            })
            .collect()
    })
    .await
    .map_err(|f| f.into_provider("VPC ingress connections"))
}

/// Tags resource `id` of `kind` with `stack` / `address` as its owner
/// (custom domains carry no tags: their service's stand for them).
pub(crate) async fn claim(
    ctx: &Ctx,
    kind: Kind,
    id: &str,
    stack: &str,
    address: &Address,
) -> Result<(), ProviderError> {
    let owner = tags::with_ownership(&Value::Null, stack, address);
    let done = match kind {
        Kind::Domain => Ok(()),
        Kind::Role => roles::tag(ctx, arn_tail(id), &owner).await,
        Kind::Repository => repositories::tag(ctx, id, &owner).await,
        _ => tags::tag_apprunner(ctx, id, &owner).await,
    };
    done.map_err(|f| f.into_provider(&address.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_is_named_by_the_last_part_of_its_arn() {
        assert_eq!(
            arn_tail("arn:aws:iam::123456789012:role/service-role/app"),
            "app"
        );
        assert_eq!(arn_tail("app"), "app");
    }
}
