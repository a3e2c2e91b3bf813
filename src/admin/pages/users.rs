//! The users table, declared ([`Users`]), and what only users have: the role form and
//! disabling or re-enabling an account.

use rocket::form::FromForm;
use rocket::{post, routes, uri, Route, State};
use serde_json::{json, Value};

use super::table::{self, update_route};
use super::{is_fresh, outcome, reauth_redirect};
use crate::admin::catchers::AdminResult;
use crate::admin::ops::{self, Actor, Entity};
use crate::admin::resource::{badge, cell, link, Column, Field, Resource, DATE};
use crate::auth::csrf::{CsrfContextual, CsrfForm};
use crate::auth::fields::{BIO_MAX, EMAIL_MAX, IMAGE_MAX, USERNAME_MAX};
use crate::auth::AdminUser;
use crate::config::AppConfig;
use crate::db::admin::UserRow;
use crate::db::users::{Role, User};
use crate::db::{Conn, DbPool, UserId};
use crate::error::AppError;
use crate::input::{fits, Max};
use crate::web::session::{Empty, PageOr};

/// The users table.
pub struct Users;

/// The user edit form.
#[derive(FromForm)]
pub struct UserForm {
    #[field(default = String::new(), validate = fits(Max::Chars(USERNAME_MAX)))]
    username: String,
    #[field(default = String::new(), validate = fits(Max::Chars(EMAIL_MAX)))]
    email: String,
    #[field(default = String::new(), validate = fits(Max::Chars(BIO_MAX)))]
    bio: String,
    #[field(default = String::new(), validate = fits(Max::Chars(IMAGE_MAX)))]
    image: String,
}

impl Resource for Users {
    type Row = UserRow;
    type Record = User;
    type Id = UserId;
    type Form = UserForm;

    const ENTITY: Entity = Entity::User;
    const TITLE: &'static str = "Users";
    const SPEC: &'static crate::db::admin::Spec = &crate::db::admin::USERS;
    const DEFAULT_SORT: (&'static str, bool) = ("created", true);
    const COLUMNS: &'static [Column] = &[
        Column::sorted("Id", "id"),
        Column::sorted("Username", "username"),
        Column::sorted("Email", "email"),
        Column::sorted("Role", "role"),
        Column::sorted("Status", "disabled"),
        Column::sorted("Articles", "articles"),
        Column::sorted("Created", "created"),
    ];
    const CSV: &'static [&'static str] = &[
        "id",
        "username",
        "email",
        "role",
        "disabled",
        "articles",
        "created_at",
    ];
    const BULK: &'static [&'static str] = &["enable", "disable", "promote", "demote", "delete"];
    const DELETE_QUESTION: &'static str =
        "Delete this user? Their articles, comments and favorites are deleted with them.";
    const FIELDS: &'static [Field] = &[
        Field {
            name: "username",
            label: "Username",
            kind: "text",
        },
        Field {
            name: "email",
            label: "Email",
            kind: "email",
        },
        Field {
            name: "image",
            label: "Image URL",
            kind: "url",
        },
        Field {
            name: "bio",
            label: "Bio",
            kind: "textarea",
        },
    ];

    fn id(row: &UserRow) -> UserId {
        row.id
    }

    fn cells(u: &UserRow) -> Vec<Value> {
        let role = match u.role {
            Role::Admin => badge("role", "admin", "badge-admin"),
            Role::User => cell("role", "user"),
        };
        let status = if u.disabled {
            badge("status", "disabled", "badge-disabled")
        } else {
            cell("status", "active")
        };
        vec![
            cell("id", u.id),
            link(
                "username",
                &u.username,
                uri!("/admin", table::edit(Entity::User, u.id)),
            ),
            cell("email", &u.email),
            role,
            status,
            cell("articles", u.articles_count),
            cell("created", u.created_at.format(DATE)),
        ]
    }

    fn csv_row(u: UserRow) -> Vec<String> {
        vec![
            u.id.to_string(),
            u.username,
            u.email,
            u.role.to_string(),
            u.disabled.to_string(),
            u.articles_count.to_string(),
            u.created_at.to_rfc3339(),
        ]
    }

    async fn load(db: &DbPool, id: UserId) -> Result<User, AppError> {
        ops::load_user(db, id).await
    }

    fn values(user: &User) -> Value {
        json!({ "username": user.username, "email": user.email, "bio": user.bio.clone().unwrap_or_default(), "image": user.image.clone().unwrap_or_default() })
    }

    fn edit_view(user: &User) -> Value {
        json!({
            "title": format!("User {}", user.username), "heading": format!("User {}", user.username),
            "user": { "id": user.id, "role": user.role, "disabled": user.disabled, "is_admin": user.is_admin(),
                      "created": user.created_at.format(DATE).to_string(),
                      "role_href": uri!("/admin", set_role(user.id)).to_string(),
                      "enable_href": uri!("/admin", enable_user(user.id)).to_string(),
                      "disable_href": uri!("/admin", disable_user(user.id)).to_string(),
                      "tokens_href": uri!("/admin", super::tokens::user_tokens(user.id)).to_string(),
                      "two_factor_reset_href": uri!("/admin", reset_two_factor(user.id)).to_string() },
        })
    }

    async fn save(
        db: &DbPool,
        actor: &Actor,
        id: UserId,
        form: UserForm,
    ) -> Result<String, AppError> {
        let edit = ops::UserEdit {
            username: Some(form.username),
            email: Some(form.email),
            bio: Some(form.bio),
            image: Some(form.image),
        };
        let user = ops::edit_user(db, actor, id, edit).await?;
        Ok(format!("Saved {}.", user.username))
    }
}

