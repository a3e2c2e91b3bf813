//! The admin console (DESIGN.md section 9): HTML pages under `/admin`, the same operations as
//! JSON under `/api/admin`, the audit log, and database backups through a subprocess.
//!
//! Anonymous visitors get the login redirect and non-admins a 403, through the
//! [`AdminUser`](crate::auth::AdminUser) guard: from the console's own catchers under `/admin`
//! (errors in the console's layout for admins), from the `/api` ones for JSON.

pub mod api;
pub mod backup;
pub mod catchers;
pub mod changes;
pub mod charts;
mod export;
pub mod ops;
pub mod pages;
pub mod resource;
pub mod stats;

use rocket::fairing::AdHoc;
use rocket::{FromForm, UriDisplayQuery};

use crate::auth::fields::USERNAME_MAX;
use crate::db::admin::{Cursor, Kind, ListQuery, Step};
use crate::db::audit::AuditFilter;
use crate::error::{AppError, FieldErrors};
use crate::input::{self, Max};

/// Rows per page in the console's tables.
pub const PAGE_SIZE: i64 = 25;
/// Largest page size the JSON API serves.
pub const MAX_PAGE_SIZE: i64 = 100;
/// The last page number accepted (larger values are clamped).
pub const MAX_PAGE: i64 = 100_000;
/// Most rows one CSV export holds.
pub const EXPORT_MAX: i64 = 100_000;
/// Longest search text (`?q=`), in characters: the widest `VARCHAR` a search is matched
/// against (`articles.title`, `users.email`).
pub const SEARCH_MAX: usize = 255;
/// Longest audit filter values, in characters, from the `audit_log` columns they are compared
/// with: `action VARCHAR(64)`, `entity VARCHAR(32)`, `entity_id VARCHAR(255)` (and the actor is
/// a username).
pub const AUDIT_ACTION_MAX: usize = 64;
/// See [`AUDIT_ACTION_MAX`].
pub const AUDIT_ENTITY_MAX: usize = 32;
/// See [`AUDIT_ACTION_MAX`].
pub const AUDIT_ENTITY_ID_MAX: usize = 255;

/// The audit log's query values: `?actor=&action=&entity=&entity_id=&page=&per_page=`.
#[derive(Debug, Clone, Default, FromForm, UriDisplayQuery)]
pub struct AuditParams {
    /// The admin's username.
    pub actor: Option<String>,
    /// An action (`user.delete`) or a prefix ending in `.` (`user.`).
    pub action: Option<String>,
    /// The kind of record.
    pub entity: Option<String>,
    /// The record's id.
    pub entity_id: Option<String>,
    /// Page number (lenient: anything but a number from 1 is page 1; old links, the page's
    /// own are `after`/`before`).
    pub page: Option<String>,
    /// Rows per page (the JSON API only).
    pub per_page: Option<String>,
    /// The entries after (older than) this one: a cursor (`<id>:<time>`).
    pub after: Option<String>,
    /// The entries before (newer than) this one.
    pub before: Option<String>,
}

impl AuditParams {
    /// The filters, each checked against its column before any query: a 422 naming the
    /// parameter.
    pub fn filter(&self) -> Result<AuditFilter, AppError> {
        let mut errors = FieldErrors::new();
        let fields = [
            ("actor", &self.actor, USERNAME_MAX),
            ("action", &self.action, AUDIT_ACTION_MAX),
            ("entity", &self.entity, AUDIT_ENTITY_MAX),
            ("entity_id", &self.entity_id, AUDIT_ENTITY_ID_MAX),
        ];
        for (field, value, max) in fields {
            if let Some(value) = value {
                input::check(&mut errors, field, value.trim(), Max::Chars(max));
            }
        }
        errors.into_result()?;
        Ok(AuditFilter {
            actor: self.actor.clone(),
            action: self.action.clone(),
            entity: self.entity.clone(),
            entity_id: self.entity_id.clone(),
        })
    }

    /// The page to show, newest first.
    pub fn listing(&self) -> Result<Listing, AppError> {
        let params = ListParams {
            page: self.page.clone(),
            per_page: self.per_page.clone(),
            after: self.after.clone(),
            before: self.before.clone(),
            ..<ListParams as Default>::default()
        };
        Listing::new(&params, &[], ("id", true))
    }
}

/// A table's query values: `?q=&sort=&dir=asc|desc&page=&per_page=` (`per_page` for the JSON
/// API). Read leniently by [`Listing::new`].
#[derive(Debug, Clone, Default, FromForm, UriDisplayQuery)]
pub struct ListParams {
    /// Search text.
    pub q: Option<String>,
    /// Sort key.
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub dir: Option<String>,
    /// Page number, from 1 (old links; the console's own links are `after`/`before`).
    pub page: Option<String>,
    /// Rows per page.
    pub per_page: Option<String>,
    /// The page after this row: a cursor (`<id>:<sort value>`, see [`Cursor`]).
    pub after: Option<String>,
    /// The page before this row.
    pub before: Option<String>,
}

