//! The settings every new MySQL session starts with: strict SQL mode, UTC, a `group_concat`
//! limit, and on a Galera cluster, when configured, `wsrep_sync_wait`.

use std::future::Future;
use std::pin::Pin;

use sqlx::mysql::MySqlConnection;
use sqlx::Executor;

/// The session settings of every MySQL connection. A strict SQL mode: sqlx does not set one,
/// and without it MySQL silently truncates over-long strings (SECURITY.md traps). UTC. And a
/// `group_concat` limit that fits what we concatenate (an article's tag list, the popular
/// tags): MySQL's default is 1024 bytes, and a longer result is cut with only a warning.
///
/// With `galera_sync_wait` set, the session also waits for the cluster before the statements
/// it names (`wsrep_sync_wait`): see [`mysql_session_sql`].
const MYSQL_SESSION: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', group_concat_max_len = 1048576";

/// Every new MySQL connection: runs `sql` (made by [`mysql_session_sql`]).
pub fn mysql_session<'c>(
    conn: &'c mut MySqlConnection,
    sql: &'c str,
) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>> {
    Box::pin(async move { conn.execute(sql).await.map(|_| ()) })
}

/// The `SET` statement a new MySQL session runs: [`MYSQL_SESSION`], and with
/// `galera_sync_wait` above 0 `wsrep_sync_wait` (a MariaDB/Galera variable, a bit mask: 1
/// reads, 2 updates and deletes, 4 inserts, 8 `SHOW`): before each such statement the node
/// waits until it has applied every transaction the cluster committed before it, so a user
/// whose next request lands on another node reads what they just wrote. The cost is a round
/// of the cluster's messages before each of those statements. 0 sets nothing (a MySQL server
/// without the variable keeps working).
pub fn mysql_session_sql(galera_sync_wait: u8) -> String {
    if galera_sync_wait == 0 {
        MYSQL_SESSION.to_owned()
    } else {
        format!("{MYSQL_SESSION}, wsrep_sync_wait = {galera_sync_wait}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_wait_is_set_only_when_asked_for() {
        assert_eq!(mysql_session_sql(0), MYSQL_SESSION);
        let with = mysql_session_sql(1);
        assert!(with.starts_with(MYSQL_SESSION), "{with}");
        assert!(with.ends_with(", wsrep_sync_wait = 1"), "{with}");
    }
}
