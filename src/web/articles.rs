//! The home page (feeds), the article page with its comments, and the article buttons
//! (favorite, delete, comment); the editor is `editor.rs`. Every button is a form: POST, then a redirect back.
//! Forms are read as `CsrfContextual` (Rocket's `Contextual` behind the CSRF check), their
//! fields checked by the content rules as they are parsed; links and redirects are `uri!`s.

use std::sync::Arc;

use rocket::form::{Contextual, FromForm};
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, uri, Route, State, UriDisplayQuery};
use serde::Serialize;
use serde_json::json;

use crate::auth::csrf::CsrfContextual;
use crate::auth::{CurrentUser, MaybeUser};
use crate::cache::Key;
use crate::config::AppConfig;
use crate::content;
use crate::db::articles::Filter;
use crate::db::{self, CommentId, Conn, DbPool, UserId};
use crate::error::{AppError, PageResult};
use crate::input::{self, rule, Max};
use crate::web::feeds;
use crate::web::head::HeadView;
use crate::web::layout::{done, safe_next, take, Layout, PageOr};
use crate::web::lists::{previews, At};
use crate::web::render::RenderedPage;
use crate::web::views::{ArticleAction, ArticleView, CommentView, TagView};

/// The home page's query: `?tag=` (that tag's articles), `?feed=you` (a signed-in user's
/// feed) and the place in the list, `?before=` / `?after=` (keyset cursors) or an old `?page=`
/// (kept as sent, see [`At::parse`]).
#[derive(Debug, Default, FromForm, UriDisplayQuery)]
pub struct HomeQuery {
    /// A tag.
    pub tag: Option<String>,
    /// `you` for the signed-in user's feed.
    pub feed: Option<String>,
    /// An old page number.
    pub page: Option<String>,
    /// The articles older than this id.
    pub before: Option<String>,
    /// The articles newer than this id.
    pub after: Option<String>,
}

/// The home page's URL: the articles tagged `tag`, or the `feed`, at `at`.
pub fn home_link(tag: Option<&str>, feed: Option<&str>, at: At) -> String {
    let (page, before, after) = at.query();
    let query = HomeQuery {
        tag: tag.map(str::to_owned),
        feed: feed.map(str::to_owned),
        page,
        before,
        after,
    };
    uri!(home(query)).to_string()
}

#[get("/?<query..>")]
async fn home(
    db: Conn,
    layout: Layout,
    me: MaybeUser,
    config: &State<AppConfig>,
    query: HomeQuery,
) -> PageResult<RenderedPage> {
    let viewer = me.id();
    let tag = query.tag.filter(|t| !t.trim().is_empty());
    let (tab, filter, feed) = match (&tag, query.feed.as_deref(), viewer) {
        (Some(tag), _, _) => (
            "tag",
            Filter {
                tag: Some(tag.clone()),
                ..Filter::default()
            },
            None,
        ),
        (None, Some("you"), Some(id)) => (
            "you",
            Filter {
                feed_of: Some(id),
                ..Filter::default()
            },
            Some("you"),
        ),
        _ => ("global", Filter::default(), None),
    };
    content::check_filter(&filter)?;
    let at = At::parse(
        query.page.as_deref(),
        query.before.as_deref(),
        query.after.as_deref(),
        config.page_size,
    )?;
    let link = |at| home_link(tag.as_deref(), feed, at);
    let list = previews(
        &db,
        &layout,
        &filter,
        &link,
        at,
        config.page_size,
        Some(POPULAR_TAGS),
    )
    .await?;
    let packed = list.popular_tags;
    let popular_tags =
        layout.fragment("partials/popular_tags", &Key::new().with(&packed), || {
            TagsContext {
                tags: db::tags::split_names(&packed)
                    .into_iter()
                    .map(|name| TagView::new(&layout.links, name))
                    .collect(),
            }
        })?;
    // The global and tag lists announce their feeds; a reader's own feed has none.
    let head = match (tab, &tag) {
        ("tag", Some(tag)) => Some(HeadView::feed(
            format!("Conduit: #{tag}"),
            feeds::site_link(Some(tag)),
        )),
        ("global", _) => Some(HeadView::feed("Conduit".to_owned(), feeds::site_link(None))),
        _ => None,
    };
    Ok(layout.render(
        "home/index",
        HomePage {
            head,
            title: "Home",
            active: "home",
            tab,
            tag_url: tag.as_deref().map(|t| (layout.links.tag)(t)),
            your_feed_url: home_link(None, Some("you"), At::First),
            global_url: home_link(None, None, At::First),
            tag,
            previews: list.html,
            pager: list.pager,
            popular_tags,
            here: list.here,
        },
    ))
}

/// How many tags the home page's sidebar shows.
const POPULAR_TAGS: i64 = 20;

