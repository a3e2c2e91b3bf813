//! The dashboard (counts, recent activity, newest accounts and articles) and the "confirm your
//! password" step destructive actions send an admin to.

use chrono::Utc;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::{get, post, uri, State};
use serde_json::{json, Value};

use super::audit::audit_view;
use super::table;
use crate::admin::catchers::AdminResult;
use crate::admin::ops::Entity;
use crate::admin::pages::articles::Articles;
use crate::admin::pages::users::Users;
use crate::admin::resource::{Resource, DATE};
use crate::admin::stats;
use crate::auth::csrf::CsrfContextual;
use crate::auth::token::Keys;
use crate::auth::{session, AdminUser};
use crate::config::AppConfig;
use crate::db::admin::{ArticleRow, UserRow};
use crate::db::audit::AuditFilter;
use crate::db::{self, Conn};
use crate::error::AppError;
use crate::web::layout::{done, safe_next, Layout};
use crate::web::render::RenderedPage;
use crate::web::session::PageOr;

/// The dashboard: stat cards with their change over 7 days, the charts of the last `days`
/// (7, 30 or 90: anything else is a 422), the latest admin changes, the newest accounts and
/// articles.
#[get("/?<days>")]
pub async fn dashboard(
    db: Conn,
    _admin: AdminUser,
    layout: Layout,
    days: Option<&str>,
) -> AdminResult<RenderedPage> {
    let days = stats::parse_days(days)?;
    let numbers = stats::load(&db, days, Utc::now().date_naive()).await?;
    let counts = numbers.counts;
    let change = numbers.last_seven_days;
    let cards: Vec<Value> = [
        ("users", "Users", counts.users, change.users, "new"),
        ("admins", "Admins", counts.admins, change.admins, "net"),
        (
            "disabled",
            "Disabled",
            counts.disabled,
            change.disabled,
            "net",
        ),
        (
            "articles",
            "Articles",
            counts.articles,
            change.articles,
            "new",
        ),
        (
            "comments",
            "Comments",
            counts.comments,
            change.comments,
            "new",
        ),
        ("tags", "Tags", counts.tags, change.tags, "new"),
    ]
    .into_iter()
    .map(|(key, label, total, change, kind)| {
        json!({ "key": key, "label": label, "total": total, "change": change,
                "change_text": change_text(change, kind) })
    })
    .collect();
    let ranges: Vec<Value> = stats::RANGES
        .iter()
        .map(|d| json!({ "days": d, "href": uri!("/admin", dashboard(Some(d.to_string()))).to_string(), "current": *d == days }))
        .collect();
    let outbox = db::outbox::counts(&db).await?;
    let failed_mail: Vec<Value> = db::outbox::list_failed(&db, 10)
        .await?
        .iter()
        .map(|m| json!({"id": m.id, "recipient": m.recipient, "subject": m.subject, "attempts": m.attempts, "error": m.last_error, "queued": m.created_at.format(DATE).to_string()}))
        .collect();
    let recent = db::audit::list(&db, &AuditFilter::default(), 10, 0).await?;
    let users_query = db::admin::ListQuery {
        q: String::new(),
        sort: "created".into(),
        desc: true,
        limit: 5,
        offset: 0,
    };
    let users: Vec<UserRow> = db::admin::list(&db, Users::SPEC, &users_query).await?;
    let articles: Vec<ArticleRow> = db::admin::list(&db, Articles::SPEC, &users_query).await?;
    let activity: Vec<Value> = recent.iter().map(audit_view).collect();
    Ok(super::render(
        &layout,
        "admin/dashboard",
        json!({
            "title": "Admin", "section": "dashboard", "counts": counts, "activity": activity,
            "cards": cards, "days": days, "ranges": ranges, "charts": stats::charts(&numbers),
            "outbox": outbox, "failed_mail": failed_mail,
            "users": users.iter().map(|u| json!({"id": u.id, "username": u.username, "created": u.created_at.format(DATE).to_string(), "href": uri!("/admin", table::edit(Entity::User, u.id)).to_string()})).collect::<Vec<_>>(),
            "articles": articles.iter().map(|a| json!({"id": a.id, "title": a.title, "author": a.author_username, "created": a.created_at.format(DATE).to_string(), "href": uri!("/admin", table::edit(Entity::Article, a.id)).to_string()})).collect::<Vec<_>>(),
        }),
    ))
}

/// `+3 new in 7 days`, `−1 net in 7 days`, `no change in 7 days`.
fn change_text(change: i64, kind: &str) -> String {
    match change {
        0 => format!("no change in {} days", stats::CHANGE_DAYS),
        n if n > 0 => format!("+{n} {kind} in {} days", stats::CHANGE_DAYS),
        n => format!(
            "\u{2212}{} {kind} in {} days",
            n.unsigned_abs(),
            stats::CHANGE_DAYS
        ),
    }
}

#[get("/reauth?<next>")]
pub async fn reauth_page(
    db: Conn,
    admin: AdminUser,
    layout: Layout,
    next: Option<String>,
) -> AdminResult<RenderedPage> {
    let two_factor = crate::auth::two_factor::is_on(&db, &admin.0.user).await?;
    Ok(super::render(
        &layout,
        "admin/reauth",
        json!({ "title": "Confirm your password", "section": "", "next": safe_next(next.as_deref()),
                "action": uri!("/admin", reauth).to_string(), "two_factor": two_factor }),
    ))
}

/// The password confirmation form.
#[derive(FromForm, Default)]
pub struct ReauthForm {
    #[field(default = String::new())]
    password: String,
    /// A current code (or a recovery code), for an account with two-factor sign-in.
    #[field(default = String::new())]
    code: String,
    next: Option<String>,
}

#[allow(clippy::too_many_arguments)]
#[post("/reauth", data = "<form>")]
pub async fn reauth(
    db: Conn,
    jar: &CookieJar<'_>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    codes: crate::auth::code_check::CodeCheck<'_>,
    admin: AdminUser,
    layout: Layout,
    form: CsrfContextual<'_, ReauthForm>,
) -> AdminResult<PageOr> {
    let form = form.0.value.unwrap_or_default();
    let auth = admin.0;
    let next = safe_next(form.next.as_deref());
    let two_factor = crate::auth::two_factor::is_on(&db, &auth.user).await?;
    // The login check itself: same throttling, same single message; then, for an account with
    // two-factor sign-in, its code (a fresh login takes both factors).
    let checked =
        crate::auth::code_check::password_and_code(&codes, &auth.user, &form.password, &form.code)
            .await;
    match checked {
        Ok(user) if user.id == auth.user.id => {
            // Only a browser session has cookies to mark fresh (a header token's freshness is
            // its login's).
            if auth.via == crate::auth::Via::Cookie {
                session::reauthenticate(jar, keys, config, &auth.claims, &user)?;
            }
            Ok(PageOr::Redirect(done(
                next,
                "Thanks, your password is confirmed.",
            )))
        }
        Ok(_) | Err(AppError::Unauthorized(_) | AppError::Invalid(_)) => {
            let page = super::render(
                &layout,
                "admin/reauth",
                json!({ "title": "Confirm your password", "section": "", "next": next,
                        "action": uri!("/admin", reauth).to_string(), "two_factor": two_factor,
                        "errors": { "list": [if two_factor { "password or code is not correct" } else { "password is not correct" }] } }),
            );
            Ok(PageOr::Page((Status::UnprocessableEntity, page)))
        }
        Err(e) => Err(e.into()),
    }
}
