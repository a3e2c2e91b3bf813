//! Failed logins, counted in the database so every app instance sees the same throttle.

use chrono::{DateTime, Utc};

use crate::db::{now, DbPool};
use crate::db_run;

/// Record one failed login for `email` from `ip`.
pub async fn record_failure(db: &DbPool, email: &str, ip: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO login_attempts (email, ip, created_at) VALUES (?, ?, ?)";
    db_run!(db, |c| sqlx::query(SQL)
        .bind(email)
        .bind(ip)
        .bind(now())
        .execute(c)
        .await
        .map(|_| ()))
}

/// Failures since `since` for the account and for the address, and the oldest of each.
#[derive(Debug, sqlx::FromRow)]
pub struct Failures {
    /// Failures for this email.
    pub by_email: i64,
    /// Oldest of those.
    pub oldest_email: Option<DateTime<Utc>>,
    /// Failures from this address.
    pub by_ip: i64,
    /// Oldest of those.
    pub oldest_ip: Option<DateTime<Utc>>,
}

/// Count recent failures for an account and an address in one round trip.
pub async fn failures_since(db: &DbPool, email: &str, ip: &str, since: DateTime<Utc>) -> Result<Failures, sqlx::Error> {
    const SQL: &str = "SELECT \
        (SELECT COUNT(*) FROM login_attempts WHERE email = ? AND created_at > ?) AS by_email, \
        (SELECT MIN(created_at) FROM login_attempts WHERE email = ? AND created_at > ?) AS oldest_email, \
        (SELECT COUNT(*) FROM login_attempts WHERE ip = ? AND created_at > ?) AS by_ip, \
        (SELECT MIN(created_at) FROM login_attempts WHERE ip = ? AND created_at > ?) AS oldest_ip";
    db_run!(db, |c| sqlx::query_as::<_, Failures>(SQL)
        .bind(email)
        .bind(since)
        .bind(email)
        .bind(since)
        .bind(ip)
        .bind(since)
        .bind(ip)
        .bind(since)
        .fetch_one(c)
        .await)
}

/// Forget an account's failures after a successful login.
pub async fn clear(db: &DbPool, email: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM login_attempts WHERE email = ?";
    db_run!(db, |c| sqlx::query(SQL).bind(email).execute(c).await.map(|_| ()))
}

/// Forget failures older than `before` (housekeeping).
pub async fn prune(db: &DbPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM login_attempts WHERE created_at < ?";
    db_run!(db, |c| sqlx::query(SQL)
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}
