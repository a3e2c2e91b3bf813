//! JSON Web Tokens: HS256 only, with `sub`, `iat`, `exp`, `iss` required (jsonwebtoken >= 10.3:
//! CVE-2026-25537 let a mistyped `exp` pass unchecked before), refused before their `nbf` or
//! when issued in the future (RFC 8725), a per-user token version for revocation, and an
//! optional browser session id.

use std::sync::Arc;

use chrono::Utc;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::auth::form_token::FormTokens;
use crate::config::AppConfig;
use crate::db::UserId;

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A RealWorld API token (`Authorization: Token ...`).
    Api,
    /// A browser's short-lived access cookie.
    Access,
    /// A browser's refresh cookie: only ever used to mint a new access cookie.
    Refresh,
}

/// The claims of every token we issue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Issuer: `jwt_issuer` from config.
    pub iss: String,
    /// Unique token id.
    pub jti: String,
    /// The user's token version when issued; bumping it revokes every earlier token.
    pub ver: i64,
    /// What the token is for.
    pub kind: Kind,
    /// When the user last entered their password (seconds since the epoch): freshness.
    pub auth_time: i64,
    /// The browser session this token belongs to (revoked by logout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The session's CSRF token (double submit, as Flask-JWT-Extended does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    /// A "remember me" session (its refresh cookie outlives the browser session).
    #[serde(default)]
    pub remember: bool,
}

impl Claims {
    /// The user id in `sub`.
    pub fn user_id(&self) -> Option<UserId> {
        self.sub.parse().ok()
    }

    /// Whether the password was entered within the last `minutes`.
    pub fn is_fresh(&self, minutes: i64) -> bool {
        Utc::now().timestamp() - self.auth_time <= minutes * 60
    }
}

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Past its `exp`.
    Expired,
    /// Anything else: bad signature, algorithm, issuer, missing claims, garbage.
    Invalid,
}

/// The signing keys, made once from config.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    /// Tokens that verified, by their exact text (see [`Keys::decode`]).
    verified: Arc<Verified>,
    /// The key of the forms' CSRF tokens, derived from the same secret.
    forms: FormTokens,
}

/// Verified tokens and their claims, the most used kept when full.
type Verified = quick_cache::sync::Cache<Box<str>, Claims>;

/// How many verified tokens [`Keys`] remembers.
const VERIFIED_MAX: usize = 4096;

/// How far in the future a token's `iat` may be, in seconds: the clock skew allowed between
/// the instances that issue and check tokens. (`nbf` gets none: we never set it, so a token
/// that carries one was not made by us for use now.)
pub const CLOCK_SKEW_SECS: i64 = 60;

/// The longest token remembered (ours are a few hundred bytes); longer ones are verified on
/// every use, so the memory held stays small whatever clients send.
const VERIFIED_TOKEN_MAX: usize = 1024;

