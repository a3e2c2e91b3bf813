//! The HTML face's error page: rendered with the site's templates through the managed
//! [`PageRenderer`] (error pages are made here, below the faces that own the templates), in the
//! layout's navigation with the search box and links the site's stage manages, and a short
//! escaped page of its own when the template cannot be rendered.

use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder};
use rocket::Request;
use serde_json::json;

use super::ResendHint;

/// The heading of an error page for `status`.
pub(crate) fn title_for(status: Status) -> &'static str {
    match status.code {
        400 => "Bad request",
        401 => "Please sign in",
        403 => "Not allowed",
        404 => "Page not found",
        405 => "Method not allowed",
        413 => "Too large",
        415 => "Unsupported content type",
        422 => "Check your input",
        429 => "Too many attempts",
        503 => "Temporarily unavailable",
        500..=599 => "Something went wrong",
        _ => "Error",
    }
}

/// Where the navigation's search box sends its query on error pages, which render without the
/// site's layout: the site's stage manages one (`crate::web`), made by its route's `uri!`.
#[derive(Debug, Clone)]
pub struct SearchBox(pub String);

/// The search box's target for an error page answering `req`: none in the admin console (the
/// site's search is for readers) or when the site is not mounted.
pub fn search_box(req: &Request<'_>) -> Option<String> {
    let admin = req
        .uri()
        .path()
        .segments()
        .next()
        .is_some_and(|first| first == "admin");
    req.rocket()
        .state::<SearchBox>()
        .filter(|_| !admin)
        .map(|b| b.0.clone())
}

/// Where the links of an error page go (its navigation, as seen signed out, and its way back
/// home): error pages render without the site's layout, so the site's stage manages these,
/// made by its routes' `uri!`s. Empty (links to the page itself) when the site is not mounted.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ErrorPageLinks {
    /// The home page.
    pub home: String,
    /// The login page.
    pub login: String,
    /// The sign-up page.
    pub register: String,
}

/// Renders a page template of the site: the site's templates (`web::render::Templates`), which
/// the web layer manages as [`PageRenderer`] state, so that error pages (made down here, below
/// the faces) render with the same single copy of the templates as every other page.
pub trait RenderPage: Send + Sync {
    /// The HTML of template `name` with `context`, or why it failed.
    fn render_page(&self, name: &'static str, context: serde_json::Value)
        -> Result<String, String>;
}

/// The page renderer error pages use (managed state; see [`RenderPage`]).
#[derive(Clone)]
pub struct PageRenderer(pub std::sync::Arc<dyn RenderPage>);

/// An error page's HTML (a short page without the layout when no renderer is managed or the
/// template failed, which is logged).
pub struct ErrorHtml(String);

impl<'r> Responder<'r, 'static> for ErrorHtml {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        (ContentType::HTML, self.0).respond_to(req)
    }
}

/// An error page answering `req` in the site layout, with a way back home, and the search box
/// where [`search_box`] gives one.
pub fn error_page(req: &Request<'_>, status: Status, messages: &[String]) -> (Status, ErrorHtml) {
    let links = req
        .rocket()
        .state::<ErrorPageLinks>()
        .cloned()
        .unwrap_or_default();
    let context = json!({
        "status": status.code,
        "title": title_for(status),
        "messages": messages,
        "search_url": search_box(req),
        "home_url": links.home,
        "nav_links": links,
        "resend": req
            .local_cache(ResendHint::default)
            .0
            .as_ref()
            .map(|(action, csrf)| json!({ "action": action, "csrf": csrf })),
    });
    let rendered = match req.rocket().state::<PageRenderer>() {
        Some(renderer) => renderer.0.render_page("errors/error", context),
        None => Err("no page renderer is managed".to_owned()),
    };
    let html = rendered.unwrap_or_else(|e| {
        log::error!("error page for {status}: {e}");
        plain_error_page(status, messages)
    });
    (status, ErrorHtml(html))
}

/// A minimal error page, escaped, for when the site's template cannot be rendered.
fn plain_error_page(status: Status, messages: &[String]) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut items = String::new();
    for message in messages {
        items.push_str("<li>");
        items.push_str(&escape(message));
        items.push_str("</li>");
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><main><h1>{title}</h1><ul>{items}</ul><p><a href=\"/\">Home</a></p></main></body></html>",
        title = escape(title_for(status)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_error_page_shows_messages_as_text() {
        let html = plain_error_page(Status::NotFound, &["<script>x</script> & \"more\"".into()]);
        let page = scraper::Html::parse_document(&html);
        let select = |css| scraper::Selector::parse(css).expect("selector");
        let texts: Vec<String> = page
            .select(&select("main li"))
            .map(|e| e.text().collect())
            .collect();
        assert_eq!(texts, vec!["<script>x</script> & \"more\"".to_owned()]);
        assert_eq!(page.select(&select("script")).count(), 0);
        let heading: String = page
            .select(&select("main h1"))
            .flat_map(|e| e.text())
            .collect();
        assert_eq!(heading, title_for(Status::NotFound));
    }
}
