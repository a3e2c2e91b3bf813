//! The admin operations both faces (console pages and `/api/admin`) perform: load, validate,
//! change, and record every write in the audit log. The rules live here once: the last
//! enabled admin cannot be disabled, demoted or deleted (an admin may step down while another
//! one remains).

use rocket::outcome::{try_outcome, Outcome};
use rocket::request::{self, FromRequest, Request};
use serde::Serialize;
use serde_json::json;

use crate::auth::{account, AdminUser, Authenticated};
use crate::content;
use crate::db::audit::AuditEntry;
use crate::db::users::{Role, User};
use crate::db::{self, ArticleId, CommentId, DbPool, TagId, UserId};
use crate::error::{is_unique_violation, AppError, FieldErrors};

/// Why a change to an admin was refused.
pub const LAST_ADMIN: &str = "the last enabled admin cannot be disabled, demoted or deleted";
/// Most rows one bulk action may touch.
pub const BULK_MAX: usize = 100;

/// The admin making a change, as the audit log names them, and where the request came from.
///
/// A request guard: it succeeds only for a signed-in admin (it forwards [`AdminUser`]'s
/// refusal), and records the client address as Rocket sees it (the socket's peer, or the
/// `ip_header` of a trusted proxy: the same address as [`ClientAddr`](crate::auth::credentials::ClientAddr))
/// and the request id the telemetry fairing gave the request.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Their user id.
    pub id: UserId,
    /// Their username.
    pub name: String,
    /// The client address of the request (`None` when Rocket does not know it).
    pub ip: Option<String>,
    /// The request's id (`X-Request-Id`).
    pub request_id: Option<String>,
}

/// The longest client address or request id written to the audit log (the columns' size).
const ORIGIN_MAX: usize = 64;

