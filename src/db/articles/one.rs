//! Reading one article: by slug, and with its comments in the same statement.

use sqlx::{FromRow, Row};

use super::counters::PerEngine;
use super::Article;
use crate::db::comments::{comment_columns, Comment, COMMENT_COLUMNS};
use crate::db::db_run;
use crate::db::{DbPool, UserId};

/// Where a row of one article carries its body (after the article's 14 columns).
const BODY_COLUMN: usize = 14;

/// The article at `slug` (with its body and tags), as seen by `viewer`. A slug no article could
/// have ([`could_be_slug`](crate::input::could_be_slug)) finds nothing without a query.
pub async fn find(
    db: &DbPool,
    slug: &str,
    viewer: Option<UserId>,
) -> Result<Option<Article>, sqlx::Error> {
    macro_rules! from {
        () => {
            ", a.body FROM articles a JOIN users u ON u.id = a.author_id WHERE a.slug = ?"
        };
    }
    const SQL: PerEngine = per_engine!(select_articles, from!());
    const SQL_ANONYMOUS: PerEngine = per_engine!(select_articles_anonymous, from!());
    if !crate::input::could_be_slug(slug) {
        return Ok(None);
    }
    let engine = db.engine();
    let article = db_run!(db, |c| match viewer {
        Some(viewer) => sqlx::query_as::<_, Article>(SQL.sql(engine))
            .bind(viewer)
            .bind(viewer),
        None => sqlx::query_as::<_, Article>(SQL_ANONYMOUS.sql(engine)),
    }
    .bind(slug)
    .fetch_optional(c)
    .await)?;
    Ok(article.map(Article::with_tags))
}

/// The article at `slug` and its comments (oldest first), as seen by `viewer`: one
/// statement. Each comment is a row of the article joined with it; the article's columns
/// repeat on every row but its body, which only the row of the first comment (or the one row
/// without comments) carries: a long body times many comments would otherwise be copied for
/// each. The first comment is an index seek. The rows are put in order here: an `ORDER BY`
/// made MariaDB copy the joined rows, body and all, into a temporary table (on disk, for a
/// text column) and sort it, which cost a third of its speed on the article page.
///
/// Like [`find`], a slug no article could have finds nothing without a query.
pub async fn find_with_comments(
    db: &DbPool,
    slug: &str,
    viewer: Option<UserId>,
) -> Result<Option<(Article, Vec<Comment>)>, sqlx::Error> {
    macro_rules! from {
        () => {
            concat!(
                ", CASE WHEN c.id IS NULL OR c.id = (SELECT MIN(c1.id) FROM comments c1 WHERE c1.article_id = a.id) \
                 THEN a.body END AS body, ",
                comment_columns!(),
                " FROM articles a JOIN users u ON u.id = a.author_id \
                 LEFT JOIN comments c ON c.article_id = a.id LEFT JOIN users cu ON cu.id = c.author_id \
                 WHERE a.slug = ?"
            )
        };
    }
    const SQL: PerEngine = per_engine!(select_articles, from!());
    const SQL_ANONYMOUS: PerEngine = per_engine!(select_articles_anonymous, from!());
    if !crate::input::could_be_slug(slug) {
        return Ok(None);
    }
    let engine = db.engine();
    let found = db_run!(db, |c| {
        let query = match viewer {
            Some(viewer) => sqlx::query(SQL.sql(engine)).bind(viewer).bind(viewer),
            None => sqlx::query(SQL_ANONYMOUS.sql(engine)),
        };
        query
            .bind(viewer.map_or(-1, UserId::get))
            .bind(slug)
            .fetch_all(c)
            .await
            .and_then(|rows| {
                let Some(first) = rows.first() else {
                    return Ok(None);
                };
                let mut article = Article::from_row(first)?;
                let mut comments = Vec::with_capacity(rows.len());
                for row in &rows {
                    if article.body.is_none() {
                        article.body = row.try_get(BODY_COLUMN)?;
                    }
                    // A LEFT JOIN with no comment: one row, the comment's columns NULL.
                    if row
                        .try_get::<Option<i64>, _>(row.len() - COMMENT_COLUMNS)?
                        .is_some()
                    {
                        comments.push(Comment::from_row(row)?);
                    }
                }
                // Oldest first: ids grow with creation (`created_at` is set on insert only).
                comments.sort_unstable_by_key(|c| c.id);
                Ok(Some((article, comments)))
            })
    })?;
    Ok(found.map(|(article, comments)| (article.with_tags(), comments)))
}
