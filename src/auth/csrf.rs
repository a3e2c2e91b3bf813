//! CSRF protection, decided once per request by the [`Gate`] fairing, before any route runs.
//!
//! The rule covers every route, including ones written later: a request whose method is not
//! GET, HEAD or OPTIONS (after Rocket's `_method` override) and that is
//! - authenticated by the browser's session cookies must carry the session's form token;
//! - anonymous but a browser form (urlencoded or multipart) outside `/api` must carry the
//!   visitor's form token, equal to their `csrf_token` cookie, and that token must be one the
//!   server minted ([`FormTokens`]): login CSRF by a planted cookie fails;
//! - authenticated by a valid `Authorization` header, or anonymous JSON, needs none (no ambient
//!   credential a browser would attach to a forged request); an invalid header exempts nothing.
//!
//! The token comes from the `X-CSRF-Token` header or, for urlencoded forms, from the
//! `csrf_token` field within the body's first 512 bytes (Rocket's own `_method` override reads
//! the same window; our forms put the token first). A multipart body must use the header.
//! Where the token is needed, a `Sec-Fetch-Site` of `cross-site`/`same-site` or an `Origin`
//! other than the request's own host is refused as well.
//!
//! A refused request is rerouted (as `rocket_cors` does for refused origins) to a route under
//! the same mount point that answers 403 with the reason, in JSON under `/api` and as the
//! site's error page elsewhere; the route it was meant for never runs, so nothing changes.

use rocket::data::Data;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::form::{Contextual, Form, FromForm, ValueField};
use rocket::http::uri::Origin;
use rocket::http::{CookieJar, Method, RawStr, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::{get, routes, Build, Request, Rocket};

use crate::auth::credentials::{auth_state, csrf_matches, AuthState, Via};
use crate::auth::form_token::FormTokens;
use crate::auth::session::{csrf_cookie, names};
use crate::auth::token::Keys;
use crate::config::AppConfig;
use crate::error::CatcherMessage;

/// The name of the hidden form field.
pub const FIELD: &str = "csrf_token";
/// The header scripts send the token in.
pub const HEADER: &str = "X-CSRF-Token";
/// How much of a form body the gate reads to find the token (Rocket's peek window).
const PEEK: usize = 512;
/// The path, under each mount point, that refused requests are rerouted to.
const REFUSED_PATH: &str = "/__csrf-refused";

/// What the gate decided for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    /// Not looked at: a safe method, or nothing that needs a token.
    #[default]
    Unchecked,
    /// Authenticated by an `Authorization` header: no ambient credential to forge.
    Exempt,
    /// A valid token came with the request.
    Verified,
    /// Refused (the request was rerouted).
    Refused(Status),
}

/// The verdict of [`Gate`] for `req`.
pub fn verdict(req: &Request<'_>) -> Verdict {
    *req.local_cache(Verdict::default)
}

/// The CSRF gate: checks every unsafe request before routing (see the module docs).
pub struct Gate;

