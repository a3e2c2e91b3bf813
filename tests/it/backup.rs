//! Backups through a subprocess: `conduit backup` / `conduit restore` round trips on both
//! engines, the admin Backups page (create, list, download, retention), the SQLite fallback
//! without the `sqlite3` shell, and failures: a missing tool, bad credentials, a non-zero
//! exit, a hung tool (timeout), with the password never on the command line.

use std::path::{Path, PathBuf};

use conduit::admin::backup::Backups;
use conduit::config::AppConfig;
use conduit::db::{DbPool, Engine};
use rocket::figment::Figment;
use rocket::http::{Cookie, Method, Status};
use rocket::local::asynchronous::Client;

use crate::admin::{create_article, make_admin, stale_session};
use crate::harness::TestApp;
use crate::support::{
    api, browser_register, get_page, page_csrf, post_form, register, scalar, texts,
};

/// Run the `conduit` binary on the app's database.
async fn cli(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_conduit"));
    command
        .args(args)
        .env(
            "ROCKET_DATABASES",
            format!("{{main={{url=\"{}\"}}}}", app.url),
        )
        .env("CONDUIT_BACKUP_DIR", app.dir.join("backups"))
        .env_remove("CONDUIT_CONFIG");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().await.expect("run conduit")
}

/// A second app on the same database with some configuration changed.
async fn reconfigured(app: &TestApp, adjust: impl FnOnce(Figment) -> Figment) -> Client {
    let figment = adjust(app.client.rocket().figment().clone());
    Client::tracked(conduit::rocket_with(figment))
        .await
        .expect("valid rocket")
}

/// Sign an admin in on `client`.
async fn admin_on(app: &TestApp, client: &Client, name: &str) {
    browser_register(client, name).await;
    make_admin(app, name).await;
}

/// An executable shell script (a stand-in for a dump tool).
fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

/// Every file in the backup folder, temporary ones included.
fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn backup_dir(app: &TestApp) -> PathBuf {
    app.dir.join("backups")
}

fn looks_complete(engine: Engine, bytes: &[u8]) -> bool {
    match engine {
        Engine::Sqlite => bytes.starts_with(b"SQLite format 3\0"),
        Engine::MySql => String::from_utf8_lossy(bytes).contains("-- Dump completed"),
    }
}

db_test!(
    async fn cli_backup_and_restore_round_trip_the_data(app) {
        let token = register(&app.client, "alice").await;
        create_article(&app.client, &token, "Kept through a restore", &["safe"]).await;
        let out = app.dir.join("manual").join("snapshot.bak");
        let done = cli(&app, &["backup", "--out", out.to_str().unwrap()], &[]).await;
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        let bytes = std::fs::read(&out).unwrap();
        assert!(looks_complete(app.engine, &bytes));
        if let Some(password) = crate::harness::url_password(&app.url) {
            assert!(!String::from_utf8_lossy(&bytes).contains(&password), "no password in the backup");
        }
        assert_eq!(files_in(out.parent().unwrap()), vec!["snapshot.bak"], "no temporary file left");

        // Changes after the backup...
        register(&app.client, "mallory").await;
        crate::support::exec(app.db(), "DELETE FROM articles").await.unwrap();
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 0);
        // ...are undone by the restore.
        let done = cli(&app, &["restore", out.to_str().unwrap()], &[]).await;
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles WHERE title = 'Kept through a restore'").await, 1);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users").await, 1);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM article_tags").await, 1);
        let (status, body) = api(&app.client, Method::Get, "/api/articles", None, None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["articlesCount"], 1);
        let login = serde_json::json!({"user": {"email": "alice@example.com", "password": "password-alice"}});
        assert_eq!(api(&app.client, Method::Post, "/api/users/login", None, Some(login)).await.0, Status::Ok);

        // Without --out the backup goes to backup_dir, pruned to backup_keep.
        for _ in 0..3 {
            let done = cli(&app, &["backup"], &[("CONDUIT_BACKUP_KEEP", "2")]).await;
            assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        }
        assert_eq!(files_in(&backup_dir(&app)).len(), 2);

        // A file of the wrong kind is refused and changes nothing.
        let wrong = app.dir.join("wrong.bak");
        let other: &[u8] = if app.engine == Engine::Sqlite { b"-- MySQL dump\n" } else { b"SQLite format 3\0and more" };
        std::fs::write(&wrong, other).unwrap();
        let done = cli(&app, &["restore", wrong.to_str().unwrap()], &[]).await;
        assert!(!done.status.success());
        assert!(String::from_utf8_lossy(&done.stderr).contains("backup"), "{}", String::from_utf8_lossy(&done.stderr));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 1);
    }
);

