//! The site's catchers: a 401 sends the visitor to sign in and back, anything else is an error
//! page in the site's layout (the console has its own, `admin::catchers`; `/api` answers JSON).

use rocket::http::{Method, Status};
use rocket::response::Redirect;
use rocket::{catch, catchers, uri, Catcher, Request};

use crate::error::{default_message, error_page, report_caught, CatcherMessage, ErrorHtml};
use crate::web::session;

/// `303 See Other` to the login page, coming back afterwards: to this page for a GET, and for
/// a form post (which cannot be replayed) to the page the form was on, when it was ours.
pub fn login_redirect(req: &Request<'_>) -> Redirect {
    let next = if req.method() == Method::Get {
        Some(req.uri().to_string())
    } else {
        req.headers()
            .get_one("Referer")
            .and_then(|r| same_site_path(req, r))
    };
    Redirect::to(uri!(session::login_page(next)))
}

/// The path and query of a `Referer` that points at this site.
fn same_site_path(req: &Request<'_>, referer: &str) -> Option<String> {
    let host = req.host()?.to_string();
    let rest = referer
        .strip_prefix("https://")
        .or_else(|| referer.strip_prefix("http://"))?;
    let path = rest.strip_prefix(host.as_str())?;
    path.starts_with('/').then(|| path.to_owned())
}

#[catch(401)]
fn unauthorized(req: &Request<'_>) -> Redirect {
    login_redirect(req)
}

#[catch(default)]
fn default(status: Status, req: &Request<'_>) -> (Status, ErrorHtml) {
    report_caught(status, req);
    let message = req
        .local_cache(CatcherMessage::default)
        .0
        .clone()
        .unwrap_or_else(|| default_message(status));
    error_page(req, status, &[message])
}

/// Catchers for the site (HTML).
pub fn catchers() -> Vec<Catcher> {
    catchers![unauthorized, default]
}
