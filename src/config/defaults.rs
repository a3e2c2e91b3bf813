//! The defaults of the keys `Rocket.toml` and the environment may leave out.

use std::path::PathBuf;

pub(super) fn jwt_issuer() -> String {
    "conduit".into()
}
pub(super) fn access_token_minutes() -> i64 {
    15
}
pub(super) fn api_token_minutes() -> i64 {
    60 * 24
}
pub(super) fn remember_days() -> i64 {
    30
}
pub(super) fn session_hours() -> i64 {
    12
}
pub(super) fn fresh_minutes() -> i64 {
    15
}
pub(super) fn login_max_per_account() -> i64 {
    10
}
pub(super) fn totp_max_failures_per_day() -> i64 {
    20
}
pub(super) fn totp_failure_notice_after() -> i64 {
    5
}
pub(super) fn browser_sessions_max() -> i64 {
    50
}
pub(super) fn login_max_per_ip() -> i64 {
    50
}
pub(super) fn login_window_minutes() -> i64 {
    15
}
pub(super) fn register_per_hour() -> i64 {
    20
}
pub(super) fn rate_limits() -> bool {
    true
}
pub(super) fn rate_limit_window_seconds() -> u64 {
    60
}
pub(super) fn rate_limit_reads() -> u32 {
    600
}
pub(super) fn rate_limit_writes() -> u32 {
    120
}
pub(super) fn rate_limit_anonymous_reads() -> u32 {
    300
}
pub(super) fn rate_limit_anonymous_writes() -> u32 {
    30
}
pub(super) fn search_per_minute() -> u32 {
    60
}
pub(super) fn search_rows_examined() -> u64 {
    200_000
}
pub(super) fn search_backfill_seconds() -> u64 {
    2
}
pub(super) fn password_queue_max() -> usize {
    64
}
pub(super) fn housekeeping_minutes() -> u64 {
    10
}
pub(super) fn wal_check_seconds() -> u64 {
    10
}
pub(super) fn wal_checkpoint_bytes() -> u64 {
    16 * 1024 * 1024
}
pub(super) fn log_filter() -> String {
    "info".into()
}
pub(super) fn backup_dir() -> PathBuf {
    "backups".into()
}
pub(super) fn backup_keep() -> usize {
    10
}
pub(super) fn backup_timeout_secs() -> u64 {
    300
}
pub(super) fn backup_sqlite3() -> String {
    "sqlite3".into()
}
pub(super) fn backup_mysqldump() -> String {
    "mysqldump".into()
}
pub(super) fn backup_mysql() -> String {
    "mysql".into()
}
pub(super) fn page_size() -> i64 {
    10
}
pub(super) fn public_url() -> super::PublicUrl {
    super::PublicUrl::from_address(std::net::Ipv4Addr::LOCALHOST.into(), 8000)
}
pub(super) fn sitemap_max_urls() -> i64 {
    super::SITEMAP_MAX_URLS
}
pub(super) fn mail_from() -> String {
    "Conduit <conduit@localhost>".into()
}
pub(super) fn mail_dir() -> PathBuf {
    "mail".into()
}
pub(super) fn mail_max_attempts() -> i64 {
    8
}
pub(super) fn mail_retry_seconds() -> u64 {
    60
}
pub(super) fn mail_poll_seconds() -> u64 {
    30
}
pub(super) fn reset_max_per_email() -> i64 {
    5
}
pub(super) fn reset_max_per_ip() -> i64 {
    20
}
