//! Article bodies: markdown rendered by pulldown-cmark, then sanitized by ammonia (in that
//! order: sanitizing the markdown source would not stop the HTML it renders to).
//!
//! Rendering is a pure function of the text and costs more than the rest of an article page
//! together (the sanitizer parses the HTML again), so recent results are kept in a small
//! cache keyed by the full text: an edited body is a different key, so nothing goes stale,
//! and every server process has its own.

use std::sync::Arc;

use pulldown_cmark::{html, Options, Parser};

use crate::cache::TextCache;

/// Render markdown to safe HTML: no scripts, no event handlers, no `javascript:` URLs.
#[must_use]
pub fn to_safe_html(markdown: &str) -> Arc<str> {
    if let Some(html) = CACHE.get(markdown.as_bytes()) {
        return html;
    }
    let html: Arc<str> = render(markdown).into();
    CACHE.put(markdown.as_bytes(), &html);
    html
}

fn render(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .clean(&unsafe_html)
        .to_string()
}

/// Bytes of markdown plus HTML the cache may hold.
const CACHE_BYTES: usize = 4 * 1024 * 1024;
/// Texts longer than this are rendered every time (one would crowd out the rest).
const CACHE_ENTRY_MAX: usize = 128 * 1024;

static CACHE: TextCache = TextCache::new(CACHE_BYTES, CACHE_ENTRY_MAX);

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn renders_markdown() {
        assert_eq!(
            &*to_safe_html("# Hi\n\n*there*"),
            "<h1>Hi</h1>\n<p><em>there</em></p>\n"
        );
        // The second call is served from the cache and is the same text.
        assert_eq!(
            &*to_safe_html("# Hi\n\n*there*"),
            "<h1>Hi</h1>\n<p><em>there</em></p>\n"
        );
    }

    #[test]
    fn strips_scripts_handlers_and_javascript_urls() {
        let html = to_safe_html(
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }
}
