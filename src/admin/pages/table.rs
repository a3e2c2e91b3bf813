//! The table pages, written once for every [`Resource`]: the list (search, sort, pagination),
//! the CSV export, the edit form and its save, the delete confirmation and the delete, and
//! bulk actions. Each route names its table by a `<resource>` segment; the edit form's save is
//! the one route per resource (its form type is the resource's), made by `update_route!`.

use std::fmt::Write as _;

use rocket::form::{Context, Contextual, FromForm};
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, uri, State};
use serde_json::{json, Value};

use super::{form_invalid, is_fresh, outcome, pagination, reauth_redirect};
use crate::admin::catchers::AdminResult;
use crate::admin::export::{csv_file, CsvFile};
use crate::admin::ops::{self, Actor, Entity};
use crate::admin::resource::{with_resource, CsvOf, Resource};
use crate::admin::{damaged, AuditParams, ListParams, Listing};
use crate::auth::csrf::{CsrfContextual, CsrfForm};
use crate::auth::AdminUser;
use crate::config::AppConfig;
use crate::db::admin::{Step, TablePage};
use crate::db::ids::Id;
use crate::db::{self, Conn, DbPool};
use crate::error::AppError;
use crate::web::layout::{done, form_errors, Layout};
use crate::web::render::RenderedPage;
use crate::web::session::{Empty, PageOr};

/// The listing `params` ask of `R`'s table.
fn listing<R: Resource>(params: &ListParams) -> Result<Listing, AppError> {
    Listing::new(params, R::SPEC.sorts, R::DEFAULT_SORT)
}

/// The table of `entity` as `params` ask for it.
pub(super) fn list_href(entity: Entity, params: ListParams) -> String {
    uri!("/admin", list(entity, params)).to_string()
}

/// Column headers: sortable ones link to the table sorted by them (toggling the direction).
fn columns<R: Resource>(listing: &Listing) -> Vec<Value> {
    R::COLUMNS
        .iter()
        .map(|column| match column.sort {
            Some(key) => {
                let current = listing.sort == key;
                let desc = current && !listing.desc;
                let aria = match (current, listing.desc) {
                    (false, _) => "none",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                };
                let href = list_href(R::ENTITY, listing.params(key, desc, 1));
                // What the link does, for screen readers (the arrow after a sorted header is
                // only drawn).
                let next = if desc { "descending" } else { "ascending" };
                json!({ "label": column.label, "key": key, "href": href, "aria_sort": aria, "next_dir": next })
            }
            None => json!({ "label": column.label }),
        })
        .collect()
}

async fn list_page<R: Resource>(
    db: &DbPool,
    layout: &Layout,
    params: &ListParams,
) -> AdminResult<RenderedPage> {
    let listing = listing::<R>(params)?;
    let total = db::admin::count(db, R::SPEC, &listing.q).await?;
    let page: TablePage<R::Row> =
        db::admin::list_keyset(db, R::SPEC, &listing.query(), listing.step.as_ref())
            .await?
            .ok_or_else(|| {
                damaged(if params.after.is_some() {
                    "after"
                } else {
                    "before"
                })
            })?;
    let at = |step: Step| list_href(R::ENTITY, listing.params_at(&step));
    let pagination = pagination(
        (!page.first).then(|| list_href(R::ENTITY, listing.params(&listing.sort, listing.desc, 1))),
        page.previous.map(|c| at(Step::Backward(c))),
        page.next.map(|c| at(Step::Forward(c))),
    );
    let rows: Vec<Value> = page
        .rows
        .iter()
        .map(|row| {
            let id = R::id(row);
            json!({
                "id": id, "cells": R::cells(row),
                "edit_href": uri!("/admin", edit(R::ENTITY, id.get())).to_string(),
                "delete_href": uri!("/admin", confirm_delete(R::ENTITY, id.get())).to_string(),
            })
        })
        .collect();
    let export_href = (!R::CSV.is_empty()).then(|| {
        let mut params = listing.params(&listing.sort, listing.desc, 1);
        params.page = None;
        uri!("/admin", csv(CsvOf(R::ENTITY), params)).to_string()
    });
    let entity = R::ENTITY.plural();
    Ok(super::render(
        layout,
        "admin/list",
        json!({
            "title": R::TITLE, "section": entity, "entity": entity, "base": list_href(R::ENTITY, <ListParams as Default>::default()),
            "q": listing.q, "sort": listing.sort, "dir": if listing.desc { "desc" } else { "asc" },
            "total": total, "columns": columns::<R>(&listing), "rows": rows,
            "pagination": pagination,
            "bulk_actions": R::BULK, "bulk_href": uri!("/admin", bulk(R::ENTITY)).to_string(),
            "export_href": export_href,
        }),
    ))
}

