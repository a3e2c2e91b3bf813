//! Two-factor sign-in over JSON (issue 18): enrolment, sign-in with and without a code, replays,
//! recovery codes, throttling, what personal access tokens and stale logins may not do, the
//! notices by mail, and `admin_require_2fa`. Codes are computed here with `totp-rs` from the
//! secret the API returns, as an authenticator app would.

use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::mail::spawn_with_sink;
use crate::smtp_sink::SmtpSink;
use crate::support::{api, api_when_free, claims_of, exec, forge, race, register, scalar};
use conduit::db::Engine;

/// The current Unix time.
pub fn unix_now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).expect("after 1970")
}

/// The code an authenticator app shows for base32 `secret` at `at` (Unix seconds).
pub fn code_at(secret: &str, at: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.replace(' ', ""))
        .to_bytes()
        .expect("a base32 secret");
    totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        String::new(),
    )
    .generate(at)
}

/// A code for the time step after the current one (accepted within the skew, and after a code
/// for the current step was used).
pub fn next_code(secret: &str) -> String {
    code_at(secret, unix_now() + 30)
}

/// Start an enrolment for the holder of `jwt`: the secret.
pub async fn begin(client: &Client, jwt: &str) -> String {
    // The current password is in the request (the owner's, as `support::register` made it).
    let (_, me) = api(client, Method::Get, "/api/user", Some(jwt), None).await;
    let password = format!(
        "password-{}",
        me["user"]["username"].as_str().expect("a user")
    );
    let body = json!({"totp": {"password": password}});
    let (status, body) =
        api_when_free(client, Method::Post, "/api/user/totp", Some(jwt), &body).await;
    assert_eq!(status, Status::Ok, "{body}");
    let secret = body["totp"]["secret"].as_str().expect("secret").to_owned();
    let uri = body["totp"]["uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/Conduit:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("issuer=Conduit"), "{uri}");
    assert_eq!(
        body["totp"].as_object().expect("as expected").len(),
        2,
        "{body}"
    );
    secret
}

/// Enrol the holder of `jwt` with a code for now: the secret and the recovery codes.
pub async fn enrol(client: &Client, jwt: &str) -> (String, Vec<String>) {
    let secret = begin(client, jwt).await;
    let code = code_at(&secret, unix_now());
    let body = json!({"totp": {"code": code}});
    let (status, body) = api_when_free(
        client,
        Method::Post,
        "/api/user/totp/confirm",
        Some(jwt),
        &body,
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["totp"]["enabled"], true);
    let codes: Vec<String> = body["totp"]["recoveryCodes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().expect("a code").to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{body}");
    (secret, codes)
}

/// `POST /api/users/login` for `username` (registered by `support::register`), with `otp`.
pub async fn login(client: &Client, username: &str, otp: Option<&str>) -> (Status, Value) {
    let mut user = json!({"email": format!("{username}@example.com"), "password": format!("password-{username}")});
    if let Some(otp) = otp {
        user["otp"] = json!(otp);
    }
    api(
        client,
        Method::Post,
        "/api/users/login",
        None,
        Some(json!({ "user": user })),
    )
    .await
}

fn assert_otp_error(status: Status, body: &Value, message: &str) {
    assert_eq!(status, Status::Unauthorized, "{body}");
    assert_eq!(body["errors"]["otp"], json!([message]), "{body}");
    assert!(body["user"].is_null(), "no token: {body}");
}

/// One body on SQLite and on MariaDB: `both!(test_name, body)`, `body(engine, test)`.
macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;

            #[rocket::async_test]
            async fn sqlite() {
                $body(Engine::Sqlite, concat!(module_path!(), "::sqlite")).await;
            }

            #[rocket::async_test]
            async fn mysql() {
                $body(Engine::MySql, concat!(module_path!(), "::mysql")).await;
            }
        }
    };
}

