//! The admin console: access rules, tables (search, sort, pagination, CSV), edits, role and
//! status changes, deletion with confirmation, bulk actions, the audit log, the last-admin
//! rule, CSRF and fresh-login requirements, and the same operations under `/api/admin`.

use crate::support::percent_encode;
use conduit::config::DEV_JWT_SECRET;
use conduit::db::UserId;
use rocket::http::{ContentType, Cookie, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::support::{
    api, browser_register, claims_of, exec, forge, get_page, page_csrf, post_form, register,
    scalar, texts, urlencode,
};

/// Sign `name` up in the browser and make them an admin.
pub async fn admin_browser(app: &TestApp, name: &str) {
    browser_register(&app.client, name).await;
    make_admin(app, name).await;
}

/// Give `name` the admin role.
pub async fn make_admin(app: &TestApp, name: &str) {
    exec(
        app.db(),
        &format!("UPDATE users SET role = 'admin' WHERE username = '{name}'"),
    )
    .await
    .expect("promote");
}

/// The id of user `name`.
pub async fn id_of(app: &TestApp, name: &str) -> UserId {
    UserId::new(
        scalar(
            app.db(),
            &format!("SELECT id FROM users WHERE username = '{name}'"),
        )
        .await,
    )
}

fn location<'a>(res: &'a LocalResponse<'_>) -> &'a str {
    res.headers().get_one("Location").unwrap_or_default()
}

/// The browser's access token with its password entry moved 20 minutes into the past.
pub fn stale_session(client: &Client) -> String {
    let access = client
        .cookies()
        .get("session")
        .expect("signed in")
        .value()
        .to_owned();
    let mut claims = claims_of(&access);
    claims["auth_time"] = json!(chrono::Utc::now().timestamp() - 20 * 60);
    forge(&claims, DEV_JWT_SECRET.as_bytes())
}

/// An API token with its password entry 20 minutes ago.
pub fn stale_token(token: &str) -> String {
    let mut claims = claims_of(token);
    claims["auth_time"] = json!(chrono::Utc::now().timestamp() - 20 * 60);
    forge(&claims, DEV_JWT_SECRET.as_bytes())
}

/// Post a form with an explicit access cookie.
async fn post_form_as<'c>(
    client: &'c Client,
    path: &str,
    fields: &[(&str, &str)],
    session: &str,
) -> LocalResponse<'c> {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    client
        .post(path.to_owned())
        .header(ContentType::Form)
        .cookie(Cookie::new("session", session.to_owned()))
        .body(body)
        .dispatch()
        .await
}

/// Create an article over the API; returns its slug.
pub async fn create_article(client: &Client, token: &str, title: &str, tags: &[&str]) -> String {
    let body = json!({"article": {"title": title, "description": format!("about {title}"), "body": "text", "tagList": tags}});
    let (status, value) = api(
        client,
        Method::Post,
        "/api/articles",
        Some(token),
        Some(body),
    )
    .await;
    assert_eq!(status, Status::Created, "{value}");
    value["article"]["slug"].as_str().expect("slug").to_owned()
}

/// Comment on an article over the API; returns the comment id.
pub async fn add_comment(client: &Client, token: &str, slug: &str, body: &str) -> i64 {
    let (status, value) = api(
        client,
        Method::Post,
        &format!("/api/articles/{slug}/comments"),
        Some(token),
        Some(json!({"comment": {"body": body}})),
    )
    .await;
    assert_eq!(status, Status::Ok, "{value}");
    value["comment"]["id"].as_i64().expect("comment id")
}

/// The flash message shown after following a redirect.
async fn flash_after(client: &Client, res: LocalResponse<'_>) -> Vec<String> {
    assert_eq!(res.status(), Status::SeeOther);
    let to = location(&res).to_owned();
    drop(res);
    let (_, page) = get_page(client, &to).await;
    texts(&page, ".flash")
}

fn row_texts(page: &scraper::Html, column: &str) -> Vec<String> {
    texts(page, &format!("table.admin-table tbody tr td.col-{column}"))
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    scalar(
        app.db(),
        &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"),
    )
    .await
}

db_test!(
    async fn anonymous_visitors_are_sent_to_login_and_non_admins_get_403(app) {
        for path in ["/admin", "/admin/users", "/admin/users.csv", "/admin/audit", "/admin/backups"] {
            let res = app.client.get(path).dispatch().await;
            assert_eq!(res.status(), Status::SeeOther, "{path}");
            assert_eq!(location(&res), format!("/login?next={}", percent_encode(path)), "{path}");
        }
        let (status, body) = api(&app.client, Method::Get, "/api/admin/users", None, None).await;
        assert_eq!(status, Status::Unauthorized, "{body}");

        browser_register(&app.client, "plain").await;
        let (status, page) = get_page(&app.client, "/admin").await;
        assert_eq!(status, Status::Forbidden);
        assert_eq!(texts(&page, ".error-page .status-code"), vec!["Error 403"]);
        let id = id_of(&app, "plain").await;
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, &format!("/admin/users/{id}/role"), &[("csrf_token", &csrf), ("role", "admin")]).await;
        assert_eq!(res.status(), Status::Forbidden);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE role = 'admin'").await, 0);

        let token = register(&crate::support::script_client(&app.client).await, "script").await;
        let (status, body) = api(&app.client, Method::Get, "/api/admin/users", Some(&token), None).await;
        assert_eq!(status, Status::Forbidden, "{body}");
    }
);

