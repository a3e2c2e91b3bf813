//! MySQL/MariaDB search postings (`src/db/search/postings.rs`): every write of an article keeps
//! its `search_postings` rows in step (folded words per field, capped per field), an article
//! without rows gets all of them when next written, and a deleted article's rows go with it.
//! On SQLite (no such table) the same writes stay searchable through FTS5.

use conduit::db::Engine;
use rocket::http::{Method, Status};
use serde_json::json;

use crate::harness::TestApp;
use crate::search::write;
use crate::support::{api, db_run, exec, get_json, register, scalar};

/// The postings of the article `slug` as `field:word`, sorted (MySQL only).
async fn postings(app: &TestApp, slug: &str) -> Vec<String> {
    let id = scalar(
        app.db(),
        &format!("SELECT id FROM articles WHERE slug = '{slug}'"),
    )
    .await;
    let sql = format!(
        "SELECT CONCAT(field, ':', CONVERT(word USING utf8mb4)) FROM search_postings \
         WHERE article_id = {id} ORDER BY 1"
    );
    db_run!(app.db(), |c| sqlx::query_scalar::<_, String>(&sql)
        .fetch_all(c)
        .await)
    .expect("postings")
}

/// The titles `GET /api/articles?q=` finds.
async fn titles(app: &TestApp, q: &str) -> Vec<String> {
    let (status, value) = get_json(&app.client, &format!("/api/articles?q={q}")).await;
    assert_eq!(status, Status::Ok, "{value}");
    value["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .map(|a| a["title"].as_str().expect("title").to_owned())
        .collect()
}

fn rows(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

db_test!(
    async fn writes_keep_an_articles_postings_in_step(app) {
        let token = register(&app.client, "writer").await;
        let slug = write(&app.client, &token, "Café Crème", "Nothing", "zeta alpha zeta", &["web-dev"]).await;
        let mysql = app.engine == Engine::MySql;
        if mysql {
            assert_eq!(
                postings(&app, &slug).await,
                rows(&["3:cafe", "3:creme", "2:web", "2:dev", "1:nothing", "0:zeta", "0:alpha"])
            );
        }
        let edit = json!({"article": {"title": "Café Noir", "body": "alpha beta", "tagList": ["web-dev", "rust"]}});
        let (status, body) = api(&app.client, Method::Put, &format!("/api/articles/{slug}"), Some(&token), Some(edit)).await;
        assert_eq!(status, Status::Ok, "{body}");
        let slug = body["article"]["slug"].as_str().expect("slug").to_owned();
        if mysql {
            assert_eq!(
                postings(&app, &slug).await,
                rows(&["3:cafe", "3:noir", "2:web", "2:dev", "2:rust", "1:nothing", "0:alpha", "0:beta"])
            );
            // Written by a release without postings: the next write indexes every field.
            exec(app.db(), "DELETE FROM search_postings").await.expect("cleared");
            let edit = json!({"article": {"description": "Changed"}});
            let (status, body) = api(&app.client, Method::Put, &format!("/api/articles/{slug}"), Some(&token), Some(edit)).await;
            assert_eq!(status, Status::Ok, "{body}");
            assert_eq!(
                postings(&app, &slug).await,
                rows(&["3:cafe", "3:noir", "2:web", "2:dev", "2:rust", "1:changed", "0:alpha", "0:beta"])
            );
        }
        assert_eq!(titles(&app, "noir").await, ["Café Noir"]);
        let (status, _) = api(&app.client, Method::Delete, &format!("/api/articles/{slug}"), Some(&token), None).await;
        assert!(status.code < 300, "{status}");
        if mysql {
            assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM search_postings").await, 0);
        }
    }
);

db_test!(
    async fn a_long_body_indexes_its_first_distinct_words_only(app) {
        let token = register(&app.client, "writer").await;
        let body = (0..3_000).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        write(&app.client, &token, "Long", "Words", &body, &[]).await;
        if app.engine == Engine::MySql {
            assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM search_postings WHERE field = 0").await, 2_000);
            assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM search_postings WHERE word = 'w1999'").await, 1);
            assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM search_postings WHERE word = 'w2000'").await, 0);
        }
    }
);
