//! Articles, favorites and comments: every `/api/articles...` endpoint.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route, State};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::json_writer::ArticleList;
use crate::api::views::{ArticleBody, ArticlesBody, CommentBody, CommentsBody};
use crate::api_doc::ErrorBody;
use crate::auth::{Caller, CurrentUser, MaybeUser};
use crate::config::AppConfig;
use crate::content;
use crate::db::articles::{Article, Filter};
use crate::db::{self, CommentId, Conn, DbPool, UserId};
use crate::error::{ApiResult, AppError, FieldErrors};
use crate::json_body::ApiJson;
use crate::search_budget::SearchBudget;

/// Default page size of the API (the RealWorld spec's).
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page the API serves; larger `limit`s are clamped to it.
pub const MAX_LIMIT: i64 = 100;
/// Largest `offset` accepted.
pub const MAX_OFFSET: i64 = 1_000_000_000;

/// Parse `limit` and `offset` query values: whole numbers, `limit` >= 1 (clamped to
/// [`MAX_LIMIT`]), `offset` >= 0. Anything else is a 422 naming the parameter.
pub fn page_params(
    limit: Option<&str>,
    offset: Option<&str>,
    default_limit: i64,
) -> Result<(i64, i64), AppError> {
    let mut errors = FieldErrors::new();
    let limit = match limit.map(str::trim).filter(|s| !s.is_empty()) {
        None => default_limit,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n >= 1 => n.min(MAX_LIMIT),
            _ => {
                errors.add(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                );
                0
            }
        },
    };
    let offset = match offset.map(str::trim).filter(|s| !s.is_empty()) {
        None => 0,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if (0..=MAX_OFFSET).contains(&n) => n,
            _ => {
                errors.add("offset", "must be a whole number of 0 or more");
                0
            }
        },
    };
    errors.into_result()?;
    Ok((limit, offset))
}

async fn page(
    db: &DbPool,
    filter: Filter,
    viewer: Option<UserId>,
    limit: Option<&str>,
    offset: Option<&str>,
) -> ApiResult<ArticleList> {
    let (limit, offset) = page_params(limit, offset, DEFAULT_LIMIT)?;
    Ok(db::articles::page(db, &filter, viewer, limit, offset)
        .await?
        .into())
}

/// A 422 naming each of `names` the query gives more than once (`?offset=1&offset=2`): which
/// one was meant is not ours to guess (Rocket's query parsing would quietly take neither).
fn given_once(uri: &rocket::http::uri::Origin<'_>, names: &[&str]) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    for name in names {
        let given = uri
            .query()
            .map_or(0, |q| q.segments().filter(|(key, _)| key == name).count());
        if given > 1 {
            errors.add(name, "is given more than once");
        }
    }
    errors.into_result()
}

/// `limit` as the document states it: a whole number from 1, or empty (the default).
pub struct PageLimit;

/// `offset` as the document states it: a whole number from 0 to [`MAX_OFFSET`], or empty.
pub struct PageOffset;

/// A whole number from `min` to `max`, or the empty string.
fn number_or_empty(
    min: i64,
    max: Option<i64>,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    let number = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(min))
        .maximum(max);
    let empty = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(0));
    OneOfBuilder::new().item(number).item(empty).into()
}

impl utoipa::PartialSchema for PageLimit {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        number_or_empty(1, None)
    }
}

impl ToSchema for PageLimit {}

impl utoipa::PartialSchema for PageOffset {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        number_or_empty(0, Some(MAX_OFFSET))
    }
}

impl ToSchema for PageOffset {}

/// The query of `GET /api/articles`. `limit` and `offset` are kept as sent, so a bad one is
/// the RealWorld 422 naming it ([`page_params`]), not Rocket's plain one.
///
/// `q` (an extension of the RealWorld list) searches: the articles holding every word of it
/// (each as a prefix), ranked as `db::search` says instead of newest first, combinable with
/// the other filters and paged the same way. A blank `q` is no search; one with no words left
/// once cleaned (only punctuation, say) matches nothing.
#[derive(FromForm)]
struct ArticleQuery<'r> {
    q: Option<String>,
    tag: Option<String>,
    author: Option<String>,
    favorited: Option<String>,
    limit: Option<&'r str>,
    offset: Option<&'r str>,
}

