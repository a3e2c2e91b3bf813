//! Parts built on maintained crates: times read by sqlx's chrono decoding and written by chrono's
//! RFC 3339 writer, `ETag`s from XXH3.

use conduit::db::Engine;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::Value;

use crate::support::{exec, get_json, get_page, register, scalar, texts};

/// `created_at` as stored by the app, by SQLite's own functions and by a tool that kept an
/// offset, on SQLite; with and without a fraction on MariaDB (`DATETIME(3)`): the stored text,
/// then the time the API shows.
fn stored_times(engine: Engine) -> Vec<(&'static str, &'static str)> {
    match engine {
        Engine::Sqlite => vec![
            ("2026-03-04T05:06:07.891+00:00", "2026-03-04T05:06:07.891Z"),
            ("2026-03-04 05:06:07", "2026-03-04T05:06:07.000Z"),
            ("2026-03-04T07:06:07.5+02:00", "2026-03-04T05:06:07.500Z"),
        ],
        Engine::MySql => vec![
            ("2026-03-04 05:06:07.891", "2026-03-04T05:06:07.891Z"),
            ("2026-03-04 05:06:07", "2026-03-04T05:06:07.000Z"),
        ],
    }
}

db_test!(
    async fn stored_times_show_as_utc_with_milliseconds_in_the_api_and_pages(app) {
        register(&app.client, "author").await;
        let author = scalar(app.db(), "SELECT id FROM users WHERE username = 'author'").await;
        let times = stored_times(app.engine);
        for (i, (stored, _)) in times.iter().enumerate() {
            exec(
                app.db(),
                &format!(
                    "INSERT INTO articles (slug, title, description, body, author_id, created_at, updated_at) \
                     VALUES ('a{i}', 'A{i}', 'd', 'b', {author}, '{stored}', '{stored}')"
                ),
            )
            .await
            .unwrap();
            let article = scalar(app.db(), &format!("SELECT id FROM articles WHERE slug = 'a{i}'")).await;
            exec(
                app.db(),
                &format!(
                    "INSERT INTO comments (body, article_id, author_id, created_at, updated_at) \
                     VALUES ('c', {article}, {author}, '{stored}', '{stored}')"
                ),
            )
            .await
            .unwrap();
        }

        let (status, list) = get_json(&app.client, "/api/articles").await;
        assert_eq!(status, Status::Ok);
        for (i, (stored, shown)) in times.iter().enumerate() {
            let slug = format!("a{i}");
            let listed = list["articles"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["slug"] == slug.as_str())
                .unwrap_or_else(|| panic!("{slug} listed: {list}"));
            assert_eq!(listed["createdAt"], *shown, "{stored}");
            assert_eq!(listed["updatedAt"], *shown, "{stored}");
            let (_, one) = get_json(&app.client, &format!("/api/articles/{slug}")).await;
            assert_eq!(one["article"]["createdAt"], *shown, "{stored}");
            let (_, comments) = get_json(&app.client, &format!("/api/articles/{slug}/comments")).await;
            assert_eq!(comments["comments"][0]["createdAt"], *shown, "{stored}");
            assert_eq!(comments["comments"][0]["updatedAt"], *shown, "{stored}");

            let (status, html) = get_page(&app.client, &format!("/article/{slug}")).await;
            assert_eq!(status, Status::Ok);
            let to_seconds = format!("{}Z", &shown[..19]);
            let sel = scraper::Selector::parse(".article-meta time.date").unwrap();
            let dates: Vec<_> = html.select(&sel).filter_map(|e| e.value().attr("datetime")).collect();
            assert!(!dates.is_empty() && dates.iter().all(|d| *d == to_seconds), "{stored}: {dates:?}");
            assert!(texts(&html, ".article-meta time.date").iter().all(|t| t == "March 4, 2026"));
        }
    }
);

db_test!(
    async fn times_the_app_writes_come_back_as_written(app) {
        let token = register(&app.client, "writer").await;
        let (status, made) = crate::support::api(
            &app.client,
            rocket::http::Method::Post,
            "/api/articles",
            Some(&token),
            Some(serde_json::json!({"article": {"title": "Timed", "description": "d", "body": "b"}})),
        )
        .await;
        assert_eq!(status, Status::Created);
        let created = made["article"]["createdAt"].as_str().unwrap().to_owned();
        let at = chrono::DateTime::parse_from_rfc3339(&created).expect("RFC 3339");
        assert_eq!(created, at.to_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        assert!((chrono::Utc::now() - at.to_utc()).num_seconds().abs() < 60, "{created}");
        let (_, list) = get_json(&app.client, "/api/articles").await;
        assert_eq!(list["articles"][0]["createdAt"], created.as_str());
        assert_eq!(list["articles"][0]["updatedAt"], created.as_str());
    }
);

/// `W/"<XXH3-64 of the body, 16 hex digits>"`.
fn xxh3_tag(body: &[u8]) -> String {
    format!("W/\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(body))
}

db_test!(
    async fn etags_are_weak_xxh3_digests_that_every_instance_agrees_on(app) {
        let token = register(&app.client, "tagger").await;
        crate::support::api(
            &app.client,
            rocket::http::Method::Post,
            "/api/articles",
            Some(&token),
            Some(serde_json::json!({"article": {"title": "Tagged", "description": "d", "body": "b", "tagList": ["x"]}})),
        )
        .await;
        // A second instance on the same database, as behind a load balancer.
        let figment = app.client.rocket().figment().clone();
        let first = Client::untracked(conduit::rocket_with(figment.clone())).await.unwrap();
        let second = Client::untracked(conduit::rocket_with(figment)).await.unwrap();
        for path in ["/api/articles", "/api/tags", "/", "/article/tagged"] {
            let res = first.get(path).dispatch().await;
            assert_eq!(res.status(), Status::Ok, "{path}");
            let tag = res.headers().get_one("ETag").expect("an ETag").to_owned();
            let body = res.into_bytes().await.unwrap_or_default();
            assert_eq!(tag, xxh3_tag(&body), "{path}");

            let res = second.get(path).dispatch().await;
            assert_eq!(res.headers().get_one("ETag"), Some(tag.as_str()), "{path}: instances agree");
            let again = second.get(path).header(Header::new("If-None-Match", tag.clone())).dispatch().await;
            assert_eq!(again.status(), Status::NotModified, "{path}");
            assert_eq!(again.into_bytes().await.unwrap_or_default(), Vec::<u8>::new(), "{path}");
        }
        let body: Value = serde_json::from_slice(&first.get("/api/tags").dispatch().await.into_bytes().await.unwrap()).unwrap();
        assert_eq!(body["tags"], serde_json::json!(["x"]));
    }
);
