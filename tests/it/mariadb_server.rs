//! A MariaDB server of the test's own: a fresh data directory (`mariadb-install-db`),
//! `/usr/sbin/mariadbd` on a free TCP port of 127.0.0.1 with its own socket and pid file, TLS
//! with a certificate from a CA made at test time ([`TestCa`], `rcgen`), and root reachable
//! through the socket for setting up users ([`MariaDbServer::sql`]).
//!
//! Reusable: the caller picks the port or lets one be found, adds `--option=value` arguments
//! (Galera nodes need several), and may start on an empty data directory (a Galera joiner gets
//! its data by SST). Several servers can run at once.
//!
//! Cleanup does not depend on `Drop` (a server shared through a `static` is never dropped):
//! `mariadbd` runs under a small `sh` watchdog whose stdin is a pipe from this process. When
//! the pipe closes (the server is dropped, or the test process ends in any way, even killed),
//! the watchdog stops `mariadbd` and deletes the server's folder.
//!
//! When `mariadbd` is missing the tests using this report the skip, unless
//! `CONDUIT_TEST_REQUIRE_MYSQL=1`, which makes them fail (like the harness's MySQL variants).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The server binary and the data directory initialiser (Debian's paths).
pub const MARIADBD: &str = "/usr/sbin/mariadbd";
const INSTALL_DB: &str = "mariadb-install-db";

/// A certificate authority made for one test run, able to sign server certificates.
pub struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    /// The CA certificate, PEM.
    pub pem: String,
}

impl TestCa {
    /// A new self-signed CA named `name`.
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let pem = params.self_signed(&key).expect("CA certificate").pem();
        Self { params, key, pem }
    }

    /// A server certificate for `names` (DNS names or IP addresses, as subject alternative
    /// names): (certificate PEM, key PEM).
    pub fn server_cert(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().expect("server key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("server params");
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        (cert.pem(), key.serialize_pem())
    }
}

/// How to start a server.
pub struct ServerOptions {
    /// TCP port on 127.0.0.1; `None`: a free one.
    pub port: Option<u16>,
    /// Run `mariadb-install-db` first (`false`: an empty data directory, as a Galera joiner).
    pub initialise: bool,
    /// TLS: the server certificate's subject alternative names (`None`: no TLS).
    pub tls_names: Option<Vec<String>>,
    /// More `--option=value` arguments for `mariadbd`.
    pub extra_args: Vec<String>,
    /// How long to wait for root to log in (a Galera joiner first receives its data).
    pub ready_within: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            port: None,
            initialise: true,
            tls_names: Some(vec!["localhost".to_owned()]),
            extra_args: Vec::new(),
            ready_within: Duration::from_secs(90),
        }
    }
}

/// A running `mariadbd`. Dropping it stops the server and deletes its folder.
pub struct MariaDbServer {
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// The server's folder (data directory, socket, certificates, log).
    pub dir: PathBuf,
    /// The unix socket (root logs in there, without a password).
    pub socket: PathBuf,
    /// The CA that signed the server certificate (`None` without TLS); its PEM is `ca.pem`
    /// in [`dir`](Self::dir).
    pub ca: Option<TestCa>,
    watchdog: Option<Child>,
}

/// A free TCP port on 127.0.0.1 (free when asked: the server binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Whether this process runs as root (`mariadbd` then needs `--user=root`).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Whether `mariadbd` is installed; `false` (skip reported) only when the run does not require
/// MySQL (`CONDUIT_TEST_REQUIRE_MYSQL=1` makes a missing server a failure).
pub fn available(test: &str) -> bool {
    if Path::new(MARIADBD).exists() {
        return true;
    }
    crate::harness::skip_without_mysql(
        test,
        &format!("{MARIADBD} is not installed"),
        "apt-get install mariadb-server",
    );
    false
}

/// A Galera joiner's data arrives by rsync, whose daemon (started by mariadbd's SST script)
/// drops root for `nobody`: it must be able to reach and fill the data directory.
fn open_to_rsync(dir: &Path, data: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("server dir mode");
    std::os::unix::fs::chown(data, Some(65534), Some(65534)).expect("chown data dir");
}

/// Watches stdin: when it closes, stops the server (`$pid`) and deletes the folder (`$1`).
const WATCHDOG: &str = r#"dir="$1"; shift
exec 3<&0
"$@" </dev/null >"$dir/mariadbd.out" 2>&1 &
pid=$!
( cat <&3 >/dev/null; kill "$pid" 2>/dev/null ) &
wait "$pid"
status=$?
rm -rf "$dir"
exit "$status""#;

