//! The admin console's shape: every admin write and its audit entry in one transaction (a
//! failing audit insert undoes the change), the `/admin` catchers in the admin layout, the
//! declared tables answering alike, per-field form errors, and the `Role` column type.

use crate::support::db_run;
use conduit::db::users::{self, Role};
use conduit::db::DbPool;
use rocket::http::{Method, Status};
use serde_json::{json, Value};

use crate::admin::{add_comment, admin_browser, create_article, id_of};
use crate::support::{api, attrs, exec, get_page, page_csrf, post_form, register, scalar, texts};

/// One text value from a SQL query (`None` for SQL NULL).
pub(crate) async fn text(db: &DbPool, sql: &str) -> Option<String> {
    db_run!(db, |c| sqlx::query_scalar::<_, Option<String>>(sql)
        .fetch_one(c)
        .await)
    .expect(sql)
}

/// Make every insert into `audit_log` fail, as a full disk or a broken table would: the
/// table is renamed away (the same statement on both engines) until [`mend_audit_log`].
async fn break_audit_log(db: &DbPool) {
    exec(db, "ALTER TABLE audit_log RENAME TO audit_log_away")
        .await
        .expect("rename audit_log");
}

async fn mend_audit_log(db: &DbPool) {
    exec(db, "ALTER TABLE audit_log_away RENAME TO audit_log")
        .await
        .expect("rename audit_log back");
}

db_test!(
    async fn a_profile_edit_is_audited_with_before_and_after_in_its_transaction(app) {
        register(&app.client, "erin").await;
        admin_browser(&app, "boss").await;
        let erin = id_of(&app, "erin").await;
        let csrf = page_csrf(&app.client).await;
        let fields = [
            ("csrf_token", csrf.as_str()),
            ("username", "erin"),
            ("email", "erin@example.com"),
            ("bio", "edited by an admin"),
            ("image", ""),
        ];
        let res = post_form(&app.client, &format!("/admin/users/{erin}"), &fields).await;
        assert_eq!(res.status(), Status::SeeOther);
        let sql = format!("SELECT before_json FROM audit_log WHERE action = 'user.update' AND entity_id = '{erin}'");
        let before: Value = serde_json::from_str(&text(app.db(), &sql).await.expect("before")).expect("json");
        let sql = format!("SELECT after_json FROM audit_log WHERE action = 'user.update' AND entity_id = '{erin}'");
        let after: Value = serde_json::from_str(&text(app.db(), &sql).await.expect("after")).expect("json");
        assert_eq!(before["bio"], Value::Null);
        assert_eq!(after["bio"], "edited by an admin");
        assert_eq!(after["role"], "user");

        // The audit insert fails: the edit is undone with it, and the admin sees a 5xx.
        break_audit_log(app.db()).await;
        let fields = [
            ("csrf_token", csrf.as_str()),
            ("username", "erin2"),
            ("email", "erin@example.com"),
            ("bio", "never saved"),
            ("image", ""),
        ];
        let res = post_form(&app.client, &format!("/admin/users/{erin}"), &fields).await;
        assert!(res.status().class().is_server_error(), "{}", res.status());
        drop(res);
        mend_audit_log(app.db()).await;
        assert_eq!(
            scalar(app.db(), &format!("SELECT COUNT(*) FROM users WHERE id = {erin} AND username = 'erin' AND bio = 'edited by an admin'")).await,
            1
        );
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log").await, 1);
    }
);

db_test!(
    async fn every_kind_of_admin_write_is_undone_when_its_audit_entry_fails(app) {
        let author = register(&app.client, "writer").await;
        let slug = create_article(&app.client, &author, "Kept", &["keep"]).await;
        let comment = add_comment(&app.client, &author, &slug, "stays").await;
        admin_browser(&app, "boss").await;
        let writer = id_of(&app, "writer").await;
        let article = scalar(app.db(), "SELECT id FROM articles").await;
        let tag = scalar(app.db(), "SELECT id FROM tags WHERE name = 'keep'").await;
        let csrf = page_csrf(&app.client).await;
        break_audit_log(app.db()).await;
        let requests: Vec<(String, Vec<(&str, &str)>)> = vec![
            (format!("/admin/users/{writer}/role"), vec![("role", "admin")]),
            (format!("/admin/users/{writer}/disable"), vec![]),
            (format!("/admin/articles/{article}"), vec![("title", "Changed"), ("description", "d"), ("body", "b")]),
            (format!("/admin/comments/{comment}"), vec![("body", "changed")]),
            (format!("/admin/tags/{tag}"), vec![("name", "changed")]),
            (format!("/admin/comments/{comment}/delete"), vec![]),
            (format!("/admin/articles/{article}/delete"), vec![]),
            (format!("/admin/tags/{tag}/delete"), vec![]),
            (format!("/admin/users/{writer}/delete"), vec![]),
        ];
        for (path, extra) in requests {
            let mut fields = vec![("csrf_token", csrf.as_str())];
            fields.extend(extra);
            let res = post_form(&app.client, &path, &fields).await;
            let status = res.status();
            let flash_error = res
                .cookies()
                .get("_flash")
                .is_some_and(|c| c.value().contains("error"));
            assert!(status.class().is_server_error() || flash_error, "{path}: {status}");
        }
        mend_audit_log(app.db()).await;
        let unchanged = format!(
            "SELECT COUNT(*) FROM users u JOIN articles a ON a.author_id = u.id JOIN comments c ON c.article_id = a.id \
             JOIN tags t ON t.name = 'keep' WHERE u.id = {writer} AND u.role = 'user' AND u.disabled = FALSE \
             AND a.title = 'Kept' AND c.body = 'stays'"
        );
        assert_eq!(scalar(app.db(), &unchanged).await, 1);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log").await, 0);
    }
);

