//! `GET /api/profiles/:username`, `POST|DELETE /api/profiles/:username/follow`.

use rocket::serde::json::Json;
use rocket::{delete, get, post, routes, Route};

use crate::api::views::ProfileBody;
use crate::auth::{CurrentUser, MaybeUser};
use crate::db::profiles::Profile;
use crate::db::{self, Conn, DbPool};
use crate::error::{ApiResult, AppError, FieldErrors};

async fn profile(db: &DbPool, username: &str, viewer: Option<i64>) -> Result<Profile, AppError> {
    db::profiles::find(db, username, viewer)
        .await?
        .ok_or(AppError::NotFound("profile"))
}

#[get("/profiles/<username>")]
async fn get(db: Conn, me: MaybeUser, username: &str) -> ApiResult<Json<ProfileBody>> {
    let profile = profile(&db, username, me.id()).await?;
    Ok(Json(ProfileBody {
        profile: profile.into(),
    }))
}

/// Follow `username` as `me`; shared with the site.
pub async fn follow_user(db: &DbPool, me: i64, username: &str) -> Result<Profile, AppError> {
    let target = profile(db, username, Some(me)).await?;
    if target.id == me {
        return Err(AppError::Invalid(FieldErrors::one(
            "base",
            "you cannot follow yourself",
        )));
    }
    db::profiles::follow(db, me, target.id).await?;
    Ok(Profile {
        following: true,
        ..target
    })
}

/// Stop following `username` as `me`; shared with the site.
pub async fn unfollow_user(db: &DbPool, me: i64, username: &str) -> Result<Profile, AppError> {
    let target = profile(db, username, Some(me)).await?;
    db::profiles::unfollow(db, me, target.id).await?;
    Ok(Profile {
        following: false,
        ..target
    })
}

#[post("/profiles/<username>/follow")]
async fn follow(db: Conn, me: CurrentUser, username: &str) -> ApiResult<Json<ProfileBody>> {
    let profile = follow_user(&db, me.0.user.id, username).await?;
    Ok(Json(ProfileBody {
        profile: profile.into(),
    }))
}

#[delete("/profiles/<username>/follow")]
async fn unfollow(db: Conn, me: CurrentUser, username: &str) -> ApiResult<Json<ProfileBody>> {
    let profile = unfollow_user(&db, me.0.user.id, username).await?;
    Ok(Json(ProfileBody {
        profile: profile.into(),
    }))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![get, follow, unfollow]
}
