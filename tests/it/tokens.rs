//! Personal access tokens over JSON (issue 19): a script's whole life, scopes, and the hostile
//! cases (wrong checksum, a JWT sent as a token and the reverse, disabled owners, expiry,
//! admin scope, what a token may never do, concurrent revocation).

use rocket::http::{Header, Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::support::{api, exec, forge, publish, race, register, scalar};

/// `POST /api/user/tokens` with `token` (a login JWT).
async fn create(
    client: &Client,
    jwt: &str,
    name: &str,
    scopes: &[&str],
    days: Value,
) -> (Status, Value) {
    let body = json!({"token": {"name": name, "scopes": scopes, "expiresInDays": days}});
    api(
        client,
        Method::Post,
        "/api/user/tokens",
        Some(jwt),
        Some(body),
    )
    .await
}

/// A token's secret, created for the holder of `jwt`.
async fn secret(client: &Client, jwt: &str, scopes: &[&str]) -> String {
    let (status, body) = create(client, jwt, "script", scopes, json!(30)).await;
    assert_eq!(status, Status::Created, "{body}");
    body["token"]["secret"].as_str().expect("secret").to_owned()
}

fn article(title: &str) -> Value {
    json!({"article": {"title": title, "description": "d", "body": "b", "tagList": []}})
}

async fn user_id(app: &TestApp, username: &str) -> i64 {
    scalar(
        app.db(),
        &format!("SELECT id FROM users WHERE username = '{username}'"),
    )
    .await
}

db_test!(
    async fn a_scripts_whole_life_read_then_write_then_revoked(app) {
        let jwt = register(&app.client, "scripter").await;
        publish(&app.client, &jwt, "Already there", "b", &[]).await;

        // A read token: reads work, a write is refused naming the scope, nothing is written.
        let (status, body) = create(&app.client, &jwt, "reader", &["read"], json!(30)).await;
        assert_eq!(status, Status::Created, "{body}");
        let token = &body["token"];
        let read = token["secret"].as_str().unwrap().to_owned();
        assert!(read.starts_with("cdt_") && read.len() == 50, "{read}");
        assert_eq!(token["name"], "reader");
        assert_eq!(token["scopes"], json!(["read"]));
        assert_eq!(token["lastUsedAt"], Value::Null);
        let created = chrono::DateTime::parse_from_rfc3339(token["createdAt"].as_str().unwrap()).unwrap();
        let expires = chrono::DateTime::parse_from_rfc3339(token["expiresAt"].as_str().unwrap()).unwrap();
        assert_eq!((expires - created).num_days(), 30);
        let (status, body) = api(&app.client, Method::Get, "/api/articles", Some(&read), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body["articlesCount"], 1);
        let (status, body) = api(&app.client, Method::Get, "/api/user", Some(&read), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body["user"]["username"], "scripter");
        let (status, body) = api(&app.client, Method::Post, "/api/articles", Some(&read), Some(article("Nope"))).await;
        assert_eq!(status, Status::Forbidden, "{body}");
        assert_eq!(body["errors"]["body"][0], "this token lacks the `write` scope");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 1);

        // The secret is stored only as its hash.
        let stored: String = crate::support::db_run!(app.db(), |c| sqlx::query_scalar("SELECT token_hash FROM access_tokens WHERE name = 'reader'").fetch_one(c).await).unwrap();
        assert_eq!(stored, conduit::auth::access_token::hash(&read));
        assert!(!stored.contains(&read[4..]));

        // A write token publishes.
        let write = secret(&app.client, &jwt, &["write"]).await;
        let (status, body) = api(&app.client, Method::Post, "/api/articles", Some(&write), Some(article("By script"))).await;
        assert_eq!(status, Status::Created, "{body}");
        assert_eq!(body["article"]["author"]["username"], "scripter");

        // The list shows both, newest first, without secrets, with the last use.
        let (status, body) = api(&app.client, Method::Get, "/api/user/tokens", Some(&jwt), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        let tokens = body["tokens"].as_array().unwrap();
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[0]["scopes"], json!(["write"]));
        assert_eq!(tokens[1]["name"], "reader");
        assert!(tokens.iter().all(|t| t.get("secret").is_none()), "{body}");
        assert!(!body.to_string().contains(&read) && !body.to_string().contains(&write));
        assert!(tokens[1]["lastUsedAt"].is_string(), "{body}");
        assert!(tokens[1]["lastUsedIp"].is_string(), "{body}");

        // Revoked: 204, then 401 at once, and a second revocation is a 404.
        let id = tokens[0]["id"].as_i64().unwrap();
        let (status, _) = api(&app.client, Method::Delete, &format!("/api/user/tokens/{id}"), Some(&jwt), None).await;
        assert_eq!(status, Status::NoContent);
        let (status, body) = api(&app.client, Method::Get, "/api/user", Some(&write), None).await;
        assert_eq!(status, Status::Unauthorized, "{body}");
        assert_eq!(body["errors"]["body"][0], "missing or invalid credentials");
        let (status, _) = api(&app.client, Method::Delete, &format!("/api/user/tokens/{id}"), Some(&jwt), None).await;
        assert_eq!(status, Status::NotFound);
        // Creation and revocation are in the audit log, by the owner, without the secret.
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'token.create' AND actor_name = 'scripter'").await, 2);
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'token.revoke' AND entity_id = '{id}'")).await, 1);
        let audit: Vec<String> = crate::support::db_run!(app.db(), |c| sqlx::query_scalar("SELECT COALESCE(after_json, before_json) FROM audit_log").fetch_all(c).await).unwrap();
        assert!(audit.iter().all(|a| !a.contains("cdt_")), "{audit:?}");
    }
);

