//! Two-factor sign-in (TOTP) as both faces use it: enrolment (a pending secret, confirmed by a
//! first code, then ten one-time recovery codes), the second step of a sign-in, new recovery
//! codes, turning it off, and an administrator's reset.
//!
//! Every check of a code is throttled like a password check (`db::throttle::reserve_login`):
//! per address with the logins, and per account under its own key (`#totp:<id>`, which no
//! email is), so that a right password, which clears the email's failures, does not clear
//! the failed codes too. A wrong code stays counted; a right one clears the account's codes.
//! A code is accepted once: only for a time step after the last accepted one, written with a
//! conditional `UPDATE` (two sign-ins with one code: exactly one passes). The checks of an
//! enrolled account's codes, with their daily cap, are in `auth::code_check`.
//!
//! Turning it on or off writes an audit entry and queues a notice to the account's address.
//! Turning it on does not end the account's other sessions or tokens (as GitHub does not):
//! the notice and the settings page point to "sign out everywhere" for that.

use chrono::Duration;
use serde_json::json;

use crate::auth::access_token::Origin;
use crate::auth::account::too_many;
use crate::auth::mailed::AccountLinks;
use crate::auth::totp::{self, Given};
use crate::config::AppConfig;
use crate::db::audit::AuditEntry;
use crate::db::outbox::NewMail;
use crate::db::throttle::Reservation;
use crate::db::users::User;
use crate::db::{self, DbPool, LoginAttemptId};
use crate::error::{AppError, FieldErrors};
use crate::mail::Mailer;

/// A started enrolment: the key for the authenticator app, as text and as an `otpauth://` URI.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret, base32 (RFC 4648, no padding), for typing in.
    pub secret: String,
    /// The `otpauth://totp/...` URI the QR code holds.
    pub uri: String,
}

impl Enrolment {
    fn of(secret: Vec<u8>, user: &User) -> Self {
        let generator = totp::generator(secret, &user.email);
        Self {
            secret: generator.get_secret_base32(),
            uri: generator.get_url(),
        }
    }

    /// The QR code of [`Enrolment::uri`], an inline SVG.
    pub fn qr_svg(&self) -> Result<String, AppError> {
        Ok(totp::qr_svg(&self.uri)?)
    }
}

/// The error of an enrolment when two-factor sign-in is on already.
pub fn already_on() -> AppError {
    AppError::Invalid(FieldErrors::one("totp", "is already enabled"))
}

/// The error of a change to a second factor that is off.
pub(crate) fn not_on() -> AppError {
    AppError::Invalid(FieldErrors::one("totp", "is not enabled"))
}

/// The one answer for a code that was not accepted (wrong, used, expired, or garbage).
pub fn wrong_code() -> AppError {
    AppError::Invalid(FieldErrors::one("code", "is not correct"))
}

/// Whether `user` signs in with a second factor.
pub async fn is_on(db: &DbPool, user: &User) -> Result<bool, AppError> {
    Ok(db::totp::is_enabled(db, user.id).await?)
}

/// How many unused recovery codes `user` has.
pub async fn recovery_left(db: &DbPool, user: &User) -> Result<i64, AppError> {
    Ok(db::totp::recovery_left(db, user.id).await?)
}

/// Start (or restart) `user`'s enrolment with a new secret; 422 when it is on already.
pub async fn begin(
    db: &DbPool,
    config: &AppConfig,
    user: &User,
    sid: Option<&str>,
) -> Result<Enrolment, AppError> {
    if db::totp::is_enabled(db, user.id).await? {
        return Err(already_on());
    }
    let secret = totp::new_secret();
    let sealed = totp::seal(config, user.id, &secret)?;
    if !db::totp::start(db, user.id, &sealed, sid).await? {
        return Err(already_on());
    }
    Ok(Enrolment::of(secret, user))
}

