//! Email confirmation: a new account gets a confirmation mail (through the test SMTP sink), a
//! banner says so until its link is followed, and the link works once.

use conduit::db::Engine;
use rocket::http::{Method, Status};
use serde_json::json;

use crate::mail::{confirm_through, link_in, spawn_with_sink, WAIT};
use crate::smtp_sink::SmtpSink;
use crate::support::{api, browser_register, get_page, scalar, texts};

async fn body(engine: Engine, test: &str) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn_with_sink(engine, test, &sink.url(), |f| f).await else {
        return;
    };
    browser_register(&app.client, "yara").await;
    let (_, home) = get_page(&app.client, "/").await;
    assert_eq!(texts(&home, ".flash"), vec!["Welcome to Conduit, yara!"]);
    assert_eq!(
        texts(&home, ".confirm-banner").len(),
        1,
        "the banner says the email is unconfirmed"
    );

    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(mails[0].to, vec!["yara@example.com"]);
    assert_eq!(
        mails[0].header("Subject").as_deref(),
        Some("Confirm your email for Conduit")
    );
    let link = link_in(&mails[0], "/email/confirm/");
    assert_eq!(
        scalar(
            app.db(),
            "SELECT COUNT(*) FROM users WHERE username = 'yara' AND email_confirmed_at IS NULL"
        )
        .await,
        1
    );

    // A new link can be asked for from the banner; then both work, and the first used ends both.
    let action = crate::support::attrs(&home, ".confirm-banner form", "action");
    assert_eq!(action, vec!["/settings/confirm-email"]);
    let csrf = crate::support::attrs(
        &home,
        ".confirm-banner form input[name=csrf_token]",
        "value",
    );
    let res = crate::support::post_form(&app.client, &action[0], &[("csrf_token", &csrf[0])]).await;
    assert_eq!(res.status(), Status::SeeOther);
    let again = sink
        .wait_for_subject("Confirm your email for Conduit", 2, WAIT)
        .await;
    let second = link_in(&again[1], "/email/confirm/");
    assert_ne!(second, link);
    let res = crate::support::post_form(&app.client, &action[0], &[]).await;
    assert_eq!(res.status(), Status::Forbidden, "the form token is needed");

    let token = the_link_alone_changes_nothing(&app, &link).await;
    let res = confirm_through(&app.client, &link).await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(
        res.headers().get_one("Referrer-Policy"),
        Some("strict-origin")
    );
    drop(res);
    let (_, home) = get_page(&app.client, "/").await;
    assert_eq!(
        texts(&home, ".flash"),
        vec!["Thank you: your email address is confirmed."]
    );
    assert!(
        texts(&home, ".confirm-banner").is_empty(),
        "the banner is gone"
    );
    assert_eq!(
        scalar(
            app.db(),
            "SELECT COUNT(*) FROM users WHERE username = 'yara' AND email_confirmed_at IS NOT NULL"
        )
        .await,
        1
    );
    // The button pressed again (a replayed POST) changes nothing more.
    let csrf = crate::support::page_csrf(&app.client).await;
    let res = crate::support::post_form(
        &app.client,
        "/email/confirm",
        &[("csrf_token", &csrf), ("token", &token)],
    )
    .await;
    assert_eq!(res.status(), Status::Gone, "replayed");
    drop(res);
    // Once only; a forged link changes nothing either.
    assert_eq!(
        get_page(&app.client, &second).await.0,
        Status::Gone,
        "used up with the first"
    );
    let (status, page) = get_page(&app.client, &link).await;
    assert_eq!(status, Status::Gone);
    assert_eq!(texts(&page, "h1"), vec!["This link no longer works"]);
    assert_eq!(
        get_page(&app.client, "/email/confirm/forged").await.0,
        Status::Gone
    );

    api_and_operator_sign_ups(&app, &sink).await;
}