db_test!(
    async fn dashboard_shows_counts_and_recent_activity(app) {
        let author = register(&app.client, "writer").await;
        let slug = create_article(&app.client, &author, "First post", &["rust", "web"]).await;
        add_comment(&app.client, &author, &slug, "Nice").await;
        admin_browser(&app, "boss").await;
        let tag = scalar(app.db(), "SELECT id FROM tags WHERE name = 'web'").await;
        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, &format!("/admin/tags/{tag}"), &[("csrf_token", &csrf), ("name", "webdev")]).await;
        assert_eq!(res.status(), Status::SeeOther);

        let (status, page) = get_page(&app.client, "/admin").await;
        assert_eq!(status, Status::Ok);
        for (key, value) in [("users", "2"), ("admins", "1"), ("disabled", "0"), ("articles", "1"), ("comments", "1"), ("tags", "2")] {
            assert_eq!(texts(&page, &format!("dd[data-count={key}]")), vec![value], "{key}");
        }
        let activity = texts(&page, ".recent-activity li");
        assert_eq!(activity.len(), 1);
        assert!(activity[0].contains("boss") && activity[0].contains("tag.update"), "{activity:?}");
        assert_eq!(texts(&page, ".newest-articles li a"), vec!["First post"]);
    }
);

async fn seed_users(app: &TestApp, n: usize) {
    for i in 1..=n {
        exec(
            app.db(),
            &format!(
                "INSERT INTO users (username, email, password_hash, role, disabled, token_version, created_at, updated_at) \
                 VALUES ('user_{i:02}', 'user_{i:02}@example.com', 'x', 'user', FALSE, 0, '2026-01-01 00:00:{i:02}.000', '2026-01-01 00:00:{i:02}.000')"
            ),
        )
        .await
        .expect("seed user");
    }
}

db_test!(
    async fn users_table_searches_sorts_and_paginates(app) {
        seed_users(&app, 30).await;
        admin_browser(&app, "boss").await;

        let (status, page) = get_page(&app.client, "/admin/users?sort=username&dir=asc").await;
        assert_eq!(status, Status::Ok);
        let names = row_texts(&page, "username");
        assert_eq!(names.len(), 25, "25 rows per page");
        assert_eq!(names[0], "boss");
        assert_eq!(names[24], "user_24");
        assert!(texts(&page, ".admin-total")[0].starts_with("31 found."));
        let sorted = scraper::Selector::parse("th[data-sort=username]").unwrap();
        assert_eq!(page.select(&sorted).next().unwrap().value().attr("aria-sort"), Some("ascending"));
        // Keyset links (tests/it/keyset_admin.rs): the next page starts after the last row.
        assert_eq!(texts(&page, ".pagination .page-link"), vec!["Next »"]);
        let next = crate::support::attrs(&page, ".pagination a[rel=next]", "href");
        let (_, page) = get_page(&app.client, &next[0]).await;
        assert_eq!(row_texts(&page, "username"), vec!["user_25", "user_26", "user_27", "user_28", "user_29", "user_30"]);
        let (_, page) = get_page(&app.client, "/admin/users?sort=username&dir=asc&page=2").await;
        assert_eq!(row_texts(&page, "username"), vec!["user_25", "user_26", "user_27", "user_28", "user_29", "user_30"]);

        let (_, page) = get_page(&app.client, "/admin/users?sort=username&dir=desc").await;
        assert_eq!(row_texts(&page, "username")[0], "user_30");
        assert_eq!(page.select(&sorted).next().unwrap().value().attr("aria-sort"), Some("descending"));

        // Search: any letter case, `_` and `%` are literal characters.
        let (_, page) = get_page(&app.client, "/admin/users?q=USER_1&sort=username").await;
        assert_eq!(row_texts(&page, "username").len(), 10);
        let (_, page) = get_page(&app.client, "/admin/users?q=%25").await;
        assert_eq!(row_texts(&page, "username").len(), 0);
        let (_, page) = get_page(&app.client, "/admin/users?q=example.com&sort=email&dir=desc").await;
        assert_eq!(row_texts(&page, "email")[0], "user_30@example.com");

        // Unknown sort keys and bad pages fall back instead of failing.
        for path in ["/admin/users?sort=password_hash", "/admin/users?page=-3", "/admin/users?page=abc", "/admin/users?page=99999999999"] {
            assert_eq!(get_page(&app.client, path).await.0, Status::Ok, "{path}");
        }
    }
);

