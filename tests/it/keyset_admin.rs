//! Keyset pages of the admin tables and the audit log (issue 22): walking every page by the
//! `rel="next"` links, under every sort key and direction, visits each row once in the same
//! order on both engines (text in code-point order, ties broken by id: names that differ in
//! case and `_` against letters, equal times, roles, flags and counts), walking back by
//! `rel="prev"` ends on the first page, and a damaged cursor is a 400.

use rocket::http::Status;
use rocket::local::asynchronous::Client;

use crate::admin::admin_browser;
use crate::harness::TestApp;
use crate::support::{attrs, exec, get_page, scalar, texts};

/// Follow the `rel` links from `start`: every row id (`tr[data-id]`) page by page, and the
/// last path.
async fn walk(client: &Client, start: &str, rel: &str) -> (Vec<Vec<i64>>, String) {
    let (mut pages, mut path) = (Vec::new(), start.to_owned());
    loop {
        let (status, html) = get_page(client, &path).await;
        assert_eq!(status, Status::Ok, "{path}");
        let ids = attrs(&html, "tbody tr[data-id]", "data-id");
        pages.push(ids.iter().map(|id| id.parse().expect("an id")).collect());
        let links = attrs(&html, &format!(".pagination a[rel={rel}]"), "href");
        assert!(links.len() <= 1, "{path}: {links:?}");
        match links.into_iter().next() {
            Some(next) => path = next,
            None => return (pages, path),
        }
        assert!(pages.len() <= 40, "a walk from {start} that does not end");
    }
}

/// Walk `start` down and back up: `expected` ids once each, in order, 25 a page.
async fn assert_walks(client: &Client, start: &str, expected: &[i64]) {
    let (_, first) = get_page(client, start).await;
    assert!(
        attrs(&first, ".pagination a[rel=prev]", "href").is_empty(),
        "{start}"
    );
    let (down, bottom) = walk(client, start, "next").await;
    assert_eq!(down.concat(), expected, "{start}: every row once, in order");
    assert_eq!(down.len(), expected.len().div_ceil(25), "{start}");
    let (up, top) = walk(client, &bottom, "prev").await;
    let mut up: Vec<i64> = up.into_iter().rev().flatten().collect();
    up.dedup();
    assert_eq!(up, expected, "{bottom}: back up in order");
    let (_, top_page) = get_page(client, &top).await;
    let top_ids: Vec<i64> = attrs(&top_page, "tbody tr[data-id]", "data-id")
        .iter()
        .map(|i| i.parse().unwrap_or(0))
        .collect();
    assert_eq!(top_ids, down[0], "{top}: back on the first page");
    assert!(
        !texts(&top_page, ".pagination .page-link").contains(&"First".to_owned()),
        "{top}"
    );
}

/// `rows` (id and sort value) in the order a table shows them: by value, ties by id, each
/// descending when `desc`.
fn ordered<V: Ord + Clone>(rows: &[(i64, V)], desc: bool) -> Vec<i64> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0)));
    if desc {
        rows.reverse();
    }
    rows.into_iter().map(|(id, _)| id).collect()
}

/// 60 users with names that sort differently by letter case and by `_` under the engines'
/// own collations, in ties of role, status, article count and sign-up time.
struct SeedUser {
    id: i64,
    name: String,
    role: &'static str,
    disabled: i64,
    articles: i64,
    created: String,
}

async fn seed_users(app: &TestApp) -> Vec<SeedUser> {
    let mut users = Vec::new();
    for i in 0..60_i64 {
        let name = match i % 6 {
            0 => format!("user_{i:02}"),
            1 => format!("User{i:02}"),
            2 => format!("_u{i:02}"),
            3 => format!("u-{i:02}"),
            4 => format!("ZED{i:02}"),
            _ => format!("zed_{i:02}"),
        };
        let user = SeedUser {
            id: 1000 + (i * 37) % 60,
            name,
            role: if i % 7 == 0 { "admin" } else { "user" },
            disabled: i64::from(i % 5 == 0),
            articles: i % 4,
            created: format!("2026-01-01 00:00:0{}.000", i % 3),
        };
        exec(
            app.db(),
            &format!(
                "INSERT INTO users (id, username, email, password_hash, role, disabled, token_version, created_at, updated_at, articles_count) \
                 VALUES ({}, '{}', '{}@example.com', 'x', '{}', {}, 0, '{}', '{}', {})",
                user.id, user.name, user.name, user.role, user.disabled, user.created, user.created, user.articles
            ),
        )
        .await
        .expect("seed user");
        users.push(user);
    }
    users
}

