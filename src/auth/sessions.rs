//! The account's active sessions (issue 18): its browser sign-ins and API logins, listed with
//! where and when each was last used, and ended one at a time or all but the current one.
//! Shared by `/settings/sessions` and `GET|DELETE /api/user/sessions`. Only a sign-in may do
//! this: a personal access token is refused before (`access_token::refusal`, and the site
//! never takes one).

use chrono::{DateTime, Utc};

use crate::auth::token::Keys;
use crate::auth::Authenticated;
use crate::db::{self, DbPool};
use crate::error::AppError;

/// A live session as its owner sees it.
#[derive(Debug, Clone)]
pub struct Active {
    /// Its public handle ([`crate::auth::form_token::FormTokens::session_handle`]): what names
    /// it in pages, JSON and the paths that end it; never the session id its tokens carry.
    pub id: String,
    /// `browser` or `api`.
    pub kind: String,
    /// The session the request is made with.
    pub current: bool,
    /// When it began.
    pub created_at: DateTime<Utc>,
    /// When it was last used (to the minute), if it was.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The client address of that use.
    pub address: Option<String>,
    /// The browser family of that use ("Firefox on Linux").
    pub browser: Option<String>,
}

/// Whether `id` could be a session handle (32 lowercase hex characters, like session ids);
/// anything else is no session, found without a query.
pub fn well_formed(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The live sessions of the caller's account, the caller's own first and marked `current`,
/// then the most recently used (at most `db::sessions::LIST_MAX`).
pub async fn list(db: &DbPool, keys: &Keys, me: &Authenticated) -> Result<Vec<Active>, AppError> {
    let current = me.claims.sid.as_deref();
    let rows = db::sessions::list_for_user(db, me.user.id, current).await?;
    Ok(rows
        .into_iter()
        .map(|row| Active {
            current: current == Some(row.id.as_str()),
            id: keys.forms().session_handle(&row.id),
            kind: row.kind,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            address: row.address,
            browser: row.browser,
        })
        .collect())
}

/// How many live sessions of the caller's account a list of `shown` leaves out (only a full
/// list can leave any out, so only then are they counted).
pub async fn not_listed(db: &DbPool, me: &Authenticated, shown: usize) -> Result<i64, AppError> {
    let shown = i64::try_from(shown).unwrap_or(i64::MAX);
    if shown < db::sessions::LIST_MAX {
        return Ok(0);
    }
    let live = db::sessions::count_live(db, me.user.id).await?;
    Ok((live - shown).max(0))
}

/// Whether `handle` is the public handle of the session the request is made with.
pub fn is_current(keys: &Keys, me: &Authenticated, handle: &str) -> bool {
    me.claims
        .sid
        .as_deref()
        .is_some_and(|sid| keys.forms().session_handle(sid) == handle)
}

/// End the caller's session whose handle is `handle` (its tokens answer 401 from the next
/// request on, on every instance: the guards read the session with the user). 404 for a
/// handle that is not a live session of the caller's account: another account's session is
/// never touched, and the answer does not tell it exists.
pub async fn end(
    db: &DbPool,
    keys: &Keys,
    me: &Authenticated,
    handle: &str,
) -> Result<(), AppError> {
    if !well_formed(handle) {
        return Err(AppError::NotFound("session"));
    }
    let ids = db::sessions::live_ids(db, me.user.id).await?;
    let Some(sid) = ids
        .iter()
        .find(|sid| keys.forms().session_handle(sid) == handle)
    else {
        return Err(AppError::NotFound("session"));
    };
    if !db::sessions::revoke_own(db, me.user.id, sid).await? {
        return Err(AppError::NotFound("session"));
    }
    Ok(())
}

/// End every session of the caller's account but the one the request is made with; how many
/// were ended. A caller without a session (a token from before sessions had ids) ends all.
pub async fn end_others(db: &DbPool, me: &Authenticated) -> Result<u64, AppError> {
    let keep = me.claims.sid.as_deref().unwrap_or("");
    Ok(db::sessions::revoke_others(db, me.user.id, keep).await?)
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    #[test]
    fn only_our_ids_are_looked_up() {
        assert!(well_formed(&crate::auth::token::random_id()));
        for bad in [
            "",
            "abc",
            &"A".repeat(32),
            &"0".repeat(33),
            &format!("{}'", "0".repeat(31)),
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
