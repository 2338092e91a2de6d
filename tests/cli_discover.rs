//! `apprun discover` (issue 13), end to end: fleets are built with boto3
//! (a client nobody here wrote) against moto and the App Runner emulator,
//! never through apprun; the real `apprun` binary discovers them, and plan,
//! drift, one edit and its apply are checked, the change with the AWS CLI.
//!
//! - `a_fleet_built_by_hand_comes_in_with_an_empty_plan`: a console-style
//!   service with every default, two services sharing an access role and
//!   an auto scaling configuration, a service with a VPC connector, an
//!   instance role with an inline policy, secrets and env, and a
//!   Copilot-tagged service (skipped); plan and drift empty, one edit is
//!   one update, its apply tags what was adopted.
//! - `tag_now_and_filters`: `--tag-now` tags at once; `--tag` narrows the
//!   scope; the written state moves to S3 (`state migrate --from-local`);
//!   another apprun stack's service is reported.
//! - `bad_input_is_refused_and_nothing_is_half_written`: nothing found,
//!   files that exist, a Terraform file of another format, IAM denied.
//! - `a_terraform_state_is_taken_over`: `--from-terraform -` with a
//!   state of format 4 naming the fleet; removed blocks are printed.
//! - `every_kind_a_service_uses_is_followed_and_what_cannot_be_written_is_told`:
//!   observability, custom domain, VPC ingress connection; an inline
//!   policy with a `Condition` is a warning, a comment and the one change
//!   the plan shows.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod aws_support;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use aws_support::fault_proxy::FaultProxy;
use aws_support::{World, aws_cli as aws, python, text};
use serde_json::{Value, json};

/// argv: moto url, emulator url, prefix. Builds the fleet of the module
/// doc with boto3 and prints the ARNs.
const FLEET: &str = r#"
import json, sys
import boto3
kw = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
moto, emu, p = sys.argv[1], sys.argv[2], sys.argv[3]
iam = boto3.client("iam", endpoint_url=moto, **kw)
ecr = boto3.client("ecr", endpoint_url=moto, **kw)
ec2 = boto3.client("ec2", endpoint_url=moto, **kw)
ar = boto3.client("apprunner", endpoint_url=emu, **kw)
def trust(principal):
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}]})
access = iam.create_role(RoleName=p + "-access", AssumeRolePolicyDocument=trust("build.apprunner.amazonaws.com"))["Role"]["Arn"]
iam.attach_role_policy(RoleName=p + "-access",
    PolicyArn="arn:aws:iam::aws:policy/service-role/AWSAppRunnerServicePolicyForECRAccess")
instance = iam.create_role(RoleName=p + "-orders", AssumeRolePolicyDocument=trust("tasks.apprunner.amazonaws.com"),
    Description="Reads the orders queue")["Role"]["Arn"]
iam.put_role_policy(RoleName=p + "-orders", PolicyName="queue", PolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage",
    "Resource": "arn:aws:sqs:us-east-1:123456789012:orders"}]}))
repo = ecr.create_repository(repositoryName=p + "/shop")["repository"]["repositoryUri"]
vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
sg = ec2.create_security_group(GroupName=p + "-db", Description="db", VpcId=vpc)["GroupId"]
asc = ar.create_auto_scaling_configuration(AutoScalingConfigurationName=p + "-steady",
    MinSize=2, MaxSize=5)["AutoScalingConfiguration"]["AutoScalingConfigurationArn"]
conn = ar.create_vpc_connector(VpcConnectorName=p + "-db", Subnets=[subnet],
    SecurityGroups=[sg])["VpcConnector"]["VpcConnectorArn"]
def image(identifier, **config):
    return {"ImageRepository": {"ImageIdentifier": identifier, "ImageRepositoryType":
        "ECR_PUBLIC" if identifier.startswith("public.") else "ECR", "ImageConfiguration": config}}
