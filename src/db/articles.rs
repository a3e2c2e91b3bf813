//! Articles, their tags and favorites. A list page is one statement whatever its size: the
//! total, the author, the favorite count, the viewer's flags and the tags are folded in.

use chrono::{DateTime, Utc};

use crate::db::{now, DbPool, LastInsertId};
use crate::db_run;
use crate::error::is_unique_violation;

/// An article with everything a reader sees, relative to one viewer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Article {
    /// Primary key.
    pub id: i64,
    /// URL identifier, unique.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub description: String,
    /// Markdown body; `None` in lists.
    #[sqlx(default)]
    pub body: Option<String>,
    /// Creation time (UTC).
    pub created_at: DateTime<Utc>,
    /// Last update (UTC).
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
    /// How many users favorited it.
    pub favorites_count: i64,
    /// Whether the viewer favorited it.
    pub favorited: bool,
    /// Tag names, alphabetical (filled from `tag_names` after the row is read).
    #[sqlx(skip)]
    pub tags: Vec<String>,
    /// The tag names as the database concatenated them (comma-separated; tags have no commas).
    #[sqlx(default)]
    tag_names: Option<String>,
    /// In list rows: how many articles match the filter in all.
    #[sqlx(default)]
    total: Option<i64>,
}

impl Article {
    /// Split `tag_names` into `tags`, alphabetical whatever the engine's collation.
    fn with_tags(mut self) -> Self {
        let mut tags: Vec<String> = self
            .tag_names
            .take()
            .unwrap_or_default()
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        tags.sort_by_key(|t| t.to_lowercase());
        self.tags = tags;
        self
    }
}

/// One page of a list and the number of articles matching its filter.
#[derive(Debug, Default)]
pub struct Page {
    /// The articles on this page, newest first.
    pub articles: Vec<Article>,
    /// How many match the filter in all.
    pub total: i64,
}

/// Which articles a list shows. Filters combine with AND.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Only articles with this tag.
    pub tag: Option<String>,
    /// Only articles by this username.
    pub author: Option<String>,
    /// Only articles favorited by this username.
    pub favorited_by: Option<String>,
    /// Only articles by authors this user id follows (the feed).
    pub feed_of: Option<i64>,
}

/// A bound value of a dynamically assembled query.
enum Bind {
    Int(i64),
    Text(String),
}

macro_rules! select_articles {
    () => {
        "SELECT a.id, a.slug, a.title, a.description, a.created_at, a.updated_at, a.author_id, \
    u.username AS author_username, u.bio AS author_bio, u.image AS author_image, \
    EXISTS (SELECT 1 FROM follows fo WHERE fo.follower_id = ? AND fo.followee_id = a.author_id) AS following, \
    (SELECT COUNT(*) FROM favorites fc WHERE fc.article_id = a.id) AS favorites_count, \
    EXISTS (SELECT 1 FROM favorites fv WHERE fv.user_id = ? AND fv.article_id = a.id) AS favorited, \
    (SELECT group_concat(t.name) FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE at.article_id = a.id) AS tag_names"
    };
}

fn where_clause(filter: &Filter) -> (String, Vec<Bind>) {
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    if let Some(tag) = &filter.tag {
        conditions.push(
            "a.id IN (SELECT at.article_id FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE t.name = ?)",
        );
        binds.push(Bind::Text(tag.clone()));
    }
    if let Some(author) = &filter.author {
        conditions.push("a.author_id IN (SELECT id FROM users WHERE username = ?)");
        binds.push(Bind::Text(author.clone()));
    }
    if let Some(user) = &filter.favorited_by {
        conditions.push(
            "a.id IN (SELECT f.article_id FROM favorites f JOIN users fu ON fu.id = f.user_id WHERE fu.username = ?)",
        );
        binds.push(Bind::Text(user.clone()));
    }
    if let Some(id) = filter.feed_of {
        conditions.push("a.author_id IN (SELECT followee_id FROM follows WHERE follower_id = ?)");
        binds.push(Bind::Int(id));
    }
    let sql = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    (sql, binds)
}

/// How many articles match `filter`.
pub async fn count(db: &DbPool, filter: &Filter) -> Result<i64, sqlx::Error> {
    let (conditions, binds) = where_clause(filter);
    let sql = format!("SELECT COUNT(*) FROM articles a{conditions}");
    db_run!(db, |c| {
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for bind in &binds {
            query = match bind {
                Bind::Int(v) => query.bind(*v),
                Bind::Text(v) => query.bind(v.as_str()),
            };
        }
        query.fetch_one(c).await
    })
}

