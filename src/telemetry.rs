//! Logging (fern + log) and error reporting (Sentry), set up by `main` before the app is
//! built, plus the fairing that gives every request an id and logs one line for it.

use std::time::Instant;

use log::LevelFilter;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Data, Request, Response};

use crate::config::AppConfig;

pub use crate::config::parse_level;

/// Install the global logger: stderr (coloured on a terminal) and optionally a file, wrapped by
/// Sentry's log integration so error records also reach Sentry. Called once, from `main`;
/// Rocket then keeps its own logger out of the way.
pub fn init_logging(level: &str, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let level = parse_level(level).unwrap_or(LevelFilter::Info);
    let colors = fern::colors::ColoredLevelConfig::new()
        .error(fern::colors::Color::Red)
        .warn(fern::colors::Color::Yellow)
        .info(fern::colors::Color::Green);
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let stderr = fern::Dispatch::new()
        .format(move |out, message, record| {
            let lvl = if tty {
                colors.color(record.level()).to_string()
            } else {
                record.level().to_string()
            };
            out.finish(format_args!(
                "{} {lvl:5} {}: {message}",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                record.target()
            ));
        })
        .chain(std::io::stderr());
    let mut dispatch = fern::Dispatch::new()
        .level(level)
        // Rocket's own chatter (route tables, `_` targets) is noise at info level.
        .level_for("rocket", level.min(LevelFilter::Warn))
        .level_for("_", level.min(LevelFilter::Warn))
        // rocket_cors narrates each CORS request ("Verifying origin") at info level.
        .level_for("rocket_cors", level.min(LevelFilter::Warn))
        .level_for("sqlx", level.min(LevelFilter::Warn))
        .level_for("hyper", LevelFilter::Warn)
        .chain(stderr);
    if let Some(path) = file {
        let file_dispatch = fern::Dispatch::new()
            .format(|out, message, record| {
                out.finish(format_args!(
                    "{} {:5} {}: {message}",
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                    record.level(),
                    record.target()
                ));
            })
            .chain(fern::log_file(path)?);
        dispatch = dispatch.chain(file_dispatch);
    }
    let (max_level, logger) = dispatch.into_log();
    // Only our own error records become Sentry events (each 5xx is logged once, in `error`);
    // other crates' errors and all warnings ride along as breadcrumbs. So do the request line
    // of a 5xx (`error`'s record is its event) and a background task's panic (`background`
    // sends its own event, with the panic as an exception).
    let logger = sentry_log::SentryLogger::with_dest(logger).filter(|md| match md.level() {
        log::Level::Error
            if md.target().starts_with("conduit") && !REPORTED_ELSEWHERE.contains(&md.target()) =>
        {
            sentry_log::LogFilter::Event
        }
        log::Level::Error | log::Level::Warn | log::Level::Info => {
            sentry_log::LogFilter::Breadcrumb
        }
        _ => sentry_log::LogFilter::Ignore,
    });
    log::set_boxed_logger(Box::new(Truthful(logger)))?;
    log::set_max_level(max_level);
    Ok(())
}

/// Error-level targets of ours that are not Sentry events of their own.
const REPORTED_ELSEWHERE: [&str; 2] = [REQUEST_TARGET, BACKGROUND_TARGET];

/// The log target of a background task's panic (`background` sends the Sentry event itself).
pub const BACKGROUND_TARGET: &str = "conduit::background";

/// The target of the one line per request.
const REQUEST_TARGET: &str = "conduit::request";

/// Keeps the log to one line per request, at the level of what the client got. Rocket narrates
/// each request under `rocket::server` ("Matched", "Responding with registered 404 catcher",
/// and "No matching routes" at *error* level for every 404, including a CORS preflight that
/// the CORS fairing then answers 204); [`RequestLog`] says what matters once, with the final
/// status. So Rocket's per-request records are dropped but its real errors (a catcher that
/// failed), and a refused CORS origin (`rocket_cors` logs it as an error; it is the client's)
/// is a warning.
struct Truthful<L>(L);

impl<L: log::Log> Truthful<L> {
    /// What becomes of `record`: dropped (`None`), or logged at this level.
    fn level_for(record: &log::Record<'_>) -> Option<log::Level> {
        let (target, level) = (record.target(), record.level());
        if target.starts_with("rocket::server") {
            if level > log::Level::Error {
                return None;
            }
            // Our request line and `error`'s report cover these: a 404 is not a server
            // error, and a panicking handler is reported with its request id.
            let message = record.args().to_string();
            let narration =
                message.starts_with("No matching routes") || message.contains("panicked");
            return (!narration).then_some(level);
        }
        if target.starts_with("rocket_cors") && level == log::Level::Error {
            return Some(log::Level::Warn);
        }
        Some(level)
    }
}

