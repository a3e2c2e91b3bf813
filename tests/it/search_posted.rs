//! MySQL/MariaDB search read from its postings (`src/db/search/posted.rs`), on both engines
//! (SQLite's FTS5 answers the same): every word searched for, stopwords and short words
//! included; the caps and the order after a backfill; the bound on rows examined making a
//! search partial, said on the page; the backfill of articles written without postings (by
//! SQL here, as an older release would), step by step and by the background task; and the
//! FULLTEXT fallback while the backfill is behind.

use conduit::db::search::backfill::{step, Step};
use conduit::db::Engine;
use rocket::http::Status;
use serde_json::json;

use crate::harness::TestApp;
use crate::search::write;
use crate::search_caps::many_plums;
use crate::support::{exec, get_json, get_page, register, scalar, texts};

/// The titles `GET /api/articles?<query>` answers, in order, and its `articlesCount`.
async fn titles(app: &TestApp, query: &str) -> (Vec<String>, i64) {
    let (status, body) = get_json(&app.client, &format!("/api/articles?{query}")).await;
    assert_eq!(status, Status::Ok, "{query}: {body}");
    let list = body["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .map(|a| a["title"].as_str().expect("title").to_owned())
        .collect();
    (list, body["articlesCount"].as_i64().expect("count"))
}

/// An article written straight into `articles` by user `writer` (no postings on MySQL, as
/// an instance of the previous release writes it).
async fn insert_raw(app: &TestApp, slug: &str, title: &str, body: &str) {
    let now = match app.engine {
        Engine::Sqlite => "'2026-01-01T00:00:00.000+00:00'",
        Engine::MySql => "'2026-01-01 00:00:00'",
    };
    let sql = format!(
        "INSERT INTO articles (slug, title, description, body, author_id, created_at, updated_at, tag_list) \
         SELECT '{slug}', '{title}', 'Raw', '{body}', id, {now}, {now}, '' FROM users WHERE username = 'writer'"
    );
    exec(app.db(), &sql).await.expect("raw article");
}

/// Backfill steps of about `rows` postings until caught up; every step's report.
pub async fn backfill(app: &TestApp, rows: usize) -> Vec<Step> {
    let mut steps = Vec::new();
    loop {
        let done = step(app.db(), rows).await.expect("backfill step");
        steps.push(done);
        if done.caught_up {
            return steps;
        }
        assert!(steps.len() < 1_000, "the backfill does not end");
    }
}

db_test!(
    async fn short_words_and_stopwords_are_searched_for_on_both_engines(app) {
        let token = register(&app.client, "writer").await;
        write(&app.client, &token, "Moon landing", "Apollo", "Plain", &[]).await;
        write(&app.client, &token, "Go to the moon", "Trip", "Plain", &[]).await;
        write(&app.client, &token, "Golang notes", "Code", "Plain", &[]).await;
        // "the" is a word like any other: required, so the article without it is left out.
        assert_eq!(titles(&app, "q=the+moon").await, (vec!["Go to the moon".to_owned()], 1));
        assert_eq!(titles(&app, "q=to+moon").await, (vec!["Go to the moon".to_owned()], 1));
        // A two-letter word is a prefix as any word is: the word itself and longer ones.
        let (found, _) = titles(&app, "q=go").await;
        assert_eq!(found, ["Golang notes", "Go to the moon"]);
        let (found, _) = titles(&app, "q=moon").await;
        assert_eq!(found, ["Go to the moon", "Moon landing"]);
    }
);

db_test!(
    async fn after_a_backfill_the_postings_keep_the_order_and_the_caps(app) {
        let token = register(&app.client, "writer").await;
        write(&app.client, &token, "Plum in the title", "d", "b", &[]).await;
        many_plums(&app, 1_004).await;
        let steps = backfill(&app, 1_000).await;
        let articles = scalar(app.db(), "SELECT COUNT(*) FROM articles").await;
        if app.engine == Engine::MySql {
            // Sized by rows: each bulk article has six postings, so about 167 a step; the mark
            // only moves up, to the newest article.
            assert!(steps.len() >= 6, "{steps:?}");
            assert!(steps.windows(2).all(|w| w[0].mark <= w[1].mark), "{steps:?}");
            assert!(steps.iter().all(|s| s.rows <= 1_000 + 6), "{steps:?}");
            let newest = scalar(app.db(), "SELECT MAX(id) FROM articles").await;
            assert_eq!(steps.last().expect("a step").mark, newest);
            assert_eq!(scalar(app.db(), "SELECT indexed_up_to FROM search_postings_state").await, newest);
            assert_eq!(scalar(app.db(), "SELECT COUNT(DISTINCT article_id) FROM search_postings").await, articles);
            // Caught up: another step does nothing.
            assert_eq!(step(app.db(), 1_000).await.expect("step").indexed, 0);
        }
        let (found, count) = titles(&app, "q=plum&limit=3").await;
        assert_eq!(found, ["Plum in the title", "Bulk 1004", "Bulk 1003"]);
        assert_eq!(count, 1_000);
        let (found, _) = titles(&app, "q=ripe+plu&offset=980&limit=20").await;
        let last: Vec<String> = (5..=24).rev().map(|i| format!("Bulk {i}")).collect();
        assert_eq!(found, last);
        let (found, count) = titles(&app, "q=plum&offset=995&limit=20").await;
        assert_eq!((found.len(), count), (5, 1_000));
        let (status, body) = get_json(&app.client, "/api/articles?q=plum&offset=1000").await;
        assert_eq!(status, Status::Ok);
        assert_eq!((body["articles"].clone(), body["articlesCount"].clone()), (json!([]), json!(1_000)));
        // Exact counts below the cap, and a word no article holds.
        assert_eq!(titles(&app, "q=bulk+100").await.1, 6, "100 and 1000 to 1004");
        assert_eq!(titles(&app, "q=plum+nowhere").await, (vec![], 0));
        let (_, page) = get_page(&app.client, "/search?q=plum").await;
        assert_eq!(texts(&page, ".search-count"), ["1000+ articles match “plum”, showing 1–10."]);
        assert!(texts(&page, ".search-partial").is_empty());
    }
);

db_test!(
    |f| f.merge(("search_rows_examined", 200)),
    async fn a_search_cut_short_by_its_bound_shows_what_it_found_and_says_so(app) {
        let token = register(&app.client, "writer").await;
        many_plums(&app, 300).await;
        write(&app.client, &token, "Zebu notes", "d", "b", &[]).await;
        backfill(&app, 5_000).await;
        // Two words in 300 articles each: reading them and checking each article reads more
        // than 200 rows on MySQL, which stops there.
        let (status, body) = get_json(&app.client, "/api/articles?q=ripe+plum&limit=100").await;
        assert_eq!(status, Status::Ok, "{body}");
        let shown = body["articles"].as_array().expect("articles").len();
        let count = body["articlesCount"].as_i64().expect("count");
        let (status, page) = get_page(&app.client, "/search?q=ripe+plum").await;
        assert_eq!(status, Status::Ok);
        let notice = texts(&page, ".search-partial");
        if app.engine == Engine::MySql {
            assert!(shown < 100, "{shown} shown");
            assert_eq!(count, i64::try_from(shown).expect("small"), "the count is what was found");
            assert_eq!(notice.len(), 1, "{notice:?}");
            assert!(notice[0].contains("more articles may match"), "{notice:?}");
        } else {
            assert_eq!((shown, count), (100, 300));
            assert!(notice.is_empty());
        }
        // A search within the bound is whole, and says nothing.
        let (status, page) = get_page(&app.client, "/search?q=zebu").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, ".search-result h2 a"), ["Zebu notes"]);
        assert!(texts(&page, ".search-partial").is_empty());
    }
);