db_test!(
    async fn bad_and_foreign_tokens_get_401_without_leaking_why(app) {
        let jwt = register(&app.client, "owner").await;
        let good = secret(&app.client, &jwt, &["read"]).await;
        // A changed character breaks the checksum; a well-formed unknown token; a prefix alone.
        let mut changed = good.clone().into_bytes();
        changed[8] = if changed[8] == b'x' { b'y' } else { b'x' };
        let changed = String::from_utf8(changed).unwrap();
        let unknown = conduit::auth::access_token::generate();
        for bad in [changed.as_str(), unknown.as_str(), "cdt_", "cdt_short", &format!("{good}x"), &format!("cdt_{jwt}")] {
            let (status, body) = api(&app.client, Method::Get, "/api/user", Some(bad), None).await;
            assert_eq!(status, Status::Unauthorized, "{bad}: {body}");
            assert_eq!(body["errors"]["body"][0], "missing or invalid credentials");
            // An optional-auth route does not fall back to anonymous either.
            let (status, _) = api(&app.client, Method::Get, "/api/articles", Some(bad), None).await;
            assert_eq!(status, Status::Unauthorized, "{bad}");
        }
        // A token without its prefix is read as a JWT, and refused.
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&good[4..]), None).await;
        assert_eq!(status, Status::Unauthorized);
        // `Bearer` works like `Token`.
        let res = app.client.get("/api/user").header(Header::new("Authorization", format!("Bearer {good}"))).dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        // A token in the session cookie is no session.
        let res = app.client.get("/api/user").cookie(rocket::http::Cookie::new("session", good.clone())).dispatch().await;
        assert_eq!(res.status(), Status::Unauthorized);
        // Forged JWT claims naming a token's id do not make a token.
        let forged = forge(&json!({"sub": "1", "iat": 0, "exp": 1, "iss": "conduit", "jti": "pat:1", "ver": 0, "kind": "api", "auth_time": 0}), conduit::config::DEV_JWT_SECRET.as_bytes());
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&forged), None).await;
        assert_eq!(status, Status::Unauthorized);
    }
);

db_test!(
    async fn expired_tokens_and_disabled_or_deleted_owners_stop_at_once(app) {
        let jwt = register(&app.client, "owner").await;
        let token = secret(&app.client, &jwt, &["read"]).await;
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&token), None).await;
        assert_eq!(status, Status::Ok);
        // Expired a moment ago.
        exec(app.db(), "UPDATE access_tokens SET expires_at = '2020-01-01 00:00:00.000'").await.unwrap();
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&token), None).await;
        assert_eq!(status, Status::Unauthorized);

        let other = secret(&app.client, &jwt, &["read"]).await;
        exec(app.db(), "UPDATE users SET disabled = TRUE WHERE username = 'owner'").await.unwrap();
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&other), None).await;
        assert_eq!(status, Status::Unauthorized);
        exec(app.db(), "UPDATE users SET disabled = FALSE WHERE username = 'owner'").await.unwrap();
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&other), None).await;
        assert_eq!(status, Status::Ok, "enabled again by hand (no version change), it works again");
        exec(app.db(), "DELETE FROM users WHERE username = 'owner'").await.unwrap();
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&other), None).await;
        assert_eq!(status, Status::Unauthorized);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens").await, 0, "the account's tokens went with it");
    }
);