/// `user`'s enrolment waiting for its first code, if there is one (to show it again beside a
/// wrong code).
pub async fn pending(
    db: &DbPool,
    config: &AppConfig,
    user: &User,
    sid: Option<&str>,
) -> Result<Option<Enrolment>, AppError> {
    let Some(row) = db::totp::find(db, user.id).await? else {
        return Ok(None);
    };
    // Shown again only to the browser session that started it.
    if row.enabled_at.is_some() || sid.is_none() || row.started_sid.as_deref() != sid {
        return Ok(None);
    }
    Ok(totp::open(config, user.id, &row.secret).map(|secret| Enrolment::of(secret, user)))
}

fn entry(origin: &Origin, action: &str, user: &User, after: serde_json::Value) -> AuditEntry {
    AuditEntry {
        actor_id: origin.actor_id,
        actor_name: origin.actor_name.clone(),
        action: format!("user.{action}"),
        entity: "user".into(),
        entity_id: user.id.to_string(),
        before: None,
        after: Some(after),
        ip: origin.ip.clone(),
        request_id: origin.request_id.clone(),
    }
}

fn notice(
    mailer: &Mailer,
    links: &AccountLinks,
    user: &User,
    template: &str,
    subject: &str,
    by_admin: Option<&str>,
) -> Result<NewMail, AppError> {
    mailer.compose(
        template,
        &user.email,
        subject,
        json!({
            "username": user.username,
            "settings_link": mailer.link(&(links.settings)()),
            "forgot_link": mailer.link(&(links.forgot)()),
            "by_admin": by_admin,
        }),
    )
}

/// Confirm `user`'s pending enrolment with a first `code`: two-factor sign-in is on, and the
/// new recovery codes are returned (to be shown once; only their hashes are kept). 422 on the
/// `code` field for a wrong code, on `totp` when there is nothing to confirm.
#[allow(clippy::too_many_arguments)]
pub async fn confirm(
    db: &DbPool,
    config: &AppConfig,
    mailer: &Mailer,
    links: &AccountLinks,
    origin: &Origin,
    user: &User,
    code: &str,
    ip: &str,
) -> Result<Vec<String>, AppError> {
    let Some(row) = db::totp::find(db, user.id).await? else {
        return Err(AppError::Invalid(FieldErrors::one(
            "totp",
            "has no set-up waiting: start again",
        )));
    };
    if row.enabled_at.is_some() {
        return Err(already_on());
    }
    let Some(secret) = totp::open(config, user.id, &row.secret) else {
        return Err(AppError::Invalid(FieldErrors::one(
            "totp",
            "set-up can no longer be read: start again",
        )));
    };
    // Throttled like the codes of a sign-in (a wrong code is a failed login).
    let key = throttle_key(user);
    let attempt = reserve(db, config, &key, ip).await?;
    let Given::Code(code) = totp::parse_given(code) else {
        return Err(wrong_code());
    };
    let generator = totp::generator(secret, &user.email);
    let Some(step) = totp::matching_step(&generator, &code, unix_now(), row.last_step) else {
        return Err(wrong_code());
    };
    if let Err(release) = db::throttle::release_login(db, attempt).await {
        log::warn!("releasing a confirmation's reservation: {release}");
    }
    let codes = totp::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| totp::recovery_hash(c)).collect();
    let audit = entry(
        origin,
        "two_factor_enable",
        user,
        json!({ "two_factor": true }),
    );
    let mail = notice(
        mailer,
        links,
        user,
        "two_factor_enabled",
        "Two-factor sign-in is on for your Conduit account",
        None,
    )?;
    let enabled = db::totp::enable(
        db,
        user.id,
        &db::totp::Enable {
            secret: &row.secret,
            step,
            recovery_hashes: &hashes,
            audit: &audit,
            notice: &mail,
        },
    )
    .await?;
    if !enabled {
        // Confirmed or restarted by another request meanwhile.
        return Err(AppError::Invalid(FieldErrors::one(
            "totp",
            "set-up changed meanwhile: start again",
        )));
    }
    mailer.wake();
    Ok(codes)
}

