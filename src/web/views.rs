//! What templates receive: page structs built from database rows, never the rows themselves.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::articles::Article;
use crate::db::comments::Comment;
use crate::db::profiles::Profile;
use crate::db::{CommentId, UserId};

/// The picture shown for people who have not set one.
pub const DEFAULT_AVATAR: &str = "/static/img/avatar.svg";

/// The picture to show for someone whose avatar setting is `image`.
pub fn avatar_url(image: Option<&str>) -> String {
    image
        .filter(|i| !i.is_empty())
        .unwrap_or(DEFAULT_AVATAR)
        .to_owned()
}

/// Where the site's pages are, as their routes make the links (`uri!`): the site's stage
/// manages one, pages read it through their [`Layout`](crate::web::layout::Layout). Views take
/// the links from here because they cannot name the routes themselves: the route modules build
/// views, so views importing them would make a cycle.
#[derive(Debug, Clone, Copy)]
pub struct Links {
    /// The home page (the global list).
    pub home: fn() -> String,
    /// An article's page, by slug.
    pub article: fn(&str) -> String,
    /// Where an article's buttons and editor go, by slug.
    pub article_action: fn(&str, ArticleAction) -> String,
    /// Where a comment's delete button posts, by the article's slug and the comment's id.
    pub delete_comment: fn(&str, CommentId) -> String,
    /// A person's profile page, by username.
    pub profile: fn(&str) -> String,
    /// Where a person's follow button posts, and their favorites page, by username.
    pub profile_action: fn(&str, ProfileAction) -> String,
    /// The home page's list of a tag's articles.
    pub tag: fn(&str) -> String,
    /// The login page, coming back to a page of the site afterwards.
    pub login: fn(Option<&str>) -> String,
    /// The search page, where the navigation's search box sends its `q`.
    pub search: fn() -> String,
    /// The editor of a new article.
    pub editor: fn() -> String,
    /// The settings page, where its form posts too.
    pub settings: fn() -> String,
    /// Where the "Log out" button posts.
    pub logout: fn() -> String,
    /// The sign-up page.
    pub register: fn() -> String,
    /// The API's reference page (`/api/docs`), linked from the footer.
    pub api_docs: fn() -> String,
    /// The admin console's dashboard. The app factory fills it (`crate::rocket_with`, through
    /// [`crate::web::stage`]): the console's routes import the site's, so the site cannot name
    /// them.
    pub admin: fn() -> String,
}

/// What an article's links do besides showing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleAction {
    /// The editor.
    Edit,
    /// The delete button.
    Delete,
    /// The favorite button.
    Favorite,
    /// The unfavorite button.
    Unfavorite,
    /// The comment form.
    Comment,
}

/// What a person's links do besides showing their profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileAction {
    /// The follow button.
    Follow,
    /// The unfollow button.
    Unfollow,
    /// The articles they favorited.
    Favorites,
}

/// A person as pages show them. Links and the avatar are worked out here once, not by
/// template filters on every use (each template lookup and filter call is costly in Tera).
#[derive(Serialize)]
pub struct PersonView {
    /// Username.
    pub username: String,
    /// Avatar URL, if set.
    pub image: Option<String>,
    /// The picture to show: `image`, or the default one.
    pub avatar: String,
    /// Their profile page.
    pub url: String,
    /// The page of the articles they favorited.
    pub favorites_url: String,
    /// Where the follow button posts: follow, or unfollow when the viewer follows them.
    pub follow_url: String,
    /// Bio.
    pub bio: Option<String>,
    /// Whether the viewer follows them.
    pub following: bool,
}

impl PersonView {
    /// A view of the person `username`.
    pub fn new(
        links: &Links,
        username: String,
        image: Option<String>,
        bio: Option<String>,
        following: bool,
    ) -> Self {
        Self {
            avatar: avatar_url(image.as_deref()),
            url: (links.profile)(&username),
            favorites_url: (links.profile_action)(&username, ProfileAction::Favorites),
            follow_url: (links.profile_action)(
                &username,
                if following {
                    ProfileAction::Unfollow
                } else {
                    ProfileAction::Follow
                },
            ),
            username,
            image,
            bio,
            following,
        }
    }
}

impl PersonView {
    /// A view of the person `p`.
    pub fn of(links: &Links, p: Profile) -> Self {
        Self::new(links, p.username, p.image, p.bio, p.following)
    }
}

/// A tag and the home page filtered by it.
#[derive(Serialize)]
pub struct TagView {
    /// The tag.
    pub name: String,
    /// `/?tag=...`
    pub url: String,
}

impl TagView {
    /// The tag `name`.
    pub fn new(links: &Links, name: String) -> Self {
        Self {
            url: (links.tag)(&name),
            name,
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
            human: crate::timefmt::human_date(at),
            iso: crate::timefmt::iso_seconds(at),
        }
    }
}

