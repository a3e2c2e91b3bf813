//! The console's operations as JSON under `/api/admin`, for scripts: an admin's token in
//! `Authorization: Token <jwt>` (or the browser session plus `X-CSRF-Token`). Deletions, role
//! changes, disabling, destructive bulk actions, making and downloading backups need a fresh
//! token (from a login within `fresh_minutes`), else 401 with a message saying so. A backup
//! asked for while another runs is a 409.
//!
//! Lists take `?q=&sort=&dir=asc|desc&page=&per_page=` and answer
//! `{"<entities>": [...], "total": n, "page": p, "per_page": k}`. Lists, changes
//! (`PUT /<resource>/<id>`), deletes and bulk actions are one route each over the declared
//! tables (`admin::resource`); what a change request holds and does is each table's
//! `JsonChanges` (`admin::changes`).

use rocket::fs::NamedFile;
use rocket::http::{ContentType, Header};
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route, State};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::admin::backup::{BackupError, Backups};
use crate::admin::changes::{apply, require_fresh, user_body, Fresh};
pub use crate::admin::changes::{AdminChanges, NOT_FRESH, TOKEN_NOT_FRESH};
use crate::admin::ops::{self, Actor, Entity};
use crate::admin::resource::{with_resource, Resource};
use crate::admin::{AuditParams, ListParams, Listing};
use crate::api_doc::ErrorBody;
use crate::auth::AdminUser;
use crate::config::AppConfig;
use crate::db::ids::Id;
use crate::db::{self, ArticleId, Conn, DbPool, UserId};
use crate::error::{ApiResult, AppError};
use crate::json_body::ApiJson;

fn page_body(key: &str, rows: Value, total: i64, listing: &Listing) -> Json<Value> {
    Json(json!({ key: rows, "total": total, "page": listing.page, "per_page": listing.per_page }))
}

/// The dashboard's numbers (`crate::admin::stats::Stats`): `counts`, `lastSevenDays`, and for
/// `?days=` 7, 30 (the default) or 90 (anything else is a 422) `daily` (exactly `days` UTC
/// days, oldest first, ending today) and `topTags`.
#[utoipa::path(get, path = "/stats", tag = "admin", operation_id = "adminStats",
    params(("days" = Option<i64>, Query, description = "7, 30 (the default) or 90.")),
    security(("token" = [])),
    responses(
        (status = 200, description = "The dashboard's numbers.", body = crate::admin::stats::Stats),
        (status = 422, description = "`days` is not 7, 30 or 90.", body = ErrorBody),
    ))]
#[get("/stats?<days>")]
async fn stats(
    db: Conn,
    _admin: AdminUser,
    days: Option<&str>,
) -> ApiResult<Json<crate::admin::stats::Stats>> {
    let days = crate::admin::stats::parse_days(days)?;
    let stats = crate::admin::stats::load(&db, days, chrono::Utc::now().date_naive()).await?;
    Ok(Json(stats))
}

async fn list_rows<R: Resource>(db: &DbPool, params: &ListParams) -> ApiResult<Json<Value>> {
    let listing = Listing::new(params, R::SPEC.sorts, R::DEFAULT_SORT)?
        .with_per_page(params.per_page.as_deref());
    let total = db::admin::count(db, R::SPEC, &listing.q).await?;
    let rows: Vec<R::Row> = db::admin::list(db, R::SPEC, &listing.query()).await?;
    Ok(page_body(R::ENTITY.plural(), json!(rows), total, &listing))
}

/// One page of a table: `{"<resource>": [...], "total", "page", "per_page"}`.
#[utoipa::path(get, path = "/{resource}", tag = "admin", operation_id = "adminList",
    params(
        ("resource" = String, Path, description = "The table: `users`, `articles`, `comments` or `tags` (anything else: 404)."),
        ("q" = Option<String>, Query, description = "Search text (up to 255 characters).", max_length = 255),
        ("sort" = Option<String>, Query, description = "A sort key of the table (an unknown one: the default order)."),
        ("dir" = Option<String>, Query, description = "`asc` or `desc` (anything else: ascending)."),
        ("page" = Option<String>, Query, description = "Page number from 1 (anything else: page 1)."),
        ("per_page" = Option<String>, Query, description = "Rows per page, clamped to 1..=100 (default 25)."),
        ("after" = Option<String>, Query, description = "The page after this cursor (from a previous page); not a cursor: 400."),
        ("before" = Option<String>, Query, description = "The page before this cursor; not a cursor, or both `after` and `before`: 400."),
    ),
    security(("token" = [])),
    responses(
        (status = 200, description = "`{\"<resource>\": [...], \"total\": n, \"page\": p, \"per_page\": k}`.", body = Object),
        (status = 400, description = "A damaged `after` or `before` cursor.", body = ErrorBody),
        (status = 404, description = "No such table.", body = ErrorBody),
        (status = 422, description = "A search text too long or holding control characters.", body = ErrorBody),
    ))]
