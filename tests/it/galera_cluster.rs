//! The 3-node MariaDB Galera cluster the Galera tests ([`crate::galera`]) share: started on
//! loopback ports by the first of them ([`crate::mariadb_server`] servers with the `galera-4`
//! provider; the joiners get their data by rsync), an account for the apps, and what the
//! tests check a node with.

use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rocket::local::asynchronous::Client;
use rocket::tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use sqlx::{Connection, MySqlConnection};

use crate::harness::test_figment;
use crate::mariadb_server::{available, free_port, MariaDbServer, ServerOptions};

/// The wsrep provider of Debian's `galera-4`.
const PROVIDER: &str = "/usr/lib/galera/libgalera_smm.so";
const USER: &str = "conduit_galera";
const PASSWORD: &str = "galera-pw-51c3";

/// The ports of one node: SQL, group communication, incremental and snapshot state transfer.
#[derive(Clone, Copy)]
pub struct Ports {
    sql: u16,
    group: u16,
    ist: u16,
    sst: u16,
}

/// The cluster: its ports, fixed for the run, and its running nodes.
pub struct Cluster {
    /// Each node's ports.
    pub ports: [Ports; 3],
    /// The running nodes (`None`: stopped by a test).
    pub nodes: Mutex<[Option<MariaDbServer>; 3]>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
/// Tests hold it for reading; the one that stops a node holds it for writing, alone.
static EXCLUSIVE: RwLock<()> = RwLock::const_new(());

/// Whether the cluster can be started (`false`: skip reported, unless MySQL is required).
pub fn galera_available(test: &str) -> bool {
    if !available(test) {
        return false;
    }
    let rsync = std::process::Command::new("rsync")
        .arg("--version")
        .output()
        .is_ok();
    if Path::new(PROVIDER).exists() && rsync {
        return true;
    }
    crate::harness::skip_without_mysql(
        test,
        &format!("{PROVIDER} or rsync is missing"),
        "apt-get install galera-4 rsync",
    );
    false
}

/// A test's place on the shared cluster: the cluster, a fresh database on it, and its turn
/// (`G`: a read guard of [`EXCLUSIVE`] for the tests that share the cluster, the write guard
/// for one that stops a node), held as long as this is.
pub struct OnCluster<G> {
    /// The cluster.
    pub cluster: &'static Cluster,
    /// The test's database.
    pub db: String,
    _turn: G,
}

/// The cluster, shared with the other tests, and a fresh database on it; `None` (skip
/// reported) when it cannot run.
pub async fn shared(test: &str) -> Option<OnCluster<RwLockReadGuard<'static, ()>>> {
    if !galera_available(test) {
        return None;
    }
    let turn = EXCLUSIVE.read().await;
    Some(OnCluster::new(turn))
}

/// The cluster to this test alone (it stops a node), and a fresh database on it.
pub async fn alone(test: &str) -> Option<OnCluster<RwLockWriteGuard<'static, ()>>> {
    if !galera_available(test) {
        return None;
    }
    let turn = EXCLUSIVE.write().await;
    Some(OnCluster::new(turn))
}

impl<G> OnCluster<G> {
    fn new(turn: G) -> Self {
        let cluster = cluster();
        Self {
            db: cluster.database(),
            cluster,
            _turn: turn,
        }
    }

    /// An app on node `i`, with `galera_sync_wait`.
    pub async fn app(&self, i: usize, sync_wait: u8) -> Client {
        app(self.cluster, i, &self.db, sync_wait).await
    }

    /// A session on node `i` that waits for the cluster before reading.
    pub async fn checker(&self, i: usize) -> MySqlConnection {
        checker(self.cluster, i, &self.db).await
    }
}

/// `mariadbd` arguments for node `i` of a cluster on `ports`.
fn node_args(ports: &[Ports; 3], i: usize, bootstrap: bool) -> Vec<String> {
    let me = ports[i];
    let members: Vec<String> = ports
        .iter()
        .map(|p| format!("127.0.0.1:{}", p.group))
        .collect();
    let mut args = vec![
        "--wsrep_on=ON".to_owned(),
        format!("--wsrep_provider={PROVIDER}"),
        format!("--wsrep_cluster_address=gcomm://{}", members.join(",")),
        "--wsrep_cluster_name=conduit_test".to_owned(),
        format!("--wsrep_node_name=node{}", i + 1),
        "--binlog_format=ROW".to_owned(),
        "--default_storage_engine=InnoDB".to_owned(),
        "--innodb_autoinc_lock_mode=2".to_owned(),
        "--wsrep_sst_method=rsync".to_owned(),
        format!("--wsrep_node_address=127.0.0.1:{}", me.group),
        format!(
            "--wsrep_provider_options=base_port={};ist.recv_addr=127.0.0.1:{};gcache.size=32M",
            me.group, me.ist
        ),
        format!("--wsrep_sst_receive_address=127.0.0.1:{}", me.sst),
    ];
    if bootstrap {
        args.push("--wsrep-new-cluster".to_owned());
    }
    args
}

pub fn start_node(ports: &[Ports; 3], i: usize, bootstrap: bool) -> MariaDbServer {
    MariaDbServer::start(ServerOptions {
        port: Some(ports[i].sql),
        initialise: bootstrap,
        tls_names: None,
        extra_args: node_args(ports, i, bootstrap),
        ready_within: Duration::from_secs(90),
    })
}

