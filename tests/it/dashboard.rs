//! The admin dashboard's charts and daily stats (issue 21): the per-day series of
//! `GET /api/admin/stats?days=N` and the page's SVG charts agree with rows created in the test
//! and moved to known UTC days (zeros on empty days, exactly `days` entries ending today), the
//! stat cards' 7-day changes, the top tags in order with their names escaped, `?days=` other
//! than 7, 30 or 90 refused with a 422, only admins let in, the top tags cut at ten (ties by
//! name), the answer's shape in the OpenAPI document, and every query of the dashboard reading
//! an index range or a kept counter, never all the articles (EXPLAIN on both engines).

use crate::support::db_run;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use conduit::db::admin::stats::explain_dashboard;
use conduit::db::Engine;
use rocket::http::{Method, Status};
use scraper::Html;
use serde_json::{json, Value};

use crate::admin::{add_comment, admin_browser, create_article, id_of, make_admin};
use crate::harness::TestApp;
use crate::support::{api, attrs, browser_register, get_page, register, script_client, texts};

/// Noon UTC `days_ago` days before today.
fn noon(days_ago: i64) -> DateTime<Utc> {
    let day = Utc::now().date_naive() - Duration::days(days_ago);
    day.and_hms_opt(12, 0, 0).expect("noon").and_utc()
}

