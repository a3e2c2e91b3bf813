//! Application configuration: the Flask `from_object` / `from_pyfile` / environment layering,
//! done with Rocket's figment.
//!
//! Order, later wins:
//! 1. `Rocket.toml`, profile `[default]` then the selected profile (`ROCKET_PROFILE`, default
//!    `debug` for debug builds and `release` for release builds);
//! 2. the instance file named by `CONDUIT_CONFIG` (flat keys, applied to every profile);
//! 3. `CONDUIT_<KEY>` environment variables (e.g. `CONDUIT_JWT_SECRET`);
//! 4. `ROCKET_<KEY>` environment variables (e.g. `ROCKET_DATABASES`, `ROCKET_PORT`).

use std::path::PathBuf;

use rocket::fairing::AdHoc;
use rocket::figment::providers::{Env, Format, Toml};
use rocket::figment::{Figment, Profile};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The development secret shipped in `Rocket.toml`. The release profile refuses it.
pub const DEV_JWT_SECRET: &str = "dev-only-secret-change-me-0123456789abcdef";

/// Every application setting, typed. Keys are flat so `CONDUIT_<KEY>` maps onto them.
#[derive(Debug, Deserialize, Clone)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each is one documented on/off key of the configuration, set on its own"
)]
pub struct AppConfig {
    /// HMAC key for HS256 JWTs: at least 32 bytes, never the development default in release.
    pub jwt_secret: SecretString,
    /// The `iss` claim written into and required from every token.
    #[serde(default = "defaults::jwt_issuer")]
    pub jwt_issuer: String,
    /// Lifetime of the browser's access cookie, in minutes (renewed through the refresh cookie).
    #[serde(default = "defaults::access_token_minutes")]
    pub access_token_minutes: i64,
    /// Lifetime of tokens handed to API clients, in minutes (RealWorld clients keep one token).
    #[serde(default = "defaults::api_token_minutes")]
    pub api_token_minutes: i64,
    /// Lifetime of a browser session with "remember me", in days.
    #[serde(default = "defaults::remember_days")]
    pub remember_days: i64,
    /// Lifetime of a browser session without "remember me", in hours.
    #[serde(default = "defaults::session_hours")]
    pub session_hours: i64,
    /// How recent a password entry must be for sensitive changes, in minutes.
    #[serde(default = "defaults::fresh_minutes")]
    pub fresh_minutes: i64,
    /// Mark cookies `Secure` (serve over HTTPS). On in the release profile.
    #[serde(default)]
    pub cookie_secure: bool,
    /// Administrators must sign in with two-factor sign-in: one without it is sent to set it up
    /// before any `/admin` page, and `/api/admin` answers 403.
    #[serde(default)]
    pub admin_require_2fa: bool,
    /// Failed logins per account within the window before 429.
    #[serde(default = "defaults::login_max_per_account")]
    pub login_max_per_account: i64,
    /// Wrong two-factor codes (recovery codes too) per account within 24 hours before every
    /// further code check answers 429 (until the window passes or a password reset).
    #[serde(default = "defaults::totp_max_failures_per_day")]
    pub totp_max_failures_per_day: i64,
    /// Wrong two-factor codes within 24 hours after which the owner is mailed (once a day); at
    /// most `totp_max_failures_per_day` (checked at start).
    #[serde(default = "defaults::totp_failure_notice_after")]
    pub totp_failure_notice_after: i64,
    /// Live browser sessions an account keeps: a new sign-in past it ends the oldest.
    #[serde(default = "defaults::browser_sessions_max")]
    pub browser_sessions_max: i64,
    /// Failed logins per client address within the window before 429.
    #[serde(default = "defaults::login_max_per_ip")]
    pub login_max_per_ip: i64,
    /// The login throttling window, in minutes.
    #[serde(default = "defaults::login_window_minutes")]
    pub login_window_minutes: i64,
    /// Registrations per client address per hour before 429; `0` turns the limit off (seeding
    /// and load tests that sign many users up from one address).
    #[serde(default = "defaults::register_per_hour")]
    pub register_per_hour: i64,
    /// Per-caller API rate limits (`api::rate_limit`): on by default; `false` turns them and
    /// their `RateLimit` headers off (the benchmark and load tests, where one address is the
    /// load generator). Login and sign-up throttles are not affected.
    #[serde(default = "defaults::rate_limits")]
    pub rate_limits: bool,
    /// The rate limits' window, in seconds.
    #[serde(default = "defaults::rate_limit_window_seconds")]
    pub rate_limit_window_seconds: u64,
    /// API reads (GET, HEAD) per window for each signed-in user or personal access token.
    #[serde(default = "defaults::rate_limit_reads")]
    pub rate_limit_reads: u32,
    /// API writes per window for each signed-in user or personal access token.
    #[serde(default = "defaults::rate_limit_writes")]
    pub rate_limit_writes: u32,
    /// API reads per window for each client address without credentials.
    #[serde(default = "defaults::rate_limit_anonymous_reads")]
    pub rate_limit_anonymous_reads: u32,
    /// API writes (sign-ups and logins among them) per window for each client address without
    /// credentials.
    #[serde(default = "defaults::rate_limit_anonymous_writes")]
    pub rate_limit_anonymous_writes: u32,
    /// Searches (site and API together) per minute for each client address, that many at
    /// once (`crate::search_budget`); `0`, or `rate_limits = false`, turns the budget off.
    #[serde(default = "defaults::search_per_minute")]
    pub search_per_minute: u32,
    /// MySQL search over its postings: the most rows each of a search's statements may read
    /// (MariaDB's `LIMIT ROWS EXAMINED`); a search cut short by it shows what it found and says
    /// more may match (`db::search::Found::partial`).
    #[serde(default = "defaults::search_rows_examined")]
    pub search_rows_examined: u64,
    /// MySQL: seconds between steps of the search postings' backfill (articles written
    /// without postings, `db::search::backfill`); `0` turns the task off.
    #[serde(default = "defaults::search_backfill_seconds")]
    pub search_backfill_seconds: u64,
    /// Password hashes and checks that may wait for the hasher (one runs at a time); more are
    /// answered 503 with `Retry-After` at once. `0`: none may wait.
    #[serde(default = "defaults::password_queue_max")]
    pub password_queue_max: usize,
    /// Minutes between housekeeping passes (expired sessions, throttle rows past their window);
    /// `0` turns the background task off.
    #[serde(default = "defaults::housekeeping_minutes")]
    pub housekeeping_minutes: u64,
    /// SQLite: seconds between looks at the write-ahead log's size; `0` turns the WAL task off.
    #[serde(default = "defaults::wal_check_seconds")]
    pub wal_check_seconds: u64,
    /// SQLite: past this many bytes the WAL task runs a passive checkpoint.
    #[serde(default = "defaults::wal_checkpoint_bytes")]
    pub wal_checkpoint_bytes: u64,
    /// Log level: error, warn, info, debug or trace.
    #[serde(default = "defaults::log_filter")]
    pub log_filter: String,
    /// Also append log lines to this file.
    #[serde(default)]
    pub log_file: Option<PathBuf>,
    /// Sentry DSN; Sentry is off when unset or empty.
    #[serde(default)]
    pub sentry_dsn: Option<SecretString>,
    /// Bearer token that opens `GET /metrics` to clients that are not on this machine; unset
    /// or empty: loopback clients only.
    #[serde(default)]
    pub metrics_token: Option<SecretString>,
    /// Origins allowed to call `/api` from a browser (CORS). `["*"]` allows any.
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
    /// Folder backups are written to.
    #[serde(default = "defaults::backup_dir")]
    pub backup_dir: PathBuf,
    /// How many backups to keep; older ones are deleted after each new backup.
    #[serde(default = "defaults::backup_keep")]
    pub backup_keep: usize,
    /// Seconds a backup or restore subprocess may run before it is killed.
    #[serde(default = "defaults::backup_timeout_secs")]
    pub backup_timeout_secs: u64,
    /// Mount `GET /__panic`, a handler that panics, to check error reporting end to end.
    /// Off by default; the release profile refuses it.
    #[serde(default)]
    pub enable_panic_route: bool,
    /// The `sqlite3` shell backups run (a name looked up in `PATH`, or a path).
    #[serde(default = "defaults::backup_sqlite3")]
    pub backup_sqlite3: String,
    /// The `mysqldump` program MySQL backups run.
    #[serde(default = "defaults::backup_mysqldump")]
    pub backup_mysqldump: String,
    /// The `mysql` client MySQL restores run.
    #[serde(default = "defaults::backup_mysql")]
    pub backup_mysql: String,
    /// Articles per page on the site.
    #[serde(default = "defaults::page_size")]
    pub page_size: i64,
    /// Where the site is reached from outside (`https://conduit.example`): the base of every
    /// absolute URL the site hands out (feeds, sitemap, canonical links, social previews).
    /// Unset: `http://<address>:<port>` from Rocket's own settings.
    #[serde(default = "defaults::public_url")]
    pub public_url: PublicUrl,
    /// Most URLs in one sitemap file; past it `/sitemap.xml` becomes an index of parts
    /// (the sitemaps protocol allows 50,000, the default).
    #[serde(default = "defaults::sitemap_max_urls")]
    pub sitemap_max_urls: i64,
    /// The mail server: `smtp://host:port` (plain), `smtp+starttls://host:port`,
    /// `smtps://host:port` (TLS from the start), with an optional `user:password@` (percent
    /// encoded). Unset or empty: mail is written to files in `mail_dir` (and to the log with
    /// `mail_log`), and every flow works the same.
    #[serde(default)]
    pub smtp_url: Option<SecretString>,
    /// The sender of every mail: `Name <address>` or a bare address.
    #[serde(default = "defaults::mail_from")]
    pub mail_from: String,
    /// Without `smtp_url`: the folder mails are written to, one `.eml` file each (private).
    #[serde(default = "defaults::mail_dir")]
    pub mail_dir: PathBuf,
    /// Without `smtp_url`: also write each mail to the log (the debug profile's default).
    #[serde(default)]
    pub mail_log: bool,
    /// Attempts to send one mail before it is marked failed (shown to admins).
    #[serde(default = "defaults::mail_max_attempts")]
    pub mail_max_attempts: i64,
    /// Seconds before the first retry of a mail that could not be sent; each further retry
    /// waits twice as long (up to six hours).
    #[serde(default = "defaults::mail_retry_seconds")]
    pub mail_retry_seconds: u64,
    /// Seconds between the sender's looks at the outbox when nothing wakes it (mail queued by
    /// another instance, retries coming due); `0` turns the sender off on this instance.
    #[serde(default = "defaults::mail_poll_seconds")]
    pub mail_poll_seconds: u64,
    /// Password reset requests per email address per hour before no more are mailed (the
    /// answer stays the same).
    #[serde(default = "defaults::reset_max_per_email")]
    pub reset_max_per_email: i64,
    /// Password reset requests per client address per hour before no more are mailed.
    #[serde(default = "defaults::reset_max_per_ip")]
    pub reset_max_per_ip: i64,
    /// An account whose email is not confirmed may read but not write (403) until it is;
    /// confirming, signing out and the account's settings still work (`auth::confirmed`).
    #[serde(default)]
    pub require_confirmed_email: bool,
}

