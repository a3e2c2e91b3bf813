//! The backup folder: which names are backups, listing and pruning them, private folders and
//! files, the one-backup-at-a-time lock, and checking that a backup is complete.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{io_error, BackupError, BackupFile, Backups};

#[allow(clippy::cast_precision_loss)] // sizes are shown with one decimal
pub(super) fn human_size(bytes: u64) -> String {
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

pub(super) const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
const MYSQL_DUMP_END: &str = "-- Dump completed";
/// How much of a dump's end is read to find [`MYSQL_DUMP_END`] (its last line).
const DUMP_TAIL: u64 = 512;
/// The lock file in the backup folder (a dot name: never listed, never a backup name).
const LOCK_FILE: &str = ".conduit-backup.lock";

/// Create `dir` (and missing parents) with mode 0700. With `tighten`, an existing folder that
/// others may read or enter is made 0700 too (the configured backup folder is ours; a folder
/// named by `conduit backup --out` is the operator's and is left as it is).
pub(super) fn private_dir(dir: &Path, tighten: bool) -> Result<(), BackupError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_error(&format!("creating {}", dir.display()), &e))?;
    if tighten {
        let meta = std::fs::metadata(dir)
            .map_err(|e| io_error(&format!("reading {}", dir.display()), &e))?;
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
pub(super) fn private_file(path: &Path) -> Result<std::fs::File, BackupError> {
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
pub(super) struct RunLock {
    file: std::fs::File,
    path: PathBuf,
}

impl RunLock {
    /// Take the lock in `dir`, or [`BackupError::Busy`] at once if someone holds it.
    pub(super) fn take(dir: &Path) -> Result<Self, BackupError> {
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
            let ours = file
                .metadata()
                .map_err(|e| io_error("reading the lock file", &e))?;
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
pub(super) fn dump_is_complete(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(DUMP_TAIL)))?;
    let mut tail = Vec::with_capacity(usize::try_from(DUMP_TAIL).unwrap_or(512));
    file.take(DUMP_TAIL).read_to_end(&mut tail)?;
    Ok(String::from_utf8_lossy(&tail).contains(MYSQL_DUMP_END))
}

/// Whether the file at `path` starts with SQLite's header. Reads 16 bytes.
pub(super) fn has_sqlite_header(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = Vec::with_capacity(SQLITE_MAGIC.len());
    std::fs::File::open(path)?
        .take(SQLITE_MAGIC.len() as u64)
        .read_to_end(&mut head)?;
    Ok(head == SQLITE_MAGIC)
}

impl Backups {
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
                    created_at: meta
                        .modified()
                        .map_or_else(|_| Utc::now(), DateTime::<Utc>::from),
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
            std::fs::remove_file(self.dir.join(&old.name))
                .map_err(|e| io_error("pruning old backups", &e))?;
            log::info!("pruned old backup {}", old.name);
            removed.push(old.name);
        }
        Ok(removed)
    }
}

pub(super) fn absolute(path: &Path) -> Result<PathBuf, BackupError> {
    std::path::absolute(path).map_err(|e| io_error(&format!("resolving {}", path.display()), &e))
}

/// An existing file as an absolute path (it then never starts with `-`, and survives the
/// subprocess running in another folder).
pub(super) fn absolute_existing(path: &Path) -> Result<PathBuf, BackupError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => absolute(path),
        Ok(_) => Err(BackupError::Invalid(format!(
            "{} is not a file",
            path.display()
        ))),
        Err(e) => Err(io_error(&format!("{}", path.display()), &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        file.write_all(b"\n-- Dump completed on 2026-11-30 10:00:00\n")
            .unwrap();
        assert!(dump_is_complete(&path).unwrap());
        // The closing line anywhere but at the end does not count.
        let early = dir.path().join("cut.sql");
        let mut file = std::fs::File::create(&early).unwrap();
        file.write_all(b"-- Dump completed on 2026-11-30\n")
            .unwrap();
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
        assert!(
            !dir.path().join(LOCK_FILE).exists(),
            "removed when released"
        );
        let again = RunLock::take(dir.path()).expect("free again");
        drop(again);
    }

    #[test]
    fn backup_files_and_folders_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("a").join("backups");
        private_dir(&folder, true).unwrap();
        assert_eq!(
            std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777,
            0o700
        );
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
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(private_file(&file).is_err(), "never opens an existing file");
    }
}
