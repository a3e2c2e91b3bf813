//! Account recovery by mail: "forgot password" mails a single-use link, and the link sets a
//! new password. Shared by the site and the JSON API.
//!
//! - A request answers the same whether or not an account has the email (nothing is mailed
//!   when none has, or when it is disabled), doing the same work, and is throttled per email
//!   and per client address (`reset_max_per_email`, `reset_max_per_ip` an hour,
//!   `db::throttle::reserve_reset`), counted whether or not the account exists. Past a limit
//!   the answer is still the same; only the mail is not sent ([`request_reset`]).
//! - The token is 32 random bytes (base64url in the link); only its SHA-256 is stored. It works
//!   once, for [`RESET_MINUTES`].
//! - Setting the password follows the sign-up rules, and in one transaction uses the token,
//!   bumps the token version (every JWT issued so far stops working), ends every browser
//!   session, uses up every other reset link, and queues a notice to the account's address.
//!   Two uses of one link at once: one sets the password, the other finds it used.

use chrono::Duration;
use serde_json::json;

pub use crate::auth::mailed::{
    confirmation_mail, new_token, token_hash, well_formed, AccountLinks, CONFIRM_HOURS,
};
use crate::auth::{account, fields, password};
use crate::config::AppConfig;
use crate::db::account_tokens::{self, LiveToken, NewToken, Purpose};
use crate::db::throttle::Reservation;
use crate::db::users::User;
use crate::db::{self, DbPool, ResetRequestId, UserId};
use crate::error::{AppError, FieldErrors};
use crate::input::{self, Max};
use crate::mail::Mailer;

/// How long a reset link works.
pub const RESET_MINUTES: i64 = 30;

/// The window of the reset request throttle.
pub const RESET_WINDOW_HOURS: i64 = 1;

/// The email of a reset request, checked: the same errors whether or not it is an account's.
fn checked_email(email: &str) -> Result<&str, AppError> {
    let email = email.trim();
    let mut errors = FieldErrors::new();
    if email.is_empty() {
        errors.add("email", "can't be blank");
    } else if input::check(&mut errors, "email", email, Max::Chars(fields::EMAIL_MAX)) {
        fields::check_email(&mut errors, email);
    }
    errors.into_result()?;
    Ok(email)
}

/// Ask for a reset link for `email` from client address `ip`. `Ok(())` whether or not an
/// account has that email and whether or not the request is within its limits (the answer is
/// 202 always, as the issue asks); 422 only for an email that is not one.
///
/// Past `reset_max_per_email` or `reset_max_per_ip` an hour nothing is mailed, but nothing
/// else changes: a stranger who uses up an address's allowance cannot lock its owner out, who
/// keeps the links mailed so far (each works for [`RESET_MINUTES`]) and, signed in, the
/// settings page. Every request does the same work whatever the answer would tell: the
/// reservation, the lookup, the mail composed, and one transaction whose statements insert
/// the token and the mail only for an enabled account within the limits (review of issue 18:
/// an extra transaction for known addresses showed in the timing).
pub async fn request_reset(
    db: &DbPool,
    config: &AppConfig,
    mailer: &Mailer,
    links: &AccountLinks,
    email: &str,
    ip: &str,
) -> Result<(), AppError> {
    let email = checked_email(email)?;
    let reserved = db::throttle::reserve_reset(
        db,
        email,
        ip,
        config.reset_max_per_email,
        config.reset_max_per_ip,
        Duration::hours(RESET_WINDOW_HOURS),
    )
    .await?;
    let within_limits = !matches!(reserved, Reservation::Blocked(_));
    let user = db::users::find_by_email(db, email).await?;
    // An unknown address gets a mail composed the same way, never queued.
    let (username, address) = user
        .as_ref()
        .map_or(("", email), |u| (u.username.as_str(), u.email.as_str()));
    let (token, hash) = new_token();
    let mail = mailer.compose(
        "password_reset",
        address,
        "Reset your Conduit password",
        json!({
            "username": username,
            "link": mailer.link(&(links.reset)(&token)),
            "minutes": RESET_MINUTES,
        }),
    )?;
    let queued = account_tokens::issue_reset(
        db,
        &hash,
        address,
        db::now() + Duration::minutes(RESET_MINUTES),
        &mail,
        within_limits,
    )
    .await?;
    if queued {
        mailer.wake();
    }
    Ok(())
}

/// The live reset token `token` and its enabled account, if it is one.
pub async fn find_reset(db: &DbPool, token: &str) -> Result<Option<(LiveToken, User)>, AppError> {
    if !well_formed(token) {
        return Ok(None);
    }
    let Some(live) = account_tokens::find_live(db, &token_hash(token), Purpose::Reset).await?
    else {
        return Ok(None);
    };
    let user = db::users::find_by_id(db, live.user_id)
        .await?
        .filter(|u| !u.disabled);
    Ok(user.map(|u| (live, u)))
}

/// What setting a password through a link did.
#[derive(Debug)]
pub enum Reset {
    /// The password is set: the account as it is now.
    Done(User),
    /// The link was used, expired or unknown: nothing changed.
    Stale,
}

