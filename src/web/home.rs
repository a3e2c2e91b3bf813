//! The home page.

use rocket::{get, routes, Route};
use rocket_dyn_templates::Template;
use serde_json::json;

use crate::db::{self, Conn};
use crate::error::PageResult;
use crate::web::layout::Layout;

/// Home: the popular tags and, as the site grows, the article feeds.
#[get("/")]
async fn index(db: Conn, layout: Layout) -> PageResult<Template> {
    let tags = db::tags::popular(&db, 20).await?;
    Ok(layout.render("home/index", json!({ "title": "Home", "active": "home", "tags": tags })))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![index]
}
