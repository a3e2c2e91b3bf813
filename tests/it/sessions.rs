//! Active sessions (issue 18): browser sign-ins and API logins listed and ended, over JSON
//! (`GET|DELETE /api/user/sessions`) and on `/settings/sessions`; an ended session's token
//! answers 401 at once (the feed's one-statement read included); another user's session ids,
//! personal access tokens and forms without their CSRF token change nothing; the last use is
//! written at most once a minute.

use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use scraper::Html;
use serde_json::{json, Value};

use crate::support::{
    api, attrs, browser_register, csrf_of, exec, get_page, json_of, page_csrf, post_form, register,
    scalar, script_client, texts,
};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Log `name` (registered by `support::register`) in over the API with `agent`, from
/// `203.0.113.7` (or `2001:db8::7` for a Firefox): the token.
async fn login_as(client: &Client, name: &str, agent: &str) -> String {
    let from: std::net::SocketAddr = if agent == FIREFOX {
        "[2001:db8::7]:443"
    } else {
        "203.0.113.7:5000"
    }
    .parse()
    .expect("an address");
    let body = json!({"user": {"email": format!("{name}@example.com"), "password": format!("password-{name}")}});
    let res = client
        .post("/api/users/login")
        .header(ContentType::JSON)
        .header(Header::new("User-Agent", agent.to_owned()))
        .remote(from)
        .body(body.to_string())
        .dispatch()
        .await;
    let (status, value) = json_of(res).await;
    assert_eq!(status, Status::Ok, "{value}");
    value["user"]["token"].as_str().expect("token").to_owned()
}

async fn sessions_of(client: &Client, token: &str) -> Vec<Value> {
    let (status, body) = api(client, Method::Get, "/api/user/sessions", Some(token), None).await;
    assert_eq!(status, Status::Ok, "{body}");
    body["sessions"].as_array().expect("a list").clone()
}

fn current(list: &[Value]) -> &Value {
    let current: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly one current session: {list:?}");
    current[0]
}

/// The public handle the app shows for session `sid`.
fn handle_of(app: &crate::harness::TestApp, sid: &str) -> String {
    app.client
        .rocket()
        .state::<conduit::auth::token::Keys>()
        .expect("keys")
        .forms()
        .session_handle(sid)
}

/// The id of `username`'s only (or first) session.
async fn sid_of(app: &crate::harness::TestApp, username: &str) -> String {
    let sql = format!("SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = '{username}' ORDER BY s.created_at LIMIT 1");
    crate::support::db_run!(app.db(), |c| sqlx::query_scalar(&sql).fetch_one(c).await)
        .expect("a session")
}

fn is_iso_millis(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.ends_with('Z') && s.len() == 24 && chrono::DateTime::parse_from_rfc3339(s).is_ok()
    })
}

db_test!(
    async fn api_logins_are_sessions_listed_beside_the_browsers_and_ended_at_once(app) {
        let script = script_client(&app.client).await;
        register(&script, "sal").await;
        browser_register(&app.client, "bea").await;
        let curl = login_as(&script, "sal", "curl/8.11.0").await;
        let firefox = login_as(&script, "sal", FIREFOX).await;
        crate::support::publish(&script, &firefox, "Sal writes", "b", &[]).await;

        // Sign-up and two logins: three API sessions, each current only to its own token.
        let list = sessions_of(&script, &curl).await;
        assert_eq!(list.len(), 3, "{list:?}");
        assert!(list.iter().all(|s| s["kind"] == "api"), "{list:?}");
        let mine = current(&list);
        assert_eq!(mine["browser"], "curl");
        assert_eq!(mine["address"], "203.0.113.7", "the address the throttles use");
        assert!(is_iso_millis(&mine["createdAt"]) && is_iso_millis(&mine["lastSeenAt"]), "{mine}");
        let theirs = current(&sessions_of(&script, &firefox).await).clone();
        assert_eq!(theirs["browser"], "Firefox on Linux");
        assert_eq!(theirs["address"], "2001:db8::7");
        assert_ne!(theirs["id"], mine["id"]);
        // Only the account's own: bea's browser session is not sal's.
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM sessions").await, 4);

        // Ending the Firefox login: 204, and its token answers 401 at once, on every route
        // (the feed checks the session in the statement that reads it).
        let id = theirs["id"].as_str().expect("id").to_owned();
        let (status, body) = api(&script, Method::Delete, &format!("/api/user/sessions/{id}"), Some(&curl), None).await;
        assert_eq!(status, Status::NoContent, "{body}");
        for path in ["/api/user", "/api/articles/feed", "/api/articles"] {
            let (status, body) = api(&script, Method::Get, path, Some(&firefox), None).await;
            assert_eq!(status, Status::Unauthorized, "{path}: {body}");
        }
        assert_eq!(sessions_of(&script, &curl).await.len(), 2);
        // The other still reads its feed (the session check passes for a live one).
        let (status, body) = api(&script, Method::Get, "/api/articles/feed", Some(&curl), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        // Again, or an id that is no session: 404.
        for gone in [id.as_str(), "00000000000000000000000000000000", "nope", &"f".repeat(500)] {
            let (status, _) = api(&script, Method::Delete, &format!("/api/user/sessions/{gone}"), Some(&curl), None).await;
            assert_eq!(status, Status::NotFound, "{gone}");
        }

        // Ending its own session: the token is over too.
        let own = mine["id"].as_str().expect("id").to_owned();
        let (status, _) = api(&script, Method::Delete, &format!("/api/user/sessions/{own}"), Some(&curl), None).await;
        assert_eq!(status, Status::NoContent);
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&curl), None).await.0, Status::Unauthorized);
    }
);