db_test!(
    async fn backups_page_creates_lists_downloads_and_prunes(app) {
        let client = reconfigured(&app, |f| f.merge(("backup_keep", 2))).await;
        admin_on(&app, &client, "boss").await;
        let csrf = page_csrf(&client).await;
        for _ in 0..3 {
            let res = post_form(&client, "/admin/backups", &[("csrf_token", &csrf)]).await;
            assert_eq!(res.status(), Status::SeeOther);
        }
        let (status, page) = get_page(&client, "/admin/backups").await;
        assert_eq!(status, Status::Ok);
        let flash = texts(&page, ".flash");
        assert!(flash[0].starts_with("Backup conduit-") && flash[0].contains("written ("), "{flash:?}");
        let names = texts(&page, ".backups-table td.col-name");
        assert_eq!(names.len(), 2, "pruned to backup_keep");
        let extension = if app.engine == Engine::Sqlite { ".sqlite" } else { ".sql" };
        assert!(names.iter().all(|n| n.starts_with("conduit-") && n.ends_with(extension)), "{names:?}");
        let mut on_disk = files_in(&backup_dir(&app));
        on_disk.sort();
        let mut listed = names.clone();
        listed.sort();
        assert_eq!(on_disk, listed);
        assert!(texts(&page, ".backups-table td.col-size").iter().all(|s| s.ends_with('B')));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'backup.create' AND actor_name = 'boss'").await, 3);

        let res = client.get(format!("/admin/backups/{}", names[0])).dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(
            res.headers().get_one("Content-Disposition"),
            Some(format!("attachment; filename=\"{}\"", names[0]).as_str())
        );
        let bytes = res.into_bytes().await.unwrap();
        assert!(looks_complete(app.engine, &bytes));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'backup.download'").await, 1);

        // Only the server's own backup names; nothing else in or out of the folder.
        std::fs::write(backup_dir(&app).join("notes.txt"), "secret").unwrap();
        for path in ["/admin/backups/notes.txt", "/admin/backups/..%2F..%2Fetc%2Fpasswd", "/admin/backups/conduit-x.sql"] {
            assert_eq!(client.get(path).dispatch().await.status(), Status::NotFound, "{path}");
        }
        // A download needs a recent password entry, and an admin.
        let stale = stale_session(&client);
        let res = client.get(format!("/admin/backups/{}", names[0])).cookie(Cookie::new("session", stale)).dispatch().await;
        assert_eq!(res.status(), Status::SeeOther);
        assert!(res.headers().get_one("Location").unwrap().starts_with("/admin/reauth?next="));
        let anonymous = reconfigured(&app, |f| f).await;
        let res = anonymous.get(format!("/admin/backups/{}", names[0])).dispatch().await;
        assert_eq!(res.status(), Status::SeeOther);
        assert!(res.headers().get_one("Location").unwrap().starts_with("/login?next="));

        // The JSON API lists them too.
        let (status, body) = api(&client, Method::Get, "/api/admin/backups", None, None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["backups"].as_array().unwrap().len(), 2);
        assert_eq!(body["keep"], 2);
    }
);

#[rocket::async_test]
async fn sqlite_backups_fall_back_to_vacuum_into_without_the_sqlite3_shell() {
    let app = TestApp::spawn_with(Engine::Sqlite, "backup::vacuum_into", |f| {
        f.merge(("backup_sqlite3", "/nonexistent/sqlite3"))
    })
    .await
    .unwrap();
    register(&app.client, "alice").await;
    let backups = Backups::from_figment(app.client.rocket().figment()).unwrap();
    let file = backups.create().await.expect("VACUUM INTO fallback");
    let path = backup_dir(&app).join(&file.name);
    assert!(looks_complete(
        Engine::Sqlite,
        &std::fs::read(&path).unwrap()
    ));
    let copy = DbPool::connect(
        &format!("sqlite://{}", path.display()),
        1,
        0,
        std::time::Duration::from_secs(5),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        scalar(&copy, "SELECT COUNT(*) FROM users WHERE username = 'alice'").await,
        1
    );
    copy.close().await;

    // Restoring without the shell copies the file over the database (server stopped).
    let target = app.dir.join("restored.db");
    std::fs::write(&target, b"").unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_conduit"));
    let out = command
        .args(["restore", path.to_str().unwrap()])
        .env(
            "ROCKET_DATABASES",
            format!("{{main={{url=\"sqlite://{}\"}}}}", target.display()),
        )
        .env("CONDUIT_BACKUP_SQLITE3", "/nonexistent/sqlite3")
        .env_remove("CONDUIT_CONFIG")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not installed"));
    let restored = DbPool::connect(
        &format!("sqlite://{}", target.display()),
        1,
        0,
        std::time::Duration::from_secs(5),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        scalar(
            &restored,
            "SELECT COUNT(*) FROM users WHERE username = 'alice'"
        )
        .await,
        1
    );
    restored.close().await;
}

