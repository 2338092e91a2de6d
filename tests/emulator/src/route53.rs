//! Deterministic certificate validation of custom domains against a real
//! Route 53 API (moto server in tests): when a Route 53 endpoint is
//! configured (`--route53-endpoint`, `POST /_emulator/config
//! {"route53_endpoint": …}`), a background task polls it every 200 ms
//! (real time) while some domain is `pending_certificate_dns_validation`:
//! `GET /2013-04-01/hostedzone`, then `GET /2013-04-01/hostedzone/{Id}/rrset`
//! for each zone, over plain HTTP/1.0 without a signature (an
//! `Authorization` header names the `route53` credential scope only so that
//! moto routes the request). A domain validates (at the emulator clock's
//! current time) once every one of its validation CNAME records, with its
//! value, is in a hosted zone whose name is the domain or a suffix of it.
//! The first page of each listing is read (100 zones, 300 records per zone).

use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

use regex::Regex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::server::{Shared, lock};
use crate::state::ValidationRecord;

/// How often the task looks at the Route 53 endpoint.
const POLL_EVERY: Duration = Duration::from_millis(200);
/// The longest one HTTP exchange may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// One resource record set of a hosted zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DnsRecord {
    /// The zone's name, normalised (lower case, no trailing dot).
    pub zone: String,
    /// The record's name, normalised.
    pub name: String,
    /// `CNAME`, `A`, …
    pub kind: String,
    /// The values, normalised.
    pub values: Vec<String>,
}

/// Checks that `endpoint` is `http://host:port` (an optional trailing
/// slash aside); returns `host:port`.
pub(crate) fn authority(endpoint: &str) -> Result<String, String> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("route53 endpoint `{endpoint}` must start with http://"))?;
    let host = rest.trim_end_matches('/');
    let valid = !host.is_empty()
        && !host.contains('/')
        && host
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
    if !valid {
        return Err(format!(
            "route53 endpoint `{endpoint}` must be http://host:port"
        ));
    }
    Ok(host.to_owned())
}

/// Starts the polling task; it ends when the emulator is dropped.
pub(crate) fn spawn(shared: &Arc<Shared>) -> JoinHandle<()> {
    let weak = Arc::downgrade(shared);
    tokio::spawn(poll_loop(weak))
}

async fn poll_loop(weak: Weak<Shared>) {
    loop {
        tokio::time::sleep(POLL_EVERY).await;
        let Some(shared) = weak.upgrade() else {
            return;
        };
        if let Err(e) = poll_once(&shared).await {
            tracing::debug!("route53 poll: {e}");
        }
    }
}

/// One look at the endpoint: validates every pending domain whose records exist.
pub(crate) async fn poll_once(shared: &Shared) -> Result<usize, String> {
    let settings = lock(&shared.settings).clone();
    let Some(endpoint) = settings.route53_endpoint.clone() else {
        return Ok(0);
    };
    let pending: Vec<(String, String, String, Vec<ValidationRecord>)> = {
        let now = shared.clock.now_ms();
        let mut regions = lock(&shared.state);
        let mut out = Vec::new();
        for (region, state) in regions.regions_mut() {
            crate::operations::settle_all(state, &settings, now);
            for (service, domain, records) in crate::custom_domains::pending(state) {
                out.push((region.clone(), service, domain, records));
            }
        }
        out
    };
    if pending.is_empty() {
        return Ok(0);
    }
    let dns = fetch(&authority(&endpoint)?).await?;
    let now = shared.clock.now_ms();
    let mut regions = lock(&shared.state);
    let mut validated = 0;
    for (region, state) in regions.regions_mut() {
        for (r, service, domain, records) in &pending {
            if r == region
                && all_present(domain, records, &dns)
                && crate::custom_domains::mark_validated(
                    state,
                    service,
                    domain,
                    now,
                    settings.operation_duration_ms,
                )
            {
                validated += 1;
            }
        }
    }
    Ok(validated)
}

fn norm(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Whether every validation record of `domain` is in a zone that is a
/// suffix of the domain.
pub(crate) fn all_present(domain: &str, records: &[ValidationRecord], dns: &[DnsRecord]) -> bool {
    let base = norm(domain.strip_prefix("*.").unwrap_or(domain));
    let zone_fits = |zone: &str| base == zone || base.ends_with(&format!(".{zone}"));
    records.iter().all(|rec| {
        let (name, value) = (norm(&rec.name), norm(&rec.value));
        dns.iter().any(|d| {
            zone_fits(&d.zone)
                && d.kind.eq_ignore_ascii_case("CNAME")
                && d.name == name
                && d.values.contains(&value)
        })
    })
}

static ZONE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?s)<HostedZone>(.*?)</HostedZone>").ok());
static RRSET: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?s)<ResourceRecordSet>(.*?)</ResourceRecordSet>").ok());
static VALUE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?s)<Value>(.*?)</Value>").ok());

