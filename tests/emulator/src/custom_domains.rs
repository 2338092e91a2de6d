//! Custom domains: `AssociateCustomDomain`, `DescribeCustomDomains`,
//! `DisassociateCustomDomain`.
//!
//! Wire spelling: the API model spells `CustomDomainAssociationStatus` in
//! upper case, but the service sends it in lower case (`creating`,
//! `pending_certificate_dns_validation`, `binding_certificate`, `active`,
//! `deleting`), as recorded boto3 answers show; `CertificateValidationRecordStatus`
//! is upper case (`PENDING_VALIDATION`, `SUCCESS`). The emulator sends what
//! the service sends; SDKs keep an unknown enum value as text.
//!
//! Status machine: `creating` -> `pending_certificate_dns_validation`
//! (after the operation duration) -> `binding_certificate` once the
//! certificate validates (records turn `SUCCESS`) -> `active` after the
//! operation duration. Validation happens when a Route 53 endpoint is
//! configured and holds every validation CNAME (see `route53`), or a fixed
//! delay after the domain became pending (`domain_validation_ms`); with
//! neither, the domain stays pending, as AWS does without the records.
//! Disassociation: `deleting`, gone after the operation duration.
//!
//! Validation records are deterministic: `_<hash>.<domain>.` CNAME
//! `_<hash>.<hash10>.acm-validations.aws.`, one for the domain (without a
//! leading `*.`) and one for `www.<domain>` when `EnableWWWSubdomain`
//! (default true) and the domain is no wildcard.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use crate::dispatch::{Ctx, parse};
use crate::error::ApiError;
use crate::model::{
    AssociateCustomDomainInput, DescribeCustomDomainsInput, DisassociateCustomDomainInput,
};
use crate::state::{
    CustomDomain, DomainStatus, ServiceStatus, Settings, State, ValidationRecord, paginate,
    strip_nulls,
};
use crate::validate::{self, Violations};

pub(crate) static DOMAIN_NAME: LazyLock<Regex> =
    LazyLock::new(|| validate::re(r"^[A-Za-z0-9*.\-]{1,255}$"));

/// Whether `name` is a host name: dot-separated labels of 1–63 letters,
/// digits and inner hyphens, at least two, with an optional leading `*`.
fn is_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    let labels: Vec<&str> = name.split('.').collect();
    labels.len() >= 2
        && labels.iter().enumerate().all(|(i, l)| {
            (i == 0 && *l == "*")
                || (!l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        })
}

