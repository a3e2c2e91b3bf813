//! The tags table, declared.

use rocket::form::FromForm;
use rocket::{routes, uri, Route};
use serde_json::{json, Value};

use super::table::{self, update_route};
use crate::admin::ops::{self, Actor, Entity};
use crate::admin::resource::{cell, link, Column, Field, Resource};
use crate::content::TAG_MAX;
use crate::db::admin::TagRow;
use crate::db::{DbPool, TagId};
use crate::error::AppError;
use crate::input::fits;
use crate::input::Max;

/// The tags table.
pub struct Tags;

/// The tag rename form (the rename applies the editor's tag rules too).
#[derive(FromForm)]
pub struct TagForm {
    #[field(default = String::new(), validate = fits(Max::Chars(TAG_MAX)))]
    name: String,
}

impl Resource for Tags {
    type Row = TagRow;
    type Record = TagRow;
    type Id = TagId;
    type Form = TagForm;

    const ENTITY: Entity = Entity::Tag;
    const TITLE: &'static str = "Tags";
    const SPEC: &'static crate::db::admin::Spec = &crate::db::admin::TAGS;
    const DEFAULT_SORT: (&'static str, bool) = ("name", false);
    const COLUMNS: &'static [Column] = &[
        Column::sorted("Id", "id"),
        Column::sorted("Name", "name"),
        Column::sorted("Articles", "articles"),
    ];
    const CSV: &'static [&'static str] = &[];
    const BULK: &'static [&'static str] = &["delete"];
    const DELETE_QUESTION: &'static str =
        "Delete this tag? Articles filed under it stay, without it.";
    const FIELDS: &'static [Field] = &[Field {
        name: "name",
        label: "Name",
        kind: "text",
    }];

    fn id(row: &TagRow) -> TagId {
        row.id
    }

    fn cells(t: &TagRow) -> Vec<Value> {
        vec![
            cell("id", t.id),
            link(
                "name",
                &t.name,
                uri!("/admin", table::edit(Entity::Tag, t.id)),
            ),
            cell("articles", t.articles_count),
        ]
    }

    async fn load(db: &DbPool, id: TagId) -> Result<TagRow, AppError> {
        ops::load_tag(db, id).await
    }

    fn values(t: &TagRow) -> Value {
        json!({ "name": t.name })
    }

    fn edit_view(t: &TagRow) -> Value {
        json!({
            "title": format!("Tag {}", t.name),
            "heading": format!("Tag “{}” ({} articles)", t.name, t.articles_count),
        })
    }

    async fn save(
        db: &DbPool,
        actor: &Actor,
        id: TagId,
        form: TagForm,
    ) -> Result<String, AppError> {
        let t = ops::rename_tag(db, actor, id, &form.name).await?;
        Ok(format!("Renamed to “{}”.", t.name))
    }
}

update_route!(Tags, "/tags/<id>");

/// This file's routes.
pub fn routes() -> Vec<Route> {
    routes![update]
}
