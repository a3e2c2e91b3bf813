//! Sign in, sign up and sign out pages. The forms are checked field by field as Rocket reads
//! them (`#[field(validate = ...)]` with the account rules) and shown again with the errors.

use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, uri, Route, State};
use serde_json::json;

use crate::auth::credentials::ClientAddr;
use crate::auth::csrf::{CsrfContextual, CsrfForm};
use crate::auth::recovery::AccountLinks;
use crate::auth::token::Keys;
use crate::auth::{account, fields, pending_login, session, two_factor, MaybeUser};
use crate::config::AppConfig;
use crate::db::Conn;
use crate::error::{AppError, PageResult};
use crate::input::{self, rule, Max};
use crate::mail::Mailer;
use crate::web::articles::home_link;
pub use crate::web::layout::PageOr;
use crate::web::layout::{done, form_errors, safe_next, take, Layout};
use crate::web::lists::At;

/// The sign-in form. Its rules are the sign-in's (`account::authenticate`), checked as Rocket
/// reads the form, so a blank or oversized field is shown beside it without a database query.
#[derive(FromForm, Default)]
pub struct LoginForm {
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| input::required(e, "email", v.trim(), Max::Chars(fields::EMAIL_MAX))))]
    email: String,
    #[field(default = String::new())]
    #[field(validate = rule(account::check_given_password))]
    password: String,
    #[field(default = false)]
    remember: bool,
    next: Option<String>,
}

/// The sign-up form, with the account rules of `account::register` (which checks them again,
/// and whether the username and email are free).
#[derive(FromForm, Default)]
pub struct RegisterForm {
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| fields::check_username(e, v.trim())))]
    username: String,
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| fields::check_email(e, v.trim())))]
    email: String,
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| fields::check_password(e, v, str::trim(&self.username), str::trim(&self.email))))]
    password: String,
}

/// A form that carries nothing but its CSRF token (checked by `CsrfForm`).
#[derive(FromForm)]
pub struct Empty {
    /// The token, already verified by the time a handler sees it.
    #[field(default = String::new())]
    pub csrf_token: String,
}

#[get("/login?<next>")]
pub(crate) fn login_page(
    layout: Layout,
    links: &State<AccountLinks>,
    next: Option<String>,
) -> PageOr {
    if layout.user.is_some() {
        return PageOr::Plain(Redirect::to(safe_next(next.as_deref())));
    }
    // The form carries only a `next` that will be followed.
    let next = next.map(|n| safe_next(Some(&n)));
    PageOr::Page((
        Status::Ok,
        layout.render(
            "session/login",
            json!({
                "title": "Sign in", "active": "login", "next": next, "form": {},
                "forgot_url": (links.forgot)(),
                "action": uri!(login).to_string(), "register_url": uri!(register_page).to_string(),
            }),
        ),
    ))
}

