//! What every page's layout needs: the signed-in user (for the navigation), the CSRF token
//! for its forms, and the flash message left by the previous redirect. Also what form handlers
//! answer (`PageOr`: the form again, or a redirect) and how they read a submitted form
//! (`take`: its value or its fields' errors, and what was sent).

use std::convert::Infallible;
use std::sync::Arc;

use rocket::form::{Context, Contextual};
use rocket::http::{Header, Status};
use rocket::request::{FlashMessage, FromRequest, Outcome, Request};
use rocket::response::{Flash, Redirect};
use rocket_dyn_templates::tera;
use serde::Serialize;
use serde_json::{json, Value};

use crate::auth::guards::{auth_state, AuthState};
use crate::cache::Key;
use crate::config::{AppConfig, PublicUrl};
use crate::error::AppError;
use crate::web::render::{RenderedPage, Templates};
use crate::web::views::Links;

/// The signed-in user as the layout shows them.
#[derive(Debug, Clone, Serialize)]
pub struct NavUser {
    /// Id.
    pub id: crate::db::UserId,
    /// Username.
    pub username: String,
    /// Avatar URL.
    pub image: Option<String>,
    /// Their profile page.
    pub url: String,
    /// The picture to show: `image`, or the default one.
    pub avatar: String,
    /// Role.
    pub role: crate::db::users::Role,
    /// Their email is not confirmed yet (the layout says so).
    pub unconfirmed: bool,
    /// Where to ask for a new confirmation mail (when `unconfirmed`).
    pub resend_confirmation: Option<String>,
}

/// What `partials/nav` shows.
#[derive(Serialize)]
struct NavContext<'a> {
    active: &'a str,
    current_user: Option<&'a NavUser>,
    csrf_token: Option<&'a str>,
    /// Where the search box sends its `q`; `None` in the admin console (the site's search
    /// is for readers).
    search_url: Option<String>,
    /// Where its items go.
    nav_links: NavLinks,
}

/// Where the navigation's items go, from the site's [`Links`].
#[derive(Serialize)]
struct NavLinks {
    home: String,
    editor: String,
    settings: String,
    admin: String,
    logout: String,
    login: String,
    register: String,
}

impl NavLinks {
    fn new(links: &Links) -> Self {
        Self {
            home: (links.home)(),
            editor: (links.editor)(),
            settings: (links.settings)(),
            admin: (links.admin)(),
            logout: (links.logout)(),
            login: (links.login)(None),
            register: (links.register)(),
        }
    }
}

/// A flash message.
#[derive(Debug, Clone, Serialize)]
pub struct FlashView {
    /// success, error or info.
    pub kind: String,
    /// The text.
    pub message: String,
}

/// The layout's context. As a guard it never fails: bad credentials just show as signed out.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The signed-in user, if any.
    pub user: Option<NavUser>,
    /// The templates pages render with.
    templates: Templates,
    /// The token every form on the page must carry: for anyone but a signed-in browser, the
    /// placeholder the page's responder swaps for the visitor's token (`csrf::reveal`).
    pub csrf: String,
    /// Whether `csrf` is that placeholder.
    reveal_csrf: bool,
    /// The flash message, if any.
    pub flash: Option<FlashView>,
    /// Where the site's pages are, for the views a page shows.
    pub links: Links,
    /// The site's absolute base URL (`public_url`), for canonical links and previews.
    pub public_url: PublicUrl,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Layout {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        let (Some(links), Some(config)) = (
            req.rocket().state::<Links>().copied(),
            req.rocket().state::<AppConfig>(),
        ) else {
            // Only a Rocket built without the site's stage lacks them (as a missing `&State`).
            return Outcome::Forward(Status::InternalServerError);
        };
        let user = match auth_state(req).await {
            Ok(AuthState::Authenticated(auth)) => Some(NavUser {
                id: auth.user.id,
                username: auth.user.username.clone(),
                url: (links.profile)(&auth.user.username),
                image: auth.user.image.clone(),
                avatar: crate::web::views::avatar_url(auth.user.image.as_deref()),
                role: auth.user.role,
                unconfirmed: auth.user.email_confirmed_at.is_none(),
                resend_confirmation: auth
                    .user
                    .email_confirmed_at
                    .is_none()
                    .then(|| req.rocket().state::<crate::auth::recovery::AccountLinks>())
                    .flatten()
                    .map(|l| (l.resend_confirmation)()),
            }),
            _ => None,
        };
        let (csrf, reveal_csrf) = match crate::auth::csrf::session_token(req).await {
            Some(token) => (token, false),
            None => (crate::auth::csrf::placeholder().to_owned(), true),
        };
        let flash = req
            .guard::<Option<FlashMessage<'_>>>()
            .await
            .succeeded()
            .flatten()
            .map(|f| FlashView {
                kind: f.kind().to_owned(),
                message: f.message().to_owned(),
            });
        let templates = req
            .rocket()
            .state::<Templates>()
            .cloned()
            .unwrap_or_default();
        Outcome::Success(Layout {
            user,
            templates,
            csrf,
            reveal_csrf,
            flash,
            links,
            public_url: config.public_url.clone(),
        })
    }
}

