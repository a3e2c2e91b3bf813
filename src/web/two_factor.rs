//! Two-factor sign-in in the browser (issue 18): the code page of a sign-in
//! (`/login/two-factor`), and `/settings/two-factor`, where it is set up (the current password,
//! then the QR code and the key as text, confirmed with a code; then the recovery codes, shown
//! once), given new recovery codes, or turned off (both with the current password and a code).

use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, uri, Route, State};
use serde_json::json;

use crate::auth::access_token::Origin;
use crate::auth::code_check::{self, CodeCheck};
use crate::auth::credentials::ClientAddr;
use crate::auth::csrf::CsrfContextual;
use crate::auth::recovery::AccountLinks;
use crate::auth::token::Keys;
use crate::auth::two_factor::{self, Passed};
use crate::auth::{pending_login, session, CurrentUser, Via};
use crate::config::AppConfig;
use crate::db::users::User;
use crate::db::{self, Conn, DbPool};
use crate::error::{AppError, FieldErrors, PageResult};
use crate::mail::Mailer;
use crate::web::layout::{done, form_errors, safe_next, take, Layout, PageOr};
use crate::web::render::RenderedPage;

/// A form with a code (or a recovery code).
#[derive(FromForm, Default)]
pub struct CodeForm {
    #[field(default = String::new())]
    code: String,
}

/// A form with the current password.
#[derive(FromForm, Default)]
pub struct PasswordForm {
    #[field(default = String::new())]
    current_password: String,
}

/// A change to an enrolled second factor: the current password and a code.
#[derive(FromForm, Default)]
pub struct ChangeForm {
    #[field(default = String::new())]
    current_password: String,
    #[field(default = String::new())]
    code: String,
}

/// Back to the sign-in form, the half-done sign-in forgotten.
fn restart_login(
    layout: &Layout,
    jar: &CookieJar<'_>,
    config: &AppConfig,
    message: &str,
) -> PageOr {
    pending_login::clear(jar, config);
    PageOr::Redirect(Flash::error(
        Redirect::to((layout.links.login)(None)),
        message.to_owned(),
    ))
}

fn code_page(layout: &Layout, errors: Option<&AppError>) -> RenderedPage {
    layout.render(
        "session/two_factor",
        json!({
            "title": "Two-factor sign-in", "active": "login",
            "action": uri!(login_code).to_string(),
            "login_url": (layout.links.login)(None),
            "errors": errors.map(form_errors),
        }),
    )
}

/// The second step's page: a code form, for a browser with a half-done sign-in.
#[get("/login/two-factor")]
pub(crate) fn login_code_page(
    layout: Layout,
    jar: &CookieJar<'_>,
    config: &State<AppConfig>,
) -> PageOr {
    if layout.user.is_some() {
        return PageOr::Plain(Redirect::to(safe_next(None)));
    }
    if pending_login::read(jar, config).is_none() {
        return restart_login(
            &layout,
            jar,
            config,
            "Your sign-in timed out: please sign in again.",
        );
    }
    PageOr::Page((Status::Ok, code_page(&layout, None)))
}

#[allow(clippy::too_many_arguments)]
#[post("/login/two-factor", data = "<form>")]
async fn login_code(
    db: Conn,
    jar: &CookieJar<'_>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    codes: CodeCheck<'_>,
    layout: Layout,
    form: CsrfContextual<'_, CodeForm>,
) -> PageResult<PageOr> {
    let (value, _) = take(form.into_inner(), &[]);
    let Some(pending) = pending_login::read(jar, config) else {
        return Ok(restart_login(
            &layout,
            jar,
            config,
            "Your sign-in timed out: please sign in again.",
        ));
    };
    let user = db::users::find_by_id(&db, pending.uid)
        .await?
        .filter(|u| pending.holds_for(u));
    let Some(user) = user else {
        return Ok(restart_login(&layout, jar, config, "Please sign in again."));
    };
    // A cookie works once: one saved after its sign-in is no new sign-in.
    if db::totp::pending_used(&db, pending.nonce()).await? {
        return Ok(restart_login(&layout, jar, config, "Please sign in again."));
    }
    let result = async {
        let code = value?.code;
        if code.trim().is_empty() {
            return Err(AppError::Invalid(FieldErrors::one(
                "code",
                "can't be blank",
            )));
        }
        code_check::verify(&codes, &user, &code)
            .await?
            .ok_or_else(two_factor::wrong_code)
    }
    .await;
    match result {
        Ok(passed) => {
            pending_login::clear(jar, config);
            // Of two uses of one cookie at once, exactly one records it and signs in.
            if !db::totp::use_pending(&db, user.id, pending.nonce(), pending.expires_at()).await? {
                return Ok(restart_login(&layout, jar, config, "Please sign in again."));
            }
            session::start(&db, jar, keys, config, &user, pending.remember).await?;
            let message = if passed == Passed::Recovery {
                let left = two_factor::recovery_left(&db, &user).await?;
                format!(
                    "Welcome back, {}! You used a recovery code: {left} left. Make new ones in your settings if you are running out.",
                    user.username
                )
            } else {
                format!("Welcome back, {}!", user.username)
            };
            Ok(PageOr::Redirect(done(
                safe_next(pending.next.as_deref()),
                message,
            )))
        }
        Err(e @ (AppError::Invalid(_) | AppError::TooManyRequests(_))) => {
            Ok(PageOr::again(&e, code_page(&layout, Some(&e))))
        }
        Err(e) => Err(e.into()),
    }
}

