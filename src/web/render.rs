//! Pages rendered by the site's Tera templates straight from their context structs.
//!
//! `rocket_dyn_templates` loads the templates from `template_dir` (and, in debug builds, reloads
//! them when a file changes). Its `Template` responder converts a page's context twice, into
//! figment values and then into Tera's JSON values. Pages render through [`Templates`] instead:
//! the same Tera instance, handed over by the fairing's customization hook on every (re)load,
//! and one conversion of the context, into a [`RenderedPage`].
//!
//! Parts of pages that repeat (an article preview, a comment, the tag list, a pager) render as
//! fragments, memoized by their exact inputs: the fragment's name and every value its context
//! is made from (a database row, the viewer, a form token), compared byte for byte. Rendering
//! is a pure function of those, so a changed title, count, avatar, viewer or token is another
//! key and nothing can go stale; each load of the templates starts a new generation of keys
//! (and forgets the old entries). Tera looks every variable up by name as it renders; a memo
//! hit only writes the inputs out and compares them (a few hundred bytes). The memos are
//! [`TextCache`]s, bounded in bytes.

use std::io::Cursor;
use std::sync::{Arc, PoisonError, RwLock};

use rocket::fairing::Fairing;
use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder, Response};
use rocket::Request;
use rocket_dyn_templates::tera::{self, Context, Tera};
use rocket_dyn_templates::Template;
use serde::Serialize;

use crate::cache::{Key, TextCache, Weigh};

/// Bytes of fragment inputs plus HTML each server keeps.
const FRAGMENT_BYTES: usize = 4 * 1024 * 1024;
/// Fragments larger than this (inputs plus HTML) render every time.
const FRAGMENT_ENTRY_MAX: usize = 64 * 1024;
/// Bytes of whole pages (their context plus HTML) each server keeps.
const PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Pages larger than this (context plus HTML: a long article) render every time.
const PAGE_ENTRY_MAX: usize = 128 * 1024;

/// The templates as last loaded by `rocket_dyn_templates`' fairing, and the fragments rendered
/// with them. Cheap to clone.
#[derive(Clone)]
pub struct Templates {
    loaded: Arc<RwLock<Arc<Loaded>>>,
    fragments: Arc<TextCache>,
    pages: Arc<TextCache<Rendered>>,
}

/// One load of the templates.
#[derive(Default)]
struct Loaded {
    /// Counts loads: part of every fragment key, so a fragment rendered from an older load
    /// (by a request that was under way during a reload) is never served after it.
    generation: i64,
    tera: Tera,
}

impl Default for Templates {
    fn default() -> Self {
        Self {
            loaded: Arc::default(),
            fragments: Arc::new(TextCache::new(FRAGMENT_BYTES, FRAGMENT_ENTRY_MAX)),
            pages: Arc::new(TextCache::new(PAGE_BYTES, PAGE_ENTRY_MAX)),
        }
    }
}

impl Templates {
    /// `rocket_dyn_templates`' fairing, keeping this handle up to date with what it loads.
    pub fn fairing(&self) -> impl Fairing {
        let shared = self.clone();
        Template::custom(move |engines| {
            let mut slot = shared
                .loaded
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            // Taken, not cloned: every page (error pages too, through `RenderPage`) renders
            // through this handle, and a second copy of the parsed templates was about 2 MB
            // of the server's memory (bench/NOTES-speed.md, "Peak RSS, third look").
            *slot = Arc::new(Loaded {
                generation: slot.generation + 1,
                tera: std::mem::take(&mut engines.tera),
            });
            shared.fragments.clear();
            shared.pages.clear();
        })
    }

