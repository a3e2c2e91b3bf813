//! Request guards: who is calling, resolved once per request and cached.
//!
//! A request with an `Authorization` header is authenticated by it alone (cookies ignored, no
//! CSRF needed), so API clients that keep cookies still work. Otherwise the browser's access
//! cookie is used, renewed silently from the refresh cookie when it has expired.

use rocket::http::{Method, Status};
use rocket::outcome::{try_outcome, Outcome};
use rocket::request::{self, FromRequest, Request};
use subtle::ConstantTimeEq;

use crate::auth::csrf::{self, Verdict};
use crate::auth::session;
use crate::auth::token::{Claims, Keys, Kind};
use crate::config::AppConfig;
use crate::db::users::{TokenClaim, User};
use crate::db::{self, Db, DbPool};
use crate::error::CatcherMessage;

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `Authorization: Token <jwt>` (or `Bearer`).
    Header,
    /// The browser's session cookies.
    Cookie,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user, as loaded for this request.
    pub user: User,
    /// The verified token claims.
    pub claims: Claims,
    /// Header or cookie.
    pub via: Via,
    /// The token as presented (header) or issued (cookie).
    pub token: String,
}

impl Authenticated {
    /// The CSRF token this session's forms must carry.
    pub fn csrf(&self) -> Option<&str> {
        self.claims.csrf.as_deref()
    }
}

/// The outcome of looking at a request's credentials.
#[derive(Debug, Clone)]
pub enum AuthState {
    /// No credentials were sent.
    Anonymous,
    /// Valid credentials.
    Authenticated(Box<Authenticated>),
    /// Credentials were sent and are not valid; the reason is for the log only (every failed
    /// token gets the same answer, see [`INVALID`]).
    Invalid(&'static str),
}

/// The one answer for credentials that did not authenticate: a client is not told whether its
/// token was expired, revoked, forged or its user disabled.
pub const INVALID: &str = "missing or invalid credentials";

/// Load the user a token names, if the token is still good for them.
async fn load_user(db: &DbPool, claims: &Claims) -> Result<Option<User>, sqlx::Error> {
    let Some(id) = claims.user_id() else { return Ok(None) };
    let user = match &claims.sid {
        Some(sid) => db::users::find_with_session(db, id, sid).await?,
        None => db::users::find_by_id(db, id).await?,
    };
    Ok(user.filter(|u| !u.disabled && u.token_version == claims.ver))
}

fn header_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer")).then(|| token.trim())
}

async fn resolve(req: &Request<'_>) -> Result<AuthState, sqlx::Error> {
    let (Some(db), Some(keys), Some(config)) = (
        req.rocket().state::<Db>(),
        req.rocket().state::<Keys>(),
        req.rocket().state::<AppConfig>(),
    ) else {
        return Ok(AuthState::Anonymous);
    };
    if let Some(value) = req.headers().get_one("Authorization") {
        let Some(token) = header_token(value) else {
            return Ok(AuthState::Invalid("the Authorization header is not `Token <jwt>`"));
        };
        let claims = match keys.decode(token) {
            Ok(claims) if claims.kind != Kind::Refresh => claims,
            Err(crate::auth::token::TokenError::Expired) => return Ok(AuthState::Invalid("token expired")),
            _ => return Ok(AuthState::Invalid("invalid token")),
        };
        return Ok(match load_user(db, &claims).await? {
            Some(user) => AuthState::Authenticated(Box::new(Authenticated {
                user,
                claims,
                via: Via::Header,
                token: token.to_owned(),
            })),
            None => AuthState::Invalid("token revoked"),
        });
    }

    let jar = req.cookies();
    let names = session::names(config);
    if let Some(cookie) = jar.get(names.access) {
        if let Ok(claims) = keys.decode(cookie.value()) {
            if claims.kind == Kind::Access {
                if let Some(user) = load_user(db, &claims).await? {
                    let token = cookie.value().to_owned();
                    return Ok(AuthState::Authenticated(Box::new(Authenticated {
                        user,
                        claims,
                        via: Via::Cookie,
                        token,
                    })));
                }
            }
        }
    }
    if let Some(cookie) = jar.get(names.refresh) {
        if let Ok(refresh) = keys.decode(cookie.value()) {
            if refresh.kind == Kind::Refresh {
                if let Some(user) = load_user(db, &refresh).await? {
                    // Implicit refresh: the access cookie expired, the session did not.
                    if let Ok(claims) = session::set_access(jar, keys, config, &refresh) {
                        let token = jar
                            .get_pending(names.access)
                            .map(|c| c.value().to_owned())
                            .unwrap_or_default();
                        return Ok(AuthState::Authenticated(Box::new(Authenticated {
                            user,
                            claims,
                            via: Via::Cookie,
                            token,
                        })));
                    }
                }
            }
        }
    }
    if jar.get(names.access).is_some() || jar.get(names.refresh).is_some() {
        // Stale cookies (expired, logged out, revoked): the browser is simply anonymous now.
        session::clear(jar, config);
    }
    Ok(AuthState::Anonymous)
}

