//! Wire-level checks the SDK cannot make: every required member of every
//! response shape is present in the raw JSON (the SDK fills in defaults
//! silently), timestamps are numbers, protocol errors are 4xx, and secrets
//! stay out of the request log and error messages.

use serde_json::{Value, json};

use crate::common::{IMAGE, OP, emulator, http, raw};

/// Required members per shape, from the App Runner API model (2020-05-15).
const SERVICE: &[&str] = &[
    "ServiceName",
    "ServiceId",
    "ServiceArn",
    "CreatedAt",
    "UpdatedAt",
    "Status",
    "SourceConfiguration",
    "InstanceConfiguration",
    "AutoScalingConfigurationSummary",
    "NetworkConfiguration",
];
/// `OperationSummary` has no required members in the model; the real service
/// always sends these, and waiters depend on them.
const OPERATION_SUMMARY: &[&str] = &[
    "Id",
    "Type",
    "Status",
    "TargetArn",
    "StartedAt",
    "UpdatedAt",
];
const SERVICE_SUMMARY: &[&str] = &[
    "ServiceName",
    "ServiceId",
    "ServiceArn",
    "ServiceUrl",
    "CreatedAt",
    "UpdatedAt",
    "Status",
];
const ASC: &[&str] = &[
    "AutoScalingConfigurationArn",
    "AutoScalingConfigurationName",
    "AutoScalingConfigurationRevision",
    "Latest",
    "Status",
    "MaxConcurrency",
    "MinSize",
    "MaxSize",
    "CreatedAt",
    "HasAssociatedService",
    "IsDefault",
];
const ASC_SUMMARY: &[&str] = &[
    "AutoScalingConfigurationArn",
    "AutoScalingConfigurationName",
    "AutoScalingConfigurationRevision",
    "Status",
    "CreatedAt",
    "HasAssociatedService",
    "IsDefault",
];
const VPC_CONNECTOR: &[&str] = &[
    "VpcConnectorName",
    "VpcConnectorArn",
    "VpcConnectorRevision",
    "Subnets",
    "SecurityGroups",
    "Status",
    "CreatedAt",
];
const OBSERVABILITY: &[&str] = &[
    "ObservabilityConfigurationArn",
    "ObservabilityConfigurationName",
    "ObservabilityConfigurationRevision",
    "Latest",
    "Status",
    "CreatedAt",
];
const IMAGE_REPOSITORY: &[&str] = &["ImageIdentifier", "ImageRepositoryType"];

fn assert_members(shape: &str, value: &Value, members: &[&str]) {
    for m in members {
        let v = value.get(m);
        assert!(
            v.is_some_and(|v| !v.is_null()),
            "{shape} lacks required member {m}: {value}"
        );
    }
    for time in [
        "CreatedAt",
        "UpdatedAt",
        "DeletedAt",
        "StartedAt",
        "EndedAt",
    ] {
        if let Some(v) = value.get(time) {
            assert!(
                v.is_number(),
                "{shape}.{time} must be an epoch-seconds number: {v}"
            );
        }
    }
}

fn create_body(name: &str) -> String {
    json!({
        "ServiceName": name,
        "SourceConfiguration": {"ImageRepository": {
            "ImageIdentifier": IMAGE, "ImageRepositoryType": "ECR_PUBLIC",
            "ImageConfiguration": {"RuntimeEnvironmentVariables": {"API_TOKEN": "canary-env-7f3a"},
                                   "RuntimeEnvironmentSecrets": {"DB": "arn:aws:secretsmanager:us-east-1:123456789012:secret:canary-secret-9b1c"},
                                   "StartCommand": "canary-cmd-2d4e --serve"}}},
    })
    .to_string()
}