#[get("/<resource>?<params..>")]
async fn list(
    db: Conn,
    _admin: AdminUser,
    resource: Result<Entity, &str>,
    params: ListParams,
) -> ApiResult<Json<Value>> {
    let resource = resource.map_err(|_| AppError::NotFound("records"))?;
    with_resource!(resource, R => list_rows::<R>(&db, &params).await, else Err(AppError::NotFound("records").into()))
}

/// Delete a record: `{"deleted": {"<entity>": id}}`.
#[utoipa::path(delete, path = "/{resource}/{id}", tag = "admin", operation_id = "adminDelete",
    params(("resource" = String, Path, description = "The table: `users`, `articles`, `comments` or `tags` (anything else: 404)."), ("id" = i64, Path, description = "The record's id.")),
    security(("token" = [])),
    responses(
        (status = 200, description = "`{\"deleted\": {\"<entity>\": id}}`.", body = Object),
        (status = 401, description = "No valid credential, or a login too old for this (sign in again).", body = ErrorBody),
        (status = 403, description = "Not an admin, a personal access token (never a fresh login), or the last admin.", body = ErrorBody),
        (status = 404, description = "No such table or record.", body = ErrorBody),
    ))]
#[delete("/<resource>/<id>")]
async fn delete(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    resource: Result<Entity, &str>,
    id: i64,
) -> ApiResult<Json<Value>> {
    let resource = resource.map_err(|_| AppError::NotFound("records"))?;
    require_fresh(&admin.0, config)?;
    ops::delete(&db, &actor, resource, id).await?;
    Ok(Json(json!({ "deleted": { resource.singular(): id } })))
}

#[utoipa::path(get, path = "/users/{id}", tag = "admin", operation_id = "adminGetUser",
    params(("id" = i64, Path, description = "The user's id.")),
    security(("token" = [])),
    responses(
        (status = 200, description = "`{\"user\": {...}}`.", body = Object),
        (status = 404, description = "No such user.", body = ErrorBody),
    ))]
#[get("/users/<id>")]
async fn get_user(db: Conn, _admin: AdminUser, id: UserId) -> ApiResult<Json<Value>> {
    Ok(user_body(&ops::load_user(&db, id).await?))
}

/// A token as the admin API lists it: the owner's view (`/api/user/tokens`), never a secret.
fn token_body(t: &db::access_tokens::TokenRow) -> Value {
    let iso = |at: &chrono::DateTime<chrono::Utc>| {
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    json!({
        "id": t.id, "name": t.name,
        "scopes": crate::auth::access_token::Scopes::from_stored(&t.scopes).list(),
        "createdAt": iso(&t.created_at), "expiresAt": t.expires_at.as_ref().map(iso),
        "lastUsedAt": t.last_used_at.as_ref().map(iso), "lastUsedIp": t.last_used_ip,
    })
}

/// `GET /api/admin/users/<id>/tokens`: a user's personal access tokens, newest first.
#[utoipa::path(get, path = "/users/{id}/tokens", tag = "admin", operation_id = "adminListUserTokens",
    params(("id" = i64, Path, description = "The user's id.")),
    security(("token" = [])),
    responses(
        (status = 200, description = "`{\"tokens\": [...]}` as the owner lists them, never a secret.", body = Object),
        (status = 404, description = "No such user.", body = ErrorBody),
    ))]
#[get("/users/<id>/tokens")]
async fn user_tokens(db: Conn, _admin: AdminUser, id: UserId) -> ApiResult<Json<Value>> {
    ops::load_user(&db, id).await?;
    let tokens = db::access_tokens::list_for_user(&db, id).await?;
    Ok(Json(
        json!({ "tokens": tokens.iter().map(token_body).collect::<Vec<_>>() }),
    ))
}

