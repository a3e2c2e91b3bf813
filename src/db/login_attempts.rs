//! Failed password checks, counted in the database so every app instance sees the same
//! throttle. Attempts are recorded before the check by [`crate::db::throttle::reserve_login`].

use chrono::{DateTime, Utc};

use crate::db::db_transaction;
use crate::db::DbPool;

/// Forget an account's failures after a successful login.
pub async fn clear(db: &DbPool, email: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM login_attempts WHERE email = ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(email)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Forget failures older than `before` (housekeeping).
pub async fn prune(db: &DbPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM login_attempts WHERE created_at < ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}
