//! `variables.NAME.sensitive`: which fields a sensitive variable may reach,
//! and that no diagnostic ever shows its value.

use apprun_schema::{SchemaError, VarInputs, VarOrigin, load};

fn vars() -> VarInputs {
    let mut vars = VarInputs::new();
    vars.set("db_password", "canary-7f3a", VarOrigin::Flag);
    vars
}

fn stack(body: &str) -> String {
    format!(
        "stack: shop\nregion: us-east-1\nvariables:\n  db_password: {{ sensitive: true }}\n  level: {{ default: info }}\n{body}"
    )
}

#[test]
fn fields_built_from_sensitive_variables_are_listed() {
    let text = stack(
        "services:\n  web:\n    image: public.ecr.aws/nginx/nginx:1\n    env:\n      LOG_LEVEL: ${var.level}\n      DB_URL: postgres://app:${var.db_password}@db/app\noutputs:\n  dsn:\n    value: x-${var.db_password}\n  level:\n    value: ${var.level}\n",
    );
    let stack = load(&text, &vars()).unwrap_or_else(|e| panic!("{e:?}"));
    let fields: Vec<&str> = stack.sensitive_fields.iter().map(String::as_str).collect();
    assert_eq!(fields, ["outputs.dsn.value", "services.web.env.DB_URL"]);
    let dsn = stack.outputs.get("dsn").and_then(|o| o.sensitive.as_ref());
    assert!(
        dsn.is_some_and(|s| s.value),
        "an output built from it is sensitive"
    );
    assert!(
        stack
            .outputs
            .get("level")
            .and_then(|o| o.sensitive.as_ref())
            .is_none()
    );
    let var = stack
        .variables
        .get("db_password")
        .and_then(|v| v.sensitive.as_ref());
    assert!(var.is_some_and(|s| s.value));
}

#[test]
fn a_sensitive_variable_where_it_cannot_be_sealed_is_refused_without_its_value() {
    let text = stack(
        "services:\n  web:\n    image: public.ecr.aws/nginx/nginx:${var.db_password}\n    port: ${var.db_password}\n",
    );
    let errors = load(&text, &vars()).err().unwrap_or_default();
    assert!(!errors.is_empty());
    for error in &errors {
        assert!(
            matches!(error, SchemaError::SensitiveVariableHere { name, .. } if name == "db_password"),
            "{error:?}"
        );
        assert!(!format!("{error} {error:?}").contains("canary-7f3a"));
    }
    let fields: Vec<String> = errors
        .iter()
        .filter_map(|e| match e {
            SchemaError::SensitiveVariableHere { field, .. } => Some(field.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(fields, ["services.web.image", "services.web.port"]);
}
