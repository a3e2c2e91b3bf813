//! The server-rendered site: every page and every form's success and failure paths, asserted
//! with CSS selectors.

use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use scraper::{Html, Selector};
use serde_json::json;

use crate::support::{
    api, attrs, browser_register, get_page, login_next, page_csrf, post_form, register, scalar,
    texts,
};

/// Publish over the API; returns the slug.
async fn publish(client: &Client, token: &str, title: &str, body: &str, tags: &[&str]) -> String {
    let article = crate::support::publish(client, token, title, body, tags).await;
    article["slug"].as_str().expect("slug").to_owned()
}

fn attr(html: &Html, selector: &str, name: &str) -> Vec<String> {
    let sel = Selector::parse(selector).expect("selector");
    html.select(&sel)
        .filter_map(|e| e.value().attr(name).map(str::to_owned))
        .collect()
}

fn count(html: &Html, selector: &str) -> usize {
    html.select(&Selector::parse(selector).expect("selector"))
        .count()
}

async fn page_of(res: rocket::local::asynchronous::LocalResponse<'_>) -> (Status, Html) {
    let status = res.status();
    (
        status,
        Html::parse_document(&res.into_string().await.unwrap_or_default()),
    )
}

/// Every form field has a label, and the page has a title and a language.
fn assert_accessible(html: &Html) {
    assert_eq!(attr(html, "html", "lang"), vec!["en"]);
    assert_eq!(count(html, "head title"), 1);
    assert_eq!(count(html, "main#main"), 1);
    let labels = attr(html, "label", "for");
    for id in attr(html, "input:not([type=hidden]), textarea", "id") {
        assert!(labels.contains(&id), "field #{id} has no label");
    }
    assert_eq!(
        count(
            html,
            "input:not([type=hidden]):not([id]), textarea:not([id])"
        ),
        0,
        "fields without ids"
    );
}

db_test!(
    async fn home_shows_the_global_feed_with_tags_and_pagination(app) {
        let token = register(&app.client, "writer").await;
        for i in 0..12 {
            publish(&app.client, &token, &format!("Post number {i}"), "Body", if i % 2 == 0 { &["even"] } else { &["odd"] }).await;
        }
        let (status, html) = get_page(&app.client, "/").await;
        assert_eq!(status, Status::Ok);
        assert_accessible(&html);
        let titles = texts(&html, ".article-preview h2");
        assert_eq!(titles.len(), 10, "page_size is 10");
        assert_eq!(titles[0], "Post number 11", "newest first");
        assert_eq!(texts(&html, ".feed-toggle .nav-link.active"), vec!["Global Feed"]);
        assert_eq!(texts(&html, ".sidebar .tag-pill"), vec!["even", "odd"]);
        // Keyset pages (tests/it/keyset.rs): "Older" starts after the page's last article.
        assert_eq!(texts(&html, ".pagination .page-link"), vec!["Older »"]);
        let older = attrs(&html, ".pagination a[rel=next]", "href");
        let last_id = scalar(app.db(), "SELECT id FROM articles WHERE title = 'Post number 2'").await;
        assert_eq!(older, vec![format!("/?before={last_id}")]);
        assert_eq!(texts(&html, ".article-preview .author")[0], "writer");
        assert_eq!(texts(&html, ".article-preview .tag-list li")[0], "odd");

        let (_, page2) = get_page(&app.client, &older[0]).await;
        assert_eq!(texts(&page2, ".article-preview h2"), vec!["Post number 1", "Post number 0"]);
        assert_eq!(texts(&page2, ".pagination .page-link"), vec!["First", "« Newer"]);
        assert_eq!(attrs(&page2, ".pagination a[rel=prev]", "href"), vec![format!("/?after={}", last_id - 1)]);
        let (_, tagged) = get_page(&app.client, "/?tag=even").await;
        assert_eq!(texts(&tagged, ".article-preview h2").len(), 6);
        assert_eq!(texts(&tagged, ".feed-toggle .nav-link.active"), vec!["# even"]);
        let (status, _) = get_page(&app.client, "/?page=abc").await;
        assert_eq!(status, Status::Ok, "a bad page number shows the first page");
    }
);

