//! A fault-injecting HTTP proxy in front of moto, on 127.0.0.1: requests
//! whose AWS operation (`Action=` of the query protocol, `X-Amz-Target` of
//! the JSON protocol) is armed are answered with a 400 error naming the
//! injected fault; every other request goes to moto unchanged. How a test
//! fails one follow-up call (`AttachRolePolicy`, `PutLifecyclePolicy`) of a
//! create that moto would otherwise accept.
//!
//! One request per connection: the request is forwarded with
//! `Connection: close`, so moto's answer ends at EOF and carries
//! `Connection: close` back to the client.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// The error code the proxy answers with.
pub const INJECTED: &str = "InjectedFault";

/// A running proxy; it lives as long as the test process.
pub struct FaultProxy {
    address: SocketAddr,
    armed: Arc<Mutex<Armed>>,
}

/// An S3 answer the proxy gives every request, as S3 would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Fault {
    /// 403 `AccessDenied`: the caller has no permission.
    AccessDenied,
    /// 301 `PermanentRedirect`: the bucket is in another region.
    PermanentRedirect,
}

impl S3Fault {
    /// Status line, code and message.
    fn answer(self) -> (&'static str, &'static str, &'static str) {
        match self {
            S3Fault::AccessDenied => ("403 Forbidden", "AccessDenied", "Access Denied"),
            S3Fault::PermanentRedirect => (
                "301 Moved Permanently",
                "PermanentRedirect",
                "The bucket you are attempting to access must be addressed using the specified endpoint.",
            ),
        }
    }
}

/// What the proxy fails: operations by name, or every request as S3.
#[derive(Default)]
struct Armed {
    operations: BTreeSet<String>,
    denied: BTreeSet<String>,
    s3: Option<S3Fault>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let armed: Arc<Mutex<Armed>> = Arc::default();
        let shared = armed.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let upstream = upstream.clone();
                let armed = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(client, &upstream, &armed);
                });
            }
        });
        FaultProxy { address, armed }
    }

    /// The URL to use as an endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Fails every request of `operation` until [`FaultProxy::heal`].
    pub fn arm(&self, operation: &str) {
        self.armed
            .lock()
            .unwrap()
            .operations
            .insert(operation.to_string());
    }

    /// Answers every request of `operation` with 403 `AccessDenied`, as
    /// AWS answers a caller without the permission.
    pub fn arm_access_denied(&self, operation: &str) {
        self.armed
            .lock()
            .unwrap()
            .denied
            .insert(operation.to_string());
    }

    /// Answers every request as S3 does with `fault`.
    pub fn fail_s3(&self, fault: S3Fault) {
        self.armed.lock().unwrap().s3 = Some(fault);
    }

    /// Lets `operation` through again.
    pub fn heal(&self, operation: &str) {
        self.armed.lock().unwrap().operations.remove(operation);
    }
}

/// One request: read it, answer the fault or forward it.
fn serve(client: TcpStream, upstream: &str, armed: &Mutex<Armed>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut length = 0usize;
    let mut target = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("x-amz-target:") {
            target = line.split('.').next_back().map(|s| s.trim().to_string());
        }
        if line == "\r\n" {
            break;
        }
        if !lower.starts_with("connection:") {
            head.extend_from_slice(line.as_bytes());
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let operation = target.or_else(|| {
        String::from_utf8_lossy(&body)
            .split('&')
            .find_map(|pair| pair.strip_prefix("Action=").map(str::to_string))
    });
    let mut client = client;
    let s3_fault = armed.lock().unwrap().s3.map(S3Fault::answer);
    if let Some((status, code, message)) = s3_fault {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault</RequestId></Error>"
        );
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        return client.write_all(answer.as_bytes());
    }
    let json = head.windows(4).any(|w| w.eq_ignore_ascii_case(b"json"));
    if let Some(operation) = operation
        .as_ref()
        .filter(|o| armed.lock().unwrap().operations.contains(*o))
    {
        return client.write_all(&fault_answer(operation, json, "400 Bad Request", INJECTED));
    }
    if let Some(operation) = operation.filter(|o| armed.lock().unwrap().denied.contains(o)) {
        return client.write_all(&fault_answer(
            &operation,
            json,
            "403 Forbidden",
            "AccessDenied",
        ));
    }
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(&head)?;
    server.write_all(b"Connection: close\r\n\r\n")?;
    server.write_all(&body)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    client.write_all(&answer)
}

/// An error answer (`status`, `code`) in the protocol of the request.
fn fault_answer(operation: &str, json: bool, status: &str, code: &str) -> Vec<u8> {
    let message = format!("{operation} failed: injected by the test");
    let (kind, body) = if json {
        (
            "application/x-amz-json-1.1",
            format!(r#"{{"__type":"{code}","message":"{message}"}}"#),
        )
    } else {
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
                 <Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
            ),
        )
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
