//! Who is calling: a request's credentials resolved once and cached ([`auth_state`]). The
//! request guards (`guards.rs`) and the CSRF gate (`csrf.rs`) both build on it. Where the
//! request comes from is [`ClientAddr`].
//!
//! A request with an `Authorization` header is authenticated by it alone (cookies ignored), so
//! API clients that keep cookies still work. Otherwise the browser's access cookie is used,
//! renewed silently from the refresh cookie when it has expired.

use chrono::{DateTime, Utc};
use rocket::request::Request;
use subtle::ConstantTimeEq;

use crate::auth::access_token::{self, Grant, Scopes};
use crate::auth::session;
use crate::auth::token::{Claims, Keys, Kind};
use crate::auth::user_agent;
use crate::config::AppConfig;
use crate::db::sessions::Seen;
use crate::db::users::User;
use crate::db::{self, Db, DbPool};

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `Authorization: Token <jwt>` or `Token cdt_...` (a personal access token), or `Bearer`.
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
    /// Set when the caller is a personal access token (`claims` are then made up for it: see
    /// [`pat_claims`]); its scopes limit what the request may do.
    pub grant: Option<Grant>,
}

impl Authenticated {
    /// The CSRF token this session's forms must carry.
    pub fn csrf(&self) -> Option<&str> {
        self.claims.csrf.as_deref()
    }

    /// Whether the caller is a personal access token.
    pub fn is_access_token(&self) -> bool {
        self.grant.is_some()
    }

    /// Whether the caller entered their password within `minutes`: never for a personal
    /// access token, which is no login.
    pub fn is_fresh(&self, minutes: i64) -> bool {
        self.grant.is_none() && self.claims.is_fresh(minutes)
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
pub(crate) async fn load_user(db: &DbPool, claims: &Claims) -> Result<Option<User>, sqlx::Error> {
    Ok(load(db, claims).await?.map(|(user, _)| user))
}

/// [`load_user`], and when the token's session (if it has one) was last seen.
async fn load(
    db: &DbPool,
    claims: &Claims,
) -> Result<Option<(User, Option<DateTime<Utc>>)>, sqlx::Error> {
    let Some(id) = claims.user_id() else {
        return Ok(None);
    };
    let found = match &claims.sid {
        Some(sid) => db::users::find_with_session(db, id, sid)
            .await?
            .map(|s| (s.user, s.session_last_seen_at)),
        None => db::users::find_by_id(db, id).await?.map(|u| (u, None)),
    };
    Ok(found.filter(|(u, _)| !u.disabled && u.token_version == claims.ver))
}

/// How often at most a session's last use is written (`db::sessions::touch`).
pub const SEEN_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// Where `req` comes from, as a session records it: the address the throttles count by and
/// the browser family of its `User-Agent`.
pub fn seen(req: &Request<'_>) -> Seen {
    Seen {
        address: client_addr(req),
        browser: req
            .headers()
            .get_one("User-Agent")
            .and_then(user_agent::family),
    }
}

/// When a session was last seen, as far as a request knows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LastSeen {
    /// Read with the session: when (`None`: never).
    Read(Option<DateTime<Utc>>),
    /// The session was not read (a header token's one-statement read, `guards::Caller`).
    Unread,
}

/// Write that session `sid` was used by `req`, unless it was written within [`SEEN_EVERY`]:
/// as `last_seen` says, or as this instance remembers it in [`SeenSessions`]. Of requests of
/// one session arriving together, only the one that claims it in the memo writes (the others,
/// including any that then fail their CSRF check, issue nothing). Bookkeeping only: a failure
/// is logged and the request goes on.
pub(crate) async fn note_seen(req: &Request<'_>, sid: &str, last_seen: LastSeen) {
    let now = Utc::now();
    let stale_before = now - SEEN_EVERY;
    if let LastSeen::Read(Some(at)) = last_seen {
        if at >= stale_before {
            return;
        }
    }
    let claimed = req
        .rocket()
        .state::<SeenSessions>()
        .is_none_or(|memo| memo.claim(sid, now.timestamp(), stale_before.timestamp()));
    if !claimed {
        return;
    }
    let Some(db) = req.rocket().state::<Db>() else {
        return;
    };
    if let Err(e) = db::sessions::touch(db, sid, &seen(req), stale_before).await {
        log::warn!("recording the use of a session: {e}");
    }
}

/// The sessions this instance noted as used lately, by id, with when (seconds since the
/// epoch), the most used kept when full: lets a request skip the write within [`SEEN_EVERY`],
/// and makes sure that of concurrent requests of one session only one writes. Managed by the
/// auth stage.
pub struct SeenSessions {
    seen: quick_cache::sync::Cache<Box<str>, i64>,
    /// Held across one look-up and insert, so two requests cannot both claim a session.
    claiming: std::sync::Mutex<()>,
}

impl SeenSessions {
    /// An empty memo for up to 4096 sessions.
    pub fn new() -> Self {
        Self {
            seen: quick_cache::sync::Cache::new(4096),
            claiming: std::sync::Mutex::new(()),
        }
    }

