//! The database pool: one enum over the two native sqlx drivers, chosen at run time by the
//! URL scheme of `databases.main.url` (read by [`DbUrl`](super::url::DbUrl)), plus the
//! `rocket_db_pools::Pool` impl and migrations.
//!
//! The connections are pooled by `deadpool` ([`ConnPool`]) with our own
//! [`Manager`](super::manager::Manager), not by `sqlx::Pool`: sqlx pings every connection as it
//! goes back to its pool, so each statement cost two round trips (on SQLite two hops to the
//! connection's worker thread, on MySQL two trips over the network), and a ping that never
//! answers holds its slot for good (sqlx issue #4349). Here a connection whose statement
//! finished goes straight back; one whose user was interrupted is pinged at once (with a
//! timeout), one that failed is closed, and one idle for a while is pinged before reuse.
//! Connections are closed past their maximum lifetime (`max_lifetime`, 30 minutes by default)
//! and, beyond `min_connections`, past the idle timeout; [`DbPool::close`] closes them all.
//!
//! sqlx's `Any` driver is deliberately not used: on SQLite it truncated BIGINTs and lost the
//! last insert id (DESIGN.md section 2). Every query is instead written once and compiled for
//! both engines by [`db_run!`](crate::db::db_run).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rocket::figment::Figment;
use sqlx::mysql::MySqlConnection;
use sqlx::sqlite::{SqliteConnection, SqliteJournalMode, SqliteSynchronous};

use super::conn_pool::{ConnPool, Sizes, MAX_LIFETIME};
use super::manager::Setup;
use super::session;
use super::url::{DbUrl, TlsMode};

pub use crate::db::url::Engine;

/// The two native pools. Cloning is cheap: both are `Arc`s inside.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A pool of SQLite connections.
    Sqlite(ConnPool<SqliteConnection>),
    /// A pool of MySQL/MariaDB connections.
    MySql(ConnPool<MySqlConnection>),
}

/// The application's database handle: a native pool plus a statement counter that tests use
/// to prove list endpoints run a constant number of SQL round trips.
#[derive(Clone, Debug)]
pub struct DbPool {
    backend: Backend,
    statements: Arc<AtomicU64>,
    /// The SQLite database's write-ahead log (`<file>-wal`); `None` on MySQL and in memory.
    wal: Option<Arc<std::path::Path>>,
    /// The popular tags this instance read lately (used on MySQL, see `db::tags`).
    popular_tags: Arc<super::tags::PopularMemo>,
}

/// Settings read from `databases.main` (Rocket's own database config keys).
#[derive(Debug, serde::Deserialize)]
struct PoolConfig {
    url: String,
    #[serde(default)]
    min_connections: Option<u32>,
    /// The pool's size; when not set, [`default_max_connections`] for the URL's engine.
    #[serde(default)]
    max_connections: Option<usize>,
    /// Seconds to wait for a connection before a request fails with 503.
    connect_timeout: u64,
    #[serde(default)]
    idle_timeout: Option<u64>,
    /// Seconds a connection may live before it is closed and replaced (default 30 minutes;
    /// 0: forever).
    #[serde(default)]
    max_lifetime: Option<u64>,
    /// SQLite: bytes the write-ahead log is cut back to once checkpointed (`journal_size_limit`).
    #[serde(default = "default_journal_size_limit")]
    journal_size_limit: u64,
    /// `wsrep_sync_wait` for each MySQL session on a Galera cluster (0, the default: not set);
    /// see [`session::mysql_session_sql`].
    #[serde(default)]
    galera_sync_wait: u8,
    /// SQLite: KiB of page cache shared out among the pool's connections (see
    /// [`PAGE_CACHE_KIB`]).
    #[serde(default = "default_page_cache_kib")]
    page_cache_kib: u64,
}

fn default_journal_size_limit() -> u64 {
    JOURNAL_SIZE_LIMIT
}

fn default_page_cache_kib() -> u64 {
    PAGE_CACHE_KIB
}

/// SQLite's `journal_size_limit` unless `databases.main.journal_size_limit` says otherwise.
pub const JOURNAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// SQLite's page caches, all the pool's connections together, in KiB, unless
/// `databases.main.page_cache_kib` says otherwise: each connection gets its share
/// (`cache_size`, at least 64 KiB), so the memory they hold does not grow with the pool size.
/// SQLite's own default is 2 MiB per connection, which over a pool of 8 to 16 held more of the
/// database in the server's memory than the kernel's page cache already does for every
/// connection at once (bench/NOTES-speed.md, "Peak RSS, third look").
pub const PAGE_CACHE_KIB: u64 = 2 * 1024;

