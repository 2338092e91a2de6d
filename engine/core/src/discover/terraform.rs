//! Reading what Terraform manages: a state file (format version 4) or the
//! output of `terraform show -json`, into the resources discover takes
//! (App Runner, IAM roles and their policies, ECR repositories) with the id
//! each is read live by, and the rest, listed as not taken. Then the
//! `removed` blocks that make Terraform forget the taken ones without
//! destroying them.
//!
//! Pure: no I/O beyond the text handed in.

mod address;
mod error;
mod kinds;
mod removed;

use serde_json::{Map, Value};

pub use address::{InstanceKey, ModuleStep, TerraformAddress};
pub use error::TerraformError;
pub use kinds::{TerraformId, TerraformKind};
pub use removed::removed_blocks;

/// What a Terraform file holds, sorted by address as Terraform sorts it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TerraformInventory {
    /// The managed resource instances discover takes.
    pub taken: Vec<TerraformResource>,
    /// Every other managed resource instance (data sources are left out).
    pub not_taken: Vec<NotTaken>,
}

/// A managed resource instance discover takes.
#[derive(Debug, Clone, PartialEq)]
pub struct TerraformResource {
    /// Its address, printed exactly as Terraform prints it
    /// (`module.app.aws_apprunner_service.web["blue"]`).
    pub address: TerraformAddress,
    /// Its type.
    pub kind: TerraformKind,
    /// What it is read live by.
    pub id: TerraformId,
    /// Its attributes as the file records them.
    pub attributes: Map<String, Value>,
}

/// A managed resource instance of a type discover does not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotTaken {
    /// Its address.
    pub address: TerraformAddress,
    /// Its Terraform type, e.g. `aws_s3_bucket`.
    pub type_: String,
}

/// Keys only a plan's JSON has (`terraform show -json PLANFILE`).
const PLAN_KEYS: [&str; 5] = [
    "planned_values",
    "resource_changes",
    "prior_state",
    "output_changes",
    "resource_drift",
];

/// Reads a Terraform state of format version 4 or the output of
/// `terraform show -json`. Anything else (another state version, a plan,
/// not JSON) is refused with what was found and what was expected.
pub fn read_terraform(text: &str) -> Result<TerraformInventory, TerraformError> {
    let document: Value = serde_json::from_str(text).map_err(|error| TerraformError::NotJson {
        message: error.to_string(),
    })?;
    let Value::Object(root) = &document else {
        return Err(TerraformError::Unrecognized {
            found: describe(&document),
        });
    };
    if let Some(key) = PLAN_KEYS.iter().find(|key| root.contains_key(**key)) {
        return Err(TerraformError::Plan {
            key: (*key).to_string(),
        });
    }
    let mut inventory = TerraformInventory::default();
    if let Some(version) = root.get("version") {
        match version.as_u64() {
            Some(4) => read_state(root, &mut inventory)?,
            _ => {
                return Err(TerraformError::StateVersion {
                    found: version.to_string(),
                });
            }
        }
    } else if let Some(format) = root.get("format_version") {
        let Value::String(format) = format else {
            return Err(malformed("format_version", format, "a string like \"1.0\""));
        };
        if format.split('.').next() != Some("1") {
            return Err(TerraformError::ShowVersion {
                found: format.clone(),
            });
        }
        if root.contains_key("provider_schemas") {
            return Err(TerraformError::Unrecognized {
                found: "the output of `terraform providers schema -json`".to_string(),
            });
        }
        read_show(root, &mut inventory)?;
    } else {
        return Err(TerraformError::Unrecognized {
            found: describe(&document),
        });
    }
    inventory.taken.sort_by(|a, b| a.address.cmp(&b.address));
    inventory
        .not_taken
        .sort_by(|a, b| a.address.cmp(&b.address));
    Ok(inventory)
}

/// One managed resource instance found, before it is sorted into taken or
/// not taken.
struct Found<'a> {
    address: TerraformAddress,
    attributes: &'a Map<String, Value>,
}