/// The auth state of `req`, computed once and cached for the request.
pub async fn auth_state<'r>(req: &'r Request<'_>) -> Result<&'r AuthState, &'r sqlx::Error> {
    req.local_cache_async(async { resolve(req).await.map_err(std::sync::Arc::new) })
        .await
        .as_ref()
        .map_err(AsRef::as_ref)
}

fn is_unsafe(method: Method) -> bool {
    !matches!(method, Method::Get | Method::Head | Method::Options)
}

/// Constant-time comparison of a submitted CSRF token with the expected one.
pub fn csrf_matches(submitted: Option<&str>, expected: Option<&str>) -> bool {
    match (submitted, expected) {
        (Some(s), Some(e)) if !e.is_empty() => bool::from(s.as_bytes().ct_eq(e.as_bytes())),
        _ => false,
    }
}

fn fail<T>(req: &Request<'_>, status: Status, message: &str) -> request::Outcome<T, &'static str> {
    req.local_cache(|| CatcherMessage(Some(message.to_owned())));
    Outcome::Error((status, "authentication"))
}

/// Whether a cookie-authenticated request passed the CSRF gate ([`csrf::Gate`] checks every
/// unsafe request before routing; this is the second line, should the gate ever be missing).
fn passed_csrf(req: &Request<'_>, auth: &Authenticated) -> bool {
    auth.via == Via::Header || !is_unsafe(req.method()) || csrf::verdict(req) == Verdict::Verified
}

async fn authenticated<'r>(req: &'r Request<'_>) -> request::Outcome<Option<&'r Authenticated>, &'static str> {
    match auth_state(req).await {
        Err(e) => {
            log::error!("resolving credentials: {e}");
            Outcome::Error((
                if matches!(
                    e,
                    sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
                ) {
                    Status::ServiceUnavailable
                } else {
                    Status::InternalServerError
                },
                "database",
            ))
        }
        Ok(AuthState::Anonymous) => Outcome::Success(None),
        Ok(AuthState::Invalid(why)) => {
            log::debug!("credentials refused: {why}");
            fail(req, Status::Unauthorized, INVALID)
        }
        Ok(AuthState::Authenticated(auth)) => {
            if passed_csrf(req, auth) {
                Outcome::Success(Some(&**auth))
            } else {
                fail(req, Status::Forbidden, "missing or invalid CSRF token")
            }
        }
    }
}

/// A signed-in caller; 401 otherwise (the site's catcher turns that into a login redirect).
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Authenticated);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = &'static str;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match try_outcome!(authenticated(req).await) {
            Some(auth) => Outcome::Success(CurrentUser(auth.clone())),
            None => fail(req, Status::Unauthorized, INVALID),
        }
    }
}

/// The caller if signed in, `None` if no credentials were sent; bad credentials are a 401,
/// never silently anonymous.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<Authenticated>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MaybeUser {
    type Error = &'static str;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let auth = try_outcome!(authenticated(req).await);
        Outcome::Success(MaybeUser(auth.cloned()))
    }
}