impl Layout {
    /// Render `template` with `context` (a struct or JSON object) plus the layout's own
    /// values: `current_user`, `csrf_token` and `flash`. The page is memoized by all of that
    /// (`Templates::page`): the same context renders the same HTML.
    ///
    /// The navigation bar is a memoized fragment (`nav`, which `base` shows when present): it
    /// depends only on the page's `active` tab, the user and, for a signed-in user, the form
    /// token, and Tera spent a sixth of a page's skeleton on it.
    pub fn render<C: Serialize>(&self, template: &'static str, context: C) -> RenderedPage {
        let context = serde_json::to_value(context)
            .map_err(tera::Error::json)
            .and_then(|mut context| {
                let Value::Object(members) = &mut context else {
                    return Err(tera::Error::msg("a page's context must be an object"));
                };
                // The console's pages are all under the navigation's "Admin" item.
                let active = members.get("active").and_then(Value::as_str).unwrap_or(
                    if template.starts_with("admin/") {
                        "admin"
                    } else {
                        ""
                    },
                );
                let nav = self
                    .nav(active, !template.starts_with("admin/"))?
                    .as_ref()
                    .to_owned();
                members.insert("nav".into(), Value::String(nav));
                members.insert(
                    "current_user".into(),
                    serde_json::to_value(&self.user).map_err(tera::Error::json)?,
                );
                members.insert("csrf_token".into(), Value::String(self.csrf.clone()));
                // The footer's link home.
                members.insert("home_url".into(), Value::String((self.links.home)()));
                // And to the API's reference.
                members.insert(
                    "api_docs_url".into(),
                    Value::String((self.links.api_docs)()),
                );
                members.insert(
                    "flash".into(),
                    serde_json::to_value(&self.flash).map_err(tera::Error::json)?,
                );
                Ok(context)
            });
        self.templates.page(template, context, self.reveal_csrf)
    }

    /// `partials/nav` for this user on a page whose tab is `active`, with the search box
    /// when `search`. Its links are not in the key: they are the same on every page of one
    /// app (the [`Links`] its stage manages), and the memo is that app's own (`Templates` is
    /// made by the app factory).
    fn nav(&self, active: &str, search: bool) -> rocket_dyn_templates::tera::Result<Arc<str>> {
        let csrf = self.user.as_ref().map(|_| self.csrf.as_str());
        let mut inputs = Key::new().with(active).with(&csrf).with(&search);
        if let Some(u) = &self.user {
            inputs = inputs
                .with(&u.id)
                .with(&u.username)
                .with(&u.image)
                .with(&u.avatar)
                .with(u.role.as_str());
        }
        self.templates
            .fragment("partials/nav", &inputs, || NavContext {
                active,
                current_user: self.user.as_ref(),
                csrf_token: csrf,
                search_url: search.then(|| (self.links.search)()),
                nav_links: NavLinks::new(&self.links),
            })
    }

    /// The fragment template `name` rendered with the context `context()` makes from `inputs`
    /// alone, memoized by `inputs` (see [`Templates::fragment`]).
    pub fn fragment<C: Serialize>(
        &self,
        name: &'static str,
        inputs: &Key,
        context: impl FnOnce() -> C,
    ) -> Result<Arc<str>, AppError> {
        self.templates.fragment(name, inputs, context).map_err(|e| {
            AppError::Other(anyhow::Error::new(e).context(format!("rendering {name}")))
        })
    }

    /// The signed-in user's id.
    pub fn user_id(&self) -> Option<crate::db::UserId> {
        self.user.as_ref().map(|u| u.id)
    }
}

