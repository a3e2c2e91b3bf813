//! SQLite's write-ahead log: connections cap it (`journal_size_limit`), a passive checkpoint
//! once it passes `wal_checkpoint_bytes` lets the next commit cut it back, and `/healthz`
//! reports its size. On MariaDB there is no WAL: no size, no checkpoint.

use std::time::{Duration, Instant};

use conduit::config::AppConfig;
use conduit::db::Engine;
use rocket::http::Status;

use crate::harness::TestApp;
use crate::support::{exec, get_json, scalar};

const LIMIT: u64 = 256 * 1024;
const CHECKPOINT_PAST: u64 = 1024 * 1024;

async fn small_wal_app(engine: Engine, test: &str, check_seconds: u64) -> Option<TestApp> {
    TestApp::spawn_with(engine, test, |f| {
        f.merge(("databases.main.journal_size_limit", LIMIT))
            .merge(("wal_checkpoint_bytes", CHECKPOINT_PAST))
            .merge(("wal_check_seconds", check_seconds))
    })
    .await
}

/// A write burst of about 2.3 MB in 150 commits, on an emptied log: under SQLite's own
/// automatic checkpoint (1000 pages, about 4 MB), so the log only grows.
async fn write_burst(app: &TestApp) {
    exec(app.db(), "CREATE TABLE wal_burst (body BLOB NOT NULL)")
        .await
        .expect("create");
    if app.engine == Engine::Sqlite {
        // The burst starts on an empty log: the migrations' frames are in it too, and with them
        // (more with every migration) the burst would cross SQLite's automatic checkpoint.
        exec(app.db(), "PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .expect("checkpoint");
    }
    let blob = match app.engine {
        Engine::Sqlite => "randomblob(15000)",
        Engine::MySql => "REPEAT('x', 15000)",
    };
    for _ in 0..150 {
        exec(
            app.db(),
            &format!("INSERT INTO wal_burst (body) VALUES ({blob})"),
        )
        .await
        .expect("insert");
    }
}

fn wal_file_bytes(app: &TestApp) -> u64 {
    let file = app.url.trim_start_matches("sqlite://");
    std::fs::metadata(format!("{file}-wal")).map_or(0, |m| m.len())
}

async fn health_wal_bytes(app: &TestApp) -> Option<u64> {
    let (status, plain) = get_json(&app.client, "/healthz").await;
    assert_eq!(status, Status::Ok, "{plain}");
    assert_eq!(
        plain.get("db"),
        None,
        "the plain probe reads no details: {plain}"
    );
    let (status, body) = get_json(&app.client, "/healthz?details").await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["status"], "ok", "the old fields stay: {body}");
    assert_eq!(body["db"]["engine"], body["database"], "{body}");
    body["db"]
        .get("walBytes")
        .map(|n| n.as_u64().expect("a number"))
}

/// A burst grows the log past `wal_checkpoint_bytes`; the pass checkpoints all of it (nobody is
/// reading), the next commit cuts the file back to `journal_size_limit`, every row is there,
/// and `/healthz` reports the size before and after.
async fn a_checkpoint_pass_after_a_burst_shrinks_the_wal(engine: Engine, test: &str) {
    let Some(app) = small_wal_app(engine, test, 0).await else {
        return;
    };
    let config = app.client.rocket().state::<AppConfig>().expect("config");
    write_burst(&app).await;
    if engine == Engine::MySql {
        assert_eq!(health_wal_bytes(&app).await, None, "no WAL on MariaDB");
        assert_eq!(
            conduit::housekeeping::checkpoint_wal(app.db(), config)
                .await
                .expect("pass"),
            None
        );
        return;
    }
    assert_eq!(
        conduit::db::wal::journal_size_limit(app.db())
            .await
            .expect("pragma"),
        Some(i64::try_from(LIMIT).expect("small")),
        "every connection runs with the configured limit"
    );
    let grown = wal_file_bytes(&app);
    assert!(grown > CHECKPOINT_PAST, "the burst grew the log: {grown}");
    assert_eq!(health_wal_bytes(&app).await, Some(grown));

    let done = conduit::housekeeping::checkpoint_wal(app.db(), config)
        .await
        .expect("pass")
        .expect("a checkpoint ran");
    assert!(done.complete(), "{done:?}");
    assert!(done.log_frames > 0, "{done:?}");
    // The next commit rewinds the log and cuts the file back.
    exec(app.db(), "INSERT INTO wal_burst (body) VALUES (x'00')")
        .await
        .expect("insert");
    let after = wal_file_bytes(&app);
    assert!(after <= LIMIT, "{after} bytes left, limit {LIMIT}");
    assert_eq!(health_wal_bytes(&app).await, Some(after));
    assert_eq!(
        scalar(app.db(), "SELECT COUNT(*) FROM wal_burst").await,
        151
    );
    assert_eq!(
        conduit::housekeeping::checkpoint_wal(app.db(), config)
            .await
            .expect("pass"),
        None,
        "a small log is left alone"
    );
}

