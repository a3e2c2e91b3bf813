//! The RealWorld JSON API beyond users: profiles, articles, favorites, comments, tags, CORS.

use rocket::http::{ContentType, Header, Method, Status};
use serde_json::{json, Value};

use crate::support::{api, register, scalar};

fn article(title: &str, tags: &[&str]) -> Value {
    json!({"article": {"title": title, "description": format!("About {title}"), "body": format!("# {title}\n\nBody."), "tagList": tags}})
}

async fn publish(app: &crate::harness::TestApp, token: &str, title: &str, tags: &[&str]) -> Value {
    let (status, body) = api(
        &app.client,
        Method::Post,
        "/api/articles",
        Some(token),
        Some(article(title, tags)),
    )
    .await;
    assert_eq!(status, Status::Created, "{body}");
    body["article"].clone()
}

fn is_iso_millis(s: &str) -> bool {
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

db_test!(
    async fn profiles_show_following_and_follow_unfollow(app) {
        let jake = register(&app.client, "jake").await;
        register(&app.client, "celeb_1").await;
        let (status, body) = api(&app.client, Method::Get, "/api/profiles/celeb_1", None, None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body, json!({"profile": {"username": "celeb_1", "bio": null, "image": null, "following": false}}));

        let (status, body) = api(&app.client, Method::Post, "/api/profiles/celeb_1/follow", Some(&jake), None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["profile"]["following"], true);
        let (_, body) = api(&app.client, Method::Post, "/api/profiles/celeb_1/follow", Some(&jake), None).await;
        assert_eq!(body["profile"]["following"], true, "following twice is fine");
        let (_, body) = api(&app.client, Method::Get, "/api/profiles/celeb_1", Some(&jake), None).await;
        assert_eq!(body["profile"]["following"], true);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM follows").await, 1);

        let (status, body) = api(&app.client, Method::Delete, "/api/profiles/celeb_1/follow", Some(&jake), None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["profile"]["following"], false);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM follows").await, 0);

        assert_eq!(api(&app.client, Method::Get, "/api/profiles/nobody", None, None).await.0, Status::NotFound);
        assert_eq!(api(&app.client, Method::Post, "/api/profiles/celeb_1/follow", None, None).await.0, Status::Unauthorized);
        let (status, body) = api(&app.client, Method::Post, "/api/profiles/jake/follow", Some(&jake), None).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(body["errors"]["body"], json!(["you cannot follow yourself"]));
    }
);

db_test!(
    async fn optional_auth_routes_answer_401_to_a_bad_token(app) {
        register(&app.client, "kim").await;
        for path in ["/api/profiles/kim", "/api/articles", "/api/articles/none/comments"] {
            let (status, _) = api(&app.client, Method::Get, path, Some("not-a-jwt"), None).await;
            assert_eq!(status, Status::Unauthorized, "{path}");
        }
    }
);

db_test!(
    async fn create_article_answers_201_with_the_exact_shape(app) {
        let token = register(&app.client, "author").await;
        let a = publish(&app, &token, "How to train your dragon", &["training", "dragons", "Angular"]).await;
        assert_eq!(a["slug"], "how-to-train-your-dragon");
        assert_eq!(a["title"], "How to train your dragon");
        assert_eq!(a["description"], "About How to train your dragon");
        assert_eq!(a["body"], "# How to train your dragon\n\nBody.");
        assert_eq!(a["tagList"], json!(["Angular", "dragons", "training"]), "alphabetical");
        assert_eq!(a["favorited"], false);
        assert_eq!(a["favoritesCount"], 0);
        assert_eq!(a["author"], json!({"username": "author", "bio": null, "image": null, "following": false}));
        assert!(is_iso_millis(a["createdAt"].as_str().unwrap()), "{}", a["createdAt"]);
        assert!(is_iso_millis(a["updatedAt"].as_str().unwrap()));
        let keys: Vec<&String> = a.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 10, "{keys:?}");

        let res = app.client.get("/api/articles/how-to-train-your-dragon").dispatch().await;
        assert_eq!(res.headers().get_one("Content-Type"), Some("application/json; charset=utf-8"));
        let (status, got) = crate::support::json_of(res).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(got["article"], a);

        // tagList is optional.
        let body = json!({"article": {"title": "No tags", "description": "d", "body": "b"}});
        let (status, value) = api(&app.client, Method::Post, "/api/articles", Some(&token), Some(body)).await;
        assert_eq!(status, Status::Created);
        assert_eq!(value["article"]["tagList"], json!([]));
        assert_eq!(api(&app.client, Method::Post, "/api/articles", None, Some(article("x", &[]))).await.0, Status::Unauthorized);
    }
);

