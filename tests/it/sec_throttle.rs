//! Issue 16, items 3, 4, 6 and part of 12: throttles that hold under concurrency (logins per
//! account and per address, sign-ups per address, every password check), the bounded hashing
//! queue, one answer for a disabled account and a wrong password, `Cache-Control: no-store` on
//! credential responses, and no `Server` header.
//!
//! Concurrent requests are real spawned tasks on the shared client, each its own request.

use std::net::SocketAddr;
use std::sync::Arc;

use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::LocalResponse;
use scraper::Html;
use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::support::{
    api, browser_register, csrf_of, exec, get_page, page_csrf, post_form, register, scalar, texts,
    urlencode,
};

/// What a client sees of one response.
#[derive(Debug, Clone)]
struct Seen {
    status: Status,
    retry_after: Option<String>,
    body: String,
}

impl Seen {
    async fn of(res: LocalResponse<'_>) -> Self {
        Self {
            status: res.status(),
            retry_after: res.headers().get_one("Retry-After").map(str::to_owned),
            body: res.into_string().await.unwrap_or_default(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    /// `Retry-After` as whole seconds, which it must be.
    fn retry_secs(&self) -> u64 {
        let value = self.retry_after.as_deref().expect("a Retry-After header");
        value
            .parse()
            .unwrap_or_else(|_| panic!("Retry-After is not whole seconds: {value}"))
    }
}

/// One POST to send: a JSON or form body, from a given client address.
struct Post {
    path: &'static str,
    form: bool,
    body: String,
    remote: Option<SocketAddr>,
    /// An `X-Real-IP` header a client might send to pick its own address.
    spoof: Option<String>,
}

impl Post {
    fn json(path: &'static str, body: &Value) -> Self {
        Self {
            path,
            form: false,
            body: body.to_string(),
            remote: None,
            spoof: None,
        }
    }

    fn form(path: &'static str, fields: &[(&str, &str)]) -> Self {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        Self {
            path,
            form: true,
            body,
            remote: None,
            spoof: None,
        }
    }

    fn from(mut self, remote: &str) -> Self {
        self.remote = Some(remote.parse().expect("a socket address"));
        self
    }
}

/// Send every post at once, each from its own spawned task; the answers in the same order.
async fn all_at_once(app: &Arc<TestApp>, posts: Vec<Post>) -> Vec<Seen> {
    let tasks: Vec<_> = posts
        .into_iter()
        .map(|post| {
            let app = Arc::clone(app);
            tokio::spawn(async move {
                let content_type = if post.form {
                    ContentType::Form
                } else {
                    ContentType::JSON
                };
                let mut req = app
                    .client
                    .post(post.path)
                    .header(content_type)
                    .body(post.body);
                if let Some(remote) = post.remote {
                    req = req.remote(remote);
                }
                if let Some(spoof) = post.spoof {
                    req = req.header(Header::new("X-Real-IP", spoof));
                }
                Seen::of(req.dispatch().await).await
            })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.expect("request task"));
    }
    seen
}

fn count(seen: &[Seen], status: Status) -> usize {
    seen.iter().filter(|s| s.status == status).count()
}

fn login_body(email: &str, password: &str) -> Value {
    json!({"user": {"email": email, "password": password}})
}

fn user_body(username: &str) -> Value {
    json!({"user": {"username": username, "email": format!("{username}@example.com"), "password": format!("password-{username}")}})
}

db_test!(
    async fn thirty_concurrent_wrong_passwords_check_exactly_the_account_limit(app) {
        register(&app.client, "ivy").await;
        let app = Arc::new(app);
        let posts = (0..30)
            .map(|_| Post::json("/api/users/login", &login_body("ivy@example.com", "wrong-password")))
            .collect();
        let seen = all_at_once(&app, posts).await;
        assert_eq!(count(&seen, Status::Unauthorized), 10, "exactly login_max_per_account checked: {seen:?}");
        assert_eq!(count(&seen, Status::TooManyRequests), 20, "{seen:?}");
        for refused in seen.iter().filter(|s| s.status == Status::TooManyRequests) {
            assert!((1..=15 * 60).contains(&refused.retry_secs()), "{refused:?}");
            assert_eq!(refused.json(), json!({"errors": {"body": ["too many attempts, try again later"]}}));
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts WHERE email = 'ivy@example.com'").await, 10);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts").await, 10, "refused attempts are not recorded");

        // Blocked: the right password waits too, and nothing more is recorded.
        let (status, _) = api(&app.client, Method::Post, "/api/users/login", None, Some(login_body("IVY@example.com", "password-ivy"))).await;
        assert_eq!(status, Status::TooManyRequests, "any letter case is the same account");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts").await, 10);
    }
);

db_test!(
    |f| f.merge(("login_max_per_ip", 5)),
    async fn concurrent_failures_from_one_address_stop_at_its_limit(app) {
        let app = Arc::new(app);
        let posts = (0..12)
            .map(|i| {
                let mut post = Post::json("/api/users/login", &login_body(&format!("nobody{i}@example.com"), "wrong-password"))
                    .from("203.0.113.7:40000");
                // Choosing one's own address by header changes nothing (ip_header is off).
                post.spoof = Some(format!("198.18.0.{i}"));
                post
            })
            .collect();
        let seen = all_at_once(&app, posts).await;
        assert_eq!(count(&seen, Status::Unauthorized), 5, "{seen:?}");
        assert_eq!(count(&seen, Status::TooManyRequests), 7, "{seen:?}");
        assert!(seen.iter().filter(|s| s.status == Status::TooManyRequests).all(|s| s.retry_secs() >= 1));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts WHERE ip = '203.0.113.7'").await, 5);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts").await, 5);

