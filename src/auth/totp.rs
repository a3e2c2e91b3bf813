//! The pieces of two-factor sign-in that need no database: TOTP codes (RFC 6238 through
//! `totp-rs`: SHA-1, 6 digits, 30-second steps, one step of skew either way), the secret
//! sealed for storage, the QR code of the `otpauth://` URI (an inline SVG drawn by `qrcode`),
//! and the one-time recovery codes.
//!
//! The secret is stored sealed with XChaCha20-Poly1305 under a key derived from `jwt_secret`
//! (HMAC-SHA256 with a label of its own), with the user id as associated data: a database
//! backup alone does not give the secrets out, and a sealed secret copied to another account
//! does not open there. Changing `jwt_secret` therefore makes every enrolled secret unreadable:
//! those accounts cannot pass the second step until an administrator resets their two-factor
//! sign-in (README, "Two-factor sign-in").

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use crate::config::AppConfig;
use crate::db::UserId;

/// Digits in a code.
pub const DIGITS: usize = 6;
/// Seconds per time step.
pub const STEP: u64 = 30;
/// Steps of clock skew accepted either way.
pub const SKEW: u8 = 1;
/// The issuer authenticator apps show beside the account.
pub const ISSUER: &str = "Conduit";
/// Bytes of a new secret (160 bits, RFC 4226's recommendation for HMAC-SHA-1).
const SECRET_BYTES: usize = 20;
/// How many recovery codes an account gets.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (without its dashes): 16 from a 32-letter alphabet, 80 bits.
const RECOVERY_LEN: usize = 16;
/// The recovery codes' alphabet: lower-case letters and digits without `0 1 l o`, which read
/// alike.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
/// The label of the sealing key's derivation (a new label, a new key).
const SEAL_LABEL: &[u8] = b"conduit/totp-secret/v1";
/// The stored form's prefix.
const SEALED_PREFIX: &str = "v1:";

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    use rand::RngCore as _;
    let mut bytes = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// The generator for `secret`, labelled with `account` (the user's email) for the URI.
pub fn generator(secret: Vec<u8>, account: &str) -> TOTP {
    // `new` refuses a `:` in the label (the URI's separator); no email has one, but the
    // label is only a label: fall back to none rather than fail.
    let label = account.replace(':', "");
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        SKEW,
        STEP,
        secret,
        Some(ISSUER.to_owned()),
        label,
    )
}

/// The time step of `unix_seconds`.
pub fn step_of(unix_seconds: u64) -> i64 {
    i64::try_from(unix_seconds / STEP).unwrap_or(i64::MAX)
}

/// The time step `code` is right for, within the skew of `unix_seconds`, among the steps after
/// `after` (a step whose code was accepted already is never accepted again). The earliest
/// such step, so a later code still works once this one is used.
pub fn matching_step(totp: &TOTP, code: &str, unix_seconds: u64, after: i64) -> Option<i64> {
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(unix_seconds);
    let mut found = None;
    for step in (now - i64::from(SKEW))..=(now + i64::from(SKEW)) {
        if step <= after || step < 0 {
            continue;
        }
        let Ok(at) = u64::try_from(step) else {
            continue;
        };
        let expected = totp.generate(at * STEP);
        // Every candidate is compared, in constant time, whatever matched before.
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The sealing key, derived from `jwt_secret`.
fn seal_key(config: &AppConfig) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(config.jwt_secret.expose_secret().as_bytes())
            .expect("HMAC takes a key of any length");
    mac.update(SEAL_LABEL);
    mac.finalize().into_bytes().into()
}

fn cipher(config: &AppConfig) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&seal_key(config).into())
}

/// `secret` sealed for `user`'s row: `v1:` and the base64 of a random nonce and the ciphertext.
pub fn seal(config: &AppConfig, user: UserId, secret: &[u8]) -> anyhow::Result<String> {
    use base64::Engine as _;
    let nonce: [u8; 24] = rand::random();
    let aad = user.to_string();
    let sealed = cipher(config)
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: secret,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| anyhow::anyhow!("sealing a TOTP secret failed"))?;
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&sealed);
    Ok(format!(
        "{SEALED_PREFIX}{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
    ))
}

/// The secret in `stored`, if it was sealed for `user` under the current key.
pub fn open(config: &AppConfig, user: UserId, stored: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let encoded = stored.strip_prefix(SEALED_PREFIX)?;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(encoded)
        .ok()?;
    if bytes.len() < 24 {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(24);
    let nonce: [u8; 24] = nonce.try_into().ok()?;
    let aad = user.to_string();
    cipher(config)
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: sealed,
                aad: aad.as_bytes(),
            },
        )
        .ok()
}

/// The QR code of `uri` as an inline SVG with an accessible name (`role="img"`, `aria-label`),
/// dark modules on a light ground whatever the page's theme.
pub fn qr_svg(uri: &str) -> anyhow::Result<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)?;
    let drawn = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Drop the XML declaration (not allowed inside HTML) and name the image.
    let start = drawn
        .find("<svg")
        .ok_or_else(|| anyhow::anyhow!("the QR renderer drew no <svg>"))?;
    Ok(drawn[start..].replacen(
        "<svg",
        "<svg role=\"img\" aria-label=\"QR code of your two-factor key for an authenticator app\" class=\"totp-qr\"",
        1,
    ))
}

