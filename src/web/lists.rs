//! Paged article lists shared by the site's list pages (home, tag, feed, profile, favorites,
//! search's page numbers): where a page is ([`At`]: keyset cursors or an old `?page=`), and one
//! page of previews with its pager, rendered through the fragment memo.

use std::sync::Arc;

use serde::Serialize;

use crate::cache::Key;
use crate::db::articles::{Filter, Position};
use crate::db::{self, ArticleId, DbPool};
use crate::error::AppError;
use crate::web::layout::Layout;
use crate::web::views::{ArticleView, Pager};

/// Old page-number links (`?page=N`) are read by offset, over the same narrow index as the
/// API's deep offsets (see `db::articles::page`): at most this many entries are skipped. A page
/// number past it, like one that is malformed or below 1, is the first page.
pub const MAX_PAGE_OFFSET: i64 = 100_000;

/// A page number from the query: 1 when absent, malformed, below 1 or so deep (`size` per
/// page) that it would skip more than [`MAX_PAGE_OFFSET`] articles.
pub fn page_number(page: Option<&str>, size: i64) -> i64 {
    page.and_then(|p| p.trim().parse::<i64>().ok())
        .filter(|&p| p >= 1 && (p - 1).saturating_mul(size) <= MAX_PAGE_OFFSET)
        .unwrap_or(1)
}

/// Where a list page is, as its URL says: `?before=<id>` (older than that article),
/// `?after=<id>` (newer than it: "Newer" links), an old `?page=N`, or nothing (the first page).
///
/// A cursor is an article id as a plain number: editing one by hand can only pick another
/// place in the list (any whole number is a place, past either end too), never an error. A
/// cursor that is not a whole number, or `before` and `after` together, is a 400 saying so
/// (a link cut short or mangled on the way is better told than silently replaced by the
/// first page).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum At {
    /// The first page.
    #[default]
    First,
    /// An old page-number link (2 or more).
    Page(i64),
    /// The articles older than this one.
    Before(ArticleId),
    /// The articles newer than this one.
    After(ArticleId),
}

impl At {
    /// Read from a list's query values (kept as sent); see [`At`] for what is refused.
    pub fn parse(
        page: Option<&str>,
        before: Option<&str>,
        after: Option<&str>,
        size: i64,
    ) -> Result<Self, AppError> {
        let cursor = |name: &str, value: &str| {
            value
                .trim()
                .parse::<i64>()
                .map(ArticleId::new)
                .map_err(|_| {
                    AppError::BadRequest(format!(
                        "This link is damaged: its `{name}` value is not a place in the list. \
                     Go back to the list's first page and follow its Newer and Older links."
                    ))
                })
        };
        let (before, after) = (
            before.filter(|v| !v.trim().is_empty()),
            after.filter(|v| !v.trim().is_empty()),
        );
        match (before, after) {
            (Some(_), Some(_)) => Err(AppError::BadRequest(
                "This link is damaged: it says both `before` and `after`; a list page has one."
                    .to_owned(),
            )),
            (Some(b), None) => Ok(Self::Before(cursor("before", b)?)),
            (None, Some(a)) => Ok(Self::After(cursor("after", a)?)),
            (None, None) => Ok(match page_number(page, size) {
                1 => Self::First,
                n => Self::Page(n),
            }),
        }
    }

    /// Where the database reads from, `size` per page.
    fn position(self, size: i64) -> Position {
        match self {
            Self::First => Position::Offset(0),
            Self::Page(n) => Position::Offset((n - 1) * size),
            Self::Before(id) => Position::Before(id),
            Self::After(id) => Position::After(id),
        }
    }

    /// `(page, before, after)` query values of this place, for its URL.
    pub fn query(self) -> (Option<String>, Option<String>, Option<String>) {
        match self {
            Self::First => (None, None, None),
            Self::Page(n) => (Some(n.to_string()), None, None),
            Self::Before(id) => (None, Some(id.to_string()), None),
            Self::After(id) => (None, None, Some(id.to_string())),
        }
    }
}

/// One page of an article list, ready for `partials/article_list`.
pub struct Previews {
    /// Each article, rendered by `partials/article_preview`.
    pub html: Vec<Arc<str>>,
    /// Links to the other pages, rendered by `partials/pager`.
    pub pager: Arc<str>,
    /// This page's URL, where its buttons come back to.
    pub here: String,
    /// The popular tags, when asked for: packed pairs (`db::tags::split_names`).
    pub popular_tags: String,
}

