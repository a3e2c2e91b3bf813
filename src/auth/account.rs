//! Account operations shared by the JSON API and the site: register, log in (with throttling),
//! change settings. Validation lives here so both faces give the same field errors.
//!
//! Every limit fits its column (`migrations/*/20261124000001_initial.sql`); every field also
//! passes the shared checks of [`crate::input`] (no control characters).

use chrono::Duration;

use crate::auth::password;
use crate::config::AppConfig;
use crate::db::users::{NewUser, User, ROLE_USER};
use crate::db::{self, DbPool};
use crate::error::{is_unique_violation, AppError, FieldErrors};
use crate::input::{self, Max, Problem};

/// Longest username, in characters (`users.username VARCHAR(64)`).
pub const USERNAME_MAX: usize = 32;
/// Longest email, in characters (`users.email` and `login_attempts.email`, `VARCHAR(255)`).
pub const EMAIL_MAX: usize = 254;
/// Shortest password.
pub const PASSWORD_MIN: usize = 8;
/// Longest password (argon2 takes any length; this bounds the work per attempt).
pub const PASSWORD_MAX: usize = 128;
/// Longest bio, in characters (`users.bio TEXT`, 64 KiB: 4 bytes a character at most).
pub const BIO_MAX: usize = 2000;
/// Longest image URL, in characters (`users.image VARCHAR(1024)`).
pub const IMAGE_MAX: usize = 1000;

/// The one message for every failed login: it must not reveal whether the account exists.
pub const LOGIN_FAILED: &str = "email or password is invalid";

/// Whether `username` could name an account: one that breaks the username rules' length or
/// holds control characters never can, so a lookup answers "not found" without a query.
pub fn could_be_username(username: &str) -> bool {
    input::could_be_stored(username, Max::Chars(USERNAME_MAX))
}

fn check_username(errors: &mut FieldErrors, username: &str) {
    if username.trim().is_empty() {
        errors.add("username", "can't be blank");
        return;
    }
    if !input::check(errors, "username", username, Max::Chars(USERNAME_MAX)) {
        return;
    }
    if username.chars().any(input::is_bidi_control) {
        // The ASCII rule below refuses these too; named apart so relaxing it cannot let them in.
        errors.add("username", Problem::Bidi.message());
    } else if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        errors.add("username", "may only contain letters, digits, _ and -");
    }
}

fn check_email(errors: &mut FieldErrors, email: &str) {
    if email.trim().is_empty() {
        errors.add("email", "can't be blank");
    } else if input::check(errors, "email", email, Max::Chars(EMAIL_MAX)) {
        let valid = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        }) && !email.chars().any(char::is_whitespace);
        if !valid {
            errors.add("email", "is invalid");
        }
    }
}

fn check_password(errors: &mut FieldErrors, password: &str, username: &str, email: &str) {
    let length = password.chars().count();
    if password.is_empty() {
        errors.add("password", "can't be blank");
    } else if length < PASSWORD_MIN {
        errors.add(
            "password",
            format!("is too short (minimum is {PASSWORD_MIN} characters)"),
        );
    } else if length > PASSWORD_MAX {
        errors.add(
            "password",
            format!("is too long (maximum is {PASSWORD_MAX} characters)"),
        );
    } else if password.eq_ignore_ascii_case(username) || password.eq_ignore_ascii_case(email) {
        errors.add("password", "must not be the same as your username or email");
    }
}

fn check_image(errors: &mut FieldErrors, image: &str) {
    if input::check(errors, "image", image, Max::Chars(IMAGE_MAX))
        && (!(image.starts_with("https://") || image.starts_with("http://")) || image.chars().any(char::is_whitespace))
    {
        errors.add("image", "must be an http(s) URL");
    }
}

/// Turn a race on the unique keys into the field error validation would have given.
async fn taken_errors(db: &DbPool, email: &str, username: &str, except: Option<i64>) -> Result<FieldErrors, AppError> {
    let (email_taken, username_taken) = db::users::taken(db, email, username, except).await?;
    let mut errors = FieldErrors::new();
    if email_taken {
        errors.add("email", "has already been taken");
    }
    if username_taken {
        errors.add("username", "has already been taken");
    }
    Ok(errors)
}