db_test!(
    async fn your_feed_shows_followed_authors_and_the_follow_button_works(app) {
        let star = register(&app.client, "star").await;
        let other = register(&app.client, "other").await;
        publish(&app.client, &star, "Star post", "b", &[]).await;
        publish(&app.client, &other, "Other post", "b", &[]).await;
        browser_register(&app.client, "fan").await;
        let (_, profile) = get_page(&app.client, "/profile/star").await;
        assert_eq!(texts(&profile, "form.follow-form button"), vec!["+ Follow star"]);
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, "/profile/star/follow", &[("csrf_token", &csrf), ("back", "/profile/star")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(res.headers().get_one("Location"), Some("/profile/star"));
        let (_, profile) = get_page(&app.client, "/profile/star").await;
        assert_eq!(texts(&profile, "form.follow-form button"), vec!["Unfollow star"]);
        assert_eq!(texts(&profile, ".flash"), vec!["You are following star."]);

        let (status, feed) = get_page(&app.client, "/?feed=you").await;
        assert_eq!(status, Status::Ok, "{}", feed.html());
        assert_eq!(texts(&feed, ".feed-toggle .nav-link.active"), vec!["Your Feed"], "{}", feed.html());
        assert_eq!(texts(&feed, ".article-preview h2"), vec!["Star post"]);

        let res = post_form(&app.client, "/profile/star/unfollow", &[("csrf_token", &csrf), ("back", "/?feed=you")]).await;
        assert_eq!(res.headers().get_one("Location"), Some("/?feed=you"));
        let (_, feed) = get_page(&app.client, "/?feed=you").await;
        assert_eq!(texts(&feed, ".article-preview.empty"), vec!["No articles are here... yet."]);
    }
);

db_test!(
    async fn the_article_page_renders_sanitized_markdown_and_escapes_user_text(app) {
        let token = register(&app.client, "md").await;
        let body = "# Heading\n\nSome *emphasis*.\n\n<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1))";
        let slug = publish(&app.client, &token, "<b>Bold</b> title", body, &["markdown"]).await;
        let (status, html) = get_page(&app.client, &format!("/article/{slug}")).await;
        assert_eq!(status, Status::Ok);
        assert_accessible(&html);
        assert_eq!(texts(&html, ".article-page .banner h1"), vec!["<b>Bold</b> title"], "the title is text, not markup");
        assert_eq!(count(&html, ".banner h1 b"), 0);
        assert_eq!(texts(&html, ".article-body h2"), vec!["Heading"], "body headings sit below the title");
        assert_eq!(texts(&html, ".article-body em"), vec!["emphasis"]);
        assert_eq!(count(&html, ".article-body script, [onerror], a[href^=javascript]"), 0);
        assert_eq!(texts(&html, ".article-content .tag-list a"), vec!["markdown"]);
        assert_eq!(texts(&html, "head title"), vec!["<b>Bold</b> title — Conduit"]);
        assert_eq!(texts(&html, ".comment-prompt a"), vec!["Sign in", "sign up"], "anonymous readers are invited to sign in");

        let (status, missing) = get_page(&app.client, "/article/no-such-article").await;
        assert_eq!(status, Status::NotFound);
        assert_eq!(texts(&missing, "main h1"), vec!["Page not found"]);
    }
);

db_test!(
    async fn the_editor_publishes_validates_and_edits(app) {
        let res = app.client.get("/editor").dispatch().await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(res.headers().get_one("Location"), Some("/login?next=%2Feditor"));

        browser_register(&app.client, "author").await;
        let (status, editor) = get_page(&app.client, "/editor").await;
        assert_eq!(status, Status::Ok);
        assert_accessible(&editor);
        let csrf = page_csrf(&app.client).await;

        let res = post_form(&app.client, "/editor", &[("csrf_token", &csrf), ("title", "Kept title"), ("description", ""), ("body", "kept body"), ("tags", "a b")]).await;
        let (status, html) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&html, ".error-messages li"), vec!["description can't be blank"]);
        assert_eq!(attr(&html, "input#title", "value"), vec!["Kept title"]);
        assert_eq!(texts(&html, "textarea#body"), vec!["kept body"]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 0);

        let res = post_form(&app.client, "/editor", &[("csrf_token", &csrf), ("title", "My first post"), ("description", "d"), ("body", "**hi**"), ("tags", "rust, web rust")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(res.headers().get_one("Location"), Some("/article/my-first-post"));
        let (_, article) = get_page(&app.client, "/article/my-first-post").await;
        assert_eq!(texts(&article, ".flash"), vec!["Your article is published."]);
        assert_eq!(texts(&article, ".article-content .tag-list a"), vec!["rust", "web"]);
        assert_eq!(texts(&article, ".banner a.edit-article"), vec!["Edit Article"]);

        let (_, edit) = get_page(&app.client, "/editor/my-first-post").await;
        assert_eq!(attr(&edit, "input#tags", "value"), vec!["rust web"]);
        let res = post_form(&app.client, "/editor/my-first-post", &[("csrf_token", &csrf), ("title", "Renamed post"), ("description", "d2"), ("body", "new"), ("tags", "rust")]).await;
        assert_eq!(res.headers().get_one("Location"), Some("/article/renamed-post"));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles WHERE slug = 'renamed-post' AND description = 'd2'").await, 1);
    }
);

db_test!(
    async fn editing_or_deleting_someone_elses_article_is_a_403_page(app) {
        let owner = register(&app.client, "owner").await;
        let slug = publish(&app.client, &owner, "Not yours", "b", &[]).await;
        browser_register(&app.client, "intruder").await;
        let (status, html) = get_page(&app.client, &format!("/editor/{slug}")).await;
        assert_eq!(status, Status::Forbidden);
        assert_eq!(texts(&html, "main h1"), vec!["Not allowed"]);
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, &format!("/article/{slug}/delete"), &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::Forbidden);
        let res = post_form(&app.client, &format!("/editor/{slug}"), &[("csrf_token", &csrf), ("title", "x"), ("description", "x"), ("body", "x")]).await;
        assert_eq!(res.status(), Status::Forbidden);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles WHERE title = 'Not yours'").await, 1);
        let (_, page) = get_page(&app.client, &format!("/article/{slug}")).await;
        assert_eq!(count(&page, "form.delete-article, a.edit-article"), 0, "no author actions for others");
    }
);