        let other = all_at_once(&app, vec![Post::json("/api/users/login", &login_body("nobody0@example.com", "wrong-password")).from("198.51.100.2:40000")]).await;
        assert_eq!(other[0].status, Status::Unauthorized, "another address is not blocked");
    }
);

db_test!(
    |f| f.merge(("password_queue_max", 0)).merge(("login_max_per_ip", 10_000)),
    async fn a_full_hashing_queue_answers_503_with_retry_after_instead_of_waiting(app) {
        let app = Arc::new(app);
        // No one may wait for the hasher: while one check runs, the others are refused at once.
        let mut api_seen = Vec::new();
        for wave in 0..20 {
            let posts = (0..6)
                .map(|i| Post::json("/api/users/login", &login_body(&format!("w{wave}x{i}@example.com"), "wrong-password")))
                .collect();
            api_seen.extend(all_at_once(&app, posts).await);
            if count(&api_seen, Status::ServiceUnavailable) > 0 {
                break;
            }
        }
        assert!(count(&api_seen, Status::ServiceUnavailable) > 0, "some check found the hasher busy: {api_seen:?}");
        assert_eq!(
            count(&api_seen, Status::ServiceUnavailable) + count(&api_seen, Status::Unauthorized),
            api_seen.len(),
            "{api_seen:?}"
        );
        for busy in api_seen.iter().filter(|s| s.status == Status::ServiceUnavailable) {
            assert_eq!(busy.retry_secs(), 2);
            assert_eq!(busy.json(), json!({"errors": {"body": ["the server is busy, please try again shortly"]}}));
        }
        let checked = i64::try_from(count(&api_seen, Status::Unauthorized)).unwrap();
        assert_eq!(
            scalar(app.db(), "SELECT COUNT(*) FROM login_attempts").await,
            checked,
            "a refused check is not counted as a failure"
        );

        // The site answers its error page.
        let (_, page) = get_page(&app.client, "/login").await;
        let csrf = csrf_of(&page);
        let mut site_seen = Vec::new();
        for wave in 0..20 {
            let posts = (0..6)
                .map(|i| {
                    let email = format!("s{wave}x{i}@example.com");
                    Post::form("/login", &[("csrf_token", &csrf), ("email", &email), ("password", "wrong-password")])
                })
                .collect();
            site_seen.extend(all_at_once(&app, posts).await);
            if count(&site_seen, Status::ServiceUnavailable) > 0 {
                break;
            }
        }
        let busy = site_seen
            .iter()
            .find(|s| s.status == Status::ServiceUnavailable)
            .unwrap_or_else(|| panic!("some sign-in found the hasher busy: {site_seen:?}"));
        assert_eq!(busy.retry_secs(), 2);
        let html = busy.html();
        assert_eq!(texts(&html, ".error-page h1"), vec!["Temporarily unavailable"]);
        assert_eq!(texts(&html, ".error-page .error-messages li"), vec!["the server is busy, please try again shortly"]);
        assert!(site_seen.iter().all(|s| [Status::ServiceUnavailable, Status::UnprocessableEntity].contains(&s.status)));
    }
);

