//! `apprun discover --from-terraform`'s reading side: Terraform state
//! (format version 4) and `terraform show -json` fixtures shaped as
//! Terraform 1.9 writes them, the refusals, and the `removed` blocks.

use std::io::Write;
use std::process::{Command, Stdio};

use apprun_engine::discover::terraform::{
    InstanceKey, TerraformError, TerraformId, TerraformInventory, TerraformKind, read_terraform,
    removed_blocks,
};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/terraform/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn state() -> TerraformInventory {
    read_terraform(&fixture("state_v4.json")).expect("state_v4.json reads")
}

fn addresses(inventory: &TerraformInventory) -> Vec<String> {
    inventory
        .taken
        .iter()
        .map(|r| r.address.to_string())
        .collect()
}

fn refusal(text: &str) -> TerraformError {
    match read_terraform(text) {
        Ok(inventory) => panic!("read, expected a refusal: {inventory:?}"),
        Err(error) => error,
    }
}

fn code(error: &TerraformError) -> String {
    use miette::Diagnostic;
    error.code().map(|c| c.to_string()).unwrap_or_default()
}

#[test]
fn state_and_show_json_give_the_same_inventory() {
    let from_state = state();
    let from_show = read_terraform(&fixture("show.json")).expect("show.json reads");
    assert_eq!(from_state, from_show);
    assert_eq!(from_state.taken.len(), 15);
}

#[test]
fn addresses_are_exact_with_modules_count_and_for_each() {
    assert_eq!(
        addresses(&state()),
        [
            "aws_apprunner_auto_scaling_configuration_version.scaling",
            "aws_apprunner_connection.github",
            "aws_apprunner_default_auto_scaling_configuration_version.default",
            "aws_apprunner_observability_configuration.tracing",
            "aws_apprunner_vpc_connector.private",
            "aws_ecr_repository.web",
            "aws_iam_role.access",
            "aws_iam_role.instance",
            "aws_iam_role_policy.instance_secrets",
            "aws_iam_role_policy_attachment.ecr_access",
            "module.app.aws_apprunner_custom_domain_association.www",
            "module.app.aws_apprunner_service.web[\"blue\"]",
            "module.app.aws_apprunner_service.web[\"green\"]",
            "module.app.aws_apprunner_vpc_ingress_connection.internal[0]",
            "module.worker[0].aws_apprunner_service.jobs",
        ]
    );
    let blue = &state().taken[11];
    assert_eq!(blue.address.key, Some(InstanceKey::Str("blue".into())));
    assert_eq!(blue.address.module[0].name, "app");
    assert_eq!(
        blue.address.config_address(),
        "module.app.aws_apprunner_service.web"
    );
}

#[test]
fn every_mapped_type_is_taken_with_its_typed_id() {
    let inventory = state();
    let mut kinds: Vec<TerraformKind> = inventory.taken.iter().map(|r| r.kind).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds, TerraformKind::ALL);
    for resource in &inventory.taken {
        assert_eq!(resource.id.kind(), resource.kind, "{}", resource.address);
        assert_eq!(resource.kind.type_name(), resource.address.type_);
    }
    let id = |address: &str| {
        inventory
            .taken
            .iter()
            .find(|r| r.address.to_string() == address)
            .map(|r| r.id.clone())
            .unwrap_or_else(|| panic!("{address} not taken"))
    };
    let ar = "arn:aws:apprunner:eu-west-1:123456789012";
    assert_eq!(
        id("module.app.aws_apprunner_service.web[\"blue\"]"),
        TerraformId::Service {
            arn: format!("{ar}:service/shop-web-blue/4a1b2c3d4e5f40718293a4b5c6d7e8f9")
        }
    );
    assert_eq!(
        id("module.app.aws_apprunner_custom_domain_association.www"),
        TerraformId::CustomDomain {
            domain_name: "www.example.com".into(),
            service_arn: format!("{ar}:service/shop-web-blue/4a1b2c3d4e5f40718293a4b5c6d7e8f9"),
        }
    );
    assert_eq!(
        id("aws_apprunner_default_auto_scaling_configuration_version.default"),
        TerraformId::DefaultAutoScaling {
            auto_scaling_configuration_arn: format!(
                "{ar}:autoscalingconfiguration/shop-scaling/1/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
            ),
        }
    );
    assert_eq!(
        id("aws_iam_role.instance"),
        TerraformId::Role {
            name: "shop-instance".into(),
            arn: Some("arn:aws:iam::123456789012:role/shop-instance".into()),
        }
    );
    assert_eq!(
        id("aws_iam_role_policy.instance_secrets"),
        TerraformId::RolePolicy {
            role: "shop-instance".into(),
            name: "read-secrets".into(),
        }
    );
    assert_eq!(
        id("aws_iam_role_policy_attachment.ecr_access"),
        TerraformId::RolePolicyAttachment {
            role: "shop-apprunner-access".into(),
            policy_arn:
                "arn:aws:iam::aws:policy/service-role/AWSAppRunnerServicePolicyForECRAccess".into(),
        }
    );
    assert_eq!(
        id("aws_ecr_repository.web"),
        TerraformId::Repository {
            name: "shop-web".into(),
            arn: Some("arn:aws:ecr:eu-west-1:123456789012:repository/shop-web".into()),
            repository_url: Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-web".into()),
        }
    );
    let blue = inventory
        .taken
        .iter()
        .find(|r| r.address.to_string() == "module.app.aws_apprunner_service.web[\"blue\"]")
        .expect("blue");
    assert_eq!(blue.attributes["service_name"], "shop-web-blue");
}

