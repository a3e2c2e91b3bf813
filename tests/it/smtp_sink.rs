//! A small SMTP server for the tests: it speaks enough of RFC 5321 for a client to deliver
//! (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps every message it is given, and lets a
//! test wait for them. It offers no extensions (no STARTTLS, no AUTH), so the app's client
//! delivers in plain SMTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use rocket::tokio::net::{TcpListener, TcpStream};
use rocket::tokio::sync::Notify;

/// One delivered message.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent (dot-stuffing undone).
    pub data: Vec<u8>,
}

impl Received {
    /// The parsed message.
    pub fn parsed(&self) -> mailparse::ParsedMail<'_> {
        mailparse::parse_mail(&self.data).expect("a parsable message")
    }

    /// A header of the message.
    pub fn header(&self, name: &str) -> Option<String> {
        use mailparse::MailHeaderMap;
        self.parsed().headers.get_first_value(name)
    }

    /// The decoded body of the part with this MIME type (`text/plain`, `text/html`).
    pub fn part(&self, mime: &str) -> Option<String> {
        fn find(part: &mailparse::ParsedMail<'_>, mime: &str) -> Option<String> {
            if part.subparts.is_empty() {
                return (part.ctype.mimetype == mime)
                    .then(|| part.get_body().expect("a decodable body"));
            }
            part.subparts.iter().find_map(|p| find(p, mime))
        }
        find(&self.parsed(), mime)
    }
}

/// A running sink.
pub struct SmtpSink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    task: Option<rocket::tokio::task::JoinHandle<()>>,
}

impl SmtpSink {
    /// A sink on a free port.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// A sink on `port` (0: any free one).
    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the SMTP sink");
        let port = listener.local_addr().expect("address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let (store, signal) = (received.clone(), arrived.clone());
        let task = rocket::tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, signal) = (store.clone(), signal.clone());
                rocket::tokio::spawn(async move {
                    let _ = session(stream, &store, &signal).await;
                });
            }
        });
        Self {
            port,
            received,
            arrived,
            task: Some(task),
        }
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message so far.
    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Wait (at most `within`) until at least `n` messages arrived; all of them.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = rocket::tokio::time::Instant::now() + within;
        loop {
            let notified = self.arrived.notified();
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if rocket::tokio::time::timeout_at(deadline, notified)
                .await
                .is_err()
            {
                panic!(
                    "waited {within:?} for {n} mails, got {}: {:?}",
                    messages.len(),
                    messages
                        .iter()
                        .map(|m| m.header("Subject"))
                        .collect::<Vec<_>>()
                );
            }
        }
    }

    /// Wait (at most `within`) until at least `n` messages with `subject` arrived; those.
    pub async fn wait_for_subject(
        &self,
        subject: &str,
        n: usize,
        within: Duration,
    ) -> Vec<Received> {
        let deadline = rocket::tokio::time::Instant::now() + within;
        loop {
            let notified = self.arrived.notified();
            let messages: Vec<Received> = self
                .messages()
                .into_iter()
                .filter(|m| m.header("Subject").as_deref() == Some(subject))
                .collect();
            if messages.len() >= n {
                return messages;
            }
            if rocket::tokio::time::timeout_at(deadline, notified)
                .await
                .is_err()
            {
                panic!(
                    "waited {within:?} for {n} mails {subject:?}, got {}",
                    messages.len()
                );
            }
        }
    }

    /// Stop: the port is closed when this returns (a mail server that went down); its number.
    pub async fn stop(mut self) -> u16 {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        self.port
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn session(
    stream: TcpStream,
    store: &Mutex<Vec<Received>>,
    arrived: &Notify,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 sink.test ESMTP test sink\r\n")
        .await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 sink.test\r\n",
            "MAIL" => {
                from = angle(&command);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(angle(&command));
                b"250 OK\r\n"
            }
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = Vec::new();
                loop {
                    let mut raw = Vec::new();
                    if lines.read_until(b'\n', &mut raw).await? == 0 {
                        return Ok(());
                    }
                    if raw == b".\r\n" || raw == b".\n" {
                        break;
                    }
                    let raw = raw.strip_prefix(b".").unwrap_or(&raw);
                    data.extend_from_slice(raw);
                }
                store.lock().expect("lock").push(Received {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
                arrived.notify_waiters();
                b"250 OK queued\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The address between `<` and `>` of a `MAIL FROM:<...>` or `RCPT TO:<...>`.
fn angle(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}