#[rocket::async_trait]
impl Fairing for Gate {
    fn info(&self) -> Info {
        Info {
            name: "CSRF gate",
            kind: Kind::Ignite | Kind::Request,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> rocket::fairing::Result {
        // Ranked ahead of every default rank (-12 to -1, and the macro takes no negative
        // rank), so a dynamic route such as `/admin/<entity>` can never answer for it.
        let route = || {
            routes![refused].into_iter().map(|mut route| {
                route.rank = -20;
                route
            })
        };
        Ok(rocket
            .mount("/", route().collect::<Vec<_>>())
            .mount("/api", route().collect::<Vec<_>>())
            .mount("/admin", route().collect::<Vec<_>>()))
    }

    async fn on_request(&self, req: &mut Request<'_>, data: &mut Data<'_>) {
        let verdict = check(req, data).await;
        req.local_cache(|| verdict);
        if let Verdict::Refused(_) = verdict {
            reroute(req);
        }
    }
}

/// Whether `method` may change state (anything but GET, HEAD and OPTIONS).
pub(crate) fn is_unsafe(method: Method) -> bool {
    !matches!(method, Method::Get | Method::Head | Method::Options)
}

async fn check(req: &Request<'_>, data: &mut Data<'_>) -> Verdict {
    if !is_unsafe(req.method()) {
        return Verdict::Unchecked;
    }
    let (Some(forms), Some(config)) = (
        req.rocket().state::<Keys>().map(Keys::forms),
        req.rocket().state::<AppConfig>(),
    ) else {
        return refuse(
            req,
            Status::InternalServerError,
            "the CSRF gate is not configured",
        );
    };
    let is_form = req
        .content_type()
        .is_some_and(|ct| ct.is_form() || ct.is_form_data());
    let expected = match auth_state(req).await {
        Err(e) => {
            log::error!("resolving credentials for the CSRF check: {e}");
            return refuse(
                req,
                Status::ServiceUnavailable,
                "the service is unavailable, try again shortly",
            );
        }
        // Authenticated by the `Authorization` header alone: no ambient credential to forge.
        Ok(AuthState::Authenticated(auth)) if auth.via == Via::Header => return Verdict::Exempt,
        Ok(AuthState::Authenticated(auth)) => auth.csrf().map(str::to_owned),
        // A bad `Authorization` header (the guards answer 401) exempts nothing: a form that
        // sends one is held to the signed-out form rule below, whatever header it carries.
        // A signed-out browser's form (login, register): its own minted cookie, double submit.
        // (The JSON API signs no one in by cookie and answers a form with 415.)
        Ok(_) if is_form && mount_base(req) != "/api" => req
            .cookies()
            .get(names(config).csrf)
            .map(|c| c.value().to_owned())
            .filter(|token| forms.is_minted(token)),
        Ok(_) => return Verdict::Unchecked,
    };
    if let Err(why) = same_origin(req) {
        return refuse(req, Status::Forbidden, why);
    }
    let submitted = submitted(req, data).await;
    if csrf_matches(submitted.as_deref(), expected.as_deref()) {
        Verdict::Verified
    } else {
        refuse(
            req,
            Status::Forbidden,
            "this form has expired or did not come from this site: reload the page and try again",
        )
    }
}

fn refuse(req: &Request<'_>, status: Status, message: &str) -> Verdict {
    req.local_cache(|| CatcherMessage(Some(message.to_owned())));
    Verdict::Refused(status)
}

/// Refuse what the browser itself says came from another site.
fn same_origin(req: &Request<'_>) -> Result<(), &'static str> {
    if let Some(site) = req.headers().get_one("Sec-Fetch-Site") {
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return Err("requests from other sites are not accepted");
        }
    }
    if let Some(origin) = req.headers().get_one("Origin") {
        let authority = origin.split_once("://").map(|(_, rest)| rest);
        // The request's own authority: the `Host` header, or HTTP/2's `:authority` (Rocket's
        // `host()`, read when the request arrives; the header for requests built in process).
        let host = req
            .host()
            .map(ToString::to_string)
            .or_else(|| req.headers().get_one("Host").map(str::to_owned));
        let same = matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(&h));
        if !same {
            return Err("requests from other origins are not accepted");
        }
    }
    Ok(())
}

/// The token the request carries: the header's, or a urlencoded form's `csrf_token` field.
async fn submitted(req: &Request<'_>, data: &mut Data<'_>) -> Option<String> {
    if let Some(token) = req.headers().get_one(HEADER) {
        return Some(token.to_owned());
    }
    if !req.content_type().is_some_and(|ct| ct.is_form()) {
        return None;
    }
    data.peek(PEEK).await;
    let complete = data.peek_complete();
    form_field(data.peek(PEEK).await, complete)
}

/// The `csrf_token` field in the start of a urlencoded body. A field cut off by the end of the
/// window (the body goes on) is not read.
fn form_field(bytes: &[u8], complete: bool) -> Option<String> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        // The window may end inside a multi-byte character: read up to it.
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok()?,
    };
    let mut fields: Vec<&str> = text.split('&').collect();
    if !complete {
        fields.pop();
    }
    fields
        .into_iter()
        .filter(|field| !field.is_empty())
        .map(ValueField::parse)
        .find(|field| field.name == FIELD)
        .map(|field| RawStr::new(field.value).url_decode_lossy().into_owned())
}

