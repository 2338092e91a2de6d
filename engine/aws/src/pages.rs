//! Listings read through the SDK's paginators (`into_paginator().send()`).
//!
//! A paginator's stream ends at its first error, so [`Pages`] remembers
//! where the next page starts: a page that fails with a class worth another
//! try (`retry::read_again`) is asked again by a paginator resumed at that
//! page's token, with the backoff and the budget of `retry::read`. The walk
//! ends where the listing says it does (no next token; IAM: not truncated),
//! and a caller that found what it looked for stops asking: no page after
//! it is requested.

use std::error::Error as StdError;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use aws_sdk_apprunner::config::http::HttpResponse;
use aws_sdk_apprunner::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_apprunner::operation::describe_custom_domains::DescribeCustomDomainsOutput;
use aws_sdk_apprunner::operation::list_auto_scaling_configurations::ListAutoScalingConfigurationsOutput;
use aws_sdk_apprunner::operation::list_connections::ListConnectionsOutput;
use aws_sdk_apprunner::operation::list_observability_configurations::ListObservabilityConfigurationsOutput;
use aws_sdk_apprunner::operation::list_operations::ListOperationsOutput;
use aws_sdk_apprunner::operation::list_services::ListServicesOutput;
use aws_sdk_apprunner::operation::list_vpc_connectors::ListVpcConnectorsOutput;
use aws_sdk_apprunner::operation::list_vpc_ingress_connections::ListVpcIngressConnectionsOutput;
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
use aws_sdk_iam::operation::list_role_tags::ListRoleTagsOutput;

use crate::config::Settings;
use crate::error::{ApiFailure, SdkResultExt};
use crate::retry::{self, Backoff};

/// One page of a listing: where the next one starts.
pub(crate) trait Page {
    /// The token of the next page; `None` (or empty) on the last page.
    fn next_page(&self) -> Option<&str>;
}

/// [`Page`] for App Runner answers that page with `NextToken`.
macro_rules! next_token_pages {
    ($($output:ty),*) => {
        $(impl Page for $output {
            fn next_page(&self) -> Option<&str> {
                self.next_token()
            }
        })*
    };
}

next_token_pages!(
    ListServicesOutput,
    ListOperationsOutput,
    ListAutoScalingConfigurationsOutput,
    ListVpcConnectorsOutput,
    ListObservabilityConfigurationsOutput,
    ListConnectionsOutput,
    ListVpcIngressConnectionsOutput,
    DescribeCustomDomainsOutput
);

/// [`Page`] for IAM answers that page with `Marker` / `IsTruncated`.
macro_rules! marker_pages {
    ($($output:ty),*) => {
        $(impl Page for $output {
            fn next_page(&self) -> Option<&str> {
                self.marker().filter(|_| self.is_truncated())
            }
        })*
    };
}

marker_pages!(
    ListRoleTagsOutput,
    ListAttachedRolePoliciesOutput,
    ListRolePoliciesOutput
);

/// The paginator of a fluent request builder as [`Pages`] wants it: a
/// function polling its stream (the stream's type is not nameable here).
macro_rules! paginator {
    ($request:expr) => {{
        let mut stream = $request.into_paginator().send();
        move |cx: &mut ::std::task::Context<'_>| stream.poll_next(cx)
    }};
}
pub(crate) use paginator;

/// The pages of one listing, in order.
pub(crate) struct Pages<'a, P, E, F, S> {
    settings: &'a Settings,
    operation: &'static str,
    /// The paginator resumed at a token (`None`: the first page).
    start: F,
    /// The paginator in use; `None` after it failed.
    stream: Option<S>,
    /// Where the next page starts (`None`: at the beginning, or the end).
    next: Option<String>,
    done: bool,
    page: PhantomData<fn() -> (P, E)>,
}