db_test!(
    async fn a_token_never_manages_tokens_or_changes_email_or_password(app) {
        let jwt = register(&app.client, "owner").await;
        let write = secret(&app.client, &jwt, &["read", "write"]).await;
        let (status, body) = create(&app.client, &write, "more", &["write"], json!(30)).await;
        assert_eq!(status, Status::Forbidden, "{body}");
        let (status, _) = api(&app.client, Method::Get, "/api/user/tokens", Some(&write), None).await;
        assert_eq!(status, Status::Forbidden);
        let (status, _) = api(&app.client, Method::Delete, "/api/user/tokens/1", Some(&write), None).await;
        assert_eq!(status, Status::Forbidden);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens").await, 1);

        let hash_before = scalar(app.db(), "SELECT LENGTH(password_hash) FROM users").await;
        for change in [json!({"password": "a-new-password"}), json!({"email": "new@example.com"}), json!({"email": "new@example.com", "bio": "x"})] {
            let (status, body) = api(&app.client, Method::Put, "/api/user", Some(&write), Some(json!({"user": change}))).await;
            assert_eq!(status, Status::Forbidden, "{body}");
            assert!(body["errors"]["body"][0].as_str().unwrap().contains("email or password"), "{body}");
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE email = 'owner@example.com' AND bio IS NULL").await, 1);
        assert_eq!(scalar(app.db(), "SELECT LENGTH(password_hash) FROM users").await, hash_before);
        // Its own settings otherwise: yes (the current email re-sent is no change).
        let (status, body) = api(&app.client, Method::Put, "/api/user", Some(&write), Some(json!({"user": {"bio": "scripted", "email": "owner@example.com"}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body["user"]["bio"], "scripted");
        // The old login token still works: the token did not bump the token version.
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&jwt), None).await;
        assert_eq!(status, Status::Ok);
        // Not a browser credential: pages refuse it.
        let res = app.client.get("/settings").header(Header::new("Authorization", format!("Token {write}"))).dispatch().await;
        assert_eq!(res.status(), Status::Forbidden);
    }
);

db_test!(
    async fn the_admin_scope_is_for_admins_and_opens_only_the_admin_api(app) {
        let jwt = register(&app.client, "plain").await;
        let (status, body) = create(&app.client, &jwt, "x", &["admin"], json!(30)).await;
        assert_eq!(status, Status::Forbidden, "{body}");
        assert_eq!(body["errors"]["body"][0], "only administrators may create tokens with the admin scope");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens").await, 0);

        let admin_jwt = register(&app.client, "boss").await;
        exec(app.db(), "UPDATE users SET role = 'admin' WHERE username = 'boss'").await.unwrap();
        let admin = secret(&app.client, &admin_jwt, &["admin"]).await;
        let (status, body) = api(&app.client, Method::Get, "/api/admin/users", Some(&admin), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        // Only the admin API: not the RealWorld one.
        let (status, body) = api(&app.client, Method::Get, "/api/user", Some(&admin), None).await;
        assert_eq!(status, Status::Forbidden, "{body}");
        // A write token of an admin is no admin token.
        let write = secret(&app.client, &admin_jwt, &["write"]).await;
        let (status, body) = api(&app.client, Method::Get, "/api/admin/users", Some(&write), None).await;
        assert_eq!(status, Status::Forbidden, "{body}");
        assert_eq!(body["errors"]["body"][0], "this token lacks the `admin` scope");
        // Destructive admin actions need a fresh login, which a token is not.
        let plain = user_id(&app, "plain").await;
        let (status, body) = api(&app.client, Method::Delete, &format!("/api/admin/users/{plain}"), Some(&admin), None).await;
        assert_eq!(status, Status::Forbidden, "{body}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 2);
        // Demoted: the admin token stops opening the admin API.
        exec(app.db(), "UPDATE users SET role = 'user' WHERE username = 'boss'").await.unwrap();
        let (status, _) = api(&app.client, Method::Get, "/api/admin/users", Some(&admin), None).await;
        assert_eq!(status, Status::Forbidden);
    }
);

db_test!(
    async fn creation_checks_its_input_and_needs_a_fresh_login(app) {
        let jwt = register(&app.client, "owner").await;
        let cases = [
            (json!({"token": {"name": "", "scopes": ["read"]}}), "name"),
            (json!({"token": {"name": "x".repeat(101), "scopes": ["read"]}}), "name"),
            (json!({"token": {"name": "a\u{0}b", "scopes": ["read"]}}), "name"),
            (json!({"token": {"name": "x", "scopes": []}}), "scopes"),
            (json!({"token": {"name": "x", "scopes": ["root"]}}), "scopes"),
            (json!({"token": {"name": "x", "scopes": ["read"], "expiresInDays": 7}}), "expiresInDays"),
            (json!({"token": {"name": "x", "scopes": ["read"], "expiresInDays": "30"}}), "expiresInDays"),
            (json!({"token": {"name": "x", "scopes": ["read"], "expiresInDays": -30}}), "expiresInDays"),
        ];
        for (body, field) in cases {
            let (status, value) = api(&app.client, Method::Post, "/api/user/tokens", Some(&jwt), Some(body.clone())).await;
            assert_eq!(status, Status::UnprocessableEntity, "{body}: {value}");
            assert!(value["errors"][field].is_array(), "{body}: {value}");
        }
        let res = app.client.post("/api/user/tokens").header(Header::new("Authorization", format!("Token {jwt}"))).header(rocket::http::ContentType::Form).body("name=x").dispatch().await;
        assert_eq!(res.status(), Status::UnsupportedMediaType);
        let (status, _) = api(&app.client, Method::Post, "/api/user/tokens", Some(&jwt), Some(json!({"token": {"name": "x", "scopes": "read"}}))).await;
        assert!(status.code == 422 || status.code == 400, "{status}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens").await, 0);

        // Absent expiry: 30 days; null: never.
        let (status, body) = api(&app.client, Method::Post, "/api/user/tokens", Some(&jwt), Some(json!({"token": {"name": "d", "scopes": ["read"]}}))).await;
        assert_eq!(status, Status::Created, "{body}");
        assert!(body["token"]["expiresAt"].is_string());
        let (status, body) = create(&app.client, &jwt, "forever", &["read"], Value::Null).await;
        assert_eq!(status, Status::Created, "{body}");
        assert_eq!(body["token"]["expiresAt"], Value::Null);

        // A login older than fresh_minutes: 401, nothing made.
        let mut claims = crate::support::claims_of(&jwt);
        claims["auth_time"] = json!(chrono::Utc::now().timestamp() - 3600);
        let stale = forge(&claims, conduit::config::DEV_JWT_SECRET.as_bytes());
        let (status, body) = create(&app.client, &stale, "late", &["read"], json!(90)).await;
        assert_eq!(status, Status::Unauthorized, "{body}");
        assert!(body["errors"]["body"][0].as_str().unwrap().contains("fresh login"));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens").await, 2);
        // It may still list and revoke.
        let (status, _) = api(&app.client, Method::Get, "/api/user/tokens", Some(&stale), None).await;
        assert_eq!(status, Status::Ok);

        // At most 50 tokens per account.
        for i in 2..conduit::auth::access_token::PER_USER_MAX {
            exec(app.db(), &format!("INSERT INTO access_tokens (user_id, name, token_hash, scopes, created_at) SELECT id, 'n{i}', '{i:064}', 'read', created_at FROM users")).await.unwrap();
        }
        let (status, body) = create(&app.client, &jwt, "one too many", &["read"], json!(30)).await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}");
        assert_eq!(body["errors"]["body"][0], "you have 50 tokens already: revoke one first");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens").await, 50);
    }
);

db_test!(
    async fn tokens_are_private_to_their_owner_and_concurrent_revocations_agree(app) {
        let alice = register(&app.client, "alice").await;
        let bob = register(&app.client, "bob").await;
        let alices = secret(&app.client, &alice, &["read"]).await;
        let id = scalar(app.db(), "SELECT id FROM access_tokens").await;
        // Bob cannot see or revoke Alice's token.
        let (_, body) = api(&app.client, Method::Get, "/api/user/tokens", Some(&bob), None).await;
        assert_eq!(body["tokens"], json!([]));
        let (status, _) = api(&app.client, Method::Delete, &format!("/api/user/tokens/{id}"), Some(&bob), None).await;
        assert_eq!(status, Status::NotFound);
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&alices), None).await;
        assert_eq!(status, Status::Ok);
        let (status, _) = api(&app.client, Method::Delete, "/api/user/tokens/not-a-number", Some(&alice), None).await;
        assert_eq!(status, Status::UnprocessableEntity, "as for every other id");

        // Eight revocations at once: exactly one 204, the rest 404, one audit entry.
        let path = format!("/api/user/tokens/{id}");
        let statuses = race(8, |_| async {
            api(&app.client, Method::Delete, &path, Some(&alice), None).await.0
        });
        assert_eq!(statuses.iter().filter(|s| **s == Status::NoContent).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == Status::NoContent || *s == Status::NotFound), "{statuses:?}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'token.revoke'").await, 1);
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&alices), None).await;
        assert_eq!(status, Status::Unauthorized);
    }
);