db_test!(
    async fn articles_comments_and_tags_tables_search_and_sort(app) {
        let writer = register(&app.client, "writer").await;
        let a = create_article(&app.client, &writer, "Alpha about dragons", &["dragons"]).await;
        let b = create_article(&app.client, &writer, "Beta about cats", &["cats", "pets"]).await;
        add_comment(&app.client, &writer, &a, "fire breathing").await;
        add_comment(&app.client, &writer, &b, "purring").await;
        add_comment(&app.client, &writer, &b, "meow").await;
        admin_browser(&app, "boss").await;

        let (_, page) = get_page(&app.client, "/admin/articles?q=dragons").await;
        assert_eq!(row_texts(&page, "title"), vec!["Alpha about dragons"]);
        let (_, page) = get_page(&app.client, "/admin/articles?sort=comments&dir=desc").await;
        assert_eq!(row_texts(&page, "title"), vec!["Beta about cats", "Alpha about dragons"]);
        assert_eq!(row_texts(&page, "comments"), vec!["2", "1"]);
        let (_, page) = get_page(&app.client, "/admin/comments?q=PURR").await;
        assert_eq!(row_texts(&page, "body"), vec!["purring"]);
        let (_, page) = get_page(&app.client, "/admin/comments?sort=article&dir=asc").await;
        assert_eq!(row_texts(&page, "article")[0], "Alpha about dragons");
        let (_, page) = get_page(&app.client, "/admin/tags?sort=name&dir=desc").await;
        assert_eq!(row_texts(&page, "name"), vec!["pets", "dragons", "cats"]);
        let (_, page) = get_page(&app.client, "/admin/tags?q=ca").await;
        assert_eq!(row_texts(&page, "name"), vec!["cats"]);
    }
);

db_test!(
    async fn csv_exports_follow_the_filter_and_neutralise_formulas(app) {
        seed_users(&app, 12).await;
        let dash = register(&app.client, "-dash").await;
        create_article(&app.client, &dash, "=HYPERLINK(\"http://evil.example\")", &[]).await;
        create_article(&app.client, &dash, "Plain title", &[]).await;
        admin_browser(&app, "boss").await;

        let res = app.client.get("/admin/users.csv?q=user_1&sort=username&dir=asc").dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(res.content_type(), Some(ContentType::CSV));
        assert_eq!(res.headers().get_one("Content-Disposition"), Some("attachment; filename=\"users.csv\""));
        let body = res.into_string().await.unwrap();
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>()[..3], ["id", "username", "email"]);
        let names: Vec<String> = reader.records().map(|r| r.unwrap()[1].to_owned()).collect();
        assert_eq!(names, vec!["user_10", "user_11", "user_12"], "exactly what the filter shows, in its order");

        let body = app.client.get("/admin/users.csv?q=dash").dispatch().await.into_string().await.unwrap();
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[1], "'-dash");

        let body = app.client.get("/admin/articles.csv?q=hyperlink").dispatch().await.into_string().await.unwrap();
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0][2], "'=HYPERLINK(\"http://evil.example\")");
        assert_eq!(&rows[0][4], "'-dash");
    }
);