#[tokio::test]
async fn every_required_member_is_present_in_raw_responses() {
    let emu = emulator().await;
    let (status, created) = raw(&emu, "AppRunner.CreateService", &create_body("raw-one")).await;
    assert_eq!(status, 200, "{created}");
    assert!(created["OperationId"].is_string());
    let service = &created["Service"];
    assert_members("Service", service, SERVICE);
    assert_members(
        "ImageRepository",
        &service["SourceConfiguration"]["ImageRepository"],
        IMAGE_REPOSITORY,
    );
    assert_members(
        "AutoScalingConfigurationSummary",
        &service["AutoScalingConfigurationSummary"],
        ASC_SUMMARY,
    );
    let arn = service["ServiceArn"].as_str().unwrap().to_owned();
    emu.admin().advance(OP);

    let arn_body = json!({ "ServiceArn": arn }).to_string();
    let (_, described) = raw(&emu, "AppRunner.DescribeService", &arn_body).await;
    assert_members("Service", &described["Service"], SERVICE);
    let (_, listed) = raw(&emu, "AppRunner.ListServices", "{}").await;
    assert_members(
        "ServiceSummary",
        &listed["ServiceSummaryList"][0],
        SERVICE_SUMMARY,
    );
    let (_, ops) = raw(&emu, "AppRunner.ListOperations", &arn_body).await;
    let op = &ops["OperationSummaryList"][0];
    assert_members("OperationSummary", op, OPERATION_SUMMARY);
    assert!(op["EndedAt"].is_number());
    let (_, paused) = raw(&emu, "AppRunner.PauseService", &arn_body).await;
    assert_members("Service", &paused["Service"], SERVICE);
    emu.admin().advance(OP);
    let (_, resumed) = raw(&emu, "AppRunner.ResumeService", &arn_body).await;
    assert_members("Service", &resumed["Service"], SERVICE);
    emu.admin().advance(OP);
    let (_, deployed) = raw(&emu, "AppRunner.StartDeployment", &arn_body).await;
    assert!(deployed["OperationId"].is_string());
    emu.admin().advance(OP);
    let (_, deleted) = raw(&emu, "AppRunner.DeleteService", &arn_body).await;
    assert_members("Service", &deleted["Service"], SERVICE);

    let (_, asc) = raw(
        &emu,
        "AppRunner.CreateAutoScalingConfiguration",
        r#"{"AutoScalingConfigurationName":"shape"}"#,
    )
    .await;
    assert_members(
        "AutoScalingConfiguration",
        &asc["AutoScalingConfiguration"],
        ASC,
    );
    let (_, ascs) = raw(&emu, "AppRunner.ListAutoScalingConfigurations", "{}").await;
    assert_members(
        "AutoScalingConfigurationSummary",
        &ascs["AutoScalingConfigurationSummaryList"][0],
        ASC_SUMMARY,
    );
    let (_, vpc) = raw(
        &emu,
        "AppRunner.CreateVpcConnector",
        r#"{"VpcConnectorName":"shape","Subnets":["subnet-0123456789abcdef0"]}"#,
    )
    .await;
    assert_members("VpcConnector", &vpc["VpcConnector"], VPC_CONNECTOR);
    let (_, oc) = raw(
        &emu,
        "AppRunner.CreateObservabilityConfiguration",
        r#"{"ObservabilityConfigurationName":"shape"}"#,
    )
    .await;
    assert_members(
        "ObservabilityConfiguration",
        &oc["ObservabilityConfiguration"],
        OBSERVABILITY,
    );
    let (_, tags) = raw(
        &emu,
        "AppRunner.ListTagsForResource",
        &json!({"ResourceArn": vpc["VpcConnector"]["VpcConnectorArn"]}).to_string(),
    )
    .await;
    assert!(tags["Tags"].is_array());
}