impl<L: log::Log> log::Log for Truthful<L> {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.0.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        match Self::level_for(record) {
            Some(level) if level == record.level() => self.0.log(record),
            Some(level) => self.0.log(
                &log::Record::builder()
                    .args(*record.args())
                    .level(level)
                    .target(record.target())
                    .module_path(record.module_path())
                    .file(record.file())
                    .line(record.line())
                    .build(),
            ),
            None => {}
        }
    }

    fn flush(&self) {
        self.0.flush();
    }
}

/// Start Sentry when a DSN is configured. Keep the guard alive for the life of the process.
pub fn init_sentry(config: &AppConfig, profile: &str) -> Option<sentry::ClientInitGuard> {
    let dsn = config.sentry_dsn()?;
    let mut options = sentry::ClientOptions::default();
    options.release = Some(env!("CARGO_PKG_VERSION").into());
    options.environment = Some(profile.to_owned().into());
    options.send_default_pii = false;
    options.attach_stacktrace = true;
    options.before_send = Some(std::sync::Arc::new(|mut event| {
        scrub_event(&mut event);
        Some(event)
    }));
    // The transport's TLS takes the process's provider (no provider of its own: src/tls.rs).
    crate::tls::install_crypto_provider();
    let guard = sentry::init((dsn, options));
    if guard.is_enabled() {
        log::info!("sentry: reporting errors (environment {profile})");
    }
    Some(guard)
}

thread_local! {
    /// The message of the last panic on this thread, until a catcher reports it.
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Route panics into the request's error report. Rocket catches a panicking handler and runs
/// the 500 catcher on the same thread, in the same poll; the hook leaves the message there so
/// the catcher sends one Sentry event with the request's method, path and id (instead of a
/// second, context-free event from a panic integration). The previous hook still prints.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        LAST_PANIC.with(|last| *last.borrow_mut() = Some(format!("{message}{location}")));
        previous(info);
    }));
}

/// The last panic on this thread, if a catcher has not reported it yet.
pub fn take_panic() -> Option<String> {
    LAST_PANIC.with(|last| last.borrow_mut().take())
}

/// Names whose values never leave the process.
const SECRET_KEYS: [&str; 8] = [
    "authorization",
    "cookie",
    "set-cookie",
    "password",
    "token",
    "secret",
    "csrf",
    "x-csrf-token",
];

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| key.contains(s))
}

/// Remove secrets from an event: request headers, cookies, bodies, query strings and extras.
pub fn scrub_event(event: &mut sentry::protocol::Event<'static>) {
    if let Some(request) = event.request.as_mut() {
        request.cookies = None;
        request.data = None;
        request.headers.retain(|k, _| !is_secret_key(k));
        request.env.retain(|k, _| !is_secret_key(k));
    }
    event.extra.retain(|k, _| !is_secret_key(k));
    event.tags.retain(|k, _| !is_secret_key(k));
}

/// The id of the current request, as assigned by [`RequestLog`].
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

struct Started(Instant);

/// The id of `req`, assigning one when none exists yet.
pub fn request_id(req: &Request<'_>) -> String {
    req.local_cache(|| RequestId(format!("{:016x}", rand::random::<u64>())))
        .0
        .clone()
}

/// How long ago `req` arrived (as [`RequestStart`] saw it).
pub fn elapsed(req: &Request<'_>) -> std::time::Duration {
    req.local_cache(|| Started(Instant::now())).0.elapsed()
}

/// Notes when each request arrived and gives it an id. Attached first, so the time covers
/// every other fairing.
pub struct RequestStart;

#[rocket::async_trait]
impl Fairing for RequestStart {
    fn info(&self) -> Info {
        Info {
            name: "Request start",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| Started(Instant::now()));
        request_id(req);
    }
}

/// Logs one line per request with the status the client receives, and echoes the id as
/// `X-Request-Id`. Attached by [`request_log`] after every other response fairing (the CORS
/// fairing turns a preflight's 404 into a 204 in its own `on_response`). The line is at error
/// level for a 5xx but a 503 (load shed, or the database away: a warning; `error` reports
/// the cause of a real failure), at info level otherwise: a 4xx is the client's business.
pub struct RequestLog;

/// The stage that attaches [`RequestLog`] last: at ignite, after the stages attached before it
/// have attached theirs (the CORS stage attaches its fairing at ignite).
pub fn request_log() -> rocket::fairing::AdHoc {
    rocket::fairing::AdHoc::on_ignite("Request log", |rocket| async { rocket.attach(RequestLog) })
}

