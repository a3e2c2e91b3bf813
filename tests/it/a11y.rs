//! Accessibility a scanner cannot see (issue 21), read from the rendered HTML and the served
//! stylesheet: the skip link, visible focus, the heading outline of every page type, form errors
//! tied to their fields and announced, the current page marked in navigation, table captions and
//! scroll regions, sort links that say their direction, links that have a name. The markup does
//! not depend on the engine: SQLite only. (axe-core in a browser: `tests/it/axe.rs`.)

use conduit::db::Engine;
use rocket::http::Status;
use scraper::{ElementRef, Html, Selector};

use crate::admin::admin_browser;
use crate::harness::TestApp;
use crate::support::{
    browser_register, csrf_of, get_page, page_csrf, post_form, publish, register, texts,
};

fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("bad selector {css}: {e:?}"))
}

async fn app(test: &str) -> TestApp {
    TestApp::spawn(Engine::Sqlite, test)
        .await
        .expect("sqlite is always available")
}

/// The headings of a page in document order, as (level, text).
fn outline(html: &Html) -> Vec<(u8, String)> {
    html.select(&sel("h1, h2, h3, h4, h5, h6"))
        .map(|h| {
            let level = h.value().name()[1..].parse().expect("h<n>");
            (level, h.text().collect::<String>().trim().to_owned())
        })
        .collect()
}

/// Exactly one `h1`, first, and no heading more than one level below the one before it.
fn assert_outline(html: &Html, page: &str) {
    let headings = outline(html);
    let h1s = headings.iter().filter(|(l, _)| *l == 1).count();
    assert_eq!(h1s, 1, "{page}: one h1, got {headings:?}");
    assert_eq!(headings[0].0, 1, "{page}: the h1 comes first: {headings:?}");
    for pair in headings.windows(2) {
        assert!(
            pair[1].0 <= pair[0].0 + 1,
            "{page}: {:?} after {:?} skips a level: {headings:?}",
            pair[1],
            pair[0]
        );
    }
}

/// Whether an element can take keyboard focus (in the tab order).
fn focusable(e: &ElementRef<'_>) -> bool {
    let v = e.value();
    if v.attr("tabindex").is_some_and(|t| t.starts_with('-')) || v.attr("disabled").is_some() {
        return false;
    }
    match v.name() {
        "a" => v.attr("href").is_some(),
        "button" | "select" | "textarea" | "summary" => true,
        "input" => v.attr("type") != Some("hidden"),
        _ => v.attr("tabindex").is_some(),
    }
}

/// The skip link is the first thing a keyboard reaches and leads to `<main id="main">`; every
/// link in the tab order has a name; the outline is sound.
fn assert_page_basics(html: &Html, page: &str) {
    let first = html
        .select(&sel("body *"))
        .find(focusable)
        .unwrap_or_else(|| panic!("{page}: nothing focusable"));
    assert_eq!(
        first.value().attr("class"),
        Some("skip-link"),
        "{page}: the first focusable element is the skip link"
    );
    assert_eq!(first.value().attr("href"), Some("#main"), "{page}");
    assert_eq!(
        html.select(&sel("main#main")).count(),
        1,
        "{page}: one main"
    );
    for a in html.select(&sel("a[href]")) {
        let named = !a.text().collect::<String>().trim().is_empty()
            || a.value().attr("aria-label").is_some()
            || a.select(&sel("img[alt]")).any(|i| {
                i.value()
                    .attr("alt")
                    .is_some_and(|alt| !alt.trim().is_empty())
            });
        let hidden = a.value().attr("aria-hidden") == Some("true")
            && a.value().attr("tabindex") == Some("-1");
        assert!(
            named || hidden,
            "{page}: a link without a name: {}",
            a.html()
        );
    }
    assert_outline(html, page);
}

async fn page(app: &TestApp, path: &str, status: Status) -> Html {
    let (got, html) = get_page(&app.client, path).await;
    assert_eq!(got, status, "{path}");
    html
}

