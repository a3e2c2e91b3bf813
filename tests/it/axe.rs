//! Accessibility in a real browser: axe-core (npm, pinned in `tests/axe/package-lock.json`)
//! injected into every page type, anonymous, signed in and as an admin, at desktop (1280 px)
//! and phone (375 px) widths and once more with the dark colour scheme and reduced motion; every
//! WCAG 2.0/2.1/2.2 A and AA rule and axe's best practices must pass, and so must the checks of
//! what axe cannot see (`axe/checks.rs`: skip link, focus rings, heading outline, form errors,
//! table captions, sort links, `aria-current`, nothing moving). At 320 px no page may scroll
//! sideways. The pages and their data: `axe/pages.rs`.
//!
//! The page list is generic: it visits every link of the main and admin navigation it finds,
//! so pages added there are scanned too. axe-core is installed with `npm ci --prefix tests/axe`
//! when `tests/axe/node_modules` is missing. The rendering does not depend on the engine, so
//! this runs on SQLite only. Needs chromium + chromium-driver (see `tests/it/browser.rs`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use conduit::db::Engine;
use fantoccini::{Client, Locator};
use rocket::local::asynchronous::Client as LocalClient;
use serde_json::{json, Value};

use crate::browser::{find_chromedriver, free_port, start_browser_with};
use crate::harness::{scratch_database, test_figment};
use pages::{admin_pages, anonymous_pages, seed, user_pages, Seeded};

mod checks;
mod pages;
mod two_factor;

/// The rule sets the scan runs: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and best practices.
const TAGS: [&str; 6] = [
    "wcag2a",
    "wcag2aa",
    "wcag21a",
    "wcag21aa",
    "wcag22aa",
    "best-practice",
];

/// `tests/axe/node_modules/axe-core/axe.min.js`, installed by `npm ci` when missing.
fn axe_source() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/axe");
    let script = dir.join("node_modules/axe-core/axe.min.js");
    if !script.exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .status()
            .expect("run npm (install nodejs and npm)");
        assert!(status.success(), "npm ci --prefix tests/axe failed");
    }
    std::fs::read_to_string(&script).unwrap_or_else(|e| panic!("{}: {e}", script.display()))
}

