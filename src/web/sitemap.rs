//! What crawlers read: `/robots.txt` (which names the sitemap and keeps them out of the
//! private areas) and `/sitemap.xml`, every article and profile with its `lastmod`. Past
//! `sitemap_max_urls` URLs (the protocol's 50,000 by default) `/sitemap.xml` is an index of
//! parts instead, `/sitemap/articles-<n>.xml` and `/sitemap/profiles-<n>.xml`, each an id range
//! of at most that many rows (see [`crate::db::sitemap`]).

use std::fmt::Write as _;

use rocket::http::ContentType;
use rocket::{get, routes, uri, Route, State};

use crate::config::{AppConfig, PublicUrl};
use crate::db::sitemap::{self, Kind};
use crate::db::{Conn, DbPool};
use crate::error::{AppError, PageResult};
use crate::timefmt::iso_seconds;
use crate::web::feeds::{Conditional, Document, Since};
use crate::web::views::Links;

/// The paths robots.txt keeps crawlers out of (each covers the paths below it).
/// `/search`: result pages are endless (any words, any filter) and say nothing the article
/// pages do not.
pub const DISALLOWED: &[&str] = &["/admin", "/settings", "/editor", "/api", "/search"];

const XMLNS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

#[get("/robots.txt")]
fn robots(config: &State<AppConfig>, since: Since) -> Conditional {
    let mut text = String::from("User-agent: *\n");
    for path in DISALLOWED {
        let _ = writeln!(text, "Disallow: {path}");
    }
    let _ = writeln!(
        text,
        "\nSitemap: {}",
        config.public_url.join(&uri!(index).to_string())
    );
    Document {
        body: text.into_bytes(),
        content_type: ContentType::Plain,
        last_modified: None,
    }
    .answer(&since)
}

#[get("/sitemap.xml")]
async fn index(
    db: Conn,
    config: &State<AppConfig>,
    links: &State<Links>,
    since: Since,
) -> PageResult<Conditional> {
    let size = config.sitemap_max_urls;
    let public = &config.public_url;
    let (articles, users) = sitemap::counts(&db).await?;
    let xml = if articles.saturating_add(users) <= size {
        let mut xml = urlset_start();
        for kind in [Kind::Articles, Kind::Profiles] {
            urls(&db, kind, 0, i64::MAX, public, links, &mut xml).await?;
        }
        xml.push_str("</urlset>\n");
        xml
    } else {
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"{XMLNS}\">\n"
        );
        for kind in [Kind::Articles, Kind::Profiles] {
            for n in sitemap::parts(&db, kind, size).await? {
                let loc = public.join(&uri!(part(part_name(kind, n))).to_string());
                let _ = writeln!(xml, "<sitemap><loc>{}</loc></sitemap>", escape(&loc));
            }
        }
        xml.push_str("</sitemapindex>\n");
        xml
    };
    Ok(document(xml).answer(&since))
}

#[get("/sitemap/<name>")]
async fn part(
    db: Conn,
    config: &State<AppConfig>,
    links: &State<Links>,
    name: &str,
    since: Since,
) -> PageResult<Conditional> {
    let (kind, n) = parse_part(name).ok_or(AppError::NotFound("sitemap"))?;
    let size = config.sitemap_max_urls;
    let after = n.checked_sub(1).and_then(|m| m.checked_mul(size));
    let (Some(after), Some(upto)) = (after, n.checked_mul(size)) else {
        return Err(AppError::NotFound("sitemap").into());
    };
    let mut xml = urlset_start();
    let start = xml.len();
    urls(&db, kind, after, upto, &config.public_url, links, &mut xml).await?;
    if xml.len() == start {
        return Err(AppError::NotFound("sitemap").into());
    }
    xml.push_str("</urlset>\n");
    Ok(document(xml).answer(&since))
}

fn part_name(kind: Kind, n: i64) -> String {
    match kind {
        Kind::Articles => format!("articles-{n}.xml"),
        Kind::Profiles => format!("profiles-{n}.xml"),
    }
}

/// The kind and number of a part's file name (`articles-3.xml`); `None` for anything else.
fn parse_part(name: &str) -> Option<(Kind, i64)> {
    let (kind, rest) = if let Some(rest) = name.strip_prefix("articles-") {
        (Kind::Articles, rest)
    } else {
        (Kind::Profiles, name.strip_prefix("profiles-")?)
    };
    let digits = rest.strip_suffix(".xml")?;
    // Plain digits only: no sign, no spaces, no leading zero (one name per part).
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(|n| (kind, n))
}

fn urlset_start() -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"{XMLNS}\">\n")
}

/// Append a `<url>` for every row of `kind` with an id in `(after, upto]`.
async fn urls(
    db: &DbPool,
    kind: Kind,
    after: i64,
    upto: i64,
    public: &PublicUrl,
    links: &Links,
    xml: &mut String,
) -> Result<(), AppError> {
    let path = match kind {
        Kind::Articles => links.article,
        Kind::Profiles => links.profile,
    };
    sitemap::each_in(db, kind, after, upto, |row| {
        let _ = writeln!(
            xml,
            "<url><loc>{}</loc><lastmod>{}</lastmod></url>",
            escape(&public.join(&path(&row.name))),
            iso_seconds(&row.lastmod)
        );
    })
    .await?;
    Ok(())
}

fn document(xml: String) -> Document {
    Document {
        body: xml.into_bytes(),
        content_type: ContentType::XML,
        last_modified: None,
    }
}

/// `text` escaped for XML character data and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    routes![robots, index, part]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_read_back_and_nothing_else_does() {
        for (kind, n) in [
            (Kind::Articles, 1),
            (Kind::Profiles, 12),
            (Kind::Articles, 9_999),
        ] {
            assert_eq!(parse_part(&part_name(kind, n)), Some((kind, n)));
        }
        for bad in [
            "articles-0.xml",
            "articles-01.xml",
            "articles--1.xml",
            "articles-+1.xml",
            "articles-1.xml.gz",
            "articles-.xml",
            "articles- 1.xml",
            "comments-1.xml",
            "articles-99999999999999999999999.xml",
            "",
        ] {
            assert_eq!(parse_part(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn xml_text_is_escaped() {
        assert_eq!(
            escape(r#"/a?b=1&c=<"'>"#),
            "/a?b=1&amp;c=&lt;&quot;&apos;&gt;"
        );
    }
}
