//! Two-factor sign-in in the browser (issue 18), followed page by page as a user would: the
//! settings link, the password, the QR code (an SVG image with a name) and the key as text,
//! the first code, the recovery codes; then a sign-in that asks for the code on its own page
//! (no session before it), "remember me" and `next` carried through, replays refused, a
//! recovery code, turning it off; the half-done sign-in's cookie and CSRF on the new forms;
//! and an administrator's reset from the console.

use rocket::http::{Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use scraper::Html;

use crate::support::{
    api, attrs, browser_register, csrf_of, exec, get_page, page_csrf, post_form, register, scalar,
    script_client, texts,
};
use crate::two_factor::{code_at, enrol, login, next_code, unix_now};

pub async fn page_of(res: LocalResponse<'_>) -> (Status, Html) {
    let status = res.status();
    (
        status,
        Html::parse_document(&res.into_string().await.unwrap_or_default()),
    )
}

pub fn location(res: &LocalResponse<'_>) -> String {
    res.headers()
        .get_one("Location")
        .unwrap_or_default()
        .to_owned()
}

/// The `Set-Cookie` header for cookie `name`, if the response sets it.
pub fn set_cookie(res: &LocalResponse<'_>, name: &str) -> Option<String> {
    res.headers()
        .get("Set-Cookie")
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Submit the sign-in form for `username` (registered by `support::register`), with "remember
/// me" and `next` when given, and answer the code page with `otp` when the account asks.
pub async fn browser_login(client: &Client, username: &str, otp: Option<&str>) {
    let res = password_step(client, username, false, None).await;
    assert_eq!(res.status(), Status::SeeOther, "{username} signs in");
    if location(&res) == "/login/two-factor" {
        let otp = otp.expect("a code for an account with two-factor sign-in");
        let res = code_step(client, otp).await;
        assert_eq!(res.status(), Status::SeeOther, "{username}'s code");
    }
}

pub async fn password_step<'c>(
    client: &'c Client,
    username: &str,
    remember: bool,
    next: Option<&str>,
) -> LocalResponse<'c> {
    let (_, page) = get_page(client, "/login").await;
    let csrf = csrf_of(&page);
    let email = format!("{username}@example.com");
    let password = format!("password-{username}");
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("email", email.as_str()),
        ("password", password.as_str()),
    ];
    if remember {
        fields.push(("remember", "true"));
    }
    if let Some(next) = next {
        fields.push(("next", next));
    }
    post_form(client, "/login", &fields).await
}

/// Answer the code page (loaded first, as a browser would) with `code`.
pub async fn code_step<'c>(client: &'c Client, code: &str) -> LocalResponse<'c> {
    let (status, page) = get_page(client, "/login/two-factor").await;
    assert_eq!(status, Status::Ok);
    let action = attrs(&page, "form.two-factor-form", "action");
    assert_eq!(action, vec!["/login/two-factor"]);
    post_form(
        client,
        &action[0],
        &[("csrf_token", &csrf_of(&page)), ("code", code)],
    )
    .await
}

/// Whether the browser is signed in (the settings page opens).
pub async fn signed_in(client: &Client) -> bool {
    client.get("/settings").dispatch().await.status() == Status::Ok
}

