//! Small helpers shared by the tests: JSON requests, HTML selectors, raw SQL for assertions.

use conduit::db::DbPool;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use scraper::{Html, Selector};
use serde_json::{json, Value};

/// Status and parsed JSON body of a response (`null` for an empty body, as with 204).
pub async fn json_of(res: LocalResponse<'_>) -> (Status, Value) {
    let status = res.status();
    let body = res.into_string().await.unwrap_or_default();
    if body.is_empty() {
        return (status, Value::Null);
    }
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (status, value)
}

/// `GET path` as JSON.
pub async fn get_json(client: &Client, path: &str) -> (Status, Value) {
    json_of(client.get(path.to_owned()).dispatch().await).await
}

/// Status and parsed HTML of a page.
pub async fn get_page(client: &Client, path: &str) -> (Status, Html) {
    let res = client.get(path.to_owned()).dispatch().await;
    let status = res.status();
    (
        status,
        Html::parse_document(&res.into_string().await.unwrap_or_default()),
    )
}

/// Texts of every element matching `selector`, trimmed.
pub fn texts(html: &Html, selector: &str) -> Vec<String> {
    let sel =
        Selector::parse(selector).unwrap_or_else(|e| panic!("bad selector {selector}: {e:?}"));
    html.select(&sel)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

/// The `name` attribute of every element matching `selector` that has it.
pub fn attrs(html: &Html, selector: &str, name: &str) -> Vec<String> {
    let sel =
        Selector::parse(selector).unwrap_or_else(|e| panic!("bad selector {selector}: {e:?}"));
    html.select(&sel)
        .filter_map(|e| e.value().attr(name).map(str::to_owned))
        .collect()
}

/// Raw SQL in a test, on either engine: the test-side form of the app's crate-local `db_run!`,
/// over the pool's public handles (`backend()`, `acquire()`, `conn()`, `finish()`). `$conn` is
/// the native connection (`&mut SqliteConnection` or `&mut MySqlConnection`), so the block is
/// compiled once per engine; it evaluates to a `Result<_, sqlx::Error>`.
macro_rules! db_run {
    ($pool:expr, |$conn:ident| $body:expr) => {
        match $pool.backend() {
            conduit::db::pool::Backend::Sqlite(pool) => $crate::support::db_run!(@held pool, |$conn| $body),
            conduit::db::pool::Backend::MySql(pool) => $crate::support::db_run!(@held pool, |$conn| $body),
        }
    };
    (@held $pool:ident, |$conn:ident| $body:expr) => {
        match $pool.acquire().await {
            Ok(mut held) => {
                let result = {
                    let $conn = held.conn();
                    $body
                };
                held.finish(&result);
                result
            }
            Err(e) => Err(e),
        }
    };
}
pub(crate) use db_run;

/// One integer from a SQL query (counts in assertions).
pub async fn scalar(db: &DbPool, sql: &str) -> i64 {
    db_run!(db, |c| sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await).expect(sql)
}

/// Run a statement with no parameters (seeding in tests).
pub async fn exec(db: &DbPool, sql: &str) -> Result<(), sqlx::Error> {
    db_run!(db, |c| sqlx::query(sql).execute(c).await.map(|_| ()))
}

/// A JSON request, optionally with `Authorization: Token <token>`.
pub async fn api(
    client: &Client,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (Status, Value) {
    let mut req = client.req(method, path.to_owned());
    if let Some(token) = token {
        req = req.header(Header::new("Authorization", format!("Token {token}")));
    }
    if let Some(body) = body {
        req = req.header(ContentType::JSON).body(body.to_string());
    }
    json_of(req.dispatch().await).await
}

/// `api`, asked again while it answers 503, up to 5 s: the password hasher is one per process,
/// so another test's hashes may keep it busy, and an app with `password_queue_max` 0 does not
/// wait; a 503 spends nothing, so a client asks again.
pub async fn api_when_free(
    client: &Client,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (Status, Value) {
    for _ in 0..100 {
        let (status, value) = api(client, method, path, token, Some(body.clone())).await;
        if status != Status::ServiceUnavailable {
            return (status, value);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    api(client, method, path, token, Some(body.clone())).await
}

/// Register `username` (email `<username>@example.com`, password `password-<username>`) over the
/// API and return the token.
pub async fn register(client: &Client, username: &str) -> String {
    let body = json!({"user": {"username": username, "email": format!("{username}@example.com"), "password": format!("password-{username}")}});
    let (status, value) = api(client, Method::Post, "/api/users", None, Some(body)).await;
    assert_eq!(status, Status::Created, "{value}");
    value["user"]["token"].as_str().expect("token").to_owned()
}

/// Publish over the API (described as "About <title>"); returns the article as the API shows it.
pub async fn publish(
    client: &Client,
    token: &str,
    title: &str,
    body: &str,
    tags: &[&str],
) -> Value {
    let article = json!({"article": {"title": title, "description": format!("About {title}"), "body": body, "tagList": tags}});
    let (status, value) = api(
        client,
        Method::Post,
        "/api/articles",
        Some(token),
        Some(article),
    )
    .await;
    assert_eq!(status, Status::Created, "{value}");
    value["article"].clone()
}

/// The CSRF token of the first form on a page.
pub fn csrf_of(html: &Html) -> String {
    let sel = Selector::parse("input[name=csrf_token]").expect("selector");
    html.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .expect("a form with a csrf_token")
        .to_owned()
}

/// Submit a urlencoded form.
pub async fn post_form<'c>(
    client: &'c Client,
    path: &str,
    fields: &[(&str, &str)],
) -> LocalResponse<'c> {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    client
        .post(path.to_owned())
        .header(ContentType::Form)
        .body(body)
        .dispatch()
        .await
}

/// Percent-encode a path segment or query value, as Rocket does.
pub fn percent_encode(s: &str) -> String {
    rocket::http::RawStr::new(s).percent_encode().to_string()
}

/// Where a `/login?next=...` link comes back to after signing in (decoded); `None` for a link
/// that is not to the login page.
pub fn login_next(href: &str) -> Option<String> {
    let origin = rocket::http::uri::Origin::parse(href).ok()?;
    if origin.path() != "/login" {
        return None;
    }
    origin
        .query()?
        .segments()
        .find(|(name, _)| *name == "next")
        .map(|(_, value)| value.to_owned())
}

/// Percent-encode a form value.
pub fn urlencode(s: &str) -> String {
    rocket::http::RawStr::new(s)
        .percent_encode()
        .to_string()
        .replace('&', "%26")
        .replace('=', "%3D")
        .replace('+', "%2B")
}

/// Sign `username` up through the site's form; the client then carries the session cookies.
pub async fn browser_register(client: &Client, username: &str) {
    let (_, page) = get_page(client, "/register").await;
    let csrf = csrf_of(&page);
    let email = format!("{username}@example.com");
    let password = format!("password-{username}");
    let res = post_form(
        client,
        "/register",
        &[
            ("csrf_token", &csrf),
            ("username", username),
            ("email", &email),
            ("password", &password),
        ],
    )
    .await;
    assert_eq!(
        res.status(),
        Status::SeeOther,
        "{:?}",
        res.into_string().await
    );
}

/// The CSRF token for the signed-in browser, read from any page.
pub async fn page_csrf(client: &Client) -> String {
    let (_, page) = get_page(client, "/settings").await;
    csrf_of(&page)
}

/// A signed HS256 token with arbitrary claims (the debug profile's secret).
pub fn forge(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("encode")
}

/// Decode a token's claims without checking anything (to build variants of it).
pub fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64"),
    )
    .expect("claims")
}

/// Another client of the same app, with no cookies: a script beside the browser. (The browser's
/// tracked client sends its session cookie with every request, and any cookie-authenticated
/// write, a JSON login included, needs the form token.)
pub async fn script_client(client: &Client) -> Client {
    Client::untracked(conduit::rocket_with(client.rocket().figment().clone()))
        .await
        .expect("a second client of the app")
}

/// Runs `racers` futures made by `make(0..racers)` really at once: each on an OS thread of its
/// own, released together by a barrier, polled there while the test runtime's worker drives the
/// I/O. (`tokio::join!` on one task only interleaves them at their await points.) Results come
/// back in racer order.
pub fn race<T, F, M>(racers: usize, make: M) -> Vec<T>
where
    T: Send,
    F: std::future::Future<Output = T>,
    M: Fn(usize) -> F + Sync,
{
    let handle = rocket::tokio::runtime::Handle::current();
    let start = std::sync::Barrier::new(racers);
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..racers)
            .map(|i| {
                let (handle, start, make) = (&handle, &start, &make);
                scope.spawn(move || {
                    start.wait();
                    handle.block_on(make(i))
                })
            })
            .collect();
        running
            .into_iter()
            .map(|racer| racer.join().expect("a racer panicked"))
            .collect()
    })
}