/// The keyset step a table's query asks for: `after` or `before` (not both), each a cursor;
/// a 400 saying the link is damaged when one does not read as a cursor. An empty value is none.
fn step(params: &ListParams) -> Result<Option<Step>, AppError> {
    let present = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    let cursor = |name: &str, text: &str| Cursor::decode(text).ok_or_else(|| damaged(name));
    match (present(&params.after), present(&params.before)) {
        (Some(_), Some(_)) => Err(AppError::BadRequest(
            "This link is damaged: it says both `after` and `before`; a table page has one."
                .to_owned(),
        )),
        (Some(after), None) => Ok(Some(Step::Forward(cursor("after", &after)?))),
        (None, Some(before)) => Ok(Some(Step::Backward(cursor("before", &before)?))),
        (None, None) => Ok(None),
    }
}

/// The 400 of a cursor (`name`) that is not a place in the table.
pub fn damaged(name: &str) -> AppError {
    AppError::BadRequest(format!(
        "This link is damaged: its `{name}` value is not a place in this table. \
         Go back to the table's first page and follow its Previous and Next links."
    ))
}

/// A table request: search, sort key (from the table's allow-list) and direction, page.
#[derive(Debug, Clone)]
pub struct Listing {
    /// Search text.
    pub q: String,
    /// Sort key (always one of the allow-list's).
    pub sort: String,
    /// Descending.
    pub desc: bool,
    /// Page number, from 1.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
    /// Where a keyset page starts (the console's Previous / Next links); `None`: at `page`.
    pub step: Option<Step>,
}

impl Listing {
    /// Read query values leniently: an unknown sort key (not in `sorts`) or direction falls
    /// back to the `default` order, a page that is not a number from 1 to [`MAX_PAGE`] is
    /// clamped. The search text is checked, not bent: longer than [`SEARCH_MAX`] or holding
    /// control characters is a 422 naming `q`. `per_page` is the JSON API's.
    pub fn new(
        params: &ListParams,
        sorts: &[(&str, &str, Kind)],
        default: (&str, bool),
    ) -> Result<Self, AppError> {
        let q = params
            .q
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        let mut errors = FieldErrors::new();
        input::check(&mut errors, "q", &q, Max::Chars(SEARCH_MAX));
        errors.into_result()?;
        let sort = params
            .sort
            .clone()
            .filter(|s| sorts.iter().any(|(key, _, _)| key == s));
        // A chosen column sorts ascending unless `dir=desc`; no choice means the default order.
        let desc = if sort.is_some() {
            params.dir.as_deref() == Some("desc")
        } else {
            default.1
        };
        let page = params
            .page
            .as_deref()
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, MAX_PAGE);
        Ok(Self {
            q,
            sort: sort.unwrap_or_else(|| default.0.to_owned()),
            desc,
            page,
            per_page: PAGE_SIZE,
            step: step(params)?,
        })
    }

    /// The query values that show this table sorted by `sort` (`desc`) at `page`.
    pub fn params(&self, sort: &str, desc: bool, page: i64) -> ListParams {
        ListParams {
            q: Some(self.q.clone()).filter(|q| !q.is_empty()),
            sort: Some(sort.to_owned()),
            dir: Some(if desc { "desc" } else { "asc" }.to_owned()),
            page: (page > 1).then(|| page.to_string()),
            per_page: None,
            after: None,
            before: None,
        }
    }

    /// The query values of this table (same search, sort and direction) at `step`.
    pub fn params_at(&self, step: &Step) -> ListParams {
        let mut params = self.params(&self.sort, self.desc, 1);
        match step {
            Step::Forward(cursor) => params.after = Some(cursor.encode()),
            Step::Backward(cursor) => params.before = Some(cursor.encode()),
        }
        params
    }

    /// With a page size asked for by an API client (clamped to 1..=[`MAX_PAGE_SIZE`]).
    #[must_use]
    pub fn with_per_page(mut self, per_page: Option<&str>) -> Self {
        if let Some(n) = per_page.and_then(|p| p.trim().parse::<i64>().ok()) {
            self.per_page = n.clamp(1, MAX_PAGE_SIZE);
        }
        self
    }

    /// The database query for this page.
    pub fn query(&self) -> ListQuery {
        ListQuery {
            q: self.q.clone(),
            sort: self.sort.clone(),
            desc: self.desc,
            limit: self.per_page,
            offset: (self.page - 1) * self.per_page,
        }
    }

    /// The query for an export: every row the filter shows, in the same order.
    pub fn export_query(&self) -> ListQuery {
        ListQuery {
            limit: EXPORT_MAX,
            offset: 0,
            ..self.query()
        }
    }
}

/// Mounts the console and its JSON API, and manages the backup service.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Admin console", |rocket| async move {
        let backups = match rocket.state::<crate::config::AppConfig>() {
            Some(config) => {
                let url = rocket
                    .figment()
                    .extract_inner::<String>("databases.main.url")
                    .unwrap_or_default();
                let metrics = rocket.state::<crate::metrics::Metrics>().cloned();
                backup::Backups::new(config, &url).map(|b| b.with_metrics(metrics))
            }
            None => return Err(rocket),
        };
        let rocket = match backups {
            Ok(backups) => rocket.manage(backups),
            // The pool reports a bad URL itself; without a usable one there is nothing to back up.
            Err(e) => {
                log::warn!("backups are unavailable: {e}");
                rocket
            }
        };
        Ok(rocket
            .mount("/admin", pages::routes())
            .register("/admin", catchers::catchers())
            .manage(catchers::AdminNav(pages::admin_nav))
            .mount("/api/admin", api::routes()))
    })
}
