//! Browser sessions in cookies: a short-lived access JWT (`session`), a refresh JWT (`refresh`)
//! that renews it silently, and the CSRF token (`csrf_token`, readable by scripts by design).

use chrono::{Duration, Utc};
use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::time;

use crate::auth::token::{random_id, Claims, Keys, Kind};
use crate::config::AppConfig;
use crate::db::users::User;
use crate::db::{self, DbPool};

/// The access cookie.
pub const ACCESS_COOKIE: &str = "session";
/// The refresh cookie.
pub const REFRESH_COOKIE: &str = "refresh";
/// The CSRF cookie (double submit): not HttpOnly, carries no authority alone.
pub const CSRF_COOKIE: &str = "csrf_token";

fn auth_cookie(name: &'static str, value: String, config: &AppConfig, max_age: Option<i64>) -> Cookie<'static> {
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
    Cookie::build((CSRF_COOKIE, value))
        .http_only(false)
        .same_site(SameSite::Strict)
        .secure(config.cookie_secure)
        .path("/")
        .build()
}

/// Set a fresh access cookie derived from refresh (or login) claims.
pub fn set_access(jar: &CookieJar<'_>, keys: &Keys, config: &AppConfig, base: &Claims) -> anyhow::Result<Claims> {
    let user_id = base.user_id().unwrap_or_default();
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
        ACCESS_COOKIE,
        keys.encode(&claims)?,
        config,
        Some(config.access_token_minutes * 60),
    ));
    Ok(claims)
}

/// Log `user` in: record a session and set the access, refresh and CSRF cookies.
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
    db::sessions::create(db, &sid, user.id, remember, db::now() + lifetime).await?;
    let mut refresh = keys.claims(
        user.id,
        user.token_version,
        Kind::Refresh,
        lifetime.num_seconds(),
        Utc::now().timestamp(),
    );
    refresh.sid = Some(sid);
    refresh.csrf = Some(random_id());
    refresh.remember = remember;
    // "Remember me" keeps the refresh cookie across browser restarts; otherwise it is a
    // browser-session cookie (and the server-side session still ends after session_hours).
    let max_age = remember.then(|| lifetime.num_seconds());
    jar.add(auth_cookie(REFRESH_COOKIE, keys.encode(&refresh)?, config, max_age));
    set_access(jar, keys, config, &refresh)?;
    jar.add(csrf_cookie(refresh.csrf.clone().unwrap_or_default(), config));
    Ok(())
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
        .get(REFRESH_COOKIE)
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
        jar.add(auth_cookie(REFRESH_COOKIE, keys.encode(&refresh)?, config, max_age));
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

/// Remove every auth cookie (logout, or stale cookies).
pub fn clear(jar: &CookieJar<'_>) {
    for name in [ACCESS_COOKIE, REFRESH_COOKIE] {
        jar.remove(Cookie::build(name).path("/"));
    }
}
