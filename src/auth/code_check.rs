//! Checking a second factor (a TOTP code or a recovery code), wherever one is asked for: the
//! second step of a sign-in, a change to the second factor itself, and a fresh login that
//! takes both factors (the console's re-login, token creation, an email or password change).
//!
//! Every check of an app's code is reserved before it runs (SECURITY.md #23), twice:
//! - against the account's daily cap (`totp_max_failures_per_day` wrong codes within 24 hours,
//!   `db::throttle::reserve_code_check`): past it every code, the right one too, answers 429
//!   until the window passes or a password reset clears it, so a caller who has the password
//!   cannot keep guessing for ever (review L6 of issue 18). A code that passes takes its
//!   reservation back; a right code does not clear the day's wrong ones;
//! - against the login throttle (`two_factor::reserve`, the short window).
//!
//! A recovery code is reserved against its address alone (`login_max_per_ip` per login window,
//! the count password checks share): neither the daily cap nor the account's throttle applies,
//! so wrong codes from a stolen session cannot lock the owner out (a right recovery code gets
//! in, and the owner then resets), and a recovery code's 80 random bits leave guessing
//! hopeless within a per-address bound.
//!
//! After `totp_failure_notice_after` wrong codes within 24 hours, app codes and recovery codes
//! together, the owner is mailed, at most once a day: someone who knows the password (or holds
//! a session) is trying codes. A wrong recovery code is recorded for the notice alone
//! (`db::throttle::record_recovery_failure`); the daily cap does not count it.

use chrono::Duration;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use serde_json::json;

use crate::auth::account::{self, too_many};
use crate::auth::credentials::ClientAddr;
use crate::auth::mailed::AccountLinks;
use crate::auth::totp::{self, Given};
use crate::auth::two_factor::{self, Passed};
use crate::config::AppConfig;
use crate::db::throttle::Reservation;
use crate::db::users::User;
use crate::db::{self, CodeCheckId, Db, DbPool};
use crate::error::{AppError, FieldErrors};
use crate::mail::Mailer;

/// The longest code a client may send (`otp` in the JSON API's schema): a 6-digit code or a
/// recovery code is far shorter; a longer one is refused as too long whether or not the account
/// has a second factor, so a request the schema calls invalid is never accepted.
pub const CODE_MAX: usize = 64;

/// `code`, sent as `field`, if it is no longer than [`CODE_MAX`]: 422 on `field` otherwise.
///
/// # Errors
///
/// [`AppError::Invalid`] naming `field` when `code` is too long.
pub fn within_length(field: &str, code: Option<&str>) -> Result<(), AppError> {
    let max = crate::input::Max::Chars(CODE_MAX);
    match code {
        Some(code) if !max.fits(code) => Err(AppError::Invalid(FieldErrors::one(
            field,
            crate::input::Problem::TooLong(max).message(),
        ))),
        _ => Ok(()),
    }
}

/// The subject of the owner's notice of wrong codes.
pub const NOTICE_SUBJECT: &str = "Wrong two-factor codes were entered for your Conduit account";

/// What a code check needs beside the account: the database, the limits, the outbox (for the
/// owner's notice) and the caller's address. A request guard.
pub struct CodeCheck<'r> {
    db: &'r DbPool,
    config: &'r AppConfig,
    mailer: &'r Mailer,
    links: &'r AccountLinks,
    ip: String,
}

impl<'r> CodeCheck<'r> {
    /// The database the checks use.
    pub fn db(&self) -> &'r DbPool {
        self.db
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CodeCheck<'r> {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let rocket = req.rocket();
        let ip = if let Outcome::Success(addr) = req.guard::<ClientAddr>().await {
            addr.0
        } else {
            "unknown".to_owned()
        };
        let (Some(db), Some(config), Some(mailer), Some(links)) = (
            rocket.state::<Db>(),
            rocket.state::<AppConfig>(),
            rocket.state::<Mailer>(),
            rocket.state::<AccountLinks>(),
        ) else {
            log::error!("a code check needs the database, the configuration and the mailer");
            return Outcome::Error((Status::InternalServerError, ()));
        };
        Outcome::Success(Self {
            db,
            config,
            mailer,
            links,
            ip,
        })
    }
}

