//! Keyset navigation of the site's article lists (issue 22): walking every page by the
//! `rel="next"` / `rel="prev"` links visits each article once and in order, cursors edited by
//! hand pick another place or get a 400, old `?page=` links still work, and the id ranges of
//! every list (offset and keyset) read a narrow index (EXPLAIN on both engines).

use conduit::db::articles::{explain_page_ids, Filter, Position};
use conduit::db::{ArticleId, Engine, UserId};
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

use crate::support::{
    api, attrs, browser_register, exec, get_page, page_csrf, post_form, register, scalar, texts,
};

/// Publish an article titled `title` tagged `tags` as the holder of `token`.
async fn publish(client: &Client, token: &str, title: &str, tags: &[&str]) {
    let article =
        json!({"article": {"title": title, "description": "d", "body": "b", "tagList": tags}});
    let (status, value) = api(
        client,
        Method::Post,
        "/api/articles",
        Some(token),
        Some(article),
    )
    .await;
    assert_eq!(status, Status::Created, "{value}");
}

/// `count` articles by `token`'s user titled `Post 00`, `Post 01`, ... (oldest first), every
/// one tagged `all` and the even ones `even`, then every creation time made equal (ties in
/// the time must not matter). Returns the titles newest first.
async fn publish_many(app: &crate::harness::TestApp, token: &str, count: usize) -> Vec<String> {
    let mut titles = Vec::new();
    for i in 0..count {
        let title = format!("Post {i:02}");
        let tags: &[&str] = if i % 2 == 0 {
            &["all", "even"]
        } else {
            &["all"]
        };
        publish(&app.client, token, &title, tags).await;
        titles.push(title);
    }
    exec(app.db(), "UPDATE articles SET created_at = (SELECT MIN(created_at) FROM (SELECT created_at FROM articles) t)")
        .await
        .expect("equal times");
    titles.reverse();
    titles
}

/// Follow a list's `rel` links from `start` to the end: each page's titles and the last path.
async fn walk(client: &Client, start: &str, rel: &str) -> (Vec<Vec<String>>, String) {
    let (mut pages, mut path) = (Vec::new(), start.to_owned());
    loop {
        let (status, html) = get_page(client, &path).await;
        assert_eq!(status, Status::Ok, "{path}");
        pages.push(texts(&html, ".article-preview h2"));
        let links = attrs(&html, &format!(".pagination a[rel={rel}]"), "href");
        assert!(links.len() <= 1, "{path}: {links:?}");
        match links.into_iter().next() {
            Some(next) => path = next,
            None => return (pages, path),
        }
        assert!(pages.len() <= 40, "a walk from {start} that does not end");
    }
}

/// Walk the list at `start` down by "Older" and back up by "Newer": every article of
/// `expected` (newest first) once, in order, 10 a page; no "Newer" (nor "First") on the first
/// page and no "Older" on the last; back up ends on the first page.
async fn assert_walks(client: &Client, start: &str, expected: &[String]) {
    let (first_status, first) = get_page(client, start).await;
    assert_eq!(first_status, Status::Ok, "{start}");
    assert!(
        attrs(&first, ".pagination a[rel=prev]", "href").is_empty(),
        "{start}: no newer page"
    );
    assert!(
        !texts(&first, ".pagination .page-link").contains(&"First".to_owned()),
        "{start}"
    );
    let (down, bottom) = walk(client, start, "next").await;
    assert!(
        down.iter().all(|page| page.len() <= 10),
        "{start}: {down:?}"
    );
    assert_eq!(
        down.concat(),
        expected,
        "{start}: every article once, newest first"
    );
    assert_eq!(
        down.len(),
        expected.len().div_ceil(10).max(1),
        "{start}: {down:?}"
    );
    let (_, last) = get_page(client, &bottom).await;
    assert!(
        attrs(&last, ".pagination a[rel=next]", "href").is_empty(),
        "{bottom}: no older page"
    );
    if down.len() > 1 {
        assert_eq!(
            texts(&last, ".pagination .page-link")[0],
            "First",
            "{bottom}"
        );
        let (up, top) = walk(client, &bottom, "prev").await;
        let mut up_titles: Vec<String> = up.into_iter().rev().flatten().collect();
        up_titles.dedup();
        assert_eq!(
            up_titles, expected,
            "{bottom}: back up, every article in order"
        );
        let (_, top_page) = get_page(client, &top).await;
        assert_eq!(
            texts(&top_page, ".article-preview h2"),
            down[0],
            "{top}: back on the first page"
        );
    }
}

