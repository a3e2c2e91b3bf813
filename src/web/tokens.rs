//! `/settings/tokens`: the signed-in user's personal access tokens (issue 19). The page lists
//! them (scopes, expiry, last use and address) with a revoke button each, and a form makes a
//! new one: name, scopes, lifetime, and the current password (a fresh login, checked and
//! throttled like a login, as the settings page does for an email change). The new secret is
//! shown once, on the page that answers the form, and never again.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{get, post, routes, uri, Route};
use serde_json::{json, Value};

use crate::auth::access_token::{self, Expiry, Origin, Scope, Scopes};
use crate::auth::code_check::{self, CodeCheck};
use crate::auth::csrf::{CsrfContextual, CsrfForm};
use crate::auth::CurrentUser;
use crate::db::access_tokens::TokenRow;
use crate::db::{self, AccessTokenId, Conn};
use crate::error::{AppError, FieldErrors, PageResult};
use crate::timefmt::human_date;
use crate::web::layout::{done, form_errors, take, Layout, PageOr};
use crate::web::render::RenderedPage;
use crate::web::session::Empty;

/// The creation form. Scopes are checkboxes (`scopes=read&scopes=write`); `expires` is `30`,
/// `90`, `365` or `never`.
#[derive(FromForm, Default)]
pub struct TokenForm {
    #[field(default = String::new())]
    name: String,
    #[field(default = Vec::new())]
    scopes: Vec<String>,
    #[field(default = String::from("30"))]
    expires: String,
    #[field(default = String::new())]
    current_password: String,
    /// A current code (or a recovery code), for an account with two-factor sign-in.
    #[field(default = String::new())]
    code: String,
}

/// A token as the page lists it.
fn row_view(row: &TokenRow, now: chrono::DateTime<chrono::Utc>) -> Value {
    json!({
        "id": row.id,
        "name": row.name,
        "scopes": Scopes::from_stored(&row.scopes).to_stored(),
        "created": human_date(&row.created_at),
        "expires": row.expires_at.as_ref().map_or_else(|| "never".to_owned(), human_date),
        "expired": row.expires_at.is_some_and(|at| at <= now),
        "last_used": row.last_used_at.as_ref().map(human_date),
        "last_used_ip": row.last_used_ip,
        "revoke_url": uri!(revoke(row.id)).to_string(),
    })
}

/// The page: the list, the form (with `kept` values and `errors`), and `created`, a new
/// token's name and secret, when one was just made.
async fn page(
    db: &db::DbPool,
    layout: &Layout,
    me: &CurrentUser,
    kept: &Value,
    errors: Option<&AppError>,
    created: Option<Value>,
) -> Result<RenderedPage, AppError> {
    let rows = db::access_tokens::list_for_user(db, me.0.user.id).await?;
    let now = db::now();
    let scopes: Vec<Value> = Scope::ALL
        .into_iter()
        .filter(|s| *s != Scope::Admin || me.0.user.is_admin())
        .map(|s| {
            let checked = kept["scopes"]
                .as_array()
                .is_some_and(|v| v.iter().any(|x| x == s.as_str()));
            json!({ "value": s.as_str(), "checked": checked })
        })
        .collect();
    let chosen = kept["expires"].as_str().unwrap_or("30");
    let expiries: Vec<Value> = ["30", "90", "365", "never"]
        .into_iter()
        .map(|v| json!({ "value": v, "selected": v == chosen }))
        .collect();
    let two_factor = crate::auth::two_factor::is_on(db, &me.0.user).await?;
    Ok(layout.render(
        "settings/tokens",
        json!({
            "two_factor": two_factor,
            "title": "Access tokens",
            "active": "settings",
            "tokens": rows.iter().map(|r| row_view(r, now)).collect::<Vec<_>>(),
            "form": kept,
            "scopes": scopes,
            "expiries": expiries,
            "errors": errors.map(form_errors),
            "created": created,
            "create_url": uri!(create).to_string(),
        }),
    ))
}

#[get("/settings/tokens")]
async fn index(db: Conn, me: CurrentUser, layout: Layout) -> PageResult<RenderedPage> {
    Ok(page(&db, &layout, &me, &json!({}), None, None).await?)
}

#[post("/settings/tokens", data = "<form>")]
async fn create(
    db: Conn,
    codes: CodeCheck<'_>,
    me: CurrentUser,
    origin: Origin,
    layout: Layout,
    form: CsrfContextual<'_, TokenForm>,
) -> PageResult<PageOr> {
    let (value, mut kept) = take(form.into_inner(), &["name", "expires"]);
    let result = async {
        let form = value?;
        kept["scopes"] = json!(form.scopes);
        let request = access_token::Request {
            name: form.name.clone(),
            scopes: form.scopes.clone(),
            expiry: Expiry::parse(&form.expires),
        };
        access_token::check(&me.0.user, &request).map_err(|e| match e {
            AppError::Invalid(mut fields) => {
                // The form's field is `expires`, not the JSON's `expiresInDays`.
                if let Some(messages) = fields.0.remove("expiresInDays") {
                    fields.0.insert("expires".into(), messages);
                }
                AppError::Invalid(fields)
            }
            e => e,
        })?;
        if form.current_password.is_empty() {
            return Err(AppError::Invalid(FieldErrors::one(
                "current_password",
                "is needed to create a token",
            )));
        }
        // A fresh login takes both factors where the account has two.
        code_check::password_and_code(&codes, &me.0.user, &form.current_password, &form.code)
            .await?;
        access_token::create(&db, &me.0.user, &origin, &request).await
    }
    .await;
    match result {
        Ok((row, secret)) => {
            let created = json!({ "name": row.name, "secret": secret });
            let shown = page(&db, &layout, &me, &json!({}), None, Some(created)).await?;
            Ok(PageOr::Page((Status::Created, shown)))
        }
        Err(e @ (AppError::Invalid(_) | AppError::TooManyRequests(_) | AppError::Forbidden(_))) => {
            let shown = page(&db, &layout, &me, &kept, Some(&e), None).await?;
            Ok(match e {
                AppError::Forbidden(_) => PageOr::Page((Status::Forbidden, shown)),
                e => PageOr::again(&e, shown),
            })
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/settings/tokens/<id>/revoke", data = "<_form>")]
async fn revoke(
    db: Conn,
    origin: Origin,
    id: AccessTokenId,
    _form: CsrfForm<Empty>,
) -> PageResult<PageOr> {
    let message = match access_token::revoke(&db, origin.actor_id, id, &origin).await {
        Ok(()) => "The token has been revoked: it no longer works.",
        Err(AppError::NotFound(_)) => "That token was revoked already.",
        Err(e) => return Err(e.into()),
    };
    Ok(PageOr::Redirect(done(uri!(index), message)))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![index, create, revoke]
}
