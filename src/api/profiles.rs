//! `GET /api/profiles/:username`, `POST|DELETE /api/profiles/:username/follow` (the follow
//! operations themselves are [`crate::social`]'s, shared with the site).

use rocket::serde::json::Json;
use rocket::{delete, get, post, routes, Route};

use crate::api::views::ProfileBody;
use crate::api_doc::ErrorBody;
use crate::auth::{CurrentUser, MaybeUser};
use crate::db::Conn;
use crate::error::ApiResult;
use crate::social;

/// A profile; `following` says whether the caller follows it (`false` for anonymous callers).
#[utoipa::path(get, path = "/profiles/{username}", tag = "profiles", operation_id = "getProfile",
    params(("username" = String, Path, description = "The username.")),
    security((), ("token" = [])),
    responses(
        (status = 200, description = "The profile.", body = ProfileBody),
        (status = 404, description = "No such user.", body = ErrorBody),
    ))]
#[get("/profiles/<username>")]
async fn get(db: Conn, me: MaybeUser, username: &str) -> ApiResult<Json<ProfileBody>> {
    let profile = social::profile(&db, username, me.id()).await?;
    Ok(Json(ProfileBody {
        profile: profile.into(),
    }))
}

/// Follow a user (following one already followed is no change).
#[utoipa::path(post, path = "/profiles/{username}/follow", tag = "profiles", operation_id = "followUser",
    params(("username" = String, Path, description = "The username.")),
    security(("token" = [])),
    responses(
        (status = 200, description = "The profile, followed.", body = ProfileBody),
        (status = 404, description = "No such user.", body = ErrorBody),
        (status = 422, description = "Following oneself.", body = ErrorBody),
    ))]
#[post("/profiles/<username>/follow")]
async fn follow(db: Conn, me: CurrentUser, username: &str) -> ApiResult<Json<ProfileBody>> {
    let profile = social::follow(&db, me.0.user.id, username).await?;
    Ok(Json(ProfileBody {
        profile: profile.into(),
    }))
}

/// Stop following a user.
#[utoipa::path(delete, path = "/profiles/{username}/follow", tag = "profiles", operation_id = "unfollowUser",
    params(("username" = String, Path, description = "The username.")),
    security(("token" = [])),
    responses(
        (status = 200, description = "The profile, not followed.", body = ProfileBody),
        (status = 404, description = "No such user.", body = ErrorBody),
    ))]
#[delete("/profiles/<username>/follow")]
async fn unfollow(db: Conn, me: CurrentUser, username: &str) -> ApiResult<Json<ProfileBody>> {
    let profile = social::unfollow(&db, me.0.user.id, username).await?;
    Ok(Json(ProfileBody {
        profile: profile.into(),
    }))
}

/// The documentation of this module's routes (`crate::api_doc`): list each route here too.
#[derive(utoipa::OpenApi)]
#[openapi(paths(get, follow, unfollow))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![get, follow, unfollow]
}
