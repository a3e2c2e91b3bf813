//! The console's operations as JSON under `/api/admin`, for scripts: an admin's token in
//! `Authorization: Token <jwt>` (or the browser session plus `X-CSRF-Token`). Deletions, role
//! changes, disabling, destructive bulk actions, making and downloading backups need a fresh
//! token (from a login within `fresh_minutes`), else 401 with a message saying so. A backup
//! asked for while another runs is a 409.
//!
//! Lists take `?q=&sort=&dir=asc|desc&page=&per_page=` and answer
//! `{"<entities>": [...], "total": n, "page": p, "per_page": k}`.

use rocket::fs::NamedFile;
use rocket::http::{ContentType, Header};
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route, State};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::admin::backup::{BackupError, Backups};
use crate::admin::ops::{self, Actor, Entity};
use crate::admin::Listing;
use crate::api::ApiJson;
use crate::auth::{AdminUser, Authenticated};
use crate::config::AppConfig;
use crate::db::admin::{ARTICLE_SORTS, COMMENT_SORTS, TAG_SORTS, USER_SORTS};
use crate::db::users::Role;
use crate::db::{self, Conn};
use crate::error::{ApiResult, AppError};

/// The message of a 401 for a token that is not fresh.
pub const NOT_FRESH: &str =
    "this action needs a fresh login: sign in again (POST /api/users/login) and retry with the new token";

fn require_fresh(auth: &Authenticated, config: &AppConfig) -> Result<(), AppError> {
    if auth.claims.is_fresh(config.fresh_minutes) {
        Ok(())
    } else {
        Err(AppError::Unauthorized(NOT_FRESH.into()))
    }
}

fn page_body(key: &str, rows: Value, total: i64, listing: &Listing) -> Json<Value> {
    Json(json!({ key: rows, "total": total, "page": listing.page, "per_page": listing.per_page }))
}

fn user_body(user: &db::users::User) -> Json<Value> {
    let mut snapshot = ops::user_snapshot(user);
    snapshot["created_at"] = json!(user.created_at);
    snapshot["updated_at"] = json!(user.updated_at);
    Json(json!({ "user": snapshot }))
}

#[get("/stats")]
async fn stats(db: Conn, _admin: AdminUser) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "counts": db::admin::counts(&db).await? })))
}

#[get("/users?<q>&<sort>&<dir>&<page>&<per_page>")]
async fn list_users(
    db: Conn,
    _admin: AdminUser,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<&str>,
    per_page: Option<&str>,
) -> ApiResult<Json<Value>> {
    let listing = Listing::new(q, sort, dir, page, USER_SORTS, ("created", true))?.with_per_page(per_page);
    let total = db::admin::count_users(&db, &listing.q).await?;
    let rows = db::admin::list_users(&db, &listing.query()).await?;
    Ok(page_body("users", json!(rows), total, &listing))
}

#[get("/users/<id>")]
async fn get_user(db: Conn, _admin: AdminUser, id: i64) -> ApiResult<Json<Value>> {
    Ok(user_body(&ops::load_user(&db, id).await?))
}

/// `{"user": {...}}`: absent fields are left alone.
#[derive(Deserialize)]
pub struct UserEnvelope {
    user: UserChanges,
}

/// Changes to a user.
#[derive(Deserialize, Default)]
pub struct UserChanges {
    username: Option<String>,
    email: Option<String>,
    bio: Option<String>,
    image: Option<String>,
    role: Option<String>,
    disabled: Option<bool>,
}

#[put("/users/<id>", data = "<body>")]
async fn update_user(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    id: i64,
    body: ApiJson<UserEnvelope>,
) -> ApiResult<Json<Value>> {
    let changes = body.0.user;
    let current = ops::load_user(&db, id).await?;
    let role = changes.role.as_deref().map(ops::parse_role).transpose()?;
    let role_change = role.is_some_and(|r| r != current.role);
    let disabling = changes.disabled == Some(true) && !current.disabled;
    if role_change || disabling {
        require_fresh(&admin.0, config)?;
        // Refuse up front what the last-admin rule would refuse later, so a request is not
        // half applied (profile saved, role refused). The write re-checks inside its transaction.
        let demoting = role.is_some_and(|r| r != Role::Admin);
        if current.is_admin()
            && !current.disabled
            && (demoting || disabling)
            && db::users::count_active_admins(&db).await? <= 1
        {
            return Err(AppError::Forbidden(ops::LAST_ADMIN).into());
        }
    }
    if changes.username.is_some() || changes.email.is_some() || changes.bio.is_some() || changes.image.is_some() {
        let edit = ops::UserEdit {
            username: changes.username,
            email: changes.email,
            bio: changes.bio,
            image: changes.image,
        };
        ops::edit_user(&db, &actor, id, edit).await?;
    }
    if let Some(role) = role {
        ops::set_role(&db, &actor, id, role).await?;
    }
    if let Some(disabled) = changes.disabled {
        ops::set_disabled(&db, &actor, id, disabled).await?;
    }
    Ok(user_body(&ops::load_user(&db, id).await?))
}