async fn enrol_sign_in_turn_off(engine: Engine, test: &str) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn_with_sink(engine, test, &sink.url(), |f| f).await else {
        return;
    };
    let jwt = register(&app.client, "tess").await;
    let (status, body) = api(&app.client, Method::Get, "/api/user/totp", Some(&jwt), None).await;
    assert_eq!(
        (status, body["totp"]["enabled"].clone()),
        (Status::Ok, json!(false))
    );

    let (secret, codes, code) = enrolment(&app, &jwt).await;
    let token = sign_ins(&app, &secret, &codes, &code).await;
    turning_off(&app, &token, &codes).await;
    // Both changes are in the audit log, by the user, without secrets.
    assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'user.two_factor_enable' AND actor_name = 'tess'").await, 1);
    assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'user.two_factor_disable' AND actor_name = 'tess'").await, 1);
    let audit: Vec<String> = crate::support::db_run!(app.db(), |c| sqlx::query_scalar(
        "SELECT COALESCE(after_json, '') FROM audit_log"
    )
    .fetch_all(c)
    .await)
    .expect("as expected");
    assert!(
        audit
            .iter()
            .all(|a| !a.contains(&secret) && !codes.iter().any(|c| a.contains(c.as_str()))),
        "{audit:?}"
    );

    // And the account's address was told of both, through the outbox.
    let on = sink
        .wait_for_subject(
            "Two-factor sign-in is on for your Conduit account",
            1,
            crate::mail::WAIT,
        )
        .await
        .remove(0);
    assert_eq!(on.header("To").as_deref(), Some("tess@example.com"));
    assert!(on
        .part("text/plain")
        .expect("as expected")
        .contains("Sign out everywhere"));
    let off = sink
        .wait_for_subject(
            "Two-factor sign-in is off for your Conduit account",
            1,
            crate::mail::WAIT,
        )
        .await
        .remove(0);
    assert!(
        off.part("text/plain")
            .expect("as expected")
            .contains("turned off"),
        "{:?}",
        off.part("text/plain")
    );
}

both!(
    a_user_enrols_signs_in_with_codes_and_turns_it_off,
    enrol_sign_in_turn_off
);