db_test!(
    async fn article_input_is_validated_with_field_errors(app) {
        let token = register(&app.client, "val").await;
        let many: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        let cases = [
            (json!({"article": {}}), "title", "can't be blank"),
            (json!({"article": {"title": "t", "body": "b"}}), "description", "can't be blank"),
            (json!({"article": {"title": "t", "description": "d", "body": "  "}}), "body", "can't be blank"),
            (json!({"article": {"title": "x".repeat(256), "description": "d", "body": "b"}}), "title", "is too long (maximum is 255 characters)"),
            (json!({"article": {"title": "t", "description": "d", "body": "b", "tagList": many}}), "tagList", "has too many tags (maximum is 10)"),
            (json!({"article": {"title": "t", "description": "d", "body": "b", "tagList": ["x".repeat(65)]}}), "tagList", "has a tag longer than 64 characters"),
        ];
        for (body, field, message) in cases {
            let (status, value) = api(&app.client, Method::Post, "/api/articles", Some(&token), Some(body)).await;
            assert_eq!(status, Status::UnprocessableEntity, "{value}");
            if field != "body" {
                assert_eq!(value["errors"][field][0], message, "{value}");
            }
            let full = format!("{field} {message}");
            assert!(value["errors"]["body"].as_array().unwrap().contains(&json!(full)), "{value}");
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 0);
    }
);

