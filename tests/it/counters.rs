//! The counters lists read instead of counting per row (`favorite_counts` and SQLite's
//! `articles.favorites_count`,
//! `articles.tag_list`, `tag_counts`, `counts`, `article_blocks`) stay equal to fresh counts through every write
//! that touches what they count: favorites, article edits and deletes, tag renames and
//! deletes, and deleting a user (whose rows go by cascade). Each reader's written-ahead feed
//! (`feed_entries`) stays equal to the join of their follows and the followed authors' articles.

use std::str::FromStr;

use conduit::db::{ArticleId, Engine};
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

use crate::admin::{create_article, id_of, make_admin};
use crate::harness::{scratch_database, test_figment, TestApp};
use crate::support::{api, exec, get_json, get_page, register, scalar, texts};

/// Every counter against a fresh count; panics naming the first that differs.
pub async fn assert_counters_match(app: &TestApp, when: &str) {
    let stale_favorites = scalar(
        app.db(),
        "SELECT COUNT(*) FROM articles a WHERE COALESCE((SELECT SUM(c.n) FROM favorite_counts c WHERE c.article_id = a.id), 0) \
         <> (SELECT COUNT(*) FROM favorites f WHERE f.article_id = a.id)",
    )
    .await;
    assert_eq!(
        stale_favorites, 0,
        "favorite_counts differ from the favorites {when}"
    );
    let stale_tags = scalar(
        app.db(),
        "SELECT COUNT(*) FROM tags t WHERE COALESCE((SELECT SUM(c.n) FROM tag_counts c WHERE c.tag_id = t.id), 0) \
         <> (SELECT COUNT(*) FROM article_tags at WHERE at.tag_id = t.id)",
    )
    .await;
    assert_eq!(stale_tags, 0, "tag_counts differ from the tag links {when}");
    if app.engine == Engine::Sqlite {
        // SQLite's per-tag totals, kept by triggers on tag_counts (the popular tags' order).
        let stale_totals = scalar(
            app.db(),
            "SELECT COUNT(*) FROM tags t WHERE t.article_count <> (SELECT COUNT(*) FROM article_tags at WHERE at.tag_id = t.id)",
        )
        .await;
        assert_eq!(
            stale_totals, 0,
            "tags.article_count differs from the tag links {when}"
        );
        // SQLite's per-article favorite totals, kept by triggers on favorite_counts (what
        // lists and pages read).
        let stale_favorite_totals = scalar(
            app.db(),
            "SELECT COUNT(*) FROM articles a WHERE a.favorites_count <> (SELECT COUNT(*) FROM favorites f WHERE f.article_id = a.id)",
        )
        .await;
        assert_eq!(
            stale_favorite_totals, 0,
            "articles.favorites_count differs from the favorites {when}"
        );
    }
    let stale_authors = scalar(
        app.db(),
        "SELECT COUNT(*) FROM users u WHERE u.articles_count <> (SELECT COUNT(*) FROM articles a WHERE a.author_id = u.id)",
    )
    .await;
    assert_eq!(
        stale_authors, 0,
        "users.articles_count differs from their articles {when}"
    );
    let feed_extra = scalar(
        app.db(),
        "SELECT COUNT(*) FROM feed_entries fe WHERE NOT EXISTS (SELECT 1 FROM follows f JOIN articles a \
         ON a.author_id = f.followee_id WHERE f.follower_id = fe.user_id AND a.id = fe.article_id)",
    )
    .await;
    assert_eq!(feed_extra, 0, "feed entries for no followed article {when}");
    let feed_missing = scalar(
        app.db(),
        "SELECT COUNT(*) FROM follows f JOIN articles a ON a.author_id = f.followee_id WHERE NOT EXISTS \
         (SELECT 1 FROM feed_entries fe WHERE fe.user_id = f.follower_id AND fe.article_id = a.id)",
    )
    .await;
    assert_eq!(
        feed_missing, 0,
        "followed articles missing from feed entries {when}"
    );
    let total = scalar(
        app.db(),
        "SELECT CAST(SUM(value) AS SIGNED) FROM counts WHERE name = 'articles'",
    )
    .await;
    assert_eq!(
        total,
        scalar(app.db(), "SELECT COUNT(*) FROM articles").await,
        "counts.articles {when}"
    );
    // The articles per block of 1,024 ids (deep offsets seek by them): each block's slots
    // summed against a fresh count of its ids, both ways.
    let stale_blocks = scalar(
        app.db(),
        "SELECT COUNT(*) FROM (SELECT block, SUM(n) AS n FROM article_blocks GROUP BY block) b \
         WHERE b.n <> (SELECT COUNT(*) FROM articles a WHERE a.id >> 10 = b.block)",
    )
    .await;
    assert_eq!(stale_blocks, 0, "article_blocks differ from the ids {when}");
    let missing_blocks = scalar(
        app.db(),
        "SELECT COUNT(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM article_blocks b WHERE b.block = a.id >> 10)",
    )
    .await;
    assert_eq!(
        missing_blocks, 0,
        "articles in no block of article_blocks {when}"
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
    body["article"]["favoritesCount"]
        .as_i64()
        .expect("favoritesCount")
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) {
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
        let db = app.db();
        // Each round: one article, four deletes of it released at once on threads of their own.
        for round in 0..6 {
            create_article(&app.client, &writer, &format!("Racy {round}"), &["shared", "racy"]).await;
            let id = ArticleId::new(scalar(db, &format!("SELECT id FROM articles WHERE title = 'Racy {round}'")).await);
            let results = crate::support::race(4, |_| conduit::db::articles::delete(db, id));
            for result in results {
                // SQLite may refuse a racing writer as busy; what went through must be consistent.
                if let Err(e) = result {
                    assert!(e.to_string().contains("locked") || e.to_string().contains("busy"), "{e}");
                }
            }
            assert_eq!(scalar(db, "SELECT COUNT(*) FROM articles").await, 1, "round {round}");
            assert_counters_match(&app, &format!("after racing deletes, round {round}")).await;
            let (_, body) = get_json(&app.client, "/api/tags").await;
            assert_eq!(body, json!({"tags": ["kept", "shared"]}), "round {round}");
        }
    }
);