/// What the settings page shows.
enum View {
    /// The state of things, with the forms that fit it.
    Status,
    /// A started enrolment: the QR code, the key, the confirmation form.
    Setup(two_factor::Enrolment),
    /// New recovery codes, shown once.
    Codes(Vec<String>),
}

async fn page(
    db: &DbPool,
    config: &AppConfig,
    layout: &Layout,
    user: &User,
    view: View,
    errors: Option<(&str, &AppError)>,
) -> Result<RenderedPage, AppError> {
    let on = two_factor::is_on(db, user).await?;
    let mut context = json!({
        "title": "Two-factor sign-in", "active": "settings",
        "enabled": on,
        "settings_url": (layout.links.settings)(),
        "index_url": uri!(index).to_string(),
        "setup_url": uri!(setup).to_string(),
        "confirm_url": uri!(confirm).to_string(),
        "regenerate_url": uri!(regenerate).to_string(),
        "disable_url": uri!(disable).to_string(),
        "required": config.admin_require_2fa && user.is_admin() && !on,
        "errors_for": errors.map(|(form, _)| form),
        "errors": errors.map(|(_, e)| form_errors(e)),
    });
    match view {
        View::Status => {
            context["mode"] = json!(if on { "on" } else { "off" });
            if on {
                context["recovery_left"] = json!(two_factor::recovery_left(db, user).await?);
            }
        }
        View::Setup(enrolment) => {
            context["mode"] = json!("setup");
            context["qr_svg"] = json!(enrolment.qr_svg()?);
            context["secret"] = json!(grouped(&enrolment.secret));
        }
        View::Codes(codes) => {
            context["mode"] = json!("codes");
            context["recovery_codes"] = json!(codes);
        }
    }
    Ok(layout.render("settings/two_factor", context))
}

/// The key in groups of four, as authenticator apps accept it typed in.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
}

#[get("/settings/two-factor")]
pub(crate) async fn index(
    db: Conn,
    config: &State<AppConfig>,
    me: CurrentUser,
    layout: Layout,
) -> PageResult<RenderedPage> {
    Ok(page(&db, config, &layout, &me.0.user, View::Status, None).await?)
}

/// A form's error shown on the page again (422, or 429 with `Retry-After`); anything else is
/// a failure.
async fn again(
    db: &DbPool,
    config: &AppConfig,
    layout: &Layout,
    user: &User,
    view: View,
    form: &str,
    e: AppError,
) -> PageResult<PageOr> {
    match e {
        AppError::Invalid(_) | AppError::TooManyRequests(_) => {
            let shown = page(db, config, layout, user, view, Some((form, &e))).await?;
            Ok(PageOr::again(&e, shown))
        }
        e => Err(e.into()),
    }
}

/// "Set up": the current password (a fresh login: the session is marked fresh for the
/// confirmation), then the QR code and the key.
#[allow(clippy::too_many_arguments)]
#[post("/settings/two-factor/setup", data = "<form>")]
async fn setup(
    db: Conn,
    jar: &CookieJar<'_>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    codes: CodeCheck<'_>,
    me: CurrentUser,
    layout: Layout,
    form: CsrfContextual<'_, PasswordForm>,
) -> PageResult<PageOr> {
    let user = &me.0.user;
    // On already: the password must not buy a fresh login here (that takes a code).
    if two_factor::is_on(&db, user).await? {
        return Ok(PageOr::Redirect(Flash::error(
            Redirect::to(uri!(index)),
            "Two-factor sign-in is on already.",
        )));
    }
    let (value, _) = take(form.into_inner(), &[]);
    let result = async {
        let form = value?;
        // Off (just checked), so the password alone.
        code_check::password_and_code(&codes, user, &form.current_password, "").await?;
        // Only a browser session is marked fresh (a header token has no cookies to renew).
        if me.0.via == Via::Cookie {
            session::reauthenticate(jar, keys, config, &me.0.claims, user)?;
        }
        two_factor::begin(&db, config, user, me.0.claims.sid.as_deref()).await
    }
    .await;
    match result {
        Ok(enrolment) => {
            let shown = page(&db, config, &layout, user, View::Setup(enrolment), None).await?;
            Ok(PageOr::Page((Status::Ok, shown)))
        }
        Err(e) => again(&db, config, &layout, user, View::Status, "setup", e).await,
    }
}

