//! Issue 16, items 7, 8 and part of 12, as an attacker or an unlucky operator meets them:
//!
//! - backups are private from their first byte (0600 files in a 0700 folder), their tools see
//!   none of the app's secrets, one runs at a time (409 in this instance, in a second one and
//!   for `conduit backup`), and making one needs a fresh login;
//! - concurrent, conflicting admin writes on the same rows (bulk deletes of overlapping users
//!   and articles, tag renames racing tag and article deletes) answer 2xx/4xx, never 5xx, and
//!   leave every counter and the audit log consistent (deadlocks are retried whole);
//! - audit rows name the client address (the socket's, not a header's) and the request id;
//! - a role change ends the user's tokens and browser sessions.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocket::figment::Figment;
use rocket::http::{ContentType, Cookie, Header, Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

use crate::admin::{create_article, id_of, make_admin, stale_session, stale_token};
use crate::harness::TestApp;
use crate::support::{
    api, browser_register, get_page, json_of, page_csrf, post_form, register, scalar, texts,
    urlencode,
};

/// What a backup is refused with while another one runs.
const BUSY: &str = "a backup is already running; try again when it has finished";

/// A second app on the same database with some configuration changed (its own pool).
async fn reconfigured(app: &TestApp, adjust: impl FnOnce(Figment) -> Figment) -> Client {
    let figment = adjust(app.client.rocket().figment().clone());
    Client::tracked(conduit::rocket_with(figment))
        .await
        .expect("valid rocket")
}

/// An executable shell script in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

/// A stand-in for both dump tools. It records its environment (`tool-env.txt`) and the mode
/// of the file it is about to write (`tool-mode.txt`: `missing` when the file does not exist
/// yet), then writes a complete-looking backup: `sqlite3 DB ".backup 'NAME'"` into NAME (the
/// tool runs in the backup folder), `mysqldump` to its standard output. While a file `hold`
/// exists next to it, it first says `started` into the FIFO `started.fifo` and waits for a
/// line on the FIFO `release.fifo`.
fn fake_tool(dir: &Path) -> String {
    script(
        dir,
        "fake-dump-tool",
        r#"d=$(dirname "$0")
if [ -e "$d/hold" ]; then
  echo started > "$d/started.fifo"
  read line < "$d/release.fifo"
fi
env > "$d/tool-env.txt"
last=""
for a in "$@"; do last="$a"; done
case "$last" in
  .backup*)
    f=$(printf '%s' "$last" | sed "s/^\.backup '\(.*\)'\$/\1/")
    if [ -e "$f" ]; then stat -c %a "$f" > "$d/tool-mode.txt"; else echo missing > "$d/tool-mode.txt"; fi
    printf 'SQLite format 3\000 fake backup' > "$f"
    ;;
  *)
    m=$(stat -L -c %a /proc/$$/fd/1)
    echo "$m" > "$d/tool-mode.txt"
    echo '-- fake dump'
    echo '-- Dump completed on 2026-11-30 10:00:00'
    ;;
esac"#,
    )
}

/// The app with both dump tools replaced by [`fake_tool`].
async fn with_fake_tool(app: &TestApp) -> (Client, String) {
    let tool = fake_tool(&app.dir);
    // A short time limit: without the lock, a second run would wait on the FIFO until then.
    let client = reconfigured(app, |f| {
        f.merge(("backup_sqlite3", &tool))
            .merge(("backup_mysqldump", &tool))
            .merge(("backup_timeout_secs", 30))
    })
    .await;
    (client, tool)
}

/// Sign `name` up on `client` (a browser, fresh login) and make them an admin.
async fn admin_on(app: &TestApp, client: &Client, name: &str) {
    browser_register(client, name).await;
    make_admin(app, name).await;
}