/// Enrolment over JSON for `tess` (holding `jwt`): the secret, the recovery codes and the code
/// that confirmed it.
async fn enrolment(app: &TestApp, jwt: &str) -> (String, Vec<String>, String) {
    let jwt = jwt.to_owned();
    // Enrolment: a wrong first code is refused and nothing is on; the right one turns it on.
    let secret = begin(&app.client, &jwt).await;
    assert_eq!(secret.len(), 32, "160 bits, base32: {secret}");
    let (status, body) = api(
        &app.client,
        Method::Post,
        "/api/user/totp/confirm",
        Some(&jwt),
        Some(json!({"totp": {"code": "12345x"}})),
    )
    .await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert_eq!(body["errors"]["code"], json!(["is not correct"]));
    let (status, _) = login(&app.client, "tess", None).await;
    assert_eq!(
        status,
        Status::Ok,
        "a pending enrolment does not ask for codes yet"
    );
    let code = code_at(&secret, unix_now());
    let (status, body) = api(
        &app.client,
        Method::Post,
        "/api/user/totp/confirm",
        Some(&jwt),
        Some(json!({"totp": {"code": code}})),
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    let codes: Vec<String> =
        serde_json::from_value(body["totp"]["recoveryCodes"].clone()).expect("as expected");
    assert_eq!(codes.len(), 10);
    // Once on, a second enrolment is refused (the secret is never handed out again).
    let (status, body) = api(
        &app.client,
        Method::Post,
        "/api/user/totp",
        Some(&jwt),
        None,
    )
    .await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert_eq!(body["errors"]["totp"], json!(["is already enabled"]));
    assert!(!body.to_string().contains(&secret));

    // Stored sealed: neither the secret nor the recovery codes are in the database.
    let stored: String = crate::support::db_run!(app.db(), |c| sqlx::query_scalar(
        "SELECT secret FROM user_totp"
    )
    .fetch_one(c)
    .await)
    .expect("as expected");
    assert!(
        stored.starts_with("v1:") && !stored.contains(&secret),
        "{stored}"
    );
    let hashes: Vec<String> = crate::support::db_run!(app.db(), |c| sqlx::query_scalar(
        "SELECT code_hash FROM totp_recovery_codes"
    )
    .fetch_all(c)
    .await)
    .expect("as expected");
    assert_eq!(hashes.len(), 10);
    assert!(codes
        .iter()
        .all(|c| hashes.iter().all(|h| !h.contains(&c.replace('-', "")))));

    (secret, codes, code)
}

/// Sign-ins with codes for `tess` (`code` confirmed the enrolment): a login token.
async fn sign_ins(app: &TestApp, secret: &str, codes: &[String], code: &str) -> String {
    let secret = secret.to_owned();
    let code = code.to_owned();
    // Sign-in: no code, a wrong code, the code that confirmed the enrolment (used): 401, and
    // none of them leaves a session row (the second step runs before the session is made).
    let api_sessions = "SELECT COUNT(*) FROM sessions WHERE kind = 'api'";
    let before = crate::support::scalar(app.db(), api_sessions).await;
    let (status, body) = login(&app.client, "tess", None).await;
    assert_otp_error(status, &body, "is required");
    let (status, body) = login(&app.client, "tess", Some("000000")).await;
    assert_otp_error(status, &body, "is invalid");
    let (status, body) = login(&app.client, "tess", Some(&code)).await;
    assert_otp_error(status, &body, "is invalid");
    assert_eq!(crate::support::scalar(app.db(), api_sessions).await, before);
    // A wrong password with a right code is the usual login failure.
    let body = json!({"user": {"email": "tess@example.com", "password": "not-the-password", "otp": next_code(&secret)}});
    let (status, failed) = api(
        &app.client,
        Method::Post,
        "/api/users/login",
        None,
        Some(body),
    )
    .await;
    assert_eq!(status, Status::Unauthorized);
    assert!(failed["errors"]["otp"].is_null(), "{failed}");
    // The next code signs in, once: replayed inside its window, it is refused.
    let next = next_code(&secret);
    let (status, body) = login(&app.client, "tess", Some(&next)).await;
    assert_eq!(status, Status::Ok, "{body}");
    let token = body["user"]["token"]
        .as_str()
        .expect("as expected")
        .to_owned();
    let (status, body) = login(&app.client, "tess", Some(&next)).await;
    assert_otp_error(status, &body, "is invalid");

    // A recovery code works once, however it is typed.
    let (status, body) = login(
        &app.client,
        "tess",
        Some(&format!(" {} ", codes[0].to_uppercase())),
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    let (status, body) = login(&app.client, "tess", Some(&codes[0])).await;
    assert_otp_error(status, &body, "is invalid");
    let (status, body) = api(
        &app.client,
        Method::Get,
        "/api/user/totp",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        body["totp"],
        json!({"enabled": true, "recoveryCodesLeft": 9}),
        "{status} {body}"
    );

    token
}

/// Turning it off with a code, as `tess` holding `token`.
async fn turning_off(app: &TestApp, token: &str, codes: &[String]) {
    let token = token.to_owned();
    // Turning it off needs a current code (or a recovery code).
    let (status, body) = api(
        &app.client,
        Method::Delete,
        "/api/user/totp",
        Some(&token),
        Some(json!({"totp": {"code": "000000"}})),
    )
    .await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert_eq!(body["errors"]["code"], json!(["is not correct"]));
    let (status, body) = api(
        &app.client,
        Method::Delete,
        "/api/user/totp",
        Some(&token),
        Some(json!({"totp": {}})),
    )
    .await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    let (status, body) = api(
        &app.client,
        Method::Delete,
        "/api/user/totp",
        Some(&token),
        Some(json!({"totp": {"code": codes[1]}})),
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["totp"]["enabled"], false);
    let (status, body) = login(&app.client, "tess", None).await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp").await, 0);
    assert_eq!(
        scalar(app.db(), "SELECT COUNT(*) FROM totp_recovery_codes").await,
        0
    );
    let (status, body) = api(
        &app.client,
        Method::Delete,
        "/api/user/totp",
        Some(&token),
        Some(json!({"totp": {"code": codes[2]}})),
    )
    .await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert_eq!(body["errors"]["totp"], json!(["is not enabled"]));
}

db_test!(
    async fn two_sign_ins_with_one_code_exactly_one_wins(app) {
        let jwt = register(&app.client, "racer").await;
        let (secret, codes) = enrol(&app.client, &jwt).await;
        let next = next_code(&secret);
        let client = &app.client;
        let statuses: Vec<Status> = race(6, |_| {
            let next = next.clone();
            async move { login(client, "racer", Some(&next)).await.0 }
        });
        assert_eq!(statuses.iter().filter(|s| **s == Status::Ok).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == Status::Ok || *s == Status::Unauthorized), "{statuses:?}");
        // The same for one recovery code.
        let statuses: Vec<Status> = race(6, |_| {
            let code = codes[3].clone();
            async move { login(client, "racer", Some(&code)).await.0 }
        });
        assert_eq!(statuses.iter().filter(|s| **s == Status::Ok).count(), 1, "{statuses:?}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_recovery_codes WHERE used_at IS NOT NULL").await, 1);
    }
);

