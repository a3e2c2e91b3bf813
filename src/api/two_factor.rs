//! Two-factor sign-in over JSON (issue 18): `GET|POST|DELETE /api/user/totp`,
//! `POST /api/user/totp/confirm`, `POST /api/user/totp/recovery-codes`. Only a signed-in user
//! with a login token in the header (never a personal access token, nor the browser's session
//! cookies, which have the site's own pages: 403) changes their second factor, with a fresh
//! login (401 otherwise, as for creating a token); starting an enrolment also needs the current
//! password, and the first code is throttled; turning it off and new recovery codes also need a
//! current code or a recovery code (throttled like a login). The secret is in the enrolment's answer and nowhere else, ever; so are the
//! recovery codes in the confirmation's (or regeneration's).

use rocket::serde::json::Json;
use rocket::{delete, get, post, routes, Route, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api_doc::ErrorBody;
use crate::auth::access_token::Origin;
use crate::auth::code_check::{self, CodeCheck};
use crate::auth::credentials::ClientAddr;
use crate::auth::recovery::AccountLinks;
use crate::auth::{two_factor, Authenticated, CurrentUser, Via};
use crate::config::AppConfig;
use crate::db::Conn;
use crate::error::{ApiResult, AppError};
use crate::json_body::ApiJson;
use crate::mail::Mailer;

/// The message of a 401 for a login too old to change two-factor sign-in with.
pub const NOT_FRESH: &str = "changing two-factor sign-in needs a fresh login: sign in again (POST /api/users/login) and retry with the new token";

/// The message of a 403 for a personal access token.
pub const NOT_WITH_TOKEN: &str =
    "a personal access token cannot change two-factor sign-in: sign in";

/// `{"totp": {"code": ...}}`
#[derive(Deserialize, ToSchema)]
pub struct CodeEnvelope {
    /// The code.
    totp: CodeBody,
}

/// The code (or recovery code) of a request.
#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    /// The authenticator's current 6-digit code, or (where a change is asked for) one of the
    /// recovery codes.
    #[schema(value_type = String, required = true, max_length = 64)]
    code: Option<String>,
}

/// The message of a 403 for a browser session (its forms are the site's own pages).
pub const NOT_WITH_COOKIE: &str =
    "a browser session changes two-factor sign-in on the site's settings page, not here";

/// `{"totp": {"password": ...}}`
#[derive(Deserialize, ToSchema)]
pub struct PasswordEnvelope {
    /// The password.
    totp: PasswordBody,
}

/// The current password of a request.
#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    /// The account's current password.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128, format = Password)]
    password: Option<String>,
}

/// `{"totp": ...}`: what the answers of these routes hold (documentation of their bodies).
#[derive(Serialize, ToSchema)]
pub struct TotpEnvelope<T> {
    /// The payload.
    pub totp: T,
}

/// Whether two-factor sign-in is on, and how many recovery codes are left.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpStatus {
    /// On or off.
    pub enabled: bool,
    /// Unused recovery codes (0 when off).
    pub recovery_codes_left: i64,
}

/// A new enrolment's key, shown to the caller that started it.
#[derive(Serialize, ToSchema)]
pub struct TotpSecret {
    /// The shared key, base32 (for typing into an authenticator).
    pub secret: String,
    /// The `otpauth://totp/...` URI (what the QR code on the site holds).
    pub uri: String,
}

/// Two-factor sign-in on, with recovery codes shown this once.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpCodes {
    /// Always true.
    pub enabled: bool,
    /// Ten one-time recovery codes; stored hashed, never shown again.
    pub recovery_codes: Vec<String>,
}

/// Two-factor sign-in off.
#[derive(Serialize, ToSchema)]
pub struct TotpOff {
    /// Always false.
    pub enabled: bool,
}

/// A caller of these routes: with a header token, not the browser's cookies (403).
fn not_cookie(auth: &Authenticated) -> Result<(), AppError> {
    if auth.via == Via::Cookie {
        return Err(AppError::Forbidden(NOT_WITH_COOKIE));
    }
    Ok(())
}

