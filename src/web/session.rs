//! Sign in, sign up and sign out pages.

use crate::web::render::RenderedPage;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Header, Status};
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, Route, State};
use serde_json::json;

use crate::api::ClientAddr;
use crate::auth::csrf::CsrfForm;
use crate::auth::token::Keys;
use crate::auth::{account, session, MaybeUser};
use crate::config::AppConfig;
use crate::db::Conn;
use crate::error::{AppError, PageResult};
use crate::web::layout::{done, form_errors, safe_next, Layout};

/// The sign-in form.
#[derive(FromForm, Default)]
pub struct LoginForm {
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    password: String,
    #[field(default = false)]
    remember: bool,
    next: Option<String>,
}

/// The sign-up form.
#[derive(FromForm, Default)]
pub struct RegisterForm {
    #[field(default = String::new())]
    username: String,
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    password: String,
}

/// A form that carries nothing but its CSRF token (checked by `CsrfForm`).
#[derive(FromForm)]
pub struct Empty {
    /// The token, already verified by the time a handler sees it.
    #[field(default = String::new())]
    pub csrf_token: String,
}

/// A page or a redirect.
#[derive(rocket::Responder)]
pub enum PageOr {
    /// The page, with a status (422 when it shows errors).
    Page((Status, RenderedPage)),
    /// The page again, refused for now (429).
    Later(Later),
    /// Where to go next.
    Redirect(Flash<Redirect>),
    /// Where to go, no message.
    Plain(Redirect),
}

/// A form page answered 429: the page, and when to try again.
#[derive(rocket::Responder)]
pub struct Later {
    page: (Status, RenderedPage),
    retry_after: Header<'static>,
}

impl PageOr {
    /// A form shown again with what went wrong: 429 with `Retry-After` for a throttle, 422
    /// for anything else (invalid input, a refused password).
    pub fn again(error: &AppError, page: RenderedPage) -> Self {
        match error.retry_after() {
            Some(secs) => Self::Later(Later {
                page: (error.status(), page),
                retry_after: Header::new("Retry-After", secs.to_string()),
            }),
            None => Self::Page((Status::UnprocessableEntity, page)),
        }
    }
}

#[get("/login?<next>")]
fn login_page(layout: Layout, next: Option<String>) -> PageOr {
    if layout.user.is_some() {
        return PageOr::Plain(Redirect::to(safe_next(next.as_deref())));
    }
    // The form carries only a `next` that will be followed.
    let next = next.map(|n| safe_next(Some(&n)));
    PageOr::Page((
        Status::Ok,
        layout.render(
            "session/login",
            json!({ "title": "Sign in", "active": "login", "next": next, "form": {} }),
        ),
    ))
}

#[post("/login", data = "<form>")]
async fn login(
    db: Conn,
    jar: &CookieJar<'_>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    addr: ClientAddr,
    layout: Layout,
    form: CsrfForm<LoginForm>,
) -> PageResult<PageOr> {
    let form = form.0;
    match account::authenticate(&db, config, &form.email, &form.password, &addr.0).await {
        Ok(user) => {
            session::start(&db, jar, keys, config, &user, form.remember).await?;
            Ok(PageOr::Redirect(done(
                safe_next(form.next.as_deref()),
                format!("Welcome back, {}!", user.username),
            )))
        }
        Err(e @ (AppError::Invalid(_) | AppError::Unauthorized(_) | AppError::TooManyRequests(_))) => {
            let next = form.next.map(|n| safe_next(Some(&n)));
            let context = json!({
                "title": "Sign in", "active": "login", "next": next,
                "form": { "email": form.email, "remember": form.remember }, "errors": form_errors(&e),
            });
            Ok(PageOr::again(&e, layout.render("session/login", context)))
        }
        Err(e) => Err(e.into()),
    }
}

#[get("/register")]
fn register_page(layout: Layout) -> PageOr {
    if layout.user.is_some() {
        return PageOr::Plain(Redirect::to("/"));
    }
    PageOr::Page((
        Status::Ok,
        layout.render(
            "session/register",
            json!({ "title": "Sign up", "active": "register", "form": {} }),
        ),
    ))
}

#[post("/register", data = "<form>")]
async fn register(
    db: Conn,
    jar: &CookieJar<'_>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    addr: ClientAddr,
    layout: Layout,
    form: CsrfForm<RegisterForm>,
) -> PageResult<PageOr> {
    let form = form.0;
    match account::register(&db, config, &form.username, &form.email, &form.password, &addr.0).await {
        Ok(user) => {
            session::start(&db, jar, keys, config, &user, false).await?;
            Ok(PageOr::Redirect(done(
                "/",
                format!("Welcome to Conduit, {}!", user.username),
            )))
        }
        Err(e @ (AppError::Invalid(_) | AppError::TooManyRequests(_))) => {
            let context = json!({
                "title": "Sign up", "active": "register",
                "form": { "username": form.username, "email": form.email }, "errors": form_errors(&e),
            });
            Ok(PageOr::again(&e, layout.render("session/register", context)))
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/logout", data = "<_form>")]
async fn logout(
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
    Ok(Flash::success(Redirect::to("/"), "You have been signed out."))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![login_page, login, register_page, register, logout]
}
