//! `GET /api/profiles/:username`, `POST|DELETE /api/profiles/:username/follow` (the follow
//! operations themselves are [`crate::social`]'s, shared with the site).

use rocket::serde::json::Json;
use rocket::{delete, get, post, routes, Route};

use crate::api::views::ProfileBody;
use crate::auth::{CurrentUser, MaybeUser};
use crate::db::Conn;
use crate::error::ApiResult;
use crate::social;

#[get("/profiles/<username>")]
async fn get(db: Conn, me: MaybeUser, username: &str) -> ApiResult<Json<ProfileBody>> {
    let profile = social::profile(&db, username, me.id()).await?;
    Ok(Json(ProfileBody {
        profile: profile.into(),
    }))
}

#[post("/profiles/<username>/follow")]
async fn follow(db: Conn, me: CurrentUser, username: &str) -> ApiResult<Json<ProfileBody>> {
    let profile = social::follow(&db, me.0.user.id, username).await?;
    Ok(Json(ProfileBody {
        profile: profile.into(),
    }))
}

#[delete("/profiles/<username>/follow")]
async fn unfollow(db: Conn, me: CurrentUser, username: &str) -> ApiResult<Json<ProfileBody>> {
    let profile = social::unfollow(&db, me.0.user.id, username).await?;
    Ok(Json(ProfileBody {
        profile: profile.into(),
    }))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![get, follow, unfollow]
}
