//! Atom 1.0 feeds of the newest articles: the whole site (`/feed.atom`), one tag
//! (`/feed.atom?tag=rust`, as the home page's `/?tag=`) and one author
//! (`/profile/<username>/feed.atom`, beside their profile). Each entry carries the article's
//! body rendered and sanitized as on its page. Feeds answer conditional GETs: an `ETag` of the
//! body (checked by the site's `ETag` fairing) and `Last-Modified`, the newest change among
//! the entries (checked here).

use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text};
use chrono::{DateTime, Utc};
use rocket::form::FromForm;
use rocket::http::{ContentType, Header, Status};
use rocket::request::{self, FromRequest, Request};
use rocket::response::{self, Responder, Response};
use rocket::{get, routes, uri, Route, State, UriDisplayQuery};

use crate::config::{AppConfig, PublicUrl};
use crate::content;
use crate::db::articles::{Article, Filter};
use crate::db::{self, Conn};
use crate::error::{AppError, PageResult};
use crate::web::views::Links;

/// How many articles a feed carries.
pub const FEED_SIZE: i64 = 20;

/// The date in `tag:` URIs: entry ids minted by this site are `tag:<host>,2026:article-<id>`,
/// stable across title (and so slug) changes.
const TAG_DATE: &str = "2026";

/// The site feed's query: `?tag=` narrows it to one tag.
#[derive(Debug, Default, FromForm, UriDisplayQuery)]
pub struct FeedQuery {
    /// A tag.
    pub tag: Option<String>,
}

/// The path of the site's feed, or of `tag`'s.
pub fn site_link(tag: Option<&str>) -> String {
    let query = FeedQuery {
        tag: tag.map(str::to_owned),
    };
    uri!(site(query)).to_string()
}

/// The path of `username`'s feed.
pub fn author_link(username: &str) -> String {
    uri!(author(username)).to_string()
}

#[get("/feed.atom?<query..>")]
async fn site(
    db: Conn,
    config: &State<AppConfig>,
    links: &State<Links>,
    query: FeedQuery,
    since: Since,
) -> PageResult<Conditional> {
    let tag = query.tag.filter(|t| !t.trim().is_empty());
    let filter = Filter {
        tag: tag.clone(),
        ..Filter::default()
    };
    content::check_filter(&filter)?;
    // An unknown tag is an empty feed, not a 404: a tag comes and goes with its articles,
    // and a reader subscribed to it keeps a working feed.
    let articles = db::articles::latest_with_bodies(&db, &filter, FEED_SIZE).await?;
    let public = &config.public_url;
    let (title, page) = match &tag {
        Some(tag) => (format!("Conduit: #{tag}"), (links.tag)(tag)),
        None => ("Conduit".to_owned(), (links.home)()),
    };
    let head = FeedHead {
        title,
        id: public.join(&site_link(tag.as_deref())),
        page: public.join(&page),
        author: Person {
            name: "Conduit".into(),
            uri: Some(public.join(&(links.home)())),
            ..Person::default()
        },
    };
    Ok(atom(&head, articles, public, links).answer(&since))
}

#[get("/profile/<username>/feed.atom")]
async fn author(
    db: Conn,
    config: &State<AppConfig>,
    links: &State<Links>,
    username: &str,
    since: Since,
) -> PageResult<Conditional> {
    let profile = db::profiles::find(&db, username, None)
        .await?
        .ok_or(AppError::NotFound("profile"))?;
    let filter = Filter {
        author: Some(profile.username.clone()),
        ..Filter::default()
    };
    let articles = db::articles::latest_with_bodies(&db, &filter, FEED_SIZE).await?;
    let public = &config.public_url;
    let page = public.join(&(links.profile)(&profile.username));
    let head = FeedHead {
        title: format!("Conduit: articles by {}", profile.username),
        id: public.join(&author_link(&profile.username)),
        author: Person {
            name: profile.username,
            uri: Some(page.clone()),
            ..Person::default()
        },
        page,
    };
    Ok(atom(&head, articles, public, links).answer(&since))
}

/// What a feed says about itself.
struct FeedHead {
    title: String,
    /// The feed's own absolute URL: its id and its `self` link.
    id: String,
    /// The page it follows (`alternate`).
    page: String,
    /// Who it is by, for readers that show a feed-level author.
    author: Person,
}

/// The Atom document of `articles` (newest first).
fn atom(head: &FeedHead, articles: Vec<Article>, public: &PublicUrl, links: &Links) -> Document {
    let last_modified = articles.iter().map(|a| a.updated_at).max();
    let entries: Vec<Entry> = articles
        .into_iter()
        .map(|a| entry(a, public, links))
        .collect();
    let feed = Feed {
        title: Text::plain(head.title.clone()),
        id: head.id.clone(),
        // An empty feed has changed never: the epoch, so its body (and ETag) stays the same.
        updated: last_modified.unwrap_or_default().fixed_offset(),
        authors: vec![head.author.clone()],
        links: vec![
            link(&head.id, "self", "application/atom+xml"),
            link(&head.page, "alternate", "text/html"),
        ],
        generator: Some(Generator {
            value: "Conduit".into(),
            ..Generator::default()
        }),
        entries,
        ..Feed::default()
    };
    Document {
        body: feed.to_string().into_bytes(),
        content_type: ContentType::new("application", "atom+xml").with_params(("charset", "utf-8")),
        last_modified,
    }
}

