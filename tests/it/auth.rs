//! Accounts and authentication: the RealWorld user endpoints, browser sessions, CSRF, tokens,
//! revocation, freshness, throttling, roles and the create-admin command.

use conduit::config::DEV_JWT_SECRET;
use rocket::http::{ContentType, Cookie, Header, Method, Status};
use serde_json::json;

use crate::support::{
    api, browser_register, claims_of, csrf_of, exec, forge, get_page, json_of, page_csrf,
    post_form, register, scalar, texts,
};

fn user_body(username: &str, email: &str, password: &str) -> serde_json::Value {
    json!({"user": {"username": username, "email": email, "password": password}})
}

db_test!(
    async fn api_register_answers_201_with_the_user_and_sets_no_cookies(app) {
        let res = app
            .client
            .post("/api/users")
            .header(ContentType::JSON)
            .body(user_body("jake_the-dog", "jake@example.com", "jakejakejake").to_string())
            .dispatch()
            .await;
        assert_eq!(res.headers().get("Set-Cookie").count(), 0, "JSON registration sets no cookies");
        let (status, body) = json_of(res).await;
        assert_eq!(status, Status::Created);
        let user = &body["user"];
        assert_eq!(user["username"], "jake_the-dog");
        assert_eq!(user["email"], "jake@example.com");
        assert_eq!(user["bio"], serde_json::Value::Null);
        assert_eq!(user["image"], serde_json::Value::Null);
        let token = user["token"].as_str().unwrap();
        let (status, me) = api(&app.client, Method::Get, "/api/user", Some(token), None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(me["user"]["username"], "jake_the-dog");
        assert_eq!(me["user"]["token"], token);
        let hash: String = crate::support::db_run!(app.db(), |c| sqlx::query_scalar("SELECT password_hash FROM users").fetch_one(c).await).unwrap();
        assert!(hash.starts_with("$argon2id$"), "stored as argon2id");
    }
);

db_test!(
    async fn api_register_rejects_bad_input_with_field_errors(app) {
        let cases = [
            (json!({"user": {}}), "username", "can't be blank"),
            (user_body("has space", "a@example.com", "longenough"), "username", "may only contain letters, digits, _ and -"),
            (user_body("ok", "not-an-email", "longenough"), "email", "is invalid"),
            (user_body("ok", "a@example.com", "short"), "password", "is too short (minimum is 8 characters)"),
            (user_body("samesame1", "a@example.com", "SameSame1"), "password", "must not be the same as your username or email"),
        ];
        for (body, field, message) in cases {
            let (status, value) = api(&app.client, Method::Post, "/api/users", None, Some(body)).await;
            assert_eq!(status, Status::UnprocessableEntity, "{value}");
            assert_eq!(value["errors"][field][0], message, "{value}");
            assert!(value["errors"]["body"].as_array().unwrap().contains(&json!(format!("{field} {message}"))), "{value}");
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 0);
    }
);

db_test!(
    async fn api_register_refuses_a_taken_email_or_username_in_any_case(app) {
        register(&app.client, "alice").await;
        let (status, body) = api(&app.client, Method::Post, "/api/users", None, Some(user_body("bob", "ALICE@example.com", "longenough"))).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(body["errors"]["body"], json!(["email has already been taken"]));
        assert_eq!(body["errors"]["email"], json!(["has already been taken"]));
        let (status, body) = api(&app.client, Method::Post, "/api/users", None, Some(user_body("Alice", "new@example.com", "longenough"))).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(body["errors"]["username"], json!(["has already been taken"]));
    }
);

db_test!(
    async fn concurrent_registrations_with_one_email_give_one_201_the_rest_422(app) {
        // Four sign-ups with one email (in other cases), released at once on threads of their own;
        // several rounds (16 sign-ups in all, under the hourly per-address limit of 20). Exactly one
        // wins each round; the others get the spec's 422.
        for round in 0..4 {
            let results = crate::support::race(4, |i| {
                let email = if i % 2 == 0 { format!("race{round}@example.com") } else { format!("RACE{round}@Example.com") };
                api(&app.client, Method::Post, "/api/users", None, Some(user_body(&format!("racer{round}x{i}"), &email, "longenough")))
            });
            let mut statuses: Vec<u16> = results.iter().map(|(status, _)| status.code).collect();
            statuses.sort_unstable();
            assert_eq!(statuses, [201, 422, 422, 422], "round {round}: {results:?}");
            for (status, body) in &results {
                if status.code == 422 {
                    assert_eq!(body["errors"]["email"], json!(["has already been taken"]), "{body}");
                }
            }
            let count = scalar(app.db(), &format!("SELECT COUNT(*) FROM users WHERE LOWER(email) = 'race{round}@example.com'")).await;
            assert_eq!(count, 1, "round {round}");
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 4);
    }
);

db_test!(
    async fn api_login_gives_a_token_and_one_generic_401_for_bad_credentials(app) {
        register(&app.client, "carol").await;
        let login = |email: &str, password: &str| json!({"user": {"email": email, "password": password}});
        let res = app.client.post("/api/users/login").header(ContentType::JSON).body(login("carol@example.com", "password-carol").to_string()).dispatch().await;
        assert_eq!(res.headers().get("Set-Cookie").count(), 0, "JSON login sets no cookies");
        let (status, body) = json_of(res).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["user"]["username"], "carol");

        let wrong = api(&app.client, Method::Post, "/api/users/login", None, Some(login("carol@example.com", "not-her-password"))).await;
        let unknown = api(&app.client, Method::Post, "/api/users/login", None, Some(login("nobody@example.com", "not-her-password"))).await;
        assert_eq!(wrong.0, Status::Unauthorized);
        assert_eq!(wrong, unknown, "same status and body whether or not the account exists");
        assert_eq!(wrong.1["errors"]["body"], json!(["email or password is invalid"]));
    }
);