impl TerraformInventory {
    /// Sorts an instance into taken (reading its id) or not taken.
    fn add(&mut self, found: Found<'_>) -> Result<(), TerraformError> {
        match TerraformKind::from_type(&found.address.type_) {
            Some(kind) => {
                let id = kind.id(found.attributes, &found.address.to_string())?;
                self.taken.push(TerraformResource {
                    address: found.address,
                    kind,
                    id,
                    attributes: found.attributes.clone(),
                });
            }
            None => self.not_taken.push(NotTaken {
                type_: found.address.type_.clone(),
                address: found.address,
            }),
        }
        Ok(())
    }
}

/// A state of format version 4: `resources[].instances[]`.
fn read_state(
    root: &Map<String, Value>,
    inventory: &mut TerraformInventory,
) -> Result<(), TerraformError> {
    for (r, resource) in array(root, "resources", "resources")?.iter().enumerate() {
        let path = format!("resources[{r}]");
        let resource = object(resource, &path)?;
        if !is_managed(resource, &path)? {
            continue;
        }
        let type_ = string(resource, "type", &path)?;
        let name = string(resource, "name", &path)?;
        let module = match resource.get("module") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(module)) => module_path(module, &format!("{path}.module"))?,
            Some(other) => {
                return Err(malformed(
                    &format!("{path}.module"),
                    other,
                    "a module path like \"module.app\"",
                ));
            }
        };
        let instances_path = format!("{path}.instances");
        for (i, instance) in array(resource, "instances", &instances_path)?
            .iter()
            .enumerate()
        {
            let path = format!("{instances_path}[{i}]");
            let instance = object(instance, &path)?;
            // A deposed object is one Terraform is about to destroy (left
            // by create_before_destroy); it is not taken over.
            if instance.get("deposed").is_some_and(|d| !d.is_null()) {
                continue;
            }
            let key = instance_key(instance.get("index_key"), &format!("{path}.index_key"))?;
            let attributes = match (instance.get("attributes"), instance.get("attributes_flat")) {
                (Some(Value::Object(attributes)), _) => attributes,
                (None | Some(Value::Null), Some(Value::Object(flat))) => flat,
                (Some(other), _) => {
                    return Err(malformed(&format!("{path}.attributes"), other, "an object"));
                }
                (None, _) => {
                    return Err(TerraformError::Malformed {
                        path,
                        found: "missing".to_string(),
                        expected: "an `attributes` object".to_string(),
                    });
                }
            };
            inventory.add(Found {
                address: TerraformAddress {
                    module: module.clone(),
                    type_: type_.to_string(),
                    name: name.to_string(),
                    key,
                },
                attributes,
            })?;
        }
    }
    Ok(())
}

/// `terraform show -json`: `values.root_module` and its `child_modules`.
fn read_show(
    root: &Map<String, Value>,
    inventory: &mut TerraformInventory,
) -> Result<(), TerraformError> {
    let values = match root.get("values") {
        // An empty state shows as `{"format_version": "1.0"}`.
        None | Some(Value::Null) => return Ok(()),
        Some(values) => object(values, "values")?,
    };
    match values.get("root_module") {
        None | Some(Value::Null) => Ok(()),
        Some(module) => read_module(module, "values.root_module", Vec::new(), inventory),
    }
}

