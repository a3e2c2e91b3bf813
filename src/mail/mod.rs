//! Mail: composing messages from the Tera templates under `templates/mail/`, the outbox they
//! are queued in (`db::outbox`), and the sender that delivers them in the background.
//!
//! A request never talks to the mail server: it queues the rendered mail in the same
//! transaction as the change the mail reports, then [wakes](Mailer::wake) the sender. The
//! sender ([`stage`]) claims due mails (`db::outbox::claim`, a lease only one instance can
//! win), sends each through the transport, and marks it sent; a failure is retried with a
//! doubling pause from `mail_retry_seconds`, and after `mail_max_attempts` (or an answer from
//! the server that retrying cannot change, such as an unknown mailbox) the mail is marked
//! failed, which the admin dashboard and `/metrics` show.
//!
//! The transport is SMTP through `lettre` when `smtp_url` is set; otherwise each mail is
//! written to a private `.eml` file in `mail_dir` (and to the log with `mail_log`), so every
//! flow works the same without a mail server.

mod transport;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket_dyn_templates::tera::{self, Tera};
use serde_json::Value;

use crate::config::{AppConfig, PublicUrl};
use crate::db::outbox::{self, Claimed, NewMail};
use crate::db::{Db, DbPool};
use crate::error::AppError;

pub use transport::{SendError, Transport};

/// How long a claim on a mail lasts. Far longer than one send may take (the SMTP transport
/// gives up on a silent server after [`transport::SMTP_TIMEOUT`]), so a lease never runs out
/// under a sender that is still working on it.
pub const LEASE: StdDuration = StdDuration::from_secs(300);

/// Mails claimed in one go.
const BATCH: i64 = 16;

/// The longest pause between two retries of one mail.
const MAX_BACKOFF_SECS: u64 = 6 * 60 * 60;

/// Composes mails and wakes the sender. Managed state; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    templates: Tera,
    public_url: PublicUrl,
    transport: Transport,
    wake: tokio::sync::Notify,
    max_attempts: i64,
    retry_seconds: u64,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("transport", &self.inner.transport)
            .finish_non_exhaustive()
    }
}

/// What one pass of the sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Mails this pass claimed.
    pub claimed: usize,
    /// Of those, sent.
    pub sent: usize,
    /// Of those, to be retried later.
    pub retried: usize,
    /// Of those, given up on.
    pub failed: usize,
}

impl Mailer {
    /// A mailer from the config, with the mail templates found under `template_dir/mail`.
    pub fn new(config: &AppConfig, template_dir: &Path) -> Result<Self, String> {
        Ok(Self {
            inner: Arc::new(Inner {
                templates: load_templates(&template_dir.join("mail"))?,
                public_url: config.public_url.clone(),
                transport: Transport::from_config(config)?,
                wake: tokio::sync::Notify::new(),
                max_attempts: config.mail_max_attempts,
                retry_seconds: config.mail_retry_seconds,
            }),
        })
    }

    /// The absolute URL of `path`, a path of this site (for links in mails).
    pub fn link(&self, path: &str) -> String {
        self.inner.public_url.join(path)
    }

    /// The mail `template` to `to`: `text/<template>.txt` and `html/<template>.html` rendered
    /// with `context` (an object) plus `site_url`.
    pub fn compose(
        &self,
        template: &str,
        to: &str,
        subject: &str,
        context: Value,
    ) -> Result<NewMail, AppError> {
        let mut context = tera::Context::from_value(context)
            .map_err(|e| anyhow::anyhow!("mail context for {template}: {e}"))?;
        context.insert("site_url", self.inner.public_url.as_str());
        context.insert("subject", subject);
        let render = |name: String| {
            self.inner.templates.render(&name, &context).map_err(|e| {
                let mut chain = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    chain.push_str(": ");
                    chain.push_str(&cause.to_string());
                    source = cause.source();
                }
                AppError::Other(anyhow::anyhow!("rendering mail template {name}: {chain}"))
            })
        };
        Ok(NewMail {
            recipient: to.to_owned(),
            subject: subject.to_owned(),
            text: render(format!("text/{template}.txt"))?,
            html: render(format!("html/{template}.html"))?,
        })
    }

    /// Tell the sender that mail was queued (call after the transaction commits). A wake with
    /// no sender waiting is kept for its next wait, so none is lost.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// One pass over the outbox: claim the mails due now (a batch at a time, until none is
    /// left), send each, and record the outcome. Several passes, in one instance or several,
    /// may run at once: each mail is claimed by one of them.
    pub async fn deliver_due(&self, db: &DbPool) -> Result<Pass, sqlx::Error> {
        let mut pass = Pass::default();
        loop {
            let now = crate::db::now();
            let due = outbox::due(db, now, BATCH).await?;
            let mut claimed_here = 0;
            for id in &due {
                let claimant = claimant();
                let now = crate::db::now();
                let until = now + Duration::from_std(LEASE).unwrap_or(Duration::minutes(5));
                let Some(mail) = outbox::claim(db, *id, &claimant, now, until).await? else {
                    continue;
                };
                claimed_here += 1;
                pass.claimed += 1;
                match self
                    .inner
                    .transport
                    .send(&mail, &self.inner.public_url)
                    .await
                {
                    Ok(()) => {
                        if !outbox::mark_sent(db, mail.id, &claimant).await? {
                            log::warn!("mail {}: sent, but its lease had run out", mail.id);
                        }
                        log::info!("mail {} sent ({})", mail.id, mail.subject);
                        pass.sent += 1;
                    }
                    Err(e) => {
                        let retry_at = self.retry_at(&mail, &e, crate::db::now());
                        if retry_at.is_some() {
                            log::warn!(
                                "mail {}: attempt {} failed, will retry: {e}",
                                mail.id,
                                mail.attempts
                            );
                            pass.retried += 1;
                        } else {
                            log::error!(
                                "mail {}: attempt {} failed, giving up: {e}",
                                mail.id,
                                mail.attempts
                            );
                            pass.failed += 1;
                        }
                        outbox::mark_attempt_failed(
                            db,
                            mail.id,
                            &claimant,
                            &e.to_string(),
                            retry_at,
                        )
                        .await?;
                    }
                }
            }
            // A full batch may have left more behind; a short one (or one whose every mail
            // another sender took) means the outbox is done for now.
            if due.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) || claimed_here == 0 {
                return Ok(pass);
            }
        }
    }

    /// When to try `mail` again after `error`, or `None` to give up.
    fn retry_at(
        &self,
        mail: &Claimed,
        error: &SendError,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if error.is_permanent() || i64::from(mail.attempts) >= self.inner.max_attempts {
            return None;
        }
        Some(now + backoff(self.inner.retry_seconds, mail.attempts))
    }
}