out = {"access": access, "instance": instance, "repo": repo, "asc": asc, "connector": conn}
# Console-style: every default.
src = image("public.ecr.aws/nginx/nginx:latest")
src["AutoDeploymentsEnabled"] = False
out["console"] = ar.create_service(ServiceName=p + "-console", SourceConfiguration=src)["Service"]["ServiceArn"]
# Two services sharing the access role and the auto scaling configuration.
for name in ("api", "worker"):
    src = image(repo + ":v1", Port="8000")
    src["AuthenticationConfiguration"] = {"AccessRoleArn": access}
    out[name] = ar.create_service(ServiceName=p + "-" + name, SourceConfiguration=src,
        AutoScalingConfigurationArn=asc)["Service"]["ServiceArn"]
# A VPC connector, an instance role with an inline policy, secrets and env.
src = image("public.ecr.aws/nginx/nginx:1.27", RuntimeEnvironmentVariables={"MODE": "live", "LOG": "info"},
    RuntimeEnvironmentSecrets={"DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"})
src["AutoDeploymentsEnabled"] = False
out["private"] = ar.create_service(ServiceName=p + "-private", SourceConfiguration=src,
    InstanceConfiguration={"Cpu": "1 vCPU", "Memory": "3 GB", "InstanceRoleArn": instance},
    NetworkConfiguration={"EgressConfiguration": {"EgressType": "VPC", "VpcConnectorArn": conn}})["Service"]["ServiceArn"]
# Copilot's: tagged by CloudFormation (the test adds the aws: tag).
src = image("public.ecr.aws/nginx/nginx:latest")
src["AutoDeploymentsEnabled"] = False
out["copilot"] = ar.create_service(ServiceName=p + "-copilot", SourceConfiguration=src,
    Tags=[{"Key": "copilot-application", "Value": "shop"}])["Service"]["ServiceArn"]
print(json.dumps(out))
"#;

/// Builds the fleet under `prefix`; waits for the services to run.
fn build_fleet(w: &World, prefix: &str) -> Value {
    let fleet = python(FLEET, &[&w.moto.url(), &w.emu.endpoint_url(), prefix]);
    w.emu
        .admin()
        .tag_as_aws(
            fleet["copilot"].as_str().unwrap(),
            "aws:cloudformation:stack-name",
            "shop-prod-copilot",
        )
        .unwrap();
    wait_running(w);
    fleet
}