db_test!(
    async fn editing_a_user_is_validated_and_audited_with_before_and_after(app) {
        register(&app.client, "carol").await;
        register(&app.client, "dave").await;
        admin_browser(&app, "boss").await;
        let id = id_of(&app, "carol").await;
        let (status, page) = get_page(&app.client, &format!("/admin/users/{id}")).await;
        assert_eq!(status, Status::Ok);
        let csrf = page_csrf(&app.client).await;

        let taken = [("csrf_token", csrf.as_str()), ("username", "dave"), ("email", "carol@example.com"), ("bio", ""), ("image", "")];
        let res = post_form(&app.client, &format!("/admin/users/{id}"), &taken).await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let html = scraper::Html::parse_document(&res.into_string().await.unwrap());
        assert_eq!(texts(&html, ".error-messages li"), vec!["username has already been taken"]);
        let kept = scraper::Selector::parse("input#field-username").unwrap();
        assert_eq!(html.select(&kept).next().unwrap().value().attr("value"), Some("dave"));
        drop(page);

        let fields = [("csrf_token", csrf.as_str()), ("username", "carol"), ("email", "carol2@example.com"), ("bio", "edited by staff"), ("image", "")];
        let res = post_form(&app.client, &format!("/admin/users/{id}"), &fields).await;
        assert_eq!(flash_after(&app.client, res).await, vec!["Saved carol."]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE email = 'carol2@example.com' AND bio = 'edited by staff'").await, 1);

        let (status, body) = api(&app.client, Method::Get, &format!("/api/admin/audit?action=user.update&entity_id={id}"), None, None).await;
        assert_eq!(status, Status::Ok, "{body}");
        let entry = &body["entries"][0];
        assert_eq!(body["total"], 1);
        assert_eq!(entry["actor"], "boss");
        assert_eq!(entry["entity"], "user");
        assert_eq!(entry["before"]["email"], "carol@example.com");
        assert_eq!(entry["after"]["email"], "carol2@example.com");
        assert_eq!(entry["after"]["bio"], "edited by staff");
        assert!(entry["before"].get("password_hash").is_none());
        assert!(entry["created_at"].is_string());
    }
);

db_test!(
    async fn disabling_a_user_stops_their_tokens_at_once_and_enabling_lets_them_back(app) {
        let token = register(&app.client, "eve").await;
        admin_browser(&app, "boss").await;
        let id = id_of(&app, "eve").await;
        assert_eq!(api(&app.client, Method::Get, "/api/user", Some(&token), None).await.0, Status::Ok);

        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, &format!("/admin/users/{id}/disable"), &[("csrf_token", &csrf)]).await;
        assert_eq!(flash_after(&app.client, res).await, vec!["eve is disabled and signed out everywhere."]);
        assert_eq!(api(&app.client, Method::Get, "/api/user", Some(&token), None).await.0, Status::Unauthorized);
        let (_, page) = get_page(&app.client, &format!("/admin/users/{id}")).await;
        assert_eq!(texts(&page, ".user-access .badge-disabled"), vec!["disabled"]);
        assert_eq!(audit_count(&app, "user.disable").await, 1);

        let res = post_form(&app.client, &format!("/admin/users/{id}/enable"), &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM users WHERE id = {id} AND disabled = FALSE")).await, 1);
        // The old token stays revoked; a new login works.
        assert_eq!(api(&app.client, Method::Get, "/api/user", Some(&token), None).await.0, Status::Unauthorized);
        let login = json!({"user": {"email": "eve@example.com", "password": "password-eve"}});
        let script = crate::support::script_client(&app.client).await;
        assert_eq!(api(&script, Method::Post, "/api/users/login", None, Some(login)).await.0, Status::Ok);
        assert_eq!(audit_count(&app, "user.enable").await, 1);
    }
);

db_test!(
    async fn role_changes_promote_and_demote_and_the_last_admin_stays(app) {
        register(&app.client, "frank").await;
        admin_browser(&app, "boss").await;
        let boss = id_of(&app, "boss").await;
        let frank = id_of(&app, "frank").await;
        let csrf = page_csrf(&app.client).await;

        // Alone, the admin can neither demote, disable nor delete themselves.
        let res = post_form(&app.client, &format!("/admin/users/{boss}/role"), &[("csrf_token", &csrf), ("role", "user")]).await;
        assert_eq!(
            flash_after(&app.client, res).await,
            vec!["the last enabled admin cannot be disabled, demoted or deleted"]
        );
        let res = post_form(&app.client, &format!("/admin/users/{boss}/disable"), &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let res = post_form(&app.client, &format!("/admin/users/{boss}/delete"), &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE").await, 1);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log").await, 0, "refused changes are not written");

        let res = post_form(&app.client, &format!("/admin/users/{frank}/role"), &[("csrf_token", &csrf), ("role", "admin")]).await;
        assert_eq!(flash_after(&app.client, res).await, vec!["frank is now an admin."]);
        assert_eq!(audit_count(&app, "user.promote").await, 1);
        let res = post_form(&app.client, &format!("/admin/users/{frank}/role"), &[("csrf_token", &csrf), ("role", "root")]).await;
        assert_eq!(flash_after(&app.client, res).await, vec!["role must be user or admin"]);

        // With another admin, stepping down is allowed.
        let res = post_form(&app.client, &format!("/admin/users/{boss}/role"), &[("csrf_token", &csrf), ("role", "user")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM users WHERE id = {boss} AND role = 'user'")).await, 1);
        // The role change ended their own session too (no token carries the old role): the
        // console sends them to sign in again, and signed in anew they are not an admin.
        let res = app.client.get("/admin").dispatch().await;
        assert_eq!(res.status(), Status::SeeOther);
        assert!(location(&res).starts_with("/login"), "{}", location(&res));
        let login = serde_json::json!({"user": {"email": "boss@example.com", "password": "password-boss"}});
        let (status, body) = api(&app.client, Method::Post, "/api/users/login", None, Some(login)).await;
        assert_eq!(status, Status::Ok, "{body}");
        let token = body["user"]["token"].as_str().expect("token");
        assert_eq!(api(&app.client, Method::Get, "/api/admin/stats", Some(token), None).await.0, Status::Forbidden, "no longer an admin");
    }
);

db_test!(
    async fn delete_needs_a_confirmation_step_and_is_audited(app) {
        let writer = register(&app.client, "writer").await;
        let slug = create_article(&app.client, &writer, "Doomed", &["x"]).await;
        let comment = add_comment(&app.client, &writer, &slug, "bye").await;
        admin_browser(&app, "boss").await;
        let article = scalar(app.db(), "SELECT id FROM articles").await;

        let (status, page) = get_page(&app.client, &format!("/admin/articles/{article}/delete")).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, ".confirm-items li"), vec!["Doomed"]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 1, "showing the confirmation deletes nothing");

        let csrf = page_csrf(&app.client).await;
        let res = post_form(&app.client, &format!("/admin/comments/{comment}/delete"), &[("csrf_token", &csrf)]).await;
        assert_eq!(location(&res), "/admin/comments");
        let res = post_form(&app.client, &format!("/admin/articles/{article}/delete"), &[("csrf_token", &csrf)]).await;
        assert_eq!(flash_after(&app.client, res).await, vec!["Deleted article Doomed."]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 0);
        let tag = scalar(app.db(), "SELECT id FROM tags").await;
        let res = post_form(&app.client, &format!("/admin/tags/{tag}/delete"), &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let user = id_of(&app, "writer").await;
        let res = post_form(&app.client, &format!("/admin/users/{user}/delete"), &[("csrf_token", &csrf)]).await;
        assert_eq!(location(&res), "/admin/users");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE username = 'writer'").await, 0);
        for action in ["comment.delete", "article.delete", "tag.delete", "user.delete"] {
            assert_eq!(audit_count(&app, action).await, 1, "{action}");
        }
        let before = scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE action = 'article.delete' AND before_json LIKE '%Doomed%' AND after_json IS NULL").await;
        assert_eq!(before, 1);
        assert_eq!(get_page(&app.client, &format!("/admin/articles/{article}/delete")).await.0, Status::NotFound);
    }
);

db_test!(
    async fn bulk_actions_apply_to_the_selected_rows_after_confirmation(app) {
        seed_users(&app, 4).await;
        admin_browser(&app, "boss").await;
        let ids: Vec<String> = {
            let mut v = Vec::new();
            for name in ["user_01", "user_02", "user_03"] {
                v.push(id_of(&app, name).await.to_string());
            }
            v
        };
        let csrf = page_csrf(&app.client).await;
        let mut fields = vec![("csrf_token", csrf.as_str()), ("action", "disable")];
        fields.extend(ids.iter().map(|id| ("ids", id.as_str())));

        let res = post_form(&app.client, "/admin/bulk/users", &fields).await;
        assert_eq!(res.status(), Status::Ok, "a confirmation page first");
        let html = scraper::Html::parse_document(&res.into_string().await.unwrap());
        assert_eq!(texts(&html, ".confirm-items li").len(), 3);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE disabled = TRUE").await, 0);

        fields.push(("confirm", "true"));
        let res = post_form(&app.client, "/admin/bulk/users", &fields).await;
        assert_eq!(flash_after(&app.client, res).await, vec!["Disable: 3 of 3 users done."]);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE disabled = TRUE").await, 3);
        assert_eq!(audit_count(&app, "user.disable").await, 3);

        // Enabling is not destructive: no confirmation step.
        let mut enable = vec![("csrf_token", csrf.as_str()), ("action", "enable")];
        enable.extend(ids.iter().map(|id| ("ids", id.as_str())));
        let res = post_form(&app.client, "/admin/bulk/users", &enable).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE disabled = TRUE").await, 0);

        // Bulk demotion of every admin keeps the last one.
        let boss = id_of(&app, "boss").await.to_string();
        make_admin(&app, "user_04").await;
        let other = id_of(&app, "user_04").await.to_string();
        let demote = [("csrf_token", csrf.as_str()), ("action", "demote"), ("ids", other.as_str()), ("ids", boss.as_str()), ("confirm", "true")];
        let res = post_form(&app.client, "/admin/bulk/users", &demote).await;
        let flash = flash_after(&app.client, res).await;
        assert!(flash[0].starts_with("Demote: 1 of 2 users done."), "{flash:?}");
        assert!(flash[0].contains("the last enabled admin"), "{flash:?}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE role = 'admin'").await, 1);

        // Nothing selected, or an unknown action: a message, no change.
        let res = post_form(&app.client, "/admin/bulk/users", &[("csrf_token", csrf.as_str()), ("action", "delete")]).await;
        assert_eq!(flash_after(&app.client, res).await, vec!["ids select at least one row"]);
        let res = post_form(&app.client, "/admin/bulk/articles", &[("csrf_token", csrf.as_str()), ("action", "disable"), ("ids", "1")]).await;
        assert_eq!(flash_after(&app.client, res).await, vec!["action must be one of: delete"]);
    }
);

db_test!(
    async fn articles_comments_and_tags_are_edited_through_forms(app) {
        let writer = register(&app.client, "writer").await;
        let slug = create_article(&app.client, &writer, "Original", &["old", "keep"]).await;
        let comment = add_comment(&app.client, &writer, &slug, "first!").await;
        admin_browser(&app, "boss").await;
        let article = scalar(app.db(), "SELECT id FROM articles").await;
        let csrf = page_csrf(&app.client).await;

        let res = post_form(&app.client, &format!("/admin/articles/{article}"), &[("csrf_token", &csrf), ("title", " "), ("description", "d"), ("body", "b")]).await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let html = scraper::Html::parse_document(&res.into_string().await.unwrap());
        assert_eq!(texts(&html, ".error-messages li"), vec!["title can't be blank"]);

        let res = post_form(&app.client, &format!("/admin/articles/{article}"), &[("csrf_token", &csrf), ("title", "Edited"), ("description", "new d"), ("body", "new body")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let (status, body) = api(&app.client, Method::Get, &format!("/api/articles/{slug}"), None, None).await;
        assert_eq!(status, Status::Ok, "the slug is kept");
        assert_eq!(body["article"]["title"], "Edited");
        assert_eq!(body["article"]["tagList"], json!(["keep", "old"]), "tags are kept");

        let res = post_form(&app.client, &format!("/admin/comments/{comment}"), &[("csrf_token", &csrf), ("body", "[removed by staff]")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM comments WHERE body = '[removed by staff]'").await, 1);

        let old = scalar(app.db(), "SELECT id FROM tags WHERE name = 'old'").await;
        let res = post_form(&app.client, &format!("/admin/tags/{old}"), &[("csrf_token", &csrf), ("name", "KEEP")]).await;
        assert_eq!(res.status(), Status::UnprocessableEntity, "names are unique whatever the case");
        let res = post_form(&app.client, &format!("/admin/tags/{old}"), &[("csrf_token", &csrf), ("name", "renamed")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let (_, body) = api(&app.client, Method::Get, &format!("/api/articles/{slug}"), None, None).await;
        assert_eq!(body["article"]["tagList"], json!(["keep", "renamed"]));
        for action in ["article.update", "comment.update", "tag.update"] {
            assert_eq!(audit_count(&app, action).await, 1, "{action}");
        }
    }
);

db_test!(
    async fn audit_page_lists_every_admin_write_with_filters(app) {
        register(&app.client, "gina").await;
        register(&app.client, "hal").await;
        admin_browser(&app, "boss").await;
        let (gina, hal) = (id_of(&app, "gina").await, id_of(&app, "hal").await);
        let csrf = page_csrf(&app.client).await;
        post_form(&app.client, &format!("/admin/users/{gina}/disable"), &[("csrf_token", &csrf)]).await;
        post_form(&app.client, &format!("/admin/users/{hal}/disable"), &[("csrf_token", &csrf)]).await;
        post_form(&app.client, &format!("/admin/users/{hal}/enable"), &[("csrf_token", &csrf)]).await;

        let (status, page) = get_page(&app.client, "/admin/audit").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, ".audit-table td.col-action"), vec!["user.enable", "user.disable", "user.disable"]);
        assert!(texts(&page, ".audit-table td.col-actor").iter().all(|a| a == "boss"));
        assert!(texts(&page, ".audit-table td.col-before")[0].contains("\"disabled\": true"));
        assert!(texts(&page, ".audit-table td.col-after")[0].contains("\"disabled\": false"));

        let (_, page) = get_page(&app.client, "/admin/audit?action=user.disable").await;
        assert_eq!(texts(&page, ".audit-table td.col-action").len(), 2);
        let (_, page) = get_page(&app.client, &format!("/admin/audit?entity=user&entity_id={hal}")).await;
        assert_eq!(texts(&page, ".audit-table td.col-action"), vec!["user.enable", "user.disable"]);
        let (_, page) = get_page(&app.client, "/admin/audit?action=user.&actor=boss").await;
        assert_eq!(texts(&page, ".audit-table td.col-action").len(), 3);
        let (_, page) = get_page(&app.client, "/admin/audit?actor=nobody").await;
        assert_eq!(texts(&page, ".audit-table tr.empty"), vec!["No entries."]);
    }
);

db_test!(
    async fn admin_json_api_lists_updates_and_deletes_with_an_admin_token(app) {
        seed_users(&app, 3).await;
        let token = register(&app.client, "root").await;
        make_admin(&app, "root").await;
        let writer = register(&app.client, "writer").await;
        let slug = create_article(&app.client, &writer, "Via API", &["api"]).await;
        add_comment(&app.client, &writer, &slug, "c1").await;
        let user = id_of(&app, "user_02").await;

        let (status, body) = api(&app.client, Method::Get, "/api/admin/users?q=user_0&sort=username&dir=desc&per_page=2", Some(&token), None).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body["total"], 3);
        assert_eq!(body["per_page"], 2);
        let names: Vec<&str> = body["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["user_03", "user_02"]);
        assert!(body["users"][0].get("password_hash").is_none());

        let (status, body) = api(&app.client, Method::Get, "/api/admin/stats", Some(&token), None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["counts"]["users"], 5);

        let change = json!({"user": {"bio": "from a script", "role": "admin"}});
        let (status, body) = api(&app.client, Method::Put, &format!("/api/admin/users/{user}"), Some(&token), Some(change)).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body["user"]["role"], "admin");
        assert_eq!(body["user"]["bio"], "from a script");
        let (status, body) = api(&app.client, Method::Put, &format!("/api/admin/users/{user}"), Some(&token), Some(json!({"user": {"email": "nope"}}))).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(body["errors"]["email"], json!(["is invalid"]));

        let (_, body) = api(&app.client, Method::Get, "/api/admin/articles?q=via", Some(&token), None).await;
        let article = body["articles"][0]["id"].as_i64().unwrap();
        let (status, body) = api(&app.client, Method::Put, &format!("/api/admin/articles/{article}"), Some(&token), Some(json!({"article": {"title": "Retitled"}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body["article"]["title"], "Retitled");
        assert_eq!(body["article"]["description"], "about Via API");
        let (_, body) = api(&app.client, Method::Get, "/api/admin/comments", Some(&token), None).await;
        assert_eq!(body["comments"][0]["body"], "c1");
        let (_, body) = api(&app.client, Method::Get, "/api/admin/tags", Some(&token), None).await;
        assert_eq!(body["tags"][0]["name"], "api");

        let bulk = json!({"action": "disable", "ids": [id_of(&app, "user_01").await, id_of(&app, "user_03").await, 999_999]});
        let (status, body) = api(&app.client, Method::Post, "/api/admin/users/bulk", Some(&token), Some(bulk)).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body["bulk"]["done"].as_array().unwrap().len(), 2);
        assert_eq!(body["bulk"]["failed"][0]["id"], 999_999);
        assert_eq!(body["bulk"]["failed"][0]["message"], "user not found");

        let (status, _) = api(&app.client, Method::Delete, &format!("/api/admin/articles/{article}"), Some(&token), None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM articles").await, 0);
        let (status, _) = api(&app.client, Method::Delete, &format!("/api/admin/articles/{article}"), Some(&token), None).await;
        assert_eq!(status, Status::NotFound);

        let root = id_of(&app, "root").await;
        let (status, body) = api(&app.client, Method::Delete, &format!("/api/admin/users/{root}"), Some(&token), None).await;
        assert_eq!(status, Status::Ok, "another admin (user_02) remains: {body}");
        assert_eq!(
            scalar(app.db(), "SELECT COUNT(*) FROM audit_log WHERE actor_name = 'root' AND actor_id IS NULL").await,
            7,
            "kept, with the actor's name, after the actor is deleted"
        );
    }
);

db_test!(
    async fn admin_json_api_needs_a_fresh_token_for_destructive_calls(app) {
        let token = register(&app.client, "root").await;
        make_admin(&app, "root").await;
        register(&app.client, "ivan").await;
        let ivan = id_of(&app, "ivan").await;
        let stale = stale_token(&token);

        // Reading and harmless edits work with a stale token.
        assert_eq!(api(&app.client, Method::Get, "/api/admin/users", Some(&stale), None).await.0, Status::Ok);
        let (status, _) = api(&app.client, Method::Put, &format!("/api/admin/users/{ivan}"), Some(&stale), Some(json!({"user": {"bio": "ok"}}))).await;
        assert_eq!(status, Status::Ok);
        for (method, path, body) in [
            (Method::Put, format!("/api/admin/users/{ivan}"), Some(json!({"user": {"disabled": true}}))),
            (Method::Put, format!("/api/admin/users/{ivan}"), Some(json!({"user": {"role": "admin"}}))),
            (Method::Delete, format!("/api/admin/users/{ivan}"), None),
            (Method::Post, "/api/admin/users/bulk".to_owned(), Some(json!({"action": "delete", "ids": [ivan]}))),
        ] {
            let (status, value) = api(&app.client, method, &path, Some(&stale), body).await;
            assert_eq!(status, Status::Unauthorized, "{path}");
            assert_eq!(value["errors"]["body"][0].as_str().unwrap(), conduit::admin::api::NOT_FRESH);
        }
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM users WHERE id = {ivan} AND disabled = FALSE AND role = 'user'")).await, 1);
        let (status, body) = api(&app.client, Method::Put, &format!("/api/admin/users/{ivan}"), Some(&token), Some(json!({"user": {"disabled": true}}))).await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!(body["user"]["disabled"], true);

        // The only admin cannot demote or disable themselves, and nothing is half applied.
        let root = id_of(&app, "root").await;
        for change in [json!({"user": {"bio": "half", "role": "user"}}), json!({"user": {"bio": "half", "disabled": true}})] {
            let (status, body) = api(&app.client, Method::Put, &format!("/api/admin/users/{root}"), Some(&token), Some(change)).await;
            assert_eq!(status, Status::Forbidden, "{body}");
            assert_eq!(body["errors"]["body"][0], conduit::admin::ops::LAST_ADMIN);
        }
        let (status, _) = api(&app.client, Method::Delete, &format!("/api/admin/users/{root}"), Some(&token), None).await;
        assert_eq!(status, Status::Forbidden);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE username = 'root' AND role = 'admin' AND disabled = FALSE AND bio IS NULL").await, 1);
    }
);

db_test!(
    async fn admin_forms_without_the_csrf_token_change_nothing(app) {
        register(&app.client, "judy").await;
        admin_browser(&app, "boss").await;
        let judy = id_of(&app, "judy").await;
        for (path, fields) in [
            (format!("/admin/users/{judy}/disable"), vec![]),
            (format!("/admin/users/{judy}/role"), vec![("role", "admin")]),
            (format!("/admin/users/{judy}/delete"), vec![]),
            (format!("/admin/users/{judy}"), vec![("username", "hacked"), ("email", "judy@example.com")]),
            ("/admin/bulk/users".to_owned(), vec![("action", "delete"), ("ids", "1"), ("confirm", "true")]),
            ("/admin/backups".to_owned(), vec![]),
        ] {
            let mut with_bad = fields.clone();
            with_bad.push(("csrf_token", "forged"));
            assert_eq!(post_form(&app.client, &path, &fields).await.status(), Status::Forbidden, "{path}");
            assert_eq!(post_form(&app.client, &path, &with_bad).await.status(), Status::Forbidden, "{path}");
        }
        // Cookie-authenticated JSON writes need the X-CSRF-Token header.
        let res = app.client.put(format!("/api/admin/users/{judy}")).header(ContentType::JSON).body(json!({"user": {"disabled": true}}).to_string()).dispatch().await;
        assert_eq!(res.status(), Status::Forbidden);
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM users WHERE id = {judy} AND disabled = FALSE AND role = 'user' AND username = 'judy'")).await, 1);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log").await, 0);
        assert!(!app.dir.join("backups").exists());
    }
);

db_test!(
    async fn destructive_actions_need_the_password_entered_within_15_minutes(app) {
        register(&app.client, "kim").await;
        admin_browser(&app, "boss").await;
        let kim = id_of(&app, "kim").await;
        let csrf = page_csrf(&app.client).await;
        let stale = stale_session(&app.client);

        let res = post_form_as(&app.client, &format!("/admin/users/{kim}/disable"), &[("csrf_token", &csrf)], &stale).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(location(&res), format!("/admin/reauth?next={}", percent_encode(&format!("/admin/users/{kim}"))));
        for (path, fields) in [
            (format!("/admin/users/{kim}/role"), vec![("role", "admin")]),
            (format!("/admin/users/{kim}/delete"), vec![]),
            ("/admin/bulk/users".to_owned(), vec![("action", "delete"), ("ids", "1"), ("confirm", "true")]),
        ] {
            let mut fields = fields;
            fields.push(("csrf_token", &csrf));
            let res = post_form_as(&app.client, &path, &fields, &stale).await;
            assert!(location(&res).starts_with("/admin/reauth?next="), "{path}");
        }
        let res = app.client.get(format!("/admin/users/{kim}/delete")).cookie(Cookie::new("session", stale.clone())).dispatch().await;
        assert!(location(&res).starts_with("/admin/reauth?next="));
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM users WHERE id = {kim} AND disabled = FALSE AND role = 'user'")).await, 1);
        // Harmless edits and enabling need no fresh login.
        let res = post_form_as(&app.client, &format!("/admin/users/{kim}/enable"), &[("csrf_token", &csrf)], &stale).await;
        assert_eq!(location(&res), format!("/admin/users/{kim}"));

        // The confirmation page: a wrong password is refused, the right one makes the session fresh.
        let res = app.client.get(format!("/admin/reauth?next=%2Fadmin%2Fusers%2F{kim}")).cookie(Cookie::new("session", stale.clone())).dispatch().await;
        let html = scraper::Html::parse_document(&res.into_string().await.unwrap());
        assert_eq!(texts(&html, "form.reauth-form label"), vec!["Password"]);
        let next = format!("/admin/users/{kim}");
        let res = post_form_as(&app.client, "/admin/reauth", &[("csrf_token", &csrf), ("password", "wrong-password"), ("next", &next)], &stale).await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let res = post_form_as(&app.client, "/admin/reauth", &[("csrf_token", &csrf), ("password", "password-boss"), ("next", &next)], &stale).await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(location(&res), next);
        drop(res);
        let renewed = app.client.cookies().get("session").unwrap().value().to_owned();
        assert!(claims_of(&renewed)["auth_time"].as_i64().unwrap() >= chrono::Utc::now().timestamp() - 5);

        let res = post_form(&app.client, &format!("/admin/users/{kim}/disable"), &[("csrf_token", &csrf)]).await;
        assert_eq!(location(&res), format!("/admin/users/{kim}"));
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM users WHERE id = {kim} AND disabled = TRUE")).await, 1);
    }
);

db_test!(
    async fn unknown_admin_records_are_404_pages(app) {
        admin_browser(&app, "boss").await;
        for path in ["/admin/users/999", "/admin/articles/999", "/admin/comments/999", "/admin/tags/999", "/admin/widgets/1/delete"] {
            let (status, _) = get_page(&app.client, path).await;
            assert_eq!(status, Status::NotFound, "{path}");
        }
        let (status, _): (Status, Value) = api(&app.client, Method::Get, "/api/admin/users/999", None, None).await;
        assert_eq!(status, Status::NotFound);
    }
);

db_test!(
    async fn admin_pages_escape_what_users_wrote(app) {
        let writer = register(&app.client, "writer").await;
        let slug = create_article(&app.client, &writer, "<em>raw</em> title", &[]).await;
        add_comment(&app.client, &writer, &slug, "<script>alert(1)</script>").await;
        admin_browser(&app, "boss").await;
        let (_, page) = get_page(&app.client, "/admin/articles").await;
        assert_eq!(row_texts(&page, "title"), vec!["<em>raw</em> title"]);
        assert!(texts(&page, "td.col-title em").is_empty());
        let (_, page) = get_page(&app.client, "/admin/comments").await;
        assert_eq!(row_texts(&page, "body"), vec!["<script>alert(1)</script>"]);
        assert!(texts(&page, "td.col-body script").is_empty());
    }
);
