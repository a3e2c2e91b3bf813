//! The site's forms as Rocket reads them: per-field errors shown again on the page, query
//! structs refusing bad values as before, every POST route behind a CSRF-checked form, and
//! redirects landing on the right pages.

use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use scraper::Html;
use serde_json::json;

use crate::support::{
    api, attrs, browser_register, get_page, page_csrf, post_form, register, scalar, script_client,
    texts,
};

async fn page_of(res: LocalResponse<'_>) -> (Status, Html) {
    let status = res.status();
    (
        status,
        Html::parse_document(&res.into_string().await.unwrap_or_default()),
    )
}

fn location(res: &LocalResponse<'_>) -> String {
    res.headers()
        .get_one("Location")
        .unwrap_or_default()
        .to_owned()
}

/// Publish an article over the API as `token`; returns its slug.
async fn publish(client: &Client, token: &str, title: &str) -> String {
    let article =
        json!({"article": {"title": title, "description": "d", "body": "b", "tagList": []}});
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

db_test!(
    async fn sign_in_and_sign_up_show_each_fields_errors(app) {
        let (_, page) = get_page(&app.client, "/login").await;
        let csrf = crate::support::csrf_of(&page);
        let res = post_form(
            &app.client,
            "/login",
            &[("csrf_token", &csrf), ("email", "   "), ("password", ""), ("remember", "on")],
        )
        .await;
        let (status, html) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&html, "h1"), vec!["Sign in"]);
        assert_eq!(
            texts(&html, ".error-messages li"),
            vec!["email can't be blank", "password can't be blank"]
        );
        assert_eq!(attrs(&html, "input[name=remember][checked]", "name"), vec!["remember"]);

        let res = post_form(
            &app.client,
            "/register",
            &[("csrf_token", &csrf), ("username", "bad name!"), ("email", "not-an-email"), ("password", "short")],
        )
        .await;
        let (status, html) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(
            texts(&html, ".field-error"),
            vec![
                "Username may only contain letters, digits, _ and -",
                "Email is invalid",
                "Password is too short (minimum is 8 characters)",
            ]
        );
        assert_eq!(attrs(&html, "input[name=username]", "value"), vec!["bad name!"]);
        assert_eq!(attrs(&html, "input[name=email]", "value"), vec!["not-an-email"]);

        // A rule across fields: the password against the username typed beside it.
        let res = post_form(
            &app.client,
            "/register",
            &[("csrf_token", &csrf), ("username", "samesame"), ("email", "s@example.com"), ("password", "SameSame")],
        )
        .await;
        let (status, html) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(
            texts(&html, ".field-error"),
            vec!["Password must not be the same as your username or email"]
        );
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 0);
    }
);

db_test!(
    async fn settings_editor_and_comment_forms_show_each_fields_errors(app) {
        browser_register(&app.client, "ann").await;
        let csrf = page_csrf(&app.client).await;
        let long_bio = "b".repeat(2001);
        let res = post_form(
            &app.client,
            "/settings",
            &[
                ("csrf_token", &csrf),
                ("image", "ftp://example.com/me.png"),
                ("username", "ann"),
                ("bio", &long_bio),
                ("email", ""),
                ("password", ""),
                ("current_password", ""),
            ],
        )
        .await;
        let (status, html) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(
            texts(&html, ".error-messages li"),
            vec!["bio is too long (maximum is 2000 characters)", "image must be an http(s) URL"]
        );
        assert_eq!(attrs(&html, "input[name=image]", "value"), vec!["ftp://example.com/me.png"]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE bio IS NOT NULL AND bio <> ''").await, 0);

        let long_tag = "t".repeat(65);
        let res = post_form(
            &app.client,
            "/editor",
            &[("csrf_token", &csrf), ("title", " "), ("description", "d"), ("body", "b"), ("tags", &long_tag)],
        )
        .await;
        let (status, html) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(
            texts(&html, ".error-messages li"),
            vec!["tagList has a tag longer than 64 characters", "title can't be blank"]
        );
        assert_eq!(attrs(&html, "input[name=description]", "value"), vec!["d"]);
        assert_eq!(attrs(&html, "input[name=tags]", "value"), vec![long_tag.clone()]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 0);

        // Another user, by script (the browser's session cookie would need the form token).
        let script = script_client(&app.client).await;
        let token = register(&script, "bob").await;
        let slug = publish(&script, &token, "Commented").await;
        let res = post_form(&app.client, &format!("/article/{slug}/comments"), &[("csrf_token", &csrf), ("body", "  ")]).await;
        let (status, html) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&html, "h1"), vec!["Commented"]);
        assert_eq!(texts(&html, ".error-messages li"), vec!["body can't be blank"]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM comments").await, 0);
    }
);

