//! The connection pool behind [`DbPool`](super::pool::DbPool): one `deadpool` pool per engine
//! ([`ConnPool`]) with our [`Manager`], handing out [`Pooled`] connections that go back without
//! a round trip, and a sweeper closing idle connections past their lifetime or idle timeout.

use std::time::Duration;

use deadpool::managed::{Object, Pool, QueueMode};
use sqlx::Connection;

use super::manager::{LastUse, Limits, Manager, Setup};

/// Connections idle longer than this are pinged before use; busier ones are trusted (the server
/// may have closed an idle one meanwhile: MySQL's `wait_timeout`, a restart, a proxy).
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(30);

/// How long a check of a connection may take before it is given up as dead.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Connections are closed (and replaced on demand) once this old, unless `max_lifetime` says
/// otherwise: server-side state and memory do not grow without end.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// How big a pool is and how long it waits and keeps connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    /// At most this many connections are open.
    pub(crate) max: u32,
    /// Opened at start and kept however long they sit idle.
    pub(crate) min: u32,
    /// How long `acquire` waits for a connection before `PoolTimedOut` (a 503).
    pub(crate) acquire: Duration,
    /// Idle connections beyond `min` are closed after this long.
    pub(crate) idle: Option<Duration>,
    /// Connections are closed once this old.
    pub(crate) max_lifetime: Option<Duration>,
    /// SQLite's `journal_size_limit`, in bytes.
    pub(crate) journal_size_limit: u64,
    /// SQLite: the page caches of all the pool's connections together, in KiB.
    pub(crate) page_cache_kib: u64,
}

/// Connections of one engine shared by every request: a `deadpool` pool of at most `max`,
/// handed out most recently used first, waiters served in order. A connection goes back as
/// soon as its statement (or transaction) is done, without a round trip; see
/// [`manager`](super::manager) for when one is checked.
pub struct ConnPool<C: Connection + 'static> {
    pool: Pool<Manager<C>>,
    acquire: Duration,
}

impl<C: Connection + 'static> Clone for ConnPool<C> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            acquire: self.acquire,
        }
    }
}

impl<C: Connection + 'static> std::fmt::Debug for ConnPool<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnPool")
            .field("status", &self.pool.status())
            .field("acquire", &self.acquire)
            .finish_non_exhaustive()
    }
}

/// The driver's error for a pool's.
fn from_pool_error(error: deadpool::managed::PoolError<sqlx::Error>) -> sqlx::Error {
    use deadpool::managed::PoolError as E;
    match error {
        E::Backend(e) => e,
        E::Timeout(_) => sqlx::Error::PoolTimedOut,
        E::Closed => sqlx::Error::PoolClosed,
        other => sqlx::Error::Configuration(other.to_string().into()),
    }
}

impl<C: Connection + 'static> ConnPool<C> {
    /// Open the pool and its first `min` connections (at least one, so a bad URL or password
    /// fails at start rather than on the first request).
    pub(crate) async fn open(
        options: C::Options,
        sizes: Sizes,
        setup: Option<(Setup<C>, String)>,
    ) -> Result<Self, sqlx::Error> {
        let limits = Limits {
            ping_after_idle: PING_WHEN_IDLE_FOR,
            ping_timeout: PING_TIMEOUT,
            max_lifetime: sizes.max_lifetime,
            idle_timeout: sizes.idle,
        };
        let max = usize::try_from(sizes.max.max(1)).unwrap_or(1);
        let pool = Pool::builder(Manager::new(options, setup, limits))
            .max_size(max)
            .queue_mode(QueueMode::Lifo)
            .build()
            .map_err(|e| sqlx::Error::Configuration(e.to_string().into()))?;
        let pool = Self {
            pool,
            acquire: sizes.acquire,
        };
        let mut first = Vec::new();
        for _ in 0..sizes.min.clamp(1, sizes.max.max(1)) {
            first.push(pool.acquire().await?);
        }
        for held in first {
            held.finish(&Ok::<(), sqlx::Error>(()));
        }
        let min = usize::try_from(sizes.min).unwrap_or(0);
        if let Some(every) = sweep_interval(&limits) {
            tokio::spawn(sweep(pool.pool.weak(), min, every));
        }
        Ok(pool)
    }

    /// The pool's occupancy right now (deadpool's status).
    pub fn status(&self) -> deadpool::Status {
        self.pool.status()
    }

    /// A connection for the caller alone until the returned guard is dropped; waits up to the
    /// acquire timeout (`PoolTimedOut`) and fails at once when the pool is closed.
    pub async fn acquire(&self) -> Result<Pooled<C>, sqlx::Error> {
        let object = tokio::time::timeout(self.acquire, self.pool.get())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(from_pool_error)?;
        Ok(Pooled {
            object: Some(object),
            finished: false,
        })
    }

    /// Refuse new acquires and close the idle connections (saying goodbye to the server);
    /// connections in use close when their users are done with them.
    pub async fn close(&self) {
        let idle = self.pool.retain(|_, _| false).removed;
        self.pool.close();
        for tracked in idle {
            let _ = tracked.conn.close().await;
        }
    }
}