#[delete("/users/<id>")]
async fn delete_user(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    id: i64,
) -> ApiResult<Json<Value>> {
    require_fresh(&admin.0, config)?;
    ops::delete_user(&db, &actor, id).await?;
    Ok(Json(json!({ "deleted": { "user": id } })))
}

#[get("/articles?<q>&<sort>&<dir>&<page>&<per_page>")]
async fn list_articles(
    db: Conn,
    _admin: AdminUser,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<&str>,
    per_page: Option<&str>,
) -> ApiResult<Json<Value>> {
    let listing = Listing::new(q, sort, dir, page, ARTICLE_SORTS, ("created", true))?.with_per_page(per_page);
    let total = db::admin::count_articles(&db, &listing.q).await?;
    let rows = db::admin::list_articles(&db, &listing.query()).await?;
    Ok(page_body("articles", json!(rows), total, &listing))
}

#[get("/articles/<id>")]
async fn get_article(db: Conn, _admin: AdminUser, id: i64) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "article": ops::load_article(&db, id).await? })))
}

/// `{"article": {...}}`: absent fields are left alone.
#[derive(Deserialize)]
pub struct ArticleEnvelope {
    article: ArticleChanges,
}

/// Changes to an article.
#[derive(Deserialize)]
pub struct ArticleChanges {
    title: Option<String>,
    description: Option<String>,
    body: Option<String>,
}

#[put("/articles/<id>", data = "<body>")]
async fn update_article(
    db: Conn,
    _admin: AdminUser,
    actor: Actor,
    id: i64,
    body: ApiJson<ArticleEnvelope>,
) -> ApiResult<Json<Value>> {
    let changes = body.0.article;
    let current = ops::load_article(&db, id).await?;
    let article = ops::edit_article(
        &db,
        &actor,
        id,
        changes.title.as_deref().unwrap_or(&current.title),
        changes.description.as_deref().unwrap_or(&current.description),
        changes.body.as_deref().unwrap_or(&current.body),
    )
    .await?;
    Ok(Json(json!({ "article": article })))
}

#[delete("/articles/<id>")]
async fn delete_article(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    id: i64,
) -> ApiResult<Json<Value>> {
    require_fresh(&admin.0, config)?;
    ops::delete_article(&db, &actor, id).await?;
    Ok(Json(json!({ "deleted": { "article": id } })))
}

#[get("/comments?<q>&<sort>&<dir>&<page>&<per_page>")]
async fn list_comments(
    db: Conn,
    _admin: AdminUser,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<&str>,
    per_page: Option<&str>,
) -> ApiResult<Json<Value>> {
    let listing = Listing::new(q, sort, dir, page, COMMENT_SORTS, ("created", true))?.with_per_page(per_page);
    let total = db::admin::count_comments(&db, &listing.q).await?;
    let rows = db::admin::list_comments(&db, &listing.query()).await?;
    Ok(page_body("comments", json!(rows), total, &listing))
}

/// `{"comment": {"body": ...}}`
#[derive(Deserialize)]
pub struct CommentEnvelope {
    comment: CommentChanges,
}

/// Changes to a comment.
#[derive(Deserialize)]
pub struct CommentChanges {
    body: String,
}

#[put("/comments/<id>", data = "<body>")]
async fn update_comment(
    db: Conn,
    _admin: AdminUser,
    actor: Actor,
    id: i64,
    body: ApiJson<CommentEnvelope>,
) -> ApiResult<Json<Value>> {
    let comment = ops::edit_comment(&db, &actor, id, &body.0.comment.body).await?;
    Ok(Json(json!({ "comment": comment })))
}

#[delete("/comments/<id>")]
async fn delete_comment(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    id: i64,
) -> ApiResult<Json<Value>> {
    require_fresh(&admin.0, config)?;
    ops::delete_comment(&db, &actor, id).await?;
    Ok(Json(json!({ "deleted": { "comment": id } })))
}

#[get("/tags?<q>&<sort>&<dir>&<page>&<per_page>")]
async fn list_tags(
    db: Conn,
    _admin: AdminUser,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<&str>,
    per_page: Option<&str>,
) -> ApiResult<Json<Value>> {
    let listing = Listing::new(q, sort, dir, page, TAG_SORTS, ("name", false))?.with_per_page(per_page);
    let total = db::admin::count_tags(&db, &listing.q).await?;
    let rows = db::admin::list_tags(&db, &listing.query()).await?;
    Ok(page_body("tags", json!(rows), total, &listing))
}

/// `{"tag": {"name": ...}}`
#[derive(Deserialize)]
pub struct TagEnvelope {
    tag: TagChanges,
}

/// A tag's new name.
#[derive(Deserialize)]
pub struct TagChanges {
    name: String,
}

#[put("/tags/<id>", data = "<body>")]
async fn update_tag(
    db: Conn,
    _admin: AdminUser,
    actor: Actor,
    id: i64,
    body: ApiJson<TagEnvelope>,
) -> ApiResult<Json<Value>> {
    let tag = ops::rename_tag(&db, &actor, id, &body.0.tag.name).await?;
    Ok(Json(json!({ "tag": tag })))
}