/// A caller who may change their second factor: signed in with a header token (not a personal
/// access token, not the browser's cookies) within `fresh_minutes`.
fn may_change(auth: &Authenticated, config: &AppConfig) -> Result<(), AppError> {
    not_cookie(auth)?;
    if auth.is_access_token() {
        return Err(AppError::Forbidden(NOT_WITH_TOKEN));
    }
    if !auth.is_fresh(config.fresh_minutes) {
        return Err(AppError::Unauthorized(NOT_FRESH.into()));
    }
    Ok(())
}

/// A change to an enrolled second factor: a caller who may change it ([`may_change`]) and a
/// current code or recovery code (`auth::code_check::for_change`).
async fn with_code(
    me: &CurrentUser,
    config: &AppConfig,
    codes: &CodeCheck<'_>,
    body: ApiJson<CodeEnvelope>,
) -> Result<(), AppError> {
    may_change(&me.0, config)?;
    let code = body.0.totp.code.unwrap_or_default();
    code_check::for_change(codes, &me.0.user, &code).await
}

/// `GET /api/user/totp`: whether it is on, and how many recovery codes are left.
#[utoipa::path(get, path = "/user/totp", tag = "users", operation_id = "twoFactorStatus",
    security(("token" = [])),
    responses(
        (status = 200, description = "Whether it is on.", body = TotpEnvelope<TotpStatus>),
        (status = 403, description = "A browser session (the site has its own pages).", body = ErrorBody),
    ))]
#[get("/user/totp")]
async fn status(db: Conn, me: CurrentUser) -> ApiResult<Json<TotpEnvelope<TotpStatus>>> {
    not_cookie(&me.0)?;
    let on = two_factor::is_on(&db, &me.0.user).await?;
    let left = if on {
        two_factor::recovery_left(&db, &me.0.user).await?
    } else {
        0
    };
    Ok(Json(TotpEnvelope {
        totp: TotpStatus {
            enabled: on,
            recovery_codes_left: left,
        },
    }))
}

/// `POST /api/user/totp` with `{"totp":{"password":...}}` (the current password, checked like
/// a login): start (or restart) an enrolment; the answer holds the secret, base32, and its
/// `otpauth://` URI. 422 `errors.password` for a missing or wrong password, `errors.totp` when
/// it is on already.
#[utoipa::path(post, path = "/user/totp", tag = "users", operation_id = "beginTwoFactor",
    security(("token" = [])),
    request_body = PasswordEnvelope,
    responses(
        (status = 200, description = "The key of the enrolment begun.", body = TotpEnvelope<TotpSecret>),
        (status = 401, description = "No valid credential, or a login too old: sign in again.", body = ErrorBody),
        (status = 403, description = "A personal access token or a browser session.", body = ErrorBody),
        (status = 422, description = "A missing or wrong password, or two-factor sign-in is on already.", body = ErrorBody),
    ))]
#[post("/user/totp", data = "<body>")]
async fn begin(
    db: Conn,
    config: &State<AppConfig>,
    check: CodeCheck<'_>,
    me: CurrentUser,
    body: Option<ApiJson<PasswordEnvelope>>,
) -> ApiResult<Json<TotpEnvelope<TotpSecret>>> {
    may_change(&me.0, config)?;
    if two_factor::is_on(&db, &me.0.user).await? {
        return Err(two_factor::already_on().into());
    }
    let password = body.and_then(|b| b.0.totp.password).unwrap_or_default();
    code_check::password(&check, &me.0.user, &password, "password").await?;
    let enrolment = two_factor::begin(&db, config, &me.0.user, None).await?;
    Ok(Json(TotpEnvelope {
        totp: TotpSecret {
            secret: enrolment.secret,
            uri: enrolment.uri,
        },
    }))
}

