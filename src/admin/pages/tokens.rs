//! A user's personal access tokens in the console (issue 19): the list (scopes, expiry, last
//! use and address, never a secret) and a revoke button each. Revoking is audited
//! (`token.revoke`, by the admin) and needs no fresh login: it only ever takes access away.

use rocket::{get, post, uri};
use serde_json::json;

use crate::admin::catchers::AdminResult;
use crate::admin::ops::{self, Actor, Entity};
use crate::admin::pages::table;
use crate::auth::access_token::{self, Scopes};
use crate::auth::csrf::CsrfForm;
use crate::auth::AdminUser;
use crate::db::{self, AccessTokenId, Conn, UserId};
use crate::error::AppError;
use crate::timefmt::human_date;
use crate::web::layout::{done, Layout};
use crate::web::render::RenderedPage;
use crate::web::session::{Empty, PageOr};

#[get("/users/<id>/tokens")]
pub async fn user_tokens(
    db: Conn,
    _admin: AdminUser,
    layout: Layout,
    id: UserId,
) -> AdminResult<RenderedPage> {
    let user = ops::load_user(&db, id).await?;
    let now = db::now();
    let tokens: Vec<_> = db::access_tokens::list_for_user(&db, id)
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "name": t.name,
                "scopes": Scopes::from_stored(&t.scopes).to_stored(),
                "created": human_date(&t.created_at),
                "expires": t.expires_at.as_ref().map_or_else(|| "never".to_owned(), human_date),
                "expired": t.expires_at.is_some_and(|at| at <= now),
                "last_used": t.last_used_at.as_ref().map(human_date),
                "last_used_ip": t.last_used_ip,
                "revoke_href": uri!("/admin", revoke_user_token(id, t.id)).to_string(),
            })
        })
        .collect();
    Ok(super::render(
        &layout,
        "admin/tokens",
        json!({
            "title": format!("Tokens of {}", user.username), "section": "users",
            "username": user.username, "tokens": tokens,
            "user_href": uri!("/admin", table::edit(Entity::User, id)).to_string(),
        }),
    ))
}

#[post("/users/<id>/tokens/<token>/revoke", data = "<_form>")]
pub async fn revoke_user_token(
    db: Conn,
    actor: Actor,
    id: UserId,
    token: AccessTokenId,
    _form: CsrfForm<Empty>,
) -> AdminResult<PageOr> {
    let back = uri!("/admin", user_tokens(id)).to_string();
    let message = match access_token::revoke(&db, id, token, &(&actor).into()).await {
        Ok(()) => "The token has been revoked.",
        Err(AppError::NotFound(_)) => "That token was revoked already.",
        Err(e) => return Err(e.into()),
    };
    Ok(PageOr::Redirect(done(back, message)))
}