db_test!(
    |f| f.merge(("register_per_hour", 3)),
    async fn sign_ups_are_limited_per_address_even_when_concurrent(app) {
        let app = Arc::new(app);
        let posts = (0..8).map(|i| Post::json("/api/users", &user_body(&format!("new{i}"))).from("203.0.113.9:5000")).collect();
        let seen = all_at_once(&app, posts).await;
        assert_eq!(count(&seen, Status::Created), 3, "{seen:?}");
        assert_eq!(count(&seen, Status::TooManyRequests), 5, "{seen:?}");
        for refused in seen.iter().filter(|s| s.status == Status::TooManyRequests) {
            assert!((1..=3600).contains(&refused.retry_secs()), "{refused:?}");
            assert_eq!(refused.json(), json!({"errors": {"body": ["too many attempts, try again later"]}}));
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 3);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM register_attempts WHERE ip = '203.0.113.9'").await, 3);

        // The site's form from the same address: 429 on the form, with Retry-After.
        let (_, page) = get_page(&app.client, "/register").await;
        let csrf = csrf_of(&page);
        let form = Post::form(
            "/register",
            &[("csrf_token", &csrf), ("username", "formuser"), ("email", "formuser@example.com"), ("password", "password-formuser")],
        );
        let seen = all_at_once(&app, vec![form.from("203.0.113.9:5001")]).await;
        assert_eq!(seen[0].status, Status::TooManyRequests);
        assert!(seen[0].retry_secs() >= 1);
        let html = seen[0].html();
        assert_eq!(texts(&html, ".error-messages li"), vec!["too many attempts, try again later"]);
        assert_eq!(texts(&html, "h1"), vec!["Sign up"], "the form is shown again");

        // Another address may still sign up, on either face.
        let seen = all_at_once(&app, vec![Post::json("/api/users", &user_body("elsewhere")).from("198.51.100.3:5000")]).await;
        assert_eq!(seen[0].status, Status::Created, "{seen:?}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 4);
    }
);

db_test!(
    |f| f.merge(("register_per_hour", 2)),
    async fn broken_sign_up_forms_count_against_the_limit_and_stop_telling_taken_emails_past_it(app) {
        let app = Arc::new(app);
        register(&app.client, "taken").await;
        let (_, page) = get_page(&app.client, "/register").await;
        let csrf = csrf_of(&page);
        // A form with a field error (a short password) and a taken email: the first attempts say
        // the email is taken, as a valid form would, and each one counts.
        let broken = |from: &str| {
            Post::form(
                "/register",
                &[("csrf_token", &csrf), ("username", "prober"), ("email", "taken@example.com"), ("password", "x")],
            )
            .from(from)
        };
        for round in 0..2 {
            let seen = all_at_once(&app, vec![broken("203.0.113.20:5000")]).await;
            assert_eq!(seen[0].status, Status::UnprocessableEntity, "round {round}");
            let html = seen[0].html();
            let errors = texts(&html, ".error-messages li").join(" | ");
            assert!(errors.contains("has already been taken"), "round {round}: {errors}");
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM register_attempts WHERE ip = '203.0.113.20'").await, 2);
        // Past the limit: 429, and not a word about which emails exist.
        let seen = all_at_once(&app, vec![broken("203.0.113.20:5001")]).await;
        assert_eq!(seen[0].status, Status::TooManyRequests);
        assert!(seen[0].retry_secs() >= 1);
        let html = seen[0].html();
        assert_eq!(texts(&html, ".error-messages li"), vec!["too many attempts, try again later"]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 1, "nothing was created");
    }
);

db_test!(
    |f| f.merge(("register_per_hour", 0)),
    async fn a_registration_limit_of_zero_turns_the_throttle_off(app) {
        for i in 0..25 {
            register(&app.client, &format!("many{i}")).await;
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 25);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM register_attempts").await, 0);
    }
);

db_test!(
    |f| f.merge(("login_max_per_account", 3)),
    async fn the_settings_pages_current_password_is_throttled_like_a_login(app) {
        browser_register(&app.client, "sam").await;
        let csrf = page_csrf(&app.client).await;
        let change = |current: &'static str| {
            let csrf = csrf.clone();
            let client = &app.client;
            async move {
                let res = post_form(
                    client,
                    "/settings",
                    &[
                        ("csrf_token", &csrf),
                        ("image", ""),
                        ("username", "sam"),
                        ("bio", ""),
                        ("email", "sam.new@example.com"),
                        ("password", ""),
                        ("current_password", current),
                    ],
                )
                .await;
                Seen::of(res).await
            }
        };
        for _ in 0..3 {
            let seen = change("not-my-password").await;
            assert_eq!(seen.status, Status::UnprocessableEntity);
            assert_eq!(texts(&seen.html(), ".error-messages li"), vec!["current_password is not correct"]);
        }
        let seen = change("password-sam").await;
        assert_eq!(seen.status, Status::TooManyRequests, "the right password waits too");
        assert!((1..=15 * 60).contains(&seen.retry_secs()));
        assert_eq!(texts(&seen.html(), ".error-messages li"), vec!["too many attempts, try again later"]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE email = 'sam@example.com'").await, 1, "nothing changed");
        // Counted under the signed-in user, not the email (strangers' failed logins for the email
        // must not stop its owner confirming their password, see the reauth test below).
        let sam = crate::admin::id_of(&app, "sam").await;
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM login_attempts WHERE email = '#user:{sam}'")).await, 3);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts").await, 3);
        // An over-long current password is refused before anything is hashed or counted.
        let seen = change(Box::leak("p".repeat(129).into_boxed_str())).await;
        assert_eq!(seen.status, Status::UnprocessableEntity, "refused as no password can be");
        assert_eq!(texts(&seen.html(), ".error-messages li"), vec!["current_password is not correct"]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts").await, 3);
    }
);

db_test!(
    |f| f.merge(("login_max_per_account", 3)),
    async fn admin_reauthentication_is_throttled_under_concurrency(app) {
        crate::admin::admin_browser(&app, "root").await;
        let csrf = page_csrf(&app.client).await;
        let app = Arc::new(app);
        let posts = (0..8)
            .map(|_| Post::form("/admin/reauth", &[("csrf_token", &csrf), ("password", "not-my-password"), ("next", "/admin")]))
            .collect();
        let seen = all_at_once(&app, posts).await;
        assert_eq!(count(&seen, Status::UnprocessableEntity), 3, "{seen:?}");
        assert_eq!(count(&seen, Status::TooManyRequests), 5, "{seen:?}");
        for refused in seen.iter().filter(|s| s.status == Status::TooManyRequests) {
            assert!(refused.retry_secs() >= 1);
            assert_eq!(texts(&refused.html(), ".error-messages li"), vec!["too many attempts, try again later"]);
        }
        let root = crate::admin::id_of(&app, "root").await;
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM login_attempts WHERE email = '#user:{root}'")).await, 3);

        let right = all_at_once(&app, vec![Post::form("/admin/reauth", &[("csrf_token", &csrf), ("password", "password-root"), ("next", "/admin")])]).await;
        assert_eq!(right[0].status, Status::TooManyRequests, "the right password waits too");
        assert!(right[0].retry_secs() >= 1);
    }
);

db_test!(
    |f| f.merge(("login_max_per_account", 3)).merge(("login_max_per_ip", 1000)),
    async fn strangers_failed_logins_do_not_stop_the_signed_in_owner_confirming_their_password(app) {
        crate::admin::admin_browser(&app, "chief").await;
        // Someone else guesses at the admin's email until the account's logins are blocked.
        let stranger = crate::support::script_client(&app.client).await;
        for expected in [Status::Unauthorized, Status::Unauthorized, Status::Unauthorized, Status::TooManyRequests] {
            let (status, _) = api(&stranger, Method::Post, "/api/users/login", None, Some(login_body("chief@example.com", "guess"))).await;
            assert_eq!(status, expected);
        }
        // The admin, signed in, still confirms their password (to act against the guesser).
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, "/admin/reauth", &[("csrf_token", &csrf), ("password", "password-chief"), ("next", "/admin")]).await;
        assert_eq!((res.status(), res.headers().get_one("Location")), (Status::SeeOther, Some("/admin")));
    }
);

