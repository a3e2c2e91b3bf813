//! The admin console's queries: searchable, sortable, paginated tables of users, articles,
//! comments and tags, the dashboard counts, and the admin writes, each made in one
//! transaction together with its audit-log entry.
//!
//! The reads are here; the writes are `write.rs` (re-exported: `db::admin::update_article` etc.).
//!
//! Each table's SQL is declared once ([`Spec`]: [`USERS`], [`ARTICLES`], [`COMMENTS`], [`TAGS`])
//! and queried by the generic [`count`] and [`list`]. Sort columns come only from a spec's
//! allow-list: the key a user sends picks an entry, never SQL text.

mod keyset;
pub mod stats;
mod write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::db_run;
use crate::db::users::Role;
use crate::db::{ArticleId, CommentId, DbPool, Engine, TagId, UserId};

pub(crate) use keyset::list_keyset_where;
pub use keyset::{list_keyset, Cursor, Kind, Step, TablePage};

/// What one table page shows: a search text, a sort key (checked against the allow-list),
/// a direction and a window.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Search text (matched anywhere, any ASCII letter case); empty for everything.
    pub q: String,
    /// A key of the table's allow-list; unknown keys sort by id.
    pub sort: String,
    /// Descending order.
    pub desc: bool,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

pub use crate::db::escape_like;

/// How a table is queried: the SQL of one admin table, declared once
/// ([`USERS`], [`ARTICLES`], [`COMMENTS`], [`TAGS`]) and read by [`count`] and [`list`].
#[derive(Debug)]
pub struct Spec {
    /// The selected columns (the row type's fields).
    pub select: &'static str,
    /// The tables and joins.
    pub from: &'static str,
    /// Columns a search is matched against.
    pub search: &'static [&'static str],
    /// Sort keys, the SQL they stand for and what it holds: the allow-list. Every sort
    /// expression is `NOT NULL` (a keyset page compares with it; a `NULL` would fall out of
    /// every page).
    pub sorts: &'static [(&'static str, &'static str, Kind)],
    /// The id column (the tie-breaker of every order).
    pub id: &'static str,
}

/// The users table.
pub const USERS: Spec = Spec {
    // The count of articles is the counter kept on the row (`users.articles_count`), which a
    // keyset page can compare with (a select alias cannot be named in `WHERE`).
    select: "u.id, u.username, u.email, u.role, u.disabled, u.created_at, u.articles_count",
    from: "users u",
    search: &["u.username", "u.email"],
    sorts: &[
        ("id", "u.id", Kind::Int),
        ("username", "u.username", Kind::Text),
        ("email", "u.email", Kind::Text),
        ("role", "u.role", Kind::Text),
        ("disabled", "u.disabled", Kind::Int),
        ("articles", "u.articles_count", Kind::Int),
        ("created", "u.created_at", Kind::Time),
    ],
    id: "u.id",
};

/// An article's comments, counted (there is no counter): the articles table's column and sort.
macro_rules! comments_count {
    () => {
        "(SELECT COUNT(*) FROM comments ac WHERE ac.article_id = a.id)"
    };
}

/// See [`comments_count!`].
const COMMENTS_COUNT: &str = comments_count!();

/// The articles table.
pub const ARTICLES: Spec = Spec {
    select: concat!(
        "a.id, a.slug, a.title, a.description, a.author_id, u.username AS author_username, a.created_at, \
         a.updated_at, ",
        comments_count!(),
        " AS comments_count"
    ),
    from: "articles a JOIN users u ON u.id = a.author_id",
    search: &["a.title", "a.slug", "u.username"],
    sorts: &[
        ("id", "a.id", Kind::Int),
        ("title", "a.title", Kind::Text),
        ("author", "u.username", Kind::Text),
        ("comments", COMMENTS_COUNT, Kind::Int),
        ("created", "a.created_at", Kind::Time),
    ],
    id: "a.id",
};

/// The comments table.
pub const COMMENTS: Spec = Spec {
    select: "c.id, c.article_id, a.slug AS article_slug, a.title AS article_title, c.author_id, \
             u.username AS author_username, c.body, c.created_at",
    from: "comments c JOIN articles a ON a.id = c.article_id JOIN users u ON u.id = c.author_id",
    search: &["c.body", "u.username", "a.title"],
    sorts: &[
        ("id", "c.id", Kind::Int),
        ("article", "a.title", Kind::Text),
        ("author", "u.username", Kind::Text),
        ("created", "c.created_at", Kind::Time),
    ],
    id: "c.id",
};

