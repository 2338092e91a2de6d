//! The provider of an operation that must not reach the target.

// Every body matches on an uninhabited value: unreachable by construction.
#![allow(unreachable_code)]

use std::future::Future;

use apprun_schema::{Address, Kind};
use serde_json::Value;

use crate::provider::{Applied, Observed, Progress, Provider, ProviderError, ResourceRequest};

/// A provider that cannot exist: the type to name when an operation takes
/// an optional provider and is given none (`ops::plan::plan` without
/// refresh), so it provably makes no call.
#[derive(Debug, Clone, Copy)]
pub enum Offline {}

impl Provider for Offline {
    fn target(&self) -> &str {
        match *self {}
    }

    fn read(
        &self,
        _: Kind,
        _: &str,
        _: &Value,
    ) -> impl Future<Output = Result<Option<Observed>, ProviderError>> + Send {
        std::future::ready(match *self {})
    }

    fn find_owned(
        &self,
        _: &str,
        _: &Address,
        _: &str,
    ) -> impl Future<Output = Result<Option<Applied>, ProviderError>> + Send {
        std::future::ready(match *self {})
    }

    fn create(
        &self,
        _: &ResourceRequest<'_>,
    ) -> impl Future<Output = Result<Applied, ProviderError>> + Send {
        std::future::ready(match *self {})
    }

    fn update(
        &self,
        _: &str,
        _: &ResourceRequest<'_>,
        _: &[String],
    ) -> impl Future<Output = Result<Applied, ProviderError>> + Send {
        std::future::ready(match *self {})
    }

    fn delete(
        &self,
        _: Kind,
        _: &str,
        _: &Value,
        _: Progress,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send {
        std::future::ready(match *self {})
    }
}
