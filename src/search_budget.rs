//! The search budget (issue 20): how many searches one client address may make per minute,
//! on the site (`/search?q=`) and the API (`GET /api/articles?q=`) together. A search costs
//! far more than a list read (on MariaDB a word found in every article is a pass over its
//! whole FULLTEXT match list), so a flood of them is answered 429 with `Retry-After` by
//! [`SearchBudget`], a request guard that the search routes take before their database
//! connection: a refused search never waits for one.
//!
//! Per address (an IPv6 one by its /64), signed in or not, in memory per instance (`governor`,
//! as the API's rate limits), `search_per_minute` a minute with that many at once. Off when
//! `rate_limits` is `false` (the benchmark) or `search_per_minute` is 0. A request without
//! words to search for (no `q`, or a blank one) spends nothing.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::{Build, Request, Response, Rocket};

use crate::config::AppConfig;
use crate::error::CatcherMessage;

/// How many checks between two sweeps of idle addresses out of memory.
const SWEEP_EVERY: u64 = 4096;

/// The address a budget is kept for: an IPv4 address itself (also when a dual-stack listener
/// saw it as an IPv4-mapped IPv6 address, `::ffff:a.b.c.d`), an IPv6 one's /64 (which one
/// client holds whole).
pub fn network(ip: IpAddr) -> IpAddr {
    if let IpAddr::V6(v6) = ip {
        if let Some(v4) = v6.to_ipv4_mapped() {
            return IpAddr::V4(v4);
        }
    }
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(
            u128::from(v6) & !u128::from(u64::MAX),
        )),
    }
}

/// The budgets of every address (managed state, present only when the budget is on).
struct Budgets {
    limiter: DefaultKeyedRateLimiter<Option<IpAddr>>,
    per_minute: u32,
    checks: AtomicU64,
}

impl Budgets {
    /// Spends one search of `address`'s budget; `Err` with the seconds to wait when it is
    /// spent.
    fn spend(&self, address: Option<IpAddr>) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }
}

/// The wait a refused search was told (for the `Retry-After` header).
#[derive(Clone, Copy, Default)]
struct Refused(Option<u64>);

/// A request guard: the request may search (its address has budget left, or it searches for
/// nothing, or the budget is off). Refused: 429 through the catchers, with `Retry-After`.
pub struct SearchBudget;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SearchBudget {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(budgets) = req.rocket().state::<Budgets>() else {
            return Outcome::Success(Self);
        };
        // Any field the routes' forms read as `q`: Rocket matches a field by the first key of
        // its name, so `q.x=` or `q[]=` is `q` too and must spend like it.
        let searches = req.uri().query().is_some_and(|query| {
            query.segments().any(|(name, value)| {
                name.split(['.', '[']).next() == Some("q") && !value.trim().is_empty()
            })
        });
        if !searches {
            return Outcome::Success(Self);
        }
        match budgets.spend(req.client_ip().map(network)) {
            Ok(()) => Outcome::Success(Self),
            Err(wait) => {
                req.local_cache(|| Refused(Some(wait)));
                req.local_cache(|| {
                    CatcherMessage(Some(format!(
                        "too many searches: {} a minute from one address; retry in {wait} seconds",
                        budgets.per_minute
                    )))
                });
                Outcome::Error((Status::TooManyRequests, ()))
            }
        }
    }
}

/// The fairing: manages the budgets at ignite (when on) and adds `Retry-After` to a refusal.
pub struct SearchBudgets;

#[rocket::async_trait]
impl Fairing for SearchBudgets {
    fn info(&self) -> Info {
        Info {
            name: "search budget",
            kind: Kind::Ignite | Kind::Response,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> rocket::fairing::Result {
        let Some(config) = rocket.state::<AppConfig>() else {
            log::error!("the search budget needs the configuration stage first");
            return Err(rocket);
        };
        let per_minute = config.search_per_minute;
        let Some(burst) = NonZeroU32::new(per_minute).filter(|_| config.rate_limits) else {
            return Ok(rocket);
        };
        let limiter = RateLimiter::keyed(Quota::per_minute(burst));
        Ok(rocket.manage(Budgets {
            limiter,
            per_minute,
            checks: AtomicU64::new(0),
        }))
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if let Refused(Some(wait)) = *req.local_cache(Refused::default) {
            res.set_header(Header::new("Retry-After", wait.to_string()));
        }
    }
}