/// The first code: two-factor sign-in is on, and the recovery codes are shown.
#[allow(clippy::too_many_arguments)]
#[post("/settings/two-factor/confirm", data = "<form>")]
async fn confirm(
    db: Conn,
    config: &State<AppConfig>,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    addr: ClientAddr,
    me: CurrentUser,
    origin: Origin,
    layout: Layout,
    form: CsrfContextual<'_, CodeForm>,
) -> PageResult<PageOr> {
    let user = &me.0.user;
    if !me.0.is_fresh(config.fresh_minutes) {
        return Ok(PageOr::Redirect(Flash::error(
            Redirect::to(uri!(index)),
            "Please set up two-factor sign-in again: your password confirmation has expired.",
        )));
    }
    let (value, _) = take(form.into_inner(), &[]);
    let result = async {
        let code = value?.code;
        two_factor::confirm(&db, config, mailer, links, &origin, user, &code, &addr.0).await
    }
    .await;
    match result {
        Ok(codes) => {
            let shown = page(&db, config, &layout, user, View::Codes(codes), None).await?;
            Ok(PageOr::Page((Status::Ok, shown)))
        }
        Err(e) => {
            // The same key again beside the error (still pending), or the status page.
            let sid = me.0.claims.sid.as_deref();
            let view = match two_factor::pending(&db, config, user, sid).await? {
                Some(enrolment) => View::Setup(enrolment),
                None => View::Status,
            };
            again(&db, config, &layout, user, view, "confirm", e).await
        }
    }
}

/// The current password and a code, checked in that order (both throttled): 422 `totp` when
/// two-factor sign-in is off.
async fn check_change(
    codes: &CodeCheck<'_>,
    user: &User,
    value: Result<ChangeForm, AppError>,
) -> Result<(), AppError> {
    let form = value?;
    if !two_factor::is_on(codes.db(), user).await? {
        return Err(two_factor::not_on());
    }
    code_check::password_and_code(codes, user, &form.current_password, &form.code).await?;
    Ok(())
}

/// New recovery codes (the old ones stop working).
#[allow(clippy::too_many_arguments)]
#[post("/settings/two-factor/recovery-codes", data = "<form>")]
async fn regenerate(
    db: Conn,
    config: &State<AppConfig>,
    codes: CodeCheck<'_>,
    me: CurrentUser,
    origin: Origin,
    layout: Layout,
    form: CsrfContextual<'_, ChangeForm>,
) -> PageResult<PageOr> {
    let user = &me.0.user;
    let (value, _) = take(form.into_inner(), &[]);
    let result = async {
        check_change(&codes, user, value).await?;
        two_factor::regenerate(&db, &origin, user).await
    }
    .await;
    match result {
        Ok(codes) => {
            let shown = page(&db, config, &layout, user, View::Codes(codes), None).await?;
            Ok(PageOr::Page((Status::Ok, shown)))
        }
        Err(e) => again(&db, config, &layout, user, View::Status, "regenerate", e).await,
    }
}

/// Turn two-factor sign-in off.
#[allow(clippy::too_many_arguments)]
#[post("/settings/two-factor/disable", data = "<form>")]
async fn disable(
    db: Conn,
    config: &State<AppConfig>,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    codes: CodeCheck<'_>,
    me: CurrentUser,
    origin: Origin,
    layout: Layout,
    form: CsrfContextual<'_, ChangeForm>,
) -> PageResult<PageOr> {
    let user = &me.0.user;
    let (value, _) = take(form.into_inner(), &[]);
    let result = async {
        check_change(&codes, user, value).await?;
        two_factor::disable(&db, mailer, links, &origin, user).await
    }
    .await;
    match result {
        Ok(()) => Ok(PageOr::Redirect(done(
            uri!(index),
            "Two-factor sign-in is off: signing in asks only for your password now.",
        ))),
        Err(e) => again(&db, config, &layout, user, View::Status, "disable", e).await,
    }
}

/// Where the settings pages link to (the console's requirement too).
pub fn index_link() -> String {
    uri!(index).to_string()
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![
        login_code_page,
        login_code,
        index,
        setup,
        confirm,
        regenerate,
        disable
    ]
}

/// Where a sign-in whose password was right goes next, for an account with two-factor sign-in.
pub fn code_page_link() -> String {
    uri!(login_code_page).to_string()
}
