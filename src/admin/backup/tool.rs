//! Running the engines' own tools: `mysqldump` and `mysql` for MySQL, the `sqlite3` shell for
//! SQLite (with `VACUUM INTO` and a file copy as fallbacks), each as an argument vector with a
//! cleared environment, a timeout and its stderr captured.
//!
//! The MySQL tools connect as the app does, TLS included ([`tls_args`]). A restore first makes
//! sure its target exists (an SQLite file, a MySQL database): restoring is what a fresh machine
//! does first.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::files::{
    absolute, absolute_existing, dump_is_complete, has_sqlite_header, private_file, SQLITE_MAGIC,
};
use super::{io_error, reason_of, BackupError, Backups, MySqlTarget, Target};
use crate::db::server::{self, Database};
use crate::db::url::{DbUrl, MySqlTls, MySqlUrl, TlsMode};
use crate::db::DbPool;

/// The variables a backup tool may inherit from the app; everything else is cleared.
const TOOL_ENV: [&str; 4] = ["PATH", "LANG", "LC_ALL", "TZ"];

/// A program to run and how to explain its absence.
struct Tool<'a> {
    program: &'a str,
    key: &'static str,
    install: &'static str,
}

impl Backups {
    pub(super) async fn sqlite_backup(
        &self,
        db: &Path,
        dir: &Path,
        partial: &str,
    ) -> Result<(), BackupError> {
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
        let mut args: Vec<std::ffi::OsString> = vec![
            "--protocol=TCP".into(),
            format!("--host={}", target.host).into(),
            format!("--port={}", target.port).into(),
            format!("--user={}", target.user).into(),
            "--default-character-set=utf8mb4".into(),
        ];
        args.extend(tls_args(&target.tls));
        args
    }

    /// The database URL as the pool reads it (for sessions the app opens itself).
    fn mysql_url(&self) -> Result<MySqlUrl, BackupError> {
        match DbUrl::parse(&self.url) {
            Ok(DbUrl::MySql(url)) => Ok(url),
            Ok(DbUrl::Sqlite(_)) => Err(BackupError::Invalid("not a MySQL URL".into())),
            Err(e) => Err(BackupError::Invalid(e.to_string())),
        }
    }

    /// With `ssl-mode=REQUIRED` the MariaDB tools would fall back to plain text on a server
    /// without TLS (they can only insist when they verify): the app's own session, which does
    /// insist, is tried first.
    async fn check_required_tls(&self, target: &MySqlTarget) -> Result<(), BackupError> {
        if target.tls.mode != TlsMode::Required {
            return Ok(());
        }
        server::check_connect(&self.mysql_url()?)
            .await
            .map_err(|e| BackupError::Io(e.to_string()))
    }

    pub(super) async fn mysql_backup(
        &self,
        target: &MySqlTarget,
        file: std::fs::File,
    ) -> Result<(), BackupError> {
        let tool = Tool {
            program: &self.mysqldump,
            key: "backup_mysqldump",
            install: "apt-get install mariadb-client",
        };
        self.check_required_tls(target).await?;
        let mut args: Vec<std::ffi::OsString> =
            vec!["--single-transaction".into(), "--no-tablespaces".into()];
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
    pub(super) async fn check_backup(&self, path: &Path) -> Result<(), BackupError> {
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
            let mut f =
                std::fs::File::open(&file).map_err(|e| io_error("opening the backup", &e))?;
            let n = f
                .read(&mut head)
                .map_err(|e| io_error("reading the backup", &e))?;
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
                // On a fresh server the database is created first (when the user may).
                match server::ensure_database(&self.mysql_url()?).await {
                    Ok(Database::Created) => {
                        log::info!("created the MySQL database `{}`", target.database);
                    }
                    Ok(Database::Existed) => {}
                    Err(e) => return Err(BackupError::Io(e.to_string())),
                }
                let tool = Tool {
                    program: &self.mysql,
                    key: "backup_mysql",
                    install: "apt-get install mariadb-client",
                };
                let mut args = vec!["--batch".into()];
                args.extend(Self::mysql_connection_args(target));
                args.push(target.database.clone().into());
                let input =
                    std::fs::File::open(&file).map_err(|e| io_error("opening the backup", &e))?;
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
        if !db.exists() {
            // A fresh machine: the database file (and its folder) is created here, empty and
            // 0600 like a backup, and the restore fills it.
            if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
                // Private like the backup folder (0700): the database holds every account.
                std::os::unix::fs::DirBuilderExt::mode(
                    std::fs::DirBuilder::new().recursive(true),
                    0o700,
                )
                .create(parent)
                .map_err(|e| io_error(&format!("creating {}", parent.display()), &e))?;
            }
            drop(private_file(db)?);
            log::info!("created the SQLite database file {}", db.display());
        }
        let db = absolute_existing(db)?;
        let (Some(dir), Some(name)) = (file.parent(), file.file_name().and_then(|n| n.to_str()))
        else {
            return Err(BackupError::Invalid(
                "the backup path has no file name".into(),
            ));
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
    // The one place that starts a subprocess, with the environment cleared (clippy.toml).
    #[allow(clippy::disallowed_methods)]
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
            stderr: if tail.is_empty() {
                "(no output)".into()
            } else {
                tail
            },
        })
    }
}

