//! A request whose transaction loses a lock conflict part-way runs it again from its start,
//! and what it did is done once (issue 23): one account and one mail in the outbox, one
//! article with its tags counted once, one comment, one admin change with one audit row. A
//! conflict that outlasts every attempt is a 503 with `Retry-After` that leaves nothing behind.
//!
//! The conflict is injected by a trigger on a table the request writes late in its
//! transaction. On MariaDB it raises error 1213 while a counter in a `MEMORY` table (which no
//! rollback undoes) is above zero, so the counter also tells how many attempts were refused.
//! On SQLite it raises "database is locked" until a moment a little ahead.

use std::time::{Duration, Instant};

use conduit::db::Engine;
use rocket::http::{Method, Status};
use serde_json::json;

use crate::admin::{add_comment, create_article, id_of, make_admin};
use crate::counters::assert_counters_match;
use crate::harness::TestApp;
use crate::support::{api, db_run, register, scalar};

/// How long SQLite's trigger refuses a request that should get through on a later attempt.
const WINDOW: Duration = Duration::from_millis(400);

async fn raw(app: &TestApp, sql: &str) {
    db_run!(app.db(), |c| sqlx::raw_sql(sql)
        .execute(c)
        .await
        .map(|_| ()))
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// How the injected conflict behaves.
#[derive(Clone, Copy)]
enum Arm {
    /// The first attempt loses; the next one goes through.
    Once,
    /// Every attempt loses.
    Always,
}

/// Make inserts into `table` lose a lock conflict as `arm` says.
async fn arm(app: &TestApp, table: &str, arm: Arm) {
    let trigger = format!("fail_{table}");
    match app.db().engine() {
        Engine::MySql => {
            let n = match arm {
                Arm::Once => 1,
                Arm::Always => 1000,
            };
            raw(app, "CREATE TABLE IF NOT EXISTS fail_next (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=MEMORY").await;
            raw(
                app,
                &format!("REPLACE INTO fail_next (id, n) VALUES (1, {n})"),
            )
            .await;
            raw(
                app,
                &format!(
                    "CREATE TRIGGER {trigger} AFTER INSERT ON {table} FOR EACH ROW BEGIN \
                     IF (SELECT n FROM fail_next WHERE id = 1) > 0 THEN \
                     UPDATE fail_next SET n = n - 1 WHERE id = 1; \
                     SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, \
                     MESSAGE_TEXT = 'Deadlock found when trying to get lock (injected)'; \
                     END IF; END"
                ),
            )
            .await;
        }
        Engine::Sqlite => {
            let secs = match arm {
                Arm::Once => WINDOW.as_secs_f64(),
                Arm::Always => 60.0,
            };
            raw(app, "CREATE TABLE IF NOT EXISTS fail_until (id INTEGER PRIMARY KEY, until REAL NOT NULL)").await;
            raw(
                app,
                &format!(
                    "CREATE TRIGGER {trigger} AFTER INSERT ON {table} \
                     WHEN julianday('now') < (SELECT until FROM fail_until WHERE id = 1) \
                     BEGIN SELECT RAISE(ABORT, 'database is locked (injected)'); END"
                ),
            )
            .await;
            raw(
                app,
                &format!(
                    "REPLACE INTO fail_until (id, until) VALUES (1, julianday('now') + {secs} / 86400.0)"
                ),
            )
            .await;
        }
    }
}

/// Remove `table`'s trigger; on MariaDB, how many refusals it had left.
async fn disarm(app: &TestApp, table: &str) -> Option<i64> {
    raw(app, &format!("DROP TRIGGER fail_{table}")).await;
    match app.db().engine() {
        Engine::MySql => Some(scalar(app.db(), "SELECT n FROM fail_next WHERE id = 1").await),
        Engine::Sqlite => None,
    }
}

/// After an [`Arm::Once`] request that took `took`: it was refused once and got through.
async fn refused_once(app: &TestApp, table: &str, took: Duration) {
    match disarm(app, table).await {
        Some(left) => assert_eq!(left, 0, "{table}: the first attempt was refused"),
        None => assert!(
            took >= WINDOW.saturating_sub(Duration::from_millis(100)),
            "{table}: answered in {took:?}, inside the refusing window"
        ),
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar(app.db(), sql).await
}

db_test!(
    async fn a_request_that_loses_a_lock_conflict_runs_again_and_does_its_work_once(app) {
        let root = register(&app.client, "root").await;
        make_admin(&app, "root").await;
        let writer = register(&app.client, "writer").await;
        create_article(&app.client, &writer, "Before", &["shared"]).await;

        // A sign-up whose confirmation mail lost: one account, one mail.
        arm(&app, "outbox", Arm::Once).await;
        let started = Instant::now();
        let body = json!({"user": {"username": "newbie", "email": "newbie@example.com", "password": "password-newbie"}});
        let (status, value) = api(&app.client, Method::Post, "/api/users", None, Some(body)).await;
        refused_once(&app, "outbox", started.elapsed()).await;
        assert_eq!(status, Status::Created, "{value}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM users WHERE username = 'newbie'").await, 1);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox WHERE recipient = 'newbie@example.com'").await, 1, "one mail");

        // An article whose tags lost: one article, each tag counted once.
        arm(&app, "article_tags", Arm::Once).await;
        let started = Instant::now();
        let slug = create_article(&app.client, &writer, "Retried", &["shared", "fresh"]).await;
        refused_once(&app, "article_tags", started.elapsed()).await;
        assert_eq!(count(&app, "SELECT COUNT(*) FROM articles WHERE title = 'Retried'").await, 1, "one article");
        let (_, shown) = api(&app.client, Method::Get, &format!("/api/articles/{slug}"), None, None).await;
        assert_eq!(shown["article"]["tagList"], json!(["fresh", "shared"]), "{shown}");
        assert_counters_match(&app, "after a retried article").await;

        // A comment that lost: one comment.
        arm(&app, "comments", Arm::Once).await;
        let started = Instant::now();
        add_comment(&app.client, &writer, &slug, "said once").await;
        refused_once(&app, "comments", started.elapsed()).await;
        assert_eq!(count(&app, "SELECT COUNT(*) FROM comments WHERE body = 'said once'").await, 1, "one comment");

        // An admin change whose audit row lost: the change made, one audit row.
        let id = id_of(&app, "newbie").await.get();
        let audit_rows = format!("SELECT COUNT(*) FROM audit_log WHERE entity_id = {id}");
        let before = count(&app, &audit_rows).await;
        arm(&app, "audit_log", Arm::Once).await;
        let started = Instant::now();
        let (status, value) = api(&app.client, Method::Put, &format!("/api/admin/users/{id}"), Some(&root), Some(json!({"user": {"disabled": true}}))).await;
        refused_once(&app, "audit_log", started.elapsed()).await;
        assert_eq!(status, Status::Ok, "{value}");
        assert_eq!(count(&app, &audit_rows).await, before + 1, "one audit row");
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM users WHERE id = {id} AND disabled")).await, 1);

        // A conflict on every attempt: a 503 with Retry-After after the bounded attempts, and
        // nothing of the request left behind.
        let articles = count(&app, "SELECT COUNT(*) FROM articles").await;
        arm(&app, "article_tags", Arm::Always).await;
        let body = json!({"article": {"title": "Never", "description": "d", "body": "b", "tagList": ["shared"]}});
        let res = app
            .client
            .post("/api/articles")
            .header(rocket::http::ContentType::JSON)
            .header(rocket::http::Header::new("Authorization", format!("Token {writer}")))
            .body(body.to_string())
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::ServiceUnavailable);
        assert_eq!(res.headers().get_one("Retry-After"), Some("1"));
        if let Some(left) = disarm(&app, "article_tags").await {
            assert_eq!(1000 - left, i64::from(conduit::db::retry::ATTEMPTS), "every attempt, no more");
        }
        assert_eq!(count(&app, "SELECT COUNT(*) FROM articles").await, articles, "no article");
        assert_counters_match(&app, "after a request out of attempts").await;
    }
);