db_test!(
    async fn last_use_is_written_at_most_once_a_minute(app) {
        let jwt = register(&app.client, "owner").await;
        let token = secret(&app.client, &jwt, &["read"]).await;
        for _ in 0..5 {
            let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&token), None).await;
            assert_eq!(status, Status::Ok);
        }
        let first: Option<chrono::DateTime<chrono::Utc>> = crate::support::db_run!(app.db(), |c| sqlx::query_scalar("SELECT last_used_at FROM access_tokens").fetch_one(c).await).unwrap();
        let first = first.expect("recorded");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&token), None).await;
        assert_eq!(status, Status::Ok);
        let again: Option<chrono::DateTime<chrono::Utc>> = crate::support::db_run!(app.db(), |c| sqlx::query_scalar("SELECT last_used_at FROM access_tokens").fetch_one(c).await).unwrap();
        assert_eq!(again, Some(first), "not rewritten within the minute");
        // Over a minute ago: the next use writes it again.
        exec(app.db(), "UPDATE access_tokens SET last_used_at = '2020-01-01 00:00:00.000', last_used_ip = 'old'").await.unwrap();
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&token), None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens WHERE last_used_ip <> 'old'").await, 1);
    }
);

db_test!(
    async fn tokens_end_with_the_sessions_password_change_sign_out_everywhere_and_disabling(app) {
        // SECURITY.md requirement 2: what ends every session of an account ends its tokens too,
        // so a token minted by someone who briefly had the account does not outlive recovery.
        let jwt = register(&app.client, "owner").await;
        let token = secret(&app.client, &jwt, &["read", "write"]).await;
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&token), None).await;
        assert_eq!(status, Status::Ok);
        let (status, body) = api(&app.client, Method::Put, "/api/user", Some(&jwt), Some(json!({"user": {"password": "another-long-password"}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
        let jwt = body["user"]["token"].as_str().expect("a new login token").to_owned();
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&token), None).await;
        assert_eq!(status, Status::Unauthorized, "the password changed: the token is over");
        let (status, body) = api(&app.client, Method::Get, "/api/user/tokens", Some(&jwt), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body["tokens"], json!([]), "and no longer listed");

        // Disabled and enabled again through the console (which bumps the version).
        let token = secret(&app.client, &jwt, &["read"]).await;
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM access_tokens").await, 1, "the dead one was cleared");
        let admin = register(&app.client, "boss").await;
        exec(app.db(), "UPDATE users SET role = 'admin' WHERE username = 'boss'").await.unwrap();
        let owner = user_id(&app, "owner").await;
        for disabled in [true, false] {
            let (status, body) = api(&app.client, Method::Put, &format!("/api/admin/users/{owner}"), Some(&admin), Some(json!({"user": {"disabled": disabled}}))).await;
            assert_eq!(status, Status::Ok, "{body}");
        }
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&token), None).await;
        assert_eq!(status, Status::Unauthorized, "re-enabling does not bring it back");
    }
);