db_test!(
    async fn feed_entries_follow_follows_articles_and_deletes(app) {
        let ann = register(&app.client, "ann").await;
        let bob = register(&app.client, "bob").await;
        let cy = register(&app.client, "cy").await;
        let early = create_article(&app.client, &ann, "Before the follow", &[]).await;
        call(&app, Method::Post, "/api/profiles/ann/follow", &bob, None).await;
        call(&app, Method::Post, "/api/profiles/ann/follow", &bob, None).await; // idempotent
        call(&app, Method::Post, "/api/profiles/ann/follow", &cy, None).await;
        call(&app, Method::Post, "/api/profiles/cy/follow", &bob, None).await;
        create_article(&app.client, &ann, "After the follow", &[]).await;
        create_article(&app.client, &cy, "By cy", &[]).await;
        create_article(&app.client, &bob, "By bob himself", &[]).await;
        assert_counters_match(&app, "after follows and new articles").await;

        let feed = |token: String| {
            let client = &app.client;
            async move {
                let (status, body) = api(client, Method::Get, "/api/articles/feed", Some(&token), None).await;
                assert_eq!(status, Status::Ok, "{body}");
                let titles: Vec<String> =
                    body["articles"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap().to_owned()).collect();
                (titles, body["articlesCount"].as_i64().unwrap())
            }
        };
        assert_eq!(
            feed(bob.clone()).await,
            (vec!["By cy".to_owned(), "After the follow".to_owned(), "Before the follow".to_owned()], 3)
        );

        // Unfollowing takes the author's articles out, following again brings them back.
        call(&app, Method::Delete, "/api/profiles/ann/follow", &bob, None).await;
        call(&app, Method::Delete, "/api/profiles/ann/follow", &bob, None).await; // idempotent
        assert_eq!(feed(bob.clone()).await, (vec!["By cy".to_owned()], 1));
        assert_eq!(feed(cy.clone()).await.1, 2, "another follower's feed is untouched");
        assert_counters_match(&app, "after an unfollow").await;
        call(&app, Method::Post, "/api/profiles/ann/follow", &bob, None).await;
        assert_eq!(feed(bob.clone()).await.1, 3);

        // Deleted articles and deleted authors leave every feed; deleted readers' feeds go too.
        call(&app, Method::Delete, &format!("/api/articles/{early}"), &ann, None).await;
        assert_eq!(feed(bob.clone()).await, (vec!["By cy".to_owned(), "After the follow".to_owned()], 2));
        assert_counters_match(&app, "after deleting an article").await;
        let root = register(&app.client, "root").await;
        make_admin(&app, "root").await;
        let cy_id = id_of(&app, "cy").await;
        call(&app, Method::Delete, &format!("/api/admin/users/{cy_id}"), &root, None).await;
        assert_eq!(feed(bob.clone()).await, (vec!["After the follow".to_owned()], 1));
        let bob_id = id_of(&app, "bob").await;
        call(&app, Method::Delete, &format!("/api/admin/users/{bob_id}"), &root, None).await;
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM feed_entries").await, 0);
        assert_counters_match(&app, "after deleting a followed author and a reader").await;
    }
);

