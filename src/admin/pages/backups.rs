//! The backups page: the list, making one, downloading one (both need a fresh password).
//! The handler bodies are the backup service's (`admin::backup`), moved here unchanged.

use rocket::fs::NamedFile;
use rocket::http::{ContentType, Header, Status};
use rocket::{get, post, uri, State};
use serde_json::json;

use super::{is_fresh, reauth_redirect};
use crate::admin::backup::{BackupError, Backups};
use crate::admin::catchers::AdminResult;
use crate::admin::ops::{Actor, Entity};
use crate::auth::csrf::CsrfForm;
use crate::auth::AdminUser;
use crate::config::AppConfig;
use crate::db::{self, Conn};
use crate::error::AppError;
use crate::web::layout::{done, Layout};
use crate::web::render::RenderedPage;
use crate::web::session::{Empty, PageOr};

fn backups_page(
    layout: &Layout,
    backups: &Backups,
    error: Option<String>,
) -> Result<RenderedPage, AppError> {
    let files: Vec<_> = backups
        .list()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_iter()
        .map(|f| {
            let href = uri!("/admin", download_backup(&f.name)).to_string();
            json!({ "name": f.name, "size": f.size, "size_text": f.size_text, "created_at": f.created_at, "href": href })
        })
        .collect();
    Ok(super::render(
        layout,
        "admin/backups",
        json!({
            "title": "Backups", "section": "backups", "files": files, "error": error,
            "create_url": uri!("/admin", create_backup).to_string(),
            "dir": backups.dir().display().to_string(), "keep": backups.keep(), "engine": backups.engine(),
        }),
    ))
}

#[get("/backups")]
pub fn backups(
    _admin: AdminUser,
    layout: Layout,
    backups: &State<Backups>,
) -> AdminResult<RenderedPage> {
    Ok(backups_page(&layout, backups, None)?)
}

#[post("/backups", data = "<_form>")]
pub async fn create_backup(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    layout: Layout,
    backups: &State<Backups>,
    _form: CsrfForm<Empty>,
) -> AdminResult<PageOr> {
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
pub async fn download_backup(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    backups: &State<Backups>,
    name: &str,
) -> AdminResult<DownloadOr> {
    // A backup holds every account's data: downloading one needs a recent password entry.
    if !is_fresh(&admin.0, config) {
        return Ok(DownloadOr::Confirm(reauth_redirect("/admin/backups")));
    }
    let path = backups.find(name).ok_or(AppError::NotFound("backup"))?;
    let file = NamedFile::open(&path)
        .await
        .map_err(|_| AppError::NotFound("backup"))?;
    db::audit::record(
        &db,
        &actor.entry("download", Entity::Backup, name, None, None),
    )
    .await?;
    Ok(DownloadOr::File(BackupDownload {
        file: (ContentType::Binary, file),
        disposition: Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ),
    }))
}
