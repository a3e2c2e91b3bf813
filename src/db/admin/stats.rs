//! The dashboard's numbers over time (issue 21): rows created per UTC day, what changed in the
//! last days, and the most used tags with their counts.
//!
//! Every query reads a bounded range of a `created_at` index, so its cost follows the rows of
//! the range, not the size of the table: `users_created_at`, `articles_created_at`,
//! `comments_created_at` (`(created_at, id)`: they cover the query, no table row is read),
//! `tags_created_at` and `audit_log_created_at`.
//!
//! Days are UTC: MySQL stores `DATETIME(3)` in UTC (the sessions' time zone), SQLite the RFC 3339
//! text sqlx writes for a `DateTime<Utc>` (`2026-11-30T09:15:02.123+00:00`). The bounds are
//! bound as dates: on SQLite `'2026-11-30'` sorts before every time of that day in either text
//! form a row may hold (`T` or a space after the date), on MySQL it is that day's midnight.

use chrono::NaiveDate;
use serde::Serialize;

use crate::db::db_run;
use crate::db::{DbPool, Engine};

/// A per-day series of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    /// Accounts created.
    SignUps,
    /// Articles written.
    Articles,
    /// Comments written.
    Comments,
}

impl Series {
    /// Every series, in the order the dashboard shows them.
    pub const ALL: [Self; 3] = [Self::SignUps, Self::Articles, Self::Comments];

    fn table(self) -> &'static str {
        match self {
            Self::SignUps => "users",
            Self::Articles => "articles",
            Self::Comments => "comments",
        }
    }
}

/// The UTC day of `created_at` as `YYYY-MM-DD` text: the first ten characters of SQLite's
/// text, MySQL's `DATETIME` formatted.
fn day_of(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "substr(created_at, 1, 10)",
        Engine::MySql => "DATE_FORMAT(created_at, '%Y-%m-%d')",
    }
}

/// The statement of [`per_day`]: two binds, the first day and the day after the last.
fn per_day_sql(series: Series, engine: Engine) -> String {
    // A range of the `<table>_created_at (created_at, id)` index, read alone (it covers the
    // query); the grouping sorts one small row per day of the range (at most 90).
    format!(
        "SELECT {} AS day, COUNT(*) AS n FROM {} WHERE created_at >= ? AND created_at < ? \
         GROUP BY day ORDER BY day",
        day_of(engine),
        series.table()
    )
}

/// Rows of `series` created on each UTC day from `first` to `last` (both included), as
/// `(YYYY-MM-DD, count)` in day order. Days without rows are left out; the caller fills them.
pub async fn per_day(
    db: &DbPool,
    series: Series,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let sql = per_day_sql(series, db.engine());
    let until = last.succ_opt().unwrap_or(NaiveDate::MAX);
    db_run!(db, |c| sqlx::query_as::<_, (String, i64)>(&sql)
        .bind(first)
        .bind(until)
        .fetch_all(c)
        .await)
}

/// A value bound to a statement whose plan is read.
#[derive(Debug, Clone, Copy)]
enum Bind {
    Date(NaiveDate),
    Int(i64),
}

/// The plan of `sql` with `binds` (SQLite's `EXPLAIN QUERY PLAN` details, MariaDB's `EXPLAIN`
/// rows as `table=... type=... key=... Extra=...`).
async fn explain(db: &DbPool, sql: &str, binds: &[Bind]) -> Result<Vec<String>, sqlx::Error> {
    let sql = match db.engine() {
        Engine::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
        Engine::MySql => format!("EXPLAIN {sql}"),
    };
    let engine = db.engine();
    db_run!(db, |c| {
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match *bind {
                Bind::Date(d) => query.bind(d),
                Bind::Int(n) => query.bind(n),
            };
        }
        let rows = query.fetch_all(c).await?;
        match engine {
            Engine::Sqlite => crate::db::explain::sqlite_steps(&rows),
            Engine::MySql => crate::db::explain::mysql_steps(&rows),
        }
    })
}