db_test!(
    async fn walking_the_users_table_under_every_sort_shows_each_row_once_in_one_order(app) {
        let users = seed_users(&app).await;
        admin_browser(&app, "boss").await;
        let boss = scalar(app.db(), "SELECT id FROM users WHERE username = 'boss'").await;
        let id = |f: &dyn Fn(&SeedUser) -> String| -> Vec<(i64, String)> {
            users.iter().map(|u| (u.id, f(u))).collect()
        };
        let num = |f: &dyn Fn(&SeedUser) -> i64| -> Vec<(i64, i64)> { users.iter().map(|u| (u.id, f(u))).collect() };
        let mut by_name = id(&|u| u.name.clone());
        by_name.push((boss, "boss".into()));
        let mut by_email = id(&|u| format!("{}@example.com", u.name));
        by_email.push((boss, "boss@example.com".into()));
        let mut by_role = id(&|u| u.role.to_owned());
        by_role.push((boss, "admin".into()));
        let mut by_disabled = num(&|u| u.disabled);
        by_disabled.push((boss, 0));
        let mut by_articles = num(&|u| u.articles);
        by_articles.push((boss, 0));
        // The boss signed up now: after every seeded time.
        let mut by_created = num(&|u| u.created[18..19].parse().unwrap_or(0));
        by_created.push((boss, 9));
        let mut by_id = num(&|u| u.id);
        by_id.push((boss, boss));
        for desc in [false, true] {
            let dir = if desc { "desc" } else { "asc" };
            let path = |key: &str| format!("/admin/users?sort={key}&dir={dir}");
            assert_walks(&app.client, &path("username"), &ordered(&by_name, desc)).await;
            assert_walks(&app.client, &path("email"), &ordered(&by_email, desc)).await;
            assert_walks(&app.client, &path("role"), &ordered(&by_role, desc)).await;
            assert_walks(&app.client, &path("disabled"), &ordered(&by_disabled, desc)).await;
            assert_walks(&app.client, &path("articles"), &ordered(&by_articles, desc)).await;
            assert_walks(&app.client, &path("created"), &ordered(&by_created, desc)).await;
            assert_walks(&app.client, &path("id"), &ordered(&by_id, desc)).await;
        }
        // A search narrows the walk; the links keep it.
        let mut zeds: Vec<(i64, String)> = by_name.iter().filter(|(_, n)| n.to_lowercase().contains("zed")).cloned().collect();
        zeds.sort();
        assert_walks(&app.client, "/admin/users?q=zed&sort=username&dir=asc", &ordered(&zeds, false)).await;

        // The row a page ends with may go before "Next" is followed: the next page still starts
        // right after it.
        let (_, first) = get_page(&app.client, "/admin/users?sort=username&dir=asc").await;
        let next = attrs(&first, ".pagination a[rel=next]", "href")[0].clone();
        let expected = ordered(&by_name, false);
        exec(app.db(), &format!("DELETE FROM users WHERE id = {}", expected[24])).await.expect("delete");
        let (_, second) = get_page(&app.client, &next).await;
        let ids: Vec<i64> = attrs(&second, "tbody tr[data-id]", "data-id").iter().map(|i| i.parse().unwrap_or(0)).collect();
        assert_eq!(ids, expected[25..50]);
    }
);

