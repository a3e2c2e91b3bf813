//! The editor: writing a new article and editing one's own. The form is read as
//! `CsrfContextual` (Rocket's `Contextual` behind the CSRF check), each field checked by the
//! article rules as it is parsed; a refused form comes back with its errors and what was typed.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{get, post, routes, uri, Route};
use serde_json::json;

use crate::auth::csrf::CsrfContextual;
use crate::auth::CurrentUser;
use crate::content;
use crate::db::articles::Article;
use crate::db::Conn;
use crate::error::{AppError, PageResult};
use crate::input::{self, rule, Max};
use crate::web::layout::{done, form_errors, take, Layout, PageOr};
use crate::web::render::RenderedPage;

/// The editor form, each field checked as Rocket reads it with the article rules
/// (`content::check_article`, which the handler applies again to clean the values).
#[derive(FromForm)]
pub struct ArticleForm {
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| input::required(e, "title", v, Max::Chars(content::TITLE_MAX))))]
    title: String,
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| input::required(e, "description", v, Max::Chars(content::DESCRIPTION_MAX))))]
    description: String,
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| input::required(e, "body", v, Max::Bytes(content::BODY_MAX))))]
    body: String,
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| { content::clean_tags(e, &split_tags(v)); }))]
    tags: String,
}

/// The editor's fields, as shown again after an error.
const ARTICLE_FIELDS: &[&str] = &["title", "description", "body", "tags"];

/// Tags as typed in the editor: separated by spaces or commas.
fn split_tags(tags: &str) -> Vec<String> {
    tags.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn editor(
    layout: &Layout,
    form: &serde_json::Value,
    slug: Option<&str>,
    errors: Option<&AppError>,
    status: Status,
) -> (Status, RenderedPage) {
    let errors = errors.map(form_errors);
    let title = if slug.is_some() {
        "Edit article"
    } else {
        "New article"
    };
    let action = match slug {
        Some(slug) => uri!(update(slug)),
        None => uri!(create),
    };
    (
        status,
        layout.render(
            "articles/editor",
            json!({ "title": title, "active": "editor", "form": form, "slug": slug, "errors": errors, "action": action.to_string() }),
        ),
    )
}

#[get("/editor")]
pub(crate) fn new(_me: CurrentUser, layout: Layout) -> (Status, RenderedPage) {
    editor(&layout, &json!({}), None, None, Status::Ok)
}

#[post("/editor", data = "<form>")]
async fn create(
    db: Conn,
    me: CurrentUser,
    layout: Layout,
    form: CsrfContextual<'_, ArticleForm>,
) -> PageResult<PageOr> {
    let (value, kept) = take(form.into_inner(), ARTICLE_FIELDS);
    let result = async {
        let f = value?;
        let data = content::check_article(&f.title, &f.description, &f.body, &split_tags(&f.tags))?;
        content::create_article(&db, me.0.user.id, &data).await
    }
    .await;
    match result {
        Ok(article) => Ok(PageOr::Redirect(done(
            uri!(crate::web::articles::show(article.slug.as_str())),
            "Your article is published.",
        ))),
        Err(e @ AppError::Invalid(_)) => Ok(PageOr::Page(editor(
            &layout,
            &kept,
            None,
            Some(&e),
            Status::UnprocessableEntity,
        ))),
        Err(e) => Err(e.into()),
    }
}

#[get("/editor/<slug>")]
async fn edit(
    db: Conn,
    me: CurrentUser,
    layout: Layout,
    slug: &str,
) -> PageResult<(Status, RenderedPage)> {
    let article = content::owned_article(&db, slug, me.0.user.id).await?;
    let form = json!({
        "title": article.title, "description": article.description,
        "body": article.body, "tags": article.tags.join(" "),
    });
    Ok(editor(&layout, &form, Some(slug), None, Status::Ok))
}

#[post("/editor/<slug>", data = "<form>")]
async fn update(
    db: Conn,
    me: CurrentUser,
    layout: Layout,
    slug: &str,
    form: CsrfContextual<'_, ArticleForm>,
) -> PageResult<PageOr> {
    let (value, kept) = take(form.into_inner(), ARTICLE_FIELDS);
    let user = me.0.user.id;
    let article: Article = content::owned_article(&db, slug, user).await?;
    let result = async {
        let f = value?;
        let data = content::check_article(&f.title, &f.description, &f.body, &split_tags(&f.tags))?;
        content::update_article(&db, &article, &data, user).await
    }
    .await;
    match result {
        Ok(article) => Ok(PageOr::Redirect(done(
            uri!(crate::web::articles::show(article.slug.as_str())),
            "Your article is updated.",
        ))),
        Err(e @ AppError::Invalid(_)) => Ok(PageOr::Page(editor(
            &layout,
            &kept,
            Some(slug),
            Some(&e),
            Status::UnprocessableEntity,
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![new, create, edit, update]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_on_spaces_and_commas() {
        assert_eq!(
            split_tags(" rust, web  dragons,,"),
            vec!["rust", "web", "dragons"]
        );
    }
}
