//! Personal access tokens (issue 19): long-lived credentials for scripts, with scopes.
//!
//! A secret is `cdt_` + 40 base62 characters (about 238 random bits) + a 6-character base62
//! CRC-32 of those 40, as GitHub's tokens carry one: a secret scanner can recognise a leaked
//! token offline, and a mistyped one is refused before any lookup. Only the SHA-256 of the
//! secret is stored (a fast hash is right for a high-entropy secret; nothing to brute-force),
//! and a presented token is found by a lookup on that hash.
//!
//! Scopes ([`Scope`]): `read` (GET and HEAD under `/api`), `write` (also the RealWorld writes
//! and the owner's own settings; it includes `read`), `admin` (`/api/admin`, only for
//! administrators). Whatever its scopes, a token never manages tokens, never changes its
//! owner's email or password, works only under `/api` and is never a "fresh login" (the admin
//! console's destructive actions need one): [`refusal`] decides per request, the guards apply
//! it.
//!
//! Creating and revoking a token write an audit entry (`token.create`, `token.revoke`) in the
//! same transaction.

use chrono::{DateTime, Duration, Utc};
use rocket::http::Method;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::access_tokens::{self, NewToken, TokenRow};
use crate::db::audit::AuditEntry;
use crate::db::users::User;
use crate::db::{self, AccessTokenId, DbPool, UserId};
use crate::error::{AppError, FieldErrors};
use crate::input::{self, Max};

/// What every secret starts with.
pub const PREFIX: &str = "cdt_";
/// Random base62 characters in a secret.
const BODY_LEN: usize = 40;
/// Base62 characters of the checksum.
const CHECKSUM_LEN: usize = 6;
/// The length of a whole secret.
pub const SECRET_LEN: usize = PREFIX.len() + BODY_LEN + CHECKSUM_LEN;
/// Longest token name, in characters (`access_tokens.name VARCHAR(100)`).
pub const NAME_MAX: usize = 100;
/// Most tokens one account may hold.
pub const PER_USER_MAX: i64 = 50;
/// The lifetimes a token may be given, in days (`None` in [`Expiry`]: never expires).
pub const EXPIRY_DAYS: [i64; 3] = [30, 90, 365];
/// How often a token's last use is written at most.
pub const TOUCH_EVERY: Duration = Duration::minutes(1);

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Reads under `/api` (GET, HEAD).
    Read,
    /// Reads and writes under `/api` (the RealWorld writes, the owner's settings).
    Write,
    /// `/api/admin` (administrators only).
    Admin,
}

impl Scope {
    /// Every scope, in display order.
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    /// The name as written in JSON, forms and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// The scope named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    fn bit(scope: Scope) -> u8 {
        match scope {
            Scope::Read => 1,
            Scope::Write => 2,
            Scope::Admin => 4,
        }
    }

    /// Add `scope`.
    pub fn insert(&mut self, scope: Scope) {
        self.0 |= Self::bit(scope);
    }

    /// Whether `scope` was given.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & Self::bit(scope) != 0
    }

    /// Whether none was given.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes given, in display order.
    pub fn list(self) -> Vec<Scope> {
        Scope::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .collect()
    }

    /// As stored: names separated by single spaces.
    pub fn to_stored(self) -> String {
        self.list()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// From the stored text (unknown names, which no code writes, are ignored).
    pub fn from_stored(text: &str) -> Self {
        let mut scopes = Self::default();
        for scope in text.split(' ').filter_map(Scope::parse) {
            scopes.insert(scope);
        }
        scopes
    }

    /// Whether a request needing `needed` may go ahead (`write` includes `read`).
    pub fn allows(self, needed: Scope) -> bool {
        self.contains(needed) || (needed == Scope::Read && self.contains(Scope::Write))
    }
}

/// What a request authenticated by a personal access token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The token's id.
    pub id: AccessTokenId,
    /// Its scopes.
    pub scopes: Scopes,
}

/// The paths a token may never use, whatever its scopes: token management.
const TOKENS_PATH: [&str; 3] = ["api", "user", "tokens"];

/// The paths of the account's sessions, which a token may never use either.
const SESSIONS_PATH: [&str; 3] = ["api", "user", "sessions"];