db_test!(
    async fn the_author_deletes_an_article_from_its_page(app) {
        browser_register(&app.client, "deleter").await;
        let csrf = page_csrf(&app.client).await;
        post_form(&app.client, "/editor", &[("csrf_token", &csrf), ("title", "Short lived"), ("description", "d"), ("body", "b")]).await;
        let res = post_form(&app.client, "/article/short-lived/delete", &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(res.headers().get_one("Location"), Some("/"));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 0);
        let (_, home) = get_page(&app.client, "/").await;
        assert_eq!(texts(&home, ".flash"), vec!["“Short lived” was deleted."]);
    }
);

db_test!(
    async fn favorite_buttons_work_from_the_feed_and_land_back_there(app) {
        let author = register(&app.client, "fav_author").await;
        let slug = publish(&app.client, &author, "Likeable", "b", &[]).await;
        let res = post_form(&app.client, &format!("/article/{slug}/favorite"), &[("csrf_token", "x"), ("back", "/")]).await;
        assert_eq!(res.status(), Status::Forbidden, "a forged form: refused, nothing changes");
        // A signed-out visitor's own form (say, a page left open past the session's end).
        let (_, login) = get_page(&app.client, "/login").await;
        let token = crate::support::csrf_of(&login);
        let res = post_form(&app.client, &format!("/article/{slug}/favorite"), &[("csrf_token", &token), ("back", "/")]).await;
        assert_eq!(res.status(), Status::SeeOther, "anonymous: sent to sign in, nothing changes");
        assert!(res.headers().get_one("Location").unwrap().starts_with("/login"));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM favorites").await, 0);

        browser_register(&app.client, "liker").await;
        let (_, home) = get_page(&app.client, "/").await;
        assert_eq!(texts(&home, ".article-preview form.favorite-form .counter"), vec!["0"]);
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, &format!("/article/{slug}/favorite"), &[("csrf_token", &csrf), ("back", "/?page=1")]).await;
        assert_eq!(res.headers().get_one("Location"), Some("/?page=1"));
        let (_, home) = get_page(&app.client, "/").await;
        assert_eq!(texts(&home, ".article-preview form.favorite-form .counter"), vec!["1"]);
        assert_eq!(attr(&home, ".article-preview form.favorite-form", "action"), vec![format!("/article/{slug}/unfavorite")]);
        let (_, favorites) = get_page(&app.client, "/profile/liker/favorites").await;
        assert_eq!(texts(&favorites, ".article-preview h2"), vec!["Likeable"]);
        assert_eq!(texts(&favorites, ".articles-toggle .nav-link.active"), vec!["Favorited Articles"]);

        let res = post_form(&app.client, &format!("/article/{slug}/unfavorite"), &[("csrf_token", &csrf), ("back", "//evil.example")]).await;
        assert_eq!(res.headers().get_one("Location"), Some("/"), "never redirect off-site");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM favorites").await, 0);
    }
);

