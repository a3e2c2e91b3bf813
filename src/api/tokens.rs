//! Personal access tokens over JSON: `GET|POST /api/user/tokens`, `DELETE
//! /api/user/tokens/<id>` (issue 19). Only a signed-in user (a login token or the browser
//! session, never a personal access token: 403) manages their tokens; creating one needs a
//! fresh login (401 otherwise, as for an email change). The secret is in the creation's answer
//! and nowhere else, ever.

use chrono::SecondsFormat;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, post, routes, Route, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api_doc::ErrorBody;
use crate::auth::access_token::{self, Expiry, Origin, Scopes};
use crate::auth::CurrentUser;
use crate::config::AppConfig;
use crate::db::access_tokens::TokenRow;
use crate::db::{self, AccessTokenId, Conn};
use crate::error::{ApiResult, AppError};
use crate::json_body::ApiJson;

/// The message of a 401 for a login too old to create a token with.
pub const NOT_FRESH: &str = "creating a token needs a fresh login: sign in again (POST /api/users/login) and retry with the new token";

/// `{"token": ...}`
#[derive(Deserialize, Serialize, ToSchema)]
pub struct TokenEnvelope<T> {
    /// The payload.
    pub token: T,
}

/// `{"tokens": [...]}`
#[derive(Serialize, ToSchema)]
pub struct TokenList {
    /// Newest first.
    pub tokens: Vec<TokenBody>,
}

/// A token request. `expiresInDays`: 30, 90 or 365; `null` for a token that never expires;
/// absent, 30.
#[allow(clippy::option_option)] // absent (None) and null (Some(None)) mean different things
#[derive(Deserialize, Default, ToSchema)]
pub struct NewTokenBody {
    /// Not blank; up to 100 characters.
    #[schema(value_type = String, required = true, max_length = 100, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    name: Option<String>,
    /// At least one; `admin` only for administrators.
    #[schema(value_type = Vec<access_token::Scope>, required = true, min_items = 1)]
    scopes: Option<Vec<String>>,
    /// 30, 90 or 365 days; `null`: never expires; absent: 30.
    #[serde(rename = "expiresInDays", default, deserialize_with = "nullable")]
    #[schema(value_type = ExpiresInDays, required = false)]
    expires_in_days: Option<Option<serde_json::Value>>,
}

/// `expiresInDays` as the document states it: 30, 90, 365 or `null`.
pub struct ExpiresInDays;

impl utoipa::PartialSchema for ExpiresInDays {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let days = access_token::EXPIRY_DAYS.map(serde_json::Value::from);
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
            .enum_values(Some(days.into_iter().chain([serde_json::Value::Null])))
            .description(Some("Days until the token expires; `null`: never."))
            .into()
    }
}

impl ToSchema for ExpiresInDays {}

#[allow(clippy::option_option)]
fn nullable<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<serde_json::Value>>, D::Error> {
    Option::<serde_json::Value>::deserialize(d).map(Some)
}

/// A token as its owner sees it; `secret` only in the answer that created it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenBody {
    #[schema(value_type = i64)]
    id: AccessTokenId,
    name: String,
    scopes: Vec<access_token::Scope>,
    /// `cdt_...`: only in the answer that created the token, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    secret: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    /// `null`: never expires.
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
    /// The address of the last use.
    last_used_ip: Option<String>,
}

