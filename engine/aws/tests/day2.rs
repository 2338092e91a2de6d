//! The day-2 calls of the AWS provider: `deploy` (App Runner
//! `StartDeployment`, waited for as an update) and `status` through the
//! App Runner emulator, `logs` through moto's CloudWatch Logs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use apprun_aws::AwsProvider;
use apprun_engine::desired::DesiredResource;
use apprun_engine::live::{LogEvent, LogQuery};
use apprun_engine::provider::{Applied, Provider, ProviderError};
use apprun_schema::Kind;
use apprunner_emulator::{Fault, FaultRule, RunningEmulator};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use serde_json::Value;

const STACK: &str = r#"
stack: shop
region: us-east-1
autoscaling:
  small: { min_size: 1, max_size: 3, max_concurrency: 50 }
services:
  web:
    image: public.ecr.aws/nginx/nginx:latest
    port: 8080
    cpu: 1 vCPU
    memory: 2 GB
  api:
    image: public.ecr.aws/nginx/nginx:stable
    port: 8080
"#;

fn resource(address: &str) -> DesiredResource {
    support::resource(&support::desired(STACK), address)
}

/// Creates `address` of the stack through the provider.
async fn create(p: &AwsProvider, address: &str) -> (DesiredResource, Applied) {
    let r = resource(address);
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    let applied = p
        .create(&support::request("shop", &r, &r.attributes, &deps, prog))
        .await
        .unwrap_or_else(|e| panic!("create {address}: {e}"));
    (r, applied)
}

/// Deploys `r` (at `arn`) through the provider.
async fn deploy(
    p: &AwsProvider,
    r: &DesiredResource,
    arn: &str,
) -> Result<apprun_engine::live::Deployment, ProviderError> {
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();
    p.deploy(
        arn,
        &support::request("shop", r, &r.attributes, &deps, prog),
    )
    .await
}

fn apprunner(emu: &RunningEmulator) -> aws_sdk_apprunner::Client {
    aws_sdk_apprunner::Client::new(&support::sdk_config(&emu.endpoint_url()))
}

