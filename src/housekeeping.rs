//! Housekeeping: rows that matter only for a while are deleted in the background once they can
//! no longer count, so their tables stay the size of their window, not of the site's history.
//!
//! - failed logins (`login_attempts`) older than the login window;
//! - sign-up attempts (`register_attempts`) older than an hour (`register_per_hour`'s window);
//! - throttle keys (`throttle_keys`) nobody was counted under within either window;
//! - browser sessions that expired or were revoked (a revoked or expired session's tokens are
//!   refused whether or not its row is there);
//! - password reset requests (`reset_requests`) older than their hour, mailed tokens past
//!   their time, and mails sent more than a day ago (they hold links to accounts);
//! - wrong two-factor codes (`totp_failures`) older than their day (the daily cap's window),
//!   and completed half-done sign-ins (`totp_pending_used`) past their expiry (a replayed
//!   cookie is refused by its own expiry by then).
//!
//! And on SQLite, the write-ahead log: every `wal_check_seconds` its size is looked at, and past
//! `wal_checkpoint_bytes` a passive checkpoint runs ([`checkpoint_wal`], `db::wal`); then the
//! search indexes' segments are merged a step (`db::search::merge_segments`), so that a search
//! looks each word up in one or two segments however many writes came before.
//!
//! A pass runs at liftoff and then every `housekeeping_minutes` (`0`: never), on every instance;
//! passes on several instances delete the same rows harmlessly. A pass that panics is reported
//! (`background`) and the next one runs as usual.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use rocket::fairing::AdHoc;

use crate::config::AppConfig;
use crate::db::{self, Db, DbPool};

/// What one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Failed logins past the window.
    pub login_attempts: u64,
    /// Sign-up attempts past the hour.
    pub register_attempts: u64,
    /// Throttle keys unused within both windows.
    pub throttle_keys: u64,
    /// Ended sessions.
    pub sessions: u64,
    /// Password reset requests past the hour.
    pub reset_requests: u64,
    /// Mailed tokens (reset and confirmation links) past their time.
    pub account_tokens: u64,
    /// Mails sent more than a day ago.
    pub sent_mail: u64,
    /// Wrong two-factor codes past their day.
    pub totp_failures: u64,
    /// Completed half-done sign-ins past their expiry.
    pub totp_pending_used: u64,
}

/// One pass, as of `now`.
pub async fn prune(
    db: &DbPool,
    config: &AppConfig,
    now: DateTime<Utc>,
) -> Result<Pruned, sqlx::Error> {
    let login_window = Duration::minutes(config.login_window_minutes);
    let register_window = Duration::hours(1);
    Ok(Pruned {
        login_attempts: db::login_attempts::prune(db, now - login_window).await?,
        register_attempts: db::throttle::prune_registrations(db, now - register_window).await?,
        throttle_keys: db::throttle::prune(db, now - login_window.max(register_window)).await?,
        sessions: db::sessions::prune(db, now).await?,
        // Their window is an hour too (`auth::recovery::RESET_WINDOW_HOURS`).
        reset_requests: db::throttle::prune_resets(db, now - register_window).await?,
        account_tokens: db::account_tokens::prune(db, now).await?,
        sent_mail: db::outbox::prune_sent(db, now - Duration::days(1)).await?,
        totp_failures: db::throttle::prune_code_failures(db, now - Duration::days(1)).await?,
        totp_pending_used: db::totp::prune_pending_used(db, now).await?,
    })
}

/// The WAL task's pass: a passive checkpoint when the log has grown past
/// `wal_checkpoint_bytes`. `Ok(None)` when nothing was done (MySQL, or a small log).
pub async fn checkpoint_wal(
    db: &DbPool,
    config: &AppConfig,
) -> Result<Option<db::wal::Checkpoint>, sqlx::Error> {
    match db.wal_bytes() {
        Some(bytes) if bytes > config.wal_checkpoint_bytes => {
            let done = db::wal::checkpoint_passive(db).await?;
            log::info!(
                "sqlite: the write-ahead log had {bytes} bytes; passive checkpoint: {done:?}"
            );
            Ok(done)
        }
        _ => Ok(None),
    }
}

/// Pages each search index may be rewritten by one pass of the SQLite task (a few megabytes
/// at most, in a short write transaction; a larger index is merged over several passes).
const SEARCH_MERGE_PAGES: u32 = 500;