db_test!(
    async fn another_users_session_id_is_not_found_and_never_touched(app) {
        let script = script_client(&app.client).await;
        let victim = register(&script, "vic").await;
        let eve = register(&script, "eve").await;
        let victims = sessions_of(&script, &victim).await;
        let id = victims[0]["id"].as_str().expect("id").to_owned();
        // The list shows a handle; the row is found by the session's id.
        let sid = sid_of(&app, "vic").await;
        assert_eq!(handle_of(&app, &sid), id);
        let (status, body) = api(&script, Method::Delete, &format!("/api/user/sessions/{id}"), Some(&eve), None).await;
        assert_eq!(status, Status::NotFound, "{body}");
        assert_eq!(body, json!({"errors": {"body": ["session not found"]}}));
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM sessions WHERE id = '{sid}' AND revoked_at IS NULL")).await, 1);
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&victim), None).await.0, Status::Ok);
        // Eve sees her own session only.
        let list = sessions_of(&script, &eve).await;
        assert_eq!(list.len(), 1);
        assert_ne!(list[0]["id"], json!(id));
        // Through the site's form too (with eve's own form token).
        browser_register(&app.client, "eve2").await;
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, &format!("/settings/sessions/{id}/end"), &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM sessions WHERE id = '{sid}' AND revoked_at IS NULL")).await, 1);
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&victim), None).await.0, Status::Ok);
    }
);

db_test!(
    async fn a_personal_access_token_can_neither_list_nor_end_sessions(app) {
        let script = script_client(&app.client).await;
        let jwt = register(&script, "pat").await;
        let (status, made) = api(&script, Method::Post, "/api/user/tokens", Some(&jwt),
            Some(json!({"token": {"name": "all", "scopes": ["read", "write"], "expiresInDays": 30}}))).await;
        assert_eq!(status, Status::Created, "{made}");
        let pat = made["token"]["secret"].as_str().expect("secret").to_owned();
        let id = sessions_of(&script, &jwt).await[0]["id"].as_str().expect("id").to_owned();
        let (status, body) = api(&script, Method::Get, "/api/user/sessions", Some(&pat), None).await;
        assert_eq!(status, Status::Forbidden, "{body}");
        assert_eq!(body["errors"]["body"][0], "a personal access token cannot list or end sessions: sign in");
        let (status, _) = api(&script, Method::Delete, &format!("/api/user/sessions/{id}"), Some(&pat), None).await;
        assert_eq!(status, Status::Forbidden);
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&jwt), None).await.0, Status::Ok, "the session lives");
        // And the token is no session: the list does not show it.
        assert_eq!(sessions_of(&script, &jwt).await.len(), 1);
    }
);

