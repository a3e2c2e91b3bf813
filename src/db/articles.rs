//! Articles, their tags and favorites. A list page is one statement whatever its size: the
//! total, the author, the favorite count, the viewer's flags and the tags are folded in.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, Row};

use crate::cache::{Key, KeyPart};
use crate::db::comments::{comment_columns, Comment, COMMENT_COLUMNS};
use crate::db::users::{token_claim_holds, TokenClaim};
use crate::db::{now, DbPool, LastInsertId};
use crate::db_run;
use crate::db_transaction;
use crate::error::is_unique_violation;

/// An article with everything a reader sees, relative to one viewer.
#[derive(Debug, Clone)]
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
    pub tags: Vec<String>,
    /// The tag names as the database concatenated them (comma-separated; tags have no commas).
    tag_names: Option<String>,
    /// In list rows: how many articles match the filter in all.
    total: Option<i64>,
}

/// Reads the columns of [`article_columns!`] plus the viewer's flags by position, then `total`
/// (lists) or `body` (one article) as column 14. Positions instead of names: the derived impl
/// looked every column name up in a hash map, 5% of a list request.
impl<'r, R> sqlx::FromRow<'r, R> for Article
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let extra = row.columns().get(14).map(sqlx::Column::name);
        Ok(Self {
            id: row.try_get(0)?,
            slug: row.try_get(1)?,
            title: row.try_get(2)?,
            description: row.try_get(3)?,
            created_at: row.try_get(4)?,
            updated_at: row.try_get(5)?,
            author_id: row.try_get(6)?,
            author_username: row.try_get(7)?,
            author_bio: row.try_get(8)?,
            author_image: row.try_get(9)?,
            favorites_count: row.try_get(10)?,
            tag_names: row.try_get(11)?,
            following: row.try_get(12)?,
            favorited: row.try_get(13)?,
            total: if extra == Some("total") { row.try_get(14)? } else { None },
            body: if extra == Some("body") { row.try_get(14)? } else { None },
            tags: Vec::new(),
        })
    }
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
        tags.sort_unstable_by(|a, b| crate::db::tags::by_name(a, b));
        self.tags = tags;
        self
    }
}

#[cfg(test)]
impl Article {
    /// An article with this title, author bio and favorite flag (the rest fixed), for tests.
    pub(crate) fn for_test(title: &str, bio: Option<&str>, favorited: bool) -> Self {
        let at = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap_or_default();
        Self {
            id: 7,
            slug: "a-slug".into(),
            title: title.into(),
            description: title.into(),
            body: None,
            created_at: at,
            updated_at: at,
            author_id: 3,
            author_username: "writer".into(),
            author_bio: bio.map(str::to_owned),
            author_image: bio.map(|_| "https://img.example/a.png".to_owned()),
            following: favorited,
            favorites_count: 12,
            favorited,
            tags: vec!["rust".into(), title.into()],
            tag_names: None,
            total: None,
        }
    }
}

/// Every field a page can show, for the key of a memoized fragment made from the article.
/// The pattern names each field, so a new field does not compile until it is here too.
impl KeyPart for Article {
    fn write_to(&self, key: &mut Key) {
        let Article {
            id,
            slug,
            title,
            description,
            body,
            created_at,
            updated_at,
            author_id,
            author_username,
            author_bio,
            author_image,
            following,
            favorites_count,
            favorited,
            tags,
            // Read-time carriers: `tags` holds the names, `total` belongs to the list.
            tag_names: _,
            total: _,
        } = self;
        id.write_to(key);
        slug.write_to(key);
        title.write_to(key);
        description.write_to(key);
        body.write_to(key);
        created_at.write_to(key);
        updated_at.write_to(key);
        author_id.write_to(key);
        author_username.write_to(key);
        author_bio.write_to(key);
        author_image.write_to(key);
        following.write_to(key);
        favorites_count.write_to(key);
        favorited.write_to(key);
        tags.write_to(key);
    }
}

