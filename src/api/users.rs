//! Users and authentication: `POST /api/users`, `POST /api/users/login`, `GET|PUT /api/user`.
//! JSON login and registration set no cookies: API clients carry the token themselves.

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{get, post, put, routes, Route, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api_doc::ErrorBody;
use crate::auth::code_check::{self, CodeCheck, SecondStep};
use crate::auth::credentials::ClientAddr;
use crate::auth::recovery::{self, AccountLinks, Reset};
use crate::auth::token::{Keys, Kind};
use crate::auth::{access_token, account, confirmed, session, CurrentUser, Via};
use crate::config::AppConfig;
use crate::db::sessions::Seen;
use crate::db::users::User;
use crate::db::Conn;
use crate::error::{ApiResult, AppError};
use crate::json_body::ApiJson;
use crate::mail::Mailer;

/// `{"user": ...}`
#[derive(Deserialize, Serialize, ToSchema)]
pub struct UserEnvelope<T> {
    /// The payload.
    pub user: T,
}

/// Registration fields (all optional here so a missing one is a 422 field error; the
/// document says what a valid one is).
#[derive(Deserialize, ToSchema)]
pub struct Registration {
    /// Letters, digits, `_` and `-`; unique whatever the letter case (a taken one is a 422).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 32, pattern = r"^[A-Za-z0-9_-]+$")]
    username: Option<String>,
    /// Unique whatever the letter case (a taken one is a 422).
    #[schema(value_type = String, required = true, max_length = 254, pattern = r#"^[^@.<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^@<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^@.<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?@[^@.<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+(?:\.[^@.<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+)+$"#)]
    email: Option<String>,
    /// 8 to 128 characters, not the username or the email (any letter case).
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128, format = Password)]
    password: Option<String>,
}

/// Login fields; `otp`, a code or a recovery code, for an account with two-factor sign-in.
#[derive(Deserialize, ToSchema)]
pub struct Login {
    /// The account's email (not blank, up to 254 characters).
    #[schema(value_type = String, required = true, max_length = 254, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    email: Option<String>,
    /// Its password.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128, format = Password)]
    password: Option<String>,
    /// For an account with two-factor sign-in: the authenticator's current 6-digit code, or
    /// one of the recovery codes (each works once). Without it such an account answers 401
    /// with `errors.otp`.
    #[schema(value_type = Option<String>, required = false, max_length = 64)]
    otp: Option<String>,
}

/// Updatable fields; absent (or `null`) ones are left alone, but a `null` bio or image clears it.
#[allow(clippy::option_option)] // absent (None) and null (Some(None)) mean different things
#[derive(Deserialize, Default, ToSchema)]
pub struct UserUpdate {
    /// A new email (as at registration). It takes effect once the link mailed to it is
    /// followed, needs a fresh login, and a personal access token may not change it.
    #[schema(value_type = Option<String>, required = false, max_length = 254, pattern = r#"^[^@.<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^@<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^@.<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?@[^@.<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+(?:\.[^@.<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+)+$"#)]
    email: Option<String>,
    /// A new username (as at registration).
    #[schema(value_type = Option<String>, required = false, min_length = 1, max_length = 32, pattern = r"^[A-Za-z0-9_-]+$")]
    username: Option<String>,
    /// A new password of 8 to 128 characters (`""`: no change); needs a fresh login, and a
    /// personal access token may not change it. Every other session and token of the account
    /// ends.
    #[schema(value_type = Option<String>, required = false, format = Password, pattern = r"^(|[\s\S]{8,128})$")]
    password: Option<String>,
    /// Up to 2000 characters; `null` or `""` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    bio: Option<Option<String>>,
    /// An http(s) URL of up to 1000 characters; `null` or `""` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 1000, pattern = r"^(|https?://[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*)$")]
    image: Option<Option<String>>,
    /// For an account with two-factor sign-in, changing `email` or `password`: the
    /// authenticator's current 6-digit code, or one of the recovery codes (each works once).
    /// Without it, or with a wrong one, such a change answers 422 with `errors.otp` and nothing
    /// changes; wrong codes count toward the sign-in code throttle and its daily cap (429).
    #[schema(value_type = Option<String>, required = false, max_length = 64)]
    otp: Option<String>,
}

