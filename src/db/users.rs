//! Users: accounts, roles, the disabled flag and the token version.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::db_run;
use crate::db::db_transaction;
use crate::db::{now, DbPool, LastInsertId, UserId};

/// A row of `users`.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct User {
    /// Primary key.
    pub id: UserId,
    /// Unique (any letter case), shown in URLs.
    pub username: String,
    /// Unique (any letter case).
    pub email: String,
    /// argon2id PHC string. Never serialized.
    #[serde(skip)]
    pub password_hash: String,
    /// Free text, may be empty.
    pub bio: Option<String>,
    /// Avatar URL.
    pub image: Option<String>,
    /// What they may do.
    pub role: Role,
    /// Disabled users cannot log in; their tokens stop working.
    pub disabled: bool,
    /// Bumped to revoke every token issued before.
    pub token_version: i64,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When the email was confirmed through the link mailed to it (`None`: not yet).
    pub email_confirmed_at: Option<DateTime<Utc>>,
}

impl User {
    /// Whether this user administers the site.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// What an account may do: stored as the text `user` or `admin` (the `users.role` column, a
/// `TEXT`/`VARCHAR` with a `CHECK` on both engines), written the same way in JSON, forms and
/// templates.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, rocket::FromFormField,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An ordinary account.
    #[field(value = "user")]
    User,
    /// An administrator: the console and `/api/admin`.
    #[field(value = "admin")]
    Admin,
}

impl Role {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is neither `user` nor `admin`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be user or admin")]
pub struct UnknownRole;

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    /// `user` or `admin` (surrounding blanks ignored, letter case not).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "user" => Ok(Self::User),
            "admin" => Ok(Self::Admin),
            _ => Err(UnknownRole),
        }
    }
}

impl<DB: sqlx::Database> sqlx::Type<DB> for Role
where
    str: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as sqlx::Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for Role
where
    &'q str: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&'q str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for Role
where
    &'r str: sqlx::Decode<'r, DB>,
{
    fn decode(
        value: <DB as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
        text.parse()
            .map_err(|_| format!("unknown role {text:?} in the database").into())
    }
}

/// What a header token claims: that its user exists, is not disabled and is still at the
/// token's version, and, for a token of an API login, that its session is live (the rule the
/// auth guards apply to such tokens). A read made on the holder's behalf can check it in its
/// own statement (see [`token_claim_holds!`]) instead of a lookup of its own first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaim {
    /// The user the token names.
    pub user_id: UserId,
    /// The token version it was issued at.
    pub version: i64,
    /// The session the token belongs to (`None` for a token issued before sessions had one).
    pub session: Option<String>,
}

/// The SQL condition that a [`TokenClaim`] without a session holds; binds the user id, then
/// the version.
macro_rules! token_claim_holds {
    () => {
        "EXISTS (SELECT 1 FROM users tc WHERE tc.id = ? AND tc.disabled = FALSE AND tc.token_version = ?)"
    };
}
pub(crate) use token_claim_holds;

/// The SQL condition that a [`TokenClaim`] with a session holds; binds the user id, the
/// version, the session id, then the time now.
macro_rules! token_session_holds {
    () => {
        "EXISTS (SELECT 1 FROM users tc JOIN sessions ts ON ts.user_id = tc.id WHERE tc.id = ? \
         AND tc.disabled = FALSE AND tc.token_version = ? AND ts.id = ? AND ts.revoked_at IS NULL \
         AND ts.expires_at > ?)"
    };
}
pub(crate) use token_session_holds;

/// The columns of [`User`], as a literal so queries are `const` (no formatting per request).
macro_rules! user_columns {
    () => {
        "id, username, email, password_hash, bio, image, role, disabled, token_version, created_at, updated_at, email_confirmed_at"
    };
}

