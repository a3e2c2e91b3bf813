//! The attacker review of the sessions branch (issue 18), on both engines: email changes are
//! throttled per account and per target address (M5); a password change leaves no dead
//! sessions listed and a re-issued API token keeps its session's expiry (L1); API logins are
//! capped per account and lists bounded (L2); sessions are named by a public handle, never by
//! the id their tokens carry and that ends them (L3).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rocket::http::{ContentType, Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

use conduit::db::Engine;

use crate::mail::{spawn_with_sink, WAIT};
use crate::smtp_sink::SmtpSink;
use crate::support::{api, json_of, register, scalar, script_client};

/// The API sessions of `token`'s account as listed.
async fn listed(client: &Client, token: &str) -> Vec<Value> {
    let (status, body) = api(client, Method::Get, "/api/user/sessions", Some(token), None).await;
    assert_eq!(status, Status::Ok, "{body}");
    body["sessions"].as_array().expect("a list").clone()
}

/// Log `name` (registered by `support::register`) in over the API: the token.
pub async fn login_token(client: &Client, name: &str) -> String {
    let body = json!({"user": {"email": format!("{name}@example.com"), "password": format!("password-{name}")}});
    let res = client
        .post("/api/users/login")
        .header(ContentType::JSON)
        .body(body.to_string())
        .dispatch()
        .await;
    let (status, value) = json_of(res).await;
    assert_eq!(status, Status::Ok, "{value}");
    value["user"]["token"].as_str().expect("token").to_owned()
}

/// Ask to move `token`'s account to `email`: the status.
async fn change_email(client: &Client, token: &str, email: &str) -> (Status, Value) {
    api(
        client,
        Method::Put,
        "/api/user",
        Some(token),
        Some(json!({"user": {"email": email}})),
    )
    .await
}

/// The claims of a JWT, unverified (the test reads what the server issued).
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
        .expect("JSON claims")
}

mail_test!(
    async fn email_changes_are_throttled_per_account_and_per_target_address(app, sink) {
        let script = script_client(&app.client).await;
        let mo = register(&script, "mo").await;
        sink.wait_for(1, WAIT).await;
        let outbox = || scalar(app.db(), "SELECT COUNT(*) FROM outbox");

        // Five changes within the hour, each to another address: a link and a notice each.
        for i in 1..=5 {
            let (status, body) = change_email(&script, &mo, &format!("mo{i}@example.com")).await;
            assert_eq!(status, Status::Ok, "change {i}: {body}");
        }
        let before = outbox().await;
        assert_eq!(before, 11, "the sign-up's mail and two per change");
        // The sixth: 429, nothing composed or queued (unconfirmed as the account is).
        let (status, body) = change_email(&script, &mo, "mo6@example.com").await;
        assert_eq!(status, Status::TooManyRequests, "{body}");
        assert_eq!(outbox().await, before, "no mail queued past the limit");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM account_tokens WHERE email = 'mo6@example.com'").await, 0);

        // One address, asked for by several accounts: the address's own limit (counted with
        // its reset requests), whoever asks; letter case changes nothing.
        let ann = register(&script, "ann").await;
        let bo = register(&script, "bo").await;
        let cy = register(&script, "cy").await;
        for (who, email) in [(&ann, "victim@example.com"), (&ann, "VICTIM@example.com"), (&ann, "victim@example.com"), (&bo, "Victim@Example.com"), (&bo, "victim@example.com")] {
            let (status, body) = change_email(&script, who, email).await;
            assert_eq!(status, Status::Ok, "{email}: {body}");
        }
        let before = outbox().await;
        let (status, body) = change_email(&script, &cy, "victim@example.com").await;
        assert_eq!(status, Status::TooManyRequests, "a fresh account is held to the address's limit: {body}");
        assert_eq!(outbox().await, before);
        // Another address is still cy's to ask for.
        assert_eq!(change_email(&script, &cy, "cy.new@example.com").await.0, Status::Ok);
    }
);

