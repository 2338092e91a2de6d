//! The AWS target end to end, through the real `apprun` binary: moto for
//! IAM/EC2/ECR, the project's App Runner emulator (in-process, real clock,
//! short operations) for App Runner, the standard `AWS_ENDPOINT_URL[_APPRUNNER]`
//! variables, and boto3 (the AWS CLI's library, from the venv) as the
//! independent client that sets up the VPC and checks what really exists.
//!
//! - `private_api_end_to_end`: apply `examples/private-api` -> every resource
//!   verified -> re-apply makes zero mutating calls (T14) -> change env, cpu,
//!   auto scaling and connector -> the plan shows exactly those -> apply ->
//!   out-of-band change is drift (exit 2, right resource and property) ->
//!   destroy -> nothing left.
//! - `t12_secret_canary_appears_nowhere`, `t13_drift_precision_and_recall`,
//!   `t3_ambiguous_creates_never_duplicate`, `t5_rollback_is_a_failed_apply`,
//!   `t6_kill_nine_during_apply_and_destroy`.
//!
//! Each row prints its figure as a JSON line (`--nocapture` shows them).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod aws_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use apprunner_emulator::{Fault, FaultRule};
use aws_support::{APPLY, DESTROY, MUTATING, World, list_services, mutating_moto_action, text};
use serde_json::{Value, json};

/// The account of moto and of the emulator.
const ACCOUNT: &str = "123456789012";
const DRIFT: &[&str] = &[
    "drift",
    "--target",
    "aws",
    "--stack",
    "apprun.yaml",
    "--detailed-exitcode",
    "--format",
    "json",
];

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn mutating_requests(w: &World) -> Vec<String> {
    w.emu
        .admin()
        .requests()
        .into_iter()
        .filter(|r| MUTATING.contains(&r.operation.as_str()))
        .map(|r| r.operation)
        .collect()
}

/// The private-api example with the VPC ids of moto, in moto's and the
/// emulator's account (App Runner refuses SSM parameters of another
/// account, as the real service does).
fn private_api_stack(vpc: &Value) -> String {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/private-api/apprun.yaml"),
    )
    .unwrap();
    let subnet = |i: usize| vpc["subnets"][i].as_str().unwrap().to_string();
    let sg = vpc["security_groups"][0].as_str().unwrap();
    let out = text
        .replace("subnet-0a1b2c3d4e5f60718", &subnet(0))
        .replace("subnet-0f1e2d3c4b5a69788", &subnet(1))
        .replace("sg-0123456789abcdef0", sg)
        .replace("111122223333", ACCOUNT);
    assert_ne!(out, text, "the example's VPC ids changed; update this test");
    out
}

/// What the private-api stack should look like in the cloud.
struct Expect<'a> {
    connector: &'a str,
    cpu: &'a str,
    log_level: &'a str,
    max_size: i64,
    security_group: &'a str,
    subnets: Vec<String>,
}

