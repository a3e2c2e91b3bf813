//! The pages mailed links open: "Forgot password?" (the form asking for the email, and the
//! page a reset link opens, which sets a new password) and email confirmation
//! (`auth::recovery` does the work).
//!
//! The link's token is in the path of the page it opens: the request log prints that path with
//! the token cut out (`telemetry::loggable_path`), and the page is sent with
//! `Referrer-Policy: strict-origin`, so no request it makes (a link followed, its stylesheet,
//! its form post) carries the path, and with it the token, in `Referer`: only the origin. Not
//! `no-referrer`: under it a browser sends `Origin: null` with the page's own form post, which
//! the CSRF gate (`auth::csrf`) refuses as from another origin.
//! The form posts the token in its body, not in the path.

use rocket::form::FromForm;
use rocket::http::{Header, Status};
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, uri, Responder, Route, State};
use serde_json::json;

use crate::auth::credentials::ClientAddr;
use crate::auth::csrf::CsrfContextual;
use crate::auth::recovery::{self, AccountLinks, Reset};
use crate::config::AppConfig;
use crate::db::account_tokens::Confirmed;
use crate::db::Conn;
use crate::error::{AppError, PageResult};
use crate::input::{rule, Max};
use crate::mail::Mailer;
use crate::web::layout::{form_errors, take, Layout, PageOr};

/// The "forgot password" form.
#[derive(FromForm, Default)]
pub struct ForgotForm {
    #[field(default = String::new())]
    email: String,
}

/// The new password form.
#[derive(FromForm, Default)]
pub struct ResetForm {
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| { crate::input::check(e, "token", v, Max::Chars(64)); }))]
    token: String,
    #[field(default = String::new())]
    password: String,
}

/// A page whose URL holds a token: its address goes as a `Referer` to this site only.
#[derive(Responder)]
pub struct TokenPage {
    inner: PageOr,
    policy: Header<'static>,
}

impl TokenPage {
    fn new(inner: PageOr) -> Self {
        Self {
            inner,
            policy: Header::new("Referrer-Policy", "strict-origin"),
        }
    }
}

fn links() -> serde_json::Value {
    json!({
        "forgot": uri!(forgot_page()).to_string(),
        "reset": uri!(reset).to_string(),
        "login": uri!(crate::web::session::login_page(_)).to_string(),
    })
}

fn forgot_view(
    layout: &Layout,
    email: &str,
    error: Option<&AppError>,
) -> crate::web::render::RenderedPage {
    layout.render(
        "session/forgot",
        json!({
            "title": "Forgot your password?", "active": "login", "links": links(),
            "form": { "email": email }, "errors": error.map(form_errors),
        }),
    )
}

/// The "forgot password" page.
#[get("/password/forgot")]
pub fn forgot_page(layout: Layout) -> PageOr {
    PageOr::Page((Status::Ok, forgot_view(&layout, "", None)))
}

#[allow(clippy::too_many_arguments)]
#[post("/password/forgot", data = "<form>")]
async fn forgot(
    db: Conn,
    config: &State<AppConfig>,
    mailer: &State<Mailer>,
    account_links: &State<AccountLinks>,
    addr: ClientAddr,
    layout: Layout,
    form: CsrfContextual<'_, ForgotForm>,
) -> PageResult<PageOr> {
    let (value, sent) = take(form.into_inner(), &["email"]);
    let email = sent["email"].as_str().unwrap_or_default().to_owned();
    let result = match value {
        Ok(f) => {
            recovery::request_reset(&db, config, mailer, account_links, &f.email, &addr.0).await
        }
        Err(e) => Err(e),
    };
    match result {
        // The same answer whether or not an account has that email.
        Ok(()) => Ok(PageOr::Redirect(Flash::success(
            Redirect::to(uri!(crate::web::session::login_page(_))),
            "If an account has that email, a link to choose a new password is on its way to it. \
             The link works once, for 30 minutes.",
        ))),
        Err(e @ (AppError::Invalid(_) | AppError::TooManyRequests(_))) => {
            Ok(PageOr::again(&e, forgot_view(&layout, &email, Some(&e))))
        }
        Err(e) => Err(e.into()),
    }
}

/// The page for a link that is used, expired or was never ours: 410, and a way to a new one.
fn stale(layout: &Layout) -> PageOr {
    PageOr::Page((
        Status::Gone,
        layout.render(
            "session/link_invalid",
            json!({
                "title": "This link no longer works",
                "message": "The link to choose a new password has been used already or has expired \
                            (links work once, for 30 minutes). Nothing was changed.",
                "again_label": "Send me a new link",
                "links": { "again": uri!(forgot_page()).to_string() },
            }),
        ),
    ))
}

