//! Tags: the names articles are filed under.

use crate::db::DbPool;
use crate::db_run;

/// Tags in use, most used first (ties by name), at most `limit`.
pub async fn popular(db: &DbPool, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    const SQL: &str = "SELECT t.name FROM tags t JOIN article_tags at ON at.tag_id = t.id \
                       GROUP BY t.id, t.name ORDER BY COUNT(*) DESC, t.name LIMIT ?";
    db_run!(db, |c| sqlx::query_scalar::<_, String>(SQL)
        .bind(limit)
        .fetch_all(c)
        .await)
}