/// One page of a list and the number of articles matching its filter.
#[derive(Debug, Default)]
pub struct Page {
    /// The articles on this page, newest first.
    pub articles: Vec<Article>,
    /// How many match the filter in all.
    pub total: i64,
    /// The popular tags' packed pairs (`crate::db::tags::split_names`), when asked for and a
    /// row carried them.
    popular_tags: Option<String>,
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

/// `$query` with each [`Bind`] of `$binds` bound in order (any kind of sqlx query).
macro_rules! bind_values {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for bind in $binds {
            query = match bind {
                Bind::Int(v) => query.bind(*v),
                Bind::Text(v) => query.bind(v.as_str()),
            };
        }
        query
    }};
}

/// The columns of an article row. The favorite count and the tag names are read from the
/// counters kept on the row (see `migrations/*/20261124000002_list_performance.sql`), so a list costs no
/// subquery per article for them.
macro_rules! article_columns {
    () => {
        "SELECT a.id, a.slug, a.title, a.description, a.created_at, a.updated_at, a.author_id, \
    u.username AS author_username, u.bio AS author_bio, u.image AS author_image, \
    a.favorites_count, a.tag_list AS tag_names"
    };
}

/// Article columns plus the viewer's flags; binds the viewer's id twice.
macro_rules! select_articles {
    () => {
        concat!(
            article_columns!(),
            ", EXISTS (SELECT 1 FROM follows fo WHERE fo.follower_id = ? AND fo.followee_id = a.author_id) AS following, \
    EXISTS (SELECT 1 FROM favorites fv WHERE fv.user_id = ? AND fv.article_id = a.id) AS favorited"
        )
    };
}

/// Article columns for an anonymous reader, who follows and favorites nothing: no lookups.
macro_rules! select_articles_anonymous {
    () => {
        concat!(article_columns!(), ", FALSE AS following, FALSE AS favorited")
    };
}

/// In transaction `$tx`: take article `$id` out of every counter, then delete it (its tag
/// links, favorites and comments go by cascade). Evaluates to whether a row went; when none
/// did (a concurrent delete won), the caller must roll back, undoing the counter updates.
macro_rules! delete_article_in {
    ($tx:expr, $id:expr) => {{
        use $crate::db::articles::counters;
        for sql in [
            counters::RELEASE_ARTICLE_TAGS,
            counters::UNCOUNT_ARTICLE,
            counters::UNCOUNT_AUTHORS_ARTICLE,
        ] {
            sqlx::query(sql).bind($id).execute(&mut *$tx).await?;
        }
        sqlx::query("DELETE FROM articles WHERE id = ?")
            .bind($id)
            .execute(&mut *$tx)
            .await?
            .rows_affected()
            > 0
    }};
}
pub(crate) use delete_article_in;

