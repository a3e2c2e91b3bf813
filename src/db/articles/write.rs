//! Writing articles: create, update and delete (with their tags and the counters kept on
//! the rows), favorite and un-favorite.

use super::counters;
use crate::db::db_run;
use crate::db::db_transaction;
use crate::db::search::postings::KeepPostings;
use crate::db::{now, ArticleId, DbPool, Engine, LastInsertId, TagId, UserId};
use crate::error::is_unique_violation;

/// The fields of a new or edited article.
#[derive(Debug, Clone)]
pub struct ArticleData {
    /// Title.
    pub title: String,
    /// Summary.
    pub description: String,
    /// Markdown body.
    pub body: String,
    /// Tag names (already validated and de-duplicated).
    pub tags: Vec<String>,
}

/// Slug candidates: the base, then the base with a random suffix.
fn slug_candidate(base: &str, attempt: u32) -> String {
    if attempt == 0 {
        base.to_owned()
    } else {
        format!("{base}-{:06x}", rand::random::<u32>() & 0x00ff_ffff)
    }
}

/// How many slug candidates to try before giving up.
const SLUG_ATTEMPTS: u32 = 8;

/// Find a tag by name: its id and stored name (the spelling it was first written in).
const FIND_TAG: &str = "SELECT id, name FROM tags WHERE name = ?";

/// [`FIND_TAG`] as a locking read on MySQL: it sees a row another transaction committed after
/// this one's snapshot (the tag whose insert just failed as a duplicate). SQLite has one
/// writer at a time, whose snapshot is current.
fn find_tag_latest(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => FIND_TAG,
        Engine::MySql => "SELECT id, name FROM tags WHERE name = ? LOCK IN SHARE MODE",
    }
}

/// In transaction `$tx` on a pool of `$engine`: give article `$article_id` the tags `$tags`
/// (`$fresh`: a new article, which has none yet). The old tags lose it and the new ones gain it
/// in `tag_counts` (one slot, tags in id order: two writers sharing tags take them in the same
/// order), and the row's `tag_list` is written. The tags' own rows are only read (a new tag's
/// is inserted), and `article_tags` is read by plain reads: a locking read of a new article's
/// links took a shared lock on the end of the index, and two new articles then deadlocked
/// inserting theirs.
macro_rules! write_tags {
    ($tx:expr, $engine:expr, $article_id:expr, $tags:expr, $fresh:expr) => {{
        let slot = counters::slot($engine);
        let add = counters::ADD_TO_TAG_COUNT.sql($engine);
        if !$fresh {
            let old: Vec<TagId> = sqlx::query_scalar(
                "SELECT tag_id FROM article_tags WHERE article_id = ? ORDER BY tag_id",
            )
            .bind($article_id)
            .fetch_all(&mut *$tx)
            .await?;
            for tag_id in old {
                sqlx::query(add)
                    .bind(tag_id)
                    .bind(slot)
                    .bind(-1_i64)
                    .execute(&mut *$tx)
                    .await?;
            }
            sqlx::query("DELETE FROM article_tags WHERE article_id = ?")
                .bind($article_id)
                .execute(&mut *$tx)
                .await?;
        }
        let mut linked: Vec<(TagId, String)> = Vec::new();
        for tag in $tags {
            let known: Option<(TagId, String)> = sqlx::query_as(FIND_TAG)
                .bind(tag.as_str())
                .fetch_optional(&mut *$tx)
                .await?;
            let found = match known {
                Some(found) => found,
                None => {
                    // A concurrent insert of the same new tag is a unique violation we can
                    // ignore, since the row exists either way.
                    match sqlx::query("INSERT INTO tags (name, created_at) VALUES (?, ?)")
                        .bind(tag.as_str())
                        .bind(crate::db::now())
                        .execute(&mut *$tx)
                        .await
                    {
                        Err(e) if is_unique_violation(&e) => {}
                        other => {
                            other?;
                        }
                    }
                    sqlx::query_as(find_tag_latest($engine))
                        .bind(tag.as_str())
                        .fetch_one(&mut *$tx)
                        .await?
                }
            };
            if !linked.iter().any(|(id, _)| *id == found.0) {
                sqlx::query("INSERT INTO article_tags (article_id, tag_id) VALUES (?, ?)")
                    .bind($article_id)
                    .bind(found.0)
                    .execute(&mut *$tx)
                    .await?;
                linked.push(found);
            }
        }
        let tag_list = linked
            .iter()
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>()
            .join(",");
        linked.sort_unstable_by_key(|(id, _)| *id);
        for (tag_id, _) in &linked {
            sqlx::query(add)
                .bind(*tag_id)
                .bind(slot)
                .bind(1_i64)
                .execute(&mut *$tx)
                .await?;
        }
        sqlx::query("UPDATE articles SET tag_list = ? WHERE id = ?")
            .bind(tag_list)
            .bind($article_id)
            .execute(&mut *$tx)
            .await?;
    }};
}