/// A tag's article count: its slots of `tag_counts` summed (shown, and sorted by).
macro_rules! tag_article_count {
    () => {
        "CAST(COALESCE((SELECT SUM(c.n) FROM tag_counts c WHERE c.tag_id = t.id), 0) AS SIGNED)"
    };
}

/// The tags table.
pub const TAGS: Spec = Spec {
    select: concat!("t.id, t.name, ", tag_article_count!(), " AS articles_count"),
    from: "tags t",
    search: &["t.name"],
    sorts: &[
        ("id", "t.id", Kind::Int),
        ("name", "t.name", Kind::Text),
        ("articles", tag_article_count!(), Kind::Int),
    ],
    id: "t.id",
};

impl Spec {
    /// ` WHERE (a LIKE ? OR b LIKE ?)` and its binds, or nothing for an empty search.
    fn filter(&self, q: &str) -> (String, Vec<String>) {
        let q = q.trim();
        if q.is_empty() {
            return (String::new(), Vec::new());
        }
        let pattern = format!("%{}%", escape_like(q));
        let conditions: Vec<String> = self
            .search
            .iter()
            .map(|c| format!("{c} LIKE ? ESCAPE '!'"))
            .collect();
        (
            format!(" WHERE ({})", conditions.join(" OR ")),
            vec![pattern; self.search.len()],
        )
    }

    fn count_sql(&self, q: &str) -> (String, Vec<String>) {
        let (filter, binds) = self.filter(q);
        (format!("SELECT COUNT(*) FROM {}{filter}", self.from), binds)
    }

    /// The expression `sort` stands for (the id when it is not a key of the allow-list), as
    /// ordered and compared ([`Kind::ordered`]: text in code-point order on both engines), and
    /// what it holds.
    fn sort_key(&self, sort: &str, engine: Engine) -> (String, &'static str, Kind) {
        let (column, kind) = self
            .sorts
            .iter()
            .find(|(key, _, _)| *key == sort)
            .map_or((self.id, Kind::Int), |(_, column, kind)| (*column, *kind));
        (kind.ordered(column, engine), column, kind)
    }

    fn list_sql(&self, query: &ListQuery, engine: Engine) -> (String, Vec<String>) {
        let (filter, binds) = self.filter(&query.q);
        let (key, _, _) = self.sort_key(&query.sort, engine);
        let dir = if query.desc { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {} FROM {}{filter} ORDER BY {key} {dir}, {} {dir} LIMIT ? OFFSET ?",
            self.select, self.from, self.id
        );
        (sql, binds)
    }
}

/// How many rows of `spec` match `q`.
pub async fn count(db: &DbPool, spec: &Spec, q: &str) -> Result<i64, sqlx::Error> {
    let (sql, binds) = spec.count_sql(q);
    db_run!(db, |c| {
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for bind in &binds {
            query = query.bind(bind.as_str());
        }
        query.fetch_one(c).await
    })
}

/// One page of `spec`'s rows, as `R` (the row type whose fields are `spec.select`).
pub async fn list<R>(db: &DbPool, spec: &Spec, query: &ListQuery) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::mysql::MySqlRow>
        + Send
        + Unpin,
{
    let (sql, binds) = spec.list_sql(query, db.engine());
    db_run!(db, |c| {
        let mut q = sqlx::query_as::<_, R>(&sql);
        for bind in &binds {
            q = q.bind(bind.as_str());
        }
        q.bind(query.limit).bind(query.offset).fetch_all(c).await
    })
}

/// A row of the users table.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct UserRow {
    /// Id.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// What they may do.
    pub role: Role,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
    /// Signed up at (UTC).
    pub created_at: DateTime<Utc>,
    /// Articles written.
    pub articles_count: i64,
}

/// A row of the articles table.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct ArticleRow {
    /// Id.
    pub id: ArticleId,
    /// URL slug.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub description: String,
    /// Author id.
    pub author_id: UserId,
    /// Author username.
    pub author_username: String,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Updated (UTC).
    pub updated_at: DateTime<Utc>,
    /// Comments on it.
    pub comments_count: i64,
}

