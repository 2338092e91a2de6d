//! apprun front door: a tiny, std-only HTTP/1.1 reverse proxy that gives a
//! service one stable URL on 127.0.0.1 and balances requests across the
//! service's replicas. Compiled by `engine/docker/build.rs` into a statically
//! linked binary and packaged `FROM scratch`; the engine runs it on the
//! stack's Docker network, where it reaches replicas by container name, and
//! publishes its ports on the host's 127.0.0.1 only.
//!
//! Environment:
//! - `LISTEN` (e.g. `0.0.0.0:8080`): the public address.
//! - `ADMIN` (e.g. `0.0.0.0:9080`): the admin address.
//! - `ADMIN_TOKEN`: if set, admin writes need `Authorization: Bearer <token>`.
//! - `BACKENDS`: comma-separated `host:port` list to start with; host names
//!   are resolved with `resolve.rs` (Docker's embedded DNS), cached for a
//!   few seconds and looked up again when a connection fails.
//! - `MAX_CONCURRENCY` (default 0 = unlimited): in-flight requests allowed
//!   per backend.
//! - `QUEUE_TIMEOUT_MS` (default 5000): how long a request waits for a free
//!   backend slot before it is answered `429 Too Many Requests`.
//! - `HOSTS` (a custom domain's front door): comma-separated host names;
//!   a request for any other host (its `Host` header, or the authority of
//!   an absolute-form target; port and case ignored) is answered
//!   `421 Misdirected Request` and never forwarded (`host_match.rs`).
//!
//! Balancing is per request (not per connection): each request goes to the
//! backend with the fewest in-flight requests below the cap, round-robin
//! among equals, so keep-alive client connections follow a backend switch.
//! A request whose backend refuses the connection, or (for GET/HEAD) closes
//! it before answering, is retried on another backend.
//!
//! Admin API:
//! - `GET /backends`: one line per backend: `<addr> <in_flight> <current|retired> <served>`.
//! - `PUT /backends` (body: addresses separated by commas or newlines):
//!   switches atomically; requests in flight on old backends finish there.
//! - `GET /healthz`: `ok`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

mod host_match;
mod resolve;

/// How long a backend's resolved address is reused.
const RESOLVE_TTL: Duration = Duration::from_secs(5);

/// Resolved backend addresses, by `host:port`.
static RESOLVED: Mutex<Option<HashMap<String, (SocketAddr, Instant)>>> = Mutex::new(None);

/// The address of backend `addr` (`host:port`), from the cache while fresh.
fn backend_address(addr: &str) -> Option<SocketAddr> {
    let now = Instant::now();
    if let Ok(cache) = RESOLVED.lock() {
        if let Some((a, at)) = cache.as_ref().and_then(|c| c.get(addr)) {
            if now.duration_since(*at) < RESOLVE_TTL {
                return Some(*a);
            }
        }
    }
    let resolved = resolve::resolve_host_port(addr).ok()?;
    if let Ok(mut cache) = RESOLVED.lock() {
        cache
            .get_or_insert_with(HashMap::new)
            .insert(addr.to_string(), (resolved, now));
    }
    Some(resolved)
}

/// Forgets backend `addr`'s address (its connection failed: the replica
/// may have been replaced and its name point elsewhere now).
fn forget_address(addr: &str) {
    if let Ok(mut cache) = RESOLVED.lock() {
        if let Some(c) = cache.as_mut() {
            c.remove(addr);
        }
    }
}

#[derive(Default)]
struct State {
    current: Vec<String>,
    in_flight: HashMap<String, usize>,
    served: HashMap<String, u64>,
    rr: usize,
}

struct Shared {
    state: Mutex<State>,
    freed: Condvar,
    cap: usize,
    queue_timeout: Duration,
    token: Option<String>,
    /// The host names served (`HOSTS`); empty: every host.
    hosts: Vec<String>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

enum Acquire {
    Got(Slot),
    Busy,
    NoBackends,
}

/// One in-flight request on one backend; released on drop.
struct Slot {
    shared: Arc<Shared>,
    addr: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        let current = st.current.contains(&self.addr);
        let n = st.in_flight.entry(self.addr.clone()).or_insert(1);
        *n = n.saturating_sub(1);
        if *n == 0 && !current {
            st.in_flight.remove(&self.addr);
        }
        drop(st);
        self.shared.freed.notify_all();
    }
}

