//! `GET /metrics`, read back with a Prometheus text parser (`prometheus-parse`): requests by
//! route pattern and status, the latency histogram, pool gauges, backups and the SQLite WAL;
//! served to loopback clients and to holders of `metrics_token`, a 404 to anyone else.
// The text format carries counts as floats; they are whole numbers, compared exactly.
#![allow(clippy::float_cmp)]

use std::net::SocketAddr;

use conduit::admin::backup::Backups;
use conduit::config::AppConfig;
use conduit::db::Engine;
use prometheus_parse::{Sample, Scrape, Value};
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;

use crate::harness::TestApp;

const TOKEN: &str = "metrics-token-0123456789";

fn loopback() -> SocketAddr {
    "127.0.0.1:40000".parse().expect("address")
}

fn stranger() -> SocketAddr {
    "203.0.113.9:40000".parse().expect("address")
}

/// Status, content type and body of `GET /metrics` from `remote`, with `headers`.
async fn fetch(
    client: &Client,
    path: &str,
    remote: Option<SocketAddr>,
    headers: &[(&'static str, &str)],
) -> (Status, Option<ContentType>, String) {
    let mut req = client.get(path.to_owned());
    if let Some(remote) = remote {
        req = req.remote(remote);
    }
    for (name, value) in headers {
        req = req.header(Header::new(*name, (*value).to_owned()));
    }
    let res = req.dispatch().await;
    let (status, content_type) = (res.status(), res.content_type());
    (
        status,
        content_type,
        res.into_string().await.unwrap_or_default(),
    )
}

async fn scrape(client: &Client) -> Scrape {
    let (status, content_type, body) = fetch(client, "/metrics", Some(loopback()), &[]).await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(
        content_type.map(|c| c.to_string()).as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("the Prometheus text format")
}

fn find<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
}

/// A counter's, gauge's or untyped sample's value, 0 when absent (a series not yet seen).
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    match find(scrape, metric, labels).map(|s| &s.value) {
        Some(Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v)) => *v,
        Some(other) => panic!("{metric} is not a single value: {other:?}"),
        None => 0.0,
    }
}

/// The histogram's `+Inf` bucket: every observation.
fn observations(scrape: &Scrape, labels: &[(&str, &str)]) -> f64 {
    match find(scrape, "conduit_http_request_duration_seconds", labels).map(|s| &s.value) {
        Some(Value::Histogram(buckets)) => buckets
            .iter()
            .find(|b| b.less_than.is_infinite())
            .map_or(0.0, |b| b.count),
        Some(other) => panic!("not a histogram: {other:?}"),
        None => 0.0,
    }
}

db_test!(
    async fn metrics_count_requests_by_route_pattern_and_status(app) {
        let before = scrape(&app.client).await;
        let tags = [("method", "GET"), ("route", "/api/tags"), ("status", "200")];
        let slugs = [("method", "GET"), ("route", "/api/articles/<slug>"), ("status", "404")];
        let unmatched = [("method", "GET"), ("route", "<unmatched>"), ("status", "404")];
        for _ in 0..7 {
            assert_eq!(app.client.get("/api/tags").dispatch().await.status(), Status::Ok);
        }
        for slug in ["nope-1", "nope-2", "nope-3"] {
            let status = app.client.get(format!("/api/articles/{slug}")).dispatch().await.status();
            assert_eq!(status, Status::NotFound);
        }
        for path in ["/no/such/page-a", "/no/such/page-b"] {
            assert_eq!(app.client.get(path).dispatch().await.status(), Status::NotFound);
        }
        let after = scrape(&app.client).await;

        let rose = |labels: &[(&str, &str)]| {
            value(&after, "conduit_http_requests_total", labels)
                - value(&before, "conduit_http_requests_total", labels)
        };
        assert_eq!(rose(&tags), 7.0);
        assert_eq!(rose(&slugs), 3.0, "one series for every slug");
        assert_eq!(rose(&unmatched), 2.0, "one series for every unknown path");
        for labels in [&tags[..], &slugs[..], &unmatched[..]] {
            let counted = value(&after, "conduit_http_requests_total", labels);
            assert_eq!(observations(&after, labels), counted, "{labels:?}");
            assert_eq!(
                value(&after, "conduit_http_request_duration_seconds_count", labels),
                counted
            );
        }
        assert!(
            after.samples.iter().all(|s| s.labels.get("route").is_none_or(|r| !r.contains("nope") && !r.contains("page-a"))),
            "a path a client chose is never a label"
        );

        assert_eq!(value(&after, "conduit_db_pool_max_connections", &[]), 4.0);
        assert!(value(&after, "conduit_db_pool_connections", &[]) >= 1.0);
        for gauge in ["conduit_db_pool_in_use", "conduit_db_pool_waiting"] {
            assert!(
                matches!(find(&after, gauge, &[]).map(|s| &s.value), Some(Value::Gauge(v)) if *v >= 0.0),
                "{gauge}"
            );
        }
        let wal = find(&after, "conduit_sqlite_wal_bytes", &[]);
        match app.engine {
            Engine::Sqlite => assert!(matches!(wal.map(|s| &s.value), Some(Value::Gauge(v)) if *v > 0.0), "{wal:?}"),
            Engine::MySql => assert!(wal.is_none(), "no WAL on MariaDB"),
        }
        for outcome in ["ok", "busy", "failed"] {
            assert!(find(&after, "conduit_backups_total", &[("outcome", outcome)]).is_some(), "{outcome}");
        }
    }
);

