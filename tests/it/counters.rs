//! The counters lists read instead of counting per row (`articles.favorites_count`,
//! `articles.tag_list`, `tags.article_count`) stay equal to fresh counts through every write
//! that touches what they count: favorites, article edits and deletes, tag renames and
//! deletes, and deleting a user (whose rows go by cascade).

use std::str::FromStr;

use conduit::db::Engine;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

use crate::admin::{create_article, id_of, make_admin};
use crate::harness::{scratch_database, test_figment, TestApp};
use crate::support::{api, get_json, register, scalar};

/// Every counter against a fresh count; panics naming the first that differs.
async fn assert_counters_match(app: &TestApp, when: &str) {
    let stale_favorites = scalar(
        app.db(),
        "SELECT COUNT(*) FROM articles a WHERE a.favorites_count <> (SELECT COUNT(*) FROM favorites f WHERE f.article_id = a.id)",
    )
    .await;
    assert_eq!(stale_favorites, 0, "favorites_count differs from the favorites {when}");
    let stale_tags = scalar(
        app.db(),
        "SELECT COUNT(*) FROM tags t WHERE t.article_count <> (SELECT COUNT(*) FROM article_tags at WHERE at.tag_id = t.id)",
    )
    .await;
    assert_eq!(stale_tags, 0, "article_count differs from the tag links {when}");
    let stale_authors = scalar(
        app.db(),
        "SELECT COUNT(*) FROM users u WHERE u.articles_count <> (SELECT COUNT(*) FROM articles a WHERE a.author_id = u.id)",
    )
    .await;
    assert_eq!(
        stale_authors, 0,
        "users.articles_count differs from their articles {when}"
    );
    let total = scalar(app.db(), "SELECT value FROM counts WHERE name = 'articles'").await;
    assert_eq!(
        total,
        scalar(app.db(), "SELECT COUNT(*) FROM articles").await,
        "counts.articles {when}"
    );
}

/// The tags of `slug` as the API shows them (the stored `tag_list`, in alphabetical order).
async fn tags_of(app: &TestApp, slug: &str) -> serde_json::Value {
    let (status, body) = get_json(&app.client, &format!("/api/articles/{slug}")).await;
    assert_eq!(status, Status::Ok, "{body}");
    body["article"]["tagList"].clone()
}

async fn favorites_of(app: &TestApp, slug: &str) -> i64 {
    let (_, body) = get_json(&app.client, &format!("/api/articles/{slug}")).await;
    body["article"]["favoritesCount"].as_i64().expect("favoritesCount")
}

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<serde_json::Value>) {
    let (status, value) = api(&app.client, method, path, Some(token), body).await;
    assert!(status.code < 300, "{path}: {status} {value}");
}

db_test!(
    async fn favorites_count_follows_favorites_and_deleted_users(app) {
        let writer = register(&app.client, "writer").await;
        let ann = register(&app.client, "ann").await;
        let bob = register(&app.client, "bob").await;
        let slug = create_article(&app.client, &writer, "Counted", &["a"]).await;
        let path = format!("/api/articles/{slug}/favorite");

        call(&app, Method::Post, &path, &ann, None).await;
        call(&app, Method::Post, &path, &ann, None).await; // idempotent: still one
        call(&app, Method::Post, &path, &bob, None).await;
        assert_eq!(favorites_of(&app, &slug).await, 2);
        assert_counters_match(&app, "after favorites").await;

        call(&app, Method::Delete, &path, &bob, None).await;
        call(&app, Method::Delete, &path, &bob, None).await; // idempotent: no double decrement
        assert_eq!(favorites_of(&app, &slug).await, 1);

        // Deleting ann (by an admin) removes her favorite by cascade; the count follows.
        let root = register(&app.client, "root").await;
        make_admin(&app, "root").await;
        let ann_id = id_of(&app, "ann").await;
        call(&app, Method::Delete, &format!("/api/admin/users/{ann_id}"), &root, None).await;
        assert_eq!(favorites_of(&app, &slug).await, 0);
        assert_counters_match(&app, "after deleting a user who favorited").await;
    }
);

