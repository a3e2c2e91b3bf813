//! Database faults and recovery: a full pool answers 503 and recovers, an interrupted
//! statement does not leak into the next one, and MariaDB going away gives 503 until it
//! returns.

use std::time::{Duration, Instant};

use conduit::db::pool::Backend;
use conduit::db::Engine;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

use crate::harness::{scratch_database, TestApp};
use crate::ops::free_port;
use crate::support::{api, exec, get_json, get_page, register, scalar, texts};

/// A connection taken out of the pool and held (never read: holding it is the point).
#[allow(dead_code)]
enum Held {
    Sqlite(conduit::db::conn_pool::Pooled<sqlx::SqliteConnection>),
    MySql(conduit::db::conn_pool::Pooled<sqlx::MySqlConnection>),
}

async fn hold_one(app: &TestApp) -> Held {
    match app.db().backend() {
        Backend::Sqlite(p) => Held::Sqlite(p.acquire().await.expect("acquire")),
        Backend::MySql(p) => Held::MySql(p.acquire().await.expect("acquire")),
    }
}

async fn full_pool(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, |f| {
        f.merge(("databases.main.max_connections", 1))
            .merge(("databases.main.connect_timeout", 1))
    })
    .await
    else {
        return;
    };
    let held = hold_one(&app).await;
    let started = Instant::now();
    let (status, body) = get_json(&app.client, "/healthz").await;
    assert_eq!(status, Status::ServiceUnavailable, "{body}");
    let (status, body) = get_json(&app.client, "/api/articles").await;
    assert_eq!(status, Status::ServiceUnavailable);
    assert_eq!(
        body,
        json!({"errors": {"body": ["the service is temporarily unavailable, please try again"]}})
    );
    let (status, page) = get_page(&app.client, "/").await;
    assert_eq!(status, Status::ServiceUnavailable);
    assert_eq!(texts(&page, "main h1"), vec!["Temporarily unavailable"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answers come within the acquire timeout"
    );
    drop(held);
    let (status, _) = get_json(&app.client, "/healthz").await;
    assert_eq!(status, Status::Ok, "recovers by itself");
    assert_eq!(get_json(&app.client, "/api/articles").await.0, Status::Ok);
}

#[rocket::async_test]
async fn a_full_pool_gives_503_and_recovers_sqlite() {
    full_pool(Engine::Sqlite, "it::ops::full_pool::sqlite").await;
}

#[rocket::async_test]
async fn a_full_pool_gives_503_and_recovers_mysql() {
    full_pool(Engine::MySql, "it::ops::full_pool::mysql").await;
}

