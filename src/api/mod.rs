//! The RealWorld JSON API under `/api`: routes, the JSON body guard and the JSON catchers.

mod json;
pub mod tags;

pub use json::ApiJson;

use rocket::fairing::AdHoc;

/// Mounts the API routes and registers its JSON catchers.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("RealWorld API", |rocket| async move {
        rocket
            .mount("/api", tags::routes())
            .register("/api", crate::error::api_catchers())
    })
}
