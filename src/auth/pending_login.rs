//! The half-done browser sign-in of an account with two-factor sign-in: after the right
//! password, before the code. It lives in its own cookie (`two_factor`, `__Host-two_factor`
//! where cookies are `Secure`): HttpOnly, SameSite=Strict, five minutes, signed with
//! HMAC-SHA256 under a key derived from `jwt_secret` with a label of its own (so it can never
//! pass for a JWT or a form token, nor they for it). It names the user and their token version
//! (a password change or "sign out everywhere" ends it), "remember me" and where to go next.
//! It is no session: nothing is authenticated by it but the code form.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use rocket::http::{Cookie, CookieJar, SameSite};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::AppConfig;
use crate::db::users::User;
use crate::db::UserId;

/// How long the code form waits after the password, in seconds.
pub const TTL_SECONDS: i64 = 5 * 60;
/// The label of the signing key's derivation.
const LABEL: &[u8] = b"conduit/pending-login/v1";
/// Longest cookie value read (ours are about 200 bytes).
const VALUE_MAX: usize = 4096;

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The account.
    pub uid: UserId,
    /// Its token version when the password was right.
    pub ver: i64,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// "Remember me" was ticked.
    pub remember: bool,
    /// Where to go after the code (a checked local path).
    pub next: Option<String>,
    /// Random, so two cookies for one sign-in differ.
    nonce: String,
}

impl PendingLogin {
    /// Whether it still holds for `user` (same account, same token version, enabled).
    pub fn holds_for(&self, user: &User) -> bool {
        user.id == self.uid && user.token_version == self.ver && !user.disabled
    }

    /// Its random nonce: recorded when the sign-in is completed, so the cookie works once.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// When it expires.
    pub fn expires_at(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.exp, 0).unwrap_or_default()
    }
}

/// The cookie's name for `config`.
pub fn name(config: &AppConfig) -> &'static str {
    if config.cookie_secure {
        "__Host-two_factor"
    } else {
        "two_factor"
    }
}

fn mac(config: &AppConfig) -> Hmac<Sha256> {
    let mut derive =
        <Hmac<Sha256> as Mac>::new_from_slice(config.jwt_secret.expose_secret().as_bytes())
            .expect("HMAC takes a key of any length");
    derive.update(LABEL);
    let key = derive.finalize().into_bytes();
    <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes a key of any length")
}

fn tag(config: &AppConfig, payload: &str) -> Vec<u8> {
    let mut mac = mac(config);
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The signed cookie value of `pending`.
pub fn encode(config: &AppConfig, pending: &PendingLogin) -> anyhow::Result<String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = b64.encode(serde_json::to_vec(pending)?);
    let tag = b64.encode(tag(config, &payload));
    Ok(format!("{payload}.{tag}"))
}

/// The pending sign-in in `value`, if we signed it and it has not expired.
pub fn decode(config: &AppConfig, value: &str, now: i64) -> Option<PendingLogin> {
    if value.len() > VALUE_MAX {
        return None;
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (payload, sent_tag) = value.split_once('.')?;
    let sent_tag = b64.decode(sent_tag).ok()?;
    if !bool::from(tag(config, payload).ct_eq(&sent_tag)) {
        return None;
    }
    let pending: PendingLogin = serde_json::from_slice(&b64.decode(payload).ok()?).ok()?;
    (pending.exp > now).then_some(pending)
}

/// Start the second step for `user`: set the cookie.
pub fn start(
    jar: &CookieJar<'_>,
    config: &AppConfig,
    user: &User,
    remember: bool,
    next: Option<String>,
) -> anyhow::Result<()> {
    let pending = PendingLogin {
        uid: user.id,
        ver: user.token_version,
        exp: chrono::Utc::now().timestamp() + TTL_SECONDS,
        remember,
        next,
        nonce: crate::auth::token::random_id(),
    };
    let cookie = Cookie::build((name(config), encode(config, &pending)?))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(config.cookie_secure)
        .path("/")
        .max_age(rocket::time::Duration::seconds(TTL_SECONDS))
        .build();
    jar.add(cookie);
    Ok(())
}

/// The browser's pending sign-in, if any is good.
pub fn read(jar: &CookieJar<'_>, config: &AppConfig) -> Option<PendingLogin> {
    let cookie = jar.get(name(config))?;
    decode(config, cookie.value(), chrono::Utc::now().timestamp())
}

/// End the pending sign-in (done, or given up).
pub fn clear(jar: &CookieJar<'_>, config: &AppConfig) {
    // `Secure` on the removal too: browsers ignore a `__Host-` cookie without it.
    jar.remove(
        Cookie::build(name(config))
            .path("/")
            .secure(config.cookie_secure),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(secret: &str) -> AppConfig {
        let figment = rocket::figment::Figment::new().merge(("jwt_secret", secret));
        AppConfig::from_figment(&figment).expect("config")
    }

    #[test]
    fn only_our_unexpired_untouched_cookies_are_read() {
        let config = config("a-test-secret-that-is-long-enough-0123456789");
        let pending = PendingLogin {
            uid: UserId::new(3),
            ver: 2,
            exp: 1_000,
            remember: true,
            next: Some("/editor".into()),
            nonce: "n".into(),
        };
        let value = encode(&config, &pending).unwrap();
        assert_eq!(decode(&config, &value, 999), Some(pending.clone()));
        assert_eq!(decode(&config, &value, 1_000), None, "expired");
        let other = super::tests::config("another-secret-that-is-long-enough-987654321");
        assert_eq!(decode(&other, &value, 999), None, "another key");
        // A changed payload (another user) with the old tag is refused.
        let (_, tag) = value.split_once('.').unwrap();
        let mut forged = pending;
        forged.uid = UserId::new(1);
        let forged_payload = encode(&config, &forged).unwrap();
        let (payload, _) = forged_payload.split_once('.').unwrap();
        assert_eq!(decode(&config, &format!("{payload}.{tag}"), 999), None);
        assert_eq!(decode(&config, "garbage", 999), None);
        assert_eq!(decode(&config, "a.b", 999), None);
    }
}
