//! Reading article lists: one page of a list (by tag, author, favorites or the feed) with its
//! total, at an offset or a keyset cursor ([`Position`]), in one statement (on SQLite its
//! articles packed into one value: `packed.rs`); the plan of its id range is `plan.rs`.

use std::fmt::Write as _;

use sqlx::{FromRow, Row};

use super::{columns, packed, Article};
use crate::db::db_run;
use crate::db::users::{token_claim_holds, token_session_holds, TokenClaim};
use crate::db::{ArticleId, DbPool, Engine, UserId};

/// Where a page of a list starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// After skipping this many, newest first (RealWorld's `offset`, the site's old `?page=`).
    Offset(i64),
    /// The articles older than this id (below it), newest first.
    Before(ArticleId),
    /// The articles newer than this id (above it): the page just before it.
    After(ArticleId),
}

/// `conditions` (a `WHERE` clause with a leading space, or empty) and `condition`.
pub(super) fn and(conditions: &str, condition: &str) -> String {
    if conditions.is_empty() {
        format!(" WHERE {condition}")
    } else {
        format!("{conditions} AND {condition}")
    }
}

/// Every list's `FROM` items with the index its page ids are read from named, per engine:
/// `(plain, SQLite, MySQL)`. The unfiltered list reads `articles_id`, the narrow index of the
/// article ids alone (migration `20261130100001`), instead of the table itself: on SQLite the
/// `rowid` table and on `InnoDB` the primary key hold every column, body and all, so an offset of
/// 20,000 read 20,000 whole rows (485 ms at offset 49,000 on SQLite, issue 22). The filtered
/// lists name theirs too: with a cursor (`id < ?`) an optimizer may otherwise prefer a range
/// of ids across every tag, author or reader (MariaDB did, on `favorites_article_id`). SQLite
/// picks the favorites' and the feed's primary keys by itself (its automatic index names are
/// not ours to pin). `EXPLAIN` of each is pinned by `tests/it/keyset.rs`.
const HINTED: [(&str, &str, &str); 5] = [
    (
        UNFILTERED,
        "articles d INDEXED BY articles_id",
        "articles d FORCE INDEX (articles_id)",
    ),
    (
        BY_TAG.from,
        "tags dt CROSS JOIN article_tags d INDEXED BY article_tags_tag_id ON d.tag_id = dt.id",
        "tags dt CROSS JOIN article_tags d FORCE INDEX (article_tags_tag_id) ON d.tag_id = dt.id",
    ),
    (
        BY_AUTHOR.from,
        "users du CROSS JOIN articles d INDEXED BY articles_author_id ON d.author_id = du.id",
        "users du CROSS JOIN articles d FORCE INDEX (articles_author_id) ON d.author_id = du.id",
    ),
    (
        BY_FAVORITED.from,
        BY_FAVORITED.from,
        "users du CROSS JOIN favorites d FORCE INDEX (PRIMARY) ON d.user_id = du.id",
    ),
    (
        BY_FEED.from,
        BY_FEED.from,
        "feed_entries d FORCE INDEX (PRIMARY)",
    ),
];

/// The unfiltered list's `FROM`.
const UNFILTERED: &str = "articles d";

