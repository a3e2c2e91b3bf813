//! Account recovery after the attack review of the mail branch (issue 18): a stranger using up
//! an address's reset allowance locks no one out and learns nothing (202 always, no mail past
//! the limit, the last link and the signed-in owner's confirmation still work); an email change
//! ends the reset links mailed to the old address; display-name and comment forms of an email
//! are refused wherever one is taken. And `require_confirmed_email`, on and off, on both
//! engines: an unconfirmed account reads but does not write until it confirms.

use conduit::db::Engine;
use rocket::http::{ContentType, Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::mail::{confirm_through, link_in, spawn_with_sink, RESET, WAIT};
use crate::smtp_sink::SmtpSink;
use crate::support::{
    api, attrs, browser_register, csrf_of, get_page, page_csrf, post_form, register, scalar,
    script_client, texts,
};

const NOT_PLAIN: &str = conduit::auth::email::NOT_PLAIN;

/// `POST /api/users/password-reset` for `email`: status, body, `Retry-After`.
async fn ask_reset(client: &Client, email: &str) -> (Status, Value, Option<String>) {
    let res = client
        .post("/api/users/password-reset")
        .header(ContentType::JSON)
        .body(json!({"user": {"email": email}}).to_string())
        .dispatch()
        .await;
    let retry = res.headers().get_one("Retry-After").map(str::to_owned);
    let (status, body) = crate::support::json_of(res).await;
    (status, body, retry)
}

mail_test!(
    |f| f.merge(("reset_max_per_email", 2)),
    async fn a_stranger_using_up_the_reset_allowance_locks_no_one_out(app, sink) {
        // The owner, signed in on their browser, not confirmed yet (one confirmation mail).
        let owner = Client::tracked(conduit::rocket_with(app.client.rocket().figment().clone())).await.expect("a browser");
        browser_register(&owner, "olga").await;
        sink.wait_for(1, WAIT).await;
        let stranger = script_client(&app.client).await;

        // Four requests for her address: the same 202 each time, two mails.
        let first = ask_reset(&stranger, "olga@example.com").await;
        assert_eq!(first.0, Status::Accepted, "{}", first.1);
        for _ in 0..3 {
            let again = ask_reset(&stranger, "olga@example.com").await;
            assert_eq!((again.0, &again.1, &again.2), (first.0, &first.1, &None));
        }
        // The site's form past the limit: the same page as within it.
        let (_, forgot) = get_page(&app.client, "/password/forgot").await;
        let res = post_form(&app.client, "/password/forgot", &[("csrf_token", &csrf_of(&forgot)), ("email", "olga@example.com")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(res.headers().get_one("Location"), Some("/login"));
        drop(res);
        let resets = sink.wait_for_subject(RESET, 2, WAIT).await;
        assert_eq!(resets.len(), 2);
        // Give the sender time to send anything else it had: nothing more was queued.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM outbox WHERE subject = 'Reset your Conduit password'").await, 2);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM account_tokens WHERE purpose = 'reset'").await, 2);

        // The signed-in owner still gets a new confirmation link (counted under her account,
        // not her address)...
        let (_, home) = get_page(&owner, "/").await;
        let action = attrs(&home, ".confirm-banner form", "action");
        let res = post_form(&owner, &action[0], &[("csrf_token", &csrf_of(&home))]).await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
        let (_, landed) = get_page(&owner, "/settings").await;
        assert_eq!(texts(&landed, ".flash"), vec!["We sent a new link to olga@example.com: follow it to confirm your email."]);
        sink.wait_for_subject("Confirm your email for Conduit", 2, WAIT).await;

        // ... and the most recent reset link mailed to her works.
        let last = link_in(resets.last().expect("a mail"), "/password/reset/");
        let token = last.trim_start_matches("/password/reset/");
        let (status, body) = api(&stranger, Method::Post, "/api/users/password-reset/confirm", None,
            Some(json!({"reset": {"token": token, "password": "olga's new secret"}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
    }
);

mail_test!(
    async fn an_email_change_ends_the_reset_links_mailed_to_the_old_address(app, sink) {
        let jwt = register(&app.client, "ned").await;
        sink.wait_for(1, WAIT).await;
        assert_eq!(ask_reset(&app.client, "ned@example.com").await.0, Status::Accepted);
        let reset = link_in(&sink.wait_for_subject(RESET, 1, WAIT).await[0], "/password/reset/");
        assert_eq!(get_page(&app.client, &reset).await.0, Status::Ok, "live before the change");

        let (status, body) = api(&app.client, Method::Put, "/api/user", Some(&jwt), Some(json!({"user": {"email": "ned.new@example.com"}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
        let mails = sink.wait_for(4, WAIT).await;
        let to_new = mails.iter().find(|m| m.to == vec!["ned.new@example.com"]).expect("the link");
        let confirm = link_in(to_new, "/email/confirm/");
        // Asked for but not confirmed: the old address is still the account's, its link too.
        assert_eq!(get_page(&app.client, &reset).await.0, Status::Ok);
        let res = confirm_through(&app.client, &confirm).await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);

        let (status, page) = get_page(&app.client, &reset).await;
        assert_eq!(status, Status::Gone);
        assert_eq!(texts(&page, "h1"), vec!["This link no longer works"]);
        let token = reset.trim_start_matches("/password/reset/");
        let (status, body) = api(&app.client, Method::Post, "/api/users/password-reset/confirm", None,
            Some(json!({"reset": {"token": token, "password": "taken over now"}}))).await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}");
        let login = json!({"user": {"email": "ned.new@example.com", "password": "password-ned"}});
        assert_eq!(api(&app.client, Method::Post, "/api/users/login", None, Some(login)).await.0, Status::Ok, "the password is as it was");
        // A link asked for at the new address works.
        assert_eq!(ask_reset(&app.client, "ned.new@example.com").await.0, Status::Accepted);
        let fresh = link_in(&sink.wait_for_subject(RESET, 2, WAIT).await[1], "/password/reset/");
        assert_eq!(get_page(&app.client, &fresh).await.0, Status::Ok);
    }
);

db_test!(
    async fn an_email_with_a_display_name_or_comment_is_refused_everywhere(app) {
        let script = script_client(&app.client).await;
        let forms = ["name<a@b.co>", "Jake <jake@example.com>", "jake@example.com (Jake)", "\"jake\"@example.com"];
        for email in forms {
            let body = json!({"user": {"username": "jake", "email": email, "password": "password-jake"}});
            let (status, value) = api(&script, Method::Post, "/api/users", None, Some(body)).await;
            assert_eq!(status, Status::UnprocessableEntity, "{email}: {value}");
            assert_eq!(value["errors"]["email"], json!([NOT_PLAIN]), "{email}");
            let (status, value, _) = ask_reset(&script, email).await;
            assert_eq!(status, Status::UnprocessableEntity, "{email}: {value}");
            assert_eq!(value["errors"]["email"], json!([NOT_PLAIN]));
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 0);
        let jwt = register(&script, "jake").await;
        let (status, value) = api(&script, Method::Put, "/api/user", Some(&jwt), Some(json!({"user": {"email": "Jake <evil@example.com>"}}))).await;
        assert_eq!(status, Status::UnprocessableEntity, "{value}");
        assert_eq!(value["errors"]["email"], json!([NOT_PLAIN]));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM account_tokens WHERE email LIKE '%evil%'").await, 0);

        // The site's sign-up says the same beside the field.
        let (_, page) = get_page(&app.client, "/register").await;
        let res = post_form(&app.client, "/register", &[("csrf_token", &csrf_of(&page)), ("username", "kim"), ("email", "Kim <kim@example.com>"), ("password", "password-kim")]).await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let page = scraper::Html::parse_document(&res.into_string().await.unwrap_or_default());
        assert_eq!(texts(&page, "#email-error"), vec![format!("Email {NOT_PLAIN}")]);
        assert_eq!(attrs(&page, "input#email[aria-invalid=true]", "id"), vec!["email"]);
    }
);

/// The JSON writes an unconfirmed account tries, with the status each gets.
async fn api_writes(client: &Client, token: &str) -> Vec<(&'static str, Status, Value)> {
    let article = json!({"article": {"title": "Unconfirmed news", "description": "d", "body": "b", "tagList": []}});
    let mut out = Vec::new();
    let (status, body) = api(
        client,
        Method::Post,
        "/api/articles",
        Some(token),
        Some(article),
    )
    .await;
    out.push(("publish", status, body));
    let (status, body) = api(
        client,
        Method::Post,
        "/api/profiles/other/follow",
        Some(token),
        None,
    )
    .await;
    out.push(("follow", status, body));
    let (status, body) = api(
        client,
        Method::Put,
        "/api/user",
        Some(token),
        Some(json!({"user": {"bio": "spam"}})),
    )
    .await;
    out.push(("bio", status, body));
    out
}

async fn required_body(engine: Engine, test: &str, required: bool) {
    let Some(app) = TestApp::spawn_with(engine, test, |f| {
        f.merge(("require_confirmed_email", required))
    })
    .await
    else {
        return;
    };
    let script = script_client(&app.client).await;
    let token = register(&script, "una").await;
    register(&script, "other").await;
    // Reads work either way.
    assert_eq!(
        api(&script, Method::Get, "/api/articles", Some(&token), None)
            .await
            .0,
        Status::Ok
    );
    assert_eq!(
        api(&script, Method::Get, "/api/user", Some(&token), None)
            .await
            .0,
        Status::Ok
    );

    let writes = api_writes(&script, &token).await;
    for (what, status, body) in &writes {
        if required {
            assert_eq!(*status, Status::Forbidden, "{what}: {body}");
            let why = if *what == "bio" {
                conduit::auth::confirmed::PROFILE_UNCONFIRMED
            } else {
                conduit::auth::confirmed::UNCONFIRMED
            };
            assert_eq!(body["errors"]["body"][0], why, "{what}");
        } else {
            assert!(status.code < 300, "{what}: {status} {body}");
        }
    }
    assert_eq!(
        scalar(app.db(), "SELECT COUNT(*) FROM articles").await,
        i64::from(!required)
    );
    // What confirming needs works either way: a new address (fresh login), the sessions.
    let (status, body) = api(
        &script,
        Method::Put,
        "/api/user",
        Some(&token),
        Some(json!({"user": {"email": "una.fixed@example.com"}})),
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    let (status, _) = api(
        &script,
        Method::Get,
        "/api/user/sessions",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, Status::Ok);

    site_body(&app, required).await;
}

/// [`required_body`] on the site: the editor opens; publishing is refused with the reason and
/// the banner's link when `required`.
async fn site_body(app: &TestApp, required: bool) {
    let script = script_client(&app.client).await;
    let token = register(&script, "wanda").await;
    browser_register(&app.client, "vera").await;
    let (status, _) = get_page(&app.client, "/editor").await;
    assert_eq!(status, Status::Ok);
    let csrf = page_csrf(&app.client).await;
    let res = post_form(
        &app.client,
        "/editor",
        &[
            ("csrf_token", &csrf),
            ("title", "Site news"),
            ("description", "d"),
            ("body", "b"),
            ("tags", ""),
        ],
    )
    .await;
    if required {
        assert_eq!(res.status(), Status::Forbidden);
        let page = scraper::Html::parse_document(&res.into_string().await.unwrap_or_default());
        assert_eq!(
            texts(&page, ".error-messages li"),
            vec![conduit::auth::confirmed::UNCONFIRMED]
        );
        assert_eq!(
            attrs(&page, "form.resend-confirmation", "action"),
            vec!["/settings/confirm-email"]
        );
        assert_eq!(
            attrs(
                &page,
                "form.resend-confirmation input[name=csrf_token]",
                "value"
            ),
            vec![csrf.clone()]
        );
        // The settings form: a bio is refused with the reason, on the page with the banner.
        let res = post_form(
            &app.client,
            "/settings",
            &[
                ("csrf_token", &csrf),
                ("username", "vera"),
                ("email", "vera@example.com"),
                ("bio", "spam"),
                ("image", ""),
            ],
        )
        .await;
        assert_eq!(res.status(), Status::Forbidden);
        let page = scraper::Html::parse_document(&res.into_string().await.unwrap_or_default());
        assert_eq!(
            texts(&page, ".error-summary li"),
            vec![conduit::auth::confirmed::PROFILE_UNCONFIRMED]
        );
        assert_eq!(texts(&page, ".confirm-banner").len(), 1);
        // Asking for a new link and signing out still work.
        let res = post_form(
            &app.client,
            "/settings/confirm-email",
            &[("csrf_token", &csrf)],
        )
        .await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
        // Once confirmed, writing works.
        crate::support::exec(app.db(), "UPDATE users SET email_confirmed_at = created_at")
            .await
            .expect("confirm");
        let (status, body) = api(
            &script,
            Method::Post,
            "/api/articles",
            Some(&token),
            Some(json!({"article": {"title": "Now confirmed", "description": "d", "body": "b"}})),
        )
        .await;
        assert_eq!(status, Status::Created, "{body}");
    } else {
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
    }
    let res = post_form(&app.client, "/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(res.status(), Status::SeeOther);
}

#[rocket::async_test]
async fn with_require_confirmed_email_an_unconfirmed_account_reads_but_cannot_write_sqlite() {
    required_body(Engine::Sqlite, "account_review::required_sqlite", true).await;
}

#[rocket::async_test]
async fn with_require_confirmed_email_an_unconfirmed_account_reads_but_cannot_write_mysql() {
    required_body(Engine::MySql, "account_review::required_mysql", true).await;
}

#[rocket::async_test]
async fn without_require_confirmed_email_an_unconfirmed_account_writes_sqlite() {
    required_body(Engine::Sqlite, "account_review::not_required_sqlite", false).await;
}

#[rocket::async_test]
async fn without_require_confirmed_email_an_unconfirmed_account_writes_mysql() {
    required_body(Engine::MySql, "account_review::not_required_mysql", false).await;
}