db_test!(
    async fn bearer_is_accepted_and_bad_tokens_are_401_json(app) {
        let token = register(&app.client, "dave").await;
        let bearer = app.client.get("/api/user").header(Header::new("Authorization", format!("Bearer {token}"))).dispatch().await;
        assert_eq!(bearer.status(), Status::Ok);

        let claims = claims_of(&token);
        let now = chrono::Utc::now().timestamp();
        let mut expired = claims.clone();
        expired["exp"] = json!(now - 5);
        let mut wrong_issuer = claims.clone();
        wrong_issuer["iss"] = json!("elsewhere");
        let mut no_exp = claims.clone();
        no_exp.as_object_mut().unwrap().remove("exp");
        let mut string_exp = claims.clone();
        string_exp["exp"] = json!("never");
        let alg_none = {
            use base64::Engine as _;
            let b64 = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims))
        };
        let bad = [
            None,
            Some("garbage".to_owned()),
            Some(alg_none),
            Some(forge(&claims, b"some-other-secret-that-is-long-enough")),
            Some(forge(&expired, DEV_JWT_SECRET.as_bytes())),
            Some(forge(&wrong_issuer, DEV_JWT_SECRET.as_bytes())),
            Some(forge(&no_exp, DEV_JWT_SECRET.as_bytes())),
            Some(forge(&string_exp, DEV_JWT_SECRET.as_bytes())),
        ];
        for token in bad {
            let (status, body) = api(&app.client, Method::Get, "/api/user", token.as_deref(), None).await;
            assert_eq!(status, Status::Unauthorized, "{token:?}");
            assert!(body["errors"]["body"][0].is_string(), "{body}");
        }
    }
);

db_test!(
    async fn put_user_updates_fields_and_resending_unchanged_values_keeps_the_token(app) {
        let token = register(&app.client, "erin").await;
        let body = json!({"user": {"email": "erin@example.com", "username": "erin", "bio": "I like to skateboard", "image": "https://example.com/erin.png"}});
        let (status, value) = api(&app.client, Method::Put, "/api/user", Some(&token), Some(body)).await;
        assert_eq!(status, Status::Ok, "{value}");
        assert_eq!(value["user"]["bio"], "I like to skateboard");
        assert_eq!(value["user"]["image"], "https://example.com/erin.png");
        assert_eq!(value["user"]["token"], token.as_str());
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&token), None).await;
        assert_eq!(status, Status::Ok, "token still valid");

        let (status, value) = api(&app.client, Method::Put, "/api/user", Some(&token), Some(json!({"user": {"image": "javascript:alert(1)"}}))).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(value["errors"]["image"], json!(["must be an http(s) URL"]));
        register(&app.client, "frank").await;
        let (status, value) = api(&app.client, Method::Put, "/api/user", Some(&token), Some(json!({"user": {"username": "Frank"}}))).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(value["errors"]["username"], json!(["has already been taken"]));
    }
);

