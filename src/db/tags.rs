//! Tags: the names articles are filed under.

use crate::db::db_run;
use crate::db::{DbPool, Engine};

/// The tags in use with their article counts, most used first (ties by name), binding the
/// limit: a derived table `pt` of `name, total`. SQLite reads each tag's total, which triggers
/// keep equal to its summed `tag_counts` slots (migration `20261130200001_sqlite_tag_totals`),
/// in the order of the `tags_popular` index, and stops at the limit. MySQL sums the slots (at
/// most `counters::SLOTS` a tag) in one grouped pass, one temporary table and a sort of one row
/// per tag (EXPLAIN: no derived table under it; summing in a derived table first made four).
macro_rules! popular_sql {
    (sqlite) => {
        "(SELECT name, article_count AS total FROM tags WHERE article_count > 0 \
         ORDER BY article_count DESC, name LIMIT ?) pt"
    };
    (mysql) => {
        "(SELECT t.name, SUM(c.n) AS total FROM tag_counts c JOIN tags t ON t.id = c.tag_id \
         GROUP BY c.tag_id HAVING total > 0 ORDER BY total DESC, t.name LIMIT ?) pt"
    };
}

/// Tags in use, most used first (ties by name), at most `limit`.
pub async fn popular(db: &DbPool, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    let sql = match db.engine() {
        Engine::Sqlite => concat!(
            "SELECT pt.name FROM ",
            popular_sql!(sqlite),
            " ORDER BY pt.total DESC, pt.name"
        ),
        Engine::MySql => concat!(
            "SELECT pt.name FROM ",
            popular_sql!(mysql),
            " ORDER BY pt.total DESC, pt.name"
        ),
    };
    db_run!(db, |c| sqlx::query_scalar::<_, String>(sql)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// The statement of [`popular_counts`] (one bind: the limit).
pub(crate) fn popular_counts_sql(engine: Engine) -> &'static str {
    macro_rules! sql {
        ($engine:tt) => {
            concat!(
                "SELECT pt.name, CAST(pt.total AS SIGNED) AS total FROM ",
                popular_sql!($engine),
                " ORDER BY pt.total DESC, pt.name"
            )
        };
    }
    match engine {
        Engine::Sqlite => sql!(sqlite),
        Engine::MySql => sql!(mysql),
    }
}

/// Tags in use with their article counts, most used first (ties by name), at most `limit`:
/// the dashboard's top tags. The same totals and order as [`popular`].
pub async fn popular_counts(db: &DbPool, limit: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let sql = popular_counts_sql(db.engine());
    db_run!(db, |c| sqlx::query_as::<_, (String, i64)>(sql)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// The text of [`popular_names_sql`] for an engine: how it joins a count and a name. SQLite's
/// `||` is one instruction of its VM; its `concat()` function was a third of this subquery.
/// MySQL reads `||` as OR.
macro_rules! popular_names_sql {
    ($pair:literal, $engine:tt) => {
        concat!(
            "(SELECT group_concat(",
            $pair,
            ") FROM ",
            popular_sql!($engine),
            ")"
        )
    };
    (sqlite) => {
        popular_names_sql!("pt.total || ':' || pt.name", sqlite)
    };
    (mysql) => {
        popular_names_sql!("concat(pt.total, ':', pt.name)", mysql)
    };
}

/// [`popular`] as one value: a scalar subquery (binds the limit) giving the same tags as
/// `count:name` pairs joined by commas (tags have none), or NULL when no tag is in use. A
/// page's statement carries it as a column, so the home page reads its sidebar in the same
/// round trip (`crate::db::articles::page_and_popular_tags`). An aggregate does not promise to
/// keep its rows' order (and its own ORDER BY made SQLite build a temporary b-tree), so
/// [`split_names`] puts them in order. MySQL's length limit is raised on connect.
pub fn popular_names_sql(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => popular_names_sql!(sqlite),
        Engine::MySql => popular_names_sql!(mysql),
    }
}

/// [`popular_names_sql`] on its own, for a page that carried no row: the packed pairs.
pub async fn popular_names(db: &DbPool, limit: i64) -> Result<String, sqlx::Error> {
    let sql = match db.engine() {
        Engine::Sqlite => concat!("SELECT ", popular_names_sql!(sqlite)),
        Engine::MySql => concat!("SELECT ", popular_names_sql!(mysql)),
    };
    let names = db_run!(db, |c| sqlx::query_scalar::<_, Option<String>>(sql)
        .bind(limit)
        .fetch_one(c)
        .await)?;
    Ok(names.unwrap_or_default())
}

/// The names in [`popular_names_sql`]'s packed pairs: most used first, ties by name in any
/// letter case. The home page keeps the packed text as its sidebar's memo key, so this runs
/// only when the sidebar renders.
pub fn split_names(packed: &str) -> Vec<String> {
    let mut tags: Vec<(i64, &str)> = packed
        .split(',')
        .filter_map(|pair| {
            let (count, name) = pair.split_once(':')?;
            Some((count.parse().ok()?, name))
        })
        .collect();
    tags.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| by_name(a.1, b.1)));
    tags.into_iter().map(|(_, name)| name.to_owned()).collect()
}

/// Tag names in alphabetical order, in any letter case, the same on both engines.
pub fn by_name(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .cmp(b.chars().flat_map(char::to_lowercase))
    }
    .then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popular_names_come_most_used_first_then_by_name_in_any_case() {
        let packed = "1:web,3:Zeta,1:Ärger,3:alpha,2:mid,1:apple:pie".to_owned();
        assert_eq!(
            split_names(&packed),
            ["alpha", "Zeta", "mid", "apple:pie", "web", "Ärger"]
        );
        assert!(split_names("").is_empty());
    }

    #[test]
    fn names_compare_in_any_letter_case() {
        use std::cmp::Ordering::{Greater, Less};
        assert_eq!(by_name("Rust", "ruby"), Greater);
        assert_eq!(by_name("éclair", "Zebra"), Greater);
        assert_eq!(
            by_name("Éclair", "éclair"),
            Less,
            "ties fall back to the bytes"
        );
    }
}
