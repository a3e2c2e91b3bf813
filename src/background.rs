//! Background tasks: the one way the app runs work outside requests (housekeeping, the SQLite
//! WAL checkpoint). A task is a job run on a timer until shutdown; a job that panics is
//! reported to Sentry (one event, the panic as an exception, tagged with the task's name) and
//! logged at error level, and the task carries on: the job runs again at its next tick.
//!
//! Rocket catches a panicking *handler* and answers 500 (`error` reports it); nothing catches
//! a spawned task's panic, which tokio would only hand to a `JoinHandle` nobody awaits.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use sentry::SentryFutureExt;

/// The log target of a background task's panic (a breadcrumb in Sentry: the event is sent here).
pub use crate::telemetry::BACKGROUND_TARGET as LOG_TARGET;

/// Run `job` now and then every `every` until `shutdown` completes, on its own tokio task.
/// A panicking run is reported ([`run_once`]) and the next tick runs the job again. Sentry
/// events go to the hub current when the task is spawned.
pub fn spawn_periodic<F, Fut, S>(
    name: &'static str,
    every: Duration,
    shutdown: S,
    mut job: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
    S: Future<Output = ()> + Send + 'static,
{
    let hub = Arc::new(sentry::Hub::new_from_top(sentry::Hub::current()));
    let task = async move {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = ticks.tick() => {
                    run_once(name, job()).await;
                }
            }
        }
    };
    tokio::spawn(task.bind_hub(hub))
}

/// Run one pass of a background job; a panic is caught, reported to Sentry, logged at error
/// level, and `false` returned.
pub async fn run_once(name: &'static str, job: impl Future<Output = ()>) -> bool {
    match AssertUnwindSafe(job).catch_unwind().await {
        Ok(()) => true,
        Err(payload) => {
            report_panic(name, payload.as_ref());
            false
        }
    }
}

/// The panic's message with its location. The panic hook (`telemetry::install_panic_hook`)
/// left them on this thread: the unwinding ended inside the poll that is still running here.
/// Taking them also keeps them from being pinned on a later request's 500.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    crate::telemetry::take_panic().unwrap_or_else(|| {
        payload
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned())
    })
}

fn report_panic(name: &'static str, payload: &(dyn std::any::Any + Send)) {
    let text = panic_text(payload);
    let event = sentry::protocol::Event {
        level: sentry::Level::Error,
        logger: Some(LOG_TARGET.to_owned()),
        exception: vec![sentry::protocol::Exception {
            ty: "panic".to_owned(),
            value: Some(format!("background task `{name}` panicked: {text}")),
            ..Default::default()
        }]
        .into(),
        tags: [("task".to_owned(), name.to_owned())].into(),
        ..Default::default()
    };
    sentry::capture_event(event);
    log::error!(
        target: LOG_TARGET,
        "background task `{name}` panicked: {text}; it runs again at its next tick"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what a Sentry client sends.
    #[derive(Default)]
    struct Captured(std::sync::Mutex<Vec<sentry::Envelope>>);

    impl sentry::Transport for Captured {
        fn send_envelope(&self, envelope: sentry::Envelope) {
            self.0.lock().expect("lock").push(envelope);
        }
    }

    /// With the app's panic hook, the event says where the job panicked (the hook's note is
    /// taken on the panicking thread), and nothing is left behind for a later request's 500.
    #[tokio::test]
    async fn a_caught_panic_is_reported_with_its_location_and_not_left_behind() {
        crate::telemetry::install_panic_hook();
        let transport = Arc::new(Captured::default());
        let mut options = sentry::ClientOptions::default();
        options.dsn = Some("http://public@127.0.0.1:9/1".parse().expect("dsn"));
        options.transport = Some(Arc::new(transport.clone()));
        let hub = Arc::new(sentry::Hub::new(
            Some(Arc::new(sentry::Client::from_config(options))),
            Arc::new(sentry::Scope::default()),
        ));
        let ok = run_once("unit", async { panic!("unit panic") })
            .bind_hub(hub)
            .await;
        assert!(!ok);
        assert_eq!(crate::telemetry::take_panic(), None, "taken by the report");
        let envelopes = transport.0.lock().expect("lock");
        let event = envelopes.iter().find_map(|e| e.event()).expect("an event");
        let value = event.exception.values[0]
            .value
            .as_deref()
            .unwrap_or_default();
        assert!(
            value.contains("unit panic at src/background.rs:"),
            "{value}"
        );
    }
}
