//! Housekeeping: ended sessions and throttle rows past their window are deleted, by a pass the
//! app runs at liftoff and then every `housekeeping_minutes`.

use chrono::{Duration, Utc};
use conduit::config::AppConfig;
use rocket::http::{Method, Status};
use serde_json::json;

use crate::support::{api, browser_register, page_csrf, post_form, register, scalar};

/// A second browser on the same app (its own cookies).
async fn browser(app: &crate::harness::TestApp) -> rocket::local::asynchronous::Client {
    rocket::local::asynchronous::Client::tracked(conduit::rocket_with(
        app.client.rocket().figment().clone(),
    ))
    .await
    .expect("a second browser")
}

async fn rows(app: &crate::harness::TestApp) -> [i64; 4] {
    [
        scalar(app.db(), "SELECT COUNT(*) FROM login_attempts").await,
        scalar(app.db(), "SELECT COUNT(*) FROM register_attempts").await,
        scalar(app.db(), "SELECT COUNT(*) FROM throttle_keys").await,
        scalar(app.db(), "SELECT COUNT(*) FROM sessions").await,
    ]
}

db_test!(
    async fn a_pass_deletes_only_what_can_no_longer_count(app) {
        // Two failed logins, one sign-up over the API (an API session), a browser session that
        // is signed out and one that stays.
        register(&app.client, "keeper").await;
        for _ in 0..2 {
            let wrong = json!({"user": {"email": "keeper@example.com", "password": "wrong-password"}});
            assert_eq!(api(&app.client, Method::Post, "/api/users/login", None, Some(wrong)).await.0, Status::Unauthorized);
        }
        let leaver = browser(&app).await;
        browser_register(&leaver, "leaver").await;
        let csrf = page_csrf(&leaver).await;
        assert_eq!(post_form(&leaver, "/logout", &[("csrf_token", &csrf)]).await.status(), Status::SeeOther);
        browser_register(&app.client, "stayer").await;
        let [logins, signups, keys, sessions] = rows(&app).await;
        assert_eq!((logins, signups, sessions), (2, 3, 3), "{keys} keys");
        assert!(keys >= 3, "the account's, the address's and the sign-up address's keys: {keys}");

        let config = app.client.rocket().state::<AppConfig>().expect("config");
        let now = Utc::now();
        // Now: only the signed-out session has ended.
        let pruned = conduit::housekeeping::prune(app.db(), config, now + Duration::seconds(1)).await.expect("prune");
        assert_eq!(pruned.sessions, 1);
        assert_eq!(rows(&app).await, [2, 3, keys, 2]);
        // The throttle still counts the failures it kept.
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM login_attempts WHERE email = 'keeper@example.com'").await, 2);

        // Past the login window and the sign-up hour: the throttle rows go, the live sessions stay.
        conduit::housekeeping::prune(app.db(), config, now + Duration::minutes(61)).await.expect("prune");
        assert_eq!(rows(&app).await, [0, 0, 0, 2]);
        let (status, _) = crate::support::get_page(&app.client, "/settings").await;
        assert_eq!(status, Status::Ok, "the signed-in browser is untouched");

        // Past the session's end: it goes too.
        conduit::housekeeping::prune(app.db(), config, now + Duration::days(400)).await.expect("prune");
        assert_eq!(rows(&app).await, [0, 0, 0, 0]);
    }
);

db_test!(
    async fn the_app_runs_a_pass_when_it_starts(app) {
        let other = browser(&app).await;
        browser_register(&other, "gone").await;
        let csrf = page_csrf(&other).await;
        post_form(&other, "/logout", &[("csrf_token", &csrf)]).await;
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM sessions").await, 1, "the test app itself runs no pass");

        // Another instance on the same database, with housekeeping on: its first pass runs at
        // liftoff and deletes the ended session.
        let figment = app.client.rocket().figment().clone().merge(("housekeeping_minutes", 60));
        let _instance = rocket::local::asynchronous::Client::untracked(conduit::rocket_with(figment)).await.expect("instance");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while scalar(app.db(), "SELECT COUNT(*) FROM sessions").await != 0 {
            assert!(std::time::Instant::now() < deadline, "no housekeeping pass within 20 s");
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
);
