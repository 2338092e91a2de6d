//! Custom domains on Docker: each domain gets a front-door container of its
//! own (the same image, hardening and restart policy as a service's front
//! door, on the stack network, labelled with the stack, instance and the
//! domain's address, role [`labels::ROLE_DOMAIN`]). It publishes one port on
//! 127.0.0.1 only, forwards to the service's front door on the stack
//! network (`<front door host>:<port>`, stable across blue/green
//! deployments), and serves only requests whose `Host` is the domain (or
//! `www.<domain>` when enabled): any other host is answered
//! `421 Misdirected Request` ([`host_allowed`]).
//!
//! A person reaches it with the Host header set:
//! `curl -H 'Host: shop.example.com' http://127.0.0.1:<port>/`.

#[path = "../bins/host_match.rs"]
mod host_match;

use std::collections::HashMap;

use bollard::query_parameters::StartContainerOptions;

use crate::engine::DockerEngine;
use crate::error::{DockerError, Result};
use crate::front_door::{DoorSpec, FrontDoor};
use crate::images::FRONT_DOOR;
use crate::labels;

pub use host_match::{domain_hosts, host_allowed, normalize_host, request_host};

/// The longest host name DNS allows.
const HOST_NAME_MAX: usize = 253;

/// Whether `domain` is a host name a custom domain can have: dot-separated
/// labels of ASCII letters, digits and `-` (not at either end of a label),
/// at most 63 characters each and 253 in all, at least two labels. A
/// leading `*.` (a wildcard) is refused: a front door serves exact names.
pub fn valid_domain(domain: &str) -> bool {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let labels: Vec<&str> = domain.split('.').collect();
    !domain.is_empty()
        && domain.len() <= HOST_NAME_MAX
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A custom domain's front door to run ([`DockerEngine::domain_up`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSpec {
    /// The stack.
    pub stack: String,
    /// The domain's address (`domains.shop`).
    pub address: String,
    /// The host names served ([`domain_hosts`]); never empty.
    pub hosts: Vec<String>,
    /// Where requests go: `<host>:<port>` of the service's front door on the
    /// stack network ([`FrontDoor::backend`]).
    pub backend: String,
}

/// A custom domain's front door as found on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedDomain {
    /// The container.
    pub front_door: FrontDoor,
    /// Whether it runs.
    pub running: bool,
    /// Docker's state word (`running`, `exited`, ...).
    pub state: String,
    /// The host names it serves (label [`labels::DOMAIN_HOSTS`]).
    pub hosts: Vec<String>,
    /// Where it forwards (label [`labels::DOMAIN_BACKEND`]).
    pub backend: String,
}

