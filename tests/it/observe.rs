//! What operators see: the log of the real binary (one line per request, at the level of what
//! the client got) and Sentry events from background tasks.

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::scratch_database;
use crate::ops::{free_port, get, http, request_id, serve_logging_to};
use conduit::db::Engine;

/// One line of the server's log (stderr, no colours: not a terminal): level, target, message.
fn parse(line: &str) -> Option<(&str, &str, &str)> {
    let mut fields = line.split_whitespace();
    let _time = fields.next()?;
    let level = fields.next()?;
    let target = fields.next()?.strip_suffix(':')?;
    let message = line.split_once(&format!(" {target}: "))?.1;
    ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"]
        .contains(&level)
        .then_some((level, target, message))
}

/// A handle of a session, as paths carry it.
const HANDLE: &str = "0123456789abcdef0123456789abcdef";

/// Ask for two paths naming a session (review of issue 18, L3).
fn ask_for_session_paths(port: u16) {
    for path in [
        format!("/api/user/sessions/{HANDLE}"),
        format!("/settings/sessions/{HANDLE}/end"),
    ] {
        let (status, _, _) = get(port, &path, "");
        assert!((400..500).contains(&status), "{path}: {status}");
    }
}

/// The log shows those paths without the session's handle.
fn session_paths_are_redacted(log: &str) {
    assert!(!log.contains(HANDLE), "no session handle logged: {log}");
    let sessions: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("sessions/[redacted]"))
        .collect();
    assert_eq!(sessions.len(), 2, "{log}");
    assert!(
        sessions[0].contains("GET /api/user/sessions/[redacted] "),
        "{log}"
    );
    assert!(
        sessions[1].contains("GET /settings/sessions/[redacted]/end "),
        "{log}"
    );
}

/// A CORS preflight the browser gets as 204 is logged once, as a 204, with nothing at error
/// level; a 404 is one info line; a 500 is an error. (The log does not depend on the engine:
/// SQLite only.)
#[rocket::async_test]
async fn each_request_logs_one_line_with_the_status_the_client_got() {
    let (url, dir, _) = scratch_database(Engine::Sqlite, "it::observe::log")
        .await
        .expect("sqlite");
    let log_path = dir.path().join("stderr.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let port = free_port();
    let server = serve_logging_to(
        &url,
        port,
        &[
            ("CONDUIT_LOG_FILTER", "info".into()),
            (
                "CONDUIT_CORS_ALLOWED_ORIGINS",
                "[\"https://app.example\"]".into(),
            ),
            ("CONDUIT_ENABLE_PANIC_ROUTE", "true".into()),
        ],
        Stdio::from(log_file),
    );

    let (status, head, _) = http(
        port,
        "OPTIONS /api/articles/cors-probe/comments HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: Content-Type\r\n\r\n",
    )
    .expect("preflight");
    assert_eq!(status, 204, "{head}");
    assert!(
        head.contains("access-control-allow-origin: https://app.example"),
        "{head}"
    );
    let preflight_rid = request_id(&head);
    let (status, _, _) = get(port, "/no-such-page-probe", "");
    assert_eq!(status, 404);
    ask_for_session_paths(port);
    let (status, head, _) = get(port, "/__panic", "");
    assert_eq!(status, 500);
    let panic_rid = request_id(&head);

    // The line is written before the response is sent; wait for it all the same.
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = std::fs::read_to_string(&log_path).expect("read log");
        if log.contains(&format!("rid={panic_rid}")) || Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(server);
    let lines: Vec<&str> = log.lines().collect();
    let mentioning =
        |what: &str| -> Vec<&str> { lines.iter().copied().filter(|l| l.contains(what)).collect() };

    let preflight = mentioning("cors-probe");
    assert_eq!(preflight.len(), 1, "one line for the preflight: {log}");
    let (level, target, message) = parse(preflight[0]).expect("a log line");
    assert_eq!((level, target), ("INFO", "conduit::request"), "{log}");
    assert!(
        message.starts_with("OPTIONS /api/articles/cors-probe/comments 204 ")
            && message.ends_with(&format!("rid={preflight_rid}")),
        "{message}"
    );

    let not_found = mentioning("no-such-page-probe");
    assert_eq!(not_found.len(), 1, "one line for the 404: {log}");
    let (level, target, message) = parse(not_found[0]).expect("a log line");
    assert_eq!((level, target), ("INFO", "conduit::request"), "{log}");
    assert!(
        message.starts_with("GET /no-such-page-probe 404 "),
        "{message}"
    );

    session_paths_are_redacted(&log);

    assert!(
        mentioning("No matching routes").is_empty(),
        "Rocket's routing narration is not logged: {log}"
    );
    let before_panic = lines
        .iter()
        .take_while(|l| !l.contains("/__panic"))
        .filter_map(|l| parse(l))
        .filter(|(level, _, _)| *level == "ERROR")
        .count();
    assert_eq!(
        before_panic, 0,
        "nothing at error level before the 500: {log}"
    );

    let request_lines: Vec<_> = lines
        .iter()
        .filter_map(|l| parse(l))
        .filter(|(_, target, message)| {
            *target == "conduit::request" && message.contains("/__panic")
        })
        .collect();
    assert_eq!(request_lines.len(), 1, "{log}");
    assert_eq!(request_lines[0].0, "ERROR", "a 500 is an error: {log}");
    assert!(request_lines[0].2.starts_with("GET /__panic 500 "), "{log}");
    assert!(
        lines
            .iter()
            .filter_map(|l| parse(l))
            .any(|(level, _, message)| level == "ERROR"
                && message.contains(&format!("rid={panic_rid}: handler panicked"))),
        "the failure itself is reported with its cause: {log}"
    );
}

/// Records what a Sentry client sends instead of sending it.
#[derive(Default)]
struct Captured(Mutex<Vec<sentry::Envelope>>);

impl sentry::Transport for Captured {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        self.0.lock().expect("lock").push(envelope);
    }
}

