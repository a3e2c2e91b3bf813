//! Full-text search on both engines: the ranking (title, tags, description, body, then newest),
//! prefix matching, filters, the index following edits and deletes, hostile queries, the
//! results page with its escaped snippets and pager, `GET /api/articles?q=`, and the search
//! box in every page's navigation.

use conduit::db::Engine;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use scraper::{Html, Selector};
use serde_json::json;

use crate::admin::admin_browser;
use crate::harness::TestApp;
use crate::support::{
    api, attrs, get_json, get_page, page_csrf, post_form, register, scalar, texts, urlencode,
};

/// Publish an article with these fields over the API; returns its slug.
pub async fn write(
    client: &Client,
    token: &str,
    title: &str,
    description: &str,
    body: &str,
    tags: &[&str],
) -> String {
    let article = json!({"article": {"title": title, "description": description, "body": body, "tagList": tags}});
    let (status, value) = api(
        client,
        Method::Post,
        "/api/articles",
        Some(token),
        Some(article),
    )
    .await;
    assert_eq!(status, Status::Created, "{value}");
    value["article"]["slug"].as_str().expect("slug").to_owned()
}

/// The titles `GET /api/articles?<query>` answers, in order, and its `articlesCount`.
async fn api_titles(client: &Client, query: &str) -> (Vec<String>, i64) {
    let (status, body) = get_json(client, &format!("/api/articles?{query}")).await;
    assert_eq!(status, Status::Ok, "{query}: {body}");
    let titles = body["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .map(|a| a["title"].as_str().expect("title").to_owned())
        .collect();
    (titles, body["articlesCount"].as_i64().expect("count"))
}

/// The result titles of the search page at `/search?<query>`, in order.
async fn page_titles(client: &Client, query: &str) -> Vec<String> {
    let (status, page) = get_page(client, &format!("/search?{query}")).await;
    assert_eq!(status, Status::Ok, "{query}");
    texts(&page, ".search-result h2 a")
}

/// Both faces agree: the API's titles for `q` (and the other `query` parameters) equal the
/// page's, and are `expected`.
async fn finds(client: &Client, query: &str, expected: &[&str]) {
    let (titles, count) = api_titles(client, query).await;
    assert_eq!(titles, expected, "API ?{query}");
    assert_eq!(
        count,
        i64::try_from(expected.len()).expect("a small count"),
        "API count ?{query}"
    );
    assert_eq!(page_titles(client, query).await, expected, "page ?{query}");
}

/// On SQLite, FTS5's own check that the index holds exactly what `articles` does.
async fn index_is_consistent(app: &TestApp) {
    if app.engine == Engine::Sqlite {
        crate::support::exec(
            app.db(),
            "INSERT INTO article_search (article_search, rank) VALUES ('integrity-check', 1)",
        )
        .await
        .expect("the FTS5 index matches the articles");
    }
}

db_test!(
    async fn a_title_match_ranks_above_tags_above_description_above_body_then_newest(app) {
        let token = register(&app.client, "writer").await;
        write(&app.client, &token, "Old body", "Nothing", "A zephyr in the text", &[]).await;
        write(&app.client, &token, "Description", "A zephyr described", "Plain", &[]).await;
        write(&app.client, &token, "Tagged", "Nothing", "Plain", &["zephyrs"]).await;
        write(&app.client, &token, "Zephyr in the title", "Nothing", "Plain", &[]).await;
        write(&app.client, &token, "New body", "Nothing", "Another zephyr", &[]).await;
        write(&app.client, &token, "Unrelated", "Nothing", "Plain", &["other"]).await;
        let order = ["Zephyr in the title", "Tagged", "Description", "New body", "Old body"];
        finds(&app.client, "q=zephyr", &order).await;
        // Every word is a prefix, in any letter case.
        finds(&app.client, "q=ZEPH", &order).await;
        // A match in two fields ranks above one in the better of them alone.
        write(&app.client, &token, "Zephyr again", "A zephyr too", "Plain", &[]).await;
        let (titles, _) = api_titles(&app.client, "q=zephyr").await;
        assert_eq!(titles[..2], ["Zephyr again", "Zephyr in the title"]);
    }
);

db_test!(
    async fn a_word_in_every_title_still_counts_as_a_title_match(app) {
        // InnoDB weighs a word by how rare it is: one in every row weighs 0. The rank asks only
        // whether a field matched, which must hold even then (pinned on MariaDB).
        let token = register(&app.client, "writer").await;
        write(&app.client, &token, "Zephyr quokka", "First", "Plain", &[]).await;
        write(&app.client, &token, "Zephyr", "Second", "A quokka", &[]).await;
        finds(&app.client, "q=zephyr+quokka", &["Zephyr", "Zephyr quokka"]).await;
        finds(&app.client, "q=zephyr", &["Zephyr", "Zephyr quokka"]).await;
    }
);

db_test!(
    async fn every_word_must_match_each_as_a_prefix_accents_aside(app) {
        let token = register(&app.client, "writer").await;
        write(&app.client, &token, "Hello world", "Greetings", "Body", &[]).await;
        write(&app.client, &token, "Café crème", "Coffee", "Body", &["drinks"]).await;
        write(&app.client, &token, "Golang tips", "Programming", "Written in the Rust style", &[]).await;
        finds(&app.client, "q=wor", &["Hello world"]).await;
        finds(&app.client, "q=wor%20hel", &["Hello world"]).await;
        finds(&app.client, "q=world%20nowhere", &[]).await;
        finds(&app.client, "q=cafe", &["Café crème"]).await;
        finds(&app.client, &format!("q={}", urlencode("CRÈME")), &["Café crème"]).await;
        finds(&app.client, "q=drink", &["Café crème"]).await;
        // Short words and stopwords are words like any other on both engines: "go" is a
        // prefix of "golang", and "the" is in the article's body.
        finds(&app.client, "q=go", &["Golang tips"]).await;
        finds(&app.client, "q=the%20rust%20golang", &["Golang tips"]).await;
    }
);

db_test!(
    async fn filters_narrow_a_search_and_combine(app) {
        let alice = register(&app.client, "alice").await;
        let bob = register(&app.client, "bob").await;
        write(&app.client, &alice, "Rust by alice", "d", "b", &["lang"]).await;
        let bobs = write(&app.client, &bob, "Rust by bob", "d", "b", &["lang"]).await;
        write(&app.client, &bob, "Rust untagged", "d", "b", &[]).await;
        write(&app.client, &bob, "Python by bob", "d", "b", &["lang"]).await;
        finds(&app.client, "q=rust&tag=lang", &["Rust by bob", "Rust by alice"]).await;
        finds(&app.client, "q=rust&author=bob", &["Rust untagged", "Rust by bob"]).await;
        finds(&app.client, "q=rust&author=bob&tag=lang", &["Rust by bob"]).await;
        finds(&app.client, "q=rust&author=nobody", &[]).await;
        let (status, _) = api(&app.client, Method::Post, &format!("/api/articles/{bobs}/favorite"), Some(&alice), None).await;
        assert_eq!(status, Status::Ok);
        let (titles, count) = api_titles(&app.client, "q=rust&favorited=alice").await;
        assert_eq!((titles, count), (vec!["Rust by bob".to_owned()], 1));
        // The results' tags link to the same search narrowed to the tag.
        let (_, page) = get_page(&app.client, "/search?q=rust&author=bob").await;
        let links = attrs(&page, ".search-result .tag-list a", "href");
        assert_eq!(links, ["/search?q=rust&tag=lang&author=bob"]);
        assert_eq!(attrs(&page, "a.clear-filters", "href"), ["/search?q=rust"]);
        assert_eq!(attrs(&page, "input#search-author", "value"), ["bob"]);
        // Without `q` the API list is the plain list, newest first, unchanged.
        let (titles, count) = api_titles(&app.client, "author=bob").await;
        assert_eq!(titles, ["Python by bob", "Rust untagged", "Rust by bob"]);
        assert_eq!(count, 3);
        let (blank, _) = api_titles(&app.client, "author=bob&q=%20").await;
        assert_eq!(blank, titles, "a blank q is no search");
    }
);

db_test!(
    async fn edits_tag_renames_and_deletes_reach_the_index(app) {
        let token = register(&app.client, "writer").await;
        let slug = write(&app.client, &token, "Alpaca farming", "Wool", "Body text", &["animals"]).await;
        finds(&app.client, "q=alpaca", &["Alpaca farming"]).await;
        let edit = json!({"article": {"title": "Llama farming", "body": "Other text", "tagList": ["beasts"]}});
        let (status, body) = api(&app.client, Method::Put, &format!("/api/articles/{slug}"), Some(&token), Some(edit)).await;
        assert_eq!(status, Status::Ok, "{body}");
        let slug = body["article"]["slug"].as_str().unwrap().to_owned();
        finds(&app.client, "q=alpaca", &[]).await;
        finds(&app.client, "q=llama", &["Llama farming"]).await;
        finds(&app.client, "q=animals", &[]).await;
        finds(&app.client, "q=beasts", &["Llama farming"]).await;
        finds(&app.client, "q=body", &[]).await;
        // Favorites write the row too; they leave the index as it was.
        let reader = register(&app.client, "reader").await;
        api(&app.client, Method::Post, &format!("/api/articles/{slug}/favorite"), Some(&reader), None).await;
        index_is_consistent(&app).await;
        // An admin renames the tag: the article is found by the new name only.
        admin_browser(&app, "boss").await;
        let tag = scalar(app.db(), "SELECT id FROM tags WHERE name = 'beasts'").await;
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, &format!("/admin/tags/{tag}"), &[("csrf_token", &csrf), ("name", "creatures")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        finds(&app.client, "q=beasts", &[]).await;
        finds(&app.client, "q=creatures", &["Llama farming"]).await;
        index_is_consistent(&app).await;
        let (status, _) = api(&app.client, Method::Delete, &format!("/api/articles/{slug}"), Some(&token), None).await;
        assert_eq!(status, Status::NoContent);
        finds(&app.client, "q=llama", &[]).await;
        // A user's articles go with the user (a cascade), and from the index with them.
        write(&app.client, &reader, "Vicuna notes", "d", "b", &[]).await;
        finds(&app.client, "q=vicuna", &["Vicuna notes"]).await;
        crate::support::exec(app.db(), "DELETE FROM users WHERE username = 'reader'").await.unwrap();
        finds(&app.client, "q=vicuna", &[]).await;
        index_is_consistent(&app).await;
    }
);

/// Queries built to break a search: engine syntax, markup, odd bytes, sheer size.
fn hostile_queries() -> Vec<String> {
    let mut queries: Vec<String> = [
        "\"",
        "\"\"",
        "\"unclosed",
        "*",
        "**",
        "-",
        "--",
        "+",
        "+-*",
        "-rust",
        "rust*",
        "(",
        ")",
        "(rust",
        "rust)",
        ":",
        "title:rust",
        "{title}:rust",
        "title : rust",
        "^",
        "^rust",
        "@",
        "@rust",
        "~",
        "~rust",
        "<",
        ">",
        "<rust>",
        "NEAR",
        "NEAR(rust web)",
        "rust NEAR web",
        "AND",
        "OR",
        "NOT",
        "rust AND",
        "OR rust",
        "NOT rust",
        "rust OR NOT web",
        "'",
        "';--",
        "\\",
        "%",
        "_",
        "%_%",
        "&",
        "|",
        "rust | web",
        "<script>alert(1)</script>",
        "\u{0}",
        "rust\u{0}web",
        "😀",
        "rust 😀 🦀",
        "\u{202e}rust",
        "日本語",
        "é\u{301}",
        "\t\n\r",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z",
        "MATCH",
        "AGAINST",
        ") AGAINST ('x' IN BOOLEAN MODE) OR 1=1 --",
        "article_search",
        "\"rust\"*",
        "rust\"*",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    queries.push("rust ".repeat(2_000));
    queries.push("x".repeat(10_000));
    queries.push("\"(*-".repeat(2_500));
    queries
}

db_test!(
    async fn words_in_scripts_with_combining_marks_are_found_not_a_5xx(app) {
        // Devanagari and Thai words carry vowel signs that FTS5 splits words at (and its
        // search tables refuse phrases): searched as FTS5 indexed them.
        let token = register(&app.client, "scripts").await;
        write(&app.client, &token, "कार यात्रा", "हिंदी", "पाठ", &[]).await;
        write(&app.client, &token, "สวัสดี ครับ", "ไทย", "ข้อความ", &[]).await;
        for (q, title) in [("कार", "कार यात्रा"), ("สวัสดี", "สวัสดี ครับ"), ("यात्रा", "कार यात्रा")] {
            let (status, body) = get_json(&app.client, &format!("/api/articles?q={}", urlencode(q))).await;
            assert_eq!(status, Status::Ok, "q={q}: {body}");
            let (status, _) = get_page(&app.client, &format!("/search?q={}", urlencode(q))).await;
            assert_eq!(status, Status::Ok, "page q={q}");
            if app.engine == conduit::db::Engine::Sqlite {
                let titles: Vec<&str> = body["articles"].as_array().expect("articles").iter().map(|a| a["title"].as_str().expect("title")).collect();
                assert_eq!(titles, [title], "q={q}");
            }
        }
        for q in ["Ⓐbc", "e\u{301}", "\u{93e}\u{93e}", "ก\u{e31}\u{e31}\u{e31}"] {
            let (status, body) = get_json(&app.client, &format!("/api/articles?q={}", urlencode(q))).await;
            assert_eq!(status, Status::Ok, "q={q:?}: {body}");
        }
    }
);

db_test!(
    async fn hostile_queries_answer_200_with_results_or_nothing(app) {
        let token = register(&app.client, "writer").await;
        write(&app.client, &token, "Rust and web", "About rust", "Body about the web", &["rust"]).await;
        for q in hostile_queries() {
            let encoded = urlencode(&q);
            let (status, body) = get_json(&app.client, &format!("/api/articles?q={encoded}")).await;
            assert_eq!(status, Status::Ok, "API q={q:?}: {body}");
            assert!(body["articles"].is_array() && body["articlesCount"].is_i64(), "{body}");
            let (status, page) = get_page(&app.client, &format!("/search?q={encoded}")).await;
            assert_eq!(status, Status::Ok, "page q={q:?}");
            assert!(!texts(&page, ".search-count").is_empty() || q.trim().is_empty(), "q={q:?}");
            // Whatever it was, it is in the form as text, no longer than what is searched.
            assert_eq!(texts(&page, "script").len(), 0, "q={q:?}");
            let shown = attrs(&page, "input#search-q", "value");
            assert!(shown.len() == 1 && shown[0].chars().count() <= 200, "q={q:?}");
        }
        // The words among the noise still find the article.
        for q in ["-rust", "+rust", "rust*", "(rust", "rust)", "rust\u{0}web", "\"rust\"*", "^rust~"] {
            let (titles, _) = api_titles(&app.client, &format!("q={}", urlencode(q))).await;
            assert_eq!(titles, ["Rust and web"], "q={q:?}");
        }
        // Bytes that are not UTF-8: a clear 4xx or a page, never a 5xx.
        for path in ["/api/articles?q=%FF%FE", "/search?q=%FF%FE", "/search?q=%C3"] {
            let status = app.client.get(path).dispatch().await.status();
            assert!(status.code < 500, "{path}: {status}");
        }
        // Paging stays bounded and checked.
        let (status, _) = get_json(&app.client, "/api/articles?q=rust&limit=-1").await;
        assert_eq!(status, Status::UnprocessableEntity);
        let (status, body) = get_json(&app.client, "/api/articles?q=rust&offset=999999999&limit=100000").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["articles"], json!([]));
        assert_eq!(body["articlesCount"], 1, "the total past the end");
        let (status, _) = get_page(&app.client, "/search?q=rust&page=999999999999999999999").await;
        assert_eq!(status, Status::Ok);
        let long_tag = format!("/search?q=rust&tag={}", "t".repeat(5_000));
        let (status, _) = get_page(&app.client, &long_tag).await;
        assert_eq!(status, Status::UnprocessableEntity);
    }
);

fn select<'a>(page: &'a Html, selector: &str) -> Vec<scraper::ElementRef<'a>> {
    page.select(&Selector::parse(selector).expect("selector"))
        .collect()
}

