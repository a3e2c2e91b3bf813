//! Database backups and restores through the engine's own tools, run as subprocesses
//! (DESIGN.md section 7, SECURITY.md requirement 16):
//!
//! - MySQL: `mysqldump --single-transaction` out, the `mysql` client in;
//! - SQLite: the `sqlite3` shell's `.backup` out and `.restore` in; when the shell is not
//!   installed, `VACUUM INTO` (backup) or a file copy (restore, server stopped).
//!
//! Argument vectors only, never a shell; the MySQL password travels in `MYSQL_PWD`, never in
//! argv; every run has a timeout and its stderr captured; a failure names the tool, its exit
//! code and a plain reason. A backup is written under a temporary name and renamed only once
//! it is complete and checked, so a failed run never leaves a file that looks good.
//!
//! A backup holds every account's data, so (SECURITY.md requirement 26):
//!
//! - the backup folder is made `0700` (created so, or tightened when it already exists) and
//!   every backup file is created `0600` by this code, empty, before the tool writes a byte
//!   into it (the tools then write into that file; they never create it);
//! - the tools run with a cleared environment plus only `PATH`, `LANG`, `LC_ALL`, `TZ` and
//!   (MySQL) `MYSQL_PWD`: the app's own secrets (`CONDUIT_*`, `ROCKET_*`, the JWT key, the
//!   Sentry DSN) never reach them;
//! - one backup runs at a time, per instance and across instances and `conduit backup` runs
//!   sharing the folder: each holds an exclusive lock on `.conduit-backup.lock` in the folder
//!   (`flock`, released by the kernel when the holder exits, so a crash leaves no stale lock),
//!   and a second attempt meanwhile fails at once with [`BackupError::Busy`] (409 on the web).
//!
//! The module is split by concern: this file has the service and its errors, `files` the
//! backup folder (names, listing, permissions, the run lock, completeness checks) and `tool` the
//! subprocesses (`mysqldump`, `mysql`, `sqlite3`). Database URLs are read by
//! [`DbUrl`](crate::db::url::DbUrl), as the pool reads them.

mod files;
mod tool;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rocket::figment::Figment;
use serde::Serialize;

use crate::config::AppConfig;
use crate::db::url::{DbUrl, MySqlTarget, UrlError};
use crate::db::Engine;

pub use files::is_backup_name;
use files::{private_dir, private_file, RunLock};

/// Why a backup or restore failed. The text is meant for the admin who asked.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The tool is not installed (or not where the config says).
    #[error("`{tool}` was not found: install it ({install}) or set `{key}` to its path")]
    ToolMissing {
        /// The program that was run.
        tool: String,
        /// The config key naming it.
        key: &'static str,
        /// How to install it.
        install: &'static str,
    },
    /// The tool ran and failed.
    #[error("{reason}: `{tool}` exited with {}: {stderr}", exit_text(*.code))]
    Failed {
        /// The program.
        tool: String,
        /// Its exit code (`None`: killed by a signal).
        code: Option<i32>,
        /// A plain-language reason drawn from its output.
        reason: String,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
    /// The tool ran past `backup_timeout_secs` and was killed.
    #[error("`{tool}` did not finish within {secs} seconds and was stopped (raise `backup_timeout_secs`)")]
    Timeout {
        /// The program.
        tool: String,
        /// The limit.
        secs: u64,
    },
    /// The file system refused (disk full, permissions...).
    #[error("{0}")]
    Io(String),
    /// The input is not something we can use.
    #[error("{0}")]
    Invalid(String),
    /// Another backup is running (here, in another instance, or `conduit backup`).
    #[error("a backup is already running; try again when it has finished")]
    Busy,
}

fn exit_text(code: Option<i32>) -> String {
    code.map_or_else(
        || "no exit code (killed by a signal)".to_owned(),
        |c| format!("code {c}"),
    )
}

fn io_error(context: &str, e: &std::io::Error) -> BackupError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        BackupError::Io(format!("{context}: the disk is full"))
    } else {
        BackupError::Io(format!("{context}: {e}"))
    }
}

/// A plain reason for a tool's failure, from what it printed.
fn reason_of(stderr: &str) -> &'static str {
    let s = stderr.to_ascii_lowercase();
    if s.contains("access denied") {
        "the database refused the user name or password"
    } else if s.contains("no space left") || s.contains("disk is full") || s.contains("errcode: 28")
    {
        "the disk is full"
    } else if s.contains("can't connect")
        || s.contains("unknown server host")
        || s.contains("connection refused")
    {
        "the database server could not be reached"
    } else if s.contains("unknown database") {
        "the database does not exist"
    } else {
        "the tool reported an error"
    }
}

/// What is backed up: an SQLite file, or a MySQL database (read from the URL by
/// [`DbUrl`], with its argument-vector guards).
#[derive(Clone)]
enum Target {
    Sqlite(PathBuf),
    MySql(MySqlTarget),
}

/// One backup file in the backup folder.
#[derive(Debug, Clone, Serialize)]
pub struct BackupFile {
    /// File name (chosen by the server).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Size for people (`1.2 MB`).
    pub size_text: String,
    /// When it was written (UTC).
    pub created_at: DateTime<Utc>,
}

/// The backup service: where backups go, how long they are kept, and the tools.
#[derive(Clone)]
pub struct Backups {
    target: Target,
    url: String,
    dir: PathBuf,
    keep: usize,
    timeout: Duration,
    sqlite3: String,
    mysqldump: String,
    mysql: String,
    /// Where the outcomes of [`create`](Self::create) are counted (the app's `/metrics`).
    metrics: Option<crate::metrics::Metrics>,
}