/// Checks every resource of the private-api stack through boto3.
fn verify_private_api(snap: &Value, e: &Expect) {
    // ECR repository.
    let repos = snap["repositories"].as_object().unwrap();
    assert_eq!(repos.len(), 1, "{repos:#?}");
    let repo = &repos["private-api-api"];
    assert_eq!(repo["mutability"], "IMMUTABLE");
    assert_eq!(repo["scan_on_push"], true);
    assert_eq!(repo["tags"]["team"], "payments");
    assert_eq!(repo["tags"]["env"], "staging");
    assert_eq!(repo["tags"]["apprun:stack"], "private-api");

    // IAM roles.
    let roles = snap["roles"].as_object().unwrap();
    assert_eq!(roles.len(), 2, "{roles:#?}");
    let access = &roles["private-api-api-access"];
    assert_eq!(
        access["trust"]["Statement"][0]["Principal"]["Service"],
        "build.apprunner.amazonaws.com"
    );
    assert_eq!(
        access["attached"],
        json!(["arn:aws:iam::aws:policy/service-role/AWSAppRunnerServicePolicyForECRAccess"])
    );
    let instance = &roles["private-api-api-instance"];
    assert_eq!(
        instance["trust"]["Statement"][0]["Principal"]["Service"],
        "tasks.apprunner.amazonaws.com"
    );
    assert_eq!(instance["description"], "Identity of the running API");
    assert_eq!(
        instance["attached"],
        json!(["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"])
    );
    let policy = instance["inline"]["send-orders"].to_string();
    for needle in ["sqs:SendMessage", "sqs:GetQueueUrl", "ecr:DescribeImages"] {
        assert!(policy.contains(needle), "{needle} missing: {policy}");
    }
    assert!(
        policy.contains(repo["arn"].as_str().unwrap()),
        "the policy names the repository's ARN: {policy}"
    );
    assert_eq!(instance["tags"]["team"], "payments");

    // VPC connector.
    let connectors = snap["vpc_connectors"].as_array().unwrap();
    assert_eq!(connectors.len(), 1, "{connectors:#?}");
    let conn = &connectors[0];
    // `<stack>-<key>-<suffix derived from the configuration>`.
    let name = conn["VpcConnectorName"].as_str().unwrap();
    assert!(name.starts_with(e.connector), "{name}");
    let mut subnets: Vec<String> = serde_json::from_value(conn["Subnets"].clone()).unwrap();
    subnets.sort();
    let mut want = e.subnets.clone();
    want.sort();
    assert_eq!(subnets, want);
    assert_eq!(conn["SecurityGroups"], json!([e.security_group]));

    // Auto scaling configuration: one active revision.
    let ascs = snap["autoscaling"].as_array().unwrap();
    assert_eq!(ascs.len(), 1, "{ascs:#?}");
    let asc = &ascs[0];
    assert_eq!(asc["AutoScalingConfigurationName"], "private-api-steady");
    assert_eq!(asc["MinSize"], 2);
    assert_eq!(asc["MaxSize"], e.max_size);
    assert_eq!(asc["MaxConcurrency"], 50);
    assert_eq!(asc["Tags"]["tier"], "api");

    // The service.
    let services = snap["services"].as_array().unwrap();
    assert_eq!(services.len(), 1, "{services:#?}");
    let s = &services[0];
    assert_eq!(s["ServiceName"], "private-api-api");
    assert_eq!(s["Status"], "RUNNING");
    let image = &s["SourceConfiguration"]["ImageRepository"];
    assert_eq!(
        image["ImageIdentifier"],
        format!("{}:2024.11.1", repo["uri"].as_str().unwrap())
    );
    assert_eq!(image["ImageRepositoryType"], "ECR");
    let conf = &image["ImageConfiguration"];
    assert_eq!(conf["Port"], "8080");
    assert_eq!(
        conf["RuntimeEnvironmentVariables"],
        json!({"APP_ENV": "staging", "LOG_LEVEL": e.log_level})
    );
    assert_eq!(
        conf["RuntimeEnvironmentSecrets"]["DB_PASSWORD"],
        format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:private-api/db-password-AbCdEf")
    );
    assert_eq!(
        conf["RuntimeEnvironmentSecrets"]["API_TOKEN"],
        format!("arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/private-api/token")
    );
    assert_eq!(
        s["SourceConfiguration"]["AuthenticationConfiguration"]["AccessRoleArn"],
        access["arn"]
    );
    assert_eq!(s["InstanceConfiguration"]["Cpu"], e.cpu);
    assert_eq!(s["InstanceConfiguration"]["Memory"], "4096");
    assert_eq!(
        s["InstanceConfiguration"]["InstanceRoleArn"],
        instance["arn"]
    );
    let hc = &s["HealthCheckConfiguration"];
    assert_eq!(hc["Protocol"], "HTTP");
    assert_eq!(hc["Path"], "/healthz");
    assert_eq!(hc["Interval"], 5);
    assert_eq!(hc["Timeout"], 2);
    assert_eq!(hc["HealthyThreshold"], 2);
    assert_eq!(hc["UnhealthyThreshold"], 3);
    let net = &s["NetworkConfiguration"];
    assert_eq!(net["EgressConfiguration"]["EgressType"], "VPC");
    assert_eq!(
        net["EgressConfiguration"]["VpcConnectorArn"],
        conn["VpcConnectorArn"]
    );
    assert_eq!(net["IngressConfiguration"]["IsPubliclyAccessible"], false);
    assert_eq!(net["IpAddressType"], "IPV4");
    assert_eq!(
        s["EncryptionConfiguration"]["KmsKey"],
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    );
    assert_eq!(
        s["AutoScalingConfigurationSummary"]["AutoScalingConfigurationArn"],
        asc["AutoScalingConfigurationArn"]
    );
    assert_eq!(s["Tags"]["service"], "api");
    assert_eq!(s["Tags"]["team"], "payments");
    assert_eq!(s["Tags"]["apprun:address"], "services.api");
}

