//! App Runner VPC connectors: immutable (a change is a replacement, planned
//! by the engine); only tags change in place. Before creating, the subnets
//! and security groups are checked through EC2, so a typo is a clear
//! `Invalid` naming the missing ids instead of an App Runner failure later.

use apprun_engine::attributes::VpcConnectorAttributes;
use apprun_engine::provider::{Applied, Observed, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use aws_sdk_apprunner::types::{VpcConnector, VpcConnectorStatus};
use serde_json::json;

use crate::attrs::{applied_by_arn, arn_name, invalid};
use crate::config::Ctx;
use crate::error::{ApiFailure, Class, FoundExt, SdkResultExt};
use crate::network_checks::Question;
use crate::pages::{Pages, paginator};
use crate::retry;
use crate::tags;

/// The physical id and outputs of a connector.
fn applied(c: &VpcConnector) -> Applied {
    applied_by_arn(
        c.vpc_connector_arn().unwrap_or_default(),
        [
            ("name", json!(c.vpc_connector_name().unwrap_or_default())),
            ("revision", json!(c.vpc_connector_revision())),
        ],
    )
}

/// Whether a connector is not `INACTIVE` (deleted).
fn active(c: &VpcConnector) -> bool {
    c.status() != Some(&VpcConnectorStatus::Inactive)
}

/// The connector `arn`; `None` when it is gone or inactive.
async fn describe(ctx: &Ctx, arn: &str) -> Result<Option<VpcConnector>, ApiFailure> {
    Ok(retry::read(&ctx.settings, || async move {
        ctx.clients
            .apprunner
            .describe_vpc_connector()
            .vpc_connector_arn(arn)
            .send()
            .await
            .classify("DescribeVpcConnector")
    })
    .await
    .found()?
    .and_then(|out| out.vpc_connector.filter(active)))
}

/// The ids among `ids` that EC2 does not know (asked once per process for
/// the same ids, see `network_checks`).
async fn missing(ctx: &Ctx, ids: &[String], subnets: bool) -> Result<Vec<String>, ApiFailure> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    ctx.network_checks
        .missing(Question::new(subnets, ids), |q| async move {
            ask_missing(ctx, &q.ids, q.subnets).await
        })
        .await
}

/// The ids among `ids` that EC2 does not know, asked now.
async fn ask_missing(ctx: &Ctx, ids: &[String], subnets: bool) -> Result<Vec<String>, ApiFailure> {
    // One call for all; only when it fails with not-found, one per id to
    // name the missing ones.
    let all = describe_ids(ctx, ids, subnets).await;
    match all {
        Ok(found) if found == ids.len() => return Ok(Vec::new()),
        Ok(_) => {}
        Err(f) if f.class == Class::NotFound || f.class == Class::Invalid => {}
        Err(f) => return Err(f),
    }
    let mut out = Vec::new();
    for id in ids {
        match describe_ids(ctx, std::slice::from_ref(id), subnets).await {
            Ok(1) => {}
            Ok(_) => out.push(id.clone()),
            Err(f) if f.class == Class::NotFound || f.class == Class::Invalid => {
                out.push(id.clone())
            }
            Err(f) => return Err(f),
        }
    }
    Ok(out)
}

/// How many of `ids` EC2 knows (subnets, else security groups).
async fn describe_ids(ctx: &Ctx, ids: &[String], subnets: bool) -> Result<usize, ApiFailure> {
    if subnets {
        retry::read(&ctx.settings, || async move {
            ctx.clients
                .ec2
                .describe_subnets()
                .set_subnet_ids(Some(ids.to_vec()))
                .send()
                .await
                .classify("DescribeSubnets")
        })
        .await
        .map(|o| o.subnets().len())
    } else {
        retry::read(&ctx.settings, || async move {
            ctx.clients
                .ec2
                .describe_security_groups()
                .set_group_ids(Some(ids.to_vec()))
                .send()
                .await
                .classify("DescribeSecurityGroups")
        })
        .await
        .map(|o| o.security_groups().len())
    }
}

/// Reads a connector by ARN; `None` when it is gone or inactive.
pub(crate) async fn read(ctx: &Ctx, arn: &str) -> Result<Option<Observed>, ProviderError> {
    let what = format!("VPC connector {arn}");
    let read = describe(ctx, arn).await;
    let Some((c, live_tags)) = tags::with_apprunner_tags(ctx, arn, read)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let mut subnets = c.subnets().to_vec();
    subnets.sort();
    let mut groups = c.security_groups().to_vec();
    groups.sort();
    let attributes = json!({
        "name": c.vpc_connector_name().unwrap_or_default(),
        "subnets": subnets,
        "security_groups": groups,
        "tags": tags::observed(&live_tags),
    });
    Ok(Some(Observed {
        attributes,
        outputs: applied(&c).outputs,
        failed: None,
    }))
}

