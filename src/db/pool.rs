//! The database pool: one enum over the two native sqlx drivers, chosen at run time by the
//! URL scheme of `databases.main.url`, plus the `rocket_db_pools::Pool` impl and migrations.
//!
//! sqlx's `Any` driver is deliberately not used: on SQLite it truncated BIGINTs and lost the
//! last insert id (DESIGN.md section 2). Every query is instead written once and compiled for
//! both engines by [`db_run!`](crate::db_run).

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rocket::figment::Figment;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Executor;

/// Which database engine a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// SQLite, embedded: the default for development and demos.
    Sqlite,
    /// MySQL or MariaDB: the production engine.
    MySql,
}

impl Engine {
    /// The engine a database URL names, if it names one we support.
    pub fn from_url(url: &str) -> Option<Self> {
        let scheme = url.split(':').next().unwrap_or_default().to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Self::Sqlite),
            "mysql" | "mariadb" => Some(Self::MySql),
            _ => None,
        }
    }
}

/// The two native pools. Cloning is cheap: both are `Arc`s inside.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A pool of SQLite connections.
    Sqlite(SqlitePool),
    /// A pool of MySQL/MariaDB connections.
    MySql(MySqlPool),
}

/// The application's database handle: a native pool plus a statement counter that tests use
/// to prove list endpoints run a constant number of SQL round trips.
#[derive(Clone, Debug)]
pub struct DbPool {
    backend: Backend,
    statements: Arc<AtomicU64>,
}

/// Settings read from `databases.main` (Rocket's own database config keys).
#[derive(Debug, serde::Deserialize)]
struct PoolConfig {
    url: String,
    #[serde(default)]
    min_connections: Option<u32>,
    max_connections: usize,
    /// Seconds to wait for a connection before a request fails with 503.
    connect_timeout: u64,
    #[serde(default)]
    idle_timeout: Option<u64>,
}

/// Why the pool could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The `databases.main` section is missing or malformed.
    #[error("config key `databases.main`: {0}")]
    Config(String),
    /// The driver refused the URL or the connection.
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The strict SQL mode set on every MySQL connection: sqlx does not set one, and without it
/// MySQL silently truncates over-long strings (SECURITY.md traps).
const MYSQL_SQL_MODE: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'";

impl DbPool {
    /// Open a pool for `url` with the given sizes. SQLite files are created when missing.
    pub async fn connect(
        url: &str,
        max: u32,
        min: u32,
        acquire: Duration,
        idle: Option<Duration>,
    ) -> Result<Self, PoolError> {
        let backend = match Engine::from_url(url) {
            Some(Engine::Sqlite) => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| Box::pin(async move { still_alive(conn, meta).await }))
                    .max_connections(max)
                    .min_connections(min)
                    .acquire_timeout(acquire)
                    .idle_timeout(idle)
                    .connect_with(options)
                    .await?;
                Backend::Sqlite(pool)
            }
            Some(Engine::MySql) => {
                let url = url.replacen("mariadb:", "mysql:", 1);
                let options = MySqlConnectOptions::from_str(&url)?
                    .charset("utf8mb4")
                    .timezone(Some("+00:00".into()));
                let pool = MySqlPoolOptions::new()
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| Box::pin(async move { still_alive(conn, meta).await }))
                    .max_connections(max)
                    .min_connections(min)
                    .acquire_timeout(acquire)
                    .idle_timeout(idle)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(MYSQL_SQL_MODE).await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?;
                Backend::MySql(pool)
            }
            None => {
                return Err(PoolError::Config(format!(
                    "url must start with sqlite: or mysql:, got `{}`",
                    redact_url(url)
                )))
            }
        };
        Ok(Self {
            backend,
            statements: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The engine behind this pool.
    pub fn engine(&self) -> Engine {
        match self.backend {
            Backend::Sqlite(_) => Engine::Sqlite,
            Backend::MySql(_) => Engine::MySql,
        }
    }

    /// The native pool. Used by [`db_run!`](crate::db_run) only.
    #[doc(hidden)]
    pub fn backend(&self) -> &Backend {
        self.statements.fetch_add(1, Ordering::Relaxed);
        &self.backend
    }

    /// How many statements (round trips) this pool has run so far.
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Apply the embedded migrations for this engine.
    pub async fn migrate(&self) -> Result<(), PoolError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await?,
            Backend::MySql(p) => sqlx::migrate!("migrations/mysql").run(p).await?,
        }
        Ok(())
    }

    /// `SELECT 1`: whether the database answers right now.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        crate::db_run!(self, |c| sqlx::query("SELECT 1").execute(c).await.map(|_| ()))
    }

    /// Close every connection (graceful shutdown).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(p) => p.close().await,
            Backend::MySql(p) => p.close().await,
        }
    }
}

/// Connections idle longer than this are pinged before use; busier ones are trusted. sqlx's
/// default pings on every acquire, a whole extra round trip per query on MySQL.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(2);

/// `before_acquire`: ping a connection that sat idle (the server may have gone away or closed
/// it meanwhile); a dead one is discarded and the pool opens a fresh one.
async fn still_alive<C: sqlx::Connection>(
    conn: &mut C,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> Result<bool, sqlx::Error> {
    if meta.idle_for < PING_WHEN_IDLE_FOR {
        return Ok(true);
    }
    Ok(conn.ping().await.is_ok())
}

/// A URL with its password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[rocket::async_trait]
impl rocket_db_pools::Pool for DbPool {
    type Connection = DbPool;
    type Error = PoolError;

    async fn init(figment: &Figment) -> Result<Self, Self::Error> {
        let config: PoolConfig = figment.extract().map_err(|e| PoolError::Config(e.to_string()))?;
        let max = u32::try_from(config.max_connections).unwrap_or(u32::MAX).max(1);
        let pool = Self::connect(
            &config.url,
            max,
            config.min_connections.unwrap_or(0).min(max),
            Duration::from_secs(config.connect_timeout.max(1)),
            config.idle_timeout.map(Duration::from_secs),
        )
        .await?;
        pool.migrate().await?;
        log::info!("database: {:?} at {}", pool.engine(), redact_url(&config.url));
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

/// Run the same block once per engine: `$conn` is the native pool (an `Executor`) in each arm,
/// so the body is written once with native types. Each invocation counts as one statement.
#[macro_export]
macro_rules! db_run {
    ($pool:expr, |$conn:ident| $body:expr) => {
        match $pool.backend() {
            $crate::db::pool::Backend::Sqlite($conn) => $body,
            $crate::db::pool::Backend::MySql($conn) => $body,
        }
    };
}

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
        assert_eq!(Engine::from_url("sqlite://conduit.db"), Some(Engine::Sqlite));
        assert_eq!(Engine::from_url("mysql://u:p@h/db"), Some(Engine::MySql));
        assert_eq!(Engine::from_url("MariaDB://u:p@h/db"), Some(Engine::MySql));
        assert_eq!(Engine::from_url("postgres://h/db"), None);
    }

    #[test]
    fn redact_url_hides_the_password() {
        assert_eq!(
            redact_url("mysql://app:s3cret@127.0.0.1:3306/c"),
            "mysql://app:***@127.0.0.1:3306/c"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
