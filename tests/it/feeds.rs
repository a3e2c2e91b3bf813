//! What readers and crawlers get besides pages: Atom feeds (site, tag, author) read back with
//! a real Atom parser, conditional GETs, the sitemap (and its index past the limit, lowered
//! here), robots.txt, and the social preview meta and canonical links of article and profile
//! pages, all on `public_url`.

use std::collections::BTreeSet;

use atom_syndication::Feed;
use conduit::db::Engine;
use rocket::http::{Header, Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

use crate::harness::TestApp;
use crate::support::{api, attrs, get_page, publish, register, texts, urlencode};

/// The `public_url` these tests run with: every absolute URL must start with it.
const PUBLIC: &str = "https://conduit.example";

async fn spawn(engine: Engine, test: &str, sitemap_max_urls: i64) -> Option<TestApp> {
    TestApp::spawn_with(engine, test, |f| {
        f.merge(("public_url", format!("{PUBLIC}/")))
            .merge(("sitemap_max_urls", sitemap_max_urls))
    })
    .await
}

/// One test body on SQLite and on MariaDB, with `public_url` set and the sitemap limit given.
macro_rules! feeds_test {
    (limit = $limit:expr, async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[rocket::async_test]
            async fn sqlite() {
                let $app = spawn(Engine::Sqlite, concat!(module_path!(), "::sqlite"), $limit)
                    .await
                    .expect("sqlite is always available");
                $body
            }

            #[rocket::async_test]
            async fn mysql() {
                let Some($app) =
                    spawn(Engine::MySql, concat!(module_path!(), "::mysql"), $limit).await
                else {
                    return;
                };
                $body
            }
        }
    };
}

/// A GET's status, headers we look at, and body.
struct Got {
    status: Status,
    content_type: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    body: String,
}