/// The query plans of every statement the dashboard runs for a range from `first` to `last`,
/// by name (`per_day users`, `per_day articles`, `per_day comments`, `changes_since`,
/// `counts`, `top_tags`): for tests and for checking a database by hand.
pub async fn explain_dashboard(
    db: &DbPool,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<(String, Vec<String>)>, sqlx::Error> {
    let engine = db.engine();
    let until = last.succ_opt().unwrap_or(NaiveDate::MAX);
    let mut plans = Vec::new();
    for series in Series::ALL {
        let sql = per_day_sql(series, engine);
        let plan = explain(db, &sql, &[Bind::Date(first), Bind::Date(until)]).await?;
        plans.push((format!("per_day {}", series.table()), plan));
    }
    let since = [Bind::Date(first); 6];
    plans.push((
        "changes_since".to_owned(),
        explain(db, CHANGES_SQL, &since).await?,
    ));
    plans.push((
        "counts".to_owned(),
        explain(db, &crate::db::admin::counts_sql(), &[]).await?,
    ));
    plans.push((
        "top_tags".to_owned(),
        explain(
            db,
            crate::db::tags::popular_counts_sql(engine),
            &[Bind::Int(10)],
        )
        .await?,
    ));
    Ok(plans)
}

/// What changed since a day: new rows of each table, and the admins and disabled accounts
/// gained or lost by admin actions (the audit log).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema,
)]
pub struct Changes {
    /// Accounts created.
    pub users: i64,
    /// Promotions, less demotions and deleted admins.
    pub admins: i64,
    /// Accounts disabled, less those enabled and deleted disabled accounts.
    pub disabled: i64,
    /// Articles written.
    pub articles: i64,
    /// Comments written.
    pub comments: i64,
    /// Tags first used.
    pub tags: i64,
}

/// What changed from the start of UTC day `since` on (see [`Changes`]). The admin and disabled
/// changes are read from the audit log's entries of the range (a user's deletion entry holds
/// the account as it was: `serde_json` writes `"role":"admin"` and `"disabled":true` with no
/// spaces, and a quote inside a value is escaped, so the patterns match only those fields).
pub async fn changes_since(db: &DbPool, since: NaiveDate) -> Result<Changes, sqlx::Error> {
    db_run!(db, |c| sqlx::query_as::<_, Changes>(CHANGES_SQL)
        .bind(since)
        .bind(since)
        .bind(since)
        .bind(since)
        .bind(since)
        .bind(since)
        .fetch_one(c)
        .await)
}

/// The statement of [`changes_since`]: six binds, each the first day.
const CHANGES_SQL: &str = "SELECT \
        (SELECT COUNT(*) FROM users WHERE created_at >= ?) AS users, \
        CAST(COALESCE((SELECT SUM(CASE WHEN action = 'user.promote' THEN 1 \
            WHEN action = 'user.demote' THEN -1 \
            WHEN action = 'user.delete' AND before_json LIKE '%\"role\":\"admin\"%' THEN -1 \
            ELSE 0 END) FROM audit_log WHERE created_at >= ?), 0) AS SIGNED) AS admins, \
        CAST(COALESCE((SELECT SUM(CASE WHEN action = 'user.disable' THEN 1 \
            WHEN action = 'user.enable' THEN -1 \
            WHEN action = 'user.delete' AND before_json LIKE '%\"disabled\":true%' THEN -1 \
            ELSE 0 END) FROM audit_log WHERE created_at >= ?), 0) AS SIGNED) AS disabled, \
        (SELECT COUNT(*) FROM articles WHERE created_at >= ?) AS articles, \
        (SELECT COUNT(*) FROM comments WHERE created_at >= ?) AS comments, \
        (SELECT COUNT(*) FROM tags WHERE created_at >= ?) AS tags";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daily_counts_read_a_range_of_the_created_at_column() {
        let sql = per_day_sql(Series::Comments, Engine::MySql);
        assert!(
            sql.contains("FROM comments WHERE created_at >= ? AND created_at < ?"),
            "{sql}"
        );
        assert!(per_day_sql(Series::SignUps, Engine::Sqlite).contains("substr(created_at, 1, 10)"));
    }
}