/// Whether every running node sees `size` members and is synced.
fn synced(nodes: &[Option<MariaDbServer>; 3], size: usize) -> bool {
    nodes.iter().flatten().all(|node| {
        let status = node
            .try_sql(
                "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN \
                 ('wsrep_cluster_size', 'wsrep_local_state_comment') ORDER BY VARIABLE_NAME",
            )
            .unwrap_or_default();
        status.split_whitespace().collect::<Vec<_>>() == [size.to_string().as_str(), "Synced"]
    })
}

pub fn wait_synced(nodes: &[Option<MariaDbServer>; 3], size: usize) {
    let started = Instant::now();
    while !synced(nodes, size) {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the cluster did not reach {size} synced nodes"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The shared cluster, started on first use (node 1 bootstraps, 2 and 3 join by SST).
fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let ports = [(); 3].map(|()| Ports {
            sql: free_port(),
            group: free_port(),
            ist: free_port(),
            sst: free_port(),
        });
        let first = start_node(&ports, 0, true);
        // A bootstrapped node answers before it takes statements (1047 "WSREP has not yet
        // prepared node for application use"): wait until it is ready.
        let ready = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !first
            .try_sql("SHOW STATUS LIKE 'wsrep_ready'")
            .is_ok_and(|s| s.ends_with("ON"))
        {
            assert!(
                std::time::Instant::now() < ready,
                "node 1 never became ready"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        // Replicated to the joiners with the rest of the data.
        first.sql(&format!(
            "CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'; \
             GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%';"
        ));
        let (second, third) = std::thread::scope(|s| {
            let second = s.spawn(|| start_node(&ports, 1, false));
            let third = s.spawn(|| start_node(&ports, 2, false));
            (
                second.join().expect("node 2"),
                third.join().expect("node 3"),
            )
        });
        let nodes = [Some(first), Some(second), Some(third)];
        wait_synced(&nodes, 3);
        Cluster {
            ports,
            nodes: Mutex::new(nodes),
        }
    })
}

impl Cluster {
    /// The app account's URL for `database` on node `i` (0-based).
    pub fn url(&self, i: usize, database: &str) -> String {
        format!(
            "mysql://{USER}:{PASSWORD}@127.0.0.1:{}/{database}",
            self.ports[i].sql
        )
    }

    /// A fresh database (created on node 1, replicated).
    pub fn database(&self) -> String {
        let name = format!("conduit_g_{:016x}", rand::random::<u64>());
        let nodes = self.nodes.lock().expect("nodes");
        nodes[0].as_ref().expect("node 1 runs").sql(&format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ));
        // A DDL statement is replicated in total order but applied by each node in its own
        // time: node 1 answered once it had applied it, and on a loaded machine another node
        // still said "Unknown database" to an app started at once (CI-like load failed so).
        let check = format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        for node in nodes.iter().flatten() {
            while node.try_sql(&check).as_deref() != Ok("1") {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{name} did not reach every node"
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        name
    }
}

/// An app on node `i`'s URL for `database`, with `galera_sync_wait`.
async fn app(cluster: &Cluster, i: usize, database: &str, sync_wait: u8) -> Client {
    let figment = test_figment(&cluster.url(i, database))
        .merge(("databases.main.galera_sync_wait", sync_wait));
    Client::untracked(conduit::rocket_with(figment))
        .await
        .expect("the app starts on the cluster")
}

/// A session on node `i` that waits for the cluster before reading (`wsrep_sync_wait`).
async fn checker(cluster: &Cluster, i: usize, database: &str) -> MySqlConnection {
    let mut conn = MySqlConnection::connect(&cluster.url(i, database))
        .await
        .expect("connect to the node");
    sqlx::query("SET SESSION wsrep_sync_wait = 1")
        .execute(&mut conn)
        .await
        .expect("wsrep_sync_wait");
    conn
}

pub async fn count(conn: &mut MySqlConnection, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every counter on `conn`'s node against a fresh count there.
pub async fn assert_counters_fresh(conn: &mut MySqlConnection) {
    for (what, sql) in [
        (
            "favorite_counts",
            "SELECT COUNT(*) FROM articles a WHERE COALESCE((SELECT SUM(c.n) FROM favorite_counts c \
             WHERE c.article_id = a.id), 0) <> (SELECT COUNT(*) FROM favorites f WHERE f.article_id = a.id)",
        ),
        (
            "tag_counts",
            "SELECT COUNT(*) FROM tags t WHERE COALESCE((SELECT SUM(c.n) FROM tag_counts c \
             WHERE c.tag_id = t.id), 0) <> (SELECT COUNT(*) FROM article_tags at WHERE at.tag_id = t.id)",
        ),
        (
            "articles_count",
            "SELECT COUNT(*) FROM users u WHERE u.articles_count <> \
             (SELECT COUNT(*) FROM articles a WHERE a.author_id = u.id)",
        ),
        (
            "counts",
            "SELECT CAST(SUM(value) AS SIGNED) - (SELECT COUNT(*) FROM articles) FROM counts \
             WHERE name = 'articles'",
        ),
    ] {
        assert_eq!(count(conn, sql).await, 0, "{what} differs from a fresh count");
    }
}