async fn get(client: &Client, path: &str, headers: &[(&'static str, &str)]) -> Got {
    let mut req = client.get(path.to_owned());
    for (name, value) in headers {
        req = req.header(Header::new(*name, (*value).to_owned()));
    }
    let res = req.dispatch().await;
    let header = |name| res.headers().get_one(name).map(str::to_owned);
    Got {
        status: res.status(),
        content_type: header("Content-Type"),
        etag: header("ETag"),
        last_modified: header("Last-Modified"),
        body: res.into_string().await.unwrap_or_default(),
    }
}

/// The feed at `path`, checked as Atom: 200, the Atom media type, and RFC 4287's required
/// elements on the feed and every entry.
async fn feed(client: &Client, path: &str) -> Feed {
    let got = get(client, path, &[]).await;
    assert_eq!(got.status, Status::Ok, "{path}: {}", got.body);
    assert_eq!(
        got.content_type.as_deref(),
        Some("application/atom+xml; charset=utf-8")
    );
    assert!(got.body.starts_with("<?xml"), "{}", got.body);
    let feed = Feed::read_from(got.body.as_bytes())
        .unwrap_or_else(|e| panic!("{path}: not Atom ({e}): {}", got.body));
    assert!(feed.id.starts_with(PUBLIC), "feed id {}", feed.id);
    assert!(!feed.title.value.is_empty());
    assert!(!feed.authors.is_empty(), "a feed-level author");
    let self_link: Vec<_> = feed
        .links
        .iter()
        .filter(|l| l.rel == "self")
        .map(|l| l.href.clone())
        .collect();
    assert_eq!(self_link, vec![feed.id.clone()], "the feed links to itself");
    for entry in &feed.entries {
        assert!(
            entry.id.starts_with("tag:conduit.example,2026:article-"),
            "{}",
            entry.id
        );
        assert!(!entry.title.value.is_empty());
        assert_eq!(entry.authors.len(), 1);
        assert!(entry
            .links
            .iter()
            .any(|l| l.rel == "alternate" && l.href.starts_with(&format!("{PUBLIC}/article/"))));
        let content = entry.content.as_ref().expect("content");
        assert_eq!(content.content_type.as_deref(), Some("html"));
    }
    let newest = feed.entries.iter().map(|e| e.updated).max();
    if let Some(newest) = newest {
        assert_eq!(
            feed.updated, newest,
            "the feed changed when its newest entry did"
        );
    }
    feed
}

fn titles(feed: &Feed) -> Vec<String> {
    feed.entries.iter().map(|e| e.title.value.clone()).collect()
}

feeds_test!(
    limit = 50_000,
    async fn the_site_feed_is_atom_of_the_newest_twenty_with_rendered_bodies(app) {
        let alice = register(&app.client, "alice").await;
        let bob = register(&app.client, "bob").await;
        let mut created = Vec::new();
        for i in 0..22 {
            let token = if i % 2 == 0 { &alice } else { &bob };
            created.push(publish(&app.client, token, &format!("Post {i}"), &format!("Some *emphasis* {i}"), &["even"]).await);
        }
        let feed = feed(&app.client, "/feed.atom").await;
        assert_eq!(feed.id, format!("{PUBLIC}/feed.atom"));
        assert_eq!(feed.title.value, "Conduit");
        let expected: Vec<String> = (2..22).rev().map(|i| format!("Post {i}")).collect();
        assert_eq!(titles(&feed), expected, "the newest 20, newest first");
        let first = &feed.entries[0];
        let article = &created[21];
        let slug = article["slug"].as_str().unwrap();
        assert_eq!(first.links[0].href, format!("{PUBLIC}/article/{slug}"));
        assert_eq!(first.authors[0].name, "bob");
        assert_eq!(first.authors[0].uri.as_deref(), Some(&*format!("{PUBLIC}/profile/bob")));
        assert_eq!(first.summary.as_ref().map(|s| s.value.as_str()), Some("About Post 21"));
        assert_eq!(
            first.content.as_ref().and_then(|c| c.value.as_deref()).map(str::trim),
            Some("<p>Some <em>emphasis</em> 21</p>"),
            "the body as its page renders it"
        );
        assert_eq!(first.categories.iter().map(|c| c.term.as_str()).collect::<Vec<_>>(), vec!["even"]);
        assert_eq!(
            first.updated.to_utc().timestamp_millis(),
            chrono::DateTime::parse_from_rfc3339(article["updatedAt"].as_str().unwrap()).unwrap().timestamp_millis()
        );
        let ids: BTreeSet<_> = feed.entries.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids.len(), 20, "entry ids are unique");

        // A retitled article gets a new slug and link but keeps its entry id.
        let (status, changed) = api(&app.client, Method::Put, &format!("/api/articles/{slug}"), Some(&bob), Some(json!({"article": {"title": "Renamed"}}))).await;
        assert_eq!(status, Status::Ok, "{changed}");
        let again = crate::feeds::feed(&app.client, "/feed.atom").await;
        let renamed = again.entries.iter().find(|e| e.title.value == "Renamed").expect("still there");
        assert_eq!(renamed.id, first.id);
        assert_ne!(renamed.links[0].href, first.links[0].href);

        // No articles: still a valid feed, with no entries.
        let empty = crate::feeds::feed(&app.client, "/feed.atom?tag=nothing-here").await;
        assert!(empty.entries.is_empty());
    }
);

feeds_test!(
    limit = 50_000,
    async fn tag_and_author_feeds_hold_only_their_own_articles(app) {
        let alice = register(&app.client, "alice").await;
        let bob = register(&app.client, "bob").await;
        let odd_tag = "a&b/c?d=#e f";
        for i in 0..25 {
            let token = if i % 3 == 0 { &bob } else { &alice };
            let tags: &[&str] = if i % 2 == 0 { &["even"] } else { &["odd", odd_tag] };
            publish(&app.client, token, &format!("Post {i}"), "b", tags).await;
        }
        let even = feed(&app.client, "/feed.atom?tag=even").await;
        let expected: Vec<String> = (0..25).rev().filter(|i| i % 2 == 0).map(|i| format!("Post {i}")).collect();
        assert_eq!(titles(&even), expected);
        assert_eq!(even.id, format!("{PUBLIC}/feed.atom?tag=even"));
        assert_eq!(even.title.value, "Conduit: #even");
        assert!(even.entries.iter().all(|e| e.categories.iter().any(|c| c.term == "even")));

        let odd = feed(&app.client, &format!("/feed.atom?tag={}", urlencode(odd_tag))).await;
        let expected: Vec<String> = (0..25).rev().filter(|i| i % 2 == 1).map(|i| format!("Post {i}")).collect();
        assert_eq!(titles(&odd), expected, "a tag full of URL syntax");
        assert_eq!(odd.title.value, format!("Conduit: #{odd_tag}"));

        let bobs = feed(&app.client, "/profile/bob/feed.atom").await;
        let expected: Vec<String> = (0..25).rev().filter(|i| i % 3 == 0).map(|i| format!("Post {i}")).collect();
        assert_eq!(titles(&bobs), expected);
        assert!(bobs.entries.iter().all(|e| e.authors[0].name == "bob"));
        assert_eq!(bobs.authors[0].name, "bob");
        assert_eq!(bobs.id, format!("{PUBLIC}/profile/bob/feed.atom"));
        let alices = feed(&app.client, "/profile/alice/feed.atom").await;
        assert_eq!(alices.entries.len(), 16);
        assert!(alices.entries.iter().all(|e| e.authors[0].name == "alice"));

        let charlie = register(&app.client, "charlie").await;
        drop(charlie);
        assert!(feed(&app.client, "/profile/charlie/feed.atom").await.entries.is_empty(), "an author with no articles");
        for (path, status) in [
            ("/profile/nobody/feed.atom", Status::NotFound),
            ("/feed.atom?tag=unknown", Status::Ok),
            (&*format!("/feed.atom?tag={}", "x".repeat(65)), Status::UnprocessableEntity),
        ] {
            assert_eq!(get(&app.client, path, &[]).await.status, status, "{path}");
        }
        assert_eq!(titles(&feed(&app.client, "/feed.atom?tag=%20").await).len(), 20, "a blank tag is the site feed");
    }
);

feeds_test!(
    limit = 50_000,
    async fn feeds_answer_conditional_gets_with_304(app) {
        let alice = register(&app.client, "alice").await;
        let article = publish(&app.client, &alice, "First", "b", &["t"]).await;
        let slug = article["slug"].as_str().unwrap();
        for path in ["/feed.atom", "/feed.atom?tag=t", "/profile/alice/feed.atom"] {
            let first = get(&app.client, path, &[]).await;
            assert_eq!(first.status, Status::Ok);
            let etag = first.etag.clone().expect("an ETag");
            let modified = first.last_modified.clone().expect("a Last-Modified");
            let at = chrono::DateTime::parse_from_rfc2822(&modified).expect("an HTTP date");
            let updated = chrono::DateTime::parse_from_rfc3339(article["updatedAt"].as_str().unwrap()).unwrap();
            assert_eq!(at.timestamp(), updated.timestamp(), "{path}: the newest change, to the second");
            for headers in [
                vec![("If-None-Match", etag.as_str())],
                vec![("If-Modified-Since", modified.as_str())],
                vec![("If-None-Match", etag.as_str()), ("If-Modified-Since", modified.as_str())],
            ] {
                let got = get(&app.client, path, &headers).await;
                assert_eq!(got.status, Status::NotModified, "{path} {headers:?}");
                assert!(got.body.is_empty());
                assert_eq!(got.etag.as_deref(), Some(etag.as_str()), "a 304 keeps its tag");
            }
            let earlier = crate::feeds::http_date(at.to_utc() - chrono::Duration::seconds(1));
            for headers in [
                vec![("If-Modified-Since", earlier.as_str())],
                vec![("If-None-Match", "W/\"0000000000000000\"")],
                // A tag that does not match wins over a date that does (RFC 9110 13.2.2).
                vec![("If-None-Match", "W/\"0000000000000000\""), ("If-Modified-Since", modified.as_str())],
                vec![("If-Modified-Since", "not a date")],
            ] {
                let got = get(&app.client, path, &headers).await;
                assert_eq!(got.status, Status::Ok, "{path} {headers:?}");
                assert!(got.body.contains("<feed"));
            }
        }
        let before = get(&app.client, "/feed.atom", &[]).await.etag.unwrap();
        let (status, _) = api(&app.client, Method::Put, &format!("/api/articles/{slug}"), Some(&alice), Some(json!({"article": {"body": "changed"}}))).await;
        assert_eq!(status, Status::Ok);
        let after = get(&app.client, "/feed.atom", &[("If-None-Match", before.as_str())]).await;
        assert_eq!(after.status, Status::Ok, "a changed feed is sent again");
        assert!(after.body.contains("changed"));
    }
);

fn http_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

feeds_test!(
    limit = 50_000,
    async fn hostile_titles_and_bodies_are_escaped_and_sanitized(app) {
        let token = register(&app.client, "mallory").await;
        let title = r#"He said "hi" <script>alert('t')</script> & left"#;
        let body = "<script>alert('b')</script>\n\n<img src=x onerror=\"alert('i')\">\n\n[x](javascript:alert('j')) ok";
        let article = json!({"article": {"title": title, "description": "<b>\"d\"</b>", "body": body, "tagList": ["<i>"]}});
        let (status, value) = api(&app.client, Method::Post, "/api/articles", Some(&token), Some(article)).await;
        assert_eq!(status, Status::Created, "{value}");
        let slug = value["article"]["slug"].as_str().unwrap().to_owned();

        let raw = get(&app.client, "/feed.atom", &[]).await.body;
        assert!(!raw.contains("<script"), "markup in the feed is escaped or gone: {raw}");
        let feed = feed(&app.client, "/feed.atom").await;
        let entry = &feed.entries[0];
        assert_eq!(entry.title.value, title, "the title reads back exactly");
        assert_eq!(entry.summary.as_ref().unwrap().value, "<b>\"d\"</b>");
        let content = entry.content.as_ref().and_then(|c| c.value.clone()).unwrap();
        for bad in ["<script", "onerror", "javascript:", "alert('b')"] {
            assert!(!content.contains(bad), "{bad} survived in {content}");
        }
        assert!(content.contains("<a rel=\"noopener noreferrer\">x</a> ok") || content.contains(">x</a> ok"), "{content}");

        let (status, html) = get_page(&app.client, &format!("/article/{slug}")).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(attrs(&html, r#"meta[property="og:title"]"#, "content"), vec![title]);
        assert_eq!(attrs(&html, r#"meta[name="twitter:title"]"#, "content"), vec![title]);
        assert_eq!(attrs(&html, r#"meta[property="og:description"]"#, "content"), vec!["<b>\"d\"</b>"]);
        assert_eq!(attrs(&html, r#"meta[property="article:tag"]"#, "content"), vec!["<i>"]);
        assert_eq!(texts(&html, "script").len(), 0, "no script element made it into the page");
        let raw = get(&app.client, &format!("/article/{slug}"), &[]).await.body;
        assert!(!raw.contains("<script"), "markup in the page is escaped or gone");
    }
);

feeds_test!(
    limit = 50_000,
    async fn article_and_profile_pages_carry_previews_feeds_and_canonical_links(app) {
        let alice = register(&app.client, "alice").await;
        let (status, _) = api(&app.client, Method::Put, "/api/user", Some(&alice), Some(json!({"user": {"image": "https://img.example/alice.png", "bio": "Writes things."}}))).await;
        assert_eq!(status, Status::Ok);
        let article = publish(&app.client, &alice, "Hello world", "b", &["rust", "web"]).await;
        let slug = article["slug"].as_str().unwrap();
        let url = format!("{PUBLIC}/article/{slug}");

        let (_, html) = get_page(&app.client, &format!("/article/{slug}")).await;
        let meta = |property: &str| attrs(&html, &format!(r#"meta[property="{property}"]"#), "content");
        let name = |name: &str| attrs(&html, &format!(r#"meta[name="{name}"]"#), "content");
        assert_eq!(attrs(&html, r#"link[rel="canonical"]"#, "href"), vec![url.clone()]);
        assert_eq!(meta("og:url"), vec![url.clone()]);
        assert_eq!(meta("og:type"), vec!["article"]);
        assert_eq!(meta("og:title"), vec!["Hello world"]);
        assert_eq!(meta("og:description"), vec!["About Hello world"]);
        assert_eq!(meta("og:image"), vec!["https://img.example/alice.png"]);
        assert_eq!(meta("article:author"), vec![format!("{PUBLIC}/profile/alice")]);
        let created = article["createdAt"].as_str().unwrap();
        assert_eq!(meta("article:published_time"), vec![format!("{}Z", &created[..19])]);
        assert_eq!(meta("article:tag"), vec!["rust", "web"]);
        assert_eq!(name("twitter:card"), vec!["summary"]);
        assert_eq!(name("twitter:title"), vec!["Hello world"]);
        assert_eq!(name("twitter:description"), vec!["About Hello world"]);

        // The head is memoized by the article: a new description and a new picture show at once.
        let (status, _) = api(&app.client, Method::Put, &format!("/api/articles/{slug}"), Some(&alice), Some(json!({"article": {"description": "Changed"}}))).await;
        assert_eq!(status, Status::Ok);
        let (status, _) = api(&app.client, Method::Put, "/api/user", Some(&alice), Some(json!({"user": {"image": "https://img.example/new.png"}}))).await;
        assert_eq!(status, Status::Ok);
        let (_, again) = get_page(&app.client, &format!("/article/{slug}")).await;
        assert_eq!(attrs(&again, r#"meta[property="og:description"]"#, "content"), vec!["Changed"]);
        assert_eq!(attrs(&again, r#"meta[property="og:image"]"#, "content"), vec!["https://img.example/new.png"]);

        let (_, profile) = get_page(&app.client, "/profile/alice").await;
        let meta = |property: &str| attrs(&profile, &format!(r#"meta[property="{property}"]"#), "content");
        assert_eq!(attrs(&profile, r#"link[rel="canonical"]"#, "href"), vec![format!("{PUBLIC}/profile/alice")]);
        assert_eq!(meta("og:type"), vec!["profile"]);
        assert_eq!(meta("og:title"), vec!["alice"]);
        assert_eq!(meta("og:description"), vec!["Writes things."]);
        assert_eq!(meta("og:image"), vec!["https://img.example/new.png"]);
        assert_eq!(meta("profile:username"), vec!["alice"]);
        let alternate = r#"link[rel="alternate"][type="application/atom+xml"]"#;
        let href = attrs(&profile, alternate, "href");
        assert_eq!(href, vec!["/profile/alice/feed.atom"]);
        assert_eq!(attrs(&profile, alternate, "title"), vec!["Conduit: articles by alice"]);
        assert_eq!(feed(&app.client, &href[0]).await.entries.len(), 1, "the announced feed answers");
        let (_, favorites) = get_page(&app.client, "/profile/alice/favorites").await;
        assert_eq!(attrs(&favorites, r#"link[rel="canonical"]"#, "href"), vec![format!("{PUBLIC}/profile/alice/favorites")]);

        let bob = register(&app.client, "bob").await;
        publish(&app.client, &bob, "Plain", "b", &[]).await;
        let (_, plain) = get_page(&app.client, "/article/plain").await;
        assert!(attrs(&plain, r#"meta[property="og:image"]"#, "content").is_empty(), "no picture, no og:image");
        let (_, bobs) = get_page(&app.client, "/profile/bob").await;
        assert_eq!(attrs(&bobs, r#"meta[property="og:description"]"#, "content"), vec!["Articles by bob on Conduit."]);

        for (path, feed_href) in [("/", "/feed.atom"), ("/?tag=rust", "/feed.atom?tag=rust"), ("/?tag=a%26b", "/feed.atom?tag=a%26b")] {
            let (_, home) = get_page(&app.client, path).await;
            assert_eq!(attrs(&home, alternate, "href"), vec![feed_href], "{path}");
        }
    }
);

/// The text of every `<name>` element in `xml`, which must be well formed.
fn elements(xml: &str, name: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut out, mut inside, mut root) = (Vec::new(), false, None);
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("not XML ({e}): {xml}"))
        {
            Event::Start(e) => {
                let tag = String::from_utf8(e.name().as_ref().to_vec()).expect("well-formed");
                root.get_or_insert_with(|| tag.clone());
                inside = tag == name;
            }
            Event::Text(t) if inside => out.push(t.decode().expect("well-formed").into_owned()),
            Event::GeneralRef(r) if inside => {
                let text = match &*r.decode().expect("well-formed") {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("entity {other}"),
                };
                out.last_mut()
                    .expect("text before an entity")
                    .push_str(text);
            }
            Event::End(_) => inside = false,
            Event::Eof => break,
            _ => {}
        }
    }
    out.insert(0, root.unwrap_or_default());
    out
}

/// The root element's name and the `(loc, lastmod)` pairs of a sitemap.
fn sitemap(xml: &str) -> (String, Vec<(String, String)>) {
    let mut locs = elements(xml, "loc");
    let root = locs.remove(0);
    let mut lastmods = elements(xml, "lastmod");
    lastmods.remove(0);
    if root == "urlset" {
        assert_eq!(locs.len(), lastmods.len(), "every url has a lastmod");
    }
    lastmods.resize(locs.len(), String::new());
    (root, locs.into_iter().zip(lastmods).collect())
}

/// Every URL the site should list, with its lastmod, read back through the API: articles at
/// their `updatedAt` (to the second), authors at their newest article's.
async fn expected_urls(client: &Client, users: &[&str]) -> BTreeSet<(String, String)> {
    let (_, list) = crate::support::get_json(client, "/api/articles?limit=100").await;
    let mut urls = BTreeSet::new();
    for a in list["articles"].as_array().expect("well-formed") {
        let updated = format!("{}Z", &a["updatedAt"].as_str().expect("well-formed")[..19]);
        urls.insert((
            format!(
                "{PUBLIC}/article/{}",
                a["slug"].as_str().expect("well-formed")
            ),
            updated,
        ));
    }
    for user in users {
        let newest = list["articles"]
            .as_array()
            .expect("well-formed")
            .iter()
            .filter(|a| a["author"]["username"] == *user)
            .map(|a| format!("{}Z", &a["updatedAt"].as_str().expect("well-formed")[..19]))
            .max();
        urls.insert((
            format!("{PUBLIC}/profile/{user}"),
            newest.unwrap_or_default(),
        ));
    }
    urls
}

/// The URLs as a set, each lastmod checked to be a W3C datetime to the second in UTC.
fn checked_dates(urls: Vec<(String, String)>) -> BTreeSet<(String, String)> {
    urls.into_iter()
        .map(|(loc, lastmod)| {
            assert!(
                lastmod.len() == 20 && lastmod.ends_with('Z'),
                "{loc}: {lastmod}"
            );
            assert!(
                chrono::DateTime::parse_from_rfc3339(&lastmod).is_ok(),
                "{lastmod}"
            );
            (loc, lastmod)
        })
        .collect()
}

feeds_test!(
    limit = 50_000,
    async fn the_sitemap_lists_every_article_and_profile_with_lastmod(app) {
        let alice = register(&app.client, "alice").await;
        let bob = register(&app.client, "bob").await;
        let _carol = register(&app.client, "carol").await;
        for (i, token) in [&alice, &bob, &alice, &alice].into_iter().enumerate() {
            publish(&app.client, token, &format!("Entry {i}"), "b", &[]).await;
        }
        let (status, _) = api(&app.client, Method::Put, "/api/articles/entry-0", Some(&alice), Some(json!({"article": {"body": "later"}}))).await;
        assert_eq!(status, Status::Ok);
        let got = get(&app.client, "/sitemap.xml", &[]).await;
        assert_eq!(got.status, Status::Ok);
        assert!(got.content_type.unwrap().starts_with("text/xml"));
        let (root, urls) = sitemap(&got.body);
        assert_eq!(root, "urlset");
        assert!(got.body.contains(r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">"#));
        assert_eq!(urls.len(), 7, "4 articles and 3 profiles, once each: {urls:?}");
        let mut listed = checked_dates(urls);
        let carol = listed.iter().find(|(loc, _)| loc.ends_with("/profile/carol")).cloned().expect("carol is listed");
        listed.remove(&carol);
        let mut expected = expected_urls(&app.client, &["alice", "bob"]).await;
        assert_eq!(listed, std::mem::take(&mut expected));
        let same = get(&app.client, "/sitemap.xml", &[("If-None-Match", got.etag.as_deref().unwrap())]).await;
        assert_eq!(same.status, Status::NotModified);
    }
);

feeds_test!(
    limit = 3,
    async fn past_the_limit_the_sitemap_is_an_index_of_parts_that_list_everything_once(app) {
        let mut tokens = Vec::new();
        for name in ["u1", "u2", "u3", "u4"] {
            tokens.push(register(&app.client, name).await);
        }
        for i in 0..8 {
            publish(&app.client, &tokens[i % 4], &format!("Entry {i}"), "b", &[]).await;
        }
        // A gap in the ids: parts are id ranges, so one holds fewer.
        let (status, _) = api(&app.client, Method::Delete, "/api/articles/entry-4", Some(&tokens[0]), None).await;
        assert_eq!(status, Status::NoContent);
        let got = get(&app.client, "/sitemap.xml", &[]).await;
        assert_eq!(got.status, Status::Ok);
        let (root, parts) = sitemap(&got.body);
        assert_eq!(root, "sitemapindex", "{}", got.body);
        let parts: Vec<String> = parts.into_iter().map(|(loc, _)| loc).collect();
        assert_eq!(
            parts,
            ["articles-1", "articles-2", "articles-3", "profiles-1", "profiles-2"]
                .map(|p| format!("{PUBLIC}/sitemap/{p}.xml"))
        );
        let mut all = Vec::new();
        for part in &parts {
            let path = part.strip_prefix(PUBLIC).unwrap();
            let got = get(&app.client, path, &[]).await;
            assert_eq!(got.status, Status::Ok, "{path}");
            let (root, urls) = sitemap(&got.body);
            assert_eq!(root, "urlset");
            assert!((1..=3).contains(&urls.len()), "{path}: {urls:?}");
            all.extend(urls);
        }
        assert_eq!(all.len(), 7 + 4, "7 articles and 4 profiles");
        let listed = checked_dates(all);
        assert_eq!(listed.len(), 11, "each once");
        assert_eq!(listed, expected_urls(&app.client, &["u1", "u2", "u3", "u4"]).await);
        for path in ["/sitemap/articles-4.xml", "/sitemap/profiles-0.xml", "/sitemap/articles-01.xml", "/sitemap/comments-1.xml", "/sitemap/articles-99999999999999999999.xml", "/sitemap/articles-3074457345618258603.xml"] {
            assert_eq!(get(&app.client, path, &[]).await.status, Status::NotFound, "{path}");
        }
    }
);

feeds_test!(
    limit = 50_000,
    async fn robots_txt_names_the_sitemap_and_keeps_crawlers_out_of_private_areas(app) {
        let got = get(&app.client, "/robots.txt", &[]).await;
        assert_eq!(got.status, Status::Ok);
        assert_eq!(got.content_type.as_deref(), Some("text/plain; charset=utf-8"));
        assert_eq!(
            got.body.lines().collect::<Vec<_>>(),
            [
                "User-agent: *",
                "Disallow: /admin",
                "Disallow: /settings",
                "Disallow: /editor",
                "Disallow: /api",
                "Disallow: /search",
                "",
                "Sitemap: https://conduit.example/sitemap.xml",
            ]
        );
    }
);

#[rocket::async_test]
async fn without_public_url_links_use_where_the_server_listens() {
    let app = TestApp::spawn_with(Engine::Sqlite, "it::feeds::default_public_url", |f| {
        f.merge(("port", 9123))
    })
    .await
    .expect("sqlite is always available");
    let got = get(&app.client, "/robots.txt", &[]).await;
    assert!(
        got.body
            .ends_with("Sitemap: http://127.0.0.1:9123/sitemap.xml\n"),
        "{}",
        got.body
    );
}
