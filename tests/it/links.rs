//! Internal links come from routes (`uri!`), never from templates: the templates hold no
//! literal internal URL, and the links pages show (the site's and the console's navigation,
//! forms, error pages) are their routes' URLs.

use std::path::{Path, PathBuf};

use rocket::http::Status;
use scraper::Html;

use crate::admin::admin_browser;
use crate::support::{attrs, browser_register, get_page, publish, register, texts};

/// The literal internal URLs in `text` (an attribute `href`, `action`, `src` or `formaction`
/// whose value starts with `/`), but static files': `(line, excerpt)`.
fn literal_urls(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for attr in ["href=", "action=", "src="] {
            for quote in ['"', '\''] {
                let needle = format!("{attr}{quote}/");
                for (at, _) in line.match_indices(&needle) {
                    let value = &line[at + needle.len() - 1..];
                    if !value.starts_with("/static/") {
                        let end = value.find(quote).unwrap_or(value.len());
                        found.push((n + 1, format!("{attr}{quote}{}", &value[..end])));
                    }
                }
            }
        }
    }
    found
}

fn template_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("templates/ is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            template_files(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// Pins the rule (DESIGN: "templates build no URL themselves") where a reviewer would miss it:
/// a literal `/path` in a template still works today, so no page test fails, but it is not
/// checked against the routes and breaks silently when a route moves. Every link and form
/// target comes in the context, made by `uri!`; only `/static/` files stay literal.
#[test]
fn templates_hold_no_literal_internal_url() {
    // The scan itself finds what it must (so an empty result means something).
    assert_eq!(
        literal_urls(r#"<a href="/editor">x</a> <form action='/login'> <img src="/x.png"> <button formaction="/a">"#)
            .into_iter()
            .map(|(_, s)| s)
            .collect::<Vec<_>>(),
        vec![r#"href="/editor"#, r#"action="/a"#, "action='/login", r#"src="/x.png"#]
    );
    assert!(
        literal_urls(r#"<link href="/static/css/conduit.css"> <a href="{{ url }}">"#).is_empty()
    );

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut files = Vec::new();
    template_files(&root, &mut files);
    assert!(files.len() > 20, "templates found: {files:?}");
    let mut offenders = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a template is text");
        for (line, url) in literal_urls(&text) {
            offenders.push(format!(
                "{}:{line}: {url}",
                file.strip_prefix(&root).unwrap_or(file).display()
            ));
        }
    }
    assert!(
        offenders.is_empty(),
        "literal internal URLs in templates (pass a uri! in the context instead):\n{}",
        offenders.join("\n")
    );
}

/// The `name` attribute of the elements `selector` picks, which must be there.
fn one(html: &Html, selector: &str, name: &str) -> String {
    let found = attrs(html, selector, name);
    assert_eq!(found.len(), 1, "{selector} [{name}]: {found:?}");
    found.into_iter().next().unwrap_or_default()
}

/// The link named `text` among the elements `selector` picks.
fn link(html: &Html, selector: &str, text: &str) -> String {
    let sel = scraper::Selector::parse(selector).expect("selector");
    let hrefs: Vec<String> = html
        .select(&sel)
        .filter(|e| e.text().collect::<String>().trim() == text)
        .filter_map(|e| e.value().attr("href").map(str::to_owned))
        .collect();
    assert_eq!(hrefs.len(), 1, "{selector} {text:?}: {hrefs:?}");
    hrefs.into_iter().next().unwrap_or_default()
}

db_test!(
    async fn pages_link_to_their_routes(app) {
        let nav = "nav.navbar a";
        // Signed out: the navigation, the footer, the feed tabs, the session forms.
        let (_, home) = get_page(&app.client, "/").await;
        assert_eq!(one(&home, "a.navbar-brand", "href"), "/");
        assert_eq!(link(&home, nav, "Home"), "/");
        assert_eq!(link(&home, nav, "Sign in"), "/login");
        assert_eq!(link(&home, nav, "Sign up"), "/register");
        assert_eq!(one(&home, "footer a.logo-font", "href"), "/");
        assert_eq!(link(&home, "footer a", "API reference"), "/api/docs");
        assert_eq!(link(&home, ".feed-toggle a", "Global Feed"), "/");
        let (_, login) = get_page(&app.client, "/login").await;
        assert_eq!(one(&login, "form.login-form", "action"), "/login");
        assert_eq!(link(&login, "main a", "Need an account?"), "/register");
        let (_, signup) = get_page(&app.client, "/register").await;
        assert_eq!(one(&signup, "form.register-form", "action"), "/register");
        assert_eq!(link(&signup, "main a", "Have an account?"), "/login");
        let token = register(&app.client, "ada").await;
        let article = publish(&app.client, &token, "Links", "b", &[]).await;
        let slug = article["slug"].as_str().expect("slug");
        let (_, page) = get_page(&app.client, &format!("/article/{slug}")).await;
        assert_eq!(link(&page, ".comment-prompt a", "sign up"), "/register");

        // An error page renders without the layout: its links come from the site's stage.
        let (status, missing) = get_page(&app.client, "/no/such/page").await;
        assert_eq!(status, Status::NotFound);
        assert_eq!(one(&missing, "a.navbar-brand", "href"), "/");
        assert_eq!(link(&missing, nav, "Sign in"), "/login");
        assert_eq!(link(&missing, nav, "Sign up"), "/register");
        assert_eq!(link(&missing, ".error-page a", "Back to the home page"), "/");
        assert_eq!(one(&missing, "footer a", "href"), "/");

        // Signed in: the member's items, the settings forms, one's own profile.
        browser_register(&app.client, "lina").await;
        let (_, home) = get_page(&app.client, "/").await;
        assert_eq!(link(&home, nav, "New Article"), "/editor");
        assert_eq!(link(&home, nav, "Settings"), "/settings");
        assert!(attrs(&home, nav, "href").iter().all(|h| h != "/admin"));
        assert_eq!(one(&home, "nav.navbar form[method=post]", "action"), "/logout");
        assert_eq!(link(&home, ".feed-toggle a", "Your Feed"), "/?feed=you");
        let (_, settings) = get_page(&app.client, "/settings").await;
        assert_eq!(one(&settings, "form.settings-form", "action"), "/settings");
        assert_eq!(one(&settings, "form.logout-form", "action"), "/logout");
        assert_eq!(
            one(&settings, "form.sign-out-everywhere-form", "action"),
            "/settings/sign-out-everywhere"
        );
        let (_, profile) = get_page(&app.client, "/profile/lina").await;
        assert_eq!(link(&profile, "main a", "Edit Profile Settings"), "/settings");
    }
);

db_test!(
    async fn the_console_links_to_its_routes(app) {
        admin_browser(&app, "root").await;
        let (_, home) = get_page(&app.client, "/").await;
        assert_eq!(link(&home, "nav.navbar a", "Admin"), "/admin");

        let (status, dashboard) = get_page(&app.client, "/admin").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(
            attrs(&dashboard, ".admin-nav a", "href"),
            [
                "/admin",
                "/admin/users",
                "/admin/articles",
                "/admin/comments",
                "/admin/tags",
                "/admin/audit",
                "/admin/backups"
            ]
        );
        assert_eq!(link(&dashboard, "main p a", "The whole audit log"), "/admin/audit");
        // Every console page has the same navigation.
        let (_, users) = get_page(&app.client, "/admin/users").await;
        assert_eq!(
            attrs(&users, ".admin-nav a", "href"),
            attrs(&dashboard, ".admin-nav a", "href")
        );
        assert_eq!(texts(&users, ".admin-nav a[aria-current=page]"), ["Users"]);

        let (_, audit) = get_page(&app.client, "/admin/audit").await;
        assert_eq!(one(&audit, "form.audit-filter", "action"), "/admin/audit");
        let (_, reauth) = get_page(&app.client, "/admin/reauth").await;
        assert_eq!(one(&reauth, "form.reauth-form", "action"), "/admin/reauth");
        let (status, backups) = get_page(&app.client, "/admin/backups").await;
        assert_eq!(status, Status::Ok);
        assert_eq!(one(&backups, "form.backup-form", "action"), "/admin/backups");

        // The console's own error page.
        let (status, missing) = get_page(&app.client, "/admin/users/999999").await;
        assert_eq!(status, Status::NotFound);
        assert_eq!(link(&missing, "main a", "Back to the dashboard"), "/admin");
        assert_eq!(attrs(&missing, ".admin-nav a", "href").len(), 7);
    }
);
