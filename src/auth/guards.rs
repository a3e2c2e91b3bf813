//! Request guards: the caller as a handler needs them ([`CurrentUser`], [`MaybeUser`],
//! [`Caller`], [`AdminUser`]), from the credentials resolved in `credentials.rs`. A
//! cookie-authenticated unsafe request must also have passed the CSRF gate.

use rocket::http::Status;
use rocket::outcome::{try_outcome, Outcome};
use rocket::request::{self, FromRequest, Request};

use crate::auth::access_token;
use crate::auth::confirmed;
pub use crate::auth::credentials::{
    auth_state, csrf_matches, AuthState, Authenticated, Via, INVALID,
};
use crate::auth::credentials::{header_token, load_user};
use crate::auth::csrf::{self, Verdict};
use crate::auth::mailed::AccountLinks;
use crate::auth::token::{Claims, Keys, Kind};
use crate::config::AppConfig;
use crate::db::users::TokenClaim;
use crate::db::{DbPool, UserId};
use crate::error::{CatcherMessage, ResendHint};

fn fail<T>(req: &Request<'_>, status: Status, message: &str) -> request::Outcome<T, &'static str> {
    req.local_cache(|| CatcherMessage(Some(message.to_owned())));
    Outcome::Error((status, "authentication"))
}

/// Whether a cookie-authenticated request passed the CSRF gate ([`csrf::Gate`] checks every
/// unsafe request before routing; this is the second line, should the gate ever be missing).
fn passed_csrf(req: &Request<'_>, auth: &Authenticated) -> bool {
    auth.via == Via::Header
        || !csrf::is_unsafe(req.method())
        || csrf::verdict(req) == Verdict::Verified
}

async fn authenticated<'r>(
    req: &'r Request<'_>,
) -> request::Outcome<Option<&'r Authenticated>, &'static str> {
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
            if !passed_csrf(req, auth) {
                return fail(req, Status::Forbidden, "missing or invalid CSRF token");
            }
            // A personal access token may do only what its scopes allow, and never manage tokens
            // or act outside `/api` (`access_token::refusal`).
            if let Some(grant) = &auth.grant {
                let segments = req.uri().path().segments();
                if let Some(why) = access_token::refusal(grant.scopes, req.method(), segments) {
                    return fail(req, Status::Forbidden, why);
                }
            }
            if let Some(why) = unconfirmed_refusal(req, auth) {
                return fail(req, Status::Forbidden, why);
            }
            Outcome::Success(Some(&**auth))
        }
    }
}

/// Why a write by `auth` is refused under `require_confirmed_email`, if it is; the site's
/// error page then offers the banner's "send me a new link" (a [`ResendHint`]).
fn unconfirmed_refusal(req: &Request<'_>, auth: &Authenticated) -> Option<&'static str> {
    let required = req
        .rocket()
        .state::<crate::config::AppConfig>()
        .is_some_and(|c| c.require_confirmed_email);
    let why = confirmed::refusal(
        required,
        &auth.user,
        req.method(),
        req.uri().path().segments(),
    )?;
    if let (Some(links), Some(csrf)) = (req.rocket().state::<AccountLinks>(), auth.csrf()) {
        let hint = ResendHint(Some(((links.resend_confirmation)(), csrf.to_owned())));
        req.local_cache(|| hint);
    }
    Some(why)
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
    pub fn id(&self) -> Option<UserId> {
        self.0.as_ref().map(|a| a.user.id)
    }
}

/// A signed-in caller, for a read that checks the token's user itself. A header token (an API
/// login's, with its session, or one without a session) whose signature, issuer, expiry and
/// kind are good is not looked up here:
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
        let header = req
            .headers()
            .get_one("Authorization")
            .and_then(header_token);
        if let (Some(token), Some(keys)) = (header, req.rocket().state::<Keys>()) {
            if let Ok(claims) = keys.decode(token) {
                // An API login's token (its session checked by the read too), or a token
                // without a session; never a browser's cookie token sent as a header.
                let claimable = claims.kind == Kind::Api
                    || (claims.kind == Kind::Access && claims.sid.is_none());
                if let (Some(user_id), true) = (claims.user_id(), claimable) {
                    if let Some(sid) = &claims.sid {
                        // Its session row is not read here: the memo keeps this to one write a
                        // minute at most.
                        crate::auth::credentials::note_seen(
                            req,
                            sid,
                            crate::auth::credentials::LastSeen::Unread,
                        )
                        .await;
                    }
                    let claim = TokenClaim {
                        user_id,
                        version: claims.ver,
                        session: claims.sid.clone(),
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
    pub fn user_id(&self) -> UserId {
        match self {
            Caller::Confirmed(auth) => auth.user.id,
            Caller::Claimed(claim, _) => claim.user_id,
        }
    }

    /// The claim a read on the caller's behalf must check, if it is not confirmed yet.
    pub fn claim(&self) -> Option<TokenClaim> {
        match self {
            Caller::Confirmed(_) => None,
            Caller::Claimed(claim, _) => Some(claim.clone()),
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

/// The signed-in caller acting on personal access tokens, from the request's address, in the
/// request (for the audit log): fails as [`CurrentUser`] does.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for access_token::Origin {
    type Error = &'static str;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let CurrentUser(auth) = try_outcome!(req.guard::<CurrentUser>().await);
        Outcome::Success(access_token::Origin {
            actor_id: auth.user.id,
            actor_name: auth.user.username.clone(),
            ip: req.client_ip().map(|ip| ip.to_string()),
            request_id: Some(crate::telemetry::request_id(req)),
        })
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
        if !auth.user.is_admin() {
            return fail(req, Status::Forbidden, "administrators only");
        }
        let required = req
            .rocket()
            .state::<AppConfig>()
            .is_some_and(|c| c.admin_require_2fa);
        if required {
            let Some(db) = req.rocket().state::<crate::db::Db>() else {
                return Outcome::Error((Status::InternalServerError, "database"));
            };
            match crate::db::totp::is_enabled(db, auth.user.id).await {
                Ok(true) => {}
                Ok(false) => {
                    req.local_cache(|| TwoFactorRequired(true));
                    return fail(req, Status::Forbidden, TWO_FACTOR_REQUIRED);
                }
                Err(e) => {
                    log::error!("checking an administrator's two-factor sign-in: {e}");
                    return Outcome::Error((Status::ServiceUnavailable, "database"));
                }
            }
        }
        Outcome::Success(AdminUser(auth))
    }
}

/// The message of the 403 for an administrator without two-factor sign-in where
/// `admin_require_2fa` is on.
pub const TWO_FACTOR_REQUIRED: &str =
    "administrators must turn on two-factor sign-in first (in the settings, /settings/two-factor)";

/// Set (in the request's local cache) when [`AdminUser`] refused an administrator for want of
/// two-factor sign-in: the console's catcher sends them to set it up.
#[derive(Debug, Clone, Copy, Default)]
pub struct TwoFactorRequired(pub bool);

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
