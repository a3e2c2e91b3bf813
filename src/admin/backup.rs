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

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rocket::figment::Figment;
use serde::Serialize;
use tokio::process::Command;

use crate::config::AppConfig;
use crate::db::{DbPool, Engine};

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
    } else if s.contains("no space left") || s.contains("disk is full") || s.contains("errcode: 28") {
        "the disk is full"
    } else if s.contains("can't connect") || s.contains("unknown server host") || s.contains("connection refused") {
        "the database server could not be reached"
    } else if s.contains("unknown database") {
        "the database does not exist"
    } else {
        "the tool reported an error"
    }
}

/// A MySQL connection, from the database URL.
#[derive(Clone)]
struct MySqlTarget {
    host: String,
    port: u16,
    user: String,
    password: Option<String>,
    database: String,
}

#[derive(Clone)]
enum Target {
    Sqlite(PathBuf),
    MySql(MySqlTarget),
}

fn decode(s: &str) -> String {
    rocket::http::RawStr::new(s).percent_decode_lossy().into_owned()
}

/// `mysql://user:password@host:port/database?options` (options are ignored here).
fn parse_mysql(url: &str) -> Result<MySqlTarget, BackupError> {
    let bad = |why: &str| BackupError::Invalid(format!("config key `databases.main.url`: {why}"));
    let rest = url.split_once("://").map(|(_, r)| r).ok_or_else(|| bad("not a URL"))?;
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    let (auth, location) = rest.rsplit_once('@').map_or((None, rest), |(a, l)| (Some(a), l));
    let (host_port, database) = location.split_once('/').ok_or_else(|| bad("no database name"))?;
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(|_| bad("bad port"))?),
        None => (host_port, 3306),
    };
    let (user, password) = match auth {
        Some(a) => match a.split_once(':') {
            Some((u, p)) => (decode(u), Some(decode(p))),
            None => (decode(a), None),
        },
        None => ("root".to_owned(), None),
    };
    let database = decode(database);
    // Guard the argument vector: a leading `-` would read as an option.
    if database.is_empty() || database.starts_with('-') || host.starts_with('-') || user.starts_with('-') {
        return Err(bad("unusable host, user or database name"));
    }
    Ok(MySqlTarget {
        host: if host.is_empty() {
            "127.0.0.1".into()
        } else {
            host.to_owned()
        },
        port,
        user,
        password,
        database,
    })
}

/// `sqlite://path`, `sqlite:path` or `sqlite:///absolute/path`, options ignored.
fn parse_sqlite(url: &str) -> Result<PathBuf, BackupError> {
    let rest = url.split_once(':').map_or("", |(_, r)| r);
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    if path.is_empty() || path.contains(":memory:") {
        return Err(BackupError::Invalid(
            "an in-memory SQLite database cannot be backed up".into(),
        ));
    }
    Ok(PathBuf::from(decode(path)))
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

#[allow(clippy::cast_precision_loss)] // sizes are shown with one decimal
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Whether `name` is a backup file name this server writes: `conduit-<time>-<hex>.sql|.sqlite`,
/// nothing else (no separators, no dot-dot), so names from requests cannot reach other files.
pub fn is_backup_name(name: &str) -> bool {
    name.starts_with("conduit-")
        && matches!(
            Path::new(name).extension().and_then(|e| e.to_str()),
            Some("sql" | "sqlite")
        )
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
const MYSQL_DUMP_END: &str = "-- Dump completed";
/// How much of a dump's end is read to find [`MYSQL_DUMP_END`] (its last line).
const DUMP_TAIL: u64 = 512;
/// The lock file in the backup folder (a dot name: never listed, never a backup name).
const LOCK_FILE: &str = ".conduit-backup.lock";
/// The variables a backup tool may inherit from the app; everything else is cleared.
const TOOL_ENV: [&str; 4] = ["PATH", "LANG", "LC_ALL", "TZ"];

/// Create `dir` (and missing parents) with mode 0700. With `tighten`, an existing folder that
/// others may read or enter is made 0700 too (the configured backup folder is ours; a folder
/// named by `conduit backup --out` is the operator's and is left as it is).
fn private_dir(dir: &Path, tighten: bool) -> Result<(), BackupError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_error(&format!("creating {}", dir.display()), &e))?;
    if tighten {
        let meta = std::fs::metadata(dir).map_err(|e| io_error(&format!("reading {}", dir.display()), &e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| io_error(&format!("making {} private", dir.display()), &e))?;
            log::info!("backup folder {} made private (0700)", dir.display());
        }
    }
    Ok(())
}

