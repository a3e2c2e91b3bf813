//! Changing an account (a file of its own, keeping `account.rs` under 600 lines): the user's
//! own settings through [`prepare`] and [`write`], the admin console's edits through [`merge`].

use crate::auth::account::writes_may_wait;
use crate::auth::fields::{
    check_email, check_image, check_password, check_username, taken_errors, BIO_MAX,
};
use crate::auth::{password, recovery};
use crate::config::AppConfig;
use crate::db::users::User;
use crate::db::{self, DbPool, ResetRequestId, UserId};
use crate::error::{is_unique_violation, AppError, FieldErrors};
use crate::input::{self, Max};

/// A password change being hashed for an account, in this process (the hashing queue is per
/// process too); dropped when the change ends. Keyed by the app's pool as well as the user id:
/// one process may run several apps on several databases (the tests do), whose ids overlap.
struct ChangeInFlight((usize, UserId));

type InFlight = std::collections::HashSet<(usize, UserId)>;

fn changes_in_flight() -> std::sync::MutexGuard<'static, InFlight> {
    static IN_FLIGHT: std::sync::OnceLock<std::sync::Mutex<InFlight>> = std::sync::OnceLock::new();
    IN_FLIGHT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ChangeInFlight {
    /// The account's slot, unless a change of its password is being hashed already.
    fn claim(db: &DbPool, user_id: UserId) -> Option<Self> {
        let key = (db.identity(), user_id);
        let claimed = changes_in_flight().insert(key);
        // Built only once claimed (and with the lock released): its drop gives the slot back.
        claimed.then(|| Self(key))
    }
}

impl Drop for ChangeInFlight {
    fn drop(&mut self) {
        changes_in_flight().remove(&self.0);
    }
}

/// Requested changes to an account; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Changes {
    /// New email.
    pub email: Option<String>,
    /// New username.
    pub username: Option<String>,
    /// New password.
    pub password: Option<String>,
    /// New bio (empty clears it).
    pub bio: Option<String>,
    /// New image URL (empty clears it).
    pub image: Option<String>,
}

impl Changes {
    /// Whether these changes touch what takes a fresh login (and, with two-factor sign-in
    /// on, a code): another email address (not a letter case change of the same) or a new
    /// password.
    pub fn need_fresh(&self, user: &User) -> bool {
        let email = self
            .email
            .as_deref()
            .map(str::trim)
            .is_some_and(|e| !e.eq_ignore_ascii_case(&user.email));
        let password = self.password.as_deref().is_some_and(|p| !p.is_empty());
        email || password
    }
}

/// What an update did.
pub struct Updated {
    /// The user after the update.
    pub user: User,
    /// The password changed: the token version was bumped, revoking every earlier token (the
    /// caller re-issues the current session's).
    pub password_changed: bool,
    /// A new address asked for: not written, but to be confirmed through a mail to it
    /// ([`crate::auth::recovery::request_email_change`]); the account keeps its address until then.
    pub email_requested: Option<String>,
}

/// `user` with `changes` applied and checked (without a new password, which the caller
/// hashes), and that password if one was given. Changing the email or the password needs
/// `fresh` (a recent password entry); unchanged values (e.g. the user's own email re-sent)
/// change nothing. Nothing is written: [`write`] writes for the account holder, the admin
/// console (`admin::ops`) writes together with its audit entry.
pub async fn merge(
    db: &DbPool,
    mut user: User,
    changes: Changes,
    fresh: bool,
) -> Result<(User, Option<String>), AppError> {
    let mut errors = FieldErrors::new();
    let email = changes
        .email
        .map(|e| e.trim().to_owned())
        .filter(|e| *e != user.email);
    let username = changes
        .username
        .map(|u| u.trim().to_owned())
        .filter(|u| *u != user.username);
    let password = changes.password.filter(|p| !p.is_empty());
    if let Some(email) = &email {
        check_email(&mut errors, email);
    }
    if let Some(username) = &username {
        check_username(&mut errors, username);
    }
    if let Some(password) = &password {
        check_password(
            &mut errors,
            password,
            username.as_deref().unwrap_or(&user.username),
            email.as_deref().unwrap_or(&user.email),
        );
    }
    let bio = changes.bio.map(|b| b.trim().to_owned());
    if let Some(bio) = &bio {
        input::check(&mut errors, "bio", bio, Max::Chars(BIO_MAX));
    }
    let image = changes.image.map(|i| i.trim().to_owned());
    if let Some(image) = image.as_deref().filter(|i| !i.is_empty()) {
        check_image(&mut errors, image);
    }
    errors.into_result()?;
    // Letter-case-only changes of one's own email or username are not "taken".
    let new_email = email.clone().unwrap_or_else(|| user.email.clone());
    let new_username = username.clone().unwrap_or_else(|| user.username.clone());
    if email.is_some() || username.is_some() {
        taken_errors(db, &new_email, &new_username, Some(user.id))
            .await?
            .into_result()?;
    }
    if (email
        .as_ref()
        .is_some_and(|e| !e.eq_ignore_ascii_case(&user.email))
        || password.is_some())
        && !fresh
    {
        // The same rule as `Changes::need_fresh`.
        return Err(AppError::Unauthorized(
            "please sign in again to change your email or password".into(),
        ));
    }

    user.email = new_email;
    user.username = new_username;
    if let Some(bio) = bio {
        user.bio = Some(bio).filter(|b| !b.is_empty());
    }
    if let Some(image) = image {
        user.image = Some(image).filter(|i| !i.is_empty());
    }
    Ok((user, password))
}

