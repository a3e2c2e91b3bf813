//! Follows between users: the rule (nobody follows themselves) and the operations both faces
//! perform, the JSON API (`/api/profiles/:username/follow`) and the site's follow button.

use crate::db::profiles::Profile;
use crate::db::{self, DbPool, UserId};
use crate::error::{AppError, FieldErrors};

/// The profile of `username` as `viewer` sees it: 404 when there is none.
pub async fn profile(
    db: &DbPool,
    username: &str,
    viewer: Option<UserId>,
) -> Result<Profile, AppError> {
    db::profiles::find(db, username, viewer)
        .await?
        .ok_or(AppError::NotFound("profile"))
}

/// Follow `username` as user `me`; returns their profile as `me` now sees it.
pub async fn follow(db: &DbPool, me: UserId, username: &str) -> Result<Profile, AppError> {
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

/// Stop following `username` as user `me`; returns their profile as `me` now sees it.
pub async fn unfollow(db: &DbPool, me: UserId, username: &str) -> Result<Profile, AppError> {
    let target = profile(db, username, Some(me)).await?;
    db::profiles::unfollow(db, me, target.id).await?;
    Ok(Profile {
        following: false,
        ..target
    })
}
