//! The `apprunner-emulator` binary, and the same service lifecycle driven by
//! a client this project did not write: the AWS CLI from PyPI (installed in
//! the test venv by `scripts/python-env`). Every response must parse under
//! the CLI's own copy of the App Runner model.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `apprunner-emulator` process, killed on drop.
struct Process {
    child: Child,
    port: u16,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary with `--port 0`; returns it once it printed its port.
fn start(extra: &[&str]) -> (Process, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_apprunner-emulator"))
        .args(["--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let elapsed = started.elapsed();
    let port = line
        .trim()
        .strip_prefix("apprunner-emulator listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    (Process { child, port }, elapsed)
}

/// A plain HTTP/1.1 request to the emulator; returns (status, body).
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (
        status,
        text.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default(),
    )
}

fn advance(port: u16, seconds: u64) {
    let (status, body) = http(
        port,
        "POST",
        "/_emulator/clock/advance",
        &format!("{{\"seconds\": {seconds}}}"),
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn binary_starts_in_under_a_second_and_prints_its_port() {
    let (emu, elapsed) = start(&["--clock", "virtual"]);
    assert!(elapsed < Duration::from_secs(1), "started in {elapsed:?}");
    let (status, body) = http(emu.port, "GET", "/_emulator/health", "");
    assert_eq!(status, 200);
    assert!(body.contains("\"clock\":\"virtual\""), "{body}");
}

#[test]
fn binary_rejects_a_malformed_fault_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_apprunner-emulator"))
        .args(["--port", "0", "--fault", "{\"fault\":\"nonsense\"}"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The AWS CLI of the test venv (`$APPRUN_VENV`, else `scripts/python-env`).
fn aws_cli() -> PathBuf {
    let venv = match std::env::var("APPRUN_VENV") {
        Ok(v) if !v.is_empty() => PathBuf::from(v),
        _ => {
            let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/python-env");
            let out = Command::new(&script)
                .stderr(Stdio::inherit())
                .output()
                .unwrap();
            assert!(out.status.success(), "scripts/python-env failed");
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        }
    };
    let aws = venv.join("bin/aws");
    assert!(aws.exists(), "no AWS CLI at {}", aws.display());
    aws
}

struct Cli {
    aws: PathBuf,
    endpoint: String,
    home: PathBuf,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.aws)
            .arg("apprunner")
            .args(args)
            .args(["--endpoint-url", &self.endpoint, "--output", "json"])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_CONFIG_FILE", self.home.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.home.join("credentials"))
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; returns its parsed JSON output.
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "aws apprunner {args:?} failed: {stderr}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stdout.trim().is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
    }

    /// Runs a command that must fail with `error` (the CLI names it on stderr).
    fn fails(&self, args: &[&str], error: &str) {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "aws apprunner {args:?} succeeded");
        assert!(
            stderr.contains(error),
            "aws apprunner {args:?}: expected {error}, got {stderr}"
        );
    }

    fn status(&self, arn: &str) -> String {
        let out = self.ok(&["describe-service", "--service-arn", arn]);
        out["Service"]["Status"].as_str().unwrap().to_owned()
    }

    fn last_operation(&self, arn: &str) -> (String, String) {
        let out = self.ok(&["list-operations", "--service-arn", arn]);
        let op = &out["OperationSummaryList"][0];
        (
            op["Type"].as_str().unwrap().to_owned(),
            op["Status"].as_str().unwrap().to_owned(),
        )
    }
}

const SOURCE: &str = r#"{"ImageRepository":{"ImageIdentifier":"public.ecr.aws/nginx/nginx:latest","ImageRepositoryType":"ECR_PUBLIC","ImageConfiguration":{"Port":"80"}},"AutoDeploymentsEnabled":false}"#;
const FAILING_SOURCE: &str = r#"{"ImageRepository":{"ImageIdentifier":"public.ecr.aws/nginx/nginx:latest","ImageRepositoryType":"ECR_PUBLIC","ImageConfiguration":{"Port":"80","RuntimeEnvironmentVariables":{"EMULATOR_FAIL_DEPLOYMENT":"true"}}}}"#;

#[test]
fn aws_cli_runs_the_full_service_lifecycle() {
    let aws = aws_cli();
    let (emu, _) = start(&["--clock", "virtual", "--operation-duration-ms", "30000"]);
    let home = std::env::temp_dir().join(format!("apprunner-emu-cli-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let cli = Cli {
        aws,
        endpoint: format!("http://127.0.0.1:{}", emu.port),
        home,
    };

    let created = cli.ok(&[
        "create-service",
        "--service-name",
        "cli-service",
        "--source-configuration",
        SOURCE,
        "--instance-configuration",
        r#"{"Cpu":"1 vCPU","Memory":"2 GB"}"#,
        "--tags",
        "Key=team,Value=core",
    ]);
    let arn = created["Service"]["ServiceArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created["Service"]["Status"], "OPERATION_IN_PROGRESS");
    assert_eq!(created["OperationId"].as_str().unwrap().len(), 36);
    assert_eq!(created["Service"]["InstanceConfiguration"]["Cpu"], "1024");

    // A second mutation while the create runs.
    cli.fails(
        &["pause-service", "--service-arn", &arn],
        "InvalidStateException",
    );
    advance(emu.port, 30);
    assert_eq!(cli.status(&arn), "RUNNING");

    // Update, then a deployment that fails and rolls back.
    cli.ok(&[
        "update-service",
        "--service-arn",
        &arn,
        "--instance-configuration",
        r#"{"Cpu":"2 vCPU","Memory":"4 GB"}"#,
    ]);
    advance(emu.port, 30);
    let described = cli.ok(&["describe-service", "--service-arn", &arn]);
    assert_eq!(
        described["Service"]["InstanceConfiguration"]["Memory"],
        "4096"
    );
    cli.ok(&[
        "update-service",
        "--service-arn",
        &arn,
        "--source-configuration",
        FAILING_SOURCE,
    ]);
    advance(emu.port, 60);
    assert_eq!(
        cli.last_operation(&arn),
        ("UPDATE_SERVICE".to_owned(), "ROLLBACK_SUCCEEDED".to_owned())
    );
    assert_eq!(cli.status(&arn), "RUNNING");

    cli.ok(&["pause-service", "--service-arn", &arn]);
    advance(emu.port, 30);
    assert_eq!(cli.status(&arn), "PAUSED");
    cli.ok(&["resume-service", "--service-arn", &arn]);
    advance(emu.port, 30);
    assert_eq!(cli.status(&arn), "RUNNING");
    let deployed = cli.ok(&["start-deployment", "--service-arn", &arn]);
    assert!(deployed["OperationId"].is_string());
    advance(emu.port, 30);

    let tags = cli.ok(&["list-tags-for-resource", "--resource-arn", &arn]);
    assert_eq!(tags["Tags"][0]["Key"], "team");
    let listed = cli.ok(&["list-services"]);
    assert_eq!(listed["ServiceSummaryList"].as_array().unwrap().len(), 1);

    cli.ok(&["delete-service", "--service-arn", &arn]);
    advance(emu.port, 30);
    assert_eq!(cli.status(&arn), "DELETED");
    let listed = cli.ok(&["list-services"]);
    assert_eq!(listed["ServiceSummaryList"], Value::Array(vec![]));
    let ops = cli.ok(&["list-operations", "--service-arn", &arn]);
    assert_eq!(ops["OperationSummaryList"].as_array().unwrap().len(), 7);

    // Modelled errors reach the CLI typed.
    cli.fails(
        &[
            "create-service",
            "--service-name=-bad-name",
            "--source-configuration",
            SOURCE,
        ],
        "InvalidRequestException",
    );
    cli.fails(
        &["describe-service", "--service-arn", "arn:aws:apprunner:us-east-1:123456789012:service/none/0123456789abcdef0123456789abcdef"],
        "ResourceNotFoundException",
    );
    let _ = std::fs::remove_dir_all(&cli.home);
}

#[test]
fn aws_cli_parses_configuration_resources() {
    let aws = aws_cli();
    let (emu, _) = start(&["--clock", "virtual"]);
    let home = std::env::temp_dir().join(format!("apprunner-emu-cli2-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let cli = Cli {
        aws,
        endpoint: format!("http://127.0.0.1:{}", emu.port),
        home,
    };

    let asc = cli.ok(&[
        "create-auto-scaling-configuration",
        "--auto-scaling-configuration-name",
        "cli-scale",
        "--max-size",
        "4",
    ]);
    let asc_arn = asc["AutoScalingConfiguration"]["AutoScalingConfigurationArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(asc["AutoScalingConfiguration"]["MaxSize"], 4);
    cli.ok(&[
        "describe-auto-scaling-configuration",
        "--auto-scaling-configuration-arn",
        &asc_arn,
    ]);
    let listed = cli.ok(&["list-auto-scaling-configurations"]);
    assert_eq!(
        listed["AutoScalingConfigurationSummaryList"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let vpc = cli.ok(&[
        "create-vpc-connector",
        "--vpc-connector-name",
        "cli-net",
        "--subnets",
        "subnet-0123456789abcdef0",
    ]);
    let vpc_arn = vpc["VpcConnector"]["VpcConnectorArn"]
        .as_str()
        .unwrap()
        .to_owned();
    cli.ok(&["describe-vpc-connector", "--vpc-connector-arn", &vpc_arn]);
    cli.ok(&["list-vpc-connectors"]);
    let oc = cli.ok(&[
        "create-observability-configuration",
        "--observability-configuration-name",
        "cli-trace",
        "--trace-configuration",
        "Vendor=AWSXRAY",
    ]);
    let oc_arn = oc["ObservabilityConfiguration"]["ObservabilityConfigurationArn"]
        .as_str()
        .unwrap()
        .to_owned();
    cli.ok(&["list-observability-configurations"]);
    cli.ok(&[
        "tag-resource",
        "--resource-arn",
        &vpc_arn,
        "--tags",
        "Key=env,Value=test",
    ]);
    cli.ok(&[
        "untag-resource",
        "--resource-arn",
        &vpc_arn,
        "--tag-keys",
        "env",
    ]);

    let created = cli.ok(&[
        "create-service",
        "--service-name",
        "cli-user",
        "--source-configuration",
        SOURCE,
        "--auto-scaling-configuration-arn",
        &asc_arn,
        "--network-configuration",
        &format!(
            r#"{{"EgressConfiguration":{{"EgressType":"VPC","VpcConnectorArn":"{vpc_arn}"}}}}"#
        ),
    ]);
    assert_eq!(
        created["Service"]["NetworkConfiguration"]["EgressConfiguration"]["VpcConnectorArn"],
        vpc_arn.as_str()
    );
    cli.fails(
        &[
            "delete-auto-scaling-configuration",
            "--auto-scaling-configuration-arn",
            &asc_arn,
        ],
        "InvalidRequestException",
    );
    cli.fails(
        &["delete-vpc-connector", "--vpc-connector-arn", &vpc_arn],
        "InvalidRequestException",
    );
    cli.fails(
        &[
            "create-service",
            "--service-name",
            "cli-sized",
            "--source-configuration",
            SOURCE,
            "--instance-configuration",
            "Cpu=0.25 vCPU,Memory=4 GB",
        ],
        "InvalidRequestException",
    );
    let services = cli.ok(&[
        "list-services-for-auto-scaling-configuration",
        "--auto-scaling-configuration-arn",
        &asc_arn,
    ]);
    assert_eq!(services["ServiceArnList"].as_array().unwrap().len(), 1);
    cli.ok(&[
        "delete-observability-configuration",
        "--observability-configuration-arn",
        &oc_arn,
    ]);
    let _ = std::fs::remove_dir_all(&cli.home);
}

#[test]
fn binary_rejects_a_route53_endpoint_that_is_not_plain_http() {
    let out = Command::new(env!("CARGO_BIN_EXE_apprunner-emulator"))
        .args([
            "--port",
            "0",
            "--route53-endpoint",
            "https://route53.amazonaws.com",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn aws_cli_parses_ingress_connections_custom_domains_and_connections() {
    let aws = aws_cli();
    let (emu, _) = start(&[
        "--clock",
        "virtual",
        "--operation-duration-ms",
        "30000",
        "--domain-validation-ms",
        "60000",
    ]);
    let home = std::env::temp_dir().join(format!("apprunner-emu-cli3-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let cli = Cli {
        aws,
        endpoint: format!("http://127.0.0.1:{}", emu.port),
        home,
    };
    let created = cli.ok(&[
        "create-service",
        "--service-name",
        "cli-private",
        "--source-configuration",
        SOURCE,
        "--network-configuration",
        r#"{"IngressConfiguration":{"IsPubliclyAccessible":false}}"#,
    ]);
    let svc = created["Service"]["ServiceArn"]
        .as_str()
        .unwrap()
        .to_owned();
    advance(emu.port, 30);

    // VPC ingress connection: create, describe, list, update, delete.
    let ingress = cli.ok(&[
        "create-vpc-ingress-connection",
        "--service-arn",
        &svc,
        "--vpc-ingress-connection-name",
        "cli-ingress",
        "--ingress-vpc-configuration",
        "VpcId=vpc-0123456789abcdef0,VpcEndpointId=vpce-0123456789abcdef0",
        "--tags",
        "Key=team,Value=core",
    ]);
    let ingress_arn = ingress["VpcIngressConnection"]["VpcIngressConnectionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ingress["VpcIngressConnection"]["Status"],
        "PENDING_CREATION"
    );
    cli.fails(
        &["delete-service", "--service-arn", &svc],
        "InvalidStateException",
    );
    advance(emu.port, 30);
    let described = cli.ok(&[
        "describe-vpc-ingress-connection",
        "--vpc-ingress-connection-arn",
        &ingress_arn,
    ]);
    assert_eq!(described["VpcIngressConnection"]["Status"], "AVAILABLE");
    assert_eq!(
        described["VpcIngressConnection"]["AccountId"],
        "123456789012"
    );
    let listed = cli.ok(&[
        "list-vpc-ingress-connections",
        "--filter",
        &format!("ServiceArn={svc}"),
    ]);
    assert_eq!(
        listed["VpcIngressConnectionSummaryList"][0]["VpcIngressConnectionArn"],
        ingress_arn.as_str()
    );
    let tags = cli.ok(&["list-tags-for-resource", "--resource-arn", &ingress_arn]);
    assert_eq!(tags["Tags"][0]["Key"], "team");
    let updated = cli.ok(&[
        "update-vpc-ingress-connection",
        "--vpc-ingress-connection-arn",
        &ingress_arn,
        "--ingress-vpc-configuration",
        "VpcId=vpc-0123456789abcdef0,VpcEndpointId=vpce-00000000000000001",
    ]);
    assert_eq!(updated["VpcIngressConnection"]["Status"], "PENDING_UPDATE");
    advance(emu.port, 30);

    // Custom domain: associate, describe (VpcDNSTargets has the ingress), validate, disassociate.
    let associated = cli.ok(&[
        "associate-custom-domain",
        "--service-arn",
        &svc,
        "--domain-name",
        "shop.example.com",
    ]);
    assert_eq!(associated["CustomDomain"]["Status"], "creating");
    assert_eq!(
        associated["CustomDomain"]["CertificateValidationRecords"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        associated["VpcDNSTargets"][0]["VpcIngressConnectionArn"],
        ingress_arn.as_str()
    );
    cli.fails(
        &[
            "associate-custom-domain",
            "--service-arn",
            &svc,
            "--domain-name",
            "shop.example.com",
        ],
        "InvalidStateException",
    );
    advance(emu.port, 30);
    let domains = cli.ok(&[
        "describe-custom-domains",
        "--service-arn",
        &svc,
        "--max-results",
        "5",
    ]);
    assert_eq!(
        domains["CustomDomains"][0]["Status"],
        "pending_certificate_dns_validation"
    );
    advance(emu.port, 90);
    let domains = cli.ok(&["describe-custom-domains", "--service-arn", &svc]);
    assert_eq!(domains["CustomDomains"][0]["Status"], "active");
    assert_eq!(
        domains["CustomDomains"][0]["CertificateValidationRecords"][0]["Status"],
        "SUCCESS"
    );
    let gone = cli.ok(&[
        "disassociate-custom-domain",
        "--service-arn",
        &svc,
        "--domain-name",
        "shop.example.com",
    ]);
    assert_eq!(gone["CustomDomain"]["Status"], "deleting");
    advance(emu.port, 30);
    cli.fails(
        &[
            "disassociate-custom-domain",
            "--service-arn",
            &svc,
            "--domain-name",
            "shop.example.com",
        ],
        "ResourceNotFoundException",
    );

    let deleting = cli.ok(&[
        "delete-vpc-ingress-connection",
        "--vpc-ingress-connection-arn",
        &ingress_arn,
    ]);
    assert_eq!(
        deleting["VpcIngressConnection"]["Status"],
        "PENDING_DELETION"
    );
    advance(emu.port, 30);
    let deleted = cli.ok(&[
        "describe-vpc-ingress-connection",
        "--vpc-ingress-connection-arn",
        &ingress_arn,
    ]);
    assert_eq!(deleted["VpcIngressConnection"]["Status"], "DELETED");
    cli.ok(&["delete-service", "--service-arn", &svc]);

    // Connection: create, list, handshake (admin), delete.
    let conn = cli.ok(&[
        "create-connection",
        "--connection-name",
        "cli-github",
        "--provider-type",
        "GITHUB",
    ]);
    let conn_arn = conn["Connection"]["ConnectionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(conn["Connection"]["Status"], "PENDING_HANDSHAKE");
    cli.fails(
        &[
            "create-connection",
            "--connection-name",
            "cli-github",
            "--provider-type",
            "GITHUB",
        ],
        "InvalidRequestException",
    );
    let (status, body) = http(
        emu.port,
        "POST",
        "/_emulator/connections/handshake",
        r#"{"name":"cli-github","status":"AVAILABLE"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let listed = cli.ok(&["list-connections", "--connection-name", "cli-github"]);
    assert_eq!(listed["ConnectionSummaryList"][0]["Status"], "AVAILABLE");
    let deleted = cli.ok(&["delete-connection", "--connection-arn", &conn_arn]);
    assert_eq!(deleted["Connection"]["Status"], "DELETED");
    cli.fails(
        &["delete-connection", "--connection-arn", &conn_arn],
        "ResourceNotFoundException",
    );
    let listed = cli.ok(&["list-connections"]);
    assert_eq!(listed["ConnectionSummaryList"], Value::Array(vec![]));
    let _ = std::fs::remove_dir_all(&cli.home);
}