impl Actor {
    /// The admin `auth`, acting from `ip` in request `request_id`.
    pub fn new(auth: &Authenticated, ip: Option<String>, request_id: Option<String>) -> Self {
        let cut = |s: String| s.chars().take(ORIGIN_MAX).collect::<String>();
        Self {
            id: auth.user.id,
            name: auth.user.username.clone(),
            ip: ip.map(cut),
            request_id: request_id.map(cut),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Actor {
    type Error = &'static str;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let AdminUser(auth) = try_outcome!(req.guard::<AdminUser>().await);
        let ip = req.client_ip().map(|ip| ip.to_string());
        let request_id = crate::telemetry::request_id(req);
        Outcome::Success(Self::new(&auth, ip, Some(request_id)))
    }
}

impl From<&Actor> for crate::auth::access_token::Origin {
    fn from(actor: &Actor) -> Self {
        Self {
            actor_id: actor.id,
            actor_name: actor.name.clone(),
            ip: actor.ip.clone(),
            request_id: actor.request_id.clone(),
        }
    }
}

impl Actor {
    /// An audit entry by this admin.
    pub fn entry(
        &self,
        action: &str,
        entity: Entity,
        id: impl ToString,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> AuditEntry {
        AuditEntry {
            actor_id: self.id,
            actor_name: self.name.clone(),
            action: format!("{}.{action}", entity.singular()),
            entity: entity.singular().to_owned(),
            entity_id: id.to_string(),
            before,
            after,
            ip: self.ip.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// The kinds of record the console manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    /// Accounts.
    User,
    /// Articles.
    Article,
    /// Comments.
    Comment,
    /// Tags.
    Tag,
    /// Database backups (files).
    Backup,
}

impl Entity {
    /// `user`, `article`, ...
    pub fn singular(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Article => "article",
            Self::Comment => "comment",
            Self::Tag => "tag",
            Self::Backup => "backup",
        }
    }

    /// `users`, `articles`, ...: the URL segment.
    pub fn plural(self) -> &'static str {
        match self {
            Self::User => "users",
            Self::Article => "articles",
            Self::Comment => "comments",
            Self::Tag => "tags",
            Self::Backup => "backups",
        }
    }

    /// The entity a URL segment names (records only, not backups).
    pub fn from_plural(s: &str) -> Option<Self> {
        [Self::User, Self::Article, Self::Comment, Self::Tag]
            .into_iter()
            .find(|e| e.plural() == s)
    }
}

/// Whether an action destroys or takes away something, and so needs a fresh login.
/// Everything but re-enabling an account does.
pub fn is_destructive(action: &str) -> bool {
    action != "enable"
}

/// What the audit log keeps of a user (never the password hash).
pub fn user_snapshot(user: &User) -> serde_json::Value {
    json!({
        "id": user.id, "username": user.username, "email": user.email, "bio": user.bio,
        "image": user.image, "role": user.role, "disabled": user.disabled,
    })
}

/// The user with this id, or 404.
pub async fn load_user(db: &DbPool, id: UserId) -> Result<User, AppError> {
    db::users::find_by_id(db, id)
        .await?
        .ok_or(AppError::NotFound("user"))
}

/// Profile fields an admin may change; `None` leaves one alone.
#[derive(Debug, Default, Clone)]
pub struct UserEdit {
    /// New username.
    pub username: Option<String>,
    /// New email.
    pub email: Option<String>,
    /// New bio (empty clears it).
    pub bio: Option<String>,
    /// New image URL (empty clears it).
    pub image: Option<String>,
}

/// Change a user's profile, with the same validation as their own settings page.
pub async fn edit_user(
    db: &DbPool,
    actor: &Actor,
    id: UserId,
    edit: UserEdit,
) -> Result<User, AppError> {
    let user = load_user(db, id).await?;
    let before = user_snapshot(&user);
    let changes = account::Changes {
        email: edit.email,
        username: edit.username,
        password: None,
        bio: edit.bio,
        image: edit.image,
    };
    // The settings page's rules. `fresh = true`: an admin changing an email is not the account
    // holder proving themselves. No password among the changes, so nothing is hashed.
    let (updated, _) = account::merge(db, user, changes, true).await?;
    let after = user_snapshot(&updated);
    if after != before {
        let entry = actor.entry("update", Entity::User, id, Some(before), Some(after));
        if let Err(e) = db::admin::update_user_profile(db, &updated, &entry).await {
            return Err(account::write_error(db, &updated, e).await);
        }
    }
    Ok(updated)
}

/// Apply a role and disabled flag, enforcing the admin rules. No change, no write.
async fn set_access(
    db: &DbPool,
    actor: &Actor,
    id: UserId,
    role: Role,
    disabled: bool,
    verb: &str,
) -> Result<User, AppError> {
    let user = load_user(db, id).await?;
    if user.role == role && user.disabled == disabled {
        return Ok(user);
    }
    let loses_admin = user.is_admin() && !user.disabled && (role != Role::Admin || disabled);
    let mut after = user.clone();
    after.role = role;
    after.disabled = disabled;
    // Disabling also revokes every token and session, so re-enabling later does not bring
    // old (possibly stolen) credentials back to life. So does a role change: a token or
    // session from before it carries no stale role (a demoted admin's open console, a
    // promoted user's old session); they sign in again under the new role.
    let revoke = (disabled && !user.disabled) || role != user.role;
    let entry = actor.entry(
        verb,
        Entity::User,
        id,
        Some(user_snapshot(&user)),
        Some(user_snapshot(&after)),
    );
    if !db::admin::set_user_access(db, id, role, disabled, revoke, loses_admin, &entry).await? {
        return Err(AppError::Forbidden(LAST_ADMIN));
    }
    load_user(db, id).await
}

/// A role named in a request (`user` or `admin`), or the 422 naming `role`.
pub fn parse_role(role: &str) -> Result<Role, AppError> {
    role.parse().map_err(|e: crate::db::users::UnknownRole| {
        AppError::Invalid(FieldErrors::one("role", e.to_string()))
    })
}

/// Make a user an admin or an ordinary user; a change ends their tokens and browser sessions.
pub async fn set_role(
    db: &DbPool,
    actor: &Actor,
    id: UserId,
    role: Role,
) -> Result<User, AppError> {
    let user = load_user(db, id).await?;
    let verb = if role == Role::Admin {
        "promote"
    } else {
        "demote"
    };
    set_access(db, actor, id, role, user.disabled, verb).await
}

/// Disable (tokens stop working at once) or re-enable an account.
pub async fn set_disabled(
    db: &DbPool,
    actor: &Actor,
    id: UserId,
    disabled: bool,
) -> Result<User, AppError> {
    let user = load_user(db, id).await?;
    let verb = if disabled { "disable" } else { "enable" };
    set_access(db, actor, id, user.role, disabled, verb).await
}

/// Delete an account and everything it wrote.
pub async fn delete_user(db: &DbPool, actor: &Actor, id: UserId) -> Result<(), AppError> {
    let user = load_user(db, id).await?;
    let keep_an_admin = user.is_admin() && !user.disabled;
    let entry = actor.entry("delete", Entity::User, id, Some(user_snapshot(&user)), None);
    match db::admin::delete_user(db, id, keep_an_admin, &entry).await? {
        db::admin::Deletion::Done => Ok(()),
        db::admin::Deletion::AlreadyGone => Err(AppError::NotFound("user")),
        db::admin::Deletion::LastAdmin => Err(AppError::Forbidden(LAST_ADMIN)),
    }
}

/// The article with this id, or 404.
pub async fn load_article(
    db: &DbPool,
    id: ArticleId,
) -> Result<db::admin::ArticleDetail, AppError> {
    db::admin::find_article(db, id)
        .await?
        .ok_or(AppError::NotFound("article"))
}

fn article_snapshot(a: &db::admin::ArticleDetail) -> serde_json::Value {
    json!({ "id": a.id, "slug": a.slug, "title": a.title, "description": a.description, "body": a.body })
}

/// Change an article's title, description and body (same rules as the editor).
pub async fn edit_article(
    db: &DbPool,
    actor: &Actor,
    id: ArticleId,
    title: &str,
    description: &str,
    body: &str,
) -> Result<db::admin::ArticleDetail, AppError> {
    let article = load_article(db, id).await?;
    let data = content::check_article(title, description, body, &[])?;
    let mut after = article.clone();
    after.title.clone_from(&data.title);
    after.description.clone_from(&data.description);
    after.body.clone_from(&data.body);
    let (before, after_json) = (article_snapshot(&article), article_snapshot(&after));
    if before != after_json {
        let entry = actor.entry(
            "update",
            Entity::Article,
            id,
            Some(before),
            Some(after_json),
        );
        db::admin::update_article(db, id, &data.title, &data.description, &data.body, &entry)
            .await?;
    }
    load_article(db, id).await
}

/// Delete an article with its comments and favorites.
pub async fn delete_article(db: &DbPool, actor: &Actor, id: ArticleId) -> Result<(), AppError> {
    let article = load_article(db, id).await?;
    let entry = actor.entry(
        "delete",
        Entity::Article,
        id,
        Some(article_snapshot(&article)),
        None,
    );
    if db::admin::delete_article(db, id, &entry).await? {
        Ok(())
    } else {
        // A concurrent delete won: this one deleted (and recorded) nothing.
        Err(AppError::NotFound("article"))
    }
}

/// The comment with this id, or 404.
pub async fn load_comment(db: &DbPool, id: CommentId) -> Result<db::admin::CommentRow, AppError> {
    db::admin::find_comment(db, id)
        .await?
        .ok_or(AppError::NotFound("comment"))
}

fn comment_snapshot(c: &db::admin::CommentRow) -> serde_json::Value {
    json!({ "id": c.id, "article": c.article_slug, "author": c.author_username, "body": c.body })
}

/// Change a comment's text.
pub async fn edit_comment(
    db: &DbPool,
    actor: &Actor,
    id: CommentId,
    body: &str,
) -> Result<db::admin::CommentRow, AppError> {
    let comment = load_comment(db, id).await?;
    let body = content::check_comment(body)?;
    if body != comment.body {
        let mut after = comment.clone();
        after.body.clone_from(&body);
        let entry = actor.entry(
            "update",
            Entity::Comment,
            id,
            Some(comment_snapshot(&comment)),
            Some(comment_snapshot(&after)),
        );
        db::admin::update_comment(db, id, &body, &entry).await?;
    }
    load_comment(db, id).await
}

/// Delete a comment.
pub async fn delete_comment(db: &DbPool, actor: &Actor, id: CommentId) -> Result<(), AppError> {
    let comment = load_comment(db, id).await?;
    let entry = actor.entry(
        "delete",
        Entity::Comment,
        id,
        Some(comment_snapshot(&comment)),
        None,
    );
    Ok(db::admin::delete_comment(db, id, &entry).await?)
}

/// The tag with this id, or 404.
pub async fn load_tag(db: &DbPool, id: TagId) -> Result<db::admin::TagRow, AppError> {
    db::admin::find_tag(db, id)
        .await?
        .ok_or(AppError::NotFound("tag"))
}

/// Rename a tag (every article filed under it follows).
pub async fn rename_tag(
    db: &DbPool,
    actor: &Actor,
    id: TagId,
    name: &str,
) -> Result<db::admin::TagRow, AppError> {
    let tag = load_tag(db, id).await?;
    let mut errors = FieldErrors::new();
    let name = name.trim();
    let cleaned = content::clean_tags(&mut errors, &[name.to_owned()]);
    if name.is_empty() {
        errors.add("name", "can't be blank");
    }
    if let Some(messages) = errors.0.remove("tagList") {
        for message in messages {
            errors.add(
                "name",
                message
                    .replace("has a tag longer", "is longer")
                    .replace("has a tag that ", "")
                    .replace("tags may", "may"),
            );
        }
    }
    errors.into_result()?;
    let name = cleaned.into_iter().next().unwrap_or_default();
    if name == tag.name {
        return Ok(tag);
    }
    let entry = actor.entry(
        "update",
        Entity::Tag,
        id,
        Some(json!({ "id": id, "name": tag.name })),
        Some(json!({ "id": id, "name": name })),
    );
    match db::admin::rename_tag(db, id, &name, &entry).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Invalid(FieldErrors::one(
                "name",
                "has already been taken",
            )))
        }
        other => other?,
    }
    load_tag(db, id).await
}

