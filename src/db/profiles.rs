//! Profiles: a user as others see them, and follows.

use crate::db::{now, DbPool};
use crate::db_run;
use crate::error::is_unique_violation;

/// A user as others see them, with whether the viewer follows them.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Profile {
    /// The user's id.
    #[serde(skip)]
    pub id: i64,
    /// Username.
    pub username: String,
    /// Bio.
    pub bio: Option<String>,
    /// Avatar URL.
    pub image: Option<String>,
    /// Whether the viewer follows this user (false for anonymous viewers).
    pub following: bool,
}

/// The profile of `username` as seen by `viewer`.
pub async fn find(db: &DbPool, username: &str, viewer: Option<i64>) -> Result<Option<Profile>, sqlx::Error> {
    const SQL: &str = "SELECT u.id, u.username, u.bio, u.image, \
                       EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ? AND f.followee_id = u.id) AS following \
                       FROM users u WHERE u.username = ?";
    db_run!(db, |c| sqlx::query_as::<_, Profile>(SQL)
        .bind(viewer.unwrap_or(-1))
        .bind(username)
        .fetch_optional(c)
        .await)
}

/// `follower` follows `target` (idempotent).
pub async fn follow(db: &DbPool, follower: i64, target: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)";
    match db_run!(db, |c| sqlx::query(SQL)
        .bind(follower)
        .bind(target)
        .bind(now())
        .execute(c)
        .await
        .map(|_| ()))
    {
        Err(e) if is_unique_violation(&e) => Ok(()),
        other => other,
    }
}

/// `follower` stops following `target` (idempotent).
pub async fn unfollow(db: &DbPool, follower: i64, target: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?";
    db_run!(db, |c| sqlx::query(SQL)
        .bind(follower)
        .bind(target)
        .execute(c)
        .await
        .map(|_| ()))
}