impl Keys {
    /// Keys for the configured secret and issuer.
    pub fn new(config: &AppConfig) -> Self {
        let secret = config.jwt_secret.expose_secret().as_bytes();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: config.jwt_issuer.clone(),
            verified: Arc::new(Verified::new(VERIFIED_MAX)),
            forms: FormTokens::new(config),
        }
    }

    /// The key that mints and checks form (CSRF) tokens.
    pub fn forms(&self) -> &FormTokens {
        &self.forms
    }

    /// Claims for `user_id` of `kind`, valid for `ttl_seconds` from now.
    pub fn claims(
        &self,
        user_id: UserId,
        ver: i64,
        kind: Kind,
        ttl_seconds: i64,
        auth_time: i64,
    ) -> Claims {
        let now = Utc::now().timestamp();
        Claims {
            sub: user_id.to_string(),
            iat: now,
            exp: now + ttl_seconds,
            iss: self.issuer.clone(),
            jti: random_id(),
            ver,
            kind,
            auth_time,
            sid: None,
            csrf: None,
            remember: false,
        }
    }

    /// Sign claims as an HS256 JWT.
    pub fn encode(&self, claims: &Claims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.encoding,
        )?)
    }

    /// Verify and decode a token: HS256 only, issuer checked, `exp`/`iat`/`sub`/`iss` required,
    /// `nbf` (when present) not in the future, `iat` at most [`CLOCK_SKEW_SECS`] ahead.
    ///
    /// A client sends the same token with every request, so a token that verified is
    /// remembered by its exact text, signature included: the next use skips the HMAC and the
    /// JSON parsing but not the expiry check (`nbf` and `iat`
    /// only grow more acceptable with time, so they need no re-check). Only a token
    /// that verified with these keys goes in, and any other text, a changed byte included,
    /// misses and is verified in full. Revocation is unaffected: it is checked against the
    /// database by the caller on every request, whatever this returns.
    pub fn decode(&self, token: &str) -> Result<Claims, TokenError> {
        if let Some(claims) = self.verified.get(token) {
            return if claims.exp < Utc::now().timestamp() {
                Err(TokenError::Expired)
            } else {
                Ok(claims)
            };
        }
        let claims = self.verify(token)?;
        if token.len() <= VERIFIED_TOKEN_MAX {
            self.verified.insert(token.into(), claims.clone());
        }
        Ok(claims)
    }

    /// The full check [`Keys::decode`] makes of a token it has not seen.
    fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
        validation.leeway = 0;
        validation.validate_exp = true;
        // A present `nbf` must be a number not after now (a mistyped one is refused too).
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                if *e.kind() == ErrorKind::ExpiredSignature {
                    TokenError::Expired
                } else {
                    TokenError::Invalid
                }
            })?;
        // jsonwebtoken does not look at `iat`: a token "issued" in the future was not issued by
        // a clock we trust.
        if claims.iat > Utc::now().timestamp() + CLOCK_SKEW_SECS {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
}

