//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every `/api` route (issue 19).
//!
//! **Documenting a route** (one place per module): give its handler a `#[utoipa::path(...)]`
//! attribute (method, the path as mounted under the module's base with `{param}` for
//! `<param>`, params, body, responses) and list the handler in the module's `Doc` beside its
//! `routes()`. A new module under `/api` adds its `Doc` to [`ApiDoc`]'s `nest` (the admin
//! console's comes through [`stage`](super::stage)). `tests/it/openapi.rs` fails for any
//! mounted `/api` route the document lacks, and for any documented operation not mounted.

use rocket::http::{ContentType, Header};
use rocket::{get, routes, Route, State};
use utoipa::OpenApi;

use crate::api_doc::ApiDocument;

/// The RealWorld API and Conduit's additions (the console's `/api/admin` is nested in by the
/// app factory, see [`document`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Conduit API",
        description = "The RealWorld (\"Conduit\") JSON API with Conduit's additions: search \
            (`q`), password reset, personal access tokens, and the admin console's operations \
            under `/api/admin`. Errors are `{\"errors\": {\"body\": [...], \"<field>\": [...]}}`; \
            validation failures answer 422. Every answer under `/api` carries the IETF \
            `RateLimit` and `RateLimit-Policy` headers while rate limits are on.",
        license(name = "MIT", identifier = "MIT"),
    ),
    nest(
        (path = "/api", api = super::users::Doc),
        (path = "/api", api = super::tokens::Doc),
        (path = "/api", api = super::sessions::Doc),
        (path = "/api", api = super::two_factor::Doc),
        (path = "/api", api = super::profiles::Doc),
        (path = "/api", api = super::articles::Doc),
        (path = "/api", api = super::tags::Doc),
        (path = "/api", api = OwnDoc),
    ),
    components(schemas(crate::api_doc::ErrorBody)),
    tags(
        (name = "users", description = "Registration, login, the current user, password reset."),
        (name = "profiles", description = "Profiles and following."),
        (name = "articles", description = "Articles: lists, feed, search, publishing."),
        (name = "favorites", description = "Favorites."),
        (name = "comments", description = "Comments on articles."),
        (name = "tags", description = "Tags."),
        (name = "tokens", description = "Personal access tokens for scripts."),
        (name = "admin", description = "The admin console's operations (administrators only)."),
        (name = "meta", description = "This document."),
    )
)]
pub struct ApiDoc;

/// This module's own route.
#[derive(OpenApi)]
#[openapi(paths(openapi_json))]
struct OwnDoc;

/// The whole document: the API's, with `admin` (the console's, mounted at `/api/admin`)
/// nested in, finished by [`ApiDocument::new`].
pub fn document(admin: fn() -> utoipa::openapi::OpenApi) -> ApiDocument {
    ApiDocument::new(&ApiDoc::openapi().nest("/api/admin", admin()))
}

/// The document itself (this page describes itself too).
#[utoipa::path(get, path = "/openapi.json", tag = "meta", operation_id = "getOpenApi",
    responses((status = 200, description = "The OpenAPI 3.1 document (also readable at `/api/docs`).",
        content_type = "application/json", body = Object)))]
#[get("/openapi.json")]
fn openapi_json(doc: &State<ApiDocument>) -> Document {
    Document {
        body: (ContentType::JSON, doc.json.clone()),
        // The same for everyone until the next deployment: any cache may keep it, checking
        // back (the site's `ETag` fairing tags it and answers `If-None-Match` with 304).
        cache: Header::new("Cache-Control", "public, no-cache"),
    }
}

/// The document as answered.
#[derive(rocket::Responder)]
pub struct Document {
    body: (ContentType, String),
    cache: Header<'static>,
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![openapi_json]
}