db_test!(
    async fn snippets_mark_the_words_and_escape_markup(app) {
        let token = register(&app.client, "writer").await;
        write(
            &app.client,
            &token,
            "<b>Bold</b> zebra",
            "<script>alert('x')</script> zebra stripes",
            "Some *markdown* and <img src=x onerror=alert(1)> zebras",
            &["<i>tag</i>"],
        )
        .await;
        write(
            &app.client,
            &token,
            "Plain",
            "Nothing to see",
            "# Heading\n\nA long body with **zebroid** words in it.",
            &[],
        )
        .await;
        let (status, page) = get_page(&app.client, "/search?q=%3Cscript%3E%20zebr").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, ".search-result h2 a"), ["<b>Bold</b> zebra"]);
        assert_eq!(texts(&page, ".snippet mark"), ["script", "script", "zebra"]);
        let snippet = texts(&page, ".snippet");
        assert_eq!(snippet, ["<script>alert('x')</script> zebra stripes"]);
        // Nothing the article holds became an element: only <mark>s inside the snippet.
        for injected in ["script", ".search-result b", ".search-result i", ".search-result img", ".snippet *:not(mark)"] {
            assert!(select(&page, injected).is_empty(), "{injected}");
        }
        assert_eq!(texts(&page, ".search-result .tag-list a"), ["<i>tag</i>"]);
        // The body's text (markdown reduced to text) when the description has no match.
        let (_, page) = get_page(&app.client, "/search?q=zebro").await;
        assert_eq!(texts(&page, ".snippet"), ["Heading A long body with zebroid words in it."]);
        assert_eq!(texts(&page, ".snippet mark"), ["zebroid"]);
        // The page repeats the search in its form, as text.
        let (_, page) = get_page(&app.client, &format!("/search?q={}", urlencode("\"><script>x</script>"))).await;
        assert_eq!(attrs(&page, "input#search-q", "value"), ["\"><script>x</script>"]);
        assert!(select(&page, "script").is_empty());
    }
);

