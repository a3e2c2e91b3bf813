//! `GET /healthz`: 200 when the database answers, 503 when it does not.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, routes, Route};
use serde_json::{json, Value};

use crate::db::Conn;

#[get("/healthz")]
async fn healthz(db: Conn) -> (Status, Json<Value>) {
    let engine = db.engine();
    match db.ping().await {
        Ok(()) => (Status::Ok, Json(json!({ "status": "ok", "database": engine }))),
        Err(e) => {
            log::warn!("healthz: database unreachable: {e}");
            (
                Status::ServiceUnavailable,
                Json(json!({ "status": "unavailable", "database": engine })),
            )
        }
    }
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![healthz]
}
