//! Connections to source code providers: `CreateConnection`,
//! `ListConnections`, `DeleteConnection`.
//!
//! A new connection is `PENDING_HANDSHAKE` until the handshake a person
//! completes in the console; here that step is the admin endpoint
//! `POST /_emulator/connections/handshake` (or
//! [`crate::Admin::complete_handshake`]), which makes it `AVAILABLE` or
//! `ERROR`. A deleted connection is answered with status `DELETED`, then
//! no longer listed (its name may be reused). A service whose code repository names a known
//! connection that is not `AVAILABLE` is refused.

use serde_json::{Value, json};

use crate::arn::Resource;
use crate::clock::epoch_seconds;
use crate::dispatch::{Ctx, parse};
use crate::error::ApiError;
use crate::model::{ConnectionArnInput, CreateConnectionInput, ListConnectionsInput};
use crate::state::{Connection, ConnectionStatus, State, paginate, strip_nulls};
use crate::validate::{self, Violations};

/// How the console handshake of a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Handshake {
    /// The provider authorised App Runner: the connection is `AVAILABLE`.
    Available,
    /// The handshake failed: the connection is `ERROR`.
    Error,
}

fn render(c: &Connection) -> Value {
    strip_nulls(json!({
        "ConnectionName": c.name,
        "ConnectionArn": c.arn,
        "ProviderType": c.provider,
        "Status": c.status.as_str(),
        "CreatedAt": epoch_seconds(c.created_at),
    }))
}

fn check_name(v: &mut Violations, name: &str) {
    v.string(name, "connectionName", 4, 32, &validate::SHORT_NAME);
}

/// Completes the handshake of the connection named `name`; `false` if
/// there is none.
pub(crate) fn handshake(state: &mut State, name: &str, result: Handshake) -> bool {
    let mut found = false;
    for c in state
        .connections
        .iter_mut()
        .filter(|c| c.name == name && c.status != ConnectionStatus::Deleted)
    {
        c.status = match result {
            Handshake::Available => ConnectionStatus::Available,
            Handshake::Error => ConnectionStatus::Error,
        };
        found = true;
    }
    found
}

/// Refuses a code repository source whose connection is known but not
/// `AVAILABLE`. (An ARN naming no connection the emulator knows is
/// accepted, so that clients may use connections made outside it.)
pub(crate) fn check_usable(state: &State, arn: &str) -> Result<(), ApiError> {
    match state.connections.iter().find(|c| c.arn == arn) {
        Some(c) if c.status != ConnectionStatus::Available => Err(ApiError::invalid(format!(
            "Connection {arn} is not in AVAILABLE status (it is {}); complete the handshake with the provider first",
            c.status.as_str()
        ))),
        _ => Ok(()),
    }
}

/// Whether `arn` names a connection: `Some(deleted)` if it does.
pub(crate) fn is_deleted(state: &State, arn: &str) -> Option<bool> {
    state
        .connections
        .iter()
        .rfind(|c| c.arn == arn)
        .map(|c| c.status == ConnectionStatus::Deleted)
}

/// `CreateConnection`.
pub(crate) fn create(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: CreateConnectionInput = parse(body)?;
    let mut v = Violations::new();
    if v.required(input.connection_name.as_ref(), "connectionName")
        && let Some(name) = &input.connection_name
    {
        check_name(&mut v, name);
    }
    if v.required(input.provider_type.as_ref(), "providerType")
        && let Some(provider) = &input.provider_type
    {
        v.one_of(provider, "providerType", &["GITHUB", "BITBUCKET"]);
    }
    let tags = input.tags.unwrap_or_default();
    v.tags(&tags, "tags");
    v.finish()?;
    let name = input.connection_name.unwrap_or_default();
    if ctx
        .state
        .connections
        .iter()
        .any(|c| c.name == name && c.status != ConnectionStatus::Deleted)
    {
        return Err(ApiError::invalid(format!(
            "A connection with the provided name already exists: {name}"
        )));
    }
    let id = ctx.state.hex_id();
    let arn = ctx.settings.scope.connection_arn(&name, &id);
    ctx.state.connections.push(Connection {
        arn: arn.clone(),
        name,
        provider: input.provider_type.unwrap_or_default(),
        status: ConnectionStatus::PendingHandshake,
        created_at: ctx.now,
    });
    crate::tags::set(ctx.state, &arn, &tags);
    let created = &ctx.state.connections[ctx.state.connections.len() - 1];
    Ok(json!({ "Connection": render(created) }))
}

/// `ListConnections`: oldest first, optionally one name.
pub(crate) fn list(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: ListConnectionsInput = parse(body)?;
    let mut v = Violations::new();
    if let Some(name) = &input.connection_name {
        check_name(&mut v, name);
    }
    v.max_results(input.max_results, 100);
    v.finish()?;
    let items: Vec<Value> = ctx
        .state
        .connections
        .iter()
        .filter(|c| c.status != ConnectionStatus::Deleted)
        .filter(|c| input.connection_name.as_ref().is_none_or(|n| *n == c.name))
        .map(render)
        .collect();
    let (page, next) = paginate(&items, input.next_token.as_deref(), input.max_results, 100)?;
    Ok(strip_nulls(
        json!({ "ConnectionSummaryList": page, "NextToken": next }),
    ))
}

/// `DeleteConnection`: answers the connection with status `DELETED`.
pub(crate) fn delete(ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let input: ConnectionArnInput = parse(body)?;
    let mut v = Violations::new();
    if v.required(input.connection_arn.as_ref(), "connectionArn")
        && let Some(arn) = &input.connection_arn
    {
        v.resource_arn(arn, "connectionArn");
    }
    v.finish()?;
    let arn = input.connection_arn.unwrap_or_default();
    let not_found = || ApiError::not_found(format!("Connection not found: {arn}"));
    if !matches!(
        ctx.settings.scope.parse(&arn),
        Some(Resource::Connection { .. })
    ) {
        return Err(not_found());
    }
    let i = ctx
        .state
        .connections
        .iter()
        .position(|c| c.arn == arn && c.status != ConnectionStatus::Deleted)
        .ok_or_else(not_found)?;
    ctx.state.connections[i].status = ConnectionStatus::Deleted;
    ctx.state.tags.remove(&arn);
    Ok(json!({ "Connection": render(&ctx.state.connections[i]) }))
}