#[get("/<resource>?<params..>", rank = 1)]
pub async fn list(
    db: Conn,
    _admin: AdminUser,
    layout: Layout,
    resource: Entity,
    params: ListParams,
) -> AdminResult<RenderedPage> {
    with_resource!(resource, R => list_page::<R>(&db, &layout, &params).await, else Err(AppError::NotFound("page").into()))
}

async fn export<R: Resource>(db: &DbPool, params: &ListParams) -> AdminResult<CsvFile> {
    let listing = listing::<R>(params)?;
    let rows: Vec<R::Row> = db::admin::list(db, R::SPEC, &listing.export_query()).await?;
    let name = format!("{}.csv", R::ENTITY.plural());
    Ok(csv_file(&name, R::CSV, rows.into_iter().map(R::csv_row))?)
}

/// The CSV export, and the last route a one-segment path tries: one that names no table ends
/// here, in the console's 404 (a segment that fails to parse would otherwise forward as a 422).
#[get("/<resource>?<params..>", rank = 2)]
pub async fn csv(
    db: Conn,
    _admin: AdminUser,
    resource: Result<CsvOf, &str>,
    params: ListParams,
) -> Result<AdminResult<CsvFile>, Status> {
    let CsvOf(entity) = resource.map_err(|_| Status::NotFound)?;
    Ok(
        with_resource!(entity, R => export::<R>(&db, &params).await, else Err(AppError::NotFound("page").into())),
    )
}

/// The edit page of `record`, showing `values` and, after a refused save, its errors.
fn edit_page<R: Resource>(
    layout: &Layout,
    id: R::Id,
    record: &R::Record,
    values: &Value,
    errors: Option<&AppError>,
) -> RenderedPage {
    let fields: Vec<Value> = R::FIELDS
        .iter()
        .map(|f| json!({ "name": f.name, "label": f.label, "kind": f.kind, "value": values[f.name] }))
        .collect();
    let audit = AuditParams {
        entity: Some(R::ENTITY.singular().to_owned()),
        entity_id: Some(id.to_string()),
        ..<AuditParams as Default>::default()
    };
    let mut context = json!({
        "section": R::ENTITY.plural(), "entity": R::ENTITY.plural(),
        "action": uri!("/admin", edit(R::ENTITY, id.get())).to_string(), "fields": fields,
        "errors": errors.map(form_errors),
        "delete_href": uri!("/admin", confirm_delete(R::ENTITY, id.get())).to_string(),
        "audit_href": uri!("/admin", super::audit::audit(audit)).to_string(),
    });
    if let (Value::Object(context), Value::Object(own)) = (&mut context, R::edit_view(record)) {
        context.extend(own);
    }
    super::render(layout, "admin/edit", context)
}

async fn edit_form<R: Resource>(
    db: &DbPool,
    layout: &Layout,
    id: R::Id,
) -> AdminResult<RenderedPage> {
    let record = R::load(db, id).await?;
    Ok(edit_page::<R>(
        layout,
        id,
        &record,
        &R::values(&record),
        None,
    ))
}

#[get("/<resource>/<id>")]
pub async fn edit(
    db: Conn,
    _admin: AdminUser,
    layout: Layout,
    resource: Result<Entity, &str>,
    id: i64,
) -> Result<AdminResult<RenderedPage>, Status> {
    let entity = resource.map_err(|_| Status::NotFound)?;
    Ok(
        with_resource!(entity, R => edit_form::<R>(&db, &layout, Id::new(id)).await, else Err(AppError::NotFound("page").into())),
    )
}

