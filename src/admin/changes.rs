//! What a change request of the console's JSON API (`PUT /api/admin/<resource>/<id>`) holds
//! and does, per declared table ([`JsonChanges`]), and the fresh-login rule the API's
//! destructive operations follow ([`Fresh`]).

use std::future::Future;

use rocket::serde::json::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::admin::ops::{self, Actor};
use crate::admin::pages::{articles::Articles, comments::Comments, tags::Tags, users::Users};
use crate::admin::resource::Resource;
use crate::auth::Authenticated;
use crate::config::AppConfig;
use crate::db::users::Role;
use crate::db::{self, ArticleId, CommentId, DbPool, TagId, UserId};
use crate::error::{AppError, FieldErrors};

/// The message of a 401 for a token that is not fresh.
pub const NOT_FRESH: &str =
    "this action needs a fresh login: sign in again (POST /api/users/login) and retry with the new token";

/// The message of a 403 for a personal access token asking for an action that needs a fresh
/// login (a token is never one).
pub const TOKEN_NOT_FRESH: &str =
    "this action needs a fresh login, which a personal access token is not: sign in (POST /api/users/login) and use that token";

pub(crate) fn require_fresh(auth: &Authenticated, config: &AppConfig) -> Result<(), AppError> {
    if auth.is_access_token() {
        Err(AppError::Forbidden(TOKEN_NOT_FRESH))
    } else if auth.is_fresh(config.fresh_minutes) {
        Ok(())
    } else {
        Err(AppError::Unauthorized(NOT_FRESH.into()))
    }
}

/// Whether the request's login is fresh; if not, [`Fresh::require`] gives the answer.
#[derive(Clone, Copy)]
pub(crate) enum Fresh {
    Yes,
    No,
    /// A personal access token, never fresh.
    Token,
}

impl Fresh {
    pub(crate) fn of(auth: &Authenticated, config: &AppConfig) -> Self {
        match require_fresh(auth, config) {
            Ok(()) => Self::Yes,
            Err(_) if auth.is_access_token() => Self::Token,
            Err(_) => Self::No,
        }
    }

    /// `Ok` for a fresh login, else the 401 (or a token's 403) [`require_fresh`] answers.
    fn require(self) -> Result<(), AppError> {
        match self {
            Self::Yes => Ok(()),
            Self::No => Err(AppError::Unauthorized(NOT_FRESH.into())),
            Self::Token => Err(AppError::Forbidden(TOKEN_NOT_FRESH)),
        }
    }
}

pub(crate) fn user_body(user: &db::users::User) -> Json<Value> {
    let mut snapshot = ops::user_snapshot(user);
    snapshot["created_at"] = json!(user.created_at);
    snapshot["updated_at"] = json!(user.updated_at);
    Json(json!({ "user": snapshot }))
}

pub(crate) async fn apply<R: JsonChanges>(
    db: &DbPool,
    actor: &Actor,
    fresh: Fresh,
    id: R::Id,
    body: Value,
) -> Result<Value, AppError> {
    // The same answer as a body `ApiJson` cannot read into the request's type.
    let changes = serde_json::from_value::<R::Changes>(body).map_err(|e| {
        AppError::Invalid(FieldErrors::one(
            "base",
            format!("invalid request body: {e}"),
        ))
    })?;
    R::apply(db, actor, fresh, id, changes).await
}

/// How `/api/admin` changes a declared table's records.
pub(crate) trait JsonChanges: Resource {
    /// The request body, `{"<entity>": {...}}`.
    type Changes: DeserializeOwned + Send;

    /// Apply `changes` (by an admin whose login is `fresh` or not); `{"<entity>": {...}}` after.
    fn apply(
        db: &DbPool,
        actor: &Actor,
        fresh: Fresh,
        id: Self::Id,
        changes: Self::Changes,
    ) -> impl Future<Output = Result<Value, AppError>> + Send;
}

/// A change request of one of the tables (documentation: `PUT /api/admin/{resource}/{id}`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AdminChanges {
    /// `users`.
    User(UserEnvelope),
    /// `articles`.
    Article(ArticleEnvelope),
    /// `comments`.
    Comment(CommentEnvelope),
    /// `tags`.
    Tag(TagEnvelope),
}

/// `{"user": {...}}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = AdminUserChange)]
pub struct UserEnvelope {
    user: UserChanges,
}

