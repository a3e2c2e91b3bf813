//! `GET /api/tags`.

use rocket::serde::json::Json;
use rocket::{get, routes, Route};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{self, Conn};
use crate::error::ApiResult;

/// The RealWorld tag list.
#[derive(Serialize, ToSchema)]
pub struct TagList {
    /// Most used first (up to 1000).
    tags: Vec<String>,
}

/// All tags in use, most used first.
#[utoipa::path(get, path = "/tags", tag = "tags", operation_id = "getTags",
    responses((status = 200, description = "The tags.", body = TagList)))]
#[get("/tags")]
async fn list(db: Conn) -> ApiResult<Json<TagList>> {
    let tags = db::tags::popular(&db, 1000).await?;
    Ok(Json(TagList { tags }))
}

/// The documentation of this module's routes (`crate::api_doc`): list each route here too.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![list]
}
