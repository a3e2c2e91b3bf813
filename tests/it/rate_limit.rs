//! API rate limits (issue 19): the IETF `RateLimit` / `RateLimit-Policy` headers on every `/api`
//! answer, 429 with `Retry-After` and a JSON error past the budget (and nothing written),
//! budgets per token, per user and per address, reads apart from writes, and the switch.

use conduit::db::Engine;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::support::{api, register, scalar};

/// The app with small budgets: 4 reads and 2 writes per minute for callers with credentials, 3
/// and 2 for anonymous ones.
async fn limited(engine: Engine, test: &str) -> Option<TestApp> {
    TestApp::spawn_with(engine, test, |f| {
        f.merge(("rate_limits", true))
            .merge(("rate_limit_window_seconds", 60))
            .merge(("rate_limit_reads", 4))
            .merge(("rate_limit_writes", 2))
            .merge(("rate_limit_anonymous_reads", 3))
            .merge(("rate_limit_anonymous_writes", 2))
    })
    .await
}

/// A rate-limit test on SQLite and on MariaDB, with [`limited`]'s budgets.
macro_rules! limit_test {
    (async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[rocket::async_test]
            async fn sqlite() {
                let $app = limited(Engine::Sqlite, concat!(module_path!(), "::sqlite"))
                    .await
                    .expect("sqlite is always available");
                $body
            }

            #[rocket::async_test]
            async fn mysql() {
                let Some($app) = limited(Engine::MySql, concat!(module_path!(), "::mysql")).await
                else {
                    return;
                };
                $body
            }
        }
    };
}

/// What a client sees of one answer: status, the three headers, the body.
#[derive(Debug)]
struct Seen {
    status: Status,
    policy: Option<String>,
    limit: Option<String>,
    retry_after: Option<String>,
    body: String,
}

