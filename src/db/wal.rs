//! SQLite's write-ahead log: its size on disk and the passive checkpoint the WAL task runs.
//!
//! SQLite checkpoints by itself at commit once the WAL holds 1000 pages, but a checkpoint
//! cannot copy frames a reader still needs, and the file is only rewound once everything in it
//! was copied; under a steady stream of readers a write burst grew it to hundreds of megabytes,
//! and it kept that size. So every connection sets `journal_size_limit` (the file is cut back
//! to it when the log is rewound, at the first commit after a complete checkpoint), and a
//! background task runs a PASSIVE checkpoint (never waits for or blocks anyone) once the file
//! passes `wal_checkpoint_bytes`, i.e. when the burst's readers are gone.

use super::pool::Backend;
use super::DbPool;

/// What one `PRAGMA wal_checkpoint(PASSIVE)` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Whether the checkpoint was stopped by a lock (then not every frame was copied).
    pub busy: bool,
    /// Frames in the log.
    pub log_frames: i64,
    /// Frames copied into the database file (all of them once the log can be rewound).
    pub checkpointed_frames: i64,
}

impl Checkpoint {
    /// Every frame was copied: the next commit rewinds the log and cuts the file back to
    /// `journal_size_limit`.
    pub fn complete(&self) -> bool {
        !self.busy && self.checkpointed_frames >= self.log_frames
    }
}

/// Run a passive checkpoint. `Ok(None)` on MySQL (no WAL).
pub async fn checkpoint_passive(db: &DbPool) -> Result<Option<Checkpoint>, sqlx::Error> {
    let Backend::Sqlite(pool) = db.backend() else {
        return Ok(None);
    };
    let mut held = pool.acquire().await?;
    let result = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(held.conn())
        .await;
    held.finish(&result);
    let (busy, log_frames, checkpointed_frames) = result?;
    Ok(Some(Checkpoint {
        busy: busy != 0,
        log_frames,
        checkpointed_frames,
    }))
}

/// The `journal_size_limit` a connection runs with, in bytes (`Ok(None)` on MySQL).
pub async fn journal_size_limit(db: &DbPool) -> Result<Option<i64>, sqlx::Error> {
    let Backend::Sqlite(pool) = db.backend() else {
        return Ok(None);
    };
    let mut held = pool.acquire().await?;
    let result = sqlx::query_scalar::<_, i64>("PRAGMA journal_size_limit")
        .fetch_one(held.conn())
        .await;
    held.finish(&result);
    result.map(Some)
}
