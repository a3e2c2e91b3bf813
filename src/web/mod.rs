//! The server-rendered site: pages, form handlers, static files and the HTML catchers.

pub mod health;
pub mod home;
pub mod layout;
pub mod session;
pub mod settings;

use rocket::fairing::AdHoc;
use rocket::fs::{FileServer, Options};

/// Mounts the site's routes and static files and registers its HTML catchers.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Site", |rocket| async move {
        rocket
            .mount("/", home::routes())
            .mount("/", health::routes())
            .mount("/", session::routes())
            .mount("/", settings::routes())
            .mount("/static", FileServer::new("static", Options::None))
            .register("/", crate::error::web_catchers())
    })
}
