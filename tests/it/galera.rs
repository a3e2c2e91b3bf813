//! The app on a 3-node MariaDB Galera cluster this test binary starts on loopback ports
//! ([`crate::mariadb_server`], the `galera-4` provider, rsync state transfers): one cluster for
//! all these tests, started by the first of them. Two app instances write through two nodes
//! (the API's main flows, then racing writes on shared tags, one article's favorites and
//! comments): no 500, every acknowledged write on the third node, every counter equal to a
//! fresh count. Also: two instances migrating an empty database at once through two nodes,
//! a node stopped and restarted while the others serve, and `galera_sync_wait`.
//!
//! MySQL only. Without the packages the tests report a skip, unless
//! `CONDUIT_TEST_REQUIRE_MYSQL=1`, which makes them fail.

use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

use crate::admin::create_article;
use crate::galera_cluster::{
    alone, assert_counters_fresh, count, shared, start_node, wait_synced, OnCluster,
};
use crate::harness::test_figment;
use crate::support::{api, race, register};

/// Racers per round of the concurrent writes, half through each node.
const RACERS: usize = 8;
/// Rounds of the concurrent writes.
const ROUNDS: usize = 6;

async fn login(client: &Client, username: &str) -> String {
    let body = json!({"user": {"email": format!("{username}@example.com"), "password": format!("password-{username}")}});
    let (status, value) = api(client, Method::Post, "/api/users/login", None, Some(body)).await;
    assert_eq!(status, Status::Ok, "{value}");
    value["user"]["token"].as_str().expect("token").to_owned()
}

