//! MySQL over TLS, against a MariaDB this test binary starts with a certificate it makes
//! ([`crate::mariadb_server`]): one server for all these tests, started on first use. Its
//! account `conduit_tls` is created `REQUIRE SSL`, so anything that works as that account
//! (the app's pool, `mysqldump`, `mysql`) went over TLS.
//!
//! The server certificate names `localhost` only: URLs on `localhost` pass `VERIFY_IDENTITY`,
//! the same server as `127.0.0.1` is a host name not in the certificate.

use std::sync::OnceLock;

use crate::support::db_run;
use conduit::admin::backup::Backups;
use conduit::config::AppConfig;
use conduit::db::DbPool;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;

use crate::harness::test_figment;
use crate::mariadb_server::{available, MariaDbServer, ServerOptions, TestCa};
use crate::support::{api, register, scalar};

const USER: &str = "conduit_tls";
const PASSWORD: &str = "tls-pw-9f2c";

static SERVER: OnceLock<MariaDbServer> = OnceLock::new();

/// The shared TLS server, or `None` (skip reported) without `mariadbd`.
fn server(test: &str) -> Option<&'static MariaDbServer> {
    if !available(test) {
        return None;
    }
    Some(SERVER.get_or_init(|| {
        let server = MariaDbServer::start(ServerOptions::default());
        // Rights on `conduit\_%` databases only (as CI's account): a database named otherwise
        // is one this account may not create.
        server.sql(&format!(
            "CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}' REQUIRE SSL; \
             GRANT ALL PRIVILEGES ON `conduit\\_%`.* TO '{USER}'@'%';"
        ));
        server
    }))
}

/// A fresh database on the server (created as root), named `conduit_<random>`.
fn database(server: &MariaDbServer) -> String {
    let name = format!("conduit_{:016x}", rand::random::<u64>());
    server.sql(&format!(
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    ));
    name
}

/// The account's URL for `database` on `host` with `query`.
fn url(server: &MariaDbServer, host: &str, database: &str, query: &str) -> String {
    server.url(USER, PASSWORD, host, database, query)
}

/// `ssl-mode=VERIFY_IDENTITY` with the server's CA, on `localhost`.
fn verified_url(server: &MariaDbServer, database: &str) -> String {
    let ca = server.ca_file();
    url(
        server,
        "localhost",
        database,
        &format!(
            "ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
            crate::support::urlencode(&ca.display().to_string())
        ),
    )
}

/// The TLS cipher of the session a pool connection runs in (empty: not encrypted).
async fn session_cipher(db: &DbPool) -> String {
    db_run!(db, |c| sqlx::query_scalar::<_, String>(
        "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'"
    )
    .fetch_one(c)
    .await)
    .expect("Ssl_cipher")
}

/// Open a pool on `url` and run one statement: the error text when either fails.
async fn connect_error(url: &str) -> String {
    match DbPool::connect(url, 1, 0, std::time::Duration::from_secs(5), None).await {
        Err(e) => e.to_string(),
        Ok(pool) => {
            let result = probe(&pool).await;
            pool.close().await;
            match result {
                Ok(cipher) => panic!("{url} connected (cipher {cipher:?})"),
                Err(e) => e.to_string(),
            }
        }
    }
}

async fn probe(db: &DbPool) -> Result<String, sqlx::Error> {
    db_run!(db, |c| sqlx::query_scalar::<_, String>(
        "SELECT 'connected'"
    )
    .fetch_one(c)
    .await)
}

/// An app on `url`, or why it did not start (a Rocket error must be looked at, or it panics).
async fn app_on(url: &str) -> Result<Client, String> {
    Client::tracked(conduit::rocket_with(test_figment(url)))
        .await
        .map_err(|e| format!("{:?}", e.kind()))
}