/// A background task whose job panics: one Sentry event naming the task and the panic, and the
/// task keeps running its job at the next ticks, until shutdown.
#[rocket::async_test]
async fn a_background_task_that_panics_is_reported_to_sentry_and_runs_again() {
    let transport = Arc::new(Captured::default());
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some("http://public@127.0.0.1:9/1".parse().expect("dsn"));
    options.transport = Some(Arc::new(transport.clone()));
    let client = sentry::Client::from_config(options);
    let hub = Arc::new(sentry::Hub::new(
        Some(Arc::new(client)),
        Arc::new(sentry::Scope::default()),
    ));
    let runs = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let counter = runs.clone();
    let task = sentry::Hub::run(hub, || {
        conduit::background::spawn_periodic(
            "test-panicker",
            Duration::from_millis(20),
            async move {
                let _ = stopped.await;
            },
            move || {
                let run = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    assert!(run != 0, "deliberate background panic");
                }
            },
        )
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while runs.load(Ordering::SeqCst) < 3 {
        assert!(
            Instant::now() < deadline,
            "the task stopped after its panic"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(()).expect("the task is listening");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the task ends at shutdown")
        .expect("the task itself never panics");

    let envelopes = transport.0.lock().expect("lock");
    let events: Vec<_> = envelopes.iter().filter_map(|e| e.event()).collect();
    assert_eq!(events.len(), 1, "one event for the one panic: {events:?}");
    let event = events[0];
    assert_eq!(
        event.tags.get("task").map(String::as_str),
        Some("test-panicker")
    );
    let exception = &event.exception.values[0];
    assert_eq!(exception.ty, "panic");
    let value = exception.value.as_deref().unwrap_or_default();
    assert!(
        value.contains("test-panicker") && value.contains("deliberate background panic"),
        "{value}"
    );
}
