//! Two-factor sign-in as an attacker reviews it: the half-done sign-in's cookie works once
//! (a saved copy cannot be replayed after its sign-in, and of two uses at once exactly one
//! signs in), and removal cookies carry `Secure` where the cookies did (`__Host-`); an admin
//! cannot take their own second factor off from the console, nor the password alone refresh a
//! login with it on; enrolment over JSON needs the password and a header token; the first code
//! is throttled, and a pending key is shown again only to the session that started it.

use rocket::http::{ContentType, Cookie, Method, Status};
use rocket::local::asynchronous::Client;

use crate::harness::TestApp;
use serde_json::json;

use crate::support::{
    api, browser_register, csrf_of, exec, get_page, page_csrf, post_form, race, register, scalar,
    texts,
};
use crate::two_factor::{begin, code_at, enrol, next_code, unix_now};
use crate::two_factor_web::{
    browser_login, code_step, location, page_of, password_step, set_cookie, signed_in,
};
use conduit::db::Engine;

/// Post `code` to the code form with the half-done sign-in cookie `value` (as saved).
async fn replay(client: &Client, name: &str, value: &str, code: &str) -> (Status, String) {
    let page = client
        .get("/login/two-factor")
        .cookie(Cookie::new(name.to_owned(), value.to_owned()))
        .dispatch()
        .await;
    let status = page.status();
    let html = scraper::Html::parse_document(&page.into_string().await.unwrap_or_default());
    if status != Status::Ok {
        return (status, String::new());
    }
    let res = client
        .post("/login/two-factor")
        .header(ContentType::Form)
        .cookie(Cookie::new(name.to_owned(), value.to_owned()))
        .body(format!("csrf_token={}&code={code}", csrf_of(&html)))
        .dispatch()
        .await;
    (res.status(), location(&res))
}

db_test!(
    async fn a_saved_half_done_sign_in_cookie_cannot_be_replayed_after_its_sign_in(app) {
        let jwt = register(&app.client, "rita").await;
        let (secret, codes) = enrol(&app.client, &jwt).await;
        let client = &app.client;

        let res = password_step(client, "rita", false, None).await;
        assert_eq!(location(&res), "/login/two-factor");
        drop(res);
        let saved = client.cookies().get("two_factor").expect("pending").value().to_owned();
        let res = code_step(client, &codes[0]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_ne!(location(&res), "/login");
        drop(res);
        assert!(signed_in(client).await);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM sessions WHERE kind = 'browser'").await, 1);
        let res = post_form(client, "/logout", &[("csrf_token", &page_csrf(client).await)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);

        // The saved cookie with the next valid code: "sign in again", no session, code unused.
        let (status, to) = replay(client, "two_factor", &saved, &next_code(&secret)).await;
        assert_eq!((status, to.as_str()), (Status::SeeOther, "/login"));
        let (_, login) = get_page(client, "/login").await;
        assert!(login.html().contains("Please sign in again"), "{}", login.html());
        assert!(!signed_in(client).await);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM sessions WHERE kind = 'browser'").await, 1, "no new session");
        // And with another recovery code: the same.
        let (status, to) = replay(client, "two_factor", &saved, &codes[1]).await;
        assert_eq!((status, to.as_str()), (Status::SeeOther, "/login"));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM sessions WHERE kind = 'browser'").await, 1);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_recovery_codes WHERE used_at IS NOT NULL").await, 1);
    }
);

db_test!(
    async fn two_uses_of_one_half_done_sign_in_at_once_make_one_session(app) {
        let jwt = register(&app.client, "rudy").await;
        let (_, codes) = enrol(&app.client, &jwt).await;
        let client = &app.client;
        let res = password_step(client, "rudy", false, None).await;
        assert_eq!(location(&res), "/login/two-factor");
        drop(res);
        let saved = client.cookies().get("two_factor").expect("pending").value().to_owned();
        // Two different good recovery codes, one cookie, at once.
        let results = race(2, |i| {
            let (saved, code) = (saved.clone(), codes[i].clone());
            async move { replay(client, "two_factor", &saved, &code).await }
        });
        let won = results.iter().filter(|(s, to)| *s == Status::SeeOther && to != "/login").count();
        assert_eq!(won, 1, "{results:?}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM sessions WHERE kind = 'browser'").await, 1, "{results:?}");
    }
);