db_test!(
    async fn errors_under_admin_render_in_the_admin_layout_and_elsewhere_in_the_site_layout(app) {
        admin_browser(&app, "boss").await;
        let (status, page) = get_page(&app.client, "/admin/no-such-table").await;
        assert_eq!(status, Status::NotFound);
        assert_eq!(texts(&page, ".admin .error-page .status-code"), vec!["Error 404"]);
        assert_eq!(texts(&page, "nav .admin-nav a").len(), 7);
        let (status, page) = get_page(&app.client, "/admin/users/not-a-number/delete/x").await;
        assert_eq!(status, Status::NotFound);
        assert_eq!(texts(&page, ".admin .error-page .status-code"), vec!["Error 404"]);

        // A handler's refusal too: a missing record, a search that breaks its rule.
        let (status, page) = get_page(&app.client, "/admin/users/999999").await;
        assert_eq!(status, Status::NotFound);
        assert_eq!(texts(&page, ".admin .error-page .error-messages li"), vec!["user not found"]);
        let (status, page) = get_page(&app.client, &format!("/admin/tags?q={}", "q".repeat(300))).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(texts(&page, ".admin .error-page .status-code"), vec!["Error 422"]);

        let (status, page) = get_page(&app.client, "/no-such-page").await;
        assert_eq!(status, Status::NotFound);
        assert_eq!(texts(&page, ".error-page .status-code"), vec!["Error 404"]);
        assert!(texts(&page, ".admin-nav").is_empty());
        assert!(texts(&page, ".admin").is_empty());

    }
);

db_test!(
    async fn roles_are_read_and_written_as_their_text(app) {
        register(&app.client, "rita").await;
        let rita = id_of(&app, "rita").await;
        let user = users::find_by_id(app.db(), rita).await.expect("query").expect("rita");
        assert_eq!(user.role, Role::User);
        exec(app.db(), &format!("UPDATE users SET role = 'admin' WHERE id = {rita}")).await.expect("promote");
        let user = users::find_by_id(app.db(), rita).await.expect("query").expect("rita");
        assert_eq!(user.role, Role::Admin);
        // Written: an account made with each role stores the role's text.
        for role in [Role::User, Role::Admin] {
            let name = format!("made_{role}");
            let email = format!("{name}@example.com");
            let new = users::NewUser { username: &name, email: &email, password_hash: "x", role, confirmed: true };
            let id = users::insert(app.db(), &new).await.expect("insert");
            assert_eq!(text(app.db(), &format!("SELECT role FROM users WHERE id = {id}")).await.as_deref(), Some(role.to_string().as_str()));
        }
        assert_eq!(serde_json::to_value(Role::Admin).expect("json"), json!("admin"));
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
        assert_eq!(Role::User.to_string(), "user");
    }
);