fn acquire(shared: &Arc<Shared>, avoid: &[String]) -> Acquire {
    let deadline = Instant::now() + shared.queue_timeout;
    let mut st = shared.lock();
    loop {
        let n = st.current.len();
        if n > 0 {
            let mut best: Option<(usize, usize)> = None; // (in_flight, index)
            for k in 0..n {
                let idx = (st.rr + k) % n;
                let addr = &st.current[idx];
                if avoid.contains(addr) && avoid.len() < n {
                    continue;
                }
                let used = st.in_flight.get(addr).copied().unwrap_or(0);
                if shared.cap > 0 && used >= shared.cap {
                    continue;
                }
                if best.is_none_or(|(b, _)| used < b) {
                    best = Some((used, idx));
                }
            }
            if let Some((_, idx)) = best {
                st.rr = (idx + 1) % n;
                let addr = st.current[idx].clone();
                *st.in_flight.entry(addr.clone()).or_insert(0) += 1;
                *st.served.entry(addr.clone()).or_insert(0) += 1;
                return Acquire::Got(Slot {
                    shared: Arc::clone(shared),
                    addr,
                });
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return if n == 0 {
                Acquire::NoBackends
            } else {
                Acquire::Busy
            };
        }
        st = match shared.freed.wait_timeout(st, deadline - now) {
            Ok((g, _)) => g,
            Err(p) => p.into_inner().0,
        };
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn parse_list(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn main() {
    let listen = env("LISTEN").unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let admin = env("ADMIN");
    let cap = env("MAX_CONCURRENCY")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0usize);
    let queue_ms = env("QUEUE_TIMEOUT_MS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000u64);
    let state = State {
        current: parse_list(&env("BACKENDS").unwrap_or_default()),
        ..State::default()
    };
    let shared = Arc::new(Shared {
        state: Mutex::new(state),
        freed: Condvar::new(),
        cap,
        queue_timeout: Duration::from_millis(queue_ms),
        token: env("ADMIN_TOKEN"),
        hosts: parse_list(&env("HOSTS").unwrap_or_default())
            .iter()
            .filter_map(|h| host_match::normalize_host(h))
            .collect(),
    });
    let listener = match TcpListener::bind(&listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("front-door: cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    if let Some(admin) = admin {
        let admin_listener = match TcpListener::bind(&admin) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("front-door: cannot listen on admin {admin}: {e}");
                std::process::exit(1);
            }
        };
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            for s in admin_listener.incoming().flatten() {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = handle_admin(&shared, s);
                });
            }
        });
    }
    if shared.hosts.is_empty() {
        eprintln!("front-door: listening on {listen}, max_concurrency={cap}");
    } else {
        eprintln!(
            "front-door: listening on {listen} for {}, max_concurrency={cap}",
            shared.hosts.join(", ")
        );
    }
    for s in listener.incoming() {
        match s {
            Ok(s) => {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = handle_client(&shared, s);
                });
            }
            Err(e) => eprintln!("front-door: accept: {e}"),
        }
    }
}

struct Head {
    first: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case(name)
                && v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))
        })
    }
}

/// Read an HTTP head; `Ok(None)` on a clean EOF before any byte.
fn read_head<R: BufRead>(r: &mut R) -> std::io::Result<Option<Head>> {
    let mut first = String::new();
    loop {
        first.clear();
        if r.read_line(&mut first)? == 0 {
            return Ok(None);
        }
        if !first.trim().is_empty() {
            break;
        }
    }
    let mut headers = Vec::new();
    let mut total = first.len();
    loop {
        let mut h = String::new();
        let n = r.read_line(&mut h)?;
        total += n;
        if total > 64 * 1024 {
            return Err(std::io::Error::other("head too large"));
        }
        if n == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Some(Head {
        first: first.trim_end().to_string(),
        headers,
    }))
}

const HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn read_body<R: BufRead>(r: &mut R, head: &Head) -> std::io::Result<Result<Vec<u8>, u16>> {
    const MAX: usize = 32 << 20;
    if head.has_token("transfer-encoding", "chunked") {
        let mut body = Vec::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line)?;
            let size =
                usize::from_str_radix(line.trim().split(';').next().unwrap_or("").trim(), 16)
                    .map_err(|_| std::io::Error::other("bad chunk"))?;
            if size == 0 {
                // trailers
                loop {
                    let mut t = String::new();
                    if r.read_line(&mut t)? == 0 || t == "\r\n" || t == "\n" {
                        break;
                    }
                }
                return Ok(Ok(body));
            }
            if body.len() + size > MAX {
                return Ok(Err(413));
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            let mut crlf = String::new();
            r.read_line(&mut crlf)?;
        }
    }
    match head.get("content-length") {
        None => Ok(Ok(Vec::new())),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n <= MAX => {
                let mut body = vec![0u8; n];
                r.read_exact(&mut body)?;
                Ok(Ok(body))
            }
            Ok(_) => Ok(Err(413)),
            Err(_) => Ok(Err(400)),
        },
    }
}

fn simple(
    w: &mut impl Write,
    status: u16,
    reason: &str,
    extra: &str,
    body: &str,
) -> std::io::Result<()> {
    write!(
        w,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    w.flush()
}

fn handle_client(shared: &Arc<Shared>, client: TcpStream) -> std::io::Result<()> {
    let peer = client
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    client.set_read_timeout(Some(Duration::from_secs(120)))?;
    let _ = client.set_nodelay(true);
    let mut reader = BufReader::new(client.try_clone()?);
    let mut out = client;
    loop {
        let Some(head) = read_head(&mut reader)? else {
            return Ok(());
        };
        let mut parts = head.first.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("/");
        let version = parts.next().unwrap_or("HTTP/1.0");
        let keep_alive = version == "HTTP/1.1" && !head.has_token("connection", "close");
        let body = match read_body(&mut reader, &head)? {
            Ok(b) => b,
            Err(status) => {
                return simple(&mut out, status, "Bad Request", "", "bad request body\n");
            }
        };
        if !shared.hosts.is_empty() {
            let hosts = head
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("host"))
                .count();
            if hosts > 1 {
                return simple(
                    &mut out,
                    400,
                    "Bad Request",
                    "",
                    "more than one Host header\n",
                );
            }
            let host = host_match::request_host(target, head.get("host"));
            if !host_match::host_allowed(host.as_deref(), &shared.hosts) {
                let body = format!("this front door serves only {}\n", shared.hosts.join(", "));
                return simple(&mut out, 421, "Misdirected Request", "", &body);
            }
        }
        let mut req = format!("{}\r\n", head.first);
        for (k, v) in &head.headers {
            let lk = k.to_ascii_lowercase();
            if HOP.contains(&lk.as_str()) || lk == "content-length" || lk == "x-forwarded-for" {
                continue;
            }
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let xff = match head.get("x-forwarded-for") {
            Some(prev) => format!("{prev}, {peer}"),
            None => peer.clone(),
        };
        req.push_str(&format!(
            "X-Forwarded-For: {xff}\r\nX-Forwarded-Proto: http\r\n"
        ));
        if !body.is_empty()
            || head.get("content-length").is_some()
            || head.has_token("transfer-encoding", "chunked")
        {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("Connection: close\r\n\r\n");
        let idempotent = method == "GET" || method == "HEAD";
        match forward(
            shared, &req, &body, idempotent, &method, &mut out, keep_alive,
        )? {
            true if keep_alive => continue,
            _ => return Ok(()),
        }
    }
}

/// Forward one request. Returns whether the client connection may be reused.
fn forward(
    shared: &Arc<Shared>,
    req: &str,
    body: &[u8],
    idempotent: bool,
    method: &str,
    out: &mut TcpStream,
    keep_alive: bool,
) -> std::io::Result<bool> {
    let mut tried: Vec<String> = Vec::new();
    for _attempt in 0..6 {
        let slot = match acquire(shared, &tried) {
            Acquire::Got(s) => s,
            Acquire::Busy => {
                simple(
                    out,
                    429,
                    "Too Many Requests",
                    "Retry-After: 1\r\n",
                    "all replicas are at max_concurrency\n",
                )?;
                return Ok(false);
            }
            Acquire::NoBackends => {
                simple(out, 503, "Service Unavailable", "", "no healthy replicas\n")?;
                return Ok(false);
            }
        };
        tried.push(slot.addr.clone());
        let Some(addr) = backend_address(&slot.addr) else {
            continue;
        };
        let Ok(mut up) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) else {
            forget_address(&slot.addr);
            continue;
        };
        let _ = up.set_nodelay(true);
        up.set_read_timeout(Some(Duration::from_secs(120)))?;
        if up
            .write_all(req.as_bytes())
            .and_then(|_| up.write_all(body))
            .is_err()
        {
            if idempotent {
                continue;
            }
            simple(
                out,
                502,
                "Bad Gateway",
                "",
                "replica closed the connection\n",
            )?;
            return Ok(false);
        }
        let mut upr = BufReader::new(up);
        let head = match read_head(&mut upr) {
            Ok(Some(h)) => h,
            _ if idempotent => continue,
            _ => {
                simple(
                    out,
                    502,
                    "Bad Gateway",
                    "",
                    "replica closed the connection\n",
                )?;
                return Ok(false);
            }
        };
        let status: u16 = head
            .first
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(502);
        let no_body = method == "HEAD" || status / 100 == 1 || status == 204 || status == 304;
        let chunked = head.has_token("transfer-encoding", "chunked");
        let length: Option<u64> = head.get("content-length").and_then(|v| v.parse().ok());
        let reusable = keep_alive && (no_body || (!chunked && length.is_some()));
        let mut resp = format!("{}\r\n", head.first);
        for (k, v) in &head.headers {
            let lk = k.to_ascii_lowercase();
            if HOP.contains(&lk.as_str()) && !(lk == "transfer-encoding" && !no_body) {
                continue;
            }
            resp.push_str(&format!("{k}: {v}\r\n"));
        }
        resp.push_str(if reusable {
            "Connection: keep-alive\r\n\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        out.write_all(resp.as_bytes())?;
        if !no_body {
            match (chunked, length) {
                (false, Some(n)) => {
                    let copied = std::io::copy(&mut (&mut upr).take(n), out)?;
                    if copied < n {
                        return Ok(false);
                    }
                }
                _ => {
                    std::io::copy(&mut upr, out)?;
                }
            }
        }
        out.flush()?;
        drop(slot);
        return Ok(reusable);
    }
    simple(out, 502, "Bad Gateway", "", "no replica answered\n")?;
    Ok(false)
}

fn handle_admin(shared: &Arc<Shared>, s: TcpStream) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(s.try_clone()?);
    let mut out = s;
    let Some(head) = read_head(&mut reader)? else {
        return Ok(());
    };
    let body = match read_body(&mut reader, &head)? {
        Ok(b) => b,
        Err(_) => return simple(&mut out, 400, "Bad Request", "", "bad body\n"),
    };
    let mut parts = head.first.split_whitespace();
    let method = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("");
    match (method, path) {
        ("GET", "/healthz") => simple(&mut out, 200, "OK", "", "ok\n"),
        ("GET", "/backends") => {
            let st = shared.lock();
            let mut text = String::new();
            let mut addrs: Vec<&String> = st.current.iter().collect();
            for a in st.in_flight.keys() {
                if !addrs.contains(&a) {
                    addrs.push(a);
                }
            }
            for a in addrs {
                let kind = if st.current.contains(a) {
                    "current"
                } else {
                    "retired"
                };
                let n = st.in_flight.get(a).copied().unwrap_or(0);
                let served = st.served.get(a).copied().unwrap_or(0);
                text.push_str(&format!("{a} {n} {kind} {served}\n"));
            }
            drop(st);
            simple(&mut out, 200, "OK", "", &text)
        }
        ("PUT", "/backends") => {
            if let Some(token) = &shared.token {
                let ok = head.get("authorization") == Some(format!("Bearer {token}").as_str());
                if !ok {
                    return simple(&mut out, 401, "Unauthorized", "", "bad token\n");
                }
            }
            let list = parse_list(&String::from_utf8_lossy(&body));
            let mut st = shared.lock();
            st.current = list;
            st.rr = 0;
            st.in_flight.retain(|_, n| *n > 0);
            drop(st);
            shared.freed.notify_all();
            simple(&mut out, 200, "OK", "", "ok\n")
        }
        _ => simple(&mut out, 404, "Not Found", "", "not found\n"),
    }
}
