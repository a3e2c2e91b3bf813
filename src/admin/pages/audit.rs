//! The audit log page: filtered by admin, action, kind of record and record, newest first.

use rocket::{get, uri};
use serde_json::{json, Value};

use super::pagination;
use crate::admin::catchers::AdminResult;
use crate::admin::{damaged, AuditParams};
use crate::auth::AdminUser;
use crate::db::{self, Conn};
use crate::web::layout::Layout;
use crate::web::render::RenderedPage;

/// An audit entry as the pages show it.
pub fn audit_view(row: &db::audit::AuditRow) -> Value {
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

/// The audit log as `params` ask for it.
pub(super) fn audit_href(params: AuditParams) -> String {
    uri!("/admin", audit(params)).to_string()
}

#[get("/audit?<params..>")]
pub async fn audit(
    db: Conn,
    _admin: AdminUser,
    layout: Layout,
    params: AuditParams,
) -> AdminResult<RenderedPage> {
    let filter = params.filter()?;
    let listing = params.listing()?;
    let total = db::audit::count(&db, &filter).await?;
    let page = db::audit::page(
        &db,
        &filter,
        listing.per_page,
        (listing.page - 1) * listing.per_page,
        listing.step.as_ref(),
    )
    .await?
    .ok_or_else(|| {
        damaged(if params.after.is_some() {
            "after"
        } else {
            "before"
        })
    })?;
    let href = |after: Option<String>, before: Option<String>| {
        let params = AuditParams {
            page: None,
            per_page: None,
            after,
            before,
            ..params.clone()
        };
        audit_href(params)
    };
    let pagination = pagination(
        (!page.first).then(|| href(None, None)),
        page.previous.map(|c| href(None, Some(c.encode()))),
        page.next.map(|c| href(Some(c.encode()), None)),
    );
    let rows = page.rows;
    Ok(super::render(
        &layout,
        "admin/audit",
        json!({
            "title": "Audit log", "section": "audit", "total": total,
            "filter": { "actor": filter.actor, "action": filter.action, "entity": filter.entity, "entity_id": filter.entity_id },
            "entries": rows.iter().map(audit_view).collect::<Vec<_>>(), "pagination": pagination,
        }),
    ))
}
