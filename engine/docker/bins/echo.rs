//! apprun echo server: a tiny, std-only HTTP/1.1 server used by apprun's
//! examples and Docker tests. It is compiled by `engine/docker/build.rs` into a
//! statically linked binary and packaged `FROM scratch`, so it runs where no
//! image can be pulled.
//!
//! Environment:
//! - `PORT` (default 8080): the port to listen on (all interfaces, inside the
//!   container; the engine publishes it on 127.0.0.1 only).
//! - `MESSAGE`: included in the body of `GET /`.
//! - `HEALTH_PATH` (default `/health`): answers 200, or 500 when
//!   `UNHEALTHY=true`.
//! - `STARTUP_DELAY_MS`: sleep before listening.
//!
//! Endpoints:
//! - `GET /` -> `message=<MESSAGE> replica=<hostname>\n`
//! - `GET <HEALTH_PATH>` -> `ok` (200) or `unhealthy` (500)
//! - `GET /sleep?ms=N` -> waits N ms, then answers like `/`
//! - `GET /env?name=X` -> `X=<set|unset>` (never the value)
//! - `GET /fetch?url=http://host:port/path` -> the status line and body of a
//!   GET to that URL made from inside the container (resolves names through
//!   the resolver in /etc/resolv.conf, e.g. Docker's embedded DNS)
//! - `GET /fetch?env=NAME` -> the same for the URL in env variable `NAME`
//!   (what a service does with `${services.x.url}`); a failure names the
//!   variable, never its value
//!
//! Every response closes the connection (`Connection: close`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

mod resolve;
use resolve::resolve;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| env("HOSTNAME"))
        .unwrap_or_else(|| "unknown".to_string())
}

fn main() {
    if let Some(ms) = env("STARTUP_DELAY_MS").and_then(|v| v.parse::<u64>().ok()) {
        std::thread::sleep(Duration::from_millis(ms));
    }
    let port: u16 = env("PORT").and_then(|p| p.parse().ok()).unwrap_or(8080);
    let bind = env("BIND").unwrap_or_else(|| "0.0.0.0".to_string());
    let listener = match TcpListener::bind((bind.as_str(), port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("echo: cannot listen on {bind}:{port}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("echo: listening on {bind}:{port}");
    for stream in listener.incoming() {
        match stream {
            Ok(s) => {
                std::thread::spawn(move || {
                    let _ = handle(s);
                });
            }
            Err(e) => eprintln!("echo: accept: {e}"),
        }
    }
}

fn handle(stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut content_length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                content_length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    if content_length > 0 {
        let mut body = vec![0u8; content_length.min(1 << 20)];
        reader.read_exact(&mut body)?;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let health_path = env("HEALTH_PATH").unwrap_or_else(|| "/health".to_string());
    let message = env("MESSAGE").unwrap_or_default();
    let (status, body) = if method != "GET" && method != "HEAD" {
        (405, "method not allowed\n".to_string())
    } else if path == health_path {
        if env("UNHEALTHY").as_deref() == Some("true") {
            (500, "unhealthy\n".to_string())
        } else {
            (200, "ok\n".to_string())
        }
    } else if path == "/" {
        (200, format!("message={message} replica={}\n", hostname()))
    } else if path == "/sleep" {
        let ms = query_param(query, "ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0u64);
        std::thread::sleep(Duration::from_millis(ms.min(60_000)));
        (200, format!("message={message} replica={}\n", hostname()))
    } else if path == "/env" {
        let name = query_param(query, "name").unwrap_or_default();
        let set = std::env::var_os(&name).is_some();
        (
            200,
            format!("{name}={}\n", if set { "set" } else { "unset" }),
        )
    } else if path == "/fetch" {
        if let Some(name) = query_param(query, "env") {
            // The URL is an env value: a failure never repeats any of it.
            match env(&name).map(|u| fetch(&u)) {
                Some(Ok(text)) => (200, text),
                Some(Err(_)) => (502, format!("fetch of ${name} failed\n")),
                None => (400, format!("{name} is unset\n")),
            }
        } else {
            match query_param(query, "url").map(|u| fetch(&u)) {
                Some(Ok(text)) => (200, text),
                Some(Err(e)) => (502, format!("fetch failed: {e}\n")),
                None => (400, "missing url\n".to_string()),
            }
        }
    } else {
        (404, "not found\n".to_string())
    };
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "Bad Gateway",
    };
    let mut out = stream;
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    out.write_all(head.as_bytes())?;
    if method != "HEAD" {
        out.write_all(body.as_bytes())?;
    }
    out.flush()
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// GET `url` (plain `http://host[:port][/path]`) and return status line + body.
fn fetch(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| "bad port")?),
        None => (hostport, 80),
    };
    let addr = resolve(host, port)?;
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
    let status = resp.lines().next().unwrap_or("").to_string();
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    Ok(format!("{status}\n{body}"))
}
