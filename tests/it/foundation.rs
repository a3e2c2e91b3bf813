//! The skeleton: both engines, migrations, schema rules, health, catchers, config, CLI.

use rocket::http::{ContentType, Status};

use crate::support::{exec, get_json, get_page, json_of, scalar, texts};

const NOW: &str = "'2026-01-01 00:00:00.000'";

fn insert_user(n: &str, email: &str) -> String {
    format!(
        "INSERT INTO users (username, email, password_hash, role, disabled, token_version, created_at, updated_at) \
         VALUES ('{n}', '{email}', 'x', 'user', FALSE, 0, {NOW}, {NOW})"
    )
}

#[test]
fn migration_folders_list_the_same_versions() {
    let versions = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect(dir)
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let sqlite = versions("migrations/sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite,
        versions("migrations/mysql"),
        "same versions and names on both engines"
    );
}

db_test!(
    async fn healthz_answers_ok_with_the_engine(app) {
        let (status, body) = get_json(&app.client, "/healthz").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["status"], "ok");
        let engine = if app.engine == conduit::db::Engine::Sqlite { "sqlite" } else { "mysql" };
        assert_eq!(body["database"], engine);
    }
);

db_test!(
    async fn healthz_answers_503_when_the_database_is_gone(app) {
        app.db().close().await;
        let (status, body) = get_json(&app.client, "/healthz").await;
        assert_eq!(status, Status::ServiceUnavailable);
        assert_eq!(body["status"], "unavailable");
    }
);

db_test!(
    async fn migrations_create_the_whole_schema(app) {
        // Every table the code uses, each empty but `counts` (its one row per counter), and no other
        // (the migrations' own bookkeeping tables aside: sqlx's, and on MySQL the lock that lets one
        // instance at a time migrate, empty): a migration adding a table updates this list.
        let mut tables = vec![
            "access_tokens", "account_tokens", "article_blocks", "article_tags", "articles", "audit_log", "comments", "counts", "favorite_counts", "favorites",
            "feed_entries", "follows", "login_attempts", "outbox", "register_attempts", "reset_requests", "sessions",
            "tag_counts", "tags", "throttle_keys", "totp_failures", "totp_pending_used", "totp_recovery_codes", "user_totp", "users",
        ];
        if app.engine == conduit::db::Engine::Sqlite {
            // The search index (FTS5; its shadow tables `article_search_*` are its own). On
            // MySQL the FULLTEXT indexes' tables are InnoDB's and not listed.
            tables.push("article_search");
        } else {
            // MySQL's search postings and the backfill's mark (its one row).
            tables.extend(["search_postings", "search_postings_state"]);
        }
        let listed = if app.engine == conduit::db::Engine::Sqlite {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' \
             AND name NOT LIKE 'article!_search!_%' ESCAPE '!'"
        } else {
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME NOT IN ('_sqlx_migrations', '_conduit_migration_lock')"
        };
        assert_eq!(scalar(app.db(), listed).await, i64::try_from(tables.len()).unwrap(), "tables in the database");
        for table in tables {
            let rows = scalar(app.db(), &format!("SELECT COUNT(*) FROM {table}")).await;
            if table != "counts" && table != "search_postings_state" {
                assert_eq!(rows, 0, "{table}");
            }
        }
        if app.engine == conduit::db::Engine::MySql {
            assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM _conduit_migration_lock").await, 0, "lock given back");
        }
        let applied = scalar(app.db(), "SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1").await;
        let engine_dir = if app.engine == conduit::db::Engine::Sqlite { "sqlite" } else { "mysql" };
        let files = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(engine_dir)).unwrap().count();
        assert_eq!(applied, i64::try_from(files).unwrap(), "every migration file applied");
    }
);