/// The operations of service `arn` as App Runner lists them (newest first):
/// (id, type, status).
async fn operations(emu: &RunningEmulator, arn: &str) -> Vec<(String, String, String)> {
    apprunner(emu)
        .list_operations()
        .service_arn(arn)
        .send()
        .await
        .unwrap()
        .operation_summary_list()
        .iter()
        .map(|o| {
            (
                o.id().unwrap().to_owned(),
                o.r#type().unwrap().as_str().to_owned(),
                o.status().unwrap().as_str().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn deploy_starts_a_deployment_and_waits_for_it() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let (r, web) = create(&p, "services.web").await;
    emu.admin().clear_requests();

    let deployed = deploy(&p, &r, &web.physical_id).await.unwrap();
    assert_eq!(emu.admin().count("StartDeployment"), 1);
    let started: Vec<_> = emu
        .admin()
        .requests()
        .into_iter()
        .filter(|e| e.operation == "StartDeployment")
        .collect();
    assert_eq!(
        started[0].parameters["ServiceArn"].as_str(),
        Some(web.physical_id.as_str())
    );
    let ops = operations(&emu, &web.physical_id).await;
    assert_eq!(
        ops[0].1, "START_DEPLOYMENT",
        "the newest operation: {ops:?}"
    );
    assert_eq!(ops[0].2, "SUCCEEDED", "waited until it ended: {ops:?}");
    assert_eq!(deployed.operation_id.as_deref(), Some(ops[0].0.as_str()));
    // A tagged image: App Runner tells no digest.
    assert_eq!(deployed.image_digest, None);
}

#[tokio::test]
async fn a_rolled_back_deployment_is_an_operation_failure_naming_it() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let (r, web) = create(&p, "services.web").await;
    emu.admin()
        .add_fault(FaultRule::new(Some("StartDeployment"), Fault::FailOperation).times(1))
        .unwrap();

    let error = deploy(&p, &r, &web.physical_id).await.unwrap_err();
    let ops = operations(&emu, &web.physical_id).await;
    let (id, kind, status) = &ops[0];
    assert_eq!(
        (kind.as_str(), status.as_str()),
        ("START_DEPLOYMENT", "ROLLBACK_SUCCEEDED")
    );
    match &error {
        ProviderError::OperationFailed {
            what,
            message,
            help,
        } => {
            assert_eq!(what, "deploying services.web");
            assert!(
                message.contains("ROLLBACK_SUCCEEDED") && message.contains(id.as_str()),
                "{message}"
            );
            assert!(
                help.contains("apprun logs services.web --system")
                    && help.contains("apprun logs services.web`"),
                "{help}"
            );
        }
        other => panic!("expected OperationFailed, got {other:?}"),
    }
    // The next deployment succeeds (the fault was for one request).
    assert!(deploy(&p, &r, &web.physical_id).await.is_ok());
}

/// Waits until service `arn` has status `want` (read through the SDK).
async fn until_status(emu: &RunningEmulator, arn: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = apprunner(emu)
            .describe_service()
            .service_arn(arn)
            .send()
            .await
            .unwrap();
        if out.service().unwrap().status().as_str() == want {
            return;
        }
        assert!(Instant::now() < deadline, "{arn} never became {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn rfc3339_shaped(text: &str) -> bool {
    let b = text.as_bytes();
    text.len() == 20 && b[4] == b'-' && b[10] == b'T' && text.ends_with('Z')
}

#[tokio::test]
async fn status_tells_running_from_paused_with_operations_newest_first() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let (web_r, web) = create(&p, "services.web").await;
    let (_, api) = create(&p, "services.api").await;
    deploy(&p, &web_r, &web.physical_id).await.unwrap();
    // Paused behind apprun's back, through the SDK.
    apprunner(&emu)
        .pause_service()
        .service_arn(&api.physical_id)
        .send()
        .await
        .unwrap();
    until_status(&emu, &api.physical_id, "PAUSED").await;

    let running = p
        .status(Kind::Service, &web.physical_id, &web_r.attributes)
        .await
        .unwrap()
        .expect("web is live");
    assert_eq!(running.status, "RUNNING");
    assert!(running.healthy);
    let url = running.details["url"].clone();
    assert!(url.starts_with("https://"), "{url}");
    assert_eq!(web.outputs["url"].as_str(), Some(url.as_str()));
    assert_eq!(
        running.details["image"],
        "public.ecr.aws/nginx/nginx:latest"
    );
    assert_eq!(running.details["cpu"], "1024");
    assert_eq!(running.details["memory"], "2048");
    assert!(running.details.contains_key("auto_deploy"));
    let kinds: Vec<(&str, &str)> = running
        .operations
        .iter()
        .map(|o| (o.kind.as_str(), o.status.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("START_DEPLOYMENT", "SUCCEEDED"),
            ("CREATE_SERVICE", "SUCCEEDED")
        ],
        "newest first"
    );
    for op in &running.operations {
        assert!(!op.id.is_empty());
        assert!(
            op.started_at.as_deref().is_some_and(rfc3339_shaped),
            "{op:?}"
        );
        assert!(op.ended_at.as_deref().is_some_and(rfc3339_shaped), "{op:?}");
    }
    assert!(running.operations[0].started_at >= running.operations[1].started_at);

    let paused = p
        .status(Kind::Service, &api.physical_id, &Value::Null)
        .await
        .unwrap()
        .expect("api is live");
    assert_eq!(paused.status, "PAUSED");
    assert!(!paused.healthy);
    assert_eq!(paused.operations[0].kind, "PAUSE_SERVICE");
    assert_eq!(paused.details["image"], "public.ecr.aws/nginx/nginx:stable");

    // A paused service is not deployed: said at once.
    let api_r = resource("services.api");
    match deploy(&p, &api_r, &api.physical_id).await {
        Err(ProviderError::Invalid { operation, message }) => {
            assert_eq!(operation, "StartDeployment");
            assert!(message.contains("services.api is PAUSED"), "{message}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }

    // Another kind: what a read tells (the trait's default).
    let (asc_r, asc) = create(&p, "autoscaling.small").await;
    let present = p
        .status(Kind::AutoScaling, &asc.physical_id, &asc_r.attributes)
        .await
        .unwrap()
        .expect("the configuration is live");
    assert_eq!(
        (present.status.as_str(), present.healthy),
        ("PRESENT", true)
    );

    // A deleted service is gone.
    let (prog, _) = support::progress();
    p.delete(Kind::Service, &api.physical_id, &Value::Null, prog)
        .await
        .unwrap();
    assert_eq!(
        p.status(Kind::Service, &api.physical_id, &Value::Null)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        p.status(
            Kind::Service,
            "arn:aws:apprunner:us-east-1:111122223333:service/nope/0123456789abcdef0123456789abcdef",
            &Value::Null
        )
        .await
        .unwrap(),
        None
    );
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Writes `events` ((time, line)) to `stream` of `group` in moto.
async fn put(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    events: &[(i64, &str)],
) {
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    let mut request = logs
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream);
    for (at, line) in events {
        request = request.log_events(
            InputLogEvent::builder()
                .timestamp(*at)
                .message(*line)
                .build()
                .unwrap(),
        );
    }
    request.send().await.unwrap();
}

/// The service name and id of an App Runner service ARN.
fn name_and_id(arn: &str) -> (String, String) {
    let rest = arn.split_once(":service/").unwrap().1;
    let (name, id) = rest.split_once('/').unwrap();
    (name.to_owned(), id.to_owned())
}

#[tokio::test]
async fn logs_come_from_the_service_log_group_in_time_order() {
    let moto = support::moto();
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &moto.url());
    let (web_r, web) = create(&p, "services.web").await;
    let (name, id) = name_and_id(&web.physical_id);
    let group = format!("/aws/apprunner/{name}/{id}/application");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&support::sdk_config(&moto.url()));
    logs.create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let t0 = now_ms() - 60_000;
    put(
        &logs,
        &group,
        "instance/aaaa",
        &[(t0 + 1_000, "first\n"), (t0 + 3_000, "third")],
    )
    .await;
    put(
        &logs,
        &group,
        "instance/bbbb",
        &[(t0 + 2_000, "second\n"), (t0 + 4_000, "fourth\r\n")],
    )
    .await;

    let all = p
        .logs(
            &web.physical_id,
            &web_r.attributes,
            LogQuery {
                since_ms: None,
                system: false,
            },
        )
        .await
        .unwrap();
    let event = |at: i64, source: &str, message: &str| LogEvent {
        at_ms: at,
        source: source.to_owned(),
        message: message.to_owned(),
    };
    assert_eq!(
        all,
        [
            event(t0 + 1_000, "instance/aaaa", "first"),
            event(t0 + 2_000, "instance/bbbb", "second"),
            event(t0 + 3_000, "instance/aaaa", "third"),
            event(t0 + 4_000, "instance/bbbb", "fourth"),
        ]
    );

    let recent = p
        .logs(
            &web.physical_id,
            &web_r.attributes,
            LogQuery {
                since_ms: Some(t0 + 2_500),
                system: false,
            },
        )
        .await
        .unwrap();
    let lines: Vec<&str> = recent.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(lines, ["third", "fourth"]);

    // The system log is another group, not written yet.
    let system = p
        .logs(
            &web.physical_id,
            &web_r.attributes,
            LogQuery {
                since_ms: None,
                system: true,
            },
        )
        .await;
    assert_eq!(
        system,
        Err(ProviderError::NotFound {
            what: format!(
                "the log group /aws/apprunner/{name}/{id}/service (App Runner creates it when the service first runs)"
            )
        })
    );
}

#[tokio::test]
async fn logs_of_a_service_without_a_log_group_are_not_found() {
    let moto = support::moto();
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &moto.url());
    let (api_r, api) = create(&p, "services.api").await;
    let (name, id) = name_and_id(&api.physical_id);
    let error = p
        .logs(
            &api.physical_id,
            &api_r.attributes,
            LogQuery {
                since_ms: None,
                system: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "the log group /aws/apprunner/{name}/{id}/application (App Runner creates it when the service first runs) not found"
        )
    );
    assert!(matches!(error, ProviderError::NotFound { .. }));
}

/// The variable that makes a re-run of this binary the child of
/// `logs_follow_the_sdk_endpoint_variable` (the service ARN).
const CHILD_ARN: &str = "APPRUN_DAY2_CHILD_ARN";

/// Runs `child_reads_logs_from_the_environment` in a child process with
/// App Runner at `emu` and CloudWatch Logs at `logs_url`, through the
/// standard variables only; its combined output.
async fn child(emu: &RunningEmulator, arn: &str, logs_url: &str) -> (bool, String) {
    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_reads_logs_from_the_environment",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ARN, arn)
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ENDPOINT_URL_APPRUNNER", emu.endpoint_url())
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", logs_url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success() && text.contains("1 passed"), text)
}

#[tokio::test]
async fn logs_follow_the_sdk_endpoint_variable() {
    let moto = support::moto();
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &moto.url());
    let (_, web) = create(&p, "services.web").await;
    let (name, id) = name_and_id(&web.physical_id);
    let group = format!("/aws/apprunner/{name}/{id}/application");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&support::sdk_config(&moto.url()));
    logs.create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    put(&logs, &group, "instance/aaaa", &[(now_ms(), "from moto\n")]).await;

    let (passed, text) = child(&emu, &web.physical_id, &moto.url()).await;
    assert!(passed, "child failed:\n{text}");
    assert!(text.contains("read: from moto"), "{text}");

    // Nothing listens there: the preflight names the CloudWatch Logs
    // endpoint before any call.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (_, text) = child(
        &emu,
        &web.physical_id,
        &format!("http://127.0.0.1:{closed}"),
    )
    .await;
    assert!(
        text.contains(&format!(
            "preflight: cannot reach the CloudWatch Logs endpoint http://127.0.0.1:{closed}: connection refused"
        )),
        "{text}"
    );
}