mod defaults;
mod urls;

pub use urls::{PublicUrl, SmtpSecurity, SmtpUrl};

/// The most URLs one sitemap file may list (the sitemaps protocol's limit).
pub const SITEMAP_MAX_URLS: i64 = 50_000;

/// A config value that is present but wrong: names the key.
#[derive(Debug, thiserror::Error)]
#[error("config key `{key}`: {message}")]
pub struct ConfigError {
    /// The offending key.
    pub key: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn bad(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key,
        message: message.into(),
    }
}

impl AppConfig {
    /// Read and validate the config for `profile` from a figment.
    pub fn from_figment(figment: &Figment) -> Result<Self, String> {
        let mut config: Self = figment
            .extract()
            .map_err(|e| format!("configuration: {e}"))?;
        if !figment.contains("public_url") {
            // Where this server listens: Rocket's `address` and `port` (its defaults when unset).
            let address = figment
                .extract_inner("address")
                .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
            let port = figment.extract_inner("port").unwrap_or(8000);
            config.public_url = PublicUrl::from_address(address, port);
        }
        config
            .validate(figment.profile())
            .map_err(|e| e.to_string())?;
        Ok(config)
    }

    /// Check every value; the release profile also refuses the development secret.
    pub fn validate(&self, profile: &Profile) -> Result<(), ConfigError> {
        let secret = self.jwt_secret.expose_secret();
        if secret.len() < 32 {
            return Err(bad(
                "jwt_secret",
                "must be at least 32 bytes (set CONDUIT_JWT_SECRET)",
            ));
        }
        if profile == "release" && (secret == DEV_JWT_SECRET || secret.contains("change-me")) {
            return Err(bad(
                "jwt_secret",
                "the release profile refuses the development default: set CONDUIT_JWT_SECRET",
            ));
        }
        if profile == "release" && self.enable_panic_route {
            return Err(bad(
                "enable_panic_route",
                "is a testing aid: the release profile refuses it",
            ));
        }
        if self.jwt_issuer.trim().is_empty() {
            return Err(bad("jwt_issuer", "must not be empty"));
        }
        for (key, value) in [
            ("access_token_minutes", self.access_token_minutes),
            ("api_token_minutes", self.api_token_minutes),
            ("remember_days", self.remember_days),
            ("session_hours", self.session_hours),
            ("fresh_minutes", self.fresh_minutes),
            ("login_max_per_account", self.login_max_per_account),
            ("login_max_per_ip", self.login_max_per_ip),
            ("login_window_minutes", self.login_window_minutes),
            ("mail_max_attempts", self.mail_max_attempts),
            ("reset_max_per_email", self.reset_max_per_email),
            ("reset_max_per_ip", self.reset_max_per_ip),
            ("totp_max_failures_per_day", self.totp_max_failures_per_day),
            ("totp_failure_notice_after", self.totp_failure_notice_after),
            ("browser_sessions_max", self.browser_sessions_max),
        ] {
            if value <= 0 {
                return Err(bad(key, format!("must be a positive number, got {value}")));
            }
        }
        // The notice is counted among the day's wrong codes, which stop at the cap: a
        // threshold above it would never be reached, and the owner never told.
        if self.totp_failure_notice_after > self.totp_max_failures_per_day {
            return Err(bad(
                "totp_failure_notice_after",
                format!(
                    "must not exceed totp_max_failures_per_day ({}), got {}: past the cap no \
                     further wrong code is counted, so the owner would never be told",
                    self.totp_max_failures_per_day, self.totp_failure_notice_after
                ),
            ));
        }
        if self.register_per_hour < 0 {
            return Err(bad(
                "register_per_hour",
                format!(
                    "must be 0 (no limit) or a positive number, got {}",
                    self.register_per_hour
                ),
            ));
        }
        self.validate_rate_limits()?;
        if !(1..=100).contains(&self.page_size) {
            return Err(bad("page_size", "must be between 1 and 100"));
        }
        if !(1..=SITEMAP_MAX_URLS).contains(&self.sitemap_max_urls) {
            return Err(bad(
                "sitemap_max_urls",
                format!("must be between 1 and {SITEMAP_MAX_URLS}"),
            ));
        }
        if self.backup_keep == 0 {
            return Err(bad("backup_keep", "must keep at least one backup"));
        }
        if self.backup_timeout_secs == 0 {
            return Err(bad("backup_timeout_secs", "must be a positive number"));
        }
        if self.metrics_token().is_some_and(|t| t.len() < 16) {
            return Err(bad("metrics_token", "must be at least 16 characters"));
        }
        self.validate_mail()?;
        if parse_level(&self.log_filter).is_none() {
            return Err(bad(
                "log_filter",
                format!(
                    "`{}` is not one of error, warn, info, debug, trace",
                    self.log_filter
                ),
            ));
        }
        Ok(())
    }

