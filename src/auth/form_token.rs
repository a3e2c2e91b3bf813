//! Form (CSRF) tokens the server mints: 16 random bytes and a 16-byte HMAC-SHA256 tag over them,
//! both base64url, joined by a dot (45 characters in all).
//!
//! The tag's key is derived from the JWT secret, so every instance with the same secret accepts
//! the others' tokens, and a client cannot make one up: a cookie the visitor did not get from us
//! (set by a sibling domain, or typed in) fails [`FormTokens::is_minted`] and is replaced, never
//! echoed into a page. Being minted is necessary, not sufficient: the CSRF gate still checks the
//! submitted token against the session's or the visitor's cookie.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use crate::config::AppConfig;

/// Random bytes per token.
const NONCE_LEN: usize = 16;
/// Tag bytes kept per token (the left half of HMAC-SHA256).
const TAG_LEN: usize = 16;
/// base64url length of 16 bytes, unpadded.
const PART_LEN: usize = 22;
/// The length of every minted token.
pub const TOKEN_LEN: usize = PART_LEN * 2 + 1;

/// The key that mints and checks form tokens.
#[derive(Clone)]
pub struct FormTokens {
    mac: Hmac<Sha256>,
    /// The key of sessions' public handles ([`FormTokens::session_handle`]).
    handles: Hmac<Sha256>,
}

impl std::fmt::Debug for FormTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormTokens(..)")
    }
}

impl FormTokens {
    /// The key for the configured JWT secret (a separate key derived from it, labelled, so a
    /// form token's tag is never a valid signature of anything else).
    pub fn new(config: &AppConfig) -> Self {
        Self::from_secret(config.jwt_secret.expose_secret().as_bytes())
    }

    fn from_secret(secret: &[u8]) -> Self {
        let derive = |secret: &[u8]| -> Hmac<Sha256> {
            <Hmac<Sha256> as Mac>::new_from_slice(secret)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
        };
        let labelled = |label: &[u8]| {
            let mut kdf = derive(secret);
            kdf.update(label);
            derive(&kdf.finalize().into_bytes())
        };
        Self {
            mac: labelled(b"conduit form token v1"),
            handles: labelled(b"conduit session handle v1"),
        }
    }

    /// The public handle of session `sid`: what pages, JSON and request paths show for it
    /// (32 lowercase hex characters of a keyed hash), never the id itself, which its tokens
    /// carry and which ends it (review of issue 18). Stable, so it names one session.
    pub fn session_handle(&self, sid: &str) -> String {
        let mut mac = self.handles.clone();
        mac.update(sid.as_bytes());
        mac.finalize().into_bytes()[..16]
            .iter()
            .fold(String::with_capacity(32), |mut hex, b| {
                use std::fmt::Write as _;
                let _ = write!(hex, "{b:02x}");
                hex
            })
    }

    /// A new token.
    pub fn mint(&self) -> String {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut mac = self.mac.clone();
        mac.update(&nonce);
        let tag = mac.finalize().into_bytes();
        let mut token = URL_SAFE_NO_PAD.encode(nonce);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN]));
        token
    }

    /// Whether `token` is one [`mint`](Self::mint) made with this key (fixed format, tag
    /// compared in constant time).
    pub fn is_minted(&self, token: &str) -> bool {
        if token.len() != TOKEN_LEN {
            return false;
        }
        let Some((nonce, tag)) = token.split_once('.') else {
            return false;
        };
        let (Ok(nonce), Ok(tag)) = (URL_SAFE_NO_PAD.decode(nonce), URL_SAFE_NO_PAD.decode(tag))
        else {
            return false;
        };
        if nonce.len() != NONCE_LEN || tag.len() != TAG_LEN {
            return false;
        }
        let mut mac = self.mac.clone();
        mac.update(&nonce);
        mac.verify_truncated_left(&tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_handles_are_stable_keyed_and_not_the_id() {
        let key = FormTokens::from_secret(b"a-test-secret-that-is-at-least-32-bytes-long");
        let other = FormTokens::from_secret(b"another-test-secret-that-is-32-bytes-or-more");
        let sid = "0123456789abcdef0123456789abcdef";
        let handle = key.session_handle(sid);
        assert_eq!(handle.len(), 32);
        assert!(handle
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(key.session_handle(sid), handle);
        assert_ne!(handle, sid);
        assert_ne!(other.session_handle(sid), handle);
        assert_ne!(
            key.session_handle("0123456789abcdef0123456789abcdee"),
            handle
        );
    }

    #[test]
    fn minted_tokens_verify_and_anything_else_does_not() {
        let key = FormTokens::from_secret(b"a-test-secret-that-is-at-least-32-bytes-long");
        let token = key.mint();
        assert_eq!(token.len(), TOKEN_LEN);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
        assert!(key.is_minted(&token));
        assert_ne!(key.mint(), token, "each token is new");

        // Another secret's tokens, a changed byte, other formats: all refused.
        let other = FormTokens::from_secret(b"another-test-secret-that-is-32-bytes-or-more");
        assert!(!other.is_minted(&token));
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert!(!key.is_minted(&String::from_utf8(flipped).unwrap()));
        for bad in [
            "",
            "abc",
            "\"><script>alert(1)</script>",
            &format!("{:032x}", 7u128),
            &token[..TOKEN_LEN - 1],
            &format!("{token}A"),
            &token.replace('.', "A"),
        ] {
            assert!(!key.is_minted(bad), "{bad:?}");
        }
    }
}
