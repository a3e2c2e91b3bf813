//! Single-use tokens mailed to an account (password resets, email confirmations), stored as
//! the SHA-256 of the token, and the changes they authorize. Each change uses its token in
//! the change's own transaction with a conditional `UPDATE`: of two uses at once exactly one
//! changes the row, and only that one goes on to change the account.

use chrono::{DateTime, Utc};

use crate::db::db_run;
use crate::db::db_transaction;
use crate::db::outbox::{insert_mail, NewMail};
use crate::db::{now, DbPool, MailId, UserId};

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Setting a new password.
    Reset,
    /// Confirming an email address (a new account's, or a new one for an account).
    Confirm,
}

impl Purpose {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Confirm => "confirm",
        }
    }
}

/// A token to record.
pub struct NewToken<'a> {
    /// Hex SHA-256 of the token.
    pub hash: &'a str,
    /// The account.
    pub user_id: UserId,
    /// What it is for.
    pub purpose: Purpose,
    /// The address it was mailed to (for a confirmation: the address it confirms).
    pub email: &'a str,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Record `token` and queue `mail` (which carries it), in one transaction; then queue
/// `notices` (mails about it to other addresses) in the same one.
pub async fn issue(
    db: &DbPool,
    token: &NewToken<'_>,
    mail: &NewMail,
    notices: &[NewMail],
) -> Result<MailId, sqlx::Error> {
    // Made under the account's current token version (see `current!`).
    const SQL: &str =
        "INSERT INTO account_tokens (token_hash, user_id, purpose, email, created_at, expires_at, user_version) \
                       SELECT ?, id, ?, ?, ?, ?, token_version FROM users WHERE id = ?";
    let at = now();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        sqlx::query(SQL)
            .bind(token.hash)
            .bind(token.purpose.as_str())
            .bind(token.email)
            .bind(at)
            .bind(token.expires_at)
            .bind(token.user_id)
            .execute(&mut *tx)
            .await?;
        let id = insert_mail!(&mut *tx, mail, at)?;
        for notice in notices {
            insert_mail!(&mut *tx, notice, at)?;
        }
        tx.commit().await?;
        Ok(id)
    })
}

/// Record reset token `hash` for the enabled account whose address is `email` and queue
/// `mail` (which carries it) when `send`, in one transaction that runs the same statements
/// whether or not such an account exists or `send` holds: each insert selects from `users`
/// and inserts nothing when there is no account to mail. `true` when the mail was queued.
pub async fn issue_reset(
    db: &DbPool,
    hash: &str,
    email: &str,
    expires_at: DateTime<Utc>,
    mail: &NewMail,
    send: bool,
) -> Result<bool, sqlx::Error> {
    const TOKEN: &str =
        "INSERT INTO account_tokens (token_hash, user_id, purpose, email, created_at, expires_at, user_version) \
         SELECT ?, id, 'reset', email, ?, ?, token_version FROM users WHERE email = ? AND disabled = FALSE AND ?";
    const MAIL: &str = "INSERT INTO outbox (recipient, subject, body_text, body_html, status, attempts, next_attempt_at, created_at) \
         SELECT ?, ?, ?, ?, 'pending', 0, ?, ? FROM users WHERE email = ? AND disabled = FALSE AND ?";
    let at = now();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let issued = sqlx::query(TOKEN)
            .bind(hash)
            .bind(at)
            .bind(expires_at)
            .bind(email)
            .bind(send)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let queued = sqlx::query(MAIL)
            .bind(&mail.recipient)
            .bind(&mail.subject)
            .bind(&mail.text)
            .bind(&mail.html)
            .bind(at)
            .bind(at)
            .bind(email)
            .bind(send)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(issued == 1 && queued == 1)
    })
}

/// A token that can still be used.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveToken {
    /// The account.
    pub user_id: UserId,
    /// The address it was mailed to.
    pub email: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A link works only under the account's token version it was made with: a password change
/// or reset, "sign out everywhere" or disabling the account ends every mailed link too (an
/// email change requested by someone who briefly had the account cannot be completed after the
/// owner took it back).
macro_rules! current {
    () => {
        "user_version = (SELECT token_version FROM users WHERE users.id = account_tokens.user_id)"
    };
}

/// The unused, unexpired token with this hash and purpose.
pub async fn find_live(
    db: &DbPool,
    hash: &str,
    purpose: Purpose,
) -> Result<Option<LiveToken>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT user_id, email, expires_at FROM account_tokens \
         WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? AND ",
        current!()
    );
    db_run!(db, |c| sqlx::query_as::<_, LiveToken>(SQL)
        .bind(hash)
        .bind(purpose.as_str())
        .bind(now())
        .fetch_optional(c)
        .await)
}

/// Use the token: marks it used if it is live. The first statement of every change below.
const USE: &str = concat!(
    "UPDATE account_tokens SET used_at = ? \
     WHERE token_hash = ? AND purpose = ? AND user_id = ? AND used_at IS NULL AND expires_at > ? AND ",
    current!()
);

