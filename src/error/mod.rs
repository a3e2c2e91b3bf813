//! One error type, two faces: [`Api`] answers RealWorld JSON, [`HtmlError`] answers an HTML page in
//! the site layout. Both log a 5xx once (with its cause chain and the request id, which also
//! sends it to Sentry through the log integration) and never show internals.

use std::collections::BTreeMap;

use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{catch, catchers, Catcher, Request};
use serde_json::json;

mod page;
pub(crate) use page::title_for;
pub use page::{
    error_page, search_box, ErrorHtml, ErrorPageLinks, PageRenderer, RenderPage, SearchBox,
};

/// Field name -> messages, e.g. `email -> ["has already been taken"]`.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One error on one field.
    pub fn one(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Record `message` against `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when empty, else the errors as a validation failure.
    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self))
        }
    }

    /// Full sentences, "email has already been taken", for `errors.body` and page lists.
    /// Messages on the pseudo-field `base` concern the whole request and stand alone.
    pub fn full_messages(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|(field, messages)| {
                messages.iter().map(move |m| {
                    if field == "base" {
                        m.clone()
                    } else {
                        format!("{field} {m}")
                    }
                })
            })
            .collect()
    }
}

/// Everything that can go wrong while handling a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such record or page.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// No valid credentials (missing, bad, expired or revoked token).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The input broke validation rules.
    #[error("validation failed")]
    Invalid(FieldErrors),
    /// The request itself is malformed (bad JSON, bad query value).
    #[error("{0}")]
    BadRequest(String),
    /// Too many attempts; retry after this many seconds.
    #[error("too many attempts, try again later")]
    TooManyRequests(u64),
    /// Overloaded (the password hasher's queue is full); retry after this many seconds.
    #[error("the server is busy, please try again shortly")]
    Busy(u64),
    /// A database error.
    #[error("database error")]
    Db(#[from] sqlx::Error),
    /// Anything else unexpected.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl AppError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> Status {
        match self {
            Self::NotFound(_) => Status::NotFound,
            Self::Unauthorized(_) => Status::Unauthorized,
            Self::Forbidden(_) => Status::Forbidden,
            Self::Invalid(_) => Status::UnprocessableEntity,
            Self::BadRequest(_) => Status::BadRequest,
            Self::TooManyRequests(_) => Status::TooManyRequests,
            Self::Busy(_) => Status::ServiceUnavailable,
            Self::Db(e) if is_unavailable(e) || is_lock_conflict(e) => Status::ServiceUnavailable,
            Self::Db(_) | Self::Other(_) => Status::InternalServerError,
        }
    }

    /// The `Retry-After` seconds this answer carries: the throttle's wait for a 429, the
    /// hasher's for a shed request, a short pause for a 503 (the pool was busy, or a lock
    /// conflict outlasted every retry).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests(secs) | Self::Busy(secs) => Some(*secs),
            Self::Db(_) if self.status() == Status::ServiceUnavailable => Some(RETRY_AFTER_SECS),
            _ => None,
        }
    }

    /// A 401 with the standard message.
    pub fn unauthorized() -> Self {
        Self::Unauthorized("missing or invalid credentials".into())
    }

    /// The messages a user may see: field errors in full, or one generic line for 5xx.
    pub fn public_messages(&self) -> Vec<String> {
        match self {
            Self::Invalid(fields) => fields.full_messages(),
            Self::Db(_) | Self::Other(_) if self.status() == Status::ServiceUnavailable => {
                vec!["the service is temporarily unavailable, please try again".into()]
            }
            Self::Db(_) | Self::Other(_) => vec!["internal server error".into()],
            other => vec![other.to_string()],
        }
    }

    /// Log a server-side failure once, with its cause chain and the request's identity. Load
    /// shedding (`Busy`) is not a failure: a flood would otherwise flood the log and Sentry too.
    fn report(&self, req: &Request<'_>) {
        if !self.status().class().is_server_error() || matches!(self, Self::Busy(_)) {
            return;
        }
        let cause = match self {
            Self::Db(e) => format!("{e:#}"),
            Self::Other(e) => format!("{e:#}"),
            other => other.to_string(),
        };
        report_failure(req, self.status(), &cause);
    }
}

/// Log one server-side failure of `req` at error level, tagged with the request's method, path
/// and id. Sentry's log integration turns that record into exactly one event carrying those
/// tags (and nothing from the request's headers, cookies or body).
pub fn report_failure(req: &Request<'_>, status: Status, cause: &str) {
    let rid = crate::telemetry::request_id(req);
    let method = req.method().as_str();
    let path = crate::telemetry::request_path(req);
    sentry::with_scope(
        |scope| {
            scope.set_tag("request_id", &rid);
            scope.set_tag("http.method", method);
            scope.set_tag("http.path", &path);
            scope.set_tag("http.status_code", status.code);
        },
        || {
            log::error!(
                "{method} {path} answered {} rid={rid}: {cause}",
                status.code
            );
        },
    );
}

/// Report a 5xx that reached a catcher (a failing guard, or a panicking handler).
pub fn report_caught(status: Status, req: &Request<'_>) {
    if !status.class().is_server_error() {
        return;
    }
    let cause = match crate::telemetry::take_panic() {
        Some(panic) => format!("handler panicked: {panic}"),
        None => "request failed before its handler ran".to_owned(),
    };
    report_failure(req, status, &cause);
}

/// Pool exhausted or database unreachable: a 503, not a 500. (So is a lock conflict that
/// outlasted its retries: [`is_lock_conflict`].)
fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
    )
}

/// What `Retry-After` tells a client whose request lost every attempt (seconds).
pub const RETRY_AFTER_SECS: u64 = 1;

/// MySQL/MariaDB error numbers that mean "run the transaction again": deadlock (1213), lock
/// wait timeout (1205), and Galera's "WSREP has not yet prepared node" / certification
/// failure (1047).
const MYSQL_CONFLICTS: [u16; 3] = [1213, 1205, 1047];

/// SQLite's primary result codes for a lock held by another connection: `SQLITE_BUSY` (5,
/// with its extended forms such as `SQLITE_BUSY_SNAPSHOT` = 517) and `SQLITE_LOCKED` (6).
const SQLITE_CONFLICTS: [i64; 2] = [5, 6];

/// Whether `e` is a lock conflict that running the whole transaction again can resolve.
pub fn is_lock_conflict(e: &sqlx::Error) -> bool {
    let Some(db) = e.as_database_error() else {
        return false;
    };
    if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return MYSQL_CONFLICTS.contains(&mysql.number()) || is_conflict_message(mysql.message());
    }
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // The code is SQLite's extended result code; the primary code is its low byte.
        let primary = db
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            .map(|c| c & 0xff);
        return primary.is_some_and(|c| SQLITE_CONFLICTS.contains(&c))
            || is_conflict_message(db.message());
    }
    // SQLSTATE 40001 is the standard "serialization failure" (MySQL's deadlock among them).
    db.code().as_deref() == Some("40001") || is_conflict_message(db.message())
}

/// The servers' own words for a lock conflict, for errors that arrive without their number.
fn is_conflict_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("deadlock found")
        || m.contains("lock wait timeout exceeded")
        || m.contains("wsrep detected deadlock")
        || m.contains("database is locked")
        || m.contains("database table is locked")
}

/// Whether a database error is a unique-key violation (a race that validation did not catch).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(sqlx::error::DatabaseError::is_unique_violation)
}

/// The RealWorld error body: `errors.body` always present, field keys beside it.
pub fn api_error_body(error: &AppError) -> serde_json::Value {
    let mut errors = serde_json::Map::new();
    errors.insert("body".into(), json!(error.public_messages()));
    if let AppError::Invalid(fields) = error {
        for (field, messages) in &fields.0 {
            // `body` is the spec's list of full messages (a `body` field's errors are in it).
            if field != "body" && field != "base" {
                errors.insert(field.clone(), json!(messages));
            }
        }
    }
    json!({ "errors": errors })
}

/// An error answered as RealWorld JSON (handlers under `/api`).
#[derive(Debug)]
pub struct Api(pub AppError);

impl<E: Into<AppError>> From<E> for Api {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl<'r> Responder<'r, 'static> for Api {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        self.0.report(req);
        let mut res = (self.0.status(), Json(api_error_body(&self.0))).respond_to(req)?;
        if let Some(secs) = self.0.retry_after() {
            res.set_header(Header::new("Retry-After", secs.to_string()));
        }
        Ok(res)
    }
}

/// Result of a JSON handler.
pub type ApiResult<T> = Result<T, Api>;

/// An error answered as an HTML page in the site layout (handlers outside `/api`).
#[derive(Debug)]
pub struct HtmlError(pub AppError);

impl<E: Into<AppError>> From<E> for HtmlError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl<'r> Responder<'r, 'static> for HtmlError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        self.0.report(req);
        if matches!(self.0, AppError::Unauthorized(_)) {
            // The mount point's 401 catcher sends the visitor to sign in (the site's and the
            // console's both do: `web::catchers`, `admin::catchers`).
            return Err(Status::Unauthorized);
        }
        let mut res =
            error_page(req, self.0.status(), &self.0.public_messages()).respond_to(req)?;
        if let Some(secs) = self.0.retry_after() {
            res.set_header(Header::new("Retry-After", secs.to_string()));
        }
        Ok(res)
    }
}

/// Result of an HTML handler.
pub type PageResult<T> = Result<T, HtmlError>;

/// Where an unconfirmed account asks for a new confirmation link, and its form token: left
/// for the site's error page by the guard that refused a write under `require_confirmed_email`.
#[derive(Default, Clone)]
pub struct ResendHint(pub Option<(String, String)>);

/// A message the JSON body guard left for the catcher (Rocket's catchers see only the status).
#[derive(Default, Clone)]
pub struct CatcherMessage(pub Option<String>);

/// What a catcher says for `status` when no guard left a [`CatcherMessage`].
pub fn default_message(status: Status) -> String {
    match status.code {
        400 => "the request is malformed".into(),
        401 => "missing or invalid credentials".into(),
        403 => "you are not allowed to do that".into(),
        404 => "not found".into(),
        405 => "method not allowed".into(),
        413 => "the request body is too large".into(),
        415 => "unsupported content type: send application/json".into(),
        422 => "the request could not be processed".into(),
        500..=599 => "internal server error".into(),
        _ => status.reason_lossy().to_ascii_lowercase(),
    }
}

/// A JSON catcher's answer, with the `Allow` header of a 405.
struct Caught {
    body: (Status, (ContentType, String)),
    allow: Option<String>,
}

impl<'r> Responder<'r, 'static> for Caught {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut res = self.body.respond_to(req)?;
        if let Some(allow) = self.allow {
            res.set_header(Header::new("Allow", allow));
        }
        Ok(res)
    }
}

#[catch(default)]
fn api_default(status: Status, req: &Request<'_>) -> Caught {
    // No route for this method, but some for others at this path: 405 naming them (RFC 9110),
    // not 404. (Preflights stay 404s: the CORS fairing answers those.)
    let allowed = if status == Status::NotFound && req.method() != rocket::http::Method::Options {
        allowed_methods(req)
    } else {
        Vec::new()
    };
    let status = if allowed.is_empty() {
        status
    } else {
        Status::MethodNotAllowed
    };
    let message = req
        .local_cache(CatcherMessage::default)
        .0
        .clone()
        .unwrap_or_else(|| default_message(status));
    report_caught(status, req);
    let body = json!({ "errors": { "body": [message] } });
    Caught {
        body: (status, (ContentType::JSON, body.to_string())),
        allow: (!allowed.is_empty()).then(|| allowed.join(", ")),
    }
}

/// The methods the mounted routes answer at `req`'s path (by their path patterns), when
/// `req`'s own method is not one of them: what a 405's `Allow` lists. Empty when no route has
/// the path, or one has it with this method (its parameter did not parse: a 404 stays a 404).
fn allowed_methods(req: &Request<'_>) -> Vec<&'static str> {
    let segments: Vec<&str> = req.uri().path().segments().collect();
    let mut methods: Vec<rocket::http::Method> = req
        .rocket()
        .routes()
        .filter(|route| path_matches(route.uri.path(), &segments))
        .map(|route| route.method)
        .collect();
    if methods.contains(&req.method())
        || (req.method() == rocket::http::Method::Head
            && methods.contains(&rocket::http::Method::Get))
    {
        return Vec::new();
    }
    if methods.contains(&rocket::http::Method::Get) {
        methods.push(rocket::http::Method::Head);
    }
    methods.sort_by_key(|m| m.as_str());
    methods.dedup();
    methods
        .into_iter()
        .map(rocket::http::Method::as_str)
        .collect()
}

/// Whether a route's path pattern (`/api/articles/<slug>`, `/x/<rest..>`) matches `segments`.
fn path_matches(pattern: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    let mut at = 0;
    for part in &parts {
        if part.starts_with('<') && part.ends_with("..>") {
            return true;
        }
        let Some(segment) = segments.get(at) else {
            return false;
        };
        if !(part.starts_with('<') && part.ends_with('>')) && part != segment {
            return false;
        }
        at += 1;
    }
    at == segments.len()
}

/// Catchers for `/api` (RealWorld JSON).
pub fn api_catchers() -> Vec<Catcher> {
    catchers![api_default]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_full_messages_and_field_keys() {
        let error = AppError::Invalid(FieldErrors::one("email", "has already been taken"));
        let body = api_error_body(&error);
        assert_eq!(
            body,
            json!({"errors": {"body": ["email has already been taken"], "email": ["has already been taken"]}})
        );
    }

    #[test]
    fn route_patterns_match_paths_by_segment() {
        assert!(path_matches("/api/tags", &["api", "tags"]));
        assert!(path_matches(
            "/api/articles/<slug>",
            &["api", "articles", "a-b"]
        ));
        assert!(!path_matches("/api/articles/<slug>", &["api", "articles"]));
        assert!(!path_matches(
            "/api/articles/<slug>",
            &["api", "articles", "a", "b"]
        ));
        assert!(!path_matches("/api/tags", &["api", "tag"]));
        assert!(path_matches(
            "/static/<path..>",
            &["static", "css", "a.css"]
        ));
    }

    #[test]
    fn internal_errors_are_not_shown() {
        let error = AppError::Other(anyhow::anyhow!("SELECT secret FROM users"));
        assert_eq!(error.status(), Status::InternalServerError);
        assert_eq!(
            error.public_messages(),
            vec!["internal server error".to_string()]
        );
    }
}
