//! The engine's operations (`apprun_engine::ops`) end to end over the
//! in-memory provider and a real local state store: what each workflow
//! does, what it asks its hooks, and what it refuses.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::sync::{Arc, Mutex};

use apprun_engine::drift::Verdict;
use apprun_engine::ops::apply::{ApplyOutcome, ApplyRequest};
use apprun_engine::ops::refresh::Refreshed;
use apprun_engine::ops::{self, Approval, Hooks, Offline, OpError, Workspace};
use apprun_engine::provider::Progress;
use apprun_engine::testing::{FakeFailure, FakeProvider};
use apprun_engine::{Plan, PlanOptions, Provider, ProviderError, Target};
use apprun_schema::{Address, Kind, Stack};
use apprun_state::{LocalStore, LockRequest, Locker, StateStore, Storage};
use support::{example, stack};

/// Hooks that record what the operation asked and answer as scripted.
struct Recorder {
    approve: Approval,
    asked: Mutex<Vec<String>>,
}

impl Recorder {
    fn answering(approve: Approval) -> Self {
        Self {
            approve,
            asked: Mutex::new(Vec::new()),
        }
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl Hooks for Recorder {
    fn notice(&self, message: &str) {
        self.asked.lock().unwrap().push(format!("notice {message}"));
    }

    fn progress(&self) -> Progress {
        Arc::new(|_, _| {})
    }

    fn show_plan(&self, plan: &Plan) -> Result<(), OpError> {
        let line = format!("show {} changes", plan.changes.len());
        self.asked.lock().unwrap().push(line);
        Ok(())
    }

    fn approve(&self, _plan: &Plan) -> Result<Approval, OpError> {
        self.asked.lock().unwrap().push("approve".to_string());
        Ok(self.approve)
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    text: String,
    stack: Stack,
    store: LocalStore,
}

impl Fixture {
    fn new(text: String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("shop.aws.state.json"));
        Self {
            _dir: dir,
            stack: stack(&text),
            text,
            store,
        }
    }

    fn ws(&self) -> Workspace<'_> {
        let store: &dyn StateStore = &self.store;
        Workspace {
            stack: &self.stack,
            text: &self.text,
            file: "apprun.yaml",
            target: Target::Aws,
            store,
            version: "test",
        }
    }
}

fn request(destroy: bool) -> ApplyRequest {
    ApplyRequest {
        options: PlanOptions {
            destroy,
            ..PlanOptions::default()
        },
        saved: None,
        refresh: true,
        parallelism: 4,
        lock_timeout: None,
        stop: Box::new(|| tokio::sync::watch::channel(false).1),
    }
}

async fn apply(
    fixture: &Fixture,
    provider: &Arc<FakeProvider>,
    hooks: &Recorder,
) -> Result<ApplyOutcome, OpError> {
    ops::apply::apply(&fixture.ws(), provider.clone(), request(false), hooks).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_shows_asks_applies_and_resolves_outputs_then_has_nothing_to_do() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    let hooks = Recorder::answering(Approval::Approved);
    let ApplyOutcome::Applied { report, outputs } =
        apply(&fixture, &provider, &hooks).await.unwrap()
    else {
        panic!("the first apply had changes");
    };
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(hooks.asked(), ["show 8 changes", "approve"]);
    assert!(!outputs.is_empty(), "private-api declares outputs");
    assert!(outputs.iter().all(|o| o.value.is_some()), "{outputs:#?}");
    assert_eq!(fixture.store.read().unwrap().unwrap().resources.len(), 8);

    let again = Recorder::answering(Approval::Approved);
    let calls = provider.mutating_calls();
    let outcome = apply(&fixture, &provider, &again).await.unwrap();
    assert!(matches!(outcome, ApplyOutcome::NoChanges), "{outcome:#?}");
    assert_eq!(again.asked(), ["show 0 changes"], "nothing to approve");
    assert_eq!(provider.mutating_calls(), calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_apply_changes_nothing_and_releases_the_lock() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    let hooks = Recorder::answering(Approval::Declined);
    let outcome = apply(&fixture, &provider, &hooks).await.unwrap();
    assert!(matches!(outcome, ApplyOutcome::Declined));
    assert_eq!(provider.mutating_calls(), 0);
    assert!(fixture.store.read().unwrap().is_none(), "no state written");
    let lock = fixture.store.lock(&LockRequest::new("next"));
    assert!(lock.is_ok(), "the lock was released: {lock:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_refuses_apply_before_any_call() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    let _held = fixture.store.lock(&LockRequest::new("other")).unwrap();
    let hooks = Recorder::answering(Approval::Approved);
    let error = apply(&fixture, &provider, &hooks).await.unwrap_err();
    assert!(matches!(error, OpError::Lock(_)), "{error:?}");
    assert!(provider.calls().is_empty());
    assert!(hooks.asked().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_removes_everything_it_recorded() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    let hooks = Recorder::answering(Approval::Approved);
    apply(&fixture, &provider, &hooks).await.unwrap();
    // Whatever the caller passes, destroy destroys.
    let outcome = ops::destroy::destroy(&fixture.ws(), provider.clone(), request(false), &hooks)
        .await
        .unwrap();
    let ApplyOutcome::Applied { report, outputs } = outcome else {
        panic!("destroy had changes");
    };
    assert!(report.succeeded(), "{report:#?}");
    assert!(outputs.is_empty(), "no outputs after a destroy");
    assert!(
        provider.resources().is_empty(),
        "{:#?}",
        provider.resources()
    );
    assert!(fixture.store.read().unwrap().unwrap().resources.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_plan_refuses_an_address_neither_declared_nor_recorded() {
    let fixture = Fixture::new(example("private-api"));
    let options = PlanOptions {
        targets: vec![Address::parse("services.nope").unwrap()],
        ..PlanOptions::default()
    };
    let error = ops::plan::plan::<Offline>(&fixture.ws(), &options, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, OpError::NotInState { address } if address == "services.nope"),
        "{error:?}"
    );
    let plan = ops::plan::plan::<Offline>(&fixture.ws(), &PlanOptions::default(), None)
        .await
        .unwrap();
    assert_eq!(plan.summary.add, 8);
    assert_eq!(plan.target, Target::Aws);
}

/// Deletes the resource recorded at `address` behind apprun's back.
async fn delete_out_of_band(fixture: &Fixture, provider: &FakeProvider, address: &str) {
    let state = fixture.store.read().unwrap().unwrap();
    let record = state.resource(address).unwrap();
    let kind = Address::parse(address).unwrap().kind;
    let id = record.physical_id.clone().unwrap();
    provider
        .delete(kind, &id, &serde_json::Value::Null, Arc::new(|_, _| {}))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_sees_a_deletion_and_refresh_records_it() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    let hooks = Recorder::answering(Approval::Approved);
    apply(&fixture, &provider, &hooks).await.unwrap();
    let report = ops::drift::drift(&fixture.ws(), provider.clone())
        .await
        .unwrap();
    assert!(!report.drifted(), "{report:#?}");
    delete_out_of_band(&fixture, &provider, "repositories.api").await;
    let serial = fixture.store.read().unwrap().unwrap().serial;
    let report = ops::drift::drift(&fixture.ws(), provider.clone())
        .await
        .unwrap();
    let deleted: Vec<&str> = report
        .resources
        .iter()
        .filter(|r| r.status == Verdict::Deleted)
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(deleted, ["repositories.api"]);
    assert_eq!(
        fixture.store.read().unwrap().unwrap().serial,
        serial,
        "drift never writes state"
    );
    let refreshed = ops::refresh::refresh(&fixture.ws(), provider.clone(), &hooks)
        .await
        .unwrap();
    assert_eq!(
        refreshed.changes,
        [Refreshed::Removed("repositories.api".into())]
    );
    let state = fixture.store.read().unwrap().unwrap();
    assert!(state.resource("repositories.api").is_none());
    assert!(
        state
            .resources
            .iter()
            .all(|r| !r.dependencies.iter().any(|d| d == "repositories.api")),
        "no dependency on the removed record is left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_adopts_a_declared_resource_once() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    let hooks = Recorder::answering(Approval::Approved);
    apply(&fixture, &provider, &hooks).await.unwrap();
    let id = fixture
        .store
        .read()
        .unwrap()
        .unwrap()
        .resource("roles.api-access")
        .and_then(|r| r.physical_id.clone())
        .unwrap();
    ops::state::remove(&fixture.ws(), "roles.api-access", &hooks).unwrap();
    assert!(
        !ops::state::list(&fixture.ws())
            .unwrap()
            .contains(&"roles.api-access".into())
    );

    let imported = ops::import::import(
        &fixture.ws(),
        provider.clone(),
        "roles.api-access",
        &id,
        &hooks,
    )
    .await
    .unwrap();
    assert_eq!(imported.physical_id, id);
    assert!(
        ops::state::list(&fixture.ws())
            .unwrap()
            .contains(&"roles.api-access".into())
    );
    // `state rm` took it out of the service's dependencies; the import puts
    // it back, so destroy deletes the service first again.
    let state = fixture.store.read().unwrap().unwrap();
    assert!(
        state
            .resource("services.api")
            .unwrap()
            .dependencies
            .contains(&"roles.api-access".to_string()),
        "{:#?}",
        state.resource("services.api")
    );

    let twice = ops::import::import(
        &fixture.ws(),
        provider.clone(),
        "roles.api-access",
        &id,
        &hooks,
    )
    .await
    .unwrap_err();
    assert!(matches!(twice, OpError::AlreadyInState { .. }), "{twice:?}");
    let undeclared =
        ops::import::import(&fixture.ws(), provider.clone(), "roles.ghost", &id, &hooks)
            .await
            .unwrap_err();
    assert!(
        matches!(undeclared, OpError::NotDeclared { .. }),
        "{undeclared:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_are_unknown_before_apply_and_found_by_name_after() {
    let fixture = Fixture::new(example("private-api"));
    let before = ops::output::outputs(&fixture.ws()).unwrap();
    assert!(!before.is_empty());
    assert!(before.iter().all(|o| o.value.is_none()), "{before:#?}");
    let provider = Arc::new(FakeProvider::new());
    apply(
        &fixture,
        &provider,
        &Recorder::answering(Approval::Approved),
    )
    .await
    .unwrap();
    let after = ops::output::outputs(&fixture.ws()).unwrap();
    let first = &after[0];
    assert_eq!(ops::output::find(&after, &first.name).unwrap(), first);
    let missing = ops::output::find(&after, "nope").unwrap_err();
    assert!(
        matches!(&missing, OpError::UnknownOutput { defined, .. } if defined.contains(&first.name)),
        "{missing:?}"
    );
}

#[test]
fn addresses_are_parsed_or_named_as_invalid() {
    let parsed = ops::addresses(&["services.web".to_string()]).unwrap();
    assert_eq!(parsed[0].kind, Kind::Service);
    let error = ops::addresses(&["web".to_string()]).unwrap_err();
    assert!(matches!(&error, OpError::InvalidAddress { address } if address == "web"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_cannot_read_a_resource_fails_instead_of_planning_no_changes() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    apply(
        &fixture,
        &provider,
        &Recorder::answering(Approval::Approved),
    )
    .await
    .unwrap();
    provider.fail(
        "read",
        &Address::parse("roles.api-access").unwrap(),
        FakeFailure::Error(ProviderError::Transient {
            operation: "GetRole".into(),
            message: "connection refused".into(),
        }),
    );
    let error = ops::plan::plan(
        &fixture.ws(),
        &PlanOptions::default(),
        Some(provider.clone()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, OpError::NotRead { count: 1, details } if details.starts_with("roles.api-access: GetRole")),
        "{error:?}"
    );
    let hooks = Recorder::answering(Approval::Approved);
    let calls = provider.mutating_calls();
    let error = apply(&fixture, &provider, &hooks).await.unwrap_err();
    assert!(matches!(error, OpError::NotRead { .. }), "{error:?}");
    assert!(
        hooks.asked().is_empty(),
        "no plan shown: {:?}",
        hooks.asked()
    );
    assert_eq!(provider.mutating_calls(), calls, "nothing changed");
}

#[test]
fn a_plan_without_state_says_so_instead_of_matching_it() {
    let fixture = Fixture::new(example("private-api"));
    let options = PlanOptions {
        destroy: true,
        ..PlanOptions::default()
    };
    let plan = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(ops::plan::plan::<Offline>(&fixture.ws(), &options, None))
        .unwrap();
    assert!(!plan.has_changes());
    let text = apprun_engine::render::text::render(&plan, false);
    assert!(text.contains("has no state here"), "{text}");
    assert!(!text.contains("matches its state"), "{text}");
}

/// Applies and returns the report; panics when there was nothing to apply.
async fn applied(
    fixture: &Fixture,
    provider: &Arc<FakeProvider>,
    hooks: &Recorder,
) -> apprun_engine::apply::ApplyReport {
    match apply(fixture, provider, hooks).await.unwrap() {
        ApplyOutcome::Applied { report, .. } => report,
        other => panic!("expected changes to apply: {other:?}"),
    }
}

/// The one change of `report` at `address`.
fn outcome_of(
    report: &apprun_engine::apply::ApplyReport,
    address: &str,
) -> apprun_engine::apply::ChangeOutcome {
    report
        .results
        .iter()
        .find(|(a, _, _)| a.to_string() == address)
        .map(|(_, _, o)| o.clone())
        .unwrap_or_else(|| panic!("no {address} in {report:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_follow_up_leaves_the_resource_recorded_as_incomplete_and_the_next_apply_finishes_it()
 {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    let role = Address::parse("roles.api-instance").unwrap();
    let cause = ProviderError::Invalid {
        operation: "AttachRolePolicy arn:aws:iam::aws:policy/AmazonS3ReadOnlyAcess".into(),
        message: "NoSuchEntity: Policy does not exist".into(),
    };
    provider.fail("create", &role, FakeFailure::FollowUpFails(cause.clone()));
    let hooks = Recorder::answering(Approval::Approved);
    let report = applied(&fixture, &provider, &hooks).await;
    assert_eq!(
        outcome_of(&report, "roles.api-instance"),
        apprun_engine::apply::ChangeOutcome::Failed(cause),
        "the real cause, not `not found`"
    );
    let state = fixture.store.read().unwrap().unwrap();
    let record = state.resource("roles.api-instance").expect("recorded");
    let reason = record
        .incomplete
        .as_deref()
        .expect("recorded as incomplete");
    assert!(reason.contains("AmazonS3ReadOnlyAcess"), "{reason}");
    assert!(state.pending.is_empty(), "{:#?}", state.pending);
    let live_roles =
        |p: &FakeProvider| p.resources().values().filter(|r| r.address == role).count();
    assert_eq!(live_roles(&provider), 1);

    // The next apply finishes it in place: an update, never a second create.
    let plan = ops::plan::plan(
        &fixture.ws(),
        &PlanOptions::default(),
        Some(provider.clone()),
    )
    .await
    .unwrap();
    let change = plan.changes.iter().find(|c| c.address == role).unwrap();
    assert_eq!(change.action, apprun_engine::Action::Update, "{change:#?}");
    assert!(
        change.reasons.iter().any(|r| r.contains("did not finish")),
        "{:?}",
        change.reasons
    );
    let again = Recorder::answering(Approval::Approved);
    let report = applied(&fixture, &provider, &again).await;
    assert!(report.succeeded(), "{report:#?}");
    let state = fixture.store.read().unwrap().unwrap();
    assert_eq!(
        state.resource("roles.api-instance").unwrap().incomplete,
        None
    );
    assert_eq!(live_roles(&provider), 1, "no duplicate");
    let creates = provider
        .calls()
        .iter()
        .filter(|c| *c == "create roles.api-instance")
        .count();
    assert_eq!(creates, 1, "{:#?}", provider.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_deletes_a_resource_whose_create_did_not_finish() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    let service = Address::parse("services.api").unwrap();
    let cause = ProviderError::OperationFailed {
        what: "creation of services.api".into(),
        message: "CREATE_FAILED".into(),
        help: "apply again: apprun replaces it".into(),
    };
    provider.fail("create", &service, FakeFailure::FollowUpFails(cause));
    let hooks = Recorder::answering(Approval::Approved);
    apply(&fixture, &provider, &hooks).await.unwrap();
    let state = fixture.store.read().unwrap().unwrap();
    assert!(state.resource("services.api").unwrap().incomplete.is_some());
    ops::destroy::destroy(&fixture.ws(), provider.clone(), request(true), &hooks)
        .await
        .unwrap();
    assert!(
        provider.resources().is_empty(),
        "{:#?}",
        provider.resources()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leftover_this_stack_made_for_the_address_is_adopted_not_refused() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    let hooks = Recorder::answering(Approval::Approved);
    apply(&fixture, &provider, &hooks).await.unwrap();
    // The state forgets the repository; the repository stays.
    ops::state::remove(&fixture.ws(), "repositories.api", &hooks).unwrap();
    let again = Recorder::answering(Approval::Approved);
    let report = applied(&fixture, &provider, &again).await;
    assert!(report.succeeded(), "{report:#?}");
    let repositories = provider
        .resources()
        .values()
        .filter(|r| r.address.kind == Kind::Repository)
        .count();
    assert_eq!(repositories, 1, "adopted, not duplicated");
    let state = fixture.store.read().unwrap().unwrap();
    let record = state.resource("repositories.api").unwrap();
    assert_eq!(record.incomplete, None);
    assert!(record.physical_id.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_records_its_stack_and_another_stack_is_refused_it() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    let hooks = Recorder::answering(Approval::Approved);
    apply(&fixture, &provider, &hooks).await.unwrap();
    let state = fixture.store.read().unwrap().unwrap();
    assert_eq!(state.stack.as_deref(), Some("private-api"));
    let other = stack(&example("private-api").replace("stack: private-api", "stack: other"));
    let ws = Workspace {
        stack: &other,
        ..fixture.ws()
    };
    let error = ops::plan::plan::<Offline>(&ws, &PlanOptions::default(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, OpError::ForeignStack { recorded, stack, .. } if recorded == "private-api" && stack == "other"),
        "{error:?}"
    );
    let calls = provider.mutating_calls();
    let error = ops::apply::apply(&ws, provider.clone(), request(false), &hooks)
        .await
        .unwrap_err();
    assert!(matches!(error, OpError::ForeignStack { .. }), "{error:?}");
    assert_eq!(provider.mutating_calls(), calls, "nothing was changed");
    assert_eq!(
        fixture.store.read().unwrap().unwrap().serial,
        state.serial,
        "nothing was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_redeploys_an_applied_service_and_records_it_and_refuses_the_rest() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    let hooks = Recorder::answering(Approval::Approved);
    let deploy = |addresses: &[&str]| {
        let addresses: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        let ws = fixture.ws();
        let provider = provider.clone();
        let hooks = &hooks;
        async move { ops::deploy::deploy(&ws, provider, &addresses, hooks).await }
    };
    // Not applied yet: one clear sentence, no call.
    let error = deploy(&["services.api"]).await.unwrap_err();
    assert!(
        matches!(&error, OpError::NotApplied { address } if address == "services.api"),
        "{error:?}"
    );
    // Not a service.
    let error = deploy(&["roles.api-access"]).await.unwrap_err();
    assert!(
        matches!(&error, OpError::NotAService { declared, .. } if declared.contains("services.api")),
        "{error:?}"
    );
    assert!(provider.calls().is_empty());

    apply(&fixture, &provider, &hooks).await.unwrap();
    let results = deploy(&["services.api"]).await.unwrap();
    assert_eq!(results.len(), 1);
    let deployment = results[0].result.clone().unwrap();
    assert!(provider.calls().iter().any(|c| c == "deploy services.api"));
    let state = fixture.store.read().unwrap().unwrap();
    let recorded = &state.resource("services.api").unwrap().outputs["last_deployment"];
    assert_eq!(
        recorded["operation_id"].as_str(),
        deployment.operation_id.as_deref()
    );
    // A deployment is not a change: the plan stays empty.
    let plan = ops::plan::plan::<Offline>(&fixture.ws(), &PlanOptions::default(), None)
        .await
        .unwrap();
    assert!(!plan.has_changes(), "{:#?}", plan.changes);

    // A changed declaration is apply's job.
    let text = fixture
        .text
        .replace("cpu: 2 vCPU", "cpu: 4 vCPU")
        .replace("memory: 4 GB", "memory: 8 GB");
    let changed = stack(&text);
    let ws = Workspace {
        stack: &changed,
        text: &text,
        ..fixture.ws()
    };
    let error = ops::deploy::deploy(&ws, provider.clone(), &["services.api".into()], &hooks)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, OpError::UnappliedChanges { changes, .. } if changes.contains("cpu")),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_every_resource_and_logs_follow_until_stopped() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    let hooks = Recorder::answering(Approval::Approved);
    apply(&fixture, &provider, &hooks).await.unwrap();
    let report = ops::status::status(&fixture.ws(), provider.clone())
        .await
        .unwrap();
    assert_eq!(report.resources.len(), 8);
    assert!(report.all_services_running(), "{report:#?}");

    // Following: new events as they come, each once, until stopped.
    let following = ops::logs::LogsRequest {
        address: "services.api".into(),
        since_ms: None,
        system: false,
        follow: true,
        poll: std::time::Duration::from_millis(10),
    };
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let _ = stop_tx.send(true);
    });
    let mut followed = Vec::new();
    let written = ops::logs::logs(
        &fixture.ws(),
        provider.clone(),
        &following,
        stop,
        &mut |e: &apprun_engine::live::LogEvent| {
            followed.push((e.at_ms, e.message.clone()));
            Ok(())
        },
    )
    .await
    .unwrap();
    stopper.await.unwrap();
    assert_eq!(written, followed.len());
    assert!(written > 0);
    let mut unique = followed.clone();
    unique.dedup();
    assert_eq!(unique, followed, "an event was written twice");

    delete_out_of_band(&fixture, &provider, "services.api").await;
    let report = ops::status::status(&fixture.ws(), provider.clone())
        .await
        .unwrap();
    assert!(!report.all_services_running());

    // Logs of a service that is gone: the provider's not-found, as an error.
    let request = ops::logs::LogsRequest {
        address: "services.api".into(),
        since_ms: None,
        system: false,
        follow: false,
        poll: std::time::Duration::from_millis(10),
    };
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let mut lines = Vec::new();
    let result = ops::logs::logs(
        &fixture.ws(),
        provider.clone(),
        &request,
        stop,
        &mut |e: &apprun_engine::live::LogEvent| {
            lines.push(e.message.clone());
            Ok(())
        },
    )
    .await;
    assert!(
        matches!(
            result,
            Err(OpError::Provider(ProviderError::NotFound { .. }))
        ),
        "{result:?}"
    );
    let error = ops::logs::logs(
        &fixture.ws(),
        provider.clone(),
        &ops::logs::LogsRequest {
            address: "vpc_ingress.api-in".into(),
            ..request.clone()
        },
        tokio::sync::watch::channel(false).1,
        &mut |_: &apprun_engine::live::LogEvent| Ok(()),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, OpError::NotAService { .. }), "{error:?}");
}

/// Marks every record as `discover` leaves it without `--tag-now`.
fn mark_unclaimed(fixture: &Fixture) {
    let mut journal = apprun_state::Journal::open(&fixture.store as &dyn Storage).unwrap();
    journal
        .update(|snapshot| {
            for mut r in snapshot.resources.clone() {
                r.unclaimed = true;
                snapshot.upsert(r);
            }
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopted_resources_are_tagged_by_the_first_approved_apply_before_its_changes() {
    let fixture = Fixture::new(example("private-api"));
    let provider = Arc::new(FakeProvider::new());
    apply(
        &fixture,
        &provider,
        &Recorder::answering(Approval::Approved),
    )
    .await
    .unwrap();
    mark_unclaimed(&fixture);
    assert!(
        fixture
            .store
            .read()
            .unwrap()
            .unwrap()
            .resources
            .iter()
            .all(|r| r.unclaimed),
        "the mark is kept in the state"
    );
    assert_eq!(ops::discover::unclaimed(&fixture.ws()).unwrap(), 8);
    let claims = |p: &FakeProvider| p.calls().iter().filter(|c| c.starts_with("claim")).count();

    // A declined apply tags nothing.
    let mut changed = fixture;
    changed.text = changed.text.replace("LOG_LEVEL: info", "LOG_LEVEL: debug");
    changed.stack = stack(&changed.text);
    let declined = apply(
        &changed,
        &provider,
        &Recorder::answering(Approval::Declined),
    )
    .await
    .unwrap();
    assert!(matches!(declined, ApplyOutcome::Declined), "{declined:#?}");
    assert_eq!(claims(&provider), 0);

    // The approved apply tags all 8 before its one update, and once.
    let hooks = Recorder::answering(Approval::Approved);
    apply(&changed, &provider, &hooks).await.unwrap();
    let calls = provider.calls();
    let last_claim = calls.iter().rposition(|c| c.starts_with("claim")).unwrap();
    let update = calls.iter().position(|c| c.starts_with("update")).unwrap();
    assert_eq!(claims(&provider), 8, "{calls:#?}");
    assert!(last_claim < update, "{calls:#?}");
    assert_eq!(ops::discover::unclaimed(&changed.ws()).unwrap(), 0);
    assert!(
        hooks
            .asked()
            .iter()
            .any(|a| a.contains("Tagged 8 adopted resource(s)")),
        "{:?}",
        hooks.asked()
    );
    apply(
        &changed,
        &provider,
        &Recorder::answering(Approval::Approved),
    )
    .await
    .unwrap();
    assert_eq!(claims(&provider), 8, "tagged once");
}
