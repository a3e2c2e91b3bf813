//! Personal access tokens in the browser (issue 19): `/settings/tokens` (create with the current
//! password, the secret shown once, revoke, CSRF) and the console's tokens of any user (page and
//! `/api/admin` JSON, audited revocation).

use rocket::http::{Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use scraper::Html;
use serde_json::json;

use crate::support::{
    api, attrs, browser_register, csrf_of, exec, get_page, page_csrf, post_form, register, scalar,
    script_client, texts,
};

async fn html(res: LocalResponse<'_>) -> (Status, Html) {
    let status = res.status();
    (
        status,
        Html::parse_document(&res.into_string().await.unwrap_or_default()),
    )
}

/// Submit the new-token form of `/settings/tokens` with `fields` (the CSRF token added).
async fn submit(client: &Client, fields: &[(&str, &str)]) -> (Status, Html) {
    let (_, page) = get_page(client, "/settings/tokens").await;
    let csrf = csrf_of(&page);
    let mut all = vec![("csrf_token", csrf.as_str())];
    all.extend_from_slice(fields);
    html(post_form(client, "/settings/tokens", &all).await).await
}

async fn follow(client: &Client, res: LocalResponse<'_>) -> Html {
    assert_eq!(res.status(), Status::SeeOther);
    let to = res
        .headers()
        .get_one("Location")
        .expect("Location")
        .to_owned();
    drop(res);
    get_page(client, &to).await.1
}

db_test!(
    async fn a_browser_creates_a_token_sees_the_secret_once_and_revokes_it(app) {
        browser_register(&app.client, "writer").await;
        let (_, settings) = get_page(&app.client, "/settings").await;
        assert_eq!(attrs(&settings, ".tokens-link a", "href"), vec!["/settings/tokens"]);
        let (status, page) = get_page(&app.client, "/settings/tokens").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, ".tokens-empty").len(), 1);
        assert_eq!(attrs(&page, ".new-token-form input[name=scopes]", "value"), vec!["read", "write"], "no admin scope for a user");
        assert_eq!(attrs(&page, ".new-token-form select[name=expires] option", "value"), vec!["30", "90", "365", "never"]);

        // No password, a wrong one, no scope: the form again with the reason, nothing made.
        let (status, page) = submit(&app.client, &[("name", "ci"), ("scopes", "read"), ("expires", "90")]).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&page, ".error-messages li"), vec!["current_password is needed to create a token"]);
        assert_eq!(attrs(&page, "#token-name", "value"), vec!["ci"], "input kept");
        let (status, page) = submit(&app.client, &[("name", "ci"), ("scopes", "read"), ("current_password", "wrong-password")]).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&page, ".error-messages li"), vec!["current_password is not correct"]);
        let (status, page) = submit(&app.client, &[("name", "ci"), ("current_password", "password-writer")]).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&page, ".error-messages li"), vec!["scopes can't be blank"]);
        let (status, _) = submit(&app.client, &[("name", "ci"), ("scopes", "admin"), ("current_password", "password-writer")]).await;
        assert_eq!(status, Status::Forbidden);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens").await, 0);

        // Made: 201, the secret on this page only.
        let (status, page) = submit(&app.client, &[("name", "ci <b>"), ("scopes", "read"), ("scopes", "write"), ("expires", "never"), ("current_password", "password-writer")]).await;
        assert_eq!(status, Status::Created);
        let secret = texts(&page, ".token-created .token-secret").pop().expect("the secret");
        assert!(secret.starts_with("cdt_"), "{secret}");
        assert_eq!(texts(&page, ".token-row .token-name"), vec!["ci <b>"], "escaped text");
        assert_eq!(texts(&page, ".token-row .token-scopes"), vec!["read write"]);
        assert_eq!(texts(&page, ".token-row .token-expires"), vec!["never"]);
        let script = script_client(&app.client).await;
        let (status, body) = api(&script, Method::Post, "/api/articles", Some(&secret), Some(json!({"article": {"title": "T", "description": "d", "body": "b"}}))).await;
        assert_eq!(status, Status::Created, "{body}");
        let res = app.client.get("/settings/tokens").dispatch().await;
        assert_eq!(res.headers().get_one("Cache-Control"), Some("no-store"));
        let again = res.into_string().await.unwrap();
        assert!(!again.contains(&secret), "shown once");
        let page = Html::parse_document(&again);
        assert_eq!(texts(&page, ".token-row .token-last-used").len(), 1);
        assert!(texts(&page, ".token-row .token-last-used")[0].contains(" from "), "last use and address");

        // A forged form (no CSRF token) revokes nothing.
        let revoke = attrs(&page, ".revoke-token-form", "action").pop().expect("revoke form");
        let res = post_form(&app.client, &revoke, &[]).await;
        assert_eq!(res.status(), Status::Forbidden);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens").await, 1);
        let csrf = page_csrf(&app.client).await;
        let page = follow(&app.client, post_form(&app.client, &revoke, &[("csrf_token", &csrf)]).await).await;
        assert_eq!(texts(&page, ".flash"), vec!["The token has been revoked: it no longer works."]);
        assert_eq!(texts(&page, ".tokens-empty").len(), 1);
        let (status, _) = api(&script, Method::Get, "/api/user", Some(&secret), None).await;
        assert_eq!(status, Status::Unauthorized);
        // Twice: said so, no error.
        let page = follow(&app.client, post_form(&app.client, &revoke, &[("csrf_token", &csrf)]).await).await;
        assert_eq!(texts(&page, ".flash"), vec!["That token was revoked already."]);

        // A forged creation form makes nothing either.
        let res = post_form(&app.client, "/settings/tokens", &[("name", "x"), ("scopes", "write"), ("current_password", "password-writer")]).await;
        assert_eq!(res.status(), Status::Forbidden);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens").await, 0);
        // Signed out: to the login page.
        let anonymous = script_client(&app.client).await;
        let res = anonymous.get("/settings/tokens").dispatch().await;
        assert_eq!(res.status(), Status::SeeOther);
    }
);

