//! Comments on articles.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::db::db_run;
use crate::db::db_transaction;
use crate::db::{now, ArticleId, CommentId, DbPool, LastInsertId, UserId};

/// A comment with its author as the viewer sees them.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Primary key.
    pub id: CommentId,
    /// The article it belongs to.
    pub article_id: ArticleId,
    /// Text.
    pub body: String,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Updated (UTC).
    pub updated_at: DateTime<Utc>,
    /// Author id.
    pub author_id: UserId,
    /// Author username.
    pub author_username: String,
    /// Author bio.
    pub author_bio: Option<String>,
    /// Author avatar.
    pub author_image: Option<String>,
    /// Whether the viewer follows the author.
    pub following: bool,
}

/// Reads [`comment_columns!`] by position (see `Article`'s impl for why positions): they are
/// the row's last ten, alone or after an article's (`crate::db::articles::find_with_comments`).
impl<'r, R> sqlx::FromRow<'r, R> for Comment
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let at = row.len().saturating_sub(COMMENT_COLUMNS);
        Ok(Self {
            id: row.try_get(at)?,
            article_id: row.try_get(at + 1)?,
            body: row.try_get(at + 2)?,
            created_at: row.try_get(at + 3)?,
            updated_at: row.try_get(at + 4)?,
            author_id: row.try_get(at + 5)?,
            author_username: row.try_get(at + 6)?,
            author_bio: row.try_get(at + 7)?,
            author_image: row.try_get(at + 8)?,
            following: row.try_get(at + 9)?,
        })
    }
}

/// How many columns [`comment_columns!`] has.
pub(crate) const COMMENT_COLUMNS: usize = 10;

/// The columns of a [`Comment`] (`c`) and its author (`cu`); binds the viewer's id once.
macro_rules! comment_columns {
    () => {
        "c.id, c.article_id, c.body, c.created_at, c.updated_at, c.author_id, \
    cu.username AS author_username, cu.bio AS author_bio, cu.image AS author_image, \
    EXISTS (SELECT 1 FROM follows fo WHERE fo.follower_id = ? AND fo.followee_id = c.author_id) AS following"
    };
}
pub(crate) use comment_columns;

macro_rules! select_comments {
    () => {
        concat!(
            "SELECT ",
            comment_columns!(),
            " FROM comments c JOIN users cu ON cu.id = c.author_id"
        )
    };
}

/// One comment of an article.
pub async fn find(
    db: &DbPool,
    article_id: ArticleId,
    id: CommentId,
    viewer: Option<UserId>,
) -> Result<Option<Comment>, sqlx::Error> {
    const SQL: &str = concat!(select_comments!(), " WHERE c.article_id = ? AND c.id = ?");
    db_run!(db, |c| sqlx::query_as::<_, Comment>(SQL)
        .bind(viewer.map_or(-1, UserId::get))
        .bind(article_id)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// Add a comment; returns its id.
pub async fn insert(
    db: &DbPool,
    article_id: ArticleId,
    author_id: UserId,
    body: &str,
) -> Result<CommentId, sqlx::Error> {
    const SQL: &str =
        "INSERT INTO comments (article_id, author_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)";
    let at = now();
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(article_id)
        .bind(author_id)
        .bind(body)
        .bind(at)
        .bind(at)
        .execute(c)
        .await
        .map(|r| CommentId::new(r.last_id())))
}

/// Delete a comment.
pub async fn delete(db: &DbPool, id: CommentId) -> Result<(), sqlx::Error> {
    db_transaction!(db, |c| sqlx::query("DELETE FROM comments WHERE id = ?")
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
}
