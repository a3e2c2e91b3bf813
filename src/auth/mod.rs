//! Authentication and authorization: passwords, JWTs, browser sessions, CSRF, guards, and the
//! account operations (register, log in, change settings) shared by the API and the site.

pub mod account;
pub mod csrf;
pub mod form_token;
pub mod guards;
pub mod password;
pub mod session;
pub mod token;

pub use guards::{AdminUser, Authenticated, Caller, CurrentUser, MaybeUser, Via};