fn link(href: &str, rel: &str, mime_type: &str) -> Link {
    Link {
        href: href.to_owned(),
        rel: rel.to_owned(),
        mime_type: Some(mime_type.to_owned()),
        ..Link::default()
    }
}

/// One article as a feed entry: its body rendered and sanitized as on its page.
fn entry(a: Article, public: &PublicUrl, links: &Links) -> Entry {
    let url = public.join(&(links.article)(&a.slug));
    let body = crate::markdown::to_safe_html(a.body.as_deref().unwrap_or_default());
    Entry {
        title: Text::plain(a.title),
        id: format!("tag:{},{TAG_DATE}:article-{}", public.host(), a.id),
        updated: a.updated_at.fixed_offset(),
        published: Some(a.created_at.fixed_offset()),
        authors: vec![Person {
            uri: Some(public.join(&(links.profile)(&a.author_username))),
            name: a.author_username,
            ..Person::default()
        }],
        categories: a
            .tags
            .into_iter()
            .map(|term| Category {
                term,
                ..Category::default()
            })
            .collect(),
        summary: Some(Text::plain(a.description)).filter(|s| !s.value.is_empty()),
        content: Some(Content {
            // Relative links in the body resolve against the article's page.
            base: Some(url.clone()),
            value: Some(body.as_ref().to_owned()),
            content_type: Some("html".into()),
            ..Content::default()
        }),
        links: vec![link(&url, "alternate", "text/html")],
        ..Entry::default()
    }
}

/// A document anyone may read (a feed, the sitemap, robots.txt) and when it last changed.
pub struct Document {
    /// The bytes.
    pub body: Vec<u8>,
    /// Its type.
    pub content_type: ContentType,
    /// When what it shows last changed, if known.
    pub last_modified: Option<DateTime<Utc>>,
}

impl Document {
    /// The answer to a GET whose conditions are `since`: `304 Not Modified` when the reader's
    /// copy is as new as this one by date (`If-Modified-Since`, heeded only without
    /// `If-None-Match`, as RFC 9110 says; the `ETag` fairing answers that one).
    pub fn answer(self, since: &Since) -> Conditional {
        let unchanged = match (since, self.last_modified) {
            (Since::Date(date), Some(modified)) => modified.timestamp() <= date.timestamp(),
            _ => false,
        };
        Conditional {
            etag: super::etag(&self.body),
            document: self,
            unchanged,
        }
    }
}

/// What a reader's conditional GET asks: `If-None-Match` (any), else `If-Modified-Since`.
pub enum Since {
    /// No condition, or one that cannot be read (then the document is sent).
    Nothing,
    /// `If-None-Match` was sent: the `ETag` fairing decides.
    Tag,
    /// `If-Modified-Since`, without `If-None-Match`.
    Date(DateTime<Utc>),
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Since {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let headers = req.headers();
        let since = if headers.contains("If-None-Match") {
            Since::Tag
        } else {
            headers
                .get_one("If-Modified-Since")
                .and_then(|v| DateTime::parse_from_rfc2822(v.trim()).ok())
                .map_or(Since::Nothing, |d| Since::Date(d.to_utc()))
        };
        request::Outcome::Success(since)
    }
}

/// A [`Document`] answered: the document, or `304` with no body when the reader's copy is
/// current. Either way with its `ETag`, `Last-Modified` and `Cache-Control: public, no-cache`
/// (the same for every reader; shared caches may keep it but must ask again).
pub struct Conditional {
    document: Document,
    etag: String,
    unchanged: bool,
}

impl<'r> Responder<'r, 'static> for Conditional {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut res = Response::build();
        res.header(self.document.content_type)
            .header(Header::new("ETag", self.etag))
            .header(Header::new("Cache-Control", "public, no-cache"));
        if let Some(at) = self.document.last_modified {
            res.header(Header::new("Last-Modified", http_date(&at)));
        }
        if self.unchanged {
            return Ok(res.status(Status::NotModified).finalize());
        }
        let body = self.document.body;
        Ok(res
            .sized_body(body.len(), std::io::Cursor::new(body))
            .finalize())
    }
}

/// An HTTP date (RFC 9110's IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(at: &DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![site, author]
}

#[cfg(test)]
mod tests {
    use super::http_date;

    #[test]
    fn http_dates_read_back() {
        let at = chrono::DateTime::from_timestamp(784_111_777, 0).unwrap();
        let text = http_date(&at);
        assert_eq!(text, "Sun, 06 Nov 1994 08:49:37 GMT");
        let back = chrono::DateTime::parse_from_rfc2822(&text).unwrap();
        assert_eq!(back.to_utc(), at);
    }
}
