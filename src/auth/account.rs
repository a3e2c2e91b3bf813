//! Account operations shared by the JSON API and the site: register, log in, change settings.
//! Validation lives here so both faces give the same field errors.
//!
//! Every limit fits its column (`migrations/*/20261124000001_initial.sql`); every field also
//! passes the shared checks of [`crate::input`] (no control characters).
//!
//! [`authenticate`] is the one way the app checks a password (login, the settings page's
//! current password, admin re-authentication): it reserves the attempt in the database before
//! hashing (`db::throttle`), so the per-account and per-address limits hold under concurrency,
//! and it answers every failure (unknown account, wrong password, disabled account) alike.
//! [`register`] is throttled per address the same way.

use chrono::{DateTime, Duration, Utc};

use crate::auth::fields::{
    check_email, check_password, check_username, taken_errors, EMAIL_MAX, LOGIN_FAILED,
    PASSWORD_MAX,
};
use crate::auth::mailed::{self, AccountLinks};
use crate::auth::password;
use crate::config::AppConfig;
use crate::db::throttle::Reservation;
use crate::db::users::{NewUser, Role, User};
use crate::db::{self, DbPool};
use crate::error::{is_unique_violation, AppError, FieldErrors};
use crate::input::{self, Max};
use crate::mail::Mailer;

/// A sign-up form that broke a field rule (the site's form, checked as Rocket read it). It is
/// an attempt like any other: reserved against `register_per_hour` first (429 past it), then,
/// as [`register`] would, told whether the username and email are taken when neither has an
/// error of its own. Nothing is written; the reservation is what stops anyone testing emails
/// and usernames through broken forms without limit.
pub async fn register_refused(
    db: &DbPool,
    config: &AppConfig,
    ip: &str,
    mut errors: FieldErrors,
    email: &str,
    username: &str,
) -> Result<FieldErrors, AppError> {
    if config.register_per_hour != 0 {
        let reserved = db::throttle::reserve_registration(
            db,
            ip,
            config.register_per_hour,
            Duration::hours(1),
        )
        .await?;
        if let Reservation::Blocked(until) = reserved {
            return Err(too_many(until));
        }
    }
    if !errors.0.contains_key("email") && !errors.0.contains_key("username") {
        for (name, messages) in taken_errors(db, email.trim(), username.trim(), None)
            .await?
            .0
        {
            for message in messages {
                errors.add(&name, message);
            }
        }
    }
    Ok(errors)
}

/// Sign up from client address `ip`: an account with the ordinary role, at most
/// `register_per_hour` per address (every attempt counts, reserved before anything is checked
/// or hashed).
#[allow(clippy::too_many_arguments)]
pub async fn register(
    db: &DbPool,
    config: &AppConfig,
    mailer: &Mailer,
    links: &AccountLinks,
    username: &str,
    email: &str,
    password: &str,
    ip: &str,
) -> Result<User, AppError> {
    let create = || {
        create_with(
            db,
            username,
            email,
            password,
            Role::User,
            writes_may_wait(config.password_queue_max),
            Some((mailer, links)),
        )
    };
    if config.register_per_hour == 0 {
        return create().await;
    }
    let attempt = match db::throttle::reserve_registration(
        db,
        ip,
        config.register_per_hour,
        Duration::hours(1),
    )
    .await?
    {
        Reservation::Granted(id) => id,
        Reservation::Blocked(until) => return Err(too_many(until)),
    };
    let result = create().await;
    if matches!(result, Err(AppError::Busy(_))) {
        // Refused before any work: not an attempt.
        if let Err(e) = db::throttle::release_registration(db, attempt).await {
            log::warn!("releasing a registration reservation: {e}");
        }
    }
    result
}

/// The 429 for a throttle that frees a place at `until`.
pub(crate) fn too_many(until: DateTime<Utc>) -> AppError {
    let millis = (until - db::now()).num_milliseconds().max(1);
    AppError::TooManyRequests(u64::try_from((millis + 999) / 1000).unwrap_or(1))
}

/// Create an account with `role`, validating every field (commands: no throttle, no queue
/// bound). The operator vouches for the email: it counts as confirmed and nothing is mailed.
pub async fn create(
    db: &DbPool,
    username: &str,
    email: &str,
    password: &str,
    role: Role,
) -> Result<User, AppError> {
    create_with(
        db,
        username,
        email,
        password,
        role,
        password::WAIT_ANY,
        None,
    )
    .await
}

/// [`create`], hashing behind at most `max_waiting` others; with a mailer, the account's email
/// is unconfirmed and a confirmation mail is queued with the account.
async fn create_with(
    db: &DbPool,
    username: &str,
    email: &str,
    password: &str,
    role: Role,
    max_waiting: usize,
    confirm: Option<(&Mailer, &AccountLinks)>,
) -> Result<User, AppError> {
    let (username, email) = (username.trim(), email.trim());
    let mut errors = FieldErrors::new();
    check_username(&mut errors, username);
    check_email(&mut errors, email);
    check_password(&mut errors, password, username, email);
    if !errors.0.contains_key("email") && !errors.0.contains_key("username") {
        for (field, messages) in taken_errors(db, email, username, None).await?.0 {
            for message in messages {
                errors.add(&field, message);
            }
        }
    }
    errors.into_result()?;

    let hash = password::hash(password, max_waiting).await?;
    let new = NewUser {
        username,
        email,
        password_hash: &hash,
        role,
        confirmed: confirm.is_none(),
    };
    let inserted = match confirm {
        Some((mailer, links)) => {
            let (token, token_hash) = mailed::new_token();
            let mail = mailed::confirmation_mail(mailer, links, username, email, &token, false)?;
            let expires = db::now() + Duration::hours(mailed::CONFIRM_HOURS);
            let inserted =
                db::users::insert_confirming(db, &new, &token_hash, expires, &mail).await;
            if inserted.is_ok() {
                mailer.wake();
            }
            inserted
        }
        None => db::users::insert(db, &new).await,
    };
    let id = match inserted {
        Ok(id) => id,
        // Two registrations raced past the check above: the loser gets the same 422.
        Err(e) if is_unique_violation(&e) => {
            let errors = taken_errors(db, email, username, None).await?;
            return Err(if errors.is_empty() {
                AppError::Db(e)
            } else {
                AppError::Invalid(errors)
            });
        }
        Err(e) => return Err(e.into()),
    };
    db::users::find_by_id(db, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("user {id} vanished after insert").into())
}

