//! Lock conflicts, and running a write transaction again when it lost one (SECURITY.md
//! requirement 27).
//!
//! Two transactions that lock the same rows in different orders deadlock on MySQL/MariaDB:
//! the server picks one, rolls it back and answers error 1213. A Galera cluster reports a
//! failed certification the same way (1213, or 1047 and "WSREP detected deadlock/conflict"),
//! a lock held too long ends in 1205, and SQLite answers `SQLITE_BUSY` ("database is locked")
//! when its busy timeout runs out or a read transaction cannot be upgraded to a write. None of
//! these means the request was wrong: the cure is to run the **whole** transaction again
//! (the server already threw away what it had done), which
//! [`db_transaction!`](crate::db::db_transaction) does, up to [`ATTEMPTS`] times with a jittered,
//! growing pause. A conflict that is still there after the last attempt escapes as the
//! original `sqlx::Error`, which `AppError` answers with 503 and `Retry-After`, never 500.

use std::time::Duration;

/// How many times a transaction is run before a lock conflict is given up. Eight: with five,
/// fifty admin writes racing over the same tags and articles on MariaDB (`tests/it/sec_backup.rs`)
/// still lost one now and then on a loaded machine. The pauses between them add up to at most
/// about 1.6 s.
pub const ATTEMPTS: u32 = 8;

/// The pause after the first failed attempt; it doubles after each further one.
const FIRST_PAUSE: Duration = Duration::from_millis(25);

/// The longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_millis(400);

pub use crate::error::{is_lock_conflict, RETRY_AFTER_SECS};

/// The pause after failed attempt `attempt` (1-based): doubling from 25 ms up to 400 ms, each
/// drawn at random from its upper half, so transactions that collided once do not collide
/// again in step.
pub fn pause_after(attempt: u32) -> Duration {
    let ceiling = FIRST_PAUSE
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(MAX_PAUSE);
    let floor = ceiling / 2;
    floor + ceiling.saturating_sub(floor).mul_f64(rand::random::<f64>())
}

