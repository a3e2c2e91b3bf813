//! Search at scale (issue 20) on both engines: a word in many articles pages tier by tier
//! (title, tags, description, body) then newest first across page boundaries, the total
//! counted up to 1,000 ("1000+" on the page), pages past the first 1,000 results empty, and
//! the per-address search budget answering 429.

use conduit::db::search::RANKED_WHOLE;
use conduit::db::Engine;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::search::write;
use crate::search_posted::backfill;
use crate::support::{attrs, get_json, get_page, register, texts};

/// Every title `GET /api/articles?<query>` pages through with `limit`, page after page, and
/// the `articlesCount` of each page.
async fn all_pages(client: &Client, query: &str, limit: usize) -> (Vec<String>, Vec<i64>) {
    let mut titles = Vec::new();
    let mut counts = Vec::new();
    loop {
        let path = format!(
            "/api/articles?{query}&limit={limit}&offset={}",
            titles.len()
        );
        let (status, body) = get_json(client, &path).await;
        assert_eq!(status, Status::Ok, "{path}: {body}");
        let page: Vec<String> = body["articles"]
            .as_array()
            .expect("articles")
            .iter()
            .map(|a| a["title"].as_str().expect("title").to_owned())
            .collect();
        counts.push(body["articlesCount"].as_i64().expect("count"));
        let done = page.len() < limit;
        titles.extend(page);
        if done {
            return (titles, counts);
        }
    }
}

/// `n` articles holding "kumquat", written in an order that mixes the tiers, page by tier
/// then newest first across page boundaries, alone, with a second word and narrowed by a tag,
/// on the API and the site.
async fn pages_by_tier_then_newest(app: &TestApp, n: usize) {
    let token = register(&app.client, "writer").await;
    // Article i has the word in the title when i % 5 == 0, in its tags when i % 3 == 0, in
    // its description when i % 2 == 0, and always in its body. Every fourth has "zest" too.
    let mut expected: Vec<(u8, usize, String)> = Vec::new();
    for i in 0..n {
        let (t, g, d) = (i % 5 == 0, i % 3 == 0, i % 2 == 0);
        let title = format!("{} {i:03}", if t { "Kumquat" } else { "Note" });
        let tags: Vec<&str> = if g {
            vec!["kumquats", "fruit"]
        } else {
            vec!["fruit"]
        };
        let description = if d {
            "About kumquat trees"
        } else {
            "About trees"
        };
        let body = if i % 4 == 0 {
            "A kumquat with zest"
        } else {
            "A kumquat"
        };
        write(&app.client, &token, &title, description, body, &tags).await;
        let rank = u8::from(t) * 4 + u8::from(g) * 2 + u8::from(d);
        expected.push((rank, i, title));
    }
    // Unrelated articles do not show up.
    write(&app.client, &token, "Lemon", "Citrus", "Sour", &["fruit"]).await;
    expected.sort_by_key(|(rank, i, _)| std::cmp::Reverse((*rank, *i)));
    let order: Vec<String> = expected.iter().map(|(_, _, t)| t.clone()).collect();
    let count = i64::try_from(n).expect("small");
    // Page sizes that cut tiers in the middle, and one page holding everything.
    for limit in [1, 3, 7, 32, 100] {
        let (titles, counts) = all_pages(&app.client, "q=kumquat", limit).await;
        assert_eq!(titles, order, "limit {limit}");
        assert!(
            counts.iter().all(|c| *c == count),
            "limit {limit}: {counts:?}"
        );
    }
    // Two words: only the articles with both, in the same order.
    let both: Vec<String> = expected
        .iter()
        .filter(|(_, i, _)| i % 4 == 0)
        .map(|(_, _, t)| t.clone())
        .collect();
    let (titles, counts) = all_pages(&app.client, "q=zest+kumq", 2).await;
    assert_eq!(
        (titles, counts[0]),
        (both.clone(), i64::try_from(both.len()).expect("small"))
    );
    // Narrowed by the tag: the same order among the tagged ones.
    let tagged: Vec<String> = expected
        .iter()
        .filter(|(_, i, _)| i % 3 == 0)
        .map(|(_, _, t)| t.clone())
        .collect();
    let (titles, _) = all_pages(&app.client, "q=kumquat&tag=kumquats", 4).await;
    assert_eq!(titles, tagged);
    // The site's pages (ten a page) agree.
    let (status, page) = get_page(&app.client, "/search?q=kumquat&page=2").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(texts(&page, ".search-result h2 a"), order[10..20]);
    assert_eq!(
        texts(&page, ".search-count"),
        [format!("{n} articles match “kumquat”, showing 11–20.")]
    );
}

