//! Name resolution for apprun's static helper programs (`echo.rs` and
//! `front_door.rs` include it with `mod resolve;`). A statically linked
//! glibc binary cannot load NSS modules in a `FROM scratch` image, so names
//! are looked up in /etc/hosts, then with a minimal DNS A query to the
//! nameservers in /etc/resolv.conf (Docker's embedded DNS on a user-defined
//! network), then with std as a last resort.

use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

/// Resolve `host` (a name or an IPv4 address) to an address with `port`.
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(SocketAddr::from((ip, port)));
    }
    if let Ok(hosts) = std::fs::read_to_string("/etc/hosts") {
        for line in hosts.lines() {
            let mut f = line.split_whitespace();
            if let Some(ip) = f.next().and_then(|ip| ip.parse::<Ipv4Addr>().ok()) {
                if f.any(|n| n == host) {
                    return Ok(SocketAddr::from((ip, port)));
                }
            }
        }
    }
    if let Ok(conf) = std::fs::read_to_string("/etc/resolv.conf") {
        for line in conf.lines() {
            if let Some(ns) = line.strip_prefix("nameserver") {
                if let Ok(ns) = ns.trim().parse::<Ipv4Addr>() {
                    if let Some(ip) = dns_a(ns, host) {
                        return Ok(SocketAddr::from((ip, port)));
                    }
                }
            }
        }
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| format!("cannot resolve {host}"))
}

fn dns_a(ns: Ipv4Addr, host: &str) -> Option<Ipv4Addr> {
    let sock = UdpSocket::bind("0.0.0.0:0").ok()?;
    sock.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let id: u16 = (std::process::id() as u16) ^ 0x5a5a;
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in host.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    sock.send_to(&q, (ns, 53)).ok()?;
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).ok()?;
    let r = &buf[..n];
    if r.len() < 12 || r[0..2] != id.to_be_bytes() {
        return None;
    }
    let ancount = u16::from_be_bytes([r[6], r[7]]);
    let mut i = 12;
    // skip the question
    i = skip_name(r, i)? + 4;
    for _ in 0..ancount {
        i = skip_name(r, i)?;
        if i + 10 > r.len() {
            return None;
        }
        let typ = u16::from_be_bytes([r[i], r[i + 1]]);
        let len = u16::from_be_bytes([r[i + 8], r[i + 9]]) as usize;
        i += 10;
        if typ == 1 && len == 4 && i + 4 <= r.len() {
            return Some(Ipv4Addr::new(r[i], r[i + 1], r[i + 2], r[i + 3]));
        }
        i += len;
    }
    None
}

fn skip_name(r: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let len = *r.get(i)? as usize;
        if len == 0 {
            return Some(i + 1);
        }
        if len & 0xc0 == 0xc0 {
            return Some(i + 2);
        }
        i += len + 1;
    }
}

/// Resolve `host:port`.
#[allow(dead_code)]
pub fn resolve_host_port(addr: &str) -> Result<SocketAddr, String> {
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("{addr} is not host:port"))?;
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("{addr} has no valid port"))?;
    resolve(host, port)
}
