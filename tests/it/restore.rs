//! Disaster recovery on a fresh machine: `conduit restore PATH` into a database that does not
//! exist yet (a new SQLite path in a new folder, a new MySQL database) brings back every row of
//! every table and every counter the API shows; on MySQL an account that may not create the
//! database is told exactly what to create.

use std::collections::BTreeMap;

use crate::support::db_run;
use conduit::db::{DbPool, Engine};
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::Value;
use sqlx::Row;

use crate::admin::{add_comment, create_article};
use crate::harness::{mysql_server_url, test_figment, MySqlScratch, TestApp};
use crate::support::{api, register, scalar};

/// Run `conduit` with `args` on the database at `url`.
async fn conduit_on(url: &str, args: &[&str]) -> std::process::Output {
    // A backup folder (and its lock) of the database's own: with the checkout's `./backups`,
    // two tests backing up at once answered "a backup is already running".
    let name: String = url
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let backups = std::env::temp_dir().join(format!("conduit-restore-{name}"));
    tokio::process::Command::new(env!("CARGO_BIN_EXE_conduit"))
        .args(args)
        .env("ROCKET_DATABASES", format!("{{main={{url=\"{url}\"}}}}"))
        .env("CONDUIT_BACKUP_DIR", &backups)
        .env_remove("CONDUIT_CONFIG")
        .output()
        .await
        .expect("run conduit")
}

/// Every table's rows, each row rendered as text, sorted: equal maps mean equal contents.
async fn every_row(db: &DbPool) -> BTreeMap<String, Vec<String>> {
    let list = match db.engine() {
        Engine::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        Engine::MySql => {
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        }
    };
    let tables: Vec<String> =
        db_run!(db, |c| sqlx::query_scalar(list).fetch_all(c).await).expect("tables");
    assert!(tables.len() > 5, "{tables:?}");
    let mut out = BTreeMap::new();
    for table in tables {
        let sql = format!("SELECT * FROM {table}");
        let mut rows: Vec<String> = db_run!(db, |c| {
            sqlx::query(&sql).fetch_all(c).await.map(|rows| {
                rows.iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|i| {
                                if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                                    format!("{v:?}")
                                } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                                    format!("{v:?}")
                                } else if let Ok(v) =
                                    row.try_get::<Option<chrono::NaiveDateTime>, _>(i)
                                {
                                    format!("{v:?}")
                                } else if let Ok(v) =
                                    row.try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)
                                {
                                    format!("{v:?}")
                                } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                                    format!("{v:?}")
                                } else if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                                    format!("{v:?}")
                                } else {
                                    let v = row.try_get::<Option<Vec<u8>>, _>(i);
                                    format!(
                                        "{:?}",
                                        v.unwrap_or_else(|e| panic!("{table}.{i}: {e}"))
                                    )
                                }
                            })
                            .collect::<Vec<_>>()
                            .join("|")
                    })
                    .collect()
            })
        })
        .expect("rows");
        rows.sort();
        out.insert(table, rows);
    }
    out
}

/// What the API shows of the data: lists with their counters, a profile, a feed, comments.
async fn api_view(client: &Client, token: &str, slug: &str) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    for path in [
        "/api/articles?limit=50".to_owned(),
        "/api/articles?favorited=cat".to_owned(),
        "/api/articles/feed".to_owned(),
        "/api/profiles/ann".to_owned(),
        "/api/profiles/ben".to_owned(),
        "/api/tags".to_owned(),
        format!("/api/articles/{slug}"),
        format!("/api/articles/{slug}/comments"),
    ] {
        let (status, body) = api(client, Method::Get, &path, Some(token), None).await;
        assert_eq!(status, Status::Ok, "{path}: {body}");
        seen.push((path, body));
    }
    seen
}

