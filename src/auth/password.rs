//! Password hashing: argon2id with OWASP's parameters, run off the async worker threads and
//! bounded by a semaphore, with a bounded queue in front of it: a caller that would wait behind
//! more than its `max_waiting` others gets [`HashError::Busy`] (a 503) at once instead of
//! holding its request open for as long as the flood lasts.
//!
//! Checking a password is [`crate::auth::account::authenticate`]'s job, which throttles it;
//! [`verify`] is private to `auth` so that no other caller can skip the throttle.
//!
//! Each hash needs a 19 MiB work area. Allocating it per hash made glibc keep the freed areas in
//! per-thread arenas (a handful of logins grew the process past 300 MB), so the work areas are
//! allocated once, one per permit, and reused: memory stays at `CONCURRENT_HASHES` x 19 MiB.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use argon2::password_hash::{
    rand_core::OsRng, Output, ParamsString, PasswordHash, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::{Semaphore, TryAcquireError};

use crate::error::AppError;

/// OWASP Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
/// Length of the stored hash output, in bytes.
const OUTPUT_LEN: usize = 32;

/// At most this many hashes run at once. One: a login burst then holds 19 MiB, not 19 MiB per
/// core (two at once took the server to 72 MB peak RSS in `bench/run`, over its 64 MB budget),
/// and leaves the other cores to everything else while it queues. Logins are slow on purpose
/// and have no throughput target.
const CONCURRENT_HASHES: usize = 1;

fn params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_LEN))
        .expect("valid argon2 parameters")
}

fn hasher(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A `max_waiting` that never refuses: for commands (`conduit create-admin`, `conduit seed`),
/// which are not requests and have no one else to make room for.
pub const WAIT_ANY: usize = usize::MAX;

/// Seconds a caller refused by the full queue is told to wait (`Retry-After`): the queue drains
/// at one hash every few tens of milliseconds.
pub const BUSY_RETRY_SECS: u64 = 2;

/// Why a hash or a check did not happen.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// More callers than allowed were already waiting for the hasher.
    #[error("the password hasher is busy")]
    Busy,
    /// The hash itself failed (never a wrong password: that is `Ok(false)`).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<HashError> for AppError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => AppError::Busy(BUSY_RETRY_SECS),
            HashError::Failed(e) => AppError::Other(e),
        }
    }
}

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(CONCURRENT_HASHES))
}

/// Callers waiting for a permit right now, in this process.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// A place in the queue, given up when dropped (served, refused or cancelled).
struct InQueue;

impl InQueue {
    /// Join the queue if fewer than `max_waiting` callers are in it.
    fn join(max_waiting: usize) -> Option<Self> {
        let ahead = WAITING.fetch_add(1, Ordering::SeqCst);
        let place = Self;
        (ahead < max_waiting).then_some(place)
    }
}

impl Drop for InQueue {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Work areas not in use; never more than `CONCURRENT_HASHES` exist.
fn work_areas() -> &'static Mutex<Vec<Vec<Block>>> {
    static AREAS: OnceLock<Mutex<Vec<Vec<Block>>>> = OnceLock::new();
    AREAS.get_or_init(|| Mutex::new(Vec::new()))
}

/// argon2id of `password` with `salt` under our parameters, in a reused work area.
fn raw_hash(password: &[u8], salt: &[u8]) -> anyhow::Result<[u8; OUTPUT_LEN]> {
    let params = params();
    let mut area = work_areas()
        .lock()
        .map_err(|_| anyhow::anyhow!("argon2 work areas poisoned"))?
        .pop()
        .unwrap_or_else(|| vec![Block::default(); params.block_count()]);
    let mut out = [0u8; OUTPUT_LEN];
    let result =
        hasher(params).hash_password_into_with_memory(password, salt, &mut out, &mut area[..]);
    if let Ok(mut areas) = work_areas().lock() {
        areas.push(area);
    }
    result.map_err(|e| anyhow::anyhow!("hashing password: {e}"))?;
    Ok(out)
}

/// Run `f` on the blocking pool once a permit is free; refused with [`HashError::Busy`] when
/// no permit is free and `max_waiting` callers are already waiting for one.
async fn blocking<T: Send + 'static>(
    max_waiting: usize,
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, HashError> {
    let _permit = match permits().try_acquire() {
        Ok(permit) => permit,
        Err(TryAcquireError::Closed) => {
            return Err(anyhow::anyhow!("password hasher closed").into())
        }
        Err(TryAcquireError::NoPermits) => {
            let Some(_place) = InQueue::join(max_waiting) else {
                return Err(HashError::Busy);
            };
            permits().acquire().await.map_err(anyhow::Error::from)?
        }
    };
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(anyhow::Error::from)??)
}

