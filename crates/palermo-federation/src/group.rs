//! Group commit: concurrent callers' writes committed together.
//!
//! A caller [`GroupCommit::submit`]s its item and waits for its result. The
//! first caller to take the commit lock commits every item queued by then in
//! one call of the commit function (one store transaction, one ledger
//! append); callers that arrive while it commits queue up, and the next of
//! them to take the lock commits them all. There is no timer: a lone caller
//! commits at once, and under load each commit takes what queued during the
//! one before, so the batch grows with the load.
//!
//! Every caller gets its result only after the commit that holds its item
//! returned, so nothing a caller goes on to do (answer, acknowledge) runs
//! ahead of what it depends on being durable.
//!
//! Used on the hit/no-hit paths of both nodes: sent queries with their
//! outbox messages (the asking side) and ledger appends (both sides). Each
//! store commit is a round trip to the store's worker per statement, and
//! with SQLite one writer at a time; under load most of a query's cost was
//! those round trips, paid once per query rather than once per batch.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::oneshot;

/// A queue of items waiting to be committed together, and the lock that
/// lets one caller at a time commit them.
pub(crate) struct GroupCommit<T, R> {
    queue: Mutex<Vec<(T, oneshot::Sender<R>)>>,
    commit: tokio::sync::Mutex<()>,
}

impl<T, R> Default for GroupCommit<T, R> {
    fn default() -> Self {
        GroupCommit {
            queue: Mutex::new(Vec::new()),
            commit: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T, R: Clone> GroupCommit<T, R> {
    /// Queues `item` and returns its result once a commit that holds it
    /// returned. `commit` gets every queued item, in arrival order, and
    /// returns one result per item (a missing result is `failed`).
    ///
    /// `failed` is also the result when the commit future is dropped before
    /// it finished (the caller that ran it was cancelled): its transaction
    /// is then rolled back, unless the store had already committed it when
    /// the future was dropped, as with any write cancelled while awaiting
    /// the store's answer.
    pub(crate) async fn submit<F, Fut>(&self, item: T, failed: R, commit: F) -> R
    where
        F: FnOnce(Vec<T>) -> Fut,
        Fut: Future<Output = Vec<R>>,
    {
        let (tx, mut rx) = oneshot::channel();
        match self.queue.lock() {
            Ok(mut queue) => queue.push((item, tx)),
            Err(_) => return failed,
        }
        let _guard = self.commit.lock().await;
        // The commit before this one may have taken our item.
        match rx.try_recv() {
            Ok(result) => return result,
            Err(oneshot::error::TryRecvError::Closed) => return failed,
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let batch = match self.queue.lock() {
            Ok(mut queue) => std::mem::take(&mut *queue),
            Err(_) => return failed,
        };
        let (items, senders): (Vec<T>, Vec<oneshot::Sender<R>>) = batch.into_iter().unzip();
        let mut results = commit(items).await.into_iter();
        for sender in senders {
            let _ = sender.send(results.next().unwrap_or_else(|| failed.clone()));
        }
        rx.try_recv().unwrap_or(failed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_items_share_commits_and_each_gets_its_own_result() {
        let group: Arc<GroupCommit<u32, u32>> = Arc::new(GroupCommit::default());
        let commits = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..64u32 {
            let (group, commits) = (group.clone(), commits.clone());
            tasks.spawn(async move {
                let result = group
                    .submit(i, u32::MAX, |items| async move {
                        commits.fetch_add(1, Ordering::SeqCst);
                        // A commit takes a while, so that others queue meanwhile.
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        items.into_iter().map(|i| i * 10).collect()
                    })
                    .await;
                (i, result)
            });
        }
        let mut n = 0;
        while let Some(done) = tasks.join_next().await {
            let (i, result) = done.unwrap();
            assert_eq!(result, i * 10);
            n += 1;
        }
        assert_eq!(n, 64);
        let commits = commits.load(Ordering::SeqCst);
        assert!(commits < 64, "{commits} commits for 64 items");
        assert!(commits >= 1);
    }

    #[tokio::test]
    async fn a_short_result_list_fails_the_items_without_a_result() {
        let group: GroupCommit<u32, Result<u32, String>> = GroupCommit::default();
        let result = group
            .submit(7, Err("failed".to_owned()), |_| async { Vec::new() })
            .await;
        assert_eq!(result, Err("failed".to_owned()));
        let result = group
            .submit(7, Err("failed".to_owned()), |items| async move {
                items.into_iter().map(Ok).collect()
            })
            .await;
        assert_eq!(result, Ok(7));
    }
}