    /// Whether the caller is the one to write session `sid`'s use at `now` (seconds): `true`,
    /// noting it, unless it was noted after `stale_before` already.
    pub fn claim(&self, sid: &str, now: i64, stale_before: i64) -> bool {
        let _held = self
            .claiming
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.seen.get(sid).is_some_and(|at| at >= stale_before) {
            return false;
        }
        self.seen.insert(sid.into(), now);
        true
    }
}

impl Default for SeenSessions {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod seen_tests {
    use super::SeenSessions;

    #[test]
    fn of_concurrent_uses_of_a_session_one_writes() {
        let memo = std::sync::Arc::new(SeenSessions::new());
        let claims: Vec<bool> = (0..16)
            .map(|_| {
                let memo = memo.clone();
                std::thread::spawn(move || memo.claim("s1", 1000, 940))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect();
        assert_eq!(claims.iter().filter(|c| **c).count(), 1, "{claims:?}");
        // Within the minute: no other write; another session: its own; a minute on: again.
        assert!(!memo.claim("s1", 1059, 999));
        assert!(memo.claim("s2", 1059, 999));
        assert!(memo.claim("s1", 1061, 1001));
    }
}

pub(crate) fn header_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
        .then(|| token.trim())
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
            return Ok(AuthState::Invalid(
                "the Authorization header is not `Token <jwt>`",
            ));
        };
        if access_token::is_token(token) {
            return resolve_access_token(req, db, token).await;
        }
        let claims = match keys.decode(token) {
            Ok(claims) if claims.kind != Kind::Refresh => claims,
            Err(crate::auth::token::TokenError::Expired) => {
                return Ok(AuthState::Invalid("token expired"))
            }
            _ => return Ok(AuthState::Invalid("invalid token")),
        };
        return Ok(match load(db, &claims).await? {
            Some((user, last_seen)) => {
                if let Some(sid) = &claims.sid {
                    note_seen(req, sid, LastSeen::Read(last_seen)).await;
                }
                AuthState::Authenticated(Box::new(Authenticated {
                    user,
                    claims,
                    via: Via::Header,
                    token: token.to_owned(),
                    grant: None,
                }))
            }
            None => AuthState::Invalid("token revoked"),
        });
    }

