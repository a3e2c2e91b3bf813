//! MySQL server-level operations: a session with no database selected, for what comes before
//! the database exists (`conduit restore` on a fresh server) and for checking a server's TLS
//! before a backup tool connects to it. The session uses the URL's host, user, password and
//! TLS settings ([`MySqlUrl::server_options`]).

use sqlx::mysql::{MySqlConnection, MySqlDatabaseError};
use sqlx::{ConnectOptions, Connection};

use super::url::MySqlUrl;

/// What [`ensure_database`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// The database was there already.
    Existed,
    /// It was missing and has been created (utf8mb4, `utf8mb4_unicode_ci`).
    Created,
}

/// Why the database could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// No session on the server (unreachable, refused credentials, TLS refused).
    #[error("connecting to the MySQL server: {0}")]
    Connect(sqlx::Error),
    /// The database is missing and this user may not create it: what to run, as whom.
    #[error(
        "the database {database} does not exist and {account} may not create it: have an administrator run \
         CREATE DATABASE {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; \
         GRANT ALL PRIVILEGES ON {database}.* TO {account}; then run the restore again"
    )]
    MayNotCreate {
        /// The database the URL names, quoted as an identifier.
        database: String,
        /// The account as the server knows it (`'user'@'host'`).
        account: String,
    },
    /// Any other database error.
    #[error("{0}")]
    Sqlx(#[from] sqlx::Error),
}

/// A MySQL identifier in backquotes (a backquote inside doubled).
fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A MySQL string literal: quotes doubled, backslashes escaped (the hint is pasted into a
/// client as it stands).
fn quote_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// `'user'@'host'` from `CURRENT_USER()`'s `user@host`.
fn account_of(current_user: &str, fallback_user: &str) -> String {
    let (user, host) = current_user
        .rsplit_once('@')
        .unwrap_or((fallback_user, "%"));
    format!("{}@{}", quote_string(user), quote_string(host))
}

async fn server_session(url: &MySqlUrl) -> Result<MySqlConnection, ServerError> {
    // A command (`conduit restore`) may open this before any pool: name the TLS provider first.
    crate::tls::install_crypto_provider();
    url.server_options()
        .charset("utf8mb4")
        .connect()
        .await
        .map_err(ServerError::Connect)
}

/// Make sure the URL's database exists: create it when missing and the user may (`CREATE
/// DATABASE IF NOT EXISTS`), else [`ServerError::MayNotCreate`] saying what to create.
pub async fn ensure_database(url: &MySqlUrl) -> Result<Database, ServerError> {
    let database = url.database();
    let mut conn = server_session(url).await?;
    let result = async {
        // Lists only the databases this user has some right on: one it cannot see is one
        // it could not restore into anyway.
        let seen: Option<String> = sqlx::query_scalar(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        )
        .bind(database)
        .fetch_optional(&mut conn)
        .await?;
        if seen.is_some() {
            return Ok(Database::Existed);
        }
        let create = format!(
            "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            quote_identifier(database)
        );
        match sqlx::query(&create).execute(&mut conn).await {
            Ok(_) => Ok(Database::Created),
            Err(sqlx::Error::Database(e))
                // 1044: access denied to the database; 1227: lacks a privilege.
                if e
                    .try_downcast_ref::<MySqlDatabaseError>()
                    .is_some_and(|e| matches!(e.number(), 1044 | 1227)) =>
            {
                let current: String = sqlx::query_scalar("SELECT CURRENT_USER()")
                    .fetch_one(&mut conn)
                    .await?;
                Err(ServerError::MayNotCreate {
                    database: quote_identifier(database),
                    account: account_of(&current, url.user()),
                })
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    let _ = conn.close().await;
    result
}

/// Open and close one session as the URL says (its TLS mode included): for `ssl-mode=REQUIRED`
/// this is what refuses a server without TLS, which the MariaDB tools cannot do themselves.
pub async fn check_connect(url: &MySqlUrl) -> Result<(), ServerError> {
    let conn = server_session(url).await?;
    conn.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_accounts_are_quoted() {
        assert_eq!(quote_identifier("conduit"), "`conduit`");
        assert_eq!(quote_identifier("a`b"), "`a``b`");
        assert_eq!(account_of("app@%", "x"), "'app'@'%'");
        assert_eq!(account_of("o'neil@10.0.0.1", "x"), "'o''neil'@'10.0.0.1'");
        assert_eq!(account_of("", "app"), "'app'@'%'");
        assert_eq!(
            account_of("a\\'b@h", "x"),
            "'a\\\\''b'@'h'",
            "a backslash cannot end the literal"
        );
    }
}
