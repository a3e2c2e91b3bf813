//! Comments on articles.

use chrono::{DateTime, Utc};

use crate::cache::{Key, KeyPart};
use crate::db::{now, DbPool, LastInsertId};
use crate::db_run;

/// A comment with its author as the viewer sees them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Comment {
    /// Primary key.
    pub id: i64,
    /// The article it belongs to.
    pub article_id: i64,
    /// Text.
    pub body: String,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Updated (UTC).
    pub updated_at: DateTime<Utc>,
    /// Author id.
    pub author_id: i64,
    /// Author username.
    pub author_username: String,
    /// Author bio.
    pub author_bio: Option<String>,
    /// Author avatar.
    pub author_image: Option<String>,
    /// Whether the viewer follows the author.
    pub following: bool,
}

/// Every field a page can show, for the key of a memoized fragment made from the comment.
/// The pattern names each field, so a new field does not compile until it is here too.
impl KeyPart for Comment {
    fn write_to(&self, key: &mut Key) {
        let Comment {
            id,
            article_id,
            body,
            created_at,
            updated_at,
            author_id,
            author_username,
            author_bio,
            author_image,
            following,
        } = self;
        id.write_to(key);
        article_id.write_to(key);
        body.write_to(key);
        created_at.write_to(key);
        updated_at.write_to(key);
        author_id.write_to(key);
        author_username.write_to(key);
        author_bio.write_to(key);
        author_image.write_to(key);
        following.write_to(key);
    }
}

macro_rules! select_comments {
    () => {
        "SELECT c.id, c.article_id, c.body, c.created_at, c.updated_at, c.author_id, \
    u.username AS author_username, u.bio AS author_bio, u.image AS author_image, \
    EXISTS (SELECT 1 FROM follows fo WHERE fo.follower_id = ? AND fo.followee_id = c.author_id) AS following \
    FROM comments c JOIN users u ON u.id = c.author_id"
    };
}

/// The comments of an article, oldest first.
pub async fn list(db: &DbPool, article_id: i64, viewer: Option<i64>) -> Result<Vec<Comment>, sqlx::Error> {
    const SQL: &str = concat!(
        select_comments!(),
        " WHERE c.article_id = ? ORDER BY c.created_at, c.id"
    );
    db_run!(db, |c| sqlx::query_as::<_, Comment>(SQL)
        .bind(viewer.unwrap_or(-1))
        .bind(article_id)
        .fetch_all(c)
        .await)
}

/// One comment of an article.
pub async fn find(db: &DbPool, article_id: i64, id: i64, viewer: Option<i64>) -> Result<Option<Comment>, sqlx::Error> {
    const SQL: &str = concat!(select_comments!(), " WHERE c.article_id = ? AND c.id = ?");
    db_run!(db, |c| sqlx::query_as::<_, Comment>(SQL)
        .bind(viewer.unwrap_or(-1))
        .bind(article_id)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// Add a comment; returns its id.
pub async fn insert(db: &DbPool, article_id: i64, author_id: i64, body: &str) -> Result<i64, sqlx::Error> {
    const SQL: &str =
        "INSERT INTO comments (article_id, author_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)";
    let at = now();
    db_run!(db, |c| sqlx::query(SQL)
        .bind(article_id)
        .bind(author_id)
        .bind(body)
        .bind(at)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.last_id()))
}

/// Delete a comment.
pub async fn delete(db: &DbPool, id: i64) -> Result<(), sqlx::Error> {
    db_run!(db, |c| sqlx::query("DELETE FROM comments WHERE id = ?")
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
}