db_test!(
    async fn email_and_username_are_unique_whatever_the_case(app) {
        exec(app.db(), &insert_user("Alice", "Alice@Example.com")).await.unwrap();
        let same_email = exec(app.db(), &insert_user("other", "alice@example.COM")).await.unwrap_err();
        assert!(conduit::error::is_unique_violation(&same_email), "{same_email}");
        let same_name = exec(app.db(), &insert_user("aLICE", "else@example.com")).await.unwrap_err();
        assert!(conduit::error::is_unique_violation(&same_name), "{same_name}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 1);
    }
);

db_test!(
    async fn foreign_keys_are_enforced(app) {
        let orphan = format!(
            "INSERT INTO articles (slug, title, description, body, author_id, created_at, updated_at) \
             VALUES ('s', 't', 'd', 'b', 999, {NOW}, {NOW})"
        );
        let err = exec(app.db(), &orphan).await.unwrap_err();
        assert!(err.as_database_error().is_some(), "{err}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 0);
    }
);

db_test!(
    async fn deleting_a_user_cascades_to_their_articles(app) {
        exec(app.db(), &insert_user("bob", "bob@example.com")).await.unwrap();
        let article = format!(
            "INSERT INTO articles (slug, title, description, body, author_id, created_at, updated_at) \
             SELECT 's', 't', 'd', 'b', id, {NOW}, {NOW} FROM users WHERE username = 'bob'"
        );
        exec(app.db(), &article).await.unwrap();
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 1, "the article the cascade must take");
        exec(app.db(), "DELETE FROM users WHERE username = 'bob'").await.unwrap();
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 0);
    }
);

db_test!(
    async fn tags_lists_tags_in_use_most_used_first(app) {
        let (status, body) = get_json(&app.client, "/api/tags").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body, serde_json::json!({ "tags": [] }));

        let carol = crate::support::register(&app.client, "carol").await;
        crate::admin::create_article(&app.client, &carol, "A", &["rust", "dragons"]).await;
        crate::admin::create_article(&app.client, &carol, "B", &["rust"]).await;
        // A tag whose last article went is not "in use".
        let gone = crate::admin::create_article(&app.client, &carol, "C", &["unused"]).await;
        let (status, _) = crate::support::api(&app.client, rocket::http::Method::Delete, &format!("/api/articles/{gone}"), Some(&carol), None).await;
        assert_eq!(status, Status::NoContent);
        let (_, body) = get_json(&app.client, "/api/tags").await;
        assert_eq!(body, serde_json::json!({ "tags": ["rust", "dragons"] }));
    }
);

db_test!(
    async fn unknown_api_route_is_a_json_404(app) {
        let res = app.client.get("/api/no-such-thing").dispatch().await;
        assert_eq!(res.content_type(), Some(ContentType::JSON));
        let (status, body) = json_of(res).await;
        assert_eq!(status, Status::NotFound);
        assert_eq!(body["errors"]["body"][0], "not found");
    }
);

db_test!(
    async fn unknown_page_is_the_site_404_page(app) {
        let (status, html) = get_page(&app.client, "/no-such-page").await;
        assert_eq!(status, Status::NotFound);
        assert_eq!(texts(&html, "main h1"), vec!["Page not found"]);
        assert_eq!(texts(&html, "nav .navbar-brand"), vec!["conduit"]);
        assert_eq!(texts(&html, "title"), vec!["Page not found — Conduit"]);
    }
);

db_test!(
    async fn home_page_renders_in_the_site_layout(app) {
        let (status, html) = get_page(&app.client, "/").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&html, ".banner h1"), vec!["conduit"]);
        assert_eq!(texts(&html, "nav a.nav-link"), vec!["Home", "Sign in", "Sign up"]);
        assert_eq!(texts(&html, "html[lang=en] main#main .sidebar h2"), vec!["Popular Tags"]);
    }
);