db_test!(
    async fn walking_each_list_by_its_links_shows_every_article_once_in_order(app) {
        let script = crate::support::script_client(&app.client).await;
        let token = register(&script, "writer").await;
        let titles = publish_many(&app, &token, 23).await;
        let even: Vec<String> = titles.iter().filter(|t| t[5..].parse::<u32>().is_ok_and(|n| n % 2 == 0)).cloned().collect();

        // A reader who follows the writer (the feed) and favorited 12 of the articles.
        browser_register(&app.client, "reader").await;
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, "/profile/writer/follow", &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let (_, login) = api(&script, Method::Post, "/api/users/login", None,
            Some(json!({"user": {"email": "reader@example.com", "password": "password-reader"}}))).await;
        let reader = login["user"]["token"].as_str().expect("token").to_owned();
        let (_, list) = api(&script, Method::Get, "/api/articles?limit=12", None, None).await;
        let mut favorited = Vec::new();
        for article in list["articles"].as_array().expect("articles") {
            let slug = article["slug"].as_str().expect("slug");
            let (status, _) = api(&script, Method::Post, &format!("/api/articles/{slug}/favorite"), Some(&reader), None).await;
            assert_eq!(status, Status::Ok);
            favorited.push(article["title"].as_str().expect("title").to_owned());
        }

        assert_walks(&app.client, "/", &titles).await;
        assert_walks(&app.client, "/?feed=you", &titles).await;
        assert_walks(&app.client, "/?tag=all", &titles).await;
        assert_walks(&app.client, "/?tag=even", &even).await;
        assert_walks(&app.client, "/profile/writer", &titles).await;
        assert_walks(&app.client, "/profile/reader/favorites", &favorited).await;
        assert_walks(&app.client, "/profile/reader", &[]).await;

        // The article a page ends with may go before "Older" is followed: the next page still
        // starts right after it.
        let (_, first) = get_page(&app.client, "/").await;
        let older = attrs(&first, ".pagination a[rel=next]", "href")[0].clone();
        let (_, all) = api(&script, Method::Get, "/api/articles?limit=100", None, None).await;
        let slug = all["articles"].as_array().expect("articles").iter()
            .find(|a| a["title"] == "Post 13").and_then(|a| a["slug"].as_str()).expect("Post 13").to_owned();
        let (status, _) = api(&script, Method::Delete, &format!("/api/articles/{slug}"), Some(&token), None).await;
        assert_eq!(status, Status::NoContent);
        let (_, second) = get_page(&app.client, &older).await;
        assert_eq!(texts(&second, ".article-preview h2"), titles[10..20]);

        // The API's offsets answer as they did: the same order, page by page.
        let titles: Vec<String> = titles.into_iter().filter(|t| t != "Post 13").collect();
        let mut by_offset = Vec::new();
        for offset in (0..titles.len()).step_by(5) {
            let (status, page) = api(&script, Method::Get, &format!("/api/articles?limit=5&offset={offset}"), None, None).await;
            assert_eq!(status, Status::Ok);
            assert_eq!(page["articlesCount"], json!(titles.len()));
            by_offset.extend(page["articles"].as_array().expect("articles").iter().map(|a| a["title"].as_str().unwrap_or_default().to_owned()));
        }
        assert_eq!(by_offset, titles);
    }
);

