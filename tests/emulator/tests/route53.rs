//! Custom domain validation against a real Route 53 API: moto server from
//! the project's venv (`$APPRUN_VENV`, else `scripts/python-env`), hosted
//! zone and CNAME records written with the venv's AWS CLI. The emulator's
//! background task finds the records and the domain goes active.
//!
//! Without moto the test is skipped, except under `CI=true`, where it fails.
#![allow(clippy::unwrap_used)]

#[path = "common/mod.rs"]
mod common;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apprunner_emulator::Emulator;
use serde_json::Value;

use crate::common::{OP, client, create_service};

/// The project's venv, or None when it cannot be made.
fn venv() -> Option<PathBuf> {
    if let Ok(v) = std::env::var("APPRUN_VENV")
        && !v.is_empty()
    {
        return Some(PathBuf::from(v));
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/python-env");
    let out = Command::new(script)
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// A moto server on 127.0.0.1, killed on drop.
struct Moto {
    child: Child,
    port: u16,
    aws: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto; None (after a note) when the venv lacks it outside CI.
    fn start() -> Option<Moto> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let venv = venv();
        let server = venv.as_ref().map(|v| v.join("bin/moto_server"));
        let aws = venv.as_ref().map(|v| v.join("bin/aws"));
        let (Some(server), Some(aws)) = (server, aws) else {
            assert!(!ci, "CI=true: no Python venv for moto");
            eprintln!("skipped: no Python venv for moto");
            return None;
        };
        if !server.exists() || !aws.exists() {
            assert!(!ci, "CI=true: {} is missing", server.display());
            eprintln!("skipped: {} is missing", server.display());
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = Moto { child, port, aws };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `aws route53 …` against moto; the parsed JSON output.
    fn route53(&self, args: &[&str]) -> Value {
        let out = Command::new(&self.aws)
            .arg("route53")
            .args(args)
            .args(["--endpoint-url", &self.url(), "--output", "json"])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "aws route53 {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    fn upsert_cname(&self, zone: &str, name: &str, value: &str) {
        let batch = serde_json::json!({"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": name, "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": value}]}}]});
        self.route53(&[
            "change-resource-record-sets",
            "--hosted-zone-id",
            zone,
            "--change-batch",
            &batch.to_string(),
        ]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_validates_once_its_cnames_are_in_route53() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let emu = Emulator::builder()
        .operation_duration(OP)
        .seed(7)
        .route53_endpoint(moto.url())
        .start()
        .await
        .unwrap();
    let c = client(&emu);
    let svc = create_service(&c, "shop-web").await;
    emu.admin().advance(OP);
    let out = c
        .associate_custom_domain()
        .service_arn(&svc)
        .domain_name("shop.example.com")
        .send()
        .await
        .unwrap();
    let records: Vec<(String, String)> = out
        .custom_domain()
        .unwrap()
        .certificate_validation_records()
        .iter()
        .map(|r| (r.name().unwrap().to_owned(), r.value().unwrap().to_owned()))
        .collect();
    assert_eq!(records.len(), 2);
    emu.admin().advance(OP);

    let state = || async {
        let out = c
            .describe_custom_domains()
            .service_arn(&svc)
            .send()
            .await
            .unwrap();
        let d = &out.custom_domains()[0];
        (
            d.status().as_str().to_owned(),
            d.certificate_validation_records()
                .iter()
                .map(|r| r.status().unwrap().as_str().to_owned())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(state().await.0, "pending_certificate_dns_validation");

    let zone = moto.route53(&[
        "create-hosted-zone",
        "--name",
        "example.com",
        "--caller-reference",
        "emulator-test",
    ]);
    let zone = zone["HostedZone"]["Id"]
        .as_str()
        .unwrap()
        .trim_start_matches("/hostedzone/")
        .to_owned();
    // One record of two, then the second with a wrong value: still pending.
    moto.upsert_cname(&zone, &records[0].0, &records[0].1);
    assert_eq!(emu.admin().poll_route53().await, Ok(0));
    moto.upsert_cname(&zone, &records[1].0, "_wrong.acm-validations.aws.");
    assert_eq!(emu.admin().poll_route53().await, Ok(0));
    assert_eq!(state().await.0, "pending_certificate_dns_validation");

    // Both records right: the background task (every 200 ms) validates it.
    moto.upsert_cname(&zone, &records[1].0, &records[1].1);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, record_statuses) = state().await;
        if status == "binding_certificate" {
            assert_eq!(record_statuses, ["SUCCESS", "SUCCESS"]);
            break;
        }
        assert_eq!(status, "pending_certificate_dns_validation");
        assert!(Instant::now() < deadline, "not validated within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    emu.admin().advance(OP);
    assert_eq!(
        state().await,
        ("active".to_owned(), vec!["SUCCESS".to_owned(); 2])
    );

    // A domain whose records sit in no zone of its own stays pending.
    c.associate_custom_domain()
        .service_arn(&svc)
        .domain_name("shop.example.net")
        .enable_www_subdomain(false)
        .send()
        .await
        .unwrap();
    emu.admin().advance(OP);
    assert_eq!(emu.admin().poll_route53().await, Ok(0));
}