/// Create an article and its tags in one transaction; returns the slug it got.
pub async fn insert(
    db: &DbPool,
    author_id: UserId,
    data: &ArticleData,
    base_slug: &str,
) -> Result<String, sqlx::Error> {
    const SQL: &str = "INSERT INTO articles (slug, title, description, body, author_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
    let at = now();
    let engine = db.engine();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        sqlx::query(counters::COUNT_AUTHORS_ARTICLE)
            .bind(author_id)
            .execute(&mut *tx)
            .await?;
        let mut attempt = 0;
        let (id, slug) = loop {
            let slug = slug_candidate(base_slug, attempt);
            let result = sqlx::query(SQL)
                .bind(&slug)
                .bind(&data.title)
                .bind(&data.description)
                .bind(&data.body)
                .bind(author_id)
                .bind(at)
                .bind(at)
                .execute(&mut *tx)
                .await;
            match result {
                Ok(done) => break (ArticleId::new(done.last_id()), slug),
                Err(e) if is_unique_violation(&e) && attempt + 1 < SLUG_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
            }
        };
        write_tags!(tx, engine, id, &data.tags, true);
        (*tx)
            .sync_postings(id, &data.title, &data.description, &data.body)
            .await?;
        let slot = counters::slot(engine);
        sqlx::query(counters::COUNT_NEW_ARTICLE)
            .bind(slot)
            .execute(&mut *tx)
            .await?;
        sqlx::query(counters::COUNT_ARTICLE_IN_BLOCK.sql(engine))
            .bind(id)
            .bind(slot)
            .execute(&mut *tx)
            .await?;
        sqlx::query(crate::db::profiles::feed::ADD_ARTICLE)
            .bind(id)
            .bind(author_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(slug)
    })
    .inspect(|_| db.tags_changed())
}

/// Change an article (and its slug when `new_base_slug` is given) in one transaction; returns
/// the slug it has afterwards.
pub async fn update(
    db: &DbPool,
    id: ArticleId,
    current_slug: &str,
    data: &ArticleData,
    new_base_slug: Option<&str>,
) -> Result<String, sqlx::Error> {
    const SQL: &str = "UPDATE articles SET slug = ?, title = ?, description = ?, body = ?, updated_at = ? WHERE id = ?";
    let at = now();
    let engine = db.engine();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let mut attempt = 0;
        let slug = loop {
            let slug = new_base_slug.map_or_else(
                || current_slug.to_owned(),
                |base| slug_candidate(base, attempt),
            );
            let result = sqlx::query(SQL)
                .bind(&slug)
                .bind(&data.title)
                .bind(&data.description)
                .bind(&data.body)
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await;
            match result {
                Ok(_) => break slug,
                Err(e)
                    if is_unique_violation(&e)
                        && new_base_slug.is_some()
                        && attempt + 1 < SLUG_ATTEMPTS =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        write_tags!(tx, engine, id, &data.tags, false);
        (*tx)
            .sync_postings(id, &data.title, &data.description, &data.body)
            .await?;
        tx.commit().await?;
        Ok(slug)
    })
    .inspect(|_| db.tags_changed())
}

/// Delete an article (its tags links, favorites and comments go with it).
pub async fn delete(db: &DbPool, id: ArticleId) -> Result<(), sqlx::Error> {
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        if !delete_article_in!(tx, db.engine(), id) {
            // Already gone: dropping the transaction rolls the counter updates back.
            return Ok(());
        }
        tx.commit().await
    })
    .inspect(|()| db.tags_changed())
}

/// Whether `user_id` has favorited article `id`.
async fn is_favorite(db: &DbPool, user_id: UserId, id: ArticleId) -> Result<bool, sqlx::Error> {
    const SQL: &str =
        "SELECT EXISTS (SELECT 1 FROM favorites WHERE user_id = ? AND article_id = ?)";
    db_run!(db, |c| sqlx::query_scalar::<_, bool>(SQL)
        .bind(user_id)
        .bind(id)
        .fetch_one(c)
        .await)
}

/// `user_id` favorites article `id` (idempotent); the article's count follows in the same
/// transaction, in one slot of `favorite_counts` (see [`counters`]): the article's row is only
/// read (the foreign keys' shared locks), so favorites of one article on two Galera nodes
/// touch no common row but one time in sixteen. The favorite goes in first: a duplicate stops
/// there, and on MySQL its shared lock on the article comes before the count's, in the order
/// an article delete would take them (the article, then by cascade the counts).
pub async fn favorite(db: &DbPool, user_id: UserId, id: ArticleId) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO favorites (user_id, article_id, created_at) VALUES (?, ?, ?)";
    // Already a favorite (a repeated click or retry): nothing to write, so no write lock to
    // wait for. A racing insert is still caught below by the primary key.
    if is_favorite(db, user_id, id).await? {
        return Ok(());
    }
    let engine = db.engine();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        match sqlx::query(SQL)
            .bind(user_id)
            .bind(id)
            .bind(now())
            .execute(&mut *tx)
            .await
        {
            // Already a favorite: nothing changes (the transaction rolls back on drop).
            Err(e) if is_unique_violation(&e) => return Ok(()),
            other => other?,
        };
        sqlx::query(counters::ADD_TO_FAVORITE_COUNT.sql(engine))
            .bind(id)
            .bind(counters::slot(engine))
            .bind(1_i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })
}

/// `user_id` un-favorites article `id` (idempotent): the favorite goes, then its count, as in
/// [`favorite`].
pub async fn unfavorite(db: &DbPool, user_id: UserId, id: ArticleId) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM favorites WHERE user_id = ? AND article_id = ?";
    if !is_favorite(db, user_id, id).await? {
        return Ok(());
    }
    let engine = db.engine();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let removed = sqlx::query(SQL)
            .bind(user_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if removed.rows_affected() == 0 {
            // Not a favorite after all: nothing to count.
            return Ok(());
        }
        sqlx::query(counters::ADD_TO_FAVORITE_COUNT.sql(engine))
            .bind(id)
            .bind(counters::slot(engine))
            .bind(-1_i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })
}