db_test!(
    async fn the_last_use_is_written_at_most_once_a_minute(app) {
        let script = script_client(&app.client).await;
        let token = register(&script, "lu").await;
        let id = sid_of(&app, "lu").await;
        // Make session `sid` look last seen `secs` ago from the address 'old'.
        let age = |sid: String, secs: i64| {
            let db = app.db();
            async move {
                let at = conduit::db::now() - chrono::Duration::seconds(secs);
                let sql = format!("UPDATE sessions SET last_seen_at = ?, address = 'old' WHERE id = '{sid}'");
                crate::support::db_run!(db, |c| sqlx::query(&sql).bind(at).execute(c).await.map(|_| ())).expect("set");
            }
        };
        let still_old = |sid: String| {
            let db = app.db();
            async move { scalar(db, &format!("SELECT COUNT(*) FROM sessions WHERE id = '{sid}' AND address = 'old'")).await }
        };

        // Seen 30 s ago: a request writes nothing.
        age(id.clone(), 30).await;
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&token), None).await.0, Status::Ok);
        assert_eq!(still_old(id.clone()).await, 1, "not written within the minute");
        // Seen 2 minutes ago: the next request writes its address and time.
        age(id.clone(), 120).await;
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&token), None).await.0, Status::Ok);
        assert_eq!(still_old(id.clone()).await, 0, "written");
        // This instance remembers that write: within the minute nothing more is written, even
        // when the row looks old (so requests arriving together write once; the unit test
        // `of_concurrent_uses_of_a_session_one_writes` races them).
        age(id.clone(), 120).await;
        for path in ["/api/user", "/api/articles/feed"] {
            assert_eq!(api(&script, Method::Get, path, Some(&token), None).await.0, Status::Ok);
        }
        assert_eq!(still_old(id.clone()).await, 1, "one write a minute (behaviour changed on purpose: review L5)");

        // The feed's read does not load the session: the first use this instance sees writes,
        // the next within the minute do not.
        let other = crate::sessions_review::login_token(&script, "lu").await;
        let sid = crate::sessions_review::claims_of(&other)["sid"].as_str().expect("sid").to_owned();
        age(sid.clone(), 120).await;
        assert_eq!(api(&script, Method::Get, "/api/articles/feed", Some(&other), None).await.0, Status::Ok);
        assert_eq!(still_old(sid.clone()).await, 0, "the first read after a minute writes");
        age(sid.clone(), 120).await;
        for _ in 0..3 {
            assert_eq!(api(&script, Method::Get, "/api/articles/feed", Some(&other), None).await.0, Status::Ok);
        }
        assert_eq!(still_old(sid.clone()).await, 1, "no write per request");
        // An ended session is never written.
        exec(app.db(), &format!("UPDATE sessions SET revoked_at = created_at, last_seen_at = NULL WHERE id = '{id}'")).await.expect("end");
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&token), None).await.0, Status::Unauthorized);
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM sessions WHERE id = '{id}' AND last_seen_at IS NULL")).await, 1);
    }
);

async fn page_of(res: LocalResponse<'_>) -> (Status, Html) {
    let status = res.status();
    (
        status,
        Html::parse_document(&res.into_string().await.unwrap_or_default()),
    )
}

/// Another browser of the same app, signed in as `name` through the login form.
async fn second_browser(app: &crate::harness::TestApp, name: &str) -> Client {
    let other = Client::tracked(conduit::rocket_with(app.client.rocket().figment().clone()))
        .await
        .expect("a browser");
    let (_, login) = get_page(&other, "/login").await;
    let email = format!("{name}@example.com");
    let password = format!("password-{name}");
    let res = other
        .post("/login")
        .header(ContentType::Form)
        .header(Header::new("User-Agent", FIREFOX))
        .body(format!(
            "csrf_token={}&email={}&password={}",
            csrf_of(&login),
            crate::support::urlencode(&email),
            password
        ))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    drop(res);
    other
}