/// One page of articles matching `filter`, newest first, as seen by `viewer`, with their tags
/// and the total: one statement. The page's ids are picked first in a derived table, so the
/// per-row subqueries run for the page only; MariaDB otherwise evaluated them for every
/// matching row before sorting.
pub async fn page(
    db: &DbPool,
    filter: &Filter,
    viewer: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<Page, sqlx::Error> {
    let (conditions, binds) = where_clause(filter);
    // The total is an uncorrelated scalar subquery (evaluated once); a `COUNT(*) OVER ()`
    // window made SQLite copy every matching row into a temporary b-tree on each request.
    // CROSS JOIN fixes the join order (SQLite honours it; MySQL reads it as JOIN): without it
    // SQLite 3.46 scanned every article and probed the page, instead of the reverse.
    let sql = format!(
        "{}, (SELECT COUNT(*) FROM articles a{conditions}) AS total \
         FROM (SELECT a.id FROM articles a{conditions} ORDER BY a.created_at DESC, a.id DESC LIMIT ? OFFSET ?) page \
         CROSS JOIN articles a ON a.id = page.id CROSS JOIN users u ON u.id = a.author_id \
         ORDER BY a.created_at DESC, a.id DESC",
        select_articles!()
    );
    let viewer = viewer.unwrap_or(-1);
    let rows = db_run!(db, |c| {
        let mut query = sqlx::query_as::<_, Article>(&sql).bind(viewer).bind(viewer);
        // The filter's values appear twice: in the total and in the page's ids.
        for bind in binds.iter().chain(&binds) {
            query = match bind {
                Bind::Int(v) => query.bind(*v),
                Bind::Text(v) => query.bind(v.as_str()),
            };
        }
        query.bind(limit).bind(offset).fetch_all(c).await
    })?;
    let total = match rows.first() {
        Some(first) => first.total.unwrap_or_default(),
        // Past the end (or nothing matches): no row carried the total.
        None if offset > 0 => count(db, filter).await?,
        None => 0,
    };
    Ok(Page {
        articles: rows.into_iter().map(Article::with_tags).collect(),
        total,
    })
}

/// The article at `slug` (with its body and tags), as seen by `viewer`.
pub async fn find(db: &DbPool, slug: &str, viewer: Option<i64>) -> Result<Option<Article>, sqlx::Error> {
    const SQL: &str = concat!(
        select_articles!(),
        ", a.body FROM articles a JOIN users u ON u.id = a.author_id WHERE a.slug = ?"
    );
    let viewer = viewer.unwrap_or(-1);
    let article = db_run!(db, |c| sqlx::query_as::<_, Article>(SQL)
        .bind(viewer)
        .bind(viewer)
        .bind(slug)
        .fetch_optional(c)
        .await)?;
    Ok(article.map(Article::with_tags))
}

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

macro_rules! write_tags {
    ($tx:expr, $article_id:expr, $tags:expr) => {{
        sqlx::query("DELETE FROM article_tags WHERE article_id = ?")
            .bind($article_id)
            .execute(&mut *$tx)
            .await?;
        for tag in $tags {
            // Insert the tag if new; a concurrent insert of the same new tag is a unique
            // violation we can ignore, since the row exists either way.
            match sqlx::query("INSERT INTO tags (name) VALUES (?)")
                .bind(tag.as_str())
                .execute(&mut *$tx)
                .await
            {
                Err(e) if is_unique_violation(&e) => {}
                other => {
                    other?;
                }
            }
            let tag_id: i64 = sqlx::query_scalar("SELECT id FROM tags WHERE name = ?")
                .bind(tag.as_str())
                .fetch_one(&mut *$tx)
                .await?;
            match sqlx::query("INSERT INTO article_tags (article_id, tag_id) VALUES (?, ?)")
                .bind($article_id)
                .bind(tag_id)
                .execute(&mut *$tx)
                .await
            {
                Err(e) if is_unique_violation(&e) => {}
                other => {
                    other?;
                }
            }
        }
    }};
}

/// Create an article and its tags in one transaction; returns the slug it got.
pub async fn insert(db: &DbPool, author_id: i64, data: &ArticleData, base_slug: &str) -> Result<String, sqlx::Error> {
    const SQL: &str = "INSERT INTO articles (slug, title, description, body, author_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
    let at = now();
    db_run!(db, |c| {
        let mut tx = c.begin().await?;
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
                Ok(done) => break (done.last_id(), slug),
                Err(e) if is_unique_violation(&e) && attempt + 1 < SLUG_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
            }
        };
        write_tags!(tx, id, &data.tags);
        tx.commit().await?;
        Ok(slug)
    })
}

/// Change an article (and its slug when `new_base_slug` is given) in one transaction; returns
/// the slug it has afterwards.
pub async fn update(
    db: &DbPool,
    id: i64,
    current_slug: &str,
    data: &ArticleData,
    new_base_slug: Option<&str>,
) -> Result<String, sqlx::Error> {
    const SQL: &str = "UPDATE articles SET slug = ?, title = ?, description = ?, body = ?, updated_at = ? WHERE id = ?";
    let at = now();
    db_run!(db, |c| {
        let mut tx = c.begin().await?;
        let mut attempt = 0;
        let slug = loop {
            let slug = new_base_slug.map_or_else(|| current_slug.to_owned(), |base| slug_candidate(base, attempt));
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
                Err(e) if is_unique_violation(&e) && new_base_slug.is_some() && attempt + 1 < SLUG_ATTEMPTS => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        write_tags!(tx, id, &data.tags);
        tx.commit().await?;
        Ok(slug)
    })
}

/// Delete an article (its tags links, favorites and comments go with it).
pub async fn delete(db: &DbPool, id: i64) -> Result<(), sqlx::Error> {
    db_run!(db, |c| sqlx::query("DELETE FROM articles WHERE id = ?")
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// `user_id` favorites article `id` (idempotent).
pub async fn favorite(db: &DbPool, user_id: i64, id: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO favorites (user_id, article_id, created_at) VALUES (?, ?, ?)";
    match db_run!(db, |c| sqlx::query(SQL)
        .bind(user_id)
        .bind(id)
        .bind(now())
        .execute(c)
        .await
        .map(|_| ()))
    {
        Err(e) if is_unique_violation(&e) => Ok(()),
        other => other,
    }
}

/// `user_id` un-favorites article `id` (idempotent).
pub async fn unfavorite(db: &DbPool, user_id: i64, id: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM favorites WHERE user_id = ? AND article_id = ?";
    db_run!(db, |c| sqlx::query(SQL)
        .bind(user_id)
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
}
