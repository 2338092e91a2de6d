//! Failures told truthfully, through the real `apprun` binary against moto
//! (behind a fault-injecting proxy) and the App Runner emulator:
//!
//! - `a_failed_follow_up_of_each_kind_leaves_nothing_outside_state`: for each
//!   kind's follow-up calls (a role's `AttachRolePolicy` and
//!   `PutRolePolicy`, a repository's `PutLifecyclePolicy`, a service that
//!   ends `CREATE_FAILED`, a service whose `ListOperations` fails), the
//!   apply exits 1 naming the call and its error, the resource is in state
//!   as incomplete and nothing exists that the state does not know; the
//!   next apply finishes it with no manual step (an update, or a
//!   replacement for a failed service, never a second create), and destroy
//!   leaves nothing. README's reliability table quotes its figure.
//! - `a_mistyped_managed_policy_names_the_policy_and_the_fix_converges`: the
//!   real moto answer (`NoSuchEntity`) for a policy ARN with a typo.
//! - `an_unreachable_endpoint_is_a_configuration_error_within_a_minute`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod aws_support;

use std::process::Output;
use std::time::{Duration, Instant};

use apprunner_emulator::{Fault, FaultRule};
use aws_support::fault_proxy::{FaultProxy, INJECTED};
use aws_support::{APPLY, DESTROY, World, text};
use serde_json::{Value, json};

const PLAN: &[&str] = &[
    "plan",
    "--target",
    "aws",
    "--refresh",
    "--detailed-exitcode",
    "apprun.yaml",
];

/// A world whose IAM and ECR calls go through a fault proxy.
struct Faulty {
    world: World,
    proxy: FaultProxy,
}

impl Faulty {
    fn new() -> Faulty {
        let world = World::new(50);
        let proxy = FaultProxy::start(&world.moto.url());
        Faulty { world, proxy }
    }

    fn run(&self, args: &[&str], code: i32) -> Output {
        let out = self
            .world
            .apprun()
            .env("AWS_ENDPOINT_URL_IAM", self.proxy.url())
            .env("AWS_ENDPOINT_URL_ECR", self.proxy.url())
            // A failing read is told after two tries, not eight.
            .env("AWS_MAX_ATTEMPTS", "2")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "apprun {args:?}\n{}",
            text(&out)
        );
        out
    }
}

/// How a case breaks its resource's create, and mends it.
enum Break {
    /// The proxy fails this moto operation.
    Moto(&'static str),
    /// The emulator answers this rule.
    Emulator(FaultRule),
}

struct Case {
    /// The stack's name (also the prefix of every physical name).
    stack: &'static str,
    /// The stack's resources.
    body: &'static str,
    /// The resource whose create breaks.
    address: &'static str,
    /// How.
    fault: Break,
    /// What the failed apply's output must name.
    cause: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            stack: "ff-attach",
            body: "roles:\n  inst:\n    kind: instance\n    policies:\n      - arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess\n",
            address: "roles.inst",
            fault: Break::Moto("AttachRolePolicy"),
            cause: &[
                "AttachRolePolicy arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
                INJECTED,
            ],
        },
        Case {
            stack: "ff-inline",
            body: "roles:\n  inst:\n    kind: instance\n    policies:\n      - name: read\n        statements:\n          - actions: [\"s3:GetObject\"]\n            resources: [\"*\"]\n",
            address: "roles.inst",
            fault: Break::Moto("PutRolePolicy"),
            cause: &["PutRolePolicy read", INJECTED],
        },
        Case {
            stack: "ff-lifecycle",
            body: "repositories:\n  app:\n    lifecycle:\n      keep_last: 5\n",
            address: "repositories.app",
            fault: Break::Moto("PutLifecyclePolicy"),
            cause: &["PutLifecyclePolicy", INJECTED],
        },
        Case {
            stack: "ff-failed",
            body: "services:\n  web:\n    image: public.ecr.aws/nginx/nginx:latest\n",
            address: "services.web",
            fault: Break::Emulator(
                FaultRule::new(Some("CreateService"), Fault::FailOperation).times(1),
            ),
            cause: &["CREATE_FAILED"],
        },
        Case {
            stack: "ff-operations",
            body: "services:\n  web:\n    image: public.ecr.aws/nginx/nginx:latest\n",
            address: "services.web",
            fault: Break::Emulator(FaultRule::new(
                Some("ListOperations"),
                Fault::ServerError { status: 500 },
            )),
            cause: &["ListOperations"],
        },
    ]
}

/// Every role, repository and service that exists under `prefix`, by
/// physical id (ARN).
fn live(w: &World, prefix: &str) -> Vec<String> {
    let snap = w.snapshot(prefix);
    let mut ids: Vec<String> = Vec::new();
    for kind in ["roles", "repositories"] {
        if let Some(map) = snap[kind].as_object() {
            ids.extend(
                map.values()
                    .filter_map(|r| r["arn"].as_str().map(String::from)),
            );
        }
    }
    for service in snap["services"].as_array().into_iter().flatten() {
        let name = service["ServiceName"].as_str().unwrap_or_default();
        if name.starts_with(prefix) && service["Status"] != json!("DELETED") {
            ids.extend(service["ServiceArn"].as_str().map(String::from));
        }
    }
    ids.sort();
    ids
}

/// The physical ids the state of `stack` records.
fn recorded(w: &World, stack: &str) -> Vec<String> {
    let state = w.state(stack).unwrap_or(Value::Null);
    let mut ids: Vec<String> = state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["physical_id"].as_str().map(String::from))
        .collect();
    ids.sort();
    ids
}

fn record<'a>(state: &'a Value, address: &str) -> Option<&'a Value> {
    state["resources"]
        .as_array()?
        .iter()
        .find(|r| r["address"] == json!(address))
}