/// Finds the active connector `name` carrying this stack's ownership tags.
pub(crate) async fn find_owned(
    ctx: &Ctx,
    stack: &str,
    address: &Address,
    name: &str,
) -> Result<Option<Applied>, ProviderError> {
    crate::error::about(address, async {
        let mut pages = Pages::new(&ctx.settings, "ListVpcConnectors", |token| {
            paginator!(
                ctx.clients
                    .apprunner
                    .list_vpc_connectors()
                    .max_results(100)
                    .set_next_token(token)
            )
        });
        // A listed connector is all the answer needs.
        let adopt = |_, listed| std::future::ready(Ok(Some(listed)));
        while let Some(page) = pages.next().await? {
            let named = page
                .vpc_connectors()
                .iter()
                .filter(|c| c.vpc_connector_name() == Some(name) && active(c))
                .filter_map(|c| Some((c.vpc_connector_arn()?.to_owned(), applied(c))))
                .collect::<Vec<_>>();
            if let Some(found) = tags::first_owned(ctx, named, (stack, address), adopt).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    })
    .await
}

/// Checks the subnets and security groups, then creates the connector.
pub(crate) async fn create(
    ctx: &Ctx,
    request: &ResourceRequest<'_>,
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    let attrs =
        VpcConnectorAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    // Sorted and distinct, as the document keeps them.
    let subnets = &attrs.subnets.into_iter().collect::<Vec<_>>();
    let groups = &attrs.security_groups.into_iter().collect::<Vec<_>>();
    let (missing_subnets, missing_groups) =
        tokio::join!(missing(ctx, subnets, true), missing(ctx, groups, false));
    let missing_subnets = missing_subnets.map_err(|f| f.into_provider(&what))?;
    let missing_groups = missing_groups.map_err(|f| f.into_provider(&what))?;
    if !missing_subnets.is_empty() || !missing_groups.is_empty() {
        let mut parts = Vec::new();
        if !missing_subnets.is_empty() {
            parts.push(format!(
                "subnet(s) {} do not exist",
                missing_subnets.join(", ")
            ));
        }
        if !missing_groups.is_empty() {
            parts.push(format!(
                "security group(s) {} do not exist",
                missing_groups.join(", ")
            ));
        }
        return Err(ProviderError::Invalid {
            operation: "CreateVpcConnector".to_owned(),
            message: format!("{what}: {}", parts.join("; ")),
        });
    }
    let owned = &tags::with_ownership(request.attributes, request.stack, request.address);
    let created = retry::create(
        &ctx.settings,
        &what,
        || async move {
            ctx.clients
                .apprunner_once
                .create_vpc_connector()
                .vpc_connector_name(request.name)
                .set_subnets(Some(subnets.clone()))
                .set_security_groups(Some(groups.clone()))
                .set_tags(Some(tags::sdk_tags(owned)))
                .send()
                .await
                .classify("CreateVpcConnector")
        },
        || find_owned(ctx, request.stack, request.address, request.name),
    )
    .await?;
    let member = ("CreateVpcConnector", "VpcConnector");
    created.applied(&what, member, |out| out.vpc_connector.as_ref().map(applied))
}

/// Only tags change in place; anything else is a replacement.
pub(crate) async fn update(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let immutable = tags::Immutable {
        operation: "UpdateVpcConnector",
        why: "VPC connectors are immutable",
    };
    let described = (arn, describe(ctx, arn).await);
    let c = tags::update_only_tags(ctx, described, request, changed, immutable).await?;
    Ok(applied(&c))
}

/// Deletes the connector; `Ok` when already gone.
pub(crate) async fn delete(ctx: &Ctx, arn: &str) -> Result<(), ProviderError> {
    let what = Address::new(Kind::VpcConnector, arn_name(arn, "vpcconnector")).to_string();
    if describe(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
        .is_none()
    {
        return Ok(());
    }
    ctx.clients
        .apprunner
        .delete_vpc_connector()
        .vpc_connector_arn(arn)
        .send()
        .await
        .classify("DeleteVpcConnector")
        .found()
        .map(|_| ())
        .map_err(|f| f.into_provider(&what))
}