/// One thing to do in the browser before a page is scanned.
enum Step {
    /// Load a URL (relative to the server).
    Go(String),
    /// Type into the field matching the selector.
    Fill(&'static str, String),
    /// Click the element matching the selector and wait for the next page to load.
    Submit(&'static str),
    /// Tick the element matching the selector (no navigation).
    Tick(&'static str),
    /// Check that the page shows an element matching the selector (the state to scan is there).
    Expect(&'static str),
    /// Type into the field matching the selector the code an authenticator app shows for the
    /// key on the page (`#totp-secret`), as a user setting up two-factor sign-in does.
    CodeForKey(&'static str),
}

/// A page to scan: a name for the report and how to get there.
struct Visit {
    name: String,
    steps: Vec<Step>,
}

fn go(name: &str, path: &str) -> Visit {
    Visit {
        name: name.to_owned(),
        steps: vec![Step::Go(path.to_owned())],
    }
}

fn form(name: &str, steps: Vec<Step>) -> Visit {
    Visit {
        name: name.to_owned(),
        steps,
    }
}

/// What the scan found, gathered over every page so one run reports them all.
#[derive(Default)]
struct Findings {
    lines: Vec<String>,
    pages: usize,
}

struct Browser<'a> {
    c: &'a Client,
    base: &'a str,
    axe: &'a str,
    /// A label for the run (light or dark).
    scheme: &'static str,
}

impl Browser<'_> {
    async fn run(&self, step: &Step) {
        let c = self.c;
        match step {
            Step::Go(path) => c
                .goto(&format!("{}{path}", self.base))
                .await
                .unwrap_or_else(|e| panic!("{path}: {e}")),
            Step::Fill(css, text) => {
                let field = c
                    .find(Locator::Css(css))
                    .await
                    .unwrap_or_else(|e| panic!("{css}: {e}"));
                field.clear().await.expect("clear");
                field.send_keys(text).await.expect("type");
            }
            Step::CodeForKey(css) => two_factor::type_code_for_key(c, css).await,
            Step::Expect(css) => {
                if c.find(Locator::Css(css)).await.is_err() {
                    let url = c.current_url().await.map(|u| u.to_string());
                    let said = c
                        .execute(
                            "const e = document.querySelector('main') || document.body; \
                             return e.innerText.replace(/\\s+/g, ' ').slice(0, 400);",
                            vec![],
                        )
                        .await
                        .unwrap_or_default();
                    panic!("{css} is not on {}: {said}", url.unwrap_or_default());
                }
            }
            Step::Tick(css) => c
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"))
                .click()
                .await
                .expect("tick"),
            Step::Submit(css) => {
                // A marker on the old document tells when the new one has replaced it.
                c.execute("window.__axeOld = true;", vec![])
                    .await
                    .expect("mark");
                c.find(Locator::Css(css))
                    .await
                    .unwrap_or_else(|e| panic!("{css}: {e}"))
                    .click()
                    .await
                    .expect("click");
                self.wait_for_new_document(css).await;
            }
        }
    }

    async fn wait_for_new_document(&self, after: &str) {
        for _ in 0..200 {
            let loaded = self
                .c
                .execute(
                    "return window.__axeOld === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .unwrap_or(Value::Bool(false));
            if loaded == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new page after clicking {after}");
    }

    /// Resize the window to `width` and wait until the page has that width: on a loaded
    /// machine the new size can reach the page some time after the resize answers (the suite
    /// once read the old width at once), so the width is polled and the resize sent again.
    async fn resize(&self, width: u32) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.c.set_window_size(width, 800).await.expect("resize");
            for _ in 0..20 {
                let inner = self
                    .c
                    .execute("return window.innerWidth;", vec![])
                    .await
                    .expect("innerWidth");
                if inner.as_u64() == Some(u64::from(width)) {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "the window did not take width {width}: it is {inner}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// axe-core's violations on the current page, one line each with its targets.
    async fn axe(&self) -> Vec<String> {
        let c = self.c;
        let present = c
            .execute("return typeof window.axe === 'object';", vec![])
            .await
            .expect("probe axe");
        if present != Value::Bool(true) {
            c.execute(self.axe, vec![]).await.expect("inject axe-core");
        }
        let result = c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
                   .then(r => done(r.violations.map(v => ({
                       id: v.id, impact: v.impact, help: v.help,
                       targets: v.nodes.map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').replace(/\\s+/g, ' ')),
                   }))))
                   .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), targets: []}]));",
                vec![json!(TAGS)],
            )
            .await
            .expect("axe.run");
        result
            .as_array()
            .expect("a list of violations")
            .iter()
            .map(|v| {
                let targets: Vec<&str> = v["targets"]
                    .as_array()
                    .map(|t| t.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                format!(
                    "{} ({}): {}\n      {}",
                    v["id"].as_str().unwrap_or("?"),
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or("?"),
                    targets.join("\n      ")
                )
            })
            .collect()
    }

    /// Whether the page is wider than the window (it would scroll sideways).
    async fn overflow(&self) -> Option<String> {
        let sizes = self
            .c
            .execute(
                "const wide = [...document.body.querySelectorAll('*')]
                     .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                     .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= window.innerWidth + 0.5)
                     .slice(0, 5)
                     .map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).trim().replace(/\\s+/g, '.') : ''));
                 return [document.documentElement.scrollWidth, window.innerWidth, wide];",
                vec![],
            )
            .await
            .expect("measure");
        let (scroll, inner) = (sizes[0].as_u64()?, sizes[1].as_u64()?);
        (scroll > inner).then(|| format!("{scroll} px wide in {inner} px: {}", sizes[2]))
    }

    /// Visit each page and scan it at each width; 320 px checks only for sideways scrolling.
    async fn scan(&self, who: &str, visits: &[Visit], widths: &[u32], found: &mut Findings) {
        for visit in visits {
            self.resize(widths[0]).await;
            for step in &visit.steps {
                self.run(step).await;
            }
            for &width in widths {
                self.resize(width).await;
                let at = format!("[{} {who} {width}px] {}", self.scheme, visit.name);
                if width <= 320 {
                    if let Some(problem) = self.overflow().await {
                        found
                            .lines
                            .push(format!("{at}: scrolls sideways: {problem}"));
                    }
                    continue;
                }
                found.pages += 1;
                for v in self.axe().await {
                    found.lines.push(format!("{at}: {v}"));
                }
                for problem in checks::run(self.c).await {
                    found.lines.push(format!("{at}: {problem}"));
                }
            }
        }
    }

    /// The same-site links of the navigation bars on the current page (pages added to the
    /// navigation by other features get scanned without changing this file).
    async fn nav_links(&self, css: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for a in self.c.find_all(Locator::Css(css)).await.expect("links") {
            if let Ok(Some(href)) = a.attr("href").await {
                if href.starts_with('/') {
                    out.insert(href);
                }
            }
        }
        out
    }

    async fn sign_in(&self, email: &str, password: &str) {
        self.resize(1280).await;
        for step in [
            Step::Go("/login".into()),
            Step::Fill("input#email", email.into()),
            Step::Fill("input#password", password.into()),
            Step::Submit("form.login-form button[type=submit]"),
        ] {
            self.run(&step).await;
        }
    }

    async fn sign_out(&self) {
        self.resize(1280).await;
        self.run(&Step::Go("/".into())).await;
        self.run(&Step::Submit("nav form button[type=submit]"))
            .await;
    }
}

