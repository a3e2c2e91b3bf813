//! Tags: the names articles are filed under.
//!
//! The popular tags (`/api/tags`, the home page's sidebar, the dashboard's top tags) are read
//! from an index on SQLite, where triggers keep each tag's total on its row. MySQL has no such
//! total: a tag's count is split over slots that different writers update (no row every
//! writer of a tag touches, which a Galera cluster would collide on, issue 23), so reading the
//! popular tags sums every slot of every tag, groups and sorts. There an instance keeps what it
//! read in a [`PopularMemo`] and reuses it for up to [`POPULAR_FRESH`], unless one of its own
//! writes changed the counts since: a writer reads its own change at once, another instance
//! sees it within a second.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::db_run;
use crate::db::{DbPool, Engine};

/// How long an instance reuses the popular tags it read on MySQL (see the module's docs).
pub const POPULAR_FRESH: Duration = Duration::from_secs(1);

/// Popular tags with their counts, most used first, as one read found them.
type Counts = Arc<[(String, i64)]>;

/// The popular tags this instance read on MySQL lately, per limit asked for, and a generation
/// that this instance's writes to tag counts move on ([`DbPool::tags_changed`]).
#[derive(Debug, Default)]
pub struct PopularMemo {
    generation: AtomicU64,
    /// `(limit, generation read before the statement, when, counts)`, a few entries (one per
    /// limit the app asks for).
    entries: Mutex<Vec<(i64, u64, Instant, Counts)>>,
}

impl PopularMemo {
    /// Forget what was read: a write on this instance changed tag counts (called after it
    /// committed).
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The counts for `limit`, if read at the current generation within [`POPULAR_FRESH`].
    fn get(&self, limit: i64) -> Option<Counts> {
        let generation = self.generation();
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .iter()
            .find(|(l, g, at, _)| *l == limit && *g == generation && at.elapsed() < POPULAR_FRESH)
            .map(|(_, _, _, counts)| Arc::clone(counts))
    }

    /// Keep `counts` for `limit`, read by a statement that started at `generation`: if a write
    /// moved the generation meanwhile, the entry is already stale and is never served.
    fn put(&self, limit: i64, generation: u64, counts: Counts) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|(l, ..)| *l != limit);
        if entries.len() >= 8 {
            entries.remove(0);
        }
        entries.push((limit, generation, Instant::now(), counts));
    }
}

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
    Ok(counts(db, limit)
        .await?
        .iter()
        .map(|(name, _)| name.clone())
        .collect())
}

/// Tags in use with their article counts, most used first (ties by name), at most `limit`:
/// the dashboard's top tags. The same totals and order as [`popular`].
pub async fn popular_counts(db: &DbPool, limit: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
    Ok(counts(db, limit).await?.to_vec())
}

/// The statement of [`popular_counts`] for `engine` (binds the limit): `name, total` rows.
pub fn popular_counts_sql(engine: Engine) -> &'static str {
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

/// [`popular_counts`], shared; on MySQL through the instance's [`PopularMemo`].
async fn counts(db: &DbPool, limit: i64) -> Result<Counts, sqlx::Error> {
    let sql = popular_counts_sql(db.engine());
    let memo = (db.engine() == Engine::MySql).then(|| db.popular_tags());
    if let Some(counts) = memo.and_then(|m| m.get(limit)) {
        return Ok(counts);
    }
    let generation = memo.map(PopularMemo::generation);
    let counts: Counts = db_run!(db, |c| sqlx::query_as::<_, (String, i64)>(sql)
        .bind(limit)
        .fetch_all(c)
        .await)?
    .into();
    if let (Some(memo), Some(generation)) = (memo, generation) {
        memo.put(limit, generation, Arc::clone(&counts));
    }
    Ok(counts)
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
}

/// [`popular`] as one value: a scalar subquery (binds the limit) giving the same tags as
/// `count:name` pairs joined by commas (tags have none), or NULL when no tag is in use. A
/// page's statement carries it as a column, so the home page reads its sidebar in the same
/// round trip (`crate::db::articles::page_and_popular_tags`). An aggregate does not promise to
/// keep its rows' order (and its own ORDER BY made SQLite build a temporary b-tree), so
/// [`split_names`] puts them in order.
///
/// SQLite only (`None` on MySQL): there a page's statement carries no popular tags, and
/// [`popular_names`] packs them from the instance's memo instead.
pub fn popular_names_sql(engine: Engine) -> Option<&'static str> {
    match engine {
        Engine::Sqlite => Some(popular_names_sql!(sqlite)),
        Engine::MySql => None,
    }
}

/// [`popular_names_sql`] on its own, for a page that carried no row: the packed pairs.
/// On MySQL packed from [`popular_counts`] (the instance's memo), never a statement of its own.
pub async fn popular_names(db: &DbPool, limit: i64) -> Result<String, sqlx::Error> {
    const SQL: &str = concat!("SELECT ", popular_names_sql!(sqlite));
    if db.engine() == Engine::MySql {
        let mut packed = String::new();
        for (name, total) in counts(db, limit).await?.iter() {
            if !packed.is_empty() {
                packed.push(',');
            }
            write!(packed, "{total}:{name}").expect("writing to a String");
        }
        return Ok(packed);
    }
    let names = db_run!(db, |c| sqlx::query_scalar::<_, Option<String>>(SQL)
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
