//! `GET /metrics` (Prometheus text format) for loopback clients and holders of
//! `metrics_token`; to anyone else it does not exist (the site's 404, as for any unknown path).
//!
//! "Loopback" is the socket peer's address: headers a client can write (`X-Forwarded-For`,
//! `X-Real-IP`, `Forwarded`) never make a request local. Rather the opposite: without
//! `ip_header` a request carrying one of them came through a proxy (whose own address is
//! loopback when it runs on the same machine), so it is not local. With `ip_header` set (a
//! proxy you trust writes it) the address is the one that header names, as for the rest of
//! the app (`auth::credentials::ClientAddr`).

use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{get, routes, Route, State};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::AppConfig;
use crate::db::Conn;
use crate::metrics::Metrics;

/// Headers a proxy adds to name the client it forwards for.
const FORWARDING_HEADERS: [&str; 3] = ["Forwarded", "X-Forwarded-For", "X-Real-IP"];

/// Admission to `/metrics`; refused requests are forwarded as 404 (no route, no hint).
pub struct MetricsAccess;

/// `given` equals `expected`, compared in constant time (over digests, so not even the length
/// shows).
fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.ct_eq(&b).into()
}

/// Whether `req` comes from this machine (see the module docs).
fn is_local(req: &Request<'_>) -> bool {
    let ip = if req.rocket().config().ip_header.is_some() {
        req.client_ip()
    } else {
        if FORWARDING_HEADERS
            .iter()
            .any(|h| req.headers().contains(*h))
        {
            return false;
        }
        req.remote().map(|addr| addr.ip())
    };
    ip.is_some_and(|ip| ip.to_canonical().is_loopback())
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MetricsAccess {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let token = req
            .rocket()
            .state::<AppConfig>()
            .and_then(AppConfig::metrics_token);
        // A credential that was sent must be right, from anywhere.
        if let Some(given) = req.headers().get_one("Authorization") {
            let given = given.strip_prefix("Bearer ").unwrap_or_default();
            return match token {
                Some(token) if same_secret(given, token) => Outcome::Success(MetricsAccess),
                _ => Outcome::Forward(Status::NotFound),
            };
        }
        if is_local(req) {
            Outcome::Success(MetricsAccess)
        } else {
            Outcome::Forward(Status::NotFound)
        }
    }
}

#[get("/metrics")]
async fn metrics(
    _access: MetricsAccess,
    db: Conn,
    metrics: &State<Metrics>,
) -> (ContentType, String) {
    let text_format =
        ContentType::new("text", "plain").with_params([("version", "0.0.4"), ("charset", "utf-8")]);
    // The outbox as the database has it (shared by every instance); a failed read leaves the
    // gauges as they were rather than failing the scrape.
    match crate::db::outbox::counts(&db).await {
        Ok(counts) => metrics.outbox(counts.pending, counts.failed),
        Err(e) => log::warn!("metrics: reading the outbox: {e}"),
    }
    (text_format, metrics.render(db.status(), db.wal_bytes()))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![metrics]
}
