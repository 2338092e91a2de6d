//! Planner benchmark (issue: planner and durable state). Generates stacks of
//! 60, 600 and 3,000 resources (groups of a repository, an access role, an
//! instance role, a VPC connector, an auto scaling configuration and a
//! service that uses all five) with a matching state, and times, in the same
//! run: parsing the YAML alone (the baseline), validating it, planning
//! against an empty state, a no-op plan against the full state, and a plan
//! after one change. Each is reported as a ratio to the parse time, with
//! the process's peak memory. Run: `cargo bench -p apprun-engine --bench plan`.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use apprun_engine::desired::desired;
use apprun_engine::graph::Graph;
use apprun_engine::plan::resolve_references;
use apprun_engine::record::recorded;
use apprun_engine::{PlanInput, PlanOptions, plan, stack_digest};
use apprun_schema::{Stack, VarInputs};
use apprun_state::{DigestKey, Lineage, Snapshot};
use serde_json::json;

fn stack_text(groups: usize) -> String {
    let mut repositories = String::from("repositories:\n");
    let mut roles = String::from("roles:\n");
    let mut connectors = String::from("vpc_connectors:\n");
    let mut scaling = String::from("autoscaling:\n");
    let mut services = String::from("services:\n");
    for g in 0..groups {
        repositories.push_str(&format!("  repo{g}: {{ scan_on_push: true }}\n"));
        roles.push_str(&format!("  pull{g}: {{ kind: access }}\n"));
        roles.push_str(&format!(
            "  app{g}:\n    kind: instance\n    policies:\n      - statements:\n          - actions: [\"sqs:SendMessage\"]\n            resources: [\"arn:aws:sqs:us-east-1:111122223333:q{g}\"]\n"
        ));
        connectors.push_str(&format!(
            "  net{g}: {{ subnets: [subnet-{g:017x}], security_groups: [sg-{g:017x}] }}\n"
        ));
        scaling.push_str(&format!(
            "  asc{g}: {{ min_size: 1, max_size: 5, max_concurrency: 80 }}\n"
        ));
        services.push_str(&format!(
            "  web{g}:\n    image: \"${{repositories.repo{g}.uri}}:v1\"\n    access_role: \"${{roles.pull{g}.arn}}\"\n    instance_role: \"${{roles.app{g}.arn}}\"\n    vpc_connector: \"${{vpc_connectors.net{g}.arn}}\"\n    autoscaling: \"${{autoscaling.asc{g}.arn}}\"\n    cpu: 1 vCPU\n    memory: 2 GB\n    env: {{ APP: web{g}, LEVEL: info }}\n    health_check: {{ protocol: HTTP, path: /health }}\n"
        ));
    }
    format!("stack: bench\nregion: us-east-1\n{repositories}{roles}{connectors}{scaling}{services}")
}

fn applied_state(stack: &Stack) -> Snapshot {
    let key = DigestKey::from_bytes([3; 32]);
    let mut snapshot = Snapshot::with_identity(Lineage::new("bench"), key.clone());
    let resources = desired(stack);
    let graph = Graph::from_desired(&resources);
    let by_address: BTreeMap<_, _> = resources.iter().map(|r| (r.address.clone(), r)).collect();
    let mut known = BTreeMap::new();
    for address in graph.topological() {
        let resource = by_address[&address];
        let resolved = resolve_references(&resource.attributes, &known);
        let arn = format!("arn:aws:fake:{address}");
        let mut outputs = BTreeMap::new();
        outputs.insert("arn".to_string(), json!(arn));
        outputs.insert(
            "uri".to_string(),
            json!(format!(
                "111122223333.dkr.ecr.us-east-1.amazonaws.com/{}",
                resource.name
            )),
        );
        snapshot
            .resources
            .push(recorded(resource, &resolved, &arn, outputs.clone(), &key));
        known.insert(address, Some(outputs));
    }
    snapshot.serial = 1;
    snapshot
}

/// Median of `runs` timings of `f`.
fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn reset_peak() {
    // Linux: writing 5 resets the peak resident set size (VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    let quick =
        std::env::args().any(|a| a == "--test") || std::env::var_os("APPRUN_BENCH_QUICK").is_some();
    println!(
        "apprun planner benchmark (median of runs; ratio = time / parse time of the same YAML)\n"
    );
    println!(
        "{:>9} {:>11} {:>22} {:>22} {:>22} {:>22} {:>10}",
        "resources",
        "parse",
        "validate",
        "plan (empty state)",
        "plan (no-op)",
        "plan (1 change)",
        "peak MiB"
    );
    for groups in [10usize, 100, 500] {
        if quick && groups > 10 {
            break;
        }
        let runs = if groups >= 500 { 5 } else { 15 };
        let text = stack_text(groups);
        let changed = text.replacen("max_size: 5", "max_size: 6", 1);
        let stack = apprun_schema::load(&text, &VarInputs::new()).unwrap();
        let changed_stack = apprun_schema::load(&changed, &VarInputs::new()).unwrap();
        let state = applied_state(&stack);
        let digest = stack_digest(&text, &stack);
        let options = PlanOptions::default();
        reset_peak();
        let parse = time(runs, || {
            black_box(apprun_schema::node::parse(&text).unwrap());
        });
        let validate = time(runs, || {
            black_box(apprun_schema::load(&text, &VarInputs::new()).unwrap());
        });
        let run_plan = |stack: &Stack, state: Option<&Snapshot>| {
            plan(PlanInput {
                stack,
                target: apprun_engine::Target::Aws,
                state,
                observed: None,
                options: &options,
                stack_digest: &digest,
            })
        };
        let empty = time(runs, || {
            black_box(run_plan(&stack, None));
        });
        let noop = time(runs, || {
            let p = run_plan(&stack, Some(&state));
            assert!(!p.has_changes());
            black_box(p);
        });
        let one = time(runs, || {
            let p = run_plan(&changed_stack, Some(&state));
            assert!(p.has_changes());
            black_box(p);
        });
        let peak = peak_rss_kib() / 1024;
        let ratio = |d: Duration| {
            format!(
                "{:>9.2?} ({:>5.2}x)",
                d,
                d.as_secs_f64() / parse.as_secs_f64()
            )
        };
        println!(
            "{:>9} {:>11.2?} {:>22} {:>22} {:>22} {:>22} {:>10}",
            groups * 6,
            parse,
            ratio(validate),
            ratio(empty),
            ratio(noop),
            ratio(one),
            peak
        );
        let full_plan = validate + noop;
        println!(
            "{{\"bench\":\"plan\",\"resources\":{},\"parse_s\":{:.6},\"validate_plus_noop_plan_s\":{:.6},\"ratio_to_parse\":{:.2}}}",
            groups * 6,
            parse.as_secs_f64(),
            full_plan.as_secs_f64(),
            full_plan.as_secs_f64() / parse.as_secs_f64()
        );
    }
}