db_test!(
    async fn comments_post_validate_escape_and_delete(app) {
        let author = register(&app.client, "host").await;
        let slug = publish(&app.client, &author, "Talk", "b", &[]).await;
        browser_register(&app.client, "guest").await;
        let csrf = page_csrf(&app.client).await;
        let path = format!("/article/{slug}/comments");

        let res = post_form(&app.client, &path, &[("csrf_token", &csrf), ("body", "   ")]).await;
        let (status, html) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&html, ".comments .error-messages li"), vec!["body can't be blank"]);

        let res = post_form(&app.client, &path, &[("csrf_token", &csrf), ("body", "<script>alert(1)</script> Nice!")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let location = res.headers().get_one("Location").unwrap().to_owned();
        assert!(location.starts_with(&format!("/article/{slug}#comment-")), "{location}");
        let (_, page) = get_page(&app.client, &format!("/article/{slug}")).await;
        assert_eq!(texts(&page, ".comment .card-text"), vec!["<script>alert(1)</script> Nice!"]);
        assert_eq!(count(&page, ".comment script"), 0);
        assert_eq!(texts(&page, ".comment .comment-author")[1], "guest");
        assert_eq!(count(&page, ".comment form.mod-options"), 1, "the author of a comment may delete it");

        let id = scalar(app.db(), "SELECT id FROM comments").await;
        let other = Client::tracked(conduit::rocket_with(app.client.rocket().figment().clone())).await.unwrap();
        browser_register(&other, "stranger").await;
        let (_, theirs) = get_page(&other, &format!("/article/{slug}")).await;
        assert_eq!(count(&theirs, ".comment form.mod-options"), 0);
        let stranger_csrf = page_csrf(&other).await;
        let res = post_form(&other, &format!("{path}/{id}/delete"), &[("csrf_token", &stranger_csrf)]).await;
        assert_eq!(res.status(), Status::Forbidden);

        let res = post_form(&app.client, &format!("{path}/{id}/delete"), &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM comments").await, 0);
    }
);

db_test!(
    async fn profile_pages_list_articles_and_unknown_users_are_404(app) {
        let token = register(&app.client, "profiled").await;
        api(&app.client, Method::Put, "/api/user", Some(&token), Some(json!({"user": {"bio": "<i>Hello</i> there"}}))).await;
        publish(&app.client, &token, "Mine", "b", &[]).await;
        let (status, html) = get_page(&app.client, "/profile/profiled").await;
        assert_eq!(status, Status::Ok);
        assert_accessible(&html);
        assert_eq!(texts(&html, ".user-info h1"), vec!["profiled"]);
        assert_eq!(texts(&html, ".user-info .bio"), vec!["<i>Hello</i> there"]);
        assert_eq!(texts(&html, ".article-preview h2"), vec!["Mine"]);
        assert_eq!(texts(&html, ".articles-toggle .nav-link.active"), vec!["My Articles"]);
        let (status, _) = get_page(&app.client, "/profile/ghost").await;
        assert_eq!(status, Status::NotFound);

        browser_register(&app.client, "me_myself").await;
        let (_, own) = get_page(&app.client, "/profile/me_myself").await;
        assert_eq!(texts(&own, ".user-info a.action-btn"), vec!["Edit Profile Settings"]);
    }
);

db_test!(
    async fn anonymous_buttons_lead_to_login_and_back(app) {
        let author = register(&app.client, "a1").await;
        let slug = publish(&app.client, &author, "Guarded", "b", &[]).await;
        let res = app.client.get("/settings").dispatch().await;
        assert_eq!(res.status(), Status::SeeOther);
        // A form post without a session goes to login, then back to the page it came from.
        browser_register(&app.client, "visitor").await;
        let csrf = page_csrf(&app.client).await;
        let logout = post_form(&app.client, "/logout", &[("csrf_token", &csrf)]).await;
        assert_eq!(logout.status(), Status::SeeOther);
        let (_, page) = get_page(&app.client, &format!("/article/{slug}")).await;
        let links = attr(&page, ".banner .article-meta a.btn-outline-primary", "href");
        assert_eq!(links.len(), 1, "{links:?}");
        assert_eq!(login_next(&links[0]), Some(format!("/article/{slug}")), "{links:?}");
        // Following it and signing in comes back to the article.
        let (status, login) = get_page(&app.client, &links[0]).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(attr(&login, "form.login-form input[name=next]", "value"), vec![format!("/article/{slug}")]);
    }
);

db_test!(
    async fn static_files_are_ours_cached_and_pages_are_not(app) {
        let res = app.client.get("/static/css/conduit.css").dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(res.headers().get_one("Cache-Control"), Some("public, max-age=86400"));
        let css = res.into_string().await.unwrap();
        assert!(!css.contains("http://") && !css.contains("https://") && !css.contains("@import"), "no external resources");
        let res = app.client.get("/").dispatch().await;
        assert_eq!(res.headers().get_one("Cache-Control"), Some("private, no-cache"));
        let html = Html::parse_document(&res.into_string().await.unwrap());
        for url in attr(&html, "link[href], script[src], img[src]", "href").into_iter().chain(attr(&html, "script[src], img[src]", "src")) {
            assert!(url.starts_with('/'), "{url} is not served by us");
        }
    }
);

db_test!(
    async fn get_responses_carry_an_etag_and_revalidate_to_304(app) {
        let token = register(&app.client, "etag").await;
        publish(&app.client, &token, "Tagged", "b", &["x"]).await;
        for path in ["/api/tags", "/api/articles", "/profile/etag", "/", "/article/tagged"] {
            let res = app.client.get(path).dispatch().await;
            assert_eq!(res.status(), Status::Ok);
            let tag = res.headers().get_one("ETag").expect("an ETag").to_owned();
            let again = app.client.get(path).header(rocket::http::Header::new("If-None-Match", tag.clone())).dispatch().await;
            assert_eq!(again.status(), Status::NotModified, "{path}");
            assert_eq!(again.into_string().await.unwrap_or_default(), "");
        }
        let res = app.client.get("/api/tags").dispatch().await;
        let tag = res.headers().get_one("ETag").unwrap().to_owned();
        publish(&app.client, &token, "Another", "b", &["y"]).await;
        let changed = app.client.get("/api/tags").header(rocket::http::Header::new("If-None-Match", tag)).dispatch().await;
        assert_eq!(changed.status(), Status::Ok, "a changed body gets a new tag");
        let home = app.client.get("/").dispatch().await;
        let home_tag = home.headers().get_one("ETag").expect("an ETag").to_owned();
        let (_, html) = page_of(home).await;
        assert_eq!(texts(&html, ".article-preview h2"), vec!["Another", "Tagged"]);
        publish(&app.client, &token, "Third", "b", &[]).await;
        let changed = app.client.get("/").header(rocket::http::Header::new("If-None-Match", home_tag.clone())).dispatch().await;
        assert_eq!(changed.status(), Status::Ok, "a changed page gets a new tag");
        assert_ne!(changed.headers().get_one("ETag"), Some(home_tag.as_str()));
        let (_, html) = page_of(changed).await;
        assert_eq!(texts(&html, ".article-preview h2"), vec!["Third", "Another", "Tagged"]);
        let missing = app.client.get("/article/nothing-here").dispatch().await;
        assert_eq!(missing.status(), Status::NotFound);
        assert_eq!(missing.headers().get_one("ETag"), None, "only a 200 carries a tag");
    }
);

db_test!(
    async fn anonymous_visitors_get_a_form_token_only_from_pages_with_forms(app) {
        // Pages render with a stand-in for an anonymous visitor's token (so a page without
        // forms is the same for everyone and memoized once); the responder swaps in the
        // visitor's own token, setting its cookie, only where a form shows it.
        let token = register(&app.client, "author").await;
        publish(&app.client, &token, "Readable", "b", &["x"]).await;
        let visitor = Client::untracked(conduit::rocket_with(app.client.rocket().figment().clone())).await.unwrap();
        let csrf_cookie = |res: &rocket::local::asynchronous::LocalResponse<'_>| {
            res.headers()
                .get("Set-Cookie")
                .find_map(|c| c.strip_prefix("csrf_token=").map(|v| v.split(';').next().unwrap_or_default().to_owned()))
        };
        for path in ["/", "/article/readable", "/profile/author", "/?tag=x"] {
            let res = visitor.get(path).dispatch().await;
            assert_eq!(csrf_cookie(&res), None, "{path}: no form, no cookie");
            let (status, html) = page_of(res).await;
            assert_eq!(status, Status::Ok, "{path}");
            assert_eq!(count(&html, "input[name=csrf_token]"), 0, "{path}");
        }
        let mut tokens = Vec::new();
        for path in ["/login", "/register"] {
            let res = visitor.get(path).dispatch().await;
            let issued = csrf_cookie(&res).expect("a form's page sets the token's cookie");
            let etag = res.headers().get_one("ETag").expect("an ETag").to_owned();
            let (_, html) = page_of(res).await;
            assert_eq!(attr(&html, "form input[name=csrf_token]", "value"), vec![issued.clone()], "{path}");
            // Coming back with the cookie: the same token, no new cookie, the same page.
            let res = visitor.get(path).cookie(rocket::http::Cookie::new("csrf_token", issued.clone())).dispatch().await;
            assert_eq!(csrf_cookie(&res), None, "{path}: the visitor's cookie is kept");
            assert_eq!(res.headers().get_one("ETag"), Some(etag.as_str()), "{path}");
            let (_, html) = page_of(res).await;
            assert_eq!(attr(&html, "form input[name=csrf_token]", "value"), vec![issued.clone()], "{path}");
            tokens.push(issued);
        }
        assert_ne!(tokens[0], tokens[1], "each visitor without a cookie gets a token of their own");
        // The token works: the form is accepted (a wrong password, not a forged form); another
        // visitor's token does not.
        let login = |cookie: &str, field: &str| {
            visitor
                .post("/login")
                .header(rocket::http::ContentType::Form)
                .cookie(rocket::http::Cookie::new("csrf_token", cookie.to_owned()))
                .body(format!("csrf_token={field}&email=author%40example.com&password=wrong-password"))
                .dispatch()
        };
        let res = login(&tokens[0], &tokens[0]).await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let (_, html) = page_of(res).await;
        assert_eq!(attr(&html, "form input[name=csrf_token]", "value"), vec![tokens[0].clone()], "the form comes back with it");
        assert_eq!(login(&tokens[0], &tokens[1]).await.status(), Status::Forbidden);
    }
);

