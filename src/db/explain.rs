//! Query plans as one line per step, the same on both engines' tests: SQLite's `EXPLAIN QUERY
//! PLAN` detail column, MariaDB's `EXPLAIN` rows as `table=... type=... key=... Extra=...`.
//!
//! Generic over the row type because `db_run!` compiles its block for both engines' rows; each
//! is only ever called with the rows of its own engine's statement.

use sqlx::{ColumnIndex, Database, Decode, Row, Type};

/// The steps of an `EXPLAIN QUERY PLAN` on SQLite: each row's detail.
pub(crate) fn sqlite_steps<R: Row>(rows: &[R]) -> Result<Vec<String>, sqlx::Error>
where
    usize: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    rows.iter().map(|row| row.try_get::<String, _>(3)).collect()
}

/// The steps of an `EXPLAIN` on MySQL: each row's table, access type, key and Extra.
pub(crate) fn mysql_steps<R: Row>(rows: &[R]) -> Result<Vec<String>, sqlx::Error>
where
    for<'n> &'n str: ColumnIndex<R>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    R::Database: Database,
{
    rows.iter()
        .map(|row| {
            let text = |name: &str| -> Result<String, sqlx::Error> {
                Ok(row.try_get::<Option<String>, _>(name)?.unwrap_or_default())
            };
            Ok(format!(
                "table={} type={} key={} Extra={}",
                text("table")?,
                text("type")?,
                text("key")?,
                text("Extra")?
            ))
        })
        .collect()
}
