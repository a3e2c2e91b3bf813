//! The `deadpool` manager behind [`ConnPool`](super::conn_pool::ConnPool): how a pooled sqlx
//! connection is made, and whether one coming back into use is trusted as it is, pinged
//! first, or closed.
//!
//! A connection whose last statement (or transaction) finished goes back and out again with
//! no round trip. It is pinged before reuse only when its last user was interrupted (the
//! future was dropped mid-statement, or left a transaction open: the ping waits for the one
//! and sends the queued `ROLLBACK` of the other), or when it sat idle long enough for the
//! server to have dropped it meanwhile (MySQL's `wait_timeout`, a restart, a proxy). A ping
//! that never answers is given up after [`Limits::ping_timeout`], so it cannot hold a slot for
//! good (sqlx issue #4349, why this is not `sqlx::Pool`). A connection that failed with an I/O
//! or protocol error never comes back (see `Pooled::finish`). A connection older than its
//! maximum lifetime is closed rather than reused; [`Limits::expired`] also tells the pool's
//! sweeper which idle ones to close.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use deadpool::managed::{Metrics, RecycleError, RecycleResult};
use sqlx::{ConnectOptions, Connection};

/// Set-up run on each new connection with its argument (the MySQL session settings, and the
/// `SET` statement they are made with).
pub type Setup<C> =
    for<'c> fn(
        &'c mut C,
        &'c str,
    ) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>>;

/// How a connection's last use ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastUse {
    /// Its statement or transaction ran to the end (successfully or with an SQL error).
    Finished,
    /// Its user went away mid-way: a statement may still be running, or a transaction open.
    Interrupted,
}

/// What to do with a connection before handing it out again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Hand it out as it is: no round trip.
    Reuse,
    /// Ping it first; close it if the ping fails or does not answer in time.
    Ping,
    /// Close it (too old).
    Close,
}

/// The times that decide a connection's fate.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A connection idle this long is pinged before reuse.
    pub ping_after_idle: Duration,
    /// How long a ping may take before the connection is given up as dead.
    pub ping_timeout: Duration,
    /// A connection this old is closed instead of reused.
    pub max_lifetime: Option<Duration>,
    /// A connection idle this long is closed by the sweeper (beyond the pool's minimum).
    pub idle_timeout: Option<Duration>,
}

impl Limits {
    /// The check a connection of this `age`, `idle` for this long since it came back, needs
    /// before reuse.
    pub fn check(&self, last: LastUse, age: Duration, idle: Duration) -> Check {
        if self.max_lifetime.is_some_and(|max| age >= max) {
            Check::Close
        } else if last == LastUse::Interrupted || idle >= self.ping_after_idle {
            Check::Ping
        } else {
            Check::Reuse
        }
    }

    /// Whether an idle connection should be closed: past its lifetime, or idle too long.
    pub fn expired(&self, age: Duration, idle: Duration) -> bool {
        self.max_lifetime.is_some_and(|max| age >= max)
            || self.idle_timeout.is_some_and(|t| idle >= t)
    }
}

/// A pooled connection and how its last use went.
pub struct Tracked<C> {
    /// The driver's connection.
    pub conn: C,
    /// How its last use ended.
    pub last_use: LastUse,
    /// When it last went back to the pool (or was made).
    pub idle_since: Instant,
}

impl<C: Connection> Tracked<C> {
    /// Ping the connection, giving up after `timeout`.
    pub async fn ping(&mut self, timeout: Duration) -> Result<(), sqlx::Error> {
        match tokio::time::timeout(timeout, self.conn.ping()).await {
            Ok(result) => result,
            Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the connection did not answer a ping in time",
            ))),
        }
    }

    /// Mark the connection as back in the pool after a finished use.
    pub fn finished(&mut self) {
        self.last_use = LastUse::Finished;
        self.idle_since = Instant::now();
    }
}

/// Makes and checks the connections of one engine for a `deadpool` pool.
pub struct Manager<C: Connection> {
    options: C::Options,
    setup: Option<(Setup<C>, String)>,
    /// The times that decide when a connection is pinged or closed.
    pub limits: Limits,
}

impl<C: Connection> Manager<C> {
    /// A manager connecting with `options`, running `setup` (with its argument) on each new
    /// connection.
    pub fn new(options: C::Options, setup: Option<(Setup<C>, String)>, limits: Limits) -> Self {
        Self {
            options,
            setup,
            limits,
        }
    }
}

