//! Rules for what users write (articles, tags, comments), shared by the API and the site, and
//! the article and comment operations both faces perform.
//!
//! Every limit fits its column (`migrations/*/20261124000001_initial.sql`); every field also
//! passes the shared checks of [`crate::input`] (no control characters).

use crate::db::articles::{Article, ArticleData, Filter};
use crate::db::{self, CommentId, DbPool, UserId};
use crate::error::{AppError, FieldErrors};
use crate::input::{self, required, Max, Problem};

/// Longest title, in characters (`articles.title VARCHAR(255)`).
pub const TITLE_MAX: usize = 255;
/// Longest description, in characters (`articles.description VARCHAR(1024)`).
pub const DESCRIPTION_MAX: usize = 1000;
/// Longest body, in bytes (`articles.body MEDIUMTEXT`, 16 MiB).
pub const BODY_MAX: usize = 1024 * 1024;
/// Most tags per article (their names, comma-joined, fill `articles.tag_list VARCHAR(1024)`).
pub const TAGS_MAX: usize = 10;
/// Longest tag, in characters (`tags.name VARCHAR(64)`).
pub const TAG_MAX: usize = 64;
/// Longest comment, in characters (`comments.body TEXT`, 64 KiB: 4 bytes a character at most).
pub const COMMENT_MAX: usize = 5000;
pub use crate::input::{could_be_slug, SLUG_MAX};

/// Check the filters of an article list (`?tag=`, `?author=`, `?favorited=`) against the
/// columns they are compared with: a 422 naming the parameter, before any query.
pub fn check_filter(filter: &Filter) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let fields = [
        ("tag", &filter.tag, TAG_MAX),
        ("author", &filter.author, input::USERNAME_MAX),
        ("favorited", &filter.favorited_by, input::USERNAME_MAX),
    ];
    for (field, value, max) in fields {
        if let Some(value) = value {
            input::check(&mut errors, field, value, Max::Chars(max));
        }
    }
    errors.into_result()
}

/// Clean and check a tag list: trimmed, no empties, no duplicates (any letter case).
pub fn clean_tags(errors: &mut FieldErrors, tags: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut clean = Vec::new();
    for tag in tags {
        let tag = tag.trim();
        if tag.is_empty() {
            continue;
        }
        match input::problem(tag, Max::Chars(TAG_MAX)) {
            Some(Problem::TooLong(_)) => {
                errors.add(
                    "tagList",
                    format!("has a tag longer than {TAG_MAX} characters"),
                );
                continue;
            }
            Some(problem) => {
                errors.add("tagList", format!("has a tag that {}", problem.message()));
                continue;
            }
            None => {}
        }
        if tag.contains(',') {
            errors.add("tagList", "tags may not contain commas");
            continue;
        }
        if seen.insert(tag.to_lowercase()) {
            clean.push(tag.to_owned());
        }
    }
    // Counted as sent (blank and repeated ones too), so the limit is what a client can see.
    if tags.len() > TAGS_MAX {
        errors.add(
            "tagList",
            format!("has too many tags (maximum is {TAGS_MAX})"),
        );
    }
    clean
}

/// Validate a whole article; returns the cleaned data.
pub fn check_article(
    title: &str,
    description: &str,
    body: &str,
    tags: &[String],
) -> Result<ArticleData, AppError> {
    let mut errors = FieldErrors::new();
    required(&mut errors, "title", title, Max::Chars(TITLE_MAX));
    required(
        &mut errors,
        "description",
        description,
        Max::Chars(DESCRIPTION_MAX),
    );
    required(&mut errors, "body", body, Max::Bytes(BODY_MAX));
    let tags = clean_tags(&mut errors, tags);
    errors.into_result()?;
    Ok(ArticleData {
        title: title.trim().to_owned(),
        description: description.trim().to_owned(),
        body: body.to_owned(),
        tags,
    })
}

/// Validate a comment body; returns it trimmed.
pub fn check_comment(body: &str) -> Result<String, AppError> {
    let mut errors = FieldErrors::new();
    required(&mut errors, "body", body, Max::Chars(COMMENT_MAX));
    errors.into_result()?;
    Ok(body.trim().to_owned())
}

/// The slug a title gives: lowercase ASCII words joined by `-` (unicode transliterated).
pub fn slug_for(title: &str) -> String {
    let mut slug = slug::slugify(title);
    if slug.len() > 200 {
        slug.truncate(200);
        let trimmed = slug.trim_end_matches('-').len();
        slug.truncate(trimmed);
    }
    if slug.is_empty() {
        "article".to_owned()
    } else {
        slug
    }
}

/// Create an article by `author_id`; returns it as its author sees it.
pub async fn create_article(
    db: &DbPool,
    author_id: UserId,
    data: &ArticleData,
) -> Result<Article, AppError> {
    let slug = db::articles::insert(db, author_id, data, &slug_for(&data.title)).await?;
    db::articles::find(db, &slug, Some(author_id))
        .await?
        .ok_or(AppError::NotFound("article"))
}

/// The article at `slug` if `user_id` may change it: 404 when missing, 403 for others.
pub async fn owned_article(db: &DbPool, slug: &str, user_id: UserId) -> Result<Article, AppError> {
    let article = db::articles::find(db, slug, Some(user_id))
        .await?
        .ok_or(AppError::NotFound("article"))?;
    if article.author_id != user_id {
        return Err(AppError::Forbidden(
            "only the author may change this article",
        ));
    }
    Ok(article)
}

/// Save `data` over `article`; a changed title gives a new slug. Returns the new state.
pub async fn update_article(
    db: &DbPool,
    article: &Article,
    data: &ArticleData,
    viewer: UserId,
) -> Result<Article, AppError> {
    let new_base = (data.title != article.title).then(|| slug_for(&data.title));
    let slug =
        db::articles::update(db, article.id, &article.slug, data, new_base.as_deref()).await?;
    db::articles::find(db, &slug, Some(viewer))
        .await?
        .ok_or(AppError::NotFound("article"))
}

/// Delete comment `id` of the article at `slug` as `user`: 404 if either is missing, 403 if
/// the comment is not theirs.
pub async fn delete_comment(
    db: &DbPool,
    slug: &str,
    id: CommentId,
    user: UserId,
) -> Result<(), AppError> {
    let article = db::articles::find(db, slug, Some(user))
        .await?
        .ok_or(AppError::NotFound("article"))?;
    let comment = db::comments::find(db, article.id, id, Some(user))
        .await?
        .ok_or(AppError::NotFound("comment"))?;
    if comment.author_id != user {
        return Err(AppError::Forbidden("only its author may delete a comment"));
    }
    db::comments::delete(db, id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe_and_never_empty() {
        assert_eq!(
            slug_for("How to train your dragon"),
            "how-to-train-your-dragon"
        );
        assert_eq!(slug_for("Ünïcödé  Tïtle!"), "unicode-title");
        assert_eq!(slug_for("日本語"), "ri-ben-yu");
        assert_eq!(slug_for("!!! ???"), "article");
        assert!(slug_for(&"long ".repeat(100)).len() <= 200);
    }

    #[test]
    fn tags_are_trimmed_and_deduplicated_case_insensitively() {
        let mut errors = FieldErrors::new();
        let tags = clean_tags(
            &mut errors,
            &[" rust ".into(), "Rust".into(), String::new(), "web".into()],
        );
        assert_eq!(tags, vec!["rust", "web"]);
        assert!(errors.is_empty());
    }
}
