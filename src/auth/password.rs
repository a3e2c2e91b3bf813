//! Password hashing: argon2id with OWASP's parameters, run off the async worker threads and
//! bounded by a semaphore (each hash holds ~19 MiB, so a login flood must queue, not balloon).

use std::sync::OnceLock;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// OWASP Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// At most this many hashes run at once.
const CONCURRENT_HASHES: usize = 4;

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(CONCURRENT_HASHES))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let _permit = permits().acquire().await?;
    Ok(tokio::task::spawn_blocking(f).await?)
}

/// Hash a password (PHC string with salt and parameters).
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await?
}

/// Check a password against a stored hash. `None` checks against a dummy hash, so an unknown
/// account costs the same time as a wrong password, and answers `false`.
pub async fn verify(password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
    let password = password.to_owned();
    let known = stored.is_some();
    let stored = stored.map(str::to_owned);
    blocking(move || {
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let parsed = PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
        let ok = hasher().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(ok && known)
    })
    .await?
}

/// A real argon2id hash of a random password, made once per process.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let secret = format!("{:032x}", rand::random::<u128>());
        hasher()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rocket::async_test]
    async fn hashes_with_argon2id_owasp_parameters_and_verifies() {
        let stored = hash("correct horse battery").await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify("correct horse battery", Some(&stored)).await.unwrap());
        assert!(!verify("wrong horse battery", Some(&stored)).await.unwrap());
    }

    #[rocket::async_test]
    async fn unknown_account_is_checked_against_a_dummy_and_fails() {
        assert!(!verify("anything", None).await.unwrap());
    }
}