/// Create the new, empty file `path` with mode 0600 (whatever the umask), failing if it
/// exists. Nothing has been written to it yet when its mode is set.
fn private_file(path: &Path) -> Result<std::fs::File, BackupError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error(&format!("creating {}", path.display()), &e))?;
    // The umask can only take bits away from 0600; this puts back any it took.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io_error(&format!("creating {}", path.display()), &e))?;
    Ok(file)
}

/// Whether two metadata describe the same file.
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// The exclusive lock one backup holds while it runs: `flock` on the lock file, which works
/// between processes and between two opens in one process alike. Dropping it removes the file
/// (while still locked) and then unlocks.
struct RunLock {
    file: std::fs::File,
    path: PathBuf,
}

impl RunLock {
    /// Take the lock in `dir`, or [`BackupError::Busy`] at once if someone holds it.
    fn take(dir: &Path) -> Result<Self, BackupError> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = dir.join(LOCK_FILE);
        // A holder removes the file as it finishes: a lock won on a file that is no longer at
        // the path (opened just before the removal) does not count; open the path again.
        for _ in 0..3 {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|e| io_error(&format!("opening {}", path.display()), &e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Err(BackupError::Busy),
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(io_error(&format!("locking {}", path.display()), &e))
                }
            }
            let ours = file.metadata().map_err(|e| io_error("reading the lock file", &e))?;
            if std::fs::metadata(&path).is_ok_and(|now| same_file(&ours, &now)) {
                return Ok(Self { file, path });
            }
        }
        Err(BackupError::Busy)
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let ours = self.file.metadata();
        let at_path = std::fs::metadata(&self.path);
        if let (Ok(ours), Ok(at_path)) = (ours, at_path) {
            if same_file(&ours, &at_path) {
                let _ = std::fs::remove_file(&self.path);
            }
        }
        // Closing the file (after this) releases the lock.
    }
}

/// Whether the dump at `path` ends with mysqldump's closing line. Reads only the last
/// [`DUMP_TAIL`] bytes, however large the dump.
fn dump_is_complete(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(DUMP_TAIL)))?;
    let mut tail = Vec::with_capacity(usize::try_from(DUMP_TAIL).unwrap_or(512));
    file.take(DUMP_TAIL).read_to_end(&mut tail)?;
    Ok(String::from_utf8_lossy(&tail).contains(MYSQL_DUMP_END))
}

/// Whether the file at `path` starts with SQLite's header. Reads 16 bytes.
fn has_sqlite_header(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = Vec::with_capacity(SQLITE_MAGIC.len());
    std::fs::File::open(path)?
        .take(SQLITE_MAGIC.len() as u64)
        .read_to_end(&mut head)?;
    Ok(head == SQLITE_MAGIC)
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
}

/// A program to run and how to explain its absence.
struct Tool<'a> {
    program: &'a str,
    key: &'static str,
    install: &'static str,
}

