//! What a page says about itself in `<head>` (`partials/head` renders it): its canonical
//! address, the Atom feed that follows it, and the OpenGraph and Twitter card meta that link
//! previews are drawn from. Every URL here is absolute, on `public_url`; every value is
//! escaped by the template.

use serde::Serialize;

use crate::config::PublicUrl;
use crate::timefmt::iso_seconds;
use crate::web::views::ArticleView;

/// A page's `<head>` additions.
#[derive(Debug, Default, Serialize)]
pub struct HeadView {
    /// `<link rel="canonical">`.
    pub canonical: Option<String>,
    /// `<link rel="alternate" type="application/atom+xml">`.
    pub feed: Option<FeedLink>,
    /// `<meta property=... content=...>` (OpenGraph), in order.
    pub properties: Vec<(&'static str, String)>,
    /// `<meta name=... content=...>` (Twitter card), in order.
    pub names: Vec<(&'static str, String)>,
}

/// A feed a page announces.
#[derive(Debug, Serialize)]
pub struct FeedLink {
    /// What readers call it.
    pub title: String,
    /// Where it is (a path of this site).
    pub href: String,
}

impl HeadView {
    /// A list page that announces the feed `title` at `href`.
    pub fn feed(title: String, href: String) -> Self {
        Self {
            feed: Some(FeedLink { title, href }),
            ..Self::default()
        }
    }

    /// The page at `path` (a path of this site) is its own canonical address.
    #[must_use]
    pub fn canonical(mut self, public: &PublicUrl, path: &str) -> Self {
        self.canonical = Some(public.join(path));
        self
    }

    /// The meta of a preview card: title, description, the page's type and picture.
    fn card(&mut self, kind: &'static str, title: &str, description: &str, image: Option<String>) {
        let url = self.canonical.clone().unwrap_or_default();
        self.properties.extend([
            ("og:site_name", "Conduit".to_owned()),
            ("og:type", kind.to_owned()),
            ("og:title", title.to_owned()),
            ("og:description", description.to_owned()),
            ("og:url", url),
        ]);
        if let Some(image) = &image {
            self.properties.push(("og:image", image.clone()));
        }
        self.names.extend([
            ("twitter:card", "summary".to_owned()),
            ("twitter:title", title.to_owned()),
            ("twitter:description", description.to_owned()),
        ]);
        if let Some(image) = image {
            self.names.push(("twitter:image", image));
        }
    }

    /// The article page of `article` (its canonical address set first).
    pub fn article(
        public: &PublicUrl,
        article: &ArticleView,
        updated: &chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let mut head = Self::default().canonical(public, &article.url);
        let image = picture(public, article.author.image.as_deref());
        head.card("article", &article.title, &article.description, image);
        head.properties.extend([
            ("article:author", public.join(&article.author.url)),
            ("article:published_time", article.created.iso.clone()),
            ("article:modified_time", iso_seconds(updated)),
        ]);
        for tag in &article.tags {
            head.properties.push(("article:tag", tag.clone()));
        }
        head
    }

    /// A profile page: `username`, `bio` and `image` as they set them (canonical set first).
    #[must_use]
    pub fn profile(
        mut self,
        public: &PublicUrl,
        username: &str,
        bio: Option<&str>,
        image: Option<&str>,
    ) -> Self {
        let description = bio.filter(|b| !b.trim().is_empty()).map_or_else(
            || format!("Articles by {username} on Conduit."),
            str::to_owned,
        );
        self.card("profile", username, &description, picture(public, image));
        self.properties
            .push(("profile:username", username.to_owned()));
        self
    }
}

/// A person's picture as an absolute URL: an absolute `http(s)` URL as set, a path of this
/// site on `public_url`, nothing otherwise (no default avatar: a card shows none rather than a
/// placeholder).
fn picture(public: &PublicUrl, image: Option<&str>) -> Option<String> {
    let image = image.map(str::trim).filter(|i| !i.is_empty())?;
    if image.starts_with("https://") || image.starts_with("http://") {
        Some(image.to_owned())
    } else if image.starts_with('/') && !image.starts_with("//") {
        Some(public.join(image))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::picture;
    use crate::config::PublicUrl;

    #[test]
    fn pictures_are_absolute_or_absent() {
        let public = PublicUrl::parse("https://conduit.example").unwrap();
        let cases = [
            (
                Some("https://img.example/a.png"),
                Some("https://img.example/a.png"),
            ),
            (
                Some("/static/a.png"),
                Some("https://conduit.example/static/a.png"),
            ),
            (Some("//evil.example/a.png"), None),
            (Some("javascript:alert(1)"), None),
            (Some("  "), None),
            (None, None),
        ];
        for (image, expected) in cases {
            assert_eq!(picture(&public, image).as_deref(), expected, "{image:?}");
        }
    }
}