/// Changes to a user.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = AdminUserChanges)]
pub struct UserChanges {
    username: Option<String>,
    email: Option<String>,
    bio: Option<String>,
    image: Option<String>,
    role: Option<String>,
    disabled: Option<bool>,
}

impl JsonChanges for Users {
    type Changes = UserEnvelope;

    async fn apply(
        db: &DbPool,
        actor: &Actor,
        fresh: Fresh,
        id: UserId,
        body: UserEnvelope,
    ) -> Result<Value, AppError> {
        let changes = body.user;
        let current = ops::load_user(db, id).await?;
        let role = changes.role.as_deref().map(ops::parse_role).transpose()?;
        let role_change = role.is_some_and(|r| r != current.role);
        let disabling = changes.disabled == Some(true) && !current.disabled;
        // An address change hands the account's recovery (password reset) to whoever holds
        // the new address: like a role change, only after a fresh login, which a personal
        // access token never is.
        let email_change = changes
            .email
            .as_deref()
            .is_some_and(|e| !e.trim().eq_ignore_ascii_case(&current.email));
        if email_change {
            fresh.require()?;
        }
        if role_change || disabling {
            fresh.require()?;
            // Refuse up front what the last-admin rule would refuse later, so a request is not
            // half applied (profile saved, role refused). The write re-checks inside its
            // transaction.
            let demoting = role.is_some_and(|r| r != Role::Admin);
            if current.is_admin()
                && !current.disabled
                && (demoting || disabling)
                && db::users::count_active_admins(db).await? <= 1
            {
                return Err(AppError::Forbidden(ops::LAST_ADMIN));
            }
        }
        if changes.username.is_some()
            || changes.email.is_some()
            || changes.bio.is_some()
            || changes.image.is_some()
        {
            let edit = ops::UserEdit {
                username: changes.username,
                email: changes.email,
                bio: changes.bio,
                image: changes.image,
            };
            ops::edit_user(db, actor, id, edit).await?;
        }
        if let Some(role) = role {
            ops::set_role(db, actor, id, role).await?;
        }
        if let Some(disabled) = changes.disabled {
            ops::set_disabled(db, actor, id, disabled).await?;
        }
        Ok(user_body(&ops::load_user(db, id).await?).0)
    }
}

/// `{"article": {...}}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = AdminArticleChange)]
pub struct ArticleEnvelope {
    article: ArticleChanges,
}

/// Changes to an article.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = AdminArticleChanges)]
pub struct ArticleChanges {
    title: Option<String>,
    description: Option<String>,
    body: Option<String>,
}

impl JsonChanges for Articles {
    type Changes = ArticleEnvelope;

    async fn apply(
        db: &DbPool,
        actor: &Actor,
        _fresh: Fresh,
        id: ArticleId,
        body: ArticleEnvelope,
    ) -> Result<Value, AppError> {
        let changes = body.article;
        let current = ops::load_article(db, id).await?;
        let article = ops::edit_article(
            db,
            actor,
            id,
            changes.title.as_deref().unwrap_or(&current.title),
            changes
                .description
                .as_deref()
                .unwrap_or(&current.description),
            changes.body.as_deref().unwrap_or(&current.body),
        )
        .await?;
        Ok(json!({ "article": article }))
    }
}

/// `{"comment": {"body": ...}}`
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = AdminCommentChange)]
pub struct CommentEnvelope {
    comment: CommentChanges,
}

/// Changes to a comment.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = AdminCommentChanges)]
pub struct CommentChanges {
    body: String,
}

impl JsonChanges for Comments {
    type Changes = CommentEnvelope;

    async fn apply(
        db: &DbPool,
        actor: &Actor,
        _fresh: Fresh,
        id: CommentId,
        body: CommentEnvelope,
    ) -> Result<Value, AppError> {
        let comment = ops::edit_comment(db, actor, id, &body.comment.body).await?;
        Ok(json!({ "comment": comment }))
    }
}

/// `{"tag": {"name": ...}}`
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = AdminTagChange)]
pub struct TagEnvelope {
    tag: TagChanges,
}

/// A tag's new name.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = AdminTagChanges)]
pub struct TagChanges {
    name: String,
}

impl JsonChanges for Tags {
    type Changes = TagEnvelope;

    async fn apply(
        db: &DbPool,
        actor: &Actor,
        _fresh: Fresh,
        id: TagId,
        body: TagEnvelope,
    ) -> Result<Value, AppError> {
        let tag = ops::rename_tag(db, actor, id, &body.tag.name).await?;
        Ok(json!({ "tag": tag }))
    }
}