db_test!(
    async fn every_response_carries_security_headers_and_a_request_id(app) {
        let res = app.client.get("/").dispatch().await;
        let headers = res.headers();
        assert!(headers.get_one("Content-Security-Policy").unwrap().contains("frame-ancestors 'none'"));
        assert_eq!(headers.get_one("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(headers.get_one("X-Frame-Options"), Some("DENY"));
        assert!(headers.get_one("Referrer-Policy").is_some());
        assert_eq!(headers.get_one("X-Request-Id").map(str::len), Some(16));
    }
);

#[rocket::async_test]
async fn sqlite_file_is_created_on_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh").join("site.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    assert!(!path.exists());
    let figment = crate::harness::test_figment(&format!("sqlite://{}", path.display()));
    let client = rocket::local::asynchronous::Client::tracked(conduit::rocket_with(figment))
        .await
        .unwrap();
    assert!(path.exists());
    assert_eq!(client.get("/healthz").dispatch().await.status(), Status::Ok);
}

#[rocket::async_test]
async fn release_profile_refuses_the_development_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let figment = crate::harness::test_figment(&url)
        .merge(("jwt_secret", conduit::config::DEV_JWT_SECRET))
        .select("release");
    let err = conduit::rocket_with(figment).ignite().await.unwrap_err();
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(_)),
        "{err:?}"
    );
}

#[rocket::async_test]
async fn a_bad_database_url_stops_startup() {
    let figment = crate::harness::test_figment("postgres://nowhere/db");
    let err = conduit::rocket_with(figment).ignite().await.unwrap_err();
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(_)),
        "{err:?}"
    );
}

#[test]
fn cli_migrate_applies_migrations_and_bad_config_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let run = |extra: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_conduit"));
        cmd.arg("migrate")
            .env(
                "ROCKET_DATABASES",
                format!("{{main={{url=\"sqlite://{}\"}}}}", db.display()),
            )
            .env_remove("CONDUIT_CONFIG");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let ok = run(&[]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // Run again: nothing left to apply, still a success.
    let again = run(&[]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let files = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite"),
    )
    .unwrap()
    .count();
    let url = format!("sqlite://{}", db.display());
    rocket::tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async {
            let pool =
                conduit::db::DbPool::connect(&url, 1, 0, std::time::Duration::from_secs(5), None)
                    .await
                    .expect("the migrated file opens");
            let applied = scalar(
                &pool,
                "SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1",
            )
            .await;
            assert_eq!(
                applied,
                i64::try_from(files).unwrap(),
                "every migration applied, once"
            );
            for table in ["users", "articles", "comments", "sessions", "audit_log"] {
                assert_eq!(
                    scalar(&pool, &format!("SELECT COUNT(*) FROM {table}")).await,
                    0,
                    "{table} exists"
                );
            }
            pool.close().await;
        });

    let bad = run(&[("CONDUIT_ACCESS_TOKEN_MINUTES", "-5")]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("access_token_minutes"));
}

db_test!(
    async fn every_table_has_a_primary_key(app) {
        // Galera replicates rows by their primary key (issue 23); the Galera tests check the
        // cluster's schema too, this checks it wherever MySQL runs, and SQLite's alike (its
        // full-text tables aside: virtual, their shadow tables have keys of their own).
        let sql = match app.db().engine() {
            conduit::db::Engine::MySql => {
                "SELECT COUNT(*) FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = DATABASE() \
                 AND t.TABLE_TYPE = 'BASE TABLE' AND NOT EXISTS (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS c \
                 WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY')"
            }
            conduit::db::Engine::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master m WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                 AND m.sql NOT LIKE 'CREATE VIRTUAL TABLE%' \
                 AND NOT EXISTS (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.pk > 0)"
            }
        };
        assert_eq!(scalar(app.db(), sql).await, 0, "tables without a primary key");
        exec(app.db(), "CREATE TABLE audit_no_key (n INT)").await.expect("a table without a key");
        assert_eq!(scalar(app.db(), sql).await, 1, "the check sees a table without a key");
    }
);
