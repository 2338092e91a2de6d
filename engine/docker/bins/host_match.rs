//! Which host names a front door answers: a custom domain's front door
//! (`HOSTS` set) serves only requests for its domain (and `www.<domain>`
//! when enabled) and answers `421 Misdirected Request` to any other.
//!
//! Std-only and edition-2021 compatible: the front door (`bins/front_door.rs`,
//! `mod host_match;`) and the library (`crate::domain`, for the names it
//! hands the front door and for tests) both compile this file.
#![allow(dead_code)]

/// The names a custom domain is served under: `domain`, and `www.<domain>`
/// when `enable_www` (as App Runner does), normalized like a request's host.
pub fn domain_hosts(domain: &str, enable_www: bool) -> Vec<String> {
    let Some(domain) = normalize_host(domain) else {
        return Vec::new();
    };
    let mut hosts = vec![domain.clone()];
    if enable_www && !domain.starts_with("www.") {
        hosts.push(format!("www.{domain}"));
    }
    hosts
}

/// The host a request is for: the authority of an absolute-form target
/// (`GET http://shop.example.com/ HTTP/1.1`, which wins over the header),
/// else the `Host` header; normalized ([`normalize_host`]). `None` when
/// neither names one.
pub fn request_host(target: &str, host_header: Option<&str>) -> Option<String> {
    let lower = target.get(..8).map(str::to_ascii_lowercase);
    let scheme_len = match lower.as_deref() {
        Some(l) if l.starts_with("http://") => Some(7),
        Some(l) if l.starts_with("https://") => Some(8),
        _ => None,
    };
    if let Some(skip) = scheme_len {
        let rest = &target[skip..];
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        // Drop `user:pass@`.
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        return normalize_host(authority);
    }
    host_header.and_then(normalize_host)
}

/// A host as compared: trimmed, lower case, without its port and one
/// trailing dot (`Shop.Example.com.:8080` is `shop.example.com`); an IPv6
/// literal keeps its brackets. `None` for an empty or malformed host.
pub fn normalize_host(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if host.starts_with('[') {
        let close = host.find(']')?;
        let after = &host[close + 1..];
        if !(after.is_empty() || is_port(after.strip_prefix(':')?)) {
            return None;
        }
        &host[..=close]
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return None,
            None => host,
        }
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    let ok = !name.is_empty()
        && !name.contains(['/', '@', ' ', '\t', ',', '\\'])
        && (!name.contains(':') || name.starts_with('['));
    ok.then(|| name.to_ascii_lowercase())
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a request for `host` (from [`request_host`]) may be served when
/// the front door serves `allowed` (from [`domain_hosts`]); an empty
/// `allowed` serves every host (a service's own front door).
pub fn host_allowed(host: Option<&str>, allowed: &[String]) -> bool {
    allowed.is_empty() || host.is_some_and(|h| allowed.iter().any(|a| a == h))
}
