//! The console's pages under `/admin`: dashboard, the four record tables (search, sort,
//! pagination, CSV export, bulk actions), edit forms, delete confirmations, the audit log,
//! backups, and the "confirm your password" step destructive actions need.
//!
//! Every form carries the CSRF token (`CsrfForm`); deletions, role changes, disabling, bulk
//! actions, making and downloading backups need a password entered within `fresh_minutes`.

use std::fmt::Write as _;

use crate::web::render::RenderedPage;
use rocket::form::FromForm;
use rocket::fs::NamedFile;
use rocket::http::{ContentType, CookieJar, Header, Status};
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, Route, State};
use serde_json::{json, Value};

use crate::admin::backup::{BackupError, Backups};
use crate::admin::export::{csv_file, CsvFile};
use crate::admin::ops::{self, Actor, Entity};
use crate::admin::Listing;
use crate::api::ClientAddr;
use crate::auth::csrf::CsrfForm;
use crate::auth::token::Keys;
use crate::auth::{account, session, AdminUser, Authenticated};
use crate::config::AppConfig;
use crate::db::admin::{ARTICLE_SORTS, COMMENT_SORTS, TAG_SORTS, USER_SORTS};
use crate::db::audit::AuditFilter;
use crate::db::{self, Conn};
use crate::error::{percent_encode, AppError, PageResult};
use crate::web::layout::{done, form_errors, safe_next, Layout};
use crate::web::session::{Empty, PageOr};

const DATE: &str = "%Y-%m-%d %H:%M";

fn enc(s: &str) -> String {
    percent_encode(s)
}

/// Whether the caller entered their password recently enough for a destructive action.
fn is_fresh(auth: &Authenticated, config: &AppConfig) -> bool {
    auth.claims.is_fresh(config.fresh_minutes)
}

/// To the password confirmation, coming back to `back_to` afterwards.
fn reauth_redirect(back_to: &str) -> PageOr {
    PageOr::Redirect(Flash::new(
        Redirect::to(format!("/admin/reauth?next={}", enc(back_to))),
        "info",
        "Please enter your password again: this action needs a recent sign-in.",
    ))
}

/// Back to `to` with the outcome: success, or the refusal (last admin, not found, invalid) as
/// an error flash. Other errors are real failures.
fn outcome(to: &str, result: Result<String, AppError>) -> PageResult<PageOr> {
    match result {
        Ok(message) => Ok(PageOr::Redirect(done(to, message))),
        Err(e @ (AppError::Forbidden(_) | AppError::NotFound(_) | AppError::Invalid(_))) => Ok(PageOr::Redirect(
            Flash::error(Redirect::to(to.to_owned()), e.public_messages().join("; ")),
        )),
        Err(e) => Err(e.into()),
    }
}

fn list_url(base: &str, listing: &Listing, sort: &str, desc: bool, page: i64) -> String {
    let mut url = format!("{base}?sort={sort}&dir={}", if desc { "desc" } else { "asc" });
    if !listing.q.is_empty() {
        let _ = write!(url, "&q={}", enc(&listing.q));
    }
    if page > 1 {
        let _ = write!(url, "&page={page}");
    }
    url
}

/// Column headers: sortable ones link to the table sorted by them (toggling the direction).
fn columns(base: &str, listing: &Listing, columns: &[(&str, Option<&str>)]) -> Vec<Value> {
    columns
        .iter()
        .map(|(label, key)| match key {
            Some(key) => {
                let current = listing.sort == *key;
                let desc = current && !listing.desc;
                let aria = match (current, listing.desc) {
                    (false, _) => "none",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                };
                json!({ "label": label, "key": key, "href": list_url(base, listing, key, desc, 1), "aria_sort": aria })
            }
            None => json!({ "label": label }),
        })
        .collect()
}

fn pagination(base: &str, listing: &Listing, total: i64) -> Vec<Value> {
    let pages = listing.pages(total);
    if pages <= 1 {
        return Vec::new();
    }
    let link = |label: String, page: i64, active: bool, disabled: bool| json!({ "label": label, "href": list_url(base, listing, &listing.sort, listing.desc, page), "active": active, "disabled": disabled });
    let current = listing.page.min(pages);
    let mut items = vec![link("« Previous".into(), (current - 1).max(1), false, current == 1)];
    let (from, to) = ((current - 4).max(1), (current + 4).min(pages));
    for page in from..=to {
        items.push(link(page.to_string(), page, page == current, false));
    }
    items.push(link("Next »".into(), (current + 1).min(pages), false, current == pages));
    items
}

fn cell(key: &str, text: impl ToString) -> Value {
    json!({ "key": key, "text": text.to_string() })
}

fn link(key: &str, text: impl ToString, href: String) -> Value {
    json!({ "key": key, "text": text.to_string(), "href": href })
}