fn backup_dir(app: &TestApp) -> PathBuf {
    app.dir.join("backups")
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Every file in `dir`, hidden ones too.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Run the `conduit` binary on the app's database, with the app's backup folder.
async fn conduit_cli(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_conduit"));
    command
        .args(args)
        .env(
            "ROCKET_DATABASES",
            format!("{{main={{url=\"{}\"}}}}", app.url),
        )
        .env("CONDUIT_BACKUP_DIR", backup_dir(app))
        .env_remove("CONDUIT_CONFIG");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().await.expect("run conduit")
}

/// `POST /api/admin/backups` from a signed-in browser.
async fn api_backup(client: &Client, csrf: &str) -> (Status, Value) {
    let res = client
        .post("/api/admin/backups")
        .header(Header::new("X-CSRF-Token", csrf.to_owned()))
        .dispatch()
        .await;
    json_of(res).await
}

/// The names and values of the environment the fake tool recorded.
fn recorded_env(app: &TestApp) -> Vec<(String, String)> {
    std::fs::read_to_string(app.dir.join("tool-env.txt"))
        .expect("the tool ran")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// What the tool may see: what it needs, and what `/bin/sh` sets for itself.
fn assert_minimal_env(env: &[(String, String)], engine: conduit::db::Engine, secrets: &[&str]) {
    const ALLOWED: [&str; 5] = ["PATH", "LANG", "LC_ALL", "TZ", "MYSQL_PWD"];
    const SHELL_OWN: [&str; 4] = ["PWD", "OLDPWD", "SHLVL", "_"];
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    for name in &names {
        assert!(
            ALLOWED.contains(name) || SHELL_OWN.contains(name),
            "the tool inherited {name}: {names:?}"
        );
    }
    assert_eq!(
        env.iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str()),
        std::env::var("PATH").ok().as_deref(),
        "PATH is passed on"
    );
    let pwd = env
        .iter()
        .find(|(k, _)| k == "MYSQL_PWD")
        .map(|(_, v)| v.as_str());
    if engine == conduit::db::Engine::MySql {
        let expected = std::env::var("CONDUIT_TEST_MYSQL_URL")
            .ok()
            .and_then(|url| crate::harness::url_password(&url));
        assert!(
            expected.is_some(),
            "the test server's URL carries a password"
        );
        assert_eq!(
            pwd,
            expected.as_deref(),
            "the password travels in MYSQL_PWD"
        );
    } else {
        assert_eq!(pwd, None);
    }
    for (key, value) in env {
        for secret in secrets {
            assert!(!value.contains(secret), "{key} carries a secret: {value}");
        }
    }
}

db_test!(
    async fn backup_files_are_private_from_their_first_byte_in_a_private_folder(app) {
        // A folder someone left world-readable is tightened before anything goes in.
        std::fs::create_dir_all(backup_dir(&app)).unwrap();
        std::fs::set_permissions(backup_dir(&app), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (client, tool) = with_fake_tool(&app).await;
        admin_on(&app, &client, "boss").await;
        let csrf = page_csrf(&client).await;
        let res = post_form(&client, "/admin/backups", &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let mode_seen = std::fs::read_to_string(app.dir.join("tool-mode.txt")).unwrap();
        assert_eq!(mode_seen.trim(), "600", "the file was private before the tool wrote a byte");
        assert_eq!(mode_of(&backup_dir(&app)), 0o700);
        let (_, page) = get_page(&client, "/admin/backups").await;
        let names = texts(&page, ".backups-table td.col-name");
        assert_eq!(names.len(), 1, "{names:?}");
        assert_eq!(mode_of(&backup_dir(&app).join(&names[0])), 0o600);
        assert_eq!(files_in(&backup_dir(&app)), names, "no lock or partial file left behind");

        // `conduit backup --out` into a folder that does not exist yet: both private too.
        std::fs::remove_file(app.dir.join("tool-mode.txt")).unwrap();
        let out = app.dir.join("elsewhere").join("nightly.bak");
        let done = conduit_cli(
            &app,
            &["backup", "--out", out.to_str().unwrap()],
            &[("CONDUIT_BACKUP_SQLITE3", &tool), ("CONDUIT_BACKUP_MYSQLDUMP", &tool)],
        )
        .await;
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        assert_eq!(std::fs::read_to_string(app.dir.join("tool-mode.txt")).unwrap().trim(), "600");
        assert_eq!(mode_of(&out), 0o600);
        assert_eq!(mode_of(out.parent().unwrap()), 0o700);
        assert_eq!(files_in(out.parent().unwrap()), vec!["nightly.bak"]);
    }
);

db_test!(
    async fn backup_tools_get_none_of_the_apps_environment(app) {
        let (client, tool) = with_fake_tool(&app).await;
        admin_on(&app, &client, "boss").await;
        let csrf = page_csrf(&client).await;
        // From the server: this test process's environment holds CARGO_*, and on CI the test
        // database URL with its password.
        let (status, body) = api_backup(&client, &csrf).await;
        assert_eq!(status, Status::Created, "{body}");
        let env = recorded_env(&app);
        assert!(!env.iter().any(|(k, _)| k.starts_with("CARGO") || k.starts_with("CONDUIT")), "{env:?}");
        assert_minimal_env(&env, app.engine, &[]);

        // From `conduit backup`, whose configuration (database URL with its password, JWT
        // secret) comes from the environment.
        let jwt = "canary-jwt-secret-that-must-not-leak-0123456789";
        let done = conduit_cli(
            &app,
            &["backup"],
            &[
                ("CONDUIT_BACKUP_SQLITE3", &tool),
                ("CONDUIT_BACKUP_MYSQLDUMP", &tool),
                ("CONDUIT_JWT_SECRET", jwt),
                ("ROCKET_SECRET_CANARY", "rocket-canary"),
            ],
        )
        .await;
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        let env = recorded_env(&app);
        assert_minimal_env(&env, app.engine, &[jwt, "rocket-canary", "ROCKET_DATABASES"]);
        let url_leaked = env.iter().any(|(k, v)| k != "MYSQL_PWD" && v.contains(app.url.as_str()));
        assert!(!url_leaked, "the database URL reached the tool: {env:?}");
    }
);

/// Make a FIFO at `path`.
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

db_test!(
    async fn a_second_backup_while_one_runs_is_refused_with_409_everywhere(app) {
        let (client, tool) = with_fake_tool(&app).await;
        let client = Arc::new(client);
        admin_on(&app, &client, "boss").await;
        let csrf = page_csrf(&client).await;
        let started = app.dir.join("started.fifo");
        let release = app.dir.join("release.fifo");
        mkfifo(&started);
        mkfifo(&release);
        std::fs::write(app.dir.join("hold"), "").unwrap();

        // The first backup, in its own task; its tool waits to be released.
        let first = {
            let client = Arc::clone(&client);
            let csrf = csrf.clone();
            tokio::spawn(async move { api_backup(&client, &csrf).await })
        };
        let said = tokio::task::spawn_blocking(move || std::fs::read_to_string(started).expect("read started.fifo"));
        let said = tokio::time::timeout(std::time::Duration::from_secs(60), said)
            .await
            .expect("the first backup's tool started")
            .unwrap();
        assert_eq!(said.trim(), "started");

        // Meanwhile: the JSON API of this instance...
        let (status, body) = api_backup(&client, &csrf).await;
        assert_eq!(status, Status::Conflict, "{body}");
        assert_eq!(body["errors"]["body"], json!([BUSY]));
        // ...the console page of this instance...
        let res = post_form(&client, "/admin/backups", &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::Conflict);
        let page = scraper::Html::parse_document(&res.into_string().await.unwrap());
        assert_eq!(texts(&page, ".backup-error"), vec![format!("Backup not started: {BUSY}.")]);
        // ...a second instance on the same database and folder...
        let other = reconfigured(&app, |f| f.merge(("backup_sqlite3", &tool)).merge(("backup_mysqldump", &tool))).await;
        admin_on(&app, &other, "deputy").await;
        let other_csrf = page_csrf(&other).await;
        let (status, body) = api_backup(&other, &other_csrf).await;
        assert_eq!(status, Status::Conflict, "{body}");
        // ...and `conduit backup`, another process.
        let done = conduit_cli(
            &app,
            &["backup"],
            &[("CONDUIT_BACKUP_SQLITE3", &tool), ("CONDUIT_BACKUP_MYSQLDUMP", &tool)],
        )
        .await;
        assert!(!done.status.success());
        assert!(String::from_utf8_lossy(&done.stderr).contains(BUSY), "{}", String::from_utf8_lossy(&done.stderr));
        let written = |app: &TestApp| files_in(&backup_dir(app)).into_iter().filter(|n| n.starts_with("conduit-")).count();
        assert_eq!(written(&app), 0, "none of the refused ones wrote anything");

        // Released, the first one finishes; then the next one may run.
        std::fs::remove_file(app.dir.join("hold")).unwrap();
        let go = tokio::task::spawn_blocking(move || std::fs::write(release, "go\n").expect("write release.fifo"));
        tokio::time::timeout(std::time::Duration::from_secs(60), go).await.expect("released").unwrap();
        let (status, body) = first.await.unwrap();
        assert_eq!(status, Status::Created, "{body}");
        let (status, body) = api_backup(&client, &csrf).await;
        assert_eq!(status, Status::Created, "{body}");
        assert_eq!(written(&app), 2);
        assert!(!files_in(&backup_dir(&app)).iter().any(|n| n.contains("lock") || n.contains("partial")));
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'backup.create'").await, 2);
    }
);

db_test!(
    async fn making_a_backup_needs_a_fresh_login(app) {
        let (client, _) = with_fake_tool(&app).await;
        admin_on(&app, &client, "boss").await;
        let csrf = page_csrf(&client).await;

        // The console with a session whose password entry is 20 minutes old: asked again.
        let stale = stale_session(&client);
        let res = client
            .post("/admin/backups")
            .header(ContentType::Form)
            .cookie(Cookie::new("session", stale))
            .body(format!("csrf_token={}", urlencode(&csrf)))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(
            res.headers().get_one("Location"),
            Some("/admin/reauth?next=%2Fadmin%2Fbackups")
        );

        // The API with a stale token: 401 saying why.
        let token = register(&crate::support::script_client(&client).await, "script").await;
        make_admin(&app, "script").await;
        let (status, body) = api(&client, Method::Post, "/api/admin/backups", Some(&stale_token(&token)), None).await;
        assert_eq!(status, Status::Unauthorized, "{body}");
        assert_eq!(body["errors"]["body"], json!([conduit::admin::api::NOT_FRESH]));
        assert_eq!(files_in(&backup_dir(&app)).len(), 0, "nothing was written");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log").await, 0);

        // Fresh, it works.
        let (status, body) = api(&client, Method::Post, "/api/admin/backups", Some(&token), None).await;
        assert_eq!(status, Status::Created, "{body}");
    }
);

db_test!(
    async fn audit_rows_name_the_client_address_and_the_request_id(app) {
        let token = register(&app.client, "boss").await;
        make_admin(&app, "boss").await;
        let writer = register(&app.client, "writer").await;
        create_article(&app.client, &writer, "Tagged", &["old-name"]).await;
        let tag = scalar(app.db(), "SELECT id FROM tags WHERE name = 'old-name'").await;

        // A client that claims another address in X-Real-IP: Rocket is not told to trust
        // that header (no proxy configured), so the socket's address is what is recorded.
        let res = app
            .client
            .put(format!("/api/admin/tags/{tag}"))
            .remote("203.0.113.7:4711".parse().unwrap())
            .header(Header::new("Authorization", format!("Token {token}")))
            .header(Header::new("X-Real-IP", "10.6.6.6"))
            .header(ContentType::JSON)
            .body(json!({"tag": {"name": "new-name"}}).to_string())
            .dispatch()
            .await;
        let rename_rid = res.headers().get_one("X-Request-Id").expect("request id").to_owned();
        assert_eq!(res.status(), Status::Ok);

        // A console form from an IPv6 client.
        let browser = reconfigured(&app, |f| f).await;
        browser_register(&browser, "chief").await;
        make_admin(&app, "chief").await;
        let csrf = page_csrf(&browser).await;
        let writer_id = id_of(&app, "writer").await;
        let res = browser
            .post(format!("/admin/users/{writer_id}/disable"))
            .remote("[2001:db8::42]:443".parse().unwrap())
            .header(ContentType::Form)
            .body(format!("csrf_token={}", urlencode(&csrf)))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        let disable_rid = res.headers().get_one("X-Request-Id").expect("request id").to_owned();
        assert_ne!(rename_rid, disable_rid);

        // The JSON audit log...
        let (status, body) = api(&app.client, Method::Get, "/api/admin/audit", Some(&token), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        let entries = body["entries"].as_array().unwrap();
        let entry = |action: &str| entries.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("{action}: {body}")).clone();
        assert_eq!(entry("tag.update")["ip"], "203.0.113.7");
        assert_eq!(entry("tag.update")["request_id"], rename_rid.as_str());
        assert_eq!(entry("user.disable")["ip"], "2001:db8::42");
        assert_eq!(entry("user.disable")["request_id"], disable_rid.as_str());
        // ...the console's audit page...
        let (status, page) = get_page(&browser, "/admin/audit?action=tag.update").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, ".audit-table td.col-origin .audit-ip"), vec!["203.0.113.7"]);
        assert_eq!(texts(&page, ".audit-table td.col-origin .audit-request-id"), vec![rename_rid.clone()]);
        // ...and the rows themselves.
        assert_eq!(
            scalar(app.db(), &format!("SELECT COUNT(*) FROM audit_log WHERE ip = '203.0.113.7' AND request_id = '{rename_rid}'")).await,
            1
        );
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE ip = '10.6.6.6'").await, 0);
    }
);

db_test!(
    async fn a_role_change_ends_the_users_tokens_and_sessions(app) {
        let admin = register(&app.client, "boss").await;
        make_admin(&app, "boss").await;
        let old_token = register(&app.client, "frank").await;
        let frank = id_of(&app, "frank").await;
        // Frank also has a browser session.
        let frank_browser = reconfigured(&app, |f| f).await;
        let login = json!({"user": {"email": "frank@example.com", "password": "password-frank"}});
        let (_, page) = get_page(&frank_browser, "/login").await;
        let csrf = crate::support::csrf_of(&page);
        let res = post_form(
            &frank_browser,
            "/login",
            &[("csrf_token", &csrf), ("email", "frank@example.com"), ("password", "password-frank")],
        )
        .await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(get_page(&frank_browser, "/settings").await.0, Status::Ok);
        assert_eq!(api(&app.client, Method::Get, "/api/user", Some(&old_token), None).await.0, Status::Ok);

        // Promoted: the old token and the browser session stop working.
        let body = json!({"user": {"role": "admin"}});
        let (status, value) = api(&app.client, Method::Put, &format!("/api/admin/users/{frank}"), Some(&admin), Some(body)).await;
        assert_eq!(status, Status::Ok, "{value}");
        assert_eq!(value["user"]["role"], "admin");
        let (status, _) = api(&app.client, Method::Get, "/api/user", Some(&old_token), None).await;
        assert_eq!(status, Status::Unauthorized, "a token from before the promotion");
        let res = frank_browser.get("/settings").dispatch().await;
        assert_eq!(res.status(), Status::SeeOther, "the browser session ended");
        assert!(res.headers().get_one("Location").unwrap_or_default().starts_with("/login"));
        assert_eq!(
            scalar(app.db(), &format!("SELECT COUNT(*) FROM sessions WHERE user_id = {frank} AND revoked_at IS NULL")).await,
            0
        );

        // Signed in again, the new role applies; demoted (in bulk), that token ends too.
        let (status, value) = api(&app.client, Method::Post, "/api/users/login", None, Some(login)).await;
        assert_eq!(status, Status::Ok, "{value}");
        let new_token = value["user"]["token"].as_str().unwrap().to_owned();
        assert_eq!(api(&app.client, Method::Get, "/api/admin/stats", Some(&new_token), None).await.0, Status::Ok);
        let bulk = json!({"action": "demote", "ids": [frank]});
        let (status, value) = api(&app.client, Method::Post, "/api/admin/users/bulk", Some(&admin), Some(bulk)).await;
        assert_eq!(status, Status::Ok, "{value}");
        assert_eq!(value["bulk"]["done"], json!([frank]));
        assert_eq!(api(&app.client, Method::Get, "/api/admin/stats", Some(&new_token), None).await.0, Status::Unauthorized);
        assert_eq!(api(&app.client, Method::Get, "/api/user", Some(&new_token), None).await.0, Status::Unauthorized);
        // A change to something else (the bio) ends nothing.
        let (_, value) = api(&app.client, Method::Post, "/api/users/login", None, Some(json!({"user": {"email": "frank@example.com", "password": "password-frank"}}))).await;
        let third = value["user"]["token"].as_str().unwrap().to_owned();
        let body = json!({"user": {"bio": "still frank", "role": "user"}});
        assert_eq!(api(&app.client, Method::Put, &format!("/api/admin/users/{frank}"), Some(&admin), Some(body)).await.0, Status::Ok);
        assert_eq!(api(&app.client, Method::Get, "/api/user", Some(&third), None).await.0, Status::Ok);
    }
);

/// Send `method path` with an admin token from its own task; returns the status and body.
fn spawn_call(
    client: &Arc<Client>,
    token: &str,
    method: Method,
    path: String,
    body: Option<Value>,
) -> tokio::task::JoinHandle<(String, Status, Value)> {
    let client = Arc::clone(client);
    let token = token.to_owned();
    tokio::spawn(async move {
        let (status, value) = api(&client, method, &path, Some(&token), body).await;
        (format!("{method} {path}"), status, value)
    })
}

db_test!(
    async fn concurrent_conflicting_admin_writes_answer_2xx_or_4xx_and_stay_consistent(app) {
        // Enough connections that every request runs at once.
        let client = Arc::new(reconfigured(&app, |f| f.merge(("databases.main.max_connections", 24))).await);
        let admin = register(&client, "boss").await;
        make_admin(&app, "boss").await;
        // Six authors, four articles each, every article carrying three of six shared tags;
        // everyone favorites everyone else's first article.
        let mut authors = Vec::new();
        let mut tokens = Vec::new();
        for a in 0..6 {
            let name = format!("author{a}");
            let token = register(&client, &name).await;
            for n in 0..4 {
                let tags = [format!("t{}", (a + n) % 6), format!("t{}", (a + n + 1) % 6), format!("t{}", (a + n + 3) % 6)];
                let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
                create_article(&client, &token, &format!("{name} {n}"), &tags).await;
            }
            authors.push(id_of(&app, &name).await);
            tokens.push(token);
        }
        for (a, token) in tokens.iter().enumerate() {
            let other = (a + 1) % 6;
            let slug = scalar(app.db(), &format!("SELECT id FROM articles WHERE title = 'author{other} 0'")).await;
            let slug_text: String = crate::support::db_run!(app.db(), |c| sqlx::query_scalar::<_, String>("SELECT slug FROM articles WHERE id = ?").bind(slug).fetch_one(c).await).unwrap();
            let (status, _) = api(&client, Method::Post, &format!("/api/articles/{slug_text}/favorite"), Some(token), None).await;
            assert_eq!(status, Status::Ok);
        }
        let articles_before = scalar(app.db(), "SELECT COUNT(*) FROM articles").await;
        let article_ids: Vec<i64> = crate::support::db_run!(app.db(), |c| sqlx::query_scalar::<_, i64>("SELECT id FROM articles ORDER BY id").fetch_all(c).await).unwrap();
        let tag_ids: Vec<i64> = crate::support::db_run!(app.db(), |c| sqlx::query_scalar::<_, i64>("SELECT id FROM tags ORDER BY id").fetch_all(c).await).unwrap();

        // Everything at once, each from its own task: overlapping bulk deletes of users and of
        // articles, renames of the tags those articles carry, tag deletes, article edits.
        let mut calls = Vec::new();
        for round in 0..2 {
            for w in 0..4 {
                let users = json!({"action": "delete", "ids": [authors[w], authors[w + 1], authors[(w + 2) % 6]]});
                calls.push(spawn_call(&client, &admin, Method::Post, "/api/admin/users/bulk".into(), Some(users)));
                let picked: Vec<i64> = article_ids.iter().copied().skip(w * 3 + round).step_by(2).take(8).collect();
                let articles = json!({"action": "delete", "ids": picked});
                calls.push(spawn_call(&client, &admin, Method::Post, "/api/admin/articles/bulk".into(), Some(articles)));
            }
            for (i, tag) in tag_ids.iter().enumerate() {
                let rename = json!({"tag": {"name": format!("renamed-{i}-{round}")}});
                calls.push(spawn_call(&client, &admin, Method::Put, format!("/api/admin/tags/{tag}"), Some(rename)));
                if i % 2 == round {
                    calls.push(spawn_call(&client, &admin, Method::Delete, format!("/api/admin/tags/{tag}"), None));
                }
            }
            for id in article_ids.iter().skip(round).step_by(3) {
                let edit = json!({"article": {"body": format!("edited in round {round}")}});
                calls.push(spawn_call(&client, &admin, Method::Put, format!("/api/admin/articles/{id}"), Some(edit)));
            }
        }
        let mut outcomes = Vec::new();
        for call in calls {
            outcomes.push(call.await.expect("task"));
        }
        let failures: Vec<String> = outcomes
            .iter()
            .filter(|(_, status, _)| status.code >= 500 || status.code < 200)
            .map(|(what, status, body)| format!("{what}: {status} {body}"))
            .collect();
        assert!(failures.is_empty(), "{} of {} answered 5xx:\n{}", failures.len(), outcomes.len(), failures.join("\n"));

        // Consistent afterwards: every counter equals a fresh count...
        crate::counters::assert_counters_match(&app, "after racing admin writes").await;
        // ...each user and article reported deleted is gone and audited exactly once...
        let mut users_done = Vec::new();
        let mut articles_done = Vec::new();
        for (what, _, body) in &outcomes {
            if let Some(done) = body["bulk"]["done"].as_array() {
                let ids = done.iter().map(|v| v.as_i64().unwrap());
                if what.contains("/users/") {
                    users_done.extend(ids);
                } else {
                    articles_done.extend(ids);
                }
            }
        }
        users_done.sort_unstable();
        let distinct = users_done.len();
        users_done.dedup();
        assert_eq!(distinct, users_done.len(), "a user was deleted twice: {users_done:?}");
        assert_eq!(users_done.len(), 6, "every author was in some bulk delete");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE username LIKE 'author%'").await, 0);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'user.delete'").await, 6);
        articles_done.sort_unstable();
        let distinct = articles_done.len();
        articles_done.dedup();
        assert_eq!(distinct, articles_done.len(), "an article was deleted twice");
        let audited = scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'article.delete'").await;
        assert_eq!(usize::try_from(audited).unwrap(), articles_done.len());
        assert!(articles_done.len() <= usize::try_from(articles_before).unwrap());
        // ...all articles went with their authors, and no tag link points nowhere.
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 0);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM article_tags").await, 0);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM favorites").await, 0);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM feed_entries").await, 0);
    }
);
