//! The RealWorld JSON API under `/api`: routes, the JSON body guard and the JSON catchers.

mod json;
pub mod tags;
pub mod users;

pub use json::ApiJson;

use std::convert::Infallible;

use rocket::fairing::AdHoc;
use rocket::request::{FromRequest, Outcome, Request};

/// The client's address as Rocket sees it (`ip_header` is off unless a trusted proxy sets it).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddr {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        Outcome::Success(ClientAddr(
            req.client_ip()
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        ))
    }
}

/// Mounts the API routes and registers its JSON catchers.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("RealWorld API", |rocket| async move {
        rocket
            .mount("/api", tags::routes())
            .mount("/api", users::routes())
            .register("/api", crate::error::api_catchers())
    })
}