/// The MariaDB client's TLS options for a URL's TLS settings. MariaDB's clients (the ones
/// installed: 10.x) have no `--ssl-mode`; they take `--ssl`, `--skip-ssl` and
/// `--ssl-verify-server-cert`, and can only refuse a server without TLS when they verify its
/// certificate:
///
/// - `DISABLED`: `--skip-ssl`;
/// - `PREFERRED`, `REQUIRED`: `--ssl --skip-ssl-verify-server-cert` (for `REQUIRED` the app's own session proves TLS first,
///   see `check_required_tls`);
/// - `VERIFY_CA`, `VERIFY_IDENTITY`: `--ssl --ssl-verify-server-cert`, which checks the host
///   name as well as the CA (the tools have no CA-only check: for them `VERIFY_CA` is as strict
///   as `VERIFY_IDENTITY`);
///
/// then `--ssl-ca`, `--ssl-cert`, `--ssl-key` as the URL gives them (not with `DISABLED`:
/// each implies `--ssl`).
fn tls_args(tls: &MySqlTls) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    match tls.mode {
        TlsMode::Disabled => return vec!["--skip-ssl".into()],
        TlsMode::Preferred | TlsMode::Required => {
            // Said outright: MariaDB's clients from 11.4 verify by default, which these modes
            // do not ask for (and the pool does not do).
            args.push("--ssl".into());
            args.push("--skip-ssl-verify-server-cert".into());
        }
        TlsMode::VerifyCa | TlsMode::VerifyIdentity => {
            args.push("--ssl".into());
            args.push("--ssl-verify-server-cert".into());
        }
    }
    for (option, file) in [
        ("--ssl-ca=", &tls.ca),
        ("--ssl-cert=", &tls.cert),
        ("--ssl-key=", &tls.key),
    ] {
        if let Some(file) = file {
            let mut arg = std::ffi::OsString::from(option);
            arg.push(file);
            args.push(arg);
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args_of(url: &str) -> Vec<String> {
        let DbUrl::MySql(url) = DbUrl::parse(url).unwrap() else {
            panic!("mysql")
        };
        tls_args(url.tls())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn the_tools_get_the_urls_tls_settings_in_mariadb_client_options() {
        assert_eq!(
            args_of("mysql://h/c"),
            ["--ssl", "--skip-ssl-verify-server-cert"]
        );
        assert_eq!(
            args_of("mysql://h/c?ssl-mode=DISABLED&ssl-ca=ca.pem"),
            ["--skip-ssl"]
        );
        assert_eq!(
            args_of("mysql://h/c?ssl-mode=REQUIRED"),
            ["--ssl", "--skip-ssl-verify-server-cert"]
        );
        assert_eq!(
            args_of("mysql://h/c?ssl-mode=VERIFY_CA&ssl-ca=%2Fetc%2Fca.pem"),
            ["--ssl", "--ssl-verify-server-cert", "--ssl-ca=/etc/ca.pem"]
        );
        assert_eq!(
            args_of(
                "mysql://h/c?ssl-mode=verify_identity&ssl-ca=ca.pem&ssl-cert=c.pem&ssl-key=k.pem"
            ),
            [
                "--ssl",
                "--ssl-verify-server-cert",
                "--ssl-ca=ca.pem",
                "--ssl-cert=c.pem",
                "--ssl-key=k.pem"
            ]
        );
    }
}