/// The text of the first `<tag>` element in `xml`.
fn element(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(unescape(&xml[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The hosted zones of a `ListHostedZones` answer: (id, name).
pub(crate) fn parse_zones(xml: &str) -> Vec<(String, String)> {
    let Some(re) = ZONE.as_ref() else {
        return Vec::new();
    };
    re.captures_iter(xml)
        .filter_map(|c| {
            let body = c.get(1)?.as_str();
            Some((element(body, "Id")?, element(body, "Name")?))
        })
        .collect()
}

/// The record sets of a `ListResourceRecordSets` answer, in `zone`.
pub(crate) fn parse_records(zone: &str, xml: &str) -> Vec<DnsRecord> {
    let (Some(sets), Some(values)) = (RRSET.as_ref(), VALUE.as_ref()) else {
        return Vec::new();
    };
    sets.captures_iter(xml)
        .filter_map(|c| {
            let body = c.get(1)?.as_str();
            Some(DnsRecord {
                zone: norm(zone),
                name: norm(&element(body, "Name")?),
                kind: element(body, "Type")?,
                values: values
                    .captures_iter(body)
                    .filter_map(|v| v.get(1).map(|m| norm(&unescape(m.as_str()))))
                    .collect(),
            })
        })
        .collect()
}

/// Every record of every hosted zone at `authority` (`host:port`).
async fn fetch(authority: &str) -> Result<Vec<DnsRecord>, String> {
    let zones = parse_zones(&get(authority, "/2013-04-01/hostedzone").await?);
    let mut out = Vec::new();
    for (id, name) in zones {
        // Ids read `/hostedzone/Z…` (some servers answer the bare `Z…`).
        let id = id.trim_start_matches("/hostedzone/");
        let xml = get(authority, &format!("/2013-04-01/hostedzone/{id}/rrset")).await?;
        out.extend(parse_records(&name, &xml));
    }
    Ok(out)
}

/// One HTTP/1.0 GET; the body of a 200 answer.
async fn get(authority: &str, path: &str) -> Result<String, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(authority)
            .await
            .map_err(|e| format!("connect {authority}: {e}"))?;
        let request = format!(
            "GET {path} HTTP/1.0\r\nHost: {authority}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=emulator/20240101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=unsigned\r\nAccept: application/xml\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("send to {authority}: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("read from {authority}: {e}"))?;
        Ok::<_, String>(String::from_utf8_lossy(&raw).into_owned())
    };
    let text = tokio::time::timeout(HTTP_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("GET {path} on {authority} timed out"))??;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("GET {path}: malformed HTTP answer"))?;
    let status = head.split(' ').nth(1).unwrap_or_default();
    if status != "200" {
        return Err(format!("GET {path}: HTTP {status}"));
    }
    Ok(body.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ZONES: &str = r#"<?xml version="1.0"?><ListHostedZonesResponse><HostedZones><HostedZone><Id>/hostedzone/Z1</Id><Name>example.com.</Name></HostedZone></HostedZones></ListHostedZonesResponse>"#;
    const RRSETS: &str = r#"<ListResourceRecordSetsResponse><ResourceRecordSets><ResourceRecordSet><Name>example.com.</Name><Type>NS</Type><ResourceRecords><ResourceRecord><Value>ns-1.awsdns.com</Value></ResourceRecord></ResourceRecords></ResourceRecordSet><ResourceRecordSet><Name>_a.shop.example.com.</Name><Type>CNAME</Type><ResourceRecords><ResourceRecord><Value>_b.x.acm-validations.aws.</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></ResourceRecordSets></ListResourceRecordSetsResponse>"#;

    #[test]
    fn parses_zones_and_records() {
        assert_eq!(
            parse_zones(ZONES),
            vec![("/hostedzone/Z1".to_owned(), "example.com.".to_owned())]
        );
        let records = parse_records("example.com.", RRSETS);
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].name, "_a.shop.example.com");
        assert_eq!(records[1].values, vec!["_b.x.acm-validations.aws"]);
    }

    #[test]
    fn every_record_must_be_in_a_suffix_zone() {
        let dns = parse_records("example.com.", RRSETS);
        let rec = |n: &str, v: &str| ValidationRecord {
            name: n.to_owned(),
            value: v.to_owned(),
        };
        let one = [rec("_a.shop.example.com.", "_b.x.acm-validations.aws.")];
        assert!(all_present("shop.example.com", &one, &dns));
        assert!(!all_present("shop.example.org", &one, &dns));
        let wrong_value = [rec("_a.shop.example.com.", "_c.x.acm-validations.aws.")];
        assert!(!all_present("shop.example.com", &wrong_value, &dns));
        let two = [
            one[0].clone(),
            rec("_w.www.shop.example.com.", "_d.x.acm-validations.aws."),
        ];
        assert!(!all_present("shop.example.com", &two, &dns));
        // A zone named like a suffix of the label, not of the name, does not fit.
        let other = parse_records("ample.com.", RRSETS);
        assert!(!all_present("shop.example.com", &one, &other));
    }

    #[test]
    fn endpoints_are_plain_http() {
        assert_eq!(
            authority("http://127.0.0.1:5000/").unwrap(),
            "127.0.0.1:5000"
        );
        assert!(authority("https://127.0.0.1:5000").is_err());
        assert!(authority("http://127.0.0.1").is_err());
        assert!(authority("http://127.0.0.1:5000/x").is_err());
    }
}