/// Every `Set-Cookie` of `res` that removes a cookie.
fn removals(res: &rocket::local::asynchronous::LocalResponse<'_>) -> Vec<String> {
    res.headers()
        .get("Set-Cookie")
        .filter(|c| c.contains("Max-Age=0"))
        .map(str::to_owned)
        .collect()
}

async fn secure_removals(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, |f| f.merge(("cookie_secure", true))).await
    else {
        return;
    };
    let jwt = register(&app.client, "sara").await;
    let (_, codes) = enrol(&app.client, &jwt).await;
    let client = &app.client;
    let res = password_step(client, "sara", false, None).await;
    assert_eq!(location(&res), "/login/two-factor");
    assert!(set_cookie(&res, "__Host-two_factor").is_some());
    drop(res);
    // The code: the half-done sign-in's cookie is removed, `Secure` as `__Host-` needs.
    let res = code_step(client, &codes[0]).await;
    assert_eq!(res.status(), Status::SeeOther);
    let removed = removals(&res);
    assert!(
        removed.iter().any(|c| c.starts_with("__Host-two_factor=")),
        "{removed:?}"
    );
    for c in &removed {
        assert!(c.contains("Secure; Path=/; Max-Age=0"), "{c}");
    }
    drop(res);
    // Signing out removes the session's cookies, `Secure` too.
    let res = post_form(
        client,
        "/logout",
        &[("csrf_token", &page_csrf(client).await)],
    )
    .await;
    assert_eq!(res.status(), Status::SeeOther);
    let removed = removals(&res);
    for name in ["__Host-session=", "__Host-refresh="] {
        assert!(
            removed.iter().any(|c| c.starts_with(name)),
            "{name}: {removed:?}"
        );
    }
    for c in &removed {
        assert!(c.contains("Secure; Path=/; Max-Age=0"), "{c}");
    }
    drop(res);
    // A timed-out half-done sign-in: its removal is `Secure` as well.
    let res = client
        .get("/login/two-factor")
        .cookie(Cookie::new("__Host-two_factor", "garbage"))
        .dispatch()
        .await;
    let removed = removals(&res);
    assert!(
        removed.iter().any(|c| c.starts_with("__Host-two_factor=")),
        "{removed:?}"
    );
    for c in &removed {
        assert!(c.contains("Secure; Path=/; Max-Age=0"), "{c}");
    }
}

mod removal_cookies_are_secure_where_cookies_are {
    use super::*;

    #[rocket::async_test]
    async fn sqlite() {
        secure_removals(Engine::Sqlite, concat!(module_path!(), "::sqlite")).await;
    }

    #[rocket::async_test]
    async fn mysql() {
        secure_removals(Engine::MySql, concat!(module_path!(), "::mysql")).await;
    }
}

db_test!(
    async fn an_admin_cannot_reset_their_own_second_factor_from_the_console(app) {
        let jwt = register(&app.client, "chief").await;
        exec(app.db(), "UPDATE users SET role = 'admin' WHERE username = 'chief'").await.unwrap();
        let (_, codes) = enrol(&app.client, &jwt).await;
        let id = scalar(app.db(), "SELECT id FROM users WHERE username = 'chief'").await;
        browser_login(&app.client, "chief", Some(&codes[0])).await;
        let (status, page) = get_page(&app.client, &format!("/admin/users/{id}")).await;
        assert_eq!(status, Status::Ok);
        let action = format!("/admin/users/{id}/two-factor/reset");
        let res = post_form(&app.client, &action, &[("csrf_token", &csrf_of(&page))]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(location(&res), format!("/admin/users/{id}"));
        drop(res);
        let (_, page) = get_page(&app.client, &format!("/admin/users/{id}")).await;
        assert!(page.html().contains("Your own two-factor sign-in is turned off in your settings"), "the refusal is said");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp WHERE enabled_at IS NOT NULL").await, 1, "still on");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'user.two_factor_reset'").await, 0);
    }
);