db_test!(
    async fn admins_see_and_revoke_any_users_tokens_with_an_audit_entry(app) {
        let script = script_client(&app.client).await;
        let jwt = register(&script, "owner").await;
        let (status, body) = api(&script, Method::Post, "/api/user/tokens", Some(&jwt), Some(json!({"token": {"name": "nightly", "scopes": ["read"]}}))).await;
        assert_eq!(status, Status::Created, "{body}");
        let secret = body["token"]["secret"].as_str().unwrap().to_owned();
        let owner = scalar(app.db(), "SELECT id FROM users WHERE username = 'owner'").await;

        // Not for ordinary users.
        let (status, _) = get_page(&script, &format!("/admin/users/{owner}/tokens")).await;
        assert_ne!(status, Status::Ok);
        let (status, _) = api(&script, Method::Get, &format!("/api/admin/users/{owner}/tokens"), Some(&jwt), None).await;
        assert_eq!(status, Status::Forbidden);

        browser_register(&app.client, "boss").await;
        exec(app.db(), "UPDATE users SET role = 'admin' WHERE username = 'boss'").await.unwrap();
        let (_, user_page) = get_page(&app.client, &format!("/admin/users/{owner}")).await;
        let href = attrs(&user_page, "a.tokens-link", "href").pop().expect("a link to the tokens");
        assert_eq!(href, format!("/admin/users/{owner}/tokens"));
        let res = app.client.get(href.clone()).dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        let text = res.into_string().await.unwrap();
        assert!(!text.contains(&secret));
        let page = Html::parse_document(&text);
        assert_eq!(texts(&page, ".token-row .token-name"), vec!["nightly"]);
        assert_eq!(texts(&page, ".token-row .token-scopes"), vec!["read"]);

        let revoke = attrs(&page, ".revoke-token-form", "action").pop().unwrap();
        let res = post_form(&app.client, &revoke, &[]).await;
        assert_eq!(res.status(), Status::Forbidden, "CSRF");
        let csrf = page_csrf(&app.client).await;
        let page = follow(&app.client, post_form(&app.client, &revoke, &[("csrf_token", &csrf)]).await).await;
        assert_eq!(texts(&page, ".flash"), vec!["The token has been revoked."]);
        let (status, _) = api(&script, Method::Get, "/api/user", Some(&secret), None).await;
        assert_eq!(status, Status::Unauthorized);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'token.revoke' AND actor_name = 'boss'").await, 1);
        let (_, audit) = get_page(&app.client, "/admin/audit?entity=token").await;
        assert_eq!(texts(&audit, ".col-action code"), vec!["token.revoke", "token.create"]);

        // The same over JSON, with the admin's login token.
        let (status, body) = api(&script, Method::Post, "/api/user/tokens", Some(&jwt), Some(json!({"token": {"name": "second", "scopes": ["write"], "expiresInDays": 365}}))).await;
        assert_eq!(status, Status::Created, "{body}");
        let second = body["token"]["id"].as_i64().unwrap();
        let admin_jwt = register(&script, "boss2").await;
        exec(app.db(), "UPDATE users SET role = 'admin' WHERE username = 'boss2'").await.unwrap();
        let (status, body) = api(&script, Method::Get, &format!("/api/admin/users/{owner}/tokens"), Some(&admin_jwt), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body["tokens"][0]["name"], "second");
        assert_eq!(body["tokens"][0]["scopes"], json!(["write"]));
        assert!(body["tokens"][0].get("secret").is_none());
        // An admin token may not manage tokens, even through the console's API.
        let (_, made) = api(&script, Method::Post, "/api/user/tokens", Some(&admin_jwt), Some(json!({"token": {"name": "adm", "scopes": ["admin"]}}))).await;
        let admin_token = made["token"]["secret"].as_str().unwrap().to_owned();
        let (status, _) = api(&script, Method::Delete, &format!("/api/admin/users/{owner}/tokens/{second}"), Some(&admin_token), None).await;
        assert_eq!(status, Status::Forbidden);
        let (status, _) = api(&script, Method::Delete, &format!("/api/admin/users/{owner}/tokens/{second}"), Some(&admin_jwt), None).await;
        assert_eq!(status, Status::NoContent);
        let (status, _) = api(&script, Method::Delete, &format!("/api/admin/users/{owner}/tokens/{second}"), Some(&admin_jwt), None).await;
        assert_eq!(status, Status::NotFound);
        let (status, _) = api(&script, Method::Get, "/api/admin/users/999999/tokens", Some(&admin_jwt), None).await;
        assert_eq!(status, Status::NotFound);
    }
);
