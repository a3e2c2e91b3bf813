//! `GET /api/tags`.

use rocket::serde::json::Json;
use rocket::{get, routes, Route};
use serde::Serialize;

use crate::db::{self, Conn};
use crate::error::ApiResult;

/// The RealWorld tag list.
#[derive(Serialize)]
pub struct TagList {
    tags: Vec<String>,
}

/// All tags in use, most used first.
#[get("/tags")]
async fn list(db: Conn) -> ApiResult<Json<TagList>> {
    let tags = db::tags::popular(&db, 1000).await?;
    Ok(Json(TagList { tags }))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![list]
}
