//! The pages the scan visits and the data they show: anonymous, as a user (`alice`) and as an
//! admin (`ada`), with the forms' error states, the mailed links' pages and the console's
//! confirmation, edit and dashboard range pages.

use std::collections::BTreeSet;

use conduit::db::Db;
use rocket::http::Method;
use rocket::local::asynchronous::Client as LocalClient;
use serde_json::json;

use super::{form, go, two_factor, Step, Visit};
use crate::browser_mail::mailed_link;
use crate::support::{api, exec, publish, register, scalar};
use conduit::db::account_tokens::Purpose;

/// Ids the admin pages need.
pub(super) struct Seeded {
    slug: String,
    user_id: i64,
    article_id: i64,
    comment_id: i64,
    tag_id: i64,
    /// alice's id (her access tokens in the console).
    alice_id: i64,
    /// The page a confirmation link opens (bob's address).
    confirm_link: String,
    /// The page a password reset link opens (bob's).
    reset_link: String,
}

/// Users, an article with tags and comments, a favorite, a follow, an admin, an access token of
/// alice's, a mail that failed (the dashboard's table of them), and mailed links whose tokens
/// the test knows.
pub(super) async fn seed(app: &LocalClient) -> Seeded {
    let alice = register(app, "alice").await;
    let bob = register(app, "bob").await;
    register(app, "ada").await;
    let body = "## Why\n\nA [link](https://example.com) and `code`.\n\n- one\n- two\n\n> quoted";
    let article = publish(app, &alice, "Notes on trams", body, &["travel", "rust"]).await;
    let slug = article["slug"].as_str().expect("slug").to_owned();
    publish(app, &bob, "Bob writes too", "Plain text.", &["travel"]).await;
    for (token, text) in [(&bob, "Lovely trams!"), (&alice, "Thank you, Bob.")] {
        let (status, value) = api(
            app,
            Method::Post,
            &format!("/api/articles/{slug}/comments"),
            Some(token),
            Some(json!({"comment": {"body": text}})),
        )
        .await;
        assert!(status.code < 300, "{value}");
    }
    api(
        app,
        Method::Post,
        "/api/articles/bob-writes-too/favorite",
        Some(&alice),
        None,
    )
    .await;
    api(
        app,
        Method::Post,
        "/api/profiles/bob/follow",
        Some(&alice),
        None,
    )
    .await;
    let (status, value) = api(
        app,
        Method::Post,
        "/api/user/tokens",
        Some(&alice),
        Some(json!({"token": {"name": "deploy script", "scopes": ["read"]}})),
    )
    .await;
    assert_eq!(status.code, 201, "{value}");
    two_factor::seed(app).await;
    let db = app.rocket().state::<Db>().expect("database");
    exec(db, "UPDATE users SET role = 'admin' WHERE username = 'ada'")
        .await
        .expect("promote");
    let links = [
        mailed_link(db, "bob", Purpose::Confirm).await,
        mailed_link(db, "bob", Purpose::Reset).await,
    ];
    // One mail the server refused for good: the dashboard lists it in a table.
    exec(
        db,
        "UPDATE outbox SET status = 'failed', attempts = 5, last_error = '550 mailbox unavailable' \
         WHERE id = (SELECT MIN(id) FROM outbox)",
    )
    .await
    .expect("a failed mail");
    Seeded {
        slug,
        confirm_link: links[0].clone(),
        reset_link: links[1].clone(),
        alice_id: scalar(db, "SELECT id FROM users WHERE username = 'alice'").await,
        user_id: scalar(db, "SELECT id FROM users WHERE username = 'bob'").await,
        article_id: scalar(db, "SELECT MIN(id) FROM articles").await,
        comment_id: scalar(db, "SELECT MIN(id) FROM comments").await,
        tag_id: scalar(db, "SELECT MIN(id) FROM tags").await,
    }
}

