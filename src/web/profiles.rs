//! Profile pages (articles written, articles favorited) and the follow button (the follow
//! itself is [`crate::social`]'s, shared with the JSON API).

use rocket::form::FromForm;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, uri, Route, State, UriDisplayQuery};
use serde_json::json;

use crate::auth::csrf::CsrfContextual;
use crate::auth::{CurrentUser, MaybeUser};
use crate::config::AppConfig;
use crate::db::articles::Filter;
use crate::db::{self, Conn};
use crate::error::{AppError, PageResult};
use crate::social;
use crate::web::articles::{back_to, previews, ButtonForm};
use crate::web::feeds;
use crate::web::head::HeadView;
use crate::web::layout::{done, Layout};
use crate::web::render::RenderedPage;
use crate::web::views::PersonView;

/// A profile page's query: `?page=` (kept as sent: 1 when absent or malformed).
#[derive(Debug, Default, FromForm, UriDisplayQuery)]
pub struct ProfileQuery {
    /// The page number.
    pub page: Option<String>,
}

impl ProfileQuery {
    /// The query of page `page` (none for the first).
    fn of(page: i64) -> Self {
        Self {
            page: (page > 1).then(|| page.to_string()),
        }
    }
}

/// The page of `username`'s profile (`favorites`: the articles they favorited), page `page`.
pub fn profile_link(username: &str, favorites: bool, page: i64) -> String {
    if favorites {
        uri!(favorites(username, ProfileQuery::of(page))).to_string()
    } else {
        uri!(show(username, ProfileQuery::of(page))).to_string()
    }
}

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
    let filter = if favorites {
        Filter {
            favorited_by: Some(name.clone()),
            ..Filter::default()
        }
    } else {
        Filter {
            author: Some(name.clone()),
            ..Filter::default()
        }
    };
    let link = |n| profile_link(&name, favorites, n);
    let list = previews(&db, &layout, &filter, &link, page, config.page_size, None).await?;
    let head = HeadView::feed(
        format!("Conduit: articles by {name}"),
        feeds::author_link(&name),
    )
    .canonical(&layout.public_url, &list.here)
    .profile(
        &layout.public_url,
        &name,
        profile.bio.as_deref(),
        profile.image.as_deref(),
    );
    Ok(layout.render(
        "profiles/show",
        json!({
            "head": head, "title": name, "profile": PersonView::of(&layout.links, profile), "own": own, "favorites": favorites,
            "login_url": (layout.links.login)(Some(&list.here)),
            "previews": list.html, "pager": list.pager, "here": list.here,
        }),
    ))
}

#[get("/profile/<username>?<query..>")]
async fn show(
    db: Conn,
    layout: Layout,
    me: MaybeUser,
    config: &State<AppConfig>,
    username: &str,
    query: ProfileQuery,
) -> PageResult<RenderedPage> {
    profile_page(
        db,
        layout,
        me,
        config,
        username,
        false,
        query.page.as_deref(),
    )
    .await
}

#[get("/profile/<username>/favorites?<query..>")]
async fn favorites(
    db: Conn,
    layout: Layout,
    me: MaybeUser,
    config: &State<AppConfig>,
    username: &str,
    query: ProfileQuery,
) -> PageResult<RenderedPage> {
    profile_page(
        db,
        layout,
        me,
        config,
        username,
        true,
        query.page.as_deref(),
    )
    .await
}

#[post("/profile/<username>/follow", data = "<form>")]
async fn follow(
    db: Conn,
    me: CurrentUser,
    username: &str,
    form: CsrfContextual<'_, ButtonForm>,
) -> PageResult<Flash<Redirect>> {
    let back = back_to(form.into_inner());
    let profile = social::follow(&db, me.0.user.id, username).await?;
    Ok(done(
        back.unwrap_or_else(|| profile_link(&profile.username, false, 1)),
        format!("You are following {}.", profile.username),
    ))
}

#[post("/profile/<username>/unfollow", data = "<form>")]
async fn unfollow(
    db: Conn,
    me: CurrentUser,
    username: &str,
    form: CsrfContextual<'_, ButtonForm>,
) -> PageResult<Flash<Redirect>> {
    let back = back_to(form.into_inner());
    let profile = social::unfollow(&db, me.0.user.id, username).await?;
    Ok(done(
        back.unwrap_or_else(|| profile_link(&profile.username, false, 1)),
        format!("You are no longer following {}.", profile.username),
    ))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![show, favorites, follow, unfollow]
}