/// Delete a tag (its articles stay).
pub async fn delete_tag(db: &DbPool, actor: &Actor, id: TagId) -> Result<(), AppError> {
    let tag = load_tag(db, id).await?;
    let entry = actor.entry(
        "delete",
        Entity::Tag,
        id,
        Some(json!({ "id": id, "name": tag.name, "articles": tag.articles_count })),
        None,
    );
    Ok(db::admin::delete_tag(db, id, &entry).await?)
}

/// Delete one record of `entity` (`id` is the id of a record of that table).
pub async fn delete(db: &DbPool, actor: &Actor, entity: Entity, id: i64) -> Result<(), AppError> {
    match entity {
        Entity::User => delete_user(db, actor, UserId::new(id)).await,
        Entity::Article => delete_article(db, actor, ArticleId::new(id)).await,
        Entity::Comment => delete_comment(db, actor, CommentId::new(id)).await,
        Entity::Tag => delete_tag(db, actor, TagId::new(id)).await,
        Entity::Backup => Err(AppError::NotFound("record")),
    }
}

/// A short name for a record of `entity` (`id` is the id of a record of that table), for
/// confirmation pages and messages.
pub async fn label(db: &DbPool, entity: Entity, id: i64) -> Result<String, AppError> {
    Ok(match entity {
        Entity::User => {
            let u = load_user(db, UserId::new(id)).await?;
            format!("{} <{}>", u.username, u.email)
        }
        Entity::Article => load_article(db, ArticleId::new(id)).await?.title,
        Entity::Comment => {
            let c = load_comment(db, CommentId::new(id)).await?;
            let mut body: String = c.body.chars().take(60).collect();
            if body.len() < c.body.len() {
                body.push('…');
            }
            format!("#{} by {}: {body}", c.id, c.author_username)
        }
        Entity::Tag => load_tag(db, TagId::new(id)).await?.name,
        Entity::Backup => return Err(AppError::NotFound("record")),
    })
}

