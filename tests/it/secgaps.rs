//! The gaps left after issue 18, tested as an attacker would, on both engines: a daily cap on
//! wrong two-factor codes (exact under concurrency) with a notice to the owner and a reset that
//! lifts it; a code for email and password changes when two-factor sign-in is on (JSON and the
//! settings page), nothing changed without it; housekeeping of the two-factor rows; a cap on
//! browser sessions; a sessions list that says what it leaves out, and "sign out everywhere
//! else" over JSON.

use chrono::{Duration, Utc};
use rocket::http::{ContentType, Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

use conduit::auth::code_check::NOTICE_SUBJECT;
use conduit::config::AppConfig;
use conduit::db::{Engine, UserId};

use crate::mail::{link_in, spawn_with_sink, RESET, WAIT};
use crate::smtp_sink::SmtpSink;
use crate::support::{api, csrf_of, get_page, post_form, race, register, scalar, texts};
use crate::two_factor::{enrol, login, next_code};
use crate::two_factor_web::{browser_login, code_step, page_of, password_step, signed_in};

/// A browser of its own (its own cookies) on the same app.
async fn browser(client: &Client) -> Client {
    Client::tracked(conduit::rocket_with(client.rocket().figment().clone()))
        .await
        .expect("a second browser")
}

/// The id of the account `name`.
pub(crate) async fn user_id(app: &crate::harness::TestApp, name: &str) -> UserId {
    UserId::new(
        scalar(
            app.db(),
            &format!("SELECT id FROM users WHERE username = '{name}'"),
        )
        .await,
    )
}

async fn password_hash(app: &crate::harness::TestApp, name: &str) -> String {
    crate::support::db_run!(app.db(), |c| sqlx::query_scalar::<_, String>(
        "SELECT password_hash FROM users WHERE username = ?"
    )
    .bind(name)
    .fetch_one(c)
    .await)
    .expect("a user")
}

mail_test!(
    |f| f
        .merge(("totp_max_failures_per_day", 6))
        .merge(("totp_failure_notice_after", 3))
        .merge(("login_max_per_account", 100))
        .merge(("login_max_per_ip", 1000)),
    async fn wrong_codes_past_the_daily_cap_are_refused_exactly_the_owner_is_told_once_and_a_reset_lifts_it(app, sink) {
        let jwt = register(&app.client, "capped").await;
        let (secret, _) = enrol(&app.client, &jwt).await;
        let client = &app.client;
        // Fourteen wrong codes at once, with the password: exactly six are looked at.
        let statuses: Vec<Status> = race(14, |i| async move {
            login(client, "capped", Some(&format!("{:06}", 100_000 + i))).await.0
        });
        let count = |s: Status| statuses.iter().filter(|x| **x == s).count();
        assert_eq!((count(Status::Unauthorized), count(Status::TooManyRequests)), (6, 8), "{statuses:?}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_failures").await, 6);
        // Past the cap even the right code is refused, for about a day.
        let res = client.post("/api/users/login").header(ContentType::JSON)
            .body(json!({"user": {"email": "capped@example.com", "password": "password-capped", "otp": next_code(&secret)}}).to_string())
            .dispatch().await;
        assert_eq!(res.status(), Status::TooManyRequests);
        let retry: i64 = res.headers().get_one("Retry-After").expect("Retry-After").parse().expect("seconds");
        assert!(retry > 23 * 3600, "{retry}");
        drop(res);
        // The site's code page too.
        let web = browser(client).await;
        assert_eq!(password_step(&web, "capped", false, None).await.status(), Status::SeeOther);
        let (status, page) = page_of(code_step(&web, &next_code(&secret)).await).await;
        assert_eq!(status, Status::TooManyRequests);
        assert_eq!(texts(&page, ".error-summary li").len(), 1);
        assert!(!signed_in(&web).await);
        // The owner was told once, whatever the number of wrong codes past the threshold.
        let notice = sink.wait_for_subject(NOTICE_SUBJECT, 1, WAIT).await.remove(0);
        assert_eq!(notice.header("To").as_deref(), Some("capped@example.com"));
        assert!(notice.part("text/plain").expect("text").contains("knows your password"));
        let notices = format!("SELECT COUNT(*) FROM outbox WHERE subject = '{NOTICE_SUBJECT}'");
        assert_eq!(scalar(app.db(), &notices).await, 1);

        // A password reset (by mail, the owner's) lifts the cap; the old password is gone.
        let (status, _) = api(client, Method::Post, "/api/users/password-reset", None, Some(json!({"user": {"email": "capped@example.com"}}))).await;
        assert_eq!(status, Status::Accepted);
        let mail = sink.wait_for_subject(RESET, 1, WAIT).await.remove(0);
        let link = link_in(&mail, "/password/reset/");
        let token = link.rsplit('/').next().expect("a token").to_owned();
        let (status, body) = api(client, Method::Post, "/api/users/password-reset/confirm", None, Some(json!({"reset": {"token": token, "password": "a-new-password-7"}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_failures").await, 0);
        let (status, body) = api(client, Method::Post, "/api/users/login", None, Some(json!({"user": {"email": "capped@example.com", "password": "a-new-password-7", "otp": next_code(&secret)}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(scalar(app.db(), &notices).await, 1, "no second notice");
    }
);

db_test!(
    async fn an_admins_reset_of_a_capped_second_factor_lifts_the_cap(app) {
        let jwt = register(&app.client, "locked").await;
        enrol(&app.client, &jwt).await;
        let id = user_id(&app, "locked").await;
        // A day's worth of wrong codes (the default cap, 20), then the right one is refused.
        for _ in 0..20 {
            crate::support::exec(
                app.db(),
                &format!("INSERT INTO totp_failures (user_id, created_at) VALUES ({}, '{}')", id.get(), Utc::now().format("%Y-%m-%d %H:%M:%S")),
            )
            .await
            .expect("a failure");
        }
        let (status, _) = login(&app.client, "locked", Some("123456")).await;
        assert_eq!(status, Status::TooManyRequests);
        // An admin resets the owner's second factor from the console: the cap goes with it.
        register(&app.client, "keeper").await;
        crate::support::exec(app.db(), "UPDATE users SET role = 'admin' WHERE username = 'keeper'").await.expect("admin");
        let console = browser(&app.client).await;
        browser_login(&console, "keeper", None).await;
        let (status, page) = get_page(&console, &format!("/admin/users/{}", id.get())).await;
        assert_eq!(status, Status::Ok);
        let res = post_form(&console, &format!("/admin/users/{}/two-factor/reset", id.get()), &[("csrf_token", &csrf_of(&page))]).await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp WHERE enabled_at IS NOT NULL").await, 0, "reset");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_failures").await, 0, "the cap lifted");
        // Enrolled again, the owner signs in with a code at once.
        let (status, body) = login(&app.client, "locked", None).await;
        assert_eq!(status, Status::Ok, "two-factor off: the password alone: {body}");
        let fresh = body["user"]["token"].as_str().expect("a token").to_owned();
        let (secret, _) = enrol(&app.client, &fresh).await;
        let (status, body) = login(&app.client, "locked", Some(&next_code(&secret))).await;
        assert_eq!(status, Status::Ok, "{body}");
    }
);

db_test!(
    async fn with_two_factor_on_the_json_email_or_password_change_takes_a_code(app) {
        let jwt = register(&app.client, "dual").await;
        let (secret, codes) = enrol(&app.client, &jwt).await;
        let client = &app.client;
        let before = password_hash(&app, "dual").await;
        let token = std::cell::RefCell::new(jwt.clone());
        let put = |user: serde_json::Value| {
            let jwt = token.borrow().clone();
            async move { api(client, Method::Put, "/api/user", Some(&jwt), Some(json!({ "user": user }))).await }
        };
        for (otp, said) in [(None, "can't be blank"), (Some(""), "can't be blank"), (Some("000000"), "is not correct"), (Some("not-a-code"), "is not correct")] {
            let mut user = json!({"password": "brand-new-pass-1"});
            if let Some(otp) = otp {
                user["otp"] = json!(otp);
            }
            let (status, body) = put(user).await;
            assert_eq!(status, Status::UnprocessableEntity, "{otp:?}: {body}");
            assert_eq!(body["errors"]["otp"], json!([said]), "{body}");
            let (status, body) = put(json!({"email": "elsewhere@example.com", "otp": otp})).await;
            assert_eq!(status, Status::UnprocessableEntity, "{otp:?}: {body}");
        }
        // Nothing changed, nothing mailed to the new address; the wrong codes were counted.
        assert_eq!(password_hash(&app, "dual").await, before);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM outbox WHERE recipient = 'elsewhere@example.com'").await, 0);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_failures").await, 4);
        // Other fields need no code.
        let (status, body) = put(json!({"bio": "still me"})).await;
        assert_eq!(status, Status::Ok, "{body}");
        // A right code, then a recovery code, each once.
        let (status, body) = put(json!({"password": "brand-new-pass-1", "otp": next_code(&secret)})).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_ne!(password_hash(&app, "dual").await, before);
        // The password change re-issued this login's token (the old one is revoked).
        *token.borrow_mut() = body["user"]["token"].as_str().expect("a new token").to_owned();
        let (status, body) = put(json!({"email": "elsewhere@example.com", "otp": codes[0]})).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM outbox WHERE recipient = 'elsewhere@example.com'").await, 1);
        let (status, _) = put(json!({"email": "again@example.com", "otp": codes[0]})).await;
        assert_eq!(status, Status::UnprocessableEntity, "a used recovery code");
    }
);

db_test!(
    async fn with_two_factor_on_the_settings_page_asks_a_code_to_change_email_or_password(app) {
        let jwt = register(&app.client, "webby").await;
        let (_, codes) = enrol(&app.client, &jwt).await;
        let client = &app.client;
        browser_login(client, "webby", Some(&codes[0])).await;
        let before = password_hash(&app, "webby").await;
        let (_, page) = get_page(client, "/settings").await;
        assert_eq!(texts(&page, "label[for=code]").len(), 1, "a code field");
        for (code, said) in [("", "code can't be blank"), ("000000", "code is not correct")] {
            let (_, page) = get_page(client, "/settings").await;
            let csrf = csrf_of(&page);
            let fields = [("csrf_token", csrf.as_str()), ("username", "webby"), ("email", "webby@example.com"), ("password", "another-password-9"), ("current_password", "password-webby"), ("code", code)];
            let (status, page) = page_of(post_form(client, "/settings", &fields).await).await;
            assert_eq!(status, Status::UnprocessableEntity, "{code:?}");
            assert_eq!(texts(&page, ".error-summary li"), vec![said]);
        }
        assert_eq!(password_hash(&app, "webby").await, before);
        let (_, page) = get_page(client, "/settings").await;
        let csrf = csrf_of(&page);
        let fields = [("csrf_token", csrf.as_str()), ("username", "webby"), ("email", "webby@example.com"), ("password", "another-password-9"), ("current_password", "password-webby"), ("code", codes[1].as_str())];
        let res = post_form(client, "/settings", &fields).await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
        assert_ne!(password_hash(&app, "webby").await, before);
        assert!(signed_in(client).await, "this browser stays signed in");
    }
);

db_test!(
    async fn housekeeping_prunes_expired_two_factor_rows(app) {
        register(&app.client, "house").await;
        let id = user_id(&app, "house").await;
        let now = Utc::now();
        // A completed half-done sign-in still live, and one past its expiry.
        assert!(conduit::db::totp::use_pending(app.db(), id, "live-nonce", now + Duration::minutes(5)).await.expect("recorded"));
        assert!(conduit::db::totp::use_pending(app.db(), id, "old-nonce", now - Duration::minutes(1)).await.expect("recorded"));
        for _ in 0..2 {
            conduit::db::throttle::reserve_code_check(app.db(), id, 20, Duration::hours(24)).await.expect("reserved");
        }
        let config = app.client.rocket().state::<AppConfig>().expect("config");
        let pruned = conduit::housekeeping::prune(app.db(), config, Utc::now()).await.expect("prune");
        assert_eq!((pruned.totp_pending_used, pruned.totp_failures), (1, 0));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_pending_used WHERE nonce = 'live-nonce'").await, 1);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_pending_used").await, 1);
        // A day later the wrong codes no longer count, and the other sign-in has expired.
        let pruned = conduit::housekeeping::prune(app.db(), config, now + Duration::hours(25)).await.expect("prune");
        assert_eq!((pruned.totp_pending_used, pruned.totp_failures), (1, 2));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_pending_used").await + scalar(app.db(), "SELECT COUNT(*) FROM totp_failures").await, 0);
    }
);

async fn browser_cap(engine: Engine, test: &str) {
    let Some(app) =
        crate::harness::TestApp::spawn_with(engine, test, |f| f.merge(("browser_sessions_max", 3)))
            .await
    else {
        return;
    };
    let jwt = register(&app.client, "many").await;
    let mut browsers = Vec::new();
    for _ in 0..5 {
        let b = browser(&app.client).await;
        browser_login(&b, "many", None).await;
        browsers.push(b);
    }
    // The two oldest sign-ins were ended; their cookies no longer work.
    let mut live = Vec::new();
    for b in &browsers {
        live.push(signed_in(b).await);
    }
    assert_eq!(live, vec![false, false, true, true, true]);
    assert_eq!(
        scalar(
            app.db(),
            "SELECT COUNT(*) FROM sessions WHERE kind = 'browser' AND revoked_at IS NULL"
        )
        .await,
        3
    );
    // The API login is of the other kind: untouched.
    assert_eq!(
        api(&app.client, Method::Get, "/api/user", Some(&jwt), None)
            .await
            .0,
        Status::Ok
    );
}

mod browser_sign_ins_past_the_cap_end_the_oldest {
    use super::*;

    #[rocket::async_test]
    async fn sqlite() {
        browser_cap(Engine::Sqlite, concat!(module_path!(), "::sqlite")).await;
    }

    #[rocket::async_test]
    async fn mysql() {
        browser_cap(Engine::MySql, concat!(module_path!(), "::mysql")).await;
    }
}

db_test!(
    async fn a_long_sessions_list_says_how_many_it_leaves_out_and_all_but_this_one_can_be_ended(app) {
        let jwt = register(&app.client, "crowd").await;
        let id = user_id(&app, "crowd").await;
        let until = conduit::db::now() + Duration::hours(1);
        for _ in 0..104 {
            let sid = conduit::auth::token::random_id();
            conduit::db::sessions::create(app.db(), &sid, id, conduit::db::sessions::Kind::Api, false, until, None, 1000).await.expect("a session");
        }
        let web = browser(&app.client).await;
        browser_login(&web, "crowd", None).await;
        // 106 live: 100 listed, this one among them, 6 said to be left out.
        let (status, page) = get_page(&web, "/settings/sessions").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, "tr.session-row").len(), 100);
        assert_eq!(texts(&page, "tr.session-current").len(), 1);
        let more = texts(&page, "p.sessions-not-listed");
        assert_eq!(more.len(), 1);
        assert!(more[0].starts_with("6 more sessions are not shown"), "{more:?}");
        assert_eq!(texts(&page, "form.end-other-sessions-form").len(), 1);
        let (status, body) = api(&app.client, Method::Get, "/api/user/sessions", Some(&jwt), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        let listed = body["sessions"].as_array().expect("a list");
        assert_eq!((listed.len(), body["notListed"].clone()), (100, json!(6)));
        assert_eq!(listed.iter().filter(|s| s["current"] == true).count(), 1, "the caller's own is listed");
        // Sign out everywhere else, over JSON: every other one ends, this one stays.
        let (status, body) = api(&app.client, Method::Delete, "/api/user/sessions", Some(&jwt), None).await;
        assert_eq!((status, body), (Status::Ok, json!({"ended": 105})));
        let (_, body) = api(&app.client, Method::Get, "/api/user/sessions", Some(&jwt), None).await;
        assert_eq!((body["sessions"].as_array().expect("a list").len(), body["notListed"].clone()), (1, json!(0)));
        assert!(!signed_in(&web).await);
    }
);