#[rocket::async_test]
async fn the_api_flows_run_through_two_nodes() {
    let Some(on) = shared("galera::api_flows").await else {
        return;
    };
    // A load balancer may send each request to either node: sessions wait for the cluster.
    let (one, two) = (on.app(0, 1).await, on.app(1, 1).await);

    let alice = register(&one, "alice").await;
    register(&two, "bob").await;
    let bob = login(&one, "bob").await;
    assert!(!login(&two, "alice").await.is_empty());

    let slug = create_article(&two, &alice, "Galera notes", &["galera", "mariadb"]).await;
    let (status, body) = api(
        &one,
        Method::Get,
        &format!("/api/articles/{slug}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["article"]["tagList"], json!(["galera", "mariadb"]));

    let (status, body) = api(
        &one,
        Method::Post,
        &format!("/api/articles/{slug}/favorite"),
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["article"]["favoritesCount"], 1);
    let (status, body) = api(
        &two,
        Method::Post,
        &format!("/api/articles/{slug}/comments"),
        Some(&bob),
        Some(json!({"comment": {"body": "Synchronous, nice."}})),
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    let (status, body) = api(
        &one,
        Method::Get,
        &format!("/api/articles/{slug}/comments"),
        None,
        None,
    )
    .await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body["comments"][0]["body"], "Synchronous, nice.");

    let (status, body) = api(
        &two,
        Method::Post,
        "/api/profiles/alice/follow",
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["profile"]["following"], true);
    let (status, feed) = api(&one, Method::Get, "/api/articles/feed", Some(&bob), None).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(feed["articlesCount"], 1);
    assert_eq!(feed["articles"][0]["slug"], slug.as_str());
    assert_eq!(feed["articles"][0]["favorited"], true);
    let (_, tags) = api(&two, Method::Get, "/api/tags", None, None).await;
    assert_eq!(tags["tags"], json!(["galera", "mariadb"]));

    let mut third = on.checker(2).await;
    assert_eq!(count(&mut third, "SELECT COUNT(*) FROM comments").await, 1);
    assert_counters_fresh(&mut third).await;

    the_rest_of_the_writes(&one, &two, &slug, &alice, &bob).await;
    assert_eq!(count(&mut third, "SELECT COUNT(*) FROM articles").await, 0);
    assert_counters_fresh(&mut third).await;
}

/// The rest of the API's writes after `the_api_flows_run_through_two_nodes`' first ones, each
/// through the node the last read did not use: edit, unfavorite, comment delete, profile
/// update, unfollow and delete; the article and its tags are gone through both.
async fn the_rest_of_the_writes(one: &Client, two: &Client, slug: &str, alice: &str, bob: &str) {
    // The rest of the API's writes, each through the node the last read did not use.
    let edit = json!({"article": {"body": "Edited on node 2", "tagList": ["galera", "cluster"]}});
    let path = format!("/api/articles/{slug}");
    let (status, body) = api(two, Method::Put, &path, Some(alice), Some(edit)).await;
    assert_eq!(status, Status::Ok, "{body}");
    let (_, body) = api(one, Method::Get, &path, None, None).await;
    assert_eq!(body["article"]["body"], "Edited on node 2", "{body}");
    assert_eq!(
        body["article"]["tagList"],
        json!(["cluster", "galera"]),
        "{body}"
    );
    let (status, body) = api(
        two,
        Method::Delete,
        &format!("{path}/favorite"),
        Some(bob),
        None,
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    let (_, body) = api(one, Method::Get, &path, Some(bob), None).await;
    assert_eq!(
        (
            body["article"]["favorited"].clone(),
            body["article"]["favoritesCount"].clone()
        ),
        (json!(false), json!(0)),
        "{body}"
    );
    let (_, comments) = api(two, Method::Get, &format!("{path}/comments"), None, None).await;
    let id = comments["comments"][0]["id"].as_i64().expect("comment id");
    let (status, _) = api(
        one,
        Method::Delete,
        &format!("{path}/comments/{id}"),
        Some(bob),
        None,
    )
    .await;
    assert!(status.code < 300, "{status}");
    let (_, comments) = api(two, Method::Get, &format!("{path}/comments"), None, None).await;
    assert_eq!(comments["comments"], json!([]));
    let bio = json!({"user": {"bio": "Writes through node 2"}});
    let (status, body) = api(two, Method::Put, "/api/user", Some(bob), Some(bio)).await;
    assert_eq!(status, Status::Ok, "{body}");
    let (_, body) = api(one, Method::Get, "/api/profiles/bob", None, None).await;
    assert_eq!(body["profile"]["bio"], "Writes through node 2", "{body}");
    let (status, body) = api(
        one,
        Method::Delete,
        "/api/profiles/alice/follow",
        Some(bob),
        None,
    )
    .await;
    assert_eq!(
        (status, body["profile"]["following"].clone()),
        (Status::Ok, json!(false)),
        "{body}"
    );
    let (_, feed) = api(two, Method::Get, "/api/articles/feed", Some(bob), None).await;
    assert_eq!(feed["articlesCount"], 0, "{feed}");
    let (status, _) = api(one, Method::Delete, &path, Some(alice), None).await;
    assert!(status.code < 300, "{status}");
    let (status, _) = api(two, Method::Get, &path, None, None).await;
    assert_eq!(status, Status::NotFound);
    // Through the instance that deleted (another keeps its popular tags up to a second).
    let (_, tags) = api(one, Method::Get, "/api/tags", None, None).await;
    assert_eq!(tags["tags"], json!([]), "{tags}");
}

/// What one racer got: statuses of its requests, and what was acknowledged.
#[derive(Default)]
struct Outcome {
    statuses: Vec<Status>,
    slugs: Vec<String>,
    comments: Vec<i64>,
}

/// Racer `i` of `round`: writes an article with shared tags, favorites and comments on
/// `target`.
async fn racer(client: &Client, token: &str, target: &str, i: usize, round: usize) -> Outcome {
    let mut out = Outcome::default();
    let (status, body) = api(
        client,
        Method::Post,
        "/api/articles",
        Some(token),
        Some(
            json!({"article": {"title": format!("Shared {round}"), "description": "d",
            "body": "b", "tagList": ["hot", "shared", format!("t{}", i % 3)]}}),
        ),
    )
    .await;
    out.statuses.push(status);
    if status == Status::Created {
        out.slugs
            .push(body["article"]["slug"].as_str().expect("slug").to_owned());
    }
    let (status, _) = api(
        client,
        Method::Post,
        &format!("/api/articles/{target}/favorite"),
        Some(token),
        None,
    )
    .await;
    out.statuses.push(status);
    let (status, body) = api(
        client,
        Method::Post,
        &format!("/api/articles/{target}/comments"),
        Some(token),
        Some(json!({"comment": {"body": format!("racer {i} in round {round}")}})),
    )
    .await;
    out.statuses.push(status);
    if status == Status::Ok {
        out.comments
            .push(body["comment"]["id"].as_i64().expect("id"));
    }
    out
}

#[rocket::async_test]
async fn concurrent_writes_through_two_nodes_never_answer_500_and_all_arrive() {
    let Some(on) = shared("galera::concurrent_writes").await else {
        return;
    };
    let apps = [on.app(0, 0).await, on.app(1, 0).await];
    let mut tokens = Vec::new();
    for i in 0..RACERS {
        tokens.push(register(&apps[i % 2], &format!("racer{i}")).await);
    }
    let mut outcomes: Vec<Outcome> = (0..RACERS).map(|_| Outcome::default()).collect();
    for round in 0..ROUNDS {
        // Everyone favorites and comments on this round's article, and writes one with the
        // same shared tags, at once, half through each node.
        let target =
            create_article(&apps[0], &tokens[0], &format!("Target {round}"), &["hot"]).await;
        // Node 2's instance reads without `wsrep_sync_wait` (0 here), so it may not have
        // applied the new article yet (CI saw a 404): the race starts once both nodes have it.
        for tries in 0.. {
            let (status, _) = api(
                &apps[1],
                Method::Get,
                &format!("/api/articles/{target}"),
                None,
                None,
            )
            .await;
            if status == Status::Ok {
                break;
            }
            assert!(tries < 100, "node 2 never saw the target: {status}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let results = race(RACERS, |i| {
            racer(&apps[i % 2], &tokens[i], &target, i, round)
        });
        for (all, got) in outcomes.iter_mut().zip(results) {
            all.statuses.extend(got.statuses);
            all.slugs.extend(got.slugs);
            all.comments.extend(got.comments);
        }
    }
    let statuses: Vec<Status> = outcomes.iter().flat_map(|o| o.statuses.clone()).collect();
    let unavailable = statuses
        .iter()
        .filter(|s| **s == Status::ServiceUnavailable)
        .count();
    let failed: Vec<&Status> = statuses
        .iter()
        .filter(|s| s.code >= 500 && **s != Status::ServiceUnavailable)
        .collect();
    assert!(failed.is_empty(), "server errors: {failed:?}");
    assert!(
        unavailable * 50 <= statuses.len(),
        "{unavailable} of {} requests ran out of retries",
        statuses.len()
    );
    let unexpected: Vec<&Status> = statuses
        .iter()
        .filter(|s| !matches!(s.code, 200 | 201 | 503))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");

    {
        let nodes = on.cluster.nodes.lock().expect("nodes");
        for node in nodes.iter().take(2).flatten() {
            eprintln!(
                "galera: {unavailable} requests of {} out of retries; node conflicts: {}",
                statuses.len(),
                node.sql(
                    "SELECT GROUP_CONCAT(CONCAT(VARIABLE_NAME, '=', VARIABLE_VALUE)) FROM information_schema.GLOBAL_STATUS \
                     WHERE VARIABLE_NAME IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')"
                )
            );
        }
    }
    assert_all_arrived(&on, &outcomes, unavailable).await;
    let (_, tags) = api(&apps[1], Method::Get, "/api/tags", None, None).await;
    assert_eq!(tags["tags"][0], "hot", "{tags}");
}

/// Every write acknowledged in `outcomes` is on the third node, once; the counters there are
/// exact.
async fn assert_all_arrived<G>(on: &OnCluster<G>, outcomes: &[Outcome], unavailable: usize) {
    let statuses = outcomes.iter().map(|o| o.statuses.len()).sum::<usize>();
    let mut third = on.checker(2).await;
    let slugs: Vec<&String> = outcomes.iter().flat_map(|o| &o.slugs).collect();
    let comments: Vec<i64> = outcomes.iter().flat_map(|o| o.comments.clone()).collect();
    let mut sorted = slugs.clone();
    sorted.sort();
    let repeated: Vec<&&String> = sorted
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| &pair[0])
        .collect();
    assert!(
        repeated.is_empty(),
        "two articles got one slug: {repeated:?} (of {} acknowledged; {unavailable} requests out of retries)",
        slugs.len()
    );
    for slug in &slugs {
        let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM articles WHERE slug = ?")
            .bind(slug.as_str())
            .fetch_one(&mut third)
            .await
            .expect("article");
        assert_eq!(found, 1, "{slug} on node 3");
    }
    assert_eq!(
        count(
            &mut third,
            "SELECT COUNT(*) FROM articles WHERE title LIKE 'Shared %'"
        )
        .await,
        i64::try_from(slugs.len()).expect("len"),
        "an article nobody was told about, or one missing"
    );
    for id in &comments {
        let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM comments WHERE id = ?")
            .bind(id)
            .fetch_one(&mut third)
            .await
            .expect("comment");
        assert_eq!(found, 1, "comment {id} on node 3");
    }
    assert_eq!(
        count(&mut third, "SELECT COUNT(*) FROM comments").await,
        i64::try_from(comments.len()).expect("len")
    );
    let favorited = i64::try_from((statuses / 3).saturating_sub(unavailable)).expect("count");
    assert!(count(&mut third, "SELECT COUNT(*) FROM favorites").await >= favorited);
    assert_counters_fresh(&mut third).await;
}

#[rocket::async_test]
async fn two_instances_migrating_at_once_through_two_nodes_apply_each_migration_once() {
    let Some(on) = shared("galera::migrate_at_once").await else {
        return;
    };
    let started = race(2, |i| {
        let url = on.cluster.url(i, &on.db);
        async move {
            Client::untracked(conduit::rocket_with(test_figment(&url)))
                .await
                .map_err(|e| format!("{:?}", e.kind()))
        }
    });
    let mut clients = Vec::new();
    for result in started {
        clients.push(result.expect("both instances start"));
    }
    for client in &clients {
        let (status, _) = api(client, Method::Get, "/api/tags", None, None).await;
        assert_eq!(status, Status::Ok);
    }
    let mut third = on.checker(2).await;
    let files = std::fs::read_dir("migrations/mysql")
        .expect("migrations")
        .count();
    assert_eq!(
        count(
            &mut third,
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE success"
        )
        .await,
        i64::try_from(files).expect("count")
    );
    assert_eq!(
        count(&mut third, "SELECT COUNT(*) FROM _conduit_migration_lock").await,
        0,
        "the migration lock was given back"
    );
    // Galera replicates rows by primary key: every table has one.
    let without_pk: Vec<String> = sqlx::query_scalar(
        "SELECT t.TABLE_NAME FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = DATABASE() \
         AND t.TABLE_TYPE = 'BASE TABLE' AND NOT EXISTS (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS c \
         WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY')",
    )
    .fetch_all(&mut third)
    .await
    .expect("tables");
    assert!(
        without_pk.is_empty(),
        "tables without a primary key: {without_pk:?}"
    );
}

#[rocket::async_test]
async fn with_galera_sync_wait_a_write_through_one_node_is_read_at_once_through_another() {
    let Some(on) = shared("galera::sync_wait").await else {
        return;
    };
    let (one, two) = (on.app(0, 1).await, on.app(1, 1).await);
    let token = register(&one, "writer").await;
    for n in 0..20 {
        let slug = create_article(&one, &token, &format!("Fresh {n}"), &["now"]).await;
        let (status, body) = api(
            &two,
            Method::Get,
            &format!("/api/articles/{slug}"),
            None,
            None,
        )
        .await;
        assert_eq!(status, Status::Ok, "article {n} not yet on node 2: {body}");
    }
    let wait: u64 =
        crate::support::db_run!(two.rocket().state::<conduit::db::Db>().expect("db"), |c| {
            sqlx::query_scalar::<_, u64>("SELECT @@SESSION.wsrep_sync_wait")
                .fetch_one(c)
                .await
        })
        .expect("variable");
    assert_eq!(wait, 1);
    // Out of range (the variable is a 4-bit mask): the app refuses to start.
    let bad =
        test_figment(&on.cluster.url(0, &on.db)).merge(("databases.main.galera_sync_wait", 16));
    let refused = Client::untracked(conduit::rocket_with(bad))
        .await
        .err()
        .map(|e| format!("{:?}", e.kind()));
    assert!(refused.is_some(), "started with galera_sync_wait = 16");
}

#[rocket::async_test]
async fn a_node_stopped_mid_run_leaves_the_others_serving_and_rejoins_with_the_data() {
    let Some(on) = alone("galera::node_restart").await else {
        return;
    };
    let cluster = on.cluster;
    let one = on.app(0, 0).await;
    let token = register(&one, "steady").await;
    let mut slugs = Vec::new();
    // Writers through node 1 while node 2 shuts down beside them.
    let results =
        race(5, |i| {
            let (one, token) = (&one, &token);
            async move {
                if i == 0 {
                    let stopped = cluster.nodes.lock().expect("nodes")[1].take();
                    drop(stopped);
                    return Vec::new();
                }
                let mut out = Vec::new();
                for n in 0..6 {
                    let (status, body) = api(
                    one,
                    Method::Post,
                    "/api/articles",
                    Some(token),
                    Some(json!({"article": {"title": format!("During {i} {n}"), "description": "d",
                        "body": "b", "tagList": ["steady"]}})),
                )
                .await;
                    out.push((status, body));
                }
                out
            }
        });
    for (status, body) in results.into_iter().flatten() {
        assert_eq!(status, Status::Created, "{body}");
        slugs.push(body["article"]["slug"].as_str().expect("slug").to_owned());
    }
    {
        let nodes = cluster.nodes.lock().expect("nodes");
        wait_synced(&nodes, 2);
    }
    // More while it is away, then it comes back on an empty data directory (a full state
    // transfer) and has everything.
    slugs.push(create_article(&one, &token, "While away", &["steady"]).await);
    let restarted = start_node(&cluster.ports, 1, false);
    {
        let mut nodes = cluster.nodes.lock().expect("nodes");
        nodes[1] = Some(restarted);
        wait_synced(&nodes, 3);
    }
    let mut second = on.checker(1).await;
    assert_eq!(
        count(&mut second, "SELECT COUNT(*) FROM articles").await,
        i64::try_from(slugs.len()).expect("len")
    );
    assert_counters_fresh(&mut second).await;
    let two = on.app(1, 0).await;
    let (status, body) = api(&two, Method::Get, "/api/articles?tag=steady", None, None).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body["articlesCount"], json!(slugs.len()));
}
