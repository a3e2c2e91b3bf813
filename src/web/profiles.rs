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
use crate::web::articles::{back_to, ButtonForm};
use crate::web::feeds;
use crate::web::head::HeadView;
use crate::web::layout::{done, Layout};
use crate::web::lists::{previews, At};
use crate::web::render::RenderedPage;
use crate::web::views::PersonView;

/// A profile page's query: the place in the list, `?before=` / `?after=` (keyset cursors) or
/// an old `?page=` (kept as sent, see [`At::parse`]).
#[derive(Debug, Default, FromForm, UriDisplayQuery)]
pub struct ProfileQuery {
    /// An old page number.
    pub page: Option<String>,
    /// The articles older than this id.
    pub before: Option<String>,
    /// The articles newer than this id.
    pub after: Option<String>,
}

impl ProfileQuery {
    /// The query of the list at `at`.
    fn of(at: At) -> Self {
        let (page, before, after) = at.query();
        Self {
            page,
            before,
            after,
        }
    }
}

/// The page of `username`'s profile (`favorites`: the articles they favorited), at `at`.
pub fn profile_link(username: &str, favorites: bool, at: At) -> String {
    if favorites {
        uri!(favorites(username, ProfileQuery::of(at))).to_string()
    } else {
        uri!(show(username, ProfileQuery::of(at))).to_string()
    }
}

async fn profile_page(
    db: Conn,
    layout: Layout,
    me: MaybeUser,
    config: &AppConfig,
    username: &str,
    favorites: bool,
    query: &ProfileQuery,
) -> PageResult<RenderedPage> {
    let at = At::parse(
        query.page.as_deref(),
        query.before.as_deref(),
        query.after.as_deref(),
        config.page_size,
    )?;
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
    let link = |at| profile_link(&name, favorites, at);
    let list = previews(&db, &layout, &filter, &link, at, config.page_size, None).await?;
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
            // The navigation marks one's own profile as the current page.
            "active": if own { "profile" } else { "" },
            "login_url": (layout.links.login)(Some(&list.here)),
            "settings_url": own.then(|| (layout.links.settings)()),
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
    profile_page(db, layout, me, config, username, false, &query).await
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
    profile_page(db, layout, me, config, username, true, &query).await
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
        back.unwrap_or_else(|| profile_link(&profile.username, false, At::First)),
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
        back.unwrap_or_else(|| profile_link(&profile.username, false, At::First)),
        format!("You are no longer following {}.", profile.username),
    ))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![show, favorites, follow, unfollow]
}