/// The query of `GET /api/articles/feed` (as [`ArticleQuery`]'s paging).
#[derive(FromForm)]
struct FeedQuery<'r> {
    limit: Option<&'r str>,
    offset: Option<&'r str>,
}

/// Articles, newest first (or ranked by relevance with `q`), filtered by tag, author or a
/// user's favorites; bodies are left out.
#[utoipa::path(get, path = "/articles", tag = "articles", operation_id = "listArticles",
    params(
        ("q" = Option<String>, Query, description = "Search: articles holding every word (each as a prefix), ranked by relevance. Any text is taken: only the first 200 characters are read, and what is not a word (punctuation, control characters) is ignored. Blank: no search. A search reaches its first 1,000 results (a page past them is empty) and `articlesCount` counts up to 1,000; each client address may search `search_per_minute` times a minute (429 past that)."),
        ("tag" = Option<String>, Query, description = "Only articles with this tag.", max_length = 64, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$"),
        ("author" = Option<String>, Query, description = "Only articles by this username.", max_length = 32, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$"),
        ("favorited" = Option<String>, Query, description = "Only articles this username favorited.", max_length = 32, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$"),
        ("limit" = inline(Option<PageLimit>), Query, description = "Page size (default 20; larger values are served as 100; empty: the default)."),
        ("offset" = inline(Option<PageOffset>), Query, description = "Articles to skip (default 0; empty: the default)."),
    ),
    security((), ("token" = [])),
    responses(
        (status = 200, description = "A page of articles.", body = ArticlesBody),
        (status = 422, description = "A parameter out of range (`errors` names it).", body = ErrorBody),
        (status = 429, description = "Too many searches from this address (with `q`); `Retry-After` says when to retry.", body = ErrorBody),
    ))]
#[get("/articles?<query..>")]
async fn list(
    _budget: SearchBudget,
    db: Conn,
    me: MaybeUser,
    uri: &rocket::http::uri::Origin<'_>,
    config: &State<AppConfig>,
    query: ArticleQuery<'_>,
) -> ApiResult<ArticleList> {
    given_once(uri, &["q", "tag", "author", "favorited", "limit", "offset"])?;
    let filter = Filter {
        tag: query.tag,
        author: query.author,
        favorited_by: query.favorited,
        feed_of: None,
    };
    content::check_filter(&filter)?;
    match query.q.as_deref().filter(|q| !q.trim().is_empty()) {
        None => page(&db, filter, me.id(), query.limit, query.offset).await,
        Some(q) => {
            let (limit, offset) = page_params(query.limit, query.offset, DEFAULT_LIMIT)?;
            let words = db::search::Query::parse(q, db.engine());
            let found = db::search::search(
                &db,
                &words,
                &filter,
                me.id(),
                limit,
                offset,
                false,
                config.search_rows_examined,
            )
            .await?;
            Ok(db::articles::ArticleSlice::from(found).into())
        }
    }
}

/// The caller's feed. A header token's user is checked by the statement that reads the page
/// (see [`Caller`]), so a full page costs one round trip; an empty one is confirmed apart.
/// Articles by the users the caller follows, newest first.
#[utoipa::path(get, path = "/articles/feed", tag = "articles", operation_id = "getArticlesFeed",
    params(
        ("limit" = inline(Option<PageLimit>), Query, description = "Page size (default 20; larger values are served as 100; empty: the default)."),
        ("offset" = inline(Option<PageOffset>), Query, description = "Articles to skip (default 0; empty: the default)."),
    ),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of the feed.", body = ArticlesBody),
        (status = 422, description = "A parameter out of range (`errors` names it).", body = ErrorBody),
    ))]
#[get("/articles/feed?<query..>")]
async fn feed(
    db: Conn,
    me: Caller,
    uri: &rocket::http::uri::Origin<'_>,
    query: FeedQuery<'_>,
) -> ApiResult<ArticleList> {
    given_once(uri, &["limit", "offset"])?;
    let (limit, offset) = page_params(query.limit, query.offset, DEFAULT_LIMIT)?;
    let id = me.user_id();
    let filter = Filter {
        feed_of: Some(id),
        ..Filter::default()
    };
    let page = match me.claim() {
        Some(claim) => db::articles::page_for_claim(&db, &filter, claim, limit, offset).await?,
        None => db::articles::page(&db, &filter, Some(id), limit, offset).await?,
    };
    if page.articles.is_empty() {
        me.confirm(&db).await?;
    }
    Ok(page.into())
}

