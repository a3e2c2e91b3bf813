//! The process's TLS crypto provider: ring, named once for every rustls user in the process
//! (sqlx's MySQL TLS, Sentry's reqwest transport, the mail client).
//!
//! Sentry's transport is built with `rustls-no-provider`, so the only provider compiled into the
//! server is ring: reqwest's default (aws-lc-rs) would add a second TLS library of several MB to
//! the binary's code, which counts in the server's resident memory (bench/NOTES-speed.md). With
//! no provider chosen by crate features, rustls takes the process default, which is set here
//! before anything builds a TLS client.

/// Name ring the process's rustls crypto provider (once; a provider installed before is kept).
/// sqlx's `VERIFY_CA` verifier and Sentry's reqwest ask rustls for the process default, which
/// rustls cannot pick by itself when two providers are compiled in (the test build has
/// aws-lc-rs as well, through the browser driver): without this they panic at their first
/// connection.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