/// Save `R`'s edit form: back to the form with a message, or the form again with the
/// submitted values and a 422 naming the fields that broke a rule.
pub async fn save<R: Resource>(
    db: &DbPool,
    actor: &Actor,
    layout: &Layout,
    id: R::Id,
    form: Contextual<'_, R::Form>,
) -> AdminResult<PageOr> {
    let Contextual { value, context } = form;
    let result = match value {
        Some(form) => R::save(db, actor, id, form).await,
        None => Err(form_invalid(&context)),
    };
    match result {
        Ok(message) => Ok(PageOr::Redirect(done(
            uri!("/admin", edit(R::ENTITY, id.get())).to_string(),
            message,
        ))),
        Err(e @ AppError::Invalid(_)) => {
            let record = R::load(db, id).await?;
            let page = edit_page::<R>(layout, id, &record, &submitted::<R>(&context), Some(&e));
            Ok(PageOr::Page((Status::UnprocessableEntity, page)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The values the form came with, to show them again.
fn submitted<R: Resource>(context: &Context<'_>) -> Value {
    let values: serde_json::Map<String, Value> = R::FIELDS
        .iter()
        .map(|f| {
            (
                f.name.to_owned(),
                json!(context.field_value(f.name).unwrap_or_default()),
            )
        })
        .collect();
    Value::Object(values)
}

/// The save route of a resource's edit form: `update_route!(Articles, "/articles/<id>")`.
macro_rules! update_route {
    ($resource:ty, $path:tt) => {
        #[rocket::post($path, data = "<form>")]
        async fn update(
            db: crate::db::Conn,
            _admin: crate::auth::AdminUser,
            actor: crate::admin::ops::Actor,
            layout: crate::web::layout::Layout,
            id: <$resource as $crate::admin::resource::Resource>::Id,
            form: crate::auth::csrf::CsrfForm<
                rocket::form::Contextual<'_, <$resource as crate::admin::resource::Resource>::Form>,
            >,
        ) -> crate::admin::catchers::AdminResult<crate::web::session::PageOr> {
            crate::admin::pages::table::save::<$resource>(&db, &actor, &layout, id, form.0).await
        }
    };
}
pub(crate) use update_route;

fn confirm_page(
    layout: &Layout,
    entity: Entity,
    message: &str,
    items: &[String],
    action: &str,
    hidden: &[(&str, String)],
    button: &str,
) -> RenderedPage {
    let hidden: Vec<Value> = hidden
        .iter()
        .map(|(n, v)| json!({ "name": n, "value": v }))
        .collect();
    super::render(
        layout,
        "admin/confirm",
        json!({
            "title": "Please confirm", "section": entity.plural(), "message": message, "items": items,
            "action": action, "hidden": hidden, "button": button,
            "cancel": list_href(entity, <ListParams as Default>::default()),
        }),
    )
}

#[get("/<resource>/<id>/delete")]
pub async fn confirm_delete(
    db: Conn,
    admin: AdminUser,
    config: &State<AppConfig>,
    layout: Layout,
    resource: Result<Entity, &str>,
    id: i64,
) -> AdminResult<PageOr> {
    let entity = resource.map_err(|_| AppError::NotFound("page"))?;
    let here = uri!("/admin", confirm_delete(entity, id)).to_string();
    if !is_fresh(&admin.0, config) {
        return Ok(reauth_redirect(&here));
    }
    let label = ops::label(&db, entity, id).await?;
    let question = with_resource!(entity, R => R::DELETE_QUESTION, else "");
    Ok(PageOr::Page((
        Status::Ok,
        confirm_page(
            &layout,
            entity,
            question,
            &[label],
            &here,
            &[],
            "Yes, delete",
        ),
    )))
}

#[post("/<resource>/<id>/delete", data = "<_form>")]
pub async fn delete(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    resource: Result<Entity, &str>,
    id: i64,
    _form: CsrfForm<Empty>,
) -> AdminResult<PageOr> {
    let entity = resource.map_err(|_| AppError::NotFound("page"))?;
    if !is_fresh(&admin.0, config) {
        return Ok(reauth_redirect(
            &uri!("/admin", confirm_delete(entity, id)).to_string(),
        ));
    }
    let label = ops::label(&db, entity, id)
        .await
        .unwrap_or_else(|_| format!("#{id}"));
    match ops::delete(&db, &actor, entity, id).await {
        Ok(()) => outcome(
            &list_href(entity, <ListParams as Default>::default()),
            Ok(format!("Deleted {} {label}.", entity.singular())),
        ),
        Err(e) => outcome(&uri!("/admin", edit(entity, id)).to_string(), Err(e)),
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

#[post("/bulk/<resource>", data = "<form>")]
pub async fn bulk(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    layout: Layout,
    resource: Result<Entity, &str>,
    form: CsrfContextual<'_, BulkForm>,
) -> AdminResult<PageOr> {
    let entity = resource.map_err(|_| AppError::NotFound("page"))?;
    let back = list_href(entity, <ListParams as Default>::default());
    let Contextual { value, context } = form.0;
    let Some(form) = value else {
        return outcome(&back, Err(form_invalid(&context)));
    };
    let ids = match ops::check_bulk(
        crate::admin::resource::bulk_actions(entity),
        &form.action,
        &form.ids,
    ) {
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
        let mut hidden = vec![
            ("action", form.action.clone()),
            ("confirm", "true".to_owned()),
        ];
        hidden.extend(ids.iter().map(|id| ("ids", id.to_string())));
        let message = format!(
            "{} these {} {}?",
            capitalize(&form.action),
            ids.len(),
            entity.plural()
        );
        let button = format!("Yes, {} {}", form.action, ids.len());
        let action = uri!("/admin", bulk(entity)).to_string();
        return Ok(PageOr::Page((
            Status::Ok,
            confirm_page(&layout, entity, &message, &items, &action, &hidden, &button),
        )));
    }
    let result = ops::bulk(
        &db,
        &actor,
        entity,
        crate::admin::resource::bulk_actions(entity),
        &form.action,
        &ids,
    )
    .await?;
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