db_test!(
    async fn a_failing_backup_tool_shows_its_exit_code_and_reason_and_leaves_no_file(app) {
        // The fake tool records its arguments and whether it got a password, then fails the
        // way mysqldump does on bad credentials.
        let tool = script(
            &app.dir,
            "fake-dump",
            "d=$(dirname \"$0\")\nprintf '%s\\n' \"$@\" > \"$d/argv.txt\"\necho \"${MYSQL_PWD:-none}\" > \"$d/pwd.txt\"\n\
             echo 'mysqldump: Got error: 1045: \"Access denied for user\" when trying to connect' >&2\nexit 2",
        );
        let client = reconfigured(&app, |f| f.merge(("backup_sqlite3", &tool)).merge(("backup_mysqldump", &tool))).await;
        admin_on(&app, &client, "boss").await;
        let csrf = page_csrf(&client).await;
        let res = post_form(&client, "/admin/backups", &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::InternalServerError);
        let html = scraper::Html::parse_document(&res.into_string().await.unwrap());
        let error = texts(&html, ".backup-error").join(" ");
        assert!(error.contains("exited with code 2"), "{error}");
        assert!(error.contains("the database refused the user name or password"), "{error}");
        assert!(error.contains("Access denied"), "{error}");
        assert_eq!(files_in(&backup_dir(&app)), Vec::<String>::new(), "no partial file left");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log").await, 0);

        let argv = std::fs::read_to_string(app.dir.join("argv.txt")).unwrap();
        let pwd = std::fs::read_to_string(app.dir.join("pwd.txt")).unwrap();
        if app.engine == Engine::MySql {
            assert!(argv.lines().any(|a| a == "--single-transaction"), "{argv}");
            let password = crate::harness::url_password(&app.url).expect("the test server's URL carries a password");
            assert!(!argv.contains(&password), "the password is never an argument: {argv}");
            assert_eq!(pwd.trim(), password, "it travels in MYSQL_PWD");
        } else {
            assert!(argv.lines().any(|a| a.starts_with(".backup '")), "{argv}");
            assert_eq!(pwd.trim(), "none");
        }

        // The JSON API reports the same (a browser session needs the CSRF header there).
        let (status, _) = api(&client, Method::Post, "/api/admin/backups", None, None).await;
        assert_eq!(status, Status::Forbidden);
        let header = rocket::http::Header::new("X-CSRF-Token", csrf.clone());
        let res = client.post("/api/admin/backups").header(header).dispatch().await;
        let (status, body) = crate::support::json_of(res).await;
        assert_eq!(status, Status::InternalServerError);
        let message = body["errors"]["body"][0].as_str().unwrap();
        assert!(message.starts_with("backup failed: the database refused the user name or password"), "{message}");
        assert!(message.contains("exited with code 2"), "{message}");
    }
);

db_test!(
    async fn a_hung_backup_tool_is_stopped_after_the_timeout(app) {
        let tool = script(&app.dir, "slow-dump", "exec sleep 30");
        let figment = app
            .client
            .rocket()
            .figment()
            .clone()
            .merge(("backup_sqlite3", &tool))
            .merge(("backup_mysqldump", &tool))
            .merge(("backup_timeout_secs", 1));
        let backups = Backups::from_figment(&figment).unwrap();
        let started = std::time::Instant::now();
        let err = backups.create().await.unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert_eq!(
            err.to_string(),
            format!("`{tool}` did not finish within 1 seconds and was stopped (raise `backup_timeout_secs`)")
        );
        assert_eq!(files_in(&backup_dir(&app)), Vec::<String>::new());
    }
);

#[rocket::async_test]
async fn mysql_backups_report_bad_credentials_and_a_missing_tool() {
    let Some(app) = TestApp::spawn(Engine::MySql, "backup::mysql_failures").await else {
        return;
    };
    let config = AppConfig::from_figment(app.client.rocket().figment()).unwrap();
    let password =
        crate::harness::url_password(&app.url).expect("the test server's URL carries a password");
    let bad_url = app
        .url
        .replacen(&format!(":{password}@"), ":not-the-password@", 1);
    assert_ne!(bad_url, app.url);
    let backups = Backups::new(&config, &bad_url).unwrap();
    let out = app.dir.join("bad.sql");
    let err = backups.write_to(&out).await.unwrap_err().to_string();
    assert!(
        err.starts_with(
            "the database refused the user name or password: `mysqldump` exited with code 2"
        ),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
    assert!(!out.exists());
    assert_eq!(
        files_in(&app.dir)
            .iter()
            .filter(|f| f.contains("partial"))
            .count(),
        0
    );

    let done = cli(
        &app,
        &["backup", "--out", out.to_str().unwrap()],
        &[("CONDUIT_BACKUP_MYSQLDUMP", "/nonexistent/mysqldump")],
    )
    .await;
    assert!(!done.status.success());
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(
        stderr.contains("`/nonexistent/mysqldump` was not found: install it (apt-get install mariadb-client) or set `backup_mysqldump` to its path"),
        "{stderr}"
    );
    assert!(!out.exists());
}
