//! Day-2 commands through the real binary (issue 15): `deploy`, `status`
//! and `logs` against moto (CloudWatch Logs) and the App Runner emulator,
//! and the refusals every command shares.
//!
//! - `deploy_starts_a_deployment_and_a_failed_one_names_its_rollback`
//! - `status_exits_2_when_a_service_is_paused`
//! - `logs_reads_cloudwatch_since_a_time_and_says_when_there_is_no_group`
//! - `bad_addresses_get_one_sentence_and_exit_1`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod aws_support;

use aws_support::{APPLY, World, python, text};
use serde_json::{Value, json};

const STACK: &str = r#"
stack: daytwo
region: us-east-1
roles:
  app: { kind: instance }
services:
  web:
    image: public.ecr.aws/nginx/nginx:1.27
    auto_deploy: false
  idle:
    image: public.ecr.aws/nginx/nginx:1.27
    auto_deploy: false
    paused: true
"#;

/// `apprun ARGS` on AWS for `apprun.yaml`.
fn aws<'a>(command: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![command];
    args.extend_from_slice(rest);
    args.extend_from_slice(&["--target", "aws", "apprun.yaml"]);
    args
}

fn applied() -> World {
    let w = World::new(100);
    w.write_stack(STACK);
    w.run_ok(APPLY, 0);
    w
}

#[test]
fn deploy_starts_a_deployment_and_a_failed_one_names_its_rollback() {
    let w = applied();
    let before = w.emu.admin().count("StartDeployment");
    let out = w.run_ok(&aws("deploy", &["services.web"]), 0);
    assert!(
        text(&out).contains("services.web: deployed"),
        "{}",
        text(&out)
    );
    assert_eq!(w.emu.admin().count("StartDeployment"), before + 1);
    let state = w.state("daytwo").unwrap();
    let web = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "services.web")
        .unwrap();
    let operation = web["outputs"]["last_deployment"]["operation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text(&out).contains(&operation), "{}", text(&out));
    // A deployment is not drift, nor a change.
    w.run_ok(&aws("plan", &["--detailed-exitcode"]), 0);
    w.run_ok(&aws("drift", &["--detailed-exitcode"]), 0);

    // A deployment that fails: exit 1 naming the rollback.
    w.emu
        .admin()
        .add_fault(
            serde_json::from_value(json!({
                "operation": "StartDeployment",
                "fault": "fail_operation",
                "times": 1
            }))
            .unwrap(),
        )
        .unwrap();
    let failed = w.run_ok(&aws("deploy", &["services.web"]), 1);
    let said = text(&failed);
    assert!(said.contains("ROLLBACK_SUCCEEDED"), "{said}");
    assert!(said.contains("apprun logs services.web"), "{said}");
}

#[test]
fn status_exits_2_when_a_service_is_paused() {
    let w = applied();
    let out = w.run_ok(&aws("status", &[]), 0);
    let said = text(&out);
    assert!(said.contains("services.web"), "{said}");
    assert!(said.contains("RUNNING"), "{said}");
    assert!(said.contains("PAUSED"), "{said}");
    assert!(said.contains("1 of 2 service(s) running."), "{said}");
    w.run_ok(&aws("status", &["--detailed-exitcode"]), 2);
    let json_out = w.run_ok(
        &[
            "--format",
            "json",
            "status",
            "--target",
            "aws",
            "apprun.yaml",
        ],
        0,
    );
    let report: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(report["all_services_running"], false);
    let web = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "services.web")
        .unwrap();
    assert_eq!(web["status"], "RUNNING");
    assert!(
        web["operations"][0]["type"].as_str().is_some(),
        "the last operations are listed: {web:#}"
    );
}

/// argv: moto url, group name, JSON events `[[stream, ms, message]...]`.
const WRITE_LOGS: &str = r#"
import json, sys
import boto3
kw = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
moto, group, events = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
logs = boto3.client("logs", endpoint_url=moto, **kw)
logs.create_log_group(logGroupName=group)
for stream in sorted({e[0] for e in events}):
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
        logEvents=[{"timestamp": e[1], "message": e[2]} for e in events if e[0] == stream])
print(json.dumps({"done": True}))
"#;

