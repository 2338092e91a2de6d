//! App Runner custom domains: associate and disassociate only (any change
//! is a replacement; custom domains take no tags).
//!
//! Physical id: `SERVICE_ARN#DOMAIN` (a domain is only known through its
//! service: `DescribeCustomDomains` lists a service's domains, at most 5
//! a page). Outputs: `domain`, `dns_target`, `status` (App Runner's
//! lower-case spelling: `pending_certificate_dns_validation`, `active`,
//! ...) and `validation_records` (a JSON array of `DnsRecord`).
//!
//! Without `route53_zone`, create returns once the association exists and
//! its certificate validation records are known, with status pending
//! validation, and reports each record a person must create through
//! `progress` (`CNAME name -> value`). With `route53_zone`, it writes the
//! validation records and the domain's CNAME (and `www.`'s) in that zone,
//! then waits for `active` under `settings.operation_deadline`. Delete
//! disassociates, waits until the domain is gone, and removes the records
//! apprun wrote.

mod dns;

use apprun_engine::attributes::{
    DOMAIN_ACTIVE, DOMAIN_PENDING_VALIDATION, DnsRecord, DomainAttributes,
};
use apprun_engine::provider::{Applied, Observed, Progress, ProviderError, ResourceRequest};
use apprun_schema::{Address, Kind};
use aws_sdk_apprunner::types::CustomDomain;
use serde_json::json;

use crate::attrs::invalid;
use crate::config::Ctx;
use crate::error::{ApiFailure, Class, FoundExt, SdkResultExt};
use crate::pages::{Pages, paginator};
use crate::retry;
use crate::tags;
use crate::wait::{Poller, Waiting};

/// A domain as `DescribeCustomDomains` answers it, with its service's
/// DNS target.
#[derive(Debug, Clone)]
struct Found {
    service: String,
    dns_target: String,
    domain: CustomDomain,
}

impl Found {
    /// App Runner's status, in its lower-case wire spelling.
    fn status(&self) -> String {
        self.domain.status().as_str().to_ascii_lowercase()
    }

    /// The certificate validation records known so far.
    fn validation_records(&self) -> Vec<DnsRecord> {
        self.domain
            .certificate_validation_records()
            .iter()
            .filter_map(|r| {
                Some(DnsRecord {
                    name: r.name()?.to_owned(),
                    record_type: r.r#type().unwrap_or("CNAME").to_owned(),
                    value: r.value()?.to_owned(),
                })
            })
            .collect()
    }

    /// The domain's own CNAME records (and `www.`'s) to the DNS target.
    fn target_records(&self) -> Vec<DnsRecord> {
        let name = self.domain.domain_name();
        let mut names = vec![name.to_owned()];
        if self.domain.enable_www_subdomain() && !name.starts_with("*.") {
            names.push(format!("www.{name}"));
        }
        names
            .into_iter()
            .map(|name| DnsRecord {
                name,
                record_type: "CNAME".to_owned(),
                value: self.dns_target.clone(),
            })
            .collect()
    }

    /// Every record the domain needs: validation records, then its CNAMEs.
    fn all_records(&self) -> Vec<DnsRecord> {
        let mut all = self.validation_records();
        all.extend(self.target_records());
        all
    }

    /// The physical id and the outputs.
    fn applied(&self) -> Applied {
        let outputs = [
            ("domain", json!(self.domain.domain_name())),
            ("dns_target", json!(self.dns_target)),
            ("status", json!(self.status())),
            ("validation_records", json!(self.validation_records())),
        ];
        Applied {
            physical_id: physical_id(&self.service, self.domain.domain_name()),
            outputs: outputs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        }
    }
}

/// `SERVICE_ARN#DOMAIN`.
fn physical_id(service: &str, domain: &str) -> String {
    format!("{service}#{domain}")
}

/// The service ARN and the domain of a physical id.
fn parse_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.rsplit_once('#')
        .filter(|(s, d)| !s.is_empty() && !d.is_empty())
        .ok_or_else(|| ProviderError::Invalid {
            operation: "custom domain".to_owned(),
            message: format!("`{id}` is not a custom domain id (SERVICE_ARN#DOMAIN)"),
        })
}

/// The address a physical id stands for when the engine gives none.
fn address_of(domain: &str) -> Address {
    Address::new(Kind::Domain, domain)
}

/// `domain` of `service`; `None` when it (or the service) is gone.
async fn describe(ctx: &Ctx, service: &str, domain: &str) -> Result<Option<Found>, ApiFailure> {
    let mut pages = Pages::new(&ctx.settings, "DescribeCustomDomains", |token| {
        paginator!(
            ctx.clients
                .apprunner
                .describe_custom_domains()
                .service_arn(service)
                .max_results(5)
                .set_next_token(token)
        )
    });
    loop {
        let Some(page) = pages.next().await.found()?.flatten() else {
            return Ok(None);
        };
        let wanted = |d: &&CustomDomain| d.domain_name().eq_ignore_ascii_case(domain);
        if let Some(d) = page.custom_domains().iter().find(wanted) {
            return Ok(Some(Found {
                service: service.to_owned(),
                dns_target: page.dns_target().to_owned(),
                domain: d.clone(),
            }));
        }
    }
}

