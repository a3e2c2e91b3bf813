//! Conduit: the RealWorld site, JSON API and admin console on Rocket, over SQLite or MySQL.
//!
//! [`rocket_with`] is the one app factory: `main` and every test build the app through it.

pub mod admin;
pub mod api;
pub mod api_doc;
pub mod auth;
pub mod background;
pub mod cache;
pub mod cli;
pub mod config;
pub mod content;
pub mod db;
pub mod error;
pub mod housekeeping;
pub mod input;
pub mod json_body;
pub mod mail;
pub mod markdown;
pub mod metrics;
pub mod search_budget;
pub mod security;
pub mod seed;
pub mod snippet;
pub mod social;
pub mod telemetry;
pub mod timefmt;
pub mod tls;
pub mod web;

use rocket::figment::Figment;
use rocket::{Build, Rocket};
use rocket_db_pools::Database;

/// The app from the standard configuration (Rocket.toml, instance file, environment).
pub fn rocket() -> Rocket<Build> {
    rocket_with(config::figment())
}

/// The app from a given figment. Tests pass one with their own database URL. Whatever the
/// figment says, responses carry no `Server` header (`ident = false`): the name and version of
/// the server are nobody's business.
pub fn rocket_with(figment: Figment) -> Rocket<Build> {
    let templates = web::render::Templates::default();
    let figment = db::pool::with_default_pool_size(figment);
    rocket::custom(figment.merge(("ident", false)))
        .attach(config::stage())
        .attach(auth::stage())
        .attach(db::Db::init())
        .attach(templates.fairing())
        .manage(error::PageRenderer(std::sync::Arc::new(templates.clone())))
        .manage(templates)
        .manage(metrics::Metrics::new())
        .attach(telemetry::RequestStart)
        // Before the CSRF gate: a request over its budget is turned away without a lookup.
        .attach(api::rate_limit::RateLimits)
        .attach(search_budget::SearchBudgets)
        .attach(auth::csrf::Gate)
        .attach(security::shield())
        .attach(security::ContentSecurityPolicy)
        .attach(web::stage(admin::pages::dashboard_link))
        .attach(api::stage(admin::api::openapi))
        .attach(admin::stage())
        .attach(mail::stage())
        .attach(housekeeping::stage())
        .attach(housekeeping::wal_stage())
        .attach(housekeeping::search_backfill_stage())
        .attach(api::cors())
        .attach(api::JsonCharset)
        .attach(metrics::stage())
        .attach(telemetry::request_log())
}