#[test]
fn private_api_end_to_end() {
    let w = World::new(100);
    let vpc = w.make_vpc("private-api");
    let subnets: Vec<String> = vpc["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let sg0 = vpc["security_groups"][0].as_str().unwrap().to_string();
    let sg1 = vpc["security_groups"][1].as_str().unwrap().to_string();
    let original = private_api_stack(&vpc);
    w.write_stack(&original);

    // Apply and verify every resource.
    let started = Instant::now();
    let out = w.run_ok(APPLY, 0);
    let apply_s = started.elapsed().as_secs_f64();
    let snap = w.snapshot("private-api");
    verify_private_api(
        &snap,
        &Expect {
            connector: "private-api-db-",
            cpu: "2048",
            log_level: "info",
            max_size: 10,
            security_group: &sg0,
            subnets: subnets.clone(),
        },
    );
    let outputs = json_of(&w.run_ok(
        &[
            "output",
            "--json",
            "--target",
            "aws",
            "--stack",
            "apprun.yaml",
        ],
        0,
    ));
    let service = &snap["services"][0];
    assert_eq!(
        outputs["service_arn"]["value"],
        service["ServiceArn"],
        "{outputs}\n{}",
        text(&out)
    );
    assert!(
        outputs["url"]["value"]
            .as_str()
            .unwrap()
            .contains(service["ServiceUrl"].as_str().unwrap()),
        "{outputs}"
    );

    // T14: the same stack again: an empty plan, and an apply that makes no
    // mutating call to App Runner or to moto.
    w.run_ok(
        &[
            "plan",
            "--target",
            "aws",
            "--detailed-exitcode",
            "--refresh",
            "apprun.yaml",
        ],
        0,
    );
    w.emu.admin().clear_requests();
    w.moto.start_recording();
    w.run_ok(APPLY, 0);
    let moto_calls = w.moto.stop_recording();
    let moto_mutating: Vec<&String> = moto_calls
        .iter()
        .filter(|a| mutating_moto_action(a))
        .collect();
    let emu_mutating = mutating_requests(&w);
    let emu_reads = w.emu.admin().requests().len();
    println!(
        "{}",
        json!({"row": "T14", "test": "private_api_end_to_end",
               "apprunner_mutating_calls": emu_mutating.len(), "moto_mutating_calls": moto_mutating.len(),
               "apprunner_calls": emu_reads, "moto_calls": moto_calls.len()})
    );
    assert!(
        emu_reads > 0 && !moto_calls.is_empty(),
        "the re-apply refreshed nothing? apprunner {emu_reads}, moto {moto_calls:?}"
    );
    assert!(
        emu_mutating.is_empty(),
        "re-apply mutated: {emu_mutating:?}"
    );
    assert!(
        moto_mutating.is_empty(),
        "re-apply mutated moto: {moto_mutating:?}"
    );

    // Change env, cpu, auto scaling and connector: the plan shows exactly those.
    let changed = original
        .replace("LOG_LEVEL: info", "LOG_LEVEL: debug")
        .replace("cpu: 2 vCPU", "cpu: 1 vCPU")
        .replace("max_size: 10", "max_size: 5")
        .replace(
            &format!("security_groups: [{sg0}]"),
            &format!("security_groups: [{sg1}]"),
        );
    assert_eq!(changed.matches(&sg1).count(), 1);
    w.write_stack(&changed);
    let plan = json_of(&w.run_ok(
        &[
            "plan",
            "--target",
            "aws",
            "--detailed-exitcode",
            "--format",
            "json",
            "apprun.yaml",
        ],
        2,
    ));
    let changes: BTreeMap<String, (String, BTreeSet<String>)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let paths = c["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["path"].as_str().unwrap().to_string())
                .collect();
            (
                c["address"].as_str().unwrap().to_string(),
                (c["action"].as_str().unwrap().to_string(), paths),
            )
        })
        .collect();
    let addresses: Vec<&String> = changes.keys().collect();
    assert_eq!(
        addresses,
        ["autoscaling.steady", "services.api", "vpc_connectors.db"],
        "{plan:#}"
    );
    assert_eq!(changes["autoscaling.steady"].0, "replace");
    assert_eq!(
        changes["autoscaling.steady"].1,
        BTreeSet::from(["max_size".to_string()])
    );
    assert_eq!(changes["vpc_connectors.db"].0, "replace");
    // The security group, and the configuration-derived name with it.
    assert!(
        changes["vpc_connectors.db"].1.contains("security_groups")
            && changes["vpc_connectors.db"].1.is_subset(&BTreeSet::from([
                "name".to_string(),
                "security_groups".to_string()
            ])),
        "{plan:#}"
    );
    assert_eq!(changes["services.api"].0, "update");
    assert_eq!(
        changes["services.api"].1,
        BTreeSet::from([
            "autoscaling".to_string(),
            "cpu".to_string(),
            "env.LOG_LEVEL".to_string(),
            "vpc_connector".to_string()
        ]),
        "{plan:#}"
    );
    assert_eq!(
        plan["summary"],
        json!({"add": 2, "change": 1, "destroy": 2, "replace": 2, "unchanged": 5}),
        "a replacement counts as one add and one destroy, as in Terraform"
    );

    let started = Instant::now();
    w.run_ok(APPLY, 0);
    let change_s = started.elapsed().as_secs_f64();
    let snap = w.snapshot("private-api");
    verify_private_api(
        &snap,
        &Expect {
            connector: "private-api-db-",
            cpu: "1024",
            log_level: "debug",
            max_size: 5,
            security_group: &sg1,
            subnets: subnets.clone(),
        },
    );
    w.run_ok(
        &[
            "plan",
            "--target",
            "aws",
            "--detailed-exitcode",
            "--refresh",
            "apprun.yaml",
        ],
        0,
    );

    // Out-of-band change: drift, exit 2, on the right resource and property.
    w.run_ok(DRIFT, 0);
    w.out_of_band(&json!({"update": {"private-api-api": {"env": {"LOG_LEVEL": "warn"}}}}));
    let drift = json_of(&w.run_ok(DRIFT, 2));
    let drifted: Vec<(String, String, Vec<String>)> = drift["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "IN_SYNC")
        .map(|r| {
            (
                r["address"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["properties"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["property"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        drifted,
        vec![(
            "services.api".to_string(),
            "MODIFIED".to_string(),
            vec!["env.LOG_LEVEL".to_string()]
        )],
        "{drift:#}"
    );
    // A plain env value is shown, as in plans (sensitive ones are sealed:
    // `t12_secret_canary_appears_nowhere`).
    let property = &drift["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "services.api")
        .unwrap()["properties"][0];
    assert_eq!(
        (&property["expected"], &property["actual"]),
        (&json!("debug"), &json!("warn")),
        "{drift:#}"
    );
    // Apply repairs it.
    w.run_ok(APPLY, 0);
    w.run_ok(DRIFT, 0);

    // Destroy: nothing left in moto or the emulator.
    let started = Instant::now();
    w.run_ok(DESTROY, 0);
    let destroy_s = started.elapsed().as_secs_f64();
    let snap = w.snapshot("private-api");
    for kind in ["roles", "repositories"] {
        assert!(
            snap[kind].as_object().unwrap().is_empty(),
            "{kind} left: {snap:#}"
        );
    }
    for kind in ["services", "vpc_connectors", "autoscaling"] {
        assert!(
            snap[kind].as_array().unwrap().is_empty(),
            "{kind} left: {snap:#}"
        );
    }
    let state = w.state("private-api").unwrap();
    assert_eq!(state["resources"], json!([]));
    assert_eq!(state["pending"], json!([]));
    println!(
        "{}",
        json!({"test": "private_api_end_to_end", "resources": 6, "apply_s": apply_s,
               "change_apply_s": change_s, "destroy_s": destroy_s})
    );
}

/// A stack of `n` services with public images; `env` for every service.
fn services_stack(stack: &str, n: usize, env: &str) -> String {
    let mut text = format!("stack: {stack}\nregion: us-east-1\nservices:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  s{i}:\n    image: public.ecr.aws/nginx/nginx:latest\n    cpu: 1 vCPU\n    memory: 2 GB\n    env:\n{env}"
        ));
    }
    text
}

fn canary() -> String {
    use std::hash::{BuildHasher, RandomState};
    let mut out = String::new();
    let mut n = 0u64;
    while out.len() < 32 {
        let h = RandomState::new().hash_one(n);
        n += 1;
        out.push_str(&format!("{h:016x}"));
    }
    // Letters and digits, 32 characters, never a prefix of anything else.
    format!("C{}", &out[..31])
}

#[test]
fn t12_secret_canary_appears_nowhere() {
    let w = World::new(50);
    let first = canary();
    let second = canary();
    assert_ne!(first, second);
    // The canary reaches env through a sensitive variable given with
    // --var (a literal env value is shown in plans by design).
    let stack = services_stack(
        "canary12",
        1,
        "      API_TOKEN: \"${var.api_token}\"\n      LOG_LEVEL: info\n",
    )
    .replace(
        "services:\n",
        "variables:\n  api_token:\n    sensitive: true\nservices:\n",
    );
    w.write_stack(&stack);
    let plan_file = w.dir.path().join("plan.bin");
    let plan_arg = plan_file.to_str().unwrap().to_string();
    let runs: Vec<(Vec<&str>, Option<String>)> = vec![
        (
            vec![
                "-vvv",
                "plan",
                "--target",
                "aws",
                "--format",
                "json",
                "apprun.yaml",
            ],
            None,
        ),
        (
            vec![
                "-vvv",
                "plan",
                "--target",
                "aws",
                "--out",
                &plan_arg,
                "apprun.yaml",
            ],
            None,
        ),
        (
            vec![
                "-vvv",
                "--format",
                "json",
                "apply",
                "--target",
                "aws",
                "--auto-approve",
                &plan_arg,
            ],
            None,
        ),
        (
            vec![
                "-vvv",
                "drift",
                "--target",
                "aws",
                "--stack",
                "apprun.yaml",
                "--format",
                "json",
            ],
            None,
        ),
        // Change the value: an update that carries the new secret.
        (
            vec!["-vvv", "plan", "--target", "aws", "apprun.yaml"],
            Some(second.clone()),
        ),
        (
            vec![
                "-vvv",
                "apply",
                "--target",
                "aws",
                "--auto-approve",
                "apprun.yaml",
            ],
            None,
        ),
        (
            vec!["-vvv", "drift", "--target", "aws", "--stack", "apprun.yaml"],
            None,
        ),
        (
            vec![
                "-vvv",
                "--format",
                "json",
                "destroy",
                "--target",
                "aws",
                "--auto-approve",
                "apprun.yaml",
            ],
            None,
        ),
    ];
    let mut stdout_hits = 0;
    let mut stderr_hits = 0;
    let mut stderr_bytes = 0;
    let mut state_hits = 0;
    let mut plan_hits = 0;
    let mut value = first.clone();
    for (args, new_value) in &runs {
        if let Some(new_value) = new_value {
            value = new_value.clone();
        }
        let var = format!("api_token={value}");
        let out = w
            .apprun()
            .args(args)
            .args(["--var", &var])
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "apprun {args:?} failed:\n{stdout}\n{}",
            &stderr[stderr.len().saturating_sub(4000)..]
        );
        stderr_bytes += stderr.len();
        for c in [&first, &second] {
            stdout_hits += stdout.matches(c.as_str()).count();
            stderr_hits += stderr.matches(c.as_str()).count();
        }
        // Every file apprun wrote (state, backup, lock records, plan file).
        for c in [&first, &second] {
            for path in aws_support::files_containing(w.dir.path(), c) {
                if path.file_name() == Some(std::ffi::OsStr::new("apprun.yaml")) {
                    continue;
                }
                if path == plan_file {
                    plan_hits += 1;
                } else {
                    state_hits += 1;
                }
                eprintln!("canary found in {}", path.display());
            }
        }
        if stdout_hits + stderr_hits > 0 {
            for line in stdout.lines().chain(stderr.lines()) {
                if line.contains(first.as_str()) || line.contains(second.as_str()) {
                    eprintln!(
                        "canary in output of {args:?}: {}",
                        &line[..line.len().min(400)]
                    );
                    break;
                }
            }
        }
    }
    let log = serde_json::to_string(&w.emu.admin().requests()).unwrap();
    let log_hits = log.matches(first.as_str()).count() + log.matches(second.as_str()).count();
    // The values did reach App Runner (the test would prove nothing otherwise).
    let updates = w
        .emu
        .admin()
        .requests()
        .iter()
        .filter(|r| r.operation == "UpdateService" || r.operation == "CreateService")
        .count();
    println!(
        "{}",
        json!({"row": "T12", "commands": runs.len(), "stderr_bytes": stderr_bytes,
               "occurrences": {"stdout": stdout_hits, "stderr": stderr_hits, "state_files": state_hits,
                               "plan_file": plan_hits, "emulator_request_log": log_hits}})
    );
    assert!(updates >= 2, "create and update expected, saw {updates}");
    assert!(stderr_bytes > 10_000, "trace logs were not on");
    assert!(plan_file.exists());
    assert_eq!(
        (stdout_hits, stderr_hits, state_hits, plan_hits, log_hits),
        (0, 0, 0, 0, 0),
        "canary occurrences: stdout, stderr, state files, plan file, request log"
    );
}

#[test]
fn t13_drift_precision_and_recall() {
    let w = World::new(50);
    w.write_stack(&services_stack("drift13", 3, "      LOG_LEVEL: info\n"));
    w.run_ok(APPLY, 0);
    w.run_ok(DRIFT, 0);
    let state_before = std::fs::read(w.state_path("drift13")).unwrap();

    // Out of band: env and cpu/memory of s0, s1 deleted, an unmanaged service added.
    w.out_of_band(&json!({
        "update": {"drift13-s0": {"env": {"LOG_LEVEL": "debug"}, "cpu": "2048", "memory": "4096"}},
        "delete": ["drift13-s1"],
        "create": ["drift13-unmanaged"],
    }));
    let injected: BTreeSet<(String, String)> = [
        ("services.s0", "env.LOG_LEVEL"),
        ("services.s0", "cpu"),
        ("services.s0", "memory"),
        ("services.s1", "DELETED"),
    ]
    .into_iter()
    .map(|(a, p)| (a.to_string(), p.to_string()))
    .collect();

    let drift = json_of(&w.run_ok(DRIFT, 2));
    let mut reported = BTreeSet::new();
    let mut statuses = BTreeMap::new();
    for r in drift["resources"].as_array().unwrap() {
        let address = r["address"].as_str().unwrap().to_string();
        let status = r["status"].as_str().unwrap().to_string();
        statuses.insert(address.clone(), status.clone());
        match status.as_str() {
            "DELETED" => {
                reported.insert((address, "DELETED".to_string()));
            }
            "MODIFIED" => {
                for p in r["properties"].as_array().unwrap() {
                    reported.insert((address.clone(), p["property"].as_str().unwrap().to_string()));
                }
            }
            _ => {}
        }
    }
    let hits = reported.intersection(&injected).count() as f64;
    let precision = if reported.is_empty() {
        0.0
    } else {
        hits / reported.len() as f64
    };
    let recall = hits / injected.len() as f64;
    println!(
        "{}",
        json!({"row": "T13", "injected": injected.len(), "reported": reported.len(),
               "precision": precision, "recall": recall})
    );
    assert_eq!(reported, injected, "{drift:#}");
    assert_eq!(
        statuses,
        BTreeMap::from([
            ("services.s0".to_string(), "MODIFIED".to_string()),
            ("services.s1".to_string(), "DELETED".to_string()),
            ("services.s2".to_string(), "IN_SYNC".to_string()),
        ])
    );
    assert!(
        !drift.to_string().contains("unmanaged"),
        "an unmanaged service is not ours: {drift}"
    );
    // Drift never writes state.
    assert_eq!(
        std::fs::read(w.state_path("drift13")).unwrap(),
        state_before
    );

    // Apply repairs; the unmanaged service is never touched, even by destroy.
    w.run_ok(APPLY, 0);
    w.run_ok(DRIFT, 0);
    w.run_ok(DESTROY, 0);
    let left: Vec<String> = list_services(&w.emu.endpoint_url())
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(left, ["drift13-unmanaged"]);
}

#[test]
fn t3_ambiguous_creates_never_duplicate() {
    let w = World::new(50);
    w.write_stack(&services_stack("ambig3", 3, "      LOG_LEVEL: info\n"));
    let mut figures = Vec::new();
    for fault in [Fault::CommitThenDrop, Fault::DropConnection] {
        let name = format!("{fault:?}");
        w.emu.admin().clear_requests();
        w.emu
            .admin()
            .add_fault(FaultRule::new(Some("CreateService"), fault).times(1))
            .unwrap();
        w.run_ok(APPLY, 0);
        let live = list_services(&w.emu.endpoint_url());
        let names: BTreeSet<&String> = live.iter().map(|s| &s.0).collect();
        let duplicates = live.len() - names.len();
        let state = w.state("ambig3").unwrap();
        let recorded: BTreeSet<String> = state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["physical_id"].as_str().unwrap().to_string())
            .collect();
        let orphans = live.iter().filter(|s| !recorded.contains(&s.1)).count();
        let log = w.emu.admin().requests();
        let faulted = log.iter().filter(|r| r.fault.is_some()).count();
        let committed_creates = log
            .iter()
            .filter(|r| r.operation == "CreateService" && r.committed)
            .count();
        figures.push(
            json!({"fault": name, "faults_fired": faulted, "duplicates": duplicates,
                            "orphans": orphans, "committed_creates": committed_creates}),
        );
        assert_eq!(faulted, 1, "{name}: the fault fired once");
        assert_eq!(live.len(), 3, "{name}: {live:?}");
        assert_eq!(duplicates, 0, "{name}");
        assert_eq!(orphans, 0, "{name}");
        assert_eq!(
            committed_creates, 3,
            "{name}: one committed create per service"
        );
        assert_eq!(state["pending"], json!([]));
        w.run_ok(DESTROY, 0);
        assert!(list_services(&w.emu.endpoint_url()).is_empty());
    }
    println!("{}", json!({"row": "T3", "runs": figures}));
}

#[test]
fn t5_rollback_is_a_failed_apply() {
    let w = World::new(50);
    w.write_stack(&services_stack("rollback5", 1, "      LOG_LEVEL: info\n"));
    w.run_ok(APPLY, 0);
    w.write_stack(&services_stack("rollback5", 1, "      LOG_LEVEL: debug\n"));
    w.emu
        .admin()
        .add_fault(FaultRule::new(Some("UpdateService"), Fault::FailOperation).times(1))
        .unwrap();
    let started = Instant::now();
    let out = w.run_ok(APPLY, 1);
    let waited = started.elapsed();
    let all = text(&out);
    assert!(all.contains("ROLLBACK_SUCCEEDED"), "{all}");
    assert!(all.contains("services.s0"), "{all}");
    // App Runner kept the old configuration; the next apply converges.
    w.run_ok(
        &[
            "plan",
            "--target",
            "aws",
            "--detailed-exitcode",
            "--refresh",
            "apprun.yaml",
        ],
        2,
    );
    w.run_ok(APPLY, 0);
    w.run_ok(
        &[
            "plan",
            "--target",
            "aws",
            "--detailed-exitcode",
            "--refresh",
            "apprun.yaml",
        ],
        0,
    );
    println!(
        "{}",
        json!({"row": "T5", "outcome": "apply failed (exit 1) naming ROLLBACK_SUCCEEDED", "terminated": true,
               "wait_s": waited.as_secs_f64()})
    );
    w.run_ok(DESTROY, 0);
}

/// T6: `kill -9` (SIGKILL through `Child::kill`) of `apprun apply` and
/// `apprun destroy` of 10 services at times spread over the run (emulator
/// operations of 200 ms), each followed by a recovery run: every live
/// service is recorded exactly once (no orphan, no duplicate), and the
/// last destroy leaves nothing.
#[test]
fn t6_kill_nine_during_apply_and_destroy() {
    let w = World::new(200);
    w.write_stack(&services_stack("kill6", 10, "      LOG_LEVEL: info\n"));
    let endpoint = w.emu.endpoint_url();
    let delays_ms = [
        80, 1300, 600, 1700, 900, 2100, 450, 1500, 1100, 2500, 350, 800,
    ];
    let mut kills = 0;
    let mut finished_before_kill = 0;
    let mut with_pending = 0;
    let mut orphans_total = 0;
    let mut duplicates_total = 0;
    let started = Instant::now();
    for (i, delay) in delays_ms.iter().enumerate() {
        let destroying = i % 2 == 1;
        let args = if destroying { DESTROY } else { APPLY };
        let mut child = w
            .apprun()
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(*delay));
        if child.try_wait().unwrap().is_some() {
            finished_before_kill += 1;
        } else {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        if let Some(state) = w.state("kill6")
            && !state["pending"].as_array().unwrap().is_empty()
        {
            with_pending += 1;
        }
        // Recovery: the same command again.
        w.run_ok(args, 0);
        let live = list_services(&endpoint);
        let names: BTreeSet<&String> = live.iter().map(|s| &s.0).collect();
        let duplicates = live.len() - names.len();
        let state = w.state("kill6").unwrap();
        assert_eq!(state["pending"], json!([]), "iteration {i}");
        let recorded: Vec<String> = state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["physical_id"].as_str().unwrap().to_string())
            .collect();
        let orphans = live.iter().filter(|s| !recorded.contains(&s.1)).count();
        orphans_total += orphans;
        duplicates_total += duplicates;
        assert_eq!(duplicates, 0, "iteration {i}: {live:?}");
        assert_eq!(orphans, 0, "iteration {i}: {live:?} vs {recorded:?}");
        if destroying {
            assert!(live.is_empty(), "iteration {i}: {live:?}");
            assert!(recorded.is_empty());
        } else {
            assert_eq!(live.len(), 10, "iteration {i}: {live:?}");
            assert_eq!(recorded.len(), 10);
            let unique: BTreeSet<&String> = recorded.iter().collect();
            assert_eq!(unique.len(), 10, "each service recorded once");
        }
    }
    assert!(list_services(&endpoint).is_empty());
    println!(
        "{}",
        json!({"row": "T6", "kills": kills, "finished_before_kill": finished_before_kill,
               "kills_with_pending_ops": with_pending, "orphans": orphans_total,
               "duplicates": duplicates_total, "wall_s": started.elapsed().as_secs_f64()})
    );
    assert!(kills >= 8, "most runs must be killed mid-way: {kills}");
    assert!(
        with_pending >= 1,
        "some kills must land between journal entries"
    );
}

/// A VPC connector a service uses is replaced when its configuration
/// changes (App Runner refuses to delete a connector in use, so this needs
/// create -> repoint the service -> delete the old one).
#[test]
fn a_used_vpc_connector_is_replaced() {
    let w = World::new(50);
    let vpc = w.make_vpc("vpcbug");
    let stack = |sg: &str| {
        format!(
            "stack: vpcbug\nregion: us-east-1\nvpc_connectors:\n  db:\n    subnets: [{}]\n    security_groups: [{sg}]\nservices:\n  s0:\n    image: public.ecr.aws/nginx/nginx:latest\n    vpc_connector: \"${{vpc_connectors.db.arn}}\"\n",
            vpc["subnets"][0].as_str().unwrap()
        )
    };
    w.write_stack(&stack(vpc["security_groups"][0].as_str().unwrap()));
    w.run_ok(APPLY, 0);
    w.write_stack(&stack(vpc["security_groups"][1].as_str().unwrap()));
    w.run_ok(APPLY, 0);
    w.run_ok(DESTROY, 0);
}

/// `apprun import` on AWS, every kind: each resource of the private-api
/// stack is removed from state (`state rm`) and adopted again by its id
/// (roles and repositories by name, as Terraform imports them; App Runner
/// resources by ARN); then the plan has no change and the state is the one
/// apply wrote. Importing an address already in state, one the stack does
/// not declare, or an id that does not exist fails with what to do.
#[test]
fn import_adopts_every_kind_by_its_id() {
    let w = World::new(50);
    let vpc = w.make_vpc("import-api");
    w.write_stack(&private_api_stack(&vpc).replace("stack: private-api", "stack: import-api"));
    w.run_ok(APPLY, 0);
    let applied = w.state("import-api").unwrap();
    let resources = applied["resources"].as_array().unwrap().clone();
    assert_eq!(resources.len(), 8);
    let state_args = ["--target", "aws", "--stack", "apprun.yaml"];
    let with = |head: &[&str]| -> Vec<String> {
        head.iter()
            .chain(state_args.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: Vec<String>, code: i32| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        w.run_ok(&args, code)
    };

    let started = Instant::now();
    for r in &resources {
        let address = r["address"].as_str().unwrap();
        let arn = r["physical_id"].as_str().unwrap();
        // The id a user has at hand: a role's or repository's name, else
        // the ARN.
        let id = if address.starts_with("roles.") || address.starts_with("repositories.") {
            r["outputs"]["name"].as_str().unwrap()
        } else {
            arn
        };
        run(with(&["state", "rm", address]), 0);
        let out = run(with(&["import", address, id]), 0);
        assert!(text(&out).contains(&format!("Imported {id} as {address}")));
        // Importing it twice is refused, the state untouched.
        let again = run(with(&["import", address, id]), 1);
        assert!(
            text(&again).contains("already in the state"),
            "{}",
            text(&again)
        );
    }
    let import_s = started.elapsed().as_secs_f64();
    let imported = w.state("import-api").unwrap();
    let ids = |doc: &Value| -> BTreeMap<String, (String, Value)> {
        doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["address"].as_str().unwrap().to_string(),
                    (
                        r["physical_id"].as_str().unwrap().to_string(),
                        r["outputs"].clone(),
                    ),
                )
            })
            .collect()
    };
    assert_eq!(
        ids(&imported),
        ids(&applied),
        "the imported state records the same ids and outputs as apply"
    );
    let plan = w.run_ok(
        &[
            "plan",
            "--target",
            "aws",
            "--detailed-exitcode",
            "apprun.yaml",
        ],
        0,
    );
    assert!(text(&plan).contains("No changes"), "{}", text(&plan));

    // Mistakes: an undeclared address, an id that does not exist.
    let undeclared = run(with(&["import", "services.nope", "x"]), 1);
    assert!(
        text(&undeclared).contains("does not declare"),
        "{}",
        text(&undeclared)
    );
    let service = "services.api";
    run(with(&["state", "rm", service]), 0);
    let missing_arn = "arn:aws:apprunner:us-east-1:123456789012:service/none/0123456789abcdef";
    let missing = run(with(&["import", service, missing_arn]), 1);
    assert!(text(&missing).contains("none"), "{}", text(&missing));
    assert!(
        w.state("import-api").unwrap()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["address"] != service),
        "a failed import wrote state"
    );
    let id = ids(&applied)[service].0.clone();
    run(with(&["import", service, &id]), 0);
    w.run_ok(DESTROY, 0);
    println!(
        "{}",
        json!({"test": "import", "resources": resources.len(), "import_s": import_s})
    );
}