db_test!(
    async fn walking_the_articles_tags_and_audit_tables_handles_ties(app) {
        admin_browser(&app, "boss").await;
        let boss = scalar(app.db(), "SELECT id FROM users WHERE username = 'boss'").await;
        let (mut by_title, mut by_comments, mut by_created) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..55_i64 {
            let id = 500 + (i * 13) % 55;
            let title = ["Same", "same", "_Same", "Zebra", "apple"][usize::try_from(i % 5).unwrap_or(0)];
            let created = format!("2026-02-01 00:00:0{}.000", i % 2);
            exec(app.db(), &format!(
                "INSERT INTO articles (id, slug, title, description, body, author_id, created_at, updated_at) \
                 VALUES ({id}, 'a-{id}', '{title}', 'd', 'b', {boss}, '{created}', '{created}')")).await.expect("article");
            for c in 0..i % 3 {
                exec(app.db(), &format!(
                    "INSERT INTO comments (article_id, author_id, body, created_at, updated_at) \
                     VALUES ({id}, {boss}, 'c{c}', '{created}', '{created}')")).await.expect("comment");
            }
            by_title.push((id, title.to_owned()));
            by_comments.push((id, i % 3));
            by_created.push((id, i % 2));
        }
        let by_id: Vec<(i64, i64)> = by_title.iter().map(|(id, _)| (*id, *id)).collect();
        for desc in [false, true] {
            let dir = if desc { "desc" } else { "asc" };
            let path = |key: &str| format!("/admin/articles?sort={key}&dir={dir}");
            assert_walks(&app.client, &path("title"), &ordered(&by_title, desc)).await;
            assert_walks(&app.client, &path("comments"), &ordered(&by_comments, desc)).await;
            assert_walks(&app.client, &path("created"), &ordered(&by_created, desc)).await;
            assert_walks(&app.client, &path("id"), &ordered(&by_id, desc)).await;
        }

        let mut by_count = Vec::new();
        for i in 0..30_i64 {
            let id = 300 + i;
            exec(app.db(), &format!("INSERT INTO tags (id, name) VALUES ({id}, 'tag{i:02}')")).await.expect("tag");
            // A tag's count is the sum of its slots: split over two where there is enough.
            for (slot, n) in [(0, (i % 4).min(1)), (1, (i % 4) - (i % 4).min(1))] {
                exec(app.db(), &format!("INSERT INTO tag_counts (tag_id, slot, n) VALUES ({id}, {slot}, {n})"))
                    .await
                    .expect("tag count");
            }
            by_count.push((id, i % 4));
        }
        assert_walks(&app.client, "/admin/tags?sort=articles&dir=desc", &ordered(&by_count, true)).await;

        // The audit log, newest first by time then id, with equal times.
        exec(app.db(), "DELETE FROM audit_log").await.expect("clear");
        let mut entries = Vec::new();
        for i in 0..40_i64 {
            let id = 700 + (i * 7) % 40;
            let created = format!("2026-03-01 00:00:0{}.000", i % 3);
            exec(app.db(), &format!(
                "INSERT INTO audit_log (id, actor_id, actor_name, action, entity, entity_id, created_at) \
                 VALUES ({id}, {boss}, 'boss', 'test.walk', 'user', '{i}', '{created}')")).await.expect("audit");
            entries.push((id, i % 3));
        }
        assert_walks(&app.client, "/admin/audit", &ordered(&entries, true)).await;
        assert_walks(&app.client, "/admin/audit?action=test.walk", &ordered(&entries, true)).await;
    }
);

db_test!(
    async fn a_damaged_table_cursor_is_a_400_and_an_edited_one_another_place(app) {
        seed_users(&app).await;
        admin_browser(&app, "boss").await;
        for path in [
            "/admin/users?after=abc",
            "/admin/users?after=x:1",
            "/admin/users?sort=articles&after=1000:many",
            "/admin/users?after=1000:1&before=1001:1",
            "/admin/articles?sort=comments&before=5:1.5",
            "/admin/audit?after=nothing",
            "/admin/audit?after=1:yesterday",
            "/admin/users?sort=created&after=1:",
        ] {
            let (status, page) = get_page(&app.client, path).await;
            assert_eq!(status, Status::BadRequest, "{path}");
            assert!(texts(&page, "main, body").join(" ").contains("This link is damaged"), "{path}");
        }
        // Well-formed values are places, past the ends too.
        for path in [
            "/admin/users?sort=username&after=0:",
            "/admin/audit?before=3:2026-03-01T00:00:01Z",
            "/admin/users?sort=username&after=-5:%E2%98%83",
            "/admin/users?sort=articles&before=99999:-7",
            "/admin/users?sort=created&dir=desc&after=1:1999-01-01T00:00:00Z",
            "/admin/tags?after=123:",
            "/admin/users?after=",
        ] {
            assert_eq!(get_page(&app.client, path).await.0, Status::Ok, "{path}");
        }
        let (_, past) = get_page(&app.client, "/admin/users?sort=username&after=1:~~~").await;
        assert!(attrs(&past, "tbody tr[data-id]", "data-id").is_empty(), "past the end");
        assert!(attrs(&past, ".pagination a[rel=next]", "href").is_empty());
        // Old page numbers still work (by offset).
        let (status, page2) = get_page(&app.client, "/admin/users?sort=id&dir=asc&page=2").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(attrs(&page2, "tbody tr[data-id]", "data-id").len(), 25);
        assert_eq!(attrs(&page2, "tbody tr[data-id]", "data-id")[0], "1025");
        assert_eq!(attrs(&page2, ".pagination a[rel=prev]", "href").len(), 1);
    }
);
