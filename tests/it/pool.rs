//! The connection pool (src/db/pool.rs, src/db/manager.rs): a query dropped mid-way leaves the
//! pool usable, a finished statement goes back without a ping, connections are closed past
//! their lifetime and idle timeout, and closing the pool closes every connection (the ones in
//! use as they are given back). "Open connections" are read from outside the app: MariaDB's
//! process list for this test's database; on SQLite, the WAL file, which SQLite removes when
//! the last connection to the database closes.

use std::time::{Duration, Instant};

use conduit::db::conn_pool::Pooled;
use conduit::db::pool::Backend;
use conduit::db::Engine;
use rocket::figment::Figment;
use rocket::http::Status;
use sqlx::Connection;

use crate::harness::{mysql_server_url, TestApp};
use crate::support::{exec, get_json, scalar};

/// A connection taken out of the pool and held, as by a request still in flight.
#[allow(dead_code)]
enum Held {
    Sqlite(Pooled<sqlx::SqliteConnection>),
    MySql(Pooled<sqlx::MySqlConnection>),
}

async fn hold_one(app: &TestApp) -> Held {
    match app.db().backend() {
        Backend::Sqlite(p) => Held::Sqlite(p.acquire().await.expect("acquire")),
        Backend::MySql(p) => Held::MySql(p.acquire().await.expect("acquire")),
    }
}

/// The app's database name on the MariaDB server (the last segment of its URL).
fn database_of(app: &TestApp) -> &str {
    app.url.rsplit('/').next().expect("a database name")
}

/// How many connections to this test's database are open, seen from outside the app: the
/// server's process list (MariaDB), or 1/0 for whether the WAL file is there (SQLite).
async fn open_connections(app: &TestApp) -> i64 {
    match app.engine {
        Engine::Sqlite => i64::from(app.dir.join("conduit.db-wal").exists()),
        Engine::MySql => {
            let server = mysql_server_url("pool").expect("MariaDB configured");
            let mut conn = sqlx::MySqlConnection::connect(&server)
                .await
                .expect("connect");
            let count = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ?",
            )
            .bind(database_of(app))
            .fetch_one(&mut conn)
            .await
            .expect("process list");
            let _ = conn.close().await;
            count
        }
    }
}

/// Wait (up to 10 s) until [`open_connections`] is `want`; panics with the last count if not.
async fn wait_for_open(app: &TestApp, want: i64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let open = open_connections(app).await;
        if open == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {open} connection(s) open, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn spawn(
    engine: Engine,
    test: &str,
    adjust: impl FnOnce(Figment) -> Figment,
) -> Option<TestApp> {
    let app = TestApp::spawn_with(engine, test, adjust).await;
    assert!(
        app.is_some() || engine == Engine::MySql,
        "sqlite is always available"
    );
    app
}

/// Runs `$body` with `$app` on SQLite and on MariaDB, each app configured by `$adjust`.
macro_rules! pool_test {
    ($name:ident, $adjust:expr, |$app:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run(engine: Engine) {
                let test = concat!(module_path!(), "::", stringify!($name));
                let Some($app) = spawn(engine, test, $adjust).await else {
                    return;
                };
                $body
            }

            #[rocket::async_test]
            async fn sqlite() {
                run(Engine::Sqlite).await;
            }

            #[rocket::async_test]
            async fn mysql() {
                run(Engine::MySql).await;
            }
        }
    };
}

/// A statement that runs for about a second or more.
fn slow_statement(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => {
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) SELECT COUNT(*) FROM c"
        }
        Engine::MySql => "SELECT SLEEP(1)",
    }
}

pool_test!(
    a_query_dropped_mid_way_leaves_the_pool_usable,
    |f: Figment| f
        .merge(("databases.main.max_connections", 1))
        .merge(("databases.main.connect_timeout", 10)),
    |app| {
        let cut = tokio::time::timeout(
            Duration::from_millis(200),
            exec(app.db(), slow_statement(app.engine)),
        )
        .await;
        assert!(
            cut.is_err(),
            "the statement was still running when it was dropped"
        );
        // The pool's only connection was checked (or replaced), not lost: requests still work.
        for path in ["/healthz", "/api/articles", "/api/tags"] {
            let (status, body) = get_json(&app.client, path).await;
            assert_eq!(status, Status::Ok, "{path}: {body}");
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 0);
    }
);

pool_test!(
    closing_the_pool_closes_every_connection,
    |f: Figment| f.merge(("databases.main.min_connections", 2)),
    |app| {
        let (status, _) = get_json(&app.client, "/api/articles").await;
        assert_eq!(status, Status::Ok);
        let held = hold_one(&app).await;
        assert!(
            open_connections(&app).await > 0,
            "the pool has connections open"
        );
        app.db().close().await;
        let (status, body) = get_json(&app.client, "/healthz").await;
        assert_eq!(status, Status::ServiceUnavailable, "{body}");
        // The idle connections are gone; the one in use stays until it is given back.
        wait_for_open(&app, 1, "after close, while one connection is in use").await;
        drop(held);
        wait_for_open(&app, 0, "after the last connection was given back").await;
    }
);

pool_test!(
    idle_connections_are_closed_after_the_idle_timeout,
    |f: Figment| f
        .merge(("databases.main.min_connections", 0))
        .merge(("databases.main.idle_timeout", 1)),
    |app| {
        let (status, _) = get_json(&app.client, "/api/articles").await;
        assert_eq!(status, Status::Ok);
        assert!(open_connections(&app).await > 0, "just used");
        wait_for_open(&app, 0, "idle past the idle timeout").await;
        // A new connection is made for the next request.
        let (status, _) = get_json(&app.client, "/api/articles").await;
        assert_eq!(status, Status::Ok);
    }
);

