//! Two-factor sign-in (TOTP): the account's sealed secret, the last time step a code was
//! accepted for, and the one-time recovery codes (their SHA-256 only). Every use of a code is
//! one conditional `UPDATE`: of two sign-ins with one code (or one recovery code) exactly one
//! changes the row, and only that one signs in. Turning the second factor on or off writes its
//! audit entry and its notice mail in the same transaction.

use chrono::{DateTime, Utc};

use crate::db::audit::{insert_audit, AuditEntry};
use crate::db::db_run;
use crate::db::db_transaction;
use crate::db::outbox::{insert_mail, NewMail};
use crate::db::{now, DbPool, UserId};
use crate::error::is_unique_violation;

/// An account's row of `user_totp`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotpRow {
    /// The sealed secret (`auth::totp::seal`), never the secret itself.
    pub secret: String,
    /// When the enrolment was confirmed; `None` while it waits for its first code.
    pub enabled_at: Option<DateTime<Utc>>,
    /// The last time step a code was accepted for (-1: none yet).
    pub last_step: i64,
    /// The browser session that started a pending enrolment (`None` over the API).
    pub started_sid: Option<String>,
}

/// The account's row, enabled or pending.
pub async fn find(db: &DbPool, user_id: UserId) -> Result<Option<TotpRow>, sqlx::Error> {
    const SQL: &str =
        "SELECT secret, enabled_at, last_step, started_sid FROM user_totp WHERE user_id = ?";
    db_run!(db, |c| sqlx::query_as::<_, TotpRow>(SQL)
        .bind(user_id)
        .fetch_optional(c)
        .await)
}

/// Whether the account signs in with a second factor.
pub async fn is_enabled(db: &DbPool, user_id: UserId) -> Result<bool, sqlx::Error> {
    Ok(find(db, user_id)
        .await?
        .is_some_and(|row| row.enabled_at.is_some()))
}

/// Start (or restart) an enrolment with the sealed `secret` by browser session `sid` (`None`
/// over the API), replacing a pending one. `false` when the second factor is on already:
/// nothing is written.
pub async fn start(
    db: &DbPool,
    user_id: UserId,
    secret: &str,
    sid: Option<&str>,
) -> Result<bool, sqlx::Error> {
    const CLEAR: &str = "DELETE FROM user_totp WHERE user_id = ? AND enabled_at IS NULL";
    const INSERT: &str =
        "INSERT INTO user_totp (user_id, secret, created_at, started_sid) VALUES (?, ?, ?, ?)";
    let at = now();
    let inserted = db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        sqlx::query(CLEAR).bind(user_id).execute(&mut *tx).await?;
        sqlx::query(INSERT)
            .bind(user_id)
            .bind(secret)
            .bind(at)
            .bind(sid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    });
    match inserted {
        Ok(()) => Ok(true),
        // The enabled row is still there (the primary key): enrolment is over.
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// On an open transaction: replace the account's recovery codes with `hashes`.
macro_rules! write_codes {
    ($tx:ident, $user_id:expr, $hashes:expr, $at:expr) => {{
        sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = ?")
            .bind($user_id)
            .execute(&mut *$tx)
            .await?;
        for hash in $hashes {
            sqlx::query(
                "INSERT INTO totp_recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)",
            )
            .bind($user_id)
            .bind(hash.as_str())
            .bind($at)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// What turning the second factor on writes besides the row.
pub struct Enable<'a> {
    /// The sealed secret the code was checked against (the pending one, unchanged since).
    pub secret: &'a str,
    /// The time step of the code that confirmed it (used: it cannot sign in afterwards).
    pub step: i64,
    /// The recovery codes' hashes.
    pub recovery_hashes: &'a [String],
    /// The audit entry.
    pub audit: &'a AuditEntry,
    /// The notice to the account's address.
    pub notice: &'a NewMail,
}

/// Turn the pending enrolment on, in one transaction with its recovery codes (replacing any),
/// its audit entry and its notice. `false` when there was no such pending enrolment (it was
/// confirmed or restarted meanwhile): nothing is written.
pub async fn enable(db: &DbPool, user_id: UserId, e: &Enable<'_>) -> Result<bool, sqlx::Error> {
    const ENABLE: &str = "UPDATE user_totp SET enabled_at = ?, last_step = ? \
                          WHERE user_id = ? AND enabled_at IS NULL AND secret = ?";
    let at = now();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let changed = sqlx::query(ENABLE)
            .bind(at)
            .bind(e.step)
            .bind(user_id)
            .bind(e.secret)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        write_codes!(tx, user_id, e.recovery_hashes, at);
        insert_audit!(tx, e.audit);
        insert_mail!(&mut *tx, e.notice, at)?;
        tx.commit().await?;
        Ok(true)
    })
}

/// Replace the recovery codes of an account whose second factor is on, with the audit entry,
/// in one transaction. `false` when it is not on: nothing is written.
pub async fn replace_recovery(
    db: &DbPool,
    user_id: UserId,
    hashes: &[String],
    audit: &AuditEntry,
) -> Result<bool, sqlx::Error> {
    const ON: &str = "SELECT COUNT(*) FROM user_totp WHERE user_id = ? AND enabled_at IS NOT NULL";
    let at = now();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let on: i64 = sqlx::query_scalar(ON)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        if on == 0 {
            return Ok(false);
        }
        write_codes!(tx, user_id, hashes, at);
        insert_audit!(tx, audit);
        tx.commit().await?;
        Ok(true)
    })
}

