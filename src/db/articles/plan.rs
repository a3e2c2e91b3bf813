//! The query plan of a list page's id range, for the tests that pin it (`tests/it/keyset.rs`,
//! `tests/it/deep_offsets.rs`) and for checking a database by hand.

use super::list::{bind_values, deep, page_ids, source, Bind, PageIds, Position, Source};
use super::Filter;
use crate::db::db_run;
use crate::db::{DbPool, Engine};

/// The query plan of the statement that picks the ids of `filter`'s page at `position` (20
/// per page), one line per step: SQLite's `EXPLAIN QUERY PLAN` details, MariaDB's `EXPLAIN`
/// rows as `table=... key=... Extra=...`. For tests and for checking a database by hand.
pub async fn explain_page_ids(
    db: &DbPool,
    filter: &Filter,
    position: Position,
) -> Result<Vec<String>, sqlx::Error> {
    let Source {
        from,
        id,
        conditions,
        binds,
        ..
    } = source(filter);
    let PageIds {
        sql,
        cursor,
        offset,
    } = {
        let (seek, below) = deep(db, from, position).await?;
        page_ids(from, id, &conditions, seek, below, db.engine())
    };
    macro_rules! bound {
        ($query:expr) => {{
            let mut query = bind_values!($query, &binds);
            if let Some(cursor) = cursor {
                query = query.bind(cursor);
            }
            query = query.bind(20_i64);
            if let Some(offset) = offset {
                query = query.bind(offset);
            }
            query
        }};
    }
    match db.engine() {
        Engine::Sqlite => {
            let sql = format!("EXPLAIN QUERY PLAN {sql}");
            db_run!(db, |c| {
                let rows = bound!(sqlx::query(&sql)).fetch_all(c).await?;
                crate::db::explain::sqlite_steps(&rows)
            })
        }
        Engine::MySql => {
            let sql = format!("EXPLAIN {sql}");
            db_run!(db, |c| {
                let rows = bound!(sqlx::query(&sql)).fetch_all(c).await?;
                crate::db::explain::mysql_steps(&rows)
            })
        }
    }
}