/// A statement whose caller gave up (a dropped future: a cancelled request, a timeout) must
/// not leave its connection busy or mid-answer for the next user: the pool holds the
/// connection back until it answers a ping, then reuses it. One connection, so the next
/// statement gets that very one.
async fn interrupted_statement(engine: Engine, test: &str) {
    let Some(app) = TestApp::spawn_with(engine, test, |f| {
        f.merge(("databases.main.max_connections", 1))
            .merge(("databases.main.connect_timeout", 10))
    })
    .await
    else {
        return;
    };
    let db = app.db();
    let slow = match engine {
        Engine::Sqlite => {
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) \
             SELECT COUNT(*) FROM n"
        }
        Engine::MySql => "SELECT SLEEP(1)",
    };
    let given_up = tokio::time::timeout(Duration::from_millis(100), exec(db, slow)).await;
    assert!(
        given_up.is_err(),
        "the slow statement finished within 100 ms: {given_up:?}"
    );
    // The next statement on the (only) connection reads its own answer, not the slow one's.
    assert_eq!(scalar(db, "SELECT 42").await, 42);
    assert_eq!(scalar(db, "SELECT 7").await, 7);
    let (status, _) = get_json(&app.client, "/api/tags").await;
    assert_eq!(status, Status::Ok);

    // A transaction abandoned half-way (an early return on an error) is rolled back before
    // the connection serves anyone else.
    let failed: Result<(), sqlx::Error> = async {
        crate::support::db_run!(db, |c| {
            let mut tx = sqlx::Connection::begin(c).await?;
            sqlx::query("INSERT INTO tags (name) VALUES ('abandoned')")
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO tags (name) VALUES ('abandoned')")
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
    }
    .await;
    assert!(
        failed.is_err(),
        "the second insert must violate the unique name"
    );
    assert_eq!(
        scalar(db, "SELECT COUNT(*) FROM tags WHERE name = 'abandoned'").await,
        0
    );
}

#[rocket::async_test]
async fn an_interrupted_statement_does_not_leak_into_the_next_one_sqlite() {
    interrupted_statement(Engine::Sqlite, "it::ops::interrupted::sqlite").await;
}

#[rocket::async_test]
async fn an_interrupted_statement_does_not_leak_into_the_next_one_mysql() {
    interrupted_statement(Engine::MySql, "it::ops::interrupted::mysql").await;
}

db_test!(
    async fn a_dropped_table_gives_a_clean_500_without_internals(app) {
        exec(app.db(), "DROP TABLE comments").await.unwrap();
        let token = register(&app.client, "writer").await;
        let article = json!({"article": {"title": "T", "description": "d", "body": "b"}});
        api(&app.client, Method::Post, "/api/articles", Some(&token), Some(article)).await;
        let res = app.client.get("/api/articles/t/comments").dispatch().await;
        assert_eq!(res.status(), Status::InternalServerError);
        let body = res.into_string().await.unwrap();
        assert_eq!(body, json!({"errors": {"body": ["internal server error"]}}).to_string());
        let (status, page) = get_page(&app.client, "/article/t").await;
        assert_eq!(status, Status::InternalServerError);
        let text = page.root_element().text().collect::<String>().to_lowercase();
        assert!(!text.contains("select ") && !text.contains("from comments"), "no SQL in the page");
        assert!(!text.contains("no such table") && !text.contains("doesn't exist"), "no driver message");
    }
);

/// A TCP forwarder to MariaDB that can be cut and restored, to play "the database went away".
struct Proxy {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(port: u16, target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind proxy");
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        connections.spawn(async move {
                            if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                }
            }
            connections.abort_all();
        });
        Self {
            port,
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn cut(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

#[rocket::async_test]
async fn mysql_going_away_gives_503_and_the_app_recovers_when_it_returns() {
    let Some(server) = crate::harness::mysql_server_url("it::ops::mysql_going_away") else {
        return;
    };
    let Some((url, _dir, _mysql)) =
        scratch_database(Engine::MySql, "it::ops::mysql_going_away").await
    else {
        return;
    };
    // The server's address as the test configuration names it (whatever host and port CI uses).
    let authority = server
        .split_once("://")
        .map_or(server.as_str(), |(_, rest)| rest);
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, location)| location);
    let authority = authority.split('/').next().unwrap_or(authority);
    let host_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:3306")
    };
    let target = tokio::net::lookup_host(host_port.as_str())
        .await
        .expect("the test server's address")
        .next()
        .expect("an address");
    let proxy_port = free_port();
    let mut proxy = Proxy::start(proxy_port, target).await;
    let proxied = url.replacen(
        &format!("@{authority}/"),
        &format!("@127.0.0.1:{}/", proxy.port),
        1,
    );
    assert_ne!(proxied, url, "the app goes through the proxy");
    let figment =
        crate::harness::test_figment(&proxied).merge(("databases.main.connect_timeout", 1));
    let client = Client::tracked(conduit::rocket_with(figment))
        .await
        .expect("app");
    assert_eq!(get_json(&client, "/healthz").await.0, Status::Ok);

    proxy.cut().await;
    let started = Instant::now();
    let (status, _) = get_json(&client, "/healthz").await;
    assert_eq!(status, Status::ServiceUnavailable);
    let (status, body) = get_json(&client, "/api/tags").await;
    assert_eq!(status, Status::ServiceUnavailable, "{body}");
    assert!(body["errors"]["body"][0].as_str().is_some());
    assert!(started.elapsed() < Duration::from_secs(15));

    let _proxy = Proxy::start(proxy_port, target).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if get_json(&client, "/healthz").await.0 == Status::Ok {
            break;
        }
        assert!(Instant::now() < deadline, "the app did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(get_json(&client, "/api/tags").await.0, Status::Ok);
}