db_test!(
    async fn restore_into_a_database_that_does_not_exist_yet_brings_back_every_row_and_counter(app) {
        let ann = register(&app.client, "ann").await;
        let ben = register(&app.client, "ben").await;
        let cat = register(&app.client, "cat").await;
        let first = create_article(&app.client, &ann, "Ann writes", &["rust", "db"]).await;
        let second = create_article(&app.client, &ben, "Ben writes", &["db"]).await;
        for (token, slug) in [(&ben, &first), (&cat, &first), (&cat, &second)] {
            let path = format!("/api/articles/{slug}/favorite");
            assert_eq!(api(&app.client, Method::Post, &path, Some(token), None).await.0, Status::Ok);
        }
        for (token, user) in [(&cat, "ann"), (&cat, "ben"), (&ben, "ann")] {
            let path = format!("/api/profiles/{user}/follow");
            assert_eq!(api(&app.client, Method::Post, &path, Some(token), None).await.0, Status::Ok);
        }
        add_comment(&app.client, &cat, &first, "Kept").await;
        add_comment(&app.client, &ann, &first, "Also kept").await;

        let out = app.dir.join("dr.bak");
        let done = conduit_on(&app.url, &["backup", "--out", out.to_str().unwrap()]).await;
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));

        // The new machine's database: nothing there yet.
        let (fresh, _scratch) = match app.engine {
            Engine::Sqlite => {
                let file = app.dir.join("new-machine").join("data").join("conduit.db");
                assert!(!file.parent().unwrap().exists());
                (format!("sqlite://{}", file.display()), None)
            }
            Engine::MySql => {
                let server = mysql_server_url("restore").expect("MySQL configured");
                let name = format!("conduit_t_{:016x}", rand::random::<u64>());
                let count = format!("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'");
                assert_eq!(scalar(app.db(), &count).await, 0);
                let url = format!("{server}/{name}");
                (url, Some(MySqlScratch::adopt(server, name)))
            }
        };
        let done = conduit_on(&fresh, &["restore", out.to_str().unwrap()]).await;
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(done.status.success(), "{stderr}");
        let created = match app.engine {
            Engine::Sqlite => "created the SQLite database file",
            Engine::MySql => "created the MySQL database `conduit_t_",
        };
        assert!(stderr.contains(created), "{stderr}");

        let restored = Client::tracked(conduit::rocket_with(test_figment(&fresh)))
            .await
            .expect("an app on the restored database");
        let restored_db = restored.rocket().state::<conduit::db::Db>().expect("db");
        let before = every_row(app.db()).await;
        let after = every_row(restored_db).await;
        assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
        for (table, rows) in &before {
            assert_eq!(rows, &after[table], "table {table}");
        }
        assert_eq!(before["favorites"].len(), 3, "{:?}", before["favorites"]);
        assert_eq!(api_view(&app.client, &cat, &first).await, api_view(&restored, &cat, &first).await);
        let (_, body) = api(&restored, Method::Get, &format!("/api/articles/{first}"), Some(&cat), None).await;
        assert_eq!((body["article"]["favoritesCount"].as_i64(), body["article"]["favorited"].as_bool()), (Some(2), Some(true)));
        assert_eq!(body["article"]["author"]["following"], true);
        // The restored site takes writes: ids continue after the restored rows.
        let dan = register(&restored, "dan").await;
        create_article(&restored, &dan, "After the restore", &[]).await;
        assert_eq!(scalar(restored_db, "SELECT COUNT(*) FROM articles").await, 3);
    }
);

#[rocket::async_test]
async fn restore_names_the_database_to_create_when_the_account_may_not() {
    let Some(app) = TestApp::spawn(Engine::MySql, "restore::may_not_create").await else {
        return;
    };
    register(&app.client, "ann").await;
    let out = app.dir.join("dr.sql");
    let done = conduit_on(&app.url, &["backup", "--out", out.to_str().unwrap()]).await;
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    // CI's account has rights on `conduit\_%` databases only.
    let server = mysql_server_url("restore").expect("MySQL configured");
    let name = format!("elsewhere_{:08x}", rand::random::<u32>());
    let done = conduit_on(
        &format!("{server}/{name}"),
        &["restore", out.to_str().unwrap()],
    )
    .await;
    assert!(!done.status.success());
    let stderr = String::from_utf8_lossy(&done.stderr);
    let user: String = scalar_text(app.db(), "SELECT CURRENT_USER()").await;
    let (user, host) = user.rsplit_once('@').unwrap();
    let account = format!("'{user}'@'{host}'");
    assert!(
        stderr.contains(&format!(
            "the database `{name}` does not exist and {account} may not create it: have an \
             administrator run CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE \
             utf8mb4_unicode_ci; GRANT ALL PRIVILEGES ON `{name}`.* TO {account}; then run the \
             restore again"
        )),
        "{stderr}"
    );
    if let Some(password) = crate::harness::url_password(&app.url) {
        assert!(!stderr.contains(&password), "{stderr}");
    }
}

async fn scalar_text(db: &DbPool, sql: &str) -> String {
    db_run!(db, |c| sqlx::query_scalar::<_, String>(sql)
        .fetch_one(c)
        .await)
    .expect(sql)
}
