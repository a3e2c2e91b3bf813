//! Id path segments that are not a plain positive number, through real routes: each route
//! that takes a typed id (`UserId`, `CommentId`, ...) answers exactly what it answered when
//! it took an `i64` (the statuses were recorded against the code before the newtypes), and
//! changes nothing. A segment `i64` cannot read forwards, ending in the mount point's 422;
//! a number no record has is a 404; `+N` is the number N, as `i64` reads it.

use rocket::http::{Method, Status};
use serde_json::json;

use crate::admin::{add_comment, admin_browser, create_article, id_of};
use crate::support::{api, get_page, page_csrf, post_form, register, scalar, texts};

/// Segments `i64` does not read (percent-encoded as a client would send them).
const UNREADABLE: [&str; 5] = ["99999999999999999999", "1e3", "%205", "5%20", "abc"];
/// Numbers no record has.
const NO_RECORD: [&str; 3] = ["0", "-1", "-9223372036854775808"];

db_test!(
    async fn an_odd_comment_id_in_the_api_deletes_nothing(app) {
        let author = register(&app.client, "author").await;
        let commenter = register(&app.client, "commenter").await;
        let slug = create_article(&app.client, &author, "Discussed", &[]).await;
        let id = add_comment(&app.client, &commenter, &slug, "keep me").await;
        let path = |seg: &str| format!("/api/articles/{slug}/comments/{seg}");

        for seg in NO_RECORD {
            let (status, body) = api(&app.client, Method::Delete, &path(seg), Some(&commenter), None).await;
            assert_eq!(status, Status::NotFound, "{seg}: {body}");
            assert_eq!(body["errors"]["body"], json!(["comment not found"]), "{seg}");
        }
        for seg in UNREADABLE {
            let (status, body) = api(&app.client, Method::Delete, &path(seg), Some(&commenter), None).await;
            assert_eq!(status, Status::UnprocessableEntity, "{seg}: {body}");
            assert_eq!(body["errors"]["body"], json!(["the request could not be processed"]), "{seg}");
        }
        // `+N` is N: the article's author may not delete the comment, whoever wrote the id.
        let (status, _) = api(&app.client, Method::Delete, &path(&format!("%2B{id}")), Some(&author), None).await;
        assert_eq!(status, Status::Forbidden);
        assert_eq!(scalar(app.db(), &format!("SELECT COUNT(*) FROM comments WHERE id = {id} AND body = 'keep me'")).await, 1);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM comments").await, 1);

        // The JSON still carries the id as a plain number, and the number deletes it.
        let (_, list) = api(&app.client, Method::Get, &format!("/api/articles/{slug}/comments"), None, None).await;
        assert_eq!(list["comments"][0]["id"], json!(id));
        let (status, _) = api(&app.client, Method::Delete, &path(&id.to_string()), Some(&commenter), None).await;
        assert_eq!(status, Status::NoContent);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM comments").await, 0);
    }
);

db_test!(
    async fn an_odd_user_id_in_the_admin_api_finds_nobody(app) {
        let admin = register(&app.client, "boss").await;
        crate::admin::make_admin(&app, "boss").await;
        let id = id_of(&app, "boss").await;
        let path = |seg: &str| format!("/api/admin/users/{seg}");

        for seg in NO_RECORD {
            let (status, body) = api(&app.client, Method::Get, &path(seg), Some(&admin), None).await;
            assert_eq!((status, &body["errors"]["body"]), (Status::NotFound, &json!(["user not found"])), "{seg}");
        }
        for seg in UNREADABLE {
            let (status, _) = api(&app.client, Method::Get, &path(seg), Some(&admin), None).await;
            assert_eq!(status, Status::UnprocessableEntity, "{seg}");
        }
        let (status, body) = api(&app.client, Method::Get, &path(&format!("%2B{id}")), Some(&admin), None).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["user"]["id"], json!(id.get()), "ids stay plain numbers in JSON");
        assert_eq!(body["user"]["username"], "boss");
    }
);

db_test!(
    async fn an_odd_user_id_in_the_console_changes_nobody(app) {
        register(&app.client, "victim").await;
        admin_browser(&app, "boss").await;
        let victim = id_of(&app, "victim").await;
        let csrf = page_csrf(&app.client).await;

        for seg in NO_RECORD {
            let (status, page) = get_page(&app.client, &format!("/admin/users/{seg}")).await;
            assert_eq!(status, Status::NotFound, "{seg}");
            assert_eq!(texts(&page, "h1"), vec!["Page not found"], "{seg}");
            // The typed route reads the number, finds no user, and goes back with a message.
            let res = post_form(&app.client, &format!("/admin/users/{seg}/disable"), &[("csrf_token", &csrf)]).await;
            assert_eq!(res.status(), Status::SeeOther, "{seg}");
            assert_eq!(res.headers().get_one("Location"), Some(format!("/admin/users/{seg}").as_str()));
        }
        for seg in UNREADABLE {
            let (status, page) = get_page(&app.client, &format!("/admin/users/{seg}")).await;
            assert_eq!(status, Status::UnprocessableEntity, "{seg}");
            assert_eq!(texts(&page, "h1"), vec!["Check your input"], "{seg}");
            let res = post_form(&app.client, &format!("/admin/users/{seg}/disable"), &[("csrf_token", &csrf)]).await;
            assert_eq!(res.status(), Status::UnprocessableEntity, "{seg}");
        }
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE disabled = TRUE").await, 0);
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM audit_log").await, 0);

        let (status, page) = get_page(&app.client, &format!("/admin/users/%2B{victim}")).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(texts(&page, "h1"), vec!["User victim"]);
    }
);