/// 128 random bits as 32 hex characters: session ids, token ids, CSRF tokens.
pub fn random_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use rocket::figment::{providers::Serialized, Figment};

    use super::*;

    fn keys() -> Keys {
        let figment = Figment::new().merge(Serialized::defaults(serde_json::json!({
            "jwt_secret": "a-test-secret-that-is-at-least-32-bytes-long"
        })));
        Keys::new(&AppConfig::from_figment(&figment).unwrap())
    }

    fn b64(v: &serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn round_trips_claims() {
        let keys = keys();
        let claims = keys.claims(UserId::new(7), 3, Kind::Api, 60, 0);
        let decoded = keys.decode(&keys.encode(&claims).unwrap()).unwrap();
        assert_eq!(decoded.user_id(), Some(UserId::new(7)));
        assert_eq!(decoded.ver, 3);
        assert_eq!(decoded.kind, Kind::Api);
    }

    #[test]
    fn sub_holds_the_user_id_as_text_as_it_always_did() {
        let keys = keys();
        let claims = serde_json::to_value(keys.claims(UserId::new(42), 0, Kind::Api, 60, 0));
        assert_eq!(claims.unwrap()["sub"], serde_json::json!("42"));
    }

    #[test]
    fn rejects_alg_none() {
        let keys = keys();
        let claims =
            serde_json::to_value(keys.claims(UserId::new(1), 0, Kind::Api, 60, 0)).unwrap();
        let token = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
            b64(&claims)
        );
        assert_eq!(keys.decode(&token).unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn rejects_other_algorithms_and_bad_signatures() {
        let keys = keys();
        let claims = keys.claims(UserId::new(1), 0, Kind::Api, 60, 0);
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(b"a-test-secret-that-is-at-least-32-bytes-long"),
        )
        .unwrap();
        assert_eq!(keys.decode(&hs512).unwrap_err(), TokenError::Invalid);
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"another-secret-another-secret-!!"),
        )
        .unwrap();
        assert_eq!(keys.decode(&forged).unwrap_err(), TokenError::Invalid);
        assert_eq!(keys.decode("garbage").unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn rejects_expired_wrong_issuer_and_mistyped_or_missing_exp() {
        let keys = keys();
        let mut claims = keys.claims(UserId::new(1), 0, Kind::Api, 60, 0);
        claims.exp = Utc::now().timestamp() - 10;
        assert_eq!(
            keys.decode(&keys.encode(&claims).unwrap()).unwrap_err(),
            TokenError::Expired
        );

        let mut claims = keys.claims(UserId::new(1), 0, Kind::Api, 60, 0);
        claims.iss = "someone-else".into();
        assert_eq!(
            keys.decode(&keys.encode(&claims).unwrap()).unwrap_err(),
            TokenError::Invalid
        );

        let secret = EncodingKey::from_secret(b"a-test-secret-that-is-at-least-32-bytes-long");
        let mut raw =
            serde_json::to_value(keys.claims(UserId::new(1), 0, Kind::Api, 60, 0)).unwrap();
        raw["exp"] = serde_json::json!("never");
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &raw, &secret).unwrap();
        assert_eq!(keys.decode(&token).unwrap_err(), TokenError::Invalid);
        raw.as_object_mut().unwrap().remove("exp");
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &raw, &secret).unwrap();
        assert_eq!(keys.decode(&token).unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn refuses_tokens_before_their_nbf_or_issued_in_the_future() {
        let keys = keys();
        let secret = EncodingKey::from_secret(b"a-test-secret-that-is-at-least-32-bytes-long");
        let base = serde_json::to_value(keys.claims(UserId::new(1), 0, Kind::Api, 600, 0)).unwrap();
        let with = |claim: &str, value: serde_json::Value| {
            let mut raw = base.clone();
            raw[claim] = value;
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &raw, &secret).unwrap()
        };
        let now = Utc::now().timestamp();
        for refused in [
            with("nbf", serde_json::json!(now + 120)),
            with("nbf", serde_json::json!("later")),
            with("iat", serde_json::json!(now + 3600)),
            with("iat", serde_json::json!(now + CLOCK_SKEW_SECS + 30)),
        ] {
            assert_eq!(keys.decode(&refused).unwrap_err(), TokenError::Invalid);
        }
        assert!(keys
            .decode(&with("nbf", serde_json::json!(now - 5)))
            .is_ok());
        assert!(
            keys.decode(&with("iat", serde_json::json!(now + 30)))
                .is_ok(),
            "within the skew"
        );
    }

    #[test]
    fn a_remembered_token_is_still_checked_for_expiry_and_only_its_exact_text_matches() {
        let keys = keys();
        let token = keys
            .encode(&keys.claims(UserId::new(7), 3, Kind::Api, 60, 0))
            .unwrap();
        assert_eq!(keys.decode(&token).unwrap().user_id(), Some(UserId::new(7)));
        assert_eq!(keys.verified.len(), 1);
        assert_eq!(
            keys.decode(&token).unwrap().user_id(),
            Some(UserId::new(7)),
            "from memory"
        );

        // A changed signature byte is a different text: verified in full, refused, not kept.
        let mut tampered = token.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(keys.decode(&tampered).unwrap_err(), TokenError::Invalid);
        assert_eq!(keys.verified.len(), 1);

        // Time passes: the remembered token expires like any other.
        let mut claims = keys.verified.get(token.as_str()).unwrap();
        claims.exp = Utc::now().timestamp() - 1;
        keys.verified.insert(token.as_str().into(), claims);
        assert_eq!(keys.decode(&token).unwrap_err(), TokenError::Expired);

        // Another server's keys (another secret) share nothing with these.
        let figment = Figment::new().merge(Serialized::defaults(serde_json::json!({
            "jwt_secret": "another-test-secret-that-is-32-bytes-or-more"
        })));
        let other = Keys::new(&AppConfig::from_figment(&figment).unwrap());
        assert_eq!(other.decode(&token).unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn the_memory_of_verified_tokens_stays_bounded() {
        let keys = keys();
        for user in 0..=i64::try_from(VERIFIED_MAX).unwrap() {
            keys.decode(
                &keys
                    .encode(&keys.claims(UserId::new(user), 0, Kind::Api, 60, 0))
                    .unwrap(),
            )
            .unwrap();
        }
        assert!(keys.verified.len() <= VERIFIED_MAX);
        let long = keys.claims(UserId::new(1), 0, Kind::Api, 60, 0);
        let long = Claims {
            jti: "x".repeat(VERIFIED_TOKEN_MAX),
            ..long
        };
        let long = keys.encode(&long).unwrap();
        assert!(keys.decode(&long).is_ok());
        assert!(
            keys.verified.get(long.as_str()).is_none(),
            "long tokens are not kept"
        );
    }
}