#[rocket::async_test]
async fn the_app_runs_on_a_verified_tls_session_and_serves_from_it() {
    let Some(server) = server("tls::verified") else {
        return;
    };
    let name = database(server);
    let client = app_on(&verified_url(server, &name))
        .await
        .expect("the app starts on VERIFY_IDENTITY");
    let token = register(&client, "tess").await;
    let body = serde_json::json!({"article": {"title": "Over TLS", "description": "d", "body": "b", "tagList": ["tls"]}});
    let (status, _) = api(
        &client,
        Method::Post,
        "/api/articles",
        Some(&token),
        Some(body),
    )
    .await;
    assert_eq!(status, Status::Created);
    let (status, list) = api(&client, Method::Get, "/api/articles", None, None).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(list["articles"][0]["title"], "Over TLS");
    let db = client.rocket().state::<conduit::db::Db>().expect("db");
    let cipher = session_cipher(db).await;
    assert!(!cipher.is_empty(), "the app's session is encrypted");
    assert_eq!(
        scalar(db, "SELECT COUNT(*) FROM users WHERE username = 'tess'").await,
        1
    );

    // VERIFY_CA with the server's CA.
    let ca = crate::support::urlencode(&server.ca_file().display().to_string());
    let client = app_on(&url(
        server,
        "localhost",
        &name,
        &format!("ssl-mode=VERIFY_CA&ssl-ca={ca}"),
    ))
    .await
    .expect("VERIFY_CA with the right CA");
    let (status, list) = api(&client, Method::Get, "/api/articles", None, None).await;
    assert_eq!(
        (status, list["articlesCount"].as_i64()),
        (Status::Ok, Some(1))
    );
    // REQUIRED encrypts without checking the certificate.
    let pool = DbPool::connect(
        &url(server, "127.0.0.1", &name, "ssl-mode=REQUIRED"),
        1,
        0,
        std::time::Duration::from_secs(5),
        None,
    )
    .await
    .unwrap();
    assert!(!session_cipher(&pool).await.is_empty());
    pool.close().await;
}

#[rocket::async_test]
async fn ssl_mode_disabled_is_refused_with_a_hint_when_the_account_requires_tls() {
    let Some(server) = server("tls::disabled") else {
        return;
    };
    let name = database(server);
    let disabled = url(server, "localhost", &name, "ssl-mode=DISABLED");
    assert!(app_on(&disabled).await.is_err(), "ignite fails");
    let why = connect_error(&disabled).await;
    assert!(
        why.contains("Access denied for user 'conduit_tls'"),
        "{why}"
    );
    // What ignite (and every `conduit` command) reports: the pool's own opening.
    let why = conduit::cli::open_pool(&test_figment(&disabled))
        .await
        .expect_err("refused")
        .to_string();
    assert!(
        why.contains("Access denied")
            && why.contains("the URL says ssl-mode=DISABLED: if this account requires TLS"),
        "{why}"
    );
    assert!(!why.contains(PASSWORD), "{why}");
}

