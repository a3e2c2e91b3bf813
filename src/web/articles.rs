//! The home page (feeds), the article page with its comments, the editor, and the article
//! buttons (favorite, delete, comment). Every button is a form: POST, then a redirect back.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, Route, State};
use serde_json::json;

use crate::auth::csrf::CsrfForm;
use crate::auth::{CurrentUser, MaybeUser};
use crate::config::AppConfig;
use crate::content;
use crate::db::articles::{Article, Filter};
use crate::db::{self, Conn, DbPool};
use crate::error::{AppError, PageResult};
use crate::web::layout::{done, form_errors, safe_next, Layout};
use crate::web::session::PageOr;
use crate::web::views::{ArticleView, CommentView, Pager, TagView};

/// A page number from the query: 1 when absent, malformed or below 1.
pub fn page_number(page: Option<&str>) -> i64 {
    page.and_then(|p| p.trim().parse::<i64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1)
}

/// One page of previews plus its pager.
pub async fn previews(
    db: &DbPool,
    filter: &Filter,
    viewer: Option<i64>,
    page: i64,
    size: i64,
    base: &str,
) -> Result<(Vec<ArticleView>, Pager), AppError> {
    let found = db::articles::page(db, filter, viewer, size, (page - 1) * size).await?;
    let total = found.total;
    let views = found
        .articles
        .into_iter()
        .map(|a| ArticleView::new(a, viewer))
        .collect();
    Ok((views, Pager::new(total, size, page, base)))
}

fn encode(s: &str) -> String {
    crate::error::percent_encode(s)
}

#[get("/?<tag>&<feed>&<page>")]
async fn home(
    db: Conn,
    layout: Layout,
    me: MaybeUser,
    config: &State<AppConfig>,
    tag: Option<String>,
    feed: Option<&str>,
    page: Option<&str>,
) -> PageResult<rocket_dyn_templates::Template> {
    let viewer = me.id();
    let tag = tag.filter(|t| !t.trim().is_empty());
    let (tab, filter, base) = match (&tag, feed, viewer) {
        (Some(tag), _, _) => (
            "tag",
            Filter {
                tag: Some(tag.clone()),
                ..Filter::default()
            },
            format!("/?tag={}", encode(tag)),
        ),
        (None, Some("you"), Some(id)) => (
            "you",
            Filter {
                feed_of: Some(id),
                ..Filter::default()
            },
            "/?feed=you".to_owned(),
        ),
        _ => ("global", Filter::default(), "/".to_owned()),
    };
    let page = page_number(page);
    let (articles, pager) = previews(&db, &filter, viewer, page, config.page_size, &base).await?;
    let tags = db::tags::popular(&db, 20)
        .await?
        .into_iter()
        .map(TagView::from)
        .collect();
    let here = if page > 1 {
        format!("{base}{}page={page}", if base.contains('?') { '&' } else { '?' })
    } else {
        base
    };
    Ok(layout.render(
        "home/index",
        HomePage {
            title: "Home",
            active: "home",
            tab,
            tag,
            articles,
            pager,
            tags,
            here,
        },
    ))
}

/// What `home/index` shows.
#[derive(serde::Serialize)]
struct HomePage {
    title: &'static str,
    active: &'static str,
    /// `global`, `you` or `tag`.
    tab: &'static str,
    tag: Option<String>,
    articles: Vec<ArticleView>,
    pager: Pager,
    tags: Vec<TagView>,
    /// This page's URL, where its buttons come back to.
    here: String,
}

/// What `articles/show` shows.
#[derive(serde::Serialize)]
struct ArticlePage {
    title: String,
    article: ArticleView,
    comments: Vec<CommentView>,
    /// The comment form's values and errors after a failed submission.
    comment_form: serde_json::Value,
    here: String,
}

