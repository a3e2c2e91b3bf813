//! Profiles: a user as others see them, and follows.

use crate::db::db_run;
use crate::db::db_transaction;
use crate::db::{now, DbPool, UserId};
use crate::error::is_unique_violation;

/// A user as others see them, with whether the viewer follows them.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Profile {
    /// The user's id.
    #[serde(skip)]
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Bio.
    pub bio: Option<String>,
    /// Avatar URL.
    pub image: Option<String>,
    /// Whether the viewer follows this user (false for anonymous viewers).
    pub following: bool,
}

/// The profile of `username` as seen by `viewer`. A name no account could have
/// ([`could_be_username`](crate::input::could_be_username)) finds nothing without a query.
pub async fn find(
    db: &DbPool,
    username: &str,
    viewer: Option<UserId>,
) -> Result<Option<Profile>, sqlx::Error> {
    const SQL: &str = "SELECT u.id, u.username, u.bio, u.image, \
                       EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ? AND f.followee_id = u.id) AS following \
                       FROM users u WHERE u.username = ?";
    if !crate::input::could_be_username(username) {
        return Ok(None);
    }
    db_run!(db, |c| sqlx::query_as::<_, Profile>(SQL)
        .bind(viewer.map_or(-1, UserId::get))
        .bind(username)
        .fetch_optional(c)
        .await)
}

/// `follower` follows `target` (idempotent); `target`'s articles join the follower's feed in
/// the same transaction.
pub async fn follow(db: &DbPool, follower: UserId, target: UserId) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)";
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        sqlx::query(feed::LOCK_AUTHOR)
            .bind(target)
            .execute(&mut *tx)
            .await?;
        match sqlx::query(SQL)
            .bind(follower)
            .bind(target)
            .bind(now())
            .execute(&mut *tx)
            .await
        {
            // Already following: their articles are in the feed already.
            Err(e) if is_unique_violation(&e) => return Ok(()),
            other => other?,
        };
        sqlx::query(feed::ADD_AUTHOR)
            .bind(follower)
            .bind(target)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })
}

/// `follower` stops following `target` (idempotent); `target`'s articles leave the feed.
pub async fn unfollow(db: &DbPool, follower: UserId, target: UserId) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?";
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        sqlx::query(feed::LOCK_AUTHOR)
            .bind(target)
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query(SQL)
            .bind(follower)
            .bind(target)
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() > 0 {
            sqlx::query(feed::REMOVE_AUTHOR)
                .bind(follower)
                .bind(target)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    })
}

/// SQL that keeps `feed_entries` (each reader's feed, see
/// `migrations/*/20261124000003_feed_timeline.sql`) in step with follows and articles.
pub(crate) mod feed {
    /// Lock author `?`'s row first, as an article insert does (see
    /// `crate::db::articles::counters::COUNT_AUTHORS_ARTICLE`): a follow or unfollow and a new
    /// article by the same author then run one after the other (MySQL deadlocked them).
    pub const LOCK_AUTHOR: &str = "UPDATE users SET articles_count = articles_count WHERE id = ?";
    /// Follower `?` now follows author `?`: their articles join the follower's feed.
    pub const ADD_AUTHOR: &str =
        "INSERT INTO feed_entries (user_id, article_id) SELECT ?, a.id FROM articles a WHERE a.author_id = ?";
    /// Follower `?` no longer follows author `?`: their articles leave the follower's feed.
    pub const REMOVE_AUTHOR: &str = "DELETE FROM feed_entries WHERE user_id = ? \
        AND article_id IN (SELECT a.id FROM articles a WHERE a.author_id = ?)";
    /// New article `?` by author `?`: it joins the feed of each of the author's followers.
    pub const ADD_ARTICLE: &str =
        "INSERT INTO feed_entries (user_id, article_id) SELECT f.follower_id, ? FROM follows f WHERE f.followee_id = ?";
}
