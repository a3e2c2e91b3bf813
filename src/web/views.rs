//! What templates receive: page structs built from database rows, never the rows themselves.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::articles::Article;
use crate::db::comments::Comment;
use crate::db::profiles::Profile;

/// A person as pages show them.
#[derive(Serialize)]
pub struct PersonView {
    /// Username.
    pub username: String,
    /// Avatar URL, if set.
    pub image: Option<String>,
    /// Bio.
    pub bio: Option<String>,
    /// Whether the viewer follows them.
    pub following: bool,
}

impl From<Profile> for PersonView {
    fn from(p: Profile) -> Self {
        Self {
            username: p.username,
            image: p.image,
            bio: p.bio,
            following: p.following,
        }
    }
}

/// A date for people ("November 24, 2026") and for machines (ISO 8601).
#[derive(Serialize)]
pub struct DateView {
    /// Human form.
    pub human: String,
    /// ISO 8601 form, for `<time datetime>`.
    pub iso: String,
}

impl From<&DateTime<Utc>> for DateView {
    fn from(at: &DateTime<Utc>) -> Self {
        Self {
            human: at.format("%B %-d, %Y").to_string(),
            iso: at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }
}

/// An article preview or page.
#[derive(Serialize)]
pub struct ArticleView {
    /// Slug.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Sanitized HTML of the body (article page only).
    pub body_html: Option<String>,
    /// Tags, alphabetical.
    pub tags: Vec<String>,
    /// When it was written.
    pub created: DateView,
    /// Whether the viewer favorited it.
    pub favorited: bool,
    /// How many favorited it.
    pub favorites_count: i64,
    /// The author.
    pub author: PersonView,
    /// Whether the viewer wrote it.
    pub mine: bool,
}

impl ArticleView {
    /// A view of `a` for the viewer `viewer`.
    pub fn new(a: Article, viewer: Option<i64>) -> Self {
        Self {
            body_html: a.body.as_deref().map(crate::markdown::to_safe_html),
            created: (&a.created_at).into(),
            mine: viewer == Some(a.author_id),
            slug: a.slug,
            title: a.title,
            description: a.description,
            tags: a.tags,
            favorited: a.favorited,
            favorites_count: a.favorites_count,
            author: PersonView {
                username: a.author_username,
                image: a.author_image,
                bio: a.author_bio,
                following: a.following,
            },
        }
    }
}

/// A comment.
#[derive(Serialize)]
pub struct CommentView {
    /// Id (for the anchor and the delete form).
    pub id: i64,
    /// Text (escaped by the template).
    pub body: String,
    /// When.
    pub created: DateView,
    /// Author.
    pub author: PersonView,
    /// Whether the viewer wrote it.
    pub mine: bool,
}

impl CommentView {
    /// A view of `c` for `viewer`.
    pub fn new(c: Comment, viewer: Option<i64>) -> Self {
        Self {
            id: c.id,
            created: (&c.created_at).into(),
            mine: viewer == Some(c.author_id),
            body: c.body,
            author: PersonView {
                username: c.author_username,
                image: c.author_image,
                bio: c.author_bio,
                following: c.following,
            },
        }
    }
}

/// Pagination links.
#[derive(Serialize)]
pub struct Pager {
    /// The current page (1-based).
    pub current: i64,
    /// Every page: number and URL.
    pub pages: Vec<(i64, String)>,
}

impl Pager {
    /// Pages for `total` items, `size` per page, linking to `base` plus `page=N`.
    pub fn new(total: i64, size: i64, current: i64, base: &str) -> Self {
        let count = (total + size - 1) / size;
        let sep = if base.contains('?') { '&' } else { '?' };
        let pages = (1..=count)
            .map(|n| {
                (
                    n,
                    if n == 1 {
                        base.to_owned()
                    } else {
                        format!("{base}{sep}page={n}")
                    },
                )
            })
            .collect();
        Self { current, pages }
    }
}
