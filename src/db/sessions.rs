//! Sessions: one row per browser sign-in or API login, so one can be listed and ended alone
//! (`/settings/sessions`, `GET|DELETE /api/user/sessions`) and logout revokes exactly the
//! session it ends. A token carries its session's id (`sid`); the auth guards check the row.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::db_run;
use crate::db::db_transaction;
use crate::db::{now, DbPool, UserId};

/// What signed in: a browser (cookies) or an API client (a JWT it carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The site's sign-in: access and refresh cookies.
    Browser,
    /// `POST /api/users/login` or `POST /api/users`: the JWT in `user.token`.
    Api,
}

impl Kind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Browser => "browser",
            Self::Api => "api",
        }
    }
}

/// Where a session was seen from: the client address the throttles use and the browser family.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The client's address (`ClientAddr`).
    pub address: String,
    /// The browser family read from the User-Agent ("Firefox on Linux"), if one was sent.
    pub browser: Option<String>,
}

/// The most live API logins an account keeps: a new one past it ends the oldest (review of
/// issue 18: a script looping logins must not pile up sessions without bound).
pub const API_SESSIONS_MAX: i64 = 50;

/// The most sessions a list returns (the most recently used first); the list says how many
/// more there are, and "sign out everywhere else" still ends every one.
pub const LIST_MAX: i64 = 100;

/// Record a new session of `kind` for `user_id`, live until `expires_at`, seen from `seen`
/// (when the caller knows it; a browser's row is filled in by its first request). A session
/// past `max_live` live ones of its kind ([`API_SESSIONS_MAX`] for API logins,
/// `browser_sessions_max` for sign-ins) ends the oldest of that kind, in the same transaction,
/// exactly however many sign in at once (a lock on the account's key row).
#[allow(clippy::too_many_arguments)]
pub async fn create(
    db: &DbPool,
    id: &str,
    user_id: UserId,
    kind: Kind,
    remember: bool,
    expires_at: DateTime<Utc>,
    seen: Option<&Seen>,
    max_live: i64,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO sessions (id, user_id, kind, remember, created_at, expires_at, last_seen_at, address, browser) \
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    // The other live sessions of a kind past the newest `max_live - 1` (bind the user, the
    // kind, now, the new session's id, the offset): the new session itself is always kept,
    // even when a sign-in that waited for the lock carries an older time than one that
    // committed before it.
    const BEYOND: &str = "SELECT id FROM sessions \
                          WHERE user_id = ? AND kind = ? AND revoked_at IS NULL AND expires_at > ? AND id <> ? \
                          ORDER BY created_at DESC, id DESC LIMIT 1000 OFFSET ?";
    const END: &str = "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";
    let at = now();
    let lock = super::throttle::lock_sql(db.engine(), 1);
    let key = format!("sessions:{user_id}:{}", kind.as_str());
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        // The account's key row first (`throttle_keys`), as a throttle's reservation does: of
        // concurrent sign-ins each counts after the one before committed, so the cap holds
        // exactly (without it two saw the same oldest, each ended it, and one more stayed
        // live). On MySQL the count below is the transaction's first plain read: its
        // snapshot is taken once the lock is held.
        sqlx::query(&lock)
            .bind(&key)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(SQL)
            .bind(id)
            .bind(user_id)
            .bind(kind.as_str())
            .bind(remember)
            .bind(at)
            .bind(expires_at)
            .bind(seen.map(|_| at))
            .bind(seen.map(|s| s.address.as_str()))
            .bind(seen.and_then(|s| s.browser.as_deref()))
            .execute(&mut *tx)
            .await?;
        let beyond: Vec<(String,)> = sqlx::query_as(BEYOND)
            .bind(user_id)
            .bind(kind.as_str())
            .bind(at)
            .bind(id)
            .bind((max_live - 1).max(0))
            .fetch_all(&mut *tx)
            .await?;
        for (old,) in &beyond {
            sqlx::query(END)
                .bind(at)
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    })
}

/// Note that session `id` was used now from `seen`, unless that was noted after
/// `stale_before` already (so a session is written at most once a minute, whichever instance
/// serves it).
pub async fn touch(
    db: &DbPool,
    id: &str,
    seen: &Seen,
    stale_before: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE sessions SET last_seen_at = ?, address = ?, browser = ? \
                       WHERE id = ? AND revoked_at IS NULL AND (last_seen_at IS NULL OR last_seen_at < ?)";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(now())
        .bind(&seen.address)
        .bind(seen.browser.as_deref())
        .bind(id)
        .bind(stale_before)
        .execute(c)
        .await
        .map(|_| ()))
}

/// A live session as its owner sees it listed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    /// The session's id (the `sid` of its tokens).
    pub id: String,
    /// `browser` or `api`.
    pub kind: String,
    /// When it began (the sign-in).
    pub created_at: DateTime<Utc>,
    /// When it was last used (to the minute), if it was.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The client address of that use.
    pub address: Option<String>,
    /// The browser family of that use.
    pub browser: Option<String>,
}

/// The live (not ended, not expired) sessions of `user_id`: `current` (the caller's) first
/// whenever it is live, then the most recently used, at most [`LIST_MAX`].
pub async fn list_for_user(
    db: &DbPool,
    user_id: UserId,
    current: Option<&str>,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, kind, created_at, last_seen_at, address, browser FROM sessions \
                       WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? \
                       ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END, \
                       COALESCE(last_seen_at, created_at) DESC, created_at DESC, id LIMIT ?";
    db_run!(db, |c| sqlx::query_as::<_, SessionRow>(SQL)
        .bind(user_id)
        .bind(now())
        .bind(current.unwrap_or(""))
        .bind(LIST_MAX)
        .fetch_all(c)
        .await)
}

/// How many live sessions `user_id` has (the list shows at most [`LIST_MAX`]).
pub async fn count_live(db: &DbPool, user_id: UserId) -> Result<i64, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM sessions \
                       WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?";
    db_run!(db, |c| sqlx::query_scalar::<_, i64>(SQL)
        .bind(user_id)
        .bind(now())
        .fetch_one(c)
        .await)
}

/// The ids of every live session of `user_id` (to find one by its public handle).
pub async fn live_ids(db: &DbPool, user_id: UserId) -> Result<Vec<String>, sqlx::Error> {
    const SQL: &str =
        "SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?";
    let rows: Vec<(String,)> = db_run!(db, |c| sqlx::query_as(SQL)
        .bind(user_id)
        .bind(now())
        .fetch_all(c)
        .await)?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// End one session.
pub async fn revoke(db: &DbPool, id: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(now())
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// End session `id` if it is a live one of `user_id`'s: `false` when it is not (another
/// account's session is never touched).
pub async fn revoke_own(db: &DbPool, user_id: UserId, id: &str) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE sessions SET revoked_at = ? \
                       WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?";
    let at = now();
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(at)
        .bind(id)
        .bind(user_id)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// End every live session of `user_id` but `keep`; how many were ended.
pub async fn revoke_others(db: &DbPool, user_id: UserId, keep: &str) -> Result<u64, sqlx::Error> {
    const SQL: &str = "UPDATE sessions SET revoked_at = ? \
                       WHERE user_id = ? AND id <> ? AND revoked_at IS NULL AND expires_at > ?";
    let at = now();
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(at)
        .bind(user_id)
        .bind(keep)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

/// End every session of a user.
pub async fn revoke_all(db: &DbPool, user_id: UserId) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(now())
        .bind(user_id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Forget sessions that expired or were revoked before `before` (housekeeping).
pub async fn prune(db: &DbPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(before)
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}
