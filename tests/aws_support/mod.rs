//! Harness of the AWS end-to-end tests (`tests/cli_aws.rs`): moto (IAM, EC2,
//! ECR, S3) from the project's venv, one per test binary; an App Runner
//! emulator per test, in-process on a tokio runtime the test owns; the real
//! `apprun` binary with the standard AWS variables pointing at both; and an
//! independent client (boto3 from the same venv, the library under the AWS
//! CLI) to set up the VPC and to check what really exists.
//!
//! Everything listens on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, missing_docs)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use apprunner_emulator::{ClockMode, Emulator, RunningEmulator};
use serde_json::Value;

pub mod fault_proxy;

#[path = "../shared/moto.rs"]
mod moto_server;
#[allow(unused_imports)] // each test binary uses a different part
pub use moto_server::{Moto, moto, venv};

impl Moto {
    /// Stops recording; the recorded requests' actions (`CreateRole`,
    /// `ecr:CreateRepository`, ...).
    pub fn stop_recording(&self) -> Vec<String> {
        self.stop_recording_raw()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| recorded_action(&serde_json::from_str(l).unwrap()))
            .collect()
    }
}

/// The action of one moto recorder entry: `X-Amz-Target` (JSON protocols)
/// or the `Action` form/query parameter (IAM, EC2), else method + path (S3).
fn recorded_action(entry: &Value) -> String {
    let headers = &entry["headers"];
    if let Some(target) = headers
        .as_object()
        .and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
        })
        .and_then(|(_, v)| v.as_str())
    {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    let mut body = entry["body"].as_str().unwrap_or_default().to_string();
    if entry["body_encoded"].as_bool() == Some(true) {
        body = String::from_utf8_lossy(&base64_decode(&body)).into_owned();
    }
    let url = entry["url"].as_str().unwrap_or_default();
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    for part in body.split('&').chain(query.split('&')) {
        if let Some(action) = part.strip_prefix("Action=") {
            return action.to_string();
        }
    }
    format!("{} {url}", entry["method"].as_str().unwrap_or("?"))
}

/// Whether a recorded moto action changes something.
pub fn mutating_moto_action(action: &str) -> bool {
    let read = [
        "Get",
        "List",
        "Describe",
        "BatchGet",
        "BatchCheck",
        "GET ",
        "HEAD ",
    ];
    !read.iter().any(|p| action.starts_with(p))
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// `apprun apply` of `apprun.yaml` on AWS, without asking.
pub const APPLY: &[&str] = &["apply", "--target", "aws", "--auto-approve", "apprun.yaml"];
/// `apprun destroy` of `apprun.yaml` on AWS, without asking.
pub const DESTROY: &[&str] = &[
    "destroy",
    "--target",
    "aws",
    "--auto-approve",
    "apprun.yaml",
];

/// The `apprun` binary run in `dir`, cut off from this machine's AWS set-up
/// (profiles, config files, session token, instance metadata) and logging
/// settings; the caller adds credentials and endpoints.
pub fn isolated_apprun(dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("apprun"));
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    cmd
}

/// One test's world: an emulator (real clock, short operations) on a
/// runtime the test owns, the shared moto, and a temp dir for stacks.
pub struct World {
    pub emu: RunningEmulator,
    pub rt: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
    pub moto: &'static Moto,
}

impl World {
    /// A world whose emulator operations take `operation_ms`.
    pub fn new(operation_ms: u64) -> World {
        let moto = moto();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let emu = rt
            .block_on(
                Emulator::builder()
                    .clock(ClockMode::Real)
                    .operation_duration(Duration::from_millis(operation_ms))
                    .max_services(200)
                    .start(),
            )
            .expect("start the App Runner emulator");
        World {
            emu,
            rt,
            dir: tempfile::tempdir().unwrap(),
            moto,
        }
    }

