//! Mail and account recovery, through a real SMTP conversation with the test sink
//! (`smtp_sink.rs`): the tests follow the links in the mails as a user would, on both engines.

use std::time::Duration;

use conduit::db::Engine;
use rocket::http::{ContentType, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use scraper::Html;
use serde_json::json;

use crate::harness::TestApp;
use crate::smtp_sink::{Received, SmtpSink};
use crate::support::{
    api, attrs, browser_register, csrf_of, get_page, json_of, post_form, race, scalar,
    script_client, texts,
};

/// The `public_url` the apps run with: every link in a mail starts with it.
pub const PUBLIC: &str = "https://conduit.example";

/// How long a test waits for a mail the app queued.
pub const WAIT: Duration = Duration::from_secs(20);

/// An app that sends mail to `sink`, retries after a second, and looks at the outbox every
/// two seconds when nothing wakes it.
pub async fn spawn_with_sink(
    engine: Engine,
    test: &str,
    sink: &str,
    adjust: impl FnOnce(rocket::figment::Figment) -> rocket::figment::Figment,
) -> Option<TestApp> {
    let sink = sink.to_owned();
    TestApp::spawn_with(engine, test, move |f| {
        adjust(
            f.merge(("public_url", PUBLIC))
                .merge(("smtp_url", sink))
                .merge(("mail_retry_seconds", 1))
                .merge(("mail_poll_seconds", 2)),
        )
    })
    .await
}

/// One test body on SQLite and on MariaDB with a sink running and the app sending to it;
/// `|f| ...` adjusts the configuration further.
macro_rules! mail_test {
    ($(|$f:ident| $adjust:expr,)? async fn $name:ident($app:ident, $sink:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[rocket::async_test]
            async fn sqlite() {
                let $sink = SmtpSink::start().await;
                let $app = spawn_with_sink(Engine::Sqlite, concat!(module_path!(), "::sqlite"), &$sink.url(), |f| {
                    $(let $f = f; let f = $adjust;)?
                    f
                })
                .await
                .expect("sqlite is always available");
                $body
            }

            #[rocket::async_test]
            async fn mysql() {
                let $sink = SmtpSink::start().await;
                let Some($app) = spawn_with_sink(Engine::MySql, concat!(module_path!(), "::mysql"), &$sink.url(), |f| {
                    $(let $f = f; let f = $adjust;)?
                    f
                })
                .await
                else {
                    return;
                };
                $body
            }
        }
    };
}

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

/// The site path of the one link in `mail`'s text part that starts with `PUBLIC` + `prefix`;
/// the HTML part links to the same place.
pub fn link_in(mail: &Received, prefix: &str) -> String {
    let text = mail.part("text/plain").expect("a text part");
    let base = format!("{PUBLIC}{prefix}");
    let links: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.starts_with(&base))
        .collect();
    assert_eq!(links.len(), 1, "one link in: {text}");
    let html = Html::parse_document(&mail.part("text/html").expect("an HTML part"));
    assert!(
        attrs(&html, "a", "href").iter().any(|h| h == links[0]),
        "the HTML part links to {}",
        links[0]
    );
    links[0][PUBLIC.len()..].to_owned()
}

/// Follow a confirmation link as a person does: open the page it leads to (which changes
/// nothing: it is sent with no referrer to other sites and holds a button) and press the button. The answer
/// to the button.
pub async fn confirm_through<'c>(client: &'c Client, link: &str) -> LocalResponse<'c> {
    let res = client.get(link.to_owned()).dispatch().await;
    assert_eq!(res.status(), Status::Ok, "{link}");
    assert_eq!(
        res.headers().get_one("Referrer-Policy"),
        Some("strict-origin")
    );
    let page = Html::parse_document(&res.into_string().await.unwrap_or_default());
    assert_eq!(texts(&page, "h1"), vec!["Confirm your email"]);
    let action = attrs(&page, "form.confirm-email-form", "action");
    let token = attrs(&page, "form.confirm-email-form input[name=token]", "value");
    assert!(!action[0].contains(&token[0]), "the token goes in the body");
    post_form(
        client,
        &action[0],
        &[("csrf_token", &csrf_of(&page)), ("token", &token[0])],
    )
    .await
}

