//! The Terraform resource types discover takes, and the id each is read
//! live by (the attribute names of terraform-provider-aws).

use serde_json::{Map, Value};

use super::error::TerraformError;

/// A terraform-provider-aws resource type that discover takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TerraformKind {
    /// `aws_apprunner_service`.
    Service,
    /// `aws_apprunner_auto_scaling_configuration_version`.
    AutoScaling,
    /// `aws_apprunner_default_auto_scaling_configuration_version`.
    DefaultAutoScaling,
    /// `aws_apprunner_vpc_connector`.
    VpcConnector,
    /// `aws_apprunner_observability_configuration`.
    Observability,
    /// `aws_apprunner_connection`.
    Connection,
    /// `aws_apprunner_custom_domain_association`.
    CustomDomain,
    /// `aws_apprunner_vpc_ingress_connection`.
    VpcIngress,
    /// `aws_iam_role`.
    Role,
    /// `aws_iam_role_policy` (an inline policy of a role).
    RolePolicy,
    /// `aws_iam_role_policy_attachment` (a managed policy attached to a
    /// role).
    RolePolicyAttachment,
    /// `aws_ecr_repository`.
    Repository,
}

impl TerraformKind {
    /// Every kind, in declaration order.
    pub const ALL: [TerraformKind; 12] = [
        TerraformKind::Service,
        TerraformKind::AutoScaling,
        TerraformKind::DefaultAutoScaling,
        TerraformKind::VpcConnector,
        TerraformKind::Observability,
        TerraformKind::Connection,
        TerraformKind::CustomDomain,
        TerraformKind::VpcIngress,
        TerraformKind::Role,
        TerraformKind::RolePolicy,
        TerraformKind::RolePolicyAttachment,
        TerraformKind::Repository,
    ];

    /// The Terraform resource type, e.g. `aws_apprunner_service`.
    pub fn type_name(self) -> &'static str {
        match self {
            TerraformKind::Service => "aws_apprunner_service",
            TerraformKind::AutoScaling => "aws_apprunner_auto_scaling_configuration_version",
            TerraformKind::DefaultAutoScaling => {
                "aws_apprunner_default_auto_scaling_configuration_version"
            }
            TerraformKind::VpcConnector => "aws_apprunner_vpc_connector",
            TerraformKind::Observability => "aws_apprunner_observability_configuration",
            TerraformKind::Connection => "aws_apprunner_connection",
            TerraformKind::CustomDomain => "aws_apprunner_custom_domain_association",
            TerraformKind::VpcIngress => "aws_apprunner_vpc_ingress_connection",
            TerraformKind::Role => "aws_iam_role",
            TerraformKind::RolePolicy => "aws_iam_role_policy",
            TerraformKind::RolePolicyAttachment => "aws_iam_role_policy_attachment",
            TerraformKind::Repository => "aws_ecr_repository",
        }
    }

    /// The kind of a Terraform resource type, if discover takes it.
    pub fn from_type(type_: &str) -> Option<TerraformKind> {
        TerraformKind::ALL
            .into_iter()
            .find(|kind| kind.type_name() == type_)
    }

    /// Reads the id of an instance of this kind from its attributes;
    /// `address` is for the error.
    pub(crate) fn id(
        self,
        attributes: &Map<String, Value>,
        address: &str,
    ) -> Result<TerraformId, TerraformError> {
        let required = |attribute: &str| {
            text(attributes, attribute).ok_or_else(|| TerraformError::MissingId {
                address: address.to_string(),
                attribute: attribute.to_string(),
            })
        };
        let optional = |attribute: &str| text(attributes, attribute);
        Ok(match self {
            TerraformKind::Service => TerraformId::Service {
                arn: required("arn")?,
            },
            TerraformKind::AutoScaling => TerraformId::AutoScaling {
                arn: required("arn")?,
            },
            TerraformKind::DefaultAutoScaling => TerraformId::DefaultAutoScaling {
                auto_scaling_configuration_arn: required("auto_scaling_configuration_arn")?,
            },
            TerraformKind::VpcConnector => TerraformId::VpcConnector {
                arn: required("arn")?,
            },
            TerraformKind::Observability => TerraformId::Observability {
                arn: required("arn")?,
            },
            TerraformKind::Connection => TerraformId::Connection {
                arn: required("arn")?,
            },
            TerraformKind::CustomDomain => {
                // The provider's id is `DOMAIN,SERVICE_ARN`.
                let id = required("id")?;
                match id.split_once(',') {
                    Some((domain, service))
                        if !domain.is_empty() && service.starts_with("arn:") =>
                    {
                        TerraformId::CustomDomain {
                            domain_name: domain.to_string(),
                            service_arn: service.to_string(),
                        }
                    }
                    _ => {
                        return Err(TerraformError::MissingId {
                            address: address.to_string(),
                            attribute: "id (`DOMAIN,SERVICE_ARN`)".to_string(),
                        });
                    }
                }
            }
            TerraformKind::VpcIngress => TerraformId::VpcIngress {
                arn: required("arn")?,
            },
            TerraformKind::Role => TerraformId::Role {
                name: required("name")?,
                arn: optional("arn"),
            },
            TerraformKind::RolePolicy => TerraformId::RolePolicy {
                role: required("role")?,
                name: required("name")?,
            },
            TerraformKind::RolePolicyAttachment => TerraformId::RolePolicyAttachment {
                role: required("role")?,
                policy_arn: required("policy_arn")?,
            },
            TerraformKind::Repository => TerraformId::Repository {
                name: required("name")?,
                arn: optional("arn"),
                repository_url: optional("repository_url"),
            },
        })
    }
}