/// An article as previews and the article page's meta block show it (the page renders the
/// body itself).
#[derive(Serialize)]
pub struct ArticleView {
    /// Slug.
    pub slug: String,
    /// The article's page.
    pub url: String,
    /// Where the favorite button posts: favorite, or unfavorite when the viewer has.
    pub favorite_url: String,
    /// The editor and the delete button's target, for its author.
    pub edit_url: Option<String>,
    /// Where the delete button posts, for its author.
    pub delete_url: Option<String>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
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
    pub fn new(links: &Links, a: Article, viewer: Option<UserId>) -> Self {
        let mine = viewer == Some(a.author_id);
        let action = |action| (links.article_action)(&a.slug, action);
        Self {
            created: (&a.created_at).into(),
            mine,
            url: (links.article)(&a.slug),
            favorite_url: action(if a.favorited {
                ArticleAction::Unfavorite
            } else {
                ArticleAction::Favorite
            }),
            edit_url: mine.then(|| action(ArticleAction::Edit)),
            delete_url: mine.then(|| action(ArticleAction::Delete)),
            slug: a.slug,
            title: a.title,
            description: a.description,
            tags: a.tags,
            favorited: a.favorited,
            favorites_count: a.favorites_count,
            author: PersonView::new(
                links,
                a.author_username,
                a.author_image,
                a.author_bio,
                a.following,
            ),
        }
    }
}

/// A comment.
#[derive(Serialize)]
pub struct CommentView {
    /// Id (for the anchor and the delete form).
    pub id: CommentId,
    /// Text (escaped by the template).
    pub body: String,
    /// When.
    pub created: DateView,
    /// Author.
    pub author: PersonView,
    /// Whether the viewer wrote it.
    pub mine: bool,
    /// Where its delete button posts, for its author.
    pub delete_url: Option<String>,
}

impl CommentView {
    /// A view of `c`, a comment on the article at `slug`, for `viewer`.
    pub fn new(links: &Links, slug: &str, c: Comment, viewer: Option<UserId>) -> Self {
        let mine = viewer == Some(c.author_id);
        Self {
            id: c.id,
            created: (&c.created_at).into(),
            mine,
            delete_url: mine.then(|| (links.delete_comment)(slug, c.id)),
            body: c.body,
            author: PersonView::new(
                links,
                c.author_username,
                c.author_image,
                c.author_bio,
                c.following,
            ),
        }
    }
}

/// One entry of a pager: "First", "« Newer" or "Older »".
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PageLink {
    /// What the link says.
    pub label: String,
    /// Where it goes.
    pub href: Option<String>,
    /// Whether it is the page being shown (never, for keyset links).
    pub active: bool,
    /// `prev` or `next` for the step links.
    pub rel: Option<&'static str>,
}

/// Keyset navigation of a list: "First" (off the first page), "« Newer" (`rel="prev"`) and
/// "Older »" (`rel="next"`), each present only when there is somewhere to go. Empty when
/// everything fits on one page.
#[derive(Debug, Serialize)]
pub struct Pager {
    /// The links, in order.
    pub items: Vec<PageLink>,
}

impl Pager {
    /// The links to the `first` page, the `newer` one and the `older` one (hrefs, when shown).
    pub fn keyset(first: Option<String>, newer: Option<String>, older: Option<String>) -> Self {
        let link = |label: &str, href: Option<String>, rel| {
            href.map(|href| PageLink {
                label: label.to_owned(),
                href: Some(href),
                active: false,
                rel,
            })
        };
        let items = [
            link("First", first, None),
            link("« Newer", newer, Some("prev")),
            link("Older »", older, Some("next")),
        ]
        .into_iter()
        .flatten()
        .collect();
        Self { items }
    }
}

impl Pager {
    /// "« Previous" (`rel="prev"`) and "Next »" (`rel="next"`) links to the neighbouring pages
    /// of a numbered list (search results), each present only when there is one.
    pub fn numbered(previous: Option<String>, next: Option<String>) -> Self {
        let link = |label: &str, href: Option<String>, rel| {
            href.map(|href| PageLink {
                label: label.to_owned(),
                href: Some(href),
                active: false,
                rel: Some(rel),
            })
        };
        Self {
            items: [
                link("« Previous", previous, "prev"),
                link("Next »", next, "next"),
            ]
            .into_iter()
            .flatten()
            .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Pager;

    fn labels(pager: &Pager) -> Vec<&str> {
        pager.items.iter().map(|i| i.label.as_str()).collect()
    }

    #[test]
    fn one_page_needs_no_pager() {
        assert!(Pager::keyset(None, None, None).items.is_empty());
    }

    #[test]
    fn links_show_where_there_is_somewhere_to_go() {
        let first = Pager::keyset(None, None, Some("/?before=11".into()));
        assert_eq!(labels(&first), ["Older »"]);
        assert_eq!(first.items[0].rel, Some("next"));
        let middle = Pager::keyset(
            Some("/".into()),
            Some("/?after=20".into()),
            Some("/?before=11".into()),
        );
        assert_eq!(labels(&middle), ["First", "« Newer", "Older »"]);
        assert_eq!(middle.items[1].rel, Some("prev"));
        assert_eq!(middle.items[1].href.as_deref(), Some("/?after=20"));
        assert!(middle.items.iter().all(|i| !i.active));
        let last = Pager::keyset(Some("/".into()), Some("/?after=3".into()), None);
        assert_eq!(labels(&last), ["First", "« Newer"]);
    }
}
