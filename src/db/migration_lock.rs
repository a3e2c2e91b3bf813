//! The lock that lets one app instance apply the MySQL migrations while the others wait, on a
//! single server and on a Galera cluster alike.
//!
//! sqlx's migrator locks with `GET_LOCK`, which a Galera node keeps to itself: two instances
//! starting at once against two nodes both got it, both ran the first migration, and one
//! failed on "table exists". This lock is a row instead, which replicates: an instance takes
//! it by inserting row 1 into `_conduit_migration_lock`; a second insert fails on the primary
//! key (on another node, at once or at commit: a certification conflict, error 1213), and that
//! instance waits and tries again until the holder deletes the row. A row older than
//! [`STALE_AFTER`] is taken to be left by an instance that died while migrating, and removed.

use std::time::Duration;

use sqlx::MySqlConnection;

use crate::error::{is_lock_conflict, is_unique_violation};

/// Whether the lock table is there (creating it each start would be DDL replicated to the
/// whole cluster).
const EXISTS: &str = "SELECT COUNT(*) FROM information_schema.TABLES \
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_conduit_migration_lock'";
const CREATE: &str = "CREATE TABLE IF NOT EXISTS _conduit_migration_lock (\
    id INT NOT NULL PRIMARY KEY, holder VARCHAR(64) NOT NULL, taken_at DATETIME(3) NOT NULL) \
    ENGINE = InnoDB";
const TAKE: &str = "INSERT INTO _conduit_migration_lock (id, holder, taken_at) \
    VALUES (1, ?, UTC_TIMESTAMP(3))";
const BREAK_STALE: &str = "DELETE FROM _conduit_migration_lock \
    WHERE id = 1 AND taken_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND";
const RELEASE: &str = "DELETE FROM _conduit_migration_lock WHERE id = 1 AND holder = ?";

/// How old a held lock must be before a waiting instance removes it (its holder is taken to
/// have died). Longer than any migration of this app takes.
pub const STALE_AFTER: Duration = Duration::from_secs(600);

/// How long a waiting instance pauses between two tries.
const PAUSE: Duration = Duration::from_millis(200);

/// Take the lock on `conn`'s database, waiting while another instance holds it; returns the
/// holder name to [`release`] it with.
pub async fn acquire(conn: &mut MySqlConnection) -> Result<String, sqlx::Error> {
    let exists: i64 = sqlx::query_scalar(EXISTS).fetch_one(&mut *conn).await?;
    if exists == 0 {
        sqlx::query(CREATE).execute(&mut *conn).await?;
    }
    let holder = format!("{:016x}", rand::random::<u64>());
    let mut waited = false;
    loop {
        match sqlx::query(TAKE).bind(&holder).execute(&mut *conn).await {
            Ok(_) => return Ok(holder),
            Err(e) if is_unique_violation(&e) || is_lock_conflict(&e) => {
                if !waited {
                    log::info!("migrations: another instance is applying them, waiting");
                    waited = true;
                }
                let removed = sqlx::query(BREAK_STALE)
                    .bind(STALE_AFTER.as_secs())
                    .execute(&mut *conn)
                    .await;
                match removed {
                    Ok(done) if done.rows_affected() > 0 => {
                        log::warn!(
                            "migrations: removed a lock held for over {} s by an instance that \
                             is taken to have died",
                            STALE_AFTER.as_secs()
                        );
                    }
                    Ok(_) => {}
                    Err(e) if is_lock_conflict(&e) => {}
                    Err(e) => return Err(e),
                }
                let jitter = PAUSE.mul_f64(rand::random::<f64>());
                tokio::time::sleep(PAUSE + jitter).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Give the lock back (only if `holder` still holds it).
pub async fn release(conn: &mut MySqlConnection, holder: &str) -> Result<(), sqlx::Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match sqlx::query(RELEASE).bind(holder).execute(&mut *conn).await {
            Err(e) if is_lock_conflict(&e) && attempt < crate::db::retry::ATTEMPTS => {
                tokio::time::sleep(crate::db::retry::pause_after(attempt)).await;
            }
            other => return other.map(|_| ()),
        }
    }
}
