//! The subnet and security group checks before a VPC connector is created,
//! asked once per process: connectors that share subnets (the usual case)
//! share one `DescribeSubnets` / `DescribeSecurityGroups` call, and
//! concurrent creates wait for the call already in flight instead of
//! repeating it. Only answers are kept; a failed call is asked again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use crate::error::ApiFailure;

/// What EC2 was asked: subnets or security groups, and which ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Question {
    /// Subnets (`true`) or security groups (`false`).
    pub subnets: bool,
    /// The ids, sorted.
    pub ids: Vec<String>,
}

impl Question {
    /// The question for `ids` (order does not matter).
    pub(crate) fn new(subnets: bool, ids: &[String]) -> Self {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        Question { subnets, ids }
    }
}

/// The missing ids of one question, once known (shared by its askers).
type Answer = Arc<OnceCell<Vec<String>>>;

/// The answers so far: for each question, the ids EC2 did not know
/// (clones share them).
#[derive(Debug, Default, Clone)]
pub(crate) struct NetworkChecks {
    answers: Arc<Mutex<HashMap<Question, Answer>>>,
}

impl NetworkChecks {
    /// The missing ids for `question`, asking `ask` only if no answer is
    /// known or in flight.
    pub(crate) async fn missing<F, Fut>(
        &self,
        question: Question,
        ask: F,
    ) -> Result<Vec<String>, ApiFailure>
    where
        F: FnOnce(Question) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<String>, ApiFailure>>,
    {
        let cell = self
            .answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(question.clone())
            .or_default()
            .clone();
        cell.get_or_try_init(|| ask(question)).await.cloned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_checks_of_the_same_ids_make_one_call() {
        let checks = Arc::new(NetworkChecks::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..10 {
            let (checks, calls) = (checks.clone(), calls.clone());
            // The same ids in a different order are the same question.
            let ids = if i % 2 == 0 {
                vec!["subnet-a".to_string(), "subnet-b".to_string()]
            } else {
                vec!["subnet-b".to_string(), "subnet-a".to_string()]
            };
            tasks.push(tokio::spawn(async move {
                checks
                    .missing(Question::new(true, &ids), |_| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(vec!["subnet-b".to_string()])
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), vec!["subnet-b".to_string()]);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Security groups with the same ids are another question.
        checks
            .missing(Question::new(false, &["subnet-a".to_string()]), |_| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(Vec::new())
            })
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_check_is_asked_again() {
        let checks = NetworkChecks::default();
        let question = Question::new(true, &["subnet-a".to_string()]);
        let failed = checks
            .missing(question.clone(), |_| async {
                Err(crate::error::missing("DescribeSubnets", "Subnets"))
            })
            .await;
        assert!(failed.is_err());
        let answered = checks
            .missing(question, |_| async { Ok(Vec::new()) })
            .await
            .unwrap();
        assert!(answered.is_empty());
    }
}