/// Create an account with the ordinary role.
pub async fn register(db: &DbPool, username: &str, email: &str, password: &str) -> Result<User, AppError> {
    create(db, username, email, password, ROLE_USER).await
}

/// Create an account with `role`, validating every field.
pub async fn create(db: &DbPool, username: &str, email: &str, password: &str, role: &str) -> Result<User, AppError> {
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

    let hash = password::hash(password).await?;
    let new = NewUser {
        username,
        email,
        password_hash: &hash,
        role,
    };
    let id = match db::users::insert(db, &new).await {
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

/// Check an email and password, with throttling per account and per client address.
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
    if password.is_empty() {
        errors.add("password", "can't be blank");
    }
    errors.into_result()?;

    let window = Duration::minutes(config.login_window_minutes);
    let now = db::now();
    let failures = db::login_attempts::failures_since(db, email, ip, now - window).await?;
    let blocked_until = [
        (failures.by_email >= config.login_max_per_account)
            .then_some(failures.oldest_email)
            .flatten(),
        (failures.by_ip >= config.login_max_per_ip)
            .then_some(failures.oldest_ip)
            .flatten(),
    ]
    .into_iter()
    .flatten()
    .map(|oldest| oldest + window)
    .max();
    if let Some(until) = blocked_until {
        let seconds = (until - now).num_seconds().max(1);
        return Err(AppError::TooManyRequests(u64::try_from(seconds).unwrap_or(1)));
    }

    let user = db::users::find_by_email(db, email).await?;
    let ok = password::verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    match user {
        Some(user) if ok => {
            if user.disabled {
                return Err(AppError::Unauthorized("this account is disabled".into()));
            }
            db::login_attempts::clear(db, email).await?;
            Ok(user)
        }
        _ => {
            db::login_attempts::record_failure(db, email, ip).await?;
            Err(AppError::Unauthorized(LOGIN_FAILED.into()))
        }
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

/// What an update did.
pub struct Updated {
    /// The user after the update.
    pub user: User,
    /// The password changed: the token version was bumped, revoking every earlier token (the
    /// caller re-issues the current session's).
    pub password_changed: bool,
}

/// Apply `changes` to `user`. Changing the email or the password needs `fresh` (a recent
/// password entry); unchanged values (e.g. the user's own email re-sent) change nothing.
pub async fn update(db: &DbPool, mut user: User, changes: Changes, fresh: bool) -> Result<Updated, AppError> {
    let mut errors = FieldErrors::new();
    let email = changes.email.map(|e| e.trim().to_owned()).filter(|e| *e != user.email);
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
    if (email.as_ref().is_some_and(|e| !e.eq_ignore_ascii_case(&user.email)) || password.is_some()) && !fresh {
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
    let password_changed = password.is_some();
    if let Some(password) = password {
        user.password_hash = password::hash(&password).await?;
        user.token_version += 1;
    }
    if let Err(e) = db::users::update(db, &user).await {
        if is_unique_violation(&e) {
            return Err(taken_errors(db, &user.email, &user.username, Some(user.id))
                .await?
                .into_result()
                .err()
                .unwrap_or(AppError::Db(e)));
        }
        return Err(e.into());
    }
    Ok(Updated { user, password_changed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_rules_give_clear_messages() {
        let mut e = FieldErrors::new();
        check_username(&mut e, "jake_the-dog");
        check_email(&mut e, "jake@example.com");
        check_password(&mut e, "long enough", "jake", "jake@example.com");
        assert!(e.is_empty(), "{e:?}");

        let mut e = FieldErrors::new();
        check_username(&mut e, "no spaces");
        check_email(&mut e, "nope");
        check_password(&mut e, "Jake_The_Dog", "jake_the_dog", "j@x.io");
        assert_eq!(e.0["username"], vec!["may only contain letters, digits, _ and -"]);
        assert_eq!(e.0["email"], vec!["is invalid"]);
        assert_eq!(e.0["password"], vec!["must not be the same as your username or email"]);
    }
}
