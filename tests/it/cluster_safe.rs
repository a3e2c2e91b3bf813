//! Nothing a Galera cluster refuses or does not replicate (issue 23): no `LOCK TABLES`, no
//! `FLUSH TABLES … WITH READ LOCK`, no `GET_LOCK` family (each node keeps its own), no table
//! outside `InnoDB`, and every table the MySQL migrations create has a primary key. The
//! cluster tests see what runs; this scan sees every statement in the source, also those no
//! test on the cluster happens to reach.

use std::path::{Path, PathBuf};

/// What Galera refuses or keeps to one node, lower-case.
const REFUSED: &[&str] = &[
    "lock tables",
    "lock table ",
    "unlock tables",
    "with read lock",
    "get_lock(",
    "release_lock(",
    "is_free_lock(",
    "is_used_lock(",
    "engine=myisam",
    "engine=memory",
    "engine=aria",
    "engine=csv",
];

/// The refused constructs in `text` (comments, `//` and `--` lines, left out): `(line, what)`.
fn refused(text: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") || code.starts_with("--") {
            continue;
        }
        let squeezed = code.to_lowercase().replace("engine = ", "engine=");
        for what in REFUSED {
            if squeezed.contains(what) {
                found.push((n + 1, *what));
            }
        }
    }
    found
}

/// The `CREATE TABLE` statements in `sql` without a primary key: their first lines.
fn tables_without_primary_key(sql: &str) -> Vec<String> {
    let lower = sql.to_lowercase();
    lower
        .match_indices("create table")
        .filter_map(|(at, _)| {
            let statement = &lower[at..at + lower[at..].find(';').unwrap_or(lower.len() - at)];
            (!statement.contains("primary key"))
                .then(|| statement.lines().next().unwrap_or_default().to_owned())
        })
        .collect()
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

#[test]
fn no_statement_galera_refuses_and_every_mysql_table_has_a_primary_key() {
    // The scans find what they must (so an empty result means something).
    let sample = "sqlx::query(\"LOCK TABLES articles WRITE\")\n// GET_LOCK in a comment\n\
                  \"SELECT GET_LOCK('m', 10)\"\nCREATE TABLE t (id INT) ENGINE = MyISAM;\n\
                  -- FLUSH TABLES WITH READ LOCK\n\"FLUSH TABLES WITH READ LOCK\"";
    assert_eq!(
        refused(sample),
        vec![
            (1, "lock tables"),
            (3, "get_lock("),
            (4, "engine=myisam"),
            (6, "with read lock")
        ]
    );
    assert_eq!(
        tables_without_primary_key(
            "CREATE TABLE a (id BIGINT NOT NULL PRIMARY KEY);\nCREATE TABLE b (\n  x INT\n);\n\
             CREATE TABLE IF NOT EXISTS c (x INT, y INT, PRIMARY KEY (x, y));"
        ),
        vec!["create table b ("]
    );

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    files(&root.join("src"), "rs", &mut sources);
    files(&root.join("migrations/mysql"), "sql", &mut sources);
    assert!(sources.len() > 50, "sources found: {}", sources.len());
    let mut offenders = Vec::new();
    let mut created = 0;
    for file in &sources {
        let text = std::fs::read_to_string(file).expect("a source file is text");
        let name = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        for (line, what) in refused(&text) {
            offenders.push(format!("{name}:{line}: {what}"));
        }
        if file.extension().is_some_and(|e| e == "sql") {
            created += text.to_lowercase().matches("create table").count();
            for table in tables_without_primary_key(&text) {
                offenders.push(format!("{name}: no primary key: {table}"));
            }
        }
    }
    assert!(created > 20, "CREATE TABLE statements found: {created}");
    assert!(
        offenders.is_empty(),
        "not for a Galera cluster:\n{}",
        offenders.join("\n")
    );

    // sqlx's MySQL migrator takes GET_LOCK unless told not to; the app's own replicated
    // lock (db::migration_lock) stands in for it.
    let pool = std::fs::read_to_string(root.join("src/db/pool.rs")).expect("pool.rs");
    assert!(
        pool.contains("set_locking(false)"),
        "the MySQL migrator must not take GET_LOCK"
    );
}