/// How often the sweeper looks for idle connections to close, if there is anything to close.
fn sweep_interval(limits: &Limits) -> Option<Duration> {
    let shortest = match (limits.idle_timeout, limits.max_lifetime) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some((shortest / 2).clamp(Duration::from_secs(1), Duration::from_secs(60)))
}

/// Close the idle connections past their lifetime or idle timeout (keeping `min` open against
/// the idle timeout), until the pool is closed or gone.
async fn sweep<C: Connection + 'static>(
    pool: deadpool::managed::WeakPool<Manager<C>>,
    min: usize,
    every: Duration,
) {
    loop {
        tokio::time::sleep(every).await;
        let Some(pool) = pool.upgrade() else { return };
        if pool.is_closed() {
            return;
        }
        let limits = pool.manager().limits;
        let mut open = pool.status().size;
        let removed = pool
            .retain(|tracked, metrics| {
                let (age, idle) = (metrics.age(), tracked.idle_since.elapsed());
                let too_old = limits.max_lifetime.is_some_and(|max| age >= max);
                let close = too_old || (limits.expired(age, idle) && open > min);
                open -= usize::from(close);
                !close
            })
            .removed;
        drop(pool);
        for tracked in removed {
            let _ = tracked.conn.close().await;
        }
    }
}

/// A connection taken from a [`ConnPool`]; dropping it gives the connection back.
pub struct Pooled<C: Connection + 'static> {
    object: Option<Object<Manager<C>>>,
    finished: bool,
}

impl<C: Connection + 'static> Pooled<C> {
    /// The connection.
    ///
    /// # Panics
    ///
    /// Never: the connection is taken out only when the guard is dropped.
    pub fn conn(&mut self) -> &mut C {
        &mut self
            .object
            .as_mut()
            .expect("a pooled connection is present until it is dropped")
            .conn
    }

    /// Record how the work on the connection ended: finished, it goes back as it is; ended by
    /// an I/O or protocol failure, it is closed. If this is never called (the work was
    /// interrupted, or returned early from inside a transaction), the connection is checked
    /// before it goes back (see `Drop`).
    pub fn finish<T>(mut self, result: &Result<T, sqlx::Error>) {
        match result {
            Ok(_)
            | Err(
                sqlx::Error::Database(_)
                | sqlx::Error::RowNotFound
                | sqlx::Error::ColumnDecode { .. }
                | sqlx::Error::ColumnNotFound(_)
                | sqlx::Error::ColumnIndexOutOfBounds { .. }
                | sqlx::Error::Decode(_)
                | sqlx::Error::Encode(_)
                | sqlx::Error::TypeNotFound { .. },
            ) => self.finished = true,
            // Out of the pool for good (its slot freed), and dropped: the stream is unusable.
            Err(_) => drop(self.object.take().map(Object::take)),
        }
    }
}

impl<C: Connection + 'static> Drop for Pooled<C> {
    fn drop(&mut self) {
        let Some(mut object) = self.object.take() else {
            return;
        };
        let runtime = tokio::runtime::Handle::try_current().ok();
        if Object::pool(&object).is_none_or(|pool| pool.is_closed()) {
            // Shutting down: say goodbye to the server if there is still a runtime to do it.
            let tracked = Object::take(object);
            if let Some(runtime) = runtime {
                runtime.spawn(async move {
                    let _ = tracked.conn.close().await;
                });
            }
            return;
        }
        if self.finished {
            object.finished();
            return;
        }
        // Interrupted: a statement may still be running, or a dropped transaction left its
        // ROLLBACK queued (MySQL sends it with the next command, and until then its rows stay
        // locked). A ping at once waits for the one and sends the other; the connection keeps
        // its slot until then, and goes back only if it answers. Without a runtime it goes back
        // marked, and the pool pings it before its next use.
        object.last_use = LastUse::Interrupted;
        let Some(runtime) = runtime else { return };
        runtime.spawn(async move {
            if object.ping(PING_TIMEOUT).await.is_ok() {
                object.finished();
            } else {
                drop(Object::take(object));
            }
        });
    }
}
