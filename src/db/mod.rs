//! The database layer: the pool and every SQL statement the application runs. One function
//! per operation; each query text is written once and runs on SQLite and on MySQL.
//!
//! The only module that may call `sqlx::query*` (`clippy.toml` forbids it everywhere else).
#![allow(clippy::disallowed_methods)]

pub mod access_tokens;
pub mod account_tokens;
pub mod admin;
pub mod articles;
pub mod audit;
pub mod comments;
pub mod conn_pool;
mod explain;
pub mod ids;
pub mod login_attempts;
pub mod manager;
pub mod migration_lock;
pub mod outbox;
pub mod pool;
pub mod profiles;
pub mod retry;
pub mod search;
pub mod server;
pub mod session;
pub mod sessions;
pub mod sitemap;
pub mod tags;
pub mod throttle;
pub mod totp;
pub mod url;
pub mod users;
pub mod wal;

use chrono::{DateTime, SubsecRound, Utc};
use rocket_db_pools::Database;

pub use ids::{
    AccessTokenId, ArticleId, AuditId, CodeCheckId, CommentId, LoginAttemptId, MailId,
    ResetRequestId, SignUpAttemptId, TagId, UserId,
};
/// `db_run!` and `db_transaction!`: crate-local macros (`pool.rs`, `retry.rs`), used by path.
pub(crate) use pool::db_run;
pub use pool::{DbPool, Engine, LastInsertId};
pub(crate) use retry::db_transaction;

/// The managed database: `databases.main` in the config.
#[derive(Database)]
#[database("main")]
pub struct Db(DbPool);

/// The request guard handlers take: a cheap handle on the pool.
pub type Conn = rocket_db_pools::Connection<Db>;

/// The current time, cut to milliseconds so both engines store and return the same value.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// Escape `%`, `_` and the escape character itself for `LIKE ... ESCAPE '!'`. `!` rather than a
/// backslash because the two engines read backslashes in string literals differently.
pub fn escape_like(s: &str) -> String {
    s.replace('!', "!!").replace('%', "!%").replace('_', "!_")
}
