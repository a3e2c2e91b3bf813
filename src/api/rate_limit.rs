//! API rate limits (issue 19): every request under `/api` spends from a budget, reads (GET,
//! HEAD) and writes apart, per personal access token, per signed-in user, or per client address
//! for anonymous callers. Every `/api` answer says where the caller stands, in the IETF
//! headers of draft-ietf-httpapi-ratelimit-headers (structured fields):
//!
//! ```text
//! RateLimit-Policy: "read";q=600;w=60
//! RateLimit: "read";r=598;t=1
//! ```
//!
//! `q` requests per `w` seconds, `r` left, `t` seconds until the budget is whole again. Past the
//! budget: 429 with `Retry-After` and a JSON error, and the route never runs (the request is
//! rerouted before routing, as the CSRF gate does, so a limited write changes nothing).
//!
//! The budgets are GCRA buckets in memory (`governor`), so each instance keeps its own: behind
//! N instances a caller gets up to N times the budget. Who a caller is comes from what the
//! request carries, without a database lookup: a personal access token by its hash once it has
//! worked on this instance (before that, and for a made-up one, by address), a JWT
//! (header or session cookie) by its verified user id, anyone else by address. (A credential
//! that turns out revoked is answered 401 by the guards anyway.) Login and the other password
//! checks keep their own, stricter, database throttles whatever this says.
//!
//! A token's request spends from its owner's budget too (both must allow it), so an account
//! cannot multiply its budget by making more tokens. CORS preflights (`OPTIONS`) carry no
//! credentials: they spend from their address's anonymous read budget, so they are no free
//! channel either.
//!
//! `rate_limits = false` turns these limits (and their headers) off: the benchmark and load
//! tests, where one address is the load generator.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use rocket::data::Data;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::request::{self, FromRequest};
use rocket::{get, routes, Build, Request, Response, Rocket};

use crate::auth::access_token::{self, VerifiedTokens};
use crate::auth::credentials::header_token;
use crate::auth::session;
use crate::auth::token::{Keys, Kind as TokenKind};
use crate::config::AppConfig;
use crate::search_budget::network;

/// Where limited requests are rerouted, under `/api`.
const LIMITED_PATH: &str = "/api/__rate-limited";
/// How many checks between two sweeps of idle callers out of memory.
const SWEEP_EVERY: u64 = 4096;

/// Who spends from a budget.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Bucket {
    /// A personal access token, by the first half of its hash.
    Token([u8; 16]),
    /// A user, by id (a verified JWT).
    User(i64),
    /// An anonymous caller, by address (an IPv6 one by its /64, which one client holds whole:
    /// as the login throttle counts them).
    Addr(Option<IpAddr>),
}

impl Bucket {
    fn is_anonymous(&self) -> bool {
        matches!(self, Self::Addr(_))
    }
}

type Limiter =
    RateLimiter<Bucket, DefaultKeyedStateStore<Bucket>, DefaultClock, StateInformationMiddleware>;

/// One budget: its name in the headers, its quota, its buckets.
struct Policy {
    name: &'static str,
    quota: u32,
    window: u64,
    per_request: Duration,
    limiter: Limiter,
}

impl Policy {
    fn new(name: &'static str, quota: u32, window: u64) -> Option<Self> {
        let burst = NonZeroU32::new(quota)?;
        let per_request = Duration::from_secs(window) / quota;
        let limit = Quota::with_period(per_request)?.allow_burst(burst);
        Some(Self {
            name,
            quota,
            window,
            per_request,
            limiter: RateLimiter::keyed(limit).with_middleware::<StateInformationMiddleware>(),
        })
    }

