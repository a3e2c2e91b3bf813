//! The account's active sessions over JSON (issue 18): `GET /api/user/sessions` lists its
//! browser sign-ins and API logins (the first 100, and how many more there are),
//! `DELETE /api/user/sessions/<id>` ends one (204; 404 for an id that is not a live session of
//! the caller's), `DELETE /api/user/sessions` every one but the caller's. A personal access token may do neither
//! (403: `access_token::refusal`).

use chrono::SecondsFormat;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, routes, Route, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api_doc::ErrorBody;
use crate::auth::sessions::{self, Active};
use crate::auth::token::Keys;
use crate::auth::CurrentUser;
use crate::db::Conn;
use crate::error::ApiResult;

/// `{"sessions": [...], "notListed": 0}`
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionList {
    /// The most recently used first, at most 100.
    pub sessions: Vec<SessionBody>,
    /// How many more live sessions the account has beyond those listed (the least recently
    /// used); `DELETE /api/user/sessions` ends them with every other one.
    pub not_listed: i64,
}

/// `{"ended": 3}`: how many sessions were ended.
#[derive(Serialize, ToSchema)]
pub struct Ended {
    /// Sessions ended (every live one but the caller's).
    pub ended: u64,
}

/// A session as its owner sees it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    /// The session's handle: what `DELETE /api/user/sessions/{id}` takes (not a credential).
    id: String,
    /// The session this request was made with.
    current: bool,
    /// When it began (RFC 3339, UTC).
    #[schema(format = DateTime)]
    created_at: String,
    /// When it was last used, to the minute (RFC 3339, UTC); `null` before its first use.
    #[schema(format = DateTime)]
    last_seen_at: Option<String>,
    /// The client address it was last used from.
    address: Option<String>,
    /// The browser family and system, as its User-Agent says (`Firefox on Linux`).
    browser: Option<String>,
    /// `browser` (a site sign-in) or `api` (a `POST /api/users/login` or sign-up).
    #[schema(pattern = "^(browser|api)$")]
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

/// The account's live sessions: browser sign-ins and API logins, most recently used first.
#[utoipa::path(get, path = "/user/sessions", tag = "users", operation_id = "listSessions",
    security(("token" = [])),
    responses(
        (status = 200, description = "The live sessions.", body = SessionList),
        (status = 403, description = "A personal access token (tokens are not sessions).", body = ErrorBody),
    ))]
#[get("/user/sessions")]
async fn list(db: Conn, keys: &State<Keys>, me: CurrentUser) -> ApiResult<Json<SessionList>> {
    let listed = sessions::list(&db, keys, &me.0).await?;
    let not_listed = sessions::not_listed(&db, &me.0, listed.len()).await?;
    Ok(Json(SessionList {
        sessions: listed.into_iter().map(SessionBody::from).collect(),
        not_listed,
    }))
}

/// Sign out everywhere else: end every live session of the account but the caller's.
#[utoipa::path(delete, path = "/user/sessions", tag = "users", operation_id = "endOtherSessions",
    security(("token" = [])),
    responses(
        (status = 200, description = "How many were ended.", body = Ended),
        (status = 403, description = "A personal access token (tokens are not sessions).", body = ErrorBody),
    ))]
#[delete("/user/sessions")]
async fn end_others(db: Conn, me: CurrentUser) -> ApiResult<Json<Ended>> {
    let ended = sessions::end_others(&db, &me.0).await?;
    Ok(Json(Ended { ended }))
}

/// End one of the account's sessions: its tokens answer 401 from then on.
#[utoipa::path(delete, path = "/user/sessions/{id}", tag = "users", operation_id = "endSession",
    params(("id" = String, Path, description = "The session's `id` as listed.")),
    security(("token" = [])),
    responses(
        (status = 204, description = "Ended."),
        (status = 403, description = "A personal access token (tokens are not sessions).", body = ErrorBody),
        (status = 404, description = "No live session of the caller's with this id.", body = ErrorBody),
    ))]
#[delete("/user/sessions/<id>")]
async fn end(db: Conn, keys: &State<Keys>, me: CurrentUser, id: &str) -> ApiResult<Status> {
    sessions::end(&db, keys, &me.0, id).await?;
    Ok(Status::NoContent)
}

/// The documentation of this module's routes (`crate::api_doc`): list each route here too.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, end, end_others))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![list, end, end_others]
}