/// Why a request authenticated by a token with `scopes` is refused (403), if it is:
/// `segments` are its decoded path segments.
pub fn refusal<'a>(
    scopes: Scopes,
    method: Method,
    segments: impl IntoIterator<Item = &'a str>,
) -> Option<&'static str> {
    let segments: Vec<&str> = segments.into_iter().take(5).collect();
    if segments.first() != Some(&"api") {
        return Some("personal access tokens work only with the JSON API under /api");
    }
    // `/api/user/tokens...`, and the console's `/api/admin/users/<id>/tokens...`.
    let admin_tokens =
        segments.len() >= 5 && segments[1..3] == ["admin", "users"] && segments[4] == "tokens";
    if (segments.len() >= 3 && segments[..3] == TOKENS_PATH) || admin_tokens {
        return Some("a personal access token cannot list, create or revoke tokens: sign in");
    }
    // Sessions are sign-ins: a token is none, and may not see or end them.
    if segments.len() >= 3 && segments[..3] == SESSIONS_PATH {
        return Some("a personal access token cannot list or end sessions: sign in");
    }
    let needed = if segments.get(1) == Some(&"admin") {
        Scope::Admin
    } else if matches!(method, Method::Get | Method::Head | Method::Options) {
        Scope::Read
    } else {
        Scope::Write
    };
    if scopes.allows(needed) {
        None
    } else {
        Some(match needed {
            Scope::Read => "this token lacks the `read` scope",
            Scope::Write => "this token lacks the `write` scope",
            Scope::Admin => "this token lacks the `admin` scope",
        })
    }
}

/// Refuse (403) `changes` to `user`'s account made with a personal access token that touch
/// what a token never changes: the email or the password. (Re-sending the current email is no
/// change.)
pub fn may_change(user: &User, changes: &crate::auth::account::Changes) -> Result<(), AppError> {
    let password = changes.password.as_deref().is_some_and(|p| !p.is_empty());
    let email = changes
        .email
        .as_deref()
        .is_some_and(|e| e.trim() != user.email);
    if password || email {
        Err(AppError::Forbidden(
            "a personal access token cannot change the account's email or password: sign in",
        ))
    } else {
        Ok(())
    }
}

/// Whether `value` looks like a personal access token (by its prefix): such a value in
/// `Authorization` is never read as a JWT.
pub fn is_token(value: &str) -> bool {
    value.starts_with(PREFIX)
}

fn checksum(body: &str) -> String {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(body.as_bytes());
    let mut n = u64::from(crc);
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[usize::try_from(n % 62).unwrap_or(0)];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A new secret: prefix, random body, checksum.
pub fn generate() -> String {
    use rand::Rng as _;
    let mut rng = rand::rngs::OsRng;
    let body: String = (0..BODY_LEN)
        .map(|_| char::from(BASE62[rng.gen_range(0..BASE62.len())]))
        .collect();
    format!("{PREFIX}{body}{}", checksum(&body))
}

/// Whether `secret` is well formed: the prefix, the length, base62 only, and a checksum that
/// matches its body. A token that fails this is refused without a lookup.
pub fn well_formed(secret: &str) -> bool {
    let Some(rest) = secret.strip_prefix(PREFIX) else {
        return false;
    };
    if rest.len() != BODY_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (body, sum) = rest.split_at(BODY_LEN);
    checksum(body) == sum
}

/// The stored form of a secret: its SHA-256, in lower-case hex.
pub fn hash(secret: &str) -> String {
    use std::fmt::Write as _;
    Sha256::digest(secret.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// The tokens this instance has seen work lately, by the first half of their hash, with their
/// owner's id: what the API's rate limits key a token's own budget on (and charge its owner's
/// beside it). A token not (yet) seen here spends from its client address's budget, so made-up
/// tokens with a valid checksum (the checksum is public) cannot each open a fresh budget.
/// Bounded: the least used are forgotten first.
pub struct VerifiedTokens(quick_cache::sync::Cache<[u8; 16], UserId>);

impl VerifiedTokens {
    /// How many tokens are remembered.
    const CAPACITY: usize = 10_000;

    /// An empty set.
    pub fn new() -> Self {
        Self(quick_cache::sync::Cache::new(Self::CAPACITY))
    }

    /// The key of a token's hash ([`hash`]).
    pub fn key(hash: &str) -> [u8; 16] {
        let mut key = [0u8; 16];
        key.copy_from_slice(&hash.as_bytes()[..16]);
        key
    }

    /// Remember that the token with this hash, `owner`'s, worked.
    pub fn note(&self, hash: &str, owner: UserId) {
        self.0.insert(Self::key(hash), owner);
    }

    /// The owner of the token with this key, if it worked lately.
    pub fn owner(&self, key: &[u8; 16]) -> Option<UserId> {
        self.0.get(key)
    }
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self::new()
    }
}

/// How long a new token lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// This many days (one of [`EXPIRY_DAYS`]).
    Days(i64),
    /// Until revoked.
    Never,
}

impl Expiry {
    /// The expiry for a form's or a request's value: `30`, `90`, `365`, or `never`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "never" => Some(Self::Never),
            days => days
                .parse::<i64>()
                .ok()
                .filter(|d| EXPIRY_DAYS.contains(d))
                .map(Self::Days),
        }
    }

    fn at(self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Days(days) => Some(from + Duration::days(days)),
            Self::Never => None,
        }
    }
}