    fn check(&self, bucket: &Bucket) -> Decision {
        match self.limiter.check_key(bucket) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                let used = self.quota.saturating_sub(remaining);
                Decision {
                    policy: self.name,
                    quota: self.quota,
                    window: self.window,
                    remaining,
                    reset: ceil_secs(self.per_request * used),
                    limited: false,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                Decision {
                    policy: self.name,
                    quota: self.quota,
                    window: self.window,
                    remaining: 0,
                    reset: ceil_secs(wait).max(1),
                    limited: true,
                }
            }
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The four budgets of one app.
struct Limits {
    read: Policy,
    write: Policy,
    anonymous_read: Policy,
    anonymous_write: Policy,
    checks: AtomicU64,
}

impl Limits {
    fn new(config: &AppConfig) -> Option<Self> {
        let w = config.rate_limit_window_seconds;
        Some(Self {
            read: Policy::new("read", config.rate_limit_reads, w)?,
            write: Policy::new("write", config.rate_limit_writes, w)?,
            anonymous_read: Policy::new("anonymous-read", config.rate_limit_anonymous_reads, w)?,
            anonymous_write: Policy::new("anonymous-write", config.rate_limit_anonymous_writes, w)?,
            checks: AtomicU64::new(0),
        })
    }

    fn check(&self, bucket: &Bucket, write: bool) -> Decision {
        let policy = match (bucket.is_anonymous(), write) {
            (false, false) => &self.read,
            (false, true) => &self.write,
            (true, false) => &self.anonymous_read,
            (true, true) => &self.anonymous_write,
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            // Callers whose budget is whole again are the same as never seen: forget them, so
            // memory follows the callers of the last window, not of all time.
            for p in [
                &self.read,
                &self.write,
                &self.anonymous_read,
                &self.anonymous_write,
            ] {
                p.limiter.retain_recent();
                p.limiter.shrink_to_fit();
            }
        }
        policy.check(bucket)
    }
}

/// What the limiter said about this request (kept in its local cache for the answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The policy's name.
    pub policy: &'static str,
    /// Requests per window.
    pub quota: u32,
    /// The window, in seconds.
    pub window: u64,
    /// Requests left.
    pub remaining: u32,
    /// Seconds until the budget is whole (limited: until the next request is allowed).
    pub reset: u64,
    /// Over the budget.
    pub limited: bool,
}

/// The caller's buckets, from what the request carries (no database lookup): the first one,
/// and for a personal access token its owner's as well.
fn buckets_of(
    req: &Request<'_>,
    keys: &Keys,
    config: &AppConfig,
    verified: &VerifiedTokens,
) -> (Bucket, Option<Bucket>) {
    let address = || Bucket::Addr(req.client_ip().map(network));
    if req.method() == Method::Options {
        // A preflight is anonymous whatever it carries (browsers send no credentials with one).
        return (address(), None);
    }
    if let Some(token) = req
        .headers()
        .get_one("Authorization")
        .and_then(header_token)
    {
        if access_token::is_token(token) {
            // Its own budget only once it has worked here: a made-up token (the checksum is
            // public) spends from its address's, as an anonymous caller does.
            let key = VerifiedTokens::key(&access_token::hash(token));
            if access_token::well_formed(token) {
                if let Some(owner) = verified.owner(&key) {
                    return (Bucket::Token(key), Some(Bucket::User(owner.get())));
                }
            }
            return (address(), None);
        }
        if let Some(id) = keys.decode(token).ok().and_then(|c| c.user_id()) {
            return (Bucket::User(id.get()), None);
        }
    } else if let Some(cookie) = req.cookies().get(session::names(config).access) {
        if let Ok(claims) = keys.decode(cookie.value()) {
            if claims.kind == TokenKind::Access {
                if let Some(id) = claims.user_id() {
                    return (Bucket::User(id.get()), None);
                }
            }
        }
    }
    (address(), None)
}

/// The answer for a request two budgets apply to: the one that refuses it, else the one with
/// less left.
fn tighter(a: Decision, b: Decision) -> Decision {
    if !a.limited && (b.limited || b.remaining < a.remaining) {
        b
    } else {
        a
    }
}

/// Whether `req` is under `/api` (by its first decoded segment, as Rocket routes it).
fn is_api(req: &Request<'_>) -> bool {
    req.uri().path().segments().next() == Some("api")
}

/// The fairing: checks the budget before routing and writes the headers on the way out.
pub struct RateLimits;

#[rocket::async_trait]
impl Fairing for RateLimits {
    fn info(&self) -> Info {
        Info {
            name: "API rate limits",
            kind: Kind::Ignite | Kind::Request | Kind::Response,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> rocket::fairing::Result {
        let Some(config) = rocket.state::<AppConfig>() else {
            log::error!("the rate limits need the configuration stage first");
            return Err(rocket);
        };
        if !config.rate_limits {
            return Ok(rocket);
        }
        let Some(limits) = Limits::new(config) else {
            log::error!("config: every rate_limit_* value must be a positive number");
            return Err(rocket);
        };
        let route = routes![limited].into_iter().map(|mut route| {
            // Ahead of every other route, as the CSRF gate's (`auth::csrf`).
            route.rank = -20;
            route
        });
        Ok(rocket
            .manage(limits)
            .manage(VerifiedTokens::new())
            .mount("/api", route.collect::<Vec<_>>()))
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let (Some(limits), Some(keys), Some(config), Some(verified)) = (
            req.rocket().state::<Limits>(),
            req.rocket().state::<Keys>(),
            req.rocket().state::<AppConfig>(),
            req.rocket().state::<VerifiedTokens>(),
        ) else {
            return;
        };
        if !is_api(req) {
            return;
        }
        // A preflight is a read: the browser asks before the request it is about.
        let write = !matches!(req.method(), Method::Get | Method::Head | Method::Options);
        let (bucket, owner) = buckets_of(req, keys, config, verified);
        let mut decision = limits.check(&bucket, write);
        if let Some(owner) = owner.filter(|_| !decision.limited) {
            // Not spent from the owner's when the token's own refused it.
            decision = tighter(decision, limits.check(&owner, write));
        }
        req.local_cache(|| Some(decision));
        if decision.limited {
            match Origin::parse(LIMITED_PATH) {
                Ok(uri) => {
                    req.set_method(Method::Get);
                    req.set_uri(uri);
                }
                Err(e) => log::error!("rate limit reroute: {e}"),
            }
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(d) = *req.local_cache(|| None::<Decision>) else {
            return;
        };
        res.set_header(Header::new(
            "RateLimit-Policy",
            format!("\"{}\";q={};w={}", d.policy, d.quota, d.window),
        ));
        res.set_header(Header::new(
            "RateLimit",
            format!("\"{}\";r={};t={}", d.policy, d.remaining, d.reset),
        ));
        if d.limited {
            res.set_header(Header::new("Retry-After", d.reset.to_string()));
        }
    }
}

/// The limiter's decision for a request it refused.
struct Refused(Decision);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Refused {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match *req.local_cache(|| None::<Decision>) {
            Some(d) if d.limited => request::Outcome::Success(Refused(d)),
            // Asked for directly: there is nothing here.
            _ => request::Outcome::Forward(Status::NotFound),
        }
    }
}

#[get("/__rate-limited")]
fn limited(refused: Refused) -> (Status, (ContentType, String)) {
    let d = refused.0;
    let kind = if d.policy.ends_with("write") {
        "writes"
    } else {
        "reads"
    };
    let message = format!(
        "rate limit exceeded: {} {kind} per {} seconds; retry in {} seconds",
        d.quota, d.window, d.reset
    );
    let body = serde_json::json!({ "errors": { "body": [message] } });
    (
        Status::TooManyRequests,
        (ContentType::JSON, body.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_ipv4_by_its_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network(a), network(b));
        assert_ne!(network(a), network(other));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(network(v4), v4);
    }

    #[test]
    fn a_budget_counts_down_then_refuses_with_the_wait() {
        let policy = Policy::new("read", 3, 60).unwrap();
        let who = Bucket::User(1);
        let seen: Vec<(u32, bool)> = (0..4)
            .map(|_| policy.check(&who))
            .map(|d| (d.remaining, d.limited))
            .collect();
        assert_eq!(seen, vec![(2, false), (1, false), (0, false), (0, true)]);
        let refused = policy.check(&who);
        assert!((1..=20).contains(&refused.reset), "{refused:?}");
        assert_eq!(
            policy.check(&Bucket::User(2)).remaining,
            2,
            "another caller"
        );
    }
}