/// What a taken resource is read live by, per kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TerraformId {
    /// An App Runner service, by `arn`.
    Service {
        /// The service ARN.
        arn: String,
    },
    /// An auto scaling configuration revision, by `arn`.
    AutoScaling {
        /// The configuration revision's ARN.
        arn: String,
    },
    /// The account's default auto scaling configuration, by
    /// `auto_scaling_configuration_arn` (its `id` is the account id).
    DefaultAutoScaling {
        /// The ARN of the configuration made the default.
        auto_scaling_configuration_arn: String,
    },
    /// A VPC connector, by `arn`.
    VpcConnector {
        /// The connector's ARN.
        arn: String,
    },
    /// An observability configuration revision, by `arn`.
    Observability {
        /// The configuration revision's ARN.
        arn: String,
    },
    /// A source code connection, by `arn`.
    Connection {
        /// The connection's ARN.
        arn: String,
    },
    /// A custom domain association, by its `id` `DOMAIN,SERVICE_ARN`.
    CustomDomain {
        /// The domain name.
        domain_name: String,
        /// The service it is associated with.
        service_arn: String,
    },
    /// A VPC ingress connection, by `arn`.
    VpcIngress {
        /// The connection's ARN.
        arn: String,
    },
    /// An IAM role, by `name`.
    Role {
        /// The role name.
        name: String,
        /// The role ARN, when the state records it.
        arn: Option<String>,
    },
    /// An inline policy of a role, by `role` and `name`.
    RolePolicy {
        /// The role's name.
        role: String,
        /// The policy's name.
        name: String,
    },
    /// A managed policy attached to a role, by `role` and `policy_arn`.
    RolePolicyAttachment {
        /// The role's name.
        role: String,
        /// The attached policy's ARN.
        policy_arn: String,
    },
    /// An ECR repository, by `name`.
    Repository {
        /// The repository name.
        name: String,
        /// The repository ARN, when the state records it.
        arn: Option<String>,
        /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`, when the state
        /// records it.
        repository_url: Option<String>,
    },
}

impl TerraformId {
    /// The kind this id belongs to.
    pub fn kind(&self) -> TerraformKind {
        match self {
            TerraformId::Service { .. } => TerraformKind::Service,
            TerraformId::AutoScaling { .. } => TerraformKind::AutoScaling,
            TerraformId::DefaultAutoScaling { .. } => TerraformKind::DefaultAutoScaling,
            TerraformId::VpcConnector { .. } => TerraformKind::VpcConnector,
            TerraformId::Observability { .. } => TerraformKind::Observability,
            TerraformId::Connection { .. } => TerraformKind::Connection,
            TerraformId::CustomDomain { .. } => TerraformKind::CustomDomain,
            TerraformId::VpcIngress { .. } => TerraformKind::VpcIngress,
            TerraformId::Role { .. } => TerraformKind::Role,
            TerraformId::RolePolicy { .. } => TerraformKind::RolePolicy,
            TerraformId::RolePolicyAttachment { .. } => TerraformKind::RolePolicyAttachment,
            TerraformId::Repository { .. } => TerraformKind::Repository,
        }
    }
}

/// A non-empty string attribute.
fn text(attributes: &Map<String, Value>, attribute: &str) -> Option<String> {
    match attributes.get(attribute) {
        Some(Value::String(value)) if !value.is_empty() => Some(value.clone()),
        _ => None,
    }
}
