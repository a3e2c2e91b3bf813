//! The rules every account field follows, on every face (sign-up, settings, the admin
//! console, the API): lengths that fit their columns (`migrations/*/20261124000001_initial.sql`),
//! the shared checks of [`crate::input`] (no control characters), and the field errors a race
//! on the unique keys turns into. Callers name them here (`auth::fields::check_email`).

use crate::db::{self, DbPool, UserId};
use crate::error::{AppError, FieldErrors};
use crate::input::{self, Max, Problem};

pub use crate::auth::email::{check_email, EMAIL_MAX};
pub use crate::input::{could_be_username, USERNAME_MAX};
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

pub fn check_username(errors: &mut FieldErrors, username: &str) {
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

pub fn check_password(errors: &mut FieldErrors, password: &str, username: &str, email: &str) {
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

pub fn check_image(errors: &mut FieldErrors, image: &str) {
    if input::check(errors, "image", image, Max::Chars(IMAGE_MAX))
        && (!(image.starts_with("https://") || image.starts_with("http://"))
            || image.chars().any(char::is_whitespace))
    {
        errors.add("image", "must be an http(s) URL");
    }
}

/// Turn a race on the unique keys into the field error validation would have given.
pub async fn taken_errors(
    db: &DbPool,
    email: &str,
    username: &str,
    except: Option<UserId>,
) -> Result<FieldErrors, AppError> {
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
