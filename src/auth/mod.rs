//! Authentication and authorization: passwords, JWTs, browser sessions, CSRF, guards, and the
//! account operations (register, log in, change settings) shared by the API and the site.

pub mod access_token;
pub mod account;
pub mod code_check;
pub mod confirmed;
pub mod credentials;
pub mod csrf;
pub mod email;
pub mod fields;
pub mod form_token;
pub mod guards;
pub mod mailed;
pub mod password;
pub mod pending_login;
pub mod recovery;
pub mod session;
pub mod sessions;
pub mod token;
pub mod totp;
pub mod two_factor;
pub mod user_agent;

pub use guards::{AdminUser, Authenticated, Caller, CurrentUser, MaybeUser, Via};

/// Makes the signing keys (JWTs and form tokens) from the configuration at ignite and manages
/// them; attached after [`crate::config::stage`].
pub fn stage() -> rocket::fairing::AdHoc {
    rocket::fairing::AdHoc::try_on_ignite("Auth keys", |rocket| async move {
        let keys = rocket
            .state::<crate::config::AppConfig>()
            .map(token::Keys::new);
        if let Some(keys) = keys {
            Ok(rocket.manage(keys).manage(credentials::SeenSessions::new()))
        } else {
            log::error!("the auth keys need the configuration stage first");
            Err(rocket)
        }
    })
}