/// Use token `$hash` of `$purpose` and `$user_id` at `$at` on the transaction `$tx` (in a
/// `db_transaction!` block, which compiles it once per engine): `true` when it was live, and
/// is now used. The first statement of every change below; `false` means change nothing.
macro_rules! use_token {
    ($tx:expr, $hash:expr, $purpose:expr, $user_id:expr, $at:expr) => {
        sqlx::query(USE)
            .bind($at)
            .bind($hash)
            .bind($purpose.as_str())
            .bind($user_id)
            .bind($at)
            .execute($tx)
            .await?
            .rows_affected()
            == 1
    };
}

/// Use reset token `hash` of `user_id` and, if it was live, set the password hash, bump the
/// token version (every token issued so far stops working), end every browser session, use up
/// every other mailed link of the account, and queue `notice`; all in one transaction.
/// `false`: the token was used, expired or unknown, and nothing changed.
pub async fn reset_password(
    db: &DbPool,
    hash: &str,
    user_id: UserId,
    password_hash: &str,
    notice: Option<&NewMail>,
) -> Result<bool, sqlx::Error> {
    const USER: &str = "UPDATE users SET password_hash = ?, token_version = token_version + 1, updated_at = ? WHERE id = ?";
    const SESSIONS: &str =
        "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL";
    // Every other link of the account, confirmations too (the version bump ends them anyway).
    const OTHERS: &str =
        "UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL";
    let at = now();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let used = use_token!(&mut *tx, hash, Purpose::Reset, user_id, at);
        if used {
            sqlx::query(USER)
                .bind(password_hash)
                .bind(at)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            for end in [SESSIONS, OTHERS] {
                sqlx::query(end)
                    .bind(at)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(notice) = notice {
                insert_mail!(&mut *tx, notice, at)?;
            }
        }
        tx.commit().await?;
        Ok(used)
    })
}

/// Use up the account's reset links mailed to an address other than its new one (bind the
/// time, the user id, then the new address): a link in an old mailbox must not outlive the
/// change of address it was sent before (review of issue 18).
pub(crate) const END_RESETS_ELSEWHERE: &str = "UPDATE account_tokens SET used_at = ? \
     WHERE user_id = ? AND purpose = 'reset' AND used_at IS NULL AND email <> ?";

/// What following a confirmation link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// The address is the account's, confirmed.
    Done,
    /// The token was used, expired or unknown: nothing changed.
    Stale,
    /// The address now belongs to another account: nothing changed.
    Taken,
}

/// Use confirmation token `hash` of `user_id` for `email` and, if it was live, make `email` the
/// account's address, confirmed now, and use up the account's other confirmation tokens and
/// the reset links mailed to any other address; in one transaction.
pub async fn confirm_email(
    db: &DbPool,
    hash: &str,
    user_id: UserId,
    email: &str,
) -> Result<Confirmed, sqlx::Error> {
    const USER: &str =
        "UPDATE users SET email = ?, email_confirmed_at = ?, updated_at = ? WHERE id = ?";
    const OTHERS: &str = "UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND purpose = 'confirm' AND used_at IS NULL";
    let at = now();
    let outcome = db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let used = use_token!(&mut *tx, hash, Purpose::Confirm, user_id, at);
        if used {
            sqlx::query(USER)
                .bind(email)
                .bind(at)
                .bind(at)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(OTHERS)
                .bind(at)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(END_RESETS_ELSEWHERE)
                .bind(at)
                .bind(user_id)
                .bind(email)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(if used {
            Confirmed::Done
        } else {
            Confirmed::Stale
        })
    });
    match outcome {
        Err(e) if crate::error::is_unique_violation(&e) => Ok(Confirmed::Taken),
        other => other,
    }
}

/// When the account's email was confirmed, if it was (`None` for an unknown account too).
pub async fn email_confirmed_at(
    db: &DbPool,
    user_id: UserId,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    const SQL: &str = "SELECT email_confirmed_at FROM users WHERE id = ?";
    let row = db_run!(db, |c| sqlx::query_scalar::<_, Option<DateTime<Utc>>>(SQL)
        .bind(user_id)
        .fetch_optional(c)
        .await)?;
    Ok(row.flatten())
}

/// The address an unfollowed confirmation of the account is waiting on, other than its own
/// (an email change in progress), if any.
pub async fn pending_email(db: &DbPool, user_id: UserId) -> Result<Option<String>, sqlx::Error> {
    const SQL: &str = "SELECT t.email FROM account_tokens t JOIN users u ON u.id = t.user_id \
                       WHERE t.user_id = ? AND t.purpose = 'confirm' AND t.used_at IS NULL AND t.expires_at > ? \
                       AND t.user_version = u.token_version AND t.email <> u.email ORDER BY t.created_at DESC LIMIT 1";
    db_run!(db, |c| sqlx::query_scalar::<_, String>(SQL)
        .bind(user_id)
        .bind(now())
        .fetch_optional(c)
        .await)
}

/// Forget tokens that expired before `before` (housekeeping).
pub async fn prune(db: &DbPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM account_tokens WHERE expires_at < ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}
