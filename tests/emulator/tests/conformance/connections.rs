//! Connections: create, list, delete, the console handshake (admin), and
//! services refused on a connection that is not `AVAILABLE`.

use apprunner_emulator::Handshake;
use aws_sdk_apprunner::Client;
use aws_sdk_apprunner::types::{
    AuthenticationConfiguration, CodeConfiguration, CodeConfigurationValues, CodeRepository,
    ConfigurationSource, ProviderType, Runtime, SourceCodeVersion, SourceCodeVersionType,
    SourceConfiguration, Tag,
};

use crate::common::{OP, client, emulator, http};

fn code_source(connection_arn: &str) -> SourceConfiguration {
    SourceConfiguration::builder()
        .code_repository(
            CodeRepository::builder()
                .repository_url("https://github.com/example/app")
                .source_code_version(
                    SourceCodeVersion::builder()
                        .r#type(SourceCodeVersionType::Branch)
                        .value("main")
                        .build()
                        .unwrap(),
                )
                .code_configuration(
                    CodeConfiguration::builder()
                        .configuration_source(ConfigurationSource::Api)
                        .code_configuration_values(
                            CodeConfigurationValues::builder()
                                .runtime(Runtime::Python311)
                                .build_command("pip install -r requirements.txt")
                                .start_command("python app.py")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .authentication_configuration(
            AuthenticationConfiguration::builder()
                .connection_arn(connection_arn)
                .build(),
        )
        .build()
}

async fn create(c: &Client, name: &str) -> String {
    c.create_connection()
        .connection_name(name)
        .provider_type(ProviderType::Github)
        .send()
        .await
        .unwrap()
        .connection()
        .unwrap()
        .connection_arn()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn lifecycle_handshake_and_services() {
    let emu = emulator().await;
    let c = client(&emu);
    let out = c
        .create_connection()
        .connection_name("github-main")
        .provider_type(ProviderType::Github)
        .tags(Tag::builder().key("team").value("core").build())
        .send()
        .await
        .unwrap();
    let conn = out.connection().unwrap();
    let arn = conn.connection_arn().unwrap().to_owned();
    let prefix = "arn:aws:apprunner:us-east-1:123456789012:connection/github-main/";
    assert!(arn.starts_with(prefix), "{arn}");
    assert_eq!(arn[prefix.len()..].len(), 32);
    assert_eq!(conn.connection_name(), Some("github-main"));
    assert_eq!(conn.provider_type().unwrap().as_str(), "GITHUB");
    assert_eq!(conn.status().unwrap().as_str(), "PENDING_HANDSHAKE");
    assert!(conn.created_at().is_some());
    let tags = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), Some("team"));

    // The same name twice.
    let e = c
        .create_connection()
        .connection_name("github-main")
        .provider_type(ProviderType::Bitbucket)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");

    // A service on a connection still waiting for its handshake is refused.
    let e = c
        .create_service()
        .service_name("from-code")
        .source_configuration(code_source(&arn))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");

    // The console handshake (admin), then the service is accepted.
    assert_eq!(
        emu.admin()
            .complete_handshake("github-main", Handshake::Available),
        Ok(1)
    );
    assert!(
        emu.admin()
            .complete_handshake("nobody", Handshake::Available)
            .is_err()
    );
    let listed = c
        .list_connections()
        .connection_name("github-main")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.connection_summary_list().len(), 1);
    assert_eq!(
        listed.connection_summary_list()[0]
            .status()
            .unwrap()
            .as_str(),
        "AVAILABLE"
    );
    let svc = c
        .create_service()
        .service_name("from-code")
        .source_configuration(code_source(&arn))
        .send()
        .await
        .unwrap();
    let svc_arn = svc.service().unwrap().service_arn().to_owned();
    emu.admin().advance(OP);

    // A handshake that fails (HTTP admin endpoint) makes the connection ERROR.
    let other = create(&c, "bitbucket-x").await;
    let (status, body) = http(
        &emu,
        "POST",
        "/_emulator/connections/handshake",
        None,
        r#"{"name": "bitbucket-x", "status": "ERROR"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = http(
        &emu,
        "POST",
        "/_emulator/connections/handshake",
        None,
        r#"{"name": "nobody", "status": "AVAILABLE"}"#,
    )
    .await;
    assert_eq!(status, 404);
    let e = c
        .update_service()
        .service_arn(&svc_arn)
        .source_configuration(code_source(&other))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");

    // Delete answers the connection DELETED; then it is gone.
    let deleted = c
        .delete_connection()
        .connection_arn(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.connection().unwrap().status().unwrap().as_str(),
        "DELETED"
    );
    let e = c
        .delete_connection()
        .connection_arn(&other)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let all = c.list_connections().send().await.unwrap();
    let names: Vec<_> = all
        .connection_summary_list()
        .iter()
        .filter_map(|s| s.connection_name())
        .collect();
    assert_eq!(names, ["github-main"]);
    // A deleted connection cannot back a service either.
    let e = c
        .update_service()
        .service_arn(&svc_arn)
        .source_configuration(code_source(&other))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");
}

#[tokio::test]
async fn validation_and_pagination() {
    let emu = emulator().await;
    let c = client(&emu);
    for (name, provider) in [
        ("abc", ProviderType::Github),
        ("-github", ProviderType::Github),
        (&"a".repeat(33)[..], ProviderType::Github),
        ("good-name", ProviderType::from("GITLAB")),
    ] {
        let e = c
            .create_connection()
            .connection_name(name)
            .provider_type(provider)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(e.is_invalid_request_exception(), "{name}: {e:?}");
    }
    for i in 0..3 {
        create(&c, &format!("conn-{i}")).await;
    }
    let first = c.list_connections().max_results(2).send().await.unwrap();
    assert_eq!(first.connection_summary_list().len(), 2);
    let second = c
        .list_connections()
        .max_results(2)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.connection_summary_list().len(), 1);
    assert!(second.next_token().is_none());
    let missing =
        "arn:aws:apprunner:us-east-1:123456789012:connection/none/0123456789abcdef0123456789abcdef";
    let e = c
        .delete_connection()
        .connection_arn(missing)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}