#[test]
fn a_failed_follow_up_of_each_kind_leaves_nothing_outside_state() {
    let mut rows = Vec::new();
    for case in cases() {
        let started = Instant::now();
        let f = Faulty::new();
        let w = &f.world;
        w.write_stack(&format!(
            "stack: {}\nregion: us-east-1\n{}",
            case.stack, case.body
        ));
        match &case.fault {
            Break::Moto(operation) => f.proxy.arm(operation),
            Break::Emulator(rule) => {
                w.emu.admin().add_fault(rule.clone()).unwrap();
            }
        }
        let failed = text(&f.run(APPLY, 1));
        let failed_after = started.elapsed().as_secs_f64();
        for needle in case.cause {
            assert!(
                failed.contains(needle),
                "{}: no `{needle}` in\n{failed}",
                case.stack
            );
        }
        assert!(
            !failed.contains(&format!("{} not found", case.address)),
            "{}: the cause is not `not found`:\n{failed}",
            case.stack
        );
        let state = w.state(case.stack).expect("a state");
        let incomplete = record(&state, case.address)
            .and_then(|r| r["incomplete"].as_str())
            .unwrap_or_else(|| panic!("{}: no incomplete record in {state:#}", case.stack));
        assert!(!incomplete.is_empty());
        let orphans: Vec<String> = live(w, case.stack)
            .into_iter()
            .filter(|id| !recorded(w, case.stack).contains(id))
            .collect();
        assert!(
            orphans.is_empty(),
            "{}: not in state: {orphans:?}",
            case.stack
        );

        // Mend the world; the next apply finishes it, never creating again.
        f.proxy.heal(match &case.fault {
            Break::Moto(operation) => operation,
            Break::Emulator(_) => "",
        });
        w.emu.admin().clear_faults();
        let plan = text(&f.run(PLAN, 2));
        assert!(plan.contains("did not finish"), "{}:\n{plan}", case.stack);
        assert!(
            !plan.contains(&format!("{} will be created", case.address)),
            "{}:\n{plan}",
            case.stack
        );
        f.run(APPLY, 0);
        f.run(PLAN, 0);
        let state = w.state(case.stack).unwrap();
        assert!(
            record(&state, case.address).is_some_and(|r| r.get("incomplete").is_none()),
            "{}: {state:#}",
            case.stack
        );
        assert_eq!(
            live(w, case.stack),
            recorded(w, case.stack),
            "{}",
            case.stack
        );
        f.run(DESTROY, 0);
        assert!(
            live(w, case.stack).is_empty(),
            "{}: destroy left {:?}",
            case.stack,
            live(w, case.stack)
        );
        rows.push(json!({"case": case.stack, "failed_after_s": failed_after,
                         "total_s": started.elapsed().as_secs_f64()}));
    }
    println!(
        "{}",
        json!({"row": "follow-up failures", "cases": rows, "orphans": 0})
    );
}

#[test]
fn a_mistyped_managed_policy_names_the_policy_and_the_fix_converges() {
    let w = World::new(50);
    let stack = |policy: &str| {
        format!(
            "stack: ff-typo\nregion: us-east-1\nroles:\n  inst:\n    kind: instance\n    policies:\n      - {policy}\n"
        )
    };
    w.write_stack(&stack("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAcess"));
    let out = text(&w.run_ok(APPLY, 1));
    assert!(
        out.contains("AttachRolePolicy arn:aws:iam::aws:policy/AmazonS3ReadOnlyAcess"),
        "{out}"
    );
    assert!(!out.contains("roles.inst not found"), "{out}");
    w.write_stack(&stack("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"));
    w.run_ok(APPLY, 0);
    let snap = w.snapshot("ff-typo");
    assert_eq!(
        snap["roles"]["ff-typo-inst"]["attached"],
        json!(["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]),
        "{snap:#}"
    );
    w.run_ok(DESTROY, 0);
}

#[test]
fn an_unreachable_endpoint_is_a_configuration_error_within_a_minute() {
    let w = World::new(50);
    w.write_stack("stack: ff-closed\nregion: us-east-1\nservices:\n  web:\n    image: public.ecr.aws/nginx/nginx:latest\n");
    w.run_ok(APPLY, 0);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{closed}");
    for args in [
        PLAN,
        APPLY,
        &[
            "drift",
            "--target",
            "aws",
            "--stack",
            "apprun.yaml",
            "--detailed-exitcode",
        ][..],
    ] {
        let started = Instant::now();
        let out = w
            .apprun()
            .env("AWS_ENDPOINT_URL_APPRUNNER", &endpoint)
            .args(args)
            .output()
            .unwrap();
        let took = started.elapsed();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {all}");
        assert!(
            all.contains(&endpoint),
            "{args:?} does not name the endpoint: {all}"
        );
        assert!(all.contains("connection refused"), "{all}");
        assert!(!all.contains("No changes"), "{all}");
        assert!(took < Duration::from_secs(60), "{args:?} took {took:?}");
    }
    // A plan reads the live world by default; `--no-refresh` plans offline.
    let plan_default = w
        .apprun()
        .env("AWS_ENDPOINT_URL_APPRUNNER", &endpoint)
        .args([
            "plan",
            "--target",
            "aws",
            "--detailed-exitcode",
            "apprun.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(
        plan_default.status.code(),
        Some(1),
        "{}",
        text(&plan_default)
    );
    let offline = w
        .apprun()
        .env("AWS_ENDPOINT_URL_APPRUNNER", &endpoint)
        .args([
            "plan",
            "--target",
            "aws",
            "--no-refresh",
            "--detailed-exitcode",
            "apprun.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(offline.status.code(), Some(0), "{}", text(&offline));
    w.run_ok(DESTROY, 0);
}
