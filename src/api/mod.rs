//! The RealWorld JSON API under `/api`: routes, the JSON body guard and the JSON catchers.

pub mod articles;
pub mod json_writer;
pub mod openapi;
pub mod profiles;
pub mod rate_limit;
pub mod sessions;
pub mod tags;
pub mod tokens;
pub mod two_factor;
pub mod users;
pub mod views;

use rocket::fairing::AdHoc;
use rocket::request::Request;

/// Mounts the API routes, registers its JSON catchers, and manages the OpenAPI document
/// (`admin_doc`: the console's part, mounted at `/api/admin` by the console's stage; the app
/// factory, which sees both faces, passes it).
pub fn stage(admin_doc: fn() -> utoipa::openapi::OpenApi) -> AdHoc {
    AdHoc::on_ignite("RealWorld API", move |rocket| async move {
        rocket
            .manage(openapi::document(admin_doc))
            .mount("/api", openapi::routes())
            .mount("/api", tags::routes())
            .mount("/api", users::routes())
            .mount("/api", tokens::routes())
            .mount("/api", sessions::routes())
            .mount("/api", two_factor::routes())
            .mount("/api", profiles::routes())
            .mount("/api", articles::routes())
            .register("/api", crate::error::api_catchers())
    })
}

/// CORS for browser clients on other origins, from `cors_allowed_origins` (`["*"]` allows
/// any; empty turns CORS off). Tokens travel in the `Authorization` header, so credentials
/// (cookies) are never allowed cross-origin.
pub fn cors() -> AdHoc {
    AdHoc::try_on_ignite("CORS", |rocket| async move {
        let origins = rocket
            .state::<crate::config::AppConfig>()
            .map(|c| c.cors_allowed_origins.clone())
            .unwrap_or_default();
        if origins.is_empty() {
            return Ok(rocket);
        }
        let any = origins.iter().any(|o| o == "*");
        let allowed = if any {
            rocket_cors::AllowedOrigins::all()
        } else {
            rocket_cors::AllowedOrigins::some_exact(&origins)
        };
        let cors = rocket_cors::CorsOptions {
            allowed_origins: allowed,
            allowed_methods: ["Get", "Post", "Put", "Delete", "Options"]
                .iter()
                .filter_map(|m| m.parse().ok())
                .collect(),
            allowed_headers: rocket_cors::AllowedHeaders::some(&[
                "Authorization",
                "Content-Type",
                "X-CSRF-Token",
                "X-Requested-With",
            ]),
            allow_credentials: false,
            send_wildcard: any,
            max_age: Some(3600),
            ..Default::default()
        }
        .to_cors();
        match cors {
            Ok(cors) => Ok(rocket.attach(cors)),
            Err(e) => {
                log::error!("config key `cors_allowed_origins`: {e}");
                Err(rocket)
            }
        }
    })
}

/// RealWorld clients expect `application/json; charset=utf-8`.
pub struct JsonCharset;

#[rocket::async_trait]
impl rocket::fairing::Fairing for JsonCharset {
    fn info(&self) -> rocket::fairing::Info {
        rocket::fairing::Info {
            name: "JSON charset",
            kind: rocket::fairing::Kind::Response,
        }
    }

    async fn on_response<'r>(&self, _: &'r Request<'_>, res: &mut rocket::Response<'r>) {
        if res
            .content_type()
            .is_some_and(|ct| ct == rocket::http::ContentType::JSON)
        {
            res.set_raw_header("Content-Type", "application/json; charset=utf-8");
        }
    }
}