#[rocket::async_test]
async fn every_page_type_starts_with_a_skip_link_and_has_one_h1_and_no_skipped_levels() {
    let app = app("it::a11y::outline").await;
    let bob = register(&app.client, "bob").await;
    let body = "# Part one\n\nText.\n\n### Detail\n\nMore.\n\n<h1>raw</h1>";
    publish(&app.client, &bob, "Outlined", body, &["tidy"]).await;

    let anonymous = [
        ("/", Status::Ok),
        ("/?tag=tidy", Status::Ok),
        ("/article/outlined", Status::Ok),
        ("/profile/bob", Status::Ok),
        ("/profile/bob/favorites", Status::Ok),
        ("/login", Status::Ok),
        ("/register", Status::Ok),
        ("/no/such/page", Status::NotFound),
    ];
    for (path, status) in anonymous {
        assert_page_basics(&page(&app, path, status).await, path);
    }
    let article = page(&app, "/article/outlined", Status::Ok).await;
    assert_eq!(
        outline(&article),
        [
            (1, "Outlined".to_owned()),
            (2, "Part one".to_owned()),
            (3, "Detail".to_owned()),
            (2, "Comments".to_owned()),
        ],
        "the body's headings sit under the title, its raw h1 is text"
    );

    admin_browser(&app, "ada").await;
    let signed_in = [
        ("/", Status::Ok),
        ("/?feed=you", Status::Ok),
        ("/?tag=tidy", Status::Ok),
        ("/article/outlined", Status::Ok),
        ("/profile/ada", Status::Ok),
        ("/settings", Status::Ok),
        ("/editor", Status::Ok),
        ("/editor/outlined", Status::Forbidden),
        ("/admin", Status::Ok),
        ("/admin/users", Status::Ok),
        ("/admin/articles", Status::Ok),
        ("/admin/comments", Status::Ok),
        ("/admin/tags", Status::Ok),
        ("/admin/users/1", Status::Ok),
        ("/admin/users/1/delete", Status::Ok),
        ("/admin/audit", Status::Ok),
        ("/admin/backups", Status::Ok),
        ("/admin/reauth?next=/admin", Status::Ok),
        ("/admin/users/99999", Status::NotFound),
    ];
    for (path, status) in signed_in {
        assert_page_basics(&page(&app, path, status).await, path);
    }
    assert_eq!(
        texts(&page(&app, "/", Status::Ok).await, "h1"),
        ["Global feed"],
        "a signed-in home page still names itself"
    );
}