#[rocket::async_test]
async fn metrics_are_a_404_to_other_hosts_without_the_token() {
    let app = TestApp::spawn_with(Engine::Sqlite, "it::metrics::access", |f| {
        f.merge(("metrics_token", TOKEN))
    })
    .await
    .expect("sqlite");
    let client = &app.client;
    let bearer = format!("Bearer {TOKEN}");
    let (missing, missing_type, missing_body) =
        fetch(client, "/no-such-path", Some(stranger()), &[]).await;
    assert_eq!(missing, Status::NotFound);

    let refused = [
        (Some(stranger()), vec![]),
        (
            Some(stranger()),
            vec![("Authorization", "Bearer wrong-token-0123456789")],
        ),
        (Some(stranger()), vec![("Authorization", "Bearer ")]),
        (Some(stranger()), vec![("Authorization", TOKEN)]),
        (
            Some(stranger()),
            vec![("Authorization", "Token metrics-token-0123456789")],
        ),
        // A wrong credential is wrong from anywhere.
        (
            Some(loopback()),
            vec![("Authorization", "Bearer wrong-token-0123456789")],
        ),
        // Forwarded by a proxy on this machine: the client is elsewhere, whatever it claims.
        (Some(loopback()), vec![("X-Forwarded-For", "127.0.0.1")]),
        (Some(loopback()), vec![("X-Real-IP", "127.0.0.1")]),
        (Some(loopback()), vec![("Forwarded", "for=127.0.0.1")]),
        // A client cannot claim to be local.
        (Some(stranger()), vec![("X-Real-IP", "127.0.0.1")]),
        (None, vec![]),
    ];
    for (remote, headers) in &refused {
        let (status, content_type, body) = fetch(client, "/metrics", *remote, headers).await;
        assert_eq!(status, Status::NotFound, "{remote:?} {headers:?}");
        assert_eq!(
            content_type, missing_type,
            "the same 404 as an unknown path"
        );
        assert_eq!(body, missing_body, "the same 404 as an unknown path");
    }
    let served = [
        (Some(loopback()), vec![]),
        (Some("[::1]:40000".parse().expect("address")), vec![]),
        (Some(stranger()), vec![("Authorization", bearer.as_str())]),
        (Some(loopback()), vec![("Authorization", bearer.as_str())]),
    ];
    for (remote, headers) in &served {
        let (status, _, body) = fetch(client, "/metrics", *remote, headers).await;
        assert_eq!(status, Status::Ok, "{remote:?} {headers:?}");
        assert!(body.contains("conduit_http_requests_total"), "{body}");
    }

    // Without a token configured, no bearer opens it.
    let open = TestApp::spawn(Engine::Sqlite, "it::metrics::no_token")
        .await
        .expect("sqlite");
    let (status, _, _) = fetch(
        &open.client,
        "/metrics",
        Some(stranger()),
        &[("Authorization", "Bearer ")],
    )
    .await;
    assert_eq!(status, Status::NotFound);
    let (status, _, _) = fetch(&open.client, "/metrics", Some(stranger()), &[]).await;
    assert_eq!(status, Status::NotFound);
}

/// A CORS preflight is counted with the status the browser got (204, set by the CORS fairing
/// after routing found nothing), not as a 404.
#[rocket::async_test]
async fn a_cors_preflight_is_counted_as_the_204_it_answered() {
    let app = TestApp::spawn_with(Engine::Sqlite, "it::metrics::preflight", |f| {
        f.merge(("cors_allowed_origins", ["https://app.example"]))
    })
    .await
    .expect("sqlite");
    let res = app
        .client
        .req(rocket::http::Method::Options, "/api/articles/some-slug")
        .header(Header::new("Origin", "https://app.example"))
        .header(Header::new("Access-Control-Request-Method", "POST"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NoContent);
    let after = scrape(&app.client).await;
    let preflight = |status| {
        value(
            &after,
            "conduit_http_requests_total",
            &[
                ("method", "OPTIONS"),
                ("route", "<unmatched>"),
                ("status", status),
            ],
        )
    };
    assert_eq!(preflight("204"), 1.0);
    assert_eq!(preflight("404"), 0.0);
}

#[test]
fn a_short_metrics_token_is_refused_naming_the_key() {
    let figment = crate::harness::test_figment("sqlite::memory:").merge(("metrics_token", "short"));
    let err = AppConfig::from_figment(&figment).unwrap_err();
    assert!(err.contains("`metrics_token`"), "{err}");
}

#[rocket::async_test]
async fn backups_are_counted_by_outcome() {
    let app = TestApp::spawn(Engine::Sqlite, "it::metrics::backups")
        .await
        .expect("sqlite");
    let backups = app.client.rocket().state::<Backups>().expect("backups");
    backups.create().await.expect("a backup");
    // The same service writing into a folder that cannot exist (a file is in the way).
    let blocked = app.dir.join("blocked");
    std::fs::write(&blocked, b"a file").expect("file");
    let figment = app
        .client
        .rocket()
        .figment()
        .clone()
        .merge(("backup_dir", blocked.join("inside")));
    let metrics = app
        .client
        .rocket()
        .state::<conduit::metrics::Metrics>()
        .cloned();
    let failing = Backups::from_figment(&figment)
        .expect("service")
        .with_metrics(metrics);
    assert!(failing.create().await.is_err());

    let after = scrape(&app.client).await;
    assert_eq!(
        value(&after, "conduit_backups_total", &[("outcome", "ok")]),
        1.0
    );
    assert_eq!(
        value(&after, "conduit_backups_total", &[("outcome", "failed")]),
        1.0
    );
    assert_eq!(
        value(&after, "conduit_backups_total", &[("outcome", "busy")]),
        0.0
    );
}