db_test!(
    async fn an_admin_token_cannot_change_anyones_email_through_the_console_api(app) {
        // An address change hands over password recovery: never by a token, as on /api/user.
        let admin_jwt = register(&app.client, "boss").await;
        exec(app.db(), "UPDATE users SET role = 'admin' WHERE username = 'boss'").await.unwrap();
        register(&app.client, "victim").await;
        let admin = secret(&app.client, &admin_jwt, &["admin"]).await;
        for who in ["boss", "victim"] {
            let id = user_id(&app, who).await;
            let (status, body) = api(&app.client, Method::Put, &format!("/api/admin/users/{id}"), Some(&admin), Some(json!({"user": {"email": "attacker@evil.test"}}))).await;
            assert_eq!(status, Status::Forbidden, "{body}");
            assert!(body["errors"]["body"][0].as_str().unwrap().contains("personal access token"), "{body}");
            // The same address in another case is no change: allowed with other edits.
            let (status, body) = api(&app.client, Method::Put, &format!("/api/admin/users/{id}"), Some(&admin), Some(json!({"user": {"email": format!("{}@EXAMPLE.com", who.to_uppercase()), "bio": "edited"}}))).await;
            assert_eq!(status, Status::Ok, "{body}");
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE email LIKE '%evil%'").await, 0);
        // A fresh login may.
        let id = user_id(&app, "victim").await;
        let (status, body) = api(&app.client, Method::Put, &format!("/api/admin/users/{id}"), Some(&admin_jwt), Some(json!({"user": {"email": "victim2@example.com"}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
    }
);