/// Reads a domain; `None` when it is gone or being disassociated.
pub(crate) async fn read(
    ctx: &Ctx,
    id: &str,
    recorded: &serde_json::Value,
) -> Result<Option<Observed>, ProviderError> {
    let (service, domain) = parse_id(id)?;
    let what = address_of(domain).to_string();
    let Some(found) = describe(ctx, service, domain)
        .await
        .map_err(|f| f.into_provider(&what))?
        .filter(|f| f.status() != "deleting")
    else {
        return Ok(None);
    };
    // The zone is apprun's, not App Runner's: the record's is kept.
    let zone = DomainAttributes::from_value(recorded)
        .ok()
        .and_then(|a| a.route53_zone);
    let mut attributes = json!({
        "service": service,
        "domain": found.domain.domain_name(),
        "enable_www": found.domain.enable_www_subdomain(),
    });
    if let Some(zone) = zone {
        attributes["route53_zone"] = json!(zone);
    }
    let status = found.status();
    let failed = (status == "create_failed").then(|| "the custom domain is create_failed".into());
    Ok(Some(Observed {
        attributes,
        outputs: found.applied().outputs,
        failed,
    }))
}

/// Finds the domain `name` on a service this stack owns (custom domains
/// carry no tags: their service's ownership tags stand for them).
pub(crate) async fn find_owned(
    ctx: &Ctx,
    stack: &str,
    address: &Address,
    name: &str,
) -> Result<Option<Applied>, ProviderError> {
    crate::error::about(address, async {
        let services = Pages::new(&ctx.settings, "ListServices", |token| {
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
                .filter_map(|s| s.service_arn().map(str::to_owned))
                .collect()
        })
        .await?;
        for service in services {
            let live = match tags::list_apprunner(ctx, &service).await {
                Ok(live) => live,
                Err(f) if matches!(f.class, Class::NotFound | Class::InvalidState) => continue,
                Err(f) => return Err(f),
            };
            if tags::owner(&live).is_none_or(|(s, _)| s != stack) {
                continue;
            }
            if let Some(found) = describe(ctx, &service, name).await? {
                return Ok(Some(found.applied()));
            }
        }
        Ok(None)
    })
    .await
}

/// Polls the domain until `done` says so; `failed` statuses end the wait.
async fn wait_for(
    ctx: &Ctx,
    (service, domain): (&str, &str),
    waiting: Waiting<'_>,
    awaited: &str,
    done: impl Fn(&Found) -> bool,
) -> Result<Found, ProviderError> {
    let what = waiting.address.to_string();
    let mut poller = Poller::new(&ctx.settings, waiting);
    loop {
        let found = describe(ctx, service, domain)
            .await
            .map_err(|f| f.into_provider(&what))?
            .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
        let status = found.status();
        if status.ends_with("failed") {
            return Err(ProviderError::OperationFailed {
                what: format!("associating {what}"),
                message: format!("the custom domain is {status}"),
                help: "check the domain's DNS records and the service, then apply again \
                       (apprun plans a replacement)"
                    .to_owned(),
            });
        }
        if done(&found) {
            return Ok(found);
        }
        poller.tick(awaited).await?;
    }
}