db_test!(
    |f| f.merge(("login_max_per_account", 3)).merge(("login_max_per_ip", 1000)),
    async fn logins_named_after_the_throttles_own_keys_cannot_lock_the_owner_out(app) {
        crate::admin::admin_browser(&app, "keeper").await;
        let id = scalar(app.db(), "SELECT id FROM users WHERE username = 'keeper'").await;
        // A stranger "logs in" as the key the signed-in owner's password checks count under.
        let stranger = crate::support::script_client(&app.client).await;
        for key in [format!("#user:{id}"), format!("#totp:{id}"), "no-at-sign".to_owned()] {
            for _ in 0..6 {
                let (status, body) = api(&stranger, Method::Post, "/api/users/login", None, Some(login_body(&key, "guess"))).await;
                assert_eq!(status, Status::Unauthorized, "{key}: {body}");
                assert_eq!(body, json!({"errors": {"body": ["email or password is invalid"]}}));
            }
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts").await, 0, "nothing was counted");
        // The owner still confirms their password.
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, "/admin/reauth", &[("csrf_token", &csrf), ("password", "password-keeper"), ("next", "/admin")]).await;
        assert_eq!((res.status(), res.headers().get_one("Location")), (Status::SeeOther, Some("/admin")));
    }
);

db_test!(
    async fn a_disabled_account_with_its_right_password_answers_exactly_like_a_wrong_one(app) {
        register(&app.client, "dora").await;
        exec(app.db(), "UPDATE users SET disabled = TRUE WHERE username = 'dora'").await.unwrap();
        let app = Arc::new(app);
        let login = |email: &str, password: &str| Post::json("/api/users/login", &login_body(email, password));
        let wrong = all_at_once(&app, vec![login("dora@example.com", "wrong-password")]).await.remove(0);
        let right = all_at_once(&app, vec![login("dora@example.com", "password-dora")]).await.remove(0);
        let unknown = all_at_once(&app, vec![login("nobody@example.com", "password-dora")]).await.remove(0);
        assert_eq!(wrong.status, Status::Unauthorized);
        assert_eq!(right.status, wrong.status);
        assert_eq!(right.body, wrong.body, "byte for byte");
        assert_eq!(unknown.status, wrong.status);
        assert_eq!(unknown.body, wrong.body);
        assert_eq!(wrong.json(), json!({"errors": {"body": ["email or password is invalid"]}}));

        // The site's form: the same page for both.
        let (_, page) = get_page(&app.client, "/login").await;
        let csrf = csrf_of(&page);
        let form = |password: &str| {
            Post::form("/login", &[("csrf_token", &csrf), ("email", "dora@example.com"), ("password", password)])
        };
        let wrong_page = all_at_once(&app, vec![form("wrong-password")]).await.remove(0);
        let right_page = all_at_once(&app, vec![form("password-dora")]).await.remove(0);
        assert_eq!(wrong_page.status, Status::UnprocessableEntity);
        assert_eq!(right_page.status, wrong_page.status);
        assert_eq!(right_page.body, wrong_page.body, "byte for byte");
        assert_eq!(texts(&right_page.html(), ".error-messages li"), vec!["email or password is invalid"]);

        // Each counts as a failure; the right password did not clear them.
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts WHERE email = 'dora@example.com'").await, 4);
    }
);