/// What `partials/popular_tags` shows.
#[derive(Serialize)]
struct TagsContext {
    tags: Vec<TagView>,
}

/// What `home/index` shows.
#[derive(serde::Serialize)]
struct HomePage {
    /// The feed the list announces.
    head: Option<HeadView>,
    title: &'static str,
    active: &'static str,
    /// `global`, `you` or `tag`.
    tab: &'static str,
    tag: Option<String>,
    /// The tag's tab.
    tag_url: Option<String>,
    /// The "Your Feed" tab.
    your_feed_url: String,
    /// The "Global Feed" tab.
    global_url: String,
    /// The rendered previews.
    previews: Vec<Arc<str>>,
    /// The rendered pager and tag list.
    pager: Arc<str>,
    popular_tags: Arc<str>,
    /// This page's URL, where its buttons come back to.
    here: String,
}

/// What `articles/show` shows.
#[derive(Serialize)]
struct ArticlePage {
    /// Canonical link and preview meta.
    /// The rendered `partials/head` (canonical link, previews), memoized by the article.
    head_html: Arc<str>,
    title: String,
    /// Where the comment form posts.
    comment_url: Option<String>,
    /// The login page, coming back here.
    login_url: Option<String>,
    /// The sign-up page, beside `login_url`.
    register_url: Option<String>,
    /// Sanitized HTML of the body.
    body_html: Arc<str>,
    tags: Vec<TagView>,
    /// The rendered `partials/article_meta`, shown above and below the article.
    meta: Arc<str>,
    /// Each comment, rendered by `partials/comment`.
    comments: Vec<Arc<str>>,
    /// The comment form's values and errors after a failed submission.
    comment_form: serde_json::Value,
    here: String,
}

/// What `partials/head` shows.
#[derive(Serialize)]
struct HeadContext {
    head: HeadView,
}

/// What `partials/article_meta` shows.
#[derive(Serialize)]
struct MetaContext<'a> {
    article: ArticleView,
    here: &'a str,
    /// The login page, coming back here (for a visitor who is not signed in).
    login_url: Option<String>,
    /// For a signed-in viewer's buttons.
    csrf_token: Option<&'a str>,
}

/// What `partials/comment` shows.
#[derive(Serialize)]
struct CommentContext<'a> {
    comment: CommentView,
    /// Only for the comment's author (its delete form).
    csrf_token: Option<&'a str>,
}

