//! The App Runner shapes this emulator reads and writes, in their wire form
//! (PascalCase members). Every member is optional here: presence, lengths,
//! patterns and enums are checked by `validate` and the handlers, so that a
//! missing member gives the service's `InvalidRequestException`, not a
//! deserialisation failure. Written from the API model (2020-05-15) on its
//! own; nothing is shared with the `schema` crate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Declares a wire shape: PascalCase members, all optional, unknown members ignored.
macro_rules! shape {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "PascalCase")]
        pub(crate) struct $name {
            $($(#[$fm])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>,)*
        }
    };
}

/// Environment variables or secrets: name to value. Sensitive.
pub(crate) type SensitiveMap = BTreeMap<String, String>;

shape!(SourceConfiguration {
    code_repository: CodeRepository,
    image_repository: ImageRepository,
    auto_deployments_enabled: bool,
    authentication_configuration: AuthenticationConfiguration,
});

shape!(CodeRepository {
    repository_url: String,
    source_code_version: SourceCodeVersion,
    code_configuration: CodeConfiguration,
    source_directory: String,
});

shape!(SourceCodeVersion {
    #[serde(rename = "Type")]
    kind: String,
    value: String,
});

shape!(CodeConfiguration {
    configuration_source: String,
    code_configuration_values: CodeConfigurationValues,
});

shape!(CodeConfigurationValues {
    runtime: String,
    build_command: String,
    start_command: String,
    port: String,
    runtime_environment_variables: SensitiveMap,
    runtime_environment_secrets: SensitiveMap,
});

shape!(ImageRepository {
    image_identifier: String,
    image_configuration: ImageConfiguration,
    image_repository_type: String,
});

shape!(ImageConfiguration {
    runtime_environment_variables: SensitiveMap,
    start_command: String,
    port: String,
    runtime_environment_secrets: SensitiveMap,
});

shape!(AuthenticationConfiguration {
    connection_arn: String,
    access_role_arn: String,
});

shape!(InstanceConfiguration {
    cpu: String,
    memory: String,
    instance_role_arn: String,
});

shape!(HealthCheckConfiguration {
    protocol: String,
    path: String,
    interval: i64,
    timeout: i64,
    healthy_threshold: i64,
    unhealthy_threshold: i64,
});

shape!(NetworkConfiguration {
    egress_configuration: EgressConfiguration,
    ingress_configuration: IngressConfiguration,
    ip_address_type: String,
});

shape!(EgressConfiguration {
    egress_type: String,
    vpc_connector_arn: String,
});

shape!(IngressConfiguration {
    is_publicly_accessible: bool,
});

shape!(ServiceObservabilityConfiguration {
    observability_enabled: bool,
    observability_configuration_arn: String,
});

shape!(EncryptionConfiguration { kms_key: String });

shape!(Tag {
    key: String,
    value: String,
});

shape!(TraceConfiguration { vendor: String });

shape!(CreateServiceInput {
    service_name: String,
    source_configuration: SourceConfiguration,
    instance_configuration: InstanceConfiguration,
    tags: Vec<Tag>,
    encryption_configuration: EncryptionConfiguration,
    health_check_configuration: HealthCheckConfiguration,
    auto_scaling_configuration_arn: String,
    network_configuration: NetworkConfiguration,
    observability_configuration: ServiceObservabilityConfiguration,
});

shape!(UpdateServiceInput {
    service_arn: String,
    source_configuration: SourceConfiguration,
    instance_configuration: InstanceConfiguration,
    auto_scaling_configuration_arn: String,
    health_check_configuration: HealthCheckConfiguration,
    network_configuration: NetworkConfiguration,
    observability_configuration: ServiceObservabilityConfiguration,
});

shape!(ServiceArnInput {
    service_arn: String
});

shape!(PageInput {
    next_token: String,
    max_results: i64,
});

shape!(ListOperationsInput {
    service_arn: String,
    next_token: String,
    max_results: i64,
});

shape!(CreateAutoScalingConfigurationInput {
    auto_scaling_configuration_name: String,
    max_concurrency: i64,
    min_size: i64,
    max_size: i64,
    tags: Vec<Tag>,
});

shape!(AutoScalingConfigurationArnInput {
    auto_scaling_configuration_arn: String,
    delete_all_revisions: bool,
});

shape!(ListAutoScalingConfigurationsInput {
    auto_scaling_configuration_name: String,
    latest_only: bool,
    max_results: i64,
    next_token: String,
});

shape!(ListServicesForAutoScalingConfigurationInput {
    auto_scaling_configuration_arn: String,
    max_results: i64,
    next_token: String,
});

shape!(CreateVpcConnectorInput {
    vpc_connector_name: String,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    tags: Vec<Tag>,
});

shape!(VpcConnectorArnInput {
    vpc_connector_arn: String
});

shape!(CreateObservabilityConfigurationInput {
    observability_configuration_name: String,
    trace_configuration: TraceConfiguration,
    tags: Vec<Tag>,
});

shape!(ObservabilityConfigurationArnInput {
    observability_configuration_arn: String
});

shape!(ListObservabilityConfigurationsInput {
    observability_configuration_name: String,
    latest_only: bool,
    max_results: i64,
    next_token: String,
});

shape!(TagResourceInput {
    resource_arn: String,
    tags: Vec<Tag>,
});

shape!(UntagResourceInput {
    resource_arn: String,
    tag_keys: Vec<String>,
});

shape!(ResourceArnInput {
    resource_arn: String
});

shape!(IngressVpcConfiguration {
    vpc_id: String,
    vpc_endpoint_id: String,
});

shape!(CreateVpcIngressConnectionInput {
    service_arn: String,
    vpc_ingress_connection_name: String,
    ingress_vpc_configuration: IngressVpcConfiguration,
    tags: Vec<Tag>,
});

shape!(UpdateVpcIngressConnectionInput {
    vpc_ingress_connection_arn: String,
    ingress_vpc_configuration: IngressVpcConfiguration,
});

shape!(VpcIngressConnectionArnInput {
    vpc_ingress_connection_arn: String
});

shape!(ListVpcIngressConnectionsFilter {
    service_arn: String,
    vpc_endpoint_id: String,
});

shape!(ListVpcIngressConnectionsInput {
    filter: ListVpcIngressConnectionsFilter,
    max_results: i64,
    next_token: String,
});

shape!(AssociateCustomDomainInput {
    service_arn: String,
    domain_name: String,
    #[serde(rename = "EnableWWWSubdomain")]
    enable_www_subdomain: bool,
});

shape!(DescribeCustomDomainsInput {
    service_arn: String,
    next_token: String,
    max_results: i64,
});

shape!(DisassociateCustomDomainInput {
    service_arn: String,
    domain_name: String,
});

shape!(CreateConnectionInput {
    connection_name: String,
    provider_type: String,
    tags: Vec<Tag>,
});

shape!(ListConnectionsInput {
    connection_name: String,
    max_results: i64,
    next_token: String,
});

shape!(ConnectionArnInput {
    connection_arn: String
});