    let jar = req.cookies();
    let names = session::names(config);
    if let Some(cookie) = jar.get(names.access) {
        if let Ok(claims) = keys.decode(cookie.value()) {
            if claims.kind == Kind::Access {
                if let Some((user, last_seen)) = load(db, &claims).await? {
                    if let Some(sid) = &claims.sid {
                        note_seen(req, sid, LastSeen::Read(last_seen)).await;
                    }
                    let token = cookie.value().to_owned();
                    return Ok(AuthState::Authenticated(Box::new(Authenticated {
                        user,
                        claims,
                        via: Via::Cookie,
                        token,
                        grant: None,
                    })));
                }
            }
        }
    }
    if let Some(cookie) = jar.get(names.refresh) {
        if let Ok(refresh) = keys.decode(cookie.value()) {
            if refresh.kind == Kind::Refresh {
                if let Some((user, last_seen)) = load(db, &refresh).await? {
                    if let Some(sid) = &refresh.sid {
                        note_seen(req, sid, LastSeen::Read(last_seen)).await;
                    }
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
                            grant: None,
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

/// Claims standing in for a personal access token's, so code written for tokens reads the
/// user from them: no session, no CSRF token, `auth_time` 0 (never a fresh login), the
/// token's id in `jti`.
fn pat_claims(user: &User, id: crate::db::AccessTokenId, exp: Option<i64>) -> Claims {
    Claims {
        sub: user.id.to_string(),
        iat: 0,
        exp: exp.unwrap_or(i64::MAX),
        iss: String::new(),
        jti: format!("pat:{id}"),
        ver: user.token_version,
        kind: Kind::Api,
        auth_time: 0,
        sid: None,
        csrf: None,
        remember: false,
    }
}

/// A personal access token in `Authorization`: well formed (checksum), then found by its hash
/// with an enabled owner and not expired; its last use is recorded at most once a minute.
async fn resolve_access_token(
    req: &Request<'_>,
    db: &DbPool,
    token: &str,
) -> Result<AuthState, sqlx::Error> {
    if !access_token::well_formed(token) {
        return Ok(AuthState::Invalid("malformed personal access token"));
    }
    let hash = access_token::hash(token);
    let Some(found) = db::access_tokens::find_by_hash(db, &hash).await? else {
        return Ok(AuthState::Invalid(
            "unknown, revoked or expired personal access token",
        ));
    };
    if let Some(verified) = req.rocket().state::<access_token::VerifiedTokens>() {
        verified.note(&hash, found.user.id);
    }
    let now = db::now();
    let stale_before = now - access_token::TOUCH_EVERY;
    if found.token_last_used_at.is_none_or(|at| at < stale_before) {
        let ip = client_addr(req);
        if let Err(e) = db::access_tokens::touch(db, found.token_id, &ip, stale_before).await {
            // Bookkeeping only: the request goes on.
            log::warn!("recording the use of access token {}: {e}", found.token_id);
        }
    }
    let claims = pat_claims(
        &found.user,
        found.token_id,
        found.token_expires_at.map(|at| at.timestamp()),
    );
    Ok(AuthState::Authenticated(Box::new(Authenticated {
        user: found.user,
        claims,
        via: Via::Header,
        token: token.to_owned(),
        grant: Some(Grant {
            id: found.token_id,
            scopes: Scopes::from_stored(&found.token_scopes),
        }),
    })))
}

/// The auth state of `req`, computed once and cached for the request.
pub async fn auth_state<'r>(req: &'r Request<'_>) -> Result<&'r AuthState, &'r sqlx::Error> {
    req.local_cache_async(async { resolve(req).await.map_err(std::sync::Arc::new) })
        .await
        .as_ref()
        .map_err(AsRef::as_ref)
}

/// Constant-time comparison of a submitted CSRF token with the expected one.
pub fn csrf_matches(submitted: Option<&str>, expected: Option<&str>) -> bool {
    match (submitted, expected) {
        (Some(s), Some(e)) if !e.is_empty() => bool::from(s.as_bytes().ct_eq(e.as_bytes())),
        _ => false,
    }
}

/// The client's address as Rocket sees it (`ip_header` is off unless a trusted proxy sets it):
/// what login and sign-up throttles and the audit log count by, on every face.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for ClientAddr {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        rocket::request::Outcome::Success(ClientAddr(client_addr(req)))
    }
}

/// The address [`ClientAddr`] holds.
fn client_addr(req: &Request<'_>) -> String {
    req.client_ip()
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// Where the request comes from, as a new session records it ([`seen`]).
#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for Seen {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        rocket::request::Outcome::Success(seen(req))
    }
}
