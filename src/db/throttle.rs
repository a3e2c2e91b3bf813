//! Throttles that hold under concurrency: an attempt is *reserved* (recorded) before the
//! expensive check it pays for (an argon2 hash) runs, in the database, so that every app
//! instance counts the same attempts.
//!
//! A reservation is one transaction. It first writes the row of each key it is counted under
//! (`throttle_keys`: `email:<address>` and `ip:<address>` for a password check,
//! `register:<address>` for a sign-up), which makes every other reservation under one of those
//! keys wait until it ends (a row lock on MySQL, the write lock on SQLite). Then it counts the
//! attempts in the window and records its own only when every count is under its limit. So of
//! thirty concurrent logins for one account, exactly the first ten are recorded and checked,
//! on both engines and on any number of instances.
//!
//! Counting the rows with an id below one's own, without the lock, is not enough on MySQL: an
//! id is handed out before its row commits, so a later id can count before an earlier row is
//! visible and both get through (and Galera interleaves ids across nodes). The count is the
//! transaction's first plain read, so on MySQL its snapshot is taken after the lock is held and
//! sees every reservation that held it before. Keys are written in sorted order (`email:`
//! before `ip:`), so two reservations never wait for each other in a cycle; a deadlock or lock
//! wait timeout reported anyway is retried a few times.

use chrono::{DateTime, Duration, Utc};

use crate::db::db_transaction;
use crate::db::ids::Id;
use crate::db::{
    now, CodeCheckId, DbPool, Engine, LastInsertId, LoginAttemptId, ResetRequestId,
    SignUpAttemptId, UserId,
};

/// What a reservation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation<I> {
    /// Under every limit: the attempt is recorded under this id before the check runs.
    Granted(I),
    /// At a limit: nothing was recorded; the window frees a place at this time.
    Blocked(DateTime<Utc>),
}

/// One limit a reservation is held to: at most `max` attempts counted by `count_sql` for
/// `value` within the window.
struct Limit<'a> {
    /// The `throttle_keys` row it is counted under.
    key: String,
    /// `SELECT COUNT(*), MIN(created_at) ... WHERE <column> = ? AND created_at > ?`.
    count_sql: &'static str,
    /// The value the count is for.
    value: &'a str,
    /// Attempts allowed within the window.
    max: i64,
}

/// A reservation to make: the limits it is held to and the row that records it.
struct Plan<'a> {
    limits: Vec<Limit<'a>>,
    /// `INSERT ... VALUES (<one ? per value>, ?)`, the last `?` being `created_at`.
    insert_sql: &'static str,
    /// The values bound before `created_at`.
    values: Vec<&'a str>,
}

/// Reserve a password check for the account `email` from address `ip` (`login_attempts`): at
/// most `max_per_account` and `max_per_ip` in any `window`. A granted attempt stays recorded as
/// a failure unless the check succeeds (the account's attempts are then cleared) or does not
/// happen ([`release_login`]).
pub async fn reserve_login(
    db: &DbPool,
    email: &str,
    ip: &str,
    max_per_account: i64,
    max_per_ip: i64,
    window: Duration,
) -> Result<Reservation<LoginAttemptId>, sqlx::Error> {
    let ip = &address_bucket(ip);
    let plan = Plan {
        limits: vec![
            Limit {
                key: format!("email:{email}"),
                count_sql: "SELECT COUNT(*), MIN(created_at) FROM login_attempts WHERE email = ? AND created_at > ?",
                value: email,
                max: max_per_account,
            },
            per_address(ip, max_per_ip),
        ],
        insert_sql: "INSERT INTO login_attempts (email, ip, created_at) VALUES (?, ?, ?)",
        values: vec![email, ip],
    };
    reserve(db, &plan, window).await
}

/// Reserve a recovery code check for account `user_id` from address `ip` (`login_attempts`,
/// under `#recovery:<id>`): at most `max_per_ip` attempts of any kind from the address (the
/// per-address count password and code checks share) in any `window`, and **no** per-account
/// limit, so wrong codes sent by someone else can never keep the owner's right recovery code
/// out. A recovery code is 80 random bits: a per-address bound leaves guessing hopeless. A
/// granted attempt stays recorded as a failure unless the check passes or does not happen
/// ([`release_login`]).
pub async fn reserve_recovery_check(
    db: &DbPool,
    user_id: UserId,
    ip: &str,
    max_per_ip: i64,
    window: Duration,
) -> Result<Reservation<LoginAttemptId>, sqlx::Error> {
    let ip = &address_bucket(ip);
    let key = format!("#recovery:{user_id}");
    let plan = Plan {
        limits: vec![per_address(ip, max_per_ip)],
        insert_sql: "INSERT INTO login_attempts (email, ip, created_at) VALUES (?, ?, ?)",
        values: vec![&key, ip],
    };
    reserve(db, &plan, window).await
}