#[rocket::async_test]
async fn verify_identity_refuses_a_foreign_ca_and_a_host_name_not_in_the_certificate() {
    let Some(server) = server("tls::refused") else {
        return;
    };
    let name = database(server);
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("other-ca.pem");
    std::fs::write(&foreign, TestCa::new("Someone else's CA").pem).unwrap();
    let foreign = crate::support::urlencode(&foreign.display().to_string());
    let ca = crate::support::urlencode(&server.ca_file().display().to_string());
    // Each test's backups in a folder of its own: the backup lock is per folder, and tests run
    // at once.
    let backups = tempfile::tempdir().unwrap();
    let mut config = AppConfig::from_figment(&test_figment("sqlite::memory:")).unwrap();
    config.backup_dir = backups.path().join("backups");
    for (host, query, what) in [
        (
            "localhost",
            format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={foreign}"),
            "a CA that did not sign the server certificate",
        ),
        (
            "127.0.0.1",
            format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
            "a host name not in the certificate",
        ),
        (
            "localhost",
            format!("ssl-mode=VERIFY_CA&ssl-ca={foreign}"),
            "VERIFY_CA with a foreign CA",
        ),
        // MySQL's VERIFY_CA skips the host name; here it is checked too: the URL reader turns
        // VERIFY_CA into VERIFY_IDENTITY for the pool (sqlx trusts the public web roots besides
        // `ssl-ca`, so a CA-only check would take any publicly certified name), and the MariaDB
        // tools have no CA-only check. Stricter, never weaker: README says so.
        (
            "127.0.0.1",
            format!("ssl-mode=VERIFY_CA&ssl-ca={ca}"),
            "VERIFY_CA, a host name not in the certificate",
        ),
    ] {
        let url = url(server, host, &name, &query);
        let why = connect_error(&url).await;
        assert!(
            why.to_ascii_lowercase().contains("certificate")
                || why.to_ascii_lowercase().contains("tls"),
            "{what}: {why}"
        );
        assert!(app_on(&url).await.is_err(), "{what}: ignite fails");
        // The dump tool refuses the same server.
        let backups = Backups::new(&config, &url).unwrap();
        let out = dir.path().join("refused.sql");
        let err = backups.write_to(&out).await.unwrap_err().to_string();
        assert!(
            err.contains("`mysqldump` exited with code 2"),
            "{what}: {err}"
        );
        assert!(err.contains("TLS/SSL error"), "{what}: {err}");
        assert!(!out.exists());
    }
}

/// `conduit restore`, in a process of its own that opens no pool first, with `VERIFY_CA` (read
/// as `VERIFY_IDENTITY`) into a database it creates: the server session before the restore names
/// its TLS provider itself.
async fn restore_with_the_command(server: &MariaDbServer, out: &std::path::Path) {
    let cli = format!("conduit_{:016x}", rand::random::<u64>());
    let ca = crate::support::urlencode(&server.ca_file().display().to_string());
    let cli_url = url(
        server,
        "localhost",
        &cli,
        &format!("ssl-mode=VERIFY_CA&ssl-ca={ca}"),
    );
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_conduit"))
        .arg("restore")
        .arg(out)
        .env(
            "ROCKET_DATABASES",
            format!("{{main={{url=\"{cli_url}\"}}}}"),
        )
        .env_remove("CONDUIT_CONFIG")
        .output()
        .await
        .expect("run conduit restore");
    assert!(
        output.status.success(),
        "conduit restore over VERIFY_CA: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let restored = app_on(&verified_url(server, &cli)).await.expect("app");
    let (_, list) = api(&restored, Method::Get, "/api/articles", None, None).await;
    assert_eq!(list["articles"][0]["title"], "Backed up over TLS");
}

#[rocket::async_test]
async fn backup_and_restore_run_the_tools_over_tls_and_restore_creates_the_database() {
    let Some(server) = server("tls::backup") else {
        return;
    };
    let name = database(server);
    let source = verified_url(server, &name);
    let client = app_on(&source).await.expect("app");
    let token = register(&client, "bea").await;
    let body = serde_json::json!({"article": {"title": "Backed up over TLS", "description": "d", "body": "b", "tagList": ["x", "y"]}});
    assert_eq!(
        api(
            &client,
            Method::Post,
            "/api/articles",
            Some(&token),
            Some(body)
        )
        .await
        .0,
        Status::Created
    );
    let dir = tempfile::tempdir().unwrap();
    let mut config = AppConfig::from_figment(client.rocket().figment()).unwrap();
    config.backup_dir = dir.path().join("backups");
    let out = dir.path().join("tls.sql");
    // The account REQUIRE SSL: a dump at all proves mysqldump used TLS (and verified).
    Backups::new(&config, &source)
        .unwrap()
        .write_to(&out)
        .await
        .expect("mysqldump over TLS");
    assert!(String::from_utf8_lossy(&std::fs::read(&out).unwrap()).contains("Backed up over TLS"));

    // Without TLS the tool is refused by the server: the URL's ssl-mode reaches it.
    let plain = url(server, "localhost", &name, "ssl-mode=DISABLED");
    let err = Backups::new(&config, &plain)
        .unwrap()
        .write_to(&dir.path().join("plain.sql"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("the database refused the user name or password"),
        "{err}"
    );

    // Restore into a database that does not exist yet: created, over TLS, then filled.
    let fresh = format!("conduit_{:016x}", rand::random::<u64>());
    let target = verified_url(server, &fresh);
    Backups::new(&config, &target)
        .unwrap()
        .restore(&out)
        .await
        .expect("restore creates the database");
    let restored = app_on(&target).await.expect("app on the restored database");
    let (status, list) = api(&restored, Method::Get, "/api/articles", None, None).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(list["articles"][0]["title"], "Backed up over TLS");
    assert_eq!(
        list["articles"][0]["tagList"],
        serde_json::json!(["x", "y"])
    );
    assert_eq!(
        server.sql(&format!(
            "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{fresh}'"
        )),
        "utf8mb4_unicode_ci"
    );

    restore_with_the_command(server, &out).await;

    // A database this account may not create: the exact statements to run instead.
    let forbidden = format!("restore_{:08x}", rand::random::<u32>());
    let err = Backups::new(&config, &verified_url(server, &forbidden))
        .unwrap()
        .restore(&out)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "the database `{forbidden}` does not exist and '{USER}'@'%' may not create it: have an \
             administrator run CREATE DATABASE `{forbidden}` CHARACTER SET utf8mb4 COLLATE \
             utf8mb4_unicode_ci; GRANT ALL PRIVILEGES ON `{forbidden}`.* TO '{USER}'@'%'; then run \
             the restore again"
        )
    );
    assert_eq!(
        server.sql(&format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{forbidden}'"
        )),
        "0"
    );
}

