//! Security headers: Rocket's `Shield` for the standard ones, plus a Content-Security-Policy
//! (Shield has no CSP policy of its own).

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::shield::{Frame, NoSniff, Referrer, Shield};
use rocket::{Request, Response};

/// Shield with `X-Frame-Options: DENY`, `nosniff` and a strict referrer policy.
pub fn shield() -> Shield {
    Shield::default()
        .enable(Frame::Deny)
        .enable(NoSniff::Enable)
        .enable(Referrer::StrictOriginWhenCrossOrigin)
}

/// The policy: our own origin only, no inline script, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
                       object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Adds [`CSP`] to every response that does not set its own.
pub struct ContentSecurityPolicy;

#[rocket::async_trait]
impl Fairing for ContentSecurityPolicy {
    fn info(&self) -> Info {
        Info {
            name: "Content-Security-Policy",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, _: &'r Request<'_>, res: &mut Response<'r>) {
        if !res.headers().contains("Content-Security-Policy") {
            res.set_header(Header::new("Content-Security-Policy", CSP));
        }
    }
}