#[rocket::async_test]
async fn form_errors_are_summarised_in_an_alert_and_tied_to_their_fields() {
    let app = app("it::a11y::errors").await;
    register(&app.client, "taken").await;
    let token = register(&app.client, "author").await;
    publish(&app.client, &token, "Talk", "Body", &[]).await;
    let (_, form) = get_page(&app.client, "/register").await;
    let res = post_form(
        &app.client,
        "/register",
        &[
            ("csrf_token", &csrf_of(&form)),
            ("username", "newcomer"),
            ("email", "taken@example.com"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let html = Html::parse_document(&res.into_string().await.expect("body"));
    assert_eq!(
        texts(&html, ".error-summary[role=alert] h2"),
        ["There are 2 problems"]
    );
    for (field, message) in [
        ("email", "Email has already been taken"),
        (
            "password",
            "Password is too short (minimum is 8 characters)",
        ),
    ] {
        let input = html
            .select(&sel(&format!("input#{field}")))
            .next()
            .expect("field");
        assert_eq!(input.value().attr("aria-invalid"), Some("true"), "{field}");
        let described = input.value().attr("aria-describedby").expect(field);
        assert_eq!(texts(&html, &format!("#{described}")), [message], "{field}");
    }
    let username = html.select(&sel("input#username")).next().expect("field");
    assert_eq!(username.value().attr("aria-invalid"), None, "a good field");
    assert_eq!(username.value().attr("aria-describedby"), None);

    // The editor, and the comment form (its one field points at the summary).
    browser_register(&app.client, "writer").await;
    let csrf = page_csrf(&app.client).await;
    let res = post_form(
        &app.client,
        "/editor",
        &[
            ("csrf_token", &csrf),
            ("title", "Fine"),
            ("description", "   "),
            ("body", "Text"),
            ("tags", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let html = Html::parse_document(&res.into_string().await.expect("body"));
    assert_eq!(
        texts(&html, "#description-error"),
        ["Description can't be blank"]
    );
    assert_eq!(
        crate::support::attrs(&html, "input[aria-invalid=true]", "id"),
        ["description"]
    );
    assert_eq!(texts(&html, ".error-summary[role=alert] li").len(), 1);

    let res = post_form(
        &app.client,
        "/article/talk/comments",
        &[("csrf_token", &csrf), ("body", "  ")],
    )
    .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let html = Html::parse_document(&res.into_string().await.expect("body"));
    let field = html
        .select(&sel("textarea#comment-body"))
        .next()
        .expect("field");
    assert_eq!(field.value().attr("aria-invalid"), Some("true"));
    assert_eq!(
        field.value().attr("aria-describedby"),
        Some("error-summary")
    );
    assert_eq!(
        texts(&html, "#error-summary[role=alert] li"),
        ["body can't be blank"]
    );
    assert_outline(&html, "article with a refused comment");
}

#[rocket::async_test]
async fn the_current_page_is_marked_in_every_navigation() {
    let app = app("it::a11y::current").await;
    let current = |html: &Html| texts(html, "[aria-current=page]");
    assert_eq!(
        current(&page(&app, "/login", Status::Ok).await),
        ["Sign in"]
    );
    assert_eq!(
        current(&page(&app, "/register", Status::Ok).await),
        ["Sign up"]
    );
    admin_browser(&app, "ada").await;
    assert_eq!(
        current(&page(&app, "/", Status::Ok).await),
        ["Home", "Global Feed"]
    );
    assert_eq!(
        current(&page(&app, "/?feed=you", Status::Ok).await),
        ["Home", "Your Feed"]
    );
    assert_eq!(
        current(&page(&app, "/settings", Status::Ok).await),
        ["Settings"]
    );
    assert_eq!(
        current(&page(&app, "/editor", Status::Ok).await),
        ["New Article"]
    );
    assert_eq!(
        current(&page(&app, "/profile/ada", Status::Ok).await),
        ["ada", "My Articles"]
    );
    assert_eq!(
        current(&page(&app, "/profile/ada/favorites", Status::Ok).await),
        ["ada", "Favorited Articles"]
    );
    assert_eq!(
        current(&page(&app, "/admin/users", Status::Ok).await),
        ["Admin", "Users"]
    );
    assert_eq!(
        current(&page(&app, "/admin/audit", Status::Ok).await),
        ["Admin", "Audit log"]
    );
}

#[rocket::async_test]
async fn admin_tables_have_captions_scroll_in_a_labelled_region_and_say_their_sort_order() {
    let app = app("it::a11y::tables").await;
    admin_browser(&app, "ada").await;
    for path in [
        "/admin/users",
        "/admin/articles",
        "/admin/comments",
        "/admin/tags",
        "/admin/audit",
        "/admin/backups",
    ] {
        let html = page(&app, path, Status::Ok).await;
        let tables = html.select(&sel("table")).count();
        let wrapped = sel("div.table-scroll[role=region][tabindex='0'][aria-labelledby] > table");
        assert_eq!(
            html.select(&wrapped).count(),
            tables,
            "{path}: every table in a region"
        );
        for region in html.select(&sel("div.table-scroll")) {
            let label = region.value().attr("aria-labelledby").expect("label");
            let caption = texts(&html, &format!("table > caption#{label}"));
            assert_eq!(
                caption.len(),
                1,
                "{path}: the region is named by the caption"
            );
            assert!(!caption[0].is_empty(), "{path}");
        }
    }

    let html = page(&app, "/admin/users?sort=username&dir=desc", Status::Ok).await;
    assert_eq!(
        texts(&html, "caption"),
        ["Users, sorted by username, descending"]
    );
    assert_eq!(
        crate::support::attrs(&html, "th[aria-sort=descending]", "data-sort"),
        ["username"]
    );
    assert_eq!(
        texts(&html, "th[data-sort=username] a .visually-hidden"),
        [", sorted descending; sort ascending"]
    );
    let others = texts(&html, "th[aria-sort=none] a .visually-hidden");
    assert!(!others.is_empty());
    assert!(others.iter().all(|t| t == "; sort ascending"), "{others:?}");
    let html = page(&app, "/admin/users?q=ad", Status::Ok).await;
    assert!(
        texts(&html, "caption")[0].starts_with("Users matching “ad”"),
        "{:?}",
        texts(&html, "caption")
    );
}

#[rocket::async_test]
async fn the_stylesheet_shows_focus_honours_reduced_motion_and_has_a_dark_theme() {
    let app = app("it::a11y::css").await;
    let res = app.client.get("/static/css/conduit.css").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let css = res.into_string().await.expect("css");
    let block = |start: &str| -> String {
        let at = css
            .find(start)
            .unwrap_or_else(|| panic!("no {start} in the stylesheet"));
        // The block up to its closing brace at nesting depth 0.
        let mut depth = 0;
        for (i, ch) in css[at..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return css[at..=at + i].to_owned();
                    }
                }
                _ => {}
            }
        }
        panic!("{start} is not closed");
    };
    let focus = block(":focus-visible {");
    assert!(focus.contains("outline: 3px solid"), "{focus}");
    assert!(!css.contains("outline: none") && !css.contains("outline: 0"));
    let motion = block("@media (prefers-reduced-motion: reduce)");
    assert!(
        motion.contains("transition: none !important") && motion.contains("animation: none"),
        "{motion}"
    );
    let dark = block("@media (prefers-color-scheme: dark)");
    for property in [
        "--bg:",
        "--text:",
        "--green-text:",
        "--red-text:",
        "--focus:",
    ] {
        assert!(dark.contains(property), "the dark theme sets {property}");
    }
    assert!(css.contains("color-scheme: light dark"));
    // Links in text are underlined, not told apart by colour alone.
    assert!(block("a {").contains("text-decoration: underline"));
}