    /// Writes `stack.yaml` text to `apprun.yaml` in the world's dir.
    pub fn write_stack(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("apprun.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The `apprun` binary with the standard AWS variables pointing at moto
    /// and the emulator, run in the world's dir.
    pub fn apprun(&self) -> Command {
        let mut cmd = isolated_apprun(self.dir.path());
        cmd.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", self.moto.url())
            .env("AWS_ENDPOINT_URL_APPRUNNER", self.emu.endpoint_url());
        cmd
    }

    /// Runs apprun with `args`; the output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.apprun().args(args).output().unwrap()
    }

    /// Runs apprun with `args` and asserts the exit code.
    pub fn run_ok(&self, args: &[&str], code: i32) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "apprun {args:?} exited {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The state of `stack` (the document's body, with the journal a killed
    /// run left replayed onto it, as every reader sees it), if any.
    pub fn state(&self, stack: &str) -> Option<Value> {
        use apprun_state::Storage as _;
        let store = apprun_state::LocalStore::new(self.state_path(stack));
        Some(serde_json::to_value(store.read().unwrap()?).unwrap())
    }

    pub fn state_path(&self, stack: &str) -> PathBuf {
        self.dir
            .path()
            .join(".apprun")
            .join(format!("{stack}.aws.state.json"))
    }

    /// Everything that exists, read by boto3: IAM roles and ECR
    /// repositories whose names start with `prefix`, every App Runner
    /// service (a list: duplicates show), active VPC connector and auto
    /// scaling configuration (default excluded).
    pub fn snapshot(&self, prefix: &str) -> Value {
        python(
            SNAPSHOT,
            &[&self.moto.url(), &self.emu.endpoint_url(), prefix],
        )
    }

    /// Out-of-band App Runner changes through boto3 (see [`OUT_OF_BAND`]);
    /// waits until no service has an operation in progress.
    pub fn out_of_band(&self, instructions: &Value) -> Value {
        python(
            OUT_OF_BAND,
            &[&self.emu.endpoint_url(), &instructions.to_string()],
        )
    }

    /// A VPC with 3 subnets and 2 security groups in moto:
    /// `{"vpc", "subnets": [..], "security_groups": [..]}`.
    pub fn make_vpc(&self, prefix: &str) -> Value {
        python(MAKE_VPC, &[&self.moto.url(), prefix])
    }
}

/// A program of the venv (`python`, `aws`) with test credentials in
/// us-east-1 and no configuration or profile of the machine.
fn venv_tool(name: &str) -> Command {
    let mut cmd = Command::new(venv().join("bin").join(name));
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env_remove("AWS_PROFILE");
    cmd
}

/// Runs a Python snippet of the venv with `args`; its stdout as JSON.
pub fn python(script: &str, args: &[&str]) -> Value {
    let out = venv_tool("python")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "python printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The AWS CLI of the venv (a client nobody here wrote) against
/// `endpoint`; its JSON answer (`null` when it printed nothing).
pub fn aws_cli(endpoint: &str, args: &[&str]) -> Value {
    let out = venv_tool("aws")
        .args(args)
        .args(["--endpoint-url", endpoint, "--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aws {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Text of an output (stdout + stderr).
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether `dir` (recursively) has a file containing `needle`; the paths.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && String::from_utf8_lossy(&bytes).contains(needle)
        {
            found.push(path);
        }
    }
    found
}

/// argv: moto url, emulator url, name prefix.
pub const SNAPSHOT: &str = r#"
import json, sys
import boto3
kw = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
def tags(lst):
    return {t["Key"]: t["Value"] for t in (lst or [])}
moto, emu, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
iam = boto3.client("iam", endpoint_url=moto, **kw)
ecr = boto3.client("ecr", endpoint_url=moto, **kw)
ar = boto3.client("apprunner", endpoint_url=emu, **kw)
out = {"roles": {}, "repositories": {}, "services": [], "vpc_connectors": [], "autoscaling": []}
for page in iam.get_paginator("list_roles").paginate():
    for r in page["Roles"]:
        name = r["RoleName"]
        if not name.startswith(prefix):
            continue
        role = iam.get_role(RoleName=name)["Role"]
        out["roles"][name] = {
            "arn": role["Arn"],
            "trust": role["AssumeRolePolicyDocument"],
            "description": role.get("Description"),
            "attached": sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]),
            "inline": {p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                       for p in iam.list_role_policies(RoleName=name)["PolicyNames"]},
            "tags": tags(iam.list_role_tags(RoleName=name)["Tags"]),
        }
for r in ecr.describe_repositories()["repositories"]:
    name = r["repositoryName"]
    if not name.startswith(prefix):
        continue
    out["repositories"][name] = {
        "arn": r["repositoryArn"], "uri": r["repositoryUri"],
        "mutability": r["imageTagMutability"],
        "scan_on_push": r["imageScanningConfiguration"]["scanOnPush"],
        "tags": tags(ecr.list_tags_for_resource(resourceArn=r["repositoryArn"])["tags"]),
    }
token = None
while True:
    page = ar.list_services(MaxResults=20, **({"NextToken": token} if token else {}))
    for s in page["ServiceSummaryList"]:
        d = ar.describe_service(ServiceArn=s["ServiceArn"])["Service"]
        d["Tags"] = tags(ar.list_tags_for_resource(ResourceArn=s["ServiceArn"])["Tags"])
        out["services"].append(d)
    token = page.get("NextToken")
    if not token:
        break
for c in ar.list_vpc_connectors()["VpcConnectors"]:
    if c["Status"] == "ACTIVE":
        c["Tags"] = tags(ar.list_tags_for_resource(ResourceArn=c["VpcConnectorArn"])["Tags"])
        out["vpc_connectors"].append(c)
for a in ar.list_auto_scaling_configurations(LatestOnly=False)["AutoScalingConfigurationSummaryList"]:
    if a.get("Status", "ACTIVE") == "ACTIVE" and a["AutoScalingConfigurationName"] != "DefaultConfiguration":
        d = ar.describe_auto_scaling_configuration(AutoScalingConfigurationArn=a["AutoScalingConfigurationArn"])["AutoScalingConfiguration"]
        d["Tags"] = tags(ar.list_tags_for_resource(ResourceArn=a["AutoScalingConfigurationArn"])["Tags"])
        out["autoscaling"].append(d)
print(json.dumps(out, default=str))
"#;

/// argv: emulator url, JSON instructions
/// `{"update": {NAME: {"env": {K: V}, "cpu": "2048", "memory": "4096"}},
///   "delete": [NAME], "create": [NAME]}`; prints `{"done": true}` once no
/// service has an operation in progress.
pub const OUT_OF_BAND: &str = r#"
import json, sys, time
import boto3
kw = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
emu, todo = sys.argv[1], json.loads(sys.argv[2])
ar = boto3.client("apprunner", endpoint_url=emu, **kw)
arns = {s["ServiceName"]: s["ServiceArn"] for s in ar.list_services(MaxResults=20)["ServiceSummaryList"]}
for name, change in todo.get("update", {}).items():
    svc = ar.describe_service(ServiceArn=arns[name])["Service"]
    args = {"ServiceArn": arns[name]}
    if "env" in change:
        src = svc["SourceConfiguration"]
        img = src["ImageRepository"]
        conf = img.setdefault("ImageConfiguration", {})
        conf.setdefault("RuntimeEnvironmentVariables", {}).update(change["env"])
        args["SourceConfiguration"] = src
    if "cpu" in change or "memory" in change:
        inst = {k: v for k, v in svc["InstanceConfiguration"].items() if k in ("Cpu", "Memory", "InstanceRoleArn")}
        if "cpu" in change:
            inst["Cpu"] = change["cpu"]
        if "memory" in change:
            inst["Memory"] = change["memory"]
        args["InstanceConfiguration"] = inst
    ar.update_service(**args)
for name in todo.get("delete", []):
    ar.delete_service(ServiceArn=arns[name])
for name in todo.get("create", []):
    ar.create_service(ServiceName=name, SourceConfiguration={
        "ImageRepository": {"ImageIdentifier": "public.ecr.aws/nginx/nginx:latest", "ImageRepositoryType": "ECR_PUBLIC"},
        "AutoDeploymentsEnabled": False})
for _ in range(600):
    busy = [s for s in ar.list_services(MaxResults=20)["ServiceSummaryList"] if s["Status"] == "OPERATION_IN_PROGRESS"]
    if not busy:
        break
    time.sleep(0.05)
print(json.dumps({"done": True}))
"#;

/// argv: moto url, prefix.
pub const MAKE_VPC: &str = r#"
import json, sys
import boto3
kw = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
moto, prefix = sys.argv[1], sys.argv[2]
ec2 = boto3.client("ec2", endpoint_url=moto, **kw)
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.%d.0/24" % i)["Subnet"]["SubnetId"] for i in (1, 2, 3)]
sgs = [ec2.create_security_group(VpcId=vpc, GroupName="%s-%d" % (prefix, i), Description="apprun e2e")["GroupId"] for i in (1, 2)]
print(json.dumps({"vpc": vpc, "subnets": subnets, "security_groups": sgs}))
"#;

/// One App Runner call to the emulator over plain HTTP (awsJson1_0; the
/// emulator does not check signatures); the answer's JSON body.
pub fn apprunner_call(endpoint: &str, operation: &str, body: &Value) -> Value {
    let addr = endpoint.trim_start_matches("http://");
    let payload = body.to_string();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AppRunner.{operation}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{operation}: {out}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{operation}: {e}: {body}"))
}

/// Every service ListServices shows (not deleted): (name, arn, status).
pub fn list_services(endpoint: &str) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = serde_json::json!({"MaxResults": 20});
        if let Some(t) = &token {
            req["NextToken"] = Value::String(t.clone());
        }
        let page = apprunner_call(endpoint, "ListServices", &req);
        for s in page["ServiceSummaryList"].as_array().unwrap() {
            all.push((
                s["ServiceName"].as_str().unwrap().to_string(),
                s["ServiceArn"].as_str().unwrap().to_string(),
                s["Status"].as_str().unwrap().to_string(),
            ));
        }
        match page["NextToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return all,
        }
    }
}

/// The App Runner operations that change something.
pub const MUTATING: &[&str] = &[
    "CreateService",
    "UpdateService",
    "DeleteService",
    "PauseService",
    "ResumeService",
    "StartDeployment",
    "CreateAutoScalingConfiguration",
    "DeleteAutoScalingConfiguration",
    "UpdateDefaultAutoScalingConfiguration",
    "CreateVpcConnector",
    "DeleteVpcConnector",
    "CreateObservabilityConfiguration",
    "DeleteObservabilityConfiguration",
    "CreateVpcIngressConnection",
    "UpdateVpcIngressConnection",
    "DeleteVpcIngressConnection",
    "AssociateCustomDomain",
    "DisassociateCustomDomain",
    "CreateConnection",
    "DeleteConnection",
    "TagResource",
    "UntagResource",
];