/// With no credentials anywhere in the chain, apply stops before touching
/// anything: one clear error naming what to set (and the no-account path),
/// exit 1, no state file, and none of aws-config's per-source warnings.
#[test]
fn missing_credentials_fail_at_once_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("apprun.yaml"),
        "stack: nocreds\nregion: us-east-1\nrepositories:\n  app: {}\n",
    )
    .unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("apprun"))
        .args(APPLY)
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", dir.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("AWS_REGION", "us-east-1")
        // HOME is the temp dir: no ~/.aws files either.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no AWS credentials were found"), "{stderr}");
    assert!(
        stderr.contains("AWS_PROFILE") && stderr.contains("scripts/local-aws"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("WARN"),
        "aws-config's warnings leaked: {stderr}"
    );
    assert!(
        !stderr.contains("repositories.app"),
        "a change was attempted: {stderr}"
    );
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("state"))
        .collect();
    assert!(files.is_empty(), "state written: {files:?}");
}

/// The stack's `region:` is where its resources go, whatever region the
/// environment names (as a Terraform provider's `region` wins over
/// AWS_REGION): state, plan and cloud then agree.
#[test]
fn the_stacks_region_wins_over_the_environments() {
    let w = World::new(50);
    w.write_stack("stack: regional\nregion: us-east-1\nrepositories:\n  app: {}\n");
    let out = w
        .apprun()
        .args(APPLY)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let state = w.state("regional").unwrap();
    let arn = state["resources"][0]["outputs"]["arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:ecr:us-east-1:"),
        "created outside the stack's region: {arn}"
    );
    let out = w
        .apprun()
        .args(DESTROY)
        .env("AWS_REGION", "eu-west-1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}