async fn article_page(
    db: &DbPool,
    layout: &Layout,
    slug: &str,
    viewer: Option<UserId>,
    comment_form: serde_json::Value,
    status: Status,
) -> PageResult<(Status, RenderedPage)> {
    let (mut article, comments) = db::articles::find_with_comments(db, slug, viewer)
        .await?
        .ok_or(AppError::NotFound("article"))?;
    let url = (layout.links.article)(&article.slug);
    let csrf = layout.user.is_some().then_some(layout.csrf.as_str());
    // The meta fragment shows no body: keep it out of the fragment's inputs.
    let body_html =
        crate::markdown::to_safe_html(article.body.take().as_deref().unwrap_or_default());
    // The `<head>` meta depend on the article alone: a memoized fragment, like the meta block.
    let head_html = layout.fragment("partials/head", &Key::new().with(&article), || {
        HeadContext {
            head: HeadView::article(
                &layout.public_url,
                &ArticleView::new(&layout.links, article.clone(), None),
                &article.updated_at,
            ),
        }
    })?;
    let inputs = Key::new().with(&article).with(&viewer).with(&csrf);
    let meta = layout.fragment("partials/article_meta", &inputs, || MetaContext {
        article: ArticleView::new(&layout.links, article.clone(), viewer),
        here: &url,
        login_url: csrf.is_none().then(|| (layout.links.login)(Some(&url))),
        csrf_token: csrf,
    })?;
    let comments = comments
        .into_iter()
        .map(|comment| {
            let mine = viewer == Some(comment.author_id);
            let csrf = csrf.filter(|_| mine);
            let inputs = Key::new()
                .with(&comment)
                .with(&viewer)
                .with(&url)
                .with(&csrf);
            layout.fragment("partials/comment", &inputs, || CommentContext {
                comment: CommentView::new(&layout.links, &article.slug, comment, viewer),
                csrf_token: csrf,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((
        status,
        layout.render(
            "articles/show",
            ArticlePage {
                head_html,
                title: article.title,
                tags: article
                    .tags
                    .into_iter()
                    .map(|name| TagView::new(&layout.links, name))
                    .collect(),
                comment_url: csrf
                    .map(|_| (layout.links.article_action)(&article.slug, ArticleAction::Comment)),
                login_url: csrf.is_none().then(|| (layout.links.login)(Some(&url))),
                register_url: csrf.is_none().then(|| (layout.links.register)()),
                here: url,
                body_html,
                meta,
                comments,
                comment_form,
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
) -> PageResult<(Status, RenderedPage)> {
    article_page(&db, &layout, slug, me.id(), json!({}), Status::Ok).await
}

/// A button form: only the CSRF token and where to go back to.
#[derive(FromForm)]
pub struct ButtonForm {
    /// Verified by `CsrfForm` before the handler runs.
    #[field(default = String::new())]
    pub csrf_token: String,
    /// The page the button was on: a local path ([`safe_next`]'s rule), or nothing.
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| if !v.is_empty() && safe_next(Some(v)) != v {
        e.add("back", "is not a page of this site");
    }))]
    pub back: String,
}

/// Where to go after a button's action: the page the button was on, home when it named a page
/// that is not this site's, or `None` (the thing acted on) when it named none.
pub fn back_to(form: Contextual<'_, ButtonForm>) -> Option<String> {
    match form.value {
        Some(f) if !f.back.is_empty() => Some(f.back),
        Some(_) => None,
        None => Some(home_link(None, None, At::First)),
    }
}

#[post("/article/<slug>/delete", data = "<_form>")]
async fn delete(
    db: Conn,
    me: CurrentUser,
    slug: &str,
    _form: CsrfContextual<'_, ButtonForm>,
) -> PageResult<Flash<Redirect>> {
    let article = content::owned_article(&db, slug, me.0.user.id).await?;
    db::articles::delete(&db, article.id).await?;
    Ok(done(
        home_link(None, None, At::First),
        format!("“{}” was deleted.", article.title),
    ))
}

/// Favorite (`on`) or un-favorite the article at `slug`, then go back where the button was.
async fn set_favorite(
    db: &DbPool,
    user: UserId,
    slug: &str,
    back: Option<String>,
    on: bool,
) -> PageResult<Flash<Redirect>> {
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
    Ok(done(
        back.unwrap_or_else(|| uri!(show(slug)).to_string()),
        message,
    ))
}

#[post("/article/<slug>/favorite", data = "<form>")]
async fn favorite(
    db: Conn,
    me: CurrentUser,
    slug: &str,
    form: CsrfContextual<'_, ButtonForm>,
) -> PageResult<Flash<Redirect>> {
    set_favorite(&db, me.0.user.id, slug, back_to(form.into_inner()), true).await
}

#[post("/article/<slug>/unfavorite", data = "<form>")]
async fn unfavorite(
    db: Conn,
    me: CurrentUser,
    slug: &str,
    form: CsrfContextual<'_, ButtonForm>,
) -> PageResult<Flash<Redirect>> {
    set_favorite(&db, me.0.user.id, slug, back_to(form.into_inner()), false).await
}

/// The comment form, checked with the comment rules (`content::check_comment`).
#[derive(FromForm)]
pub struct CommentForm {
    #[field(default = String::new())]
    #[field(validate = rule(|e, v| input::required(e, "body", v, Max::Chars(content::COMMENT_MAX))))]
    body: String,
}

#[post("/article/<slug>/comments", data = "<form>")]
async fn comment(
    db: Conn,
    me: CurrentUser,
    layout: Layout,
    slug: &str,
    form: CsrfContextual<'_, CommentForm>,
) -> PageResult<PageOr> {
    let (value, kept) = take(form.into_inner(), &["body"]);
    let user = me.0.user.id;
    let article = db::articles::find(&db, slug, Some(user))
        .await?
        .ok_or(AppError::NotFound("article"))?;
    match value.and_then(|f| content::check_comment(&f.body)) {
        Ok(body) => {
            let id = db::comments::insert(&db, article.id, user, &body).await?;
            Ok(PageOr::Redirect(done(
                format!("{}#comment-{id}", uri!(show(slug))),
                "Your comment is posted.",
            )))
        }
        Err(AppError::Invalid(fields)) => {
            // `errors` flags the form; `summary` is what `forms::errors` shows above it.
            let messages = fields.full_messages();
            let kept = json!({ "body": kept["body"], "errors": messages, "summary": { "list": messages, "fields": fields.0 } });
            let (status, page) = article_page(
                &db,
                &layout,
                slug,
                Some(user),
                kept,
                Status::UnprocessableEntity,
            )
            .await?;
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
    id: CommentId,
    _form: CsrfContextual<'_, ButtonForm>,
) -> PageResult<Flash<Redirect>> {
    content::delete_comment(&db, slug, id, me.0.user.id).await?;
    Ok(done(
        format!("{}#comments", uri!(show(slug))),
        "Your comment was deleted.",
    ))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![
        home,
        show,
        delete,
        favorite,
        unfavorite,
        comment,
        delete_comment
    ]
}