/// Hash a password (PHC string with salt and parameters), waiting behind at most
/// `max_waiting` other callers.
pub async fn hash(password: &str, max_waiting: usize) -> Result<String, HashError> {
    let password = password.to_owned();
    blocking(max_waiting, move || phc_hash(&password)).await
}

fn phc_hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let out = raw_hash(password.as_bytes(), salt_raw)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params()).map_err(|e| anyhow::anyhow!("params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?),
    };
    Ok(phc.to_string())
}

fn phc_verify(password: &str, stored: &str) -> anyhow::Result<bool> {
    let parsed =
        PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
    let ours = parsed.algorithm == Algorithm::Argon2id.ident()
        && Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == MEMORY_KIB && p.t_cost() == ITERATIONS && p.p_cost() == PARALLELISM
        })
        && parsed.hash.is_some_and(|h| h.len() == OUTPUT_LEN);
    if !ours {
        // Hashes made with other parameters: the library's own (allocating) path.
        return Ok(hasher(params())
            .verify_password(password.as_bytes(), &parsed)
            .is_ok());
    }
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let out = raw_hash(password.as_bytes(), salt_raw)?;
    Ok(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
}

/// Check a password against a stored hash, waiting behind at most `max_waiting` other
/// callers. `None` checks against a dummy hash, so an unknown account costs the same time as a
/// wrong password, and answers `false`. Unthrottled: callers go through
/// [`crate::auth::account::authenticate`].
pub(in crate::auth) async fn verify(
    password: &str,
    stored: Option<&str>,
    max_waiting: usize,
) -> Result<bool, HashError> {
    let password = password.to_owned();
    let known = stored.is_some();
    let stored = stored.map(str::to_owned);
    blocking(max_waiting, move || {
        let stored = match stored {
            Some(s) => s,
            None => dummy_hash()?.to_owned(),
        };
        Ok(phc_verify(&password, &stored)? && known)
    })
    .await
}

/// A real argon2id hash of a random password, made once per process.
fn dummy_hash() -> anyhow::Result<&'static str> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = phc_hash(&format!("{:032x}", rand::random::<u128>()))?;
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rocket::async_test]
    async fn hashes_with_argon2id_owasp_parameters_and_verifies() {
        let stored = hash("correct horse battery", WAIT_ANY).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("correct horse battery", Some(&stored), WAIT_ANY)
            .await
            .unwrap());
        assert!(!verify("wrong horse battery", Some(&stored), WAIT_ANY)
            .await
            .unwrap());
    }

    #[test]
    fn hashes_made_by_the_library_itself_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let library = hasher(params())
            .hash_password(b"old password", &salt)
            .unwrap()
            .to_string();
        assert!(phc_verify("old password", &library).unwrap());
        assert!(!phc_verify("other password", &library).unwrap());
        let weaker = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"legacy", &salt)
        .unwrap()
        .to_string();
        assert!(
            phc_verify("legacy", &weaker).unwrap(),
            "other parameters take the library's path"
        );
    }

    #[rocket::async_test]
    async fn unknown_account_is_checked_against_a_dummy_and_fails() {
        assert!(!verify("anything", None, WAIT_ANY).await.unwrap());
    }

    #[rocket::async_test]
    async fn callers_past_the_queue_bound_are_refused_at_once() {
        // Other tests in this binary hash too: hold the only permit ourselves first.
        let held = permits().acquire().await.unwrap();
        assert!(
            matches!(verify("x", None, 0).await, Err(HashError::Busy)),
            "no one may wait"
        );
        let first = tokio::spawn(async { verify("x", None, WAIT_ANY).await });
        // The spawned check is queued once it holds its place; wait for that without sleeping.
        while WAITING.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(
            matches!(hash("y", 1).await, Err(HashError::Busy)),
            "one waits, the next is refused"
        );
        assert!(matches!(
            AppError::from(HashError::Busy),
            AppError::Busy(BUSY_RETRY_SECS)
        ));
        drop(held);
        assert!(
            !first.await.unwrap().unwrap(),
            "the queued check ran once the permit was free"
        );
    }
}