db_test!(
    async fn memoized_fragments_follow_every_change_and_every_viewer(app) {
        // Previews, the article's meta block and comments are rendered once per distinct input
        // (src/web/render.rs): each change below must show on the next view all the same.
        let author = register(&app.client, "changer").await;
        let slug = publish(&app.client, &author, "First title", "b", &["alpha"]).await;
        let (status, _) = api(&app.client, Method::Post, &format!("/api/articles/{slug}/comments"), Some(&author), Some(json!({"comment": {"body": "Early note"}}))).await;
        assert_eq!(status, Status::Ok);
        let anonymous = Client::tracked(conduit::rocket_with(app.client.rocket().figment().clone())).await.unwrap();
        let view = |path: String| {
            let client = &anonymous;
            async move { get_page(client, &path).await.1 }
        };
        let home = view("/".into()).await;
        assert_eq!(texts(&home, ".article-preview h2"), vec!["First title"]);
        assert_eq!(texts(&home, ".article-preview .favorites-count .counter"), vec!["0"]);
        let page = view(format!("/article/{slug}")).await;
        assert_eq!(texts(&page, ".article-meta .counter"), vec!["(0)", "(0)"]);

        // The article changes: title (and so slug), then a favorite from someone else.
        let (status, value) = api(&app.client, Method::Put, &format!("/api/articles/{slug}"), Some(&author), Some(json!({"article": {"title": "Second title"}}))).await;
        assert_eq!(status, Status::Ok, "{value}");
        let slug = value["article"]["slug"].as_str().unwrap().to_owned();
        let fan = register(&app.client, "fan").await;
        api(&app.client, Method::Post, &format!("/api/articles/{slug}/favorite"), Some(&fan), None).await;
        let home = view("/".into()).await;
        assert_eq!(texts(&home, ".article-preview h2"), vec!["Second title"]);
        assert_eq!(attr(&home, ".article-preview a.preview-link", "href"), vec![format!("/article/{slug}")]);
        assert_eq!(texts(&home, ".article-preview .favorites-count .counter"), vec!["1"]);

        // The author changes name and picture: previews, meta and comments all follow.
        let (status, _) = api(&app.client, Method::Put, "/api/user", Some(&author), Some(json!({"user": {"username": "renamed", "image": "https://img.example/me.png"}}))).await;
        assert_eq!(status, Status::Ok);
        let home = view("/".into()).await;
        assert_eq!(texts(&home, ".article-preview .author"), vec!["renamed"]);
        assert_eq!(attr(&home, ".article-preview img.avatar", "src"), vec!["https://img.example/me.png"]);
        let page = view(format!("/article/{slug}")).await;
        assert_eq!(texts(&page, ".article-meta .author"), vec!["renamed", "renamed"]);
        assert_eq!(texts(&page, ".article-meta .counter"), vec!["(1)", "(1)"]);
        assert_eq!(texts(&page, ".comment a.comment-author"), vec!["", "renamed"]);
        assert_eq!(attr(&page, ".comment img.avatar", "src"), vec!["https://img.example/me.png"]);
        assert_eq!(count(&page, ".comment form.mod-options"), 0, "anonymous: no delete form");

        // Other viewers of the same article get their own buttons and forms.
        browser_register(&app.client, "reader").await;
        let (_, mine) = get_page(&app.client, &format!("/article/{slug}")).await;
        assert_eq!(count(&mine, ".article-meta form.follow-form"), 2);
        assert_eq!(count(&mine, ".comment form.mod-options"), 0, "not the comment's author");
        let csrf = page_csrf(&app.client).await;
        assert_eq!(attr(&mine, ".article-meta form.favorite-form input[name=csrf_token]", "value"), vec![csrf.clone(), csrf]);
        let (_, home) = get_page(&app.client, "/").await;
        assert_eq!(count(&home, ".article-preview form.favorite-form"), 1);
        assert_eq!(count(&home, ".article-preview .favorites-count"), 0);
    }
);

