//! Tags: the names articles are filed under.

use crate::db::DbPool;
use crate::db_run;

/// Tags in use, most used first (ties by name), at most `limit`. Reads the per-tag counter in
/// the order of its index (`tags_popular`) instead of grouping every article's tags.
pub async fn popular(db: &DbPool, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    const SQL: &str = "SELECT name FROM tags WHERE article_count > 0 ORDER BY article_count DESC, name LIMIT ?";
    db_run!(db, |c| sqlx::query_scalar::<_, String>(SQL)
        .bind(limit)
        .fetch_all(c)
        .await)
}