db_test!(
    async fn every_declared_table_answers_list_csv_edit_and_bulk_alike(app) {
        let author = register(&app.client, "writer").await;
        let slug = create_article(&app.client, &author, "Walked", &["walk"]).await;
        add_comment(&app.client, &author, &slug, "a comment").await;
        admin_browser(&app, "boss").await;
        let script = crate::support::script_client(&app.client).await;
        let token = register(&script, "script").await;
        crate::admin::make_admin(&app, "script").await;

        let tables: [(&str, bool, &[&str]); 4] = [
            ("users", true, &["enable", "disable", "promote", "demote", "delete"]),
            ("articles", true, &["delete"]),
            ("comments", false, &["delete"]),
            ("tags", false, &["delete"]),
        ];
        for (table, exports, actions) in tables {
            let (status, page) = get_page(&app.client, &format!("/admin/{table}")).await;
            assert_eq!(status, Status::Ok, "{table}");
            let rows = texts(&page, "table.admin-table tbody tr[data-id]").len();
            assert!(rows >= 1, "{table}");
            assert_eq!(texts(&page, "select#bulk-action option"), actions.to_vec(), "{table}");
            assert_eq!(attrs(&page, "form.bulk-form", "action"), vec![format!("/admin/bulk/{table}")]);
            let export = attrs(&page, "a.export-csv", "href");
            assert_eq!(!export.is_empty(), exports, "{table}: {export:?}");

            let res = app.client.get(format!("/admin/{table}.csv")).dispatch().await;
            let expected = if exports { Status::Ok } else { Status::NotFound };
            assert_eq!(res.status(), expected, "{table}.csv");
            if exports {
                let body = res.into_string().await.unwrap_or_default();
                assert_eq!(body.lines().count(), rows + 1, "{table}.csv: a header and the rows");
            }

            let (status, body) = api(&script, Method::Get, &format!("/api/admin/{table}"), Some(&token), None).await;
            assert_eq!(status, Status::Ok, "{table}: {body}");
            assert_eq!(body[table].as_array().map(Vec::len), Some(rows), "{table}: {body}");
            assert_eq!(body["total"], json!(rows), "{table}");

            let nope = json!({"action": "nope", "ids": [1]});
            let (status, body) = api(&script, Method::Post, &format!("/api/admin/{table}/bulk"), Some(&token), Some(nope)).await;
            assert_eq!(status, Status::UnprocessableEntity, "{table}: {body}");
            assert_eq!(body["errors"]["action"], json!([format!("must be one of: {}", actions.join(", "))]));

            // The links the declarations make lead where they say.
            let sort = attrs(&page, "th[data-sort=id] a", "href");
            assert_eq!(sort, vec![format!("/admin/{table}?sort=id&dir=asc")]);
            let (status, sorted) = get_page(&app.client, &sort[0]).await;
            assert_eq!(status, Status::Ok);
            assert_eq!(attrs(&sorted, "th[data-sort=id]", "aria-sort"), vec!["ascending"]);
            let edit = attrs(&page, "a.edit-link", "href");
            let (status, form) = get_page(&app.client, &edit[0]).await;
            assert_eq!(status, Status::Ok, "{}", edit[0]);
            assert_eq!(attrs(&form, "form.admin-edit-form", "action"), vec![edit[0].clone()]);
            let id = edit[0].rsplit('/').next().unwrap_or_default();
            let entity = table.trim_end_matches('s');
            let history = format!("/admin/audit?entity={entity}&entity_id={id}");
            assert_eq!(attrs(&form, ".admin-links a[href^='/admin/audit']", "href"), vec![history.clone()]);
            assert_eq!(get_page(&app.client, &history).await.0, Status::Ok);
            // The JSON API changes the same record through the same kind of request.
            let path = format!("/api/admin/{table}/{id}");
            let (status, body) = api(&script, Method::Put, &path, Some(&token), Some(json!({}))).await;
            assert_eq!(status, Status::UnprocessableEntity, "{path}: {body}");
            assert!(body["errors"]["body"][0].as_str().is_some_and(|m| m.starts_with("invalid request body")), "{body}");
        }

        for path in ["/admin/nothing", "/admin/nothing.csv", "/admin/comments.csv", "/admin/tags.csv", "/admin/nothing/1"] {
            let (status, page) = get_page(&app.client, path).await;
            assert_eq!(status, Status::NotFound, "{path}");
            assert_eq!(texts(&page, ".admin .error-page .status-code"), vec!["Error 404"], "{path}");
        }
        for (method, path) in [
            (Method::Get, "/api/admin/nothing"),
            (Method::Delete, "/api/admin/nothing/1"),
            (Method::Put, "/api/admin/nothing/1"),
        ] {
            let (status, _) = api(&script, method, path, Some(&token), Some(json!({}))).await;
            assert_eq!(status, Status::NotFound, "{path}");
        }
    }
);

db_test!(
    async fn an_edit_form_breaking_its_field_rules_comes_back_with_each_fields_message(app) {
        register(&app.client, "erin").await;
        admin_browser(&app, "boss").await;
        let erin = id_of(&app, "erin").await;
        let csrf = page_csrf(&app.client).await;
        let long_name = "u".repeat(300);
        let fields = [
            ("csrf_token", csrf.as_str()),
            ("username", long_name.as_str()),
            ("email", "kept@example.com"),
            ("bio", "bad \u{7} bell"),
            ("image", ""),
        ];
        let res = post_form(&app.client, &format!("/admin/users/{erin}"), &fields).await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let page = scraper::Html::parse_document(&res.into_string().await.unwrap_or_default());
        let errors = texts(&page, ".error-messages li");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("username is too long")), "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("bio ")), "{errors:?}");
        // The form shows what was sent, in the admin layout.
        assert_eq!(attrs(&page, "input#field-email", "value"), vec!["kept@example.com"]);
        assert_eq!(texts(&page, "nav .admin-nav a").len(), 7);
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM users WHERE id = {erin} AND email = 'erin@example.com' AND bio IS NULL")).await, 1);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log").await, 0);

        // A bulk form whose ids are not numbers is refused with a message, nothing done.
        let res = post_form(&app.client, "/admin/bulk/users", &[("csrf_token", &csrf), ("action", "disable"), ("ids", "abc")]).await;
        assert_eq!(res.status(), Status::SeeOther);
        let flash = res.cookies().get("_flash").map(|c| c.value().to_owned()).unwrap_or_default();
        assert!(flash.contains("ids"), "{flash}");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE disabled = TRUE").await, 0);
    }
);