#[test]
fn other_managed_types_are_not_taken_and_data_sources_are_ignored() {
    for inventory in [
        state(),
        read_terraform(&fixture("show.json")).expect("reads"),
    ] {
        let not_taken: Vec<(String, String)> = inventory
            .not_taken
            .iter()
            .map(|n| (n.address.to_string(), n.type_.clone()))
            .collect();
        assert_eq!(
            not_taken,
            [(
                "aws_s3_bucket.assets".to_string(),
                "aws_s3_bucket".to_string()
            )]
        );
        let all = addresses(&inventory).join(" ");
        assert!(!all.contains("caller_identity") && !all.contains("policy_document"));
    }
}

#[test]
fn state_v3_is_refused_naming_both_versions() {
    let error = refusal(&fixture("state_v3.json"));
    assert!(
        matches!(error, TerraformError::StateVersion { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the Terraform state has format version 3; expected a Terraform state of format version 4 or the output of `terraform show -json`"
    );
    assert_eq!(code(&error), "discover::terraform_format");
}

#[test]
fn state_v5_is_refused() {
    let error = refusal(r#"{"version": 5, "resources": []}"#);
    assert_eq!(
        error.to_string(),
        "the Terraform state has format version 5; expected a Terraform state of format version 4 or the output of `terraform show -json`"
    );
}

#[test]
fn a_plan_is_refused_saying_it_is_a_plan() {
    let error = refusal(&fixture("plan.json"));
    assert_eq!(code(&error), "discover::terraform_plan");
    assert_eq!(
        error.to_string(),
        "the Terraform file is a plan (`terraform show -json PLANFILE` output, with `planned_values`), not a state; expected a Terraform state of format version 4 or the output of `terraform show -json`"
    );
}

#[test]
fn not_json_is_refused() {
    let error = refusal("resource \"aws_s3_bucket\" \"b\" {}\n");
    assert_eq!(code(&error), "discover::terraform_json");
    let message = error.to_string();
    assert!(
        message.starts_with("the Terraform file is not JSON (expected value at line 1 column 1)"),
        "{message}"
    );
    assert!(
        message.ends_with(
            "expected a Terraform state of format version 4 or the output of `terraform show -json`"
        ),
        "{message}"
    );
}

#[test]
fn other_json_is_refused_with_what_it_is() {
    assert_eq!(
        refusal("[1, 2]").to_string(),
        "the Terraform file is a JSON array; expected a Terraform state of format version 4 or the output of `terraform show -json`"
    );
    assert_eq!(
        refusal(r#"{"foo": 1, "bar": 2}"#).to_string(),
        "the Terraform file is a JSON object with keys `bar`, `foo`; expected a Terraform state of format version 4 or the output of `terraform show -json`"
    );
    assert_eq!(
        refusal(r#"{"format_version": "2.0", "values": {}}"#).to_string(),
        "the `terraform show -json` output has format version 2.0; expected a Terraform state of format version 4 or the output of `terraform show -json` (format version 1.x)"
    );
}

#[test]
fn malformed_parts_name_their_path() {
    let error = refusal(
        r#"{"version": 4, "resources": [{"mode": "managed", "type": "aws_s3_bucket", "name": "b", "instances": [{"index_key": 1.5, "attributes": {}}]}]}"#,
    );
    assert_eq!(
        error.to_string(),
        "`resources[0].instances[0].index_key` in the Terraform file is the number 1.5; expected an integer or a string"
    );
    let error = refusal(
        r#"{"version": 4, "resources": [{"module": "app", "mode": "managed", "type": "aws_s3_bucket", "name": "b", "instances": []}]}"#,
    );
    assert_eq!(code(&error), "discover::terraform_address");
    let error = refusal(
        r#"{"version": 4, "resources": [{"mode": "managed", "type": "aws_apprunner_service", "name": "web", "instances": [{"attributes": {"arn": null}}]}]}"#,
    );
    assert_eq!(
        error.to_string(),
        "`aws_apprunner_service.web` has no `arn` to read it by"
    );
}

#[test]
fn empty_worlds_read_as_empty() {
    for text in [
        r#"{"format_version": "1.0"}"#,
        r#"{"format_version": "1.0", "terraform_version": "1.9.8", "values": {"root_module": {}}}"#,
        r#"{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "x", "outputs": {}, "resources": [], "check_results": null}"#,
    ] {
        assert_eq!(
            read_terraform(text).expect(text),
            TerraformInventory::default()
        );
    }
}

#[test]
fn deposed_objects_are_not_taken() {
    let text = r#"{"version": 4, "resources": [{"mode": "managed", "type": "aws_ecr_repository", "name": "r", "instances": [
        {"attributes": {"name": "a"}},
        {"deposed": "00000001", "attributes": {"name": "old"}}]}]}"#;
    let inventory = read_terraform(text).expect("reads");
    assert_eq!(inventory.taken.len(), 1);
}

#[test]
fn string_keys_are_quoted_as_terraform_quotes_them() {
    let text = r#"{"version": 4, "resources": [{"module": "module.m[\"a b\"]", "mode": "managed", "type": "aws_ecr_repository", "name": "r", "instances": [
        {"index_key": "x\"${y}\\", "attributes": {"name": "a"}}]}]}"#;
    let inventory = read_terraform(text).expect("reads");
    assert_eq!(
        addresses(&inventory),
        ["module.m[\"a b\"].aws_ecr_repository.r[\"x\\\"$${y}\\\\\"]"]
    );
}

