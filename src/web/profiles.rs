//! Profile pages (articles written, articles favorited) and the follow button.

use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, Route, State};
use serde_json::json;

use crate::auth::csrf::CsrfForm;
use crate::auth::{CurrentUser, MaybeUser};
use crate::config::AppConfig;
use crate::db::articles::Filter;
use crate::db::{self, Conn};
use crate::error::{percent_encode, AppError, PageResult};
use crate::web::articles::{previews, ButtonForm};
use crate::web::layout::{done, Layout};
use crate::web::render::RenderedPage;
use crate::web::views::PersonView;

async fn profile_page(
    db: Conn,
    layout: Layout,
    me: MaybeUser,
    config: &AppConfig,
    username: &str,
    favorites: bool,
    page: Option<&str>,
) -> PageResult<RenderedPage> {
    let viewer = me.id();
    let profile = db::profiles::find(&db, username, viewer)
        .await?
        .ok_or(AppError::NotFound("profile"))?;
    let own = viewer == Some(profile.id);
    let name = profile.username.clone();
    let (filter, base) = if favorites {
        (
            Filter {
                favorited_by: Some(name.clone()),
                ..Filter::default()
            },
            format!("/profile/{}/favorites", percent_encode(&name)),
        )
    } else {
        (
            Filter {
                author: Some(name.clone()),
                ..Filter::default()
            },
            format!("/profile/{}", percent_encode(&name)),
        )
    };
    let list = previews(&db, &layout, &filter, &base, page, config.page_size, None).await?;
    Ok(layout.render(
        "profiles/show",
        json!({
            "title": name, "profile": PersonView::from(profile), "own": own, "favorites": favorites,
            "previews": list.html, "pager": list.pager, "here": list.here,
        }),
    ))
}

#[get("/profile/<username>?<page>")]
async fn show(
    db: Conn,
    layout: Layout,
    me: MaybeUser,
    config: &State<AppConfig>,
    username: &str,
    page: Option<&str>,
) -> PageResult<RenderedPage> {
    profile_page(db, layout, me, config, username, false, page).await
}

#[get("/profile/<username>/favorites?<page>")]
async fn favorites(
    db: Conn,
    layout: Layout,
    me: MaybeUser,
    config: &State<AppConfig>,
    username: &str,
    page: Option<&str>,
) -> PageResult<RenderedPage> {
    profile_page(db, layout, me, config, username, true, page).await
}

#[post("/profile/<username>/follow", data = "<form>")]
async fn follow(db: Conn, me: CurrentUser, username: &str, form: CsrfForm<ButtonForm>) -> PageResult<Flash<Redirect>> {
    let profile = crate::api::profiles::follow_user(&db, me.0.user.id, username).await?;
    Ok(done(
        form.0
            .back_or(&format!("/profile/{}", percent_encode(&profile.username))),
        format!("You are following {}.", profile.username),
    ))
}

#[post("/profile/<username>/unfollow", data = "<form>")]
async fn unfollow(
    db: Conn,
    me: CurrentUser,
    username: &str,
    form: CsrfForm<ButtonForm>,
) -> PageResult<Flash<Redirect>> {
    let profile = crate::api::profiles::unfollow_user(&db, me.0.user.id, username).await?;
    Ok(done(
        form.0
            .back_or(&format!("/profile/{}", percent_encode(&profile.username))),
        format!("You are no longer following {}.", profile.username),
    ))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![show, favorites, follow, unfollow]
}
