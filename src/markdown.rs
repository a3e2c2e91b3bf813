//! Article bodies: markdown rendered by pulldown-cmark, then sanitized by ammonia (in that
//! order: sanitizing the markdown source would not stop the HTML it renders to).
//!
//! Rendering is a pure function of the text and costs more than the rest of an article page
//! together (the sanitizer parses the HTML again), so recent results are kept in a small
//! cache keyed by the full text: an edited body is a different key, so nothing goes stale,
//! and every server process has its own.

use std::sync::Arc;

use pulldown_cmark::{html, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

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
    // The page's title is its only `h1` and the outline skips no level (issue 21): the levels
    // a body uses become h2, h3, ... in their order (`# A` / `### B` gives h2 / h3), and a raw
    // `<h1>` keeps its text but not its level.
    let events: Vec<Event<'_>> = Parser::new_ext(markdown, options).collect();
    let mut used = [false; 6];
    for event in &events {
        if let Event::Start(Tag::Heading { level, .. }) = event {
            used[*level as usize - 1] = true;
        }
    }
    let mut outline = [HeadingLevel::H6; 6];
    let levels = used.iter().enumerate().filter(|(_, u)| **u);
    for (next, (i, _)) in (2_usize..).zip(levels) {
        outline[i] = HeadingLevel::try_from(next).unwrap_or(HeadingLevel::H6);
    }
    let events = events.into_iter().map(|event| match event {
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: outline[level as usize - 1],
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(level)) => {
            Event::End(TagEnd::Heading(outline[level as usize - 1]))
        }
        other => other,
    });
    html::push_html(&mut unsafe_html, events);
    ammonia::Builder::default()
        .rm_tags(["h1"])
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
            "<h2>Hi</h2>\n<p><em>there</em></p>\n"
        );
        // The second call is served from the cache and is the same text.
        assert_eq!(
            &*to_safe_html("# Hi\n\n*there*"),
            "<h2>Hi</h2>\n<p><em>there</em></p>\n"
        );
    }

    #[test]
    fn body_headings_start_below_the_page_title() {
        assert_eq!(
            &*to_safe_html("# One\n\n###### Six\n\n<h1>raw</h1>"),
            "<h2>One</h2>\n<h3>Six</h3>\nraw"
        );
        assert_eq!(
            &*to_safe_html("### A\n\n## B\n\n### C"),
            "<h3>A</h3>\n<h2>B</h2>\n<h3>C</h3>\n"
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