/// Accept a code for time step `step`: only if the second factor is on and no code was
/// accepted for this step or a later one. `false`: refused (a replay, or a racing sign-in
/// that used it first).
pub async fn use_step(db: &DbPool, user_id: UserId, step: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE user_totp SET last_step = ? \
                       WHERE user_id = ? AND enabled_at IS NOT NULL AND last_step < ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(step)
        .bind(user_id)
        .bind(step)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Use the recovery code with this hash: `true` once, for an unused code of an account whose
/// second factor is on.
pub async fn use_recovery(db: &DbPool, user_id: UserId, hash: &str) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE totp_recovery_codes SET used_at = ? \
                       WHERE user_id = ? AND code_hash = ? AND used_at IS NULL \
                       AND user_id IN (SELECT user_id FROM user_totp WHERE enabled_at IS NOT NULL)";
    let at = now();
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(at)
        .bind(user_id)
        .bind(hash)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// How many unused recovery codes the account has.
pub async fn recovery_left(db: &DbPool, user_id: UserId) -> Result<i64, sqlx::Error> {
    const SQL: &str =
        "SELECT COUNT(*) FROM totp_recovery_codes WHERE user_id = ? AND used_at IS NULL";
    db_run!(db, |c| sqlx::query_scalar::<_, i64>(SQL)
        .bind(user_id)
        .fetch_one(c)
        .await)
}

/// Turn the second factor off (or drop a pending enrolment): the row and the recovery codes
/// go, with the audit entry and the notice, in one transaction. `false` when it was not on:
/// nothing is written (a pending enrolment is dropped all the same).
pub async fn disable(
    db: &DbPool,
    user_id: UserId,
    audit: &AuditEntry,
    notice: Option<&NewMail>,
) -> Result<bool, sqlx::Error> {
    const OFF: &str = "DELETE FROM user_totp WHERE user_id = ? AND enabled_at IS NOT NULL";
    const PENDING: &str = "DELETE FROM user_totp WHERE user_id = ?";
    const CODES: &str = "DELETE FROM totp_recovery_codes WHERE user_id = ?";
    let at = now();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let removed = sqlx::query(OFF)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(PENDING).bind(user_id).execute(&mut *tx).await?;
        if removed == 0 {
            tx.commit().await?;
            return Ok(false);
        }
        sqlx::query(CODES).bind(user_id).execute(&mut *tx).await?;
        insert_audit!(tx, audit);
        if let Some(notice) = notice {
            insert_mail!(&mut *tx, notice, at)?;
        }
        tx.commit().await?;
        Ok(true)
    })
}

/// Whether the half-done sign-in with this `nonce` has been completed already.
pub async fn pending_used(db: &DbPool, nonce: &str) -> Result<bool, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM totp_pending_used WHERE nonce = ?";
    db_run!(db, |c| sqlx::query_scalar::<_, i64>(SQL)
        .bind(nonce)
        .fetch_one(c)
        .await
        .map(|n| n > 0))
}

/// Complete the half-done sign-in with this `nonce` (valid until `expires_at`): `true` for the
/// one use that records it, `false` when it was recorded before (a replay, or the loser of two
/// uses at once). The account's expired records go at the same time.
pub async fn use_pending(
    db: &DbPool,
    user_id: UserId,
    nonce: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    const PRUNE: &str = "DELETE FROM totp_pending_used WHERE user_id = ? AND expires_at < ?";
    const INSERT: &str =
        "INSERT INTO totp_pending_used (nonce, user_id, expires_at) VALUES (?, ?, ?)";
    let at = now();
    db_run!(db, |c| sqlx::query(PRUNE)
        .bind(user_id)
        .bind(at)
        .execute(c)
        .await
        .map(|_| ()))?;
    let inserted = db_run!(db, |c| sqlx::query(INSERT)
        .bind(nonce)
        .bind(user_id)
        .bind(expires_at)
        .execute(c)
        .await
        .map(|_| ()));
    match inserted {
        Ok(()) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// After a wrong code: when account `user_id` has had at least `threshold` wrong codes (app
/// and recovery codes alike) since `since` and its owner was not told since then, queue
/// `notice` and note the time, in one transaction. The note is one conditional `UPDATE`, so of many wrong codes at once exactly
/// one queues the notice. `true` when it was queued.
pub async fn notice_failures(
    db: &DbPool,
    user_id: UserId,
    since: DateTime<Utc>,
    threshold: i64,
    notice: &NewMail,
) -> Result<bool, sqlx::Error> {
    const COUNT: &str = "SELECT COUNT(*) FROM totp_failures WHERE user_id = ? AND created_at > ?";
    const NOTE: &str = "UPDATE user_totp SET failures_noticed_at = ? \
                        WHERE user_id = ? AND enabled_at IS NOT NULL \
                        AND (failures_noticed_at IS NULL OR failures_noticed_at < ?)";
    let at = now();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let failures: i64 = sqlx::query_scalar(COUNT)
            .bind(user_id)
            .bind(since)
            .fetch_one(&mut *tx)
            .await?;
        if failures < threshold {
            return Ok(false);
        }
        let noted = sqlx::query(NOTE)
            .bind(at)
            .bind(user_id)
            .bind(since)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if noted == 0 {
            return Ok(false);
        }
        insert_mail!(&mut *tx, notice, at)?;
        tx.commit().await?;
        Ok(true)
    })
}

/// Forget completed half-done sign-ins that expired before `before` (housekeeping; a replay
/// of one is refused by its cookie's own expiry by then).
pub async fn prune_pending_used(db: &DbPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM totp_pending_used WHERE expires_at < ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}
