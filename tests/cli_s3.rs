//! Team state on S3 through the real binary (moto's S3 and the App Runner
//! emulator): one stack applied from one checkout is known to another;
//! two writers at once get one holder and one refusal naming it; pull
//! request previews keep apart; a missing bucket is one clear error.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod aws_support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use apprun_state::Storage;
use aws_support::fault_proxy::{FaultProxy, S3Fault};
use aws_support::{World, python, text};

const BUCKET: &str = "team-state";

/// A stack of one service whose state is in the team bucket.
fn stack(name: &str) -> String {
    format!(
        "stack: {name}\nregion: us-east-1\nstate:\n  backend: s3\n  bucket: {BUCKET}\n  key: \"stacks/{name}.json\"\nservices:\n  web:\n    image: public.ecr.aws/nginx/nginx:latest\n"
    )
}

fn make_bucket(w: &World) {
    python(
        "import boto3, json, sys\n\
         s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n\
         s3.create_bucket(Bucket=sys.argv[2])\n\
         print(json.dumps({}))",
        &[&w.moto.url(), BUCKET],
    );
}

/// Writes `text` as `apprun.yaml` in a new checkout folder `name`.
fn checkout(w: &World, name: &str, text: &str) -> PathBuf {
    let dir = w.dir.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("apprun.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

fn run(w: &World, args: &[&str], file: &Path) -> Output {
    w.apprun().args(args).arg(file).output().unwrap()
}

fn expect(out: Output, code: i32) -> String {
    let all = text(&out);
    assert_eq!(out.status.code(), Some(code), "{all}");
    all
}

const APPLY: &[&str] = &["apply", "--target", "aws", "--auto-approve"];
const PLAN: &[&str] = &["plan", "--target", "aws", "--detailed-exitcode"];

#[test]
fn a_stack_applied_from_one_checkout_has_no_changes_from_another() {
    let w = World::new(50);
    make_bucket(&w);
    let first = checkout(&w, "alice", &stack("s3-shared"));
    let second = checkout(&w, "bob", &stack("s3-shared"));
    expect(run(&w, PLAN, &second), 2);
    expect(run(&w, APPLY, &first), 0);
    assert!(
        !first.parent().unwrap().join(".apprun").exists(),
        "no local state beside the stack"
    );
    let plan = expect(run(&w, PLAN, &second), 0);
    assert!(plan.contains("No changes"), "{plan}");
    let listed = expect(run(&w, &["state", "list", "--target", "aws"], &second), 0);
    assert!(listed.contains("services.web"), "{listed}");
    expect(
        run(
            &w,
            &["destroy", "--target", "aws", "--auto-approve"],
            &second,
        ),
        0,
    );
    let plan = expect(run(&w, PLAN, &first), 2);
    assert!(plan.contains("will be created"), "{plan}");
}

#[test]
fn a_second_writer_is_refused_at_once_naming_the_holder() {
    // Operations of 3 s: the first apply holds the lock while it waits.
    let w = World::new(3000);
    make_bucket(&w);
    let first = checkout(&w, "alice", &stack("s3-race"));
    let second = checkout(&w, "bob", &stack("s3-race"));
    let mut holder = w
        .apprun()
        .args(APPLY)
        .arg(&first)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the holder says it is creating, it holds the lock.
    let stderr = holder.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("creating") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the first apply never started creating");
    let started = std::time::Instant::now();
    let out = run(&w, APPLY, &second);
    let took = started.elapsed();
    let refused = (out.status.code() == Some(1)).then(|| text(&out));
    let status = holder.wait().unwrap();
    assert!(status.success(), "the holder's apply failed");
    assert!(
        took < Duration::from_secs(10),
        "refused at once, not after {took:?}"
    );
    let refused = refused.expect("the second apply was never refused");
    assert!(
        refused.contains("apply"),
        "the refusal names the holder's command: {refused}"
    );
    assert!(refused.contains("stacks/s3-race.json"), "{refused}");
    expect(
        run(
            &w,
            &["destroy", "--target", "aws", "--auto-approve"],
            &first,
        ),
        0,
    );
}

#[test]
fn pull_request_previews_keep_apart_and_destroying_one_leaves_the_other() {
    let w = World::new(50);
    make_bucket(&w);
    let text = format!(
        "stack: \"pv-${{var.pr}}\"\nregion: us-east-1\nvariables:\n  pr: {{}}\nstate:\n  backend: s3\n  bucket: {BUCKET}\n  key: \"previews/pr-${{var.pr}}.json\"\nservices:\n  web:\n    name: \"pv-${{var.pr}}-web\"\n    image: public.ecr.aws/nginx/nginx:latest\n"
    );
    let file = checkout(&w, "ci", &text);
    for pr in ["101", "102"] {
        expect(
            run(
                &w,
                &[APPLY, &["--var", &format!("pr={pr}")]].concat(),
                &file,
            ),
            0,
        );
    }
    expect(
        run(
            &w,
            &[
                "destroy",
                "--target",
                "aws",
                "--auto-approve",
                "--var",
                "pr=101",
            ],
            &file,
        ),
        0,
    );
    let plan = expect(run(&w, &[PLAN, &["--var", "pr=102"]].concat(), &file), 0);
    assert!(plan.contains("No changes"), "{plan}");
    let services: Vec<String> = w.snapshot("pv-")["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Status"] != "DELETED")
        .map(|s| s["ServiceName"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(services, ["pv-102-web"], "PR 102 is intact, PR 101 is gone");
    expect(
        run(
            &w,
            &[
                "destroy",
                "--target",
                "aws",
                "--auto-approve",
                "--var",
                "pr=102",
            ],
            &file,
        ),
        0,
    );
}

#[test]
fn a_missing_bucket_is_one_clear_error_naming_bucket_and_key() {
    let w = World::new(50);
    let file = checkout(&w, "nobucket", &stack("s3-missing"));
    let out = expect(run(&w, APPLY, &file), 1);
    assert!(out.contains(BUCKET), "{out}");
    assert!(out.contains("stacks/s3-missing.json"), "{out}");
    assert!(
        w.snapshot("s3-missing")["services"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was created"
    );
}

#[test]
fn state_migrates_to_s3_and_back_keeping_lineage_and_refuses_another_state() {
    let w = World::new(50);
    make_bucket(&w);
    let local = "stack: s3-move\nregion: us-east-1\nservices:\n  web:\n    image: public.ecr.aws/nginx/nginx:latest\n";
    let file = checkout(&w, "team", local);
    expect(run(&w, APPLY, &file), 0);
    let local_state = file
        .parent()
        .unwrap()
        .join(".apprun/s3-move.aws.state.json");
    let before = apprun_state::LocalStore::new(&local_state)
        .read()
        .unwrap()
        .unwrap();
    // The team moves the stack's state to S3.
    std::fs::write(&file, stack("s3-move")).unwrap();
    let moved = expect(
        run(
            &w,
            &["state", "migrate", "--from-local", "--target", "aws"],
            &file,
        ),
        0,
    );
    assert!(moved.contains("Copied the state: 1 resource(s)"), "{moved}");
    let fresh = checkout(&w, "fresh", &stack("s3-move"));
    let plan = expect(run(&w, PLAN, &fresh), 0);
    assert!(plan.contains("No changes"), "{plan}");
    // Back to a local file in another folder: same lineage and serial.
    let back = expect(
        run(
            &w,
            &["state", "migrate", "--to-local", "--target", "aws"],
            &fresh,
        ),
        0,
    );
    assert!(back.contains("Copied the state"), "{back}");
    let copied = apprun_state::LocalStore::new(
        fresh
            .parent()
            .unwrap()
            .join(".apprun/s3-move.aws.state.json"),
    )
    .read()
    .unwrap()
    .unwrap();
    assert_eq!(
        (copied.lineage.clone(), copied.serial),
        (before.lineage.clone(), before.serial)
    );

    // A local state of another lineage is never copied over S3's.
    let other = checkout(&w, "other", local);
    expect(
        run(
            &w,
            &["apply", "--target", "aws", "--auto-approve", "--no-refresh"],
            &other,
        ),
        0,
    );
    std::fs::write(&other, stack("s3-move")).unwrap();
    let refused = expect(
        run(
            &w,
            &["state", "migrate", "--from-local", "--target", "aws"],
            &other,
        ),
        1,
    );
    assert!(refused.contains("another state"), "{refused}");
    let plan = expect(run(&w, PLAN, &fresh), 0);
    assert!(
        plan.contains("No changes"),
        "S3 still holds the team's state: {plan}"
    );
    expect(
        run(
            &w,
            &["destroy", "--target", "aws", "--auto-approve"],
            &fresh,
        ),
        0,
    );
}

#[test]
fn a_stack_pointed_at_another_stacks_state_is_refused_and_nothing_is_written() {
    let w = World::new(50);
    make_bucket(&w);
    let shared = |name: &str| {
        format!(
            "stack: {name}\nregion: us-east-1\nstate:\n  backend: s3\n  bucket: {BUCKET}\n  key: shared.json\nservices:\n  web:\n    image: public.ecr.aws/nginx/nginx:latest\n"
        )
    };
    let first = checkout(&w, "first", &shared("s3-owner"));
    let second = checkout(&w, "second", &shared("s3-intruder"));
    expect(run(&w, APPLY, &first), 0);
    for args in [
        PLAN,
        APPLY,
        &["destroy", "--target", "aws", "--auto-approve"][..],
    ] {
        let refused = expect(run(&w, args, &second), 1);
        assert!(
            refused.contains("belongs to stack `s3-owner`, not `s3-intruder`"),
            "{args:?}: {refused}"
        );
    }
    let plan = expect(run(&w, PLAN, &first), 0);
    assert!(
        plan.contains("No changes"),
        "the owner's state is intact: {plan}"
    );
    let services = w.snapshot("s3-")["services"].as_array().unwrap().len();
    assert_eq!(services, 1, "the intruder created and deleted nothing");
    expect(
        run(
            &w,
            &["destroy", "--target", "aws", "--auto-approve"],
            &first,
        ),
        0,
    );
}

/// Applies stack `name` with every S3 request answered `fault`; the
/// failed apply's output.
fn apply_with_s3_fault(w: &World, name: &str, fault: S3Fault) -> String {
    make_bucket(w);
    let proxy = FaultProxy::start(&w.moto.url());
    proxy.fail_s3(fault);
    let file = checkout(w, name, &stack(name));
    let out = w
        .apprun()
        .env("AWS_ENDPOINT_URL_S3", proxy.url())
        .args(APPLY)
        .arg(&file)
        .output()
        .unwrap();
    expect(out, 1)
}

#[test]
fn access_denied_on_the_bucket_is_one_error_saying_what_the_credentials_need() {
    let w = World::new(50);
    let all = apply_with_s3_fault(&w, "s3-denied", S3Fault::AccessDenied);
    for needle in [
        BUCKET,
        "stacks/s3-denied.json",
        "us-east-1",
        "AccessDenied",
        "s3:PutObject",
    ] {
        assert!(all.contains(needle), "no `{needle}` in:\n{all}");
    }
    let services = w.snapshot("s3-denied")["services"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(services, 0, "nothing was created");
}

#[test]
fn a_bucket_in_another_region_is_one_error_saying_to_set_state_region() {
    let w = World::new(50);
    let all = apply_with_s3_fault(&w, "s3-elsewhere", S3Fault::PermanentRedirect);
    for needle in [
        BUCKET,
        "stacks/s3-elsewhere.json",
        "us-east-1",
        "state.region",
    ] {
        assert!(all.contains(needle), "no `{needle}` in:\n{all}");
    }
}