update_route!(Users, "/users/<id>");

/// The role form.
#[derive(FromForm)]
pub struct RoleForm {
    role: Role,
}

/// The user's edit page, where the access forms are.
fn user_page(id: UserId) -> String {
    uri!("/admin", table::edit(Entity::User, id)).to_string()
}

#[post("/users/<id>/role", data = "<form>")]
async fn set_role(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    id: UserId,
    form: CsrfContextual<'_, RoleForm>,
) -> AdminResult<PageOr> {
    let back = user_page(id);
    if !is_fresh(&admin.0, config) {
        return Ok(reauth_redirect(&back));
    }
    let Some(form) = form.0.value else {
        let e = AppError::Invalid(crate::error::FieldErrors::one(
            "role",
            crate::db::users::UnknownRole.to_string(),
        ));
        return outcome(&back, Err(e));
    };
    let result = ops::set_role(&db, &actor, id, form.role).await.map(|u| {
        format!(
            "{} is now {}.",
            u.username,
            if u.is_admin() {
                "an admin"
            } else {
                "an ordinary user"
            }
        )
    });
    outcome(&back, result)
}

#[post("/users/<id>/disable", data = "<_form>")]
async fn disable_user(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    id: UserId,
    _form: CsrfForm<Empty>,
) -> AdminResult<PageOr> {
    let back = user_page(id);
    if !is_fresh(&admin.0, config) {
        return Ok(reauth_redirect(&back));
    }
    let result = ops::set_disabled(&db, &actor, id, true)
        .await
        .map(|u| format!("{} is disabled and signed out everywhere.", u.username));
    outcome(&back, result)
}

#[post("/users/<id>/enable", data = "<_form>")]
async fn enable_user(
    db: Conn,
    _admin: AdminUser,
    actor: Actor,
    id: UserId,
    _form: CsrfForm<Empty>,
) -> AdminResult<PageOr> {
    let result = ops::set_disabled(&db, &actor, id, false)
        .await
        .map(|u| format!("{} is enabled.", u.username));
    outcome(&user_page(id), result)
}

/// Reset a user's two-factor sign-in (they lost their phone and their recovery codes): it is
/// off, they are told by mail, and the audit log has it. Needs a fresh login.
#[allow(clippy::too_many_arguments)]
#[post("/users/<id>/two-factor/reset", data = "<_form>")]
async fn reset_two_factor(
    db: Conn,
    admin: AdminUser,
    actor: Actor,
    config: &State<AppConfig>,
    mailer: &State<crate::mail::Mailer>,
    links: &State<crate::auth::recovery::AccountLinks>,
    id: UserId,
    _form: CsrfForm<Empty>,
) -> AdminResult<PageOr> {
    let back = user_page(id);
    // Their own: in their settings, with a code, like anyone (a stolen admin session must not
    // take the second factor off the account that holds it).
    if id == actor.id {
        return outcome(
            &back,
            Err(AppError::Forbidden(
                "Your own two-factor sign-in is turned off in your settings, with a code.",
            )),
        );
    }
    if !is_fresh(&admin.0, config) {
        return Ok(reauth_redirect(&back));
    }
    let result = async {
        let user = ops::load_user(&db, id).await?;
        let origin = crate::auth::access_token::Origin {
            actor_id: actor.id,
            actor_name: actor.name.clone(),
            ip: actor.ip.clone(),
            request_id: actor.request_id.clone(),
        };
        crate::auth::two_factor::disable(&db, mailer, links, &origin, &user).await?;
        Ok(format!(
            "The two-factor sign-in of {} is reset: they sign in with their password alone now.",
            user.username
        ))
    }
    .await;
    outcome(&back, result)
}

/// This file's routes.
pub fn routes() -> Vec<Route> {
    routes![
        update,
        set_role,
        disable_user,
        enable_user,
        reset_two_factor
    ]
}
