//! The mail outbox: mails queued by requests (in the transaction of the change they report)
//! and the sender's bookkeeping.
//!
//! Several senders (one per app instance) share the table. A sender *claims* a due row with one
//! conditional `UPDATE` that sets a lease (`claimed_by`, a value of its own for this claim, and
//! `claimed_until`) only where no live lease is held: of two senders trying at once exactly one
//! changes the row (both engines serialize writes to one row; on a Galera cluster the loser's
//! transaction fails certification, is run again by `db_transaction!`, and then changes
//! nothing). Only the holder of the lease can then mark the row sent or failed. A sender that
//! dies while holding a lease leaves the row to be claimed again when the lease runs out: a
//! mail may then go out twice, never zero times.

use chrono::{DateTime, Utc};

use crate::db::db_run;
use crate::db::db_transaction;
use crate::db::{now, DbPool, MailId};

/// A mail to queue: already rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    /// The recipient's address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// The `INSERT` of a [`NewMail`]; binds recipient, subject, text, html, `next_attempt_at`,
/// `created_at`.
pub(crate) const INSERT: &str = "INSERT INTO outbox (recipient, subject, body_text, body_html, status, attempts, next_attempt_at, created_at) \
                                 VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)";

/// Run [`INSERT`] for a `&NewMail` on a connection or transaction, at time `$at`; evaluates to
/// `Result<MailId, sqlx::Error>`. A macro so it expands inside either engine's block.
macro_rules! insert_mail {
    ($conn:expr, $mail:expr, $at:expr) => {
        sqlx::query($crate::db::outbox::INSERT)
            .bind(&$mail.recipient)
            .bind(&$mail.subject)
            .bind(&$mail.text)
            .bind(&$mail.html)
            .bind($at)
            .bind($at)
            .execute($conn)
            .await
            .map(|r| $crate::db::MailId::new($crate::db::LastInsertId::last_id(&r)))
    };
}
pub(crate) use insert_mail;

/// Queue one mail on its own.
pub async fn insert(db: &DbPool, mail: &NewMail) -> Result<MailId, sqlx::Error> {
    let at = now();
    db_transaction!(db, |c| insert_mail!(c, mail, at))
}

/// A claimed mail, as the sender needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    /// Its id.
    pub id: MailId,
    /// The recipient's address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// The plain-text part.
    pub body_text: String,
    /// The HTML part.
    pub body_html: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// The ids of up to `limit` mails due at `at` and not held by a live lease, oldest first.