/// The user with this id.
pub async fn find_by_id(db: &DbPool, id: UserId) -> Result<Option<User>, sqlx::Error> {
    const SQL: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = ?");
    db_run!(db, |c| sqlx::query_as::<_, User>(SQL)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// The user with this email (any letter case).
pub async fn find_by_email(db: &DbPool, email: &str) -> Result<Option<User>, sqlx::Error> {
    const SQL: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE email = ?");
    db_run!(db, |c| sqlx::query_as::<_, User>(SQL)
        .bind(email)
        .fetch_optional(c)
        .await)
}

/// The user with this username (any letter case).
pub async fn find_by_username(db: &DbPool, username: &str) -> Result<Option<User>, sqlx::Error> {
    const SQL: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE username = ?");
    db_run!(db, |c| sqlx::query_as::<_, User>(SQL)
        .bind(username)
        .fetch_optional(c)
        .await)
}

/// A user found through one of their live sessions, with when that session was last seen.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionUser {
    /// The user.
    #[sqlx(flatten)]
    pub user: User,
    /// When the session was last seen (to the minute: `db::sessions::touch`).
    pub session_last_seen_at: Option<DateTime<Utc>>,
}

/// The user with this id if the session `sid` (a browser's or an API login's) is theirs and
/// live (not revoked, not expired): one indexed lookup, the session joined in.
pub async fn find_with_session(
    db: &DbPool,
    id: UserId,
    sid: &str,
) -> Result<Option<SessionUser>, sqlx::Error> {
    const SQL: &str = "SELECT u.id, u.username, u.email, u.password_hash, u.bio, u.image, u.role, u.disabled, \
                       u.token_version, u.created_at, u.updated_at, u.email_confirmed_at, s.last_seen_at AS session_last_seen_at \
                       FROM users u JOIN sessions s ON s.user_id = u.id \
                       WHERE u.id = ? AND s.id = ? AND s.revoked_at IS NULL AND s.expires_at > ?";
    db_run!(db, |c| sqlx::query_as::<_, SessionUser>(SQL)
        .bind(id)
        .bind(sid)
        .bind(now())
        .fetch_optional(c)
        .await)
}

/// What a new account needs.
pub struct NewUser<'a> {
    /// Chosen username.
    pub username: &'a str,
    /// Email address.
    pub email: &'a str,
    /// argon2id hash of the password.
    pub password_hash: &'a str,
    /// What the account may do.
    pub role: Role,
    /// The email counts as confirmed from the start (an account an operator made).
    pub confirmed: bool,
}

const INSERT: &str =
    "INSERT INTO users (username, email, password_hash, role, disabled, token_version, created_at, updated_at, email_confirmed_at) \
     VALUES (?, ?, ?, ?, FALSE, 0, ?, ?, ?)";

/// Create an account; returns its id. A taken email or username is a unique violation.
pub async fn insert(db: &DbPool, user: &NewUser<'_>) -> Result<UserId, sqlx::Error> {
    let at = now();
    db_transaction!(db, |c| sqlx::query(INSERT)
        .bind(user.username)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(user.role)
        .bind(at)
        .bind(at)
        .bind(user.confirmed.then_some(at))
        .execute(c)
        .await
        .map(|r| UserId::new(r.last_id())))
}

/// Create an account whose email is to be confirmed: in one transaction, the account, its
/// confirmation token (`token_hash`, live until `expires_at`) and `mail`, which carries it.
pub async fn insert_confirming(
    db: &DbPool,
    user: &NewUser<'_>,
    token_hash: &str,
    expires_at: DateTime<Utc>,
    mail: &crate::db::outbox::NewMail,
) -> Result<UserId, sqlx::Error> {
    const TOKEN: &str =
        "INSERT INTO account_tokens (token_hash, user_id, purpose, email, created_at, expires_at, user_version) \
                         SELECT ?, id, 'confirm', ?, ?, ?, token_version FROM users WHERE id = ?";
    let at = now();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let id = sqlx::query(INSERT)
            .bind(user.username)
            .bind(user.email)
            .bind(user.password_hash)
            .bind(user.role)
            .bind(at)
            .bind(at)
            .bind(user.confirmed.then_some(at))
            .execute(&mut *tx)
            .await
            .map(|r| UserId::new(r.last_id()))?;
        sqlx::query(TOKEN)
            .bind(token_hash)
            .bind(user.email)
            .bind(at)
            .bind(expires_at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        crate::db::outbox::insert_mail!(&mut *tx, mail, at)?;
        tx.commit().await?;
        Ok(id)
    })
}