db_test!(
    async fn a_common_word_pages_by_tier_then_newest_across_page_boundaries(app) {
        pages_by_tier_then_newest(&app, 32).await;
    }
);

db_test!(
    async fn more_matches_than_are_ranked_whole_page_in_the_same_order(app) {
        // On SQLite, up to RANKED_WHOLE matches are ranked in one statement, more tier by
        // tier: "kumquat" alone takes the tiers here, the second word and the tag (each
        // under RANKED_WHOLE) the whole ranking, and every order must be the same.
        let whole = usize::try_from(RANKED_WHOLE).expect("small");
        let n = whole + 12;
        // The tagged ones (every third) and those with both words (every fourth) fit.
        assert!(n.div_ceil(3) <= whole);
        pages_by_tier_then_newest(&app, n).await;
    }
);

/// Writes `n` articles by user `writer` straight into the database, each with "plum" in its
/// body only (ids in creation order), in one statement.
pub async fn many_plums(app: &TestApp, n: usize) {
    let (concat, now) = match app.engine {
        Engine::Sqlite => ("concat", "'2026-01-01T00:00:00.000+00:00'"),
        Engine::MySql => ("CONCAT", "'2026-01-01 00:00:00'"),
    };
    // Numbers from four tables of digits (MariaDB caps recursive CTEs at 1,000 rows).
    let digits = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
                  UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
    let sql = format!(
        "INSERT INTO articles (slug, title, description, body, author_id, created_at, updated_at, tag_list) \
         SELECT {concat}('plum-', i), {concat}('Bulk ', i), 'Filler', 'A ripe plum', \
         (SELECT id FROM users WHERE username = 'writer'), {now}, {now}, '' \
         FROM (SELECT a.d * 1000 + b.d * 100 + c.d * 10 + e.d + 1 AS i \
         FROM {digits} a CROSS JOIN {digits} b CROSS JOIN {digits} c CROSS JOIN {digits} e) numbers \
         WHERE i <= {n} ORDER BY i"
    );
    crate::support::exec(app.db(), &sql)
        .await
        .expect("bulk articles");
}

