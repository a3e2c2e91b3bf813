//! Where mail goes: a mail server over SMTP (`smtp_url`), or private files in `mail_dir`.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{AppConfig, PublicUrl, SmtpSecurity, SmtpUrl};
use crate::db::outbox::Claimed;

/// How long the SMTP client waits on a silent server before the attempt fails.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The configured transport.
pub enum Transport {
    /// A mail server.
    Smtp {
        /// lettre's client.
        client: AsyncSmtpTransport<Tokio1Executor>,
        /// The sender.
        from: Mailbox,
    },
    /// One `.eml` file per mail in `dir` (0600, in a 0700 folder), and the log with `log`.
    Files {
        /// The folder.
        dir: PathBuf,
        /// Whether each mail is written to the log as well.
        log: bool,
        /// The sender.
        from: Mailbox,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp { .. } => f.write_str("Smtp"),
            Self::Files { dir, .. } => write!(f, "Files({})", dir.display()),
        }
    }
}

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The mail itself cannot be sent (a recipient that is not an address): retrying cannot help.
    #[error("{0}")]
    Invalid(String),
    /// The mail server (or the disk) said no, or could not be reached.
    #[error("{0}")]
    Transport(String),
    /// The mail server refused it for good (a 5xx answer).
    #[error("{0}")]
    Refused(String),
}

impl SendError {
    /// Whether retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Invalid(_) | Self::Refused(_))
    }
}

impl Transport {
    /// The transport `config` asks for.
    pub fn from_config(config: &AppConfig) -> Result<Self, String> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| format!("config key `mail_from`: {e}"))?;
        let Some(url) = config.smtp_url() else {
            return Ok(Self::Files {
                dir: config.mail_dir.clone(),
                log: config.mail_log,
                from,
            });
        };
        let url = SmtpUrl::parse(url).map_err(|e| format!("config key `smtp_url`: {e}"))?;
        let tls = || {
            TlsParameters::new(url.host.clone())
                .map_err(|e| format!("config key `smtp_url`: TLS for {}: {e}", url.host))
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(url.host.as_str())
            .port(url.port)
            .timeout(Some(SMTP_TIMEOUT))
            .tls(match url.security {
                SmtpSecurity::Plain => Tls::None,
                SmtpSecurity::StartTls => Tls::Required(tls()?),
                SmtpSecurity::Tls => Tls::Wrapper(tls()?),
            });
        let builder = match &url.credentials {
            Some((user, password)) => builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            )),
            None => builder,
        };
        Ok(Self::Smtp {
            client: builder.build(),
            from,
        })
    }

    /// Send one claimed mail.
    pub async fn send(&self, mail: &Claimed, site: &PublicUrl) -> Result<(), SendError> {
        match self {
            Self::Smtp { client, from } => {
                let message = message(mail, from, site)?;
                client.send(message).await.map(|_| ()).map_err(|e| {
                    if e.is_permanent() {
                        SendError::Refused(e.to_string())
                    } else {
                        SendError::Transport(e.to_string())
                    }
                })
            }
            Self::Files { dir, log, from } => {
                let message = message(mail, from, site)?;
                let bytes = message.formatted();
                let name = format!(
                    "{}-{:08}.eml",
                    mail.created_at.format("%Y%m%dT%H%M%S%.3fZ"),
                    mail.id.get()
                );
                let path = dir.join(name);
                let written = path.clone();
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || write_private(&dir, &path, &bytes))
                    .await
                    .map_err(|e| SendError::Transport(e.to_string()))?
                    .map_err(|e| {
                        SendError::Transport(format!("writing {}: {e}", written.display()))
                    })?;
                if *log {
                    log::info!(
                        "mail {} to {} written to {}\nSubject: {}\n\n{}",
                        mail.id,
                        mail.recipient,
                        written.display(),
                        mail.subject,
                        mail.body_text
                    );
                }
                Ok(())
            }
        }
    }
}

/// The message for `mail`: plain text and HTML alternatives, with a `Message-ID` made from the
/// mail's id, so a mail sent twice (a sender that died between sending and recording it) is
/// recognisable as one.
fn message(mail: &Claimed, from: &Mailbox, site: &PublicUrl) -> Result<Message, SendError> {
    let to: Mailbox = mail
        .recipient
        .parse()
        .map_err(|e| SendError::Invalid(format!("recipient {:?}: {e}", mail.recipient)))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!(
            "<outbox-{}.{}@{}>",
            mail.id,
            mail.created_at.timestamp_millis(),
            site.host()
        )))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(mail.body_text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(mail.body_html.clone()),
                ),
        )
        .map_err(|e| SendError::Invalid(e.to_string()))
}

/// Write `bytes` to the new file `path` (0600) in `dir` (made 0700 if missing).
fn write_private(
    dir: &std::path::Path,
    path: &std::path::Path,
    bytes: &[u8],
) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}