/// A row of the comments table.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct CommentRow {
    /// Id.
    pub id: CommentId,
    /// The article's id.
    pub article_id: ArticleId,
    /// The article's slug.
    pub article_slug: String,
    /// The article's title.
    pub article_title: String,
    /// Author id.
    pub author_id: UserId,
    /// Author username.
    pub author_username: String,
    /// Text.
    pub body: String,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
}

/// A row of the tags table.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct TagRow {
    /// Id.
    pub id: TagId,
    /// Name.
    pub name: String,
    /// Articles filed under it.
    pub articles_count: i64,
}

/// The dashboard's numbers.
#[derive(Debug, Clone, Copy, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Counts {
    /// Accounts.
    pub users: i64,
    /// Administrators.
    pub admins: i64,
    /// Disabled accounts.
    pub disabled: i64,
    /// Articles.
    pub articles: i64,
    /// Comments.
    pub comments: i64,
    /// Tags.
    pub tags: i64,
}

/// Every dashboard count, in one statement. The article total is the summed slots of the
/// `counts` table (`crate::db::articles::counters`), not a count of the table's rows (a scan
/// of an index at 50,000 articles).
pub async fn counts(db: &DbPool) -> Result<Counts, sqlx::Error> {
    let sql = counts_sql();
    db_run!(db, |c| sqlx::query_as::<_, Counts>(&sql).fetch_one(c).await)
}

/// The statement of [`counts`] (no binds).
pub(crate) fn counts_sql() -> String {
    format!(
        "SELECT (SELECT COUNT(*) FROM users) AS users, \
        (SELECT COUNT(*) FROM users WHERE role = 'admin') AS admins, \
        (SELECT COUNT(*) FROM users WHERE disabled = TRUE) AS disabled, \
        {} AS articles, (SELECT COUNT(*) FROM comments) AS comments, \
        (SELECT COUNT(*) FROM tags) AS tags",
        crate::db::articles::counters::ARTICLE_TOTAL
    )
}

/// An article as the admin edit form shows it.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct ArticleDetail {
    /// Id.
    pub id: ArticleId,
    /// URL slug (kept when an admin edits the article).
    pub slug: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub description: String,
    /// Markdown body.
    pub body: String,
    /// Author username.
    pub author_username: String,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Updated (UTC).
    pub updated_at: DateTime<Utc>,
}

/// The article with this id.
pub async fn find_article(
    db: &DbPool,
    id: ArticleId,
) -> Result<Option<ArticleDetail>, sqlx::Error> {
    const SQL: &str = "SELECT a.id, a.slug, a.title, a.description, a.body, u.username AS author_username, \
                       a.created_at, a.updated_at FROM articles a JOIN users u ON u.id = a.author_id WHERE a.id = ?";
    db_run!(db, |c| sqlx::query_as::<_, ArticleDetail>(SQL)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// The comment with this id.
pub async fn find_comment(db: &DbPool, id: CommentId) -> Result<Option<CommentRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM {} WHERE c.id = ?",
        COMMENTS.select, COMMENTS.from
    );
    db_run!(db, |c| sqlx::query_as::<_, CommentRow>(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// The tag with this id.
pub async fn find_tag(db: &DbPool, id: TagId) -> Result<Option<TagRow>, sqlx::Error> {
    let sql = format!("SELECT {} FROM {} WHERE t.id = ?", TAGS.select, TAGS.from);
    db_run!(db, |c| sqlx::query_as::<_, TagRow>(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)
}

pub use write::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(escape_like("50%_off!"), "50!%!_off!!");
    }

    #[test]
    fn unknown_sort_keys_fall_back_to_the_id() {
        let query = ListQuery {
            q: String::new(),
            sort: "username; DROP TABLE users".into(),
            desc: true,
            limit: 10,
            offset: 0,
        };
        let (sql, _) = USERS.list_sql(&query, Engine::Sqlite);
        assert!(sql.contains("ORDER BY u.id DESC, u.id DESC"), "{sql}");
        assert!(!sql.contains("DROP"));
    }
}