/// Associates the domain; with a zone, writes its records and waits until
/// it is active; without, returns it pending with the records to create.
pub(crate) async fn create(
    ctx: &Ctx,
    request: &ResourceRequest<'_>,
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    let attrs =
        &DomainAttributes::from_value(request.attributes).map_err(|e| invalid(&what, &e))?;
    let (service, domain) = (attrs.service.as_str(), attrs.domain.as_str());
    let created = retry::create(
        &ctx.settings,
        &what,
        || async move {
            ctx.clients
                .apprunner_once
                .associate_custom_domain()
                .service_arn(service)
                .domain_name(domain)
                .enable_www_subdomain(attrs.enable_www)
                .send()
                .await
                .classify("AssociateCustomDomain")
        },
        || async {
            describe(ctx, service, domain)
                .await
                .map(|f| f.map(|f| f.applied()))
                .map_err(|f| f.into_provider(&what))
        },
    )
    .await?;
    let member = ("AssociateCustomDomain", "CustomDomain");
    let first = created.applied(&what, member, |out| {
        let found = Found {
            service: service.to_owned(),
            dns_target: out.dns_target().to_owned(),
            domain: out.custom_domain()?.clone(),
        };
        Some(found.applied())
    })?;
    request.created.report(&first).await?;
    let waiting = Waiting {
        verb: "creating",
        address: request.address,
        progress: &request.progress,
    };
    // Validation records appear once the domain leaves `creating`.
    let awaited = format!("the certificate validation records of {what}");
    let found = wait_for(ctx, (service, domain), waiting.clone(), &awaited, |f| {
        let status = f.status();
        status == DOMAIN_ACTIVE || (status != "creating" && !f.validation_records().is_empty())
    })
    .await?;
    let Some(zone) = attrs.route53_zone.as_deref() else {
        if found.status() != DOMAIN_ACTIVE {
            for r in found.all_records() {
                let line = format!(
                    "create DNS record {} {} -> {}",
                    r.record_type, r.name, r.value
                );
                (request.progress)(request.address, &line);
            }
        }
        return Ok(found.applied());
    };
    let records = found.all_records();
    dns::upsert(ctx, zone, &records)
        .await
        .map_err(|f| f.into_provider(&what))?;
    let line = format!(
        "wrote {} DNS records in Route 53 hosted zone {zone}; waiting for {domain} to be {DOMAIN_ACTIVE}",
        records.len()
    );
    (request.progress)(request.address, &line);
    let awaited = format!(
        "{what} to become {DOMAIN_ACTIVE} (it was {DOMAIN_PENDING_VALIDATION}; its validation and CNAME records were written in Route 53 hosted zone {zone}: check that the domain's DNS is delegated to that zone and that the records resolve, then apply again)"
    );
    let active = wait_for(ctx, (service, domain), waiting, &awaited, |f| {
        f.status() == DOMAIN_ACTIVE
    })
    .await?;
    Ok(active.applied())
}

/// Custom domains cannot change: any change is a replacement.
pub(crate) async fn update(
    ctx: &Ctx,
    id: &str,
    request: &ResourceRequest<'_>,
    changed: &[String],
) -> Result<Applied, ProviderError> {
    let what = request.address.to_string();
    if let Some(field) = changed.first() {
        return Err(ProviderError::Invalid {
            operation: "AssociateCustomDomain".to_owned(),
            message: format!("{what}: `{field}` cannot change in place; it must be replaced"),
        });
    }
    let (service, domain) = parse_id(id)?;
    describe(ctx, service, domain)
        .await
        .map_err(|f| f.into_provider(&what))?
        .map(|f| f.applied())
        .ok_or(ProviderError::NotFound { what })
}

/// Disassociates the domain, waits until it is gone, and removes the
/// records apprun wrote in its zone; `Ok` when already gone.
pub(crate) async fn delete(
    ctx: &Ctx,
    id: &str,
    recorded: &serde_json::Value,
    progress: Progress,
) -> Result<(), ProviderError> {
    let (service, domain) = parse_id(id)?;
    let address = address_of(domain);
    let what = address.to_string();
    let err = |f: ApiFailure| f.into_provider(&what);
    let Some(found) = describe(ctx, service, domain).await.map_err(err)? else {
        return Ok(());
    };
    let zone = DomainAttributes::from_value(recorded)
        .ok()
        .and_then(|a| a.route53_zone);
    // Computed before disassociating: the answer is gone afterwards.
    let records = found.all_records();
    let waiting = Waiting {
        verb: "deleting",
        address: &address,
        progress: &progress,
    };
    let mut poller = Poller::new(&ctx.settings, waiting);
    let awaited = format!("{what} to be disassociated");
    let mut asked = false;
    loop {
        match describe(ctx, service, domain).await.map_err(err)? {
            None => break,
            Some(f) if !asked && f.status() != "deleting" => {
                let out = ctx
                    .clients
                    .apprunner
                    .disassociate_custom_domain()
                    .service_arn(service)
                    .domain_name(domain)
                    .send()
                    .await
                    .classify("DisassociateCustomDomain");
                match out {
                    Ok(_) => asked = true,
                    Err(f) if f.class == Class::NotFound => break,
                    // Still being created: look again.
                    Err(f) if f.class == Class::InvalidState => {}
                    Err(f) => return Err(err(f)),
                }
            }
            Some(_) => {}
        }
        poller.tick(&awaited).await?;
    }
    if let Some(zone) = zone {
        let deleted = dns::delete(ctx, &zone, &records).await.map_err(err)?;
        tracing::debug!("deleted {deleted} DNS records of {domain} in {zone}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_ids_join_the_service_and_the_domain() {
        let service = "arn:aws:apprunner:us-east-1:111122223333:service/web/0123";
        let id = physical_id(service, "shop.example.com");
        assert_eq!(id, format!("{service}#shop.example.com"));
        assert!(matches!(parse_id(&id), Ok((s, "shop.example.com")) if s == service));
        assert!(parse_id("no-separator").is_err());
        assert!(parse_id("#shop.example.com").is_err());
    }
}
