//! Apply against the in-memory provider and a real local state store:
//! ordering, idempotence, failure isolation, replacements, ambiguous creates.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::sync::Arc;

use apprun_engine::apply::{ApplyOptions, ChangeOutcome, apply};
use apprun_engine::testing::{FakeFailure, FakeProvider};
use apprun_engine::{Action, PlanOptions, ProviderError};
use apprun_schema::Address;
use apprun_state::{Journal, LocalStore, Storage};
use support::*;

fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("shop.fake.state.json"));
    (dir, store)
}

fn position(calls: &[String], call: &str) -> usize {
    calls
        .iter()
        .position(|c| c.starts_with(call))
        .unwrap_or_else(|| panic!("no `{call}` in {calls:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_everything_in_dependency_order_and_records_it() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let canary = "c4n4ry-8f3a9d2e7b1c4f60a5e8d9b2c7f1e3a4";
    // The canary reaches env through a sensitive variable.
    let text = example("private-api")
        .replace(
            "variables:\n",
            &format!("variables:\n  canary:\n    sensitive: true\n    default: {canary}\n"),
        )
        .replace(
            "LOG_LEVEL: info",
            "LOG_LEVEL: info\n      CANARY: \"x-${var.canary}\"",
        );
    let (plan, report) =
        plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    assert_eq!(plan.summary.add, 8);
    assert!(report.succeeded(), "{report:#?}");
    let calls = provider.calls();
    let service = position(&calls, "create services.api");
    for dependency in [
        "create roles.api-access",
        "create roles.api-instance",
        "create autoscaling.steady",
        "create observability.traced",
        "create vpc_connectors.db",
        "create repositories.api",
    ] {
        assert!(
            position(&calls, dependency) < service,
            "{dependency} after the service: {calls:#?}"
        );
    }
    assert!(
        position(&calls, "create repositories.api") < position(&calls, "create roles.api-instance")
    );
    // The VPC ingress connection needs the service's ARN.
    assert!(service < position(&calls, "create vpc_ingress.api-in"));
    let state = store.read().unwrap().unwrap();
    assert_eq!(state.resources.len(), 8);
    assert!(state.pending.is_empty());
    let service = state.resource("services.api").unwrap();
    // References were resolved with the dependencies' real outputs.
    let sent = &provider.resources()[service.physical_id.as_ref().unwrap()].attributes;
    assert_eq!(
        sent["instance_role"],
        state.resource("roles.api-instance").unwrap().outputs["arn"]
    );
    // No secret value in the state file.
    let file = std::fs::read_to_string(store.path()).unwrap();
    assert!(
        !file.contains(canary),
        "a sensitive env value reached the state"
    );
    // A plain env value is recorded as it is; only sealed ones as digests.
    assert_eq!(service.attributes["env"]["LOG_LEVEL"], "info");
    assert!(apprun_engine::values::is_sealed(
        &service.attributes["env"]["CANARY"]
    ));
    assert!(
        !format!("{plan:?}").contains(canary),
        "an env value reached the plan"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_apply_makes_zero_mutating_calls() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let text = example("private-api");
    plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    let before = provider.mutating_calls();
    let (plan, report) =
        plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    assert!(!plan.has_changes(), "{plan:#?}");
    assert!(report.results.is_empty());
    assert_eq!(provider.mutating_calls(), before);
    println!(
        "{{\"row\":\"T14\",\"mutating_calls_on_reapply\":{}}}",
        provider.mutating_calls() - before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_skips_dependents_and_independent_branches_go_on() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let instance = Address::parse("roles.api-instance").unwrap();
    provider.fail(
        "create",
        &instance,
        FakeFailure::Error(ProviderError::Invalid {
            operation: "CreateRole".into(),
            message: "MalformedPolicyDocument".into(),
        }),
    );
    let (_, report) = plan_and_apply(
        &example("private-api"),
        &store,
        provider.clone(),
        &PlanOptions::default(),
    )
    .await;
    assert!(!report.succeeded());
    let outcome = |a: &str| {
        report
            .results
            .iter()
            .find(|(addr, _, _)| addr.to_string() == a)
            .map(|(_, _, o)| o.clone())
            .unwrap()
    };
    assert!(matches!(
        outcome("roles.api-instance"),
        ChangeOutcome::Failed(_)
    ));
    assert_eq!(
        outcome("services.api"),
        ChangeOutcome::Skipped {
            because: instance.clone()
        }
    );
    assert_eq!(outcome("autoscaling.steady"), ChangeOutcome::Done);
    assert_eq!(outcome("vpc_connectors.db"), ChangeOutcome::Done);
    let state = store.read().unwrap().unwrap();
    assert!(state.resource("services.api").is_none());
    assert!(state.resource("autoscaling.steady").is_some());
    assert!(
        state.pending.is_empty(),
        "a definite failure leaves no pending op"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_autoscaling_change_creates_the_new_revision_repoints_then_deletes_the_old() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let text = example("private-api");
    plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    let old_id = store
        .read()
        .unwrap()
        .unwrap()
        .resource("autoscaling.steady")
        .unwrap()
        .physical_id
        .clone()
        .unwrap();
    let changed = text.replace("max_size: 10", "max_size: 12");
    let start = provider.calls().len();
    let (plan, report) =
        plan_and_apply(&changed, &store, provider.clone(), &PlanOptions::default()).await;
    assert!(report.succeeded(), "{report:#?}");
    let asc = plan
        .changes
        .iter()
        .find(|c| c.address.to_string() == "autoscaling.steady")
        .unwrap();
    assert_eq!(asc.action, Action::Replace);
    let calls: Vec<String> = provider.calls()[start..].to_vec();
    let create = position(&calls, "create autoscaling.steady");
    let update = position(&calls, "update services.api");
    let delete = position(&calls, "delete autoscaling.steady");
    assert!(create < update && update < delete, "{calls:#?}");
    let state = store.read().unwrap().unwrap();
    let new_id = state
        .resource("autoscaling.steady")
        .unwrap()
        .physical_id
        .clone()
        .unwrap();
    assert_ne!(new_id, old_id);
    assert!(
        !provider.resources().contains_key(&old_id),
        "old revision still there"
    );
    assert!(state.pending.is_empty());
    let service = state.resource("services.api").unwrap();
    assert_eq!(
        provider.resources()[service.physical_id.as_ref().unwrap()].attributes["autoscaling"],
        serde_json::json!(new_id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observability_change_is_a_new_revision_and_the_default_flag_changes_in_place() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let text = example("private-api");
    plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    // Observability: immutable revisions, created before the old one goes.
    let untraced = text.replace("    tracing: awsxray\n", "    tags: { tracing: off }\n");
    assert_ne!(untraced, text);
    let start = provider.calls().len();
    let (plan, report) =
        plan_and_apply(&untraced, &store, provider.clone(), &PlanOptions::default()).await;
    assert!(report.succeeded(), "{report:#?}");
    let change = |plan: &apprun_engine::plan::Plan, address: &str| {
        plan.changes
            .iter()
            .find(|c| c.address.to_string() == address)
            .map(|c| c.action)
    };
    assert_eq!(change(&plan, "observability.traced"), Some(Action::Replace));
    let calls: Vec<String> = provider.calls()[start..].to_vec();
    let create = position(&calls, "create observability.traced");
    let repoint = position(&calls, "update services.api");
    let delete = position(&calls, "delete observability.traced");
    assert!(create < repoint && repoint < delete, "{calls:#?}");
    // `default: true` on an existing configuration is an update, not a
    // new revision.
    let default = untraced.replace(
        "    max_concurrency: 50\n",
        "    max_concurrency: 50\n    default: true\n",
    );
    assert_ne!(default, untraced);
    let (plan, report) =
        plan_and_apply(&default, &store, provider.clone(), &PlanOptions::default()).await;
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(change(&plan, "autoscaling.steady"), Some(Action::Update));
    assert_eq!(plan.summary.change, 1, "{:#?}", plan.changes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_deletes_dependents_first() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let text = example("private-api");
    plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    let start = provider.calls().len();
    let destroy = PlanOptions {
        destroy: true,
        ..PlanOptions::default()
    };
    let (_, report) = plan_and_apply(&text, &store, provider.clone(), &destroy).await;
    assert!(report.succeeded(), "{report:#?}");
    let calls: Vec<String> = provider.calls()[start..].to_vec();
    let service = position(&calls, "delete services.api");
    // App Runner refuses to delete a service with an available VPC ingress
    // connection: the connection goes first.
    assert!(position(&calls, "delete vpc_ingress.api-in") < service);
    for dependency in [
        "delete roles.api-instance",
        "delete autoscaling.steady",
        "delete observability.traced",
        "delete vpc_connectors.db",
        "delete repositories.api",
    ] {
        assert!(service < position(&calls, dependency), "{calls:#?}");
    }
    assert!(
        position(&calls, "delete roles.api-instance") < position(&calls, "delete repositories.api")
    );
    assert!(provider.resources().is_empty());
    assert!(store.read().unwrap().unwrap().resources.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delete_keeps_what_it_depends_on() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let text = example("private-api");
    plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    provider.fail(
        "delete",
        &Address::parse("services.api").unwrap(),
        FakeFailure::Error(ProviderError::Transient {
            operation: "DeleteService".into(),
            message: "503".into(),
        }),
    );
    let destroy = PlanOptions {
        destroy: true,
        ..PlanOptions::default()
    };
    let (_, report) = plan_and_apply(&text, &store, provider.clone(), &destroy).await;
    assert!(!report.succeeded());
    let state = store.read().unwrap().unwrap();
    // Everything the service uses is still there and still recorded (T19).
    for address in [
        "services.api",
        "roles.api-instance",
        "roles.api-access",
        "autoscaling.steady",
        "vpc_connectors.db",
        "repositories.api",
    ] {
        assert!(
            state.resource(address).is_some(),
            "{address} was deleted under a live service"
        );
    }
    println!("{{\"row\":\"T19\",\"dependency_order_violations\":0}}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_create_is_reconciled_without_a_duplicate() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    provider.fail(
        "create",
        &Address::parse("services.web").unwrap(),
        FakeFailure::CommitThenAmbiguous,
    );
    let (_, report) = plan_and_apply(
        &example("hello"),
        &store,
        provider.clone(),
        &PlanOptions::default(),
    )
    .await;
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(provider.resources().len(), 1);
    let state = store.read().unwrap().unwrap();
    assert!(state.resource("services.web").is_some());
    assert!(state.pending.is_empty());
}

/// Every change reports when it starts and, once done, how long it took
/// (Terraform's "Creating..." / "Creation complete after 2s"), through the
/// progress callback the CLI prints.
#[tokio::test]
async fn progress_reports_each_change_starting_and_done() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let text = example("private-api");
    let storage: &dyn Storage = &store;
    let mut journal = Journal::open(storage).unwrap();
    let plan = make_plan(&text, storage, &PlanOptions::default());
    let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = lines.clone();
    let options = ApplyOptions {
        progress: Arc::new(move |address, message| {
            sink.lock().unwrap().push(format!("{address}: {message}"));
        }),
        ..options()
    };
    let report = apply(&plan, &stack(&text), provider, &mut journal, options)
        .await
        .unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let lines = lines.lock().unwrap().clone();
    for (address, _, _) in &report.results {
        let starting = lines
            .iter()
            .position(|l| *l == format!("{address}: creating..."));
        let done = lines
            .iter()
            .position(|l| l.starts_with(&format!("{address}: created after ")) && l.ends_with('s'));
        assert!(
            matches!((starting, done), (Some(s), Some(d)) if s < d),
            "{address}: {lines:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_whose_old_resource_cannot_be_deleted_fails_and_the_next_apply_deletes_it() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let text = example("private-api");
    plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    let asc = Address::parse("autoscaling.steady").unwrap();
    let old_id = store
        .read()
        .unwrap()
        .unwrap()
        .resource("autoscaling.steady")
        .unwrap()
        .physical_id
        .clone()
        .unwrap();
    provider.fail(
        "delete",
        &asc,
        FakeFailure::Error(ProviderError::Invalid {
            operation: "DeleteAutoScalingConfiguration".into(),
            message: "InvalidRequestException: the configuration is in use".into(),
        }),
    );
    let changed = text.replace("max_size: 10", "max_size: 12");
    let (_, report) =
        plan_and_apply(&changed, &store, provider.clone(), &PlanOptions::default()).await;
    assert!(
        !report.succeeded(),
        "a failed clean-up is not a success: {report:#?}"
    );
    let outcome = report
        .results
        .iter()
        .find(|(a, _, _)| *a == asc)
        .map(|(_, _, o)| o.clone())
        .unwrap();
    let ChangeOutcome::Failed(error) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(error.to_string().contains("in use"), "{error}");
    let state = store.read().unwrap().unwrap();
    assert_eq!(
        state.pending.len(),
        1,
        "the old revision stays a pending delete"
    );
    assert!(provider.resources().contains_key(&old_id));

    provider.heal("delete", &asc);
    let (plan, report) =
        plan_and_apply(&changed, &store, provider.clone(), &PlanOptions::default()).await;
    assert!(report.succeeded(), "{report:#?}");
    assert!(!plan.has_changes(), "{plan:#?}");
    assert!(store.read().unwrap().unwrap().pending.is_empty());
    assert!(
        !provider.resources().contains_key(&old_id),
        "the old revision was deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_a_service_and_its_autoscaling_together_deletes_the_old_autoscaling_last() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let text = example("private-api");
    plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    // A new name replaces the service create-before-destroy; a new
    // maximum replaces the configuration the old service still uses.
    let changed = text
        .replace("max_size: 10", "max_size: 12")
        .replace("  api:\n    image:", "  api:\n    name: api-v2\n    image:");
    let start = provider.calls().len();
    let (plan, report) =
        plan_and_apply(&changed, &store, provider.clone(), &PlanOptions::default()).await;
    assert!(report.succeeded(), "{report:#?}");
    let service = plan
        .changes
        .iter()
        .find(|c| c.address.to_string() == "services.api")
        .unwrap();
    assert_eq!(service.action, Action::Replace, "{service:#?}");
    let calls: Vec<String> = provider.calls()[start..].to_vec();
    let old_service_gone = position(&calls, "delete services.api");
    let old_asc_gone = position(&calls, "delete autoscaling.steady");
    assert!(
        old_service_gone < old_asc_gone,
        "the old configuration went while the old service used it: {calls:#?}"
    );
}

/// A state written when every `env` value was sealed plans no change for
/// values the stack now shows (their digests match), and the next change
/// records them in clear; a changed sensitive value stays sealed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_with_every_env_value_sealed_plans_no_change() {
    use apprun_engine::kinds::rules;
    use apprun_engine::values::{is_sealed, seal_with};
    use apprun_schema::Kind;
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let text = example("private-api");
    plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    let mut state = store.read().unwrap().unwrap();
    let key = state.digest_key.clone();
    let service = state
        .resources
        .iter_mut()
        .find(|r| r.address == "services.api")
        .unwrap();
    let all = ["env.APP_ENV".to_string(), "env.LOG_LEVEL".to_string()].into();
    service.attributes = seal_with(&rules(Kind::Service), &service.attributes, &key, &all);
    assert!(is_sealed(&service.attributes["env"]["LOG_LEVEL"]));
    let generation = store.read().unwrap().unwrap().generation();
    state.serial += 1;
    store.write(&state, Some(&generation)).unwrap();

    let plan = make_plan(&text, &store, &PlanOptions::default());
    assert!(!plan.has_changes(), "{plan:#?}");

    let changed = text.replace("LOG_LEVEL: info", "LOG_LEVEL: debug");
    let plan = make_plan(&changed, &store, &PlanOptions::default());
    let rendered = apprun_engine::render::text::render(&plan, false);
    assert!(
        rendered.contains("env.LOG_LEVEL = (sensitive value) -> \"debug\""),
        "{rendered}"
    );
}

/// Drift compares what was read with the record sealed the same way: a
/// value from a sensitive variable that changed out of band is reported
/// sealed, never in clear; a plain env value is reported as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_keeps_sensitive_env_values_sealed_and_shows_plain_ones() {
    use apprun_engine::drift::{ReadResult, Verdict, drift};
    use apprun_engine::provider::Observed;
    use apprun_engine::values::is_sealed;
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let canary = "dr1ft-c4n4ry-5e8d9b2c7f1e3a4";
    let text = example("private-api")
        .replace(
            "variables:\n",
            "variables:\n  token:\n    sensitive: true\n    default: first\n",
        )
        .replace(
            "LOG_LEVEL: info",
            "LOG_LEVEL: info\n      TOKEN: \"${var.token}\"",
        );
    plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    let state = store.read().unwrap().unwrap();
    let record = state.resource("services.api").unwrap();
    let mut seen = record.attributes.clone();
    seen["env"]["TOKEN"] = serde_json::json!(canary);
    seen["env"]["LOG_LEVEL"] = serde_json::json!("debug");
    let read = ReadResult::Present(Observed {
        attributes: seen,
        outputs: record.outputs.clone(),
        failed: None,
    });
    let report = drift(
        &state,
        "private-api",
        apprun_engine::Target::Aws,
        vec![("services.api".to_string(), read)],
    );
    let service = &report.resources[0];
    assert_eq!(service.status, Verdict::Modified);
    let token = service
        .properties
        .iter()
        .find(|p| p.property == "env.TOKEN")
        .unwrap();
    assert!(token.actual.as_ref().is_some_and(is_sealed), "{token:?}");
    let level = service
        .properties
        .iter()
        .find(|p| p.property == "env.LOG_LEVEL")
        .unwrap();
    assert_eq!(level.actual, Some(serde_json::json!("debug")));
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains(canary), "{json}");
    assert!(!format!("{report:?}").contains(canary));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_create_that_cannot_be_settled_yet_blocks_only_its_own_address() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let text = example("private-api");
    // An earlier run was killed while creating the repository.
    {
        let storage: &dyn Storage = &store;
        let mut journal = Journal::open(storage).unwrap();
        let mut op =
            apprun_state::PendingOp::new("repositories.api", apprun_state::PendingAction::Create)
                .unwrap();
        op.detail = serde_json::json!({ "name": "private-api-api" });
        journal.begin(op).unwrap();
    }
    let repository = Address::parse("repositories.api").unwrap();
    let unreachable = ProviderError::Transient {
        operation: "DescribeRepositories".into(),
        message: "503".into(),
    };
    provider.fail("find", &repository, FakeFailure::Error(unreachable));
    let (_, report) =
        plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    let outcome = report
        .results
        .iter()
        .find(|(a, _, _)| *a == repository)
        .map(|(_, _, o)| o.clone())
        .unwrap();
    assert!(
        matches!(&outcome, ChangeOutcome::Failed(e) if e.to_string().contains("could not be settled")),
        "{outcome:?}"
    );
    let state = store.read().unwrap().unwrap();
    assert_eq!(
        state.pending.len(),
        1,
        "only the unsettled create stays pending"
    );
    assert!(
        !provider
            .calls()
            .iter()
            .any(|c| c == "create repositories.api"),
        "no second create beside the unsettled one: {:#?}",
        provider.calls()
    );
    assert!(
        state.resource("autoscaling.steady").is_some(),
        "the rest went on"
    );

    // Once the target answers, the next apply settles it and converges.
    provider.heal("find", &repository);
    let (_, report) =
        plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    assert!(report.succeeded(), "{report:#?}");
    assert!(store.read().unwrap().unwrap().pending.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_without_autoscaling_come_after_the_stacks_default_and_go_before_it() {
    let (_dir, store) = store();
    let provider = Arc::new(FakeProvider::new());
    let text = example("custom-domain");
    plan_and_apply(&text, &store, provider.clone(), &PlanOptions::default()).await;
    let calls = provider.calls();
    assert!(
        position(&calls, "create autoscaling.house") < position(&calls, "create services.web"),
        "the service must be created under the stack's default: {calls:#?}"
    );
    let start = calls.len();
    let destroy = PlanOptions {
        destroy: true,
        ..PlanOptions::default()
    };
    let (_, report) = plan_and_apply(&text, &store, provider.clone(), &destroy).await;
    assert!(report.succeeded(), "{report:#?}");
    let calls: Vec<String> = provider.calls()[start..].to_vec();
    assert!(
        position(&calls, "delete services.web") < position(&calls, "delete autoscaling.house"),
        "App Runner refuses to delete a configuration a service uses: {calls:#?}"
    );
}