db_test!(
    async fn tag_counts_and_lists_follow_edits_deletes_renames(app) {
        let writer = register(&app.client, "writer").await;
        let other = register(&app.client, "other").await;
        let one = create_article(&app.client, &writer, "One", &["rust", "web"]).await;
        let two = create_article(&app.client, &writer, "Two", &["rust"]).await;
        let three = create_article(&app.client, &other, "Three", &["web", "db"]).await;
        let (_, body) = get_json(&app.client, "/api/tags").await;
        assert_eq!(body, json!({"tags": ["rust", "web", "db"]}), "most used first, ties by name");
        assert_counters_match(&app, "after creating").await;

        // An edit that changes the tags moves the counts.
        let edit = json!({"article": {"tagList": ["db", "Zebra"]}});
        call(&app, Method::Put, &format!("/api/articles/{one}"), &writer, Some(edit)).await;
        assert_eq!(tags_of(&app, &one).await, json!(["db", "Zebra"]));
        let (_, body) = get_json(&app.client, "/api/tags").await;
        assert_eq!(body, json!({"tags": ["db", "rust", "web", "Zebra"]}));
        assert_counters_match(&app, "after an edit").await;

        // Deleting an article releases its tags; a tag no article uses leaves the list.
        call(&app, Method::Delete, &format!("/api/articles/{two}"), &writer, None).await;
        let (_, body) = get_json(&app.client, "/api/tags").await;
        assert_eq!(body, json!({"tags": ["db", "web", "Zebra"]}));
        assert_counters_match(&app, "after deleting an article").await;

        // An admin renames a tag: the articles carrying it show the new name.
        let root = register(&app.client, "root").await;
        make_admin(&app, "root").await;
        let db_tag = scalar(app.db(), "SELECT id FROM tags WHERE name = 'db'").await;
        let rename = json!({"tag": {"name": "databases"}});
        call(&app, Method::Put, &format!("/api/admin/tags/{db_tag}"), &root, Some(rename)).await;
        assert_eq!(tags_of(&app, &one).await, json!(["databases", "Zebra"]));
        assert_eq!(tags_of(&app, &three).await, json!(["databases", "web"]));
        let (_, body) = get_json(&app.client, "/api/articles?tag=databases").await;
        assert_eq!(body["articlesCount"], 2);

        // An admin deletes a tag: the articles lose it from their lists.
        let web_tag = scalar(app.db(), "SELECT id FROM tags WHERE name = 'web'").await;
        call(&app, Method::Delete, &format!("/api/admin/tags/{web_tag}"), &root, None).await;
        assert_eq!(tags_of(&app, &three).await, json!(["databases"]));
        assert_counters_match(&app, "after admin tag changes").await;

        // Deleting a user deletes their articles by cascade; their tags' counts follow.
        let other_id = id_of(&app, "other").await;
        call(&app, Method::Delete, &format!("/api/admin/users/{other_id}"), &root, None).await;
        let (_, body) = get_json(&app.client, "/api/tags").await;
        assert_eq!(body, json!({"tags": ["databases", "Zebra"]}));
        assert_counters_match(&app, "after deleting an author").await;
    }
);

db_test!(
    async fn every_filter_lists_newest_first_with_its_total(app) {
        let ann = register(&app.client, "ann").await;
        let bob = register(&app.client, "bob").await;
        let mut slugs = Vec::new();
        for i in 0..7 {
            let (token, tags): (&str, &[&str]) = if i % 2 == 0 { (&ann, &["even"]) } else { (&bob, &["odd"]) };
            slugs.push(create_article(&app.client, token, &format!("Post {i}"), tags).await);
        }
        for slug in [&slugs[0], &slugs[3], &slugs[4]] {
            call(&app, Method::Post, &format!("/api/articles/{slug}/favorite"), &bob, None).await;
        }
        call(&app, Method::Post, "/api/profiles/ann/follow", &bob, None).await;

        let titles = |body: &serde_json::Value| -> Vec<String> {
            body["articles"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap().to_owned()).collect()
        };
        let cases = [
            ("/api/articles?limit=3", vec!["Post 6", "Post 5", "Post 4"], 7),
            ("/api/articles?tag=even&limit=2&offset=1", vec!["Post 4", "Post 2"], 4),
            ("/api/articles?author=bob", vec!["Post 5", "Post 3", "Post 1"], 3),
            ("/api/articles?favorited=bob", vec!["Post 4", "Post 3", "Post 0"], 3),
            ("/api/articles?favorited=bob&tag=even", vec!["Post 4", "Post 0"], 2),
            ("/api/articles?favorited=bob&author=bob", vec!["Post 3"], 1),
            ("/api/articles?tag=odd&author=ann", vec![], 0),
            ("/api/articles?tag=nosuchtag", vec![], 0),
            ("/api/articles?author=nobody", vec![], 0),
        ];
        for (path, expected, total) in cases {
            let (status, body) = get_json(&app.client, path).await;
            assert_eq!(status, Status::Ok, "{path}");
            assert_eq!(titles(&body), expected, "{path}");
            assert_eq!(body["articlesCount"], total, "{path}");
        }
        let (_, body) = api(&app.client, Method::Get, "/api/articles/feed?limit=2", Some(&bob), None).await;
        assert_eq!(titles(&body), vec!["Post 6", "Post 4"]);
        assert_eq!(body["articlesCount"], 4);
        assert_eq!(body["articles"][0]["author"]["following"], true);
        assert_eq!(body["articles"][1]["favorited"], true);
        assert_eq!(body["articles"][0]["favorited"], false);
    }
);

