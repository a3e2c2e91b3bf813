//! The server-rendered site: pages, form handlers, static files and the HTML catchers.

pub mod api_docs;
pub mod articles;
pub mod catchers;
pub mod editor;
pub mod feeds;
pub mod head;
pub mod health;
pub mod layout;
pub mod lists;
mod memo_keys;
pub mod metrics;
pub mod password;
pub mod profiles;
pub mod render;
pub mod search;
pub mod session;
pub mod sessions;
pub mod settings;
pub mod sitemap;
pub mod tokens;
pub mod two_factor;
pub mod views;

use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::fs::{FileServer, Options};
use rocket::http::{Header, Method, Status};
use rocket::{uri, Request, Response};

use crate::db::CommentId;
use views::{ArticleAction, Links, ProfileAction};

/// Mounts the site's routes and static files and registers its HTML catchers. `admin` makes
/// the link to the admin console's dashboard (the console is above the site: it links to the
/// site's pages, so only the app factory sees both).
pub fn stage(admin: fn() -> String) -> AdHoc {
    AdHoc::on_ignite("Site", move |rocket| async move {
        let panic_route = rocket
            .state::<crate::config::AppConfig>()
            .is_some_and(|c| c.enable_panic_route);
        let rocket = if panic_route {
            rocket.mount("/", health::panic_routes())
        } else {
            rocket
        };
        let links = links(admin);
        rocket
            .manage(links)
            .manage(crate::error::SearchBox(search::search_home()))
            .manage(ACCOUNT_LINKS)
            .manage(crate::error::ErrorPageLinks {
                home: (links.home)(),
                login: (links.login)(None),
                register: (links.register)(),
            })
            .mount("/", articles::routes())
            .mount("/", api_docs::routes())
            .mount("/", editor::routes())
            .mount("/", profiles::routes())
            .mount("/", health::routes())
            .mount("/", metrics::routes())
            .mount("/", session::routes())
            .mount("/", settings::routes())
            .mount("/", tokens::routes())
            .mount("/", sessions::routes())
            .mount("/", two_factor::routes())
            .mount("/", password::routes())
            .mount("/", feeds::routes())
            .mount("/", sitemap::routes())
            .mount("/", search::routes())
            .mount("/static", FileServer::new("static", Options::None))
            .attach(StaticCache)
            .attach(ETag)
            .register("/", catchers::catchers())
    })
}

/// Where the site's pages are, for the views: each a `uri!` of the page's route, but `admin`
/// (the console's dashboard), which [`stage`] is given.
const fn links(admin: fn() -> String) -> Links {
    Links {
        home: || articles::home_link(None, None, lists::At::First),
        article: |slug| uri!(articles::show(slug)).to_string(),
        article_action,
        delete_comment: |slug, id| uri!(articles::delete_comment(slug, id)).to_string(),
        profile: |username| profiles::profile_link(username, false, lists::At::First),
        profile_action,
        tag: |tag| articles::home_link(Some(tag), None, lists::At::First),
        login: |next| uri!(session::login_page(next)).to_string(),
        search: search::search_home,
        editor: || uri!(editor::new).to_string(),
        settings: || uri!(settings::edit).to_string(),
        logout: || uri!(session::logout).to_string(),
        register: || uri!(session::register_page).to_string(),
        api_docs: || uri!(api_docs::page).to_string(),
        admin,
    }
}

/// Where the pages mails link to are, for `auth::recovery` (managed by the site's stage).
const ACCOUNT_LINKS: crate::auth::recovery::AccountLinks = crate::auth::recovery::AccountLinks {
    reset: |token| uri!(password::reset_page(token)).to_string(),
    confirm: |token| uri!(password::confirm_email(token)).to_string(),
    forgot: || uri!(password::forgot_page()).to_string(),
    settings: || uri!(settings::edit).to_string(),
    resend_confirmation: || uri!(settings::resend_confirmation).to_string(),
};

fn article_action(slug: &str, action: ArticleAction) -> String {
    match action {
        ArticleAction::Edit => uri!(editor::edit(slug)),
        ArticleAction::Delete => uri!(articles::delete(slug)),
        ArticleAction::Favorite => uri!(articles::favorite(slug)),
        ArticleAction::Unfavorite => uri!(articles::unfavorite(slug)),
        ArticleAction::Comment => uri!(articles::comment(slug)),
    }
    .to_string()
}

fn profile_action(username: &str, action: ProfileAction) -> String {
    match action {
        ProfileAction::Follow => uri!(profiles::follow(username)).to_string(),
        ProfileAction::Unfollow => uri!(profiles::unfollow(username)).to_string(),
        ProfileAction::Favorites => profiles::profile_link(username, true, lists::At::First),
    }
}

/// Static files may be cached for a day; pages are per-user and must not be stored by shared
/// caches; responses about credentials (see [`NO_STORE`]) must not be stored at all.
struct StaticCache;