db_test!(
    async fn wrong_codes_are_throttled_like_passwords_and_a_right_password_does_not_reset_them(app) {
        let jwt = register(&app.client, "guessed").await;
        let (secret, _) = enrol(&app.client, &jwt).await;
        // The attacker has the password; every wrong code counts.
        for i in 0..10 {
            let (status, body) = login(&app.client, "guessed", Some(&format!("{:06}", 100_000 + i))).await;
            assert_eq!(status, Status::Unauthorized, "guess {i}: {body}");
        }
        // The eleventh is refused before it is looked at, even the right code.
        let res = app.client.post("/api/users/login").header(rocket::http::ContentType::JSON)
            .body(json!({"user": {"email": "guessed@example.com", "password": "password-guessed", "otp": next_code(&secret)}}).to_string())
            .dispatch().await;
        assert_eq!(res.status(), Status::TooManyRequests);
        assert!(res.headers().get_one("Retry-After").is_some());
        // A right password without a code still answers (and clears the email's failures), but
        // the codes stay throttled.
        let (status, body) = login(&app.client, "guessed", None).await;
        assert_otp_error(status, &body, "is required");
        let (status, _) = login(&app.client, "guessed", Some(&next_code(&secret))).await;
        assert_eq!(status, Status::TooManyRequests);
        // The same limit holds for turning it off with a guessed code.
        let (status, _) = api(&app.client, Method::Delete, "/api/user/totp", Some(&jwt), Some(json!({"totp": {"code": next_code(&secret)}}))).await;
        assert_eq!(status, Status::TooManyRequests);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp WHERE enabled_at IS NOT NULL").await, 1);
    }
);

db_test!(
    async fn personal_access_tokens_and_stale_logins_cannot_change_two_factor(app) {
        let jwt = register(&app.client, "scripted").await;
        let body = json!({"token": {"name": "all", "scopes": ["read", "write"], "expiresInDays": 30}});
        let (status, created) = api(&app.client, Method::Post, "/api/user/tokens", Some(&jwt), Some(body)).await;
        assert_eq!(status, Status::Created, "{created}");
        let pat = created["token"]["secret"].as_str().expect("as expected").to_owned();
        let (status, body) = api(&app.client, Method::Post, "/api/user/totp", Some(&pat), None).await;
        assert_eq!(status, Status::Forbidden, "{body}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp").await, 0);

        let (secret, codes) = enrol(&app.client, &jwt).await;
        for (method, path, body) in [
            (Method::Post, "/api/user/totp", None),
            (Method::Post, "/api/user/totp/confirm", Some(json!({"totp": {"code": next_code(&secret)}}))),
            (Method::Post, "/api/user/totp/recovery-codes", Some(json!({"totp": {"code": codes[0]}}))),
            (Method::Delete, "/api/user/totp", Some(json!({"totp": {"code": codes[0]}}))),
        ] {
            let (status, answer) = api(&app.client, method, path, Some(&pat), body.clone()).await;
            assert_eq!(status, Status::Forbidden, "{method} {path}: {answer}");
            // A login older than `fresh_minutes` is refused too (401 says: sign in again).
            let mut claims = claims_of(&jwt);
            claims["auth_time"] = json!(chrono::Utc::now().timestamp() - 20 * 60);
            let stale = forge(&claims, conduit::config::DEV_JWT_SECRET.as_bytes());
            let (status, answer) = api(&app.client, method, path, Some(&stale), body).await;
            assert_eq!(status, Status::Unauthorized, "{method} {path}: {answer}");
        }
        // Nothing changed: still on, every recovery code unused.
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM user_totp WHERE enabled_at IS NOT NULL").await, 1);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_recovery_codes WHERE used_at IS NULL").await, 10);
        // The token still reads (it is no login, but its scopes hold).
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&pat), None).await;
        assert_eq!(status, Status::Ok);
    }
);