db_test!(
    async fn credential_responses_are_not_stored_and_no_response_names_the_server(app) {
        let no_store = |res: &LocalResponse<'_>, what: &str| {
            assert_eq!(res.headers().get_one("Cache-Control"), Some("no-store"), "{what}");
            assert_eq!(res.headers().get_one("Server"), None, "{what}");
        };
        let json_post = |path: &'static str, body: Value| app.client.post(path).header(ContentType::JSON).body(body.to_string());

        let res = json_post("/api/users", user_body("nora")).dispatch().await;
        assert_eq!(res.status(), Status::Created);
        no_store(&res, "POST /api/users");
        let token = res.into_json::<Value>().await.unwrap()["user"]["token"].as_str().unwrap().to_owned();
        let res = json_post("/api/users/login", login_body("nora@example.com", "password-nora")).dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        no_store(&res, "POST /api/users/login");
        let res = json_post("/api/users/login", login_body("nora@example.com", "wrong-password")).dispatch().await;
        assert_eq!(res.status(), Status::Unauthorized);
        no_store(&res, "a failed login");
        let auth = Header::new("Authorization", format!("Token {token}"));
        let res = app.client.get("/api/user").header(auth.clone()).dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        no_store(&res, "GET /api/user");
        let res = app
            .client
            .put("/api/user")
            .header(auth)
            .header(ContentType::JSON)
            .body(json!({"user": {"bio": "hi"}}).to_string())
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok);
        no_store(&res, "PUT /api/user");

        for path in ["/login", "/register"] {
            let res = app.client.get(path).dispatch().await;
            assert_eq!(res.status(), Status::Ok);
            no_store(&res, path);
        }
        let (_, page) = get_page(&app.client, "/login").await;
        let csrf = csrf_of(&page);
        let res = post_form(&app.client, "/login", &[("csrf_token", &csrf), ("email", "nora@example.com"), ("password", "password-nora")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        no_store(&res, "POST /login");
        let res = app.client.get("/settings").dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        no_store(&res, "GET /settings");
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, "/logout", &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        no_store(&res, "POST /logout");

        // Other responses keep their caching, and none names the server either.
        for path in ["/", "/api/articles", "/api/tags", "/no-such-page", "/api/no-such-thing", "/static/css/conduit.css"] {
            let res = app.client.get(path).dispatch().await;
            assert_ne!(res.headers().get_one("Cache-Control"), Some("no-store"), "{path}");
            assert_eq!(res.headers().get_one("Server"), None, "{path}");
        }
    }
);