/// Paths whose responses carry a token or a form that takes a password, whatever the status:
/// `Cache-Control: no-store`, so neither a shared cache nor the browser's history keeps them.
/// A path here covers the paths below it (`/settings/sign-out-everywhere`).
pub const NO_STORE: &[&str] = &[
    "/api/users",
    "/api/user",
    "/login",
    "/register",
    "/settings",
    "/logout",
    "/admin/reauth",
    "/password",
    "/email/confirm",
];

/// Whether responses for `path` are sent with `Cache-Control: no-store`.
pub fn no_store(path: &str) -> bool {
    NO_STORE.iter().any(|base| {
        path.strip_prefix(base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

#[rocket::async_trait]
impl Fairing for StaticCache {
    fn info(&self) -> Info {
        Info {
            name: "Cache-Control",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let path = req.uri().path();
        // By the decoded segments, as Rocket routes (`//login` and `/%6Cogin` reach `/login`).
        let routed: String = path.segments().flat_map(|s| ["/", s]).collect();
        if no_store(&routed) {
            res.set_header(Header::new("Cache-Control", "no-store"));
            return;
        }
        if res.headers().contains("Cache-Control") {
            return;
        }
        let value = if path.starts_with("/static/") && res.status().class().is_success() {
            "public, max-age=86400"
        } else {
            "private, no-cache"
        };
        res.set_header(Header::new("Cache-Control", value));
    }
}

/// A weak `ETag` on every successful GET (pages and API): a client that sends it back in
/// `If-None-Match` gets `304 Not Modified` and no body. Responses are `private, no-cache`, so
/// clients revalidate every time and shared caches never store per-user content.
struct ETag;

/// Bodies larger than this are not hashed (they are not worth buffering twice).
const ETAG_MAX_BODY: usize = 4 * 1024 * 1024;

#[rocket::async_trait]
impl Fairing for ETag {
    fn info(&self) -> Info {
        Info {
            name: "ETag",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if req.method() == Method::Get && res.status() == Status::NotModified {
            // A responder's own answer to a conditional GET (`feeds::Conditional` heeding
            // `If-Modified-Since`): its tag stays, as RFC 9110 asks of a 304.
            return;
        }
        if req.method() != Method::Get
            || res.status() != Status::Ok
            || req.uri().path().starts_with("/static/")
        {
            // A tag set by a responder whose status was then changed (a page answered 404).
            res.remove_header("ETag");
            return;
        }
        // Pages tag themselves as they are rendered (`render::RenderedPage`), without the copy
        // below.
        let tag = if let Some(tag) = res.headers().get_one("ETag") {
            tag.to_owned()
        } else {
            if res
                .body()
                .preset_size()
                .is_none_or(|size| size > ETAG_MAX_BODY)
            {
                return;
            }
            let Ok(body) = res.body_mut().to_bytes().await else {
                return;
            };
            let tag = etag(&body);
            res.set_sized_body(body.len(), std::io::Cursor::new(body));
            res.set_header(Header::new("ETag", tag.clone()));
            tag
        };
        let matches = req
            .headers()
            .get("If-None-Match")
            .any(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
        if matches {
            res.set_status(Status::NotModified);
            res.set_sized_body(0, std::io::Cursor::new(Vec::new()));
        }
    }
}

/// The `ETag` of a response body: weak, its 64-bit XXH3 digest in hex. The same in every
/// process (XXH3 is unseeded here), so instances behind a load balancer agree.
pub fn etag(body: &[u8]) -> String {
    format!("W/\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(body))
}

#[cfg(test)]
mod tests {
    use super::{etag, no_store};

    #[test]
    fn credential_paths_are_not_stored() {
        for path in [
            "/api/users",
            "/api/users/login",
            "/api/user",
            "/login",
            "/settings/sign-out-everywhere",
        ] {
            assert!(no_store(path), "{path}");
        }
        for path in [
            "/",
            "/api/userss",
            "/api/profiles/jake",
            "/loginx",
            "/settingsx",
            "/static/css/site.css",
        ] {
            assert!(!no_store(path), "{path}");
        }
    }

    #[test]
    fn etags_are_weak_stable_and_follow_the_body() {
        // XXH3-64's published value for the empty input: every instance and version agrees.
        assert_eq!(etag(b""), "W/\"2d06800538d394c2\"");
        let body = br#"{"articles":[{"slug":"a","title":"A"}],"articlesCount":1}"#.to_vec();
        let tag = etag(&body);
        assert!(
            tag.starts_with("W/\"") && tag.ends_with('"') && tag.len() == 20,
            "{tag}"
        );
        assert_eq!(tag, etag(&body.clone()), "deterministic");
        for i in 0..body.len() {
            let mut changed = body.clone();
            changed[i] ^= 1;
            assert_ne!(etag(&changed), tag, "a change at byte {i} went unseen");
        }
        assert_ne!(etag(&body[..body.len() - 1]), tag, "length matters");
    }
}
