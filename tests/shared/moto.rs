//! moto server for tests and benchmarks, shared by the CLI's end-to-end tests
//! (`tests/aws_support`) and the AWS provider's (`engine/aws/tests/support`,
//! which its benchmark also uses): the project's Python venv, one moto per
//! test binary on 127.0.0.1 (IAM, EC2, ECR, S3), and moto's request recorder.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The project's Python venv (moto, the AWS CLI and boto3): `$APPRUN_VENV`,
/// else what `scripts/python-env` makes.
pub fn venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        if let Ok(v) = std::env::var("APPRUN_VENV")
            && !v.is_empty()
        {
            return PathBuf::from(v);
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("scripts/python-env"))
            .find(|script| script.exists())
            .expect("scripts/python-env above this package");
        let out = Command::new(script)
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/python-env");
        assert!(out.status.success(), "scripts/python-env failed");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
    .clone()
}

/// A running moto server. It dies with the test process: its wrapper shell
/// kills it when the pipe on its stdin closes.
pub struct Moto {
    /// moto's port on 127.0.0.1.
    pub port: u16,
    /// Where moto's request recorder writes.
    pub recording: PathBuf,
    _child: Child,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// moto's endpoint URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Empties every moto backend (`POST /moto-api/reset`).
    pub fn reset(&self) {
        http(self.port, "POST", "/moto-api/reset").unwrap();
    }

    /// Clears moto's request recording and starts recording.
    pub fn start_recording(&self) {
        http(self.port, "POST", "/moto-api/recorder/reset-recording").unwrap();
        http(self.port, "POST", "/moto-api/recorder/start-recording").unwrap();
    }

    /// Stops recording; the recorder's file (one JSON entry per line).
    pub fn stop_recording_raw(&self) -> String {
        http(self.port, "POST", "/moto-api/recorder/stop-recording").unwrap();
        std::fs::read_to_string(&self.recording).unwrap_or_default()
    }
}

/// The moto server of this test binary (started on first use).
// The wrapper shell is never waited on: it ends, killing moto, when this
// process exits and the pipe on its stdin closes.
#[allow(clippy::zombie_processes)]
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let recording = dir.path().join("moto_recording");
        let server = venv().join("bin/moto_server");
        assert!(server.exists(), "{} is missing", server.display());
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & m=$!; cat >/dev/null; kill $m; wait $m"#)
            .arg(&server)
            .arg(port.to_string())
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if http(port, "GET", "/moto-api/").is_some() {
                return Moto {
                    port,
                    recording,
                    _child: child,
                    _dir: dir,
                };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not answer on port {port} within 60 s");
    })
}

/// One HTTP/1.1 request with an empty body to 127.0.0.1:`port`; the raw
/// response, or None when nothing answered.
pub fn http(port: u16, method: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1.").then_some(out)
}
