//! `GET /healthz`: 200 when the database answers, 503 when it does not; and the opt-in panic
//! route used to check error reporting.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, routes, Route};
use serde_json::{json, Value};

use crate::db::Conn;

/// `{"status": "ok", "database": "sqlite"}`; with `?details`, also `"db": {"engine":
/// "sqlite", "walBytes": N}` (`walBytes`, SQLite's write-ahead log on disk, only for an SQLite
/// file). The plain probe reads nothing from disk: load balancers call it often, and the
/// benchmark measures every endpoint against it.
#[get("/healthz?<details>")]
async fn healthz(db: Conn, details: bool) -> (Status, Json<Value>) {
    let engine = db.engine();
    let (status, word) = match db.ping().await {
        Ok(()) => (Status::Ok, "ok"),
        Err(e) => {
            log::warn!("healthz: database unreachable: {e}");
            (Status::ServiceUnavailable, "unavailable")
        }
    };
    let mut body = json!({ "status": word, "database": engine });
    if details {
        let mut db_details = json!({ "engine": engine });
        if let Some(bytes) = db.wal_bytes() {
            db_details["walBytes"] = bytes.into();
        }
        body["db"] = db_details;
    }
    (status, Json(body))
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