/// `DELETE /api/admin/users/<id>/tokens/<token>`: revoke one (204; audited; no fresh login
/// needed, it only takes access away).
#[utoipa::path(delete, path = "/users/{id}/tokens/{token}", tag = "admin", operation_id = "adminRevokeUserToken",
    params(("id" = i64, Path, description = "The user's id."), ("token" = i64, Path, description = "The token's id.")),
    security(("token" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "No such token of that user's.", body = ErrorBody),
    ))]
#[delete("/users/<id>/tokens/<token>")]
async fn revoke_user_token(
    db: Conn,
    actor: Actor,
    id: UserId,
    token: db::AccessTokenId,
) -> ApiResult<rocket::http::Status> {
    crate::auth::access_token::revoke(&db, id, token, &(&actor).into()).await?;
    Ok(rocket::http::Status::NoContent)
}

#[utoipa::path(get, path = "/articles/{id}", tag = "admin", operation_id = "adminGetArticle",
    params(("id" = i64, Path, description = "The article's id.")),
    security(("token" = [])),
    responses(
        (status = 200, description = "`{\"article\": {...}}`.", body = Object),
        (status = 404, description = "No such article.", body = ErrorBody),
    ))]
#[get("/articles/<id>")]
async fn get_article(db: Conn, _admin: AdminUser, id: ArticleId) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "article": ops::load_article(&db, id).await? }),
    ))
}

/// Change a record: `PUT /<resource>/<id>` with `{"<entity>": {...}}` (absent fields are left
/// alone), answered with the record after the change.
#[utoipa::path(put, path = "/{resource}/{id}", tag = "admin", operation_id = "adminUpdate",
    params(("resource" = String, Path, description = "The table: `users`, `articles`, `comments` or `tags` (anything else: 404)."), ("id" = i64, Path, description = "The record's id.")),
    security(("token" = [])),
    request_body(content = AdminChanges, description = "`{\"<entity>\": {...}}` for the table's entity; absent fields stay as they are."),
    responses(
        (status = 200, description = "`{\"<entity>\": {...}}` after the change.", body = Object),
        (status = 401, description = "No valid credential, or a login too old for a role, email or disabled change.", body = ErrorBody),
        (status = 403, description = "Not an admin, a personal access token asking for a change that needs a fresh login, or the last admin.", body = ErrorBody),
        (status = 404, description = "No such table or record.", body = ErrorBody),
        (status = 422, description = "A field breaks a rule or is taken, or the body is not the table's shape.", body = ErrorBody),
    ))]
#[put("/<resource>/<id>", data = "<body>")]
async fn update(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    resource: Result<Entity, &str>,
    id: i64,
    body: ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let resource = resource.map_err(|_| AppError::NotFound("records"))?;
    let fresh = Fresh::of(&admin.0, config);
    let changed = with_resource!(resource, R => apply::<R>(&db, &actor, fresh, Id::new(id), body.0).await?, else return Err(AppError::NotFound("records").into()));
    Ok(Json(changed))
}

/// `{"action": "disable", "ids": [1, 2]}`
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = AdminBulkRequest)]
pub struct BulkRequest {
    action: String,
    ids: Vec<i64>,
}

#[utoipa::path(post, path = "/{entity}/bulk", tag = "admin", operation_id = "adminBulk",
    params(("entity" = String, Path, description = "The table: `users`, `articles`, `comments` or `tags` (anything else: 404).")),
    security(("token" = [])),
    request_body = BulkRequest,
    responses(
        (status = 200, description = "`{\"bulk\": {...}}`: what was done to which ids.", body = Object),
        (status = 401, description = "No valid credential, or a login too old for a destructive action.", body = ErrorBody),
        (status = 404, description = "No such table.", body = ErrorBody),
        (status = 422, description = "An action the table does not have, or no ids.", body = ErrorBody),
    ))]
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
    let outcome = ops::bulk(
        &db,
        &actor,
        entity,
        crate::admin::resource::bulk_actions(entity),
        &request.action,
        &request.ids,
    )
    .await?;
    Ok(Json(json!({ "bulk": outcome })))
}

