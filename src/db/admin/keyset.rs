//! Keyset pages of the admin tables: the console's "Previous" / "Next" links carry the sort
//! value and id of the row a page ends (or starts) with, and the next page is read from there
//! (`(sort, id)` after the cursor's), so a page costs the same at any depth, ties in the sort
//! column included (the id breaks them).
//!
//! Text sorts are in code-point order (`COLLATE BINARY` on SQLite, `utf8mb4_bin` on MariaDB)
//! on both engines: their own case-insensitive collations disagree (SQLite's `NOCASE` folds to
//! lower case and MariaDB's to upper, so `_` sorts after letters on one and before them on the
//! other), and a page boundary must compare exactly as the order sorts.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;

use super::{ListQuery, Spec};
use crate::db::{db_run, DbPool, Engine};

/// What a sort expression holds: how its cursor values are read, written and bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text, ordered by code point.
    Text,
    /// A whole number (a boolean too).
    Int,
    /// A time (UTC).
    Time,
}

impl Kind {
    /// `column` as it is ordered and compared on `engine`.
    pub(super) fn ordered(self, column: &str, engine: Engine) -> String {
        match (self, engine) {
            (Self::Text, Engine::Sqlite) => format!("{column} COLLATE BINARY"),
            (Self::Text, Engine::MySql) => format!("{column} COLLATE utf8mb4_bin"),
            _ => column.to_owned(),
        }
    }
}

/// A place in a table: the sort value and id of a row, as links carry it
/// (`<id>:<value>`). Editing one by hand picks another place; one whose id is not a whole
/// number or whose value does not fit the sort column is refused ([`list_keyset`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The row's id.
    pub id: i64,
    /// Its sort value: text as is, numbers in decimal, times in RFC 3339 (on SQLite the stored
    /// text itself).
    pub value: String,
}

impl Cursor {
    /// The cursor as a query value.
    pub fn encode(&self) -> String {
        format!("{}:{}", self.id, self.value)
    }

    /// A cursor from a query value; `None` when it has no `:` or no whole-number id.
    pub fn decode(text: &str) -> Option<Self> {
        let (id, value) = text.split_once(':')?;
        Some(Self {
            id: id.trim().parse().ok()?,
            value: value.to_owned(),
        })
    }
}

/// Which way a page is read from its cursor, in the table's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The rows after the cursor ("Next").
    Forward(Cursor),
    /// The rows before it ("Previous").
    Backward(Cursor),
}

/// One page of a table and the cursors of its neighbours.
#[derive(Debug)]
pub struct TablePage<R> {
    /// The rows, in the table's order.
    pub rows: Vec<R>,
    /// Where the previous page ends (`Backward` from it), if there is one.
    pub previous: Option<Cursor>,
    /// Where the next page starts (`Forward` from it), if there is one.
    pub next: Option<Cursor>,
    /// Whether this is the table's first page.
    pub first: bool,
}

/// A cursor value bound as its column's type.
enum Value {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
}

/// The cursor's value as `kind` on `engine`; `None` when it does not fit.
fn value(kind: Kind, engine: Engine, text: &str) -> Option<Value> {
    match (kind, engine) {
        (Kind::Int, _) => text.trim().parse().ok().map(Value::Int),
        (Kind::Text, _) => Some(Value::Text(text.to_owned())),
        // SQLite stores times as text, compared as text: the cursor holds that text, bound as
        // it is once it reads as a time (as on MariaDB, where it is bound as one).
        (Kind::Time, Engine::Sqlite) => {
            let t = text.trim();
            let is_time = DateTime::parse_from_rfc3339(t).is_ok()
                || ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"]
                    .iter()
                    .any(|f| DateTime::parse_from_str(t, f).is_ok())
                || ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                    .iter()
                    .any(|f| chrono::NaiveDateTime::parse_from_str(t, f).is_ok());
            is_time.then(|| Value::Text(text.to_owned()))
        }
        (Kind::Time, Engine::MySql) => DateTime::parse_from_rfc3339(text.trim())
            .ok()
            .map(|t| Value::Time(t.with_timezone(&Utc))),
    }
}

/// The page of `spec`'s rows matching `query` (search, sort, size; its offset when `step` is
/// `None`) from `step`'s cursor, as `R`, with one more row read to tell whether the table goes
/// on. `Ok(None)`: the cursor's value does not fit the sort column (a damaged link).
///
/// Reading forward from `(v, id)` in ascending order is `key >= v AND (key > v OR id > id)`
/// (descending and backward flip the comparisons): the leading `key >= v` is a range an index
/// on the key can seek into on both engines, where a row-value comparison is not on MariaDB.
/// A backward page that reaches the top with fewer than a page of rows is the first page
/// instead. The row a page starts (or ends) with may have been deleted meanwhile: the next
/// page still starts right after its values.
pub async fn list_keyset<R>(
    db: &DbPool,
    spec: &Spec,
    query: &ListQuery,
    step: Option<&Step>,
) -> Result<Option<TablePage<R>>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::mysql::MySqlRow>
        + Send
        + Unpin,
{
    list_keyset_where(db, spec, spec.filter(&query.q), query, step).await
}

