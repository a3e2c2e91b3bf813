//! `GET /metrics`' numbers, in the Prometheus text format (the `prometheus` crate): requests
//! by method, route and status (a counter and a latency histogram), the pool's occupancy,
//! backups by outcome and the size of SQLite's write-ahead log.
//!
//! Labels stay bounded: the route is the matched route's URI pattern
//! (`/api/articles/<slug>`), never the path a client sent, and a request no route matched is
//! counted under [`UNMATCHED`]. One [`Metrics`] per app instance (tests run several in one
//! process), managed by Rocket; the request fairing holds its own handle, so recording a
//! request costs two label lookups and no allocation.

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::{Request, Response};

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "<unmatched>";

/// Latency buckets, in seconds: most requests here take about a millisecond.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The app's metrics. Cloning shares them.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    backups: IntCounterVec,
    pool_max: IntGauge,
    pool_open: IntGauge,
    pool_in_use: IntGauge,
    pool_waiting: IntGauge,
    wal_bytes: IntGauge,
    outbox_pending: IntGauge,
    outbox_failed: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// How a backup ended, as counted.
#[derive(Debug, Clone, Copy)]
pub enum BackupOutcome {
    /// Written and checked.
    Ok,
    /// Another backup was running.
    Busy,
    /// The tool or the disk failed.
    Failed,
}

impl Metrics {
    /// Fresh metrics, all zero.
    ///
    /// # Panics
    ///
    /// Never: the names, labels and buckets are constants that `prometheus` accepts (a unit
    /// test builds them).
    #[allow(clippy::expect_used)]
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("conduit".into()), None).expect("prefix");
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )
        .expect("counter");
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from a request's arrival to its response, in seconds",
            )
            .buckets(BUCKETS.to_vec()),
            &["method", "route", "status"],
        )
        .expect("histogram");
        let backups = IntCounterVec::new(
            Opts::new("backups_total", "Backups run by this instance, by outcome"),
            &["outcome"],
        )
        .expect("counter");
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("gauge");
        let metrics = Self {
            requests,
            durations,
            backups,
            pool_max: gauge("db_pool_max_connections", "Connections the pool may open"),
            pool_open: gauge("db_pool_connections", "Connections open"),
            pool_in_use: gauge("db_pool_in_use", "Connections in use"),
            pool_waiting: gauge("db_pool_waiting", "Requests waiting for a connection"),
            // Not registered: shown only on SQLite (see `render`), so named in full here.
            wal_bytes: gauge(
                "conduit_sqlite_wal_bytes",
                "Size of SQLite's write-ahead log file, in bytes",
            ),
            outbox_pending: gauge(
                "mail_outbox_pending",
                "Mails queued or waiting for a retry (every instance's)",
            ),
            outbox_failed: gauge(
                "mail_outbox_failed",
                "Mails given up on after their attempts (every instance's)",
            ),
            registry,
        };
        for outcome in ["ok", "busy", "failed"] {
            metrics.backups.with_label_values(&[outcome]);
        }
        let collectors: [Box<dyn prometheus::core::Collector>; 9] = [
            Box::new(metrics.outbox_pending.clone()),
            Box::new(metrics.outbox_failed.clone()),
            Box::new(metrics.requests.clone()),
            Box::new(metrics.durations.clone()),
            Box::new(metrics.backups.clone()),
            Box::new(metrics.pool_max.clone()),
            Box::new(metrics.pool_open.clone()),
            Box::new(metrics.pool_in_use.clone()),
            Box::new(metrics.pool_waiting.clone()),
        ];
        for collector in collectors {
            metrics.registry.register(collector).expect("unique names");
        }
        metrics
    }

    /// Count a backup's outcome.
    pub fn backup(&self, outcome: BackupOutcome) {
        let label = match outcome {
            BackupOutcome::Ok => "ok",
            BackupOutcome::Busy => "busy",
            BackupOutcome::Failed => "failed",
        };
        self.backups.with_label_values(&[label]).inc();
    }

    /// The outbox's pending and failed mails, as last read.
    pub fn outbox(&self, pending: i64, failed: i64) {
        self.outbox_pending.set(pending);
        self.outbox_failed.set(failed);
    }

    /// Record one answered request.
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = [method, route, status_label(status)];
        self.requests.with_label_values(&labels).inc();
        self.durations.with_label_values(&labels).observe(seconds);
    }

    /// Everything, in the Prometheus text format, with the pool's occupancy and the size of
    /// SQLite's write-ahead log (`None`: no such file on this engine) as the caller read them
    /// just now: this registry knows numbers, not the database.
    pub fn render(&self, status: deadpool::Status, wal_bytes: Option<u64>) -> String {
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.pool_max.set(gauge(status.max_size));
        self.pool_open.set(gauge(status.size));
        self.pool_in_use
            .set(gauge(status.size.saturating_sub(status.available)));
        self.pool_waiting.set(gauge(status.waiting));
        let mut families = self.registry.gather();
        if let Some(bytes) = wal_bytes {
            self.wal_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
            families.extend(prometheus::core::Collector::collect(&self.wal_bytes));
        }
        let mut out = Vec::new();
        // Writing into a Vec cannot fail, and the families are well formed.
        let _ = TextEncoder::new().encode(&families, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Status codes as label values, made once: no allocation per request.
fn status_label(code: u16) -> &'static str {
    static LABELS: LazyLock<Vec<String>> =
        LazyLock::new(|| (0..600).map(|c: u16| c.to_string()).collect());
    LABELS
        .get(usize::from(code))
        .map_or("other", String::as_str)
}

/// Records each request once its response is final. Attached by [`stage`] after the other
/// response fairings (CORS turns a preflight's 404 into a 204 in its own `on_response`).
struct RequestMetrics(Metrics);

#[rocket::async_trait]
impl Fairing for RequestMetrics {
    fn info(&self) -> Info {
        Info {
            name: "Request metrics",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let route = req.route().map_or(UNMATCHED, |r| r.uri.path());
        self.0.request(
            req.method().as_str(),
            route,
            res.status().code,
            crate::telemetry::elapsed(req).as_secs_f64(),
        );
    }
}

/// Attaches the request fairing at ignite, after the stages attached before it have attached
/// theirs; the app's [`Metrics`] must be managed.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Request metrics", |rocket| async {
        match rocket.state::<Metrics>().cloned() {
            Some(metrics) => rocket.attach(RequestMetrics(metrics)),
            None => rocket,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_build_and_status_labels_are_the_codes() {
        let metrics = Metrics::new();
        metrics.request("GET", "/x", 200, 0.001);
        assert_eq!(status_label(404), "404");
        assert_eq!(status_label(700), "other");
    }
}