fn badge(key: &str, text: &str, class: &str) -> Value {
    json!({ "key": key, "text": text, "badge": class })
}

/// Render one of the four tables.
#[allow(clippy::too_many_arguments)]
fn table(
    layout: &Layout,
    entity: Entity,
    title: &str,
    listing: &Listing,
    total: i64,
    headers: &[(&str, Option<&str>)],
    rows: Vec<Value>,
    export: bool,
) -> RenderedPage {
    let base = format!("/admin/{}", entity.plural());
    let export_href = export.then(|| {
        let mut url = format!(
            "/admin/{}.csv?sort={}&dir={}",
            entity.plural(),
            listing.sort,
            if listing.desc { "desc" } else { "asc" }
        );
        if !listing.q.is_empty() {
            let _ = write!(url, "&q={}", enc(&listing.q));
        }
        url
    });
    layout.render(
        "admin/list",
        json!({
            "title": title, "section": entity.plural(), "entity": entity.plural(), "base": base,
            "q": listing.q, "sort": listing.sort, "dir": if listing.desc { "desc" } else { "asc" },
            "total": total, "page": listing.page, "pages": listing.pages(total),
            "columns": columns(&base, listing, headers), "rows": rows,
            "pagination": pagination(&base, listing, total),
            "bulk_actions": entity.bulk_actions(), "export_href": export_href,
        }),
    )
}

#[get("/")]
async fn dashboard(db: Conn, _admin: AdminUser, layout: Layout) -> PageResult<RenderedPage> {
    let counts = db::admin::counts(&db).await?;
    let recent = db::audit::list(&db, &AuditFilter::default(), 10, 0).await?;
    let users_query = db::admin::ListQuery {
        q: String::new(),
        sort: "created".into(),
        desc: true,
        limit: 5,
        offset: 0,
    };
    let users = db::admin::list_users(&db, &users_query).await?;
    let articles = db::admin::list_articles(&db, &users_query).await?;
    let activity: Vec<Value> = recent.iter().map(audit_view).collect();
    Ok(layout.render(
        "admin/dashboard",
        json!({
            "title": "Admin", "section": "dashboard", "counts": counts, "activity": activity,
            "users": users.iter().map(|u| json!({"id": u.id, "username": u.username, "created": u.created_at.format(DATE).to_string()})).collect::<Vec<_>>(),
            "articles": articles.iter().map(|a| json!({"id": a.id, "title": a.title, "author": a.author_username, "created": a.created_at.format(DATE).to_string()})).collect::<Vec<_>>(),
        }),
    ))
}

fn user_listing(
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<&str>,
) -> Result<Listing, AppError> {
    Listing::new(q, sort, dir, page, USER_SORTS, ("created", true))
}

#[get("/users?<q>&<sort>&<dir>&<page>")]
async fn users(
    db: Conn,
    _admin: AdminUser,
    layout: Layout,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<&str>,
) -> PageResult<RenderedPage> {
    let listing = user_listing(q, sort, dir, page)?;
    let total = db::admin::count_users(&db, &listing.q).await?;
    let rows = db::admin::list_users(&db, &listing.query()).await?;
    let rows = rows
        .into_iter()
        .map(|u| {
            let role = if u.role == crate::db::users::ROLE_ADMIN { badge("role", "admin", "badge-admin") } else { cell("role", "user") };
            let status = if u.disabled { badge("status", "disabled", "badge-disabled") } else { cell("status", "active") };
            json!({ "id": u.id, "cells": [
                cell("id", u.id), link("username", &u.username, format!("/admin/users/{}", u.id)), cell("email", &u.email),
                role, status, cell("articles", u.articles_count), cell("created", u.created_at.format(DATE)),
            ]})
        })
        .collect();
    let headers = [
        ("Id", Some("id")),
        ("Username", Some("username")),
        ("Email", Some("email")),
        ("Role", Some("role")),
        ("Status", Some("disabled")),
        ("Articles", Some("articles")),
        ("Joined", Some("created")),
    ];
    Ok(table(
        &layout,
        Entity::User,
        "Users",
        &listing,
        total,
        &headers,
        rows,
        true,
    ))
}

#[get("/users.csv?<q>&<sort>&<dir>")]
async fn users_csv(
    db: Conn,
    _admin: AdminUser,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
) -> PageResult<CsvFile> {
    let listing = user_listing(q, sort, dir, None)?;
    let rows = db::admin::list_users(&db, &listing.export_query()).await?;
    Ok(csv_file(
        "users.csv",
        &["id", "username", "email", "role", "disabled", "articles", "created_at"],
        rows.into_iter().map(|u| {
            vec![
                u.id.to_string(),
                u.username,
                u.email,
                u.role,
                u.disabled.to_string(),
                u.articles_count.to_string(),
                u.created_at.to_rfc3339(),
            ]
        }),
    )?)
}