/// [`list_keyset`] with the rows chosen by `where_clause` (` WHERE ...` or empty, and the text
/// values of its `?`s) instead of the spec's search: the audit log's filters.
pub(crate) async fn list_keyset_where<R>(
    db: &DbPool,
    spec: &Spec,
    where_clause: (String, Vec<String>),
    query: &ListQuery,
    step: Option<&Step>,
) -> Result<Option<TablePage<R>>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::mysql::MySqlRow>
        + Send
        + Unpin,
{
    let engine = db.engine();
    let (key, column, kind) = spec.sort_key(&query.sort, engine);
    let (filter, binds) = where_clause.clone();
    let binds_text: Vec<Value> = binds.into_iter().map(Value::Text).collect();
    let cursor = match step {
        None => None,
        Some(Step::Forward(c) | Step::Backward(c)) => match value(kind, engine, &c.value) {
            Some(v) => Some((v, c.id)),
            None => return Ok(None),
        },
    };
    let backward = matches!(step, Some(Step::Backward(_)));
    // Ascending forward or descending backward reads up the order.
    let up = query.desc == backward;
    let (cmp, dir) = if up { (">", "ASC") } else { ("<", "DESC") };
    let id = spec.id;
    let condition = format!("{key} {cmp}= ? AND ({key} {cmp} ? OR {id} {cmp} ?)");
    let filter = match (&cursor, filter.is_empty()) {
        (None, _) => filter,
        (Some(_), true) => format!(" WHERE {condition}"),
        (Some(_), false) => format!("{filter} AND {condition}"),
    };
    let paging = if cursor.is_some() {
        "LIMIT ?"
    } else {
        "LIMIT ? OFFSET ?"
    };
    let sql = format!(
        "SELECT {}, {column} AS sort_key, {id} AS sort_id FROM {}{filter} \
         ORDER BY {key} {dir}, {id} {dir} {paging}",
        spec.select, spec.from
    );
    let offset = if cursor.is_some() {
        None
    } else {
        Some(query.offset)
    };
    let mut rows = {
        db_run!(db, |c| {
            let mut q = sqlx::query(&sql);
            for bind in binds_text
                .iter()
                .chain(cursor.iter().flat_map(|(v, _)| [v, v]))
            {
                q = match bind {
                    Value::Text(t) => q.bind(t.as_str()),
                    Value::Int(n) => q.bind(*n),
                    Value::Time(t) => q.bind(*t),
                };
            }
            if let Some((_, id)) = &cursor {
                q = q.bind(*id);
            }
            q = q.bind(query.limit + 1);
            if let Some(offset) = offset {
                q = q.bind(offset);
            }
            let rows = q.fetch_all(c).await?;
            rows.iter()
                .map(|row| {
                    let id: i64 = row.try_get("sort_id")?;
                    let value = match (kind, engine) {
                        (Kind::Int, _) => row.try_get::<i64, _>("sort_key")?.to_string(),
                        (Kind::Time, Engine::MySql) => row
                            .try_get::<DateTime<Utc>, _>("sort_key")?
                            .to_rfc3339_opts(SecondsFormat::AutoSi, true),
                        _ => row.try_get::<String, _>("sort_key")?,
                    };
                    Ok((R::from_row(row)?, Cursor { id, value }))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
        })?
    };
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let first = step.is_none() && query.offset == 0;
    if backward && rows.len() <= limit {
        // Back at the top: the first page, as the table starts.
        let mut top = query.clone();
        top.offset = 0;
        return Box::pin(list_keyset_where(db, spec, where_clause, &top, None)).await;
    }
    let more = rows.len() > limit;
    rows.truncate(limit);
    if backward {
        rows.reverse();
    }
    let first_cursor = rows.first().map(|(_, c)| c.clone());
    let last_cursor = rows.last().map(|(_, c)| c.clone());
    let (previous, next) = if backward {
        (first_cursor.filter(|_| more), last_cursor)
    } else {
        // A page reached from a cursor or an offset has rows before it.
        let previous = if first { None } else { first_cursor };
        (previous, last_cursor.filter(|_| more))
    };
    Ok(Some(TablePage {
        rows: rows.into_iter().map(|(row, _)| row).collect(),
        previous,
        next,
        first,
    }))
}
