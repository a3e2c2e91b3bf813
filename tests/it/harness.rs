//! The test harness: one app per test on a fresh database, on SQLite and on MariaDB.
//!
//! MySQL variants need `CONDUIT_TEST_MYSQL_URL` (a server URL such as
//! `mysql://conduit_test:pw@127.0.0.1:3306`); each test creates and drops its own database.
//! Without it they report that they were skipped, unless `CONDUIT_TEST_REQUIRE_MYSQL=1`, which
//! makes them fail instead (CI).

use std::io::Write;

use conduit::db::{Db, DbPool, Engine};
use rocket::figment::Figment;
use rocket::local::asynchronous::Client;
use sqlx::Connection;

/// A running app on its own database.
pub struct TestApp {
    /// Rocket's local client (tracks cookies like a browser).
    pub client: Client,
    /// The engine under test.
    pub engine: Engine,
    /// The database URL the app runs on (for the CLI and backup tests).
    pub url: String,
    /// The test's temp folder (backups go to `backups/` inside it).
    pub dir: std::path::PathBuf,
    _dir: tempfile::TempDir,
    _mysql: Option<MySqlScratch>,
}

/// A per-test MySQL database, dropped when the test ends.
pub struct MySqlScratch {
    server: String,
    name: String,
}

impl MySqlScratch {
    /// Drop database `name` on `server` (a URL without a database) when the test ends, however
    /// it was created.
    pub fn adopt(server: String, name: String) -> Self {
        Self { server, name }
    }
}

impl Drop for MySqlScratch {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::MySqlConnection::connect(&server).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// The MySQL server URL for tests, or `None` (after reporting the skip) when not configured.
pub fn mysql_server_url(test: &str) -> Option<String> {
    match std::env::var("CONDUIT_TEST_MYSQL_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().trim_end_matches('/').to_owned()),
        _ => {
            skip_without_mysql(
                test,
                "CONDUIT_TEST_MYSQL_URL is not set",
                "set it to run the test on MariaDB/MySQL",
            );
            None
        }
    }
}

/// Report that `test` is skipped because `missing` (what a MySQL test needs) is not there, and
/// how to `fix` it; or fail, when the run requires MySQL (`CONDUIT_TEST_REQUIRE_MYSQL=1`, CI):
/// a missing server, package or URL must not pass as a skip there.
pub fn skip_without_mysql(test: &str, missing: &str, fix: &str) {
    assert!(
        std::env::var("CONDUIT_TEST_REQUIRE_MYSQL").as_deref() != Ok("1"),
        "CONDUIT_TEST_REQUIRE_MYSQL=1 but {missing} ({fix})"
    );
    // Written straight to stderr so libtest's capture does not hide it.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {missing} ({fix})");
}

/// A fresh, empty database for `engine`: its URL, the temp dir it lives in, and the MySQL scratch.
pub async fn scratch_database(
    engine: Engine,
    test: &str,
) -> Option<(String, tempfile::TempDir, Option<MySqlScratch>)> {
    let dir = tempfile::tempdir().expect("temp dir");
    match engine {
        Engine::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("conduit.db").display());
            Some((url, dir, None))
        }
        Engine::MySql => {
            let server = mysql_server_url(test)?;
            let name = format!("conduit_t_{:016x}", rand::random::<u64>());
            let mut conn = sqlx::MySqlConnection::connect(&server)
                .await
                .expect("connect to CONDUIT_TEST_MYSQL_URL");
            sqlx::query(&format!(
                "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            ))
            .execute(&mut conn)
            .await
            .expect("create test database");
            let url = format!("{server}/{name}");
            Some((url, dir, Some(MySqlScratch { server, name })))
        }
    }
}

/// The configuration every test app starts from: the project's own, pointed at `url`.
pub fn test_figment(url: &str) -> Figment {
    conduit::config::figment()
        .select("debug")
        .merge(("databases.main.url", url))
        .merge(("databases.main.max_connections", 4))
        .merge(("log_level", "off"))
        // No background pass deleting rows a test is looking at (tests/it/housekeeping.rs turns
        // it on where it is the subject).
        .merge(("housekeeping_minutes", 0))
        // No checkpoints behind the WAL tests' backs (tests/it/wal.rs turns them on).
        .merge(("wal_check_seconds", 0))
        // No backfill of MySQL's search postings unless a test asks (tests/it/search_posted.rs).
        .merge(("search_backfill_seconds", 0))
        // No API rate limits: many tests send hundreds of requests from one address in a few
        // seconds, as a load test does, and their subject is something else; the limits' own
        // tests (tests/it/rate_limit.rs) turn them on with small budgets.
        .merge(("rate_limits", false))
        // Mail without a mail server goes to files: never into the checkout (`spawn_with` gives
        // each app a folder in its own temp dir), nor to the log.
        .merge(("mail_dir", std::env::temp_dir().join("conduit-test-mail")))
        .merge(("mail_log", false))
}

impl TestApp {
    /// An app on a fresh database, or `None` when the engine is not available (reported).
    pub async fn spawn(engine: Engine, test: &str) -> Option<Self> {
        Self::spawn_with(engine, test, |f| f).await
    }

    /// Like [`spawn`](Self::spawn), with the configuration adjusted first.
    pub async fn spawn_with(
        engine: Engine,
        test: &str,
        adjust: impl FnOnce(Figment) -> Figment,
    ) -> Option<Self> {
        let (url, dir, mysql) = scratch_database(engine, test).await?;
        let figment = adjust(
            test_figment(&url)
                .merge(("backup_dir", dir.path().join("backups")))
                .merge(("mail_dir", dir.path().join("mail"))),
        );
        let dir_path = dir.path().to_path_buf();
        let client = Client::tracked(conduit::rocket_with(figment))
            .await
            .expect("valid rocket instance");
        Some(Self {
            client,
            engine,
            url,
            dir: dir_path,
            _dir: dir,
            _mysql: mysql,
        })
    }

    /// The app's database pool, for seeding and for asserting database state.
    pub fn db(&self) -> &DbPool {
        self.client
            .rocket()
            .state::<Db>()
            .expect("database is managed")
    }
}

/// One test body, run on SQLite and on MariaDB: `db_test!(async fn name(app) { ... });`, or with
/// the configuration adjusted first: `db_test!(|f| f.merge(("key", 3)), async fn name(app) { ... });`.
macro_rules! db_test {
    ($(#[$meta:meta])* $(|$f:ident| $adjust:expr,)? async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            #[rocket::async_test]
            async fn sqlite() {
                let $app = $crate::harness::TestApp::spawn_with(conduit::db::Engine::Sqlite, concat!(module_path!(), "::sqlite"), |f| {
                    $(let $f = f; let f = $adjust;)?
                    f
                })
                .await
                .expect("sqlite is always available");
                $body
            }

            $(#[$meta])*
            #[rocket::async_test]
            async fn mysql() {
                let Some($app) = $crate::harness::TestApp::spawn_with(conduit::db::Engine::MySql, concat!(module_path!(), "::mysql"), |f| {
                    $(let $f = f; let f = $adjust;)?
                    f
                })
                .await
                else {
                    return;
                };
                $body
            }
        }
    };
}

/// The password in a database URL (`scheme://user:password@host/...`), as the server is to get
/// it: the tests' expectations follow whatever credentials CI configured.
pub fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split('/').next()?.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    Some(
        rocket::http::RawStr::new(password)
            .percent_decode_lossy()
            .into_owned(),
    )
}
