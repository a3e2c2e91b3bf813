//! Sessions: a browser's in cookies, an API login's in the token it is given ([`start_api`]).
//! The browser's cookies: a short-lived access JWT (`session`), a refresh JWT (`refresh`)
//! that renews it silently, and the CSRF token (`csrf_token`, readable by scripts by design).
//! Where cookies are `Secure` (release, behind HTTPS) their names carry the `__Host-` prefix, so
//! a sibling domain or a plain-HTTP page cannot set or overwrite them (cookie tossing).

use chrono::{Duration, Utc};
use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::time;

use crate::auth::token::{random_id, Claims, Keys, Kind};
use crate::config::AppConfig;
use crate::db::users::User;
use crate::db::{self, DbPool, UserId};

/// The names of the browser's cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieNames {
    /// The access cookie.
    pub access: &'static str,
    /// The refresh cookie.
    pub refresh: &'static str,
    /// The CSRF cookie (double submit): not HttpOnly, carries no authority alone.
    pub csrf: &'static str,
}

/// Cookie names over plain HTTP (development, tests).
pub const PLAIN_NAMES: CookieNames = CookieNames {
    access: "session",
    refresh: "refresh",
    csrf: "csrf_token",
};

/// Cookie names where cookies are `Secure`: the browser accepts a `__Host-` cookie only from
/// this exact host over HTTPS, with `Path=/` and no `Domain`.
pub const HOST_NAMES: CookieNames = CookieNames {
    access: "__Host-session",
    refresh: "__Host-refresh",
    csrf: "__Host-csrf_token",
};

/// The cookie names for `config` (`__Host-` ones when `cookie_secure`).
pub fn names(config: &AppConfig) -> CookieNames {
    if config.cookie_secure {
        HOST_NAMES
    } else {
        PLAIN_NAMES
    }
}

fn auth_cookie(
    name: &'static str,
    value: String,
    config: &AppConfig,
    max_age: Option<i64>,
) -> Cookie<'static> {
    let mut cookie = Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.cookie_secure)
        .path("/")
        .build();
    if let Some(seconds) = max_age {
        cookie.set_max_age(time::Duration::seconds(seconds));
    }
    cookie
}

/// The CSRF cookie with `value`.
pub fn csrf_cookie(value: String, config: &AppConfig) -> Cookie<'static> {
    Cookie::build((names(config).csrf, value))
        .http_only(false)
        .same_site(SameSite::Strict)
        .secure(config.cookie_secure)
        .path("/")
        .build()
}

/// Set a fresh access cookie derived from refresh (or login) claims.
pub fn set_access(
    jar: &CookieJar<'_>,
    keys: &Keys,
    config: &AppConfig,
    base: &Claims,
) -> anyhow::Result<Claims> {
    // Our own claims always name a user; id 0 (no account has it) as before, should one not.
    let user_id = base.user_id().unwrap_or(UserId::new(0));
    let mut claims = keys.claims(
        user_id,
        base.ver,
        Kind::Access,
        config.access_token_minutes * 60,
        base.auth_time,
    );
    claims.sid.clone_from(&base.sid);
    claims.csrf.clone_from(&base.csrf);
    claims.remember = base.remember;
    jar.add(auth_cookie(
        names(config).access,
        keys.encode(&claims)?,
        config,
        Some(config.access_token_minutes * 60),
    ));
    Ok(claims)
}

/// Log `user` in: record a session and set the access, refresh and CSRF cookies. The session's
/// form token is a new minted one (never the anonymous visitor's, so a token planted before
/// sign-in is worthless after it).
pub async fn start(
    db: &DbPool,
    jar: &CookieJar<'_>,
    keys: &Keys,
    config: &AppConfig,
    user: &User,
    remember: bool,
) -> anyhow::Result<()> {
    let lifetime = if remember {
        Duration::days(config.remember_days)
    } else {
        Duration::hours(config.session_hours)
    };
    let sid = random_id();
    // Where it is used from is noted by its first request (the redirect after the sign-in).
    db::sessions::create(
        db,
        &sid,
        user.id,
        db::sessions::Kind::Browser,
        remember,
        db::now() + lifetime,
        None,
        config.browser_sessions_max,
    )
    .await?;
    let mut refresh = keys.claims(
        user.id,
        user.token_version,
        Kind::Refresh,
        lifetime.num_seconds(),
        Utc::now().timestamp(),
    );
    refresh.sid = Some(sid);
    refresh.csrf = Some(keys.forms().mint());
    refresh.remember = remember;
    // "Remember me" keeps the refresh cookie across browser restarts; otherwise it is a
    // browser-session cookie (and the server-side session still ends after session_hours).
    let max_age = remember.then(|| lifetime.num_seconds());
    jar.add(auth_cookie(
        names(config).refresh,
        keys.encode(&refresh)?,
        config,
        max_age,
    ));
    set_access(jar, keys, config, &refresh)?;
    jar.add(csrf_cookie(
        refresh.csrf.clone().unwrap_or_default(),
        config,
    ));
    Ok(())
}