/// New recovery codes, as shown to the user (`xxxx-xxxx-xxxx-xxxx`).
pub fn new_recovery_codes() -> Vec<String> {
    use rand::Rng as _;
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = (0..RECOVERY_LEN)
                .map(|_| char::from(RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())]))
                .collect();
            raw.as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// What the user typed in the code field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given {
    /// A 6-digit code from the app (spaces removed).
    Code(String),
    /// A recovery code, normalised (lower case, no dashes or spaces).
    Recovery(String),
    /// Neither.
    Garbage,
}

/// Longest input looked at (anything longer is [`Given::Garbage`] unread).
const GIVEN_MAX: usize = 64;

/// Read the code field: a TOTP code or a recovery code, however spaced or cased.
pub fn parse_given(input: &str) -> Given {
    if input.len() > GIVEN_MAX {
        return Given::Garbage;
    }
    let cleaned: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if cleaned.len() == DIGITS && cleaned.bytes().all(|b| b.is_ascii_digit()) {
        Given::Code(cleaned)
    } else if cleaned.len() == RECOVERY_LEN
        && cleaned.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))
    {
        Given::Recovery(cleaned)
    } else {
        Given::Garbage
    }
}

/// The stored hash of a recovery code (shown or normalised form alike).
pub fn recovery_hash(code: &str) -> String {
    let normalised = match parse_given(code) {
        Given::Recovery(n) => n,
        _ => code.to_owned(),
    };
    crate::auth::mailed::token_hash(&normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(secret: &str) -> AppConfig {
        let figment = rocket::figment::Figment::new().merge(("jwt_secret", secret));
        AppConfig::from_figment(&figment).expect("config")
    }

    fn config() -> AppConfig {
        config_with("a-test-secret-that-is-long-enough-0123456789")
    }

    #[test]
    fn rfc_6238_sha1_vectors_at_six_digits() {
        // RFC 6238, appendix B: the SHA-1 seed, last six digits of the eight-digit values.
        let totp = generator(b"12345678901234567890".to_vec(), "t@example.com");
        assert_eq!(totp.generate(59), "287082");
        assert_eq!(totp.generate(1_111_111_109), "081804");
        assert_eq!(totp.generate(1_234_567_890), "005924");
        assert_eq!(totp.generate(2_000_000_000), "279037");
    }

    #[test]
    fn codes_match_within_one_step_and_only_after_the_last_used() {
        let totp = generator(new_secret(), "t@example.com");
        let now = 1_800_000_000;
        let step = step_of(now);
        let code = totp.generate(now);
        assert_eq!(matching_step(&totp, &code, now, -1), Some(step));
        assert_eq!(matching_step(&totp, &code, now + STEP, -1), Some(step));
        assert_eq!(matching_step(&totp, &code, now - STEP, -1), Some(step));
        assert_eq!(matching_step(&totp, &code, now + 2 * STEP, -1), None);
        // Used already: refused, even inside its window.
        assert_eq!(matching_step(&totp, &code, now, step), None);
        assert_eq!(matching_step(&totp, "12345", now, -1), None);
        assert_eq!(matching_step(&totp, "abcdef", now, -1), None);
    }

    #[test]
    fn sealed_secrets_open_only_for_their_user_and_key() {
        let config = config();
        let secret = new_secret();
        let sealed = seal(&config, UserId::new(7), &secret).unwrap();
        assert!(sealed.starts_with("v1:"));
        assert_ne!(
            seal(&config, UserId::new(7), &secret).unwrap(),
            sealed,
            "random nonce"
        );
        assert_eq!(open(&config, UserId::new(7), &sealed), Some(secret));
        assert_eq!(open(&config, UserId::new(8), &sealed), None);
        let other = config_with("another-secret-that-is-long-enough-9876543210");
        assert_eq!(open(&other, UserId::new(7), &sealed), None);
        assert_eq!(open(&config, UserId::new(7), "v1:garbage"), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_read_back_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 19, "{code}");
        let Given::Recovery(n) = parse_given(&format!(" {} ", code.to_uppercase())) else {
            panic!("{code}");
        };
        assert_eq!(recovery_hash(code), crate::auth::mailed::token_hash(&n));
        assert_eq!(parse_given("123 456"), Given::Code("123456".into()));
        assert_eq!(parse_given("12345"), Given::Garbage);
        assert_eq!(parse_given(&"a".repeat(100)), Given::Garbage);
    }

    #[test]
    fn the_qr_code_is_a_named_svg_image() {
        let svg = qr_svg("otpauth://totp/Conduit:a%40b.c?secret=ABC&issuer=Conduit").unwrap();
        assert!(
            svg.starts_with("<svg role=\"img\" aria-label="),
            "{}",
            &svg[..80]
        );
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
    }
}