async fn found(db: &DbPool, slug: &str, viewer: Option<UserId>) -> Result<Article, AppError> {
    db::articles::find(db, slug, viewer)
        .await?
        .ok_or(AppError::NotFound("article"))
}

/// One article, with its body.
#[utoipa::path(get, path = "/articles/{slug}", tag = "articles", operation_id = "getArticle",
    params(("slug" = String, Path, description = "The article's slug.")),
    security((), ("token" = [])),
    responses(
        (status = 200, description = "The article.", body = ArticleBody),
        (status = 404, description = "No such article.", body = ErrorBody),
    ))]
#[get("/articles/<slug>")]
async fn get(db: Conn, me: MaybeUser, slug: &str) -> ApiResult<Json<ArticleBody>> {
    Ok(Json(ArticleBody {
        article: found(&db, slug, me.id()).await?.into(),
    }))
}

/// `{"article": {...}}` in requests.
#[derive(Deserialize, ToSchema)]
pub struct ArticleEnvelope<T> {
    article: T,
}

/// A new article's fields (all optional here so a missing one is a 422 field error; the
/// document says what a valid one is).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewArticle {
    /// Not blank; up to 255 characters. The slug is made from it.
    #[schema(value_type = String, required = true, max_length = 255, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    title: Option<String>,
    /// Not blank; up to 1000 characters.
    #[schema(value_type = String, required = true, max_length = 1000, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    description: Option<String>,
    /// Markdown; not blank; up to 1 MiB of UTF-8.
    #[schema(value_type = String, required = true, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    body: Option<String>,
    /// Up to 10 distinct tags (any letter case) of up to 64 characters, no commas; blank
    /// ones are dropped, duplicates kept once.
    #[schema(value_type = TagNames, required = false)]
    tag_list: Option<Vec<String>>,
}

/// A request's `tagList`, as the document states it: up to 10 tags of up to 64 characters
/// with no commas or control characters (blank ones are dropped, duplicates kept once).
pub struct TagNames;

impl utoipa::PartialSchema for TagNames {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
        let tag = ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(content::TAG_MAX))
            .pattern(Some(r"^[^,\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$"));
        ArrayBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
            .items(tag)
            .max_items(Some(content::TAGS_MAX))
            .description(Some(
                "Up to 10 tags of up to 64 characters, no commas; blank ones are dropped, \
                 duplicates (any letter case) kept once. `null`: none (or, in a change, no \
                 change).",
            ))
            .into()
    }
}

impl ToSchema for TagNames {}

/// Changes to an article: absent (or `null`) fields stay as they are (the rules are
/// [`NewArticle`]'s).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArticleUpdate {
    /// Not blank; up to 255 characters. A new title gives a new slug.
    #[schema(value_type = Option<String>, required = false, max_length = 255, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    title: Option<String>,
    /// Not blank; up to 1000 characters.
    #[schema(value_type = Option<String>, required = false, max_length = 1000, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    description: Option<String>,
    /// Markdown; not blank; up to 1 MiB of UTF-8.
    #[schema(value_type = Option<String>, required = false, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    body: Option<String>,
    /// The new tag list (as for a new article).
    #[schema(value_type = TagNames, required = false)]
    tag_list: Option<Vec<String>>,
}

/// Publish an article.
#[utoipa::path(post, path = "/articles", tag = "articles", operation_id = "createArticle",
    security(("token" = [])),
    request_body = ArticleEnvelope<NewArticle>,
    responses(
        (status = 201, description = "Published.", body = ArticleBody),
        (status = 422, description = "A field breaks a rule.", body = ErrorBody),
    ))]
#[post("/articles", data = "<input>")]
async fn create(
    db: Conn,
    me: CurrentUser,
    input: ApiJson<ArticleEnvelope<NewArticle>>,
) -> ApiResult<(Status, Json<ArticleBody>)> {
    let a = input.0.article;
    let data = content::check_article(
        a.title.as_deref().unwrap_or(""),
        a.description.as_deref().unwrap_or(""),
        a.body.as_deref().unwrap_or(""),
        &a.tag_list.unwrap_or_default(),
    )?;
    let article = content::create_article(&db, me.0.user.id, &data).await?;
    Ok((
        Status::Created,
        Json(ArticleBody {
            article: article.into(),
        }),
    ))
}