fn reset_view(
    layout: &Layout,
    token: &str,
    username: &str,
    error: Option<&AppError>,
) -> crate::web::render::RenderedPage {
    layout.render(
        "session/reset",
        json!({
            "title": "Choose a new password", "active": "login", "links": links(),
            "token": token, "username": username, "errors": error.map(form_errors),
        }),
    )
}

/// The page a reset link opens: the new password form, or why the link no longer works.
#[get("/password/reset/<token>")]
pub async fn reset_page(db: Conn, layout: Layout, token: &str) -> PageResult<TokenPage> {
    Ok(TokenPage::new(
        match recovery::find_reset(&db, token).await? {
            Some((_, user)) => {
                PageOr::Page((Status::Ok, reset_view(&layout, token, &user.username, None)))
            }
            None => stale(&layout),
        },
    ))
}

#[post("/password/reset", data = "<form>")]
async fn reset(
    db: Conn,
    config: &State<AppConfig>,
    mailer: &State<Mailer>,
    account_links: &State<AccountLinks>,
    layout: Layout,
    form: CsrfContextual<'_, ResetForm>,
) -> PageResult<TokenPage> {
    let (value, sent) = take(form.into_inner(), &["token"]);
    let token = sent["token"].as_str().unwrap_or_default().to_owned();
    let result = match value {
        Ok(f) => {
            recovery::reset_password(&db, config, mailer, account_links, &f.token, &f.password)
                .await
        }
        Err(e) => Err(e),
    };
    Ok(TokenPage::new(match result {
        Ok(Reset::Done(_)) => PageOr::Redirect(Flash::success(
            Redirect::to(uri!(crate::web::session::login_page(_))),
            "Your password has been changed and every device was signed out. Sign in with the new password.",
        )),
        Ok(Reset::Stale) => stale(&layout),
        Err(e @ (AppError::Invalid(_) | AppError::Busy(_))) => {
            match recovery::find_reset(&db, &token).await? {
                Some((_, user)) => PageOr::again(&e, reset_view(&layout, &token, &user.username, Some(&e))),
                None => stale(&layout),
            }
        }
        Err(e) => return Err(e.into()),
    }))
}

/// The confirmation form: the token from the link, posted back with the form token.
#[derive(FromForm, Default)]
pub struct ConfirmForm {
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| { crate::input::check(e, "token", v, Max::Chars(64)); }))]
    token: String,
}

/// The page for a confirmation link that does not work.
fn confirm_refused(layout: &Layout, outcome: Confirmed) -> PageOr {
    let (status, title, message) = match outcome {
        Confirmed::Taken => (
            Status::Conflict,
            "This address is taken",
            "Another account has this email address now. Nothing was changed.",
        ),
        Confirmed::Stale | Confirmed::Done => (
            Status::Gone,
            "This link no longer works",
            "The confirmation link has been used already or has expired. Nothing was changed.",
        ),
    };
    PageOr::Page((
        status,
        layout.render(
            "session/link_invalid",
            json!({ "title": title, "message": message, "links": {} }),
        ),
    ))
}

/// The page a confirmation link opens: a button that confirms (a POST with the form token),
/// or why the link no longer works. Opening the link changes nothing: mail scanners and link
/// previews fetch links, and must not confirm an address for its owner.
#[get("/email/confirm/<token>")]
pub async fn confirm_email(db: Conn, layout: Layout, token: &str) -> PageResult<TokenPage> {
    let Some(live) = recovery::find_confirmation(&db, token).await? else {
        return Ok(TokenPage::new(confirm_refused(&layout, Confirmed::Stale)));
    };
    Ok(TokenPage::new(PageOr::Page((
        Status::Ok,
        layout.render(
            "session/confirm",
            json!({
                "title": "Confirm your email", "token": token, "email": live.email,
                "action": uri!(confirm_email_post).to_string(),
            }),
        ),
    ))))
}

/// The button of the confirmation page: confirms the address and says so, or says why not.
#[post("/email/confirm", data = "<form>")]
async fn confirm_email_post(
    db: Conn,
    layout: Layout,
    form: CsrfContextual<'_, ConfirmForm>,
) -> PageResult<TokenPage> {
    let (value, _) = take(form.into_inner(), &[]);
    let outcome = match value {
        Ok(f) => recovery::confirm_email(&db, &f.token).await?,
        Err(_) => Confirmed::Stale,
    };
    Ok(TokenPage::new(match outcome {
        Confirmed::Done => PageOr::Redirect(Flash::success(
            Redirect::to(crate::web::articles::home_link(
                None,
                None,
                crate::web::lists::At::First,
            )),
            "Thank you: your email address is confirmed.",
        )),
        refused => confirm_refused(&layout, refused),
    }))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![
        forgot_page,
        forgot,
        reset_page,
        reset,
        confirm_email,
        confirm_email_post
    ]
}