/// FNV-1a over `salt` and `text`.
fn fnv(salt: &str, text: &str) -> u64 {
    salt.bytes()
        .chain(std::iter::once(0))
        .chain(text.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// 32 hex characters derived from `text`.
fn hash32(salt: &str, text: &str) -> String {
    format!(
        "{:016x}{:016x}",
        fnv(salt, text),
        fnv(&format!("{salt}2"), text)
    )
}

/// The validation record of one host name.
fn record_for(host: &str) -> ValidationRecord {
    let host = host.to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    let zone: String = hash32("zone", host)
        .chars()
        .map(|c| match c.to_digit(16) {
            Some(d) => char::from(b"abcdefghijklmnopqrstuvwxyz"[(d as usize * 7) % 26]),
            None => c,
        })
        .take(10)
        .collect();
    ValidationRecord {
        name: format!("_{}.{host}.", hash32("name", host)),
        value: format!("_{}.{zone}.acm-validations.aws.", hash32("value", host)),
    }
}

/// The validation records of a domain (and its `www.` subdomain).
pub(crate) fn records(domain: &str, www: bool) -> Vec<ValidationRecord> {
    let (base, wildcard) = match domain.strip_prefix("*.") {
        Some(rest) => (rest, true),
        None => (domain, false),
    };
    let mut out = vec![record_for(base)];
    if www && !wildcard {
        out.push(record_for(&format!("www.{base}")));
    }
    out
}

/// Advances every domain whose timed phase ended, or whose fixed
/// validation delay passed, at or before `now`.
pub(crate) fn settle(state: &mut State, settings: &Settings, now: u64) {
    let duration = settings.operation_duration_ms;
    for d in &mut state.custom_domains {
        loop {
            match (d.status, d.phase_ends_at, d.pending_since) {
                (DomainStatus::Creating, Some(at), _) if now >= at => {
                    d.status = DomainStatus::PendingCertificateDnsValidation;
                    d.pending_since = Some(at);
                    d.phase_ends_at = None;
                }
                (DomainStatus::PendingCertificateDnsValidation, _, Some(since)) => {
                    match settings.domain_validation_ms {
                        Some(delay) if now >= since.saturating_add(delay) => {
                            validate_at(d, since.saturating_add(delay), duration);
                        }
                        _ => break,
                    }
                }
                (DomainStatus::BindingCertificate, Some(at), _) if now >= at => {
                    d.status = DomainStatus::Active;
                    d.phase_ends_at = None;
                }
                _ => break,
            }
        }
    }
    // Disassociated domains, and the domains of deleted services, are gone.
    let services = &state.services;
    state.custom_domains.retain(|d| {
        let gone =
            d.status == DomainStatus::Deleting && d.phase_ends_at.is_some_and(|at| now >= at);
        let service_deleted = services
            .iter()
            .rfind(|s| s.arn == d.service_arn)
            .is_none_or(|s| s.status == ServiceStatus::Deleted);
        !gone && !service_deleted
    });
}

fn validate_at(d: &mut CustomDomain, at: u64, duration: u64) {
    d.status = DomainStatus::BindingCertificate;
    d.validated = true;
    d.phase_ends_at = Some(at.saturating_add(duration));
}

/// Marks the domain validated at `now` (its DNS records were found), if it
/// is still pending; `true` if it was.
pub(crate) fn mark_validated(
    state: &mut State,
    service_arn: &str,
    domain: &str,
    now: u64,
    duration: u64,
) -> bool {
    match state.custom_domains.iter_mut().find(|d| {
        d.service_arn == service_arn
            && d.domain_name == domain
            && d.status == DomainStatus::PendingCertificateDnsValidation
    }) {
        Some(d) => {
            validate_at(d, now, duration);
            true
        }
        None => false,
    }
}

/// The domains waiting for DNS validation: (service ARN, domain, records).
pub(crate) fn pending(state: &State) -> Vec<(String, String, Vec<ValidationRecord>)> {
    state
        .custom_domains
        .iter()
        .filter(|d| d.status == DomainStatus::PendingCertificateDnsValidation)
        .map(|d| {
            (
                d.service_arn.clone(),
                d.domain_name.clone(),
                d.records.clone(),
            )
        })
        .collect()
}

fn render(d: &CustomDomain) -> Value {
    let record_status = if d.validated {
        "SUCCESS"
    } else {
        "PENDING_VALIDATION"
    };
    let records: Vec<Value> = d
        .records
        .iter()
        .map(|r| {
            json!({
                "Name": r.name,
                "Type": "CNAME",
                "Value": r.value,
                "Status": record_status,
            })
        })
        .collect();
    json!({
        "DomainName": d.domain_name,
        "EnableWWWSubdomain": d.www,
        "CertificateValidationRecords": records,
        "Status": d.status.as_str(),
    })
}

fn check_service_arn(v: &mut Violations, arn: Option<&String>) {
    if v.required(arn, "serviceArn")
        && let Some(arn) = arn
    {
        v.resource_arn(arn, "serviceArn");
    }
}

fn check_domain(v: &mut Violations, domain: Option<&String>) {
    if v.required(domain, "domainName")
        && let Some(domain) = domain
        && v.string(domain, "domainName", 1, 255, &DOMAIN_NAME)
        && !is_hostname(domain)
    {
        v.constraint(
            domain,
            "domainName",
            "Member must be a host name (labels of 1 to 63 letters, digits or inner hyphens; only the first may be *)",
        );
    }
}

/// The service's URL host (the `DNSTarget`), if the service is not deleted.
fn live_service_url(ctx: &Ctx<'_>, arn: &str) -> Result<String, ApiError> {
    let service = crate::services::find(ctx.state, &ctx.settings.scope, arn)?;
    if service.status == ServiceStatus::Deleted {
        return Err(ApiError::not_found(format!(
            "Service not found: {arn} (deleted)"
        )));
    }
    Ok(service.url.clone())
}

/// `AssociateCustomDomain`. Its modelled errors are IR and IS: a missing
/// or deleted service is an `InvalidStateException`.
pub(crate) fn associate(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: AssociateCustomDomainInput = parse(body)?;
    let mut v = Violations::new();
    check_service_arn(&mut v, input.service_arn.as_ref());
    check_domain(&mut v, input.domain_name.as_ref());
    v.finish()?;
    let service_arn = input.service_arn.unwrap_or_default();
    let domain = input.domain_name.unwrap_or_default();
    let domain = domain.strip_suffix('.').unwrap_or(&domain).to_owned();
    let www = input.enable_www_subdomain.unwrap_or(true);
    let target = live_service_url(ctx, &service_arn).map_err(|e| match e {
        ApiError::NotFound(m) => ApiError::InvalidState(m),
        other => other,
    })?;
    if let Some(existing) = ctx
        .state
        .custom_domains
        .iter()
        .find(|d| d.domain_name.eq_ignore_ascii_case(&domain))
    {
        let whose = if existing.service_arn == service_arn {
            "this service".to_owned()
        } else {
            format!("service {}", existing.service_arn)
        };
        return Err(ApiError::state(format!(
            "Domain {domain} is already associated with {whose} (status {})",
            existing.status.as_str()
        )));
    }
    let custom = CustomDomain {
        service_arn: service_arn.clone(),
        records: records(&domain, www),
        domain_name: domain,
        www,
        status: DomainStatus::Creating,
        validated: false,
        pending_since: None,
        phase_ends_at: Some(ctx.now.saturating_add(ctx.settings.operation_duration_ms)),
    };
    let rendered = render(&custom);
    ctx.state.custom_domains.push(custom);
    Ok(json!({
        "DNSTarget": target,
        "ServiceArn": service_arn,
        "CustomDomain": rendered,
        "VpcDNSTargets": crate::vpc_ingress::dns_targets(ctx.state, &service_arn),
    }))
}

/// `DescribeCustomDomains`: MaxResults 1–5, in association order.
pub(crate) fn describe(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: DescribeCustomDomainsInput = parse(body)?;
    let mut v = Violations::new();
    check_service_arn(&mut v, input.service_arn.as_ref());
    v.max_results(input.max_results, 5);
    v.finish()?;
    let service_arn = input.service_arn.unwrap_or_default();
    let target = live_service_url(ctx, &service_arn)?;
    let domains: Vec<Value> = ctx
        .state
        .custom_domains
        .iter()
        .filter(|d| d.service_arn == service_arn)
        .map(render)
        .collect();
    let (page, next) = paginate(&domains, input.next_token.as_deref(), input.max_results, 5)?;
    Ok(strip_nulls(json!({
        "DNSTarget": target,
        "ServiceArn": service_arn,
        "CustomDomains": page,
        "VpcDNSTargets": crate::vpc_ingress::dns_targets(ctx.state, &service_arn),
        "NextToken": next,
    })))
}

/// `DisassociateCustomDomain`: the domain turns `deleting`, then is gone.
pub(crate) fn disassociate(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: DisassociateCustomDomainInput = parse(body)?;
    let mut v = Violations::new();
    check_service_arn(&mut v, input.service_arn.as_ref());
    check_domain(&mut v, input.domain_name.as_ref());
    v.finish()?;
    let service_arn = input.service_arn.unwrap_or_default();
    let domain = input.domain_name.unwrap_or_default();
    let domain = domain.strip_suffix('.').unwrap_or(&domain).to_owned();
    let target = live_service_url(ctx, &service_arn)?;
    let ends = ctx.now.saturating_add(ctx.settings.operation_duration_ms);
    let Some(d) = ctx
        .state
        .custom_domains
        .iter_mut()
        .find(|d| d.service_arn == service_arn && d.domain_name.eq_ignore_ascii_case(&domain))
    else {
        return Err(ApiError::not_found(format!(
            "Domain {domain} is not associated with service {service_arn}"
        )));
    };
    if d.status == DomainStatus::Deleting {
        return Err(ApiError::state(format!(
            "Domain {domain} is already being disassociated"
        )));
    }
    d.status = DomainStatus::Deleting;
    d.phase_ends_at = Some(ends);
    let rendered = render(d);
    Ok(json!({
        "DNSTarget": target,
        "ServiceArn": service_arn,
        "CustomDomain": rendered,
        "VpcDNSTargets": crate::vpc_ingress::dns_targets(ctx.state, &service_arn),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        assert!(is_hostname("shop.example.com"));
        assert!(is_hostname("*.example.com"));
        assert!(!is_hostname("localhost"));
        assert!(!is_hostname("a..b"));
        assert!(!is_hostname("-a.example.com"));
        assert!(!is_hostname("a.*.example.com"));
    }

    #[test]
    fn records_are_deterministic() {
        let a = records("shop.example.com", true);
        assert_eq!(a, records("shop.example.com", true));
        assert_eq!(a.len(), 2);
        assert!(a[0].name.ends_with(".shop.example.com."));
        assert!(a[1].name.ends_with(".www.shop.example.com."));
        assert!(a[0].value.ends_with(".acm-validations.aws."));
        assert_eq!(records("*.example.com", true).len(), 1);
        let wild = &records("*.example.com", true)[0];
        assert!(wild.name.ends_with(".example.com.") && !wild.name.contains('*'));
    }
}