#[rocket::async_test]
async fn a_checkpoint_pass_after_a_burst_shrinks_the_wal_sqlite() {
    a_checkpoint_pass_after_a_burst_shrinks_the_wal(Engine::Sqlite, "it::wal::pass::sqlite").await;
}

#[rocket::async_test]
async fn a_checkpoint_pass_after_a_burst_shrinks_the_wal_mysql() {
    a_checkpoint_pass_after_a_burst_shrinks_the_wal(Engine::MySql, "it::wal::pass::mysql").await;
}

/// A reader holding an old snapshot keeps a passive checkpoint from copying everything (it
/// never waits for the reader); once the reader is gone the next pass completes.
#[rocket::async_test]
async fn a_reader_in_the_way_leaves_the_checkpoint_incomplete_until_it_goes() {
    let app = small_wal_app(Engine::Sqlite, "it::wal::reader", 0)
        .await
        .expect("sqlite");
    let config = app.client.rocket().state::<AppConfig>().expect("config");
    exec(app.db(), "CREATE TABLE wal_burst (body BLOB NOT NULL)")
        .await
        .expect("create");
    let mut reader = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.url)
        .await
        .expect("reader");
    sqlx::query("BEGIN")
        .execute(&mut reader)
        .await
        .expect("begin");
    sqlx::query("SELECT COUNT(*) FROM wal_burst")
        .execute(&mut reader)
        .await
        .expect("snapshot");
    for _ in 0..200 {
        exec(
            app.db(),
            "INSERT INTO wal_burst (body) VALUES (randomblob(15000))",
        )
        .await
        .expect("insert");
    }
    let started = Instant::now();
    let blocked = conduit::housekeeping::checkpoint_wal(app.db(), config)
        .await
        .expect("pass")
        .expect("a checkpoint ran");
    assert!(
        !blocked.complete(),
        "the reader's snapshot is kept: {blocked:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "passive: it did not wait"
    );
    sqlx::query("COMMIT")
        .execute(&mut reader)
        .await
        .expect("end");
    drop(reader);
    let done = conduit::housekeeping::checkpoint_wal(app.db(), config)
        .await
        .expect("pass")
        .expect("a checkpoint ran");
    assert!(done.complete(), "{done:?}");
}

/// The background task does the pass by itself: after a burst, the log shrinks below the
/// limit within a few of its ticks once writes continue.
#[rocket::async_test]
async fn the_wal_task_checkpoints_after_a_burst_by_itself() {
    let app = small_wal_app(Engine::Sqlite, "it::wal::task", 1)
        .await
        .expect("sqlite");
    write_burst(&app).await;
    assert!(wal_file_bytes(&app) > CHECKPOINT_PAST);
    let deadline = Instant::now() + Duration::from_secs(10);
    // A few small commits: far too few for SQLite's own automatic checkpoint.
    while wal_file_bytes(&app) > LIMIT {
        assert!(
            Instant::now() < deadline,
            "still {} bytes",
            wal_file_bytes(&app)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        exec(app.db(), "INSERT INTO wal_burst (body) VALUES (x'00')")
            .await
            .expect("insert");
    }
    assert!(health_wal_bytes(&app).await.expect("sqlite") <= LIMIT);
}
