//! CSRF as a property of every request (SECURITY.md 21, 22): the gate refuses any
//! cookie-authenticated unsafe request without the session's token, whatever its content type,
//! body or method override, on every route of the app's own route table; anonymous form tokens
//! must be ones the server minted; cookie names carry `__Host-` where cookies are Secure.

use rocket::http::{ContentType, Cookie, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use scraper::{Html, Selector};
use serde_json::{json, Value};

use crate::admin::{add_comment, create_article, id_of, make_admin};
use crate::harness::TestApp;
use crate::support::{api, csrf_of, get_page, json_of, post_form, register, scalar};

/// Sign `name` (registered with the support helpers' password) in through the login form.
async fn browser_login(client: &Client, name: &str) {
    let (_, page) = get_page(client, "/login").await;
    let csrf = csrf_of(&page);
    let res = post_form(
        client,
        "/login",
        &[
            ("csrf_token", &csrf),
            ("email", &format!("{name}@example.com")),
            ("password", &format!("password-{name}")),
        ],
    )
    .await;
    assert_eq!(res.status(), Status::SeeOther, "{name} signs in");
}

/// Everything a forged request could change, as one comparable value.
async fn fingerprint(app: &TestApp) -> Vec<String> {
    let mut state = Vec::new();
    for table in [
        "users",
        "articles",
        "comments",
        "tags",
        "article_tags",
        "favorites",
        "follows",
        "feed_entries",
        "sessions",
        "audit_log",
    ] {
        state.push(format!(
            "{table}: {}",
            scalar(app.db(), &format!("SELECT COUNT(*) FROM {table}")).await
        ));
    }
    for (what, sql) in [
        (
            "users",
            "SELECT COUNT(*) FROM users WHERE bio IS NULL AND image IS NULL AND disabled = FALSE AND role = 'user'",
        ),
        (
            "admins",
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE",
        ),
        ("versions", "SELECT COALESCE(MAX(token_version), 0) FROM users"),
        ("titles", "SELECT COUNT(*) FROM articles WHERE title LIKE 'Target%'"),
        ("favorited", "SELECT COUNT(*) FROM (SELECT article_id FROM favorite_counts GROUP BY article_id HAVING SUM(n) > 0) f"),
        (
            "comment bodies",
            "SELECT COUNT(*) FROM comments WHERE body = 'original'",
        ),
        ("tag names", "SELECT COUNT(*) FROM tags WHERE name LIKE 'tag%'"),
    ] {
        state.push(format!("{what}: {}", scalar(app.db(), sql).await));
    }
    let backups = app.dir.join("backups");
    state.push(format!(
        "backups: {}",
        std::fs::read_dir(&backups).map_or(0, Iterator::count)
    ));
    state
}

/// A route's path with each dynamic segment filled with something that exists.
fn fill(uri: &str, ids: &Ids) -> String {
    let path = uri.split('?').next().unwrap_or(uri);
    path.split('/')
        .map(|segment| {
            if !segment.starts_with('<') {
                return segment.to_owned();
            }
            let id = if path.contains("/users/") {
                ids.user.to_string()
            } else if path.contains("/comments/") {
                ids.comment.to_string()
            } else if path.contains("/tags/") {
                ids.tag.to_string()
            } else {
                ids.article.to_string()
            };
            match segment.trim_matches(|c| c == '<' || c == '>' || c == '.') {
                "slug" => ids.slug.clone(),
                "username" => ids.username.clone(),
                "entity" => "users".to_owned(),
                _ => id,
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

struct Ids {
    user: conduit::db::UserId,
    username: String,
    article: i64,
    slug: String,
    comment: i64,
    tag: i64,
}

/// What each forged variant sends besides the session cookie.
fn forged<'c>(
    client: &'c Client,
    method: Method,
    path: &str,
    variant: usize,
    ids: &Ids,
) -> Option<rocket::local::asynchronous::LocalRequest<'c>> {
    let form_fields = format!(
        "action=delete&ids={}&confirm=true&role=admin&body=pwned&title=pwned&username=pwned&bio=pwned&back=/",
        ids.user
    );
    let json = json!({
        "user": {"bio": "pwned", "role": "admin", "disabled": true},
        "article": {"title": "pwned", "description": "pwned", "body": "pwned"},
        "comment": {"body": "pwned"},
        "tag": {"name": "pwned"},
        "action": "delete",
        "ids": [ids.user, ids.article],
    })
    .to_string();
    let req = client.req(method, path.to_owned());
    Some(match variant {
        // No body at all.
        0 => req,
        // JSON, as a script would send it, without the header.
        1 => req.header(ContentType::JSON).body(json),
        // A form without a token.
        2 => req.header(ContentType::Form).body(form_fields),
        // A form with a made-up token, first, where ours go.
        3 => req
            .header(ContentType::Form)
            .body(format!("csrf_token=forged&{form_fields}")),
        // The classic cross-site JSON post: text/plain.
        4 => req.header(ContentType::Plain).body(json),
        // Multipart, which an HTML form can send cross-site too.
        5 => req
            .header(ContentType::new("multipart", "form-data").with_params(("boundary", "X")))
            .body(
                "--X\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ndelete\r\n--X--\r\n",
            ),
        // Rocket's method override: a form POST that routes as PUT or DELETE.
        6 if method != Method::Post => {
            client
                .post(path.to_owned())
                .header(ContentType::Form)
                .body(format!(
                    "_method={}&{form_fields}",
                    method.as_str().to_lowercase()
                ))
        }
        _ => return None,
    })
}

async fn refused_with_message(res: LocalResponse<'_>, what: &str) {
    let status = res.status();
    let json = res.content_type().is_some_and(|ct| ct.is_json());
    let body = res.into_string().await.unwrap_or_default();
    assert_eq!(status, Status::Forbidden, "{what}: {body}");
    let message = if json {
        let value: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body}"));
        value["errors"]["body"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    } else {
        let html = Html::parse_document(&body);
        let sel = Selector::parse("main").expect("selector");
        html.select(&sel)
            .map(|e| e.text().collect::<String>())
            .collect()
    };
    assert!(
        message.contains("did not come from this site")
            || message.contains("other sites")
            || message.contains("other origins"),
        "{what}: the refusal says why: {message}"
    );
}

db_test!(
    async fn every_unsafe_route_refuses_a_cookie_session_without_its_token(app) {
        // A fresh admin session in this browser (admin routes are reachable, freshness holds),
        // content of its own, and another user to act on.
        let boss_token = register(&app.client, "boss").await;
        make_admin(&app, "boss").await;
        let victim = register(&app.client, "victim").await;
        browser_login(&app.client, "boss").await;
        let slug = create_article(&app.client, &boss_token, "Target article", &["tag1", "tag2"]).await;
        create_article(&app.client, &victim, "Target of the victim", &["tag3"]).await;
        let comment = add_comment(&app.client, &boss_token, &slug, "original").await;
        let ids = Ids {
            user: id_of(&app, "victim").await,
            username: "victim".into(),
            article: scalar(app.db(), &format!("SELECT id FROM articles WHERE slug = '{slug}'")).await,
            slug,
            comment,
            tag: scalar(app.db(), "SELECT MIN(id) FROM tags").await,
        };
        let before = fingerprint(&app).await;
        let token = app.client.cookies().get("csrf_token").expect("the session's token cookie").value().to_owned();

        let unsafe_routes: Vec<(Method, String)> = app
            .client
            .rocket()
            .routes()
            .filter(|r| !matches!(r.method, Method::Get | Method::Head | Method::Options))
            .map(|r| (r.method, r.uri.to_string()))
            .collect();
        assert!(unsafe_routes.len() >= 40, "the walk covers the route table: {unsafe_routes:?}");
        let mut sent = 0;
        // A route over the declared admin tables (`<resource>`) is walked once per table, each
        // with a record of that table that exists.
        let paths: Vec<(Method, String)> = unsafe_routes
            .iter()
            .flat_map(|(method, uri)| {
                let tables: &[&str] = if uri.contains("<resource>") { &["users", "articles", "comments", "tags"] } else { &[""] };
                tables.iter().map(|table| (*method, fill(&uri.replace("<resource>", table), &ids))).collect::<Vec<_>>()
            })
            .collect();
        assert!(paths.iter().any(|(_, p)| p.contains("/tags/")), "the walk reaches the generic admin routes: {paths:?}");
        for (method, path) in &paths {
            let path = path.clone();
            for variant in 0..7 {
                let Some(req) = forged(&app.client, *method, &path, variant, &ids) else { continue };
                refused_with_message(req.dispatch().await, &format!("{method} {path} variant {variant}")).await;
                sent += 1;
            }
            // The right token from another site, by the browser's own account of it.
            let cross = app.client.req(*method, path.clone()).header(ContentType::JSON).header(Header::new("X-CSRF-Token", token.clone()));
            refused_with_message(cross.header(Header::new("Sec-Fetch-Site", "cross-site")).dispatch().await, &format!("{method} {path} cross-site")).await;
            let foreign = app.client.req(*method, path.clone()).header(ContentType::JSON).header(Header::new("X-CSRF-Token", token.clone()));
            let foreign = foreign.header(Header::new("Host", "conduit.example")).header(Header::new("Origin", "https://evil.example"));
            refused_with_message(foreign.dispatch().await, &format!("{method} {path} foreign origin")).await;
        }
        assert!(sent > unsafe_routes.len() * 6);
        assert_eq!(fingerprint(&app).await, before, "no forged request changed anything");
        // Routes still answer once the token is there (the 403s came from the gate): the
        // browser's own script, same origin.
        let res = app
            .client
            .put("/api/user")
            .header(ContentType::JSON)
            .header(Header::new("X-CSRF-Token", token))
            .header(Header::new("Host", "conduit.example"))
            .header(Header::new("Origin", "https://conduit.example"))
            .header(Header::new("Sec-Fetch-Site", "same-origin"))
            .body(json!({"user": {"bio": "mine"}}).to_string())
            .dispatch()
            .await;
        let (status, body) = json_of(res).await;
        assert_eq!((status, body["user"]["bio"].as_str()), (Status::Ok, Some("mine")));
    }
);

db_test!(
    async fn the_refusal_route_is_not_reachable_directly(app) {
        for path in ["/__csrf-refused", "/api/__csrf-refused", "/admin/__csrf-refused"] {
            assert_eq!(app.client.get(path).dispatch().await.status(), Status::NotFound, "{path}");
        }
        // Header-authenticated API writes need no token (no ambient credential).
        let token = register(&app.client, "scripted").await;
        let (status, _) = api(&app.client, Method::Put, "/api/user", Some(&token), Some(json!({"user": {"bio": "ok"}}))).await;
        assert_eq!(status, Status::Ok);
    }
);

fn set_cookie<'a>(res: &'a LocalResponse<'_>, name: &str) -> Option<Cookie<'a>> {
    res.headers()
        .get("Set-Cookie")
        .filter_map(|raw| Cookie::parse(raw).ok())
        .find(|c| c.name() == name)
}

fn form_token(html: &Html) -> String {
    csrf_of(html)
}

db_test!(
    async fn a_planted_form_token_cookie_is_replaced_never_echoed_nor_accepted(app) {
        let visitor = Client::tracked(conduit::rocket_with(app.client.rocket().figment().clone())).await.unwrap();
        let planted = "\"><script id=planted>alert(1)</script>";
        // Well-formed but not minted by us: the shape of a real token with a made-up tag.
        let shaped = format!("{}.{}", "A".repeat(22), "B".repeat(22));
        for cookie in [planted.to_owned(), shaped.clone(), "0123456789abcdef0123456789abcdef".to_owned()] {
            let res = visitor.get("/login").cookie(Cookie::new("csrf_token", cookie.clone())).dispatch().await;
            let issued = set_cookie(&res, "csrf_token").map(|c| c.value().to_owned()).expect("a new minted token replaces it");
            let html = Html::parse_document(&res.into_string().await.unwrap());
            assert_eq!(form_token(&html), issued, "the form carries the new token");
            assert_ne!(issued, cookie);
            assert_eq!(issued.len(), 45);
            assert_eq!(html.select(&Selector::parse("#planted").unwrap()).count(), 0, "nothing of the cookie is in the page");

            // Double submit with the planted value in cookie and field: refused, nothing made.
            let res = visitor
                .post("/register")
                .header(ContentType::Form)
                .cookie(Cookie::new("csrf_token", cookie.clone()))
                .body(format!("csrf_token={}&username=tossed&email=tossed%40example.com&password=password-tossed", crate::support::urlencode(&cookie)))
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::Forbidden, "{cookie}");
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 0);

        // A token we minted works as the double-submit pair.
        let (_, page) = get_page(&visitor, "/register").await;
        let minted = form_token(&page);
        let res = post_form(&visitor, "/register", &[("csrf_token", &minted), ("username", "real"), ("email", "real@example.com"), ("password", "password-real")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 1);
    }
);

db_test!(
    async fn signing_in_and_out_rotates_the_form_token(app) {
        let (_, page) = get_page(&app.client, "/register").await;
        let anonymous = form_token(&page);
        let res = post_form(&app.client, "/register", &[("csrf_token", &anonymous), ("username", "rota"), ("email", "rota@example.com"), ("password", "password-rota")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let (_, settings) = get_page(&app.client, "/settings").await;
        let session = form_token(&settings);
        assert_ne!(session, anonymous, "signing in gives the session a token of its own");
        // The anonymous token no longer works for the signed-in browser.
        let res = post_form(&app.client, "/settings", &[("csrf_token", &anonymous), ("username", "rota"), ("email", "rota@example.com"), ("bio", "x")]).await;
        assert_eq!(res.status(), Status::Forbidden);

        let res = post_form(&app.client, "/logout", &[("csrf_token", &session)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let rotated = set_cookie(&res, "csrf_token").map(|c| c.value().to_owned()).expect("logout sets a new form token");
        assert_ne!(rotated, session);
        let (_, login) = get_page(&app.client, "/login").await;
        assert_eq!(form_token(&login), rotated, "signed-out forms use the new token");
        // The session's token is no good for the signed-out browser's forms.
        let res = post_form(&app.client, "/login", &[("csrf_token", &session), ("email", "rota@example.com"), ("password", "password-rota")]).await;
        assert_eq!(res.status(), Status::Forbidden);
        assert!(app.client.cookies().get("session").is_none(), "still signed out");
    }
);

#[rocket::async_test]
async fn secure_cookies_carry_the_host_prefix_and_still_sign_in() {
    let app = TestApp::spawn_with(conduit::db::Engine::Sqlite, "it::csrf::host_prefix", |f| {
        f.merge(("cookie_secure", true))
    })
    .await
    .unwrap();
    let res = app.client.get("/register").dispatch().await;
    let csrf_cookie = set_cookie(&res, "__Host-csrf_token")
        .map(Cookie::into_owned)
        .expect("__Host- form token cookie");
    assert_eq!(
        (
            csrf_cookie.secure(),
            csrf_cookie.path(),
            csrf_cookie.domain()
        ),
        (Some(true), Some("/"), None)
    );
    let html = Html::parse_document(&res.into_string().await.unwrap());
    let csrf = form_token(&html);
    let res = post_form(
        &app.client,
        "/register",
        &[
            ("csrf_token", &csrf),
            ("username", "hosted"),
            ("email", "hosted@example.com"),
            ("password", "password-hosted"),
        ],
    )
    .await;
    assert_eq!(res.status(), Status::SeeOther);
    for name in ["__Host-session", "__Host-refresh", "__Host-csrf_token"] {
        let cookie = set_cookie(&res, name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(
            (cookie.secure(), cookie.path(), cookie.domain()),
            (Some(true), Some("/"), None),
            "{name}"
        );
    }
    assert!(
        set_cookie(&res, "session").is_none(),
        "no unprefixed cookie"
    );
    // A plain `session` cookie (as a sibling domain could set) is not read.
    let token = app
        .client
        .cookies()
        .get("__Host-session")
        .unwrap()
        .value()
        .to_owned();
    let stranger = Client::untracked(conduit::rocket_with(app.client.rocket().figment().clone()))
        .await
        .unwrap();
    let res = stranger
        .get("/api/user")
        .cookie(Cookie::new("session", token))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Unauthorized);
    let (status, _) = get_page(&app.client, "/settings").await;
    assert_eq!(
        status,
        Status::Ok,
        "the prefixed cookies sign the browser in"
    );
}

db_test!(
    async fn every_post_form_carries_its_token_first(app) {
        let token = register(&app.client, "formal").await;
        make_admin(&app, "formal").await;
        browser_login(&app.client, "formal").await;
        let slug = create_article(&app.client, &token, "Formal", &["forms"]).await;
        add_comment(&app.client, &token, &slug, "a comment").await;
        let me = id_of(&app, "formal").await;
        let form = Selector::parse("form[method=post]").unwrap();
        let named = Selector::parse("[name]").unwrap();
        let mut forms = 0;
        for path in [
            "/".to_owned(),
            "/settings".into(),
            "/editor".into(),
            format!("/editor/{slug}"),
            format!("/article/{slug}"),
            "/profile/formal".into(),
            "/admin".into(),
            "/admin/users".into(),
            format!("/admin/users/{me}"),
            "/admin/articles".into(),
            "/admin/backups".into(),
        ] {
            let (status, html) = get_page(&app.client, &path).await;
            assert_eq!(status, Status::Ok, "{path}");
            for f in html.select(&form) {
                let first = f.select(&named).next().and_then(|e| e.value().attr("name"));
                assert_eq!(first, Some("csrf_token"), "{path}: {}", f.html());
                forms += 1;
            }
        }
        assert!(forms >= 10, "{forms} forms checked");
    }
);