impl Backups {
    /// The service for the database at `url`, configured by `config`.
    pub fn new(config: &AppConfig, url: &str) -> Result<Self, BackupError> {
        let target = match Engine::from_url(url) {
            Some(Engine::Sqlite) => Target::Sqlite(parse_sqlite(url)?),
            Some(Engine::MySql) => Target::MySql(parse_mysql(url)?),
            None => {
                return Err(BackupError::Invalid(
                    "config key `databases.main.url`: must start with sqlite: or mysql:".into(),
                ))
            }
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

    async fn sqlite_backup(&self, db: &Path, dir: &Path, partial: &str) -> Result<(), BackupError> {
        let db = absolute_existing(db)?;
        let tool = Tool {
            program: &self.sqlite3,
            key: "backup_sqlite3",
            install: "apt-get install sqlite3",
        };
        let args = [
            "-batch".into(),
            "-bail".into(),
            db.into_os_string(),
            format!(".backup '{partial}'").into(),
        ];
        match self
            .run(&tool, &args, None, Stdio::null(), Stdio::piped(), Some(dir))
            .await
        {
            Err(BackupError::ToolMissing { tool, .. }) => {
                log::warn!("`{tool}` is not installed: backing up with VACUUM INTO instead");
                let target = dir.join(partial);
                let target = absolute(&target)?;
                let pool = DbPool::connect(&self.url, 1, 0, Duration::from_secs(5), None)
                    .await
                    .map_err(|e| BackupError::Io(format!("opening the database: {e}")))?;
                let result = crate::db::admin::vacuum_into(&pool, &target.to_string_lossy()).await;
                pool.close().await;
                result.map_err(|e| {
                    let text = e.to_string();
                    let reason = if text.contains("full") {
                        "the disk is full"
                    } else {
                        "VACUUM INTO failed"
                    };
                    BackupError::Io(format!("{reason}: {text}"))
                })
            }
            other => other,
        }
    }

    fn mysql_env(target: &MySqlTarget) -> Vec<(&'static str, String)> {
        target
            .password
            .as_ref()
            .map(|p| vec![("MYSQL_PWD", p.clone())])
            .unwrap_or_default()
    }

    fn mysql_connection_args(target: &MySqlTarget) -> Vec<std::ffi::OsString> {
        vec![
            "--protocol=TCP".into(),
            format!("--host={}", target.host).into(),
            format!("--port={}", target.port).into(),
            format!("--user={}", target.user).into(),
            "--default-character-set=utf8mb4".into(),
        ]
    }

    async fn mysql_backup(&self, target: &MySqlTarget, file: std::fs::File) -> Result<(), BackupError> {
        let tool = Tool {
            program: &self.mysqldump,
            key: "backup_mysqldump",
            install: "apt-get install mariadb-client",
        };
        let mut args: Vec<std::ffi::OsString> = vec!["--single-transaction".into(), "--no-tablespaces".into()];
        args.extend(Self::mysql_connection_args(target));
        args.push(target.database.clone().into());
        self.run(
            &tool,
            &args,
            Some(Self::mysql_env(target)),
            Stdio::null(),
            Stdio::from(file),
            None,
        )
        .await
    }

    /// A backup is complete: an SQLite file has its header, a dump its closing line (only the
    /// file's head or tail is read, never the whole backup).
    async fn check_backup(&self, path: &Path) -> Result<(), BackupError> {
        let path = path.to_path_buf();
        let sqlite = matches!(self.target, Target::Sqlite(_));
        let ok = tokio::task::spawn_blocking(move || {
            if sqlite {
                has_sqlite_header(&path)
            } else {
                dump_is_complete(&path)
            }
        })
        .await
        .map_err(|e| BackupError::Io(format!("checking the backup: {e}")))?
        .map_err(|e| io_error("reading the backup", &e))?;
        if ok {
            Ok(())
        } else {
            Err(BackupError::Invalid(
                "the backup tool finished but its output is incomplete; nothing was kept".into(),
            ))
        }
    }

    /// Replace the database's contents with the backup at `file`. Stop the server first for
    /// SQLite without the `sqlite3` shell (the fallback copies the file over the database).
    pub async fn restore(&self, file: &Path) -> Result<(), BackupError> {
        let file = absolute_existing(file)?;
        let mut head = [0u8; 16];
        {
            use std::io::Read;
            let mut f = std::fs::File::open(&file).map_err(|e| io_error("opening the backup", &e))?;
            let n = f.read(&mut head).map_err(|e| io_error("reading the backup", &e))?;
            if n < head.len() {
                head = [0u8; 16];
            }
        }
        let is_sqlite = &head == SQLITE_MAGIC;
        match &self.target {
            Target::Sqlite(db) => {
                if !is_sqlite {
                    return Err(BackupError::Invalid(format!(
                        "{} is not an SQLite backup (this server runs on SQLite)",
                        file.display()
                    )));
                }
                self.sqlite_restore(db, &file).await
            }
            Target::MySql(target) => {
                if is_sqlite {
                    return Err(BackupError::Invalid(format!(
                        "{} is an SQLite backup; this server runs on MySQL",
                        file.display()
                    )));
                }
                let tool = Tool {
                    program: &self.mysql,
                    key: "backup_mysql",
                    install: "apt-get install mariadb-client",
                };
                let mut args = vec!["--batch".into()];
                args.extend(Self::mysql_connection_args(target));
                args.push(target.database.clone().into());
                let input = std::fs::File::open(&file).map_err(|e| io_error("opening the backup", &e))?;
                self.run(
                    &tool,
                    &args,
                    Some(Self::mysql_env(target)),
                    Stdio::from(input),
                    Stdio::piped(),
                    None,
                )
                .await
            }
        }
    }

    async fn sqlite_restore(&self, db: &Path, file: &Path) -> Result<(), BackupError> {
        let db = absolute_existing(db)?;
        let (Some(dir), Some(name)) = (file.parent(), file.file_name().and_then(|n| n.to_str())) else {
            return Err(BackupError::Invalid("the backup path has no file name".into()));
        };
        // The dot-command argument is single-quoted: nothing inside is special but the quote.
        if name.contains('\'') {
            return Err(BackupError::Invalid(
                "the backup file name may not contain a single quote".into(),
            ));
        }
        let tool = Tool {
            program: &self.sqlite3,
            key: "backup_sqlite3",
            install: "apt-get install sqlite3",
        };
        let args = [
            "-batch".into(),
            "-bail".into(),
            db.clone().into_os_string(),
            format!(".restore '{name}'").into(),
        ];
        match self
            .run(&tool, &args, None, Stdio::null(), Stdio::piped(), Some(dir))
            .await
        {
            Err(BackupError::ToolMissing { tool, .. }) => {
                log::warn!("`{tool}` is not installed: restoring by copying the file (the server must be stopped)");
                let staged = db.with_extension("restoring");
                tokio::fs::copy(file, &staged)
                    .await
                    .map_err(|e| io_error("copying the backup", &e))?;
                for suffix in ["-wal", "-shm"] {
                    let mut side = db.clone().into_os_string();
                    side.push(suffix);
                    let _ = tokio::fs::remove_file(PathBuf::from(side)).await;
                }
                tokio::fs::rename(&staged, &db)
                    .await
                    .map_err(|e| io_error("replacing the database", &e))
            }
            other => other,
        }
    }

    /// Run `tool` with `args` (an argument vector: no shell), with a timeout, stderr captured,
    /// and an environment of [`TOOL_ENV`] plus `env` only.
    async fn run(
        &self,
        tool: &Tool<'_>,
        args: &[std::ffi::OsString],
        env: Option<Vec<(&'static str, String)>>,
        stdin: Stdio,
        stdout: Stdio,
        cwd: Option<&Path>,
    ) -> Result<(), BackupError> {
        let mut command = Command::new(tool.program);
        command
            .args(args)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Nothing of the app's environment but what the tools need (see the module docs).
        command.env_clear();
        for key in TOOL_ENV {
            if let Some(value) = std::env::var_os(key) {
                command.env(key, value);
            }
        }
        for (key, value) in env.unwrap_or_default() {
            command.env(key, value);
        }
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let child = command.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                BackupError::ToolMissing {
                    tool: tool.program.to_owned(),
                    key: tool.key,
                    install: tool.install,
                }
            } else {
                BackupError::Io(format!("starting `{}`: {e}", tool.program))
            }
        })?;
        // On timeout the future is dropped with the child, which kill_on_drop kills.
        let output = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| BackupError::Timeout {
                tool: tool.program.to_owned(),
                secs: self.timeout.as_secs(),
            })?
            .map_err(|e| BackupError::Io(format!("running `{}`: {e}", tool.program)))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim();
        let tail: String = {
            let chars: Vec<char> = stderr.chars().collect();
            chars[chars.len().saturating_sub(600)..].iter().collect()
        };
        Err(BackupError::Failed {
            tool: tool.program.to_owned(),
            code: output.status.code(),
            reason: reason_of(stderr).to_owned(),
            stderr: if tail.is_empty() { "(no output)".into() } else { tail },
        })
    }

    /// The backups in the folder, newest first.
    pub fn list(&self) -> Result<Vec<BackupFile>, BackupError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(&format!("reading {}", self.dir.display()), &e)),
        };
        let mut files: Vec<BackupFile> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let meta = entry.metadata().ok()?;
                (is_backup_name(&name) && meta.is_file()).then(|| BackupFile {
                    size_text: human_size(meta.len()),
                    size: meta.len(),
                    created_at: meta.modified().map_or_else(|_| Utc::now(), DateTime::<Utc>::from),
                    name,
                })
            })
            .collect();
        // Names start with the UTC time they were made: name order is age order.
        files.sort_by(|a, b| b.name.cmp(&a.name));
        Ok(files)
    }

    /// The path of the backup called `name`, if there is one (names are checked, never joined
    /// blindly onto the folder).
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        if !is_backup_name(name) {
            return None;
        }
        let listed = self.list().ok()?.into_iter().any(|f| f.name == name);
        listed.then(|| self.dir.join(name))
    }

    /// Delete the backups beyond the newest `backup_keep`; returns the names deleted.
    pub fn prune(&self) -> Result<Vec<String>, BackupError> {
        let mut removed = Vec::new();
        for old in self.list()?.into_iter().skip(self.keep) {
            std::fs::remove_file(self.dir.join(&old.name)).map_err(|e| io_error("pruning old backups", &e))?;
            log::info!("pruned old backup {}", old.name);
            removed.push(old.name);
        }
        Ok(removed)
    }
}