/// `POST /api/user/totp/confirm`: the first code turns it on; the answer holds the ten
/// recovery codes, shown this once.
#[allow(clippy::too_many_arguments)]
#[utoipa::path(post, path = "/user/totp/confirm", tag = "users", operation_id = "confirmTwoFactor",
    security(("token" = [])),
    request_body = CodeEnvelope,
    responses(
        (status = 200, description = "On, with the recovery codes.", body = TotpEnvelope<TotpCodes>),
        (status = 401, description = "No valid credential, or a login too old: sign in again.", body = ErrorBody),
        (status = 403, description = "A personal access token or a browser session.", body = ErrorBody),
        (status = 422, description = "A wrong code, or no enrolment begun.", body = ErrorBody),
    ))]
#[post("/user/totp/confirm", data = "<body>")]
async fn confirm(
    db: Conn,
    config: &State<AppConfig>,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    addr: ClientAddr,
    me: CurrentUser,
    origin: Origin,
    body: ApiJson<CodeEnvelope>,
) -> ApiResult<Json<TotpEnvelope<TotpCodes>>> {
    may_change(&me.0, config)?;
    let code = body.0.totp.code.unwrap_or_default();
    let user = &me.0.user;
    let codes =
        two_factor::confirm(&db, config, mailer, links, &origin, user, &code, &addr.0).await?;
    Ok(Json(TotpEnvelope {
        totp: TotpCodes {
            enabled: true,
            recovery_codes: codes,
        },
    }))
}

/// `POST /api/user/totp/recovery-codes`: new recovery codes for a current code; the old ones
/// stop working.
#[utoipa::path(post, path = "/user/totp/recovery-codes", tag = "users", operation_id = "regenerateRecoveryCodes",
    security(("token" = [])),
    request_body = CodeEnvelope,
    responses(
        (status = 200, description = "New recovery codes; the old ones stop working.", body = TotpEnvelope<TotpCodes>),
        (status = 401, description = "No valid credential, or a login too old: sign in again.", body = ErrorBody),
        (status = 403, description = "A personal access token or a browser session.", body = ErrorBody),
        (status = 422, description = "A wrong code, or two-factor sign-in is off.", body = ErrorBody),
    ))]
#[post("/user/totp/recovery-codes", data = "<body>")]
async fn regenerate(
    db: Conn,
    config: &State<AppConfig>,
    codes: CodeCheck<'_>,
    me: CurrentUser,
    origin: Origin,
    body: ApiJson<CodeEnvelope>,
) -> ApiResult<Json<TotpEnvelope<TotpCodes>>> {
    with_code(&me, config, &codes, body).await?;
    let codes = two_factor::regenerate(&db, &origin, &me.0.user).await?;
    Ok(Json(TotpEnvelope {
        totp: TotpCodes {
            enabled: true,
            recovery_codes: codes,
        },
    }))
}

/// `DELETE /api/user/totp` with `{"totp":{"code":...}}`: turn it off.
#[allow(clippy::too_many_arguments)]
#[utoipa::path(delete, path = "/user/totp", tag = "users", operation_id = "disableTwoFactor",
    security(("token" = [])),
    request_body = CodeEnvelope,
    responses(
        (status = 200, description = "Off.", body = TotpEnvelope<TotpOff>),
        (status = 401, description = "No valid credential, or a login too old: sign in again.", body = ErrorBody),
        (status = 403, description = "A personal access token or a browser session.", body = ErrorBody),
        (status = 422, description = "A wrong code, or two-factor sign-in is off.", body = ErrorBody),
    ))]
#[delete("/user/totp", data = "<body>")]
async fn disable(
    db: Conn,
    config: &State<AppConfig>,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    codes: CodeCheck<'_>,
    me: CurrentUser,
    origin: Origin,
    body: ApiJson<CodeEnvelope>,
) -> ApiResult<Json<TotpEnvelope<TotpOff>>> {
    with_code(&me, config, &codes, body).await?;
    two_factor::disable(&db, mailer, links, &origin, &me.0.user).await?;
    Ok(Json(TotpEnvelope {
        totp: TotpOff { enabled: false },
    }))
}

/// The documentation of this module's routes (`crate::api_doc`): list each route here too.
#[derive(utoipa::OpenApi)]
#[openapi(paths(status, begin, confirm, regenerate, disable))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![status, begin, confirm, regenerate, disable]
}
