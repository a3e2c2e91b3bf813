//! The articles table, declared.

use rocket::form::FromForm;
use rocket::{routes, uri, Route};
use serde_json::{json, Value};

use super::table::{self, update_route};
use crate::admin::ops::{self, Actor, Entity};
use crate::admin::resource::{cell, link, Column, Field, Resource, DATE};
use crate::content::{BODY_MAX, DESCRIPTION_MAX, TITLE_MAX};
use crate::db::admin::{ArticleDetail, ArticleRow};
use crate::db::{ArticleId, DbPool};
use crate::error::AppError;
use crate::input::fits;
use crate::input::Max;

/// The articles table.
pub struct Articles;

/// The article edit form.
#[derive(FromForm)]
pub struct ArticleForm {
    #[field(default = String::new(), validate = fits(Max::Chars(TITLE_MAX)))]
    title: String,
    #[field(default = String::new(), validate = fits(Max::Chars(DESCRIPTION_MAX)))]
    description: String,
    #[field(default = String::new(), validate = fits(Max::Bytes(BODY_MAX)))]
    body: String,
}

impl Resource for Articles {
    type Row = ArticleRow;
    type Record = ArticleDetail;
    type Id = ArticleId;
    type Form = ArticleForm;

    const ENTITY: Entity = Entity::Article;
    const TITLE: &'static str = "Articles";
    const SPEC: &'static crate::db::admin::Spec = &crate::db::admin::ARTICLES;
    const DEFAULT_SORT: (&'static str, bool) = ("created", true);
    const COLUMNS: &'static [Column] = &[
        Column::sorted("Id", "id"),
        Column::sorted("Title", "title"),
        Column::sorted("Author", "author"),
        Column::sorted("Comments", "comments"),
        Column::sorted("Created", "created"),
    ];
    const CSV: &'static [&'static str] = &[
        "id",
        "slug",
        "title",
        "description",
        "author",
        "comments",
        "created_at",
        "updated_at",
    ];
    const BULK: &'static [&'static str] = &["delete"];
    const DELETE_QUESTION: &'static str = "Delete this article? Its comments are deleted with it.";
    const FIELDS: &'static [Field] = &[
        Field {
            name: "title",
            label: "Title",
            kind: "text",
        },
        Field {
            name: "description",
            label: "Description",
            kind: "text",
        },
        Field {
            name: "body",
            label: "Body (markdown)",
            kind: "textarea",
        },
    ];

    fn id(row: &ArticleRow) -> ArticleId {
        row.id
    }

    fn cells(a: &ArticleRow) -> Vec<Value> {
        vec![
            cell("id", a.id),
            link(
                "title",
                &a.title,
                uri!("/admin", table::edit(Entity::Article, a.id)),
            ),
            link(
                "author",
                &a.author_username,
                uri!("/admin", table::edit(Entity::User, a.author_id)),
            ),
            cell("comments", a.comments_count),
            cell("created", a.created_at.format(DATE)),
        ]
    }

    fn csv_row(a: ArticleRow) -> Vec<String> {
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
    }

    async fn load(db: &DbPool, id: ArticleId) -> Result<ArticleDetail, AppError> {
        ops::load_article(db, id).await
    }

    fn values(a: &ArticleDetail) -> Value {
        json!({ "title": a.title, "description": a.description, "body": a.body })
    }

    fn edit_view(a: &ArticleDetail) -> Value {
        json!({
            "title": format!("Article {}", a.id),
            "heading": format!("Article “{}” by {}", a.title, a.author_username),
            "view_href": uri!(crate::web::articles::show(a.slug.as_str())).to_string(),
        })
    }

    async fn save(
        db: &DbPool,
        actor: &Actor,
        id: ArticleId,
        f: ArticleForm,
    ) -> Result<String, AppError> {
        let a = ops::edit_article(db, actor, id, &f.title, &f.description, &f.body).await?;
        Ok(format!("Saved “{}”.", a.title))
    }
}

update_route!(Articles, "/articles/<id>");

/// This file's routes.
pub fn routes() -> Vec<Route> {
    routes![update]
}
