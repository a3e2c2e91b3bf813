//! CSRF protection for forms: every state-changing form carries a `csrf_token` field.
//!
//! Signed-in browsers: the token is a random value bound to the session (inside its JWTs), also
//! set in the readable `csrf_token` cookie for scripts (double submit, as Flask-JWT-Extended
//! does). Anonymous forms (login, register) use the double-submit cookie alone.

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::form::{Form, FromForm, ValueField};
use rocket::http::{CookieJar, RawStr, Status};
use rocket::outcome::Outcome;
use rocket::Request;

use crate::auth::guards::{auth_state, csrf_matches, AuthState, Via};
use crate::auth::session::{csrf_cookie, CSRF_COOKIE};
use crate::auth::token::random_id;
use crate::config::AppConfig;
use crate::error::CatcherMessage;

/// The name of the hidden form field.
pub const FIELD: &str = "csrf_token";

/// The token a signed-in browser's forms must carry (bound to its session). Anyone else's
/// pages render with [`placeholder`] instead, which [`reveal`] swaps for the visitor's own
/// token only if the page shows a form: a page without forms then renders the same for every
/// anonymous visitor (so the page memo serves it) and sets no cookie.
pub async fn session_token(req: &Request<'_>) -> Option<String> {
    match auth_state(req).await {
        Ok(AuthState::Authenticated(auth)) if auth.via == Via::Cookie => auth.csrf().map(str::to_owned),
        _ => None,
    }
}

/// Stands in for an anonymous visitor's token while a page renders: random per process and
/// never sent (every occurrence is replaced), so no user content can contain it.
pub fn placeholder() -> &'static str {
    static PLACEHOLDER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PLACEHOLDER.get_or_init(random_id)
}

/// Whether `html` holds [`placeholder`] (a form for an anonymous visitor).
pub fn holds_placeholder(html: &str) -> bool {
    static FINDER: std::sync::OnceLock<memchr::memmem::Finder<'static>> = std::sync::OnceLock::new();
    let finder = FINDER.get_or_init(|| memchr::memmem::Finder::new(placeholder()));
    finder.find(html.as_bytes()).is_some()
}

/// `html` with [`placeholder`] replaced by the visitor's token: the one in their cookie, or a
/// new one, whose cookie is set.
pub fn reveal(req: &Request<'_>, html: &str) -> String {
    let token = anonymous_token(req.cookies(), req.rocket().state::<AppConfig>());
    html.replace(placeholder(), &token)
}

/// The anonymous visitor's token: their cookie's, or a new one (setting the cookie).
fn anonymous_token(jar: &CookieJar<'_>, config: Option<&AppConfig>) -> String {
    if let Some(cookie) = jar.get_pending(CSRF_COOKIE) {
        if !cookie.value().is_empty() {
            return cookie.value().to_owned();
        }
    }
    let token = random_id();
    if let Some(config) = config {
        jar.add(csrf_cookie(token.clone(), config));
    }
    token
}

/// What the submitted token must equal for this request, if anything can satisfy it.
async fn expected(req: &Request<'_>) -> Result<Option<String>, ()> {
    match auth_state(req).await {
        Ok(AuthState::Authenticated(auth)) if auth.via == Via::Cookie => Ok(auth.csrf().map(str::to_owned)),
        // Header-authenticated requests carry no ambient credentials: nothing to forge.
        Ok(AuthState::Authenticated(_)) => Err(()),
        _ => Ok(req.cookies().get(CSRF_COOKIE).map(|c| c.value().to_owned())),
    }
}

/// A urlencoded form whose `csrf_token` was checked before `T` is parsed. A missing or wrong
/// token is a 403 and the handler never runs, so nothing changes.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

fn fail<'r, T>(req: &'r Request<'_>, status: Status, message: &str) -> data::Outcome<'r, T, String> {
    req.local_cache(|| CatcherMessage(Some(message.to_owned())));
    Outcome::Error((status, message.to_owned()))
}

#[rocket::async_trait]
impl<'r, T> FromData<'r> for CsrfForm<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = String;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        if !req.content_type().is_some_and(|ct| ct.is_form()) {
            return fail(
                req,
                Status::UnsupportedMediaType,
                "expected a form (application/x-www-form-urlencoded)",
            );
        }
        let limit = req.limits().get("form").unwrap_or(2.mebibytes());
        let body = match data.open(limit).into_string().await {
            Ok(s) if s.is_complete() => s.into_inner(),
            Ok(_) => return fail(req, Status::PayloadTooLarge, "the form is too large"),
            Err(_) => return fail(req, Status::BadRequest, "the form could not be read (is it UTF-8?)"),
        };
        // `Form::parse` wants percent-decoded fields: decode each name and value, as Rocket's
        // own form guard does.
        let fields: Vec<(String, String)> = body
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let decode = |s: &str| RawStr::new(s).url_decode_lossy().into_owned();
                (decode(name), decode(value))
            })
            .collect();
        let submitted = fields
            .iter()
            .find(|(name, _)| name == FIELD)
            .map(|(_, value)| value.as_str());
        match expected(req).await {
            Err(()) => {}
            Ok(expected) => {
                if !csrf_matches(submitted, expected.as_deref()) {
                    return fail(
                        req,
                        Status::Forbidden,
                        "this form has expired or did not come from this site: reload the page and try again",
                    );
                }
            }
        }
        let values = fields
            .iter()
            .map(|(name, value)| ValueField::from((name.as_str(), value.as_str())));
        match Form::<T>::parse_iter(values) {
            Ok(value) => Outcome::Success(CsrfForm(value)),
            Err(errors) => {
                let message = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                fail(
                    req,
                    Status::UnprocessableEntity,
                    &format!("the form is incomplete: {message}"),
                )
            }
        }
    }
}