db_test!(
    async fn results_are_paged_with_prev_and_next_links(app) {
        let token = register(&app.client, "writer").await;
        for i in 0..23 {
            write(&app.client, &token, &format!("Item {i:02}"), "Numbered", "quince", &[]).await;
        }
        // Ten a page (the configured page size), newest first among equals.
        let (status, page) = get_page(&app.client, "/search?q=quince").await;
        assert_eq!(status, Status::Ok);
        let first: Vec<String> = (13..23).rev().map(|i| format!("Item {i:02}")).collect();
        assert_eq!(texts(&page, ".search-result h2 a"), first);
        assert_eq!(texts(&page, ".search-count"), ["23 articles match “quince”, showing 1–10."]);
        assert!(attrs(&page, "a[rel=prev]", "href").is_empty());
        assert_eq!(attrs(&page, "a[rel=next]", "href"), ["/search?q=quince&page=2"]);
        let (_, page) = get_page(&app.client, "/search?q=quince&page=3").await;
        assert_eq!(texts(&page, ".search-result h2 a"), ["Item 02", "Item 01", "Item 00"]);
        assert_eq!(attrs(&page, "a[rel=prev]", "href"), ["/search?q=quince&page=2"]);
        assert!(attrs(&page, "a[rel=next]", "href").is_empty());
        assert_eq!(attrs(&page, "ol.search-results", "start"), ["21"]);
        // The API pages by offset and limit over the same order.
        let (all, count) = api_titles(&app.client, "q=quince&limit=100").await;
        assert_eq!(count, 23);
        let (slice, count) = api_titles(&app.client, "q=quince&limit=5&offset=7").await;
        assert_eq!((slice.as_slice(), count), (&all[7..12], 23));
    }
);