/// The level of the request line for a response with `status`.
pub fn request_level(status: rocket::http::Status) -> log::Level {
    match status.code {
        503 => log::Level::Warn,
        500.. => log::Level::Error,
        _ => log::Level::Info,
    }
}

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "Request log",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let id = request_id(req);
        let elapsed = elapsed(req);
        log::log!(
            target: REQUEST_TARGET,
            request_level(res.status()),
            "{} {} {} {:.1}ms rid={id}",
            req.method(),
            request_path(req),
            res.status().code,
            elapsed.as_secs_f64() * 1000.0
        );
        res.set_header(Header::new("X-Request-Id", id));
    }
}

/// The path of `req` as the log shows it: as sent, unless it reaches a path with a token in it
/// (spelled in any percent-encoding: Rocket routes by the decoded segments), which is shown
/// decoded and redacted.
pub fn request_path(req: &Request<'_>) -> String {
    let routed: String = req.uri().path().segments().flat_map(|s| ["/", s]).collect();
    match loggable_path(&routed) {
        std::borrow::Cow::Owned(redacted) => redacted,
        std::borrow::Cow::Borrowed(_) => req.uri().path().to_string(),
    }
}

/// Paths whose next segment is a secret (the token of a mailed link) or names a session
/// (its public handle): logged without it.
const TOKEN_PATHS: [&str; 4] = [
    "/password/reset/",
    "/email/confirm/",
    "/settings/sessions/",
    "/api/user/sessions/",
];

/// `path` as logs and error reports may show it: the token of a mailed link replaced by
/// `[redacted]`.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in TOKEN_PATHS {
        if let Some(rest) = path.strip_prefix(prefix).filter(|r| !r.is_empty()) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            return format!("{prefix}[redacted]{tail}").into();
        }
    }
    path.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_paths_are_not_logged() {
        assert_eq!(
            loggable_path("/password/reset/abcDEF123_-xyz"),
            "/password/reset/[redacted]"
        );
        assert_eq!(
            loggable_path("/email/confirm/tok/x"),
            "/email/confirm/[redacted]/x"
        );
        assert_eq!(loggable_path("/password/reset"), "/password/reset");
        assert_eq!(
            loggable_path("/settings/sessions/0123abcd/end"),
            "/settings/sessions/[redacted]/end"
        );
        assert_eq!(
            loggable_path("/api/user/sessions/0123abcd"),
            "/api/user/sessions/[redacted]"
        );
        assert_eq!(loggable_path("/api/user/sessions"), "/api/user/sessions");
        assert_eq!(loggable_path("/article/x"), "/article/x");
    }

    /// What becomes of a record with this target, level and message.
    fn fate(target: &str, level: log::Level, message: &str) -> Option<log::Level> {
        Truthful::<sentry_log::NoopLogger>::level_for(
            &log::Record::builder()
                .target(target)
                .level(level)
                .args(format_args!("{message}"))
                .build(),
        )
    }

    #[test]
    fn rocket_narration_goes_real_errors_stay_and_refused_origins_are_warnings() {
        use log::Level::{Error, Info, Warn};
        let route = "No matching routes for OPTIONS /api/x.";
        assert_eq!(fate("rocket::server::_", Error, route), None);
        assert_eq!(
            fate("rocket::server::_", Error, "Handler x panicked."),
            None
        );
        let catcher = "Catcher failed. Attempting 500 error catcher.";
        assert_eq!(fate("rocket::server::_", Error, catcher), Some(Error));
        let picked = "Responding with registered 404 catcher.";
        assert_eq!(fate("rocket::server::_", Warn, picked), None);
        assert_eq!(fate("rocket::server", Info, "GET /:"), None);
        let origin = "CORS Error: Origin is not allowed";
        assert_eq!(fate("rocket_cors::fairing::_", Error, origin), Some(Warn));
        assert_eq!(
            fate("conduit::error", Error, "GET / answered 500"),
            Some(Error)
        );
        assert_eq!(
            fate("rocket::launch", Warn, "Rocket has launched"),
            Some(Warn)
        );
    }

    #[test]
    fn request_lines_are_errors_only_for_server_failures() {
        use rocket::http::Status;
        assert_eq!(request_level(Status::NoContent), log::Level::Info);
        assert_eq!(request_level(Status::NotFound), log::Level::Info);
        assert_eq!(request_level(Status::ServiceUnavailable), log::Level::Warn);
        assert_eq!(
            request_level(Status::InternalServerError),
            log::Level::Error
        );
    }
}
