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

/// The text of [`POPULAR_NAMES`], as a literal for `concat!`.
macro_rules! popular_names_sql {
    () => {
        "(SELECT group_concat(pt.name ORDER BY pt.article_count DESC, pt.name) \
         FROM (SELECT name, article_count FROM tags WHERE article_count > 0 ORDER BY article_count DESC, name LIMIT ?) pt)"
    };
}

/// [`popular`] as one value: a scalar subquery (binds the limit) giving the names in the same
/// order, joined by commas (tags have none), or NULL when no tag is in use. A page's statement
/// carries it as a column, so the home page reads its sidebar in the same round trip
/// (`crate::db::articles::page_and_popular_tags`). The aggregate's own ORDER BY keeps the
/// order on both engines (SQLite >= 3.44); MySQL's length limit is raised on connect.
pub const POPULAR_NAMES: &str = popular_names_sql!();

/// [`POPULAR_NAMES`] on its own, for a page that carried no row.
pub async fn popular_names(db: &DbPool, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    const SQL: &str = concat!("SELECT ", popular_names_sql!());
    let names = db_run!(db, |c| sqlx::query_scalar::<_, Option<String>>(SQL)
        .bind(limit)
        .fetch_one(c)
        .await)?;
    Ok(split_names(names))
}

/// The names of [`POPULAR_NAMES`], in order.
pub fn split_names(names: Option<String>) -> Vec<String> {
    names
        .unwrap_or_default()
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}