fn iso(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl TokenBody {
    /// The JSON face of a stored token.
    pub fn new(row: TokenRow, secret: Option<String>) -> Self {
        Self {
            id: row.id,
            name: row.name,
            scopes: Scopes::from_stored(&row.scopes).list(),
            secret,
            created_at: iso(row.created_at),
            expires_at: row.expires_at.map(iso),
            last_used_at: row.last_used_at.map(iso),
            last_used_ip: row.last_used_ip,
        }
    }
}

/// The expiry a request asked for: absent is 30 days, `null` never, else one of the offered
/// numbers of days (`None`: anything else, a 422).
#[allow(clippy::option_option)] // absent and null mean different things (see `NewTokenBody`)
fn expiry_of(value: Option<Option<serde_json::Value>>) -> Option<Expiry> {
    match value {
        None => Some(Expiry::Days(30)),
        Some(None) => Some(Expiry::Never),
        Some(Some(serde_json::Value::Number(n))) => {
            Expiry::parse(&n.as_i64().map(|d| d.to_string()).unwrap_or_default())
        }
        Some(Some(_)) => None,
    }
}

/// The caller's personal access tokens, newest first, without their secrets.
#[utoipa::path(get, path = "/user/tokens", tag = "tokens", operation_id = "listTokens",
    security(("token" = [])),
    responses(
        (status = 200, description = "The tokens.", body = TokenList),
        (status = 403, description = "A personal access token (tokens never manage tokens).", body = ErrorBody),
    ))]
#[get("/user/tokens")]
async fn list(db: Conn, me: CurrentUser) -> ApiResult<Json<TokenList>> {
    let rows = db::access_tokens::list_for_user(&db, me.0.user.id).await?;
    Ok(Json(TokenList {
        tokens: rows.into_iter().map(|r| TokenBody::new(r, None)).collect(),
    }))
}

/// Create a personal access token: the answer holds its secret, shown this once.
#[utoipa::path(post, path = "/user/tokens", tag = "tokens", operation_id = "createToken",
    security(("token" = [])),
    request_body = TokenEnvelope<NewTokenBody>,
    responses(
        (status = 201, description = "Created, with its `secret`.", body = TokenEnvelope<TokenBody>),
        (status = 401, description = "No valid credential, or a login too old: sign in again.", body = ErrorBody),
        (status = 403, description = "A personal access token (tokens never manage tokens).", body = ErrorBody),
        (status = 422, description = "A field breaks a rule, `admin` asked by a non-admin, or too many tokens.", body = ErrorBody),
    ))]
#[post("/user/tokens", data = "<body>")]
async fn create(
    db: Conn,
    config: &State<AppConfig>,
    me: CurrentUser,
    origin: Origin,
    body: ApiJson<TokenEnvelope<NewTokenBody>>,
) -> ApiResult<(Status, Json<TokenEnvelope<TokenBody>>)> {
    let body = body.0.token;
    let request = access_token::Request {
        name: body.name.unwrap_or_default(),
        scopes: body.scopes.unwrap_or_default(),
        expiry: expiry_of(body.expires_in_days),
    };
    // The request's own errors first (a 422 says what to fix), then the freshness.
    access_token::check(&me.0.user, &request)?;
    if !me.0.is_fresh(config.fresh_minutes) {
        return Err(AppError::Unauthorized(NOT_FRESH.into()).into());
    }
    let (row, secret) = access_token::create(&db, &me.0.user, &origin, &request).await?;
    Ok((
        Status::Created,
        Json(TokenEnvelope {
            token: TokenBody::new(row, Some(secret)),
        }),
    ))
}

/// Revoke one of the caller's tokens: it stops working at once.
#[utoipa::path(delete, path = "/user/tokens/{id}", tag = "tokens", operation_id = "revokeToken",
    params(("id" = i64, Path, description = "The token's id.")),
    security(("token" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 403, description = "A personal access token (tokens never manage tokens).", body = ErrorBody),
        (status = 404, description = "No such token of the caller's.", body = ErrorBody),
    ))]
#[delete("/user/tokens/<id>")]
async fn revoke(db: Conn, origin: Origin, id: AccessTokenId) -> ApiResult<Status> {
    access_token::revoke(&db, origin.actor_id, id, &origin).await?;
    Ok(Status::NoContent)
}

/// The documentation of this module's routes (`crate::api_doc`): list each route here too.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, revoke))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![list, create, revoke]
}