db_test!(
    async fn query_structs_refuse_bad_values_as_before(app) {
        let token = register(&app.client, "cat").await;
        for query in ["limit=ten", "limit=0", "offset=-1"] {
            for path in ["/api/articles", "/api/articles/feed"] {
                let (status, body) = api(&app.client, Method::Get, &format!("{path}?{query}"), Some(&token), None).await;
                assert_eq!(status, Status::UnprocessableEntity, "{path}?{query}: {body}");
                let field = query.split('=').next().unwrap_or_default();
                assert!(body["errors"][field].is_array(), "{path}?{query}: {body}");
            }
        }
        let (status, body) = api(&app.client, Method::Get, &format!("/api/articles?tag={}", "t".repeat(65)), None, None).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(body["errors"]["tag"], json!(["is too long (maximum is 64 characters)"]));
        let (status, body) = api(&app.client, Method::Get, "/api/articles?limit=2&offset=0&unknown=1", None, None).await;
        assert_eq!(status, Status::Ok, "{body}");

        // Pages: a malformed page number is the first page; a tag no tag could have is a 422.
        for path in ["/?page=x", "/?page=-3", "/profile/cat?page=abc", "/profile/cat/favorites?page=0"] {
            let (status, _) = get_page(&app.client, path).await;
            assert_eq!(status, Status::Ok, "{path}");
        }
        let (status, html) = get_page(&app.client, &format!("/?tag={}", "t".repeat(65))).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&html, ".error-messages li"), vec!["tag is too long (maximum is 64 characters)"]);
    }
);