/// Ask for a reset link for `email` through the site's form, as an anonymous visitor would
/// from the sign-in page: where the form sends them, and the flash they see there.
async fn forgot_through_the_site(client: &Client, email: &str) -> (String, Vec<String>) {
    let (_, login) = get_page(client, "/login").await;
    let forgot = attrs(&login, ".forgot a", "href");
    assert_eq!(
        forgot,
        vec!["/password/forgot"],
        "a 'Forgot password?' link"
    );
    assert_eq!(texts(&login, ".forgot a"), vec!["Forgot password?"]);
    let (status, page) = get_page(client, &forgot[0]).await;
    assert_eq!(status, Status::Ok);
    let action = attrs(&page, "form.forgot-form", "action");
    let res = post_form(
        client,
        &action[0],
        &[("csrf_token", &csrf_of(&page)), ("email", email)],
    )
    .await;
    assert_eq!(res.status(), Status::SeeOther);
    let to = location(&res);
    let (_, landed) = get_page(client, &to).await;
    (to, texts(&landed, ".flash"))
}

/// The subject of reset mails.
pub const RESET: &str = "Reset your Conduit password";

/// An account made by an operator (no confirmation mail: the tests here count mails), with
/// the password `password-<name>`; an API token for it.
async fn quiet_register(app: &TestApp, name: &str) -> String {
    conduit::auth::account::create(
        app.db(),
        name,
        &format!("{name}@example.com"),
        &format!("password-{name}"),
        conduit::db::users::Role::User,
    )
    .await
    .expect("an account");
    let body = json!({"user": {"email": format!("{name}@example.com"), "password": format!("password-{name}")}});
    let (status, value) = api(
        &script_client(&app.client).await,
        Method::Post,
        "/api/users/login",
        None,
        Some(body),
    )
    .await;
    assert_eq!(status, Status::Ok, "{value}");
    value["user"]["token"].as_str().expect("token").to_owned()
}

/// Log in over the API.
async fn api_login(client: &Client, email: &str, password: &str) -> Status {
    let body = json!({"user": {"email": email, "password": password}});
    api(client, Method::Post, "/api/users/login", None, Some(body))
        .await
        .0
}