pub(super) fn anonymous_pages(s: &Seeded) -> Vec<Visit> {
    let mut pages = vec![
        go("home (global feed)", "/"),
        go("home, tag tab", "/?tag=travel"),
        go("article with comments", &format!("/article/{}", s.slug)),
        go("profile", "/profile/alice"),
        go("profile, favorites tab", "/profile/alice/favorites"),
        go("search, with results", "/search?q=tra"),
        go("search, nothing found", "/search?q=zzzz-nothing"),
        go("search, empty", "/search"),
        go("API reference", "/api/docs"),
        go("login", "/login"),
        go("register", "/register"),
        form(
            "confirm email (the mailed link's page)",
            vec![
                Step::Go(s.confirm_link.clone()),
                Step::Expect("form.confirm-email-form"),
            ],
        ),
        form(
            "register with errors",
            vec![
                Step::Go("/register".into()),
                Step::Fill("input#username", "alice".into()),
                Step::Fill("input#email", "alice@example.com".into()),
                Step::Fill("input#password", "password-long-enough".into()),
                Step::Submit("form.register-form button[type=submit]"),
                Step::Expect("input#username[aria-invalid=true]"),
            ],
        ),
        form(
            "login with an error",
            vec![
                Step::Go("/login".into()),
                Step::Fill("input#email", "alice@example.com".into()),
                Step::Fill("input#password", "not-her-password".into()),
                Step::Submit("form.login-form button[type=submit]"),
                Step::Expect(".error-summary"),
            ],
        ),
        go("forgot password", "/password/forgot"),
        form(
            "forgot password with an error",
            vec![
                Step::Go("/password/forgot".into()),
                Step::Fill("input#email", format!("{}@example.com", "x".repeat(300))),
                Step::Submit("form.forgot-form button[type=submit]"),
                Step::Expect("input#email[aria-invalid=true]"),
            ],
        ),
        form(
            "choose a new password (the mailed link's page)",
            vec![
                Step::Go(s.reset_link.clone()),
                Step::Expect("form.reset-form"),
            ],
        ),
        form(
            "choose a new password with an error",
            vec![
                Step::Go(s.reset_link.clone()),
                Step::Fill("input#password", "p".repeat(200)),
                Step::Submit("form.reset-form button[type=submit]"),
                Step::Expect("input#password[aria-invalid=true]"),
            ],
        ),
        go(
            "a used or unknown reset link (410)",
            "/password/reset/no-such-token",
        ),
        go(
            "a used or unknown confirmation link",
            "/email/confirm/no-such-token",
        ),
        go("404", "/article/no-such-article"),
    ];
    pages.extend(two_factor::code_pages());
    pages
}

pub(super) fn user_pages(s: &Seeded) -> Vec<Visit> {
    vec![
        go("home (global feed)", "/"),
        go("home, your feed", "/?feed=you"),
        go("home, tag tab", "/?tag=rust"),
        go("article with own comments", &format!("/article/{}", s.slug)),
        go("someone else's article", "/article/bob-writes-too"),
        go("own profile", "/profile/alice"),
        go("someone else's profile", "/profile/bob"),
        go("favorites tab", "/profile/alice/favorites"),
        go("settings", "/settings"),
        go("sessions", "/settings/sessions"),
        go("access tokens", "/settings/tokens"),
        form(
            "access tokens with no scope chosen",
            vec![
                Step::Go("/settings/tokens".into()),
                Step::Fill("input#token-name", "ci".into()),
                Step::Fill("input#token-current-password", "password-alice".into()),
                Step::Submit("form.new-token-form button[type=submit]"),
                Step::Expect("input[name=scopes][aria-invalid=true]"),
            ],
        ),
        form(
            "access tokens with a wrong password",
            vec![
                Step::Go("/settings/tokens".into()),
                Step::Fill("input#token-name", "ci".into()),
                Step::Tick("input[name=scopes][value=read]"),
                Step::Fill("input#token-current-password", "not-her-password".into()),
                Step::Submit("form.new-token-form button[type=submit]"),
                Step::Expect("input#token-current-password[aria-invalid=true]"),
            ],
        ),
        form(
            "a new access token shown once",
            vec![
                Step::Go("/settings/tokens".into()),
                Step::Fill("input#token-name", "backup job".into()),
                Step::Tick("input[name=scopes][value=read]"),
                Step::Fill("input#token-current-password", "password-alice".into()),
                Step::Submit("form.new-token-form button[type=submit]"),
                Step::Expect(".token-created .token-secret"),
            ],
        ),
        form(
            "settings with errors",
            vec![
                Step::Go("/settings".into()),
                Step::Fill("input#email", "bob@example.com".into()),
                Step::Submit("form.settings-form button[type=submit]"),
                Step::Expect(".error-summary"),
            ],
        ),
        go("editor", "/editor"),
        go("editor, editing", &format!("/editor/{}", s.slug)),
        form(
            "editor with errors",
            vec![
                Step::Go("/editor".into()),
                Step::Fill("input#title", "Notes on trams".into()),
                Step::Fill("input#description", "   ".into()),
                Step::Fill("textarea#body", "Body".into()),
                Step::Submit("form.editor-form button[type=submit]"),
                Step::Expect("input#description[aria-invalid=true]"),
            ],
        ),
        form(
            "403 (admin console as a user)",
            vec![Step::Go("/admin".into()), Step::Expect(".error-page")],
        ),
        form(
            "a refused comment",
            vec![
                Step::Go(format!("/article/{}", s.slug)),
                Step::Fill("textarea#comment-body", "   ".into()),
                Step::Submit("form.comment-form button[type=submit]"),
                Step::Expect("textarea#comment-body[aria-invalid=true]"),
            ],
        ),
        go("404", "/profile/nobody-here"),
    ]
}