db_test!(
    async fn concurrent_deletes_of_one_article_count_it_out_once(app) {
        let writer = register(&app.client, "writer").await;
        create_article(&app.client, &writer, "Keep", &["kept", "shared"]).await;
        create_article(&app.client, &writer, "Racy", &["shared"]).await;
        let id = scalar(app.db(), "SELECT id FROM articles WHERE title = 'Racy'").await;
        let db = app.db();
        let (a, b, c, d) = tokio::join!(
            conduit::db::articles::delete(db, id),
            conduit::db::articles::delete(db, id),
            conduit::db::articles::delete(db, id),
            conduit::db::articles::delete(db, id),
        );
        for result in [a, b, c, d] {
            // SQLite may refuse a racing writer as busy; what went through must be consistent.
            if let Err(e) = result {
                assert!(e.to_string().contains("locked") || e.to_string().contains("busy"), "{e}");
            }
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 1);
        assert_counters_match(&app, "after racing deletes").await;
        let (_, body) = get_json(&app.client, "/api/tags").await;
        assert_eq!(body, json!({"tags": ["kept", "shared"]}));
    }
);

/// Rows written under the first schema, before the counters existed.
const SCHEMA_1_ROWS: &[&str] = &[
    "INSERT INTO users (username, email, password_hash, created_at, updated_at) VALUES \
     ('ann', 'ann@example.com', 'x', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000'), \
     ('bob', 'bob@example.com', 'x', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000')",
    "INSERT INTO articles (slug, title, description, body, author_id, created_at, updated_at) VALUES \
     ('one', 'One', 'd', 'b', 1, '2026-01-02 00:00:00.000', '2026-01-02 00:00:00.000'), \
     ('two', 'Two', 'd', 'b', 1, '2026-01-03 00:00:00.000', '2026-01-03 00:00:00.000'), \
     ('three', 'Three', 'd', 'b', 2, '2026-01-04 00:00:00.000', '2026-01-04 00:00:00.000')",
    "INSERT INTO tags (name) VALUES ('rust'), ('web'), ('unused')",
    "INSERT INTO article_tags (article_id, tag_id) VALUES (1, 1), (1, 2), (2, 1), (3, 2)",
    "INSERT INTO favorites (user_id, article_id, created_at) VALUES \
     (1, 1, '2026-01-05 00:00:00.000'), (2, 1, '2026-01-05 00:00:00.000'), (2, 3, '2026-01-05 00:00:00.000')",
];

/// A database made before the counters (first migration only) and holding data is brought up
/// to date by the app's migrations with every counter filled in.
async fn upgrade_fills_the_counters(engine: Engine, test: &str) {
    let Some((url, _dir, _mysql)) = scratch_database(engine, test).await else {
        return;
    };
    macro_rules! schema_1 {
        ($pool:expr, $migrator:expr) => {{
            let pool = $pool;
            let mut migrator = $migrator;
            migrator.migrations = std::borrow::Cow::Owned(migrator.migrations[..1].to_vec());
            migrator.run(&pool).await.expect("first migration");
            for sql in SCHEMA_1_ROWS {
                sqlx::query(sql).execute(&pool).await.expect(sql);
            }
            pool.close().await;
        }};
    }
    match engine {
        Engine::Sqlite => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                .expect("sqlite url")
                .create_if_missing(true);
            schema_1!(
                sqlx::SqlitePool::connect_with(options).await.expect("sqlite"),
                sqlx::migrate!("migrations/sqlite")
            );
        }
        Engine::MySql => schema_1!(
            sqlx::MySqlPool::connect(&url).await.expect("mysql"),
            sqlx::migrate!("migrations/mysql")
        ),
    }

    let client = Client::tracked(conduit::rocket_with(test_figment(&url)))
        .await
        .expect("app");
    let (status, body) = get_json(&client, "/api/articles").await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["articlesCount"], 3);
    let summary: Vec<(String, i64, serde_json::Value)> = body["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .map(|a| {
            (
                a["slug"].as_str().expect("slug").to_owned(),
                a["favoritesCount"].as_i64().expect("favoritesCount"),
                a["tagList"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("three".to_owned(), 1, json!(["web"])),
            ("two".to_owned(), 0, json!(["rust"])),
            ("one".to_owned(), 2, json!(["rust", "web"])),
        ]
    );
    let (_, body) = get_json(&client, "/api/tags").await;
    assert_eq!(body, json!({"tags": ["rust", "web"]}), "unused tags are not listed");
    let (_, body) = get_json(&client, "/api/articles?author=ann").await;
    assert_eq!(body["articlesCount"], 2);
    let (_, body) = get_json(&client, "/api/articles?tag=web").await;
    assert_eq!(body["articlesCount"], 2);
}

#[rocket::async_test]
async fn upgrade_fills_the_counters_sqlite() {
    upgrade_fills_the_counters(Engine::Sqlite, "counters::upgrade_fills_the_counters_sqlite").await;
}

#[rocket::async_test]
async fn upgrade_fills_the_counters_mysql() {
    upgrade_fills_the_counters(Engine::MySql, "counters::upgrade_fills_the_counters_mysql").await;
}