db_test!(
    async fn the_sessions_page_lists_each_sign_in_and_signs_them_out(app) {
        browser_register(&app.client, "wes").await;
        let other = second_browser(&app, "wes").await;
        // The other browser's first page after signing in records where it is.
        let res = other.get("/settings").header(Header::new("User-Agent", FIREFOX))
            .remote("198.51.100.4:1234".parse().expect("an address")).dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        drop(res);
        let script = script_client(&app.client).await;
        let api_token = login_as(&script, "wes", "curl/8.11.0").await;

        let (_, settings) = get_page(&app.client, "/settings").await;
        assert_eq!(attrs(&settings, ".sessions-link a", "href"), vec!["/settings/sessions"]);
        let (status, page) = get_page(&app.client, "/settings/sessions").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, "h1"), vec!["Sessions"]);
        assert_eq!(texts(&page, "tr.session-row").len(), 3);
        assert_eq!(texts(&page, "tr.session-current").len(), 1);
        assert_eq!(texts(&page, "tr.session-current .session-this"), vec!["This session"]);
        let browsers = texts(&page, ".session-browser");
        assert!(browsers.contains(&"Firefox on Linux".to_owned()) && browsers.contains(&"curl".to_owned()), "{browsers:?}");
        assert_eq!(texts(&page, ".session-kind").iter().filter(|k| *k == "(API login)").count(), 1);
        let mut addresses = texts(&page, ".session-address");
        addresses.sort();
        assert_eq!(addresses, vec!["198.51.100.4", "203.0.113.7", "unknown"], "the test client has no address of its own");

        // Every form carries the CSRF token; without it nothing ends.
        let ends = attrs(&page, "form.end-session-form", "action");
        assert_eq!(ends.len(), 3);
        assert_eq!(attrs(&page, "form.end-session-form input[name=csrf_token]", "value").len(), 3);
        let firefox_row = attrs(&page, "tr.session-row:not(.session-current) form.end-session-form", "action");
        let csrf = csrf_of(&page);
        for target in ends.iter().chain(attrs(&page, "form.end-other-sessions-form", "action").iter()) {
            let res = post_form(&app.client, target, &[]).await;
            assert_eq!(res.status(), Status::Forbidden, "{target}");
            let res = post_form(&app.client, target, &[("csrf_token", "forged")]).await;
            assert_eq!(res.status(), Status::Forbidden, "{target}");
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL").await, 3);

        // Signing the Firefox browser out (whichever non-current row is the browser's).
        let firefox_id: String = crate::support::db_run!(app.db(), |c| sqlx::query_scalar("SELECT id FROM sessions WHERE kind = 'browser' AND browser = 'Firefox on Linux'").fetch_one(c).await).expect("the other browser");
        let firefox_handle = handle_of(&app, &firefox_id);
        assert!(ends.iter().all(|t| !t.contains(&firefox_id)), "no session id in a form: {ends:?}");
        let target = firefox_row.iter().find(|t| t.contains(&firefox_handle)).expect("its form");
        let res = post_form(&app.client, target, &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
        let (_, page) = get_page(&app.client, "/settings/sessions").await;
        assert_eq!(texts(&page, ".flash"), vec!["That session has been signed out: it no longer works."]);
        assert_eq!(texts(&page, "tr.session-row").len(), 2);
        let res = other.get("/settings").dispatch().await;
        assert_eq!(res.status(), Status::SeeOther, "the other browser is signed out");

        // Everywhere else: the API login too; this browser stays.
        let target = attrs(&page, "form.end-other-sessions-form", "action");
        let res = post_form(&app.client, &target[0], &[("csrf_token", &csrf_of(&page))]).await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
        let (status, page) = get_page(&app.client, "/settings/sessions").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, ".flash"), vec!["1 other session has been signed out."]);
        assert_eq!(texts(&page, "tr.session-row").len(), 1);
        assert_eq!(texts(&page, ".sessions-only-this").len(), 1);
        assert_eq!(api(&script, Method::Get, "/api/user", Some(&api_token), None).await.0, Status::Unauthorized);

        // Its own row: signed out like the logout button.
        let own = attrs(&page, "tr.session-current form.end-session-form", "action");
        let res = post_form(&app.client, &own[0], &[("csrf_token", &csrf_of(&page))]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(res.headers().get_one("Location"), Some("/login"));
        drop(res);
        let res = app.client.get("/settings").dispatch().await;
        assert_eq!(res.status(), Status::SeeOther);
        drop(res);
        let (_, home) = page_of(app.client.get("/").dispatch().await).await;
        assert_eq!(attrs(&home, "nav a[href='/login']", "href").len(), 1, "signed out");
    }
);
