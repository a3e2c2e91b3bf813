//! Article bodies: markdown rendered by pulldown-cmark, then sanitized by ammonia (in that
//! order: sanitizing the markdown source would not stop the HTML it renders to).
//!
//! Rendering is a pure function of the text and costs more than the rest of an article page
//! together (the sanitizer parses the HTML again), so recent results are kept in a small
//! cache keyed by the full text: an edited body is a different key, so nothing goes stale,
//! and every server process has its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use pulldown_cmark::{html, Options, Parser};

/// Render markdown to safe HTML: no scripts, no event handlers, no `javascript:` URLs.
#[must_use]
pub fn to_safe_html(markdown: &str) -> Arc<str> {
    if let Some(html) = CACHE.get(markdown) {
        return html;
    }
    let html: Arc<str> = render(markdown).into();
    CACHE.put(markdown, &html);
    html
}

fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
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

static CACHE: RenderCache = RenderCache::new();

/// Least-recently-used results, bounded by their total size in bytes.
struct RenderCache {
    inner: Mutex<CacheInner>,
}

/// markdown -> (HTML, last use).
type Entries = HashMap<Box<str>, (Arc<str>, u64)>;

struct CacheInner {
    /// Created on first use (`HashMap::new` is not `const`).
    entries: Option<Entries>,
    /// Bytes held (markdown plus HTML).
    bytes: usize,
    /// Use counter, for recency.
    clock: u64,
}

impl RenderCache {
    const fn new() -> Self {
        Self {
            inner: Mutex::new(CacheInner {
                entries: None,
                bytes: 0,
                clock: 0,
            }),
        }
    }

    fn get(&self, markdown: &str) -> Option<Arc<str>> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let now = inner.clock;
        let (html, used) = inner.entries.as_mut()?.get_mut(markdown)?;
        *used = now;
        Some(Arc::clone(html))
    }

    fn put(&self, markdown: &str, html: &Arc<str>) {
        let size = markdown.len() + html.len();
        if size > CACHE_ENTRY_MAX {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let now = inner.clock;
        let CacheInner { entries, bytes, .. } = &mut *inner;
        let entries = entries.get_or_insert_with(HashMap::new);
        if entries.contains_key(markdown) {
            return;
        }
        // Evict the least recently used until the new entry fits.
        while *bytes + size > CACHE_BYTES {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((old_html, _)) = entries.remove(&oldest) {
                *bytes -= oldest.len() + old_html.len();
            }
        }
        entries.insert(markdown.into(), (Arc::clone(html), now));
        *bytes += size;
    }
}

#[cfg(test)]
mod tests {
    use super::{to_safe_html, RenderCache, CACHE_BYTES};
    use std::sync::Arc;

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
        let html =
            to_safe_html("<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn cache_stays_within_its_budget_and_keeps_recent_entries() {
        let cache = RenderCache::new();
        let html: Arc<str> = "x".repeat(60 * 1024).into();
        let key = |i: usize| format!("{i:04}{}", "m".repeat(4 * 1024));
        for i in 0..200 {
            cache.put(&key(i), &html);
            // Entry 0 is used all along, so it is never the least recently used.
            assert!(cache.get(&key(0)).is_some(), "entry 0 evicted at {i}");
        }
        let inner = cache.inner.lock().unwrap();
        assert!(inner.bytes <= CACHE_BYTES, "{} bytes", inner.bytes);
        let held: usize = inner
            .entries
            .as_ref()
            .unwrap()
            .iter()
            .map(|(k, (h, _))| k.len() + h.len())
            .sum();
        assert_eq!(held, inner.bytes);
        drop(inner);
        assert!(cache.get(&key(1)).is_none(), "old entries were evicted");
        assert!(cache.get(&key(199)).is_some());
    }
}