db_test!(
    async fn new_recovery_codes_need_a_code_and_void_the_old_ones(app) {
        let jwt = register(&app.client, "careful").await;
        let (secret, old) = enrol(&app.client, &jwt).await;
        let (status, body) = api(&app.client, Method::Post, "/api/user/totp/recovery-codes", Some(&jwt), Some(json!({"totp": {"code": "999999"}}))).await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}");
        let (status, body) = api(&app.client, Method::Post, "/api/user/totp/recovery-codes", Some(&jwt), Some(json!({"totp": {"code": next_code(&secret)}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
        let new: Vec<String> = serde_json::from_value(body["totp"]["recoveryCodes"].clone()).expect("as expected");
        assert_eq!(new.len(), 10);
        assert!(new.iter().all(|c| !old.contains(c)));
        let (status, body) = login(&app.client, "careful", Some(&old[0])).await;
        assert_otp_error(status, &body, "is invalid");
        let (status, body) = login(&app.client, "careful", Some(&new[0])).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'user.two_factor_recovery_codes'").await, 1);
        // Odd input is a clean 4xx: huge codes, wrong types, other content types.
        let (status, _) = api(&app.client, Method::Post, "/api/user/totp/recovery-codes", Some(&jwt), Some(json!({"totp": {"code": "9".repeat(100_000)}}))).await;
        assert_eq!(status, Status::UnprocessableEntity);
        let (status, _) = api(&app.client, Method::Post, "/api/user/totp/confirm", Some(&jwt), Some(json!({"totp": {"code": 123_456}}))).await;
        assert!(status.code >= 400 && status.code < 500, "{status}");
        // A code longer than the schema's 64 characters is refused as such, before any check.
        let (status, body) = login(&app.client, "careful", Some(&"x".repeat(10_000))).await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}");
        assert_eq!(body["errors"]["otp"], json!(["is too long (maximum is 64 characters)"]), "{body}");
        assert!(body["user"].is_null(), "no token: {body}");
        let (status, body) = login(&app.client, "careful", Some(&"x".repeat(64))).await;
        assert_otp_error(status, &body, "is invalid");
    }
);

/// `admin_require_2fa`: an admin without it gets 403 from `/api/admin`, and the console sends
/// them to set it up; with it on, both open.
async fn admins_must_enrol_first(engine: Engine, test: &str) {
    let Some(app) =
        TestApp::spawn_with(engine, test, |f| f.merge(("admin_require_2fa", true))).await
    else {
        return;
    };
    let jwt = register(&app.client, "boss").await;
    exec(
        app.db(),
        "UPDATE users SET role = 'admin' WHERE username = 'boss'",
    )
    .await
    .expect("as expected");
    let (status, body) = api(
        &app.client,
        Method::Get,
        "/api/admin/users",
        Some(&jwt),
        None,
    )
    .await;
    assert_eq!(status, Status::Forbidden, "{body}");
    assert!(
        body["errors"]["body"][0]
            .as_str()
            .expect("as expected")
            .contains("two-factor"),
        "{body}"
    );
    // An ordinary user is not asked (the API is theirs as before).
    let user = register(&app.client, "plain").await;
    let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&user), None).await;
    assert_eq!(status, Status::Ok);

    // The console, in a browser: every page sends the admin to the set-up page.
    crate::two_factor_web::browser_login(&app.client, "boss", None).await;
    for path in ["/admin", "/admin/users", "/admin/audit"] {
        let res = app.client.get(path).dispatch().await;
        assert_eq!(res.status(), Status::SeeOther, "{path}");
        assert_eq!(
            res.headers().get_one("Location"),
            Some("/settings/two-factor"),
            "{path}"
        );
    }
    let (_, page) = crate::support::get_page(&app.client, "/settings/two-factor").await;
    assert_eq!(
        crate::support::texts(&page, ".two-factor-required").len(),
        1
    );

    enrol(&app.client, &jwt).await;
    let (status, body) = api(
        &app.client,
        Method::Get,
        "/api/admin/users",
        Some(&jwt),
        None,
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    let res = app.client.get("/admin").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
}

both!(
    admins_must_enrol_before_the_console_and_admin_api,
    admins_must_enrol_first
);