/// Every page type, anonymous, as a user and as an admin, in one browser.
async fn scan_site(b: &Browser<'_>, s: &Seeded, widths: &[u32], found: &mut Findings) {
    b.scan("anonymous", &anonymous_pages(s), widths, found)
        .await;

    b.sign_in("alice@example.com", "password-alice").await;
    let mut pages = user_pages(s);
    let known: BTreeSet<String> = pages
        .iter()
        .filter_map(|v| match v.steps.as_slice() {
            [Step::Go(p)] => Some(p.clone()),
            _ => None,
        })
        .collect();
    for href in b.nav_links("header nav a").await {
        if !known.contains(&href) && !href.starts_with("/admin") {
            pages.push(go(&format!("nav link {href}"), &href));
        }
    }
    b.scan("user", &pages, widths, found).await;
    b.sign_out().await;

    b.sign_in(
        &format!("{}@example.com", b.scheme),
        &format!("password-{}", b.scheme),
    )
    .await;
    b.scan("user", &two_factor::set_up_pages(b.scheme), widths, found)
        .await;
    b.sign_out().await;

    b.sign_in("ada@example.com", "password-ada").await;
    b.run(&Step::Go("/admin".into())).await;
    let nav = b.nav_links("main nav a").await;
    assert!(nav.len() >= 7, "the admin navigation: {nav:?}");
    b.scan("admin", &admin_pages(s, &nav), widths, found).await;
    b.sign_out().await;
}

async fn start_server(url: &str) -> (String, rocket::Shutdown, LocalClient) {
    let port = free_port();
    let figment = test_figment(url)
        .merge(("port", port))
        .merge(("address", "127.0.0.1"));
    let seeder = LocalClient::untracked(conduit::rocket_with(figment.clone()))
        .await
        .expect("a client to seed with");
    let rocket = conduit::rocket_with(figment)
        .ignite()
        .await
        .expect("ignite");
    let shutdown = rocket.shutdown();
    tokio::spawn(rocket.launch());
    (format!("http://127.0.0.1:{port}"), shutdown, seeder)
}

fn report(found: &Findings) {
    assert!(found.pages > 0, "no page was scanned");
    assert!(
        found.lines.is_empty(),
        "{} accessibility problems on {} page scans:\n{}",
        found.lines.len(),
        found.pages,
        found.lines.join("\n")
    );
}

fn profile_dir(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(&p).expect("profile dir");
    p
}

#[rocket::async_test]
async fn every_page_passes_axe_core_at_desktop_and_phone_widths_light_and_dark() {
    let test = "it::axe";
    let Some(chromedriver) = find_chromedriver(test) else {
        return;
    };
    let axe = axe_source();
    let (url, dir, _mysql) = scratch_database(Engine::Sqlite, test)
        .await
        .expect("sqlite is always available");
    let (base, shutdown, local) = start_server(&url).await;
    let seeded = seed(&local).await;
    let mut found = Findings::default();

    let (_driver, c) =
        start_browser_with(&chromedriver, &profile_dir(dir.path(), "light"), &[]).await;
    let light = Browser {
        c: &c,
        base: &base,
        axe: &axe,
        scheme: "light",
    };
    light.run(&Step::Go("/login".into())).await;
    assert!(
        checks::background_luminance(&c).await > 0.5,
        "the light theme is light"
    );
    assert!(
        checks::something_moves(&c).await,
        "without reduced motion the form's fields and buttons have transitions (else the dark \
         run's check that nothing moves could not fail)"
    );
    scan_site(&light, &seeded, &[1280, 375, 320], &mut found).await;
    c.close().await.expect("close browser");

    // Chromium's own switches for `prefers-color-scheme: dark` and `prefers-reduced-motion`
    // (WebDriver cannot emulate media): the dark run also checks that nothing moves.
    let (_driver, c) = start_browser_with(
        &chromedriver,
        &profile_dir(dir.path(), "dark"),
        &[
            "--force-dark-mode",
            "--blink-settings=preferredColorScheme=0",
            "--force-prefers-reduced-motion",
        ],
    )
    .await;
    let dark = Browser {
        c: &c,
        base: &base,
        axe: &axe,
        scheme: "dark",
    };
    dark.run(&Step::Go("/".into())).await;
    assert_eq!(
        c.execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches;",
            vec![]
        )
        .await
        .expect("media query"),
        Value::Bool(true),
        "the browser did not take the dark colour scheme"
    );
    assert_eq!(
        c.execute(
            "return matchMedia('(prefers-reduced-motion: reduce)').matches;",
            vec![]
        )
        .await
        .expect("media query"),
        Value::Bool(true),
        "the browser did not take the reduced motion preference"
    );
    dark.run(&Step::Go("/login".into())).await;
    assert!(
        checks::background_luminance(&c).await < 0.05,
        "the dark theme is dark"
    );
    scan_site(&dark, &seeded, &[1280, 375], &mut found).await;
    c.close().await.expect("close browser");

    shutdown.notify();
    report(&found);
}