pool_test!(
    a_connection_is_replaced_after_its_max_lifetime,
    |f: Figment| f
        .merge(("databases.main.max_connections", 1))
        .merge(("databases.main.max_lifetime", 2)),
    |app| {
        // A temporary table lives as long as its connection: it tells one connection from the next.
        exec(app.db(), "CREATE TEMPORARY TABLE marker (x INTEGER)")
            .await
            .expect("create");
        assert_eq!(
            scalar(app.db(), "SELECT COUNT(*) FROM marker").await,
            0,
            "the same connection is reused while young"
        );
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let gone = exec(app.db(), "SELECT COUNT(*) FROM marker").await;
        assert!(
            gone.is_err(),
            "a new connection after the lifetime: {gone:?}"
        );
        let (status, _) = get_json(&app.client, "/api/articles").await;
        assert_eq!(status, Status::Ok);
    }
);

/// The pings this connection's session has received (the pool holds one connection).
async fn pings(app: &TestApp) -> i64 {
    let (_, count): (String, String) = crate::support::db_run!(app.db(), |c| sqlx::query_as(
        "SHOW SESSION STATUS LIKE 'Com_admin_commands'"
    )
    .fetch_one(c)
    .await)
    .expect("status");
    count.parse().expect("a number")
}

/// MariaDB counts pings (`COM_PING`) in `Com_admin_commands`, per session: a finished
/// statement's connection goes back and out again without one; an interrupted one is pinged
/// once. (SQLite has no server to count round trips; the checks themselves are unit-tested in
/// src/db/manager.rs.)
#[rocket::async_test]
async fn only_an_interrupted_connection_is_pinged_mysql() {
    let Some(app) = spawn(Engine::MySql, "it::pool::pings::mysql", |f| {
        f.merge(("databases.main.max_connections", 1))
            .merge(("databases.main.connect_timeout", 10))
    })
    .await
    else {
        return;
    };
    let start = pings(&app).await;
    for _ in 0..5 {
        assert_eq!(scalar(app.db(), "SELECT 1").await, 1);
    }
    let (status, _) = get_json(&app.client, "/api/articles").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(
        pings(&app).await,
        start,
        "no ping after finished statements"
    );
    let cut = tokio::time::timeout(
        Duration::from_millis(200),
        exec(app.db(), "SELECT SLEEP(1)"),
    )
    .await;
    assert!(cut.is_err(), "dropped mid-statement");
    assert_eq!(
        pings(&app).await,
        start + 1,
        "one ping after the interrupted statement"
    );
}

// A write refused inside its transaction (an admin renaming a tag to a name that is taken: the
// unique key fails inside `audited!`) must hand the one connection back clean: no transaction
// left open, no lock held, so the next write commits for everyone to see.
pool_test!(
    a_write_refused_inside_its_transaction_leaves_the_connection_clean,
    |f| f.merge(("databases.main.max_connections", 1)),
    |app| {
        let writer = crate::support::register(&app.client, "writer").await;
        crate::admin::create_article(&app.client, &writer, "Tagged", &["keep", "old"]).await;
        crate::admin::admin_browser(&app, "boss").await;
        let csrf = crate::support::page_csrf(&app.client).await;
        let old = scalar(app.db(), "SELECT id FROM tags WHERE name = 'old'").await;
        let path = format!("/admin/tags/{old}");
        let res = crate::support::post_form(
            &app.client,
            &path,
            &[("csrf_token", &csrf), ("name", "KEEP")],
        )
        .await;
        assert_eq!(
            res.status(),
            Status::UnprocessableEntity,
            "the taken name is refused"
        );

        if app.engine == Engine::MySql {
            // The pool's one connection: no transaction may be open on it.
            assert_eq!(
                scalar(app.db(), "SELECT CAST(@@in_transaction AS SIGNED)").await,
                0
            );
        }
        let res = crate::support::post_form(
            &app.client,
            &path,
            &[("csrf_token", &csrf), ("name", "renamed")],
        )
        .await;
        assert_eq!(res.status(), Status::SeeOther);
        // Seen from a connection of its own: the rename (and its audit entry) were committed.
        let other = conduit::db::DbPool::connect(&app.url, 1, 0, Duration::from_secs(5), None)
            .await
            .expect("a second pool");
        assert_eq!(
            scalar(&other, "SELECT COUNT(*) FROM tags WHERE name = 'renamed'").await,
            1
        );
        assert_eq!(
            scalar(
                &other,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'tag.update'"
            )
            .await,
            1
        );
        other.close().await;
    }
);

/// SQLite's page caches share `page_cache_kib` among the pool's connections: each gets its
/// share as `cache_size` (negative: KiB), at least 64 KiB, whatever the pool's size.
#[rocket::async_test]
async fn sqlite_connections_share_the_page_cache_budget() {
    for (budget, max, expected) in [(4096, 4, -1024), (4096, 16, -256), (100, 4, -64)] {
        let Some(app) = spawn(
            Engine::Sqlite,
            "pool::sqlite_connections_share_the_page_cache_budget",
            move |f: Figment| {
                f.merge(("databases.main.page_cache_kib", budget))
                    .merge(("databases.main.max_connections", max))
            },
        )
        .await
        else {
            return;
        };
        assert_eq!(
            scalar(app.db(), "PRAGMA cache_size").await,
            expected,
            "budget {budget} KiB over {max} connections"
        );
    }
}