/// Who is acting and from where, for the audit log.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The acting user (the owner, or an administrator).
    pub actor_id: UserId,
    /// Their username.
    pub actor_name: String,
    /// The client address.
    pub ip: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
}

impl Origin {
    fn entry(
        &self,
        action: &str,
        id: String,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> AuditEntry {
        AuditEntry {
            actor_id: self.actor_id,
            actor_name: self.actor_name.clone(),
            action: format!("token.{action}"),
            entity: "token".into(),
            entity_id: id,
            before,
            after,
            ip: self.ip.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// A token as the audit log records it (never its secret or hash).
fn snapshot(
    owner: UserId,
    name: &str,
    scopes: &str,
    expires_at: Option<DateTime<Utc>>,
) -> serde_json::Value {
    serde_json::json!({ "user_id": owner, "name": name, "scopes": scopes, "expires_at": expires_at })
}

/// What a new token is to be.
#[derive(Debug, Clone)]
pub struct Request {
    /// Its label.
    pub name: String,
    /// Scope names as sent.
    pub scopes: Vec<String>,
    /// `None`: the field was not sent or not understood (a 422).
    pub expiry: Option<Expiry>,
}

/// Check a token request for `owner`: the name, the scopes (known, at least one; `admin` only
/// for administrators: 403), the expiry.
pub fn check(owner: &User, request: &Request) -> Result<(String, Scopes, Expiry), AppError> {
    let mut errors = FieldErrors::new();
    let name = request.name.trim();
    input::required(&mut errors, "name", name, Max::Chars(NAME_MAX));
    let mut scopes = Scopes::default();
    for scope in &request.scopes {
        match Scope::parse(scope.trim()) {
            Some(scope) => scopes.insert(scope),
            None => errors.add("scopes", "must be read, write or admin"),
        }
    }
    if request.scopes.is_empty() {
        errors.add("scopes", "can't be blank");
    }
    if request.expiry.is_none() {
        errors.add("expiresInDays", "must be 30, 90, 365 or null (never)");
    }
    errors.into_result()?;
    if scopes.contains(Scope::Admin) && !owner.is_admin() {
        return Err(AppError::Forbidden(
            "only administrators may create tokens with the admin scope",
        ));
    }
    Ok((
        name.to_owned(),
        scopes,
        request.expiry.unwrap_or(Expiry::Never),
    ))
}

/// Create a token for `owner` (checked with [`check`]): the stored row and the secret, which is
/// shown once and never again.
pub async fn create(
    db: &DbPool,
    owner: &User,
    origin: &Origin,
    request: &Request,
) -> Result<(TokenRow, String), AppError> {
    let (name, scopes, expiry) = check(owner, request)?;
    let full = || {
        AppError::Invalid(FieldErrors::one(
            "base",
            format!("you have {PER_USER_MAX} tokens already: revoke one first"),
        ))
    };
    if access_tokens::count_for_user(db, owner.id).await? >= PER_USER_MAX {
        return Err(full());
    }
    let secret = generate();
    let created_at = db::now();
    let expires_at = expiry.at(created_at);
    let stored = scopes.to_stored();
    let hashed = hash(&secret);
    let new = NewToken {
        user_id: owner.id,
        name: &name,
        token_hash: &hashed,
        scopes: &stored,
        created_at,
        expires_at,
        user_version: owner.token_version,
        max_per_user: PER_USER_MAX,
    };
    let audit = origin.entry(
        "create",
        String::new(),
        None,
        Some(snapshot(owner.id, &name, &stored, expires_at)),
    );
    let Some(id) = access_tokens::insert(db, &new, &audit).await? else {
        // Another creation took the last place, or the owner's sessions ended meanwhile.
        return match db::users::find_by_id(db, owner.id).await? {
            Some(now) if now.token_version == owner.token_version => Err(full()),
            _ => Err(AppError::Unauthorized(
                "your sessions were ended: log in again".to_owned(),
            )),
        };
    };
    let row = TokenRow {
        id,
        user_id: owner.id,
        name,
        scopes: stored,
        created_at,
        expires_at,
        last_used_at: None,
        last_used_ip: None,
    };
    Ok((row, secret))
}

/// Revoke token `id` of `owner_id` (404 when there is none, e.g. revoked already).
pub async fn revoke(
    db: &DbPool,
    owner_id: UserId,
    id: AccessTokenId,
    origin: &Origin,
) -> Result<(), AppError> {
    let Some(row) = access_tokens::find(db, owner_id, id).await? else {
        return Err(AppError::NotFound("token"));
    };
    let audit = origin.entry(
        "revoke",
        id.to_string(),
        Some(snapshot(owner_id, &row.name, &row.scopes, row.expires_at)),
        None,
    );
    if access_tokens::delete(db, owner_id, id, &audit).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_well_formed_and_a_changed_character_is_caught() {
        let secret = generate();
        assert_eq!(secret.len(), SECRET_LEN);
        assert!(well_formed(&secret), "{secret}");
        assert_ne!(secret, generate());
        let mut bytes = secret.clone().into_bytes();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        assert!(!well_formed(&String::from_utf8(bytes).unwrap()));
        assert!(!well_formed(&secret[..SECRET_LEN - 1]));
        assert!(!well_formed(&secret.replace(PREFIX, "cdx_")));
        assert!(!well_formed("cdt_"));
    }

    #[test]
    fn the_hash_is_sha256_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn scopes_decide_by_method_and_path() {
        let read = Scopes::from_stored("read");
        let write = Scopes::from_stored("write");
        let admin = Scopes::from_stored("admin");
        let seg = |p: &'static str| p.split('/').filter(|s| !s.is_empty());
        assert_eq!(refusal(read, Method::Get, seg("/api/articles")), None);
        assert!(refusal(read, Method::Post, seg("/api/articles"))
            .unwrap()
            .contains("`write`"));
        assert_eq!(refusal(write, Method::Get, seg("/api/articles")), None);
        assert_eq!(refusal(write, Method::Delete, seg("/api/articles/x")), None);
        assert!(refusal(write, Method::Get, seg("/api/admin/users"))
            .unwrap()
            .contains("`admin`"));
        assert_eq!(
            refusal(admin, Method::Delete, seg("/api/admin/users/1")),
            None
        );
        assert!(refusal(admin, Method::Get, seg("/api/articles")).is_some());
        assert!(refusal(write, Method::Get, seg("/api/user/tokens")).is_some());
        assert!(refusal(write, Method::Delete, seg("/api/user/tokens/3")).is_some());
        assert!(refusal(write, Method::Get, seg("/settings")).is_some());
        assert!(refusal(admin, Method::Get, seg("/api/admin/users/1/tokens")).is_some());
        assert!(refusal(admin, Method::Delete, seg("/api/admin/users/1/tokens/2")).is_some());
        assert_eq!(refusal(admin, Method::Get, seg("/api/admin/users/1")), None);
        assert_eq!(Scopes::from_stored("read write").to_stored(), "read write");
    }

    #[test]
    fn expiries_are_the_offered_ones() {
        assert_eq!(Expiry::parse("30"), Some(Expiry::Days(30)));
        assert_eq!(Expiry::parse("never"), Some(Expiry::Never));
        assert_eq!(Expiry::parse("31"), None);
        assert_eq!(Expiry::parse("-1"), None);
    }
}