pub(super) fn admin_pages(s: &Seeded, nav: &BTreeSet<String>) -> Vec<Visit> {
    let mut pages: Vec<Visit> = nav.iter().map(|href| go(href, href)).collect();
    // The site as an admin sees it (the navigation has one more item).
    pages.push(go("home as an admin", "/"));
    pages.push(go("article as an admin", &format!("/article/{}", s.slug)));
    for (resource, id) in [
        ("users", s.user_id),
        ("articles", s.article_id),
        ("comments", s.comment_id),
        ("tags", s.tag_id),
    ] {
        pages.push(go(
            &format!("{resource}, sorted descending"),
            &format!("/admin/{resource}?sort=id&dir=desc"),
        ));
        pages.push(go(
            &format!("{resource}, searched for nothing"),
            &format!("/admin/{resource}?q=zzzz-nothing"),
        ));
        pages.push(go(
            &format!("edit one of {resource}"),
            &format!("/admin/{resource}/{id}"),
        ));
        pages.push(go(
            &format!("confirm deleting one of {resource}"),
            &format!("/admin/{resource}/{id}/delete"),
        ));
    }
    pages.push(form(
        "confirm a bulk delete",
        vec![
            Step::Go("/admin/articles".into()),
            Step::Tick("table input[type=checkbox][name=ids]"),
            Step::Submit("form.bulk-form button[type=submit]"),
            Step::Expect("form.confirm-form"),
        ],
    ));
    pages.push(form(
        "edit with errors",
        vec![
            Step::Go(format!("/admin/users/{}", s.user_id)),
            Step::Fill("input#field-email", "ada@example.com".into()),
            Step::Submit("form.admin-edit-form button[type=submit]"),
            Step::Expect("input#field-email[aria-invalid=true]"),
        ],
    ));
    pages.push(go(
        "a user's access tokens",
        &format!("/admin/users/{}/tokens", s.alice_id),
    ));
    for days in [7, 90] {
        pages.push(go(
            &format!("dashboard, {days} days"),
            &format!("/admin?days={days}"),
        ));
    }
    pages.push(form(
        "dashboard, a range it does not offer (422)",
        vec![Step::Go("/admin?days=45".into()), Step::Expect("main")],
    ));
    pages.push(form(
        "dashboard with a failed mail",
        vec![Step::Go("/admin".into()), Step::Expect("table.failed-mail")],
    ));
    pages.push(go("audit, filtered", "/admin/audit?entity=user"));
    pages.push(go("reauth", "/admin/reauth?next=/admin/users"));
    pages.push(form(
        "reauth with an error",
        vec![
            Step::Go("/admin/reauth?next=/admin/users".into()),
            Step::Fill("input#password", "wrong-password".into()),
            Step::Submit("form.reauth-form button[type=submit]"),
            Step::Expect(".error-summary"),
        ],
    ));
    pages.push(go("404 in the console", "/admin/users/999999"));
    pages
}