/// The user edit form.
#[derive(FromForm)]
pub struct UserForm {
    #[field(default = String::new())]
    username: String,
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    bio: String,
    #[field(default = String::new())]
    image: String,
}

fn user_page(layout: &Layout, user: &db::users::User, form: &Value, errors: Option<&AppError>) -> RenderedPage {
    let fields = json!([
        { "name": "username", "label": "Username", "kind": "text", "value": form["username"] },
        { "name": "email", "label": "Email", "kind": "email", "value": form["email"] },
        { "name": "image", "label": "Image URL", "kind": "url", "value": form["image"] },
        { "name": "bio", "label": "Bio", "kind": "textarea", "value": form["bio"] },
    ]);
    layout.render(
        "admin/edit",
        json!({
            "title": format!("User {}", user.username), "section": "users", "entity": "users",
            "heading": format!("User {}", user.username), "action": format!("/admin/users/{}", user.id),
            "fields": fields, "errors": errors.map(form_errors),
            "user": { "id": user.id, "role": user.role, "disabled": user.disabled, "is_admin": user.is_admin(),
                      "created": user.created_at.format(DATE).to_string() },
            "delete_href": format!("/admin/users/{}/delete", user.id),
            "audit_href": format!("/admin/audit?entity=user&entity_id={}", user.id),
        }),
    )
}

fn user_form(user: &db::users::User) -> Value {
    json!({ "username": user.username, "email": user.email, "bio": user.bio.clone().unwrap_or_default(), "image": user.image.clone().unwrap_or_default() })
}

#[get("/users/<id>")]
async fn user(db: Conn, _admin: AdminUser, layout: Layout, id: i64) -> PageResult<RenderedPage> {
    let user = ops::load_user(&db, id).await?;
    Ok(user_page(&layout, &user, &user_form(&user), None))
}

