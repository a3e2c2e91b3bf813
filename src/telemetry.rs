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
    // Only our own error records become Sentry events (each 5xx is logged once, in error.rs);
    // other crates' errors and all warnings ride along as breadcrumbs.
    let logger = sentry_log::SentryLogger::with_dest(logger).filter(|md| match md.level() {
        log::Level::Error if md.target().starts_with("conduit") => sentry_log::LogFilter::Event,
        log::Level::Error | log::Level::Warn | log::Level::Info => {
            sentry_log::LogFilter::Breadcrumb
        }
        _ => sentry_log::LogFilter::Ignore,
    });
    log::set_boxed_logger(Box::new(logger))?;
    log::set_max_level(max_level);
    Ok(())
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

/// Gives each request an id (echoed as `X-Request-Id`) and logs one line per request.
pub struct RequestLog;

/// The id of `req`, assigning one when none exists yet.
pub fn request_id(req: &Request<'_>) -> String {
    req.local_cache(|| RequestId(format!("{:016x}", rand::random::<u64>())))
        .0
        .clone()
}

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "Request log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| Started(Instant::now()));
        request_id(req);
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let id = request_id(req);
        let elapsed = req.local_cache(|| Started(Instant::now())).0.elapsed();
        log::info!(
            target: "conduit::request",
            "{} {} {} {:.1}ms rid={id}",
            req.method(),
            req.uri().path(),
            res.status().code,
            elapsed.as_secs_f64() * 1000.0
        );
        res.set_header(Header::new("X-Request-Id", id));
    }
}