/// The mount point whose catchers answer for the request: `/api`, `/admin` or the site's
/// (`""`), by the first decoded segment as Rocket routes it (`//api/x` is under `/api`).
fn mount_base(req: &Request<'_>) -> &'static str {
    match req.uri().path().segments().next() {
        Some("api") => "/api",
        Some("admin") => "/admin",
        _ => "",
    }
}

fn reroute(req: &mut Request<'_>) {
    let base = mount_base(req);
    match Origin::parse_owned(format!("{base}{REFUSED_PATH}")) {
        Ok(uri) => {
            req.set_method(Method::Get);
            req.set_uri(uri);
        }
        Err(e) => log::error!("CSRF reroute: {e}"),
    }
}

/// The status a refused request answers with (the message is in [`CatcherMessage`]).
struct Refusal(Status);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Refusal {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        Outcome::Success(Refusal(match verdict(req) {
            Verdict::Refused(status) => status,
            // Asked for directly: there is nothing here.
            _ => Status::NotFound,
        }))
    }
}

#[get("/__csrf-refused")]
fn refused(refusal: Refusal) -> Status {
    refusal.0
}

/// The token a signed-in browser's forms must carry (bound to its session). Anyone else's
/// pages render with [`placeholder`] instead, which [`reveal`] swaps for the visitor's own
/// token only if the page shows a form: a page without forms then renders the same for every
/// anonymous visitor (so the page memo serves it) and sets no cookie.
pub async fn session_token(req: &Request<'_>) -> Option<String> {
    match auth_state(req).await {
        Ok(AuthState::Authenticated(auth)) if auth.via == Via::Cookie => {
            auth.csrf().map(str::to_owned)
        }
        _ => None,
    }
}

/// Stands in for an anonymous visitor's token while a page renders: random per process and
/// never sent (every occurrence is replaced), so no user content can contain it.
pub fn placeholder() -> &'static str {
    static PLACEHOLDER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PLACEHOLDER.get_or_init(crate::auth::token::random_id)
}

/// Whether `html` holds [`placeholder`] (a form for an anonymous visitor).
pub fn holds_placeholder(html: &str) -> bool {
    static FINDER: std::sync::OnceLock<memchr::memmem::Finder<'static>> =
        std::sync::OnceLock::new();
    let finder = FINDER.get_or_init(|| memchr::memmem::Finder::new(placeholder()));
    finder.find(html.as_bytes()).is_some()
}

/// `html` with [`placeholder`] replaced by the visitor's token: the one in their cookie if the
/// server minted it, or a new one, whose cookie is set. Whatever is written is HTML-escaped
/// (a minted token has nothing to escape; the escape is the second line of defence).
pub fn reveal(req: &Request<'_>, html: &str) -> String {
    let (Some(forms), Some(config)) = (
        req.rocket().state::<Keys>().map(Keys::forms),
        req.rocket().state::<AppConfig>(),
    ) else {
        return html.replace(placeholder(), "");
    };
    let token = anonymous_token(req.cookies(), forms, config);
    html.replace(placeholder(), &RawStr::new(&token).html_escape())
}

/// The anonymous visitor's token: their cookie's if we minted it, or a new one (setting the
/// cookie). Any other cookie value is never used.
fn anonymous_token(jar: &CookieJar<'_>, forms: &FormTokens, config: &AppConfig) -> String {
    if let Some(cookie) = jar.get_pending(names(config).csrf) {
        if forms.is_minted(cookie.value()) {
            return cookie.value().to_owned();
        }
    }
    let token = forms.mint();
    jar.add(csrf_cookie(token.clone(), config));
    token
}