/// Log `user` in over the JSON API, from `seen`: record an API session (listed with the
/// browser's, ended alone) and return its token, valid for `api_token_minutes` and counting as
/// a fresh login. The token carries the session's id, so ending the session ends the token.
pub async fn start_api(
    db: &DbPool,
    keys: &Keys,
    config: &AppConfig,
    user: &User,
    seen: &db::sessions::Seen,
) -> anyhow::Result<String> {
    let ttl = config.api_token_minutes * 60;
    let sid = random_id();
    db::sessions::create(
        db,
        &sid,
        user.id,
        db::sessions::Kind::Api,
        false,
        db::now() + Duration::seconds(ttl),
        Some(seen),
        db::sessions::API_SESSIONS_MAX,
    )
    .await?;
    let mut claims = keys.claims(
        user.id,
        user.token_version,
        Kind::Api,
        ttl,
        Utc::now().timestamp(),
    );
    claims.sid = Some(sid);
    keys.encode(&claims)
}

/// Re-issue the cookies of the current session after the user's token version changed
/// (a password change revokes every other session, not this one).
pub fn reissue(
    jar: &CookieJar<'_>,
    keys: &Keys,
    config: &AppConfig,
    current: &Claims,
    user: &User,
) -> anyhow::Result<()> {
    rewrite(jar, keys, config, current, user, false)
}

/// Mark the current browser session as freshly authenticated (the user just re-entered their
/// password): re-issue its refresh and access cookies with `auth_time` = now, so actions that
/// need a recent login (admin deletions, role changes) are allowed for `fresh_minutes`.
pub fn reauthenticate(
    jar: &CookieJar<'_>,
    keys: &Keys,
    config: &AppConfig,
    current: &Claims,
    user: &User,
) -> anyhow::Result<()> {
    rewrite(jar, keys, config, current, user, true)
}

/// Re-sign the current session's cookies with the user's token version (and, when `fresh`,
/// a new `auth_time`), keeping its session id, CSRF token and expiry.
fn rewrite(
    jar: &CookieJar<'_>,
    keys: &Keys,
    config: &AppConfig,
    current: &Claims,
    user: &User,
    fresh: bool,
) -> anyhow::Result<()> {
    let now = Utc::now().timestamp();
    let refresh = jar
        .get(names(config).refresh)
        .and_then(|c| keys.decode(c.value()).ok())
        .filter(|c| c.kind == Kind::Refresh && c.sid == current.sid);
    let base = if let Some(mut refresh) = refresh {
        refresh.ver = user.token_version;
        refresh.iat = now;
        refresh.jti = random_id();
        if fresh {
            refresh.auth_time = now;
        }
        let max_age = refresh.remember.then(|| refresh.exp - now);
        jar.add(auth_cookie(
            names(config).refresh,
            keys.encode(&refresh)?,
            config,
            max_age,
        ));
        refresh
    } else {
        let mut claims = current.clone();
        claims.ver = user.token_version;
        if fresh {
            claims.auth_time = now;
        }
        claims
    };
    set_access(jar, keys, config, &base)?;
    Ok(())
}

/// Remove every auth cookie (stale cookies).
pub fn clear(jar: &CookieJar<'_>, config: &AppConfig) {
    let names = names(config);
    for name in [names.access, names.refresh] {
        // `Secure` on the removal too: browsers ignore a `__Host-` cookie without it.
        jar.remove(Cookie::build(name).path("/").secure(config.cookie_secure));
    }
}

/// Sign out this browser: remove its auth cookies and rotate its form token (the session's
/// token, readable in its cookie and its pages, must not carry over to the signed-out forms).
pub fn end(jar: &CookieJar<'_>, keys: &Keys, config: &AppConfig) {
    clear(jar, config);
    jar.add(csrf_cookie(keys.forms().mint(), config));
}