/// Change one's own article.
#[utoipa::path(put, path = "/articles/{slug}", tag = "articles", operation_id = "updateArticle",
    params(("slug" = String, Path, description = "The article's slug.")),
    security(("token" = [])),
    request_body = ArticleEnvelope<ArticleUpdate>,
    responses(
        (status = 200, description = "The article after the change.", body = ArticleBody),
        (status = 403, description = "Someone else's article.", body = ErrorBody),
        (status = 404, description = "No such article.", body = ErrorBody),
        (status = 422, description = "A field breaks a rule.", body = ErrorBody),
    ))]
#[put("/articles/<slug>", data = "<input>")]
async fn update(
    db: Conn,
    me: CurrentUser,
    slug: &str,
    input: ApiJson<ArticleEnvelope<ArticleUpdate>>,
) -> ApiResult<Json<ArticleBody>> {
    let user = me.0.user.id;
    let article = content::owned_article(&db, slug, user).await?;
    let a = input.0.article;
    let data = content::check_article(
        a.title.as_deref().unwrap_or(&article.title),
        a.description.as_deref().unwrap_or(&article.description),
        a.body
            .as_deref()
            .or(article.body.as_deref())
            .unwrap_or_default(),
        a.tag_list.as_deref().unwrap_or(&article.tags),
    )?;
    let updated = content::update_article(&db, &article, &data, user).await?;
    Ok(Json(ArticleBody {
        article: updated.into(),
    }))
}

/// Delete one's own article (its comments and favorites go with it).
#[utoipa::path(delete, path = "/articles/{slug}", tag = "articles", operation_id = "deleteArticle",
    params(("slug" = String, Path, description = "The article's slug.")),
    security(("token" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Someone else's article.", body = ErrorBody),
        (status = 404, description = "No such article.", body = ErrorBody),
    ))]
#[delete("/articles/<slug>")]
async fn remove(db: Conn, me: CurrentUser, slug: &str) -> ApiResult<Status> {
    let article = content::owned_article(&db, slug, me.0.user.id).await?;
    db::articles::delete(&db, article.id).await?;
    Ok(Status::NoContent)
}

/// Favorite an article (again is no change).
#[utoipa::path(post, path = "/articles/{slug}/favorite", tag = "favorites", operation_id = "favoriteArticle",
    params(("slug" = String, Path, description = "The article's slug.")),
    security(("token" = [])),
    responses(
        (status = 200, description = "The article, favorited.", body = ArticleBody),
        (status = 404, description = "No such article.", body = ErrorBody),
    ))]
#[post("/articles/<slug>/favorite")]
async fn favorite(db: Conn, me: CurrentUser, slug: &str) -> ApiResult<Json<ArticleBody>> {
    let user = me.0.user.id;
    let article = found(&db, slug, Some(user)).await?;
    db::articles::favorite(&db, user, article.id).await?;
    Ok(Json(ArticleBody {
        article: found(&db, slug, Some(user)).await?.into(),
    }))
}

/// Take a favorite back.
#[utoipa::path(delete, path = "/articles/{slug}/favorite", tag = "favorites", operation_id = "unfavoriteArticle",
    params(("slug" = String, Path, description = "The article's slug.")),
    security(("token" = [])),
    responses(
        (status = 200, description = "The article, not favorited.", body = ArticleBody),
        (status = 404, description = "No such article.", body = ErrorBody),
    ))]
#[delete("/articles/<slug>/favorite")]
async fn unfavorite(db: Conn, me: CurrentUser, slug: &str) -> ApiResult<Json<ArticleBody>> {
    let user = me.0.user.id;
    let article = found(&db, slug, Some(user)).await?;
    db::articles::unfavorite(&db, user, article.id).await?;
    Ok(Json(ArticleBody {
        article: found(&db, slug, Some(user)).await?.into(),
    }))
}