db_test!(
    async fn the_password_alone_on_the_set_up_form_does_not_refresh_a_login_with_two_factor_on(app) {
        let jwt = register(&app.client, "fran").await;
        let (_, codes) = enrol(&app.client, &jwt).await;
        let client = &app.client;
        browser_login(client, "fran", Some(&codes[0])).await;
        let (_, page) = get_page(client, "/settings/two-factor").await;
        let csrf = csrf_of(&page);
        let res = post_form(client, "/settings/two-factor/setup", &[("csrf_token", &csrf), ("current_password", "password-fran")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(location(&res), "/settings/two-factor");
        assert!(set_cookie(&res, "session").is_none() && set_cookie(&res, "refresh").is_none(), "no renewed login");
        drop(res);
        let (_, page) = get_page(client, "/settings/two-factor").await;
        assert!(page.html().contains("Two-factor sign-in is on already."));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp WHERE enabled_at IS NOT NULL").await, 1);
    }
);

db_test!(
    async fn json_enrolment_needs_the_current_password_and_a_header_token(app) {
        let jwt = register(&app.client, "paul").await;
        let post = |body| api(&app.client, Method::Post, "/api/user/totp", Some(&jwt), body);
        let (status, body) = post(None).await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}");
        assert_eq!(body["errors"]["password"], json!(["can't be blank"]));
        let (status, body) = post(Some(json!({"totp": {"password": "not-it"}}))).await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}");
        assert_eq!(body["errors"]["password"], json!(["is not correct"]));
        assert!(body["totp"].is_null(), "no secret: {body}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp").await, 0);
        let (status, body) = post(Some(json!({"totp": {"password": "password-paul"}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert!(body["totp"]["secret"].is_string() && body["totp"]["uri"].is_string(), "{body}");

        // A browser session (cookies, no header token) is refused on every /api/user/totp route.
        let browser = Client::tracked(conduit::rocket_with(app.client.rocket().figment().clone())).await.unwrap();
        browser_register(&browser, "bea").await;
        assert!(signed_in(&browser).await);
        for (method, path, body) in [
            (Method::Get, "/api/user/totp", None),
            (Method::Post, "/api/user/totp", Some(json!({"totp": {"password": "password-bea"}}))),
            (Method::Post, "/api/user/totp/confirm", Some(json!({"totp": {"code": "123456"}}))),
        ] {
            let (status, answer) = api(&browser, method, path, None, body).await;
            assert_eq!(status, Status::Forbidden, "{method} {path}: {answer}");
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp").await, 1, "paul's only");
    }
);

db_test!(
    async fn wrong_first_codes_are_throttled_like_sign_in_codes(app) {
        let jwt = register(&app.client, "tina").await;
        let secret = begin(&app.client, &jwt).await;
        let wrong = json!({"totp": {"code": "000000"}});
        for i in 0..10 {
            let (status, body) = api(&app.client, Method::Post, "/api/user/totp/confirm", Some(&jwt), Some(wrong.clone())).await;
            assert_eq!(status, Status::UnprocessableEntity, "#{i}: {body}");
        }
        let right = json!({"totp": {"code": code_at(&secret, unix_now())}});
        let (status, body) = api(&app.client, Method::Post, "/api/user/totp/confirm", Some(&jwt), Some(right)).await;
        assert_eq!(status, Status::TooManyRequests, "the 11th: {body}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp WHERE enabled_at IS NOT NULL").await, 0);
    }
);

db_test!(
    async fn a_wrong_first_code_shows_the_pending_key_only_to_the_session_that_started_it(app) {
        let starter = &app.client;
        browser_register(starter, "nina").await;
        let (_, page) = get_page(starter, "/settings/two-factor").await;
        let res = post_form(starter, "/settings/two-factor/setup", &[("csrf_token", &csrf_of(&page)), ("current_password", "password-nina")]).await;
        let (status, page) = page_of(res).await;
        assert_eq!(status, Status::Ok);
        let key = texts(&page, "#totp-secret")[0].clone();

        // Another browser signed in to the account: a wrong code does not show the key.
        let other = Client::tracked(conduit::rocket_with(app.client.rocket().figment().clone())).await.unwrap();
        browser_login(&other, "nina", None).await;
        let (_, page) = get_page(&other, "/settings/two-factor").await;
        assert!(!page.html().contains(&key));
        let res = post_form(&other, "/settings/two-factor/confirm", &[("csrf_token", &csrf_of(&page)), ("code", "000001")]).await;
        let (status, page) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(!page.html().contains(&key), "the key is not shown to another session");
        assert!(texts(&page, "#totp-secret").is_empty());
        assert_eq!(page.select(&scraper::Selector::parse("svg[role=img]").unwrap()).count(), 0);

        // The session that started it still gets it back beside a wrong code.
        let (_, page) = get_page(starter, "/settings/two-factor").await;
        let res = post_form(starter, "/settings/two-factor/confirm", &[("csrf_token", &csrf_of(&page)), ("code", "000001")]).await;
        let (status, page) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&page, "#totp-secret"), vec![key]);
    }
);

db_test!(
    async fn the_consoles_fresh_login_asks_an_account_with_two_factor_for_a_code(app) {
        let jwt = register(&app.client, "ace").await;
        exec(app.db(), "UPDATE users SET role = 'admin' WHERE username = 'ace'").await.unwrap();
        let (_, codes) = enrol(&app.client, &jwt).await;
        let client = &app.client;
        browser_login(client, "ace", Some(&codes[0])).await;
        let (status, page) = get_page(client, "/admin/reauth?next=/admin").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, "label[for=code]").len(), 1, "a code field");
        let csrf = csrf_of(&page);
        for fields in [
            vec![("csrf_token", csrf.as_str()), ("password", "password-ace"), ("next", "/admin")],
            vec![("csrf_token", csrf.as_str()), ("password", "password-ace"), ("code", "000000"), ("next", "/admin")],
            vec![("csrf_token", csrf.as_str()), ("password", "not-it"), ("code", codes[1].as_str()), ("next", "/admin")],
        ] {
            let res = post_form(client, "/admin/reauth", &fields).await;
            assert_eq!(res.status(), Status::UnprocessableEntity, "{fields:?}");
            assert!(set_cookie(&res, "session").is_none(), "not renewed: {fields:?}");
            let (_, page) = page_of(res).await;
            assert_eq!(texts(&page, ".error-summary li"), vec!["password or code is not correct"]);
        }
        let res = post_form(client, "/admin/reauth", &[("csrf_token", &csrf), ("password", "password-ace"), ("code", &codes[2]), ("next", "/admin")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert!(set_cookie(&res, "session").is_some(), "renewed");
        drop(res);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_recovery_codes WHERE used_at IS NOT NULL").await, 2);
    }
);

db_test!(
    async fn creating_a_token_in_the_browser_asks_an_account_with_two_factor_for_a_code(app) {
        let jwt = register(&app.client, "tom").await;
        let (_, codes) = enrol(&app.client, &jwt).await;
        let client = &app.client;
        browser_login(client, "tom", Some(&codes[0])).await;
        for (code, said) in [("", "code can't be blank"), ("000000", "code is not correct")] {
            let (_, page) = get_page(client, "/settings/tokens").await;
            assert_eq!(texts(&page, "label[for=token-code]").len(), 1, "a code field");
            let fields = [("csrf_token", csrf_of(&page)), ("name", "ci".into()), ("scopes", "read".into()), ("expires", "30".into()), ("current_password", "password-tom".into()), ("code", code.into())];
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = post_form(client, "/settings/tokens", &fields).await;
            let (status, page) = page_of(res).await;
            assert_eq!(status, Status::UnprocessableEntity, "{code:?}");
            assert_eq!(texts(&page, ".error-summary li"), vec![said]);
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens").await, 0);
        let (_, page) = get_page(client, "/settings/tokens").await;
        let res = post_form(client, "/settings/tokens", &[("csrf_token", &csrf_of(&page)), ("name", "ci"), ("scopes", "read"), ("expires", "30"), ("current_password", "password-tom"), ("code", &codes[1])]).await;
        assert_eq!(res.status(), Status::Created);
        drop(res);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens").await, 1);
    }
);
