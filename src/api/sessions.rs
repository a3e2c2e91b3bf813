//! The account's active sessions over JSON (issue 18): `GET /api/user/sessions` lists its
//! browser sign-ins and API logins, `DELETE /api/user/sessions/<id>` ends one (204; 404 for an
//! id that is not a live session of the caller's). A personal access token may do neither
//! (403: `access_token::refusal`).

use chrono::SecondsFormat;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, routes, Route, State};
use serde::Serialize;

use crate::auth::sessions::{self, Active};
use crate::auth::token::Keys;
use crate::auth::CurrentUser;
use crate::db::Conn;
use crate::error::ApiResult;

/// `{"sessions": [...]}`
#[derive(Serialize)]
pub struct SessionList {
    /// The most recently used first.
    pub sessions: Vec<SessionBody>,
}

/// A session as its owner sees it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    id: String,
    current: bool,
    created_at: String,
    last_seen_at: Option<String>,
    address: Option<String>,
    browser: Option<String>,
    kind: String,
}

fn iso(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl From<Active> for SessionBody {
    fn from(s: Active) -> Self {
        Self {
            id: s.id,
            current: s.current,
            created_at: iso(s.created_at),
            last_seen_at: s.last_seen_at.map(iso),
            address: s.address,
            browser: s.browser,
            kind: s.kind,
        }
    }
}

#[get("/user/sessions")]
async fn list(db: Conn, keys: &State<Keys>, me: CurrentUser) -> ApiResult<Json<SessionList>> {
    let listed = sessions::list(&db, keys, &me.0).await?;
    Ok(Json(SessionList {
        sessions: listed.into_iter().map(SessionBody::from).collect(),
    }))
}

#[delete("/user/sessions/<id>")]
async fn end(db: Conn, keys: &State<Keys>, me: CurrentUser, id: &str) -> ApiResult<Status> {
    sessions::end(&db, keys, &me.0, id).await?;
    Ok(Status::NoContent)
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![list, end]
}
