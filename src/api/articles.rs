//! Articles, favorites and comments: every `/api/articles...` endpoint.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route};
use serde::Deserialize;

use crate::api::json_writer::ArticleList;
use crate::api::views::{ArticleBody, CommentBody, CommentsBody};
use crate::auth::{Caller, CurrentUser, MaybeUser};
use crate::content;
use crate::db::articles::{Article, Filter};
use crate::db::{self, CommentId, Conn, DbPool, UserId};
use crate::error::{ApiResult, AppError, FieldErrors};
use crate::json_body::ApiJson;

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

#[get("/articles?<query..>")]
async fn list(db: Conn, me: MaybeUser, query: ArticleQuery<'_>) -> ApiResult<ArticleList> {
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
            Ok(
                db::search::search(&db, &words, &filter, me.id(), limit, offset, false)
                    .await?
                    .into(),
            )
        }
    }
}

/// The caller's feed. A header token's user is checked by the statement that reads the page
/// (see [`Caller`]), so a full page costs one round trip; an empty one is confirmed apart.
#[get("/articles/feed?<query..>")]
async fn feed(db: Conn, me: Caller, query: FeedQuery<'_>) -> ApiResult<ArticleList> {
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

#[get("/articles/<slug>")]
async fn get(db: Conn, me: MaybeUser, slug: &str) -> ApiResult<Json<ArticleBody>> {
    Ok(Json(ArticleBody {
        article: found(&db, slug, me.id()).await?.into(),
    }))
}

/// `{"article": {...}}` in requests.
#[derive(Deserialize)]
struct ArticleEnvelope<T> {
    article: T,
}

/// Article fields in a request; all optional here so a missing one is a 422 field error.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArticleInput {
    title: Option<String>,
    description: Option<String>,
    body: Option<String>,
    tag_list: Option<Vec<String>>,
}

#[post("/articles", data = "<input>")]
async fn create(
    db: Conn,
    me: CurrentUser,
    input: ApiJson<ArticleEnvelope<ArticleInput>>,
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

#[put("/articles/<slug>", data = "<input>")]
async fn update(
    db: Conn,
    me: CurrentUser,
    slug: &str,
    input: ApiJson<ArticleEnvelope<ArticleInput>>,
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

#[delete("/articles/<slug>")]
async fn remove(db: Conn, me: CurrentUser, slug: &str) -> ApiResult<Status> {
    let article = content::owned_article(&db, slug, me.0.user.id).await?;
    db::articles::delete(&db, article.id).await?;
    Ok(Status::NoContent)
}

#[post("/articles/<slug>/favorite")]
async fn favorite(db: Conn, me: CurrentUser, slug: &str) -> ApiResult<Json<ArticleBody>> {
    let user = me.0.user.id;
    let article = found(&db, slug, Some(user)).await?;
    db::articles::favorite(&db, user, article.id).await?;
    Ok(Json(ArticleBody {
        article: found(&db, slug, Some(user)).await?.into(),
    }))
}

#[delete("/articles/<slug>/favorite")]
async fn unfavorite(db: Conn, me: CurrentUser, slug: &str) -> ApiResult<Json<ArticleBody>> {
    let user = me.0.user.id;
    let article = found(&db, slug, Some(user)).await?;
    db::articles::unfavorite(&db, user, article.id).await?;
    Ok(Json(ArticleBody {
        article: found(&db, slug, Some(user)).await?.into(),
    }))
}

#[get("/articles/<slug>/comments")]
async fn comments(db: Conn, me: MaybeUser, slug: &str) -> ApiResult<Json<CommentsBody>> {
    let (_, comments) = db::articles::find_with_comments(&db, slug, me.id())
        .await?
        .ok_or(AppError::NotFound("article"))?;
    Ok(Json(CommentsBody {
        comments: comments.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize)]
struct CommentEnvelope {
    comment: CommentInput,
}

#[derive(Deserialize)]
struct CommentInput {
    body: Option<String>,
}

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

#[delete("/articles/<slug>/comments/<id>")]
async fn remove_comment(db: Conn, me: CurrentUser, slug: &str, id: CommentId) -> ApiResult<Status> {
    content::delete_comment(&db, slug, id, me.0.user.id).await?;
    Ok(Status::NoContent)
}

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