    /// The rate limits' window and budgets (when the limits are on).
    fn validate_rate_limits(&self) -> Result<(), ConfigError> {
        if self.rate_limits {
            if !(1..=86_400).contains(&self.rate_limit_window_seconds) {
                return Err(bad(
                    "rate_limit_window_seconds",
                    "must be between 1 and 86400",
                ));
            }
            for (key, value) in [
                ("rate_limit_reads", self.rate_limit_reads),
                ("rate_limit_writes", self.rate_limit_writes),
                (
                    "rate_limit_anonymous_reads",
                    self.rate_limit_anonymous_reads,
                ),
                (
                    "rate_limit_anonymous_writes",
                    self.rate_limit_anonymous_writes,
                ),
            ] {
                if value == 0 {
                    return Err(bad(
                        key,
                        "must be a positive number (set rate_limits = false for no limit)",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The sender's address and the mail server's URL.
    fn validate_mail(&self) -> Result<(), ConfigError> {
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(bad(
                "mail_from",
                format!(
                    "`{}` is not a mail address (`Name <user@host>` or `user@host`)",
                    self.mail_from
                ),
            ));
        }
        if let Some(url) = self.smtp_url() {
            SmtpUrl::parse(url).map_err(|message| bad("smtp_url", message))?;
        }
        Ok(())
    }

    /// The `/metrics` bearer token, when one is configured.
    pub fn metrics_token(&self) -> Option<&str> {
        self.metrics_token
            .as_ref()
            .map(ExposeSecret::expose_secret)
            .filter(|token| !token.is_empty())
    }

    /// The mail server URL, when one is configured.
    pub fn smtp_url(&self) -> Option<&str> {
        self.smtp_url
            .as_ref()
            .map(ExposeSecret::expose_secret)
            .filter(|url| !url.trim().is_empty())
    }

    /// The Sentry DSN, when one is configured.
    pub fn sentry_dsn(&self) -> Option<&str> {
        self.sentry_dsn
            .as_ref()
            .map(ExposeSecret::expose_secret)
            .filter(|dsn| !dsn.trim().is_empty())
    }
}

/// The full figment: Rocket's (Rocket.toml + `ROCKET_*`), the instance file, then env.
// The one place that reads the environment by hand: the instance file's path.
#[allow(clippy::disallowed_methods)]
pub fn figment() -> Figment {
    let mut figment = rocket::Config::figment();
    if let Some(path) = std::env::var_os("CONDUIT_CONFIG").filter(|p| !p.is_empty()) {
        figment = figment.merge(Toml::file_exact(path).profile(Profile::Global));
    }
    figment
        .merge(Env::prefixed("CONDUIT_").ignore(&["CONFIG"]).global())
        .merge(
            Env::prefixed("ROCKET_")
                .ignore(&["PROFILE", "CONFIG"])
                .global(),
        )
}

/// Reads, validates and manages [`AppConfig`] at ignite: a bad value stops the launch.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Configuration", |rocket| async move {
        match AppConfig::from_figment(rocket.figment()) {
            Ok(config) => {
                let figment = rocket.figment();
                if figment.profile() == "release" && !figment.contains("public_url") {
                    log::warn!(
                        "public_url is not set: feeds, the sitemap and link previews point at {}",
                        config.public_url.as_str()
                    );
                }
                Ok(rocket.manage(config))
            }
            Err(message) => {
                log::error!("{message}");
                Err(rocket)
            }
        }
    })
}

/// Parse a log level name as written in config (`log_filter`).
pub fn parse_level(level: &str) -> Option<log::LevelFilter> {
    use log::LevelFilter;
    match level.trim().to_ascii_lowercase().as_str() {
        "off" => Some(LevelFilter::Off),
        "error" => Some(LevelFilter::Error),
        "warn" | "warning" => Some(LevelFilter::Warn),
        "info" => Some(LevelFilter::Info),
        "debug" => Some(LevelFilter::Debug),
        "trace" => Some(LevelFilter::Trace),
        _ => None,
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
