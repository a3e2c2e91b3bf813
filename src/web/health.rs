//! `GET /healthz`: 200 when the database answers, 503 when it does not; and the opt-in panic
//! route used to check error reporting.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, routes, Route};
use serde_json::{json, Value};

use crate::db::Conn;

/// `{"status": "ok", "database": "sqlite", "db": {"engine": "sqlite", "walBytes": N}}`:
/// `walBytes` (SQLite's write-ahead log on disk) only for an SQLite file.
#[get("/healthz")]
async fn healthz(db: Conn) -> (Status, Json<Value>) {
    let engine = db.engine();
    let mut details = json!({ "engine": engine });
    if let Some(bytes) = db.wal_bytes() {
        details["walBytes"] = bytes.into();
    }
    match db.ping().await {
        Ok(()) => (
            Status::Ok,
            Json(json!({ "status": "ok", "database": engine, "db": details })),
        ),
        Err(e) => {
            log::warn!("healthz: database unreachable: {e}");
            (
                Status::ServiceUnavailable,
                Json(json!({ "status": "unavailable", "database": engine, "db": details })),
            )
        }
    }
}

/// A handler that panics: mounted only with `enable_panic_route`, to check that a panic gives
/// the 500 page, one Sentry event, and a process that keeps serving.
#[get("/__panic")]
fn panic() -> &'static str {
    panic!("deliberate panic from /__panic")
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![healthz]
}

/// The panic route.
pub fn panic_routes() -> Vec<Route> {
    routes![panic]
}