db_test!(
    async fn the_sidebar_shows_the_twenty_most_used_tags_on_every_tab_and_page(app) {
        let token = register(&app.client, "tagger").await;
        let solo: Vec<String> = (0..19).map(|i| format!("solo{i:02}")).collect();
        let solo: Vec<&str> = solo.iter().map(String::as_str).collect();
        let common = ["alpha", "Zeta", "mid"];
        publish(&app.client, &token, "First", "b", &[&common[..], &solo[0..7]].concat()).await;
        publish(&app.client, &token, "Second", "b", &[&common[..], &solo[7..14]].concat()).await;
        publish(&app.client, &token, "Third", "b", &[&common[..2], &solo[14..19]].concat()).await;
        // Most used first; ties by name in any letter case; 22 tags in use, 20 shown.
        let mut expected = vec!["alpha", "Zeta", "mid"];
        expected.extend(&solo[0..17]);
        let (_, tags) = api(&app.client, Method::Get, "/api/tags", None, None).await;
        assert_eq!(tags["tags"].as_array().map(Vec::len), Some(22));
        assert_eq!(tags["tags"].as_array().expect("tags")[..20], expected[..]);
        for path in ["/", "/?page=9", "/?tag=mid", "/?tag=nothing"] {
            let (status, html) = get_page(&app.client, path).await;
            assert_eq!(status, Status::Ok, "{path}");
            assert_eq!(texts(&html, ".sidebar .tag-pill"), expected, "{path}");
        }
        let (_, past_end) = get_page(&app.client, "/?page=9").await;
        assert_eq!(count(&past_end, ".article-preview h2"), 0);
    }
);