db_test!(
    async fn an_oversized_login_email_is_a_clear_422_and_records_nothing(app) {
        // Longer than any account's address and than the attempts' column: before, MySQL refused
        // to record the failure and the login answered 500.
        let email = format!("{}@example.com", "a".repeat(3000));
        let (status, body) = api(&app.client, Method::Post, "/api/users/login", None, Some(login_body(&email, "wrong-password"))).await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}");
        assert_eq!(body["errors"]["email"], json!(["is too long (maximum is 254 characters)"]));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts").await, 0);
    }
);

db_test!(
    async fn concurrent_password_changes_for_one_account_hash_one_at_a_time(app) {
        let token = register(&app.client, "flood").await;
        let app = Arc::new(app);
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let app = Arc::clone(&app);
                let token = token.clone();
                tokio::spawn(async move {
                    let body = json!({"user": {"password": format!("new-password-{i}")}});
                    let req = app
                        .client
                        .put("/api/user")
                        .header(ContentType::JSON)
                        .header(Header::new("Authorization", format!("Token {token}")))
                        .body(body.to_string());
                    Seen::of(req.dispatch().await).await
                })
            })
            .collect();
        let mut seen = Vec::new();
        for task in tasks {
            seen.push(task.await.expect("request task"));
        }
        // One change is hashed at a time; the others are told to come back (or, arriving after
        // a change went through, find their token revoked). None waits in the hasher's queue.
        assert!(count(&seen, Status::Ok) >= 1, "{seen:?}");
        assert!(count(&seen, Status::TooManyRequests) >= 1, "{seen:?}");
        for s in &seen {
            assert!(matches!(s.status.code, 200 | 401 | 429), "{s:?}");
            if s.status == Status::TooManyRequests {
                assert!(s.retry_secs() >= 1);
            }
        }
    }
);

db_test!(
    |f| f.merge(("login_max_per_ip", 5)),
    async fn ipv6_clients_are_counted_by_their_64_bit_prefix(app) {
        let app = Arc::new(app);
        let posts = (0..8)
            .map(|i| {
                Post::json("/api/users/login", &login_body(&format!("v6-{i}@example.com"), "wrong-password"))
                    .from(&format!("[2001:db8:7:7::{:x}]:40000", i + 1))
            })
            .collect();
        let seen = all_at_once(&app, posts).await;
        assert_eq!(count(&seen, Status::Unauthorized), 5, "{seen:?}");
        assert_eq!(count(&seen, Status::TooManyRequests), 3, "{seen:?}");
        // Another /64 is another client; an IPv4-mapped address counts as its IPv4 address.
        let other = all_at_once(&app, vec![Post::json("/api/users/login", &login_body("v6-x@example.com", "wrong-password")).from("[2001:db8:7:8::1]:40000")]).await;
        assert_eq!(other[0].status, Status::Unauthorized);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts WHERE ip = '2001:db8:7:7::/64'").await, 5);
    }
);