db_test!(
    async fn a_user_sets_it_up_in_the_browser_and_signs_in_with_codes(app) {
        let client = &app.client;
        browser_register(client, "wendy").await;

        // The settings page links to the two-factor page; it is off.
        let (_, settings) = get_page(client, "/settings").await;
        let link = attrs(&settings, ".two-factor-link a", "href");
        assert_eq!(link, vec!["/settings/two-factor"]);
        let (status, page) = get_page(client, &link[0]).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, "h1"), vec!["Two-factor sign-in"]);
        assert!(texts(&page, ".two-factor-state")[0].contains("off"));
        let setup = attrs(&page, "form.two-factor-setup-form", "action")[0].clone();

        // A wrong password: the form again, the field marked, nothing started.
        let res = post_form(client, &setup, &[("csrf_token", &csrf_of(&page)), ("current_password", "not-it")]).await;
        let (status, page) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&page, ".error-summary li"), vec!["current_password is not correct"]);
        assert_eq!(attrs(&page, "#setup-password", "aria-invalid"), vec!["true"]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp").await, 0);

        // The password: the QR code, an image with a name, and the key as text beside it.
        let res = post_form(client, &setup, &[("csrf_token", &csrf_of(&page)), ("current_password", "password-wendy")]).await;
        let (status, page) = page_of(res).await;
        assert_eq!(status, Status::Ok);
        let names = attrs(&page, "figure.totp-qr-figure svg[role=img]", "aria-label");
        assert_eq!(names.len(), 1, "one QR code image");
        assert!(names[0].contains("QR code"), "{names:?}");
        assert!(page.html().contains("<path"), "the QR code is drawn");
        let key = texts(&page, "#totp-secret")[0].clone();
        assert_eq!(key.replace(' ', "").len(), 32, "{key}");
        let confirm = attrs(&page, "form.two-factor-confirm-form", "action")[0].clone();

        // A wrong code: the same key again, the field marked.
        let res = post_form(client, &confirm, &[("csrf_token", &csrf_of(&page)), ("code", "000001")]).await;
        let (status, page) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&page, "#totp-secret"), vec![key.clone()]);
        assert_eq!(attrs(&page, "#confirm-code", "aria-invalid"), vec!["true"]);
        assert_eq!(texts(&page, "#code-error"), vec!["Code is not correct"]);

        // The code the app shows for the key as typed in: on, and the recovery codes, once.
        let code = code_at(&key, unix_now());
        let res = post_form(client, &confirm, &[("csrf_token", &csrf_of(&page)), ("code", &code)]).await;
        let (status, page) = page_of(res).await;
        assert_eq!(status, Status::Ok);
        let recovery = texts(&page, ".recovery-code");
        assert_eq!(recovery.len(), 10, "{recovery:?}");
        let (_, page) = get_page(client, "/settings/two-factor").await;
        assert!(texts(&page, ".two-factor-state")[0].contains("10 unused recovery codes"));
        assert!(!page.html().contains(&key) && !page.html().contains(&recovery[0]), "never shown again");
        assert_eq!(page.select(&scraper::Selector::parse("svg").unwrap()).count(), 0);

        // Signed out, the password alone starts a sign-in that is not one yet.
        let res = post_form(client, "/logout", &[("csrf_token", &page_csrf(client).await)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let res = password_step(client, "wendy", true, Some("/editor")).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(location(&res), "/login/two-factor");
        assert!(set_cookie(&res, "session").is_none() && set_cookie(&res, "refresh").is_none());
        let pending = set_cookie(&res, "two_factor").expect("the half-done sign-in's cookie");
        assert!(pending.contains("HttpOnly") && pending.contains("SameSite=Strict") && pending.contains("Max-Age=300"), "{pending}");
        drop(res);
        assert!(!signed_in(client).await);

        // The code page: a wrong code is shown as such; the right one signs in, remembered,
        // and goes where the sign-in was going.
        let res = code_step(client, "000002").await;
        let (status, page) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(attrs(&page, "#code", "aria-invalid"), vec!["true"]);
        assert_eq!(texts(&page, ".error-summary li"), vec!["code is not correct"]);
        let next = next_code(&key);
        let res = code_step(client, &next).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(location(&res), "/editor");
        let refresh = set_cookie(&res, "refresh").expect("a session");
        assert!(refresh.contains("Max-Age="), "remember me carried through: {refresh}");
        drop(res);
        assert!(signed_in(client).await);

        // The same code again, in another sign-in: refused.
        post_form(client, "/logout", &[("csrf_token", &page_csrf(client).await)]).await;
        let res = password_step(client, "wendy", false, None).await;
        assert_eq!(location(&res), "/login/two-factor");
        drop(res);
        let res = code_step(client, &next).await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        drop(res);
        assert!(!signed_in(client).await);
        // A recovery code signs in, and says how many are left.
        let res = code_step(client, &recovery[0]).await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
        let (_, home) = get_page(client, "/").await;
        assert!(home.html().contains("9 left"), "the flash counts what is left");

        // Turning it off: the password and a code; a wrong code changes nothing.
        let (_, page) = get_page(client, "/settings/two-factor").await;
        let disable = attrs(&page, "form.two-factor-disable-form", "action")[0].clone();
        let csrf = csrf_of(&page);
        let res = post_form(client, &disable, &[("csrf_token", &csrf), ("current_password", "password-wendy"), ("code", "123123")]).await;
        let (status, page) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(attrs(&page, "#disable-code", "aria-invalid"), vec!["true"]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp").await, 1);
        let res = post_form(client, &disable, &[("csrf_token", &csrf), ("current_password", "password-wendy"), ("code", &recovery[1])]).await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp").await, 0);
        let (_, page) = get_page(client, "/settings/two-factor").await;
        assert!(texts(&page, ".two-factor-state")[0].contains("off"));
    }
);

db_test!(
    async fn the_code_page_needs_a_live_half_done_sign_in_and_its_form_token(app) {
        let jwt = register(&app.client, "vic").await;
        let (secret, codes) = enrol(&app.client, &jwt).await;
        let client = &app.client;

        // Nothing started: back to the sign-in form.
        let res = client.get("/login/two-factor").dispatch().await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(location(&res), "/login");
        drop(res);

        // Without the form token, or with another site's origin: refused, nothing used.
        password_step(client, "vic", false, None).await;
        let res = post_form(client, "/login/two-factor", &[("code", &codes[0])]).await;
        assert_eq!(res.status(), Status::Forbidden);
        drop(res);
        let (_, page) = get_page(client, "/login/two-factor").await;
        let res = client.post("/login/two-factor").header(rocket::http::ContentType::Form)
            .header(rocket::http::Header::new("Sec-Fetch-Site", "cross-site"))
            .body(format!("csrf_token={}&code={}", csrf_of(&page), codes[0])).dispatch().await;
        assert_eq!(res.status(), Status::Forbidden);
        drop(res);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_recovery_codes WHERE used_at IS NOT NULL").await, 0);
        assert!(!signed_in(client).await);

        // A tampered cookie is no sign-in.
        let value = client.cookies().get("two_factor").expect("pending").value().to_owned();
        let other = script_client(client).await;
        let res = other.get("/login/two-factor").cookie(rocket::http::Cookie::new("two_factor", value.clone())).dispatch().await;
        assert_eq!(res.status(), Status::Ok, "the cookie as sent");
        drop(res);
        let (payload, tag) = value.split_once('.').unwrap();
        for tampered in [format!("x{value}"), format!("{payload}.x{tag}"), payload.to_owned()] {
            let res = other.get("/login/two-factor").cookie(rocket::http::Cookie::new("two_factor", tampered)).dispatch().await;
            assert_eq!(location(&res), "/login");
        }

        // A password change (or "sign out everywhere") between the steps ends the sign-in.
        password_step(client, "vic", false, None).await;
        exec(app.db(), "UPDATE users SET token_version = token_version + 1 WHERE username = 'vic'").await.unwrap();
        let (_, page) = get_page(client, "/login/two-factor").await;
        let res = post_form(client, "/login/two-factor", &[("csrf_token", &csrf_of(&page)), ("code", &next_code(&secret))]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(location(&res), "/login");
        drop(res);
        assert!(!signed_in(client).await);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM sessions WHERE kind = 'browser'").await, 0, "no session was made");
    }
);

db_test!(
    async fn an_admin_resets_a_lost_second_factor_from_the_console(app) {
        register(&app.client, "boss").await;
        exec(app.db(), "UPDATE users SET role = 'admin' WHERE username = 'boss'").await.unwrap();
        let lost = register(&app.client, "lost").await;
        enrol(&app.client, &lost).await;
        let id = scalar(app.db(), "SELECT id FROM users WHERE username = 'lost'").await;

        browser_login(&app.client, "boss", None).await;
        let (status, page) = get_page(&app.client, &format!("/admin/users/{id}")).await;
        assert_eq!(status, Status::Ok);
        let action = attrs(&page, "form.two-factor-reset-form", "action");
        assert_eq!(action, vec![format!("/admin/users/{id}/two-factor/reset")]);
        let res = post_form(&app.client, &action[0], &[("csrf_token", &csrf_of(&page))]).await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp").await, 0);
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'user.two_factor_reset' AND actor_name = 'boss' AND entity_id = '{id}'")).await, 1);
        let script = script_client(&app.client).await;
        let (status, body) = login(&script, "lost", None).await;
        assert_eq!(status, Status::Ok, "{body}");
        // Resetting again: nothing to reset, said so, nothing written.
        let (_, page) = get_page(&app.client, &format!("/admin/users/{id}")).await;
        let res = post_form(&app.client, &action[0], &[("csrf_token", &csrf_of(&page))]).await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'user.two_factor_reset'").await, 1);
        // Not an admin: 403, over the API too.
        let (status, _) = api(&app.client, Method::Get, "/api/admin/users", Some(&lost), None).await;
        assert_eq!(status, Status::Forbidden);
    }
);
