//! Reading articles: one page of a list (by tag, author, favorites or the feed) with its
//! total, one article, one article with its comments.

use sqlx::{FromRow, Row};

use super::Article;
use crate::db::comments::{comment_columns, Comment, COMMENT_COLUMNS};
use crate::db::db_run;
use crate::db::users::{token_claim_holds, TokenClaim};
use crate::db::{DbPool, UserId};

/// One page of a list and the number of articles matching its filter.
#[derive(Debug, Default)]
pub struct ArticleSlice {
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
    pub feed_of: Option<UserId>,
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
    narrowing:
        "SELECT ft.article_id FROM article_tags ft JOIN tags t ON t.id = ft.tag_id WHERE t.name = ?",
    counter: Some(super::counters::TAG_TOTAL),
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
    narrowing:
        "SELECT aa.id FROM articles aa JOIN users au ON au.id = aa.author_id WHERE au.username = ?",
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
        filter
            .favorited_by
            .clone()
            .map(|u| (&BY_FAVORITED, Bind::Text(u))),
        filter.author.clone().map(|a| (&BY_AUTHOR, Bind::Text(a))),
        filter.feed_of.map(|f| (&BY_FEED, Bind::Int(f.get()))),
    ]
    .into_iter()
    .flatten()
    .collect();
    let (from, id) = present
        .first()
        .map_or(("articles d", "d.id"), |(d, _)| (d.from, d.id));
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
        [] => Some(super::counters::ARTICLE_TOTAL),
        [(only, _)] => only.counter,
        _ => None,
    }
    .map_or_else(
        || format!("(SELECT COUNT(*) FROM {from}{conditions})"),
        str::to_owned,
    );
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
    viewer: Option<UserId>,
    limit: i64,
    offset: i64,
) -> Result<ArticleSlice, sqlx::Error> {
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
) -> Result<ArticleSlice, sqlx::Error> {
    page_with(
        db,
        filter,
        Some(claim.user_id),
        limit,
        offset,
        None,
        Some(claim),
    )
    .await
}

/// [`page`], and the `tags` most used tags (packed, see [`crate::db::tags::split_names`]) read
/// by the same statement: what the home page shows, in one round trip.
pub async fn page_and_popular_tags(
    db: &DbPool,
    filter: &Filter,
    viewer: Option<UserId>,
    limit: i64,
    offset: i64,
    tags: i64,
) -> Result<(ArticleSlice, String), sqlx::Error> {
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
    viewer: Option<UserId>,
    limit: i64,
    offset: i64,
    popular_tags: Option<i64>,
    claim: Option<TokenClaim>,
) -> Result<ArticleSlice, sqlx::Error> {
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
            let articles = rows
                .iter()
                .map(Article::from_row)
                .collect::<Result<Vec<_>, _>>()?;
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
    Ok(ArticleSlice {
        articles: rows.into_iter().map(Article::with_tags).collect(),
        total,
        popular_tags,
    })
}

/// The newest `limit` articles matching `filter` with their bodies, newest first, as an
/// anonymous reader sees them (what a feed shows): the ids from the front of one index range,
/// as a list page picks them (see [`Source`]), then one row each.
pub async fn latest_with_bodies(
    db: &DbPool,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Article>, sqlx::Error> {
    let Source {
        from,
        id,
        conditions,
        binds,
        ..
    } = source(filter);
    let sql = format!(
        "{}, a.body FROM (SELECT {id} AS id FROM {from}{conditions} ORDER BY {id} DESC LIMIT ?) page \
         CROSS JOIN articles a ON a.id = page.id CROSS JOIN users u ON u.id = a.author_id",
        select_articles_anonymous!()
    );
    let mut rows = db_run!(db, |c| {
        bind_values!(sqlx::query_as::<_, Article>(&sql), &binds)
            .bind(limit)
            .fetch_all(c)
            .await
    })?;
    rows.sort_unstable_by_key(|a| std::cmp::Reverse(a.id));
    Ok(rows.into_iter().map(Article::with_tags).collect())
}

/// Where a row of one article carries its body (after the article's 14 columns).
const BODY_COLUMN: usize = 14;

/// Where a list row carries the popular tags (after the article's 15 columns and `total`).
const POPULAR_TAGS_COLUMN: usize = 15;

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
