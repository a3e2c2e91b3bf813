//! The security leftovers of the last review, as an attacker would try them, on both engines:
//! an email change past its hourly limit spends no code and changes nothing (the API and the
//! settings page), a refused change gives its place back, wrong recovery codes reach the
//! owner's notice without counting toward the daily cap, and a busy hasher spends no code.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

use conduit::auth::code_check::NOTICE_SUBJECT;

use crate::support::{api, api_when_free, csrf_of, get_page, post_form, register, scalar, texts};
use crate::two_factor::{enrol, next_code};
use crate::two_factor_web::{browser_login, page_of};

/// `PUT /api/user` with `user` as the holder of `jwt`.
async fn put(client: &Client, jwt: &str, user: Value) -> (Status, Value) {
    api(
        client,
        Method::Put,
        "/api/user",
        Some(jwt),
        Some(json!({ "user": user })),
    )
    .await
}

/// The stored password hash of `username`.
async fn hash_of(app: &crate::harness::TestApp, username: &str) -> String {
    crate::admin_shape::text(
        app.db(),
        &format!("SELECT password_hash FROM users WHERE username = '{username}'"),
    )
    .await
    .expect("a hash")
}

db_test!(
    |f| f.merge(("reset_max_per_email", 1)),
    async fn an_email_change_past_its_limit_spends_no_code_and_changes_nothing(app) {
        let client = &app.client;
        let jwt = register(client, "mover").await;
        // The hour's one email change, before two-factor sign-in is on.
        let (status, body) = put(client, &jwt, json!({"email": "first@example.com"})).await;
        assert_eq!(status, Status::Ok, "{body}");
        let (secret, _) = enrol(client, &jwt).await;
        let before = hash_of(&app, "mover").await;
        let code = next_code(&secret);
        let (status, body) = put(client, &jwt, json!({"email": "second@example.com", "password": "a-new-password", "otp": code})).await;
        assert_eq!(status, Status::TooManyRequests, "{body}");
        assert_eq!(hash_of(&app, "mover").await, before, "the password is unchanged");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM outbox WHERE recipient = 'second@example.com'").await, 0);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_failures").await, 0, "no wrong code counted");
        // The caller's token still works, and the same code, unspent, changes the password.
        let (status, body) = api(client, Method::Get, "/api/user", Some(&jwt), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        let (status, body) = put(client, &jwt, json!({"password": "a-new-password", "otp": code})).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert!(body["user"]["token"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
        assert_ne!(hash_of(&app, "mover").await, before);
    }
);

db_test!(
    |f| f.merge(("reset_max_per_email", 1)),
    async fn a_refused_email_change_gives_its_place_back(app) {
        let client = &app.client;
        let jwt = register(client, "owner").await;
        let (secret, _) = enrol(client, &jwt).await;
        // A hostile session holder, without the code, tries again and again.
        for guess in ["000000", "111111", "222222"] {
            let (status, body) = put(client, &jwt, json!({"email": "elsewhere@example.com", "otp": guess})).await;
            assert_eq!(status, Status::UnprocessableEntity, "{body}");
            assert_eq!(body["errors"]["otp"], json!(["is not correct"]), "{body}");
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM reset_requests").await, 0, "no place held");
        // The owner's own change still goes through within the hour's one.
        let (status, body) = put(client, &jwt, json!({"email": "elsewhere@example.com", "otp": next_code(&secret)})).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM outbox WHERE recipient = 'elsewhere@example.com'").await, 1);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM reset_requests").await, 1);
    }
);

db_test!(
    |f| f.merge(("reset_max_per_email", 1)),
    async fn the_settings_form_past_the_email_change_limit_spends_no_code_and_no_password_attempt(app) {
        let client = &app.client;
        let jwt = register(client, "formy").await;
        let (status, body) = put(client, &jwt, json!({"email": "first@example.com"})).await;
        assert_eq!(status, Status::Ok, "{body}");
        let (secret, codes) = enrol(client, &jwt).await;
        browser_login(client, "formy", Some(&codes[0])).await;
        let before = hash_of(&app, "formy").await;
        let code = next_code(&secret);
        let submit = |email: &'static str, password: &'static str| {
            let code = code.clone();
            async move {
                let (_, page) = get_page(client, "/settings").await;
                let csrf = csrf_of(&page);
                let fields = [("csrf_token", csrf.as_str()), ("username", "formy"), ("email", email), ("password", password), ("current_password", "password-formy"), ("code", code.as_str())];
                page_of(post_form(client, "/settings", &fields).await).await
            }
        };
        let attempts = scalar(app.db(), "SELECT COUNT(*) FROM login_attempts").await;
        let (status, page) = submit("second@example.com", "a-new-password").await;
        assert_eq!(status, Status::TooManyRequests);
        assert_eq!(texts(&page, ".error-summary li").len(), 1, "one message says why");
        assert_eq!(hash_of(&app, "formy").await, before, "the password is unchanged");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM outbox WHERE recipient = 'second@example.com'").await, 0);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM totp_failures").await, 0, "no wrong code counted");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts").await, attempts, "no password attempt counted");
        // The same code, unspent, saves the new password alone.
        let (status, page) = submit("", "a-new-password").await;
        assert_eq!(status, Status::SeeOther, "{:?}", texts(&page, ".error-summary li"));
        assert_ne!(hash_of(&app, "formy").await, before);
    }
);