/// Which of `email` / `username` already belong to someone other than `except_id`.
pub async fn taken(
    db: &DbPool,
    email: &str,
    username: &str,
    except_id: Option<UserId>,
) -> Result<(bool, bool), sqlx::Error> {
    const SQL: &str =
        "SELECT CASE WHEN email = ? THEN 1 ELSE 0 END, CASE WHEN username = ? THEN 1 ELSE 0 END \
                       FROM users WHERE (email = ? OR username = ?) AND id <> ?";
    let rows = db_run!(db, |c| sqlx::query_as::<_, (i64, i64)>(SQL)
        .bind(email)
        .bind(username)
        .bind(email)
        .bind(username)
        .bind(except_id.map_or(-1, UserId::get))
        .fetch_all(c)
        .await)?;
    Ok(rows.iter().fold((false, false), |(e, u), (re, ru)| {
        (e || *re != 0, u || *ru != 0)
    }))
}

/// Write the fields a user edits themselves (username, email, bio, image) and, with
/// `password_hash`, a new password, which also ends every token issued before it and, in the
/// same transaction, every session of theirs but `keep` (the one the change was made with,
/// re-issued by the caller; `None` ends all): a session whose tokens the new version refuses
/// must not stay listed as live. Only while the account is as `user` was read: still enabled,
/// at the same `token_version`. A disable, role change, password reset or other password
/// change that landed since (while a new password hashed, say) is never written over with the
/// old values: `Ok(false)`, nothing written. The role, the disabled flag and the version are
/// never written from `user`.
pub async fn update_own(
    db: &DbPool,
    user: &User,
    password_hash: Option<&str>,
    keep: Option<&str>,
) -> Result<bool, sqlx::Error> {
    const SQL: &str =
        "UPDATE users SET username = ?, email = ?, bio = ?, image = ?, updated_at = ?, \
                       password_hash = COALESCE(?, password_hash), \
                       token_version = token_version + CASE WHEN ? IS NULL THEN 0 ELSE 1 END \
                       WHERE id = ? AND token_version = ? AND disabled = FALSE";
    const SESSIONS: &str =
        "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL";
    let at = now();
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let written = sqlx::query(SQL)
            .bind(&user.username)
            .bind(&user.email)
            .bind(&user.bio)
            .bind(&user.image)
            .bind(at)
            .bind(password_hash)
            .bind(password_hash)
            .bind(user.id)
            .bind(user.token_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // MySQL counts matched rows here, not changed ones: sqlx connects with
        // `CLIENT_FOUND_ROWS`.
        if written != 1 {
            return Ok(false);
        }
        if password_hash.is_some() {
            sqlx::query(SESSIONS)
                .bind(at)
                .bind(user.id)
                .bind(keep.unwrap_or(""))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await.map(|()| true)
    })
}

/// Make an account an enabled admin (the `create-admin` command).
pub async fn make_admin(db: &DbPool, id: UserId) -> Result<(), sqlx::Error> {
    const SQL: &str =
        "UPDATE users SET role = 'admin', disabled = FALSE, updated_at = ? WHERE id = ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(now())
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Revoke every token of a user issued so far, and end their browser sessions.
pub async fn revoke_all_tokens(db: &DbPool, id: UserId) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE users SET token_version = token_version + 1 WHERE id = ?";
    db_transaction!(db, |c| sqlx::query(SQL)
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))?;
    crate::db::sessions::revoke_all(db, id).await
}

/// How many enabled admins there are.
pub async fn count_active_admins(db: &DbPool) -> Result<i64, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE";
    db_run!(db, |c| sqlx::query_scalar::<_, i64>(SQL).fetch_one(c).await)
}
