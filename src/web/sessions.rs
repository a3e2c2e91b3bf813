//! `/settings/sessions`: the account's browser sign-ins and API logins (issue 18), when each
//! began and was last used, from where and with what browser, this one marked; "sign out" on
//! each and "sign out everywhere else". Every form carries the session's CSRF token. Ending
//! this browser's own session signs it out, as the logout button does.

use rocket::http::CookieJar;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, uri, Route, State};
use serde_json::{json, Value};

use crate::auth::sessions::{self, Active};
use crate::auth::token::Keys;
use crate::auth::{session, CurrentUser};
use crate::config::AppConfig;
use crate::db::Conn;
use crate::error::{AppError, PageResult};
use crate::timefmt::iso_seconds;
use crate::web::layout::{done, Layout};
use crate::web::render::RenderedPage;
use crate::web::session::Empty;

/// A time as the page shows it: `November 30, 2026, 14:05 UTC`.
fn when(at: &chrono::DateTime<chrono::Utc>) -> Value {
    json!({
        "text": at.format("%B %-d, %Y, %H:%M UTC").to_string(),
        "iso": iso_seconds(at),
    })
}

/// A session as the page lists it.
fn row_view(s: &Active) -> Value {
    json!({
        "kind": if s.kind == "api" { "API login" } else { "Browser" },
        "current": s.current,
        "created": when(&s.created_at),
        "last_seen": s.last_seen_at.as_ref().map(when),
        "address": s.address,
        "browser": s.browser,
        "end_url": uri!(end(s.id.as_str())).to_string(),
    })
}

#[get("/settings/sessions")]
async fn index(
    db: Conn,
    keys: &State<Keys>,
    me: CurrentUser,
    layout: Layout,
) -> PageResult<RenderedPage> {
    let listed = sessions::list(&db, keys, &me.0).await?;
    let not_listed = sessions::not_listed(&db, &me.0, listed.len()).await?;
    let others = listed.iter().filter(|s| !s.current).count();
    Ok(layout.render(
        "settings/sessions",
        json!({
            "title": "Sessions",
            "active": "settings",
            "sessions": listed.iter().map(row_view).collect::<Vec<_>>(),
            "others": others,
            "not_listed": not_listed,
            "end_others_url": uri!(end_others).to_string(),
            "settings_url": (layout.links.settings)(),
        }),
    ))
}

/// "Sign out" on one session. This browser's own: it is signed out and sent to the sign-in page.
#[post("/settings/sessions/<id>/end", data = "<_form>")]
async fn end(
    db: Conn,
    jar: &CookieJar<'_>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    me: CurrentUser,
    id: &str,
    _form: crate::auth::csrf::CsrfForm<Empty>,
) -> PageResult<Flash<Redirect>> {
    let own = sessions::is_current(keys, &me.0, id);
    match sessions::end(&db, keys, &me.0, id).await {
        Ok(()) if own => {
            session::end(jar, keys, config);
            Ok(Flash::success(
                Redirect::to(uri!(crate::web::session::login_page(_))),
                "You have been signed out.",
            ))
        }
        Ok(()) => Ok(done(
            uri!(index),
            "That session has been signed out: it no longer works.",
        )),
        Err(AppError::NotFound(_)) => Ok(Flash::error(
            Redirect::to(uri!(index)),
            "That session had ended already.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// "Sign out everywhere else": every session but this browser's.
#[post("/settings/sessions/end-others", data = "<_form>")]
async fn end_others(
    db: Conn,
    me: CurrentUser,
    _form: crate::auth::csrf::CsrfForm<Empty>,
) -> PageResult<Flash<Redirect>> {
    let ended = sessions::end_others(&db, &me.0).await?;
    let message = match ended {
        0 => "You had no other sessions.".to_owned(),
        1 => "1 other session has been signed out.".to_owned(),
        n => format!("{n} other sessions have been signed out."),
    };
    Ok(done(uri!(index), message))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![index, end, end_others]
}