/// Opening a confirmation link (as a mail scanner does) changes nothing: its page has a
/// button, which needs the form token. The link's token.
async fn the_link_alone_changes_nothing(app: &crate::harness::TestApp, link: &str) -> String {
    // Opening the link (as a mail scanner does) changes nothing: its page has a button.
    let (status, page) = get_page(&app.client, link).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(
        texts(&page, ".confirm-address strong"),
        vec!["yara@example.com"]
    );
    assert_eq!(
        scalar(
            app.db(),
            "SELECT COUNT(*) FROM users WHERE username = 'yara' AND email_confirmed_at IS NULL"
        )
        .await,
        1,
        "the link alone confirms nothing"
    );
    // The button needs the form token.
    let token = link.trim_start_matches("/email/confirm/").to_owned();
    let res = crate::support::post_form(&app.client, "/email/confirm", &[("token", &token)]).await;
    assert_eq!(res.status(), Status::Forbidden, "no form token");
    drop(res);
    token
}

/// Sign-ups through the API are mailed the same way; accounts made by an operator are not.
async fn api_and_operator_sign_ups(app: &crate::harness::TestApp, sink: &SmtpSink) {
    let script = crate::support::script_client(&app.client).await;
    let (status, _) = api(&script, Method::Post, "/api/users", None, Some(json!({"user": {"username": "zed", "email": "zed@example.com", "password": "password-zed"}}))).await;
    assert_eq!(status, Status::Created);
    let mails = sink.wait_for(3, WAIT).await;
    assert_eq!(mails[2].to, vec!["zed@example.com"]);
    conduit::auth::account::create(
        app.db(),
        "op",
        "op@example.com",
        "password-op",
        conduit::db::users::Role::User,
    )
    .await
    .expect("as set up");
    assert_eq!(
        scalar(
            app.db(),
            "SELECT COUNT(*) FROM users WHERE username = 'op' AND email_confirmed_at IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(app.db(), "SELECT COUNT(*) FROM outbox").await,
        3,
        "no mail for the operator's account"
    );
}

async fn change_body(engine: Engine, test: &str) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn_with_sink(engine, test, &sink.url(), |f| f).await else {
        return;
    };
    let token = crate::support::register(&app.client, "abe").await;
    register_other(&app).await;
    sink.wait_for(2, WAIT).await;
    // A fresh API token asks for a new address: nothing changes yet.
    let (status, body) = api(
        &app.client,
        Method::Put,
        "/api/user",
        Some(&token),
        Some(json!({"user": {"email": "abe.new@example.com", "bio": "hi"}})),
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(
        body["user"]["email"], "abe@example.com",
        "the old address until confirmed"
    );
    assert_eq!(body["user"]["bio"], "hi", "the rest is saved");
    let mails = sink.wait_for(4, WAIT).await;
    let to_new = mails
        .iter()
        .find(|m| m.to == vec!["abe.new@example.com"])
        .expect("a mail to the new address");
    let to_old = mails
        .iter()
        .find(|m| {
            m.to == vec!["abe@example.com"]
                && m.header("Subject").as_deref()
                    == Some("A change of your Conduit email was asked for")
        })
        .expect("a notice to the old address");
    assert!(to_old
        .part("text/plain")
        .expect("as set up")
        .contains("abe.new@example.com"));
    let link = link_in(to_new, "/email/confirm/");
    assert_eq!(
        scalar(
            app.db(),
            "SELECT COUNT(*) FROM users WHERE email = 'abe@example.com'"
        )
        .await,
        1
    );
    // Followed (its page's button pressed), the link moves the account.
    let res = confirm_through(&app.client, &link).await;
    assert_eq!(res.status(), Status::SeeOther);
    drop(res);
    assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE email = 'abe.new@example.com' AND email_confirmed_at IS NOT NULL").await, 1);
    let (status, body) = api(&app.client, Method::Get, "/api/user", Some(&token), None).await;
    assert_eq!(
        (status, body["user"]["email"].as_str()),
        (Status::Ok, Some("abe.new@example.com"))
    );

    contested(&app, &sink, &token).await;
}

/// Asking for an address another account has is refused at once; one another account takes
/// before the link is followed is refused when it is.
async fn contested(app: &crate::harness::TestApp, sink: &SmtpSink, token: &str) {
    let token = token.to_owned();
    let (status, body) = api(
        &app.client,
        Method::Put,
        "/api/user",
        Some(&token),
        Some(json!({"user": {"email": "other@example.com"}})),
    )
    .await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    let (status, _) = api(
        &app.client,
        Method::Put,
        "/api/user",
        Some(&token),
        Some(json!({"user": {"email": "contested@example.com"}})),
    )
    .await;
    assert_eq!(status, Status::Ok);
    let mails = sink.wait_for(6, WAIT).await;
    let link = link_in(
        mails
            .iter()
            .find(|m| m.to == vec!["contested@example.com"])
            .expect("as set up"),
        "/email/confirm/",
    );
    crate::support::exec(
        app.db(),
        "UPDATE users SET email = 'contested@example.com' WHERE username = 'other'",
    )
    .await
    .expect("as set up");
    let res = confirm_through(&app.client, &link).await;
    assert_eq!(res.status(), Status::Conflict);
    let page = scraper::Html::parse_document(&res.into_string().await.unwrap_or_default());
    assert_eq!(texts(&page, "h1"), vec!["This address is taken"]);
    assert_eq!(
        scalar(
            app.db(),
            "SELECT COUNT(*) FROM users WHERE email = 'abe.new@example.com'"
        )
        .await,
        1,
        "nothing changed"
    );
}

async fn register_other(app: &crate::harness::TestApp) {
    crate::support::register(&app.client, "other").await;
}

#[rocket::async_test]
async fn an_email_change_waits_for_the_new_address_to_be_confirmed_sqlite() {
    change_body(Engine::Sqlite, "mail_confirm::change_sqlite").await;
}

#[rocket::async_test]
async fn an_email_change_waits_for_the_new_address_to_be_confirmed_mysql() {
    change_body(Engine::MySql, "mail_confirm::change_mysql").await;
}

#[rocket::async_test]
async fn a_new_account_confirms_its_email_through_the_mailed_link_sqlite() {
    body(Engine::Sqlite, "mail_confirm::sqlite").await;
}

#[rocket::async_test]
async fn a_new_account_confirms_its_email_through_the_mailed_link_mysql() {
    body(Engine::MySql, "mail_confirm::mysql").await;
}

/// SECURITY: someone who briefly held the account asks for an email change to their own
/// address and makes a token; the owner changes the password. The mailed link and the token
/// are over with the owner's sessions: the address recovery depends on stays the owner's.
async fn takeover_body(engine: Engine, test: &str) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn_with_sink(engine, test, &sink.url(), |f| f).await else {
        return;
    };
    let jwt = crate::support::register(&app.client, "owner").await;
    sink.wait_for(1, WAIT).await;
    let (status, body) = api(
        &app.client,
        Method::Put,
        "/api/user",
        Some(&jwt),
        Some(json!({"user": {"email": "attacker@evil.test"}})),
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    let (status, made) = api(
        &app.client,
        Method::Post,
        "/api/user/tokens",
        Some(&jwt),
        Some(json!({"token": {"name": "x", "scopes": ["read", "write"], "expiresInDays": null}})),
    )
    .await;
    assert_eq!(status, Status::Created, "{made}");
    let pat = made["token"]["secret"].as_str().expect("secret").to_owned();
    let mails = sink.wait_for(3, WAIT).await;
    let to_attacker = mails
        .iter()
        .find(|m| m.to == vec!["attacker@evil.test"])
        .expect("the link");
    let link = link_in(to_attacker, "/email/confirm/");

    let (status, body) = api(
        &app.client,
        Method::Put,
        "/api/user",
        Some(&jwt),
        Some(json!({"user": {"password": "the-owner-took-it-back"}})),
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");

    let res = app.client.get(link).dispatch().await;
    assert_eq!(
        res.status(),
        Status::Gone,
        "the link ended with the sessions"
    );
    assert_eq!(
        scalar(
            app.db(),
            "SELECT COUNT(*) FROM users WHERE email = 'owner@example.com'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            app.db(),
            "SELECT COUNT(*) FROM users WHERE email LIKE '%evil%'"
        )
        .await,
        0
    );
    let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&pat), None).await;
    assert_eq!(status, Status::Unauthorized, "the token ended too");
}

#[rocket::async_test]
async fn a_pending_email_change_and_tokens_end_when_the_owner_changes_the_password_sqlite() {
    takeover_body(Engine::Sqlite, "mail_confirm::takeover_sqlite").await;
}

#[rocket::async_test]
async fn a_pending_email_change_and_tokens_end_when_the_owner_changes_the_password_mysql() {
    takeover_body(Engine::MySql, "mail_confirm::takeover_mysql").await;
}