db_test!(
    async fn every_post_route_of_the_site_takes_a_csrf_checked_form(app) {
        browser_register(&app.client, "dan").await;
        let csrf = page_csrf(&app.client).await;
        let posts: Vec<(String, String)> = app
            .client
            .rocket()
            .routes()
            .filter(|r| r.method == Method::Post && !r.uri.base().starts_with("/api"))
            .map(|r| {
                let path = r
                    .uri
                    .path()
                    .split('/')
                    .map(|s| match s {
                        s if s.starts_with('<') && s.contains("id") => "1",
                        s if s.starts_with('<') => "x",
                        s => s,
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                (r.uri.base().to_owned(), path)
            })
            .collect();
        assert!(posts.len() >= 10, "{posts:?}");
        for (base, path) in &posts {
            // Without the token: refused, whatever the route.
            let res = app.client.post(path.clone()).header(ContentType::Form).body("x=1").dispatch().await;
            assert_eq!(res.status(), Status::Forbidden, "POST {path} without a token");
            // With the token but not a form: only the CSRF form guard answers 415 (the site's
            // own routes; the console's guards ask for an admin first).
            if base == "/" {
                let res = app
                    .client
                    .post(path.clone())
                    .header(ContentType::JSON)
                    .header(Header::new("X-CSRF-Token", csrf.clone()))
                    .body("{}")
                    .dispatch()
                    .await;
                assert_eq!(res.status(), Status::UnsupportedMediaType, "POST {path}: not a CSRF-checked form");
            }
        }
        // Still signed in: none of the refused requests did anything (logout included).
        assert_eq!(texts(&get_page(&app.client, "/settings").await.1, "h1"), vec!["Your Settings"]);
    }
);

db_test!(
    async fn redirects_land_on_the_right_pages(app) {
        let (_, page) = get_page(&app.client, "/register").await;
        let csrf = crate::support::csrf_of(&page);
        let res = post_form(
            &app.client,
            "/register",
            &[("csrf_token", &csrf), ("username", "eve"), ("email", "eve@example.com"), ("password", "password-eve")],
        )
        .await;
        assert_eq!((res.status(), location(&res)), (Status::SeeOther, "/".to_owned()));
        let csrf = page_csrf(&app.client).await;

        let res = post_form(
            &app.client,
            "/editor",
            &[("csrf_token", &csrf), ("title", "Where To"), ("description", "d"), ("body", "b"), ("tags", "a b")],
        )
        .await;
        assert_eq!((res.status(), location(&res)), (Status::SeeOther, "/article/where-to".to_owned()));

        let res = post_form(&app.client, "/article/where-to/comments", &[("csrf_token", &csrf), ("body", "hi")]).await;
        let id = scalar(app.db(), "SELECT MAX(id) FROM comments").await;
        assert_eq!(location(&res), format!("/article/where-to#comment-{id}"));
        let res = post_form(
            &app.client,
            &format!("/article/where-to/comments/{id}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await;
        assert_eq!(location(&res), "/article/where-to#comments");

        // Buttons go back where they were, to the thing itself without a `back`, and home for
        // a `back` that is not this site's.
        let path = "/article/where-to/favorite";
        let res = post_form(&app.client, path, &[("csrf_token", &csrf), ("back", "/?tag=a&page=2")]).await;
        assert_eq!(location(&res), "/?tag=a&page=2");
        let res = post_form(&app.client, "/article/where-to/unfavorite", &[("csrf_token", &csrf)]).await;
        assert_eq!(location(&res), "/article/where-to");
        let res = post_form(&app.client, path, &[("csrf_token", &csrf), ("back", "//evil.example/")]).await;
        assert_eq!(location(&res), "/");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM favorites").await, 1);

        let script = script_client(&app.client).await;
        register(&script, "fay").await;
        let res = post_form(&app.client, "/profile/fay/follow", &[("csrf_token", &csrf)]).await;
        assert_eq!(location(&res), "/profile/fay");
        let res = post_form(&app.client, "/profile/fay/unfollow", &[("csrf_token", &csrf), ("back", "/profile/fay/favorites")]).await;
        assert_eq!(location(&res), "/profile/fay/favorites");

        let settings = [("csrf_token", csrf.as_str()), ("username", "eve"), ("bio", "hello"), ("image", ""), ("email", "")];
        let res = post_form(&app.client, "/settings", &settings).await;
        assert_eq!(location(&res), "/settings");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE bio = 'hello'").await, 1);

        let res = post_form(&app.client, "/article/where-to/delete", &[("csrf_token", &csrf)]).await;
        assert_eq!(location(&res), "/");
        let res = post_form(&app.client, "/settings/sign-out-everywhere", &[("csrf_token", &csrf)]).await;
        assert_eq!(location(&res), "/login");

        // The pager and the tag links of a list are the routes' own URLs.
        let token = register(&script, "gus").await;
        for i in 0..12 {
            publish(&script, &token, &format!("Paged {i}")).await;
        }
        let (_, html) = get_page(&app.client, "/profile/gus").await;
        let older = attrs(&html, ".pagination a[rel=next]", "href");
        assert_eq!(older.len(), 1);
        assert!(older[0].starts_with("/profile/gus?before="), "{older:?}");
        let (status, html) = get_page(&app.client, &older[0]).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&html, ".article-preview h2").len(), 2);
    }
);
