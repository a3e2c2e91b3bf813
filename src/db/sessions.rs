//! Browser sessions: one row per login, so logout can revoke exactly the session it ends.

use chrono::{DateTime, Utc};

use crate::db::db_transaction;
use crate::db::{now, DbPool, UserId};

/// Record a new session for `user_id`, live until `expires_at`.
pub async fn create(
    db: &DbPool,
    id: &str,
    user_id: UserId,
    remember: bool,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO sessions (id, user_id, remember, created_at, expires_at) VALUES (?, ?, ?, ?, ?)";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(id)
        .bind(user_id)
        .bind(remember)
        .bind(now())
        .bind(expires_at)
        .execute(c)
        .await
        .map(|_| ()))
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