impl<C: Connection> std::fmt::Debug for Manager<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<C: Connection + 'static> deadpool::managed::Manager for Manager<C> {
    type Type = Tracked<C>;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<Tracked<C>, sqlx::Error> {
        let mut conn = self.options.connect().await?;
        if let Some((setup, arg)) = &self.setup {
            setup(&mut conn, arg).await?;
        }
        Ok(Tracked {
            conn,
            last_use: LastUse::Finished,
            idle_since: Instant::now(),
        })
    }

    async fn recycle(
        &self,
        tracked: &mut Tracked<C>,
        metrics: &Metrics,
    ) -> RecycleResult<sqlx::Error> {
        match self.limits.check(
            tracked.last_use,
            metrics.age(),
            tracked.idle_since.elapsed(),
        ) {
            Check::Reuse => Ok(()),
            Check::Close => Err(RecycleError::message("past its maximum lifetime")),
            // A dead connection is dropped without a goodbye: its peer is gone.
            Check::Ping => {
                tracked.ping(self.limits.ping_timeout).await?;
                tracked.finished();
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn limits() -> Limits {
        Limits {
            ping_after_idle: SEC * 30,
            ping_timeout: SEC * 2,
            max_lifetime: Some(SEC * 1800),
            idle_timeout: Some(SEC * 600),
        }
    }

    #[test]
    fn a_finished_connection_is_reused_without_a_ping() {
        assert_eq!(
            limits().check(LastUse::Finished, SEC * 60, SEC * 29),
            Check::Reuse
        );
        assert_eq!(
            limits().check(LastUse::Finished, Duration::ZERO, Duration::ZERO),
            Check::Reuse
        );
    }

    #[test]
    fn an_interrupted_or_long_idle_connection_is_pinged() {
        assert_eq!(
            limits().check(LastUse::Interrupted, SEC, Duration::ZERO),
            Check::Ping
        );
        assert_eq!(
            limits().check(LastUse::Finished, SEC * 60, SEC * 30),
            Check::Ping
        );
        assert_eq!(
            limits().check(LastUse::Finished, SEC * 60, SEC * 31),
            Check::Ping
        );
    }

    #[test]
    fn a_connection_past_its_lifetime_is_closed_whatever_else() {
        for last in [LastUse::Finished, LastUse::Interrupted] {
            assert_eq!(
                limits().check(last, SEC * 1800, Duration::ZERO),
                Check::Close
            );
        }
        let forever = Limits {
            max_lifetime: None,
            ..limits()
        };
        assert_eq!(
            forever.check(LastUse::Finished, SEC * 86_400, SEC),
            Check::Reuse
        );
    }

    #[test]
    fn the_sweeper_closes_old_or_long_idle_connections() {
        assert!(!limits().expired(SEC * 60, SEC * 599));
        assert!(limits().expired(SEC * 60, SEC * 600));
        assert!(limits().expired(SEC * 1800, Duration::ZERO));
        let keep = Limits {
            max_lifetime: None,
            idle_timeout: None,
            ..limits()
        };
        assert!(!keep.expired(SEC * 86_400, SEC * 86_400));
    }

    #[rocket::async_test]
    async fn recycle_pings_only_what_needs_it() {
        use deadpool::managed::Manager as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("m.db"))
            .create_if_missing(true);
        let short = Limits {
            max_lifetime: Some(SEC * 3600),
            ..limits()
        };
        let manager = Manager::<sqlx::SqliteConnection>::new(options, None, short);
        let mut tracked = manager.create().await.expect("connect");
        let metrics = Metrics::default();
        assert!(manager.recycle(&mut tracked, &metrics).await.is_ok());
        // Interrupted: pinged, answered, and marked finished again.
        tracked.last_use = LastUse::Interrupted;
        assert!(manager.recycle(&mut tracked, &metrics).await.is_ok());
        assert_eq!(tracked.last_use, LastUse::Finished);
        // Too old: refused, so the pool closes it.
        let old = Metrics {
            created: Instant::now().checked_sub(SEC * 3600).expect("an hour ago"),
            ..Metrics::default()
        };
        assert!(manager.recycle(&mut tracked, &old).await.is_err());
    }
}