db_test!(
    async fn password_change_needs_a_fresh_token_and_revokes_older_tokens(app) {
        let token = register(&app.client, "gina").await;
        // A token whose login was 20 minutes ago is not fresh.
        let mut stale = claims_of(&token);
        stale["auth_time"] = json!(chrono::Utc::now().timestamp() - 20 * 60);
        let stale = forge(&stale, DEV_JWT_SECRET.as_bytes());
        let change = json!({"user": {"password": "a-brand-new-password"}});
        let (status, body) = api(&app.client, Method::Put, "/api/user", Some(&stale), Some(change.clone())).await;
        assert_eq!(status, Status::Unauthorized);
        assert_eq!(body["errors"]["body"], json!(["please sign in again to change your email or password"]));
        let (status, body) = api(&app.client, Method::Put, "/api/user", Some(&stale), Some(json!({"user": {"email": "g2@example.com"}}))).await;
        assert_eq!(status, Status::Unauthorized, "{body}");

        let (status, body) = api(&app.client, Method::Put, "/api/user", Some(&token), Some(change)).await;
        assert_eq!(status, Status::Ok, "{body}");
        let new_token = body["user"]["token"].as_str().unwrap().to_owned();
        assert_ne!(new_token, token);
        assert_eq!(api(&app.client, Method::Get, "/api/user", Some(&token), None).await.0, Status::Unauthorized, "old token revoked");
        assert_eq!(api(&app.client, Method::Get, "/api/user", Some(&new_token), None).await.0, Status::Ok);
        let login = json!({"user": {"email": "gina@example.com", "password": "a-brand-new-password"}});
        assert_eq!(api(&app.client, Method::Post, "/api/users/login", None, Some(login)).await.0, Status::Ok);
    }
);

db_test!(
    async fn disabled_users_cannot_log_in_and_their_tokens_stop_working(app) {
        let token = register(&app.client, "hank").await;
        exec(app.db(), "UPDATE users SET disabled = TRUE WHERE username = 'hank'").await.unwrap();
        assert_eq!(api(&app.client, Method::Get, "/api/user", Some(&token), None).await.0, Status::Unauthorized);
        let login = json!({"user": {"email": "hank@example.com", "password": "password-hank"}});
        let (status, body) = api(&app.client, Method::Post, "/api/users/login", None, Some(login)).await;
        assert_eq!(status, Status::Unauthorized);
        assert_eq!(body["errors"]["body"], json!(["email or password is invalid"]), "the same as a wrong password");
    }
);

db_test!(
    async fn ten_failed_logins_lock_the_account_with_429_and_retry_after(app) {
        register(&app.client, "ivan").await;
        let attempt = |password: &'static str| {
            app.client
                .post("/api/users/login")
                .header(ContentType::JSON)
                .body(json!({"user": {"email": "ivan@example.com", "password": password}}).to_string())
                .dispatch()
        };
        for _ in 0..10 {
            assert_eq!(attempt("wrong-password").await.status(), Status::Unauthorized);
        }
        let res = attempt("password-ivan").await;
        assert_eq!(res.status(), Status::TooManyRequests, "even the right password waits");
        let retry: i64 = res.headers().get_one("Retry-After").unwrap().parse().unwrap();
        assert!((1..=15 * 60).contains(&retry), "{retry}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts").await, 10);
    }
);

db_test!(
    async fn malformed_wrong_type_and_oversized_bodies_get_clear_4xx(app) {
        let res = app.client.post("/api/users").header(ContentType::JSON).body("{\"user\": ").dispatch().await;
        let (status, body) = json_of(res).await;
        assert_eq!(status, Status::BadRequest);
        assert!(body["errors"]["body"][0].as_str().unwrap().starts_with("malformed JSON"), "{body}");

        let res = app.client.post("/api/users").header(ContentType::Form).body("user=x").dispatch().await;
        let (status, body) = json_of(res).await;
        assert_eq!(status, Status::UnsupportedMediaType);
        assert!(body["errors"]["body"][0].as_str().unwrap().contains("application/json"), "{body}");

        let res = app.client.post("/api/users").header(ContentType::JSON).body(json!({"user": 5}).to_string()).dispatch().await;
        assert_eq!(json_of(res).await.0, Status::UnprocessableEntity);

        let huge = format!("{{\"user\": {{\"username\": \"{}\"}}}}", "x".repeat(3 * 1024 * 1024));
        let res = app.client.post("/api/users").header(ContentType::JSON).body(huge).dispatch().await;
        let (status, body) = json_of(res).await;
        assert_eq!(status, Status::PayloadTooLarge);
        assert!(body["errors"]["body"][0].as_str().unwrap().contains("larger than"), "{body}");

        let res = app.client.post("/api/users").header(ContentType::JSON).body(vec![0xff, 0xfe, b'{']).dispatch().await;
        assert_eq!(json_of(res).await.0, Status::BadRequest);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 0);
    }
);