/// What `partials/article_preview` shows.
#[derive(Serialize)]
struct PreviewContext<'a> {
    article: ArticleView,
    /// The favorite button's form values, for a signed-in viewer only (for anyone else they
    /// would only split the fragment memo by page).
    forms: Option<PreviewForms<'a>>,
}

#[derive(Serialize)]
struct PreviewForms<'a> {
    csrf_token: &'a str,
    back: &'a str,
}

/// The list page at `at`, `size` per page, of the articles `filter` selects, as the signed-in
/// user (if any) sees them, with "Newer" / "Older" links (keyset: each page costs the same at
/// any depth) and "First" off the first page; the list at a place is at `link(at)` (a `uri!`
/// of its route). With `popular_tags`, that many of the most used tags too, read in the same
/// round trip.
pub async fn previews(
    db: &DbPool,
    layout: &Layout,
    filter: &Filter,
    link: &(dyn Fn(At) -> String + Sync),
    at: At,
    size: i64,
    popular_tags: Option<i64>,
) -> Result<Previews, AppError> {
    let viewer = layout.user_id();
    let found =
        db::articles::keyset_page(db, filter, viewer, size, at.position(size), popular_tags)
            .await?;
    let here = link(at);
    let forms = layout
        .user
        .is_some()
        .then_some((layout.csrf.as_str(), here.as_str()));
    let html = found
        .articles
        .into_iter()
        .map(|article| {
            let inputs = Key::new().with(&article).with(&viewer).with(&forms);
            layout.fragment("partials/article_preview", &inputs, || PreviewContext {
                article: ArticleView::new(&layout.links, article, viewer),
                forms: forms.map(|(csrf_token, back)| PreviewForms { csrf_token, back }),
            })
        })
        .collect::<Result<_, _>>()?;
    let first = (!found.first).then(|| link(At::First));
    let newer = found.newer.map(|id| link(At::After(id)));
    let older = found.older.map(|id| link(At::Before(id)));
    let inputs = Key::new().with(&first).with(&newer).with(&older);
    let pager = layout.fragment("partials/pager", &inputs, || PagerContext {
        pager: Pager::keyset(first.clone(), newer.clone(), older.clone()),
    })?;
    Ok(Previews {
        html,
        pager,
        here,
        popular_tags: found.popular_tags,
    })
}

/// What `partials/pager` shows.
#[derive(Serialize)]
struct PagerContext {
    pager: Pager,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_page_numbers_mean_the_first_page() {
        assert_eq!(page_number(Some("3"), 10), 3);
        assert_eq!(
            page_number(Some("10001"), 10),
            10_001,
            "skips 100,000: the last one served"
        );
        for bad in [
            None,
            Some("0"),
            Some("-2"),
            Some("x"),
            Some("99999999999"),
            Some("10002"),
        ] {
            assert_eq!(page_number(bad, 10), 1, "{bad:?}");
        }
    }

    #[test]
    fn cursors_are_whole_numbers_and_one_at_a_time() {
        let at = |p, b, a| At::parse(p, b, a, 10);
        assert_eq!(at(None, None, None).ok(), Some(At::First));
        assert_eq!(at(Some("2"), None, None).ok(), Some(At::Page(2)));
        assert_eq!(at(Some("1"), None, None).ok(), Some(At::First));
        assert_eq!(
            at(None, Some(" 42 "), None).ok(),
            Some(At::Before(ArticleId::new(42)))
        );
        assert_eq!(
            at(None, None, Some("-7")).ok(),
            Some(At::After(ArticleId::new(-7)))
        );
        assert_eq!(
            at(Some("3"), Some("5"), None).ok(),
            Some(At::Before(ArticleId::new(5))),
            "a cursor wins"
        );
        assert_eq!(
            at(None, Some(""), None).ok(),
            Some(At::First),
            "an empty cursor is none"
        );
        for (before, after) in [
            (Some("x"), None),
            (None, Some("1e3")),
            (Some("99999999999999999999"), None),
            (Some("1"), Some("2")),
        ] {
            assert!(
                matches!(at(None, before, after), Err(AppError::BadRequest(_))),
                "{before:?} {after:?}"
            );
        }
        for at in [
            At::First,
            At::Page(4),
            At::Before(ArticleId::new(9)),
            At::After(ArticleId::new(3)),
        ] {
            let (page, before, after) = at.query();
            assert_eq!(
                At::parse(page.as_deref(), before.as_deref(), after.as_deref(), 10).ok(),
                Some(at)
            );
        }
    }
}