db_test!(
    async fn a_search_counts_to_a_thousand_and_pages_no_further(app) {
        let token = register(&app.client, "writer").await;
        // The oldest article has the word in its title: it still ranks first.
        write(&app.client, &token, "Plum in the title", "d", "b", &[]).await;
        many_plums(&app, 1_004).await;
        // Indexed as the app's own writes are (MySQL's postings): the search this checks is
        // the one MySQL answers from them. (Before the backfill, MySQL answers from its
        // FULLTEXT indexes: tests/it/search_posted.rs. Right after a bulk insert, InnoDB's
        // FULLTEXT can briefly leave matches out, see src/db/search/mod.rs.)
        backfill(&app, 5_000).await;
        let (status, body) = get_json(&app.client, "/api/articles?q=plum&limit=3").await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body["articlesCount"], 1_000, "counted up to the cap: {body}");
        let titles = |body: &Value| -> Vec<String> {
            body["articles"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(titles(&body), ["Plum in the title", "Bulk 1004", "Bulk 1003"]);
        // The last results within the cap, and a page cut short by it.
        let (_, body) = get_json(&app.client, "/api/articles?q=plum&offset=980&limit=20").await;
        let last: Vec<String> = (6..=25).rev().map(|i| format!("Bulk {i}")).collect();
        assert_eq!(titles(&body), last);
        let (_, body) = get_json(&app.client, "/api/articles?q=plum&offset=995&limit=20").await;
        assert_eq!(titles(&body), ["Bulk 10", "Bulk 9", "Bulk 8", "Bulk 7", "Bulk 6"]);
        assert_eq!(body["articlesCount"], 1_000);
        // Past the cap: an empty page, the count unchanged.
        for offset in [1_000, 1_003, 50_000] {
            let (status, body) = get_json(&app.client, &format!("/api/articles?q=plum&offset={offset}")).await;
            assert_eq!(status, Status::Ok);
            assert_eq!((body["articles"].clone(), body["articlesCount"].clone()), (json!([]), json!(1_000)), "offset {offset}");
        }
        // Fewer than the cap: the exact count, however deep the page.
        let (_, body) = get_json(&app.client, "/api/articles?q=title&offset=1000").await;
        assert_eq!((body["articles"].clone(), body["articlesCount"].clone()), (json!([]), json!(1)));
        // The page says "1000+", links up to page 100 and not past it.
        let (status, page) = get_page(&app.client, "/search?q=plum").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, ".search-count"), ["1000+ articles match “plum”, showing 1–10."]);
        let (_, page) = get_page(&app.client, "/search?q=plum&page=100").await;
        assert_eq!(texts(&page, ".search-result h2 a").len(), 10);
        assert!(attrs(&page, "a[rel=next]", "href").is_empty(), "no page 101");
        assert!(texts(&page, ".search-past-results").is_empty());
        let (status, page) = get_page(&app.client, "/search?q=plum&page=101").await;
        assert_eq!(status, Status::Ok);
        assert!(texts(&page, ".search-result").is_empty());
        assert_eq!(texts(&page, ".search-past-results").len(), 1);
    }
);

/// The app with a search budget of 3 a minute (and the API's own limits on, as in production).
async fn budgeted(engine: Engine, test: &str) -> Option<TestApp> {
    TestApp::spawn_with(engine, test, |f| {
        f.merge(("rate_limits", true))
            .merge(("search_per_minute", 3))
    })
    .await
}

async fn status_from(client: &Client, path: &str, from: &str) -> (Status, Option<String>, String) {
    let res = client
        .get(path.to_owned())
        .remote(from.parse().expect("address"))
        .dispatch()
        .await;
    let retry = res.headers().get_one("Retry-After").map(str::to_owned);
    (
        res.status(),
        retry,
        res.into_string().await.unwrap_or_default(),
    )
}

#[rocket::async_test]
async fn a_flood_of_searches_gets_429_past_the_budget_sqlite() {
    let app = budgeted(Engine::Sqlite, "it::search_caps::budget::sqlite")
        .await
        .expect("sqlite");
    a_flood_of_searches_gets_429_past_the_budget(app).await;
}

#[rocket::async_test]
async fn a_flood_of_searches_gets_429_past_the_budget_mysql() {
    let Some(app) = budgeted(Engine::MySql, "it::search_caps::budget::mysql").await else {
        return;
    };
    a_flood_of_searches_gets_429_past_the_budget(app).await;
}

