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

/// One entry of a pager: a page number, « Previous / Next », or a gap ("…").
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PageLink {
    /// What the link says.
    pub label: String,
    /// Where it goes; `None` for a gap.
    pub href: Option<String>,
    /// Whether it is the page being shown.
    pub active: bool,
    /// `prev` or `next` for the step links.
    pub rel: Option<&'static str>,
}

/// Pagination links: previous, the first and last pages, the pages around the current one
/// with gaps between, and next. Empty when everything fits on one page.
#[derive(Debug, Serialize)]
pub struct Pager {
    /// The current page (1-based).
    pub current: i64,
    /// The links, in order.
    pub items: Vec<PageLink>,
}

impl Pager {
    /// Pages shown on each side of the current one.
    const AROUND: i64 = 2;

    /// Pages for `total` items, `size` per page, page `n` at `href(n)`.
    pub fn new(total: i64, size: i64, current: i64, href: &dyn Fn(i64) -> String) -> Self {
        let count = (total + size - 1) / size;
        let mut items = Vec::new();
        if count > 1 {
            let link = |label: String, n: i64, rel: Option<&'static str>| PageLink {
                label,
                href: Some(href(n)),
                active: rel.is_none() && n == current,
                rel,
            };
            if current > 1 {
                items.push(link(
                    "« Previous".to_owned(),
                    (current - 1).min(count),
                    Some("prev"),
                ));
            }
            // A page past the end shows the window around the last page.
            let centre = current.min(count);
            let (from, to) = (
                (centre - Self::AROUND).max(1),
                (centre + Self::AROUND).min(count),
            );
            let mut shown = (1..=count)
                .filter(|&n| n == 1 || n == count || (from..=to).contains(&n))
                .peekable();
            while let Some(n) = shown.next() {
                items.push(link(n.to_string(), n, None));
                if shown.peek().is_some_and(|&next| next > n + 1) {
                    items.push(PageLink {
                        label: "…".to_owned(),
                        href: None,
                        active: false,
                        rel: None,
                    });
                }
            }
            if current < count {
                items.push(link("Next »".to_owned(), current + 1, Some("next")));
            }
        }
        Self { current, items }
    }
}

#[cfg(test)]
mod tests {
    use super::Pager;

    /// The links of a list at `base` (the site's routes make theirs with `uri!`).
    fn at(base: &str) -> impl Fn(i64) -> String + '_ {
        move |n| match n {
            1 => base.to_owned(),
            n if base.contains('?') => format!("{base}&page={n}"),
            n => format!("{base}?page={n}"),
        }
    }

    fn global(n: i64) -> String {
        at("/")(n)
    }

    fn labels(pager: &Pager) -> Vec<&str> {
        pager.items.iter().map(|i| i.label.as_str()).collect()
    }

    #[test]
    fn one_page_needs_no_pager() {
        assert!(Pager::new(10, 10, 1, &global).items.is_empty());
        assert!(Pager::new(0, 10, 1, &global).items.is_empty());
    }

    #[test]
    fn few_pages_are_all_shown() {
        let pager = Pager::new(25, 10, 1, &global);
        assert_eq!(labels(&pager), ["1", "2", "3", "Next »"]);
        assert_eq!(pager.items[0].href.as_deref(), Some("/"));
        assert!(pager.items[0].active);
        assert_eq!(pager.items[1].href.as_deref(), Some("/?page=2"));
        assert_eq!(pager.items[3].rel, Some("next"));
    }

    #[test]
    fn many_pages_show_a_window_with_gaps() {
        let pager = Pager::new(1000, 10, 50, &at("/?tag=rust"));
        assert_eq!(
            labels(&pager),
            [
                "« Previous",
                "1",
                "…",
                "48",
                "49",
                "50",
                "51",
                "52",
                "…",
                "100",
                "Next »"
            ]
        );
        assert_eq!(pager.items[0].href.as_deref(), Some("/?tag=rust&page=49"));
        assert_eq!(pager.items[2].href, None);
        assert!(pager.items[5].active);
        assert_eq!(pager.items.iter().filter(|i| i.active).count(), 1);
        let last = Pager::new(1000, 10, 100, &global);
        assert_eq!(labels(&last), ["« Previous", "1", "…", "98", "99", "100"]);
    }

    #[test]
    fn a_page_past_the_end_still_links_back() {
        let pager = Pager::new(30, 10, 7, &global);
        assert_eq!(labels(&pager), ["« Previous", "1", "2", "3"]);
        assert_eq!(pager.items[0].href.as_deref(), Some("/?page=3"));
        assert!(pager.items.iter().all(|i| !i.active));
    }
}
