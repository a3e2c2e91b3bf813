//! The two-factor sign-in pages axe scans: the code page of a sign-in (anonymous, for `otto`,
//! who has it on), and setting it up, as the user of the run (`light` or `dark`).

use fantoccini::{Client, Locator};
use rocket::local::asynchronous::Client as LocalClient;

use super::{form, go, Step, Visit};
use crate::support::register;

/// `otto` has two-factor sign-in on (for the code page); `light` and `dark` set it up in the
/// browser (one per colour scheme's run).
pub(super) async fn seed(app: &LocalClient) {
    let otto = register(app, "otto").await;
    crate::two_factor::enrol(app, &otto).await;
    register(app, "light").await;
    register(app, "dark").await;
}

/// Type into the field `css` the code an authenticator app shows for the key on the page
/// (`#totp-secret`), as a user setting up two-factor sign-in does.
pub(super) async fn type_code_for_key(c: &Client, css: &str) {
    let key = c
        .find(Locator::Css("#totp-secret"))
        .await
        .expect("the key on the page")
        .text()
        .await
        .expect("its text");
    let code = crate::two_factor::code_at(&key, crate::two_factor::unix_now());
    let field = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    field.send_keys(&code).await.expect("type");
}

/// The code page, and the code page with an error.
pub(super) fn code_pages() -> Vec<Visit> {
    vec![
        form(
            "two-factor code page",
            vec![
                Step::Go("/login".into()),
                Step::Fill("input#email", "otto@example.com".into()),
                Step::Fill("input#password", "password-otto".into()),
                Step::Submit("form.login-form button[type=submit]"),
                Step::Expect("form.two-factor-form input#code"),
            ],
        ),
        form(
            "two-factor code page with an error",
            vec![
                Step::Go("/login".into()),
                Step::Fill("input#email", "otto@example.com".into()),
                Step::Fill("input#password", "password-otto".into()),
                Step::Submit("form.login-form button[type=submit]"),
                Step::Fill("input#code", "abc".into()),
                Step::Submit("form.two-factor-form button[type=submit]"),
                Step::Expect("input#code[aria-invalid=true]"),
            ],
        ),
    ]
}

/// Setting it up as `who` (password `password-<who>`).
pub(super) fn set_up_pages(who: &str) -> Vec<Visit> {
    with_password(pages(), who)
}

/// Setting up two-factor sign-in, as the user who does it in this run: the QR code and key,
/// the recovery codes, the settings once it is on (with a refused change).
fn pages() -> Vec<Visit> {
    vec![
        go("two-factor settings, off", "/settings/two-factor"),
        form(
            "two-factor set-up with a wrong password",
            vec![
                Step::Go("/settings/two-factor".into()),
                Step::Fill("input#setup-password", "not-the-password".into()),
                Step::Submit("form.two-factor-setup-form button[type=submit]"),
                Step::Expect("input#setup-password[aria-invalid=true]"),
            ],
        ),
        form(
            "two-factor set-up with a wrong code",
            vec![
                Step::Go("/settings/two-factor".into()),
                Step::Fill("input#setup-password", String::new()),
                Step::Submit("form.two-factor-setup-form button[type=submit]"),
                Step::Expect("figure svg[role=img]"),
                Step::Fill("input#confirm-code", "abc".into()),
                Step::Submit("form.two-factor-confirm-form button[type=submit]"),
                Step::Expect("input#confirm-code[aria-invalid=true]"),
            ],
        ),
        form(
            "two-factor recovery codes",
            vec![
                Step::Go("/settings/two-factor".into()),
                Step::Fill("input#setup-password", String::new()),
                Step::Submit("form.two-factor-setup-form button[type=submit]"),
                Step::Expect("figure svg[role=img]"),
                Step::CodeForKey("input#confirm-code"),
                Step::Submit("form.two-factor-confirm-form button[type=submit]"),
                Step::Expect(".recovery-code"),
            ],
        ),
        go("two-factor settings, on", "/settings/two-factor"),
        form(
            "two-factor settings, on, with an error",
            vec![
                Step::Go("/settings/two-factor".into()),
                Step::Fill("input#disable-password", "not-the-password".into()),
                Step::Fill("input#disable-code", "abc".into()),
                Step::Submit("form.two-factor-disable-form button[type=submit]"),
                Step::Expect("input#disable-password[aria-invalid=true]"),
            ],
        ),
    ]
}

/// `visits` with the set-up's password fields (left blank in [`pages`]) filled in
/// with the password of user `who`.
fn with_password(visits: Vec<Visit>, who: &str) -> Vec<Visit> {
    visits
        .into_iter()
        .map(|mut v| {
            for step in &mut v.steps {
                if let Step::Fill("input#setup-password", text) = step {
                    if text.is_empty() {
                        *text = format!("password-{who}");
                    }
                }
            }
            v
        })
        .collect()
}