async fn a_flood_of_searches_gets_429_past_the_budget(app: TestApp) {
    let from = "192.0.2.50:1";
    // Twenty searches at once from one address, the site's and the API's mixed: three pass.
    let paths: Vec<String> = (0..20)
        .map(|i| {
            if i % 2 == 0 {
                format!("/api/articles?q=word{i}")
            } else {
                format!("/search?q=word{i}")
            }
        })
        .collect();
    let answers =
        futures::future::join_all(paths.iter().map(|p| status_from(&app.client, p, from))).await;
    let ok = answers.iter().filter(|(s, _, _)| *s == Status::Ok).count();
    let refused: Vec<_> = answers
        .iter()
        .filter(|(s, _, _)| *s == Status::TooManyRequests)
        .collect();
    assert_eq!(
        (ok, refused.len()),
        (3, 17),
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    for (_, retry, _) in &refused {
        let secs: u64 = retry
            .as_deref()
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&secs), "{secs}");
    }
    // The API says so in JSON, the site on a page.
    let (status, _, body) = status_from(&app.client, "/api/articles?q=again", from).await;
    assert_eq!(status, Status::TooManyRequests);
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert!(
        body["errors"]["body"][0]
            .as_str()
            .expect("a message")
            .contains("too many searches"),
        "{body}"
    );
    let (status, _, page) = status_from(&app.client, "/search?q=again", from).await;
    assert_eq!(status, Status::TooManyRequests);
    assert!(page.contains("too many searches"), "{page}");
    // What is not a search spends nothing and is not refused: the list, the empty search page.
    for path in [
        "/api/articles",
        "/api/articles?q=%20",
        "/search",
        "/search?q=",
    ] {
        let (status, _, _) = status_from(&app.client, path, from).await;
        assert_eq!(status, Status::Ok, "{path}");
    }
    // A field the forms read as `q` under another name is a search too (Rocket matches a
    // field by its name's first key), and an IPv4 client seen through a dual-stack listener
    // (`::ffff:a.b.c.d`) is the same address.
    for (path, address) in [
        ("/search?q.x=again", from),
        ("/search?q%5B%5D=again", from),
        ("/api/articles?q.x=again", from),
        ("/search?q=again", "[::ffff:192.0.2.50]:1"),
    ] {
        let (status, _, _) = status_from(&app.client, path, address).await;
        assert_eq!(status, Status::TooManyRequests, "{path} from {address}");
    }
    // Another address has its own budget; signing in does not lift an address's.
    let (status, _, _) = status_from(&app.client, "/search?q=word", "192.0.2.51:1").await;
    assert_eq!(status, Status::Ok);
    let token = register(&app.client, "searcher").await;
    let res = app
        .client
        .get("/api/articles?q=word")
        .remote(from.parse().expect("address"))
        .header(Header::new("Authorization", format!("Token {token}")))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::TooManyRequests);
}

db_test!(
    async fn merging_the_search_indexes_leaves_fewer_segments_and_the_same_results(app) {
        let token = register(&app.client, "writer").await;
        for i in 0..24 {
            let title = if i % 4 == 0 { format!("Quince {i}") } else { format!("Note {i}") };
            write(&app.client, &token, &title, "A description", "A quince tart", &["fruit"]).await;
        }
        let (before, count) = all_pages(&app.client, "q=quince", 5).await;
        assert_eq!((before.len(), count[0]), (24, 24));
        assert_eq!(before[..6], ["Quince 20", "Quince 16", "Quince 12", "Quince 8", "Quince 4", "Quince 0"]);
        if app.engine == Engine::MySql {
            // Nothing to merge there: the call is a no-op.
            conduit::db::search::merge_segments(app.db(), 500).await.expect("no-op");
            return;
        }
        let segments = |table: &'static str| {
            let db = app.db().clone();
            async move { crate::support::scalar(&db, &format!("SELECT COUNT(DISTINCT segid) FROM {table}_idx")).await }
        };
        // One article a transaction: a segment each, merged by FTS5 itself only four by four.
        let written = segments("article_search").await;
        assert!(written > 2, "{written} segments");
        for _ in 0..8 {
            conduit::db::search::merge_segments(app.db(), 500).await.expect("merge");
        }
        for table in ["article_search", "article_search_title", "article_search_tags", "article_search_description"] {
            let left = segments(table).await;
            assert!(left <= 2, "{table}: {left} segments left");
        }
        assert_eq!(all_pages(&app.client, "q=quince", 5).await, (before, count));
    }
);
