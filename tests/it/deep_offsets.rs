//! Deep offsets of the unfiltered list (issue 22): from an offset of 1,024 on, the page is
//! found through the per-block article counts (`article_blocks`) and a seek into the narrow
//! id index, and must be exactly the page a plain walk of every id gives: at block edges,
//! around deleted articles, past the end, logged in or not; the block counts stay equal to
//! fresh counts through API writes; and the plan of the id read is a range of `articles_id`.

use crate::support::db_run;
use conduit::db::articles::{explain_page_ids, Filter, Position};
use conduit::db::Engine;
use rocket::http::{Method, Status};
use serde_json::json;

use crate::counters::assert_counters_match;
use crate::harness::TestApp;
use crate::support::{api, exec, get_page, register, scalar, texts};

/// Articles written straight into the table: through the API 2,600 would take minutes.
const BULK: i64 = 2600;

/// The digits 0 to 9 as rows (MariaDB stops a recursive CTE at 1,000 rows by default).
const DIGITS: &str = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";

/// The titles of the unfiltered list at `offset`, newest first, by a plain walk of every id.
async fn walked(app: &TestApp, limit: i64, offset: i64) -> Vec<String> {
    let sql = "SELECT title FROM articles ORDER BY id DESC LIMIT ? OFFSET ?";
    db_run!(app.db(), |c| sqlx::query_scalar::<_, String>(sql)
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await)
    .expect(sql)
}

/// The titles `GET path` lists (as the holder of `token`), and its `articlesCount`.
async fn listed(
    client: &rocket::local::asynchronous::Client,
    path: &str,
    token: Option<&str>,
) -> (Vec<String>, i64) {
    let (status, body) = api(client, Method::Get, path, token, None).await;
    assert_eq!(status, Status::Ok, "{path}: {body}");
    let slugs = body["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .map(|a| a["title"].as_str().expect("title").to_owned())
        .collect();
    (
        slugs,
        body["articlesCount"].as_i64().expect("articlesCount"),
    )
}

db_test!(
    async fn deep_offsets_find_the_same_page_as_walking_every_id(app) {
        let script = crate::support::script_client(&app.client).await;
        let token = register(&script, "bulk").await;
        let first = json!({"article": {"title": "First", "description": "d", "body": "b", "tagList": []}});
        let (status, body) = api(&script, Method::Post, "/api/articles", Some(&token), Some(first)).await;
        assert_eq!(status, Status::Created, "{body}");
        // The bulk rows copy the first article's author and times; their counters are then
        // made as the migration makes them (the other slots of `counts` are still empty).
        let concat = match app.engine {
            Engine::Sqlite => "'bulk-' || s.i",
            Engine::MySql => "CONCAT('bulk-', s.i)",
        };
        exec(
            app.db(),
            &format!(
                "INSERT INTO articles (slug, title, description, body, author_id, created_at, updated_at) \
                 SELECT {concat}, {concat}, 'd', 'b', f.author_id, f.created_at, f.updated_at \
                 FROM (SELECT a.d * 1000 + b.d * 100 + c.d * 10 + e.d AS i FROM {DIGITS} a CROSS JOIN {DIGITS} b \
                       CROSS JOIN {DIGITS} c CROSS JOIN {DIGITS} e) s \
                 CROSS JOIN (SELECT author_id, created_at, updated_at FROM articles WHERE slug = 'first') f \
                 WHERE s.i BETWEEN 1 AND {BULK} ORDER BY s.i"
            ),
        )
        .await
        .expect("bulk insert");
        for sql in [
            format!("UPDATE counts SET value = value + {BULK} WHERE name = 'articles' AND slot = 0"),
            format!("UPDATE users SET articles_count = articles_count + {BULK} WHERE username = 'bulk'"),
            "DELETE FROM article_blocks".to_owned(),
            "INSERT INTO article_blocks (block, slot, n) SELECT id >> 10, 0, COUNT(*) FROM articles GROUP BY id >> 10".to_owned(),
        ] {
            exec(app.db(), &sql).await.expect("counters");
        }
        assert_counters_match(&app, "after the bulk insert").await;
        // Through the API: holes in the middle blocks (and a whole run of them), new articles
        // in the newest block.
        let doomed: Vec<String> = [5_i64, 900, 1000, 1023, 1024, 1025, 1500, 2047, 2048]
            .iter()
            .map(|i| format!("bulk-{i}"))
            .collect();
        for slug in &doomed {
            let (status, body) = api(&script, Method::Delete, &format!("/api/articles/{slug}"), Some(&token), None).await;
            assert_eq!(status, Status::NoContent, "{slug}: {body}");
        }
        for i in 0..3 {
            let article = json!({"article": {"title": format!("Late {i}"), "description": "d", "body": "b", "tagList": []}});
            let (status, body) = api(&script, Method::Post, "/api/articles", Some(&token), Some(article)).await;
            assert_eq!(status, Status::Created, "{body}");
        }
        assert_counters_match(&app, "after API deletes and inserts").await;
        let total = scalar(app.db(), "SELECT COUNT(*) FROM articles").await;
        assert_eq!(total, BULK + 1 - 9 + 3);
        for offset in [0, 20, 1003, 1023, 1024, 1025, 1100, 1577, 1580, 2000, 2040, 2047, 2048, 2100, total - 20, total - 1] {
            let expected = walked(&app, 20, offset).await;
            assert!(!expected.is_empty(), "offset {offset} is inside the list");
            for who in [None, Some(token.as_str())] {
                let (slugs, count) = listed(&script, &format!("/api/articles?offset={offset}"), who).await;
                assert_eq!(slugs, expected, "offset {offset}, logged in: {}", who.is_some());
                assert_eq!(count, total, "articlesCount at offset {offset}");
            }
            // The site's old ?page= links (ten a page) read the same way.
            if offset % 10 == 0 && offset >= 1024 {
                let (status, html) = get_page(&app.client, &format!("/?page={}", offset / 10 + 1)).await;
                assert_eq!(status, Status::Ok, "?page= at offset {offset}");
                assert_eq!(texts(&html, ".article-preview h2"), walked(&app, 10, offset).await, "?page= at offset {offset}");
            }
        }
        for offset in [total, total + 5, 1_000_000] {
            let (slugs, count) = listed(&script, &format!("/api/articles?offset={offset}"), None).await;
            assert!(slugs.is_empty(), "past the end at {offset}: {slugs:?}");
            assert_eq!(count, total, "articlesCount past the end");
        }
        // A deep page reads a range of the id index below the block's end, not a walk from the
        // newest id.
        let plan = explain_page_ids(app.db(), &Filter::default(), Position::Offset(2000)).await.expect("explain").join("\n");
        match app.engine {
            Engine::Sqlite => assert!(plan.contains("SEARCH d USING COVERING INDEX articles_id (id<?)"), "{plan}"),
            Engine::MySql => {
                assert!(plan.contains("type=range key=articles_id "), "{plan}");
                assert!(plan.contains("Using index"), "{plan}");
            }
        }
    }
);