mail_test!(
    async fn a_forgotten_password_is_reset_through_the_link_in_the_mail(app, sink) {
        // Signed in on a browser (another instance of the app, on the same database) and with
        // an API token; then it is forgotten.
        let browser = Client::tracked(conduit::rocket_with(app.client.rocket().figment().clone())).await.unwrap();
        browser_register(&browser, "rosa").await;
        let script = script_client(&app.client).await;
        let visitor = &app.client;
        let api_token = {
            let (status, body) = api(&script, Method::Post, "/api/users/login", None, Some(json!({"user": {"email": "rosa@example.com", "password": "password-rosa"}}))).await;
            assert_eq!(status, Status::Ok, "{body}");
            body["user"]["token"].as_str().unwrap().to_owned()
        };
        let (to, flash) = forgot_through_the_site(visitor, "rosa@example.com").await;
        assert_eq!(to, "/login");
        assert_eq!(flash.len(), 1, "{flash:?}");
        assert!(flash[0].starts_with("If an account has that email, a link"), "{flash:?}");

        let mails = sink.wait_for_subject(RESET, 1, WAIT).await;
        let mail = &mails[0];
        assert_eq!(mail.to, vec!["rosa@example.com"]);
        assert_eq!(mail.from, "conduit@localhost");
        assert_eq!(mail.header("Subject").as_deref(), Some("Reset your Conduit password"));
        assert!(mail.header("Message-ID").unwrap().ends_with("@conduit.example>"));
        let link = link_in(mail, "/password/reset/");
        let token = link.trim_start_matches("/password/reset/");
        // Marked sent once the server has taken it (just after the sink has it: wait for that).
        let sent = "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND subject = 'Reset your Conduit password'";
        let deadline = std::time::Instant::now() + WAIT;
        while scalar(app.db(), sent).await == 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(scalar(app.db(), sent).await, 1);
        // Once out, the mail's bodies (which hold the live link) are not kept.
        assert_eq!(scalar(app.db(), &format!("{sent} AND body_text = '' AND body_html = ''")).await, 1);
        // Stored hashed only.
        let stored = scalar(app.db(), &format!("SELECT COUNT(*) FROM account_tokens WHERE token_hash = '{token}'")).await;
        assert_eq!(stored, 0, "the token itself is not stored");
        let hashed = conduit::auth::recovery::token_hash(token);
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM account_tokens WHERE token_hash = '{hashed}' AND used_at IS NULL")).await, 1);

        // The link opens a form; nothing is sent on to other sites.
        let res = visitor.get(link.clone()).dispatch().await;
        assert_eq!(res.headers().get_one("Referrer-Policy"), Some("strict-origin"));
        assert_eq!(res.headers().get_one("Cache-Control"), Some("no-store"));
        let (status, page) = page_of(res).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, "h1"), vec!["Choose a new password"]);
        let action = attrs(&page, "form.reset-form", "action")[0].clone();
        assert_eq!(attrs(&page, "form.reset-form input[name=token]", "value"), vec![token.to_owned()]);
        assert!(!action.contains(token), "the form posts the token in its body");

        // The registration rules hold; a refused password leaves the link working.
        let csrf = csrf_of(&page);
        let res = post_form(visitor, &action, &[("csrf_token", &csrf), ("token", token), ("password", "short")]).await;
        let (status, page) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&page, ".field-error"), vec!["Password is too short (minimum is 8 characters)"]);
        let res = post_form(visitor, &action, &[("csrf_token", &csrf), ("token", token), ("password", "rosa")]).await;
        assert_eq!(res.status(), Status::UnprocessableEntity, "not the username");

        let res = post_form(visitor, &action, &[("csrf_token", &csrf), ("token", token), ("password", "a brand new secret")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(location(&res), "/login");
        let (_, login) = get_page(visitor, "/login").await;
        assert!(texts(&login, ".flash")[0].starts_with("Your password has been changed"));

        // Every other session and token ended; the new password works, the old one does not.
        let res = browser.get("/settings").dispatch().await;
        assert_eq!(res.status(), Status::SeeOther, "the browser was signed out");
        assert!(location(&res).starts_with("/login"));
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&api_token), None).await.0, Status::Unauthorized);
        assert_eq!(api_login(visitor, "rosa@example.com", "password-rosa").await, Status::Unauthorized);
        assert_eq!(api_login(visitor, "rosa@example.com", "a brand new secret").await, Status::Ok);

        // The link works once.
        let (status, page) = get_page(visitor, &link).await;
        assert_eq!(status, Status::Gone);
        assert_eq!(texts(&page, "h1"), vec!["This link no longer works"]);
        assert_eq!(attrs(&page, "a.again", "href"), vec!["/password/forgot"]);
        let res = post_form(visitor, &action, &[("csrf_token", &csrf), ("token", token), ("password", "yet another secret")]).await;
        assert_eq!(res.status(), Status::Gone);
        assert_eq!(api_login(visitor, "rosa@example.com", "a brand new secret").await, Status::Ok, "nothing changed");

        // And the owner hears of the change.
        let mails = sink.wait_for_subject("Your Conduit password was changed", 1, WAIT).await;
        assert_eq!(mails[0].to, vec!["rosa@example.com"]);
        link_in(&mails[0], "/password/forgot");
    }
);

mail_test!(
    |f| f.merge(("reset_max_per_email", 2)),
    async fn reset_requests_answer_alike_for_every_email_and_past_the_limit_mail_nothing(app, sink) {
        quiet_register(&app, "sam").await;
        let ask = |email: &'static str| {
            let client = &app.client;
            async move {
                let res = client.post("/api/users/password-reset").header(ContentType::JSON)
                    .body(json!({"user": {"email": email}}).to_string()).dispatch().await;
                let retry = res.headers().get_one("Retry-After").map(str::to_owned);
                let (status, body) = json_of(res).await;
                (status, body, retry)
            }
        };
        let known = ask("sam@example.com").await;
        let unknown = ask("nobody@example.com").await;
        assert_eq!(known.0, Status::Accepted);
        assert_eq!((known.0, &known.1), (unknown.0, &unknown.1), "the same answer");
        assert_eq!(known.1, json!({"reset": {"requested": true}}));
        // Letter case does not make another email.
        assert_eq!(ask("SAM@example.com").await.0, Status::Accepted);
        // Unknown or not, past two requests for one email within the hour nothing more is
        // mailed, but the answer stays the same 202 (the "202 always"; a 429 would
        // tell the limit was reached, and used to lock the owner out).
        assert_eq!(ask("nobody@example.com").await.0, Status::Accepted);
        for email in ["SAM@EXAMPLE.COM", "nobody@example.com"] {
            let (status, body, retry) = ask(email).await;
            assert_eq!((status, &body), (known.0, &known.1), "{email}: the same answer");
            assert_eq!(retry, None, "{email}");
        }
        let (status, body, _) = ask("not an email").await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(body["errors"]["email"], json!(["is invalid"]));
        let (status, _) = api(&app.client, Method::Post, "/api/users/password-reset", None, Some(json!({"user": {}}))).await;
        assert_eq!(status, Status::UnprocessableEntity, "a missing email");
        let res = app.client.post("/api/users/password-reset").header(ContentType::JSON).body("{\"user\":").dispatch().await;
        assert!(res.status().code >= 400 && res.status().code < 500, "{}", res.status());

        // Two mails for the account, none for the unknown address.
        let mails = sink.wait_for(2, WAIT).await;
        assert!(mails.iter().all(|m| m.to == vec!["sam@example.com"]), "{mails:?}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM outbox").await, 2);
        // Two links, both live until one is used: then the other is used up too.
        let first = link_in(&mails[0], "/password/reset/");
        let second = link_in(&mails[1], "/password/reset/");
        assert_ne!(first, second);
        let confirm = |link: &str, password: &str| {
            json!({"reset": {"token": link.trim_start_matches("/password/reset/"), "password": password}})
        };
        let (status, body) = api(&app.client, Method::Post, "/api/users/password-reset/confirm", None, Some(confirm(&second, "second new password"))).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body["reset"]["username"], "sam");
        let (status, body) = api(&app.client, Method::Post, "/api/users/password-reset/confirm", None, Some(confirm(&first, "first new password"))).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(body, json!({"errors": {"body": ["token is invalid or has expired"], "token": ["is invalid or has expired"]}}));
        assert_eq!(api_login(&app.client, "sam@example.com", "second new password").await, Status::Ok);
    }
);