/// The pool's size when `databases.main.max_connections` is not set. MySQL/MariaDB: 16 (the
/// server does the work; a connection mostly waits on the network). SQLite: two per core, at
/// least 2 and at most 16: its statements run on the server's own cores (each connection on a
/// thread of its own), so more connections than that only queue on the CPU while each holds
/// its page cache and thread (2, 4 and 8 measured the same throughput on the two-core bench
/// machine; bench/NOTES-speed.md).
pub fn default_max_connections(url: &DbUrl) -> u32 {
    match url {
        DbUrl::Sqlite(_) => {
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
            u32::try_from(cores * 2).unwrap_or(16).clamp(2, 16)
        }
        DbUrl::MySql(_) => 16,
    }
}

/// `figment` with `databases.main.max_connections` set to [`default_max_connections`] for its
/// URL's engine when the configuration does not set it. The app factory calls this before
/// `rocket_db_pools` fills in its own default (`workers * 4`, whatever the engine).
pub fn with_default_pool_size(figment: Figment) -> Figment {
    let url = figment
        .extract_inner::<String>("databases.main.url")
        .ok()
        .and_then(|url| DbUrl::parse(&url).ok());
    match url {
        Some(url) => figment.join((
            "databases.main.max_connections",
            default_max_connections(&url),
        )),
        None => figment,
    }
}

/// Why the pool could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The `databases.main` section is missing or malformed.
    #[error("config key `databases.main`: {0}")]
    Config(String),
    /// The URL cannot be used.
    #[error("{0}")]
    Url(#[from] super::url::UrlError),
    /// The driver refused the URL or the connection.
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The server refused the account while the URL turned TLS off (with a hint).
    #[error("{0}")]
    Refused(String),
}

/// An access refusal with `ssl-mode=DISABLED` is most often an account that requires TLS
/// (`REQUIRE SSL`): the server says only "Access denied", so the message adds the likely cause.
fn tls_hint(url: &DbUrl, e: PoolError) -> PoolError {
    let disabled = matches!(url, DbUrl::MySql(m) if m.tls().mode == TlsMode::Disabled);
    if disabled && e.to_string().contains("Access denied") {
        PoolError::Refused(format!(
            "{e} (the URL says ssl-mode=DISABLED: if this account requires TLS, use \
             ssl-mode=VERIFY_IDENTITY and ssl-ca=<CA file>)"
        ))
    } else {
        e
    }
}

impl DbPool {
    /// This pool's identity, the same for all its clones and distinct from any other open
    /// pool's (for state kept per database in the process).
    pub fn identity(&self) -> usize {
        Arc::as_ptr(&self.statements) as usize
    }

    /// Open a pool for `url` with the given sizes. SQLite files are created when missing.
    pub async fn connect(
        url: &str,
        max: u32,
        min: u32,
        acquire: Duration,
        idle: Option<Duration>,
    ) -> Result<Self, PoolError> {
        let sizes = Sizes {
            max,
            min,
            acquire,
            idle,
            max_lifetime: Some(MAX_LIFETIME),
            journal_size_limit: JOURNAL_SIZE_LIMIT,
            page_cache_kib: PAGE_CACHE_KIB,
        };
        Self::open(&DbUrl::parse(url)?, sizes, 0).await
    }

    async fn open(url: &DbUrl, sizes: Sizes, galera_sync_wait: u8) -> Result<Self, PoolError> {
        crate::tls::install_crypto_provider();
        let mut wal = None;
        let backend = match url {
            DbUrl::Sqlite(sqlite) => {
                if let Some(file) = sqlite.file() {
                    let mut name = file.as_os_str().to_owned();
                    name.push("-wal");
                    wal = Some(Arc::from(std::path::Path::new(&name)));
                }
                let options = sqlite
                    .options()
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    // The log is cut back to this size when it is rewound (db/wal.rs).
                    .pragma("journal_size_limit", sizes.journal_size_limit.to_string())
                    // A negative cache_size is KiB: this connection's share of the budget.
                    .pragma(
                        "cache_size",
                        format!("-{}", (sizes.page_cache_kib / u64::from(sizes.max)).max(64)),
                    );
                Backend::Sqlite(ConnPool::open(options, sizes, None).await?)
            }
            DbUrl::MySql(mysql) => {
                let options = mysql
                    .options()
                    .charset("utf8mb4")
                    .timezone(Some("+00:00".into()));
                let session = (
                    session::mysql_session as Setup<_>,
                    session::mysql_session_sql(galera_sync_wait),
                );
                Backend::MySql(ConnPool::open(options, sizes, Some(session)).await?)
            }
        };
        Ok(Self {
            backend,
            statements: Arc::new(AtomicU64::new(0)),
            wal,
            popular_tags: Arc::default(),
        })
    }

