//! The RealWorld JSON shapes, built from database rows.

use chrono::{DateTime, SecondsFormat, Utc};
use rocket::http::ContentType;
use rocket::response::{self, Responder};
use rocket::Request;
use serde::Serialize;

use crate::db::articles::Article;
use crate::db::comments::Comment;
use crate::db::profiles::Profile;

/// RFC 3339 UTC with milliseconds, as the RealWorld API shows times: `2016-02-18T03:22:56.637Z`.
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
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

/// `{"articles": [...], "articlesCount": N}`, written straight from the rows: the same JSON
/// as [`ArticleJson`]s under `serde_json` (a test compares them), for about a quarter of the
/// instructions. `serde_json` spent a sixth of a list request on escaping the keys and values
/// byte by byte and on its map machinery; here the keys are literals and a string is checked
/// eight bytes at a time for anything to escape.
pub struct ArticlesBody {
    /// The page (bodies are left out of lists).
    pub articles: Vec<Article>,
    /// How many match the filter in all.
    pub articles_count: i64,
}

impl ArticlesBody {
    /// The response body.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 400 * self.articles.len());
        out.extend_from_slice(b"{\"articles\":[");
        for (i, a) in self.articles.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_article(&mut out, a);
        }
        out.extend_from_slice(b"],\"articlesCount\":");
        out.extend_from_slice(self.articles_count.to_string().as_bytes());
        out.push(b'}');
        out
    }
}

impl From<crate::db::articles::ArticleSlice> for ArticlesBody {
    fn from(page: crate::db::articles::ArticleSlice) -> Self {
        Self {
            articles: page.articles,
            articles_count: page.total,
        }
    }
}

impl<'r> Responder<'r, 'static> for ArticlesBody {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        (ContentType::JSON, self.to_json()).respond_to(req)
    }
}

/// One article of a list, as [`ArticleJson`] without a body.
fn write_article(out: &mut Vec<u8>, a: &Article) {
    out.extend_from_slice(b"{\"slug\":");
    write_str(out, &a.slug);
    out.extend_from_slice(b",\"title\":");
    write_str(out, &a.title);
    out.extend_from_slice(b",\"description\":");
    write_str(out, &a.description);
    out.extend_from_slice(b",\"tagList\":[");
    for (i, tag) in a.tags.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, tag);
    }
    out.extend_from_slice(b"],\"createdAt\":\"");
    out.extend_from_slice(timestamp(&a.created_at).as_bytes());
    out.extend_from_slice(b"\",\"updatedAt\":\"");
    out.extend_from_slice(timestamp(&a.updated_at).as_bytes());
    out.extend_from_slice(if a.favorited {
        b"\",\"favorited\":true,\"favoritesCount\":"
    } else {
        b"\",\"favorited\":false,\"favoritesCount\":"
    });
    out.extend_from_slice(a.favorites_count.to_string().as_bytes());
    out.extend_from_slice(b",\"author\":{\"username\":");
    write_str(out, &a.author_username);
    out.extend_from_slice(b",\"bio\":");
    write_opt_str(out, a.author_bio.as_deref());
    out.extend_from_slice(b",\"image\":");
    write_opt_str(out, a.author_image.as_deref());
    out.extend_from_slice(if a.following {
        b",\"following\":true}}"
    } else {
        b",\"following\":false}}"
    });
}

fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string, escaped as `serde_json` escapes it: `"` and `\\`, the short forms of
/// backspace, form feed, newline, carriage return and tab, `\u00XX` for other control
/// characters; everything else (all of UTF-8) as it is.
fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none needs escaping (the usual case).
        if let Some(chunk) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            if !needs_escape(word) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        } else {
            out.extend_from_slice(escape);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether any byte of `word` is `"`, `\\` or below 0x20 (the classic "has zero byte" test).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |w: u64| w.wrapping_sub(ONES) & !w & HIGH;
    let quote = zero_in(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
    // Below 0x20: subtracting 0x20 borrows into the high bit, for bytes not already >= 0x80.
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control != 0
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

#[cfg(test)]
mod tests {
    use super::*;

    fn article(title: &str, bio: Option<&str>, favorited: bool) -> Article {
        Article::for_test(title, bio, favorited)
    }

    /// The list as serde's derive wrote it before.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Derived {
        articles: Vec<ArticleJson>,
        articles_count: i64,
    }

    #[test]
    fn lists_are_the_json_serde_would_write() {
        let tricky = "quote \" backslash \\ newline \n tab \t cr \r bell \u{7} nul \u{0} unit \u{1f} del \u{7f} é ✓ 😀 </script>";
        for (title, bio, favorited) in [
            ("plain title of more than eight bytes", None, false),
            (tricky, Some(tricky), true),
            ("", Some(""), false),
            ("\"", Some("\\"), true),
        ] {
            let a = article(title, bio, favorited);
            let ours = ArticlesBody {
                articles: vec![a.clone(), a.clone()],
                articles_count: 42,
            }
            .to_json();
            // What the handlers answered with before: serde's derive, byte for byte.
            let theirs = serde_json::to_string(&Derived {
                articles: vec![ArticleJson::from(a.clone()), ArticleJson::from(a)],
                articles_count: 42,
            })
            .unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), theirs);
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        use chrono::TimeZone;
        let at = Utc.with_ymd_and_hms(2016, 2, 18, 3, 22, 56).unwrap() + chrono::Duration::milliseconds(637);
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
            assert_eq!(timestamp(&sample), sample.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            at += chrono::Duration::seconds(86_400 + 3_607);
        }
    }

    #[test]
    fn escape_check_finds_every_byte_that_needs_it() {
        for b in 0u8..=255 {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                word[at] = b;
                let expected = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(needs_escape(u64::from_le_bytes(word)), expected, "byte {b:#x} at {at}");
            }
        }
    }
}
