//! The console's pages under `/admin`: the dashboard, the four record tables (search, sort,
//! pagination, CSV export, bulk actions, edit forms, delete confirmations), the audit log,
//! backups, and the "confirm your password" step destructive actions need.
//!
//! The tables' handlers are written once ([`table`]) over the declarations of
//! [`Resource`](crate::admin::resource::Resource), one per kind of record ([`users`],
//! [`articles`], [`comments`], [`tags`]); a declaration's own file holds only what is its
//! own (a user's role and status forms).
//!
//! Every form carries the CSRF token (`CsrfForm`) and is read as a `Contextual` form, so a
//! field breaking its rule comes back on the form with its message; deletions, role changes,
//! disabling, bulk actions, making and downloading backups need a password entered within
//! `fresh_minutes`.

pub mod articles;
mod audit;
mod backups;
pub mod comments;
mod dashboard;
pub mod table;
pub mod tags;
mod tokens;
pub mod users;

use rocket::form::Context;
use rocket::response::{Flash, Redirect};
use rocket::{uri, Route};

use serde_json::{json, Value};

use crate::admin::catchers::AdminResult;
use crate::admin::ops::Entity;
use crate::admin::{AuditParams, ListParams};
use crate::auth::Authenticated;
use crate::config::AppConfig;
use crate::error::{AppError, FieldErrors};
use crate::web::layout::{done, Layout};
use crate::web::render::RenderedPage;
use crate::web::session::PageOr;

/// The console's dashboard, where the site's navigation links to (given to the site's stage
/// by the app factory: the site cannot name the console's routes).
pub fn dashboard_link() -> String {
    uri!("/admin", dashboard::dashboard(_)).to_string()
}

/// Where the console's navigation (`admin/base`) goes: its sections, by name.
pub(crate) fn admin_nav() -> Value {
    let table = |entity| table::list_href(entity, ListParams::default());
    json!({
        "dashboard": dashboard_link(),
        "users": table(Entity::User),
        "articles": table(Entity::Article),
        "comments": table(Entity::Comment),
        "tags": table(Entity::Tag),
        "audit": audit::audit_href(AuditParams::default()),
        "backups": uri!("/admin", backups::backups).to_string(),
    })
}

/// A console page: `template` with `context` (a JSON object) and the console's navigation
/// (`admin_nav`), in the site's layout.
pub(crate) fn render(layout: &Layout, template: &'static str, mut context: Value) -> RenderedPage {
    if let Value::Object(members) = &mut context {
        members.insert("admin_nav".into(), admin_nav());
    }
    layout.render(template, context)
}

/// Whether the caller entered their password recently enough for a destructive action.
fn is_fresh(auth: &Authenticated, config: &AppConfig) -> bool {
    auth.is_fresh(config.fresh_minutes)
}

/// To the password confirmation, coming back to `back_to` afterwards.
fn reauth_redirect(back_to: &str) -> PageOr {
    PageOr::Redirect(Flash::new(
        Redirect::to(uri!("/admin", dashboard::reauth_page(Some(back_to))).to_string()),
        "info",
        "Please enter your password again: this action needs a recent sign-in.",
    ))
}

/// Back to `to` with the outcome: success, or the refusal (last admin, not found, invalid) as
/// an error flash. Other errors are real failures.
fn outcome(to: &str, result: Result<String, AppError>) -> AdminResult<PageOr> {
    match result {
        Ok(message) => Ok(PageOr::Redirect(done(to, message))),
        Err(e @ (AppError::Forbidden(_) | AppError::NotFound(_) | AppError::Invalid(_))) => {
            Ok(PageOr::Redirect(Flash::error(
                Redirect::to(to.to_owned()),
                e.public_messages().join("; "),
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// The field errors of a form that did not parse or broke a `#[field(validate)]` rule, by
/// field name (`base` for the form as a whole), as a 422.
fn form_invalid(context: &Context<'_>) -> AppError {
    let mut errors = FieldErrors::new();
    for error in context.errors() {
        let field = error
            .name
            .as_ref()
            .map_or_else(|| "base".to_owned(), ToString::to_string);
        errors.add(&field, error.kind.to_string());
    }
    if errors.is_empty() {
        errors.add("base", "the form could not be read");
    }
    AppError::Invalid(errors)
}

/// The routes of the console, mounted at `/admin`.
/// Keyset links of a table page: "First" off the first page, "« Previous" (`rel="prev"`) and
/// "Next »" (`rel="next"`) where there is somewhere to go.
pub(crate) fn pagination(
    first: Option<String>,
    previous: Option<String>,
    next: Option<String>,
) -> Vec<Value> {
    [
        first.map(|href| json!({ "label": "First", "href": href })),
        previous.map(|href| json!({ "label": "« Previous", "href": href, "rel": "prev" })),
        next.map(|href| json!({ "label": "Next »", "href": href, "rel": "next" })),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub fn routes() -> Vec<Route> {
    let mut routes = rocket::routes![
        dashboard::dashboard,
        dashboard::reauth_page,
        dashboard::reauth,
        table::list,
        table::csv,
        table::edit,
        table::confirm_delete,
        table::delete,
        table::bulk,
        audit::audit,
        tokens::user_tokens,
        tokens::revoke_user_token,
        backups::backups,
        backups::create_backup,
        backups::download_backup,
    ];
    routes.extend(users::routes());
    routes.extend(articles::routes());
    routes.extend(comments::routes());
    routes.extend(tags::routes());
    routes
}
