//! End to end in a real browser: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`) against the real server on a local port, with JavaScript
//! playing no part: register, publish, comment, favorite, follow, log out.
//!
//! Without chromedriver the test reports that it was skipped, unless
//! `CONDUIT_TEST_REQUIRE_BROWSER=1` (CI), which makes it fail instead.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use conduit::db::Engine;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::harness::{scratch_database, test_figment};

/// A port nothing listens on yet.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// chromedriver's path, or `None` (after reporting the skip) when it is not installed.
pub fn find_chromedriver(test: &str) -> Option<String> {
    let found = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    if found.is_none() {
        assert!(
            std::env::var("CONDUIT_TEST_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "CONDUIT_TEST_REQUIRE_BROWSER=1 but chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: install chromium and chromium-driver to run it"
        );
    }
    found.map(str::to_owned)
}

/// Kills chromedriver when the test ends, however it ends.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_browser(chromedriver: &str, profile: &std::path::Path) -> (Driver, Client) {
    start_browser_with(chromedriver, profile, &[]).await
}

/// Headless Chromium through a chromedriver of its own, with `extra` command-line arguments
/// (`--force-dark-mode`, ...).
pub async fn start_browser_with(
    chromedriver: &str,
    profile: &std::path::Path,
    extra: &[&str],
) -> (Driver, Client) {
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let mut args = vec![
        json!("--headless=new"),
        json!("--no-sandbox"),
        json!("--disable-gpu"),
        json!("--disable-dev-shm-usage"),
        json!("--disable-quic"),
        json!("--no-first-run"),
        json!("--disable-background-networking"),
        json!("--disable-component-update"),
        json!("--disable-sync"),
        json!(format!("--user-data-dir={}", profile.display())),
        json!("--window-size=1200,900"),
    ];
    args.extend(extra.iter().map(|a| json!(a)));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": "/usr/bin/chromium", "args": args}),
    );
    for _ in 0..100 {
        if let Ok(client) = ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            return (driver, client);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn fill(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .expect("type");
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
}

async fn text(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

/// Wait (after a click that navigates) until `css` shows text satisfying `ok`; returns it.
async fn wait_text(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(element) = c.find(Locator::Css(css)).await {
            if let Ok(t) = element.text().await {
                if ok(&t) {
                    return t;
                }
                last = t;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never matched; last text: {last:?}");
}

async fn sign_up(c: &Client, base: &str, name: &str) {
    c.goto(&format!("{base}/register"))
        .await
        .expect("register page");
    fill(c, "input#username", name).await;
    fill(c, "input#email", &format!("{name}@example.com")).await;
    fill(c, "input#password", &format!("password-{name}")).await;
    click(c, "form.register-form button[type=submit]").await;
    let welcome = format!("Welcome to Conduit, {name}!");
    wait_text(c, ".flash", |t| t == welcome).await;
}

async fn log_out(c: &Client) {
    click(c, "nav form button").await;
    wait_text(c, ".flash", |t| t == "You have been signed out.").await;
    let nav = text(c, "nav .nav").await;
    assert!(nav.contains("Sign in") && nav.contains("Sign up"), "{nav}");
}

async fn journey(engine: Engine, test: &str) {
    let Some(chromedriver) = find_chromedriver(test) else {
        return;
    };
    let Some((url, dir, _mysql)) = scratch_database(engine, test).await else {
        return;
    };
    let port = free_port();
    let figment = test_figment(&url)
        .merge(("port", port))
        .merge(("address", "127.0.0.1"));
    let rocket = conduit::rocket_with(figment)
        .ignite()
        .await
        .expect("ignite");
    let shutdown = rocket.shutdown();
    let server = tokio::spawn(rocket.launch());
    let base = format!("http://127.0.0.1:{port}");
    let (_driver, c) = start_browser(&chromedriver, &dir.path().join("chrome")).await;

    // Bob signs up and publishes.
    sign_up(&c, &base, "bob").await;
    click(&c, "nav a[href='/editor']").await;
    fill(&c, "input#title", "Bob's travel notes").await;
    fill(&c, "input#description", "Where I went this year").await;
    fill(&c, "textarea#body", "# Lisbon\n\nTrams and *tiles*.").await;
    fill(&c, "input#tags", "travel, notes").await;
    click(&c, "form.editor-form button[type=submit]").await;
    wait_text(&c, ".flash", |t| t == "Your article is published.").await;
    assert_eq!(
        text(&c, ".article-page .banner h1").await,
        "Bob's travel notes"
    );
    assert_eq!(text(&c, ".article-body em").await, "tiles");
    log_out(&c).await;

    // Alice signs up, reads, follows, favorites and comments.
    sign_up(&c, &base, "alice").await;
    click(&c, ".article-preview a.preview-link").await;
    wait_text(&c, ".article-page .banner h1", |t| {
        t == "Bob's travel notes"
    })
    .await;
    click(&c, ".banner form.follow-form button").await;
    wait_text(&c, ".flash", |t| t == "You are following bob.").await;
    assert!(text(&c, ".banner form.follow-form button")
        .await
        .starts_with("Unfollow bob"));
    click(&c, ".banner form.favorite-form button").await;
    wait_text(&c, ".banner form.favorite-form button", |t| {
        t.contains("Unfavorite Article (1)")
    })
    .await;
    fill(&c, "textarea#comment-body", "Lovely trams!").await;
    click(&c, "form.comment-form button[type=submit]").await;
    wait_text(&c, ".comment .card-text", |t| t == "Lovely trams!").await;
    c.goto(&format!("{base}/?feed=you")).await.expect("feed");
    assert_eq!(text(&c, ".article-preview h2").await, "Bob's travel notes");
    log_out(&c).await;

    c.close().await.expect("close browser");
    shutdown.notify();
    let _ = server.await;
}

#[rocket::async_test]
async fn a_visitor_registers_publishes_comments_favorites_follows_and_logs_out_sqlite() {
    journey(Engine::Sqlite, "it::browser::sqlite").await;
}

#[rocket::async_test]
async fn a_visitor_registers_publishes_comments_favorites_follows_and_logs_out_mysql() {
    journey(Engine::MySql, "it::browser::mysql").await;
}