#[tokio::test]
async fn protocol_errors_are_4xx_with_a_type() {
    let emu = emulator().await;
    let (status, body) = raw(&emu, "AppRunner.NoSuchThing", "{}").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, body) = raw(&emu, "Lambda.Invoke", "{}").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, body) = raw(&emu, "AppRunner.ListServices", "{not json").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    // Every operation of the model is implemented: an empty body is a
    // 200 or a modelled 4xx, never "not implemented" and never a 5xx.
    for op in [
        "AssociateCustomDomain",
        "CreateAutoScalingConfiguration",
        "CreateConnection",
        "CreateObservabilityConfiguration",
        "CreateService",
        "CreateVpcConnector",
        "CreateVpcIngressConnection",
        "DeleteAutoScalingConfiguration",
        "DeleteConnection",
        "DeleteObservabilityConfiguration",
        "DeleteService",
        "DeleteVpcConnector",
        "DeleteVpcIngressConnection",
        "DescribeAutoScalingConfiguration",
        "DescribeCustomDomains",
        "DescribeObservabilityConfiguration",
        "DescribeService",
        "DescribeVpcConnector",
        "DescribeVpcIngressConnection",
        "DisassociateCustomDomain",
        "ListAutoScalingConfigurations",
        "ListConnections",
        "ListObservabilityConfigurations",
        "ListOperations",
        "ListServices",
        "ListServicesForAutoScalingConfiguration",
        "ListTagsForResource",
        "ListVpcConnectors",
        "ListVpcIngressConnections",
        "PauseService",
        "ResumeService",
        "StartDeployment",
        "TagResource",
        "UntagResource",
        "UpdateDefaultAutoScalingConfiguration",
        "UpdateService",
        "UpdateVpcIngressConnection",
    ] {
        let (status, body) = raw(&emu, &format!("AppRunner.{op}"), "{}").await;
        assert!(status == 200 || status == 400, "{op}: {status} {body}");
        let message = body["Message"].as_str().unwrap_or_default();
        assert!(!message.contains("does not implement"), "{op}: {message}");
    }
    // Wrong member types are serialization errors that do not echo the value.
    let (status, body) = raw(&emu, "AppRunner.CreateService", r#"{"ServiceName":"typed","SourceConfiguration":{"ImageRepository":{"ImageIdentifier":"x","ImageRepositoryType":"ECR_PUBLIC","ImageConfiguration":{"RuntimeEnvironmentVariables":{"K":42}}}}}"#).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    let (status, body) = raw(
        &emu,
        "AppRunner.ListServices",
        r#"{"MaxResults":"canary-type-5c"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(!body.to_string().contains("canary-type-5c"), "{body}");
    let (status, _) = http(&emu, "GET", "/", None, "").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn secrets_never_reach_the_request_log_or_errors() {
    let emu = emulator().await;
    raw(&emu, "AppRunner.CreateService", &create_body("secretive")).await;
    // A failing request that carries the same secrets.
    let (status, err) = raw(&emu, "AppRunner.CreateService", &create_body("-bad-name")).await;
    assert_eq!(status, 400);
    // An invalid sensitive value is named, not shown.
    let bad_cmd = create_body("badcmd").replace("canary-cmd-2d4e --serve", "canary-cmd-2d4e\\nrm");
    let (status, cmd_err) = raw(&emu, "AppRunner.CreateService", &bad_cmd).await;
    assert_eq!(status, 400, "{cmd_err}");
    let (_, log) = http(&emu, "GET", "/_emulator/requests", None, "").await;
    let rust_log = serde_json::to_string(&emu.admin().requests()).unwrap();
    for text in [
        log.as_str(),
        rust_log.as_str(),
        &err.to_string(),
        &cmd_err.to_string(),
    ] {
        for canary in [
            "canary-env-7f3a",
            "canary-secret-9b1c",
            "canary-cmd-2d4e",
            "API_TOKEN",
        ] {
            assert!(!text.contains(canary), "{canary} leaked into {text}");
        }
    }
    assert!(log.contains("secretive"));
}

#[tokio::test]
async fn request_log_records_operation_result_and_resource() {
    let emu = emulator().await;
    raw(&emu, "AppRunner.CreateService", &create_body("logged")).await;
    raw(&emu, "AppRunner.CreateService", &create_body("logged")).await;
    let log = emu.admin().requests();
    assert_eq!(log.len(), 2);
    assert_eq!(emu.admin().count("CreateService"), 2);
    assert!(log[0].committed && log[0].status == Some(200) && log[0].operation_id.is_some());
    assert!(
        log[0]
            .resource_arn
            .as_deref()
            .unwrap()
            .contains(":service/logged/")
    );
    assert!(!log[1].committed);
    assert_eq!(log[1].error.as_deref(), Some("InvalidRequestException"));
    assert_eq!((log[0].seq, log[1].seq), (1, 2));
}

#[tokio::test]
async fn admin_endpoint_scripts_faults_clock_and_reset() {
    let emu = emulator().await;
    let (status, body) = http(
        &emu,
        "POST",
        "/_emulator/faults",
        None,
        r#"{"operation":"ListServices","fault":"server_error","status":503,"times":1}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = raw(&emu, "AppRunner.ListServices", "{}").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (503, Some("ServiceUnavailableException"))
    );
    let (status, _) = raw(&emu, "AppRunner.ListServices", "{}").await;
    assert_eq!(status, 200);
    let (_, faults) = http(&emu, "GET", "/_emulator/faults", None, "").await;
    let faults: Value = serde_json::from_str(&faults).unwrap();
    assert_eq!(faults[0]["applied"], 1);
    let (status, _) = http(
        &emu,
        "POST",
        "/_emulator/faults",
        None,
        r#"{"fault":"server_error","status":200}"#,
    )
    .await;
    assert_eq!(status, 400);

    let (_, created) = raw(&emu, "AppRunner.CreateService", &create_body("clocked")).await;
    let arn = created["Service"]["ServiceArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = http(
        &emu,
        "POST",
        "/_emulator/clock/advance",
        None,
        r#"{"seconds": 30}"#,
    )
    .await;
    assert_eq!(status, 200);
    let (_, described) = raw(
        &emu,
        "AppRunner.DescribeService",
        &json!({"ServiceArn": arn}).to_string(),
    )
    .await;
    assert_eq!(described["Service"]["Status"], "RUNNING");

    let (status, body) = http(
        &emu,
        "POST",
        "/_emulator/config",
        None,
        r#"{"operation_duration_ms": 5}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"operation_duration_ms\":5"));

    let (status, _) = http(&emu, "POST", "/_emulator/reset", None, "").await;
    assert_eq!(status, 200);
    let (_, listed) = raw(&emu, "AppRunner.ListServices", "{}").await;
    assert_eq!(listed["ServiceSummaryList"], json!([]));
    assert!(emu.admin().faults().is_empty());
    let (status, _) = http(&emu, "GET", "/_emulator/nowhere", None, "").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn malformed_bodies_get_4xx_for_every_operation_and_never_crash_the_server() {
    let emu = emulator().await;
    const OPS: &[&str] = &[
        "CreateService",
        "DescribeService",
        "ListServices",
        "UpdateService",
        "DeleteService",
        "PauseService",
        "ResumeService",
        "StartDeployment",
        "ListOperations",
        "CreateAutoScalingConfiguration",
        "DescribeAutoScalingConfiguration",
        "ListAutoScalingConfigurations",
        "DeleteAutoScalingConfiguration",
        "UpdateDefaultAutoScalingConfiguration",
        "ListServicesForAutoScalingConfiguration",
        "CreateVpcConnector",
        "DescribeVpcConnector",
        "ListVpcConnectors",
        "DeleteVpcConnector",
        "CreateObservabilityConfiguration",
        "DescribeObservabilityConfiguration",
        "ListObservabilityConfigurations",
        "DeleteObservabilityConfiguration",
        "TagResource",
        "UntagResource",
        "ListTagsForResource",
    ];
    let bodies = [
        "[]",
        "\"text\"",
        "null",
        "42",
        "{\"MaxResults\": -1}",
        "{\"MaxResults\": 1e99}",
        "{\"ServiceArn\": 5}",
        "{\"ServiceArn\": \"arn:aws:apprunner:us-east-1:123456789012:service\"}",
        "{\"Tags\": [{\"Key\": null}], \"ResourceArn\": \"x\"}",
        "{\"NextToken\": \"emu-999999999999999999999\"}",
        "{\"SourceConfiguration\": {}, \"ServiceName\": \"ok-name\"}",
        "{\"AutoScalingConfigurationArn\": \"arn:aws:apprunner:us-east-1:123456789012:autoscalingconfiguration/a/b/c/d\"}",
        "{\"ServiceName\": \"\\u0000\\u0000\\u0000\\u0000\", \"SourceConfiguration\": {\"ImageRepository\": {}}}",
    ];
    for op in OPS {
        for body in bodies {
            let (status, reply) = raw(&emu, &format!("AppRunner.{op}"), body).await;
            assert!(
                (400..500).contains(&status) || status == 200,
                "{op} {body}: {status} {reply}"
            );
            if status != 200 {
                assert!(
                    reply["__type"].is_string() && reply["Message"].is_string(),
                    "{op} {body}: {reply}"
                );
            }
        }
    }
    let (status, _) = raw(&emu, "AppRunner.ListServices", "{}").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn ingress_domain_and_connection_answers_carry_every_required_member() {
    let emu = emulator().await;
    let private = r#"{"ServiceName":"private-wire","SourceConfiguration":{"ImageRepository":{"ImageIdentifier":"public.ecr.aws/nginx/nginx:latest","ImageRepositoryType":"ECR_PUBLIC"}},"NetworkConfiguration":{"IngressConfiguration":{"IsPubliclyAccessible":false}}}"#;
    let (status, body) = raw(&emu, "AppRunner.CreateService", private).await;
    assert_eq!(status, 200, "{body}");
    let svc = body["Service"]["ServiceArn"].as_str().unwrap().to_owned();
    emu.admin().advance(OP);

    let request = json!({"ServiceArn": svc, "VpcIngressConnectionName": "wire-in",
        "IngressVpcConfiguration": {"VpcId": "vpc-0123456789abcdef0", "VpcEndpointId": "vpce-0123456789abcdef0"}});
    let (status, body) = raw(
        &emu,
        "AppRunner.CreateVpcIngressConnection",
        &request.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_members(
        "VpcIngressConnection",
        &body["VpcIngressConnection"],
        &[
            "VpcIngressConnectionArn",
            "VpcIngressConnectionName",
            "ServiceArn",
            "Status",
            "AccountId",
            "DomainName",
            "IngressVpcConfiguration",
            "CreatedAt",
        ],
    );
    let (_, body) = raw(&emu, "AppRunner.ListVpcIngressConnections", "{}").await;
    assert_members(
        "ListVpcIngressConnectionsResponse",
        &body,
        &["VpcIngressConnectionSummaryList"],
    );

    let request = json!({"ServiceArn": svc, "DomainName": "wire.example.com"});
    let (status, body) = raw(
        &emu,
        "AppRunner.AssociateCustomDomain",
        &request.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let required = ["DNSTarget", "ServiceArn", "CustomDomain", "VpcDNSTargets"];
    assert_members("AssociateCustomDomainResponse", &body, &required);
    let domain = ["DomainName", "EnableWWWSubdomain", "Status"];
    assert_members("CustomDomain", &body["CustomDomain"], &domain);
    assert_eq!(body["CustomDomain"]["Status"], "creating");
    let request = json!({"ServiceArn": svc});
    let (_, body) = raw(
        &emu,
        "AppRunner.DescribeCustomDomains",
        &request.to_string(),
    )
    .await;
    let required = ["DNSTarget", "ServiceArn", "CustomDomains", "VpcDNSTargets"];
    assert_members("DescribeCustomDomainsResponse", &body, &required);

    let (status, body) = raw(
        &emu,
        "AppRunner.CreateConnection",
        r#"{"ConnectionName":"wire-conn","ProviderType":"GITHUB"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_members(
        "Connection",
        &body["Connection"],
        &[
            "ConnectionName",
            "ConnectionArn",
            "ProviderType",
            "Status",
            "CreatedAt",
        ],
    );
    let (_, body) = raw(&emu, "AppRunner.ListConnections", "{}").await;
    assert_members("ListConnectionsResponse", &body, &["ConnectionSummaryList"]);
}