db_test!(
    async fn a_cursor_edited_by_hand_picks_another_place_and_a_malformed_one_is_a_400(app) {
        let token = register(&app.client, "writer").await;
        let titles = publish_many(&app, &token, 23).await;
        let id = |title: &str| format!("SELECT id FROM articles WHERE title = '{title}'");
        let mid = scalar(app.db(), &id("Post 12")).await;
        let oldest = scalar(app.db(), &id("Post 00")).await;
        let newest = scalar(app.db(), &id("Post 22")).await;

        // Any whole number is a place: older than article 12, past either end, negative.
        let (status, page) = get_page(&app.client, &format!("/?before={mid}")).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, ".article-preview h2"), titles[11..21]);
        assert_eq!(attrs(&page, ".pagination a[rel=prev]", "href"), vec![format!("/?after={}", mid - 1)]);
        for past in [format!("/?before={oldest}"), "/?before=0".to_owned(), "/?before=-9".to_owned()] {
            let (status, page) = get_page(&app.client, &past).await;
            assert_eq!(status, Status::Ok, "{past}");
            assert!(texts(&page, ".article-preview h2").is_empty(), "{past}");
            assert!(attrs(&page, ".pagination a[rel=next]", "href").is_empty(), "{past}");
            assert_eq!(texts(&page, ".pagination .page-link")[0], "First", "{past}");
        }
        let (_, top) = get_page(&app.client, &format!("/?before={}", newest + 1000)).await;
        assert_eq!(texts(&top, ".article-preview h2"), titles[..10]);
        assert!(attrs(&top, ".pagination a[rel=prev]", "href").is_empty(), "nothing newer");
        // Newer than the newest, or than most: the list's first page, as it starts.
        for path in [format!("/?after={newest}"), format!("/?after={}", newest - 3), "/?after=99999999999".to_owned()] {
            let (status, page) = get_page(&app.client, &path).await;
            assert_eq!(status, Status::Ok, "{path}");
            assert_eq!(texts(&page, ".article-preview h2"), titles[..10], "{path}");
            assert!(texts(&page, ".pagination .page-link").iter().all(|l| l == "Older »"), "{path}");
        }
        let (_, oldest_page) = get_page(&app.client, &format!("/?after={}", oldest - 1)).await;
        assert_eq!(texts(&oldest_page, ".article-preview h2"), titles[13..23], "the oldest ten");

        // Not a whole number, or both directions at once: a 400 that says so, on every list.
        for path in ["/?before=abc", "/?after=1e3", "/?before=99999999999999999999", "/?before=1&after=2",
                     "/?tag=all&before=x", "/profile/writer?after=%27", "/profile/writer/favorites?before=1.5"] {
            let (status, page) = get_page(&app.client, path).await;
            assert_eq!(status, Status::BadRequest, "{path}");
            let message = texts(&page, "main, body").join(" ");
            assert!(message.contains("This link is damaged"), "{path}: {message}");
        }
        let (status, _) = get_page(&app.client, "/?before=").await;
        assert_eq!(status, Status::Ok, "an empty cursor is the first page");
    }
);

db_test!(
    async fn old_page_number_links_still_work_and_lead_on_by_keyset(app) {
        let token = register(&app.client, "writer").await;
        let titles = publish_many(&app, &token, 23).await;
        let (status, page2) = get_page(&app.client, "/?page=2").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page2, ".article-preview h2"), titles[10..20]);
        let older = attrs(&page2, ".pagination a[rel=next]", "href");
        let newer = attrs(&page2, ".pagination a[rel=prev]", "href");
        assert_eq!(older.len(), 1);
        assert!(older[0].starts_with("/?before="), "{older:?}");
        assert!(newer[0].starts_with("/?after="), "{newer:?}");
        let (_, page3) = get_page(&app.client, &older[0]).await;
        assert_eq!(texts(&page3, ".article-preview h2"), titles[20..]);
        let (_, back) = get_page(&app.client, &newer[0]).await;
        assert_eq!(texts(&back, ".article-preview h2"), titles[..10]);
        let (_, tag3) = get_page(&app.client, "/profile/writer?page=3").await;
        assert_eq!(texts(&tag3, ".article-preview h2"), titles[20..]);
        // Past the end: an empty page; too deep to serve by offset or malformed: the first page.
        let (status, past) = get_page(&app.client, "/?page=9").await;
        assert_eq!(status, Status::Ok);
        assert!(texts(&past, ".article-preview h2").is_empty());
        for path in ["/?page=abc", "/?page=10002", "/?page=-1"] {
            let (status, page) = get_page(&app.client, path).await;
            assert_eq!(status, Status::Ok, "{path}");
            assert_eq!(texts(&page, ".article-preview h2"), titles[..10], "{path}");
        }
    }
);

