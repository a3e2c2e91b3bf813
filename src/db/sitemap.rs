//! What the sitemap lists: every article and every profile with when it last changed, read
//! by primary key in id ranges and keyset batches (never `OFFSET`), so a part of any size is a
//! few range scans whatever the table's size.
//!
//! A sitemap part is an id range: part `n` (from 1) of `size` holds the rows whose id is in
//! `((n - 1) * size, n * size]`. Ids are unique integers, so a part never holds more than
//! `size` rows (fewer where rows were deleted) and its bounds need no query.

use chrono::{DateTime, Utc};

use crate::db::{db_run, DbPool, Engine};

/// Rows read per statement while a part is written out.
const BATCH: i64 = 1000;

/// One URL of the sitemap: the article's slug or the profile's username, and its `lastmod`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The row's id.
    pub id: i64,
    /// The article's slug, or the user's name.
    pub name: String,
    /// When the page last changed.
    pub lastmod: DateTime<Utc>,
}

/// The two kinds of page the sitemap lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/article/<slug>`: lastmod is the article's `updated_at`.
    Articles,
    /// `/profile/<username>`: lastmod is the later of the user's `updated_at` and their newest
    /// article change (the page lists their articles).
    Profiles,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Articles => "articles",
            Kind::Profiles => "users",
        }
    }
}

/// How many articles and users there are: the sitemap's size is their sum.
pub async fn counts(db: &DbPool) -> Result<(i64, i64), sqlx::Error> {
    const SQL: &str = "SELECT (SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM users)";
    db_run!(db, |c| sqlx::query_as::<_, (i64, i64)>(SQL)
        .fetch_one(c)
        .await)
}

/// The parts of `kind` (of `size` ids each, see the module's doc) that hold at least one row,
/// ascending: one pass over the primary key.
pub async fn parts(db: &DbPool, kind: Kind, size: i64) -> Result<Vec<i64>, sqlx::Error> {
    // Integer division: SQLite's `/` on integers, MySQL's `DIV` (its `/` is a decimal).
    let divide = match db.engine() {
        Engine::Sqlite => "/",
        Engine::MySql => "DIV",
    };
    let sql = format!(
        "SELECT DISTINCT CAST((id - 1) {divide} ? AS SIGNED) + 1 AS part FROM {} ORDER BY part",
        kind.table()
    );
    db_run!(db, |c| sqlx::query_scalar::<_, i64>(&sql)
        .bind(size)
        .fetch_all(c)
        .await)
}

/// The rows of `kind` with ids in `(after, upto]`, at most [`BATCH`] of them, by id.
async fn batch(db: &DbPool, kind: Kind, after: i64, upto: i64) -> Result<Vec<Entry>, sqlx::Error> {
    const ARTICLES: &str = "SELECT id, slug, updated_at, NULL AS articles_updated FROM articles \
         WHERE id > ? AND id <= ? ORDER BY id LIMIT ?";
    // The author's newest change through the articles (author_id, ...) index; NULL without one.
    const PROFILES: &str = "SELECT u.id, u.username, u.updated_at, \
         (SELECT MAX(a.updated_at) FROM articles a WHERE a.author_id = u.id) AS articles_updated \
         FROM users u WHERE u.id > ? AND u.id <= ? ORDER BY u.id LIMIT ?";
    let sql = match kind {
        Kind::Articles => ARTICLES,
        Kind::Profiles => PROFILES,
    };
    let rows = db_run!(db, |c| sqlx::query_as::<
        _,
        (i64, String, DateTime<Utc>, Option<DateTime<Utc>>),
    >(sql)
    .bind(after)
    .bind(upto)
    .bind(BATCH)
    .fetch_all(c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, updated, articles)| Entry {
            id,
            name,
            lastmod: articles.map_or(updated, |a| a.max(updated)),
        })
        .collect())
}

/// Every row of `kind` with an id in `(after, upto]`, by id, read [`BATCH`] rows at a time,
/// each handed to `each`.
pub async fn each_in(
    db: &DbPool,
    kind: Kind,
    after: i64,
    upto: i64,
    mut each: impl FnMut(Entry),
) -> Result<(), sqlx::Error> {
    let mut from = after;
    loop {
        let rows = batch(db, kind, from, upto).await?;
        let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= BATCH;
        for row in rows {
            from = row.id;
            each(row);
        }
        if !full {
            return Ok(());
        }
    }
}
