//! The console's catchers, registered at `/admin`: an error under `/admin` (no such page or
//! record, a refused form, a failing guard) is shown to an admin inside the console's layout,
//! with its navigation, like the site's own catchers (`crate::web::catchers`) do for the
//! site. Anyone else gets the site's error page (nothing of the console is shown), and a
//! visitor who is not signed in the login redirect.
//!
//! The console's handlers answer their errors through [`AdminPage`], which hands a refusal
//! (4xx) to these catchers with its message; a server failure (5xx, or a 429 with its
//! `Retry-After`) is answered by the site's error responder, which reports it.

use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::{catch, catchers, Catcher, Request};
use serde_json::json;

use crate::auth::guards::TwoFactorRequired;
use crate::auth::AdminUser;
use crate::error::{
    default_message, error_page, report_caught, title_for, AppError, CatcherMessage,
};
use crate::web::catchers::login_redirect;
use crate::web::layout::Layout;

/// An error page under `/admin`: in the console's layout for an admin, the site's otherwise.
pub struct AdminError(Status);

/// The console's navigation (`admin/base`'s `admin_nav`), which the console's stage manages:
/// it is made of the pages' routes, and the pages import this module.
pub struct AdminNav(pub fn() -> serde_json::Value);

impl<'r> Responder<'r, 'static> for AdminError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.0;
        if status == Status::Forbidden && req.local_cache(TwoFactorRequired::default).0 {
            // `admin_require_2fa`: an administrator without it sets it up first.
            return rocket::response::Flash::error(
                rocket::response::Redirect::to(crate::web::two_factor::index_link()),
                "Administrators must turn on two-factor sign-in before using the admin console.",
            )
            .respond_to(req);
        }
        let message = req
            .local_cache(CatcherMessage::default)
            .0
            .clone()
            .unwrap_or_else(|| default_message(status));
        let layout = req.local_cache(|| None::<Layout>);
        match layout {
            Some(layout) => {
                let admin_nav = req.rocket().state::<AdminNav>().map(|nav| (nav.0)());
                let page = layout.render(
                    "admin/error",
                    json!({ "title": title_for(status), "section": "", "status": status.code, "messages": [message],
                            "admin_nav": admin_nav }),
                );
                (status, page).respond_to(req)
            }
            // Under `/admin`: no search box.
            None => error_page(req, status, &[message]).respond_to(req),
        }
    }
}

/// The layout to render with, if the caller is an admin (kept for the responder, which cannot
/// run guards).
async fn admin_layout(req: &Request<'_>) {
    if req.guard::<AdminUser>().await.succeeded().is_none() {
        return;
    }
    if let Some(layout) = req.guard::<Layout>().await.succeeded() {
        req.local_cache(|| Some(layout));
    }
}

/// An error of a console handler (see the module docs).
#[derive(Debug)]
pub struct AdminPage(pub AppError);

impl<E: Into<AppError>> From<E> for AdminPage {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl<'r> Responder<'r, 'static> for AdminPage {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.0.status();
        if status.class().is_client_error()
            && self.0.retry_after().is_none()
            && status != Status::Unauthorized
        {
            let message = self.0.public_messages().join("; ");
            req.local_cache(|| CatcherMessage(Some(message)));
            return Err(status);
        }
        crate::error::HtmlError(self.0).respond_to(req)
    }
}

/// Result of a console handler.
pub type AdminResult<T> = Result<T, AdminPage>;

#[catch(401)]
fn unauthorized(req: &Request<'_>) -> rocket::response::Redirect {
    login_redirect(req)
}

#[catch(default)]
async fn default(status: Status, req: &Request<'_>) -> AdminError {
    report_caught(status, req);
    admin_layout(req).await;
    AdminError(status)
}

/// The catchers for `/admin`: 401 goes to the login page, everything else (404, 403, 422,
/// 500...) is an error page in the console's layout.
pub fn catchers() -> Vec<Catcher> {
    catchers![unauthorized, default]
}