#[delete("/tags/<id>")]
async fn delete_tag(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    id: i64,
) -> ApiResult<Json<Value>> {
    require_fresh(&admin.0, config)?;
    ops::delete_tag(&db, &actor, id).await?;
    Ok(Json(json!({ "deleted": { "tag": id } })))
}

/// `{"action": "disable", "ids": [1, 2]}`
#[derive(Deserialize)]
pub struct BulkRequest {
    action: String,
    ids: Vec<i64>,
}

#[post("/<entity>/bulk", data = "<body>")]
async fn bulk(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    entity: Result<Entity, &str>,
    body: ApiJson<BulkRequest>,
) -> ApiResult<Json<Value>> {
    let entity = entity.map_err(|_| AppError::NotFound("records"))?;
    let request = body.0;
    if ops::is_destructive(&request.action) {
        require_fresh(&admin.0, config)?;
    }
    let outcome = ops::bulk(&db, &actor, entity, &request.action, &request.ids).await?;
    Ok(Json(json!({ "bulk": outcome })))
}

#[allow(clippy::too_many_arguments)] // a Rocket handler: one argument per query value
#[get("/audit?<actor>&<action>&<entity>&<entity_id>&<page>&<per_page>")]
async fn audit(
    db: Conn,
    _admin: AdminUser,
    actor: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    entity_id: Option<String>,
    page: Option<&str>,
    per_page: Option<&str>,
) -> ApiResult<Json<Value>> {
    let filter = crate::admin::audit_filter(actor, action, entity, entity_id)?;
    let listing = Listing::new(None, None, None, page, &[], ("id", true))?.with_per_page(per_page);
    let total = db::audit::count(&db, &filter).await?;
    let rows = db::audit::list(&db, &filter, listing.per_page, (listing.page - 1) * listing.per_page).await?;
    let entries: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str::<Value>(&s).ok());
            json!({
                "id": r.id, "actor_id": r.actor_id, "actor": r.actor_name, "action": r.action, "entity": r.entity,
                "entity_id": r.entity_id, "before": parse(r.before_json), "after": parse(r.after_json),
                "ip": r.ip, "request_id": r.request_id, "created_at": r.created_at,
            })
        })
        .collect();
    Ok(page_body("entries", json!(entries), total, &listing))
}

#[get("/backups")]
fn list_backups(_admin: AdminUser, backups: &State<Backups>) -> ApiResult<Json<Value>> {
    let files = backups.list().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Json(json!({ "backups": files, "keep": backups.keep() })))
}

#[post("/backups")]
async fn create_backup(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    backups: &State<Backups>,
) -> ApiResult<(rocket::http::Status, Json<Value>)> {
    // A backup holds every account's data: making one needs the same fresh login as
    // downloading it.
    require_fresh(&admin.0, config)?;
    match backups.create().await {
        Ok(file) => {
            let after = json!({ "name": file.name, "size": file.size });
            let entry = actor.entry("create", Entity::Backup, &file.name, None, Some(after));
            db::audit::record(&db, &entry).await?;
            Ok((rocket::http::Status::Created, Json(json!({ "backup": file }))))
        }
        Err(e @ BackupError::Busy) => Ok((
            rocket::http::Status::Conflict,
            Json(json!({ "errors": { "body": [e.to_string()] } })),
        )),
        Err(e) => {
            log::error!("backup failed: {e}");
            // The admin asked for this run: they get the tool's exit code and reason.
            Ok((
                rocket::http::Status::InternalServerError,
                Json(json!({ "errors": { "body": [format!("backup failed: {e}")] } })),
            ))
        }
    }
}

/// A backup file download.
#[derive(rocket::Responder)]
pub struct BackupFile {
    file: (ContentType, NamedFile),
    disposition: Header<'static>,
}

#[get("/backups/<name>")]
async fn download_backup(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    backups: &State<Backups>,
    name: &str,
) -> ApiResult<BackupFile> {
    require_fresh(&admin.0, config)?;
    let path = backups.find(name).ok_or(AppError::NotFound("backup"))?;
    let file = NamedFile::open(&path).await.map_err(|_| AppError::NotFound("backup"))?;
    db::audit::record(&db, &actor.entry("download", Entity::Backup, name, None, None)).await?;
    Ok(BackupFile {
        file: (ContentType::Binary, file),
        disposition: Header::new("Content-Disposition", format!("attachment; filename=\"{name}\"")),
    })
}

/// The routes, mounted at `/api/admin`.
pub fn routes() -> Vec<Route> {
    routes![
        stats,
        list_users,
        get_user,
        update_user,
        delete_user,
        list_articles,
        get_article,
        update_article,
        delete_article,
        list_comments,
        update_comment,
        delete_comment,
        list_tags,
        update_tag,
        delete_tag,
        bulk,
        audit,
        list_backups,
        create_backup,
        download_backup,
    ]
}