db_test!(
    async fn the_sidebar_says_so_when_no_tag_is_in_use(app) {
        let token = register(&app.client, "plain").await;
        let (_, empty) = get_page(&app.client, "/").await;
        assert_eq!(texts(&empty, ".sidebar .tag-list .empty"), vec!["No tags yet."]);
        publish(&app.client, &token, "Untagged", "b", &[]).await;
        let (_, html) = get_page(&app.client, "/").await;
        assert_eq!(texts(&html, ".article-preview h2"), vec!["Untagged"]);
        assert_eq!(count(&html, ".sidebar .tag-pill"), 0);
        assert_eq!(texts(&html, ".sidebar .tag-list .empty"), vec!["No tags yet."]);
    }
);

db_test!(
    async fn the_article_page_shows_its_body_once_and_every_comment_in_order(app) {
        let token = register(&app.client, "essayist").await;
        let body = "Opening paragraph.\n\nClosing paragraph.";
        let slug = publish(&app.client, &token, "Long read", body, &["essay"]).await;
        let path = format!("/article/{slug}");
        let (_, quiet) = get_page(&app.client, &path).await;
        assert_eq!(texts(&quiet, ".article-body p"), vec!["Opening paragraph.", "Closing paragraph."]);
        assert_eq!(count(&quiet, ".comment"), 0);
        for text in ["One", "Two", "Three"] {
            let (status, _) = api(&app.client, Method::Post, &format!("/api/articles/{slug}/comments"), Some(&token), Some(json!({"comment": {"body": text}}))).await;
            assert_eq!(status, Status::Ok);
        }
        let (status, html) = get_page(&app.client, &path).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&html, ".article-body p"), vec!["Opening paragraph.", "Closing paragraph."]);
        assert_eq!(texts(&html, ".article-page .banner h1"), vec!["Long read"]);
        assert_eq!(texts(&html, ".article-content .tag-list a"), vec!["essay"]);
        assert_eq!(texts(&html, ".comment .card-text"), vec!["One", "Two", "Three"]);
        assert_eq!(texts(&html, ".comment .comment-author").iter().filter(|a| !a.is_empty()).count(), 3);
    }
);

db_test!(
    async fn the_navigation_marks_the_page_and_follows_the_user(app) {
        let (_, home) = get_page(&app.client, "/").await;
        assert_eq!(texts(&home, "nav a.nav-link.active"), vec!["Home"]);
        let (_, login) = get_page(&app.client, "/login").await;
        assert_eq!(texts(&login, "nav a.nav-link.active"), vec!["Sign in"]);
        assert_eq!(texts(&login, "nav a.nav-link"), vec!["Home", "Sign in", "Sign up"]);
        browser_register(&app.client, "navi").await;
        let (_, settings) = get_page(&app.client, "/settings").await;
        assert_eq!(texts(&settings, "nav a.nav-link.active"), vec!["Settings"]);
        assert_eq!(texts(&settings, "nav a.nav-link"), vec!["Home", "New Article", "Settings", "navi"]);
        let logout_token = attr(&settings, "nav form[action='/logout'] input[name=csrf_token]", "value");
        assert_eq!(logout_token.len(), 1);
        assert!(!logout_token[0].is_empty());
        crate::support::exec(app.db(), "UPDATE users SET username = 'renamed', role = 'admin' WHERE username = 'navi'").await.unwrap();
        let (_, home) = get_page(&app.client, "/").await;
        assert_eq!(texts(&home, "nav a.nav-link"), vec!["Home", "New Article", "Settings", "Admin", "renamed"]);
        assert_eq!(texts(&home, "nav a.nav-link.active"), vec!["Home"]);
        assert_eq!(attr(&home, "nav form[action='/logout'] input[name=csrf_token]", "value"), logout_token);
    }
);