db_test!(
    async fn while_the_backfill_is_behind_mysql_searches_fulltext_then_the_postings(app) {
        register(&app.client, "writer").await;
        insert_raw(&app, "raw-one", "Raw zyzzyva", "An xq marks the spot").await;
        // Not yet backfilled: still found (MySQL by its FULLTEXT index), never silently missing.
        assert_eq!(titles(&app, "q=zyzzyva").await, (vec!["Raw zyzzyva".to_owned()], 1));
        // A two-letter word: FULLTEXT does not index it, the postings and FTS5 do.
        let (short, _) = titles(&app, "q=xq").await;
        if app.engine == Engine::MySql {
            assert!(short.is_empty(), "{short:?}");
            assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM search_postings").await, 0);
        } else {
            assert_eq!(short, ["Raw zyzzyva"]);
        }
        let steps = backfill(&app, 5_000).await;
        if app.engine == Engine::MySql {
            assert_eq!(steps.iter().map(|s| s.indexed).sum::<usize>(), 1, "{steps:?}");
        }
        assert_eq!(titles(&app, "q=xq").await, (vec!["Raw zyzzyva".to_owned()], 1));
        assert_eq!(titles(&app, "q=xq+zyzz").await.0, ["Raw zyzzyva"]);
    }
);

db_test!(
    |f| f.merge(("search_backfill_seconds", 1)),
    async fn the_backfill_task_indexes_articles_written_without_postings(app) {
        register(&app.client, "writer").await;
        insert_raw(&app, "raw-two", "Raw okapi", "An xq here").await;
        let id = scalar(app.db(), "SELECT id FROM articles WHERE slug = 'raw-two'").await;
        if app.engine == Engine::MySql {
            let mut mark = 0;
            for _ in 0..100 {
                mark = scalar(app.db(), "SELECT indexed_up_to FROM search_postings_state").await;
                if mark >= id {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert!(mark >= id, "the mark stayed at {mark}");
            assert!(scalar(app.db(), &format!("SELECT COUNT(*) FROM search_postings WHERE article_id = {id}")).await > 0);
        }
        // "xq" is found only from the postings (FULLTEXT does not index two letters).
        assert_eq!(titles(&app, "q=xq+okapi").await.0, ["Raw okapi"]);
        assert_eq!(titles(&app, "q=xq").await.0, ["Raw okapi"]);
    }
);
