//! The comments table, declared.

use rocket::form::FromForm;
use rocket::{routes, uri, Route};
use serde_json::{json, Value};

use super::table::{self, update_route};
use crate::admin::ops::{self, Actor, Entity};
use crate::admin::resource::{cell, excerpt, link, Column, Field, Resource, DATE};
use crate::content::COMMENT_MAX;
use crate::db::admin::CommentRow;
use crate::db::{CommentId, DbPool};
use crate::error::AppError;
use crate::input::fits;
use crate::input::Max;

/// The comments table.
pub struct Comments;

/// The comment edit form.
#[derive(FromForm)]
pub struct CommentForm {
    #[field(default = String::new(), validate = fits(Max::Chars(COMMENT_MAX)))]
    body: String,
}

impl Resource for Comments {
    type Row = CommentRow;
    type Record = CommentRow;
    type Id = CommentId;
    type Form = CommentForm;

    const ENTITY: Entity = Entity::Comment;
    const TITLE: &'static str = "Comments";
    const SPEC: &'static crate::db::admin::Spec = &crate::db::admin::COMMENTS;
    const DEFAULT_SORT: (&'static str, bool) = ("created", true);
    const COLUMNS: &'static [Column] = &[
        Column::sorted("Id", "id"),
        Column::plain("Comment"),
        Column::sorted("Article", "article"),
        Column::sorted("Author", "author"),
        Column::sorted("Created", "created"),
    ];
    const CSV: &'static [&'static str] = &[];
    const BULK: &'static [&'static str] = &["delete"];
    const DELETE_QUESTION: &'static str = "Delete this comment?";
    const FIELDS: &'static [Field] = &[Field {
        name: "body",
        label: "Comment",
        kind: "textarea",
    }];

    fn id(row: &CommentRow) -> CommentId {
        row.id
    }

    fn cells(c: &CommentRow) -> Vec<Value> {
        let href = uri!("/admin", table::edit(Entity::Comment, c.id));
        vec![
            link("id", c.id, &href),
            link("body", excerpt(&c.body, 80), &href),
            link(
                "article",
                &c.article_title,
                uri!("/admin", table::edit(Entity::Article, c.article_id)),
            ),
            link(
                "author",
                &c.author_username,
                uri!("/admin", table::edit(Entity::User, c.author_id)),
            ),
            cell("created", c.created_at.format(DATE)),
        ]
    }

    async fn load(db: &DbPool, id: CommentId) -> Result<CommentRow, AppError> {
        ops::load_comment(db, id).await
    }

    fn values(c: &CommentRow) -> Value {
        json!({ "body": c.body })
    }

    fn edit_view(c: &CommentRow) -> Value {
        json!({
            "title": format!("Comment {}", c.id),
            "heading": format!("Comment #{} by {} on “{}”", c.id, c.author_username, c.article_title),
            "view_href": uri!(crate::web::articles::show(c.article_slug.as_str())).to_string(),
        })
    }

    async fn save(
        db: &DbPool,
        actor: &Actor,
        id: CommentId,
        form: CommentForm,
    ) -> Result<String, AppError> {
        ops::edit_comment(db, actor, id, &form.body).await?;
        Ok("Saved the comment.".to_owned())
    }
}

update_route!(Comments, "/comments/<id>");

/// This file's routes.
pub fn routes() -> Vec<Route> {
    routes![update]
}