/// SQL that keeps the counters in step; each runs in the transaction of the change it follows.
pub(crate) mod counters {
    /// Before deleting article `?`: its tags lose an article each.
    pub const RELEASE_ARTICLE_TAGS: &str = "UPDATE tags SET article_count = article_count - 1 \
        WHERE id IN (SELECT tag_id FROM article_tags WHERE article_id = ?)";
    /// Before deleting user `?` (bound twice): the tags of their articles lose those articles.
    pub const RELEASE_USER_TAGS: &str = "UPDATE tags SET article_count = article_count - \
        (SELECT COUNT(*) FROM article_tags at JOIN articles a ON a.id = at.article_id \
         WHERE a.author_id = ? AND at.tag_id = tags.id) \
        WHERE id IN (SELECT at.tag_id FROM article_tags at JOIN articles a ON a.id = at.article_id WHERE a.author_id = ?)";
    /// Before deleting user `?`: the articles they favorited lose a favorite.
    pub const RELEASE_USER_FAVORITES: &str = "UPDATE articles SET favorites_count = favorites_count - 1 \
        WHERE id IN (SELECT article_id FROM favorites WHERE user_id = ?)";
    /// Rewrite `tag_list` of the articles carrying tag `?2`, leaving out tag `?1` (bind -1 to
    /// leave out none): after a rename, or before the tag is deleted.
    pub const REWRITE_TAG_LISTS: &str = "UPDATE articles SET tag_list = COALESCE((SELECT group_concat(t.name) \
        FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE at.article_id = articles.id AND t.id <> ?), '') \
        WHERE id IN (SELECT article_id FROM article_tags WHERE tag_id = ?)";
    /// After inserting an article: one more in all.
    pub const COUNT_NEW_ARTICLE: &str = "UPDATE counts SET value = value + 1 WHERE name = 'articles'";
    /// Inserting an article by user `?`: one more by them. Runs first in the transaction, so
    /// the author's row is its first lock: follows and unfollows of the author take the same
    /// lock first (`crate::db::profiles::feed::LOCK_AUTHOR`) and so run one after the other
    /// with a new article, never deadlocking over follows and articles on MySQL.
    pub const COUNT_AUTHORS_ARTICLE: &str = "UPDATE users SET articles_count = articles_count + 1 WHERE id = ?";
    /// Before deleting article `?`: one fewer in all.
    pub const UNCOUNT_ARTICLE: &str =
        "UPDATE counts SET value = value - 1 WHERE name = 'articles' AND EXISTS (SELECT 1 FROM articles WHERE id = ?)";
    /// Before deleting article `?`: one fewer by its author.
    pub const UNCOUNT_AUTHORS_ARTICLE: &str =
        "UPDATE users SET articles_count = articles_count - 1 WHERE id = (SELECT author_id FROM articles WHERE id = ?)";
    /// Before deleting user `?`: their articles go.
    pub const UNCOUNT_USER_ARTICLES: &str =
        "UPDATE counts SET value = value - (SELECT COUNT(*) FROM articles WHERE author_id = ?) WHERE name = 'articles'";
    /// Rewrite `tag_list` of article `?`.
    pub const REWRITE_TAG_LIST: &str = "UPDATE articles SET tag_list = COALESCE((SELECT group_concat(t.name) \
        FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE at.article_id = articles.id), '') WHERE id = ?";
}

/// The rows a list is read from: a join that yields matching article ids in id order from one
/// index, the conditions of the remaining filters, and their values.
///
/// "Newest first" is `id DESC`: ids grow with creation (`created_at` is set on insert and
/// never changed), and every filter has an index that is ordered by article id within the
/// filtered value: `article_tags (tag_id, article_id)`, `favorites (user_id, article_id)`,
/// `articles (author_id, id)` and the primary key. A page therefore reads its rows from the
/// front of one index range and stops, instead of sorting every match. The feed merges the
/// ranges of the followed authors.
struct Source {
    /// `FROM` items (see [`FilterSql::from`]).
    from: &'static str,
    /// The expression for the article id.
    id: &'static str,
    /// `WHERE` clause (with a leading space), or empty.
    conditions: String,
    /// An expression for how many articles match, with the same `?`s as `conditions`.
    total: String,
    /// Values for the `?`s of `conditions`, in order.
    binds: Vec<Bind>,
}

/// How one kind of filter reads: the rows that drive a list when it is the first filter
/// present, the condition that narrows a list driven by another, and the counter that totals
/// it when it is the only one.
struct FilterSql {
    /// `FROM` items when it drives; the filtering row comes first (`CROSS JOIN` keeps it first
    /// on SQLite).
    from: &'static str,
    /// The article id in `from`.
    id: &'static str,
    /// The condition when it drives.
    driving: &'static str,
    /// A subquery of article ids, when another filter drives.
    narrowing: &'static str,
    /// Its total when it is the only filter, from a counter; `None`: count the index range.
    counter: Option<&'static str>,
}

const BY_TAG: FilterSql = FilterSql {
    from: "tags dt CROSS JOIN article_tags d ON d.tag_id = dt.id",
    id: "d.article_id",
    driving: "dt.name = ?",
    // Listed for completeness: a tag, when present, always drives.
    narrowing: "SELECT ft.article_id FROM article_tags ft JOIN tags t ON t.id = ft.tag_id WHERE t.name = ?",
    counter: Some("COALESCE((SELECT article_count FROM tags WHERE name = ?), 0)"),
};