/// Distinguish "absent" (outer `None`) from `null` (`Some(None)`).
#[allow(clippy::option_option)]
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The RealWorld user object.
#[derive(Serialize, ToSchema)]
pub struct UserBody {
    email: String,
    /// The credential presented (or a new JWT after a login, a registration or a password
    /// change); empty for the site's cookie session.
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

/// A new token for the API session the caller's token belongs to (after a password change
/// bumped the account's token version), counting as fresh as the old one did and expiring
/// when it did, with its session row (a re-issue never outlives the session).
fn api_token(
    keys: &Keys,
    config: &AppConfig,
    user: &User,
    current: &crate::auth::token::Claims,
) -> Result<String, AppError> {
    let mut claims = keys.claims(
        user.id,
        user.token_version,
        Kind::Api,
        config.api_token_minutes * 60,
        current.auth_time,
    );
    claims.sid.clone_from(&current.sid);
    claims.exp = current.exp;
    Ok(keys.encode(&claims)?)
}

/// Register: the new account's user object with a login token (201). A taken email or
/// username (any letter case) is a 422 naming the field, as RealWorld answers.
#[utoipa::path(post, path = "/users", tag = "users", operation_id = "register",
    request_body = UserEnvelope<Registration>,
    responses(
        (status = 201, description = "Registered.", body = UserEnvelope<UserBody>),
        (status = 422, description = "A field breaks a rule or is taken.", body = ErrorBody),
    ))]
#[allow(clippy::too_many_arguments)]
#[post("/users", data = "<body>")]
async fn register(
    db: Conn,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    addr: ClientAddr,
    seen: Seen,
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
    let token = session::start_api(&db, keys, config, &user, &seen).await?;
    Ok((Status::Created, Json(UserBody::new(user, token))))
}

/// Sign in with email and password: the user object with a new login token.
#[utoipa::path(post, path = "/users/login", tag = "users", operation_id = "login",
    request_body = UserEnvelope<Login>,
    responses(
        (status = 200, description = "Signed in.", body = UserEnvelope<UserBody>),
        (status = 401, description = "Wrong email or password, or a disabled account (one answer for all); or, for an account with two-factor sign-in, a missing or wrong `otp` (then `errors.otp` says which).", body = ErrorBody),
        (status = 422, description = "A field breaks a rule whatever the account (`email` over 254 characters, `otp` over 64); `errors` names it.", body = ErrorBody),
    ))]
#[post("/users/login", data = "<body>")]
async fn login(
    db: Conn,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    addr: ClientAddr,
    seen: Seen,
    codes: CodeCheck<'_>,
    body: ApiJson<UserEnvelope<Login>>,
) -> ApiResult<Result<Json<UserEnvelope<UserBody>>, Custom<Json<serde_json::Value>>>> {
    let l = body.0.user;
    code_check::within_length("otp", l.otp.as_deref())?;
    let user = account::authenticate(
        &db,
        config,
        l.email.as_deref().unwrap_or(""),
        l.password.as_deref().unwrap_or(""),
        &addr.0,
    )
    .await?;
    // The password was right; an account with two-factor sign-in needs its code too (a 401
    // naming `otp` tells the client to ask for it). Only a login that passed every check gets
    // a session row: the second step runs here, before `start_api`, never after it.
    let otp_error = |message: &str| {
        Err(Custom(
            Status::Unauthorized,
            Json(serde_json::json!({
                "errors": { "body": [format!("otp {message}")], "otp": [message] }
            })),
        ))
    };
    match code_check::second_step(&codes, &user, l.otp.as_deref()).await? {
        SecondStep::NotNeeded | SecondStep::Passed(_) => {}
        SecondStep::Missing => return Ok(otp_error("is required")),
        SecondStep::Refused => return Ok(otp_error("is invalid")),
    }
    let token = session::start_api(&db, keys, config, &user, &seen).await?;
    Ok(Ok(Json(UserBody::new(user, token))))
}