/// Whether `path` (percent-encoded, no query) is one `pattern` (a route's path, `<name>` for a
/// segment, `<name..>` for the rest) matches, as Rocket matches them.
fn route_matches(pattern: &str, path: &str) -> bool {
    let decoded: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|s| {
            rocket::http::RawStr::new(s)
                .percent_decode()
                .expect("utf-8")
                .into_owned()
        })
        .collect();
    let parts: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    if parts.last().is_some_and(|p| p.ends_with("..>")) {
        return decoded.len() + 1 >= parts.len()
            && parts[..parts.len() - 1]
                .iter()
                .zip(&decoded)
                .all(|(p, s)| p.starts_with('<') || p == s);
    }
    parts.len() == decoded.len()
        && parts.iter().zip(&decoded).all(|(p, s)| {
            if p.starts_with('<') {
                !s.is_empty()
            } else {
                p == s
            }
        })
}

/// Walks the site from the home page, as it links: every link a page shows answers (no 404,
/// no error), every form posts to a route that exists, and awkward names (a username with
/// letters beyond ASCII, a tag full of URL syntax) come back intact from the links made for
/// them. Returns how many pages it read.
async fn walk_the_site(client: &Client, posts: &[String]) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    let mut queue = std::collections::VecDeque::from([String::from("/")]);
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) || seen.len() > 80 {
            continue;
        }
        let res = client.get(path.clone()).dispatch().await;
        let status = res.status();
        assert!(
            status == Status::Ok || status == Status::SeeOther,
            "{path} linked from the site answers {status}"
        );
        if path.starts_with("/static/") || status != Status::Ok {
            continue;
        }
        let page = Html::parse_document(&res.into_string().await.unwrap_or_default());
        for href in attr(&page, "a[href]", "href") {
            let href = href.split('#').next().unwrap_or_default().to_owned();
            if href.starts_with('/') && !href.starts_with("//") {
                queue.push_back(href);
            } else {
                assert!(
                    href.is_empty() || href.starts_with("https://"),
                    "{href} on {path}"
                );
            }
        }
        for action in attr(&page, "form[method=post]", "action") {
            let action_path = action.split('?').next().unwrap_or_default();
            assert!(
                posts.iter().any(|p| route_matches(p, action_path)),
                "the form on {path} posts to {action}, which no route takes"
            );
        }
    }
    seen.len()
}

db_test!(
    async fn every_link_and_form_on_the_site_reaches_a_route(app) {
        // A tag that needs encoding in every link made for it.
        let name = "Zoe-x_1";
        let tag = "c++ & r/ust?#%";
        let body = json!({"user": {"username": name, "email": "zoe@example.com", "password": "password-zoe-1"}});
        let (status, value) = api(&app.client, Method::Post, "/api/users", None, Some(body)).await;
        assert_eq!(status, Status::Created, "{value}");
        let token = value["user"]["token"].as_str().expect("token").to_owned();
        let slug = publish(&app.client, &token, "Ünïcode & more", "b", &[tag, "plain"]).await;

        let posts: Vec<String> = app
            .client
            .rocket()
            .routes()
            .filter(|r| r.method == Method::Post)
            .map(|r| r.uri.path().to_string())
            .collect();
        // Anonymous first: the tag and author links decode to exactly their names.
        let (_, home) = get_page(&app.client, "/").await;
        let tag_links: Vec<String> = attrs(&home, ".sidebar a.tag-pill", "href");
        assert!(!tag_links.is_empty());
        let odd = tag_links
            .iter()
            .find_map(|href| {
                let origin = rocket::http::uri::Origin::parse(href).ok()?;
                let value = origin.query()?.segments().find(|(k, _)| *k == "tag")?.1.to_owned();
                (value == tag).then(|| href.clone())
            })
            .unwrap_or_else(|| panic!("no sidebar link for {tag:?} in {tag_links:?}"));
        let (_, tagged) = get_page(&app.client, &odd).await;
        assert_eq!(texts(&tagged, ".article-preview h2"), vec!["Ünïcode & more"]);
        let authors = attrs(&home, ".article-preview a.author", "href");
        let (status, profile) = get_page(&app.client, &authors[0]).await;
        assert_eq!(status, Status::Ok, "{authors:?}");
        assert_eq!(texts(&profile, ".user-info h1.profile-name"), vec![name]);
        assert!(walk_the_site(&app.client, &posts).await > 8);

        // Signed in, with a comment of one's own and an article of one's own (their forms).
        browser_register(&app.client, "walker").await;
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, &format!("/article/{slug}/comments"), &[("csrf_token", &csrf), ("body", "mine")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let fields = [("csrf_token", csrf.as_str()), ("title", "Walker's"), ("description", "d"), ("body", "b"), ("tags", "plain")];
        let res = post_form(&app.client, "/editor", &fields).await;
        assert_eq!(res.status(), Status::SeeOther);
        let res = post_form(&app.client, &format!("/profile/{}/follow", crate::support::percent_encode(name)), &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let (_, article) = get_page(&app.client, &format!("/article/{slug}")).await;
        assert_eq!(count(&article, "form.mod-options"), 1, "the delete form of one's comment");
        let pages = walk_the_site(&app.client, &posts).await;
        assert!(pages > 12, "{pages}");
    }
);