impl<'a, P, E, F, S> Pages<'a, P, E, F, S>
where
    P: Page,
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    F: FnMut(Option<String>) -> S,
    S: FnMut(&mut Context<'_>) -> Poll<Option<Result<P, SdkError<E, HttpResponse>>>>,
{
    /// The pages of `operation`; `start(token)` is its paginator starting at
    /// `token` (see [`paginator!`]).
    pub(crate) fn new(settings: &'a Settings, operation: &'static str, start: F) -> Self {
        Pages {
            settings,
            operation,
            start,
            stream: None,
            next: None,
            done: false,
            page: PhantomData,
        }
    }

    /// The next page; `None` after the last. A failure is classified and
    /// retried like [`retry::read`], then returned as a read's failure.
    pub(crate) async fn next(&mut self) -> Result<Option<P>, ApiFailure> {
        if self.done {
            return Ok(None);
        }
        let mut backoff = Backoff::for_retries(self.settings);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let stream = self
                .stream
                .get_or_insert_with(|| (self.start)(self.next.clone()));
            let Some(answer) = std::future::poll_fn(|cx| stream(cx)).await else {
                self.done = true;
                return Ok(None);
            };
            match answer.classify(self.operation) {
                Ok(page) => {
                    self.next = page
                        .next_page()
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned);
                    self.done = self.next.is_none();
                    return Ok(Some(page));
                }
                Err(f) => {
                    // The paginator ended with its error; another try
                    // resumes at the page that failed.
                    self.stream = None;
                    if !retry::read_again(self.settings, attempts, &f) {
                        self.done = true;
                        return Err(f.read_side());
                    }
                    backoff.sleep().await;
                }
            }
        }
    }

    /// Every item of every page; `items` takes a page's items.
    pub(crate) async fn all<T>(
        mut self,
        mut items: impl FnMut(P) -> Vec<T>,
    ) -> Result<Vec<T>, ApiFailure> {
        let mut out = Vec::new();
        while let Some(page) = self.next().await? {
            out.extend(items(page));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;

    use aws_sdk_apprunner::operation::list_services::ListServicesError;

    use super::*;
    use crate::error::Class;

    /// A page of a fake listing: its number and the next page's token.
    struct Fake {
        n: u32,
        next: Option<&'static str>,
    }

    impl Page for Fake {
        fn next_page(&self) -> Option<&str> {
            self.next
        }
    }

    type Answer = Result<Fake, SdkError<ListServicesError, HttpResponse>>;

    /// The answers of a paginator started at `token` over three pages
    /// (`None` -> `t1` -> `t2`); `fail` answers the page at `t1` with
    /// `fail` instead, and the paginator ends there, as the SDK's does.
    fn answers(token: Option<&str>, fail: Option<Answer>) -> VecDeque<Answer> {
        let listing = [
            (None, 1, Some("t1")),
            (Some("t1"), 2, Some("t2")),
            (Some("t2"), 3, None),
        ];
        let from = listing
            .iter()
            .position(|(t, ..)| *t == token)
            .unwrap_or(listing.len());
        let mut out = VecDeque::new();
        let mut fail = fail;
        for (at, n, next) in &listing[from..] {
            if *at == Some("t1")
                && let Some(failure) = fail.take()
            {
                out.push_back(failure);
                break;
            }
            out.push_back(Ok(Fake { n: *n, next: *next }));
        }
        out
    }

    #[tokio::test]
    async fn a_failed_page_is_asked_again_from_its_token() {
        let settings = Settings::fast();
        let starts = RefCell::new(Vec::new());
        let mut failure = Some(Err(SdkError::timeout_error("timed out")));
        let mut pages = Pages::new(&settings, "ListServices", |token: Option<String>| {
            starts.borrow_mut().push(token.clone());
            let mut queue = answers(token.as_deref(), failure.take());
            move |_: &mut Context<'_>| Poll::Ready(queue.pop_front())
        });
        let mut seen = Vec::new();
        while let Ok(Some(page)) = pages.next().await {
            seen.push(page.n);
        }
        assert_eq!(seen, [1, 2, 3], "every page once, in order");
        assert_eq!(*starts.borrow(), [None, Some("t1".to_owned())]);
    }

    #[tokio::test]
    async fn a_caller_that_stops_asks_for_no_more_pages() {
        let settings = Settings::fast();
        let asked = Cell::new(0);
        let mut pages = Pages::new(&settings, "ListServices", |token: Option<String>| {
            let mut queue = answers(token.as_deref(), None);
            let asked = &asked;
            move |_: &mut Context<'_>| {
                asked.set(asked.get() + 1);
                Poll::Ready(queue.pop_front())
            }
        });
        assert!(matches!(pages.next().await, Ok(Some(Fake { n: 1, .. }))));
        drop(pages);
        assert_eq!(asked.get(), 1);
    }

    #[tokio::test]
    async fn a_failure_not_worth_another_try_ends_the_walk() {
        let settings = Settings::fast();
        let starts = Cell::new(0);
        let mut pages = Pages::new(&settings, "ListServices", |_: Option<String>| {
            starts.set(starts.get() + 1);
            let mut queue: VecDeque<Answer> =
                VecDeque::from([Err(SdkError::construction_failure("no region"))]);
            move |_: &mut Context<'_>| Poll::Ready(queue.pop_front())
        });
        let failed = pages.next().await;
        assert!(matches!(
            failed,
            Err(ApiFailure {
                class: Class::Fatal,
                operation: "ListServices",
                ..
            })
        ));
        assert!(matches!(pages.next().await, Ok(None)));
        assert_eq!(starts.get(), 1);
    }
}