impl MaybeUser {
    /// The caller's user id, if any.
    pub fn id(&self) -> Option<i64> {
        self.0.as_ref().map(|a| a.user.id)
    }
}

/// A signed-in caller, for a read that checks the token's user itself. A header token without
/// a browser session whose signature, issuer, expiry and kind are good is not looked up here:
/// the handler's statement checks its [`TokenClaim`] as it reads (one round trip instead of
/// two), and calls [`Caller::confirm`] when it read nothing. Anything else, failures
/// included, is resolved exactly as [`CurrentUser`] resolves it.
#[derive(Debug, Clone)]
pub enum Caller {
    /// Looked up and checked, as for [`CurrentUser`].
    Confirmed(Box<Authenticated>),
    /// A good header token whose user is still to be checked.
    Claimed(TokenClaim, Box<Claims>),
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Caller {
    type Error = &'static str;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let header = req.headers().get_one("Authorization").and_then(header_token);
        if let (Some(token), Some(keys)) = (header, req.rocket().state::<Keys>()) {
            if let Ok(claims) = keys.decode(token) {
                if let (Some(user_id), None, false) = (claims.user_id(), &claims.sid, claims.kind == Kind::Refresh) {
                    let claim = TokenClaim {
                        user_id,
                        version: claims.ver,
                    };
                    return Outcome::Success(Caller::Claimed(claim, Box::new(claims)));
                }
            }
        }
        let CurrentUser(auth) = try_outcome!(req.guard::<CurrentUser>().await);
        Outcome::Success(Caller::Confirmed(Box::new(auth)))
    }
}

impl Caller {
    /// The user the caller is (or claims to be, until confirmed).
    pub fn user_id(&self) -> i64 {
        match self {
            Caller::Confirmed(auth) => auth.user.id,
            Caller::Claimed(claim, _) => claim.user_id,
        }
    }

    /// The claim a read on the caller's behalf must check, if it is not confirmed yet.
    pub fn claim(&self) -> Option<TokenClaim> {
        match self {
            Caller::Confirmed(_) => None,
            Caller::Claimed(claim, _) => Some(*claim),
        }
    }

    /// Check the caller's user now, as [`CurrentUser`] would have: for a read that came back
    /// empty, which cannot tell "nothing there" from "the claim no longer holds".
    ///
    /// # Errors
    /// A 401 when the token's user is gone, disabled or past the token's version; a database
    /// error.
    pub async fn confirm(&self, db: &DbPool) -> Result<(), crate::error::AppError> {
        match self {
            Caller::Confirmed(_) => Ok(()),
            Caller::Claimed(_, claims) => match load_user(db, claims).await? {
                Some(_) => Ok(()),
                None => Err(crate::error::AppError::Unauthorized(INVALID.into())),
            },
        }
    }
}

/// A signed-in administrator; 403 for other users, 401 for anonymous callers.
#[derive(Debug, Clone)]
pub struct AdminUser(pub Authenticated);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminUser {
    type Error = &'static str;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let CurrentUser(auth) = try_outcome!(req.guard::<CurrentUser>().await);
        if auth.user.is_admin() {
            Outcome::Success(AdminUser(auth))
        } else {
            fail(req, Status::Forbidden, "administrators only")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_token_and_bearer_schemes_only() {
        assert_eq!(header_token("Token abc"), Some("abc"));
        assert_eq!(header_token("bearer abc"), Some("abc"));
        assert_eq!(header_token("Basic abc"), None);
        assert_eq!(header_token("abc"), None);
    }

    #[test]
    fn csrf_needs_an_exact_non_empty_match() {
        assert!(csrf_matches(Some("abc"), Some("abc")));
        assert!(!csrf_matches(Some("abd"), Some("abc")));
        assert!(!csrf_matches(None, Some("abc")));
        assert!(!csrf_matches(Some(""), Some("")));
    }
}