/// The per-address limit of password and code checks: `max` attempts from the address bucket
/// `ip` (`login_attempts.ip`), whatever they were for.
fn per_address(ip: &str, max: i64) -> Limit<'_> {
    Limit {
        key: format!("ip:{ip}"),
        count_sql:
            "SELECT COUNT(*), MIN(created_at) FROM login_attempts WHERE ip = ? AND created_at > ?",
        value: ip,
        max,
    }
}

/// The bucket a client address is counted in: an IPv4 address (an IPv4-mapped IPv6 one too)
/// as itself, an IPv6 address by its /64, the block one host or one customer gets (counting
/// single IPv6 addresses would give anyone 2^64 fresh counters).
pub fn address_bucket(ip: &str) -> String {
    use std::net::IpAddr;
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                v4.to_string()
            } else {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// Give back a password check that did not happen (the hasher was busy, the database failed).
pub async fn release_login(db: &DbPool, id: LoginAttemptId) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM login_attempts WHERE id = ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Reserve a sign-up from address `ip` (`register_attempts`): at most `max` in any `window`.
pub async fn reserve_registration(
    db: &DbPool,
    ip: &str,
    max: i64,
    window: Duration,
) -> Result<Reservation<SignUpAttemptId>, sqlx::Error> {
    let ip = &address_bucket(ip);
    let plan = Plan {
        limits: vec![Limit {
            key: format!("register:{ip}"),
            count_sql: "SELECT COUNT(*), MIN(created_at) FROM register_attempts WHERE ip = ? AND created_at > ?",
            value: ip,
            max,
        }],
        insert_sql: "INSERT INTO register_attempts (ip, created_at) VALUES (?, ?)",
        values: vec![ip],
    };
    reserve(db, &plan, window).await
}

/// Reserve a password reset request for `email` from address `ip` (`reset_requests`): at most
/// `max_per_email` and `max_per_ip` in any `window`, whether or not an account has that email
/// (so the answer tells nothing about it).
pub async fn reserve_reset(
    db: &DbPool,
    email: &str,
    ip: &str,
    max_per_email: i64,
    max_per_ip: i64,
    window: Duration,
) -> Result<Reservation<ResetRequestId>, sqlx::Error> {
    let ip = &address_bucket(ip);
    let plan = Plan {
        limits: vec![
            Limit {
                key: format!("reset:{email}"),
                count_sql: "SELECT COUNT(*), MIN(created_at) FROM reset_requests WHERE email = ? AND created_at > ?",
                value: email,
                max: max_per_email,
            },
            Limit {
                key: format!("reset-ip:{ip}"),
                count_sql: "SELECT COUNT(*), MIN(created_at) FROM reset_requests WHERE ip = ? AND created_at > ?",
                value: ip,
                max: max_per_ip,
            },
        ],
        insert_sql: "INSERT INTO reset_requests (email, ip, created_at) VALUES (?, ?, ?)",
        values: vec![email, ip],
    };
    reserve(db, &plan, window).await
}

/// Reserve a two-factor code check for account `user_id` against its daily cap
/// (`totp_failures`): at most `max` in any `window`. A granted check stays recorded as a wrong
/// code unless it passes or does not happen ([`release_code_check`]).
pub async fn reserve_code_check(
    db: &DbPool,
    user_id: UserId,
    max: i64,
    window: Duration,
) -> Result<Reservation<CodeCheckId>, sqlx::Error> {
    let user = user_id.to_string();
    let plan = Plan {
        limits: vec![Limit {
            key: format!("totp-day:{user}"),
            // Wrong recovery codes are recorded too (`record_recovery_failure`), not counted.
            count_sql: "SELECT COUNT(*), MIN(created_at) FROM totp_failures WHERE user_id = ? AND recovery = FALSE AND created_at > ?",
            value: &user,
            max,
        }],
        insert_sql: "INSERT INTO totp_failures (user_id, created_at) VALUES (?, ?)",
        values: vec![&user],
    };
    reserve(db, &plan, window).await
}

/// Give back a code check that passed or did not happen.
pub async fn release_code_check(db: &DbPool, id: CodeCheckId) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM totp_failures WHERE id = ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Record a wrong recovery code for account `user_id` (`totp_failures`, `recovery` set): it
/// counts toward the owner's notice of wrong codes, never toward the daily cap, which recovery
/// codes bypass.
pub async fn record_recovery_failure(db: &DbPool, user_id: UserId) -> Result<(), sqlx::Error> {
    const SQL: &str =
        "INSERT INTO totp_failures (user_id, created_at, recovery) VALUES (?, ?, TRUE)";
    let at = now();
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(user_id)
        .bind(at)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Give back an email change's place in the reset request throttle
/// (`crate::auth::recovery::reserve_email_change`): the change was refused before it was made.
pub async fn release_reset(db: &DbPool, id: ResetRequestId) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM reset_requests WHERE id = ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Forget account `user_id`'s wrong codes (a password reset: its owner is back in control).
pub async fn clear_code_failures(db: &DbPool, user_id: UserId) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM totp_failures WHERE user_id = ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(user_id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Forget wrong codes older than `before` (housekeeping).
pub async fn prune_code_failures(db: &DbPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM totp_failures WHERE created_at < ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

/// Forget password reset requests older than `before` (housekeeping).
pub async fn prune_resets(db: &DbPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM reset_requests WHERE created_at < ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

/// Give back a sign-up that did not happen (the hasher was busy).
pub async fn release_registration(db: &DbPool, id: SignUpAttemptId) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM register_attempts WHERE id = ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Forget sign-up attempts older than `before` (housekeeping).
pub async fn prune_registrations(db: &DbPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM register_attempts WHERE created_at < ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

/// Forget keys nobody was counted under since `before` (housekeeping, with
/// [`crate::db::login_attempts::prune`]).
pub async fn prune(db: &DbPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM throttle_keys WHERE updated_at < ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

/// Run `plan` as one transaction (run again whole after a lock conflict, as every write
/// transaction is: `db_transaction!`); see the module documentation.
async fn reserve<I: Id>(
    db: &DbPool,
    plan: &Plan<'_>,
    window: Duration,
) -> Result<Reservation<I>, sqlx::Error> {
    let mut keys: Vec<&str> = plan.limits.iter().map(|l| l.key.as_str()).collect();
    keys.sort_unstable();
    let lock_sql = lock_sql(db.engine(), keys.len());
    reserve_once(db, plan, &keys, &lock_sql, window).await
}

async fn reserve_once<I: Id>(
    db: &DbPool,
    plan: &Plan<'_>,
    keys: &[&str],
    lock_sql: &str,
    window: Duration,
) -> Result<Reservation<I>, sqlx::Error> {
    let now = now();
    let since = now - window;
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let mut lock = sqlx::query(lock_sql);
        for key in keys {
            lock = lock.bind(*key).bind(now);
        }
        lock.execute(&mut *tx).await?;
        let mut blocked: Option<DateTime<Utc>> = None;
        for limit in &plan.limits {
            let (count, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(limit.count_sql)
                .bind(limit.value)
                .bind(since)
                .fetch_one(&mut *tx)
                .await?;
            if count >= limit.max {
                let until = oldest.unwrap_or(now) + window;
                blocked = Some(blocked.map_or(until, |b| b.max(until)));
            }
        }
        let outcome = if let Some(until) = blocked {
            // Nothing recorded; the key rows' new times only date the keys for `prune`.
            Reservation::Blocked(until)
        } else {
            let mut insert = sqlx::query(plan.insert_sql);
            for value in &plan.values {
                insert = insert.bind(*value);
            }
            Reservation::Granted(I::new(insert.bind(now).execute(&mut *tx).await?.last_id()))
        };
        tx.commit().await?;
        Ok(outcome)
    })
}

/// Write (and so lock) `n` key rows: `?` pairs of name and time, in the engine's upsert. Also
/// what serializes the session cap (`db::sessions::create`).
pub(crate) fn lock_sql(engine: Engine, n: usize) -> String {
    let rows = vec!["(?, ?)"; n].join(", ");
    match engine {
        Engine::Sqlite => format!(
            "INSERT INTO throttle_keys (name, updated_at) VALUES {rows} \
             ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at"
        ),
        Engine::MySql => format!(
            "INSERT INTO throttle_keys (name, updated_at) VALUES {rows} \
             ON DUPLICATE KEY UPDATE updated_at = VALUES(updated_at)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_counted_by_their_64_bit_prefix() {
        assert_eq!(address_bucket("203.0.113.7"), "203.0.113.7");
        assert_eq!(address_bucket("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(address_bucket("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            address_bucket("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(
            address_bucket("2001:db8:1:3::1"),
            address_bucket("2001:db8:1:2::1")
        );
        assert_eq!(address_bucket("unknown"), "unknown");
    }

    #[test]
    fn one_upsert_row_per_key() {
        assert_eq!(
            lock_sql(Engine::Sqlite, 2),
            "INSERT INTO throttle_keys (name, updated_at) VALUES (?, ?), (?, ?) \
             ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at"
        );
        assert!(lock_sql(Engine::MySql, 1).contains("VALUES (?, ?) ON DUPLICATE KEY UPDATE"));
    }
}
