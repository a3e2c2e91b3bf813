//! The server-rendered site: pages, form handlers, static files and the HTML catchers.

pub mod articles;
pub mod health;
pub mod layout;
pub mod profiles;
pub mod session;
pub mod settings;
pub mod views;

use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::fs::{FileServer, Options};
use rocket::http::Header;
use rocket::{Request, Response};

/// Mounts the site's routes and static files and registers its HTML catchers.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Site", |rocket| async move {
        let panic_route = rocket
            .state::<crate::config::AppConfig>()
            .is_some_and(|c| c.enable_panic_route);
        let rocket = if panic_route {
            rocket.mount("/", health::panic_routes())
        } else {
            rocket
        };
        rocket
            .mount("/", articles::routes())
            .mount("/", profiles::routes())
            .mount("/", health::routes())
            .mount("/", session::routes())
            .mount("/", settings::routes())
            .mount("/static", FileServer::new("static", Options::None))
            .attach(StaticCache)
            .register("/", crate::error::web_catchers())
    })
}

/// Static files may be cached for a day; pages are per-user and must not be stored by shared
/// caches.
struct StaticCache;

#[rocket::async_trait]
impl Fairing for StaticCache {
    fn info(&self) -> Info {
        Info {
            name: "Cache-Control",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if res.headers().contains("Cache-Control") {
            return;
        }
        let value = if req.uri().path().starts_with("/static/") && res.status().class().is_success() {
            "public, max-age=86400"
        } else {
            "private, no-cache"
        };
        res.set_header(Header::new("Cache-Control", value));
    }
}