#[utoipa::path(get, path = "/audit", tag = "admin", operation_id = "adminAudit",
    params(
        ("actor" = Option<String>, Query, description = "The admin's username.", max_length = 32),
        ("action" = Option<String>, Query, description = "An action (`user.delete`) or a prefix ending in `.`.", max_length = 64),
        ("entity" = Option<String>, Query, description = "The kind of record.", max_length = 32),
        ("entity_id" = Option<String>, Query, description = "The record's id.", max_length = 255),
        ("page" = Option<String>, Query, description = "Page number from 1 (anything else: page 1)."),
        ("per_page" = Option<String>, Query, description = "Rows per page, clamped to 1..=100 (default 25)."),
        ("after" = Option<String>, Query, description = "The entries after this cursor; not a cursor: 400."),
        ("before" = Option<String>, Query, description = "The entries before this cursor; not a cursor: 400."),
    ),
    security(("token" = [])),
    responses(
        (status = 200, description = "`{\"entries\": [...], \"total\", \"page\", \"per_page\"}`, newest first.", body = Object),
        (status = 400, description = "A damaged cursor.", body = ErrorBody),
        (status = 422, description = "A filter too long or holding control characters.", body = ErrorBody),
    ))]
#[get("/audit?<params..>")]
async fn audit(db: Conn, _admin: AdminUser, params: AuditParams) -> ApiResult<Json<Value>> {
    let filter = params.filter()?;
    let listing = params.listing()?.with_per_page(params.per_page.as_deref());
    let total = db::audit::count(&db, &filter).await?;
    let rows = db::audit::list(
        &db,
        &filter,
        listing.per_page,
        (listing.page - 1) * listing.per_page,
    )
    .await?;
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

#[utoipa::path(get, path = "/backups", tag = "admin", operation_id = "adminListBackups",
    security(("token" = [])),
    responses((status = 200, description = "`{\"backups\": [...], \"keep\": n}`.", body = Object)))]
#[get("/backups")]
fn list_backups(_admin: AdminUser, backups: &State<Backups>) -> ApiResult<Json<Value>> {
    let files = backups.list().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Json(json!({ "backups": files, "keep": backups.keep() })))
}

#[utoipa::path(post, path = "/backups", tag = "admin", operation_id = "adminCreateBackup",
    security(("token" = [])),
    responses(
        (status = 201, description = "`{\"backup\": {\"name\", \"size\", ...}}`.", body = Object),
        (status = 401, description = "No valid credential, or a login too old (a backup holds every account's data).", body = ErrorBody),
        (status = 409, description = "Another backup is running.", body = ErrorBody),
        (status = 500, description = "The backup tool failed: its exit code and reason.", body = ErrorBody),
    ))]
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
            Ok((
                rocket::http::Status::Created,
                Json(json!({ "backup": file })),
            ))
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

#[utoipa::path(get, path = "/backups/{name}", tag = "admin", operation_id = "adminDownloadBackup",
    params(("name" = String, Path, description = "The backup file's name.")),
    security(("token" = [])),
    responses(
        (status = 200, description = "The file, as an attachment.", content_type = "application/octet-stream", body = [u8]),
        (status = 401, description = "No valid credential, or a login too old.", body = ErrorBody),
        (status = 404, description = "No such backup.", body = ErrorBody),
    ))]
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
    let file = NamedFile::open(&path)
        .await
        .map_err(|_| AppError::NotFound("backup"))?;
    db::audit::record(
        &db,
        &actor.entry("download", Entity::Backup, name, None, None),
    )
    .await?;
    Ok(BackupFile {
        file: (ContentType::Binary, file),
        disposition: Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ),
    })
}

/// The documentation of these routes (`crate::api_doc`): list each route here too.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    stats,
    list,
    delete,
    update,
    get_user,
    user_tokens,
    revoke_user_token,
    get_article,
    bulk,
    audit,
    list_backups,
    create_backup,
    download_backup,
))]
pub struct Doc;

/// The console's part of the OpenAPI document, for the API's (paths relative to `/api/admin`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// The routes, mounted at `/api/admin`.
pub fn routes() -> Vec<Route> {
    routes![
        stats,
        list,
        delete,
        update,
        get_user,
        user_tokens,
        revoke_user_token,
        get_article,
        bulk,
        audit,
        list_backups,
        create_backup,
        download_backup,
    ]
}