/// Set `new_password` through reset token `token`. A password that breaks the sign-up rules is
/// a 422 and leaves the link usable.
pub async fn reset_password(
    db: &DbPool,
    config: &AppConfig,
    mailer: &Mailer,
    links: &AccountLinks,
    token: &str,
    new_password: &str,
) -> Result<Reset, AppError> {
    let Some((_, user)) = find_reset(db, token).await? else {
        return Ok(Reset::Stale);
    };
    let mut errors = FieldErrors::new();
    fields::check_password(&mut errors, new_password, &user.username, &user.email);
    errors.into_result()?;
    let hash = password::hash(
        new_password,
        account::writes_may_wait(config.password_queue_max),
    )
    .await?;
    let notice = mailer.compose(
        "password_changed",
        &user.email,
        "Your Conduit password was changed",
        json!({
            "username": user.username,
            "forgot_link": mailer.link(&(links.forgot)()),
        }),
    )?;
    if !account_tokens::reset_password(db, &token_hash(token), user.id, &hash, Some(&notice))
        .await?
    {
        return Ok(Reset::Stale);
    }
    mailer.wake();
    // Failed sign-ins before the reset no longer hold its owner back, nor do wrong codes
    // (the daily cap of `auth::code_check`: whoever guessed them lost the password).
    db::login_attempts::clear(db, &user.email).await?;
    db::login_attempts::clear(db, &crate::auth::two_factor::throttle_key(&user)).await?;
    db::throttle::clear_code_failures(db, user.id).await?;
    let user = db::users::find_by_id(db, user.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("user {} vanished after a password reset", user.id))?;
    Ok(Reset::Done(user))
}

/// Reserve a place for moving account `user_id` to `new_email` (`account::prepare`, before
/// any password or code is checked and before anything else is written): at most
/// `reset_max_per_email` an hour per account and per target address (counted with the reset
/// requests for it), so an account, confirmed or not, cannot use the change to mail any address
/// over and over (review of issue 18). 429 past either; a change refused later gives its place
/// back (`account::Prepared::give_back`).
pub(crate) async fn reserve_email_change(
    db: &DbPool,
    config: &AppConfig,
    user_id: UserId,
    new_email: &str,
) -> Result<ResetRequestId, AppError> {
    // The target address in the per-email column, the account in the per-address one (under
    // a key no client address can have).
    let reserved = db::throttle::reserve_reset(
        db,
        &new_email.to_lowercase(),
        &format!("#change:{user_id}"),
        config.reset_max_per_email,
        config.reset_max_per_email,
        Duration::hours(RESET_WINDOW_HOURS),
    )
    .await?;
    match reserved {
        Reservation::Granted(id) => Ok(id),
        Reservation::Blocked(until) => Err(account::too_many(until)),
    }
}

/// Ask to move `user`'s account to `new_email` (checked and found free, and its place in the
/// throttle reserved, by `account::prepare`): in one transaction, a confirmation token for it,
/// the mail to it carrying the link, and a notice to the current address. The account keeps
/// its address until the link is followed.
pub async fn request_email_change(
    db: &DbPool,
    mailer: &Mailer,
    links: &AccountLinks,
    user: &User,
    new_email: &str,
) -> Result<(), AppError> {
    let (token, hash) = new_token();
    let mail = confirmation_mail(mailer, links, &user.username, new_email, &token, true)?;
    let notice = mailer.compose(
        "email_change_notice",
        &user.email,
        "A change of your Conduit email was asked for",
        json!({
            "username": user.username,
            "new_email": new_email,
            "settings_link": mailer.link(&(links.settings)()),
        }),
    )?;
    let new = NewToken {
        hash: &hash,
        user_id: user.id,
        purpose: Purpose::Confirm,
        email: new_email,
        expires_at: db::now() + Duration::hours(CONFIRM_HOURS),
    };
    account_tokens::issue(db, &new, &mail, &[notice]).await?;
    mailer.wake();
    Ok(())
}

/// Mail `user` a new link to confirm their address (the first was lost, or expired), from client
/// address `ip`: nothing for a confirmed address; throttled like reset requests, per account
/// and per address (429).
pub async fn resend_confirmation(
    db: &DbPool,
    config: &AppConfig,
    mailer: &Mailer,
    links: &AccountLinks,
    user: &User,
    ip: &str,
) -> Result<(), AppError> {
    if user.email_confirmed_at.is_some() {
        return Ok(());
    }
    // Counted under the signed-in account, not its address: strangers asking for reset links
    // for that address (which count under it) cannot stop its owner getting this link.
    let reserved = db::throttle::reserve_reset(
        db,
        &format!("#user:{}", user.id),
        ip,
        config.reset_max_per_email,
        config.reset_max_per_ip,
        Duration::hours(RESET_WINDOW_HOURS),
    )
    .await?;
    if let Reservation::Blocked(until) = reserved {
        return Err(account::too_many(until));
    }
    let (token, hash) = new_token();
    let mail = confirmation_mail(mailer, links, &user.username, &user.email, &token, false)?;
    let new = NewToken {
        hash: &hash,
        user_id: user.id,
        purpose: Purpose::Confirm,
        email: &user.email,
        expires_at: db::now() + Duration::hours(CONFIRM_HOURS),
    };
    account_tokens::issue(db, &new, &mail, &[]).await?;
    mailer.wake();
    Ok(())
}

/// The live confirmation token `token`, if it is one (what the page a confirmation link opens
/// shows; nothing is changed).
pub async fn find_confirmation(db: &DbPool, token: &str) -> Result<Option<LiveToken>, AppError> {
    if !well_formed(token) {
        return Ok(None);
    }
    Ok(account_tokens::find_live(db, &token_hash(token), Purpose::Confirm).await?)
}

/// Confirm with `token` (the confirmation page's button, posted).
pub async fn confirm_email(
    db: &DbPool,
    token: &str,
) -> Result<account_tokens::Confirmed, AppError> {
    if !well_formed(token) {
        return Ok(account_tokens::Confirmed::Stale);
    }
    let hash = token_hash(token);
    let Some(live) = account_tokens::find_live(db, &hash, Purpose::Confirm).await? else {
        return Ok(account_tokens::Confirmed::Stale);
    };
    Ok(account_tokens::confirm_email(db, &hash, live.user_id, &live.email).await?)
}
