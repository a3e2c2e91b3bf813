//! The home page.

use rocket::{get, routes, Route};
use rocket_dyn_templates::{context, Template};

use crate::db::{self, Conn};
use crate::error::PageResult;

/// Home: the popular tags and, as the site grows, the article feeds.
#[get("/")]
async fn index(db: Conn) -> PageResult<Template> {
    let tags = db::tags::popular(&db, 20).await?;
    Ok(Template::render("home/index", context! { title: "Home", tags: tags }))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![index]
}