/// Which kind of code passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passed {
    /// A code from the app.
    Code,
    /// A recovery code (now used).
    Recovery,
}

fn unix_now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// The throttle key of `user`'s code checks.
pub(crate) fn throttle_key(user: &User) -> String {
    format!("#totp:{}", user.id)
}

/// Reserve a code check for `key` from `ip` against the login throttle (429 past it): the
/// reservation is the failure unless the check passes (clear the key) or fails for another
/// reason (release it).
pub(crate) async fn reserve(
    db: &DbPool,
    config: &AppConfig,
    key: &str,
    ip: &str,
) -> Result<LoginAttemptId, AppError> {
    let reservation = db::throttle::reserve_login(
        db,
        key,
        ip,
        config.login_max_per_account,
        config.login_max_per_ip,
        Duration::minutes(config.login_window_minutes),
    )
    .await?;
    match reservation {
        Reservation::Granted(id) => Ok(id),
        Reservation::Blocked(until) => Err(too_many(until)),
    }
}

/// Whether `given` is a code or recovery code of `user` (second factor on), used up if it is.
pub(crate) async fn check(
    db: &DbPool,
    config: &AppConfig,
    user: &User,
    given: &str,
) -> Result<Option<Passed>, AppError> {
    match totp::parse_given(given) {
        Given::Code(code) => {
            let Some(row) = db::totp::find(db, user.id).await? else {
                return Ok(None);
            };
            if row.enabled_at.is_none() {
                return Ok(None);
            }
            let Some(secret) = totp::open(config, user.id, &row.secret) else {
                log::warn!(
                    "the TOTP secret of user {} does not open (was jwt_secret changed?)",
                    user.id
                );
                return Ok(None);
            };
            let generator = totp::generator(secret, &user.email);
            let Some(step) = totp::matching_step(&generator, &code, unix_now(), row.last_step)
            else {
                return Ok(None);
            };
            Ok(db::totp::use_step(db, user.id, step)
                .await?
                .then_some(Passed::Code))
        }
        Given::Recovery(code) => {
            Ok(
                db::totp::use_recovery(db, user.id, &totp::recovery_hash(&code))
                    .await?
                    .then_some(Passed::Recovery),
            )
        }
        Given::Garbage => Ok(None),
    }
}

/// New recovery codes for `user` (whose code was just checked), replacing the old ones.
pub async fn regenerate(
    db: &DbPool,
    origin: &Origin,
    user: &User,
) -> Result<Vec<String>, AppError> {
    let codes = totp::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| totp::recovery_hash(c)).collect();
    let audit = entry(
        origin,
        "two_factor_recovery_codes",
        user,
        json!({ "recovery_codes": codes.len() }),
    );
    if !db::totp::replace_recovery(db, user.id, &hashes, &audit).await? {
        return Err(not_on());
    }
    Ok(codes)
}

/// Turn `user`'s second factor off: by the user (whose code was just checked), or reset by an
/// administrator (`origin` another account). 422 when it was not on.
pub async fn disable(
    db: &DbPool,
    mailer: &Mailer,
    links: &AccountLinks,
    origin: &Origin,
    user: &User,
) -> Result<(), AppError> {
    let by_admin = (origin.actor_id != user.id).then_some(origin.actor_name.as_str());
    let action = if by_admin.is_some() {
        "two_factor_reset"
    } else {
        "two_factor_disable"
    };
    let audit = entry(origin, action, user, json!({ "two_factor": false }));
    let mail = notice(
        mailer,
        links,
        user,
        "two_factor_disabled",
        "Two-factor sign-in is off for your Conduit account",
        by_admin,
    )?;
    if !db::totp::disable(db, user.id, &audit, Some(&mail)).await? {
        return Err(not_on());
    }
    // Its wrong codes go with it: a factor enrolled again starts under no cap (an admin's
    // reset is how a capped owner gets back in without a password reset).
    db::throttle::clear_code_failures(db, user.id).await?;
    mailer.wake();
    Ok(())
}
