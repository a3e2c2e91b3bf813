//! Deep offsets of the unfiltered list (issue 22): where the article at an offset is, read
//! from the per-block counts of `article_blocks` instead of walking the ids before it.
//!
//! An offset page read `SELECT id ... ORDER BY id DESC LIMIT 20 OFFSET m` from the narrow
//! index of the ids (`articles_id`): `m` index entries walked and dropped. SQLite walks one in about
//! 50 ns, but `InnoDB` hands each to the server one at a time (125 ns backwards, 54 ns forwards),
//! and at offset 20,000 of the scale set that walk was most of the request on MariaDB (5% of the
//! first page's rate). `article_blocks` holds, per block of 1,024 ids (`id >> 10`), how many
//! articles it has, split over the same slots as the other counters and kept in the
//! transaction of every insert and delete (`super::counters`). [`seek`] sums them newest block
//! first (some 50 blocks at 50,000 articles: one small primary-key read) to find the block
//! where the offset falls and how many articles are newer than it; the page then seeks into
//! `articles_id` below the block's upper end (`id < ?`, a range read) and skips fewer than
//! 1,024 entries (`super::list::page_ids`). What walks what, per engine, is pinned by
//! `tests/it/keyset.rs`.
//!
//! The two reads are two statements: a write between them moves the page by the articles
//! it added or removed below the block's end, as a write between two page requests does.

use crate::db::db_run;
use crate::db::{ArticleId, DbPool};

/// Ids per block: `block = id >> BLOCK_BITS` (the migration and the counters use 10 too).
pub const BLOCK_BITS: u32 = 10;

/// From this offset on, the unfiltered list finds its page through the blocks; below it the
/// plain walk (at most one block's worth of entries) costs less than the extra statement.
pub const DEEP_OFFSET: i64 = 1 << BLOCK_BITS;

/// The block in which the article at `offset` (newest first) falls, and how many articles
/// are in newer blocks. `CAST`: MySQL's `SUM` is a DECIMAL.
const SEEK: &str = "SELECT CAST(c.block AS SIGNED), CAST(c.upto - c.n AS SIGNED) FROM \
    (SELECT b.block, b.n, SUM(b.n) OVER (ORDER BY b.block DESC) AS upto \
     FROM (SELECT block, SUM(n) AS n FROM article_blocks GROUP BY block) b) c \
    WHERE c.upto > ? ORDER BY c.block DESC LIMIT 1";

/// Where the unfiltered list's page at `offset` starts: the ids below the returned id (the
/// first of the next block), after skipping the returned number of them (fewer than a
/// block's). `None`: past the last article.
pub async fn seek(db: &DbPool, offset: i64) -> Result<Option<(ArticleId, i64)>, sqlx::Error> {
    let found: Option<(i64, i64)> = db_run!(db, |c| {
        sqlx::query_as(SEEK).bind(offset).fetch_optional(c).await
    })?;
    Ok(found.map(|(block, newer)| (ArticleId::new((block + 1) << BLOCK_BITS), offset - newer)))
}