/// Waits until no service has an operation in progress.
fn wait_running(w: &World) {
    for _ in 0..200 {
        let services = aws(&w.emu.endpoint_url(), &["apprunner", "list-services"]);
        let list = services["ServiceSummaryList"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if list.iter().all(|s| s["Status"] != "OPERATION_IN_PROGRESS") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("services still in progress");
}

/// Runs `apprun discover` for stack `stack` into `out` with `extra`
/// arguments, expecting exit `code`.
fn discover(w: &World, stack: &str, out: &Path, extra: &[&str], code: i32) -> String {
    let mut args = vec!["discover", "--region", "us-east-1", "--stack", stack];
    let dir = out.to_str().unwrap();
    args.extend(["--out", dir]);
    args.extend(extra);
    text(&w.run_ok(&args, code))
}

/// Runs apprun on the stack in `dir`.
fn on(w: &World, dir: &Path, args: &[&str], code: i32) -> String {
    let file = dir.join("apprun.yaml");
    let mut all: Vec<&str> = args.to_vec();
    all.push(file.to_str().unwrap());
    text(&w.run_ok(&all, code))
}

/// Every tag of App Runner resource `arn`, by the AWS CLI.
fn apprunner_tags(w: &World, arn: &str) -> Value {
    let tags = aws(
        &w.emu.endpoint_url(),
        &["apprunner", "list-tags-for-resource", "--resource-arn", arn],
    );
    let mut out = serde_json::Map::new();
    for t in tags["Tags"].as_array().cloned().unwrap_or_default() {
        out.insert(t["Key"].as_str().unwrap().to_owned(), t["Value"].clone());
    }
    Value::Object(out)
}

#[test]
fn a_fleet_built_by_hand_comes_in_with_an_empty_plan() {
    let w = World::new(30);
    let fleet = build_fleet(&w, "fleet");
    let dir = w.dir.path().join("adopted");
    let said = discover(&w, "fleet", &dir, &["--name-prefix", "fleet-"], 0);
    assert!(
        said.contains("Not adopted: service fleet-copilot") && said.contains("shop-prod-copilot"),
        "{said}"
    );
    let stack = std::fs::read_to_string(dir.join("apprun.yaml")).unwrap();
    // Keys from the names (the stack's prefix gone), references wired as
    // a person writes them, one role and one configuration for two users.
    for wanted in [
        "  console:\n",
        "access_role: \"${roles.access.arn}\"",
        "autoscaling: \"${autoscaling.steady.arn}\"",
        "image: \"${repositories.fleet-shop.uri}:v1\"",
        "instance_role: \"${roles.orders.arn}\"",
        "vpc_connector: \"${vpc_connectors.db.arn}\"",
        "DB_PASSWORD: arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
        "MODE: live",
        "sqs:ReceiveMessage",
    ] {
        assert!(stack.contains(wanted), "`{wanted}` missing:\n{stack}");
    }
    assert_eq!(stack.matches("${roles.access.arn}").count(), 2, "{stack}");
    assert_eq!(
        stack.matches("${autoscaling.steady.arn}").count(),
        2,
        "{stack}"
    );
    assert!(!stack.contains("  copilot:"), "{stack}");
    // The console service is as short as one written by hand.
    let console = stack.split("  console:\n").nth(1).unwrap();
    let console: Vec<&str> = console
        .lines()
        .take_while(|l| l.starts_with("    "))
        .collect();
    assert_eq!(
        console,
        vec!["    image: public.ecr.aws/nginx/nginx:latest"],
        "{stack}"
    );
    on(&w, &dir, &["validate"], 0);
    let plan = on(&w, &dir, &["plan", "--detailed-exitcode"], 0);
    assert!(
        plan.contains("the next apply puts apprun's ownership tags on 9 resource(s)"),
        "{plan}"
    );
    on(&w, &dir, &["drift", "--detailed-exitcode"], 0);
    // No ownership tags yet: discover only read.
    let api = fleet["api"].as_str().unwrap();
    assert!(apprunner_tags(&w, api).get("apprun:stack").is_none());

    // One edit is exactly one update.
    let api_port = "autoscaling: \"${autoscaling.steady.arn}\"\n    port: 8000";
    assert_eq!(stack.matches(api_port).count(), 2, "{stack}");
    let edited = stack.replacen(
        api_port,
        "autoscaling: \"${autoscaling.steady.arn}\"\n    port: 9000",
        1,
    );
    std::fs::write(dir.join("apprun.yaml"), &edited).unwrap();
    let plan = on(&w, &dir, &["plan", "--detailed-exitcode"], 2);
    assert!(
        plan.contains("0 to add, 1 to change, 0 to destroy"),
        "{plan}"
    );
    assert!(plan.contains("services.api"), "{plan}");
    on(&w, &dir, &["apply", "--auto-approve"], 0);
    let live = aws(
        &w.emu.endpoint_url(),
        &["apprunner", "describe-service", "--service-arn", api],
    );
    let image = &live["Service"]["SourceConfiguration"]["ImageRepository"];
    assert_eq!(image["ImageConfiguration"]["Port"], "9000", "{live}");
    // The first apply put the ownership tags on what discover adopted.
    let tags = apprunner_tags(&w, api);
    assert_eq!(tags["apprun:stack"], "fleet", "{tags}");
    assert_eq!(tags["apprun:address"], "services.api", "{tags}");
    let role = aws(
        &w.moto.url(),
        &["iam", "list-role-tags", "--role-name", "fleet-access"],
    );
    assert!(role.to_string().contains("apprun:stack"), "{role}");
    on(&w, &dir, &["plan", "--detailed-exitcode"], 0);
    on(&w, &dir, &["drift", "--detailed-exitcode"], 0);
}

#[test]
fn tag_now_and_filters() {
    let w = World::new(30);
    let fleet = build_fleet(&w, "tagged");
    // --tag narrows to the Copilot service, which --include-managed takes.
    let dir = w.dir.path().join("copilot");
    let said = discover(
        &w,
        "copilot",
        &dir,
        &[
            "--tag",
            "copilot-application=shop",
            "--include-managed",
            "--tag-now",
        ],
        0,
    );
    assert!(said.contains("(1 resources)"), "{said}");
    let copilot = fleet["copilot"].as_str().unwrap();
    assert_eq!(apprunner_tags(&w, copilot)["apprun:stack"], "copilot");
    on(&w, &dir, &["plan", "--detailed-exitcode"], 0);
    // The team moves the written state to S3, as the README says.
    python(
        "import boto3, json, sys\n\
         s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1')\n\
         s3.create_bucket(Bucket='discover-team')\n\
         print(json.dumps({}))",
        &[&w.moto.url()],
    );
    let file = dir.join("apprun.yaml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\nstate:\n  backend: s3\n  bucket: discover-team\n");
    std::fs::write(&file, text).unwrap();
    let moved = on(&w, &dir, &["state", "migrate", "--from-local"], 0);
    assert!(moved.contains("Copied the state: 1 resource(s)"), "{moved}");
    std::fs::remove_dir_all(dir.join(".apprun")).unwrap();
    on(&w, &dir, &["plan", "--detailed-exitcode"], 0);
    // Another apprun stack's service is reported, not adopted twice.
    let again = w.dir.path().join("again");
    let said = discover(&w, "again", &again, &["--service", copilot], 1);
    assert!(said.contains("apprun stack `copilot`"), "{said}");
    assert!(!again.join("apprun.yaml").exists());
}

#[test]
fn bad_input_is_refused_and_nothing_is_half_written() {
    let w = World::new(30);
    build_fleet(&w, "bad");
    let dir = w.dir.path().join("none");
    let said = discover(&w, "none", &dir, &["--name-prefix", "nothing-"], 1);
    assert!(
        said.contains("no App Runner service in us-east-1")
            && said.contains("--name-prefix nothing-"),
        "{said}"
    );
    assert!(!dir.join("apprun.yaml").exists());
    // A stack name the language refuses, before any call.
    let said = discover(&w, "9 lives", &w.dir.path().join("bad-name"), &[], 1);
    assert!(
        said.contains("`9 lives` is not a valid stack name"),
        "{said}"
    );
    // A file that exists is kept unless --force.
    let dir = w.dir.path().join("kept");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("apprun.yaml"), "# mine\n").unwrap();
    let said = discover(&w, "kept", &dir, &["--name-prefix", "bad-console"], 1);
    assert!(
        said.contains("exists already") && said.contains("--force"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("apprun.yaml")).unwrap(),
        "# mine\n"
    );
    let said = discover(
        &w,
        "kept",
        &dir,
        &["--name-prefix", "bad-console", "--force"],
        0,
    );
    assert!(said.contains("apprun.yaml.before-discover aside"), "{said}");
    assert_eq!(
        std::fs::read_to_string(dir.join("apprun.yaml.before-discover")).unwrap(),
        "# mine\n",
        "--force moves the file aside, never deletes it"
    );
    on(&w, &dir, &["plan", "--detailed-exitcode"], 0);
    // A Terraform file of another format says what was expected.
    let dir = w.dir.path().join("tf");
    let plan_json = w.dir.path().join("plan.json");
    std::fs::write(
        &plan_json,
        r#"{"format_version":"1.2","planned_values":{}}"#,
    )
    .unwrap();
    let said = discover(
        &w,
        "tf",
        &dir,
        &["--from-terraform", plan_json.to_str().unwrap()],
        1,
    );
    assert!(said.contains("format version 4"), "{said}");
    // IAM denies reading the roles: the services keep raw role ARNs.
    let proxy = FaultProxy::start(&w.moto.url());
    proxy.arm_access_denied("GetRole");
    let dir = w.dir.path().join("denied");
    let out = w
        .apprun()
        .env("AWS_ENDPOINT_URL_IAM", proxy.url())
        .args([
            "discover",
            "--region",
            "us-east-1",
            "--stack",
            "denied",
            "--out",
        ])
        .arg(&dir)
        .args(["--name-prefix", "bad-api"])
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("reading it was denied"), "{said}");
    let stack = std::fs::read_to_string(dir.join("apprun.yaml")).unwrap();
    assert!(
        stack.contains("access_role: arn:aws:iam::123456789012:role/bad-access"),
        "{stack}"
    );
    assert!(stack.contains("# `access_role` stays as found"), "{stack}");
}