impl MariaDbServer {
    /// Start a server as `options` say and wait until root can log in (blocking: a few
    /// seconds). Panics with the server's log when it does not come up.
    pub fn start(options: ServerOptions) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("conduit-mariadb-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let data = dir.join("data");
        // A temp folder of its own: bootstraps running at once in a shared /tmp clash on their
        // temporary tables ("Unknown table 'mysql.tmp_user_sys'").
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).expect("server temp dir");
        let root = running_as_root();
        if options.initialise {
            let mut install = Command::new(INSTALL_DB);
            install.args([
                "--no-defaults".to_owned(),
                "--auth-root-authentication-method=normal".to_owned(),
                "--skip-test-db".to_owned(),
                "--skip-name-resolve".to_owned(),
                format!("--datadir={}", data.display()),
                format!("--tmpdir={}", tmp.display()),
            ]);
            if root {
                install.arg("--user=root");
            }
            let out = install.output().expect("run mariadb-install-db");
            if !out.status.success() {
                // No watchdog yet to delete the folder.
                let _ = std::fs::remove_dir_all(&dir);
                panic!(
                    "mariadb-install-db failed: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        } else {
            std::fs::create_dir_all(&data).expect("data dir");
            if root {
                open_to_rsync(&dir, &data);
            }
        }
        let port = options.port.unwrap_or_else(free_port);
        let socket = dir.join("mysqld.sock");
        let mut args = vec![
            "--no-defaults".to_owned(),
            format!("--datadir={}", data.display()),
            format!("--tmpdir={}", tmp.display()),
            format!("--port={port}"),
            "--bind-address=127.0.0.1".to_owned(),
            format!("--socket={}", socket.display()),
            format!("--pid-file={}", dir.join("mariadbd.pid").display()),
            format!("--log-error={}", dir.join("error.log").display()),
            "--skip-name-resolve".to_owned(),
            "--skip-log-bin".to_owned(),
            "--innodb-buffer-pool-size=32M".to_owned(),
            "--character-set-server=utf8mb4".to_owned(),
            "--collation-server=utf8mb4_unicode_ci".to_owned(),
        ];
        if root {
            args.push("--user=root".to_owned());
        }
        let ca = options.tls_names.as_ref().map(|names| {
            let ca = TestCa::new("Conduit test CA");
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let (cert, key) = ca.server_cert(&names);
            let write = |name: &str, text: &str| {
                let path = dir.join(name);
                std::fs::write(&path, text).expect("write certificate");
                path
            };
            args.push(format!("--ssl-ca={}", write("ca.pem", &ca.pem).display()));
            args.push(format!(
                "--ssl-cert={}",
                write("server-cert.pem", &cert).display()
            ));
            args.push(format!(
                "--ssl-key={}",
                write("server-key.pem", &key).display()
            ));
            ca
        });
        args.extend(options.extra_args);
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("conduit-mariadb-watchdog")
            .arg(&dir)
            .arg(MARIADBD)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        let mut server = Self {
            port,
            dir,
            socket,
            ca,
            watchdog: Some(watchdog),
        };
        server.wait_until_ready(options.ready_within);
        server
    }

    fn wait_until_ready(&mut self, limit: Duration) {
        let started = Instant::now();
        loop {
            if self.try_sql("SELECT 1").is_ok() {
                return;
            }
            let exited = self
                .watchdog
                .as_mut()
                .and_then(|w| w.try_wait().ok().flatten());
            if exited.is_some() || started.elapsed() > limit {
                let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
                panic!(
                    "mariadbd did not come up on port {} ({exited:?}):\n{log}",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Run `statements` as root over the socket; Err with the client's message.
    pub fn try_sql(&self, statements: &str) -> Result<String, String> {
        let out = Command::new("mysql")
            .args([
                "--no-defaults".to_owned(),
                format!("--socket={}", self.socket.display()),
                "--user=root".to_owned(),
                "--batch".to_owned(),
                "--skip-column-names".to_owned(),
                "--execute".to_owned(),
                statements.to_owned(),
            ])
            .env_remove("MYSQL_PWD")
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// Run `statements` as root; panics on an error.
    pub fn sql(&self, statements: &str) -> String {
        self.try_sql(statements)
            .unwrap_or_else(|e| panic!("{statements}: {e}"))
    }

    /// The CA certificate's file (TLS servers only).
    pub fn ca_file(&self) -> PathBuf {
        assert!(self.ca.is_some(), "this server has no TLS");
        self.dir.join("ca.pem")
    }

    /// A `mysql://` URL for `user:password` on `host` (`localhost` or `127.0.0.1`, say), this
    /// server's port, `database`, and `query` (without `?`; may be empty).
    pub fn url(
        &self,
        user: &str,
        password: &str,
        host: &str,
        database: &str,
        query: &str,
    ) -> String {
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        format!(
            "mysql://{user}:{password}@{host}:{}/{database}{query}",
            self.port
        )
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            // Closing its stdin makes the watchdog stop the server and delete the folder.
            drop(watchdog.stdin.take());
            let _ = watchdog.wait();
        }
    }
}
