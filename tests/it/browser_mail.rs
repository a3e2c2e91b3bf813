//! The pages mailed links open, used in a real browser (headless Chromium, as
//! `tests/it/browser.rs`): following a password reset link and setting a new password, and
//! following a confirmation link and pressing its button, both post a form from a page whose
//! address holds the link's token. Found by the accessibility scan: under the pages' former
//! `Referrer-Policy: no-referrer` the browser sent those posts with `Origin: null` and the CSRF
//! check refused them (403), which requests built in process never showed.

use std::time::Duration;

use conduit::db::account_tokens::{issue, NewToken, Purpose};
use conduit::db::{Db, Engine, UserId};
use fantoccini::{Client, Locator};

use crate::browser::{find_chromedriver, free_port, start_browser_with};
use crate::harness::{scratch_database, test_figment};
use crate::support::{register, scalar};

/// A mailed link of `purpose` for `username` (at `<username>@example.com`) whose token the
/// test knows (the mailed one is stored hashed only): the path it opens.
pub async fn mailed_link(db: &Db, username: &str, purpose: Purpose) -> String {
    let user = scalar(
        db,
        &format!("SELECT id FROM users WHERE username = '{username}'"),
    )
    .await;
    let email = format!("{username}@example.com");
    let (token, hash) = conduit::auth::recovery::new_token();
    let mail = conduit::db::outbox::NewMail {
        recipient: email.clone(),
        subject: "A link".into(),
        text: String::new(),
        html: String::new(),
    };
    let new = NewToken {
        hash: &hash,
        user_id: UserId::new(user),
        purpose,
        email: &email,
        expires_at: conduit::db::now() + chrono::Duration::minutes(30),
    };
    issue(db, &new, &mail, &[]).await.expect("a mailed link");
    match purpose {
        Purpose::Reset => format!("/password/reset/{token}"),
        Purpose::Confirm => format!("/email/confirm/{token}"),
    }
}

async fn fill(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .expect("type");
}

/// Click `css` and wait until the page shows `expected` in `.flash`.
async fn submit_and_see(c: &Client, css: &str, expected: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
    let mut seen = String::new();
    for _ in 0..100 {
        if let Ok(flash) = c.find(Locator::Css(".flash")).await {
            seen = flash.text().await.unwrap_or_default();
            if seen == expected {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = c
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    let page = c.source().await.unwrap_or_default();
    let heading = page
        .split("<h1")
        .nth(1)
        .and_then(|h| h.split("</h1>").next())
        .unwrap_or_default()
        .to_owned();
    panic!("after {css}: no flash {expected:?} on {url} (flash {seen:?}, h1 {heading:?})");
}

#[rocket::async_test]
async fn a_reset_link_and_a_confirmation_link_work_in_a_real_browser() {
    let test = "it::browser_mail";
    let Some(chromedriver) = find_chromedriver(test) else {
        return;
    };
    let (url, dir, _mysql) = scratch_database(Engine::Sqlite, test)
        .await
        .expect("sqlite is always available");
    let port = free_port();
    let figment = test_figment(&url)
        .merge(("port", port))
        .merge(("address", "127.0.0.1"));
    let seeder =
        rocket::local::asynchronous::Client::untracked(conduit::rocket_with(figment.clone()))
            .await
            .expect("a client to seed with");
    register(&seeder, "bob").await;
    let db = seeder.rocket().state::<Db>().expect("database");
    let reset = mailed_link(db, "bob", Purpose::Reset).await;
    let confirm = mailed_link(db, "bob", Purpose::Confirm).await;
    let rocket = conduit::rocket_with(figment)
        .ignite()
        .await
        .expect("ignite");
    let shutdown = rocket.shutdown();
    tokio::spawn(rocket.launch());
    let base = format!("http://127.0.0.1:{port}");
    let (_driver, c) = start_browser_with(&chromedriver, &dir.path().join("chrome"), &[]).await;

    // The confirmation link first (a new password ends every mailed link): its page holds a
    // button that confirms.
    c.goto(&format!("{base}{confirm}"))
        .await
        .expect("confirm page");
    submit_and_see(
        &c,
        "form.confirm-email-form button[type=submit]",
        "Thank you: your email address is confirmed.",
    )
    .await;
    let confirmed = scalar(
        db,
        "SELECT COUNT(*) FROM users WHERE username = 'bob' AND email_confirmed_at IS NOT NULL",
    )
    .await;
    assert_eq!(confirmed, 1, "the address is confirmed in the database");

    // The reset link: a new password, then a sign-in with it.
    c.goto(&format!("{base}{reset}")).await.expect("reset page");
    fill(&c, "input#password", "a-brand-new-password").await;
    submit_and_see(
        &c,
        "form.reset-form button[type=submit]",
        "Your password has been changed and every device was signed out. Sign in with the new password.",
    )
    .await;
    fill(&c, "input#email", "bob@example.com").await;
    fill(&c, "input#password", "a-brand-new-password").await;
    c.find(Locator::Css("form.login-form button[type=submit]"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("click");
    let mut signed_in = false;
    for _ in 0..100 {
        if let Ok(nav) = c.find(Locator::Css("nav")).await {
            if nav.text().await.unwrap_or_default().contains("bob") {
                signed_in = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(signed_in, "bob signs in with the new password");

    c.close().await.expect("close browser");
    shutdown.notify();
}