/// Check the password of the account with `email`, for a request from client address `ip`:
/// the one way the app checks a password. At most `login_max_per_account` failures per
/// account and `login_max_per_ip` per address within `login_window_minutes`; past either,
/// 429 with `Retry-After`, even for the right password. Each attempt is reserved before the
/// hash runs and stays counted as a failure unless it succeeds (which clears the account's
/// failures) or is never checked (the hasher was busy: 503). An unknown account, a wrong
/// password and a disabled account get the same answer, [`LOGIN_FAILED`].
pub async fn authenticate(
    db: &DbPool,
    config: &AppConfig,
    email: &str,
    password: &str,
    ip: &str,
) -> Result<User, AppError> {
    let email = email.trim();
    let mut errors = FieldErrors::new();
    if email.is_empty() {
        errors.add("email", "can't be blank");
    } else {
        // No account has an email that fails these; and it must fit `login_attempts.email`.
        input::check(&mut errors, "email", email, Max::Chars(EMAIL_MAX));
    }
    check_given_password(&mut errors, password);
    errors.into_result()?;
    if !email.contains('@') {
        // No account's email lacks an `@`, and the throttle's own keys for signed-in users
        // ([`confirm_password`]'s `#user:<id>`, the second factor's) all do: counting such a
        // login would let anyone fill another key's allowance and lock its owner out. It is
        // the same answer as any failed login, with nothing counted, hashed or looked up.
        return Err(AppError::Unauthorized(LOGIN_FAILED.into()));
    }
    verify_throttled(db, config, email, email, password, ip).await
}

/// Check the password of `user`, who is signed in already (the settings page's current
/// password, admin re-authentication): throttled like [`authenticate`], with the same limits,
/// but counted under the user rather than the email, so strangers' failed logins for that email
/// cannot stop its signed-in owner from confirming their password (to act against them, say).
pub async fn confirm_password(
    db: &DbPool,
    config: &AppConfig,
    user: &User,
    password: &str,
    ip: &str,
) -> Result<User, AppError> {
    let mut errors = FieldErrors::new();
    check_given_password(&mut errors, password);
    errors.into_result()?;
    // No `@`: no account's email, and [`authenticate`] counts no login under it.
    let key = format!("#user:{}", user.id);
    verify_throttled(db, config, &key, &user.email, password, ip)
        .await
        .map_err(|e| match e {
            AppError::Unauthorized(_) => AppError::Unauthorized(LOGIN_FAILED.into()),
            e => e,
        })
}

/// A password to check: present, and no longer than any password can be (so a 2 MiB guess is
/// not hashed).
pub fn check_given_password(errors: &mut FieldErrors, password: &str) {
    if password.is_empty() {
        errors.add("password", "can't be blank");
    } else if password.chars().count() > PASSWORD_MAX {
        errors.add(
            "password",
            format!("is too long (maximum is {PASSWORD_MAX} characters)"),
        );
    }
}

/// Reserve an attempt counted under `account` (an email, or a signed-in user's key) and the
/// client address, then check `password` against the account with `email`.
async fn verify_throttled(
    db: &DbPool,
    config: &AppConfig,
    account: &str,
    email: &str,
    password: &str,
    ip: &str,
) -> Result<User, AppError> {
    let window = Duration::minutes(config.login_window_minutes);
    let reservation = db::throttle::reserve_login(
        db,
        account,
        ip,
        config.login_max_per_account,
        config.login_max_per_ip,
        window,
    )
    .await?;
    let attempt = match reservation {
        Reservation::Granted(id) => id,
        Reservation::Blocked(until) => return Err(too_many(until)),
    };
    match check(db, config, email, password).await {
        Ok(Some(user)) => {
            db::login_attempts::clear(db, account).await?;
            Ok(user)
        }
        // The reservation stays: it is the failure.
        Ok(None) => Err(AppError::Unauthorized(LOGIN_FAILED.into())),
        Err(e) => {
            // Never checked (the hasher was busy, the database failed): not a failure.
            if let Err(release) = db::throttle::release_login(db, attempt).await {
                log::warn!("releasing a login reservation: {release}");
            }
            Err(e)
        }
    }
}

/// The enabled account `email` if `password` is its password, else `None`; an unknown account
/// is checked against a dummy hash so that it takes as long.
async fn check(
    db: &DbPool,
    config: &AppConfig,
    email: &str,
    password: &str,
) -> Result<Option<User>, AppError> {
    let user = db::users::find_by_email(db, email).await?;
    let stored = user.as_ref().map(|u| u.password_hash.as_str());
    let ok = password::verify(password, stored, config.password_queue_max).await?;
    Ok(user.filter(|u| ok && !u.disabled))
}

/// How many hashes a new password (a sign-up, a change) may wait behind: a quarter of what a
/// password check may, so a flood of writes leaves most of the queue to sign-ins.
pub(crate) fn writes_may_wait(max_waiting: usize) -> usize {
    max_waiting / 4
}

#[path = "account_change.rs"]
mod change;
pub use change::{merge, prepare, write, write_error, Changes, Prepared, Updated};

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
