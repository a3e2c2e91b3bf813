//! Conduit's integration tests: one binary, every database test on SQLite and on MariaDB.
//! Tests may do what the app must not (raw SQL, subprocesses, blocking sleeps): `clippy.toml`'s
//! `disallowed-methods` are for the app.
#![allow(clippy::disallowed_methods)]

#[macro_use]
mod harness;
mod support;

mod a11y;
mod admin;
mod admin_shape;
mod api;
mod auth;
mod axe;
mod backup;
mod browser;
mod browser_mail;
mod cluster_safe;
mod counters;
mod csrf;
mod dashboard;
mod deep_offsets;
mod faults;
mod feeds;
mod foundation;
mod galera;
mod galera_cluster;
mod housekeeping;
mod ids;
mod infra;
mod keyset;
mod keyset_admin;
mod links;
#[macro_use]
mod mail;
mod account_review;
mod mail_confirm;
mod mariadb_server;
mod metrics;
mod observe;
mod openapi;
mod ops;
mod pool;
mod races;
mod rate_limit;
mod restore;
mod retry_once;
mod review_leftovers;
mod schemathesis;
mod search;
mod search_caps;
mod search_posted;
mod search_postings;
mod sec_backup;
mod sec_input;
mod sec_leftovers;
mod sec_throttle;
mod secgaps;
mod sessions;
mod sessions_review;
mod smtp_sink;
mod tls;
mod tokens;
mod tokens_web;
mod two_factor;
mod two_factor_review;
mod two_factor_web;
mod wal;
mod web;
mod web_forms;