/// `{"user":{"email":...}}` of a reset request.
#[derive(Deserialize, ToSchema)]
pub struct ResetRequest {
    /// The account's email.
    #[schema(value_type = String, required = true, max_length = 254, pattern = r#"^[^@.<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^@<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^@.<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?@[^@.<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+(?:\.[^@.<>()\[\]\\,;:"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+)+$"#)]
    email: Option<String>,
}

/// `{"reset":{"token":...,"password":...}}`.
#[derive(Deserialize, ToSchema)]
pub struct ResetEnvelope {
    reset: ResetConfirm,
}

/// The fields of a reset confirmation.
#[derive(Deserialize, ToSchema)]
pub struct ResetConfirm {
    /// The token from the mailed link.
    #[schema(value_type = String, required = true)]
    token: Option<String>,
    /// The new password (8 to 128 characters, not the username or the email).
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128, format = Password)]
    password: Option<String>,
}

/// `{"reset": {"requested": true}}`: the answer to a reset request, the same whether or not an
/// account has the email.
#[derive(Serialize, ToSchema)]
pub struct ResetRequested {
    reset: Requested,
}

/// See [`ResetRequested`].
#[derive(Serialize, ToSchema)]
pub struct Requested {
    /// Always `true`.
    requested: bool,
}

/// `{"reset": {"done": true, "email": ..., "username": ...}}`: the password is set.
#[derive(Serialize, ToSchema)]
pub struct ResetDone {
    reset: Done,
}

/// See [`ResetDone`].
#[allow(clippy::struct_field_names)] // `done` is the wire name
#[derive(Serialize, ToSchema)]
pub struct Done {
    /// Always `true`.
    done: bool,
    /// The account's email.
    email: String,
    /// The account's username.
    username: String,
}

/// `POST /api/users/password-reset`: 202 whether or not an account has the email (a link is
/// mailed when one has); 422 for an email that is not one, 429 past the throttle.
#[utoipa::path(post, path = "/users/password-reset", tag = "users", operation_id = "requestPasswordReset",
    request_body = UserEnvelope<ResetRequest>,
    responses(
        (status = 202, description = "Accepted (a link is mailed if an account has the email).", body = ResetRequested),
        (status = 422, description = "Not an email.", body = ErrorBody),
    ))]
#[post("/users/password-reset", data = "<body>")]
async fn password_reset(
    db: Conn,
    config: &State<AppConfig>,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    addr: ClientAddr,
    body: ApiJson<UserEnvelope<ResetRequest>>,
) -> ApiResult<(Status, Json<ResetRequested>)> {
    let email = body.0.user.email.unwrap_or_default();
    recovery::request_reset(&db, config, mailer, links, &email, &addr.0).await?;
    Ok((
        Status::Accepted,
        Json(ResetRequested {
            reset: Requested { requested: true },
        }),
    ))
}

/// `POST /api/users/password-reset/confirm`: 200 when the password is set (every earlier token
/// and session of the account is ended); 422 for a used, expired or unknown token
/// (`errors.token`) or a password that breaks the rules (`errors.password`).
#[utoipa::path(post, path = "/users/password-reset/confirm", tag = "users", operation_id = "confirmPasswordReset",
    request_body = ResetEnvelope,
    responses(
        (status = 200, description = "The password is set.", body = ResetDone),
        (status = 422, description = "A used, expired or unknown token (`errors.token`) or a password that breaks the rules.", body = ErrorBody),
    ))]