#[test]
fn a_terraform_state_is_taken_over() {
    let w = World::new(30);
    let fleet = build_fleet(&w, "tf");
    let resource = |type_: &str, name: &str, attributes: Value| {
        json!({"mode": "managed", "type": type_, "name": name,
               "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
               "instances": [{"schema_version": 0, "attributes": attributes}]})
    };
    let state = json!({
        "version": 4, "terraform_version": "1.9.8", "serial": 3,
        "lineage": "3f1b2c4d-0000-4000-8000-000000000001", "outputs": {},
        "resources": [
            resource("aws_apprunner_service", "api", json!({"arn": fleet["api"], "id": fleet["api"]})),
            resource("aws_apprunner_auto_scaling_configuration_version", "steady",
                     json!({"arn": fleet["asc"], "id": fleet["asc"]})),
            resource("aws_iam_role", "access", json!({"name": "tf-access", "id": "tf-access", "arn": fleet["access"]})),
            resource("aws_s3_bucket", "logs", json!({"id": "tf-logs", "bucket": "tf-logs"})),
        ],
    });
    let dir = w.dir.path().join("from-tf");
    let mut child = w
        .apprun()
        .args([
            "discover",
            "--region",
            "us-east-1",
            "--stack",
            "tf",
            "--from-terraform",
            "-",
            "--out",
        ])
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(state.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    for wanted in [
        "removed {\n  from = aws_apprunner_service.api\n\n  lifecycle {\n    destroy = false\n  }\n}",
        "from = aws_iam_role.access",
        "from = aws_apprunner_auto_scaling_configuration_version.steady",
        "Not taken (not an App Runner, IAM role or ECR resource): aws_s3_bucket.logs",
    ] {
        assert!(said.contains(wanted), "`{wanted}` missing:\n{said}");
    }
    let stack = std::fs::read_to_string(dir.join("apprun.yaml")).unwrap();
    assert!(
        stack.contains("access_role: \"${roles.access.arn}\""),
        "{stack}"
    );
    assert!(
        stack.contains("autoscaling: \"${autoscaling.steady.arn}\""),
        "{stack}"
    );
    on(&w, &dir, &["plan", "--detailed-exitcode"], 0);
    on(&w, &dir, &["drift", "--detailed-exitcode"], 0);
}

/// argv: moto url, emulator url. A private service traced by an
/// observability configuration, reached through a VPC ingress connection,
/// with a custom domain on a public one, and an instance role whose inline
/// policy has a `Condition` (which the stack language cannot write).
const KINDS: &str = r#"
import json, sys
import boto3
kw = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
moto, emu = sys.argv[1], sys.argv[2]
iam = boto3.client("iam", endpoint_url=moto, **kw)
ec2 = boto3.client("ec2", endpoint_url=moto, **kw)
ar = boto3.client("apprunner", endpoint_url=emu, **kw)
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Service": "tasks.apprunner.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
role = iam.create_role(RoleName="kinds-guarded", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
iam.put_role_policy(RoleName="kinds-guarded", PolicyName="guarded", PolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
    "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}))
vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
endpoint = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.apprunner.requests",
    VpcEndpointType="Interface")["VpcEndpoint"]["VpcEndpointId"]
traced = ar.create_observability_configuration(ObservabilityConfigurationName="kinds-traced",
    TraceConfiguration={"Vendor": "AWSXRAY"})["ObservabilityConfiguration"]["ObservabilityConfigurationArn"]
src = {"ImageRepository": {"ImageIdentifier": "public.ecr.aws/nginx/nginx:latest",
    "ImageRepositoryType": "ECR_PUBLIC"}, "AutoDeploymentsEnabled": False}
private = ar.create_service(ServiceName="kinds-private", SourceConfiguration=src,
    InstanceConfiguration={"InstanceRoleArn": role},
    ObservabilityConfiguration={"ObservabilityEnabled": True, "ObservabilityConfigurationArn": traced},
    NetworkConfiguration={"IngressConfiguration": {"IsPubliclyAccessible": False}})["Service"]["ServiceArn"]
public = ar.create_service(ServiceName="kinds-public", SourceConfiguration=src)["Service"]["ServiceArn"]
print(json.dumps({"private": private, "public": public, "vpc": vpc, "endpoint": endpoint, "traced": traced}))
"#;

/// argv: emulator url, private service ARN, public service ARN, VPC,
/// endpoint: the associations made once the services run.
const ASSOCIATE: &str = r#"
import json, sys
import boto3
kw = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
emu, private, public, vpc, endpoint = sys.argv[1:6]
ar = boto3.client("apprunner", endpoint_url=emu, **kw)
ar.associate_custom_domain(ServiceArn=public, DomainName="shop.example.com", EnableWWWSubdomain=False)
ingress = ar.create_vpc_ingress_connection(ServiceArn=private, VpcIngressConnectionName="kinds-in",
    IngressVpcConfiguration={"VpcId": vpc, "VpcEndpointId": endpoint})
print(json.dumps({"ingress": ingress["VpcIngressConnection"]["VpcIngressConnectionArn"]}))
"#;

#[test]
fn every_kind_a_service_uses_is_followed_and_what_cannot_be_written_is_told() {
    let w = World::new(30);
    let made = python(KINDS, &[&w.moto.url(), &w.emu.endpoint_url()]);
    wait_running(&w);
    let s = |k: &str| made[k].as_str().unwrap().to_owned();
    python(
        ASSOCIATE,
        &[
            &w.emu.endpoint_url(),
            &s("private"),
            &s("public"),
            &s("vpc"),
            &s("endpoint"),
        ],
    );
    wait_running(&w);
    let dir = w.dir.path().join("kinds");
    let said = discover(&w, "kinds", &dir, &[], 0);
    let stack = std::fs::read_to_string(dir.join("apprun.yaml")).unwrap();
    for wanted in [
        "observability: \"${observability.traced.arn}\"",
        "tracing: awsxray",
        "ingress: private",
        "instance_role: \"${roles.guarded.arn}\"",
        "domain: shop.example.com",
        "enable_www: false",
        "service: \"${services.public.arn}\"",
        "service: \"${services.private.arn}\"",
        &format!("endpoint: {}", s("endpoint")),
        &format!("vpc: {}", s("vpc")),
        "inline policy `guarded` uses `Condition`",
    ] {
        assert!(stack.contains(wanted), "`{wanted}` missing:\n{stack}");
    }
    assert!(said.contains("Warning: roles.guarded"), "{said}");
    assert!(stack.contains("`apprun plan` shows 1 change(s)"), "{stack}");
    // The plan shows what could not be written: the policy's removal, and
    // nothing else; the live world is as recorded.
    let plan = on(&w, &dir, &["plan", "--detailed-exitcode"], 2);
    assert!(
        plan.contains("0 to add, 1 to change, 0 to destroy"),
        "{plan}"
    );
    assert!(plan.contains("roles.guarded"), "{plan}");
    on(&w, &dir, &["drift", "--detailed-exitcode"], 0);
}