fn absolute(path: &Path) -> Result<PathBuf, BackupError> {
    std::path::absolute(path).map_err(|e| io_error(&format!("resolving {}", path.display()), &e))
}

/// An existing file as an absolute path (it then never starts with `-`, and survives the
/// subprocess running in another folder).
fn absolute_existing(path: &Path) -> Result<PathBuf, BackupError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => absolute(path),
        Ok(_) => Err(BackupError::Invalid(format!("{} is not a file", path.display()))),
        Err(e) => Err(io_error(&format!("{}", path.display()), &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_urls_are_split_with_the_password_decoded() {
        let t = parse_mysql("mysql://app:p%40ss@db.example:3307/conduit?ssl-mode=required").unwrap();
        assert_eq!(
            (
                t.host.as_str(),
                t.port,
                t.user.as_str(),
                t.password.as_deref(),
                t.database.as_str()
            ),
            ("db.example", 3307, "app", Some("p@ss"), "conduit")
        );
        assert!(parse_mysql("mysql://app@db/-x").is_err());
    }

    #[test]
    fn sqlite_urls_name_a_file() {
        assert_eq!(
            parse_sqlite("sqlite://conduit.db").unwrap(),
            PathBuf::from("conduit.db")
        );
        assert_eq!(
            parse_sqlite("sqlite:///var/x.db?mode=rwc").unwrap(),
            PathBuf::from("/var/x.db")
        );
        assert!(parse_sqlite("sqlite::memory:").is_err());
    }

    #[test]
    fn only_our_own_backup_names_are_accepted() {
        assert!(is_backup_name("conduit-20261124T101530123Z-00af.sqlite"));
        assert!(is_backup_name("conduit-20261124T101530123Z-00af.sql"));
        assert!(!is_backup_name("../conduit-x.sql"));
        assert!(!is_backup_name("conduit-x/../../etc.sql"));
        assert!(!is_backup_name("conduit-x.sql.partial"));
        assert!(!is_backup_name("other.sql"));
    }

    #[test]
    fn only_the_end_of_a_dump_is_read_to_check_it() {
        use std::io::{Seek, SeekFrom, Write};
        let dir = tempfile::tempdir().unwrap();
        // A sparse 64 GiB "dump": reading it whole would take minutes and more memory than the
        // machine has; its tail is read in no time.
        let path = dir.path().join("huge.sql");
        let mut file = std::fs::File::create(&path).unwrap();
        file.set_len(64 << 30).unwrap();
        file.seek(SeekFrom::End(0)).unwrap();
        file.write_all(b"\n-- Dump completed on 2026-11-30 10:00:00\n").unwrap();
        assert!(dump_is_complete(&path).unwrap());
        // The closing line anywhere but at the end does not count.
        let early = dir.path().join("cut.sql");
        let mut file = std::fs::File::create(&early).unwrap();
        file.write_all(b"-- Dump completed on 2026-11-30\n").unwrap();
        file.set_len(1 << 20).unwrap();
        assert!(!dump_is_complete(&early).unwrap());
        // Short files are read from their start.
        std::fs::write(&early, "-- Dump completed\n").unwrap();
        assert!(dump_is_complete(&early).unwrap());
        std::fs::write(&early, "").unwrap();
        assert!(!dump_is_complete(&early).unwrap());
    }

    #[test]
    fn one_backup_holds_the_lock_at_a_time_and_leaves_no_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::take(dir.path()).expect("free");
        // A second open of the lock file, even in this process, is refused at once.
        assert!(matches!(RunLock::take(dir.path()), Err(BackupError::Busy)));
        drop(first);
        assert!(!dir.path().join(LOCK_FILE).exists(), "removed when released");
        let again = RunLock::take(dir.path()).expect("free again");
        drop(again);
    }

    #[test]
    fn backup_files_and_folders_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("a").join("backups");
        private_dir(&folder, true).unwrap();
        assert_eq!(std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&folder, false).unwrap();
        assert_eq!(
            std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777,
            0o755,
            "left alone"
        );
        private_dir(&folder, true).unwrap();
        assert_eq!(
            std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777,
            0o700,
            "tightened"
        );
        let file = folder.join("x.partial");
        drop(private_file(&file).unwrap());
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(private_file(&file).is_err(), "never opens an existing file");
    }

    #[test]
    fn failures_get_a_plain_reason() {
        assert_eq!(
            reason_of("mysqldump: Got error: 1045: \"Access denied for user\""),
            "the database refused the user name or password"
        );
        assert_eq!(reason_of("write error: No space left on device"), "the disk is full");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_500_000), "1.5 MB");
    }
}