#[test]
fn logs_reads_cloudwatch_since_a_time_and_says_when_there_is_no_group() {
    let w = applied();
    let state = w.state("daytwo").unwrap();
    let arn = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "services.web")
        .unwrap()["physical_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // arn:aws:apprunner:REGION:ACCOUNT:service/NAME/ID
    let mut parts = arn.rsplit('/');
    let id = parts.next().unwrap();
    let name = parts.next().unwrap();

    // No group yet: one sentence, exit 1.
    let missing = w.run_ok(&aws("logs", &["services.web"]), 1);
    assert!(
        text(&missing).contains(&format!("/aws/apprunner/{name}/{id}/application")),
        "{}",
        text(&missing)
    );

    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let old = now_ms - 3 * 3_600_000;
    let recent = now_ms - 60_000;
    python(
        WRITE_LOGS,
        &[
            &w.moto.url(),
            &format!("/aws/apprunner/{name}/{id}/application"),
            &json!([
                ["instance/a", old, "booted long ago"],
                ["instance/b", recent + 2, "second"],
                ["instance/a", recent, "first"],
            ])
            .to_string(),
        ],
    );
    let all = w.run_ok(&aws("logs", &["services.web"]), 0);
    let lines = String::from_utf8(all.stdout).unwrap();
    let order: Vec<&str> = lines
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(order, ["ago", "first", "second"], "{lines}");
    assert!(lines.contains("instance/b second"), "{lines}");
    let since = w.run_ok(&aws("logs", &["services.web", "--since", "10m"]), 0);
    let lines = String::from_utf8(since.stdout).unwrap();
    assert!(!lines.contains("booted long ago"), "{lines}");
    assert_eq!(lines.lines().count(), 2, "{lines}");

    // --follow prints what comes next, once, and ends cleanly on Ctrl-C.
    let mut child = w
        .apprun()
        .args(aws("logs", &["services.web", "--since", "10m", "--follow"]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = sender.send(line);
        }
    });
    let wait_for = |needle: &str| loop {
        let line = lines
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no line with `{needle}` in 30 s"));
        if line.contains(needle) {
            return line;
        }
    };
    wait_for("second");
    python(
        APPEND_LOG,
        &[
            &w.moto.url(),
            &format!("/aws/apprunner/{name}/{id}/application"),
            &(recent + 5_000).to_string(),
        ],
    );
    assert!(wait_for("later").contains("instance/c"));
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "logs --follow did not stop on Ctrl-C"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "Ctrl-C ends --follow cleanly");
    let rest: Vec<String> = lines.try_iter().collect();
    assert!(
        !rest
            .iter()
            .any(|l| l.contains("first") || l.contains("later")),
        "an event was printed twice: {rest:?}"
    );
}

/// argv: moto url, group name, timestamp: one event "later" in a new stream.
const APPEND_LOG: &str = r#"
import json, sys
import boto3
kw = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
moto, group, at = sys.argv[1], sys.argv[2], int(sys.argv[3])
logs = boto3.client("logs", endpoint_url=moto, **kw)
logs.create_log_stream(logGroupName=group, logStreamName="instance/c")
logs.put_log_events(logGroupName=group, logStreamName="instance/c",
    logEvents=[{"timestamp": at, "message": "later"}])
print(json.dumps({"done": True}))
"#;

#[test]
fn bad_addresses_get_one_sentence_and_exit_1() {
    let w = World::new(100);
    w.write_stack(STACK);
    // Not applied yet.
    let out = w.run_ok(&aws("deploy", &["services.web"]), 1);
    assert!(
        text(&out).contains("`services.web` has not been applied yet"),
        "{}",
        text(&out)
    );
    let out = w.run_ok(&aws("logs", &["services.web"]), 1);
    assert!(
        text(&out).contains("has not been applied yet"),
        "{}",
        text(&out)
    );
    // Not a service.
    for command in ["deploy", "logs"] {
        let out = w.run_ok(&aws(command, &["roles.app"]), 1);
        assert!(
            text(&out).contains("`roles.app` is not a service of this stack"),
            "{command}: {}",
            text(&out)
        );
        assert!(text(&out).contains("services.web"), "{}", text(&out));
    }
    let out = w.run_ok(&aws("deploy", &["services.nope"]), 1);
    assert!(
        text(&out).contains("`services.nope` is not a service of this stack"),
        "{}",
        text(&out)
    );
}