    /// The templates now in use. Rendering holds this snapshot, not the lock.
    fn current(&self) -> Arc<Loaded> {
        Arc::clone(&self.loaded.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The page template `name` rendered with `context` (a JSON object, or the error building
    /// it), memoized like a fragment: keyed by the whole context, which holds everything the
    /// page shows. `reveal_csrf`: the page was rendered with the anonymous form token's
    /// placeholder (see [`crate::auth::csrf::reveal`]).
    pub fn page(
        &self,
        name: &'static str,
        context: tera::Result<serde_json::Value>,
        reveal_csrf: bool,
    ) -> RenderedPage {
        let html = context.and_then(|context| {
            let loaded = self.current();
            let key = Key::new()
                .with(&loaded.generation)
                .with(name)
                .with_json(&context);
            self.pages.get_or_make(key.as_bytes(), || {
                let html = loaded.tera.render(name, &Context::from_value(context)?)?;
                Ok(Rendered::new(html))
            })
        });
        RenderedPage {
            name,
            html,
            reveal_csrf,
        }
    }

    /// The HTML of the fragment template `name` with the context `context()` makes from
    /// `inputs`, rendered once per distinct `inputs` (see the module's notes). `context` must
    /// be a function of `inputs` alone. Fragments are self-contained: the layout's values
    /// (`current_user`, `csrf_token`) are not added, so a context names all it shows.
    pub fn fragment<C: Serialize>(
        &self,
        name: &'static str,
        inputs: &Key,
        context: impl FnOnce() -> C,
    ) -> tera::Result<Arc<str>> {
        let loaded = self.current();
        let key = Key::new().with(&loaded.generation).with(name).then(inputs);
        self.fragments.get_or_make(key.as_bytes(), || {
            let ctx = Context::from_serialize(context())?;
            loaded.tera.render(name, &ctx)
        })
    }
}

impl crate::error::RenderPage for Templates {
    fn render_page(
        &self,
        name: &'static str,
        context: serde_json::Value,
    ) -> Result<String, String> {
        let render = || {
            self.current()
                .tera
                .render(name, &Context::from_value(context)?)
        };
        render().map_err(|e: tera::Error| {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message = format!("{message}: {cause}");
                source = cause.source();
            }
            message
        })
    }
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loaded = self.current();
        f.debug_struct("Templates")
            .field("generation", &loaded.generation)
            .field("templates", &loaded.tera.get_template_names().count())
            .finish()
    }
}

/// A page's HTML, with what its responses need found once, when it renders.
pub struct Rendered {
    html: String,
    /// Its `ETag`.
    etag: String,
    /// Whether it holds the anonymous form token's placeholder (`csrf::reveal`).
    holds_placeholder: bool,
}

impl Rendered {
    fn new(html: String) -> Self {
        Self {
            etag: super::etag(html.as_bytes()),
            holds_placeholder: crate::auth::csrf::holds_placeholder(&html),
            html,
        }
    }
}

impl Weigh for Rendered {
    fn weight(&self) -> usize {
        self.html.len() + self.etag.len()
    }
}

/// A rendered page: `text/html`, or a 500 (logged with Tera's explanation) when the template
/// failed, like `rocket_dyn_templates`' own responder.
pub struct RenderedPage {
    name: &'static str,
    html: tera::Result<Arc<Rendered>>,
    /// Whether the page was rendered with the anonymous form token's placeholder.
    reveal_csrf: bool,
}

/// A page's HTML as a response body, without copying it out of the memo.
struct Body(Arc<Rendered>);

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        self.0.html.as_bytes()
    }
}

impl<'r> Responder<'r, 'static> for RenderedPage {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self.html {
            Ok(page) => {
                let page = if self.reveal_csrf && page.holds_placeholder {
                    // Every placeholder was replaced: no need to look for one again.
                    let html = crate::auth::csrf::reveal(req, &page.html);
                    Arc::new(Rendered {
                        etag: super::etag(html.as_bytes()),
                        holds_placeholder: false,
                        html,
                    })
                } else {
                    page
                };
                let mut res = Response::build();
                res.header(ContentType::HTML);
                // The `ETag` fairing answers `If-None-Match` (and drops the tag if the
                // status is not 200).
                if req.method() == rocket::http::Method::Get {
                    res.header(rocket::http::Header::new("ETag", page.etag.clone()));
                }
                Ok(res
                    .sized_body(page.html.len(), Cursor::new(Body(page)))
                    .finalize())
            }
            Err(error) => {
                let mut chain = error.to_string();
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    chain.push_str(": ");
                    chain.push_str(&cause.to_string());
                    source = cause.source();
                }
                log::error!("rendering template {}: {chain}", self.name);
                Err(Status::InternalServerError)
            }
        }
    }
}
