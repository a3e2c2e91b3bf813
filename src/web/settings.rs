//! The settings page: profile fields, email and password (with the current password, checked
//! and throttled like a login, and with two-factor sign-in on a current code too), and "sign
//! out everywhere".

use rocket::form::FromForm;
use rocket::http::CookieJar;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, uri, Route, State};
use serde_json::json;

use crate::auth::code_check::{self, CodeCheck};
use crate::auth::credentials::ClientAddr;
use crate::auth::csrf::{CsrfContextual, CsrfForm};
use crate::auth::recovery::{self, AccountLinks};
use crate::auth::token::Keys;
use crate::auth::{account, confirmed, fields, session, two_factor, CurrentUser};
use crate::config::AppConfig;
use crate::db::users::User;
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors, PageResult};
use crate::input::{self, rule, Max};
use crate::mail::Mailer;
use crate::web::layout::{done, form_errors, take, Layout};
use crate::web::render::RenderedPage;
use crate::web::session::{Empty, PageOr};

/// The settings form. Each field is checked as Rocket reads it with the account rules that
/// `account::prepare` applies to a change (which checks them again, with the stored values).
/// A blank email or password means "keep it".
#[derive(FromForm, Default)]
pub struct SettingsForm {
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| if !v.trim().is_empty() { fields::check_image(e, v.trim()) }))]
    image: String,
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| fields::check_username(e, v.trim())))]
    username: String,
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| { input::check(e, "bio", v.trim(), Max::Chars(fields::BIO_MAX)); }))]
    bio: String,
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| if !v.trim().is_empty() { fields::check_email(e, v.trim()) }))]
    email: String,
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| if !v.is_empty() {
        fields::check_password(e, v, str::trim(&self.username), str::trim(&self.email));
    }))]
    password: String,
    #[field(default = String::new())]
    current_password: String,
    /// A current code (or a recovery code), for an account with two-factor sign-in changing
    /// its email or password.
    #[field(default = String::new())]
    code: String,
}

fn page(
    layout: &Layout,
    form: &serde_json::Value,
    two_factor: bool,
    errors: Option<&AppError>,
) -> RenderedPage {
    let errors = errors.map(form_errors);
    layout.render(
        "settings/edit",
        json!({
            "title": "Settings", "active": "settings", "form": form, "errors": errors,
            "two_factor": two_factor,
            "tokens_url": uri!(crate::web::tokens::index).to_string(),
            "sessions_url": uri!(crate::web::sessions::index).to_string(),
            "two_factor_url": crate::web::two_factor::index_link(),
            "action": uri!(update).to_string(),
            "logout_url": (layout.links.logout)(),
            "sign_out_everywhere_url": uri!(sign_out_everywhere).to_string(),
        }),
    )
}

fn form_of(user: &User) -> serde_json::Value {
    json!({ "image": user.image, "username": user.username, "bio": user.bio, "email": user.email })
}

#[get("/settings")]
pub(crate) async fn edit(db: Conn, me: CurrentUser, layout: Layout) -> PageResult<RenderedPage> {
    let two_factor = two_factor::is_on(&db, &me.0.user).await?;
    Ok(page(&layout, &form_of(&me.0.user), two_factor, None))
}