/// A urlencoded form whose request passed the [`Gate`] with a token (or was authenticated by a
/// header). Parsed by Rocket's own form parser ([`Form`]) into any `T: FromForm`; a request the
/// gate did not verify is a 403 here too (should the gate ever be missing), and the handler
/// never runs.
///
/// `T` is the form as a handler wants it: a plain form struct, whose parse failure is a 422
/// error page; or Rocket's [`Contextual`] of one ([`CsrfContextual`]), whose fields'
/// `#[field(validate = ...)]` failures reach the handler in `form.context` (with the values as
/// sent) so it can show the form again, the value being in `form.value` when all passed.
/// Either way the CSRF check comes first. The form derefs to `T`.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

/// A CSRF-checked form whose field errors go to the handler: `CsrfForm<Contextual<'r, T>>`.
pub type CsrfContextual<'r, T> = CsrfForm<Contextual<'r, T>>;

impl<T> CsrfForm<T> {
    /// The form.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for CsrfForm<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

fn fail<'r, T>(
    req: &'r Request<'_>,
    status: Status,
    message: &str,
) -> rocket::data::Outcome<'r, T, String> {
    req.local_cache(|| CatcherMessage(Some(message.to_owned())));
    Outcome::Error((status, message.to_owned()))
}

#[rocket::async_trait]
impl<'r, T> rocket::data::FromData<'r> for CsrfForm<T>
where
    T: FromForm<'r> + Send + 'r,
{
    type Error = String;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> rocket::data::Outcome<'r, Self> {
        if !req.content_type().is_some_and(|ct| ct.is_form()) {
            return fail(
                req,
                Status::UnsupportedMediaType,
                "expected a form (application/x-www-form-urlencoded)",
            );
        }
        if !matches!(verdict(req), Verdict::Verified | Verdict::Exempt) {
            return fail(
                req,
                Status::Forbidden,
                "this form has expired or did not come from this site: reload the page and try again",
            );
        }
        match <Form<T> as rocket::data::FromData<'r>>::from_data(req, data).await {
            Outcome::Success(form) => Outcome::Success(CsrfForm(form.into_inner())),
            Outcome::Forward(f) => Outcome::Forward(f),
            Outcome::Error((status, errors)) => {
                let message = errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                let (status, message) = if status == Status::PayloadTooLarge {
                    (status, "the form is too large".to_owned())
                } else if status == Status::UnprocessableEntity {
                    (status, format!("the form is incomplete: {message}"))
                } else {
                    (
                        Status::BadRequest,
                        format!("the form could not be read: {message}"),
                    )
                };
                fail(req, status, &message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_only_in_complete_fields_of_the_window() {
        assert_eq!(
            form_field(b"csrf_token=abc&title=x", false).as_deref(),
            Some("abc")
        );
        assert_eq!(
            form_field(b"_method=DELETE&csrf_token=a%2Eb", true).as_deref(),
            Some("a.b")
        );
        // The window ends inside the token: the body goes on, so the cut value is not read.
        assert_eq!(form_field(b"title=x&csrf_token=ab", false), None);
        assert_eq!(
            form_field(b"title=x&csrf_token=ab", true).as_deref(),
            Some("ab")
        );
        assert_eq!(form_field(b"xcsrf_token=abc&csrf_tokenx=abc", true), None);
        assert_eq!(
            form_field("csrf_token=t&b=\u{e9}".as_bytes(), true).as_deref(),
            Some("t")
        );
        let mut cut = b"csrf_token=t&b=".to_vec();
        cut.extend_from_slice(&"\u{e9}".as_bytes()[..1]);
        assert_eq!(form_field(&cut, false).as_deref(), Some("t"));
    }
}