/// The window of the daily cap and of the notice.
fn day() -> Duration {
    Duration::hours(24)
}

async fn give_back(db: &DbPool, day: CodeCheckId) {
    if let Err(e) = db::throttle::release_code_check(db, day).await {
        log::warn!("releasing a code check's daily reservation: {e}");
    }
}

/// Check `given` (a code or a recovery code) for `user`, whose second factor is on: reserved
/// against the daily cap and the login throttle first (429 past either), then accepted at
/// most once. `None`: not accepted (a wrong code, counted; the owner is told once a day past
/// the notice threshold).
pub async fn verify(
    check: &CodeCheck<'_>,
    user: &User,
    given: &str,
) -> Result<Option<Passed>, AppError> {
    if matches!(totp::parse_given(given), Given::Recovery(_)) {
        return verify_recovery(check, user, given).await;
    }
    let (db, config) = (check.db, check.config);
    let reserved =
        db::throttle::reserve_code_check(db, user.id, config.totp_max_failures_per_day, day())
            .await?;
    let today = match reserved {
        Reservation::Granted(id) => id,
        Reservation::Blocked(until) => return Err(too_many(until)),
    };
    let key = two_factor::throttle_key(user);
    let attempt = match two_factor::reserve(db, config, &key, &check.ip).await {
        Ok(id) => id,
        Err(e) => {
            give_back(db, today).await;
            return Err(e);
        }
    };
    match two_factor::check(db, config, user, given).await {
        Ok(Some(passed)) => {
            give_back(db, today).await;
            db::login_attempts::clear(db, &key).await?;
            Ok(Some(passed))
        }
        // Both reservations stay: they are the wrong code.
        Ok(None) => {
            notice_if_due(check, user).await?;
            Ok(None)
        }
        Err(e) => {
            give_back(db, today).await;
            if let Err(release) = db::throttle::release_login(db, attempt).await {
                log::warn!("releasing a code check reservation: {release}");
            }
            Err(e)
        }
    }
}

/// Check a recovery code: past the daily cap and the account's code throttle, which wrong
/// codes sent by whoever holds the password (or a session) fill, so that the owner can always
/// get in with one and then reset. Only the address is held to a limit
/// ([`reserve_recovery_check`](db::throttle::reserve_recovery_check)): 429 past it.
async fn verify_recovery(
    check: &CodeCheck<'_>,
    user: &User,
    given: &str,
) -> Result<Option<Passed>, AppError> {
    let (db, config) = (check.db, check.config);
    let window = Duration::minutes(config.login_window_minutes);
    let reserved = db::throttle::reserve_recovery_check(
        db,
        user.id,
        &check.ip,
        config.login_max_per_ip,
        window,
    )
    .await?;
    let attempt = match reserved {
        Reservation::Granted(id) => id,
        Reservation::Blocked(until) => return Err(too_many(until)),
    };
    let checked = two_factor::check(db, config, user, given).await;
    if matches!(checked, Ok(None)) {
        // A wrong code keeps its reservation (it counts against the address) and counts
        // toward the owner's notice, never toward the daily cap.
        db::throttle::record_recovery_failure(db, user.id).await?;
        notice_if_due(check, user).await?;
    } else if let Err(e) = db::throttle::release_login(db, attempt).await {
        log::warn!("releasing a recovery code check's reservation: {e}");
    }
    checked
}