async fn article_page(
    db: &DbPool,
    layout: &Layout,
    slug: &str,
    viewer: Option<i64>,
    comment_form: serde_json::Value,
    status: Status,
) -> PageResult<(Status, rocket_dyn_templates::Template)> {
    let article = db::articles::find(db, slug, viewer)
        .await?
        .ok_or(AppError::NotFound("article"))?;
    let comments = db::comments::list(db, article.id, viewer).await?;
    let comments: Vec<CommentView> = comments.into_iter().map(|c| CommentView::new(c, viewer)).collect();
    let view = ArticleView::new(article, viewer);
    let here = format!("/article/{}", view.slug);
    Ok((
        status,
        layout.render(
            "articles/show",
            ArticlePage {
                title: view.title.clone(),
                article: view,
                comments,
                comment_form,
                here,
            },
        ),
    ))
}

#[get("/article/<slug>")]
async fn show(
    db: Conn,
    layout: Layout,
    me: MaybeUser,
    slug: &str,
) -> PageResult<(Status, rocket_dyn_templates::Template)> {
    article_page(&db, &layout, slug, me.id(), json!({}), Status::Ok).await
}

/// The editor form.
#[derive(FromForm)]
pub struct ArticleForm {
    #[field(default = String::new())]
    title: String,
    #[field(default = String::new())]
    description: String,
    #[field(default = String::new())]
    body: String,
    #[field(default = String::new())]
    tags: String,
}

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
) -> (Status, rocket_dyn_templates::Template) {
    let errors = errors.map(form_errors);
    let title = if slug.is_some() { "Edit article" } else { "New article" };
    (
        status,
        layout.render(
            "articles/editor",
            json!({ "title": title, "active": "editor", "form": form, "slug": slug, "errors": errors }),
        ),
    )
}

#[get("/editor")]
fn new(_me: CurrentUser, layout: Layout) -> (Status, rocket_dyn_templates::Template) {
    editor(&layout, &json!({}), None, None, Status::Ok)
}