const BY_FAVORITED: FilterSql = FilterSql {
    from: "users du CROSS JOIN favorites d ON d.user_id = du.id",
    id: "d.article_id",
    driving: "du.username = ?",
    narrowing: "SELECT f.article_id FROM favorites f JOIN users fu ON fu.id = f.user_id WHERE fu.username = ?",
    counter: None,
};

const BY_AUTHOR: FilterSql = FilterSql {
    from: "users du CROSS JOIN articles d ON d.author_id = du.id",
    id: "d.id",
    driving: "du.username = ?",
    narrowing: "SELECT aa.id FROM articles aa JOIN users au ON au.id = aa.author_id WHERE au.username = ?",
    counter: Some("COALESCE((SELECT articles_count FROM users WHERE username = ?), 0)"),
};

/// The followed authors' ranges of `articles (author_id, id)`, merged and sorted: the one list
/// whose cost grows with the data (fan-out on read).
const BY_FEED: FilterSql = FilterSql {
    // Each reader's feed is written ahead (`feed_entries`, kept by src/db/profiles.rs and
    // article inserts): a page reads one primary-key range, newest first.
    from: "feed_entries d",
    id: "d.article_id",
    driving: "d.user_id = ?",
    narrowing: "SELECT fe.article_id FROM feed_entries fe WHERE fe.user_id = ?",
    // MySQL's SUM is a DECIMAL; SQLite reads SIGNED as an integer too.
    counter: Some(
        "CAST(COALESCE((SELECT SUM(fu.articles_count) FROM follows df JOIN users fu ON fu.id = df.followee_id \
         WHERE df.follower_id = ?), 0) AS SIGNED)",
    ),
};

fn source(filter: &Filter) -> Source {
    // The filters present, in the order in which they are preferred to drive the list.
    let present: Vec<(&FilterSql, Bind)> = [
        filter.tag.clone().map(|t| (&BY_TAG, Bind::Text(t))),
        filter.favorited_by.clone().map(|u| (&BY_FAVORITED, Bind::Text(u))),
        filter.author.clone().map(|a| (&BY_AUTHOR, Bind::Text(a))),
        filter.feed_of.map(|f| (&BY_FEED, Bind::Int(f))),
    ]
    .into_iter()
    .flatten()
    .collect();
    let (from, id) = present.first().map_or(("articles d", "d.id"), |(d, _)| (d.from, d.id));
    let conditions: Vec<String> = present
        .iter()
        .enumerate()
        .map(|(i, (sql, _))| {
            if i == 0 {
                sql.driving.to_owned()
            } else {
                format!("{id} IN ({})", sql.narrowing)
            }
        })
        .collect();
    let conditions = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    // Unfiltered and single-filter totals come from counters; combinations count their range.
    let total = match present.as_slice() {
        [] => Some("COALESCE((SELECT value FROM counts WHERE name = 'articles'), 0)"),
        [(only, _)] => only.counter,
        _ => None,
    }
    .map_or_else(|| format!("(SELECT COUNT(*) FROM {from}{conditions})"), str::to_owned);
    Source {
        from,
        id,
        conditions,
        total,
        binds: present.into_iter().map(|(_, bind)| bind).collect(),
    }
}

/// How many articles match `filter`.
pub async fn count(db: &DbPool, filter: &Filter) -> Result<i64, sqlx::Error> {
    let Source { total, binds, .. } = source(filter);
    let sql = format!("SELECT {total}");
    db_run!(db, |c| {
        bind_values!(sqlx::query_scalar::<_, i64>(&sql), &binds)
            .fetch_one(c)
            .await
    })
}