db_test!(
    async fn racing_follows_and_new_articles_leave_the_feed_whole(app) {
        // A follow (or unfollow) and a new article by the followed author at the same moment (on
        // threads of their own, released together; many rounds): whichever
        // commits second must see the other, so the article is in the feed exactly once.
        register(&app.client, "author").await;
        register(&app.client, "reader").await;
        let (author, reader) = (id_of(&app, "author").await, id_of(&app, "reader").await);
        let db = app.db();
        for round in 0..6 {
            let data = conduit::db::articles::ArticleData {
                title: format!("Round {round}"),
                description: "d".into(),
                body: "b".into(),
                tags: vec![],
            };
            let slug = format!("round-{round}");
            let results = crate::support::race(2, |i| {
                let (data, slug) = (&data, &slug);
                async move {
                if i == 0 {
                    conduit::db::profiles::follow(db, reader, author).await.map_err(|e| format!("follow: {e}"))
                } else {
                    conduit::db::articles::insert(db, author, data, slug).await.map(drop).map_err(|e| format!("insert: {e}"))
                }
                }
            });
            for result in results {
                result.expect("follow and insert, at once");
            }
            assert_counters_match(&app, &format!("after follow round {round}")).await;
            let slug = format!("round-{round}-after");
            let results = crate::support::race(2, |i| {
                let (data, slug) = (&data, &slug);
                async move {
                if i == 0 {
                    conduit::db::profiles::unfollow(db, reader, author).await.map_err(|e| format!("unfollow: {e}"))
                } else {
                    conduit::db::articles::insert(db, author, data, slug).await.map(drop).map_err(|e| format!("insert: {e}"))
                }
                }
            });
            for result in results {
                result.expect("unfollow and insert, at once");
            }
            assert_counters_match(&app, &format!("after unfollow round {round}")).await;
        }
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
    "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (2, 1, '2026-01-05 00:00:00.000')",
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
                sqlx::SqlitePool::connect_with(options)
                    .await
                    .expect("sqlite"),
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
    assert_eq!(
        body,
        json!({"tags": ["rust", "web"]}),
        "unused tags are not listed"
    );
    let (_, body) = get_json(&client, "/api/articles?author=ann").await;
    assert_eq!(body["articlesCount"], 2);
    let (_, body) = get_json(&client, "/api/articles?tag=web").await;
    assert_eq!(body["articlesCount"], 2);
    // bob followed ann before the feed was written ahead: her articles are in his feed.
    let feed: Vec<(i64, i64)> = match engine {
        Engine::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&url).await.expect("sqlite");
            sqlx::query_as("SELECT user_id, article_id FROM feed_entries ORDER BY article_id")
                .fetch_all(&pool)
                .await
                .expect("feed entries")
        }
        Engine::MySql => {
            let pool = sqlx::MySqlPool::connect(&url).await.expect("mysql");
            sqlx::query_as("SELECT user_id, article_id FROM feed_entries ORDER BY article_id")
                .fetch_all(&pool)
                .await
                .expect("feed entries")
        }
    };
    assert_eq!(feed, vec![(2, 1), (2, 2)]);
}

#[rocket::async_test]
async fn upgrade_fills_the_counters_sqlite() {
    upgrade_fills_the_counters(
        Engine::Sqlite,
        "counters::upgrade_fills_the_counters_sqlite",
    )
    .await;
}

#[rocket::async_test]
async fn upgrade_fills_the_counters_mysql() {
    upgrade_fills_the_counters(Engine::MySql, "counters::upgrade_fills_the_counters_mysql").await;
}