#[post("/editor", data = "<form>")]
async fn create(db: Conn, me: CurrentUser, layout: Layout, form: CsrfForm<ArticleForm>) -> PageResult<PageOr> {
    let f = form.0;
    let kept = json!({ "title": f.title, "description": f.description, "body": f.body, "tags": f.tags });
    let result = async {
        let data = content::check_article(&f.title, &f.description, &f.body, &split_tags(&f.tags))?;
        content::create_article(&db, me.0.user.id, &data).await
    }
    .await;
    match result {
        Ok(article) => Ok(PageOr::Redirect(done(
            format!("/article/{}", article.slug),
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
) -> PageResult<(Status, rocket_dyn_templates::Template)> {
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
    form: CsrfForm<ArticleForm>,
) -> PageResult<PageOr> {
    let user = me.0.user.id;
    let article: Article = content::owned_article(&db, slug, user).await?;
    let f = form.0;
    let kept = json!({ "title": f.title, "description": f.description, "body": f.body, "tags": f.tags });
    let result = async {
        let data = content::check_article(&f.title, &f.description, &f.body, &split_tags(&f.tags))?;
        content::update_article(&db, &article, &data, user).await
    }
    .await;
    match result {
        Ok(article) => Ok(PageOr::Redirect(done(
            format!("/article/{}", article.slug),
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

/// A button form: only the CSRF token and where to go back to.
#[derive(FromForm)]
pub struct ButtonForm {
    /// Verified by `CsrfForm` before the handler runs.
    #[field(default = String::new())]
    pub csrf_token: String,
    /// The page the button was on.
    pub back: Option<String>,
}

impl ButtonForm {
    /// Where to go after the action: the page the button was on, or `fallback`.
    pub fn back_or(&self, fallback: &str) -> String {
        match self.back.as_deref() {
            Some(b) if !b.is_empty() => safe_next(Some(b)),
            _ => fallback.to_owned(),
        }
    }
}

#[post("/article/<slug>/delete", data = "<_form>")]
async fn delete(
    db: Conn,
    me: CurrentUser,
    slug: &str,
    _form: CsrfForm<ButtonForm>,
) -> PageResult<rocket::response::Flash<Redirect>> {
    let article = content::owned_article(&db, slug, me.0.user.id).await?;
    db::articles::delete(&db, article.id).await?;
    Ok(done("/", format!("“{}” was deleted.", article.title)))
}

/// Favorite (`on`) or un-favorite the article at `slug`, then go back where the button was.
async fn set_favorite(db: &DbPool, user: i64, slug: &str, form: &ButtonForm, on: bool) -> PageResult<Flash<Redirect>> {
    let article = db::articles::find(db, slug, Some(user))
        .await?
        .ok_or(AppError::NotFound("article"))?;
    let message = if on {
        db::articles::favorite(db, user, article.id).await?;
        format!("Added “{}” to your favorites.", article.title)
    } else {
        db::articles::unfavorite(db, user, article.id).await?;
        format!("Removed “{}” from your favorites.", article.title)
    };
    Ok(done(form.back_or(&format!("/article/{slug}")), message))
}

#[post("/article/<slug>/favorite", data = "<form>")]
async fn favorite(db: Conn, me: CurrentUser, slug: &str, form: CsrfForm<ButtonForm>) -> PageResult<Flash<Redirect>> {
    set_favorite(&db, me.0.user.id, slug, &form.0, true).await
}

#[post("/article/<slug>/unfavorite", data = "<form>")]
async fn unfavorite(db: Conn, me: CurrentUser, slug: &str, form: CsrfForm<ButtonForm>) -> PageResult<Flash<Redirect>> {
    set_favorite(&db, me.0.user.id, slug, &form.0, false).await
}

/// The comment form.
#[derive(FromForm)]
pub struct CommentForm {
    #[field(default = String::new())]
    body: String,
}

#[post("/article/<slug>/comments", data = "<form>")]
async fn comment(
    db: Conn,
    me: CurrentUser,
    layout: Layout,
    slug: &str,
    form: CsrfForm<CommentForm>,
) -> PageResult<PageOr> {
    let user = me.0.user.id;
    let article = db::articles::find(&db, slug, Some(user))
        .await?
        .ok_or(AppError::NotFound("article"))?;
    match content::check_comment(&form.0.body) {
        Ok(body) => {
            let id = db::comments::insert(&db, article.id, user, &body).await?;
            Ok(PageOr::Redirect(done(
                format!("/article/{slug}#comment-{id}"),
                "Your comment is posted.",
            )))
        }
        Err(AppError::Invalid(fields)) => {
            let kept = json!({ "body": form.0.body, "errors": fields.full_messages() });
            let (status, page) =
                article_page(&db, &layout, slug, Some(user), kept, Status::UnprocessableEntity).await?;
            Ok(PageOr::Page((status, page)))
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/article/<slug>/comments/<id>/delete", data = "<_form>")]
async fn delete_comment(
    db: Conn,
    me: CurrentUser,
    slug: &str,
    id: i64,
    _form: CsrfForm<ButtonForm>,
) -> PageResult<rocket::response::Flash<Redirect>> {
    crate::api::articles::delete_comment(&db, slug, id, me.0.user.id).await?;
    Ok(done(format!("/article/{slug}#comments"), "Your comment was deleted."))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![
        home,
        show,
        new,
        create,
        edit,
        update,
        delete,
        favorite,
        unfavorite,
        comment,
        delete_comment
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_on_spaces_and_commas() {
        assert_eq!(split_tags(" rust, web  dragons,,"), vec!["rust", "web", "dragons"]);
    }

    #[test]
    fn bad_page_numbers_mean_the_first_page() {
        assert_eq!(page_number(Some("3")), 3);
        for bad in [None, Some("0"), Some("-2"), Some("x"), Some("99999999999")] {
            assert_eq!(page_number(bad), 1, "{bad:?}");
        }
    }
}