/// One page of articles matching `filter`, newest first, as seen by `viewer`, with their tags
/// and the total: one statement. The page's ids are picked first in a derived table (from the
/// front of one index range, see [`Source`]), so the joins and the viewer's lookups run for
/// the page only.
pub async fn page(
    db: &DbPool,
    filter: &Filter,
    viewer: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<Page, sqlx::Error> {
    page_with(db, filter, viewer, limit, offset, None, None).await
}

/// [`page`] as the holder of `claim` sees it, read only while the claim holds (checked by the
/// same statement). No rows means nothing matched or the claim no longer holds: the caller
/// tells which (`crate::auth::guards::Caller::confirm`).
pub async fn page_for_claim(
    db: &DbPool,
    filter: &Filter,
    claim: TokenClaim,
    limit: i64,
    offset: i64,
) -> Result<Page, sqlx::Error> {
    page_with(db, filter, Some(claim.user_id), limit, offset, None, Some(claim)).await
}

/// [`page`], and the `tags` most used tags (packed, see [`crate::db::tags::split_names`]) read
/// by the same statement: what the home page shows, in one round trip.
pub async fn page_and_popular_tags(
    db: &DbPool,
    filter: &Filter,
    viewer: Option<i64>,
    limit: i64,
    offset: i64,
    tags: i64,
) -> Result<(Page, String), sqlx::Error> {
    let mut page = page_with(db, filter, viewer, limit, offset, Some(tags), None).await?;
    let names = match page.popular_tags.take() {
        Some(names) => names,
        // No row carried them (nothing on this page).
        None => crate::db::tags::popular_names(db, tags).await?,
    };
    Ok((page, names))
}

async fn page_with(
    db: &DbPool,
    filter: &Filter,
    viewer: Option<i64>,
    limit: i64,
    offset: i64,
    popular_tags: Option<i64>,
    claim: Option<TokenClaim>,
) -> Result<Page, sqlx::Error> {
    let Source {
        from,
        id,
        conditions,
        total,
        binds,
    } = source(filter);
    // The total is an uncorrelated scalar subquery (evaluated once); a `COUNT(*) OVER ()`
    // window made SQLite copy every matching row into a temporary b-tree on each request.
    // The popular tags are one too. CROSS JOIN fixes the join order (SQLite honours it; MySQL
    // reads it as JOIN). The page's ids come newest first, but a join does not promise to
    // keep an order and an outer ORDER BY made SQLite copy every column of every row into a
    // temporary sorter: the rows (one page) are put in order here instead.
    // The viewer's flags are LEFT JOINs (at most one row each: the keys are unique) rather
    // than the EXISTS subqueries of one article: SQLite ran a subquery per row, opening and
    // closing its cursor each time (the feed's VM did 70% more than the global list).
    let own_feed = viewer.is_some() && filter.feed_of == viewer;
    let (columns, viewer_joins) = match viewer {
        Some(_) if own_feed => (
            concat!(
                article_columns!(),
                ", TRUE AS following, fv.article_id IS NOT NULL AS favorited"
            ),
            " LEFT JOIN favorites fv ON fv.user_id = ? AND fv.article_id = a.id",
        ),
        Some(_) => (
            concat!(
                article_columns!(),
                ", fo.followee_id IS NOT NULL AS following, fv.article_id IS NOT NULL AS favorited"
            ),
            " LEFT JOIN follows fo ON fo.follower_id = ? AND fo.followee_id = a.author_id \
             LEFT JOIN favorites fv ON fv.user_id = ? AND fv.article_id = a.id",
        ),
        None => (select_articles_anonymous!(), ""),
    };
    let conditions = match claim {
        None => conditions,
        Some(_) if conditions.is_empty() => concat!(" WHERE ", token_claim_holds!()).to_owned(),
        Some(_) => format!("{conditions} AND {}", token_claim_holds!()),
    };
    let popular = if popular_tags.is_some() {
        crate::db::tags::popular_names_sql(db.engine())
    } else {
        "NULL"
    };
    let sql = format!(
        "{columns}, {total} AS total, {popular} AS popular_tags \
         FROM (SELECT {id} AS id FROM {from}{conditions} ORDER BY {id} DESC LIMIT ? OFFSET ?) page \
         CROSS JOIN articles a ON a.id = page.id CROSS JOIN users u ON u.id = a.author_id{viewer_joins}"
    );
    let (mut rows, popular_tags) = db_run!(db, |c| {
        // The filter's values appear twice: in the total and in the page's ids; the popular
        // tags' limit in between.
        let mut query = bind_values!(sqlx::query(&sql), &binds);
        if let Some(tags) = popular_tags {
            query = query.bind(tags);
        }
        query = bind_values!(query, &binds);
        if let Some(claim) = claim {
            query = query.bind(claim.user_id).bind(claim.version);
        }
        query = query.bind(limit).bind(offset);
        if let Some(viewer) = viewer {
            query = if own_feed {
                query.bind(viewer)
            } else {
                query.bind(viewer).bind(viewer)
            };
        }
        query.fetch_all(c).await.and_then(|rows| {
            let popular = match (popular_tags, rows.first()) {
                (Some(_), Some(first)) => Some(
                    first
                        .try_get::<Option<String>, _>(POPULAR_TAGS_COLUMN)?
                        .unwrap_or_default(),
                ),
                _ => None,
            };
            let articles = rows.iter().map(Article::from_row).collect::<Result<Vec<_>, _>>()?;
            Ok((articles, popular))
        })
    })?;
    rows.sort_unstable_by_key(|a| std::cmp::Reverse(a.id));
    let total = match rows.first() {
        Some(first) => first.total.unwrap_or_default(),
        // Past the end (or nothing matches): no row carried the total.
        None if offset > 0 => count(db, filter).await?,
        None => 0,
    };
    Ok(Page {
        articles: rows.into_iter().map(Article::with_tags).collect(),
        total,
        popular_tags,
    })
}

/// Where a row of one article carries its body (after the article's 14 columns).
const BODY_COLUMN: usize = 14;

/// Where a list row carries the popular tags (after the article's 15 columns and `total`).
const POPULAR_TAGS_COLUMN: usize = 15;

/// The article at `slug` (with its body and tags), as seen by `viewer`. A slug no article could
/// have ([`could_be_slug`](crate::input::could_be_slug)) finds nothing without a query.
pub async fn find(db: &DbPool, slug: &str, viewer: Option<i64>) -> Result<Option<Article>, sqlx::Error> {
    macro_rules! from {
        () => {
            ", a.body FROM articles a JOIN users u ON u.id = a.author_id WHERE a.slug = ?"
        };
    }
    const SQL: &str = concat!(select_articles!(), from!());
    const SQL_ANONYMOUS: &str = concat!(select_articles_anonymous!(), from!());
    if !crate::input::could_be_slug(slug) {
        return Ok(None);
    }
    let article = db_run!(db, |c| match viewer {
        Some(viewer) => sqlx::query_as::<_, Article>(SQL).bind(viewer).bind(viewer),
        None => sqlx::query_as::<_, Article>(SQL_ANONYMOUS),
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
    viewer: Option<i64>,
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
    const SQL: &str = concat!(select_articles!(), from!());
    const SQL_ANONYMOUS: &str = concat!(select_articles_anonymous!(), from!());
    if !crate::input::could_be_slug(slug) {
        return Ok(None);
    }
    let found = db_run!(db, |c| {
        let query = match viewer {
            Some(viewer) => sqlx::query(SQL).bind(viewer).bind(viewer),
            None => sqlx::query(SQL_ANONYMOUS),
        };
        query
            .bind(viewer.unwrap_or(-1))
            .bind(slug)
            .fetch_all(c)
            .await
            .and_then(|rows| {
                let Some(first) = rows.first() else { return Ok(None) };
                let mut article = Article::from_row(first)?;
                let mut comments = Vec::with_capacity(rows.len());
                for row in &rows {
                    if article.body.is_none() {
                        article.body = row.try_get(BODY_COLUMN)?;
                    }
                    // A LEFT JOIN with no comment: one row, the comment's columns NULL.
                    if row.try_get::<Option<i64>, _>(row.len() - COMMENT_COLUMNS)?.is_some() {
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
        // The old tags lose this article, the new ones gain it, and the row's `tag_list` is
        // rewritten from the links: all in the caller's transaction.
        sqlx::query(counters::RELEASE_ARTICLE_TAGS)
            .bind($article_id)
            .execute(&mut *$tx)
            .await?;
        sqlx::query("DELETE FROM article_tags WHERE article_id = ?")
            .bind($article_id)
            .execute(&mut *$tx)
            .await?;
        let mut tag_ids: Vec<i64> = Vec::new();
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
            if !tag_ids.contains(&tag_id) {
                sqlx::query("INSERT INTO article_tags (article_id, tag_id) VALUES (?, ?)")
                    .bind($article_id)
                    .bind(tag_id)
                    .execute(&mut *$tx)
                    .await?;
                tag_ids.push(tag_id);
            }
        }
        // Counters are bumped in id order, so two writers sharing tags lock them in the same
        // order (no deadlock on MySQL).
        tag_ids.sort_unstable();
        for tag_id in tag_ids {
            sqlx::query("UPDATE tags SET article_count = article_count + 1 WHERE id = ?")
                .bind(tag_id)
                .execute(&mut *$tx)
                .await?;
        }
        sqlx::query(counters::REWRITE_TAG_LIST)
            .bind($article_id)
            .execute(&mut *$tx)
            .await?;
    }};
}

/// Create an article and its tags in one transaction; returns the slug it got.
pub async fn insert(db: &DbPool, author_id: i64, data: &ArticleData, base_slug: &str) -> Result<String, sqlx::Error> {
    const SQL: &str = "INSERT INTO articles (slug, title, description, body, author_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
    let at = now();
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
                Ok(done) => break (done.last_id(), slug),
                Err(e) if is_unique_violation(&e) && attempt + 1 < SLUG_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
            }
        };
        write_tags!(tx, id, &data.tags);
        sqlx::query(counters::COUNT_NEW_ARTICLE).execute(&mut *tx).await?;
        sqlx::query(crate::db::profiles::feed::ADD_ARTICLE)
            .bind(id)
            .bind(author_id)
            .execute(&mut *tx)
            .await?;
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
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
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
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        if !delete_article_in!(tx, id) {
            // Already gone: dropping the transaction rolls the counter updates back.
            return Ok(());
        }
        tx.commit().await
    })
}

/// Whether `user_id` has favorited article `id`.
async fn is_favorite(db: &DbPool, user_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "SELECT EXISTS (SELECT 1 FROM favorites WHERE user_id = ? AND article_id = ?)";
    db_run!(db, |c| sqlx::query_scalar::<_, bool>(SQL)
        .bind(user_id)
        .bind(id)
        .fetch_one(c)
        .await)
}

/// `user_id` favorites article `id` (idempotent); the article's count follows in the same
/// transaction.
pub async fn favorite(db: &DbPool, user_id: i64, id: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO favorites (user_id, article_id, created_at) VALUES (?, ?, ?)";
    // Already a favorite (a repeated click or retry): nothing to write, so no write lock to
    // wait for. A racing insert is still caught below by the primary key.
    if is_favorite(db, user_id, id).await? {
        return Ok(());
    }
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
        sqlx::query("UPDATE articles SET favorites_count = favorites_count + 1 WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })
}

/// `user_id` un-favorites article `id` (idempotent).
pub async fn unfavorite(db: &DbPool, user_id: i64, id: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM favorites WHERE user_id = ? AND article_id = ?";
    if !is_favorite(db, user_id, id).await? {
        return Ok(());
    }
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let removed = sqlx::query(SQL).bind(user_id).bind(id).execute(&mut *tx).await?;
        if removed.rows_affected() == 0 {
            return Ok(());
        }
        sqlx::query("UPDATE articles SET favorites_count = favorites_count - 1 WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })
}