/// Starts the SQLite task at liftoff (unless `wal_check_seconds` is 0): the WAL check, then a
/// step of merging the search indexes' segments (`db::search::merge_segments`).
pub fn wal_stage() -> AdHoc {
    AdHoc::on_liftoff("SQLite WAL checkpoints", |rocket| {
        Box::pin(async move {
            let (Some(db), Some(config)) = (rocket.state::<Db>(), rocket.state::<AppConfig>())
            else {
                return;
            };
            if config.wal_check_seconds == 0 || db.wal_bytes().is_none() {
                return;
            }
            let db: DbPool = (**db).clone();
            let config = config.clone();
            let every = StdDuration::from_secs(config.wal_check_seconds);
            crate::background::spawn_periodic("sqlite-wal", every, rocket.shutdown(), move || {
                let (db, config) = (db.clone(), config.clone());
                async move {
                    if let Err(e) = checkpoint_wal(&db, &config).await {
                        log::warn!("sqlite: checkpoint: {e}");
                    }
                    if let Err(e) = db::search::merge_segments(&db, SEARCH_MERGE_PAGES).await {
                        log::warn!("sqlite: search index merge: {e}");
                    }
                }
            });
        })
    })
}

/// Starts the background task at liftoff (unless `housekeeping_minutes` is 0); it ends with
/// the server.
pub fn stage() -> AdHoc {
    AdHoc::on_liftoff("Housekeeping", |rocket| {
        Box::pin(async move {
            let (Some(db), Some(config)) = (rocket.state::<Db>(), rocket.state::<AppConfig>())
            else {
                return;
            };
            if config.housekeeping_minutes == 0 {
                return;
            }
            let db: DbPool = (**db).clone();
            let config = config.clone();
            let every = StdDuration::from_secs(config.housekeeping_minutes.saturating_mul(60));
            crate::background::spawn_periodic(
                "housekeeping",
                every,
                rocket.shutdown(),
                move || {
                    let (db, config) = (db.clone(), config.clone());
                    async move {
                        match prune(&db, &config, Utc::now()).await {
                            Ok(pruned) => log::debug!("housekeeping: {pruned:?}"),
                            Err(e) => log::warn!("housekeeping: {e}"),
                        }
                    }
                },
            );
        })
    })
}

/// Postings one step of the search backfill writes (a short transaction; the task takes steps
/// back to back until caught up, for at most [`BACKFILL_SLICE`] each tick).
pub const BACKFILL_ROWS: usize = 5_000;

/// The longest the backfill task works in one tick before it yields until the next.
const BACKFILL_SLICE: StdDuration = StdDuration::from_secs(5);

/// One tick of the search backfill: steps until caught up or [`BACKFILL_SLICE`] has passed.
/// Returns the last step's report.
pub async fn backfill_search(db: &DbPool) -> Result<db::search::backfill::Step, sqlx::Error> {
    let started = std::time::Instant::now();
    loop {
        let step = db::search::backfill::step(db, BACKFILL_ROWS).await?;
        if step.indexed > 0 {
            log::info!(
                "search backfill: {} articles indexed ({} postings), up to id {}",
                step.indexed,
                step.rows,
                step.mark
            );
        }
        if step.caught_up || started.elapsed() >= BACKFILL_SLICE {
            return Ok(step);
        }
    }
}

/// Starts MySQL's search backfill task at liftoff (unless `search_backfill_seconds` is 0, or
/// on SQLite): articles without search postings get them (`db::search::backfill`); until
/// then MySQL's searches use the FULLTEXT indexes.
pub fn search_backfill_stage() -> AdHoc {
    AdHoc::on_liftoff("Search backfill", |rocket| {
        Box::pin(async move {
            let (Some(db), Some(config)) = (rocket.state::<Db>(), rocket.state::<AppConfig>())
            else {
                return;
            };
            if config.search_backfill_seconds == 0 || db.engine() != db::Engine::MySql {
                return;
            }
            let db: DbPool = (**db).clone();
            let every = StdDuration::from_secs(config.search_backfill_seconds);
            crate::background::spawn_periodic(
                "search-backfill",
                every,
                rocket.shutdown(),
                move || {
                    let db = db.clone();
                    async move {
                        if let Err(e) = backfill_search(&db).await {
                            log::warn!("search backfill: {e}");
                        }
                    }
                },
            );
        })
    })
}