#[post("/users/password-reset/confirm", data = "<body>")]
async fn password_reset_confirm(
    db: Conn,
    config: &State<AppConfig>,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    body: ApiJson<ResetEnvelope>,
) -> ApiResult<Json<ResetDone>> {
    let r = body.0.reset;
    let token = r.token.unwrap_or_default();
    let password = r.password.unwrap_or_default();
    match recovery::reset_password(&db, config, mailer, links, &token, &password).await? {
        Reset::Done(user) => Ok(Json(ResetDone {
            reset: Done {
                done: true,
                email: user.email,
                username: user.username,
            },
        })),
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

/// The signed-in user.
#[utoipa::path(get, path = "/user", tag = "users", operation_id = "getCurrentUser",
    security(("token" = [])),
    responses((status = 200, description = "The caller.", body = UserEnvelope<UserBody>)))]
#[get("/user")]
fn current(me: CurrentUser) -> ApiResult<Json<UserEnvelope<UserBody>>> {
    let token = echoed_token(&me.0);
    Ok(Json(UserBody::new(me.0.user, token)))
}

/// Change the signed-in user's settings; absent fields stay as they are.
#[utoipa::path(put, path = "/user", tag = "users", operation_id = "updateCurrentUser",
    security(("token" = [])),
    request_body = UserEnvelope<UserUpdate>,
    responses(
        (status = 200, description = "The user after the change.", body = UserEnvelope<UserBody>),
        (status = 401, description = "No valid credential, or a login too old to change the email or password.", body = ErrorBody),
        (status = 403, description = "A personal access token changing the email or password, or lacking `write`.", body = ErrorBody),
        (status = 422, description = "A field breaks a rule or is taken, or, for an account with two-factor sign-in changing its email or password, `otp` is missing or wrong (`errors.otp`). The fields are checked first: a change refused for them leaves the code unspent.", body = ErrorBody),
        (status = 429, description = "Too many wrong codes (the sign-in code throttle or its daily cap), or email changes (`reset_max_per_email` an hour: nothing is spent or changed); see `Retry-After`.", body = ErrorBody),
    ))]
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
    codes: CodeCheck<'_>,
    body: ApiJson<UserEnvelope<UserUpdate>>,
) -> ApiResult<Json<UserEnvelope<UserBody>>> {
    let u = body.0.user;
    code_check::within_length("otp", u.otp.as_deref())?;
    let otp = u.otp.unwrap_or_default();
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
    confirmed::may_change(config.require_confirmed_email, &auth.user, &changes)?;
    let fresh = auth.is_fresh(config.fresh_minutes);
    let needs_code = fresh && changes.need_fresh(&auth.user);
    // The order of `account::prepare`: every check that needs no write first (a stale login
    // and the email change limit included), so a field error or a 429 spends no code; then the
    // new password hashed, so a busy hasher spends none either; then, with two-factor sign-in
    // on, the code an email or password change takes; the write last.
    let mut prepared = account::prepare(&db, config, auth.user.clone(), changes, fresh).await?;
    let proved = async {
        prepared.hash_password(config.password_queue_max).await?;
        if needs_code {
            code_check::if_on(&codes, &auth.user, "otp", &otp).await?;
        }
        Ok::<_, AppError>(())
    }
    .await;
    if let Err(e) = proved {
        prepared.give_back(&db).await;
        return Err(e.into());
    }
    let updated = account::write(
        &db,
        prepared,
        config.password_queue_max,
        auth.claims.sid.as_deref(),
    )
    .await?;
    if let Some(new_email) = &updated.email_requested {
        // The account keeps its email until the link mailed to the new one is followed.
        recovery::request_email_change(&db, mailer, links, &updated.user, new_email).await?;
    }
    let token = if !updated.password_changed {
        echoed_token(&auth)
    } else if auth.via == Via::Header {
        api_token(keys, config, &updated.user, &auth.claims)?
    } else {
        crate::auth::session::reissue(jar, keys, config, &auth.claims, &updated.user)?;
        String::new()
    };
    Ok(Json(UserBody::new(updated.user, token)))
}

/// The documentation of this module's routes (`crate::api_doc`): list each route here too.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    register,
    login,
    current,
    update,
    password_reset,
    password_reset_confirm
))]
pub struct Doc;

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
