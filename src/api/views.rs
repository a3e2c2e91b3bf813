//! The RealWorld JSON shapes, built from database rows.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::articles::Article;
use crate::db::comments::Comment;
use crate::db::profiles::Profile;

/// RFC 3339 UTC with milliseconds, as the RealWorld API shows times: `2016-02-18T03:22:56.637Z`.
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A profile (also the `author` of articles and comments).
#[derive(Serialize, ToSchema)]
#[schema(as = Profile)]
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
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Article)]
pub struct ArticleJson {
    slug: String,
    title: String,
    description: String,
    /// Markdown; left out of lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    body: Option<String>,
    tag_list: Vec<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
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
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Comment)]
pub struct CommentJson {
    #[schema(value_type = i64)]
    id: crate::db::CommentId,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
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
#[derive(Serialize, ToSchema)]
pub struct ProfileBody {
    /// The profile.
    pub profile: ProfileJson,
}

/// `{"article": ...}`
#[derive(Serialize, ToSchema)]
pub struct ArticleBody {
    /// The article.
    pub article: ArticleJson,
}

/// `{"articles": [...], "articlesCount": N}`: the reference for the list endpoints' JSON. They
/// answer with [`ArticleList`](crate::api::json_writer::ArticleList), whose hand-written bytes
/// must equal `serde_json` of this (its tests compare them). List rows carry no body, so none
/// is written.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArticlesBody {
    /// The page.
    pub articles: Vec<ArticleJson>,
    /// How many match the filter in all.
    pub articles_count: i64,
}

/// `{"comment": ...}`
#[derive(Serialize, ToSchema)]
pub struct CommentBody {
    /// The comment.
    pub comment: CommentJson,
}

/// `{"comments": [...]}`
#[derive(Serialize, ToSchema)]
pub struct CommentsBody {
    /// The comments.
    pub comments: Vec<CommentJson>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_leave_bodies_out() {
        let title = "quote \" nul \u{0} é </script>";
        let json = serde_json::to_string(&ArticlesBody {
            articles: vec![ArticleJson::from(Article::for_test(
                title,
                Some("bio"),
                true,
            ))],
            articles_count: 42,
        })
        .unwrap();
        let escaped = r#""quote \" nul \u0000 é </script>""#;
        let expected = format!(
            r#"{{"articles":[{{"slug":"a-slug","title":{escaped},"description":{escaped},"tagList":["rust",{escaped}],"createdAt":"2023-11-14T22:13:20.123Z","updatedAt":"2023-11-14T22:13:20.123Z","favorited":true,"favoritesCount":12,"author":{{"username":"writer","bio":"bio","image":"https://img.example/a.png","following":true}}}}],"articlesCount":42}}"#
        );
        assert_eq!(json, expected);
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        use chrono::TimeZone;
        let at = Utc.with_ymd_and_hms(2016, 2, 18, 3, 22, 56).unwrap()
            + chrono::Duration::milliseconds(637);
        assert_eq!(timestamp(&at), "2016-02-18T03:22:56.637Z");
        // Padded fields, whole seconds and sub-millisecond digits (cut, not rounded).
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(timestamp(&at), "2026-01-02T03:04:05.000Z");
        assert_eq!(
            timestamp(&(at + chrono::Duration::microseconds(6_999))),
            "2026-01-02T03:04:05.006Z"
        );
        let mut at = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap();
        for step in 0..2000 {
            let sample = at + chrono::Duration::milliseconds((step * 7919) % 1000);
            assert_eq!(
                timestamp(&sample),
                sample.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            );
            at += chrono::Duration::seconds(86_400 + 3_607);
        }
    }
}
