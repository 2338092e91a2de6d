//! A minimal HTTP/1.1 client over a tokio `TcpStream`, used for health
//! checks and the front door's admin API. It only ever connects to
//! 127.0.0.1 (published ports and the front door's admin port).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One answer: status code and body text.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: String,
}

/// Send one request to `127.0.0.1:port` with `Connection: close` and read the
/// whole answer, all within `timeout`.
pub(crate) async fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    timeout: Duration,
) -> Result<Answer, String> {
    let fut = async {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| e.to_string())?;
        let mut req =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        req.push_str(body);
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
        parse(&buf)
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

fn parse(buf: &[u8]) -> Result<Answer, String> {
    let text = String::from_utf8_lossy(buf);
    if text.is_empty() {
        return Err("connection closed without an answer".to_string());
    }
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| "malformed HTTP answer".to_string())?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok(Answer { status, body })
}

/// A TCP check: connect, then make sure the peer does not close at once.
///
/// Docker's userland proxy accepts a connection on a published port even
/// when nothing listens in the container, then closes it; a bare connect
/// would pass. Waiting briefly for EOF tells the two apart: a real server
/// that speaks second keeps the connection open.
pub(crate) async fn tcp_check(port: u16, timeout: Duration) -> Result<(), String> {
    let fut = async {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| e.to_string())?;
        let mut b = [0u8; 1];
        let wait = timeout.min(Duration::from_millis(250));
        match tokio::time::timeout(wait, s.read(&mut b)).await {
            Err(_) => Ok(()), // open and quiet: a server
            Ok(Ok(0)) => Err("connection closed at once".to_string()), // proxy with no backend
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
        }
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(format!("no connection within {timeout:?}")),
    }
}