#[rocket::async_test]
async fn required_tls_stops_a_backup_before_the_tool_talks_to_a_server_without_tls() {
    if !available("tls::required_without_tls") {
        return;
    }
    // A second server, without TLS (the MariaDB tools would fall back to plain text there).
    let plain = MariaDbServer::start(ServerOptions {
        tls_names: None,
        ..ServerOptions::default()
    });
    plain.sql(
        "CREATE USER 'app'@'%' IDENTIFIED BY 'app-pw'; \
         CREATE DATABASE conduit_plain; GRANT ALL PRIVILEGES ON conduit_plain.* TO 'app'@'%';",
    );
    let mut config = AppConfig::from_figment(&test_figment("sqlite::memory:")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    config.backup_dir = dir.path().join("backups");
    let out = dir.path().join("plain.sql");
    // A fake dump tool that would leave a mark if it ran.
    let marker = dir.path().join("tool-ran");
    let tool = dir.path().join("fake-dump");
    std::fs::write(
        &tool,
        format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display()),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut config_with_fake = config.clone();
    config_with_fake.backup_mysqldump = tool.display().to_string();

    let required = plain.url(
        "app",
        "app-pw",
        "127.0.0.1",
        "conduit_plain",
        "ssl-mode=REQUIRED",
    );
    let err = Backups::new(&config_with_fake, &required)
        .unwrap()
        .write_to(&out)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("connecting to the MySQL server:"), "{err}");
    assert!(err.to_ascii_lowercase().contains("tls"), "{err}");
    assert!(!err.contains("app-pw"), "{err}");
    assert!(!marker.exists(), "the tool never ran");
    assert!(!out.exists());

    // PREFERRED takes the server as it is.
    let preferred = plain.url("app", "app-pw", "127.0.0.1", "conduit_plain", "");
    Backups::new(&config, &preferred)
        .unwrap()
        .write_to(&out)
        .await
        .expect("a plain-text backup when TLS is only preferred");

    // Dropping the server stops it and deletes its folder.
    let folder = plain.dir.clone();
    drop(plain);
    assert!(!folder.exists(), "{} left behind", folder.display());
}