impl FrontDoor {
    /// `<host>:<port>`: how a container on the stack network reaches this
    /// front door (what a custom domain's front door forwards to).
    pub fn backend(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl DockerEngine {
    /// The front door of custom domain `address` in `stack`, if its
    /// container exists (running or not).
    pub async fn find_domain(&self, stack: &str, address: &str) -> Result<Option<ObservedDomain>> {
        let Some((front_door, owned)) = self.find_door(stack, address, labels::ROLE_DOMAIN).await?
        else {
            return Ok(None);
        };
        let label = |key: &str| owned.labels.get(key).cloned().unwrap_or_default();
        Ok(Some(ObservedDomain {
            running: owned.running,
            state: owned.state.clone(),
            hosts: label(labels::DOMAIN_HOSTS)
                .split(',')
                .filter(|h| !h.is_empty())
                .map(str::to_string)
                .collect(),
            backend: label(labels::DOMAIN_BACKEND),
            front_door,
        }))
    }

    /// Make sure the front door of custom domain `spec` runs, serving
    /// `spec.hosts` and forwarding to `spec.backend`. An existing one that
    /// already does is kept (started if stopped); one that serves other
    /// hosts or forwards elsewhere is re-created on the same port. Other
    /// containers of the address (leftovers of an interrupted run) are
    /// removed.
    pub async fn domain_up(&self, spec: &DomainSpec) -> Result<FrontDoor> {
        if spec.hosts.is_empty() || spec.backend.is_empty() {
            return Err(DockerError::InvalidSpec {
                address: spec.address.clone(),
                reason: "a custom domain needs a host name and a service to forward to".to_string(),
            });
        }
        let hosts = spec.hosts.join(",");
        let mut keep_port = None;
        if let Some(found) = self.find_domain(&spec.stack, &spec.address).await? {
            for c in self.list_owned(&spec.stack, Some(&spec.address)).await? {
                if c.id != found.front_door.container_id {
                    self.stop_and_remove(&spec.stack, &c.id).await?;
                }
            }
            let fd = found.front_door;
            if found.hosts == spec.hosts && found.backend == spec.backend && fd.port != 0 {
                if !found.running {
                    self.client()
                        .start_container(&fd.container_id, None::<StartContainerOptions>)
                        .await
                        .map_err(|e| {
                            DockerError::api(format!("start front door of {}", spec.address), e)
                        })?;
                }
                self.wait_admin_ready(&fd).await?;
                return Ok(fd);
            }
            keep_port = Some(fd.port).filter(|p| *p != 0);
            self.stop_and_remove(&spec.stack, &fd.container_id).await?;
        }
        let image = self.ensure_builtin_image(FRONT_DOOR).await?;
        let backends = [spec.backend.clone()];
        // A port found free may be taken before Docker publishes it; retry
        // with fresh ports, except for the port an earlier door had.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let door = DoorSpec {
                stack: &spec.stack,
                address: &spec.address,
                role: labels::ROLE_DOMAIN,
                image: &image,
                port: keep_port,
                backends: &backends,
                // No cap of its own: the service's front door applies
                // max_concurrency.
                env: vec![format!("HOSTS={hosts}"), "MAX_CONCURRENCY=0".to_string()],
                labels: HashMap::from([
                    (labels::DOMAIN_HOSTS.to_string(), hosts.clone()),
                    (labels::DOMAIN_BACKEND.to_string(), spec.backend.clone()),
                ]),
            };
            match self.run_door(door).await {
                Ok(fd) => return Ok(fd),
                Err(DockerError::FrontDoor { .. }) if keep_port.is_none() && attempt < 3 => {}
                Err(DockerError::FrontDoor { .. }) if keep_port.is_some() && attempt < 2 => {
                    // The old port was taken meanwhile: take a fresh one.
                    keep_port = None;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Remove every container of custom domain `address` (its front door);
    /// gone already is fine.
    pub async fn remove_domain(&self, stack: &str, address: &str) -> Result<()> {
        for c in self.list_owned(stack, Some(address)).await? {
            self.stop_and_remove(stack, &c.id).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(domain: &str, www: bool) -> Vec<String> {
        domain_hosts(domain, www)
    }

    /// What the front door decides for a request with this target and Host.
    fn serves(allowed: &[String], target: &str, host: Option<&str>) -> bool {
        host_allowed(request_host(target, host).as_deref(), allowed)
    }

    #[test]
    fn the_domain_and_www_are_served_any_other_host_is_not() {
        let hosts = allowed("shop.example.com", true);
        assert_eq!(hosts, ["shop.example.com", "www.shop.example.com"]);
        for host in [
            "shop.example.com",
            "www.shop.example.com",
            "Shop.Example.COM",
            "shop.example.com:8080",
            "shop.example.com.",
            "WWW.shop.example.com.:80",
            " shop.example.com ",
        ] {
            assert!(serves(&hosts, "/", Some(host)), "{host}");
        }
        for host in [
            "example.com",
            "api.shop.example.com",
            "shop.example.com.evil.test",
            "evilshop.example.com",
            "127.0.0.1",
            "127.0.0.1:8080",
            "",
            "shop.example.com:http",
            "shop.example.com:8080:80",
            "[::1]:80",
        ] {
            assert!(!serves(&hosts, "/", Some(host)), "{host}");
        }
        assert!(!serves(&hosts, "/", None), "no Host header at all");
    }

    #[test]
    fn without_www_only_the_domain_is_served() {
        let hosts = allowed("shop.example.com", false);
        assert_eq!(hosts, ["shop.example.com"]);
        assert!(serves(&hosts, "/", Some("shop.example.com")));
        assert!(!serves(&hosts, "/", Some("www.shop.example.com")));
        // A domain that is a www name already gets no second www.
        assert_eq!(allowed("www.example.com", true), ["www.example.com"]);
    }

    #[test]
    fn an_absolute_form_target_names_the_host() {
        let hosts = allowed("shop.example.com", true);
        assert!(serves(
            &hosts,
            "http://shop.example.com/cart?x=1",
            Some("other.test")
        ));
        assert!(!serves(
            &hosts,
            "http://other.test/",
            Some("shop.example.com")
        ));
        assert!(serves(
            &hosts,
            "HTTP://user:pw@WWW.shop.example.com:80",
            None
        ));
    }

    #[test]
    fn a_service_front_door_serves_every_host() {
        assert!(host_allowed(None, &[]));
        assert!(host_allowed(Some("anything.test"), &[]));
    }

    #[test]
    fn ipv6_literals_keep_their_brackets() {
        assert_eq!(normalize_host("[::1]:8080").as_deref(), Some("[::1]"));
        assert_eq!(normalize_host("[::1]").as_deref(), Some("[::1]"));
        assert_eq!(normalize_host("[::1]x"), None);
        assert_eq!(normalize_host("::1"), None);
    }

    #[test]
    fn domain_names_are_checked() {
        for ok in [
            "shop.example.com",
            "a-b.example.co",
            "x1.io",
            "shop.example.com.",
        ] {
            assert!(valid_domain(ok), "{ok}");
        }
        for bad in [
            "",
            "localhost",
            "*.example.com",
            "-shop.example.com",
            "shop-.example.com",
            "shop..example.com",
            "shop example.com",
            "shop.example.com:80",
            "http://shop.example.com",
        ] {
            assert!(!valid_domain(bad), "{bad}");
        }
        assert!(!valid_domain(&format!("{}.com", "a".repeat(64))));
    }
}