pub async fn due(db: &DbPool, at: DateTime<Utc>, limit: i64) -> Result<Vec<MailId>, sqlx::Error> {
    const SQL: &str = "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? \
                       AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY next_attempt_at, id LIMIT ?";
    db_run!(db, |c| sqlx::query_scalar::<_, MailId>(SQL)
        .bind(at)
        .bind(at)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Claim mail `id` for `claimant` until `until`, if it is still due at `at` and nobody holds a
/// live lease on it; counts the attempt. `None`: someone else has it (or sent it).
pub async fn claim(
    db: &DbPool,
    id: MailId,
    claimant: &str,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Option<Claimed>, sqlx::Error> {
    const CLAIM: &str =
        "UPDATE outbox SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1 \
                         WHERE id = ? AND status = 'pending' AND next_attempt_at <= ? \
                         AND (claimed_until IS NULL OR claimed_until < ?)";
    const READ: &str = "SELECT id, recipient, subject, body_text, body_html, attempts, created_at \
                        FROM outbox WHERE id = ? AND claimed_by = ?";
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let won = sqlx::query(CLAIM)
            .bind(claimant)
            .bind(until)
            .bind(id)
            .bind(at)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        let row = if won {
            sqlx::query_as::<_, Claimed>(READ)
                .bind(id)
                .bind(claimant)
                .fetch_optional(&mut *tx)
                .await?
        } else {
            None
        };
        tx.commit().await?;
        Ok(row)
    })
}

/// Mark a mail `claimant` holds as sent. `false`: the lease was lost meanwhile. Its bodies are
/// emptied: they may hold a live single-use link (a reset, a confirmation), which the database
/// and its backups should not keep once the mail is out (the subject and recipient stay).
pub async fn mark_sent(db: &DbPool, id: MailId, claimant: &str) -> Result<bool, sqlx::Error> {
    const SQL: &str =
        "UPDATE outbox SET status = 'sent', sent_at = ?, claimed_by = NULL, claimed_until = NULL, \
                       last_error = NULL, body_text = '', body_html = '' WHERE id = ? AND claimed_by = ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(now())
        .bind(id)
        .bind(claimant)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Record a failed attempt at a mail `claimant` holds: due again at `retry_at`, or, without
/// one, failed for good (its bodies emptied, as a sent mail's). `error` is kept (cut to its
/// column) for the admins.
pub async fn mark_attempt_failed(
    db: &DbPool,
    id: MailId,
    claimant: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<bool, sqlx::Error> {
    const RETRY: &str = "UPDATE outbox SET next_attempt_at = ?, last_error = ?, claimed_by = NULL, claimed_until = NULL \
                         WHERE id = ? AND claimed_by = ?";
    const FAIL: &str = "UPDATE outbox SET status = 'failed', last_error = ?, claimed_by = NULL, claimed_until = NULL, \
                        body_text = '', body_html = '' WHERE id = ? AND claimed_by = ?";
    let error: String = error.chars().take(1000).collect();
    db_transaction!(db, |c| {
        let done = match retry_at {
            Some(at) => {
                sqlx::query(RETRY)
                    .bind(at)
                    .bind(&error)
                    .bind(id)
                    .bind(claimant)
                    .execute(c)
                    .await?
            }
            None => {
                sqlx::query(FAIL)
                    .bind(&error)
                    .bind(id)
                    .bind(claimant)
                    .execute(c)
                    .await?
            }
        };
        Ok(done.rows_affected() == 1)
    })
}

/// When the next pending mail can be claimed (its due time, or the end of the lease someone
/// holds on it), if there is one.
pub async fn next_due(db: &DbPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    const SQL: &str = "SELECT MIN(CASE WHEN claimed_until IS NOT NULL AND claimed_until > next_attempt_at \
                       THEN claimed_until ELSE next_attempt_at END) FROM outbox WHERE status = 'pending'";
    db_run!(db, |c| sqlx::query_scalar::<_, Option<DateTime<Utc>>>(SQL)
        .fetch_one(c)
        .await)
}

/// How many mails are waiting, sent and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Queued or waiting for a retry.
    pub pending: i64,
    /// Sent (until housekeeping forgets them).
    pub sent: i64,
    /// Given up on after `mail_max_attempts`.
    pub failed: i64,
}

/// The outbox's counts by status.
pub async fn counts(db: &DbPool) -> Result<Counts, sqlx::Error> {
    const SQL: &str = "SELECT status, COUNT(*) FROM outbox GROUP BY status";
    let rows = db_run!(db, |c| sqlx::query_as::<_, (String, i64)>(SQL)
        .fetch_all(c)
        .await)?;
    let mut counts = Counts::default();
    for (status, n) in rows {
        match status.as_str() {
            "pending" => counts.pending = n,
            "sent" => counts.sent = n,
            "failed" => counts.failed = n,
            _ => {}
        }
    }
    Ok(counts)
}

/// A mail the sender gave up on, for the admins.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Failed {
    /// Its id.
    pub id: MailId,
    /// The recipient's address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Attempts made.
    pub attempts: i32,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// The most recent failed mails, newest first.
pub async fn list_failed(db: &DbPool, limit: i64) -> Result<Vec<Failed>, sqlx::Error> {
    const SQL: &str =
        "SELECT id, recipient, subject, attempts, last_error, created_at FROM outbox \
                       WHERE status = 'failed' ORDER BY id DESC LIMIT ?";
    db_run!(db, |c| sqlx::query_as::<_, Failed>(SQL)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Forget mails sent before `before` (housekeeping: they hold links to accounts).
pub async fn prune_sent(db: &DbPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM outbox WHERE status = 'sent' AND sent_at < ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}
