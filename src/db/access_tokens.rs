//! Personal access tokens (`access_tokens`): one row per live token, holding the SHA-256 of
//! its secret (never the secret), its scopes, expiry and last use. Revoking deletes the row,
//! in one transaction with its audit entry; so does creating.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::audit::{insert_audit, AuditEntry};
use crate::db::users::User;
use crate::db::{db_run, db_transaction};
use crate::db::{now, AccessTokenId, DbPool, LastInsertId, UserId};

/// A row of `access_tokens`, as its owner and the console see it.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct TokenRow {
    /// Primary key.
    pub id: AccessTokenId,
    /// The owner.
    pub user_id: UserId,
    /// The owner's label for it ("ci", "backup script").
    pub name: String,
    /// Its scopes, as stored: names separated by single spaces (`read write`).
    pub scopes: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute: see [`touch`]).
    pub last_used_at: Option<DateTime<Utc>>,
    /// The client address of that use.
    pub last_used_ip: Option<String>,
}

/// A token found by its hash, with its owner.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Found {
    /// The owner (enabled: disabled owners' tokens are not found).
    #[sqlx(flatten)]
    pub user: User,
    /// The token's id.
    pub token_id: AccessTokenId,
    /// Its scopes, as stored.
    pub token_scopes: String,
    /// When it stops working.
    pub token_expires_at: Option<DateTime<Utc>>,
    /// When it was last used.
    pub token_last_used_at: Option<DateTime<Utc>>,
}

/// The token whose secret hashes to `hash`, if it has not expired and its owner exists, is
/// enabled and has not ended their sessions since it was made (their `token_version` is the
/// one it was made under): one indexed lookup, the owner joined in.
pub async fn find_by_hash(db: &DbPool, hash: &str) -> Result<Option<Found>, sqlx::Error> {
    const SQL: &str = "SELECT u.id, u.username, u.email, u.password_hash, u.bio, u.image, u.role, u.disabled, \
                       u.token_version, u.created_at, u.updated_at, u.email_confirmed_at, t.id AS token_id, t.scopes AS token_scopes, \
                       t.expires_at AS token_expires_at, t.last_used_at AS token_last_used_at \
                       FROM access_tokens t JOIN users u ON u.id = t.user_id \
                       WHERE t.token_hash = ? AND u.disabled = FALSE AND t.user_version = u.token_version \
                       AND (t.expires_at IS NULL OR t.expires_at > ?)";
    db_run!(db, |c| sqlx::query_as::<_, Found>(SQL)
        .bind(hash)
        .bind(now())
        .fetch_optional(c)
        .await)
}

/// Record a use of token `id` from `ip`, unless one since `stale_before` is recorded already:
/// several instances and concurrent requests then write the row about once per period, not
/// once per request (a hot row is slow, and on Galera a conflict).
pub async fn touch(
    db: &DbPool,
    id: AccessTokenId,
    ip: &str,
    stale_before: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE access_tokens SET last_used_at = ?, last_used_ip = ? \
                       WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(now())
        .bind(ip)
        .bind(id)
        .bind(stale_before)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The columns of [`TokenRow`].
macro_rules! token_columns {
    () => {
        "id, user_id, name, scopes, created_at, expires_at, last_used_at, last_used_ip"
    };
}

/// `user_version` is the owner's current `token_version`: tokens made before a password change,
/// "sign out everywhere", a disable or a demotion no longer work, and are not listed or counted
/// (they are deleted when the next token is made).
macro_rules! current {
    () => {
        "user_version = (SELECT token_version FROM users WHERE users.id = access_tokens.user_id)"
    };
}

/// Every working token of `user_id`, newest first (expired ones included, marked by their
/// date).
pub async fn list_for_user(db: &DbPool, user_id: UserId) -> Result<Vec<TokenRow>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        token_columns!(),
        " FROM access_tokens WHERE user_id = ? AND ",
        current!(),
        " ORDER BY id DESC"
    );
    db_run!(db, |c| sqlx::query_as::<_, TokenRow>(SQL)
        .bind(user_id)
        .fetch_all(c)
        .await)
}