/// A page or a redirect.
#[derive(rocket::Responder)]
pub enum PageOr {
    /// The page, with a status (422 when it shows errors).
    Page((Status, RenderedPage)),
    /// The page again, refused for now (429).
    Later(Later),
    /// Where to go next.
    Redirect(Flash<Redirect>),
    /// Where to go, no message.
    Plain(Redirect),
}

/// A form page answered 429: the page, and when to try again.
#[derive(rocket::Responder)]
pub struct Later {
    page: (Status, RenderedPage),
    retry_after: Header<'static>,
}

impl PageOr {
    /// A form shown again with what went wrong: 429 with `Retry-After` for a throttle, 422
    /// for anything else (invalid input, a refused password).
    pub fn again(error: &AppError, page: RenderedPage) -> Self {
        match error.retry_after() {
            Some(secs) => Self::Later(Later {
                page: (error.status(), page),
                retry_after: Header::new("Retry-After", secs.to_string()),
            }),
            None => Self::Page((Status::UnprocessableEntity, page)),
        }
    }
}

/// What a re-rendered form shows: `list` (full messages, for the summary) and `fields` (per
/// field, for messages beside the inputs); errors other than validation give one message.
pub fn form_errors(error: &crate::error::AppError) -> Value {
    match error {
        crate::error::AppError::Invalid(fields) => {
            json!({ "list": fields.full_messages(), "fields": fields.0 })
        }
        other => json!({ "list": other.public_messages(), "fields": {} }),
    }
}

/// Redirect to `to` (a `uri!` of a route, or a checked local path) with a success flash.
pub fn done(to: impl std::fmt::Display, message: impl Into<String>) -> Flash<Redirect> {
    Flash::success(Redirect::to(to.to_string()), message.into())
}

/// A submitted form taken apart, before the handler awaits anything (Rocket's form context is
/// not `Sync`): its value when every field passed its `#[field(validate = ...)]` rules, else
/// their errors (a 422 the page shows beside the fields); and the values of `fields` as the
/// visitor sent them, for the form shown again.
pub fn take<T>(form: Contextual<'_, T>, fields: &[&str]) -> (Result<T, AppError>, Value) {
    let kept = sent(&form.context, fields);
    let value = form
        .value
        .ok_or_else(|| AppError::Invalid(crate::input::form_errors(&form.context)));
    (value, kept)
}

/// The values of `fields` as the visitor sent them (empty when absent).
fn sent(context: &Context<'_>, fields: &[&str]) -> Value {
    fields
        .iter()
        .map(|&field| {
            (
                field.to_owned(),
                Value::from(context.field_value(field).unwrap_or_default()),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Longest `next` followed; a longer one goes home.
pub const NEXT_MAX: usize = 2048;

/// A safe place to go after login (or a button, or the password confirmation): `next` when it
/// is a plain local path, else `/`. Plain means: it starts with a single `/` (not `//` or `/\`,
/// which browsers read as another host), holds only printable ASCII without spaces (no
/// control characters to split a header, nothing a browser might rewrite), none percent-encoded
/// either (`%0d%0a`), is at most [`NEXT_MAX`] long, and parses as a URI reference with no
/// scheme or host. Whatever it is, the redirect built from the answer is valid: a hostile
/// `next` never turns into an error.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_local_path(n: &str) -> bool {
    n.len() <= NEXT_MAX
        && n.starts_with('/')
        && !n.starts_with("//")
        && !n.starts_with("/\\")
        && n.bytes().all(|b| b.is_ascii_graphic())
        && rocket::http::uri::Reference::parse(n)
            .is_ok_and(|r| r.scheme().is_none() && r.authority().is_none())
        && rocket::http::RawStr::new(n)
            .percent_decode()
            .is_ok_and(|decoded| !decoded.chars().any(char::is_control))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/editor?x=1")), "/editor?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(
            safe_next(Some("/article/x#comment-3")),
            "/article/x#comment-3"
        );
        for hostile in [
            "",
            "evil.example",
            "javascript:alert(1)",
            "/a b",
            "/\r\nSet-Cookie: x=1",
            "/\tx",
            "/\0",
            "/\u{7f}",
            "/caf\u{e9}",
            "/\u{202e}txt",
            "/<script>",
            "/%0d%0aSet-Cookie:%20x=1",
            "/%00",
            "/%FF",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(
            safe_next(Some(&format!("/{}", "a".repeat(super::NEXT_MAX)))),
            "/"
        );
    }
}