/// Move row `id` of `table` to noon `days_ago` days back (bound, so each engine stores its own
/// form of the time, as the app does).
async fn backdate(app: &TestApp, table: &str, id: i64, days_ago: i64) {
    let sql = format!("UPDATE {table} SET created_at = ? WHERE id = ?");
    let at = noon(days_ago);
    let done = db_run!(app.db(), |c| sqlx::query(&sql)
        .bind(at)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .expect("backdate");
    assert_eq!(done, 1, "{table} {id}");
}

async fn id_where(app: &TestApp, sql: &str) -> i64 {
    crate::support::scalar(app.db(), sql).await
}

/// The dates of the `days` days ending today, oldest first.
fn dates(days: i64) -> Vec<String> {
    let today: NaiveDate = Utc::now().date_naive();
    (0..days)
        .rev()
        .map(|ago| (today - Duration::days(ago)).to_string())
        .collect()
}

/// A series of `days` zeros with `(days_ago, n)` set.
fn series(days: i64, set: &[(i64, i64)]) -> Vec<i64> {
    let mut values = vec![0; usize::try_from(days).expect("days")];
    for (ago, n) in set {
        values[usize::try_from(days - 1 - ago).expect("in range")] = *n;
    }
    values
}

fn column(daily: &Value, key: &str) -> Vec<i64> {
    daily
        .as_array()
        .expect("daily")
        .iter()
        .map(|d| d[key].as_i64().expect("a count"))
        .collect()
}

fn numbers(values: &[String]) -> Vec<i64> {
    values
        .iter()
        .map(|v| v.parse().expect("a number"))
        .collect()
}

/// The chart `id` on `page`: its bars' labels and values, and its table's.
fn chart(page: &Html, id: &str) -> (Vec<String>, Vec<i64>, Vec<String>, Vec<i64>) {
    (
        attrs(page, &format!("#{id} svg rect.chart-bar"), "data-label"),
        numbers(&attrs(
            page,
            &format!("#{id} svg rect.chart-bar"),
            "data-value",
        )),
        texts(page, &format!("#{id} table tbody th")),
        numbers(&texts(page, &format!("#{id} table tbody td"))),
    )
}

db_test!(
    async fn the_daily_series_and_the_charts_count_rows_by_utc_day(app) {
        // Today: the admin ("boss", in the browser; "root", by script) and the writer sign up.
        admin_browser(&app, "boss").await;
        // API calls by script (the browser's cookie would ask for a form token).
        let script = script_client(&app.client).await;
        let root = register(&script, "root").await;
        make_admin(&app, "root").await;
        let writer = register(&script, "writer").await;
        let old = register(&script, "oldtimer").await;
        let tricky = "a&b <i>\"x\"";
        let a1 = create_article(&script, &writer, "One", &["rust", "web"]).await;
        create_article(&script, &writer, "Two", &["rust"]).await;
        create_article(&script, &writer, "Three", &["rust", "web", tricky]).await;
        create_article(&script, &old, "Four", &[]).await;
        let comments = [
            add_comment(&script, &writer, &a1, "c1").await,
            add_comment(&script, &writer, &a1, "c2").await,
            add_comment(&script, &writer, &a1, "c3").await,
        ];
        // Spread them over the past: the writer and two articles 3 days back, one article 10
        // days back (outside a week), one 40 (outside 30 days), the old account 100 (outside
        // everything); two comments yesterday, one today; the tag `rust` first used 10 days ago.
        backdate(&app, "users", id_of(&app, "writer").await.get(), 3).await;
        backdate(&app, "users", id_of(&app, "oldtimer").await.get(), 100).await;
        for (title, ago) in [("One", 3), ("Two", 3), ("Three", 10), ("Four", 40)] {
            let id = id_where(&app, &format!("SELECT id FROM articles WHERE title = '{title}'")).await;
            backdate(&app, "articles", id, ago).await;
        }
        backdate(&app, "comments", comments[0], 1).await;
        backdate(&app, "comments", comments[1], 1).await;
        let rust = id_where(&app, "SELECT id FROM tags WHERE name = 'rust'").await;
        backdate(&app, "tags", rust, 10).await;
        // Admin actions in the audit log: the writer promoted, the old account disabled.
        let writer_id = id_of(&app, "writer").await.get();
        let old_id = id_of(&app, "oldtimer").await.get();
        for (id, change) in [(writer_id, json!({"role": "admin"})), (old_id, json!({"disabled": true}))] {
            let (status, body) = api(&script, Method::Put, &format!("/api/admin/users/{id}"), Some(&root), Some(json!({ "user": change }))).await;
            assert_eq!(status, Status::Ok, "{body}");
        }

        let expected = |days: i64| {
            (
                series(days, &[(0, 2), (3, 1)]),
                series(days, &[(3, 2), (10, 1), (40, 1)].into_iter().filter(|(ago, _)| *ago < days).collect::<Vec<_>>()),
                series(days, &[(0, 1), (1, 2)]),
            )
        };
        for days in [7_i64, 30, 90] {
            let (status, body) = api(&script, Method::Get, &format!("/api/admin/stats?days={days}"), Some(&root), None).await;
            assert_eq!(status, Status::Ok, "{body}");
            assert_eq!(body["days"], days);
            let daily = &body["daily"];
            let got_dates: Vec<&str> = daily.as_array().expect("daily").iter().map(|d| d["date"].as_str().expect("date")).collect();
            assert_eq!(got_dates, dates(days), "exactly {days} UTC days, oldest first, ending today");
            let (signups, articles, comments) = expected(days);
            assert_eq!(column(daily, "signups"), signups, "{days}");
            assert_eq!(column(daily, "articles"), articles, "{days}");
            assert_eq!(column(daily, "comments"), comments, "{days}");

            // The page draws the same numbers: a column per day, and the table beside it.
            let (status, page) = get_page(&app.client, &format!("/admin?days={days}")).await;
            assert_eq!(status, Status::Ok);
            for (id, values) in [("chart-signups", &signups), ("chart-articles", &articles), ("chart-comments", &comments)] {
                let (labels, bars, rows, cells) = chart(&page, id);
                assert_eq!(labels, dates(days), "{id} {days}");
                assert_eq!(&bars, values, "{id} {days}");
                assert_eq!(rows, dates(days), "{id} {days}");
                assert_eq!(&cells, values, "{id} {days}");
                // An image with a name (the chart's heading) and a description.
                let name = attrs(&page, &format!("#{id} svg[role=img]"), "aria-labelledby");
                assert_eq!(name, vec![format!("{id}-heading")]);
                assert_eq!(texts(&page, &format!("#{id}-heading")), vec![format!("{} per day, last {days} days (UTC)", ["Sign-ups", "Articles", "Comments"][["chart-signups", "chart-articles", "chart-comments"].iter().position(|c| c == &id).expect("known")])]);
                assert_eq!(texts(&page, &format!("#{id} svg desc")).len(), 1);
            }
            let current = texts(&page, ".chart-ranges a[aria-current=page]");
            assert_eq!(current, vec![format!("Last {days} days")]);
        }

        // The cards: totals (articles from the split counters) and what changed in 7 days.
        let (_, body) = api(&script, Method::Get, "/api/admin/stats", Some(&root), None).await;
        assert_eq!(body["days"], 30, "30 days when none is asked for");
        assert_eq!(body["counts"], json!({"users": 4, "admins": 3, "disabled": 1, "articles": 4, "comments": 3, "tags": 3}));
        assert_eq!(body["lastSevenDays"], json!({"users": 3, "admins": 1, "disabled": 1, "articles": 2, "comments": 3, "tags": 2}));
        let (_, page) = get_page(&app.client, "/admin").await;
        for (key, total, change) in [
            ("users", "4", "+3 new in 7 days"),
            ("admins", "3", "+1 net in 7 days"),
            ("disabled", "1", "+1 net in 7 days"),
            ("articles", "4", "+2 new in 7 days"),
            ("comments", "3", "+3 new in 7 days"),
            ("tags", "3", "+2 new in 7 days"),
        ] {
            assert_eq!(texts(&page, &format!("dd[data-count={key}]")), vec![total], "{key}");
            assert_eq!(texts(&page, &format!("dd[data-change={key}]")), vec![change], "{key}");
        }

        // Top tags: most used first, the name as written, escaped in the page.
        assert_eq!(body["topTags"], json!([{"tag": "rust", "count": 3}, {"tag": "web", "count": 2}, {"tag": tricky, "count": 1}]));
        let (labels, bars, rows, cells) = chart(&page, "chart-tags");
        assert_eq!(labels, vec!["rust", "web", tricky]);
        assert_eq!(bars, vec![3, 2, 1]);
        assert_eq!(rows, vec!["rust", "web", tricky]);
        assert_eq!(cells, vec![3, 2, 1]);
        assert!(texts(&page, "#chart-tags svg text").contains(&tricky.to_owned()));
        let raw = app.client.get("/admin").dispatch().await.into_string().await.unwrap_or_default();
        assert!(!raw.contains("<i>"), "a tag's markup is escaped");
        assert!(raw.contains("a&amp;b &lt;i&gt;&quot;x&quot;"), "escaped once");

        // A deleted admin counts against the week's admins (read from the audit log).
        let (status, body) = api(&script, Method::Delete, &format!("/api/admin/users/{writer_id}"), Some(&root), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        let (_, body) = api(&script, Method::Get, "/api/admin/stats?days=7", Some(&root), None).await;
        assert_eq!(body["lastSevenDays"]["admins"], 0, "{body}");
        assert_eq!(body["counts"]["admins"], 2, "{body}");
    }
);

db_test!(
    async fn rows_at_the_edges_of_a_utc_day_count_on_that_day(app) {
        let script = script_client(&app.client).await;
        let root = register(&script, "root").await;
        make_admin(&app, "root").await;
        // The first and the last millisecond of yesterday, the first of today, and the last
        // millisecond of the day before the 7-day range (left out).
        let today = Utc::now().date_naive();
        let at = |day: NaiveDate, h: u32, m: u32, s: u32, ms: u32| {
            day.and_hms_milli_opt(h, m, s, ms).expect("time").and_utc()
        };
        let yesterday = today - Duration::days(1);
        let edges = [
            ("Start of yesterday", at(yesterday, 0, 0, 0, 0)),
            ("End of yesterday", at(yesterday, 23, 59, 59, 999)),
            ("Start of today", at(today, 0, 0, 0, 0)),
            ("Before the range", at(today - Duration::days(7), 23, 59, 59, 999)),
        ];
        for (title, when) in edges {
            create_article(&script, &root, title, &[]).await;
            let id = id_where(&app, &format!("SELECT id FROM articles WHERE title = '{title}'")).await;
            let done = db_run!(app.db(), |c| sqlx::query("UPDATE articles SET created_at = ? WHERE id = ?")
                .bind(when)
                .bind(id)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
            .expect("move");
            assert_eq!(done, 1);
        }
        let (status, body) = api(&script, Method::Get, "/api/admin/stats?days=7", Some(&root), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(column(&body["daily"], "articles"), series(7, &[(1, 2), (0, 1)]), "{body}");
        admin_browser(&app, "boss").await;
        let (_, page) = get_page(&app.client, "/admin?days=7").await;
        let (_, bars, _, cells) = chart(&page, "chart-articles");
        assert_eq!(bars, series(7, &[(1, 2), (0, 1)]));
        assert_eq!(cells, bars);
    }
);

db_test!(
    async fn days_other_than_7_30_or_90_are_a_422_and_an_empty_site_draws_zeros(app) {
        admin_browser(&app, "boss").await;
        let (_, page) = get_page(&app.client, "/admin?days=7").await;
        let (labels, bars, _, cells) = chart(&page, "chart-articles");
        assert_eq!(labels, dates(7));
        assert_eq!(bars, vec![0; 7], "days without activity are zeros, not gaps");
        assert_eq!(cells, vec![0; 7]);
        assert_eq!(texts(&page, "#chart-tags .chart-empty"), vec!["No tags in use yet."]);
        assert!(attrs(&page, "#chart-tags svg", "role").is_empty());
        let links = attrs(&page, ".chart-ranges a", "href");
        assert_eq!(links, vec!["/admin?days=7", "/admin?days=30", "/admin?days=90"]);

        let script = script_client(&app.client).await;
        let token = register(&script, "root").await;
        make_admin(&app, "root").await;
        let long = "7".repeat(5000);
        for bad in ["45", "0", "-7", "7.5", "seven", "", "99999999999999999999999", "30%00", "%F0%9F%92%A9", "7%20OR%201=1", &long] {
            let (status, body) = api(&script, Method::Get, &format!("/api/admin/stats?days={bad}"), Some(&token), None).await;
            let shown: String = bad.chars().take(40).collect();
            assert_eq!(status, Status::UnprocessableEntity, "{shown}: {body}");
            assert_eq!(body["errors"]["days"], json!(["must be one of 7, 30 or 90"]), "{shown}");
            let res = app.client.get(format!("/admin?days={bad}")).dispatch().await;
            assert_eq!(res.status(), Status::UnprocessableEntity, "{shown}");
            let page = Html::parse_document(&res.into_string().await.unwrap_or_default());
            assert!(texts(&page, "main").concat().contains("must be one of 7, 30 or 90"), "{shown}: the page says why");
        }
    }
);

db_test!(
    async fn only_admins_see_the_dashboard_and_its_numbers(app) {
        let script = script_client(&app.client).await;
        let res = script.get("/admin?days=7").dispatch().await;
        assert_eq!(res.status(), Status::SeeOther);
        let (status, _) = api(&script, Method::Get, "/api/admin/stats?days=7", None, None).await;
        assert_eq!(status, Status::Unauthorized);

        browser_register(&app.client, "reader").await;
        let token = register(&script, "writer").await;
        let (status, page) = get_page(&app.client, "/admin?days=30").await;
        assert_eq!(status, Status::Forbidden);
        assert!(attrs(&page, "svg[role=img]", "role").is_empty(), "no chart leaks");
        let (status, body) = api(&script, Method::Get, "/api/admin/stats?days=30", Some(&token), None).await;
        assert_eq!(status, Status::Forbidden, "{body}");
        assert!(body.get("daily").is_none());
    }
);

db_test!(
    async fn every_dashboard_query_reads_an_index_range_or_a_counter_never_all_articles(app) {
        let script = script_client(&app.client).await;
        let token = register(&script, "writer").await;
        let slug = create_article(&script, &token, "One", &["x"]).await;
        add_comment(&script, &token, &slug, "hi").await;
        let today = Utc::now().date_naive();
        let first = today - Duration::days(89);
        let plans = explain_dashboard(app.db(), first, today).await.expect("explain");
        let names: Vec<&str> = plans.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["per_day users", "per_day articles", "per_day comments", "changes_since", "counts", "top_tags"]);
        let plan_of = |name: &str| plans.iter().find(|(n, _)| n == name).expect("a plan").1.join("\n");
        // The per-day series: a range of `<table>_created_at`, read alone (it covers the query).
        for table in ["users", "articles", "comments"] {
            let plan = plan_of(&format!("per_day {table}"));
            let index = format!("{table}_created_at");
            match app.engine {
                Engine::Sqlite => {
                    assert!(plan.contains(&format!("COVERING INDEX {index} (created_at>? AND created_at<?)")), "{plan}");
                }
                Engine::MySql => {
                    let row = plan.lines().find(|l| l.contains(&format!("key={index} "))).unwrap_or_else(|| panic!("{plan}"));
                    assert!(row.contains("type=range") && row.contains("Using index"), "an index-only range: {plan}");
                }
            }
        }
        // The 7-day changes: a range of each table's `created_at` index.
        let plan = plan_of("changes_since");
        for table in ["users", "audit_log", "articles", "comments", "tags"] {
            let index = format!("{table}_created_at");
            match app.engine {
                Engine::Sqlite => assert!(plan.contains(&format!("SEARCH {table} USING")) && plan.contains(&format!("INDEX {index} (created_at>?)")), "{table}: {plan}"),
                Engine::MySql => {
                    let row = plan.lines().find(|l| l.contains(&format!("table={table} "))).unwrap_or_else(|| panic!("{table}: {plan}"));
                    assert!(row.contains("type=range") && row.contains(&format!("key={index} ")), "{table}: {plan}");
                }
            }
        }
        // The totals: the article total from its counter (no read of the articles table).
        let plan = plan_of("counts");
        assert!(!plan.contains("articles"), "{plan}");
        assert!(plan.contains("counts"), "{plan}");
        // The top tags: the tags' kept totals, never the article-tag links.
        let plan = plan_of("top_tags");
        assert!(!plan.contains("article_tags") && !plan.contains("articles"), "{plan}");
        if app.engine == Engine::Sqlite {
            assert!(plan.contains("USING COVERING INDEX tags_popular"), "{plan}");
        }
        // Nowhere a whole read of a table that grows with the articles.
        for (name, plan) in &plans {
            for line in plan {
                let whole = match app.engine {
                    Engine::Sqlite => line.starts_with("SCAN ") && ["articles", "comments", "article_tags", "audit_log"].iter().any(|t| line.starts_with(&format!("SCAN {t}")) ) && name != "counts",
                    Engine::MySql => (line.contains("type=ALL") || line.contains("type=index ")) && ["articles", "article_tags", "audit_log"].iter().any(|t| line.contains(&format!("table={t} "))),
                };
                assert!(!whole, "{name} reads a whole table: {line}");
            }
        }
    }
);

db_test!(
    async fn the_top_tags_are_the_ten_most_used_ties_by_name_in_the_json_and_the_chart(app) {
        admin_browser(&app, "boss").await;
        let script = script_client(&app.client).await;
        let root = register(&script, "root").await;
        make_admin(&app, "root").await;
        let tag = |i: usize| format!("t{i:02}");
        let tags = |range: std::ops::RangeInclusive<usize>| range.map(tag).collect::<Vec<_>>();
        // t01-t03 on three articles, t04-t05 on two, t06-t12 on one: seven ties at one.
        let mut three = tags(1..=5);
        three.extend(tags(11..=12));
        for list in [tags(1..=10), three, tags(1..=3)] {
            let list: Vec<&str> = list.iter().map(String::as_str).collect();
            create_article(&script, &root, &list.join(" "), &list).await;
        }
        let expected: Vec<(String, i64)> = (1..=10)
            .map(|i| (tag(i), match i { 1..=3 => 3, 4..=5 => 2, _ => 1 }))
            .collect();
        let (status, body) = api(&script, Method::Get, "/api/admin/stats", Some(&root), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        let got: Vec<(String, i64)> = body["topTags"]
            .as_array()
            .expect("topTags")
            .iter()
            .map(|t| (t["tag"].as_str().expect("tag").to_owned(), t["count"].as_i64().expect("count")))
            .collect();
        assert_eq!(got, expected, "ten, most used first, ties by name (t11 and t12 left out)");
        let (_, page) = get_page(&app.client, "/admin").await;
        let (labels, bars, rows, cells) = chart(&page, "chart-tags");
        let names: Vec<String> = expected.iter().map(|(t, _)| t.clone()).collect();
        let counts: Vec<i64> = expected.iter().map(|(_, n)| *n).collect();
        assert_eq!((labels, bars), (names.clone(), counts.clone()), "the chart's bars");
        assert_eq!((rows, cells), (names, counts), "the table beside it");
        assert_eq!(texts(&page, "#chart-tags-heading"), ["Top 10 tags by articles"]);
    }
);

#[rocket::async_test]
async fn the_stats_answer_is_documented_with_its_daily_series_and_top_tags() {
    let app = TestApp::spawn(Engine::Sqlite, "it::dashboard::openapi")
        .await
        .expect("sqlite");
    let res = app.client.get("/api/openapi.json").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let doc: Value = serde_json::from_str(&res.into_string().await.expect("body")).expect("json");
    let op = &doc["paths"]["/api/admin/stats"]["get"];
    let days = op["parameters"].as_array().expect("parameters");
    assert!(
        days.iter()
            .any(|p| p["name"] == "days" && p["in"] == "query"),
        "{op}"
    );
    let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(schema["$ref"], "#/components/schemas/Stats", "{op}");
    let schemas = &doc["components"]["schemas"];
    let required = |name: &str| -> Vec<String> {
        let mut r: Vec<String> = schemas[name]["required"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {}", schemas[name]))
            .iter()
            .map(|v| v.as_str().expect("a name").to_owned())
            .collect();
        r.sort();
        r
    };
    assert_eq!(
        required("Stats"),
        ["counts", "daily", "days", "lastSevenDays", "topTags"]
    );
    let stats = &schemas["Stats"]["properties"];
    assert_eq!(stats["daily"]["type"], "array", "{stats}");
    assert_eq!(stats["daily"]["items"]["$ref"], "#/components/schemas/Day");
    assert_eq!(
        stats["topTags"]["items"]["$ref"],
        "#/components/schemas/TagCount"
    );
    assert_eq!(required("Day"), ["articles", "comments", "date", "signups"]);
    assert_eq!(schemas["Day"]["properties"]["date"]["format"], "date");
    assert_eq!(required("TagCount"), ["count", "tag"]);
    for name in ["Counts", "Changes"] {
        assert_eq!(
            required(name),
            ["admins", "articles", "comments", "disabled", "tags", "users"],
            "{name}"
        );
    }
}