/// What a bulk action did.
#[derive(Debug, Default, Serialize)]
pub struct BulkOutcome {
    /// Ids changed.
    pub done: Vec<i64>,
    /// Ids refused, with the reason.
    pub failed: Vec<BulkFailure>,
}

/// One record a bulk action could not change.
#[derive(Debug, Serialize)]
pub struct BulkFailure {
    /// The record.
    pub id: i64,
    /// Why.
    pub message: String,
}

/// Check a bulk request: one of the table's `allowed` actions (its resource declares them) and
/// 1..=[`BULK_MAX`] ids (duplicates dropped).
pub fn check_bulk(allowed: &[&str], action: &str, ids: &[i64]) -> Result<Vec<i64>, AppError> {
    let mut errors = FieldErrors::new();
    if !allowed.contains(&action) {
        errors.add("action", format!("must be one of: {}", allowed.join(", ")));
    }
    let mut unique = Vec::new();
    for id in ids {
        if !unique.contains(id) {
            unique.push(*id);
        }
    }
    if unique.is_empty() {
        errors.add("ids", "select at least one row");
    } else if unique.len() > BULK_MAX {
        errors.add("ids", format!("at most {BULK_MAX} rows at a time"));
    }
    errors.into_result()?;
    Ok(unique)
}

/// Apply `action` to each of `ids`; each change is checked and audited on its own, so the last
/// admin rule still holds for a selection of every admin.
pub async fn bulk(
    db: &DbPool,
    actor: &Actor,
    entity: Entity,
    allowed: &[&str],
    action: &str,
    ids: &[i64],
) -> Result<BulkOutcome, AppError> {
    let ids = check_bulk(allowed, action, ids)?;
    let mut outcome = BulkOutcome::default();
    for id in ids {
        let user = UserId::new(id);
        let result = match (entity, action) {
            (Entity::User, "enable") => set_disabled(db, actor, user, false).await.map(drop),
            (Entity::User, "disable") => set_disabled(db, actor, user, true).await.map(drop),
            (Entity::User, "promote") => set_role(db, actor, user, Role::Admin).await.map(drop),
            (Entity::User, "demote") => set_role(db, actor, user, Role::User).await.map(drop),
            (_, "delete") => delete(db, actor, entity, id).await,
            _ => Err(AppError::NotFound("action")),
        };
        match result {
            Ok(()) => outcome.done.push(id),
            Err(e @ (AppError::Forbidden(_) | AppError::NotFound(_) | AppError::Invalid(_))) => {
                outcome.failed.push(BulkFailure {
                    id,
                    message: e.public_messages().join("; "),
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(outcome)
}