mail_test!(
    async fn an_expired_or_forged_link_shows_a_clear_page_and_changes_nothing(app, sink) {
        quiet_register(&app, "tom").await;
        let (status, _) = api(&app.client, Method::Post, "/api/users/password-reset", None, Some(json!({"user": {"email": "tom@example.com"}}))).await;
        assert_eq!(status, Status::Accepted);
        let mails = sink.wait_for(1, WAIT).await;
        let link = link_in(&mails[0], "/password/reset/");
        let token = link.trim_start_matches("/password/reset/").to_owned();
        // 31 minutes later.
        crate::support::exec(app.db(), "UPDATE account_tokens SET expires_at = created_at").await.unwrap();
        let (status, page) = get_page(&app.client, &link).await;
        assert_eq!(status, Status::Gone);
        assert!(texts(&page, ".explanation")[0].contains("Nothing was changed"));
        let (status, body) = api(&app.client, Method::Post, "/api/users/password-reset/confirm", None, Some(json!({"reset": {"token": token, "password": "a new password"}}))).await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}");
        assert_eq!(body["errors"]["token"], json!(["is invalid or has expired"]));
        for forged in ["x", "../../etc/passwd", &"A".repeat(43), &"A".repeat(5000)] {
            let (status, body) = api(&app.client, Method::Post, "/api/users/password-reset/confirm", None, Some(json!({"reset": {"token": forged, "password": "a new password"}}))).await;
            assert_eq!(status, Status::UnprocessableEntity, "{forged}: {body}");
            let status = app.client.get(format!("/password/reset/{}", crate::support::percent_encode(forged))).dispatch().await.status();
            assert!(status == Status::Gone || status == Status::NotFound, "{forged}: {status}");
        }
        let (status, _) = api(&app.client, Method::Post, "/api/users/password-reset/confirm", None, Some(json!({"reset": {}}))).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(api_login(&app.client, "tom@example.com", "password-tom").await, Status::Ok, "the password is as it was");
    }
);

mail_test!(
    async fn two_uses_of_one_link_at_once_set_exactly_one_password(app, sink) {
        let token = quiet_register(&app, "uma").await;
        let (status, _) = api(&app.client, Method::Post, "/api/users/password-reset", None, Some(json!({"user": {"email": "uma@example.com"}}))).await;
        assert_eq!(status, Status::Accepted);
        let link = link_in(&sink.wait_for(1, WAIT).await[0], "/password/reset/");
        let reset_token = link.trim_start_matches("/password/reset/").to_owned();
        let outcomes = race(4, |i| {
            let body = json!({"reset": {"token": reset_token, "password": format!("racer number {i}")}});
            let client = &app.client;
            async move { api(client, Method::Post, "/api/users/password-reset/confirm", None, Some(body)).await.0 }
        });
        let won: Vec<usize> = (0..4).filter(|&i| outcomes[i] == Status::Ok).collect();
        assert_eq!(won.len(), 1, "{outcomes:?}");
        assert!(outcomes.iter().all(|s| *s == Status::Ok || *s == Status::UnprocessableEntity), "{outcomes:?}");
        for i in 0..4 {
            let expected = if i == won[0] { Status::Ok } else { Status::Unauthorized };
            assert_eq!(api_login(&app.client, "uma@example.com", &format!("racer number {i}")).await, expected, "racer {i}");
        }
        assert_eq!(api(&app.client, Method::Get, "/api/user", Some(&token), None).await.0, Status::Unauthorized);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM outbox WHERE subject = 'Your Conduit password was changed'").await, 1, "one notice");
    }
);

