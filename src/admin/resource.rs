//! The console's tables, declared: one [`Resource`] per kind of record (users, articles,
//! comments, tags) says what its table shows (columns, search and sort, cells, CSV export,
//! bulk actions), what its edit form holds and how a record is loaded and saved. The generic
//! handlers (`pages::table` for the pages, `api` for the JSON) read the declarations: adding a
//! table is one declaration and one line in `with_resource!`, not a copied set of handlers.
//!
//! Routes name a table by a `<resource>` path segment ([`Entity`], its plural); an unknown one
//! forwards, and ends in the console's 404.

use std::future::Future;

use rocket::form::FromForm;
use rocket::http::uri::fmt::{Formatter, Path, UriDisplay};
use rocket::request::FromParam;
use serde::Serialize;
use serde_json::{json, Value};

use crate::admin::ops::{Actor, Entity};
use crate::db::admin::Spec;
use crate::db::ids::Id;
use crate::db::DbPool;
use crate::error::AppError;

/// How timestamps show in the tables.
pub const DATE: &str = "%Y-%m-%d %H:%M";

/// A column of a table page.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header.
    pub label: &'static str,
    /// Its sort key, if the table sorts by it (a key of the [`Spec`]'s allow-list).
    pub sort: Option<&'static str>,
}

impl Column {
    /// A column the table sorts by `key`.
    pub const fn sorted(label: &'static str, key: &'static str) -> Self {
        Self {
            label,
            sort: Some(key),
        }
    }

    /// A column the table does not sort by.
    pub const fn plain(label: &'static str) -> Self {
        Self { label, sort: None }
    }
}

/// A field of an edit form.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Field {
    /// The form field's name.
    pub name: &'static str,
    /// Its label.
    pub label: &'static str,
    /// `text`, `email`, `url` or `textarea`.
    pub kind: &'static str,
}

/// One kind of record the console manages (see the module docs).
pub trait Resource: Send + Sync + 'static {
    /// A row of the table (and of the JSON API's list, serialized as it is).
    type Row: Serialize
        + Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::mysql::MySqlRow>;
    /// A record as its edit page shows it.
    type Record: Send + Sync;
    /// The edit form, with its field rules (`#[field(validate = ...)]`).
    type Form: for<'r> FromForm<'r> + Send;
    /// Its records' id.
    type Id: Id;

    /// Which kind of record (its URL segment is the plural).
    const ENTITY: Entity;
    /// The table page's title.
    const TITLE: &'static str;
    /// The SQL of the table.
    const SPEC: &'static Spec;
    /// The order without a `sort`: key and descending.
    const DEFAULT_SORT: (&'static str, bool);
    /// The page's columns, in the order [`Resource::cells`] gives them.
    const COLUMNS: &'static [Column];
    /// The CSV export's header (empty: no export).
    const CSV: &'static [&'static str];
    /// The bulk actions the table offers.
    const BULK: &'static [&'static str];
    /// What the delete confirmation asks.
    const DELETE_QUESTION: &'static str;
    /// The edit form's fields.
    const FIELDS: &'static [Field];

    /// A row's id.
    fn id(row: &Self::Row) -> Self::Id;

    /// A row's cells (`cell`, `link`, `badge`).
    fn cells(row: &Self::Row) -> Vec<Value>;

    /// A row of the CSV export, in the order of [`Resource::CSV`].
    fn csv_row(row: Self::Row) -> Vec<String> {
        drop(row);
        Vec::new()
    }

    /// The record with this id, or 404.
    fn load(
        db: &DbPool,
        id: Self::Id,
    ) -> impl Future<Output = Result<Self::Record, AppError>> + Send;

    /// The form's values for a record, by field name.
    fn values(record: &Self::Record) -> Value;

    /// The rest of the edit page: `title`, `heading`, and `view_href` or `user` if any.
    fn edit_view(record: &Self::Record) -> Value;

    /// Save a valid form (the operation checks its own rules too); the success message.
    fn save(
        db: &DbPool,
        actor: &Actor,
        id: Self::Id,
        form: Self::Form,
    ) -> impl Future<Output = Result<String, AppError>> + Send;
}

/// Run `$body` with `$R` the [`Resource`] declared for `$entity`, or evaluate `$missing` for a
/// kind of record with no table (backups).
macro_rules! with_resource {
    ($entity:expr, $R:ident => $body:expr, else $missing:expr) => {
        match $entity {
            $crate::admin::ops::Entity::User => {
                type $R = $crate::admin::pages::users::Users;
                $body
            }
            $crate::admin::ops::Entity::Article => {
                type $R = $crate::admin::pages::articles::Articles;
                $body
            }
            $crate::admin::ops::Entity::Comment => {
                type $R = $crate::admin::pages::comments::Comments;
                $body
            }
            $crate::admin::ops::Entity::Tag => {
                type $R = $crate::admin::pages::tags::Tags;
                $body
            }
            $crate::admin::ops::Entity::Backup => $missing,
        }
    };
}
pub(crate) use with_resource;

/// The bulk actions of `entity`'s table (none for backups).
pub fn bulk_actions(entity: Entity) -> &'static [&'static str] {
    with_resource!(entity, R => R::BULK, else &[])
}

/// Whether `entity`'s table has a CSV export.
pub fn has_csv(entity: Entity) -> bool {
    with_resource!(entity, R => !R::CSV.is_empty(), else false)
}

/// A table cell.
pub fn cell(key: &str, text: impl ToString) -> Value {
    json!({ "key": key, "text": text.to_string() })
}

/// A cell linking to `href`.
pub fn link(key: &str, text: impl ToString, href: impl ToString) -> Value {
    json!({ "key": key, "text": text.to_string(), "href": href.to_string() })
}

/// A cell shown as a badge of `class`.
pub fn badge(key: &str, text: &str, class: &str) -> Value {
    json!({ "key": key, "text": text, "badge": class })
}

/// Text cut to `max` characters, with `…` when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut cut: String = text.chars().take(max).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// A table's records as a path segment: `users`, `articles`, `comments`, `tags`. Anything
/// else (backups included) does not parse, so the route forwards.
impl<'a> FromParam<'a> for Entity {
    type Error = &'a str;

    fn from_param(param: &'a str) -> Result<Self, Self::Error> {
        Self::from_plural(param).ok_or(param)
    }
}

impl UriDisplay<Path> for Entity {
    fn fmt(&self, f: &mut Formatter<'_, Path>) -> std::fmt::Result {
        f.write_raw(self.plural())
    }
}

rocket::http::impl_from_uri_param_identity!([Path] Entity);

/// A table's CSV export as a path segment: `users.csv`, `articles.csv` (tables that declare
/// one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOf(pub Entity);

impl<'a> FromParam<'a> for CsvOf {
    type Error = &'a str;

    fn from_param(param: &'a str) -> Result<Self, Self::Error> {
        param
            .strip_suffix(".csv")
            .and_then(Entity::from_plural)
            .filter(|e| has_csv(*e))
            .map(CsvOf)
            .ok_or(param)
    }
}

impl UriDisplay<Path> for CsvOf {
    fn fmt(&self, f: &mut Formatter<'_, Path>) -> std::fmt::Result {
        f.write_raw(format!("{}.csv", self.0.plural()))
    }
}

rocket::http::impl_from_uri_param_identity!([Path] CsvOf);