impl Seen {
    async fn of(res: LocalResponse<'_>) -> Self {
        let header = |name: &str| res.headers().get_one(name).map(str::to_owned);
        let (policy, limit, retry_after) = (
            header("RateLimit-Policy"),
            header("RateLimit"),
            header("Retry-After"),
        );
        Self {
            status: res.status(),
            policy,
            limit,
            retry_after,
            body: res.into_string().await.unwrap_or_default(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn send(
    client: &Client,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    from: &str,
) -> Seen {
    let mut req = client
        .req(method, path.to_owned())
        .remote(from.parse().expect("address"));
    if let Some(token) = token {
        req = req.header(Header::new("Authorization", format!("Token {token}")));
    }
    if let Some(body) = body {
        req = req.header(ContentType::JSON).body(body.to_string());
    }
    Seen::of(req.dispatch().await).await
}

const HERE: &str = "198.51.100.1:5000";

fn article(title: &str) -> Value {
    json!({"article": {"title": title, "description": "d", "body": "b", "tagList": []}})
}

limit_test!(
    async fn every_api_answer_carries_the_headers_and_429_follows_the_budget(app) {
        for left in [2, 1, 0] {
            let seen = send(&app.client, Method::Get, "/api/tags", None, None, HERE).await;
            assert_eq!(seen.status, Status::Ok, "{seen:?}");
            assert_eq!(seen.policy.as_deref(), Some("\"anonymous-read\";q=3;w=60"));
            let limit = seen.limit.expect("RateLimit");
            assert!(limit.starts_with(&format!("\"anonymous-read\";r={left};t=")), "{limit}");
            let t: u64 = limit.rsplit("t=").next().unwrap().parse().unwrap();
            assert!((1..=60).contains(&t), "{limit}");
            assert_eq!(seen.retry_after, None);
        }
        let seen = send(&app.client, Method::Get, "/api/tags", None, None, HERE).await;
        assert_eq!(seen.status, Status::TooManyRequests, "{seen:?}");
        let retry: u64 = seen.retry_after.as_deref().expect("Retry-After").parse().unwrap();
        assert!((1..=20).contains(&retry), "one request back every 20 s: {retry}");
        assert_eq!(seen.limit.as_deref(), Some(format!("\"anonymous-read\";r=0;t={retry}").as_str()));
        let body = seen.json();
        assert!(body["errors"]["body"][0].as_str().unwrap().starts_with("rate limit exceeded: 3 reads per 60 seconds"), "{body}");

        // Error answers carry them too (a 404 under /api), and they are spent as well.
        let seen = send(&app.client, Method::Get, "/api/profiles/nobody", None, None, "198.51.100.2:1").await;
        assert_eq!(seen.status, Status::NotFound);
        assert!(seen.limit.unwrap().contains("r=2"));
        // Pages are not the API: no headers, no limit.
        for _ in 0..5 {
            let seen = send(&app.client, Method::Get, "/", None, None, HERE).await;
            assert_eq!(seen.status, Status::Ok);
            assert_eq!((seen.policy, seen.limit), (None, None));
        }
        // The limiter's own route is not a page anyone can ask for.
        let seen = send(&app.client, Method::Get, "/api/__rate-limited", None, None, "198.51.100.3:1").await;
        assert_eq!(seen.status, Status::NotFound);
    }
);

limit_test!(
    async fn a_limited_write_changes_nothing_and_reads_have_their_own_budget(app) {
        let jwt = register(&app.client, "writer").await;
        for i in 0..2 {
            let seen = send(&app.client, Method::Post, "/api/articles", Some(&jwt), Some(article(&format!("Post {i}"))), HERE).await;
            assert_eq!(seen.status, Status::Created, "{seen:?}");
            assert_eq!(seen.policy.as_deref(), Some("\"write\";q=2;w=60"));
        }
        let seen = send(&app.client, Method::Post, "/api/articles", Some(&jwt), Some(article("Too many")), HERE).await;
        assert_eq!(seen.status, Status::TooManyRequests, "{seen:?}");
        assert!(seen.retry_after.is_some());
        assert!(seen.json()["errors"]["body"][0].as_str().unwrap().contains("2 writes per 60 seconds"));
        // A DELETE is a write too, refused before it runs.
        let seen = send(&app.client, Method::Delete, "/api/articles/post-0", Some(&jwt), None, HERE).await;
        assert_eq!(seen.status, Status::TooManyRequests);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 2);
        // Reads are a budget of their own.
        let seen = send(&app.client, Method::Get, "/api/articles", Some(&jwt), None, HERE).await;
        assert_eq!(seen.status, Status::Ok);
        assert_eq!(seen.policy.as_deref(), Some("\"read\";q=4;w=60"));
        assert!(seen.limit.unwrap().starts_with("\"read\";r=3;"));
    }
);

limit_test!(
    async fn budgets_are_per_token_per_user_and_per_address(app) {
        // The registration (an anonymous write) is the address's.
        let jwt = register(&app.client, "owner").await;
        let body = json!({"token": {"name": "a", "scopes": ["read"], "expiresInDays": 30}});
        let (status, a) = api(&app.client, Method::Post, "/api/user/tokens", Some(&jwt), Some(body.clone())).await;
        assert_eq!(status, Status::Created, "{a}");
        let (_, b) = api(&app.client, Method::Post, "/api/user/tokens", Some(&jwt), Some(body)).await;
        let (a, b) = (a["token"]["secret"].as_str().unwrap(), b["token"]["secret"].as_str().unwrap());

        // A token's first use spends from its address's budget (a made-up token passes the
        // checksum, which is public); once it has worked, it has a budget of its own.
        for (token, from) in [(a, "192.0.2.77:1"), (b, "192.0.2.78:1")] {
            let seen = send(&app.client, Method::Get, "/api/user", Some(token), None, from).await;
            assert_eq!(seen.status, Status::Ok);
            assert!(seen.limit.unwrap().starts_with("\"anonymous-read\";r=2;"));
        }
        for _ in 0..4 {
            assert_eq!(send(&app.client, Method::Get, "/api/user", Some(a), None, HERE).await.status, Status::Ok);
        }
        assert_eq!(send(&app.client, Method::Get, "/api/user", Some(a), None, "203.0.113.9:1").await.status, Status::TooManyRequests, "the token's budget, from any address");
        // Token a's reads were its owner's too: token b (whose own budget is whole) and the
        // owner's login are refused with the owner's budget.
        let seen = send(&app.client, Method::Get, "/api/user", Some(b), None, HERE).await;
        assert_eq!(seen.status, Status::TooManyRequests, "{seen:?}");
        assert!(seen.limit.unwrap().starts_with("\"read\";r=0;"));
        let seen = send(&app.client, Method::Get, "/api/user", Some(&jwt), None, HERE).await;
        assert_eq!(seen.status, Status::TooManyRequests);
        // Another user, and an anonymous caller at the same address, each have their own.
        let other = register(&app.client, "someone-else").await;
        let seen = send(&app.client, Method::Get, "/api/user", Some(&other), None, HERE).await;
        assert_eq!(seen.status, Status::Ok);
        assert!(seen.limit.unwrap().starts_with("\"read\";r=3;"));
        let seen = send(&app.client, Method::Get, "/api/tags", None, None, HERE).await;
        assert_eq!(seen.status, Status::Ok);
        assert!(seen.limit.unwrap().starts_with("\"anonymous-read\";r=2;"));

        // A bad credential does not buy a fresh budget: it is the address's (and then a 401).
        for _ in 0..2 {
            send(&app.client, Method::Get, "/api/tags", None, None, "192.0.2.50:1").await;
        }
        let seen = send(&app.client, Method::Get, "/api/user", Some("not-a-jwt"), None, "192.0.2.50:1").await;
        assert_eq!(seen.status, Status::Unauthorized);
        assert!(seen.limit.unwrap().starts_with("\"anonymous-read\";r=0;"));
        let seen = send(&app.client, Method::Get, "/api/user", Some("cdt_bad"), None, "192.0.2.50:1").await;
        assert_eq!(seen.status, Status::TooManyRequests);

        // Made-up tokens with a valid checksum, a new one each time, buy nothing either: each
        // spends from the address's budget (and is not looked up once that is spent).
        for left in (0..3).rev() {
            let made_up = conduit::auth::access_token::generate();
            let seen = send(&app.client, Method::Get, "/api/user", Some(&made_up), None, "192.0.2.60:1").await;
            assert_eq!(seen.status, Status::Unauthorized);
            assert!(seen.limit.unwrap().starts_with(&format!("\"anonymous-read\";r={left};")));
        }
        let made_up = conduit::auth::access_token::generate();
        let seen = send(&app.client, Method::Get, "/api/user", Some(&made_up), None, "192.0.2.60:1").await;
        assert_eq!(seen.status, Status::TooManyRequests);
    }
);

limit_test!(
    async fn many_tokens_share_their_owners_budget(app) {
        let jwt = register(&app.client, "hoarder").await;
        let body = json!({"token": {"name": "t", "scopes": ["read"], "expiresInDays": 30}});
        let mut tokens = Vec::new();
        for _ in 0..2 {
            let (status, t) = api(&app.client, Method::Post, "/api/user/tokens", Some(&jwt), Some(body.clone())).await;
            assert_eq!(status, Status::Created, "{t}");
            tokens.push(t["token"]["secret"].as_str().unwrap().to_owned());
        }
        // Each token's first use is its address's (see above); from then on each has a
        // budget of 4 reads of its own, and the owner's 4 apply to all of them together.
        for (i, token) in tokens.iter().enumerate() {
            let seen = send(&app.client, Method::Get, "/api/user", Some(token), None, &format!("192.0.2.{}:1", 90 + i)).await;
            assert_eq!(seen.status, Status::Ok, "{seen:?}");
        }
        let mut answered = Vec::new();
        for round in 0..3 {
            for token in &tokens {
                let seen = send(&app.client, Method::Get, "/api/user", Some(token), None, HERE).await;
                answered.push((round, seen.status.code, seen.limit.unwrap_or_default()));
            }
        }
        let ok = answered.iter().filter(|(_, code, _)| *code == 200).count();
        assert_eq!(ok, 4, "two tokens of one account get the account's 4 reads, not 8: {answered:?}");
        assert!(answered[4..].iter().all(|(_, code, limit)| *code == 429 && limit.starts_with("\"read\";r=0;")), "{answered:?}");
        let seen = send(&app.client, Method::Get, "/api/tags", Some(&jwt), None, HERE).await;
        assert_eq!(seen.status, Status::TooManyRequests, "the owner's own login shares it too");
    }
);

limit_test!(
    async fn cors_preflights_spend_from_their_addresses_read_budget(app) {
        let from = "192.0.2.140:1";
        let preflight = || async {
            let res = app
                .client
                .options("/api/articles")
                .remote(from.parse().unwrap())
                .header(Header::new("Origin", "http://localhost:4200"))
                .header(Header::new("Access-Control-Request-Method", "POST"))
                .header(Header::new("Access-Control-Request-Headers", "authorization, content-type"))
                .dispatch()
                .await;
            Seen::of(res).await
        };
        for left in [2, 1, 0] {
            let seen = preflight().await;
            assert!(seen.status.class().is_success(), "{seen:?}");
            assert_eq!(seen.policy.as_deref(), Some("\"anonymous-read\";q=3;w=60"));
            assert!(seen.limit.unwrap().starts_with(&format!("\"anonymous-read\";r={left};")));
        }
        let seen = preflight().await;
        assert_eq!(seen.status, Status::TooManyRequests, "{seen:?}");
        assert!(seen.retry_after.is_some());
        // The same budget as the address's reads: a GET from there is refused as well, and a
        // preflight carrying a credential is no different (browsers send none with one).
        let seen = send(&app.client, Method::Get, "/api/tags", None, None, from).await;
        assert_eq!(seen.status, Status::TooManyRequests);
        let jwt = register(&app.client, "preflighter").await;
        let res = app
            .client
            .options("/api/tags")
            .remote(from.parse().unwrap())
            .header(Header::new("Authorization", format!("Token {jwt}")))
            .header(Header::new("Origin", "http://localhost:4200"))
            .header(Header::new("Access-Control-Request-Method", "GET"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::TooManyRequests);
        // Another address is untouched.
        let seen = send(&app.client, Method::Get, "/api/tags", None, None, "192.0.2.141:1").await;
        assert_eq!(seen.status, Status::Ok);
    }
);

db_test!(
    async fn the_switch_turns_limits_and_headers_off(app) {
        // The harness turns limits off (see tests/it/harness.rs).
        for _ in 0..50 {
            let seen = send(&app.client, Method::Get, "/api/tags", None, None, HERE).await;
            assert_eq!(seen.status, Status::Ok);
            assert_eq!((seen.policy, seen.limit), (None, None));
        }
    }
);

#[rocket::async_test]
async fn limits_are_on_by_default_and_a_zero_budget_is_refused() {
    let figment = conduit::config::figment()
        .select("debug")
        .merge(("jwt_secret", conduit::config::DEV_JWT_SECRET));
    let config = conduit::config::AppConfig::from_figment(&figment).expect("config");
    assert!(config.rate_limits, "on unless turned off");
    let defaults = conduit::config::AppConfig::from_figment(
        &rocket::figment::Figment::new().merge(("jwt_secret", conduit::config::DEV_JWT_SECRET)),
    )
    .expect("config");
    assert!(defaults.rate_limits);
    assert_eq!(
        (defaults.rate_limit_reads, defaults.rate_limit_writes),
        (600, 120)
    );

    let zero =
        conduit::config::AppConfig::from_figment(&figment.clone().merge(("rate_limit_writes", 0)));
    assert!(zero.unwrap_err().contains("rate_limit_writes"));
    let off = conduit::config::AppConfig::from_figment(
        &figment
            .merge(("rate_limit_writes", 0))
            .merge(("rate_limits", false)),
    );
    assert!(off.is_ok(), "no budget is read when limits are off");

    // An app on the default configuration answers with the headers.
    let app = TestApp::spawn_with(Engine::Sqlite, "it::rate_limit::default", |f| {
        f.merge(("rate_limits", true))
    })
    .await
    .expect("sqlite");
    let seen = send(&app.client, Method::Get, "/api/tags", None, None, HERE).await;
    assert_eq!(
        seen.policy.as_deref(),
        Some("\"anonymous-read\";q=300;w=60")
    );
}
