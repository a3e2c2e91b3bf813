//! Conduit's integration tests: one binary, every database test on SQLite and on MariaDB.

#[macro_use]
mod harness;
mod support;

mod admin;
mod api;
mod auth;
mod backup;
mod browser;
mod counters;
mod csrf;
mod foundation;
mod housekeeping;
mod ops;
mod sec_backup;
mod sec_input;
mod sec_throttle;
mod web;
mod web_forms;