#[allow(clippy::too_many_arguments)]
#[post("/settings", data = "<form>")]
async fn update(
    db: Conn,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    jar: &CookieJar<'_>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    codes: CodeCheck<'_>,
    me: CurrentUser,
    layout: Layout,
    form: CsrfContextual<'_, SettingsForm>,
) -> PageResult<PageOr> {
    let auth = me.0;
    let two_factor = two_factor::is_on(&db, &auth.user).await?;
    let (value, kept) = take(form.into_inner(), &["image", "username", "bio", "email"]);
    let result = async {
        let form = value?;
        let changes = account::Changes {
            email: Some(form.email.clone()).filter(|e| !e.trim().is_empty()),
            username: Some(form.username.clone()),
            password: Some(form.password.clone()),
            bio: Some(form.bio.clone()),
            image: Some(form.image.clone()),
        };
        // Changing the email or the password needs the current password (a fresh login).
        let fresh = changes.need_fresh(&auth.user);
        if fresh && form.current_password.is_empty() {
            return Err(AppError::Invalid(FieldErrors::one(
                "current_password",
                "is needed to change your email or password",
            )));
        }
        // The order of `account::prepare`: every check that needs no write first (the email
        // change limit included), so a field error or a 429 costs no password attempt and
        // spends no code; then the proof of a fresh login and the new password hashed between
        // its two factors, so a busy hasher spends no code; the write last.
        confirmed::may_change(config.require_confirmed_email, &auth.user, &changes)?;
        let mut prepared = account::prepare(&db, config, auth.user.clone(), changes, fresh).await?;
        let proved = async {
            // Checked like a login: a wrong one counts against the user and the address, and
            // past the limit even the right one waits (429).
            let checked = if fresh {
                code_check::password(
                    &codes,
                    &auth.user,
                    &form.current_password,
                    "current_password",
                )
                .await?
            } else {
                auth.user.clone()
            };
            prepared.hash_password(config.password_queue_max).await?;
            if fresh {
                // With two-factor sign-in on, a code too (a fresh login takes both factors),
                // counted like a sign-in's codes.
                code_check::if_on(&codes, &checked, "code", &form.code).await?;
            }
            Ok::<_, AppError>(())
        }
        .await;
        if let Err(e) = proved {
            prepared.give_back(&db).await;
            return Err(e);
        }
        account::write(
            &db,
            prepared,
            config.password_queue_max,
            auth.claims.sid.as_deref(),
        )
        .await
    }
    .await;
    match result {
        Ok(updated) => {
            if updated.password_changed {
                session::reissue(jar, keys, config, &auth.claims, &updated.user)?;
            }
            let message = if let Some(new_email) = &updated.email_requested {
                recovery::request_email_change(&db, mailer, links, &updated.user, new_email)
                    .await?;
                format!(
                    "Your settings have been saved. We sent a link to {new_email}: your email \
                     changes when you follow it (until then it stays {}).",
                    updated.user.email
                )
            } else {
                "Your settings have been saved.".to_owned()
            };
            Ok(PageOr::Redirect(done(uri!(edit), message)))
        }
        Err(e @ (AppError::Invalid(_) | AppError::TooManyRequests(_))) => Ok(PageOr::again(
            &e,
            page(&layout, &kept, two_factor, Some(&e)),
        )),
        // Unconfirmed under `require_confirmed_email`: the page says why, and its banner
        // offers a new link.
        Err(e @ AppError::Forbidden(_)) => Ok(PageOr::Page((
            rocket::http::Status::Forbidden,
            page(&layout, &kept, two_factor, Some(&e)),
        ))),
        Err(e) => Err(e.into()),
    }
}

#[post("/settings/sign-out-everywhere", data = "<_form>")]
async fn sign_out_everywhere(
    db: Conn,
    jar: &CookieJar<'_>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    me: CurrentUser,
    _form: CsrfForm<Empty>,
) -> PageResult<Flash<Redirect>> {
    db::users::revoke_all_tokens(&db, me.0.user.id).await?;
    session::end(jar, keys, config);
    Ok(Flash::success(
        Redirect::to(uri!(crate::web::session::login_page(_))),
        "You have been signed out on every device.",
    ))
}

/// "Send me a new link" in the confirmation banner.
#[allow(clippy::too_many_arguments)]
#[post("/settings/confirm-email", data = "<_form>")]
async fn resend_confirmation(
    db: Conn,
    config: &State<AppConfig>,
    mailer: &State<Mailer>,
    links: &State<AccountLinks>,
    addr: ClientAddr,
    me: CurrentUser,
    _form: CsrfForm<Empty>,
) -> PageResult<Flash<Redirect>> {
    let user = &me.0.user;
    match recovery::resend_confirmation(&db, config, mailer, links, user, &addr.0).await {
        Ok(()) => Ok(done(
            uri!(edit),
            format!(
                "We sent a new link to {}: follow it to confirm your email.",
                user.email
            ),
        )),
        Err(AppError::TooManyRequests(_)) => Ok(Flash::error(
            Redirect::to(uri!(edit)),
            "Too many links were asked for: please try again later.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![edit, update, sign_out_everywhere, resend_confirmation]
}