/// `from` with its index named for `engine` (see [`HINTED`]).
pub(super) fn narrow(from: &'static str, engine: Engine) -> &'static str {
    HINTED
        .iter()
        .find(|(plain, _, _)| *plain == from)
        .map_or(from, |(_, sqlite, mysql)| match engine {
            Engine::Sqlite => sqlite,
            Engine::MySql => mysql,
        })
}

/// One page of a list and the number of articles matching its filter.
#[derive(Debug, Default)]
pub struct ArticleSlice {
    /// The articles on this page, newest first.
    pub articles: Vec<Article>,
    /// How many match the filter in all.
    pub total: i64,
    /// The popular tags' packed pairs (`crate::db::tags::split_names`), when asked for and a
    /// row carried them.
    pub(super) popular_tags: Option<String>,
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

impl Filter {
    /// Whether any filter is set (otherwise every article is listed).
    pub fn narrows(&self) -> bool {
        self.tag.is_some()
            || self.author.is_some()
            || self.favorited_by.is_some()
            || self.feed_of.is_some()
    }
}

/// A bound value of a dynamically assembled query.
pub(crate) enum Bind {
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
pub(crate) use bind_values;

/// The rows a list is read from: a join that yields matching article ids in id order from one
/// index, the conditions of the remaining filters, and their values.
///
/// "Newest first" is `id DESC`: ids grow with creation (`created_at` is set on insert and
/// never changed), and every filter has an index that is ordered by article id within the
/// filtered value: `article_tags (tag_id, article_id)`, `favorites (user_id, article_id)`,
/// `articles (author_id, id)` and the primary key. A page therefore reads its rows from the
/// front of one index range and stops, instead of sorting every match. The feed merges the
/// ranges of the followed authors.
pub(super) struct Source {
    /// `FROM` items (see [`FilterSql::from`]).
    pub(super) from: &'static str,
    /// The expression for the article id.
    pub(super) id: &'static str,
    /// `WHERE` clause (with a leading space), or empty.
    pub(super) conditions: String,
    /// An expression for how many articles match, with the same `?`s as `conditions`.
    pub(super) total: String,
    /// Values for the `?`s of `conditions`, in order.
    pub(super) binds: Vec<Bind>,
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
    // Narrows a search (`narrowing`); in a list a tag, when present, always drives.
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

/// The filters present in `filter` with their values, in the order in which they are
/// preferred to drive a list.
fn present(filter: &Filter) -> Vec<(&'static FilterSql, Bind)> {
    [
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
    .collect()
}

/// `filter`'s conditions on the article id `id` of rows driven by something else (a search
/// index): each ` AND <id> IN (<its narrowing subquery>)`, as when another filter drives a
/// list, and their values in order.
pub(crate) fn narrowing(filter: &Filter, id: &str) -> (String, Vec<Bind>) {
    let mut sql = String::new();
    let mut binds = Vec::new();
    for (filter_sql, bind) in present(filter) {
        let _ = write!(sql, " AND {id} IN ({})", filter_sql.narrowing);
        binds.push(bind);
    }
    (sql, binds)
}

pub(super) fn source(filter: &Filter) -> Source {
    let present = present(filter);
    let (from, id) = present
        .first()
        .map_or((UNFILTERED, "d.id"), |(d, _)| (d.from, d.id));
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
    page_with(
        db,
        filter,
        viewer,
        limit,
        Position::Offset(offset),
        None,
        None,
    )
    .await
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
        Position::Offset(offset),
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
    let mut page = page_with(
        db,
        filter,
        viewer,
        limit,
        Position::Offset(offset),
        Some(tags),
        None,
    )
    .await?;
    let names = match page.popular_tags.take() {
        Some(names) => names,
        // No row carried them (nothing on this page).
        None => crate::db::tags::popular_names(db, tags).await?,
    };
    Ok((page, names))
}

/// The statement that picks a page's ids, and the values it binds after the filter's.
pub(super) struct PageIds {
    /// `SELECT <id> AS id FROM ... ORDER BY ... LIMIT ?[ OFFSET ?]`.
    pub(super) sql: String,
    /// Bound after the conditions' values: a keyset page's cursor.
    pub(super) cursor: Option<ArticleId>,
    /// Bound after the limit: an offset page's offset.
    pub(super) offset: Option<i64>,
}

/// The page's ids at `position` in the rows `from`/`conditions` select: a range of one
/// narrow index, read in order and never the rows. With an offset the skipped entries are
/// index entries only (no row is looked up), so a deep offset costs a walk of a few bytes per
/// entry; a keyset page seeks into the same index at its cursor (`id < ?` newest first, `id >
/// ?` oldest first for the page before it) and reads `limit` entries, whatever the depth.
///
/// EXPLAIN, pinned by `tests/it/keyset.rs` ([`explain_page_ids`]): on SQLite `SCAN d USING
/// COVERING INDEX articles_id` unfiltered (`SEARCH` with a cursor), `article_tags_tag_id`
/// for a tag, `articles_author_id` for an author, the favorites' primary key (its
/// `sqlite_autoindex`) and `feed_entries`' (a `WITHOUT ROWID` table: its rows are that index);
/// on MariaDB the `key` column names the same indexes (`PRIMARY` for favorites and
/// `feed_entries`, narrow rows) with `Using index`.
///
/// `below`: with an offset, only the ids below it are walked (the unfiltered list at a deep
/// offset, after [`super::blocks::seek`]): `SEARCH d USING COVERING INDEX articles_id (id<?)`
/// on SQLite, a `range` of `articles_id` on MariaDB, the offset then smaller than a block.
pub(super) fn page_ids(
    from: &'static str,
    id: &str,
    conditions: &str,
    position: Position,
    below: Option<ArticleId>,
    engine: Engine,
) -> PageIds {
    let (order, cursor, offset) = match position {
        Position::Offset(offset) => ("DESC", below, Some(offset)),
        Position::Before(before) => ("DESC", Some(before), None),
        Position::After(after) => ("ASC", Some(after), None),
    };
    let conditions = match cursor {
        None => conditions.to_owned(),
        Some(_) if order == "DESC" => and(conditions, &format!("{id} < ?")),
        Some(_) => and(conditions, &format!("{id} > ?")),
    };
    let paging = if offset.is_some() {
        "LIMIT ? OFFSET ?"
    } else {
        "LIMIT ?"
    };
    let from = narrow(from, engine);
    PageIds {
        sql: format!("SELECT {id} AS id FROM {from}{conditions} ORDER BY {id} {order} {paging}"),
        cursor,
        offset,
    }
}

/// Where the ids of a page at `position` of the list `from` start: the unfiltered list at an
/// offset of [`super::blocks::DEEP_OFFSET`] or more skips to the block its page begins in
/// (the smaller offset within the ids below that block's end); every other page as asked.
/// Past the unfiltered list's last article: the ids below the smallest id (none, found by
/// one seek).
pub(super) async fn deep(
    db: &DbPool,
    from: &'static str,
    position: Position,
) -> Result<(Position, Option<ArticleId>), sqlx::Error> {
    match position {
        Position::Offset(offset) if from == UNFILTERED && offset >= super::blocks::DEEP_OFFSET => {
            Ok(match super::blocks::seek(db, offset).await? {
                Some((below, skip)) => (Position::Offset(skip), Some(below)),
                None => (Position::Offset(0), Some(ArticleId::new(i64::MIN))),
            })
        }
        other => Ok((other, None)),
    }
}

/// `sql` with its joins kept in the order written. MariaDB reorders them by its estimates:
/// with a deep offset it guesses the page's ids many and starts from `users`, reading every
/// article row through `articles_author_id` (1.6 s at offset 49,000 on the scale set);
/// `STRAIGHT_JOIN` keeps the page's ids first, then one row each, as CROSS JOIN does on SQLite.
fn in_written_order(sql: String, engine: Engine) -> String {
    match engine {
        Engine::MySql => sql.replacen("SELECT ", "SELECT STRAIGHT_JOIN ", 1),
        Engine::Sqlite => sql,
    }
}

/// `conditions` and, for a reader's claim, the condition that it holds.
fn with_claim(conditions: String, claim: Option<&TokenClaim>) -> String {
    match claim {
        None => conditions,
        Some(TokenClaim { session: None, .. }) => and(&conditions, token_claim_holds!()),
        Some(TokenClaim {
            session: Some(_), ..
        }) => and(&conditions, token_session_holds!()),
    }
}

pub(super) async fn page_with(
    db: &DbPool,
    filter: &Filter,
    viewer: Option<UserId>,
    limit: i64,
    position: Position,
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
            columns::OWN_FEED,
            " LEFT JOIN favorites fv ON fv.user_id = ? AND fv.article_id = a.id",
        ),
        Some(_) => (
            columns::VIEWER,
            " LEFT JOIN follows fo ON fo.follower_id = ? AND fo.followee_id = a.author_id \
             LEFT JOIN favorites fv ON fv.user_id = ? AND fv.article_id = a.id",
        ),
        None => (columns::ANONYMOUS, ""),
    };
    let columns = columns.sql(db.engine());
    let conditions = with_claim(conditions, claim.as_ref());
    let (seek, below) = deep(db, from, position).await?;
    let PageIds {
        sql: ids,
        cursor,
        offset,
    } = page_ids(from, id, &conditions, seek, below, db.engine());
    // The popular tags ride in the page's statement where they are read from an index
    // (SQLite); on MySQL the caller packs them from the instance's memo (`db::tags`).
    let (popular_tags, popular) = match popular_tags
        .and_then(|tags| Some((tags, crate::db::tags::popular_names_sql(db.engine())?)))
    {
        Some((tags, sql)) => (Some(tags), sql),
        None => (None, "NULL"),
    };
    let packed = db.engine() == Engine::Sqlite;
    let sql = page_statement(db.engine(), columns, &total, popular, &ids, viewer_joins);
    let PageRead {
        articles: mut rows,
        total,
        popular: popular_tags,
    } = db_run!(db, |c| {
        // The filter's values appear twice: in the total and in the page's ids; the popular
        // tags' limit in between.
        let mut query = bind_values!(sqlx::query(&sql), &binds);
        if let Some(tags) = popular_tags {
            query = query.bind(tags);
        }
        query = bind_values!(query, &binds);
        if let Some(claim) = &claim {
            query = query.bind(claim.user_id).bind(claim.version);
            if let Some(session) = &claim.session {
                query = query.bind(session.as_str()).bind(crate::db::now());
            }
        }
        if let Some(cursor) = cursor {
            query = query.bind(cursor);
        }
        query = query.bind(limit);
        if let Some(offset) = offset {
            query = query.bind(offset);
        }
        if let Some(viewer) = viewer {
            query = if own_feed {
                query.bind(viewer)
            } else {
                query.bind(viewer).bind(viewer)
            };
        }
        query
            .fetch_all(c)
            .await
            .and_then(|rows| read_page(&rows, packed, popular_tags.is_some()))
    })?;
    rows.sort_unstable_by_key(|a| std::cmp::Reverse(a.id));
    let total = match total {
        // Nothing matches (or a reader's claim no longer holds).
        _ if rows.is_empty() && position == Position::Offset(0) => 0,
        Some(total) => total,
        // Past the end on MySQL: no row carried the total.
        None => count(db, filter).await?,
    };
    Ok(ArticleSlice {
        articles: rows.into_iter().map(Article::with_tags).collect(),
        total,
        popular_tags,
    })
}

/// Where a list row carries the popular tags (after the article's 15 columns and `total`).
const POPULAR_TAGS_COLUMN: usize = 15;

/// The statement of a page: its articles (`columns` of the ids `ids` joined to their rows,
/// then `viewer_joins`), the filter's `total` and the `popular` tags. SQLite hands the page over
/// as one row holding the articles packed ([`packed`]); MySQL as one row per article, each with
/// the total and the tags, its joins kept in the order written.
fn page_statement(
    engine: Engine,
    columns: &str,
    total: &str,
    popular: &str,
    ids: &str,
    viewer_joins: &str,
) -> String {
    let from = format!(
        "FROM ({ids}) page \
         CROSS JOIN articles a ON a.id = page.id CROSS JOIN users u ON u.id = a.author_id{viewer_joins}"
    );
    match engine {
        Engine::Sqlite => format!(
            "SELECT {total} AS total, {popular} AS popular_tags, \
             (SELECT json_group_array(json_array({})) FROM ({columns} {from})) AS page",
            packed::COLUMNS
        ),
        Engine::MySql => in_written_order(
            format!("{columns}, {total} AS total, {popular} AS popular_tags {from}"),
            engine,
        ),
    }
}

/// What a page's statement ([`page_statement`]) answered.
struct PageRead {
    /// The page, in no particular order.
    articles: Vec<Article>,
    /// How many match in all; `None` when no row carried it (a MySQL page past the end).
    total: Option<i64>,
    /// The popular tags, when asked for (and, on MySQL, when a row carried them).
    popular: Option<String>,
}

/// The [`PageRead`] of the rows of a page's statement: SQLite's one packed row or MySQL's row
/// per article.
fn read_page<'r, R>(rows: &'r [R], packed: bool, popular: bool) -> Result<PageRead, sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    Article: FromRow<'r, R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let first = rows.first();
    let popular = match first {
        Some(first) if popular => {
            let column = if packed { 1 } else { POPULAR_TAGS_COLUMN };
            Some(
                first
                    .try_get::<Option<String>, _>(column)?
                    .unwrap_or_default(),
            )
        }
        _ => None,
    };
    if packed {
        let Some(row) = first else {
            return Err(sqlx::Error::RowNotFound);
        };
        return Ok(PageRead {
            articles: packed::articles(row.try_get(2)?)?,
            total: row.try_get(0)?,
            popular,
        });
    }
    let articles = rows
        .iter()
        .map(Article::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let total = articles.first().and_then(|a| a.total);
    Ok(PageRead {
        articles,
        total,
        popular,
    })
}