    /// The pool's occupancy right now (deadpool's status).
    pub fn status(&self) -> deadpool::Status {
        match &self.backend {
            Backend::Sqlite(p) => p.status(),
            Backend::MySql(p) => p.status(),
        }
    }

    /// The size of SQLite's write-ahead log file in bytes (0 when there is none right now);
    /// `None` on MySQL and for an in-memory database. One `stat`, no database round trip.
    pub fn wal_bytes(&self) -> Option<u64> {
        let wal = self.wal.as_deref()?;
        Some(std::fs::metadata(wal).map_or(0, |m| m.len()))
    }

    /// The popular tags this instance read lately (`db::tags`).
    pub fn popular_tags(&self) -> &super::tags::PopularMemo {
        &self.popular_tags
    }

    /// Say that a write just committed changed tags or their counts (an article written or
    /// deleted, a tag renamed or deleted, a user deleted): this instance's popular tags are
    /// read afresh from now on.
    pub fn tags_changed(&self) {
        self.popular_tags.changed();
    }

    /// The engine behind this pool.
    pub fn engine(&self) -> Engine {
        match self.backend {
            Backend::Sqlite(_) => Engine::Sqlite,
            Backend::MySql(_) => Engine::MySql,
        }
    }

    /// The native pool. Used by [`db_run!`](crate::db::db_run) only.
    #[doc(hidden)]
    pub fn backend(&self) -> &Backend {
        self.statements.fetch_add(1, Ordering::Relaxed);
        &self.backend
    }

    /// How many statements (round trips) this pool has run so far.
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Apply the embedded migrations for this engine (on MySQL one instance at a time, however
    /// many start at once, on one server or on a Galera cluster).
    pub async fn migrate(&self) -> Result<(), PoolError> {
        match &self.backend {
            Backend::Sqlite(p) => {
                let mut held = p.acquire().await?;
                sqlx::migrate!("migrations/sqlite")
                    .run_direct(held.conn())
                    .await?;
            }
            Backend::MySql(p) => {
                // A row lock that holds across a Galera cluster, instead of sqlx's `GET_LOCK`
                // (which each node keeps to itself): `migration_lock`.
                let mut held = p.acquire().await?;
                let mut migrator = sqlx::migrate!("migrations/mysql");
                migrator.set_locking(false);
                let holder = super::migration_lock::acquire(held.conn()).await?;
                let applied = migrator.run_direct(held.conn()).await;
                super::migration_lock::release(held.conn(), &holder).await?;
                applied?;
            }
        }
        Ok(())
    }

    /// `SELECT 1`: whether the database answers right now.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        crate::db::db_run!(self, |c| sqlx::query("SELECT 1")
            .execute(c)
            .await
            .map(|_| ()))
    }

    /// Close every connection (graceful shutdown): the idle ones now, each in-use one as its
    /// user gives it back. Acquiring fails with `PoolClosed` (a 503) from then on.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(p) => p.close().await,
            Backend::MySql(p) => p.close().await,
        }
    }
}

pub use super::url::redact_url;

#[rocket::async_trait]
impl rocket_db_pools::Pool for DbPool {
    type Connection = DbPool;
    type Error = PoolError;

    async fn init(figment: &Figment) -> Result<Self, Self::Error> {
        let config: PoolConfig = figment
            .extract()
            .map_err(|e| PoolError::Config(e.to_string()))?;
        let url = DbUrl::parse(&config.url)?;
        let max = config
            .max_connections
            .map_or_else(
                || default_max_connections(&url),
                |n| u32::try_from(n).unwrap_or(u32::MAX),
            )
            .max(1);
        let sizes = Sizes {
            max,
            min: config.min_connections.unwrap_or(0).min(max),
            acquire: Duration::from_secs(config.connect_timeout.max(1)),
            idle: config.idle_timeout.map(Duration::from_secs),
            max_lifetime: match config.max_lifetime {
                Some(0) => None,
                Some(secs) => Some(Duration::from_secs(secs)),
                None => Some(MAX_LIFETIME),
            },
            journal_size_limit: config.journal_size_limit,
            page_cache_kib: config.page_cache_kib,
        };
        if config.galera_sync_wait > 15 {
            return Err(PoolError::Config(format!(
                "galera_sync_wait must be 0 to 15 (a bit mask: 1 reads, 2 updates and deletes, \
                 4 inserts, 8 SHOW), not {}",
                config.galera_sync_wait
            )));
        }
        let pool = Self::open(&url, sizes, config.galera_sync_wait)
            .await
            .map_err(|e| tls_hint(&url, e))?;
        pool.migrate().await.map_err(|e| tls_hint(&url, e))?;
        log::info!(
            "database: {:?} at {}",
            pool.engine(),
            redact_url(&config.url)
        );
        Ok(pool)
    }

