//! App Runner VPC connectors: immutable (a change is a replacement, planned
//! by the engine); only tags change in place. Before creating, the subnets
//! and security groups are checked through EC2, so a typo is a clear
//! `Invalid` naming the missing ids instead of an App Runner failure later.

use std::collections::BTreeMap;

use apprun_engine::provider::{Applied, Observed, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use aws_sdk_apprunner::types::{VpcConnector, VpcConnectorStatus};
use serde_json::json;

use crate::attrs::{arn_name, list_at, top_level};
use crate::config::Ctx;
use crate::error::{ApiFailure, Class, FoundExt, SdkResultExt};
use crate::network_checks::Question;
use crate::retry::{self, Created};
use crate::services::{aws_tags, list_tags, sync_tags, tags_observed, tags_owned};
use crate::tags;

fn applied(c: &VpcConnector) -> Applied {
    let arn = c.vpc_connector_arn().unwrap_or_default().to_owned();
    let mut outputs = BTreeMap::new();
    outputs.insert("arn".to_owned(), json!(arn));
    outputs.insert(
        "name".to_owned(),
        json!(c.vpc_connector_name().unwrap_or_default()),
    );
    outputs.insert("revision".to_owned(), json!(c.vpc_connector_revision()));
    Applied {
        physical_id: arn,
        outputs,
    }
}

fn active(c: &VpcConnector) -> bool {
    c.status() != Some(&VpcConnectorStatus::Inactive)
}

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
    let Some(c) = describe(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Ok(None);
    };
    let live_tags = match list_tags(ctx, arn).await {
        Ok(t) => t,
        Err(f) if f.class == Class::NotFound => return Ok(None),
        Err(f) => return Err(f.into_provider(&what)),
    };
    let mut subnets = c.subnets().to_vec();
    subnets.sort();
    let mut groups = c.security_groups().to_vec();
    groups.sort();
    let attributes = json!({
        "name": c.vpc_connector_name().unwrap_or_default(),
        "subnets": subnets,
        "security_groups": groups,
        "tags": tags_observed(&live_tags),
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
    let what = address.to_string();
    let mut token: Option<String> = None;
    loop {
        let token_now = &token;
        let page = retry::read(&ctx.settings, || async move {
            ctx.clients
                .apprunner
                .list_vpc_connectors()
                .max_results(100)
                .set_next_token(token_now.clone())
                .send()
                .await
                .classify("ListVpcConnectors")
        })
        .await
        .map_err(|f| f.into_provider(&what))?;
        for c in page.vpc_connectors() {
            if c.vpc_connector_name() != Some(name) || !active(c) {
                continue;
            }
            let Some(arn) = c.vpc_connector_arn() else {
                continue;
            };
            match list_tags(ctx, arn).await {
                Ok(t) if tags_owned(&t, stack, address) => return Ok(Some(applied(c))),
                Ok(_) => {}
                Err(f) if f.class == Class::NotFound => {}
                Err(f) => return Err(f.into_provider(&what)),
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(None),
        }
    }
}

/// Checks the subnets and security groups, then creates the connector.
pub(crate) async fn create(
    ctx: &Ctx,
    request: &ResourceRequest<'_>,
) -> Result<Applied, ProviderError> {
    let attrs = request.attributes;
    let what = request.address.to_string();
    let subnets = &list_at(attrs, "subnets");
    let groups = &list_at(attrs, "security_groups");
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
    let owned = &tags::with_ownership(attrs, request.stack, request.address);
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
                .set_tags(Some(aws_tags(owned)))
                .send()
                .await
                .classify("CreateVpcConnector")
        },
        || find_owned(ctx, request.stack, request.address, request.name),
    )
    .await?;
    match created {
        Created::New(out) => {
            match out.vpc_connector {
                Some(c) => Ok(applied(&c)),
                None => Err(crate::error::missing("CreateVpcConnector", "VpcConnector")
                    .into_provider(&what)),
            }
        }
        Created::Found(found) => Ok(found),
    }
}

/// Only tags change in place; anything else is a replacement.
pub(crate) async fn update(
    ctx: &Ctx,
    arn: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    let Some(c) = describe(ctx, arn)
        .await
        .map_err(|f| f.into_provider(&what))?
    else {
        return Err(ProviderError::NotFound { what });
    };
    if let Some(field) = top_level(changed).into_iter().find(|f| *f != "tags") {
        return Err(ProviderError::Invalid {
            operation: "UpdateVpcConnector".to_owned(),
            message: format!(
                "{what}: `{field}` cannot change in place (VPC connectors are immutable)"
            ),
        });
    }
    sync_tags(ctx, arn, request.attributes)
        .await
        .map_err(|f| f.into_provider(&what))?;
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
    match ctx
        .clients
        .apprunner
        .delete_vpc_connector()
        .vpc_connector_arn(arn)
        .send()
        .await
        .classify("DeleteVpcConnector")
    {
        Ok(_) => Ok(()),
        Err(f) if f.class == Class::NotFound => Ok(()),
        Err(f) => Err(f.into_provider(&what)),
    }
}