#[tokio::test]
#[ignore = "run by logs_follow_the_sdk_endpoint_variable"]
async fn child_reads_logs_from_the_environment() {
    let Ok(arn) = std::env::var(CHILD_ARN) else {
        return;
    };
    let p = AwsProvider::from_env(apprun_aws::Settings::fast()).await;
    if let Err(e) = p.preflight().await {
        println!("preflight: {e}");
        return;
    }
    let events = p
        .logs(
            &arn,
            &Value::Null,
            LogQuery {
                since_ms: None,
                system: false,
            },
        )
        .await
        .unwrap();
    for e in &events {
        println!("read: {}", e.message);
    }
    assert_eq!(events.len(), 1);
}

const KINDS: &str = r#"
stack: kinds
region: us-east-1
connections:
  gh: { provider: GITHUB }
services:
  web:
    image: public.ecr.aws/nginx/nginx:latest
domains:
  shop:
    service: ${services.web.arn}
    domain: shop.example.com
"#;

#[tokio::test]
async fn status_of_connections_and_domains_is_what_app_runner_reports() {
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &emu.endpoint_url());
    let all = support::desired(KINDS);
    let deps = BTreeMap::new();
    let (prog, _) = support::progress();

    let gh = support::resource(&all, "connections.gh");
    let conn = p
        .create(&support::request(
            "kinds",
            &gh,
            &gh.attributes,
            &deps,
            prog.clone(),
        ))
        .await
        .unwrap();
    let pending = p
        .status(Kind::Connection, &conn.physical_id, &gh.attributes)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (pending.status.as_str(), pending.healthy),
        ("PENDING_HANDSHAKE", false)
    );
    emu.admin()
        .complete_handshake(&gh.name, apprunner_emulator::Handshake::Available)
        .unwrap();
    let available = p
        .status(Kind::Connection, &conn.physical_id, &gh.attributes)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (available.status.as_str(), available.healthy),
        ("AVAILABLE", true)
    );

    let web = support::resource(&all, "services.web");
    let service = p
        .create(&support::request(
            "kinds",
            &web,
            &web.attributes,
            &deps,
            prog.clone(),
        ))
        .await
        .unwrap();
    let shop = support::resource(&all, "domains.shop");
    let values = BTreeMap::from([("services.web.arn", service.physical_id.clone())]);
    let attrs = support::resolve(&shop.attributes, &values);
    let domain = p
        .create(&support::request(
            "kinds",
            &shop,
            &attrs,
            &deps,
            prog.clone(),
        ))
        .await
        .unwrap();
    let validating = p
        .status(Kind::Domain, &domain.physical_id, &attrs)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        validating.status,
        domain.outputs["status"].as_str().unwrap()
    );
    assert_ne!(validating.status, "active");
    assert!(!validating.healthy);
    assert_eq!(
        Some(validating.details["dns_target"].as_str()),
        domain.outputs["dns_target"].as_str()
    );
}