/// One module of `terraform show -json` output, and its children.
fn read_module(
    module: &Value,
    path: &str,
    steps: Vec<ModuleStep>,
    inventory: &mut TerraformInventory,
) -> Result<(), TerraformError> {
    let module = object(module, path)?;
    let resources_path = format!("{path}.resources");
    for (r, resource) in array(module, "resources", &resources_path)?
        .iter()
        .enumerate()
    {
        let path = format!("{resources_path}[{r}]");
        let resource = object(resource, &path)?;
        if !is_managed(resource, &path)? {
            continue;
        }
        let type_ = string(resource, "type", &path)?;
        let name = string(resource, "name", &path)?;
        let key = instance_key(resource.get("index"), &format!("{path}.index"))?;
        let attributes = match resource.get("values") {
            Some(Value::Object(values)) => values,
            Some(other) => return Err(malformed(&format!("{path}.values"), other, "an object")),
            None => {
                return Err(TerraformError::Malformed {
                    path,
                    found: "missing".to_string(),
                    expected: "a `values` object".to_string(),
                });
            }
        };
        inventory.add(Found {
            address: TerraformAddress {
                module: steps.clone(),
                type_: type_.to_string(),
                name: name.to_string(),
                key,
            },
            attributes,
        })?;
    }
    let children_path = format!("{path}.child_modules");
    for (c, child) in array(module, "child_modules", &children_path)?
        .iter()
        .enumerate()
    {
        let path = format!("{children_path}[{c}]");
        let address = string(object(child, &path)?, "address", &path)?;
        let steps = module_path(address, &format!("{path}.address"))?;
        read_module(child, &path, steps, inventory)?;
    }
    Ok(())
}

/// Whether a resource is managed (`mode: managed`) rather than a data
/// source (`mode: data`).
fn is_managed(resource: &Map<String, Value>, path: &str) -> Result<bool, TerraformError> {
    match string(resource, "mode", path)? {
        "managed" => Ok(true),
        "data" => Ok(false),
        other => Err(TerraformError::Malformed {
            path: format!("{path}.mode"),
            found: format!("\"{other}\""),
            expected: "\"managed\" or \"data\"".to_string(),
        }),
    }
}

/// A module path, with the JSON path for the error.
fn module_path(text: &str, path: &str) -> Result<Vec<ModuleStep>, TerraformError> {
    address::parse_module_path(text).map_err(|reason| TerraformError::BadModule {
        path: path.to_string(),
        module: text.to_string(),
        reason,
    })
}

/// An instance key: absent or null (a single instance), an integer
/// (`count`) or a string (`for_each`).
fn instance_key(value: Option<&Value>, path: &str) -> Result<Option<InstanceKey>, TerraformError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(key)) => Ok(Some(InstanceKey::Str(key.clone()))),
        Some(Value::Number(number)) => match number.as_i64() {
            Some(index) => Ok(Some(InstanceKey::Int(index))),
            None => Err(TerraformError::Malformed {
                path: path.to_string(),
                found: format!("the number {number}"),
                expected: "an integer or a string".to_string(),
            }),
        },
        Some(other) => Err(malformed(path, other, "an integer or a string")),
    }
}

/// An object, or the error saying what is there instead.
fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, TerraformError> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(malformed(path, other, "an object")),
    }
}

/// An array member (absent or null: empty).
fn array<'a>(
    parent: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a [Value], TerraformError> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(malformed(path, other, "an array")),
    }
}

/// A required string member.
fn string<'a>(
    parent: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, TerraformError> {
    match parent.get(key) {
        Some(Value::String(text)) => Ok(text),
        Some(other) => Err(malformed(&format!("{path}.{key}"), other, "a string")),
        None => Err(TerraformError::Malformed {
            path: format!("{path}.{key}"),
            found: "missing".to_string(),
            expected: "a string".to_string(),
        }),
    }
}

fn malformed(path: &str, found: &Value, expected: &str) -> TerraformError {
    TerraformError::Malformed {
        path: path.to_string(),
        found: describe(found),
        expected: expected.to_string(),
    }
}

/// What a JSON value is, in a few words.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "a string".to_string(),
        Value::Array(_) => "a JSON array".to_string(),
        Value::Object(map) if map.is_empty() => "an empty JSON object".to_string(),
        Value::Object(map) => {
            let mut keys: Vec<String> = map.keys().take(8).map(|k| format!("`{k}`")).collect();
            if map.len() > 8 {
                keys.push("...".to_string());
            }
            format!("a JSON object with keys {}", keys.join(", "))
        }
    }
}