#[allow(clippy::too_many_arguments)]
#[post("/login", data = "<form>")]
async fn login(
    db: Conn,
    account_links: &State<AccountLinks>,
    jar: &CookieJar<'_>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    addr: ClientAddr,
    layout: Layout,
    form: CsrfContextual<'_, LoginForm>,
) -> PageResult<PageOr> {
    let (value, sent) = take(form.into_inner(), &["email", "next", "remember"]);
    let result = match value {
        Ok(f) => account::authenticate(&db, config, &f.email, &f.password, &addr.0)
            .await
            .map(|user| (user, f)),
        Err(e) => Err(e),
    };
    match result {
        Ok((user, f)) => {
            if two_factor::is_on(&db, &user).await? {
                // The code comes next, on its own page: no session before it is right.
                let next = f.next.as_deref().map(|n| safe_next(Some(n)));
                pending_login::start(jar, config, &user, f.remember, next)?;
                return Ok(PageOr::Plain(Redirect::to(
                    crate::web::two_factor::code_page_link(),
                )));
            }
            session::start(&db, jar, keys, config, &user, f.remember).await?;
            Ok(PageOr::Redirect(done(
                safe_next(f.next.as_deref()),
                format!("Welcome back, {}!", user.username),
            )))
        }
        Err(
            e @ (AppError::Invalid(_) | AppError::Unauthorized(_) | AppError::TooManyRequests(_)),
        ) => {
            let sent_value = |name: &str| sent[name].as_str().filter(|v| !v.is_empty());
            let next = sent_value("next").map(|n| safe_next(Some(n)));
            let remember =
                sent_value("remember").is_some_and(|v| matches!(v, "on" | "yes" | "true"));
            let context = json!({
                "title": "Sign in", "active": "login", "next": next,
                "form": { "email": sent["email"], "remember": remember },
                "action": uri!(login).to_string(), "register_url": uri!(register_page).to_string(),
                "errors": form_errors(&e),
                "forgot_url": (account_links.forgot)(),
            });
            Ok(PageOr::again(&e, layout.render("session/login", context)))
        }
        Err(e) => Err(e.into()),
    }
}

#[get("/register")]
pub(crate) fn register_page(layout: Layout) -> PageOr {
    if layout.user.is_some() {
        return PageOr::Plain(Redirect::to(home_link(None, None, At::First)));
    }
    PageOr::Page((
        Status::Ok,
        layout.render(
            "session/register",
            json!({ "title": "Sign up", "active": "register", "form": {},
                    "action": uri!(register).to_string(), "login_url": uri!(login_page(_)).to_string() }),
        ),
    ))
}

#[allow(clippy::too_many_arguments)]
#[post("/register", data = "<form>")]
async fn register(
    db: Conn,
    mailer: &State<Mailer>,
    account_links: &State<AccountLinks>,
    jar: &CookieJar<'_>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    addr: ClientAddr,
    layout: Layout,
    form: CsrfContextual<'_, RegisterForm>,
) -> PageResult<PageOr> {
    let (value, sent) = take(form.into_inner(), &["username", "email"]);
    let result = match value {
        Ok(f) => {
            account::register(
                &db,
                config,
                mailer,
                account_links,
                &f.username,
                &f.email,
                &f.password,
                &addr.0,
            )
            .await
        }
        Err(AppError::Invalid(errors)) => {
            let field = |name: &str| sent[name].as_str().unwrap_or_default().to_owned();
            let (email, username) = (field("email"), field("username"));
            Err(
                match account::register_refused(&db, config, &addr.0, errors, &email, &username)
                    .await
                {
                    Ok(errors) => AppError::Invalid(errors),
                    Err(e) => e,
                },
            )
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(user) => {
            session::start(&db, jar, keys, config, &user, false).await?;
            Ok(PageOr::Redirect(done(
                home_link(None, None, At::First),
                format!("Welcome to Conduit, {}!", user.username),
            )))
        }
        Err(e @ (AppError::Invalid(_) | AppError::TooManyRequests(_))) => {
            let context = json!({
                "title": "Sign up", "active": "register",
                "form": sent, "errors": form_errors(&e),
                "action": uri!(register).to_string(), "login_url": uri!(login_page(_)).to_string(),
            });
            Ok(PageOr::again(
                &e,
                layout.render("session/register", context),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/logout", data = "<_form>")]
pub(crate) async fn logout(
    db: Conn,
    jar: &CookieJar<'_>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    me: MaybeUser,
    _form: CsrfForm<Empty>,
) -> PageResult<Flash<Redirect>> {
    if let Some(sid) = me.0.as_ref().and_then(|a| a.claims.sid.as_deref()) {
        crate::db::sessions::revoke(&db, sid).await?;
    }
    session::end(jar, keys, config);
    Ok(Flash::success(
        Redirect::to(home_link(None, None, At::First)),
        "You have been signed out.",
    ))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![login_page, login, register_page, register, logout]
}
