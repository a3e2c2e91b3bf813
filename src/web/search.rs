//! The search page, `/search?q=&tag=&author=&page=`: ranked results (`db::search`), each with
//! its title linked, author, date, tags and a snippet with the searched words marked
//! ([`crate::snippet`]); filters by tag and author; numbered pages with `rel=prev/next`, up to
//! the first [`MAX_RESULTS`] results (the count says "1000+" past them, and a page past them
//! says that search shows no more and how to narrow it). An empty query shows the form and
//! what search does. The navigation's search box on every
//! page is a plain GET form to here (`partials/nav`), so it works without JavaScript.

use rocket::form::FromForm;
use rocket::{get, routes, uri, Route, State, UriDisplayQuery};
use serde::Serialize;

use crate::config::AppConfig;
use crate::content;
use crate::db::articles::{Article, Filter};
use crate::db::search::{Query, MAX_QUERY_CHARS, MAX_RESULTS};
use crate::db::{self, Conn};
use crate::error::PageResult;
use crate::search_budget::SearchBudget;
use crate::snippet::{snippet, Part};
use crate::web::layout::Layout;
use crate::web::lists::page_number;
use crate::web::render::RenderedPage;
use crate::web::views::{DateView, Pager};

/// The search page's query, as sent (blank fields are no filter).
#[derive(Debug, Default, Clone, FromForm, UriDisplayQuery)]
pub struct SearchQuery {
    /// The words to search for.
    pub q: Option<String>,
    /// Only articles with this tag.
    pub tag: Option<String>,
    /// Only articles by this username.
    pub author: Option<String>,
    /// The page of results (1 when absent or malformed).
    pub page: Option<String>,
}

/// The URL of the search page for `query`.
pub fn search_link(query: &SearchQuery) -> String {
    uri!(index(query)).to_string()
}

/// The search page with nothing searched yet: where search forms submit.
pub fn search_home() -> String {
    search_link(&<SearchQuery as Default>::default())
}

/// `value` trimmed, `None` when blank.
fn given(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Makes the URL of these results narrowed to a tag and an author, at a page.
type ResultsLink<'a> = &'a dyn Fn(Option<&String>, Option<&String>, i64) -> String;

/// A link to a person's profile.
#[derive(Serialize)]
struct AuthorView {
    username: String,
    url: String,
}

/// A tag of a result, linking to these results narrowed to it.
#[derive(Serialize)]
struct TagLink {
    name: String,
    url: String,
}

/// One result.
#[derive(Serialize)]
struct ResultView {
    url: String,
    title: String,
    author: AuthorView,
    created: DateView,
    tags: Vec<TagLink>,
    /// The snippet's parts; the template marks the matched ones.
    snippet: Vec<Part>,
}

/// What `search/index` shows.
// The flags are what the template tests, each on its own (`{% if partial %}`).
#[allow(clippy::struct_excessive_bools)]
#[derive(Serialize)]
struct SearchPage {
    title: String,
    active: &'static str,
    /// Where the form submits.
    action: String,
    /// The words as typed (trimmed), the filters as given.
    q: String,
    tag: String,
    author: String,
    max_query: usize,
    /// Whether a search was made (a non-blank `q`).
    searched: bool,
    /// How many articles match in all, up to `max_results`.
    total: i64,
    /// Whether more than `max_results` match.
    more: bool,
    /// Whether the search stopped at its bound on rows read (more may match).
    partial: bool,
    /// The most results a search reaches (`db::search::MAX_RESULTS`).
    max_results: i64,
    /// Whether this page is past them.
    past_results: bool,
    /// The first and last result numbers on this page.
    first: i64,
    last: i64,
    results: Vec<ResultView>,
    /// The same words without the filters, when there are filters.
    clear_filters_url: Option<String>,
    pager: Pager,
}

#[get("/search?<query..>")]
async fn index(
    _budget: SearchBudget,
    db: Conn,
    layout: Layout,
    config: &State<AppConfig>,
    query: SearchQuery,
) -> PageResult<RenderedPage> {
    // Only the first MAX_QUERY_CHARS are searched; only they are shown back (and linked).
    let q = given(query.q.as_deref()).map(|q| q.chars().take(MAX_QUERY_CHARS).collect::<String>());
    let tag = given(query.tag.as_deref());
    let author = given(query.author.as_deref());
    let filter = Filter {
        tag: tag.clone(),
        author: author.clone(),
        ..Filter::default()
    };
    content::check_filter(&filter)?;
    let size = config.page_size;
    let page = page_number(query.page.as_deref(), size);
    let link = |tag: Option<&String>, author: Option<&String>, page: i64| {
        search_link(&SearchQuery {
            q: q.clone(),
            tag: tag.cloned(),
            author: author.cloned(),
            page: (page > 1).then(|| page.to_string()),
        })
    };
    let (results, total, more, partial, pager) = match &q {
        None => (Vec::new(), 0, false, false, Pager::numbered(None, None)),
        Some(text) => {
            let words = Query::parse(text, db.engine());
            let viewer = layout.user_id();
            let found = db::search::search(
                &db,
                &words,
                &filter,
                viewer,
                size,
                (page - 1) * size,
                true,
                config.search_rows_examined,
            )
            .await?;
            let results: Vec<ResultView> = found
                .articles
                .into_iter()
                .map(|a| result_view(&layout, a, words.words(), &link, author.as_ref()))
                .collect();
            let shown = i64::try_from(results.len()).unwrap_or(i64::MAX);
            let previous = (page > 1).then(|| link(tag.as_ref(), author.as_ref(), page - 1));
            let next = ((page - 1) * size + shown < found.total && shown == size)
                .then(|| link(tag.as_ref(), author.as_ref(), page + 1));
            (
                results,
                found.total,
                found.more,
                found.partial,
                Pager::numbered(previous, next),
            )
        }
    };
    let shown = i64::try_from(results.len()).unwrap_or(i64::MAX);
    let first = if shown == 0 { 0 } else { (page - 1) * size + 1 };
    let title = q
        .as_ref()
        .map_or_else(|| "Search".to_owned(), |q| format!("Search: {q}"));
    Ok(layout.render(
        "search/index",
        SearchPage {
            title,
            active: "search",
            action: search_home(),
            searched: q.is_some(),
            clear_filters_url: (tag.is_some() || author.is_some()).then(|| link(None, None, 1)),
            q: q.unwrap_or_default(),
            tag: tag.unwrap_or_default(),
            author: author.unwrap_or_default(),
            max_query: MAX_QUERY_CHARS,
            total,
            more,
            partial,
            max_results: MAX_RESULTS,
            past_results: (page - 1) * size >= MAX_RESULTS,
            first,
            last: first + shown - 1,
            results,
            pager,
        },
    ))
}

fn result_view(
    layout: &Layout,
    a: Article,
    words: &[String],
    link: ResultsLink<'_>,
    author: Option<&String>,
) -> ResultView {
    ResultView {
        url: (layout.links.article)(&a.slug),
        snippet: snippet(&a.description, a.body.as_deref().unwrap_or_default(), words),
        tags: a
            .tags
            .iter()
            .map(|t| TagLink {
                url: link(Some(t), author, 1),
                name: t.clone(),
            })
            .collect(),
        created: (&a.created_at).into(),
        author: AuthorView {
            url: (layout.links.profile)(&a.author_username),
            username: a.author_username,
        },
        title: a.title,
    }
}

/// The search page's route.
pub fn routes() -> Vec<Route> {
    routes![index]
}