db_test!(
    async fn an_empty_search_invites_one_and_finds_nothing(app) {
        let token = register(&app.client, "writer").await;
        write(&app.client, &token, "Something", "d", "b", &[]).await;
        for path in ["/search", "/search?q=", "/search?q=%20%20&tag=&author="] {
            let (status, page) = get_page(&app.client, path).await;
            assert_eq!(status, Status::Ok, "{path}");
            assert_eq!(texts(&page, ".search-help").len(), 1, "{path}");
            assert!(texts(&page, ".search-count").is_empty(), "{path}");
            assert_eq!(attrs(&page, "form.search-form input[type=search][name=q]", "name"), ["q"]);
        }
        // Only punctuation: a search for nothing, which finds nothing.
        let (status, page) = get_page(&app.client, "/search?q=%2A%22%2D").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, ".search-count"), ["No articles match “*\"-”."]);
        assert_eq!(api_titles(&app.client, "q=%2A%22%2D").await, (vec![], 0));
    }
);

db_test!(
    async fn every_site_page_has_a_search_box_in_its_navigation(app) {
        let token = register(&app.client, "writer").await;
        let slug = write(&app.client, &token, "Something", "d", "b", &[]).await;
        let nav_box = "nav form[role=search][method=get] input[type=search][name=q]";
        for path in ["/", "/login", "/register", "/search", "/search?q=x", &format!("/article/{slug}"), "/profile/writer", "/no/such/page"] {
            let res = app.client.get(path.to_owned()).dispatch().await;
            let html = Html::parse_document(&res.into_string().await.unwrap_or_default());
            assert_eq!(select(&html, nav_box).len(), 1, "{path}");
            assert_eq!(attrs(&html, "nav form[role=search]", "action"), ["/search"], "{path}");
            // Labelled for screen readers.
            assert_eq!(texts(&html, "nav form[role=search] label[for=nav-q]"), ["Search articles"], "{path}");
        }
        // Signed in too.
        admin_browser(&app, "boss").await;
        let (_, home) = get_page(&app.client, "/").await;
        assert_eq!(select(&home, nav_box).len(), 1);
        // The admin console is not the readers' site: no search box there.
        let (status, admin) = get_page(&app.client, "/admin").await;
        assert_eq!(status, Status::Ok);
        assert!(select(&admin, nav_box).is_empty());
        // The box's query lands on the results page.
        assert_eq!(page_titles(&app.client, "q=somet").await, ["Something"]);
    }
);