/// Mail `user` that wrong codes are being tried, when the day's count reached the notice
/// threshold and they were not told within the day.
async fn notice_if_due(check: &CodeCheck<'_>, user: &User) -> Result<(), AppError> {
    let threshold = check.config.totp_failure_notice_after;
    let mail = check.mailer.compose(
        "two_factor_failures",
        &user.email,
        NOTICE_SUBJECT,
        json!({
            "username": user.username,
            "threshold": threshold,
            "settings_link": check.mailer.link(&(check.links.settings)()),
            "forgot_link": check.mailer.link(&(check.links.forgot)()),
        }),
    )?;
    let since = db::now() - day();
    if db::totp::notice_failures(check.db, user.id, since, threshold, &mail).await? {
        check.mailer.wake();
    }
    Ok(())
}

/// The second step of a sign-in whose password was right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondStep {
    /// The account has no second factor: signed in.
    NotNeeded,
    /// The code passed: signed in.
    Passed(Passed),
    /// No code was given, and one is needed.
    Missing,
    /// The code was not accepted.
    Refused,
}

/// The second step for `user` with `otp` (absent or blank: none given).
pub async fn second_step(
    check: &CodeCheck<'_>,
    user: &User,
    otp: Option<&str>,
) -> Result<SecondStep, AppError> {
    if !two_factor::is_on(check.db, user).await? {
        return Ok(SecondStep::NotNeeded);
    }
    let Some(otp) = otp.filter(|o| !o.trim().is_empty()) else {
        return Ok(SecondStep::Missing);
    };
    Ok(match verify(check, user, otp).await? {
        Some(passed) => SecondStep::Passed(passed),
        None => SecondStep::Refused,
    })
}

/// When `user` signs in with a second factor, `code` must pass: 422 on `field` when it is
/// blank or not accepted, 429 past the throttle or the daily cap. Nothing is asked otherwise.
pub async fn if_on(
    check: &CodeCheck<'_>,
    user: &User,
    field: &str,
    code: &str,
) -> Result<(), AppError> {
    if !two_factor::is_on(check.db, user).await? {
        return Ok(());
    }
    if code.trim().is_empty() {
        return Err(AppError::Invalid(FieldErrors::one(field, "can't be blank")));
    }
    match verify(check, user, code).await? {
        Some(_) => Ok(()),
        None => Err(AppError::Invalid(FieldErrors::one(field, "is not correct"))),
    }
}

/// A code for a change to `user`'s second factor (new recovery codes, turning it off): 422
/// `totp` when it is not on, 422 `code` when the code is blank or not accepted, 429 past the
/// throttle or the daily cap.
pub async fn for_change(check: &CodeCheck<'_>, user: &User, code: &str) -> Result<(), AppError> {
    if !two_factor::is_on(check.db, user).await? {
        return Err(two_factor::not_on());
    }
    if_on(check, user, "code", code).await
}

/// `user`'s current `password`, checked like a login (throttled): 422 on `field` when it is
/// blank or not correct. The account the password was checked for.
pub async fn password(
    check: &CodeCheck<'_>,
    user: &User,
    password: &str,
    field: &'static str,
) -> Result<User, AppError> {
    if password.is_empty() {
        return Err(AppError::Invalid(FieldErrors::one(field, "can't be blank")));
    }
    match account::confirm_password(check.db, check.config, user, password, &check.ip).await {
        Ok(checked) if checked.id == user.id => Ok(checked),
        Ok(_) | Err(AppError::Unauthorized(_) | AppError::Invalid(_)) => {
            Err(AppError::Invalid(FieldErrors::one(field, "is not correct")))
        }
        Err(e) => Err(e),
    }
}

/// A fresh login's proof on a form: the current `password` (see [`password`]; 422 on
/// `current_password`), then, when `user` signs in with a second factor, `code` (422 on
/// `code`). The account the password was checked for.
pub async fn password_and_code(
    check: &CodeCheck<'_>,
    user: &User,
    current_password: &str,
    code: &str,
) -> Result<User, AppError> {
    let checked = password(check, user, current_password, "current_password").await?;
    if_on(check, &checked, "code", code).await?;
    Ok(checked)
}