#[test]
fn arbitrary_input_never_panics() {
    let samples = [
        "",
        "null",
        "4",
        "\"x\"",
        "{}",
        r#"{"version": "4"}"#,
        r#"{"version": 4, "resources": 3}"#,
        r#"{"version": 4, "resources": [3]}"#,
        r#"{"version": 4, "resources": [{"mode": "managed"}]}"#,
        r#"{"format_version": 1}"#,
        r#"{"format_version": "1.0", "values": []}"#,
        r#"{"format_version": "1.0", "values": {"root_module": {"child_modules": [{"address": "module.x["}]}}}"#,
        r#"{"format_version": "1.0", "values": {"root_module": {"resources": [{"mode": "managed", "type": "aws_iam_role", "name": "r", "values": {"name": 3}}]}}}"#,
    ];
    for text in samples {
        assert!(read_terraform(text).is_err(), "{text}");
    }
}

#[test]
fn removed_blocks_drop_instance_keys_and_repeat_nothing() {
    let blocks = removed_blocks(&state().taken);
    assert_eq!(blocks.matches("removed {").count(), 14);
    insta::assert_snapshot!(blocks);
}

#[test]
fn removed_blocks_of_nothing_are_empty() {
    assert_eq!(removed_blocks(&[]), "");
}

/// `terraform fmt -check` accepts the blocks as they are, where terraform
/// is installed (it is not in every environment: then a note and nothing).
#[test]
fn removed_blocks_pass_terraform_fmt_check() {
    let blocks = removed_blocks(&state().taken);
    let child = Command::new("terraform")
        .args(["fmt", "-check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            eprintln!(
                "note: skipped `terraform fmt -check`: no terraform binary on PATH ({error})"
            );
            return;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(blocks.as_bytes())
        .expect("write to terraform fmt");
    let output = child.wait_with_output().expect("terraform fmt ran");
    assert!(
        output.status.success(),
        "terraform fmt -check refused the blocks:\n{}\n{}{}",
        blocks,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