db_test!(
    async fn lists_filter_count_order_and_omit_the_body(app) {
        let alice = register(&app.client, "alice").await;
        let bob = register(&app.client, "bob").await;
        publish(&app, &alice, "First", &["rust"]).await;
        publish(&app, &alice, "Second", &["rust", "web"]).await;
        publish(&app, &bob, "Third", &["web"]).await;
        api(&app.client, Method::Post, "/api/articles/first/favorite", Some(&bob), None).await;

        let slugs = |v: &Value| v["articles"].as_array().unwrap().iter().map(|a| a["slug"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        let (status, all) = api(&app.client, Method::Get, "/api/articles", None, None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(slugs(&all), ["third", "second", "first"], "newest first");
        assert_eq!(all["articlesCount"], 3);
        assert!(all["articles"][0].get("body").is_none(), "list items omit body");

        let (_, rust) = api(&app.client, Method::Get, "/api/articles?tag=rust", None, None).await;
        assert_eq!(slugs(&rust), ["second", "first"]);
        let (_, by_alice_web) = api(&app.client, Method::Get, "/api/articles?author=alice&tag=web", None, None).await;
        assert_eq!(slugs(&by_alice_web), ["second"]);
        let (_, fav) = api(&app.client, Method::Get, "/api/articles?favorited=bob", Some(&bob), None).await;
        assert_eq!(slugs(&fav), ["first"]);
        assert_eq!(fav["articles"][0]["favorited"], true);
        assert_eq!(fav["articles"][0]["favoritesCount"], 1);
        let (_, page) = api(&app.client, Method::Get, "/api/articles?limit=1&offset=1", None, None).await;
        assert_eq!(slugs(&page), ["second"]);
        assert_eq!(page["articlesCount"], 3, "the total, not the page length");
        let (_, none) = api(&app.client, Method::Get, "/api/articles?tag=unknown", None, None).await;
        assert_eq!(none, json!({"articles": [], "articlesCount": 0}));
        let (_, past) = api(&app.client, Method::Get, "/api/articles?offset=50", None, None).await;
        assert_eq!(past, json!({"articles": [], "articlesCount": 3}));
    }
);

db_test!(
    async fn bad_limit_and_offset_are_422_never_500(app) {
        for query in ["limit=-1", "limit=0", "limit=ten", "offset=-5", "offset=1e3", "limit=99999999999999999999999"] {
            let (status, body) = api(&app.client, Method::Get, &format!("/api/articles?{query}"), None, None).await;
            assert_eq!(status, Status::UnprocessableEntity, "{query}: {body}");
            assert!(body["errors"]["body"][0].as_str().unwrap().contains("must be a whole number"), "{body}");
        }
        let (status, body) = api(&app.client, Method::Get, "/api/articles?limit=100000", None, None).await;
        assert_eq!(status, Status::Ok, "huge limits are clamped");
        assert_eq!(body["articlesCount"], 0);
    }
);

db_test!(
    async fn the_feed_holds_followed_authors_only(app) {
        let reader = register(&app.client, "reader").await;
        let followed = register(&app.client, "followed").await;
        let other = register(&app.client, "other").await;
        publish(&app, &followed, "Followed post", &[]).await;
        publish(&app, &other, "Other post", &[]).await;
        publish(&app, &reader, "Own post", &[]).await;
        api(&app.client, Method::Post, "/api/profiles/followed/follow", Some(&reader), None).await;
        let (status, feed) = api(&app.client, Method::Get, "/api/articles/feed", Some(&reader), None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(feed["articlesCount"], 1);
        assert_eq!(feed["articles"][0]["slug"], "followed-post");
        assert_eq!(feed["articles"][0]["author"]["following"], true);
        assert_eq!(api(&app.client, Method::Get, "/api/articles/feed", None, None).await.0, Status::Unauthorized);
    }
);

db_test!(
    async fn update_changes_fields_and_a_new_title_gives_a_new_slug(app) {
        let token = register(&app.client, "writer").await;
        let intruder = register(&app.client, "intruder").await;
        publish(&app, &token, "Old title", &["keep"]).await;
        let (status, body) = api(&app.client, Method::Put, "/api/articles/old-title", Some(&intruder), Some(json!({"article": {"body": "mine now"}}))).await;
        assert_eq!(status, Status::Forbidden, "{body}");

        let (status, body) = api(&app.client, Method::Put, "/api/articles/old-title", Some(&token), Some(json!({"article": {"body": "New body"}}))).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["article"]["slug"], "old-title");
        assert_eq!(body["article"]["body"], "New body");
        assert_eq!(body["article"]["tagList"], json!(["keep"]));

        let (status, body) = api(&app.client, Method::Put, "/api/articles/old-title", Some(&token), Some(json!({"article": {"title": "New title"}}))).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["article"]["slug"], "new-title");
        assert_eq!(body["article"]["title"], "New title");
        assert_eq!(body["article"]["body"], "New body");
        assert_eq!(api(&app.client, Method::Get, "/api/articles/old-title", None, None).await.0, Status::NotFound);
        assert_eq!(api(&app.client, Method::Get, "/api/articles/new-title", None, None).await.0, Status::Ok);
        assert_eq!(api(&app.client, Method::Put, "/api/articles/missing", Some(&token), Some(json!({"article": {}}))).await.0, Status::NotFound);
    }
);

db_test!(
    async fn only_the_author_deletes_an_article(app) {
        let token = register(&app.client, "owner").await;
        let other = register(&app.client, "someone").await;
        publish(&app, &token, "Doomed", &["gone"]).await;
        let (status, comment) = api(&app.client, Method::Post, "/api/articles/doomed/comments", Some(&other), Some(json!({"comment": {"body": "hi"}}))).await;
        assert_eq!(status, Status::Ok, "{comment}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM comments").await, 1, "the comment the delete must take along");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM article_tags").await, 1);
        assert_eq!(api(&app.client, Method::Delete, "/api/articles/doomed", Some(&other), None).await.0, Status::Forbidden);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM comments").await, 1, "a refused delete takes nothing");
        assert_eq!(api(&app.client, Method::Delete, "/api/articles/doomed", None, None).await.0, Status::Unauthorized);
        let res = app.client.delete("/api/articles/doomed").header(Header::new("Authorization", format!("Token {token}"))).dispatch().await;
        assert_eq!(res.status(), Status::NoContent);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 0);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM comments").await, 0);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM article_tags").await, 0);
        assert_eq!(api(&app.client, Method::Delete, "/api/articles/doomed", Some(&token), None).await.0, Status::NotFound);
    }
);

