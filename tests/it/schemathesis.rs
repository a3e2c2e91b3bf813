//! Schemathesis against the app's own OpenAPI document (issue 19), on both engines: the served
//! binary (`conduit serve`, rate limits off) is tested with every check (`--checks all`) and a
//! bounded number of examples per operation, and the document is validated against the OpenAPI
//! 3.1 schema (`openapi-spec-validator`) first. Any finding fails the test.
//!
//! The tools are Python packages, pinned in `tests/schemathesis/requirements.txt`; `.ci/run`
//! installs them in a virtualenv and puts it on `PATH`. Without them the test says so and
//! passes, unless `CONDUIT_TEST_REQUIRE_SCHEMATHESIS=1` (CI), which makes it fail.
//! `CONDUIT_SCHEMATHESIS_SEED` and `CONDUIT_SCHEMATHESIS_EXAMPLES` change the seed (fixed, so a
//! run is repeatable) and the examples per operation.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use conduit::db::Engine;
use serde_json::{json, Value};

use crate::harness::scratch_database;
use crate::ops::{free_port, get, http, serve_logging_to};

/// `name` on `PATH`, if there.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// The two tools, or `None` after saying why (a failure when they are required).
fn tools(test: &str) -> Option<(PathBuf, PathBuf)> {
    if let (Some(st), Some(validator)) =
        (on_path("schemathesis"), on_path("openapi-spec-validator"))
    {
        Some((st, validator))
    } else {
        assert!(
            std::env::var("CONDUIT_TEST_REQUIRE_SCHEMATHESIS").as_deref() != Ok("1"),
            "CONDUIT_TEST_REQUIRE_SCHEMATHESIS=1 but schemathesis or openapi-spec-validator \
             is not on PATH (pip install -r tests/schemathesis/requirements.txt)"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: schemathesis and openapi-spec-validator are not on PATH \
             (pip install -r tests/schemathesis/requirements.txt)"
        );
        None
    }
}

/// `POST path` with a JSON body (and a token): status and parsed body.
fn post_json(port: u16, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Token {t}\r\n"));
    let (status, _, text) = http(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n{auth}\r\n{body}",
            body.len()
        ),
    )
    .expect("request");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// One `schemathesis run`: its exit status and output.
fn schemathesis(
    st: &Path,
    port: u16,
    token: &str,
    filter: (&str, &str),
    report: &Path,
) -> (bool, String) {
    let seed = std::env::var("CONDUIT_SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".into());
    let examples = std::env::var("CONDUIT_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "20".into());
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis/schemathesis.toml");
    let output = Command::new(st)
        .arg("--config-file")
        .arg(&config)
        .arg("--no-color")
        .arg("run")
        .arg(format!("http://127.0.0.1:{port}/api/openapi.json"))
        .args(["--checks", "all"])
        .args(["--header", &format!("Authorization: Token {token}")])
        .args(["--max-examples", &examples, "--seed", &seed])
        // One worker: hypothesis' description of its strategies parses source with `ast`,
        // which is not safe across Python threads (a worker crashed on it here).
        .args(["--workers", "1", "--request-timeout", "20"])
        // Rocket 0.5 answers a method it does not know (the draft QUERY) with 400 before any
        // route, fairing or catcher sees it; known methods at a path get 405 with `Allow`.
        .args(["--exclude-method", "QUERY"])
        .args([filter.0, filter.1])
        .args(["--report", "junit", "--report-dir"])
        .arg(report)
        .stdin(Stdio::null())
        .output()
        .expect("run schemathesis");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

/// The failures section of schemathesis' output (from its `FAILURES` banner to the next
/// banner), or the whole output when it has none.
fn failures(output: &str) -> &str {
    let Some(start) = output.find("= FAILURES =") else {
        return output;
    };
    let start = output[..start].rfind('\n').map_or(0, |i| i + 1);
    let rest = &output[start..];
    let body = rest.find('\n').map_or(rest.len(), |i| i + 1);
    let end = rest[body..]
        .find("\n=====")
        .map_or(rest.len(), |i| body + i);
    &rest[..end]
}

async fn finds_nothing(engine: Engine, test: &str) {
    let Some((st, validator)) = tools(test) else {
        return;
    };
    let Some((url, dir, _mysql)) = scratch_database(engine, test).await else {
        return;
    };
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
    let _server = serve_logging_to(
        &url,
        port,
        &[
            ("CONDUIT_RATE_LIMITS", "false".into()),
            (
                "CONDUIT_MAIL_DIR",
                dir.path().join("mail").display().to_string(),
            ),
            ("CONDUIT_MAIL_LOG", "false".into()),
            (
                "CONDUIT_BACKUP_DIR",
                dir.path().join("backups").display().to_string(),
            ),
        ],
        Stdio::from(log),
    );

    // The document first: valid OpenAPI 3.1 by the specification's own schema.
    let (status, _, doc) = get(port, "/api/openapi.json", "");
    assert_eq!(status, 200);
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &doc).expect("write the document");
    let checked = Command::new(&validator)
        .arg(&file)
        .output()
        .expect("run the validator");
    assert!(
        checked.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    // A registered user, and a personal access token of theirs with `write`: the run may
    // change the account's password (which would end a login token mid-run), a token may not.
    let (status, user) = post_json(
        port,
        "/api/users",
        None,
        &json!({"user": {"username": "schemathesis", "email": "schemathesis@example.com", "password": "a password for the run"}}),
    );
    assert_eq!(status, 201, "{user}");
    let jwt = user["user"]["token"].as_str().expect("token").to_owned();
    let (status, created) = post_json(
        port,
        "/api/user/tokens",
        Some(&jwt),
        &json!({"token": {"name": "schemathesis", "scopes": ["write"], "expiresInDays": 30}}),
    );
    assert_eq!(status, 201, "{created}");
    let pat = created["token"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();

    let report = dir.path().join("report");
    // Everything but token management with the token; token management (which a token may
    // never do) with the login.
    for (token, filter) in [
        (&pat, ("--exclude-path-regex", "^/api/user/tokens")),
        (&jwt, ("--include-path-regex", "^/api/user/tokens")),
    ] {
        let (ok, output) = schemathesis(&st, port, token, filter, &report);
        let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
        let tail: String = log.lines().rev().take(40).collect::<Vec<_>>().join("\n");
        if !ok {
            // The whole output first; the panic message ends with what CI's log tail shows:
            // schemathesis' own account of each failure (request, answer, curl to replay).
            eprintln!("{output}");
        }
        assert!(
            ok,
            "schemathesis ({}) found something on {engine:?}\n--- server log, last lines (newest first) ---\n{tail}\n--- the failures ---\n{}",
            filter.1,
            failures(&output)
        );
        assert!(output.contains("Tested:"), "{output}");
    }
}

#[rocket::async_test]
async fn schemathesis_finds_nothing_on_sqlite() {
    finds_nothing(Engine::Sqlite, "it::schemathesis::sqlite").await;
}

#[rocket::async_test]
async fn schemathesis_finds_nothing_on_mariadb() {
    finds_nothing(Engine::MySql, "it::schemathesis::mysql").await;
}