db_test!(
    async fn browser_sign_up_sets_httponly_samesite_cookies_and_shows_the_user(app) {
        let (_, page) = get_page(&app.client, "/register").await;
        let csrf = csrf_of(&page);
        let res = post_form(&app.client, "/register", &[("csrf_token", &csrf), ("username", "jill"), ("email", "jill@example.com"), ("password", "password-jill")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(res.headers().get_one("Location"), Some("/"));
        let session = res.headers().get("Set-Cookie").find(|c| c.starts_with("session=")).expect("session cookie").to_owned();
        let session = Cookie::parse(session).unwrap();
        assert_eq!(session.http_only(), Some(true));
        assert_eq!(session.same_site(), Some(rocket::http::SameSite::Lax));
        assert_eq!(session.path(), Some("/"));
        let (_, home) = get_page(&app.client, "/").await;
        assert!(texts(&home, "nav a.nav-link").contains(&"jill".to_owned()));
        assert_eq!(texts(&home, ".flash"), vec!["Welcome to Conduit, jill!"]);
    }
);

db_test!(
    async fn sign_up_form_keeps_input_and_shows_field_errors(app) {
        register(&app.client, "kate").await;
        let (_, page) = get_page(&app.client, "/register").await;
        let csrf = csrf_of(&page);
        let res = post_form(&app.client, "/register", &[("csrf_token", &csrf), ("username", "newkate"), ("email", "kate@example.com"), ("password", "x")]).await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let html = scraper::Html::parse_document(&res.into_string().await.unwrap());
        assert_eq!(texts(&html, ".error-messages li"), vec!["email has already been taken", "password is too short (minimum is 8 characters)"]);
        let sel = scraper::Selector::parse("input#username").unwrap();
        assert_eq!(html.select(&sel).next().unwrap().value().attr("value"), Some("newkate"));
        assert_eq!(texts(&html, ".field-error"), vec!["Email has already been taken", "Password is too short (minimum is 8 characters)"]);
    }
);

db_test!(
    async fn forms_without_a_valid_csrf_token_are_refused_and_change_nothing(app) {
        let res = post_form(&app.client, "/register", &[("username", "mallory"), ("email", "m@example.com"), ("password", "longenough")]).await;
        assert_eq!(res.status(), Status::Forbidden);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 0);

        browser_register(&app.client, "liam").await;
        for token in ["", "0123456789abcdef0123456789abcdef"] {
            let res = post_form(&app.client, "/settings", &[("csrf_token", token), ("username", "liam"), ("email", "liam@example.com"), ("bio", "hacked")]).await;
            assert_eq!(res.status(), Status::Forbidden);
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE bio IS NOT NULL").await, 0);

        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, "/settings", &[("csrf_token", &csrf), ("username", "liam"), ("email", "liam@example.com"), ("bio", "mine")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE bio = 'mine'").await, 1);
    }
);

db_test!(
    async fn cookie_authenticated_json_writes_need_the_csrf_header_and_header_auth_does_not(app) {
        // (Registered before the browser signs in: with its session cookie, even a JSON
        // registration without the token would be refused.)
        let token = register(&app.client, "nina").await;
        browser_register(&app.client, "mona").await;
        let put = |csrf: Option<String>| {
            let mut req = app.client.put("/api/user").header(ContentType::JSON).body(json!({"user": {"bio": "from js"}}).to_string());
            if let Some(csrf) = csrf {
                req = req.header(Header::new("X-CSRF-Token", csrf));
            }
            req.dispatch()
        };
        assert_eq!(put(None).await.status(), Status::Forbidden);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE bio IS NOT NULL").await, 0);
        let csrf = app.client.cookies().get("csrf_token").unwrap().value().to_owned();
        assert_eq!(put(Some(csrf)).await.status(), Status::Ok);

        // An Authorization header wins over cookies: no CSRF needed, and a bad one is a 401.
        let (status, body) = api(&app.client, Method::Put, "/api/user", Some(&token), Some(json!({"user": {"bio": "script"}}))).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["user"]["username"], "nina");
        assert_eq!(api(&app.client, Method::Get, "/api/user", Some("garbage"), None).await.0, Status::Unauthorized);
    }
);

db_test!(
    async fn pages_that_need_login_redirect_there_and_come_back(app) {
        let res = app.client.get("/settings").dispatch().await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(res.headers().get_one("Location"), Some("/login?next=%2Fsettings"));
        register(&app.client, "olga").await;
        let (_, page) = get_page(&app.client, "/login?next=%2Fsettings").await;
        let csrf = csrf_of(&page);
        let next = texts(&page, "form.login-form input[name=next]");
        assert_eq!(next.len(), 1);
        let res = post_form(&app.client, "/login", &[("csrf_token", &csrf), ("email", "olga@example.com"), ("password", "password-olga"), ("next", "/settings")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(res.headers().get_one("Location"), Some("/settings"));
        let (status, settings) = get_page(&app.client, "/settings").await;
        assert_eq!(status, Status::Ok);
        let sel = scraper::Selector::parse("input#email").unwrap();
        assert_eq!(settings.select(&sel).next().unwrap().value().attr("value"), Some("olga@example.com"));

        // A next that leaves the site is ignored.
        let fresh = rocket::local::asynchronous::Client::tracked(conduit::rocket_with(app.client.rocket().figment().clone())).await.unwrap();
        let (_, page) = get_page(&fresh, "/login").await;
        let csrf = csrf_of(&page);
        let res = post_form(&fresh, "/login", &[("csrf_token", &csrf), ("email", "olga@example.com"), ("password", "password-olga"), ("next", "//evil.example")]).await;
        assert_eq!(res.headers().get_one("Location"), Some("/"));
    }
);

db_test!(
    async fn wrong_login_on_the_site_shows_one_message_and_keeps_the_email(app) {
        register(&app.client, "pete").await;
        let (_, page) = get_page(&app.client, "/login").await;
        let csrf = csrf_of(&page);
        let res = post_form(&app.client, "/login", &[("csrf_token", &csrf), ("email", "pete@example.com"), ("password", "wrong-password")]).await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let html = scraper::Html::parse_document(&res.into_string().await.unwrap());
        assert_eq!(texts(&html, ".error-messages li"), vec!["email or password is invalid"]);
        let sel = scraper::Selector::parse("input#email").unwrap();
        assert_eq!(html.select(&sel).next().unwrap().value().attr("value"), Some("pete@example.com"));
        assert!(app.client.cookies().get("session").is_none());
    }
);

db_test!(
    async fn logout_revokes_the_session_cookie_server_side(app) {
        browser_register(&app.client, "quinn").await;
        let stolen = app.client.cookies().get("session").unwrap().value().to_owned();
        let stolen_refresh = app.client.cookies().get("refresh").unwrap().value().to_owned();
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, "/logout", &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let (_, home) = get_page(&app.client, "/").await;
        assert_eq!(texts(&home, "nav a.nav-link"), vec!["Home", "Sign in", "Sign up"]);

        // Replaying the old cookies: still signed out.
        let res = app.client.get("/settings").cookie(Cookie::new("session", stolen.clone())).cookie(Cookie::new("refresh", stolen_refresh)).dispatch().await;
        assert_eq!(res.status(), Status::SeeOther);
        let res = app.client.get("/api/user").cookie(Cookie::new("session", stolen)).dispatch().await;
        assert_eq!(res.status(), Status::Unauthorized);
    }
);

db_test!(
    async fn an_expired_access_cookie_is_renewed_silently_from_the_refresh_cookie(app) {
        browser_register(&app.client, "rita").await;
        let access = app.client.cookies().get("session").unwrap().value().to_owned();
        let mut claims = claims_of(&access);
        claims["exp"] = json!(chrono::Utc::now().timestamp() - 60);
        let expired = forge(&claims, DEV_JWT_SECRET.as_bytes());
        let res = app.client.get("/settings").cookie(Cookie::new("session", expired)).dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        let renewed = res.headers().get("Set-Cookie").find(|c| c.starts_with("session=")).expect("a new access cookie");
        let renewed = Cookie::parse(renewed.to_owned()).unwrap();
        assert!(claims_of(renewed.value())["exp"].as_i64().unwrap() > chrono::Utc::now().timestamp());
    }
);

db_test!(
    async fn settings_password_change_needs_the_current_password_and_signs_out_other_browsers(app) {
        browser_register(&app.client, "sam").await;
        let api_token = {
            let login = json!({"user": {"email": "sam@example.com", "password": "password-sam"}});
            let script = crate::support::script_client(&app.client).await;
            api(&script, Method::Post, "/api/users/login", None, Some(login)).await.1["user"]["token"].as_str().unwrap().to_owned()
        };
        let csrf = page_csrf(&app.client).await;
        let fields = |current: &'static str| {
            vec![("username", "sam"), ("email", "sam@example.com"), ("password", "sams-new-password"), ("current_password", current)]
        };
        let mut wrong = fields("not-my-password");
        wrong.push(("csrf_token", &csrf));
        let res = post_form(&app.client, "/settings", &wrong).await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let html = scraper::Html::parse_document(&res.into_string().await.unwrap());
        assert_eq!(texts(&html, ".error-messages li"), vec!["current_password is not correct"]);

        let mut right = fields("password-sam");
        right.push(("csrf_token", &csrf));
        let res = post_form(&app.client, "/settings", &right).await;
        assert_eq!(res.status(), Status::SeeOther);
        let (status, _) = get_page(&app.client, "/settings").await;
        assert_eq!(status, Status::Ok, "this browser stays signed in");
        assert_eq!(api(&app.client, Method::Get, "/api/user", Some(&api_token), None).await.0, Status::Unauthorized, "other sessions revoked");
    }
);

db_test!(
    async fn sign_out_everywhere_revokes_every_token(app) {
        browser_register(&app.client, "tess").await;
        let login = json!({"user": {"email": "tess@example.com", "password": "password-tess"}});
        let script = crate::support::script_client(&app.client).await;
        // Two API tokens and a second browser (another instance of the app on the same database).
        let token = api(&script, Method::Post, "/api/users/login", None, Some(login.clone())).await.1["user"]["token"].as_str().unwrap().to_owned();
        let second_token = api(&script, Method::Post, "/api/users/login", None, Some(login)).await.1["user"]["token"].as_str().unwrap().to_owned();
        let other_browser = rocket::local::asynchronous::Client::tracked(conduit::rocket_with(app.client.rocket().figment().clone())).await.unwrap();
        let csrf = crate::support::csrf_of(&get_page(&other_browser, "/login").await.1);
        let res = post_form(&other_browser, "/login", &[("email", "tess@example.com"), ("password", "password-tess"), ("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(other_browser.get("/settings").dispatch().await.status(), Status::Ok, "the second browser is signed in");
        for t in [&token, &second_token] {
            assert_eq!(api(&script, Method::Get, "/api/user", Some(t), None).await.0, Status::Ok);
        }
        assert!(scalar(app.db(), "SELECT COUNT(*) FROM sessions").await >= 2, "two browser sessions");

        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, "/settings/sign-out-everywhere", &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        for t in [&token, &second_token] {
            assert_eq!(api(&script, Method::Get, "/api/user", Some(t), None).await.0, Status::Unauthorized);
        }
        assert_eq!(other_browser.get("/settings").dispatch().await.status(), Status::SeeOther, "the other browser is signed out");
        assert_eq!(app.client.get("/settings").dispatch().await.status(), Status::SeeOther, "and this one");
    }
);

#[test]
fn create_admin_reads_the_password_from_stdin_and_promotes_existing_users() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("admin.db");
    let run = |username: &str, email: &str, stdin: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_conduit"))
            .args(["create-admin", "--username", username, "--email", email])
            .env(
                "ROCKET_DATABASES",
                format!("{{main={{url=\"sqlite://{}\"}}}}", db.display()),
            )
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(
        "root_admin",
        "root@example.com",
        "a-strong-admin-password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let short = run("other", "other@example.com", "short\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("password is too short"));

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pool = conduit::db::DbPool::connect(&format!("sqlite://{}", db.display()), 1, 0, std::time::Duration::from_secs(5), None).await.unwrap();
        assert_eq!(scalar(&pool, "SELECT COUNT(*) FROM users WHERE role = 'admin' AND username = 'root_admin'").await, 1);
        let user = conduit::db::users::find_by_email(&pool, "root@example.com").await.unwrap().unwrap();
        // The hash checked directly (the app's own check is throttled and needs a running app).
        let stored = argon2::PasswordHash::new(&user.password_hash).unwrap();
        assert!(argon2::PasswordVerifier::verify_password(&argon2::Argon2::default(), b"a-strong-admin-password", &stored).is_ok());
        exec(&pool, "INSERT INTO users (username, email, password_hash, role, disabled, token_version, created_at, updated_at) VALUES ('plain', 'plain@example.com', 'x', 'user', FALSE, 0, '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000')").await.unwrap();
        pool.close().await;
    });
    let out = run("plain", "plain@example.com", "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rt.block_on(async {
        let pool = conduit::db::DbPool::connect(
            &format!("sqlite://{}", db.display()),
            1,
            0,
            std::time::Duration::from_secs(5),
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            scalar(&pool, "SELECT COUNT(*) FROM users WHERE role = 'admin'").await,
            2
        );
    });
}

async fn login_status(client: &rocket::local::asynchronous::Client, email: &str) -> Status {
    let body = json!({"user": {"email": email, "password": "wrong-password"}});
    api(client, Method::Post, "/api/users/login", None, Some(body))
        .await
        .0
}

#[rocket::async_test]
async fn failures_from_one_address_across_accounts_are_throttled_too() {
    for engine in [conduit::db::Engine::Sqlite, conduit::db::Engine::MySql] {
        let Some(app) = crate::harness::TestApp::spawn_with(engine, "it::auth::per_address", |f| {
            f.merge(("login_max_per_ip", 3))
        })
        .await
        else {
            continue;
        };
        for i in 0..3 {
            assert_eq!(
                login_status(&app.client, &format!("user{i}@example.com")).await,
                Status::Unauthorized
            );
        }
        assert_eq!(
            login_status(&app.client, "someone-else@example.com").await,
            Status::TooManyRequests,
            "{engine:?}"
        );
    }
}

#[rocket::async_test]
async fn release_style_config_marks_session_cookies_secure() {
    let app =
        crate::harness::TestApp::spawn_with(conduit::db::Engine::Sqlite, "it::auth::secure", |f| {
            f.merge(("cookie_secure", true))
        })
        .await
        .unwrap();
    let (_, page) = get_page(&app.client, "/register").await;
    let csrf = csrf_of(&page);
    let res = post_form(
        &app.client,
        "/register",
        &[
            ("csrf_token", &csrf),
            ("username", "sec"),
            ("email", "sec@example.com"),
            ("password", "password-sec"),
        ],
    )
    .await;
    assert_eq!(res.status(), Status::SeeOther);
    // Secure cookies carry the `__Host-` prefix (tests/it/csrf.rs checks the rest of it).
    for name in ["__Host-session=", "__Host-refresh=", "__Host-csrf_token="] {
        let raw = res
            .headers()
            .get("Set-Cookie")
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("{name} cookie"))
            .to_owned();
        let cookie = Cookie::parse(raw).unwrap();
        assert_eq!(cookie.secure(), Some(true), "{name}");
        assert_eq!(
            cookie.http_only(),
            if name == "__Host-csrf_token=" {
                None
            } else {
                Some(true)
            },
            "{name}: the CSRF cookie is readable by design"
        );
    }
}

db_test!(
    async fn oversized_forms_get_413_and_change_nothing(app) {
        let (_, page) = get_page(&app.client, "/register").await;
        let csrf = csrf_of(&page);
        let big = "x".repeat(3 * 1024 * 1024);
        let res = post_form(&app.client, "/register", &[("csrf_token", &csrf), ("username", "big"), ("email", "big@example.com"), ("password", &big)]).await;
        assert_eq!(res.status(), Status::PayloadTooLarge);
        let html = scraper::Html::parse_document(&res.into_string().await.unwrap());
        assert_eq!(texts(&html, "main h1"), vec!["Too large"]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 0);
    }
);

db_test!(
    async fn remember_me_decides_how_long_the_browser_session_lasts(app) {
        register(&app.client, "rememberer").await;
        for (remember, expect_days) in [(false, None), (true, Some(30))] {
            let browser = rocket::local::asynchronous::Client::tracked(conduit::rocket_with(app.client.rocket().figment().clone())).await.unwrap();
            let (_, page) = get_page(&browser, "/login").await;
            let csrf = csrf_of(&page);
            let mut fields = vec![("csrf_token", csrf.as_str()), ("email", "rememberer@example.com"), ("password", "password-rememberer")];
            if remember {
                fields.push(("remember", "true"));
            }
            let res = post_form(&browser, "/login", &fields).await;
            assert_eq!(res.status(), Status::SeeOther);
            let raw = res.headers().get("Set-Cookie").find(|c| c.starts_with("refresh=")).expect("refresh cookie").to_owned();
            let cookie = Cookie::parse(raw).unwrap();
            assert_eq!(cookie.max_age().map(rocket::time::Duration::whole_days), expect_days, "remember = {remember}");
        }
    }
);

db_test!(
    async fn the_feed_refuses_a_revoked_token_whether_or_not_it_has_articles(app) {
        let star = register(&app.client, "star").await;
        let fan = register(&app.client, "fan").await;
        let idle = register(&app.client, "idle").await;
        let article = json!({"article": {"title": "News", "description": "d", "body": "b", "tagList": []}});
        assert_eq!(api(&app.client, Method::Post, "/api/articles", Some(&star), Some(article)).await.0, Status::Created);
        assert_eq!(api(&app.client, Method::Post, "/api/profiles/star/follow", Some(&fan), None).await.0, Status::Ok);

        let (status, feed) = api(&app.client, Method::Get, "/api/articles/feed", Some(&fan), None).await;
        assert_eq!(status, Status::Ok, "{feed}");
        assert_eq!(feed["articlesCount"], 1);
        assert_eq!(feed["articles"][0]["title"], "News");
        assert_eq!(feed["articles"][0]["author"]["following"], true);
        let (status, past_end) = api(&app.client, Method::Get, "/api/articles/feed?offset=5", Some(&fan), None).await;
        assert_eq!((status, past_end), (Status::Ok, json!({"articles": [], "articlesCount": 1})));
        let (status, empty) = api(&app.client, Method::Get, "/api/articles/feed", Some(&idle), None).await;
        assert_eq!((status, empty), (Status::Ok, json!({"articles": [], "articlesCount": 0})));

        // Revoked (as a password change or "sign out everywhere" does): 401, with articles to
        // show or without, and the same answer as any other endpoint gives that token.
        exec(app.db(), "UPDATE users SET token_version = token_version + 1 WHERE username IN ('fan', 'idle')").await.unwrap();
        for token in [&fan, &idle] {
            let (status, body) = api(&app.client, Method::Get, "/api/articles/feed", Some(token), None).await;
            assert_eq!(status, Status::Unauthorized, "{body}");
            assert_eq!(body, json!({"errors": {"body": ["missing or invalid credentials"]}}));
            assert_eq!(api(&app.client, Method::Get, "/api/user", Some(token), None).await, (status, body));
            let (status, _) = api(&app.client, Method::Get, "/api/articles/feed?offset=5", Some(token), None).await;
            assert_eq!(status, Status::Unauthorized);
        }

        // A new token works; disabling the account or deleting it stops it again.
        let login = json!({"user": {"email": "fan@example.com", "password": "password-fan"}});
        let (_, body) = api(&app.client, Method::Post, "/api/users/login", None, Some(login)).await;
        let fresh = body["user"]["token"].as_str().expect("token").to_owned();
        assert_eq!(api(&app.client, Method::Get, "/api/articles/feed", Some(&fresh), None).await.1["articlesCount"], 1);
        exec(app.db(), "UPDATE users SET disabled = TRUE WHERE username = 'fan'").await.unwrap();
        assert_eq!(api(&app.client, Method::Get, "/api/articles/feed", Some(&fresh), None).await.0, Status::Unauthorized);
        exec(app.db(), "UPDATE users SET disabled = FALSE WHERE username = 'fan'").await.unwrap();
        assert_eq!(api(&app.client, Method::Get, "/api/articles/feed", Some(&fresh), None).await.0, Status::Ok);
        exec(app.db(), "DELETE FROM users WHERE username = 'fan'").await.unwrap();
        assert_eq!(api(&app.client, Method::Get, "/api/articles/feed", Some(&fresh), None).await.0, Status::Unauthorized);

        // Bad tokens are refused as everywhere else.
        let mut expired = claims_of(&star);
        expired["exp"] = json!(chrono::Utc::now().timestamp() - 60);
        let (status, body) = api(&app.client, Method::Get, "/api/articles/feed", Some(&forge(&expired, DEV_JWT_SECRET.as_bytes())), None).await;
        assert_eq!((status, body), (Status::Unauthorized, json!({"errors": {"body": ["missing or invalid credentials"]}})));
        let forged = forge(&claims_of(&star), b"not-the-server-secret-not-the-server-secret");
        assert_eq!(api(&app.client, Method::Get, "/api/articles/feed", Some(&forged), None).await.0, Status::Unauthorized);
        assert_eq!(api(&app.client, Method::Get, "/api/articles/feed", None, None).await.0, Status::Unauthorized);
    }
);

db_test!(
    async fn the_feed_checks_a_browser_sessions_token_through_its_session(app) {
        let star = register(&app.client, "star").await;
        let article = json!({"article": {"title": "News", "description": "d", "body": "b", "tagList": []}});
        assert_eq!(api(&app.client, Method::Post, "/api/articles", Some(&star), Some(article)).await.0, Status::Created);
        browser_register(&app.client, "reader").await;
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, "/profile/star/follow", &[("csrf_token", &csrf), ("back", "/")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        // The access cookie's token, sent as a header: it names a browser session.
        let access = app.client.cookies().get("session").map(|c| c.value().to_owned()).expect("access cookie");
        assert!(claims_of(&access)["sid"].is_string());
        assert_eq!(api(&app.client, Method::Get, "/api/articles/feed", Some(&access), None).await.1["articlesCount"], 1);
        exec(app.db(), "UPDATE sessions SET revoked_at = created_at").await.unwrap();
        assert_eq!(api(&app.client, Method::Get, "/api/articles/feed", Some(&access), None).await.0, Status::Unauthorized);
    }
);