db_test!(
    |f| f
        .merge(("totp_max_failures_per_day", 3))
        .merge(("totp_failure_notice_after", 3))
        .merge(("login_max_per_ip", 100)),
    async fn wrong_recovery_codes_reach_the_owners_notice_but_not_the_daily_cap(app) {
        let client = &app.client;
        let jwt = register(client, "owner").await;
        let (secret, _) = enrol(client, &jwt).await;
        let notices = format!("SELECT COUNT(*) FROM outbox WHERE subject = '{NOTICE_SUBJECT}'");
        for (i, guess) in ["aaaa-bbbb-cccc-dddd", "aaaa-bbbb-cccc-eeee", "aaaa-bbbb-cccc-ffff"].iter().enumerate() {
            assert_eq!(scalar(app.db(), &notices).await, 0, "not before the threshold ({i})");
            let login = json!({"user": {"email": "owner@example.com", "password": "password-owner", "otp": guess}});
            let (status, body) = api(client, Method::Post, "/api/users/login", None, Some(login)).await;
            assert_eq!(status, Status::Unauthorized, "{body}");
        }
        assert_eq!(scalar(app.db(), &notices).await, 1, "the owner is told");
        // Not toward the cap: a right app code still gets in.
        let login = json!({"user": {"email": "owner@example.com", "password": "password-owner", "otp": next_code(&secret)}});
        let (status, body) = api(client, Method::Post, "/api/users/login", None, Some(login)).await;
        assert_eq!(status, Status::Ok, "{body}");
    }
);

db_test!(
    |f| f.merge(("password_queue_max", 0)),
    async fn a_busy_hasher_spends_no_code(app) {
        // The hasher is one per process: the other engine's run of this test must not be
        // keeping it busy while this one signs up (with `password_queue_max` 0, that is a 503).
        static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one = ONE_AT_A_TIME.lock().await;
        let client = &app.client;
        // Other tests hash too, and this app may not wait for the hasher: sign up until it is free.
        let user = json!({"user": {"username": "hasty", "email": "hasty@example.com", "password": "password-hasty"}});
        let (status, value) = api_when_free(client, Method::Post, "/api/users", None, &user).await;
        assert_eq!(status, Status::Created, "signed up: {value}");
        let jwt = value["user"]["token"].as_str().expect("token").to_owned();
        let (secret, _) = enrol(client, &jwt).await;
        let before = hash_of(&app, "hasty").await;
        // Two hashes in turn hold the hasher (one runs, one waits), so the change finds it busy
        // and, with `password_queue_max` 0, may not wait.
        let stop = Arc::new(AtomicBool::new(false));
        let hashers: Vec<_> = (0..2)
            .map(|_| {
                let stop = stop.clone();
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        conduit::auth::password::hash("keep-it-busy", usize::MAX).await.expect("hashed");
                    }
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let code = next_code(&secret);
        let (status, body) = put(client, &jwt, json!({"password": "a-new-password", "otp": code})).await;
        stop.store(true, Ordering::SeqCst);
        for hasher in hashers {
            hasher.await.expect("the hasher loop ended");
        }
        assert_eq!(status, Status::ServiceUnavailable, "{body}");
        assert_eq!(hash_of(&app, "hasty").await, before, "the password is unchanged");
        // The same code, unspent, changes the password once the hasher is free (another test's
        // hash may still hold it a moment: a 503 spends nothing, so ask again).
        let change = json!({"user": {"password": "a-new-password", "otp": code}});
        let (status, body) = api_when_free(client, Method::Put, "/api/user", Some(&jwt), &change).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_ne!(hash_of(&app, "hasty").await, before);
    }
);