/// What a failed write of `user` means: a unique key taken by a racing change is the field
/// error validation would have given; anything else is the database error.
pub async fn write_error(db: &DbPool, user: &User, e: sqlx::Error) -> AppError {
    if !is_unique_violation(&e) {
        return e.into();
    }
    match taken_errors(db, &user.email, &user.username, Some(user.id)).await {
        Ok(errors) => errors.into_result().err().unwrap_or(AppError::Db(e)),
        Err(other) => other,
    }
}

/// Changes to an account checked against every rule that needs no write ([`prepare`]),
/// ready for [`write`].
pub struct Prepared {
    user: User,
    old_email: String,
    password: Option<String>,
    /// The new password's hash, once [`Prepared::hash_password`] made it.
    hash: Option<String>,
    /// The place a new address holds in the email change throttle, reserved by [`prepare`].
    email_slot: Option<ResetRequestId>,
    /// The account's slot for a password change, held from the check through the write.
    _changing: Option<ChangeInFlight>,
}

/// Check `changes` to `user` ([`merge`]: every field rule, names taken by others, a `fresh`
/// login for an email or password change), claim the account's slot for a new password (429
/// while another one is being hashed) and reserve a new address's place in the email change
/// throttle (`reset_max_per_email` an hour, [`recovery::reserve_email_change`]; 429 past it).
///
/// The order of every change of an email or a password, on every face:
/// 1. this: the fields and the limits, so a field error or a 429 spends no code and counts no
///    password attempt;
/// 2. the caller's proof of a fresh login, when it asks for one: the current password;
/// 3. [`Prepared::hash_password`]: a busy hasher (503) refuses the change before any code is
///    spent;
/// 4. the code, with two-factor sign-in on;
/// 5. [`write`].
///
/// A change refused after this (a wrong password or code, a busy hasher) gives its reservation
/// back ([`Prepared::give_back`]), so a hostile client cannot use up the owner's email changes
/// with requests that never change anything. Nothing is written here but that reservation.
pub async fn prepare(
    db: &DbPool,
    config: &AppConfig,
    user: User,
    changes: Changes,
    fresh: bool,
) -> Result<Prepared, AppError> {
    let old_email = user.email.clone();
    let (user, password) = merge(db, user, changes, fresh).await?;
    // One change at a time per account, behind a shorter queue than sign-ins: a signed-in
    // user sending many changes at once cannot fill the hasher's queue and lock everyone out.
    let changing = match &password {
        Some(_) => Some(ChangeInFlight::claim(db, user.id).ok_or(AppError::TooManyRequests(2))?),
        None => None,
    };
    // Another address (not a letter case change of the same one) will be mailed a link.
    let email_slot = if user.email.eq_ignore_ascii_case(&old_email) {
        None
    } else {
        Some(recovery::reserve_email_change(db, config, user.id, &user.email).await?)
    };
    Ok(Prepared {
        user,
        old_email,
        password,
        hash: None,
        email_slot,
        _changing: changing,
    })
}

impl Prepared {
    /// Hash the new password, if there is one, behind at most a quarter of `max_waiting`
    /// others (`password_queue_max`): before a code is checked, so that a busy hasher (503)
    /// spends no code.
    pub async fn hash_password(&mut self, max_waiting: usize) -> Result<(), AppError> {
        if let (Some(password), None) = (&self.password, &self.hash) {
            self.hash = Some(password::hash(password, writes_may_wait(max_waiting)).await?);
        }
        Ok(())
    }

    /// The change is refused: give back the new address's place in the email change throttle.
    pub async fn give_back(&mut self, db: &DbPool) {
        if let Some(slot) = self.email_slot.take() {
            if let Err(e) = db::throttle::release_reset(db, slot).await {
                log::warn!("releasing an email change reservation: {e}");
            }
        }
    }
}

/// Write [`prepare`]d changes, but for a new email address, which is returned to be confirmed
/// first ([`recovery::request_email_change`], its throttle place already held). A new password
/// not hashed yet is hashed behind at most `max_waiting` others (`password_queue_max`); it
/// ends, in the same write, every session but `keep` (the caller's). A write that fails gives
/// the email change's place back.
pub async fn write(
    db: &DbPool,
    mut prepared: Prepared,
    max_waiting: usize,
    keep: Option<&str>,
) -> Result<Updated, AppError> {
    let written = write_prepared(db, &mut prepared, max_waiting, keep).await;
    if written.is_err() {
        prepared.give_back(db).await;
    }
    written
}

async fn write_prepared(
    db: &DbPool,
    prepared: &mut Prepared,
    max_waiting: usize,
    keep: Option<&str>,
) -> Result<Updated, AppError> {
    prepared.hash_password(max_waiting).await?;
    let mut user = prepared.user.clone();
    let password_changed = prepared.hash.is_some();
    // Another address (not a letter case change of the same one) waits for its confirmation.
    let email_requested = (!user.email.eq_ignore_ascii_case(&prepared.old_email))
        .then(|| std::mem::replace(&mut user.email, prepared.old_email.clone()));
    let hash = prepared.hash.take();
    match db::users::update_own(db, &user, hash.as_deref(), keep).await {
        Ok(true) => {}
        // Disabled, demoted, reset or changed by another request since it was read.
        Ok(false) => {
            return Err(AppError::Unauthorized(
                "your account changed while this was being saved: please sign in again".into(),
            ))
        }
        Err(e) => return Err(write_error(db, &user, e).await),
    }
    if let Some(hash) = hash {
        user.password_hash = hash;
        user.token_version += 1;
    }
    Ok(Updated {
        user,
        password_changed,
        email_requested,
    })
}