    async fn get(&self) -> Result<Self::Connection, Self::Error> {
        // Handing out the (Arc-backed) pool itself: each query acquires a connection for just
        // as long as it runs, so a slow request never pins one.
        Ok(self.clone())
    }

    async fn close(&self) {
        // Deliberately nothing: rocket_db_pools calls this from a shutdown fairing, which runs
        // while in-flight requests are still finishing in the grace period; closing here made
        // them fail with 503. `main` closes the pool once `launch()` has returned.
    }
}

/// Run the same block once per engine: `$conn` is a native connection (`&mut
/// SqliteConnection` or `&mut MySqlConnection`, an `Executor`) taken from the pool for just
/// this block, so the body is written once with native types. The block evaluates to a
/// `Result<_, sqlx::Error>`. Each invocation counts as one statement.
macro_rules! db_run {
    ($pool:expr, |$conn:ident| $body:expr) => {
        match $pool.backend() {
            $crate::db::pool::Backend::Sqlite(pool) => $crate::db::db_run!(@held pool, |$conn| $body),
            $crate::db::pool::Backend::MySql(pool) => $crate::db::db_run!(@held pool, |$conn| $body),
        }
    };
    (@held $pool:ident, |$conn:ident| $body:expr) => {
        match $pool.acquire().await {
            Ok(mut held) => {
                let result = {
                    let $conn = held.conn();
                    $body
                };
                held.finish(&result);
                result
            }
            Err(e) => Err(e),
        }
    };
}
pub(crate) use db_run;

/// The id the last `INSERT` generated, for either engine's query result.
pub trait LastInsertId {
    /// The generated id.
    fn last_id(&self) -> i64;
}

impl LastInsertId for sqlx::sqlite::SqliteQueryResult {
    fn last_id(&self) -> i64 {
        self.last_insert_rowid()
    }
}

impl LastInsertId for sqlx::mysql::MySqlQueryResult {
    fn last_id(&self) -> i64 {
        i64::try_from(self.last_insert_id()).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_chosen_by_url_scheme() {
        assert_eq!(Engine::from_scheme("sqlite"), Some(Engine::Sqlite));
        assert_eq!(Engine::from_scheme("mysql"), Some(Engine::MySql));
        assert_eq!(Engine::from_scheme("MariaDB"), Some(Engine::MySql));
        assert_eq!(Engine::from_scheme("postgres"), None);
    }

    #[test]
    fn an_unset_pool_size_is_two_sqlite_connections_per_core_and_sixteen_on_mysql() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let sqlite = DbUrl::parse("sqlite://conduit.db").expect("url");
        let expected = u32::try_from(cores * 2).expect("few cores").clamp(2, 16);
        assert_eq!(default_max_connections(&sqlite), expected);
        assert!((2..=16).contains(&default_max_connections(&sqlite)));
        let mysql = DbUrl::parse("mysql://u:p@127.0.0.1:3306/conduit").expect("url");
        assert_eq!(default_max_connections(&mysql), 16);
    }

    #[test]
    fn the_engine_default_fills_in_only_an_unset_pool_size() {
        let max = |figment: &Figment| {
            figment
                .extract_inner::<u32>("databases.main.max_connections")
                .expect("set")
        };
        let sqlite = Figment::new().merge(("databases.main.url", "sqlite://conduit.db"));
        let expected = default_max_connections(&DbUrl::parse("sqlite://conduit.db").expect("url"));
        assert_eq!(max(&with_default_pool_size(sqlite.clone())), expected);
        let set = sqlite.merge(("databases.main.max_connections", 3));
        assert_eq!(max(&with_default_pool_size(set)), 3);
        let mysql = Figment::new().merge(("databases.main.url", "mysql://u:p@127.0.0.1/conduit"));
        assert_eq!(max(&with_default_pool_size(mysql)), 16);
    }
}