/// An article's comments, oldest first.
#[utoipa::path(get, path = "/articles/{slug}/comments", tag = "comments", operation_id = "getArticleComments",
    params(("slug" = String, Path, description = "The article's slug.")),
    security((), ("token" = [])),
    responses(
        (status = 200, description = "The comments.", body = CommentsBody),
        (status = 404, description = "No such article.", body = ErrorBody),
    ))]
#[get("/articles/<slug>/comments")]
async fn comments(db: Conn, me: MaybeUser, slug: &str) -> ApiResult<Json<CommentsBody>> {
    let (_, comments) = db::articles::find_with_comments(&db, slug, me.id())
        .await?
        .ok_or(AppError::NotFound("article"))?;
    Ok(Json(CommentsBody {
        comments: comments.into_iter().map(Into::into).collect(),
    }))
}

/// `{"comment": {"body": ...}}`
#[derive(Deserialize, ToSchema)]
pub struct CommentEnvelope {
    comment: CommentInput,
}

/// A new comment.
#[derive(Deserialize, ToSchema)]
pub struct CommentInput {
    /// Not blank; up to 5000 characters.
    #[schema(value_type = String, required = true, max_length = 5000, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*[^\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    body: Option<String>,
}

/// Comment on an article.
#[utoipa::path(post, path = "/articles/{slug}/comments", tag = "comments", operation_id = "createArticleComment",
    params(("slug" = String, Path, description = "The article's slug.")),
    security(("token" = [])),
    request_body = CommentEnvelope,
    responses(
        (status = 200, description = "The comment.", body = CommentBody),
        (status = 404, description = "No such article.", body = ErrorBody),
        (status = 422, description = "A blank or too long body.", body = ErrorBody),
    ))]
#[post("/articles/<slug>/comments", data = "<input>")]
async fn add_comment(
    db: Conn,
    me: CurrentUser,
    slug: &str,
    input: ApiJson<CommentEnvelope>,
) -> ApiResult<Json<CommentBody>> {
    let user = me.0.user.id;
    let article = found(&db, slug, Some(user)).await?;
    let body = content::check_comment(input.0.comment.body.as_deref().unwrap_or(""))?;
    let id = db::comments::insert(&db, article.id, user, &body).await?;
    let comment = db::comments::find(&db, article.id, id, Some(user))
        .await?
        .ok_or(AppError::NotFound("comment"))?;
    Ok(Json(CommentBody {
        comment: comment.into(),
    }))
}

/// Delete one's own comment.
#[utoipa::path(delete, path = "/articles/{slug}/comments/{id}", tag = "comments", operation_id = "deleteArticleComment",
    params(
        ("slug" = String, Path, description = "The article's slug."),
        ("id" = i64, Path, description = "The comment's id."),
    ),
    security(("token" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Someone else's comment.", body = ErrorBody),
        (status = 404, description = "No such article or comment.", body = ErrorBody),
    ))]
#[delete("/articles/<slug>/comments/<id>")]
async fn remove_comment(db: Conn, me: CurrentUser, slug: &str, id: CommentId) -> ApiResult<Status> {
    content::delete_comment(&db, slug, id, me.0.user.id).await?;
    Ok(Status::NoContent)
}

/// The documentation of this module's routes (`crate::api_doc`): list each route here too.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    feed,
    get,
    create,
    update,
    remove,
    favorite,
    unfavorite,
    comments,
    add_comment,
    remove_comment
))]
pub struct Doc;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![
        list,
        feed,
        get,
        create,
        update,
        remove,
        favorite,
        unfavorite,
        comments,
        add_comment,
        remove_comment
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_params_validate_and_clamp() {
        assert_eq!(page_params(None, None, 20).unwrap(), (20, 0));
        assert_eq!(page_params(Some("5"), Some("10"), 20).unwrap(), (5, 10));
        assert_eq!(
            page_params(Some("100000"), None, 20).unwrap(),
            (MAX_LIMIT, 0)
        );
        for (limit, offset) in [
            (Some("0"), None),
            (Some("-1"), None),
            (Some("ten"), None),
            (None, Some("-5")),
            (None, Some("99999999999999999999")),
        ] {
            assert!(
                matches!(page_params(limit, offset, 20), Err(AppError::Invalid(_))),
                "{limit:?} {offset:?}"
            );
        }
    }
}