#[tokio::test]
async fn logs_read_every_page() {
    let moto = support::moto();
    let emu = support::emulator().await;
    let p = support::provider(&emu.endpoint_url(), &moto.url());
    let (web_r, web) = create(&p, "services.web").await;
    let (name, id) = name_and_id(&web.physical_id);
    let group = format!("/aws/apprunner/{name}/{id}/application");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&support::sdk_config(&moto.url()));
    logs.create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    // 11,000 events: more than one page of FilterLogEvents (10,000).
    let t0 = now_ms() - 3_600_000;
    for (stream, offset) in [("instance/aaaa", 0), ("instance/bbbb", 1)] {
        let lines: Vec<String> = (0..5_500).map(|i| format!("{stream} {i}")).collect();
        let events: Vec<(i64, &str)> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (t0 + 2 * i as i64 + offset, l.as_str()))
            .collect();
        put(&logs, &group, stream, &events).await;
    }
    moto.start_recording();
    let all = p
        .logs(
            &web.physical_id,
            &web_r.attributes,
            LogQuery {
                since_ms: None,
                system: false,
            },
        )
        .await
        .unwrap();
    let recorded = moto.stop_recording_raw();
    let pages = recorded.matches("FilterLogEvents").count();
    assert!(pages >= 2, "one FilterLogEvents per page: {pages}");
    assert_eq!(all.len(), 11_000);
    assert!(
        all.windows(2).all(|w| w[0].at_ms < w[1].at_ms),
        "in time order"
    );
    assert_eq!(all[0].message, "instance/aaaa 0");
    assert_eq!(all[10_999].message, "instance/bbbb 5499");
}