db_test!(
    async fn a_password_change_lists_only_the_session_it_was_made_with(app) {
        let script = script_client(&app.client).await;
        let first = register(&script, "pw").await;
        let a = login_token(&script, "pw").await;
        let b = login_token(&script, "pw").await;
        crate::support::browser_register(&app.client, "pwb").await;
        assert_eq!(listed(&script, &a).await.len(), 3);

        let old_exp = claims_of(&a)["exp"].as_i64().expect("exp");
        // A second on, so a token made now would expire later than `a` does.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let body = json!({"user": {"password": "a brand new secret"}});
        let (status, body) = api(&script, Method::Put, "/api/user", Some(&a), Some(body)).await;
        assert_eq!(status, Status::Ok, "{body}");
        let renewed = body["user"]["token"].as_str().expect("a new token").to_owned();

        // The list: the changing session only, and it is the current one.
        let list = listed(&script, &renewed).await;
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["current"], true);
        for gone in [&first, &b, &a] {
            assert_eq!(api(&script, Method::Get, "/api/user", Some(gone), None).await.0, Status::Unauthorized);
        }
        // Ended in the rows too (the other account's browser session untouched).
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'pw' AND s.revoked_at IS NULL").await, 1);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'pwb' AND s.revoked_at IS NULL").await, 1);

        // The re-issued token ends when its session does: its old expiry, the row's.
        let new_exp = claims_of(&renewed)["exp"].as_i64().expect("exp");
        assert_eq!(new_exp, old_exp);
        let row_exp: chrono::DateTime<chrono::Utc> = crate::support::db_run!(app.db(), |c| sqlx::query_scalar(
            "SELECT s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'pw' AND s.revoked_at IS NULL")
            .fetch_one(c).await).expect("the live session");
        assert!((row_exp.timestamp() - new_exp).abs() <= 1, "row {row_exp}, token {new_exp}");
    }
);

db_test!(
    async fn api_logins_are_capped_per_account_ending_the_oldest(app) {
        let script = script_client(&app.client).await;
        let first = register(&script, "many").await;
        let mut newest = String::new();
        for _ in 0..60 {
            newest = login_token(&script, "many").await;
        }
        let list = listed(&script, &newest).await;
        assert!(list.len() <= 50, "{} listed", list.len());
        assert_eq!(list.len(), 50);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM sessions WHERE kind = 'api' AND revoked_at IS NULL").await, 50);
        // The oldest (the sign-up's) is the one ended first; the newest works.
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&first), None).await.0, Status::Unauthorized);
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&newest), None).await.0, Status::Ok);
        assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    }
);

db_test!(
    async fn sessions_are_named_by_a_handle_never_by_their_id(app) {
        let script = script_client(&app.client).await;
        let token = register(&script, "hid").await;
        let other = login_token(&script, "hid").await;
        let sids: Vec<String> = crate::support::db_run!(app.db(), |c| sqlx::query_scalar("SELECT id FROM sessions").fetch_all(c).await).expect("ids");
        assert_eq!(sids.len(), 2);
        let list = listed(&script, &token).await;
        let handles: Vec<&str> = list.iter().map(|s| s["id"].as_str().expect("id")).collect();
        for handle in &handles {
            assert_eq!(handle.len(), 32);
            assert!(!sids.iter().any(|sid| sid == handle), "a session id shown: {handle}");
        }
        // The token's `sid` is no handle: ending by it finds nothing and ends nothing.
        let sid = claims_of(&other)["sid"].as_str().expect("sid").to_owned();
        assert!(sids.contains(&sid));
        let (status, _) = api(&script, Method::Delete, &format!("/api/user/sessions/{sid}"), Some(&token), None).await;
        assert_eq!(status, Status::NotFound);
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&other), None).await.0, Status::Ok);
        // Its handle ends it.
        let theirs = list.iter().find(|s| s["current"] == false).expect("the other login");
        let handle = theirs["id"].as_str().expect("id");
        let (status, _) = api(&script, Method::Delete, &format!("/api/user/sessions/{handle}"), Some(&token), None).await;
        assert_eq!(status, Status::NoContent);
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&other), None).await.0, Status::Unauthorized);
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM sessions WHERE id = '{sid}' AND revoked_at IS NOT NULL")).await, 1);
    }
);
