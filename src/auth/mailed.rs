//! What mailed links are made of: single-use tokens (32 random bytes, base64url in the link,
//! stored only as their SHA-256), where the pages they open are, and the confirmation mail
//! (used by sign-up in `auth::account` and by email changes in `auth::recovery`).

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::db::outbox::NewMail;
use crate::error::AppError;
use crate::mail::Mailer;

/// How long a confirmation link works.
pub const CONFIRM_HOURS: i64 = 48;

/// Where the pages that mails link to are (each a `uri!` of the site's route, registered by the
/// site's stage), so a mail queued by the API links to the same pages as one queued by the site.
#[derive(Debug, Clone, Copy)]
pub struct AccountLinks {
    /// The page a reset link opens, for a token.
    pub reset: fn(&str) -> String,
    /// The page a confirmation link opens, for a token.
    pub confirm: fn(&str) -> String,
    /// The "forgot password" page.
    pub forgot: fn() -> String,
    /// The settings page.
    pub settings: fn() -> String,
    /// Where a signed-in account asks for a new confirmation mail (a form's target).
    pub resend_confirmation: fn() -> String,
}

/// A new random token and the hex SHA-256 stored for it.
pub fn new_token() -> (String, String) {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// The hex SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Whether `token` could be one of ours (43 base64url characters); anything else is refused
/// without a query.
pub fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The mail asking `username` to confirm `email` with `token`: a new account's (`change`:
/// false) or an address an account is to move to.
pub fn confirmation_mail(
    mailer: &Mailer,
    links: &AccountLinks,
    username: &str,
    email: &str,
    token: &str,
    change: bool,
) -> Result<NewMail, AppError> {
    mailer.compose(
        "confirm_email",
        email,
        "Confirm your email for Conduit",
        json!({
            "username": username,
            "email": email,
            "link": mailer.link(&(links.confirm)(token)),
            "hours": CONFIRM_HOURS,
            "change": change,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_well_formed_and_stored_hashed() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(well_formed(&a), "{a}");
        assert_eq!(hash_a.len(), 64);
        assert_eq!(hash_a, token_hash(&a));
        assert!(!hash_a.contains(&a));
        // SHA-256 of "abc", the FIPS 180-2 example.
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        for bad in ["", "short", &format!("{a}x"), &a.replace(&a[..1], "/")] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