/// The pause before retrying a mail that failed `attempts` times: `base` seconds, doubling with
/// each further failure, at most six hours.
pub fn backoff(base: u64, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let secs = base
        .max(1)
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF_SECS);
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// A fresh claim token: random, so two claims (even by one sender) never pass for each other.
fn claimant() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The templates in `dir`: `html/*.html.tera` (escaped) and `text/*.txt.tera` (not), named
/// without `.tera` (`html/password_reset.html`).
fn load_templates(dir: &Path) -> Result<Tera, String> {
    let mut tera = Tera::default();
    tera.autoescape_on(vec![".html"]);
    let mut found = Vec::new();
    for (folder, suffix) in [("html", ".html.tera"), ("text", ".txt.tera")] {
        let folder_path = dir.join(folder);
        let entries = std::fs::read_dir(&folder_path)
            .map_err(|e| format!("mail templates in {}: {e}", folder_path.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
                continue;
            };
            if let Some(stem) = file
                .strip_suffix(".tera")
                .filter(|_| file.ends_with(suffix))
            {
                let source = std::fs::read_to_string(&path)
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                found.push((format!("{folder}/{stem}"), source));
            }
        }
    }
    tera.add_raw_templates(found)
        .map_err(|e| format!("mail templates in {}: {e}", dir.display()))?;
    Ok(tera)
}

/// Builds the [`Mailer`] at ignite (a template or transport problem stops the launch, naming
/// it) and starts the sender at liftoff, unless `mail_poll_seconds` is 0.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Mail", |rocket| async move {
        let Some(config) = rocket.state::<AppConfig>() else {
            return Err(rocket);
        };
        let mailer = match Mailer::new(config, &template_dir(rocket.figment())) {
            Ok(mailer) => mailer,
            Err(message) => {
                log::error!("mail: {message}");
                return Err(rocket);
            }
        };
        Ok(rocket
            .manage(mailer)
            .attach(AdHoc::on_liftoff("Mail sender", |rocket| {
                Box::pin(async move {
                    let (Some(db), Some(config), Some(mailer)) = (
                        rocket.state::<Db>(),
                        rocket.state::<AppConfig>(),
                        rocket.state::<Mailer>(),
                    ) else {
                        return;
                    };
                    if config.mail_poll_seconds == 0 {
                        return;
                    }
                    let poll = StdDuration::from_secs(config.mail_poll_seconds);
                    spawn_sender((**db).clone(), mailer.clone(), poll, rocket.shutdown());
                })
            })))
    })
}

fn template_dir(figment: &Figment) -> std::path::PathBuf {
    figment
        .extract_inner::<std::path::PathBuf>("template_dir")
        .unwrap_or_else(|_| "templates".into())
}

/// Run the sender until `shutdown`: a pass at once, then one whenever mail is queued
/// ([`Mailer::wake`]), a retry comes due, or `poll` has passed (mail queued by another
/// instance). A pass that panics is reported (`background::run_once`) and the sender goes on.
pub fn spawn_sender(
    db: DbPool,
    mailer: Mailer,
    poll: StdDuration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut wait = StdDuration::ZERO;
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                () = mailer.inner.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
            let mut next = poll;
            crate::background::run_once("mail", async {
                next = sender_pass(&db, &mailer, poll).await;
            })
            .await;
            wait = next;
        }
    })
}

/// One pass; how long to wait before the next.
async fn sender_pass(db: &DbPool, mailer: &Mailer, poll: StdDuration) -> StdDuration {
    if let Err(e) = mailer.deliver_due(db).await {
        log::warn!("mail: the outbox could not be read: {e}");
        return poll;
    }
    match outbox::next_due(db).await {
        Ok(Some(at)) => (at - crate::db::now())
            .to_std()
            .unwrap_or(StdDuration::ZERO)
            // Not sooner than this: a mail due now that this pass could not claim is someone
            // else's to send.
            .max(StdDuration::from_millis(200))
            .min(poll),
        Ok(None) => poll,
        Err(e) => {
            log::warn!("mail: the outbox could not be read: {e}");
            poll
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling_up_to_six_hours() {
        assert_eq!(backoff(60, 1), Duration::seconds(60));
        assert_eq!(backoff(60, 2), Duration::seconds(120));
        assert_eq!(backoff(60, 4), Duration::seconds(480));
        assert_eq!(backoff(60, 40), Duration::hours(6));
        assert_eq!(backoff(0, 1), Duration::seconds(1));
    }
}