impl Backups {
    /// Count each backup's outcome in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Option<crate::metrics::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The service for the database at `url`, configured by `config`.
    pub fn new(config: &AppConfig, url: &str) -> Result<Self, BackupError> {
        let invalid = |e: UrlError| BackupError::Invalid(e.to_string());
        let target = match DbUrl::parse(url).map_err(invalid)? {
            DbUrl::Sqlite(sqlite) => Target::Sqlite(
                sqlite
                    .file()
                    .ok_or_else(|| {
                        BackupError::Invalid(
                            "an in-memory SQLite database cannot be backed up".into(),
                        )
                    })?
                    .to_path_buf(),
            ),
            DbUrl::MySql(mysql) => Target::MySql(mysql.target().map_err(invalid)?),
        };
        Ok(Self {
            target,
            url: url.to_owned(),
            dir: config.backup_dir.clone(),
            keep: config.backup_keep,
            timeout: Duration::from_secs(config.backup_timeout_secs),
            sqlite3: config.backup_sqlite3.clone(),
            mysqldump: config.backup_mysqldump.clone(),
            mysql: config.backup_mysql.clone(),
            metrics: None,
        })
    }

    /// The service as the configuration describes it (`databases.main.url` and the backup keys).
    pub fn from_figment(figment: &Figment) -> anyhow::Result<Self> {
        let config = AppConfig::from_figment(figment).map_err(anyhow::Error::msg)?;
        let url: String = figment
            .extract_inner("databases.main.url")
            .map_err(|e| anyhow::anyhow!("config key `databases.main.url`: {e}"))?;
        Ok(Self::new(&config, &url)?)
    }

    /// The engine backed up.
    pub fn engine(&self) -> Engine {
        match self.target {
            Target::Sqlite(_) => Engine::Sqlite,
            Target::MySql(_) => Engine::MySql,
        }
    }

    /// The backup folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many backups are kept.
    pub fn keep(&self) -> usize {
        self.keep
    }

    fn extension(&self) -> &'static str {
        match self.target {
            Target::Sqlite(_) => "sqlite",
            Target::MySql(_) => "sql",
        }
    }

    /// The lock that makes this the only backup running, in the backup folder (created 0700,
    /// or made so).
    fn lock(&self) -> Result<RunLock, BackupError> {
        private_dir(&self.dir, true)?;
        RunLock::take(&self.dir)
    }

    /// Write a new backup into the backup folder under a server-chosen name, then prune old
    /// ones beyond `backup_keep`. [`BackupError::Busy`] while another backup runs.
    pub async fn create(&self) -> Result<BackupFile, BackupError> {
        use crate::metrics::BackupOutcome;
        let result = self.create_unmetered().await;
        if let Some(metrics) = &self.metrics {
            metrics.backup(match &result {
                Ok(_) => BackupOutcome::Ok,
                Err(BackupError::Busy) => BackupOutcome::Busy,
                Err(_) => BackupOutcome::Failed,
            });
        }
        result
    }

    async fn create_unmetered(&self) -> Result<BackupFile, BackupError> {
        let _lock = self.lock()?;
        let name = format!(
            "conduit-{}-{:04x}.{}",
            Utc::now().format("%Y%m%dT%H%M%S%3fZ"),
            rand::random::<u16>(),
            self.extension()
        );
        let path = self.dir.join(&name);
        self.write_unlocked(&path).await?;
        self.prune()?;
        self.list()?
            .into_iter()
            .find(|f| f.name == name)
            .ok_or_else(|| BackupError::Io(format!("the new backup {name} disappeared")))
    }

    /// Write a backup to `out` (created or replaced only when the backup succeeded, mode 0600;
    /// a missing folder is created 0700). Returns its size in bytes. Takes the same lock as
    /// [`create`](Self::create): [`BackupError::Busy`] while another backup runs.
    pub async fn write_to(&self, out: &Path) -> Result<u64, BackupError> {
        let _lock = self.lock()?;
        self.write_unlocked(out).await
    }

    async fn write_unlocked(&self, out: &Path) -> Result<u64, BackupError> {
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        private_dir(&dir, dir == self.dir)?;
        // A plain name in the target folder: the sqlite3 shell parses its dot-command argument,
        // so it gets nothing but these characters (the subprocess runs in that folder).
        let partial = format!(".conduit-backup-{:016x}.partial", rand::random::<u64>());
        let partial_path = dir.join(&partial);
        // Created here, 0600 and empty, before any tool runs: the tools write into it.
        let file = private_file(&partial_path)?;
        let result = async {
            match &self.target {
                Target::Sqlite(db) => {
                    drop(file);
                    self.sqlite_backup(db, &dir, &partial).await?;
                }
                Target::MySql(target) => self.mysql_backup(target, file).await?,
            }
            self.check_backup(&partial_path).await?;
            tokio::fs::rename(&partial_path, out)
                .await
                .map_err(|e| io_error(&format!("writing {}", out.display()), &e))?;
            let size = tokio::fs::metadata(out)
                .await
                .map_err(|e| io_error("reading the backup", &e))?
                .len();
            Ok(size)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&partial_path).await;
        }
        if let Ok(size) = result {
            log::info!("backup written to {} ({size} bytes)", out.display());
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::files::human_size;
    use super::*;

    #[test]
    fn failures_get_a_plain_reason() {
        assert_eq!(
            reason_of("mysqldump: Got error: 1045: \"Access denied for user\""),
            "the database refused the user name or password"
        );
        assert_eq!(
            reason_of("write error: No space left on device"),
            "the disk is full"
        );
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_500_000), "1.5 MB");
    }
}