/// How many working tokens `user_id` has.
pub async fn count_for_user(db: &DbPool, user_id: UserId) -> Result<i64, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT COUNT(*) FROM access_tokens WHERE user_id = ? AND ",
        current!()
    );
    db_run!(db, |c| sqlx::query_scalar::<_, i64>(SQL)
        .bind(user_id)
        .fetch_one(c)
        .await)
}

/// Token `id` of `user_id`.
pub async fn find(
    db: &DbPool,
    user_id: UserId,
    id: AccessTokenId,
) -> Result<Option<TokenRow>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        token_columns!(),
        " FROM access_tokens WHERE id = ? AND user_id = ? AND ",
        current!()
    );
    db_run!(db, |c| sqlx::query_as::<_, TokenRow>(SQL)
        .bind(id)
        .bind(user_id)
        .fetch_optional(c)
        .await)
}

/// What a new token needs.
pub struct NewToken<'a> {
    /// The owner.
    pub user_id: UserId,
    /// Its label.
    pub name: &'a str,
    /// Hex SHA-256 of the secret.
    pub token_hash: &'a str,
    /// Scope names separated by single spaces.
    pub scopes: &'a str,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// The owner's `token_version` it is made under (the one the request was authenticated with).
    pub user_version: i64,
    /// The most working tokens the owner may hold, this one included.
    pub max_per_user: i64,
}

/// Store a new token and its audit entry (whose `entity_id` is set to the new id) in one
/// transaction; returns the id, or `None` when the owner holds `max_per_user` working tokens
/// already or ended their sessions since the request was authenticated. The owner's row is
/// written first (a no-op update), which makes a concurrent creation for the same owner wait
/// (a row lock on MySQL, the write lock on SQLite), so the cap holds under concurrency; the
/// owner's tokens made under an older version are deleted.
pub async fn insert(
    db: &DbPool,
    token: &NewToken<'_>,
    audit: &AuditEntry,
) -> Result<Option<AccessTokenId>, sqlx::Error> {
    const LOCK: &str = "UPDATE users SET token_version = token_version WHERE id = ?";
    const VERSION: &str = "SELECT token_version FROM users WHERE id = ?";
    const STALE: &str = "DELETE FROM access_tokens WHERE user_id = ? AND user_version <> ?";
    const COUNT: &str = "SELECT COUNT(*) FROM access_tokens WHERE user_id = ?";
    const SQL: &str = "INSERT INTO access_tokens (user_id, name, token_hash, scopes, created_at, expires_at, user_version) \
                       VALUES (?, ?, ?, ?, ?, ?, ?)";
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        sqlx::query(LOCK)
            .bind(token.user_id)
            .execute(&mut *tx)
            .await?;
        let version = sqlx::query_scalar::<_, i64>(VERSION)
            .bind(token.user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if version != Some(token.user_version) {
            return Ok(None);
        }
        sqlx::query(STALE)
            .bind(token.user_id)
            .bind(token.user_version)
            .execute(&mut *tx)
            .await?;
        let held = sqlx::query_scalar::<_, i64>(COUNT)
            .bind(token.user_id)
            .fetch_one(&mut *tx)
            .await?;
        if held >= token.max_per_user {
            return Ok(None);
        }
        let id = sqlx::query(SQL)
            .bind(token.user_id)
            .bind(token.name)
            .bind(token.token_hash)
            .bind(token.scopes)
            .bind(token.created_at)
            .bind(token.expires_at)
            .bind(token.user_version)
            .execute(&mut *tx)
            .await?
            .last_id();
        let mut entry = audit.clone();
        entry.entity_id = id.to_string();
        insert_audit!(tx, &entry);
        tx.commit().await?;
        Ok(Some(AccessTokenId::new(id)))
    })
}

/// Delete token `id` of `user_id` and write its audit entry, in one transaction. `false` when
/// there was no such token (or a concurrent revocation won): nothing is written.
pub async fn delete(
    db: &DbPool,
    user_id: UserId,
    id: AccessTokenId,
    audit: &AuditEntry,
) -> Result<bool, sqlx::Error> {
    const SQL: &str = "DELETE FROM access_tokens WHERE id = ? AND user_id = ?";
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let deleted = sqlx::query(SQL)
            .bind(id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            // Dropping the transaction rolls it back: no entry for a revocation that did not happen.
            return Ok(false);
        }
        insert_audit!(tx, audit);
        tx.commit().await?;
        Ok(true)
    })
}