db_test!(
    async fn favorite_and_unfavorite_update_the_count(app) {
        let author = register(&app.client, "fa").await;
        let fan = register(&app.client, "fan").await;
        publish(&app, &author, "Loved", &[]).await;
        let (status, body) = api(&app.client, Method::Post, "/api/articles/loved/favorite", Some(&fan), None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!((body["article"]["favorited"].clone(), body["article"]["favoritesCount"].clone()), (json!(true), json!(1)));
        let (_, body) = api(&app.client, Method::Post, "/api/articles/loved/favorite", Some(&fan), None).await;
        assert_eq!(body["article"]["favoritesCount"], 1, "idempotent");
        let (_, body) = api(&app.client, Method::Get, "/api/articles/loved", Some(&author), None).await;
        assert_eq!((body["article"]["favorited"].clone(), body["article"]["favoritesCount"].clone()), (json!(false), json!(1)));
        let (status, body) = api(&app.client, Method::Delete, "/api/articles/loved/favorite", Some(&fan), None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!((body["article"]["favorited"].clone(), body["article"]["favoritesCount"].clone()), (json!(false), json!(0)));
        assert_eq!(api(&app.client, Method::Post, "/api/articles/nope/favorite", Some(&fan), None).await.0, Status::NotFound);
        assert_eq!(api(&app.client, Method::Post, "/api/articles/loved/favorite", None, None).await.0, Status::Unauthorized);
    }
);

db_test!(
    async fn comments_are_added_listed_and_deleted_by_their_author(app) {
        let author = register(&app.client, "ca").await;
        let commenter = register(&app.client, "commenter").await;
        publish(&app, &author, "Discussed", &[]).await;
        let (status, body) = api(&app.client, Method::Post, "/api/articles/discussed/comments", Some(&commenter), Some(json!({"comment": {"body": "Thank you so much!"}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
        let comment = &body["comment"];
        assert_eq!(comment["body"], "Thank you so much!");
        assert_eq!(comment["author"]["username"], "commenter");
        assert!(is_iso_millis(comment["createdAt"].as_str().unwrap()));
        let id = comment["id"].as_i64().unwrap();

        let (status, list) = api(&app.client, Method::Get, "/api/articles/discussed/comments", None, None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(list["comments"].as_array().unwrap().len(), 1);
        assert_eq!(list["comments"][0]["id"], id);

        let (status, body) = api(&app.client, Method::Post, "/api/articles/discussed/comments", Some(&commenter), Some(json!({"comment": {"body": " "}}))).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(body["errors"]["body"], json!(["body can't be blank"]));
        assert_eq!(api(&app.client, Method::Post, "/api/articles/missing/comments", Some(&commenter), Some(json!({"comment": {"body": "x"}}))).await.0, Status::NotFound);

        let path = format!("/api/articles/discussed/comments/{id}");
        assert_eq!(api(&app.client, Method::Delete, &path, Some(&author), None).await.0, Status::Forbidden);
        let res = app.client.delete(path.clone()).header(Header::new("Authorization", format!("Token {commenter}"))).dispatch().await;
        assert_eq!(res.status(), Status::NoContent);
        assert_eq!(api(&app.client, Method::Delete, &path, Some(&commenter), None).await.0, Status::NotFound);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM comments").await, 0);
    }
);

db_test!(
    async fn same_title_at_once_gives_distinct_slugs(app) {
        let token = register(&app.client, "twin").await;
        // Four writers with one title, released at once on threads of their own; many rounds.
        let mut slugs = std::collections::HashSet::new();
        for round in 0..8 {
            let title = format!("Same title {round}");
            let results = crate::support::race(4, |_| api(&app.client, Method::Post, "/api/articles", Some(&token), Some(article(&title, &["x"]))));
            for (status, v) in &results {
                assert_eq!(*status, Status::Created, "round {round}: {v}");
                let slug = v["article"]["slug"].as_str().unwrap().to_owned();
                assert!(slug.starts_with(&format!("same-title-{round}")), "{slug}");
                assert!(slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{slug}");
                assert!(slugs.insert(slug.clone()), "round {round}: slug {slug} given twice");
            }
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 32);
        assert_eq!(scalar(app.db(), "SELECT COUNT(DISTINCT slug) FROM articles").await, 32);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM tags").await, 1);

        let unicode = publish(&app, &token, "Ünïcödé — 日本語!", &[]).await;
        assert_eq!(unicode["slug"], "unicode-ri-ben-yu");
    }
);

db_test!(
    async fn list_queries_are_constant_in_round_trips_whatever_the_page_size(app) {
        let token = register(&app.client, "prolific").await;
        let reader = register(&app.client, "reader2").await;
        for i in 0..12 {
            publish(&app, &token, &format!("Post {i}"), &["a", "b"]).await;
        }
        // Per page size, the fewest statements of five requests: the pool's count also takes in
        // what background tasks run meanwhile (the mail sent for the sign-ups above), never less.
        let mut counts = Vec::new();
        for limit in [2, 12] {
            let mut fewest = u64::MAX;
            for _ in 0..5 {
                let before = app.db().statement_count();
                let (status, body) = api(&app.client, Method::Get, &format!("/api/articles?limit={limit}"), Some(&reader), None).await;
                assert_eq!(status, Status::Ok);
                assert_eq!(body["articles"].as_array().unwrap().len(), usize::try_from(limit).unwrap());
                fewest = fewest.min(app.db().statement_count() - before);
            }
            counts.push(fewest);
        }
        assert_eq!(counts[0], counts[1], "same number of statements for 2 and 12 articles: {counts:?}");
        assert!(counts[0] <= 2, "auth + one page statement: {counts:?}");
    }
);

db_test!(
    async fn tags_come_from_articles(app) {
        let token = register(&app.client, "tagger").await;
        publish(&app, &token, "One", &["rust", "web"]).await;
        publish(&app, &token, "Two", &["rust"]).await;
        let (status, body) = api(&app.client, Method::Get, "/api/tags", None, None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body, json!({"tags": ["rust", "web"]}));
    }
);

db_test!(
    async fn cors_preflight_allows_configured_origins(app) {
        let res = app
            .client
            .options("/api/articles")
            .header(Header::new("Origin", "http://localhost:4200"))
            .header(Header::new("Access-Control-Request-Method", "POST"))
            .header(Header::new("Access-Control-Request-Headers", "authorization, content-type"))
            .dispatch()
            .await;
        assert!(res.status().class().is_success(), "{}", res.status());
        assert_eq!(res.headers().get_one("Access-Control-Allow-Origin"), Some("*"));
        let allowed = res.headers().get_one("Access-Control-Allow-Headers").unwrap().to_ascii_lowercase();
        assert!(allowed.contains("authorization") && allowed.contains("content-type"), "{allowed}");
        let res = app.client.get("/api/tags").header(Header::new("Origin", "http://localhost:4200")).dispatch().await;
        assert_eq!(res.headers().get_one("Access-Control-Allow-Origin"), Some("*"));
        let _ = ContentType::JSON;
    }
);

db_test!(
    async fn an_article_and_its_tags_are_written_in_one_transaction(app) {
        let token = register(&app.client, "atomic").await;
        crate::support::exec(app.db(), "DROP TABLE article_tags").await.unwrap();
        let (status, body) = api(&app.client, Method::Post, "/api/articles", Some(&token), Some(article("Half written", &["tag"]))).await;
        assert_eq!(status, Status::InternalServerError);
        assert_eq!(body, json!({"errors": {"body": ["internal server error"]}}));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 0, "the article was rolled back with its tags");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM tags").await, 0);
    }
);

db_test!(
    async fn comments_list_oldest_first_with_each_authors_follow_state(app) {
        let author = register(&app.client, "host").await;
        let kim = register(&app.client, "kim").await;
        let lee = register(&app.client, "lee").await;
        let reader = register(&app.client, "reader").await;
        publish(&app, &author, "Quiet", &[]).await;
        publish(&app, &author, "Busy", &[]).await;
        let (status, none) = api(&app.client, Method::Get, "/api/articles/quiet/comments", Some(&reader), None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(none, json!({"comments": []}));
        assert_eq!(api(&app.client, Method::Get, "/api/articles/missing/comments", None, None).await.0, Status::NotFound);

        for (token, text) in [(&kim, "first"), (&lee, "second"), (&kim, "third")] {
            let (status, body) = api(&app.client, Method::Post, "/api/articles/busy/comments", Some(token), Some(json!({"comment": {"body": text}}))).await;
            assert_eq!(status, Status::Ok, "{body}");
        }
        assert_eq!(api(&app.client, Method::Post, "/api/profiles/lee/follow", Some(&reader), None).await.0, Status::Ok);
        let (status, list) = api(&app.client, Method::Get, "/api/articles/busy/comments", Some(&reader), None).await;
        assert_eq!(status, Status::Ok);
        let comments = list["comments"].as_array().expect("comments");
        let seen: Vec<(&str, &str, bool)> = comments
            .iter()
            .map(|c| (c["body"].as_str().unwrap(), c["author"]["username"].as_str().unwrap(), c["author"]["following"].as_bool().unwrap()))
            .collect();
        assert_eq!(seen, vec![("first", "kim", false), ("second", "lee", true), ("third", "kim", false)]);
        let (_, anonymous) = api(&app.client, Method::Get, "/api/articles/busy/comments", None, None).await;
        assert_eq!(anonymous["comments"].as_array().map(Vec::len), Some(3));
        assert!(anonymous["comments"].as_array().unwrap().iter().all(|c| c["author"]["following"] == false));
        assert_eq!(api(&app.client, Method::Get, "/api/articles/quiet/comments", None, None).await.1, json!({"comments": []}));
    }
);

db_test!(
    async fn list_pages_carry_any_text_and_every_flag_exactly_as_the_article_itself(app) {
        // Text a JSON writer or reader could get wrong, in every text a list row carries: the
        // lists and the article read their rows apart (SQLite packs a list page into one JSON
        // value, `db::articles::packed`), so each list entry must equal the article read alone.
        let writer = register(&app.client, "writer").await;
        let reader = register(&app.client, "reader").await;
        let hostile = "Quote \" backslash \\ slash / </script> \u{2028}\u{2029} \u{85} tab\tline\nend\r ünïcödé 😀 日本語 \u{10FFFF}";
        let image = "https://img.example/a.png?q=\"1\"&b=\\x";
        let (status, body) = api(&app.client, Method::Put, "/api/user", Some(&writer), Some(json!({"user": {"bio": hostile, "image": image}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
        let titles = ["Plain title", "Quote \" and \\ backslash", "Emoji 😀 日本語 \u{2028} and \u{85} more", "</script><b>bold</b> & more"];
        let mut slugs = Vec::new();
        for (i, title) in titles.iter().enumerate() {
            let article = json!({"article": {
                "title": title,
                "description": format!("{hostile} #{i}"),
                "body": "b",
                "tagList": [format!("tag-{i}"), "shared \"quoted\" \\ tag", "日本語"],
            }});
            let (status, body) = api(&app.client, Method::Post, "/api/articles", Some(&writer), Some(article)).await;
            assert_eq!(status, Status::Created, "{body}");
            slugs.push(body["article"]["slug"].as_str().expect("slug").to_owned());
        }
        // The reader follows the writer and favorites two of the four.
        assert_eq!(api(&app.client, Method::Post, "/api/profiles/writer/follow", Some(&reader), None).await.0, Status::Ok);
        for slug in &slugs[1..3] {
            let path = format!("/api/articles/{slug}/favorite");
            assert_eq!(api(&app.client, Method::Post, &path, Some(&reader), None).await.0, Status::Ok);
        }

        let lists = [
            ("/api/articles", None),
            ("/api/articles", Some(&reader)),
            ("/api/articles/feed", Some(&reader)),
            ("/api/articles?tag=%E6%97%A5%E6%9C%AC%E8%AA%9E", Some(&reader)),
            ("/api/articles?author=writer", None),
            ("/api/articles?favorited=reader", Some(&writer)),
            ("/api/articles?favorited=reader", Some(&reader)),
            ("/api/articles?limit=2&offset=1", Some(&reader)),
        ];
        for (path, token) in lists {
            let token = token.map(String::as_str);
            let (status, list) = api(&app.client, Method::Get, path, token, None).await;
            assert_eq!(status, Status::Ok, "{path}: {list}");
            let entries = list["articles"].as_array().expect("articles");
            let expected = match path {
                p if p.contains("favorited") => 2,
                p if p.contains("limit=2") => 2,
                _ => 4,
            };
            assert_eq!(entries.len(), expected, "{path}: {list}");
            let total = if path.contains("favorited") { 2 } else { 4 };
            assert_eq!(list["articlesCount"], total, "{path}");
            for entry in entries {
                let slug = entry["slug"].as_str().expect("slug");
                let (status, one) = api(&app.client, Method::Get, &format!("/api/articles/{slug}"), token, None).await;
                assert_eq!(status, Status::Ok);
                let mut one = one["article"].clone();
                one.as_object_mut().expect("article").remove("body");
                assert_eq!(entry, &one, "{path}: the list's entry and the article itself differ");
            }
            // What was written comes back unchanged.
            for entry in entries {
                let slug = entry["slug"].as_str().expect("slug");
                assert_eq!(entry["author"]["bio"], hostile, "{path}");
                assert_eq!(entry["author"]["image"], image, "{path}");
                assert!(entry["description"].as_str().expect("description").starts_with(hostile), "{path}");
                assert!(titles.contains(&entry["title"].as_str().expect("title")), "{path}: {:?}", entry["title"]);
                let tags = entry["tagList"].as_array().expect("tags");
                assert!(tags.contains(&json!("shared \"quoted\" \\ tag")) && tags.contains(&json!("日本語")), "{path}: {tags:?}");
                let viewer_is_reader = token == Some(reader.as_str());
                assert_eq!(entry["author"]["following"], viewer_is_reader, "{path}");
                let favorited_by_reader = slugs[1..3].iter().any(|s| s == slug);
                assert_eq!(entry["favorited"], viewer_is_reader && favorited_by_reader, "{path}");
                assert_eq!(entry["favoritesCount"], i64::from(favorited_by_reader), "{path}");
            }
        }
        // Past the end and nothing matching: no articles, and the count of what matches.
        let (status, past) = api(&app.client, Method::Get, "/api/articles?offset=10", None, None).await;
        assert_eq!((status, past), (Status::Ok, json!({"articles": [], "articlesCount": 4})));
        let (status, none) = api(&app.client, Method::Get, "/api/articles?tag=absent", None, None).await;
        assert_eq!((status, none), (Status::Ok, json!({"articles": [], "articlesCount": 0})));
    }
);