/// The outbox's (status, attempts, last error set) for its only mail.
async fn only_mail(app: &TestApp) -> (String, i64, i64) {
    let status = if scalar(
        app.db(),
        "SELECT COUNT(*) FROM outbox WHERE status = 'sent'",
    )
    .await
        == 1
    {
        "sent"
    } else if scalar(
        app.db(),
        "SELECT COUNT(*) FROM outbox WHERE status = 'failed'",
    )
    .await
        == 1
    {
        "failed"
    } else {
        "pending"
    };
    (
        status.to_owned(),
        scalar(app.db(), "SELECT MAX(attempts) FROM outbox").await,
        scalar(
            app.db(),
            "SELECT COUNT(*) FROM outbox WHERE last_error IS NOT NULL",
        )
        .await,
    )
}

/// Wait (at most `WAIT`) until `check` holds for the only mail's state.
async fn until(app: &TestApp, check: impl Fn(&(String, i64, i64)) -> bool) -> (String, i64, i64) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let state = only_mail(app).await;
        if check(&state) {
            return state;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting; the mail is {state:?}"
        );
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

mail_test!(
    async fn a_mail_server_outage_loses_no_mail(app, sink) {
        quiet_register(&app, "vic").await;
        let port = sink.stop().await;
        let (status, _) = api(&app.client, Method::Post, "/api/users/password-reset", None, Some(json!({"user": {"email": "vic@example.com"}}))).await;
        assert_eq!(status, Status::Accepted, "the request does not wait on the mail server");
        // Tried, failed, kept for a retry.
        let (state, attempts, errors) = until(&app, |(_, _, errors)| *errors >= 1).await;
        assert_eq!((state.as_str(), errors), ("pending", 1), "{attempts}");
        // The server comes back: the retry delivers it.
        let sink = SmtpSink::start_on(port).await;
        let mails = sink.wait_for(1, WAIT).await;
        assert_eq!(mails[0].to, vec!["vic@example.com"]);
        let (state, attempts, _) = until(&app, |(s, _, _)| s == "sent").await;
        assert!(attempts >= 2, "{attempts}");
        assert_eq!(state, "sent");
        link_in(&mails[0], "/password/reset/");
    }
);

mail_test!(
    |f| f.merge(("mail_max_attempts", 2)),
    async fn a_mail_that_cannot_be_sent_is_failed_after_its_attempts_and_shown_to_admins(app, sink) {
        quiet_register(&app, "wes").await;
        sink.stop().await;
        let (status, _) = api(&app.client, Method::Post, "/api/users/password-reset", None, Some(json!({"user": {"email": "wes@example.com"}}))).await;
        assert_eq!(status, Status::Accepted);
        let (_, attempts, errors) = until(&app, |(s, _, _)| s == "failed").await;
        assert_eq!((attempts, errors), (2, 1));
        let failed = conduit::db::outbox::list_failed(app.db(), 10).await.unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].recipient, "wes@example.com");
        assert!(failed[0].last_error.as_deref().unwrap_or_default().len() > 3);
        let counts = conduit::db::outbox::counts(app.db()).await.unwrap();
        assert_eq!((counts.pending, counts.failed), (0, 1));

        // Admins see it on the dashboard, and so does a metrics scraper.
        quiet_register(&app, "boss").await;
        crate::admin::make_admin(&app, "boss").await;
        let (_, login) = get_page(&app.client, "/login").await;
        let res = post_form(&app.client, "/login", &[("csrf_token", &csrf_of(&login)), ("email", "boss@example.com"), ("password", "password-boss")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let (status, page) = get_page(&app.client, "/admin").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, "dd[data-count=mail-failed]"), vec!["1"]);
        assert_eq!(texts(&page, "dd[data-count=mail-pending]"), vec!["0"]);
        assert_eq!(texts(&page, "table.failed-mail tbody td:nth-child(2)"), vec!["wes@example.com"]);
        let res = app.client.get("/metrics").remote("127.0.0.1:40000".parse().unwrap()).dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        let body = res.into_string().await.unwrap();
        assert!(body.lines().any(|l| l == "conduit_mail_outbox_failed 1"), "{body}");
        assert!(body.lines().any(|l| l == "conduit_mail_outbox_pending 0"), "{body}");
    }
);