#[post("/users/<id>", data = "<form>")]
async fn update_user(
    db: Conn,
    _admin: AdminUser,
    actor: Actor,
    layout: Layout,
    id: i64,
    form: CsrfForm<UserForm>,
) -> PageResult<PageOr> {
    let form = form.0;
    let edit = ops::UserEdit {
        username: Some(form.username.clone()),
        email: Some(form.email.clone()),
        bio: Some(form.bio.clone()),
        image: Some(form.image.clone()),
    };
    match ops::edit_user(&db, &actor, id, edit).await {
        Ok(user) => Ok(PageOr::Redirect(done(
            format!("/admin/users/{id}"),
            format!("Saved {}.", user.username),
        ))),
        Err(e @ AppError::Invalid(_)) => {
            let user = ops::load_user(&db, id).await?;
            let kept = json!({ "username": form.username, "email": form.email, "bio": form.bio, "image": form.image });
            Ok(PageOr::Page((
                Status::UnprocessableEntity,
                user_page(&layout, &user, &kept, Some(&e)),
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// The role form.
#[derive(FromForm)]
pub struct RoleForm {
    #[field(default = String::new())]
    role: String,
}

#[post("/users/<id>/role", data = "<form>")]
async fn set_role(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    id: i64,
    form: CsrfForm<RoleForm>,
) -> PageResult<PageOr> {
    let back = format!("/admin/users/{id}");
    if !is_fresh(&admin.0, config) {
        return Ok(reauth_redirect(&back));
    }
    let result = ops::set_role(&db, &actor, id, &form.0.role).await.map(|u| {
        format!(
            "{} is now {}.",
            u.username,
            if u.is_admin() { "an admin" } else { "an ordinary user" }
        )
    });
    outcome(&back, result)
}

#[post("/users/<id>/disable", data = "<_form>")]
async fn disable_user(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    id: i64,
    _form: CsrfForm<Empty>,
) -> PageResult<PageOr> {
    let back = format!("/admin/users/{id}");
    if !is_fresh(&admin.0, config) {
        return Ok(reauth_redirect(&back));
    }
    let result = ops::set_disabled(&db, &actor, id, true)
        .await
        .map(|u| format!("{} is disabled and signed out everywhere.", u.username));
    outcome(&back, result)
}

#[post("/users/<id>/enable", data = "<_form>")]
async fn enable_user(db: Conn, _admin: AdminUser, actor: Actor, id: i64, _form: CsrfForm<Empty>) -> PageResult<PageOr> {
    let result = ops::set_disabled(&db, &actor, id, false)
        .await
        .map(|u| format!("{} is enabled.", u.username));
    outcome(&format!("/admin/users/{id}"), result)
}

fn article_listing(
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<&str>,
) -> Result<Listing, AppError> {
    Listing::new(q, sort, dir, page, ARTICLE_SORTS, ("created", true))
}

#[get("/articles?<q>&<sort>&<dir>&<page>")]
async fn articles(
    db: Conn,
    _admin: AdminUser,
    layout: Layout,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<&str>,
) -> PageResult<RenderedPage> {
    let listing = article_listing(q, sort, dir, page)?;
    let total = db::admin::count_articles(&db, &listing.q).await?;
    let rows = db::admin::list_articles(&db, &listing.query()).await?;
    let rows = rows
        .into_iter()
        .map(|a| {
            json!({ "id": a.id, "cells": [
                cell("id", a.id), link("title", &a.title, format!("/admin/articles/{}", a.id)),
                link("author", &a.author_username, format!("/admin/users/{}", a.author_id)),
                cell("comments", a.comments_count), cell("created", a.created_at.format(DATE)),
            ]})
        })
        .collect();
    let headers = [
        ("Id", Some("id")),
        ("Title", Some("title")),
        ("Author", Some("author")),
        ("Comments", Some("comments")),
        ("Created", Some("created")),
    ];
    Ok(table(
        &layout,
        Entity::Article,
        "Articles",
        &listing,
        total,
        &headers,
        rows,
        true,
    ))
}

#[get("/articles.csv?<q>&<sort>&<dir>")]
async fn articles_csv(
    db: Conn,
    _admin: AdminUser,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
) -> PageResult<CsvFile> {
    let listing = article_listing(q, sort, dir, None)?;
    let rows = db::admin::list_articles(&db, &listing.export_query()).await?;
    Ok(csv_file(
        "articles.csv",
        &[
            "id",
            "slug",
            "title",
            "description",
            "author",
            "comments",
            "created_at",
            "updated_at",
        ],
        rows.into_iter().map(|a| {
            vec![
                a.id.to_string(),
                a.slug,
                a.title,
                a.description,
                a.author_username,
                a.comments_count.to_string(),
                a.created_at.to_rfc3339(),
                a.updated_at.to_rfc3339(),
            ]
        }),
    )?)
}

/// The article edit form.
#[derive(FromForm)]
pub struct ArticleForm {
    #[field(default = String::new())]
    title: String,
    #[field(default = String::new())]
    description: String,
    #[field(default = String::new())]
    body: String,
}

fn article_page(
    layout: &Layout,
    article: &db::admin::ArticleDetail,
    form: &Value,
    errors: Option<&AppError>,
) -> RenderedPage {
    let fields = json!([
        { "name": "title", "label": "Title", "kind": "text", "value": form["title"] },
        { "name": "description", "label": "Description", "kind": "text", "value": form["description"] },
        { "name": "body", "label": "Body (markdown)", "kind": "textarea", "value": form["body"] },
    ]);
    layout.render(
        "admin/edit",
        json!({
            "title": format!("Article {}", article.id), "section": "articles", "entity": "articles",
            "heading": format!("Article “{}” by {}", article.title, article.author_username),
            "action": format!("/admin/articles/{}", article.id), "fields": fields, "errors": errors.map(form_errors),
            "view_href": format!("/article/{}", article.slug),
            "delete_href": format!("/admin/articles/{}/delete", article.id),
            "audit_href": format!("/admin/audit?entity=article&entity_id={}", article.id),
        }),
    )
}

#[get("/articles/<id>")]
async fn article(db: Conn, _admin: AdminUser, layout: Layout, id: i64) -> PageResult<RenderedPage> {
    let a = ops::load_article(&db, id).await?;
    let form = json!({ "title": a.title, "description": a.description, "body": a.body });
    Ok(article_page(&layout, &a, &form, None))
}

#[post("/articles/<id>", data = "<form>")]
async fn update_article(
    db: Conn,
    _admin: AdminUser,
    actor: Actor,
    layout: Layout,
    id: i64,
    form: CsrfForm<ArticleForm>,
) -> PageResult<PageOr> {
    let f = form.0;
    match ops::edit_article(&db, &actor, id, &f.title, &f.description, &f.body).await {
        Ok(a) => Ok(PageOr::Redirect(done(
            format!("/admin/articles/{id}"),
            format!("Saved “{}”.", a.title),
        ))),
        Err(e @ AppError::Invalid(_)) => {
            let a = ops::load_article(&db, id).await?;
            let kept = json!({ "title": f.title, "description": f.description, "body": f.body });
            Ok(PageOr::Page((
                Status::UnprocessableEntity,
                article_page(&layout, &a, &kept, Some(&e)),
            )))
        }
        Err(e) => Err(e.into()),
    }
}

#[get("/comments?<q>&<sort>&<dir>&<page>")]
async fn comments(
    db: Conn,
    _admin: AdminUser,
    layout: Layout,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<&str>,
) -> PageResult<RenderedPage> {
    let listing = Listing::new(q, sort, dir, page, COMMENT_SORTS, ("created", true))?;
    let total = db::admin::count_comments(&db, &listing.q).await?;
    let rows = db::admin::list_comments(&db, &listing.query()).await?;
    let rows = rows
        .into_iter()
        .map(|c| {
            let mut body: String = c.body.chars().take(80).collect();
            if body.len() < c.body.len() {
                body.push('…');
            }
            json!({ "id": c.id, "cells": [
                link("id", c.id, format!("/admin/comments/{}", c.id)), link("body", body, format!("/admin/comments/{}", c.id)),
                link("article", &c.article_title, format!("/admin/articles/{}", c.article_id)),
                link("author", &c.author_username, format!("/admin/users/{}", c.author_id)),
                cell("created", c.created_at.format(DATE)),
            ]})
        })
        .collect();
    let headers = [
        ("Id", Some("id")),
        ("Comment", None),
        ("Article", Some("article")),
        ("Author", Some("author")),
        ("Created", Some("created")),
    ];
    Ok(table(
        &layout,
        Entity::Comment,
        "Comments",
        &listing,
        total,
        &headers,
        rows,
        false,
    ))
}

/// The comment edit form.
#[derive(FromForm)]
pub struct CommentForm {
    #[field(default = String::new())]
    body: String,
}

fn comment_page(layout: &Layout, c: &db::admin::CommentRow, body: &str, errors: Option<&AppError>) -> RenderedPage {
    layout.render(
        "admin/edit",
        json!({
            "title": format!("Comment {}", c.id), "section": "comments", "entity": "comments",
            "heading": format!("Comment #{} by {} on “{}”", c.id, c.author_username, c.article_title),
            "action": format!("/admin/comments/{}", c.id), "errors": errors.map(form_errors),
            "fields": [{ "name": "body", "label": "Comment", "kind": "textarea", "value": body }],
            "view_href": format!("/article/{}", c.article_slug),
            "delete_href": format!("/admin/comments/{}/delete", c.id),
            "audit_href": format!("/admin/audit?entity=comment&entity_id={}", c.id),
        }),
    )
}

#[get("/comments/<id>")]
async fn comment(db: Conn, _admin: AdminUser, layout: Layout, id: i64) -> PageResult<RenderedPage> {
    let c = ops::load_comment(&db, id).await?;
    Ok(comment_page(&layout, &c, &c.body, None))
}

#[post("/comments/<id>", data = "<form>")]
async fn update_comment(
    db: Conn,
    _admin: AdminUser,
    actor: Actor,
    layout: Layout,
    id: i64,
    form: CsrfForm<CommentForm>,
) -> PageResult<PageOr> {
    let body = form.0.body;
    match ops::edit_comment(&db, &actor, id, &body).await {
        Ok(_) => Ok(PageOr::Redirect(done(
            format!("/admin/comments/{id}"),
            "Saved the comment.",
        ))),
        Err(e @ AppError::Invalid(_)) => {
            let c = ops::load_comment(&db, id).await?;
            Ok(PageOr::Page((
                Status::UnprocessableEntity,
                comment_page(&layout, &c, &body, Some(&e)),
            )))
        }
        Err(e) => Err(e.into()),
    }
}

#[get("/tags?<q>&<sort>&<dir>&<page>")]
async fn tags(
    db: Conn,
    _admin: AdminUser,
    layout: Layout,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<&str>,
) -> PageResult<RenderedPage> {
    let listing = Listing::new(q, sort, dir, page, TAG_SORTS, ("name", false))?;
    let total = db::admin::count_tags(&db, &listing.q).await?;
    let rows = db::admin::list_tags(&db, &listing.query()).await?;
    let rows = rows
        .into_iter()
        .map(|t| {
            json!({ "id": t.id, "cells": [
                cell("id", t.id), link("name", &t.name, format!("/admin/tags/{}", t.id)), cell("articles", t.articles_count),
            ]})
        })
        .collect();
    let headers = [
        ("Id", Some("id")),
        ("Name", Some("name")),
        ("Articles", Some("articles")),
    ];
    Ok(table(
        &layout,
        Entity::Tag,
        "Tags",
        &listing,
        total,
        &headers,
        rows,
        false,
    ))
}

/// The tag rename form.
#[derive(FromForm)]
pub struct TagForm {
    #[field(default = String::new())]
    name: String,
}

fn tag_page(layout: &Layout, t: &db::admin::TagRow, name: &str, errors: Option<&AppError>) -> RenderedPage {
    layout.render(
        "admin/edit",
        json!({
            "title": format!("Tag {}", t.name), "section": "tags", "entity": "tags",
            "heading": format!("Tag “{}” ({} articles)", t.name, t.articles_count),
            "action": format!("/admin/tags/{}", t.id), "errors": errors.map(form_errors),
            "fields": [{ "name": "name", "label": "Name", "kind": "text", "value": name }],
            "delete_href": format!("/admin/tags/{}/delete", t.id),
            "audit_href": format!("/admin/audit?entity=tag&entity_id={}", t.id),
        }),
    )
}

#[get("/tags/<id>")]
async fn tag(db: Conn, _admin: AdminUser, layout: Layout, id: i64) -> PageResult<RenderedPage> {
    let t = ops::load_tag(&db, id).await?;
    Ok(tag_page(&layout, &t, &t.name, None))
}

#[post("/tags/<id>", data = "<form>")]
async fn update_tag(
    db: Conn,
    _admin: AdminUser,
    actor: Actor,
    layout: Layout,
    id: i64,
    form: CsrfForm<TagForm>,
) -> PageResult<PageOr> {
    let name = form.0.name;
    match ops::rename_tag(&db, &actor, id, &name).await {
        Ok(t) => Ok(PageOr::Redirect(done(
            format!("/admin/tags/{id}"),
            format!("Renamed to “{}”.", t.name),
        ))),
        Err(e @ AppError::Invalid(_)) => {
            let t = ops::load_tag(&db, id).await?;
            Ok(PageOr::Page((
                Status::UnprocessableEntity,
                tag_page(&layout, &t, &name, Some(&e)),
            )))
        }
        Err(e) => Err(e.into()),
    }
}

fn confirm_page(
    layout: &Layout,
    entity: Entity,
    message: &str,
    items: &[String],
    action: &str,
    hidden: &[(&str, String)],
    button: &str,
) -> RenderedPage {
    let hidden: Vec<Value> = hidden.iter().map(|(n, v)| json!({ "name": n, "value": v })).collect();
    layout.render(
        "admin/confirm",
        json!({
            "title": "Please confirm", "section": entity.plural(), "message": message, "items": items,
            "action": action, "hidden": hidden, "button": button, "cancel": format!("/admin/{}", entity.plural()),
        }),
    )
}

#[get("/<entity>/<id>/delete")]
async fn confirm_delete(
    db: Conn,
    admin: AdminUser,
    config: &State<AppConfig>,
    layout: Layout,
    entity: Result<Entity, &str>,
    id: i64,
) -> PageResult<PageOr> {
    let entity = entity.map_err(|_| AppError::NotFound("page"))?;
    let here = format!("/admin/{}/{id}/delete", entity.plural());
    if !is_fresh(&admin.0, config) {
        return Ok(reauth_redirect(&here));
    }
    let label = ops::label(&db, entity, id).await?;
    let message = match entity {
        Entity::User => "Delete this user? Their articles, comments and favorites are deleted with them.",
        Entity::Article => "Delete this article? Its comments are deleted with it.",
        Entity::Comment => "Delete this comment?",
        Entity::Tag | Entity::Backup => "Delete this tag? Articles filed under it stay, without it.",
    };
    Ok(PageOr::Page((
        Status::Ok,
        confirm_page(&layout, entity, message, &[label], &here, &[], "Yes, delete"),
    )))
}

#[post("/<entity>/<id>/delete", data = "<_form>")]
async fn delete(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    entity: Result<Entity, &str>,
    id: i64,
    _form: CsrfForm<Empty>,
) -> PageResult<PageOr> {
    let entity = entity.map_err(|_| AppError::NotFound("page"))?;
    if !is_fresh(&admin.0, config) {
        return Ok(reauth_redirect(&format!("/admin/{}/{id}/delete", entity.plural())));
    }
    let label = ops::label(&db, entity, id).await.unwrap_or_else(|_| format!("#{id}"));
    match ops::delete(&db, &actor, entity, id).await {
        Ok(()) => outcome(
            &format!("/admin/{}", entity.plural()),
            Ok(format!("Deleted {} {label}.", entity.singular())),
        ),
        Err(e) => outcome(&format!("/admin/{}/{id}", entity.plural()), Err(e)),
    }
}

/// A bulk action on the rows ticked in a table.
#[derive(FromForm)]
pub struct BulkForm {
    #[field(default = String::new())]
    action: String,
    #[field(default = Vec::new())]
    ids: Vec<i64>,
    #[field(default = false)]
    confirm: bool,
}

#[post("/bulk/<entity>", data = "<form>")]
async fn bulk(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    layout: Layout,
    entity: Result<Entity, &str>,
    form: CsrfForm<BulkForm>,
) -> PageResult<PageOr> {
    let entity = entity.map_err(|_| AppError::NotFound("page"))?;
    let form = form.0;
    let back = format!("/admin/{}", entity.plural());
    let ids = match ops::check_bulk(entity, &form.action, &form.ids) {
        Ok(ids) => ids,
        Err(e) => return outcome(&back, Err(e)),
    };
    let destructive = ops::is_destructive(&form.action);
    if destructive && !is_fresh(&admin.0, config) {
        return Ok(reauth_redirect(&back));
    }
    if destructive && !form.confirm {
        let mut items = Vec::new();
        for id in &ids {
            items.push(
                ops::label(&db, entity, *id)
                    .await
                    .unwrap_or_else(|_| format!("#{id} (not found)")),
            );
        }
        let mut hidden = vec![("action", form.action.clone()), ("confirm", "true".to_owned())];
        hidden.extend(ids.iter().map(|id| ("ids", id.to_string())));
        let message = format!("{} these {} {}?", capitalize(&form.action), ids.len(), entity.plural());
        let button = format!("Yes, {} {}", form.action, ids.len());
        return Ok(PageOr::Page((
            Status::Ok,
            confirm_page(
                &layout,
                entity,
                &message,
                &items,
                &format!("/admin/bulk/{}", entity.plural()),
                &hidden,
                &button,
            ),
        )));
    }
    let result = ops::bulk(&db, &actor, entity, &form.action, &ids).await?;
    let mut message = format!(
        "{}: {} of {} {} done.",
        capitalize(&form.action),
        result.done.len(),
        ids.len(),
        entity.plural()
    );
    if result.failed.is_empty() {
        return Ok(PageOr::Redirect(done(back, message)));
    }
    for failure in &result.failed {
        let _ = write!(message, " #{}: {}.", failure.id, failure.message);
    }
    Ok(PageOr::Redirect(Flash::error(Redirect::to(back), message)))
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// An audit entry as the pages show it.
fn audit_view(row: &db::audit::AuditRow) -> Value {
    let pretty = |s: &Option<String>| {
        s.as_deref().map(|text| {
            serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| text.to_owned())
        })
    };
    json!({
        "id": row.id, "actor": row.actor_name, "actor_id": row.actor_id, "action": row.action,
        "entity": row.entity, "entity_id": row.entity_id, "before": pretty(&row.before_json),
        "after": pretty(&row.after_json), "when": row.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        "ip": row.ip, "request_id": row.request_id,
    })
}

#[allow(clippy::too_many_arguments)] // a Rocket handler: one argument per query value
#[get("/audit?<actor>&<action>&<entity>&<entity_id>&<page>")]
async fn audit(
    db: Conn,
    _admin: AdminUser,
    layout: Layout,
    actor: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    entity_id: Option<String>,
    page: Option<&str>,
) -> PageResult<RenderedPage> {
    let filter = crate::admin::audit_filter(actor, action, entity, entity_id)?;
    let listing = Listing::new(None, None, None, page, &[], ("id", true))?;
    let total = db::audit::count(&db, &filter).await?;
    let rows = db::audit::list(&db, &filter, listing.per_page, (listing.page - 1) * listing.per_page).await?;
    let pages = listing.pages(total);
    let filter_query = [
        ("actor", &filter.actor),
        ("action", &filter.action),
        ("entity", &filter.entity),
        ("entity_id", &filter.entity_id),
    ]
    .iter()
    .filter_map(|(k, v)| {
        v.as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| format!("{k}={}", enc(v)))
    })
    .collect::<Vec<_>>()
    .join("&");
    let page_href = |p: i64| format!("/admin/audit?{filter_query}&page={p}");
    let current = listing.page.min(pages);
    let pagination: Vec<Value> = if pages > 1 {
        vec![
            json!({ "label": "« Newer", "href": page_href((current - 1).max(1)), "disabled": current == 1 }),
            json!({ "label": format!("Page {current} of {pages}"), "href": page_href(current), "active": true }),
            json!({ "label": "Older »", "href": page_href((current + 1).min(pages)), "disabled": current == pages }),
        ]
    } else {
        Vec::new()
    };
    Ok(layout.render(
        "admin/audit",
        json!({
            "title": "Audit log", "section": "audit", "total": total,
            "filter": { "actor": filter.actor, "action": filter.action, "entity": filter.entity, "entity_id": filter.entity_id },
            "entries": rows.iter().map(audit_view).collect::<Vec<_>>(), "pagination": pagination,
        }),
    ))
}

fn backups_page(layout: &Layout, backups: &Backups, error: Option<String>) -> Result<RenderedPage, AppError> {
    let files = backups.list().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(layout.render(
        "admin/backups",
        json!({
            "title": "Backups", "section": "backups", "files": files, "error": error,
            "dir": backups.dir().display().to_string(), "keep": backups.keep(), "engine": backups.engine(),
        }),
    ))
}

#[get("/backups")]
fn backups(_admin: AdminUser, layout: Layout, backups: &State<Backups>) -> PageResult<RenderedPage> {
    Ok(backups_page(&layout, backups, None)?)
}

#[post("/backups", data = "<_form>")]
async fn create_backup(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    layout: Layout,
    backups: &State<Backups>,
    _form: CsrfForm<Empty>,
) -> PageResult<PageOr> {
    // A backup holds every account's data: making one needs a recent password entry, as
    // downloading one does.
    if !is_fresh(&admin.0, config) {
        return Ok(reauth_redirect("/admin/backups"));
    }
    match backups.create().await {
        Ok(file) => {
            let after = json!({ "name": file.name, "size": file.size });
            db::audit::record(
                &db,
                &actor.entry("create", Entity::Backup, &file.name, None, Some(after)),
            )
            .await?;
            Ok(PageOr::Redirect(done(
                "/admin/backups",
                format!("Backup {} written ({}).", file.name, file.size_text),
            )))
        }
        Err(e @ BackupError::Busy) => {
            let page = backups_page(&layout, backups, Some(format!("Backup not started: {e}.")))?;
            Ok(PageOr::Page((Status::Conflict, page)))
        }
        Err(e) => {
            log::error!("backup failed: {e}");
            let page = backups_page(&layout, backups, Some(format!("Backup failed: {e}")))?;
            Ok(PageOr::Page((Status::InternalServerError, page)))
        }
    }
}

/// A backup file download.
#[derive(rocket::Responder)]
pub struct BackupDownload {
    file: (ContentType, NamedFile),
    disposition: Header<'static>,
}

/// A download or the way to get one (the password confirmation).
#[derive(rocket::Responder)]
pub enum DownloadOr {
    /// The file.
    File(BackupDownload),
    /// Confirm the password first.
    Confirm(PageOr),
}

#[get("/backups/<name>")]
async fn download_backup(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    backups: &State<Backups>,
    name: &str,
) -> PageResult<DownloadOr> {
    // A backup holds every account's data: downloading one needs a recent password entry.
    if !is_fresh(&admin.0, config) {
        return Ok(DownloadOr::Confirm(reauth_redirect("/admin/backups")));
    }
    let path = backups.find(name).ok_or(AppError::NotFound("backup"))?;
    let file = NamedFile::open(&path).await.map_err(|_| AppError::NotFound("backup"))?;
    db::audit::record(&db, &actor.entry("download", Entity::Backup, name, None, None)).await?;
    Ok(DownloadOr::File(BackupDownload {
        file: (ContentType::Binary, file),
        disposition: Header::new("Content-Disposition", format!("attachment; filename=\"{name}\"")),
    }))
}

#[get("/reauth?<next>")]
fn reauth_page(_admin: AdminUser, layout: Layout, next: Option<String>) -> RenderedPage {
    layout.render(
        "admin/reauth",
        json!({ "title": "Confirm your password", "section": "", "next": safe_next(next.as_deref()) }),
    )
}

/// The password confirmation form.
#[derive(FromForm)]
pub struct ReauthForm {
    #[field(default = String::new())]
    password: String,
    next: Option<String>,
}

#[allow(clippy::too_many_arguments)]
#[post("/reauth", data = "<form>")]
async fn reauth(
    db: Conn,
    jar: &CookieJar<'_>,
    keys: &State<Keys>,
    config: &State<AppConfig>,
    addr: ClientAddr,
    admin: AdminUser,
    layout: Layout,
    form: CsrfForm<ReauthForm>,
) -> PageResult<PageOr> {
    let form = form.0;
    let auth = admin.0;
    let next = safe_next(form.next.as_deref());
    // The login check itself: same throttling, same single message.
    match account::confirm_password(&db, config, &auth.user, &form.password, &addr.0).await {
        Ok(user) if user.id == auth.user.id => {
            // Only a browser session has cookies to mark fresh (a header token's freshness is
            // its login's).
            if auth.via == crate::auth::Via::Cookie {
                session::reauthenticate(jar, keys, config, &auth.claims, &user)?;
            }
            Ok(PageOr::Redirect(done(next, "Thanks, your password is confirmed.")))
        }
        Ok(_) | Err(AppError::Unauthorized(_) | AppError::Invalid(_)) => {
            let page = layout.render(
                "admin/reauth",
                json!({ "title": "Confirm your password", "section": "", "next": next,
                        "errors": { "list": ["password is not correct"] } }),
            );
            Ok(PageOr::Page((Status::UnprocessableEntity, page)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The routes of the console, mounted at `/admin`.
pub fn routes() -> Vec<Route> {
    routes![
        dashboard,
        users,
        users_csv,
        user,
        update_user,
        set_role,
        disable_user,
        enable_user,
        articles,
        articles_csv,
        article,
        update_article,
        comments,
        comment,
        update_comment,
        tags,
        tag,
        update_tag,
        confirm_delete,
        delete,
        bulk,
        audit,
        backups,
        create_backup,
        download_backup,
        reauth_page,
        reauth,
    ]
}