db_test!(
    async fn the_popular_tags_are_read_in_index_order_not_summed_and_sorted(app) {
        // What the home page's statement carries and `/api/tags` reads: on SQLite the tags'
        // totals in the order of `tags_popular` (an index-only read that stops at the limit),
        // on MySQL (where an instance reuses the result for a second) one grouped pass over
        // the slots (one temporary table, no derived table summing every slot first).
        let sql = match conduit::db::tags::popular_names_sql(app.engine) {
            Some(packed) => format!("SELECT {packed}"),
            None => conduit::db::tags::popular_counts_sql(app.engine).to_owned(),
        };
        let plan: Vec<String> = match app.engine {
            Engine::Sqlite => {
                let sql = format!("EXPLAIN QUERY PLAN {sql}");
                crate::support::db_run!(app.db(), |c| sqlx::query_as::<_, (i64, i64, i64, String)>(&sql).bind(20_i64).fetch_all(c).await)
                    .expect("explain")
                    .into_iter()
                    .map(|row| row.3)
                    .collect()
            }
            Engine::MySql => {
                let sql = format!("EXPLAIN {sql}");
                crate::support::db_run!(app.db(), |c| {
                    use sqlx::Row;
                    sqlx::query(&sql).bind(20_i64).fetch_all(c).await.and_then(|rows| {
                        rows.iter()
                            .map(|row| {
                                let text = |name: &str| row.try_get::<Option<String>, _>(name).map(Option::unwrap_or_default);
                                Ok(format!("table={} Extra={}", text("table")?, text("Extra")?))
                            })
                            .collect::<Result<Vec<_>, sqlx::Error>>()
                    })
                })
                .expect("explain")
            }
        };
        let plan = plan.join("\n");
        match app.engine {
            Engine::Sqlite => {
                assert!(plan.contains("COVERING INDEX tags_popular"), "{plan}");
                assert!(!plan.contains("TEMP B-TREE"), "sorted, not read in order: {plan}");
                assert!(!plan.contains("tag_counts"), "summed the slots: {plan}");
            }
            Engine::MySql => {
                assert_eq!(plan.matches("Using temporary").count(), 1, "{plan}");
                assert_eq!(plan.matches("table=<derived").count(), 1, "only the list itself is derived: {plan}");
            }
        }
    }
);

/// The popular tags as `/api/tags` gives them.
async fn popular(app: &TestApp) -> serde_json::Value {
    let (status, body) = api(&app.client, Method::Get, "/api/tags", None, None).await;
    assert_eq!(status, Status::Ok, "{body}");
    body["tags"].clone()
}

db_test!(
    async fn popular_tags_show_this_instances_writes_at_once_and_others_within_a_second(app) {
        let token = register(&app.client, "memo").await;
        create_article(&app.client, &token, "One", &["alpha"]).await;
        assert_eq!(popular(&app).await, json!(["alpha"]));
        // This instance's own writes are read back at once: a new tag, an edit, a delete.
        let slug = create_article(&app.client, &token, "Two", &["beta", "alpha"]).await;
        assert_eq!(popular(&app).await, json!(["alpha", "beta"]));
        // The statements one read runs, the fewest of five: the pool's count also takes in what
        // background tasks run meanwhile (the mail sent for the sign-up above), never less.
        let mut ran = u64::MAX;
        for _ in 0..5 {
            let before = app.db().statement_count();
            assert_eq!(popular(&app).await, json!(["alpha", "beta"]));
            ran = ran.min(app.db().statement_count() - before);
        }
        match app.engine {
            // The index read, every time.
            Engine::Sqlite => assert_eq!(ran, 1),
            // Within the second, nothing changed here: the instance's memo, no statement.
            Engine::MySql => assert_eq!(ran, 0),
        }
        let (status, body) = api(
            &app.client,
            Method::Put,
            &format!("/api/articles/{slug}"),
            Some(&token),
            Some(json!({"article": {"tagList": ["gamma"]}})),
        )
        .await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(popular(&app).await, json!(["alpha", "gamma"]));
        let (status, _) = api(&app.client, Method::Delete, &format!("/api/articles/{slug}"), Some(&token), None).await;
        assert_eq!(status, Status::NoContent);
        assert_eq!(popular(&app).await, json!(["alpha"]));
        // The home page's sidebar reads the same.
        let (status, home) = get_page(&app.client, "/").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&home, ".sidebar .tag-pill"), ["alpha"], "sidebar");

        // Another instance's write (made here straight in the database, as another app
        // server's would be): seen within POPULAR_FRESH on MySQL, at once on SQLite.
        let written = std::time::Instant::now();
        exec(app.db(), "INSERT INTO tags (name, created_at) VALUES ('delta', '2026-01-01 00:00:00')")
            .await
            .expect("tag");
        exec(
            app.db(),
            "INSERT INTO tag_counts (tag_id, slot, n) SELECT id, 0, 5 FROM tags WHERE name = 'delta'",
        )
        .await
        .expect("count");
        loop {
            let tags = popular(&app).await;
            if tags == json!(["delta", "alpha"]) {
                break;
            }
            assert_eq!(tags, json!(["alpha"]), "either before or after the write");
            assert!(app.engine == Engine::MySql, "SQLite reads every time");
            assert!(
                written.elapsed() < conduit::db::tags::POPULAR_FRESH + std::time::Duration::from_millis(500),
                "another instance's write unseen after {:?}",
                written.elapsed()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
);
