//! The RealWorld JSON shapes, built from database rows.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::articles::Article;
use crate::db::comments::Comment;
use crate::db::profiles::Profile;

/// ISO 8601 UTC with milliseconds: `2016-02-18T03:22:56.637Z`.
pub fn timestamp(at: &DateTime<Utc>) -> String {
    crate::timefmt::iso_millis(at)
}

/// A profile (also the `author` of articles and comments).
#[derive(Serialize)]
pub struct ProfileJson {
    username: String,
    bio: Option<String>,
    image: Option<String>,
    following: bool,
}

impl From<Profile> for ProfileJson {
    fn from(p: Profile) -> Self {
        Self {
            username: p.username,
            bio: p.bio,
            image: p.image,
            following: p.following,
        }
    }
}

/// An article; `body` is left out of lists.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArticleJson {
    slug: String,
    title: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    tag_list: Vec<String>,
    created_at: String,
    updated_at: String,
    favorited: bool,
    favorites_count: i64,
    author: ProfileJson,
}

impl From<Article> for ArticleJson {
    fn from(a: Article) -> Self {
        Self {
            created_at: timestamp(&a.created_at),
            updated_at: timestamp(&a.updated_at),
            slug: a.slug,
            title: a.title,
            description: a.description,
            body: a.body,
            tag_list: a.tags,
            favorited: a.favorited,
            favorites_count: a.favorites_count,
            author: ProfileJson {
                username: a.author_username,
                bio: a.author_bio,
                image: a.author_image,
                following: a.following,
            },
        }
    }
}

/// A comment.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentJson {
    id: i64,
    created_at: String,
    updated_at: String,
    body: String,
    author: ProfileJson,
}

impl From<Comment> for CommentJson {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id,
            created_at: timestamp(&c.created_at),
            updated_at: timestamp(&c.updated_at),
            body: c.body,
            author: ProfileJson {
                username: c.author_username,
                bio: c.author_bio,
                image: c.author_image,
                following: c.following,
            },
        }
    }
}

/// `{"profile": ...}`
#[derive(Serialize)]
pub struct ProfileBody {
    /// The profile.
    pub profile: ProfileJson,
}

/// `{"article": ...}`
#[derive(Serialize)]
pub struct ArticleBody {
    /// The article.
    pub article: ArticleJson,
}

/// `{"articles": [...], "articlesCount": N}`
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArticlesBody {
    /// The page.
    pub articles: Vec<ArticleJson>,
    /// How many match the filter in all.
    pub articles_count: i64,
}

/// `{"comment": ...}`
#[derive(Serialize)]
pub struct CommentBody {
    /// The comment.
    pub comment: CommentJson,
}

/// `{"comments": [...]}`
#[derive(Serialize)]
pub struct CommentsBody {
    /// The comments.
    pub comments: Vec<CommentJson>,
}
