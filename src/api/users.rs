//! Users and authentication: `POST /api/users`, `POST /api/users/login`, `GET|PUT /api/user`.
//! JSON login and registration set no cookies: API clients carry the token themselves.

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{get, post, put, routes, Route, State};
use serde::{Deserialize, Serialize};

use crate::auth::credentials::ClientAddr;
use crate::auth::recovery::{self, AccountLinks, Reset};
use crate::auth::token::{Keys, Kind};
use crate::auth::two_factor::{self, SecondStep};
use crate::auth::{access_token, account, CurrentUser, Via};
use crate::config::AppConfig;
use crate::db::users::User;
use crate::db::Conn;
use crate::error::{ApiResult, AppError};
use crate::json_body::ApiJson;
use crate::mail::Mailer;

/// `{"user": ...}`
#[derive(Deserialize, Serialize)]
pub struct UserEnvelope<T> {
    /// The payload.
    pub user: T,
}

/// Registration fields (all optional here so a missing one is a 422 field error).
#[derive(Deserialize)]
pub struct Registration {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// Login fields; `otp`, a code or a recovery code, for an account with two-factor sign-in.
#[derive(Deserialize)]
pub struct Login {
    email: Option<String>,
    password: Option<String>,
    otp: Option<String>,
}

/// Updatable fields; absent ones are left alone, `null` bio/image clear them.
#[allow(clippy::option_option)] // absent (None) and null (Some(None)) mean different things
#[derive(Deserialize, Default)]
pub struct UserUpdate {
    email: Option<String>,
    username: Option<String>,
    password: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    image: Option<Option<String>>,
}

/// Distinguish "absent" (outer `None`) from `null` (`Some(None)`).
#[allow(clippy::option_option)]
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The RealWorld user object.
#[derive(Serialize)]
pub struct UserBody {
    email: String,
    token: String,
    username: String,
    bio: Option<String>,
    image: Option<String>,
}

impl UserBody {
    fn new(user: User, token: String) -> UserEnvelope<Self> {
        UserEnvelope {
            user: Self {
                email: user.email,
                token,
                username: user.username,
                bio: user.bio,
                image: user.image,
            },
        }
    }
}

/// An API token for `user`, issued now (so it counts as fresh for `fresh_minutes`).
fn api_token(
    keys: &Keys,
    config: &AppConfig,
    user: &User,
    auth_time: i64,
) -> Result<String, AppError> {
    let claims = keys.claims(
        user.id,
        user.token_version,
        Kind::Api,
        config.api_token_minutes * 60,
        auth_time,
    );
    Ok(keys.encode(&claims)?)
}

#[allow(clippy::too_many_arguments)]
#[post("/users", data = "<body>")]
async fn register(
    db: Conn,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    addr: ClientAddr,
    body: ApiJson<UserEnvelope<Registration>>,
) -> ApiResult<(Status, Json<UserEnvelope<UserBody>>)> {
    let r = body.0.user;
    let user = account::register(
        &db,
        config,
        mailer,
        links,
        r.username.as_deref().unwrap_or(""),
        r.email.as_deref().unwrap_or(""),
        r.password.as_deref().unwrap_or(""),
        &addr.0,
    )
    .await?;
    let token = api_token(keys, config, &user, chrono::Utc::now().timestamp())?;
    Ok((Status::Created, Json(UserBody::new(user, token))))
}

#[post("/users/login", data = "<body>")]
async fn login(
    db: Conn,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    addr: ClientAddr,
    body: ApiJson<UserEnvelope<Login>>,
) -> ApiResult<Result<Json<UserEnvelope<UserBody>>, Custom<Json<serde_json::Value>>>> {
    let l = body.0.user;
    let user = account::authenticate(
        &db,
        config,
        l.email.as_deref().unwrap_or(""),
        l.password.as_deref().unwrap_or(""),
        &addr.0,
    )
    .await?;
    // The password was right; an account with two-factor sign-in needs its code too (a 401
    // naming `otp` tells the client to ask for it).
    let otp_error = |message: &str| {
        Err(Custom(
            Status::Unauthorized,
            Json(serde_json::json!({
                "errors": { "body": [format!("otp {message}")], "otp": [message] }
            })),
        ))
    };
    match two_factor::second_step(&db, config, &user, l.otp.as_deref(), &addr.0).await? {
        SecondStep::NotNeeded | SecondStep::Passed(_) => {}
        SecondStep::Missing => return Ok(otp_error("is required")),
        SecondStep::Refused => return Ok(otp_error("is invalid")),
    }
    let token = api_token(keys, config, &user, chrono::Utc::now().timestamp())?;
    Ok(Ok(Json(UserBody::new(user, token))))
}

/// `{"user":{"email":...}}` of a reset request.
#[derive(Deserialize)]
pub struct ResetRequest {
    email: Option<String>,
}

/// `{"reset":{"token":...,"password":...}}`.
#[derive(Deserialize)]
pub struct ResetEnvelope {
    reset: ResetConfirm,
}

/// The fields of a reset confirmation.
#[derive(Deserialize)]
pub struct ResetConfirm {
    token: Option<String>,
    password: Option<String>,
}

/// `POST /api/users/password-reset`: 202 whether or not an account has the email (a link is
/// mailed when one has); 422 for an email that is not one, 429 past the throttle.
#[post("/users/password-reset", data = "<body>")]
async fn password_reset(
    db: Conn,
    config: &State<AppConfig>,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    addr: ClientAddr,
    body: ApiJson<UserEnvelope<ResetRequest>>,
) -> ApiResult<(Status, Json<serde_json::Value>)> {
    let email = body.0.user.email.unwrap_or_default();
    recovery::request_reset(&db, config, mailer, links, &email, &addr.0).await?;
    Ok((
        Status::Accepted,
        Json(serde_json::json!({ "reset": { "requested": true } })),
    ))
}

/// `POST /api/users/password-reset/confirm`: 200 when the password is set (every earlier token
/// and session of the account is ended); 422 for a used, expired or unknown token
/// (`errors.token`) or a password that breaks the rules (`errors.password`).
#[post("/users/password-reset/confirm", data = "<body>")]
async fn password_reset_confirm(
    db: Conn,
    config: &State<AppConfig>,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    body: ApiJson<ResetEnvelope>,
) -> ApiResult<Json<serde_json::Value>> {
    let r = body.0.reset;
    let token = r.token.unwrap_or_default();
    let password = r.password.unwrap_or_default();
    match recovery::reset_password(&db, config, mailer, links, &token, &password).await? {
        Reset::Done(user) => Ok(Json(serde_json::json!({
            "reset": { "done": true, "email": user.email, "username": user.username }
        }))),
        Reset::Stale => Err(AppError::Invalid(crate::error::FieldErrors::one(
            "token",
            "is invalid or has expired",
        ))
        .into()),
    }
}

/// The token to echo back: the one presented. Cookie sessions get none, so a script injected
/// into the page cannot lift a bearer credential from this response.
fn echoed_token(auth: &crate::auth::Authenticated) -> String {
    if auth.via == Via::Header {
        auth.token.clone()
    } else {
        String::new()
    }
}

#[get("/user")]
fn current(me: CurrentUser) -> ApiResult<Json<UserEnvelope<UserBody>>> {
    let token = echoed_token(&me.0);
    Ok(Json(UserBody::new(me.0.user, token)))
}

#[allow(clippy::too_many_arguments)]
#[put("/user", data = "<body>")]
async fn update(
    db: Conn,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    jar: &rocket::http::CookieJar<'_>,
    me: CurrentUser,
    body: ApiJson<UserEnvelope<UserUpdate>>,
) -> ApiResult<Json<UserEnvelope<UserBody>>> {
    let u = body.0.user;
    let changes = account::Changes {
        email: u.email,
        username: u.username,
        password: u.password,
        bio: u.bio.map(Option::unwrap_or_default),
        image: u.image.map(Option::unwrap_or_default),
    };
    let auth = me.0;
    if auth.is_access_token() {
        access_token::may_change(&auth.user, &changes)?;
    }
    let fresh = auth.is_fresh(config.fresh_minutes);
    let updated = account::update(
        &db,
        auth.user.clone(),
        changes,
        fresh,
        config.password_queue_max,
    )
    .await?;
    if let Some(new_email) = &updated.email_requested {
        // The account keeps its email until the link mailed to the new one is followed.
        recovery::request_email_change(&db, mailer, links, &updated.user, new_email).await?;
    }
    let token = if !updated.password_changed {
        echoed_token(&auth)
    } else if auth.via == Via::Header {
        api_token(keys, config, &updated.user, auth.claims.auth_time)?
    } else {
        crate::auth::session::reissue(jar, keys, config, &auth.claims, &updated.user)?;
        String::new()
    };
    Ok(Json(UserBody::new(updated.user, token)))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![
        register,
        login,
        current,
        update,
        password_reset,
        password_reset_confirm
    ]
}