/// Like [`db_run!`](crate::db::db_run), for a block that runs one write transaction on `$conn`
/// (it begins, and commits or rolls back, the transaction itself): when an attempt fails with
/// a [lock conflict](crate::db::retry::is_lock_conflict), the connection goes back to the pool
/// (which sends the dropped transaction's `ROLLBACK` at once, releasing its locks), and after
/// a short jittered pause the **whole block** runs again on a connection from the pool, up to
/// [`ATTEMPTS`](crate::db::retry::ATTEMPTS) times. Any other outcome is returned at once. A
/// `return` in the block ends that attempt with its value, as it ended the function before,
/// and (like `?`) leaves the connection to be checked by the pool before its next use.
///
/// The block may run more than once: it must do nothing outside the transaction that cannot be
/// repeated (every caller only reads captured values and runs statements on `$conn`).
macro_rules! db_transaction {
    ($pool:expr, |$conn:ident| $body:expr) => {
        match $pool.backend() {
            $crate::db::pool::Backend::Sqlite(pool) => $crate::db::db_transaction!(@held pool, |$conn| $body),
            $crate::db::pool::Backend::MySql(pool) => $crate::db::db_transaction!(@held pool, |$conn| $body),
        }
    };
    (@held $pool:ident, |$conn:ident| $body:expr) => {{
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut held = match $pool.acquire().await {
                Ok(held) => held,
                Err(e) => break Err(e),
            };
            // Whether the block ran to its end. One that left early (`return`, `?`) may have
            // dropped its transaction, whose ROLLBACK sqlx only queues: its connection is not
            // `finish`ed, so the pool pings it (sending the ROLLBACK, releasing the locks) before
            // anyone uses it again, as `db_run!` does for a `return` out of its block.
            let mut completed = false;
            let result: Result<_, sqlx::Error> = async {
                let $conn = held.conn();
                let value = $body;
                completed = true;
                value
            }
            .await;
            match &result {
                Err(e) if attempt < $crate::db::retry::ATTEMPTS && $crate::db::retry::is_lock_conflict(e) => {
                    ::log::debug!("lock conflict on attempt {attempt}, running the transaction again: {e}");
                    drop(held);
                    ::tokio::time::sleep($crate::db::retry::pause_after(attempt)).await;
                }
                _ => {
                    if completed && result.is_ok() {
                        held.finish(&result);
                    } else {
                        // An error may have left the transaction open (a failed COMMIT keeps
                        // its ROLLBACK queued too): checked before reuse, a round trip only
                        // on this path.
                        drop(held);
                    }
                    break result;
                }
            }
        }
    }};
}
pub(crate) use db_transaction;

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::db::DbPool;
    use crate::error::AppError;

    /// A database error as a driver reports it, with the given SQLSTATE and message.
    #[derive(Debug)]
    struct FakeDbError {
        code: &'static str,
        message: &'static str,
    }

    impl std::fmt::Display for FakeDbError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.message)
        }
    }

    impl std::error::Error for FakeDbError {}

    impl sqlx::error::DatabaseError for FakeDbError {
        fn message(&self) -> &str {
            self.message
        }

        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.code))
        }

        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }

        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn deadlock() -> sqlx::Error {
        sqlx::Error::Database(Box::new(FakeDbError {
            code: "40001",
            message: "Deadlock found when trying to get lock; try restarting transaction",
        }))
    }

    async fn pool() -> (DbPool, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("retry.db").display());
        let pool = DbPool::connect(&url, 2, 0, Duration::from_secs(5), None)
            .await
            .expect("sqlite pool");
        crate::db::db_run!(pool, |c| sqlx::query("CREATE TABLE t (n INTEGER NOT NULL)")
            .execute(c)
            .await
            .map(|_| ()))
        .expect("table");
        (pool, dir)
    }

    #[test]
    fn lock_conflicts_are_told_from_other_errors() {
        assert!(is_lock_conflict(&deadlock()));
        let galera = sqlx::Error::Database(Box::new(FakeDbError {
            code: "HY000",
            message: "WSREP detected deadlock/conflict and aborted the transaction. Try restarting the transaction",
        }));
        assert!(is_lock_conflict(&galera));
        let duplicate = sqlx::Error::Database(Box::new(FakeDbError {
            code: "23000",
            message: "Duplicate entry 'a' for key 'name'",
        }));
        assert!(!is_lock_conflict(&duplicate));
        assert!(!is_lock_conflict(&sqlx::Error::RowNotFound));
        assert!(!is_lock_conflict(&sqlx::Error::PoolTimedOut));
    }

    #[test]
    fn pauses_grow_with_jitter_and_stay_bounded() {
        for attempt in 1..=ATTEMPTS + 3 {
            let pause = pause_after(attempt);
            assert!(pause <= MAX_PAUSE, "{attempt}: {pause:?}");
            assert!(pause >= FIRST_PAUSE / 2, "{attempt}: {pause:?}");
        }
        assert!(pause_after(1) <= FIRST_PAUSE);
        assert!(
            pause_after(5) >= FIRST_PAUSE * 8,
            "the fifth pause is at least half of 160 ms"
        );
    }

    #[rocket::async_test]
    async fn a_transaction_that_lost_a_deadlock_runs_again_whole() {
        let (pool, _dir) = pool().await;
        let attempts = AtomicU32::new(0);
        let result: Result<i64, sqlx::Error> = crate::db::db_transaction!(pool, |c| {
            let mut tx = sqlx::Connection::begin(c).await?;
            sqlx::query("INSERT INTO t (n) VALUES (1)")
                .execute(&mut *tx)
                .await?;
            // The first two attempts lose a deadlock after writing: their row must go.
            if attempts.fetch_add(1, Ordering::SeqCst) < 2 {
                return Err(deadlock());
            }
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(n)
        });
        assert_eq!(
            result.expect("third attempt succeeds"),
            1,
            "earlier attempts rolled back"
        );
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
        let rows = crate::db::db_run!(pool, |c| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM t"
        )
        .fetch_one(c)
        .await)
        .expect("count");
        assert_eq!(rows, 1);
        pool.close().await;
    }

    #[rocket::async_test]
    async fn a_conflict_that_outlasts_every_attempt_is_a_503_with_retry_after() {
        let (pool, _dir) = pool().await;
        let attempts = AtomicU32::new(0);
        let result: Result<(), sqlx::Error> = crate::db::db_transaction!(pool, |c| {
            let mut tx = sqlx::Connection::begin(c).await?;
            sqlx::query("INSERT INTO t (n) VALUES (1)")
                .execute(&mut *tx)
                .await?;
            attempts.fetch_add(1, Ordering::SeqCst);
            Err(deadlock())
        });
        assert_eq!(attempts.load(Ordering::SeqCst), ATTEMPTS);
        let error = AppError::from(result.expect_err("gives up"));
        assert_eq!(error.status(), rocket::http::Status::ServiceUnavailable);
        assert_eq!(error.retry_after(), Some(RETRY_AFTER_SECS));
        // Other errors are not retried.
        let other = AtomicU32::new(0);
        let result: Result<(), sqlx::Error> = crate::db::db_transaction!(pool, |c| {
            other.fetch_add(1, Ordering::SeqCst);
            sqlx::query("INSERT INTO missing (n) VALUES (1)")
                .execute(c)
                .await
                .map(drop)
        });
        assert!(result.is_err());
        assert_eq!(other.load(Ordering::SeqCst), 1);
        let rows = crate::db::db_run!(pool, |c| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM t"
        )
        .fetch_one(c)
        .await)
        .expect("count");
        assert_eq!(rows, 0, "no attempt left a row behind");
        pool.close().await;
    }
}
