//! `require_confirmed_email` (issue 18): with it on, an account whose email is not confirmed
//! may read everything but write nothing (403, naming the reason) until it follows the link
//! mailed to it. What it needs to get there still works: signing in and out, asking for a new
//! link, following one, ending its sessions, and in its settings changing the email (a typo
//! at sign-up) or the password, but not its profile.
//!
//! The rule is applied once, by the auth guards, to every unsafe request a signed-in caller
//! makes ([`refusal`]); the two settings forms that also change the profile check the change
//! itself ([`may_change`]).

use rocket::http::Method;

use crate::auth::account::Changes;
use crate::db::users::User;
use crate::error::AppError;

/// Why a write is refused: said by the JSON error and the site's error page.
pub const UNCONFIRMED: &str = "please confirm your email address first: follow the link we mailed you, or ask for a new one (this site takes no changes from unconfirmed accounts)";

/// Why a settings change other than the email or password is refused.
pub const PROFILE_UNCONFIRMED: &str = "please confirm your email address first: until then only your email and password can be changed";

/// The unsafe requests an unconfirmed account may make: paths, by their first segments.
const ALLOWED: [&[&str]; 12] = [
    &["login"],
    &["logout"],
    &["register"],
    &["password"],
    &["email", "confirm"],
    &["settings"],
    &["settings", "confirm-email"],
    &["settings", "sign-out-everywhere"],
    &["settings", "sessions"],
    &["api", "users"],
    &["api", "user"],
    &["api", "user", "sessions"],
];

/// Whether `segments` are one of [`ALLOWED`]: exactly, or below it for the prefixes that have
/// pages below them (`/login/...`, `/password/...`, `/settings/sessions/...`, `/api/users/...`,
/// `/api/user/sessions/...`).
fn allowed(segments: &[&str]) -> bool {
    const BELOW: [&[&str]; 5] = [
        &["login"],
        &["password"],
        &["settings", "sessions"],
        &["api", "users"],
        &["api", "user", "sessions"],
    ];
    ALLOWED.contains(&segments)
        || BELOW
            .iter()
            .any(|path| segments.len() > path.len() && segments.starts_with(path))
}

/// Why `user`'s `method` request to the path of `segments` is refused (403), if it is: only
/// when `required` (the config's `require_confirmed_email`), the email is unconfirmed, and
/// the request writes somewhere not [`ALLOWED`].
pub fn refusal<'a>(
    required: bool,
    user: &User,
    method: Method,
    segments: impl IntoIterator<Item = &'a str>,
) -> Option<&'static str> {
    if !required
        || user.email_confirmed_at.is_some()
        || matches!(method, Method::Get | Method::Head | Method::Options)
    {
        return None;
    }
    let segments: Vec<&str> = segments.into_iter().take(5).collect();
    (!allowed(&segments)).then_some(UNCONFIRMED)
}

/// Refuse (403) `changes` to an unconfirmed `user`'s account, when `required`, that touch more
/// than the email and the password: values sent unchanged (the settings form sends every
/// field) are no change.
pub fn may_change(required: bool, user: &User, changes: &Changes) -> Result<(), AppError> {
    if !required || user.email_confirmed_at.is_some() {
        return Ok(());
    }
    let same = |sent: &Option<String>, now: Option<&str>| {
        sent.as_deref()
            .is_none_or(|v| v.trim() == now.unwrap_or("").trim())
    };
    let unchanged = same(&changes.username, Some(&user.username))
        && same(&changes.bio, user.bio.as_deref())
        && same(&changes.image, user.image.as_deref());
    if unchanged {
        Ok(())
    } else {
        Err(AppError::Forbidden(PROFILE_UNCONFIRMED))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(confirmed: bool) -> User {
        let at = chrono::Utc::now();
        User {
            id: crate::db::UserId::new(1),
            username: "una".into(),
            email: "una@example.com".into(),
            password_hash: String::new(),
            bio: None,
            image: None,
            role: crate::db::users::Role::User,
            disabled: false,
            token_version: 0,
            created_at: at,
            updated_at: at,
            email_confirmed_at: confirmed.then_some(at),
        }
    }

    fn refused(required: bool, confirmed: bool, method: Method, path: &str) -> bool {
        let segments = path.trim_start_matches('/').split('/');
        refusal(required, &user(confirmed), method, segments).is_some()
    }

    #[test]
    fn only_unconfirmed_writes_are_refused_and_only_when_required() {
        assert!(refused(true, false, Method::Post, "/api/articles"));
        assert!(refused(true, false, Method::Put, "/api/articles/a-slug"));
        assert!(refused(
            true,
            false,
            Method::Delete,
            "/api/profiles/x/follow"
        ));
        assert!(refused(true, false, Method::Post, "/editor"));
        assert!(refused(true, false, Method::Post, "/api/user/tokens"));
        assert!(!refused(true, false, Method::Get, "/api/articles"));
        assert!(!refused(true, true, Method::Post, "/api/articles"));
        assert!(!refused(false, false, Method::Post, "/api/articles"));
    }

    #[test]
    fn what_confirming_needs_still_works() {
        for path in [
            "/logout",
            "/settings",
            "/settings/confirm-email",
            "/settings/sign-out-everywhere",
            "/settings/sessions/end-others",
            "/settings/sessions/0123/end",
            "/email/confirm",
            "/password/forgot",
            "/api/user",
            "/api/users/login",
            "/api/user/sessions/0123",
        ] {
            assert!(!refused(true, false, Method::Post, path), "{path}");
        }
        // Not below the exact ones.
        assert!(refused(true, false, Method::Post, "/settings/tokens"));
        assert!(refused(true, false, Method::Post, "/api/user/tokens"));
    }

    #[test]
    fn the_settings_may_change_only_the_email_and_password() {
        let u = user(false);
        let keep = Changes {
            email: Some("new@example.com".into()),
            username: Some("una".into()),
            password: Some("a new password".into()),
            bio: Some(String::new()),
            image: Some(" ".into()),
        };
        assert!(may_change(true, &u, &keep).is_ok());
        let bio = Changes {
            bio: Some("spam".into()),
            ..Changes::default()
        };
        assert!(may_change(true, &u, &bio).is_err());
        assert!(may_change(false, &u, &bio).is_ok());
        assert!(may_change(true, &user(true), &bio).is_ok());
    }
}