db_test!(
    async fn every_list_reads_its_page_ids_from_a_narrow_index_at_any_depth(app) {
        let script = crate::support::script_client(&app.client).await;
        let token = register(&script, "writer").await;
        let reader = register(&script, "reader").await;
        for i in 0..6 {
            publish(&script, &token, &format!("Indexed {i}"), &["t"]).await;
        }
        let (status, _) = api(&script, Method::Post, "/api/profiles/writer/follow", Some(&reader), None).await;
        assert_eq!(status, Status::Ok);
        let (_, list) = api(&script, Method::Get, "/api/articles", None, None).await;
        for article in list["articles"].as_array().expect("articles") {
            let slug = article["slug"].as_str().expect("slug");
            api(&script, Method::Post, &format!("/api/articles/{slug}/favorite"), Some(&reader), None).await;
        }
        let reader_id = UserId::new(scalar(app.db(), "SELECT id FROM users WHERE username = 'reader'").await);
        let lists = [
            ("global", Filter::default(), "articles_id"),
            ("tag", Filter { tag: Some("t".into()), ..Filter::default() }, "article_tags_tag_id"),
            ("author", Filter { author: Some("writer".into()), ..Filter::default() }, "articles_author_id"),
            ("favorited", Filter { favorited_by: Some("reader".into()), ..Filter::default() }, "favorites"),
            ("feed", Filter { feed_of: Some(reader_id), ..Filter::default() }, "feed_entries"),
        ];
        let positions = [
            Position::Offset(0),
            Position::Offset(20_000),
            Position::Before(ArticleId::new(4)),
            Position::After(ArticleId::new(2)),
        ];
        for (name, filter, index) in &lists {
            for position in positions {
                let plan = explain_page_ids(app.db(), filter, position).await.expect("explain").join("\n");
                let what = format!("{name} at {position:?}:\n{plan}");
                assert!(!plan.contains("TEMP B-TREE") && !plan.contains("filesort"), "sorted, not read in order: {what}");
                match app.engine {
                    Engine::Sqlite => {
                        // The list's index, covering (an index-only read), or the rows of a
                        // WITHOUT ROWID table, which are its primary key.
                        let index = match *index {
                            "favorites" => "COVERING INDEX sqlite_autoindex_favorites_1".to_owned(),
                            "feed_entries" => "USING PRIMARY KEY".to_owned(),
                            other => format!("COVERING INDEX {other}"),
                        };
                        assert!(plan.contains(&index), "{what}");
                        assert!(!plan.lines().any(|l| l.starts_with("SCAN") && !l.contains("INDEX") && !l.contains("PRIMARY KEY") && !l.contains("CONSTANT")), "a table scan: {what}");
                    }
                    Engine::MySql => {
                        let key = match *index {
                            "favorites" | "feed_entries" => "PRIMARY",
                            other => other,
                        };
                        let row = plan.lines().find(|l| l.contains(&format!("key={key} "))).unwrap_or_else(|| panic!("{what}"));
                        assert!(row.contains("Using index"), "not an index-only read: {what}");
                    }
                }
            }
        }
    }
);