mail_test!(
    |f| f.merge(("mail_poll_seconds", 0)),
    async fn senders_racing_over_the_outbox_send_each_mail_once(app, sink) {
        // No background sender here: four passes race over thirty mails.
        for i in 0..30 {
            let mail = conduit::db::outbox::NewMail {
                recipient: format!("reader{i}@example.com"),
                subject: format!("Mail {i}"),
                text: format!("Hello {i}"),
                html: format!("<p>Hello {i}</p>"),
            };
            conduit::db::outbox::insert(app.db(), &mail).await.unwrap();
        }
        let mailer = app.client.rocket().state::<conduit::mail::Mailer>().unwrap().clone();
        let db = app.db().clone();
        let passes = race(4, |_| {
            let (mailer, db) = (mailer.clone(), db.clone());
            async move { mailer.deliver_due(&db).await.unwrap() }
        });
        assert_eq!(passes.iter().map(|p| p.sent).sum::<usize>(), 30, "{passes:?}");
        assert_eq!(passes.iter().map(|p| p.claimed).sum::<usize>(), 30, "{passes:?}");
        let mails = sink.wait_for(30, WAIT).await;
        rocket::tokio::time::sleep(Duration::from_millis(300)).await;
        let mails = if sink.messages().len() > mails.len() { sink.messages() } else { mails };
        assert_eq!(mails.len(), 30, "no mail twice");
        let mut ids: Vec<String> = mails.iter().map(|m| m.header("Message-ID").unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 30);
        let mut subjects: Vec<String> = mails.iter().map(|m| m.header("Subject").unwrap()).collect();
        subjects.sort();
        subjects.dedup();
        assert_eq!(subjects.len(), 30);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts = 1").await, 30);
        // A further pass finds nothing to do.
        assert_eq!(mailer.deliver_due(&db).await.unwrap(), conduit::mail::Pass::default());
    }
);

db_test!(
    async fn without_a_mail_server_mail_goes_to_private_files_and_the_flow_works(app) {
        quiet_register(&app, "xia").await;
        let (status, _) = api(&app.client, Method::Post, "/api/users/password-reset", None, Some(json!({"user": {"email": "xia@example.com"}}))).await;
        assert_eq!(status, Status::Accepted);
        let dir = app.dir.join("mail");
        let deadline = std::time::Instant::now() + WAIT;
        let file = loop {
            let found: Vec<_> = std::fs::read_dir(&dir).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
            if let Some(file) = found.into_iter().find(|p| p.extension().is_some_and(|e| e == "eml")) {
                break file;
            }
            assert!(std::time::Instant::now() < deadline, "no mail file in {}", dir.display());
            rocket::tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions()) & 0o777, 0o600);
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&dir).unwrap().permissions()) & 0o777, 0o700);
        let mail = Received { from: String::new(), to: Vec::new(), data: std::fs::read(&file).unwrap() };
        assert_eq!(mail.header("To").as_deref(), Some("xia@example.com"));
        let text = mail.part("text/plain").unwrap();
        let link = text.split_whitespace().find(|w| w.contains("/password/reset/")).unwrap();
        let path = &link[link.find("/password/reset/").unwrap()..];
        let token = path.trim_start_matches("/password/reset/");
        let (status, body) = api(&app.client, Method::Post, "/api/users/password-reset/confirm", None, Some(json!({"reset": {"token": token, "password": "from a file"}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(api_login(&app.client, "xia@example.com", "from a file").await, Status::Ok);
    }
);

db_test!(
    async fn reset_forms_need_their_form_token(app) {
        let (_, page) = get_page(&app.client, "/password/forgot").await;
        assert_eq!(texts(&page, "h1"), vec!["Forgot your password?"]);
        let res = post_form(&app.client, "/password/forgot", &[("email", "a@example.com")]).await;
        assert_eq!(res.status(), Status::Forbidden);
        let res = post_form(&app.client, "/password/reset", &[("token", "x"), ("password", "whatever it is")]).await;
        assert_eq!(res.status(), Status::Forbidden);
        let res = post_form(&app.client, "/password/forgot", &[("csrf_token", &csrf_of(&page)), ("email", "")]).await;
        let (status, page) = page_of(res).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&page, ".field-error"), vec!["Email can't be blank"]);
    }
);
