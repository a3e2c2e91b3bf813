//! The OpenAPI document (issue 19): every mounted `/api` route is in it and nothing else is, it
//! is a consistent OpenAPI 3.1 document served like other GETs (cached, tagged), `/api/docs`
//! renders all of it, and what the document promises about odd requests holds.

use std::collections::BTreeSet;

use conduit::api_doc::openapi_path;
use conduit::db::Engine;
use rocket::http::{ContentType, Header, Method, Status};
use scraper::{Html, Selector};
use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::support::{api, get_page, register, texts};

/// Routes under `/api` that are not operations, each with why.
const NOT_OPERATIONS: [(&str, &str); 3] = [
    // The rate limiter's reroute target: asked for directly it is a 404.
    ("GET", "/api/__rate-limited"),
    // The CSRF gate's reroute target (auth::csrf), likewise.
    ("GET", "/api/__csrf-refused"),
    // The reference page (HTML, the site's), which renders the document.
    ("GET", "/api/docs"),
];

async fn document(app: &TestApp) -> Value {
    let res = app.client.get("/api/openapi.json").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    serde_json::from_str(&res.into_string().await.expect("a body")).expect("the document is JSON")
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[rocket::async_test]
async fn every_mounted_api_route_is_documented_and_every_documented_operation_is_mounted() {
    // Rate limits on, so their route is mounted too (the harness turns them off).
    let app = TestApp::spawn_with(Engine::Sqlite, "it::openapi::routes", |f| {
        f.merge(("rate_limits", true))
    })
    .await
    .expect("sqlite");
    let mut mounted = BTreeSet::new();
    for route in app.client.rocket().routes() {
        let path = route.uri.path().to_string();
        if path == "/api" || path.starts_with("/api/") {
            mounted.insert((route.method.as_str().to_owned(), openapi_path(&path)));
        }
    }
    for (method, path) in NOT_OPERATIONS {
        assert!(
            mounted.remove(&(method.to_owned(), path.to_owned())),
            "{method} {path} is listed as not an operation but is not mounted: drop it from the list"
        );
    }
    assert!(mounted.len() > 30, "the walk found the API: {mounted:?}");
    let documented = operations(&document(&app).await);
    let undocumented: Vec<_> = mounted.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "mounted under /api but not in /api/openapi.json (add #[utoipa::path] to the handler and \
         list it in its module's Doc, see src/api/openapi.rs): {undocumented:?}"
    );
    let unmounted: Vec<_> = documented.difference(&mounted).collect();
    assert!(
        unmounted.is_empty(),
        "documented but not mounted: {unmounted:?}"
    );
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    found.extend(v.as_str());
                }
                refs(v, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

/// Each operation: a unique id, a tag, its path's parameters declared as required path
/// parameters (and no others), a success, and the answers the fairings and guards give.
fn check_operations(doc: &Value) {
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let label = format!("{method} {path}");
            assert!(
                ids.insert(op["operationId"].as_str().expect("operationId").to_owned()),
                "{label}: operationId repeated"
            );
            assert!(op["tags"][0].is_string(), "{label}: no tag");
            // Each `{param}` of the path is a required path parameter, and no other is.
            let in_path: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .inspect(|p| assert_eq!(p["required"], true, "{label}"))
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(in_path, declared, "{label}: path parameters");
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.contains_key("429"),
                "{label}: the rate limits' 429"
            );
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured {
                for status in ["401", "403"] {
                    assert!(responses.contains_key(status), "{label}: {status}");
                }
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "415", "422"] {
                    assert!(responses.contains_key(status), "{label}: {status}");
                }
            }
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{label}: no success"
            );
        }
    }
}

#[rocket::async_test]
async fn the_document_is_consistent_openapi_3_1_and_served_like_other_gets() {
    let app = TestApp::spawn(Engine::Sqlite, "it::openapi::document")
        .await
        .expect("sqlite");
    let res = app.client.get("/api/openapi.json").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(
        res.headers().get_one("Content-Type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        res.headers().get_one("Cache-Control"),
        Some("public, no-cache")
    );
    let etag = res.headers().get_one("ETag").expect("an ETag").to_owned();
    let doc: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    let again = app
        .client
        .get("/api/openapi.json")
        .header(Header::new("If-None-Match", etag.clone()))
        .dispatch()
        .await;
    assert_eq!(again.status(), Status::NotModified);

    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Conduit API");
    // The security scheme: an apiKey in `Authorization`, its `Token ` prefix explained.
    let scheme = &doc["components"]["securitySchemes"]["token"];
    assert_eq!(
        (&scheme["type"], &scheme["in"], &scheme["name"]),
        (&json!("apiKey"), &json!("header"), &json!("Authorization"))
    );
    assert!(scheme["description"]
        .as_str()
        .unwrap()
        .contains("`Authorization: Token <credential>`"));

    // Every reference resolves.
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 50);
    for reference in found {
        let target = reference
            .strip_prefix("#/")
            .unwrap_or_else(|| panic!("not local: {reference}"))
            .split('/')
            .fold(&doc, |node, key| &node[key]);
        assert!(!target.is_null(), "{reference} points nowhere");
    }

    check_operations(&doc);
    // What the issue names, where it belongs.
    let list = &doc["paths"]["/api/articles"]["get"];
    let params: BTreeSet<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        params,
        BTreeSet::from(["q", "tag", "author", "favorited", "limit", "offset"])
    );
    assert_eq!(
        list["security"],
        json!([{}, { "token": [] }]),
        "optional authentication"
    );
    assert_eq!(
        doc["paths"]["/api/articles"]["post"]["security"],
        json!([{ "token": [] }])
    );
    let register = &doc["paths"]["/api/users"]["post"];
    assert!(register["responses"]["201"].is_object());
    assert_eq!(
        doc["paths"]["/api/admin/backups"]["post"]["responses"]["409"]["content"]
            ["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], json!(["errors"]));
    assert_eq!(error["properties"]["errors"]["required"], json!(["body"]));
    // Request bodies are the real serde types: required fields and their rules.
    let registration = &doc["components"]["schemas"]["Registration"];
    assert_eq!(
        registration["required"],
        json!(["username", "email", "password"])
    );
    assert_eq!(registration["properties"]["username"]["maxLength"], 32);
    assert_eq!(registration["properties"]["password"]["minLength"], 8);
    let update = &doc["components"]["schemas"]["UserUpdate"];
    assert!(update.get("required").is_none(), "{update}");
}

#[rocket::async_test]
async fn the_reference_page_renders_every_operation_and_schema() {
    let app = TestApp::spawn(Engine::Sqlite, "it::openapi::page")
        .await
        .expect("sqlite");
    let doc = document(&app).await;
    let (status, html) = get_page(&app.client, "/api/docs").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(texts(&html, "h1"), vec!["API reference"]);
    let mut shown: BTreeSet<(String, String)> = BTreeSet::new();
    for heading in texts(&html, ".api-operation h3") {
        let (method, path) = heading.split_once(' ').expect("METHOD path");
        shown.insert((method.to_owned(), path.trim().to_owned()));
    }
    assert_eq!(shown, operations(&doc));
    // Grouped by tag, in the document's order.
    let groups = texts(&html, ".api-group > h2");
    assert_eq!(groups.first().map(String::as_str), Some("users"));
    assert!(groups.contains(&"admin".to_owned()), "{groups:?}");
    // Each schema has its section; every in-page link lands on an element of the page.
    let schema_names: BTreeSet<String> = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let headings: BTreeSet<String> = texts(&html, ".api-schema h3").into_iter().collect();
    assert_eq!(headings, schema_names);
    let ids: BTreeSet<String> = html
        .select(&Selector::parse("[id]").unwrap())
        .filter_map(|e| e.value().attr("id").map(str::to_owned))
        .collect();
    for link in html.select(&Selector::parse("a[href^='#']").unwrap()) {
        let target = &link.value().attr("href").unwrap()[1..];
        assert!(ids.contains(target), "#{target} has no element");
    }
    // What one operation shows: its parameters, body, responses, authentication.
    let create = html
        .select(&Selector::parse("article.api-operation").unwrap())
        .find(|a| {
            a.select(&Selector::parse("h3").unwrap())
                .next()
                .is_some_and(|h| h.text().collect::<String>() == "POST /api/articles")
        })
        .expect("POST /api/articles");
    let text: String = create.text().collect();
    for expected in [
        "Authentication: required",
        "ArticleEnvelope_NewArticle",
        "201",
        "422",
        "429",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    // The page links to the document, and the site's footer to the page.
    let links: Vec<String> = html
        .select(&Selector::parse("main a[href]").unwrap())
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert!(links.contains(&"/api/openapi.json".to_owned()), "{links:?}");
    let (_, home) = get_page(&app.client, "/").await;
    let footer = Html::parse_fragment(&home.html());
    assert_eq!(
        crate::support::attrs(&footer, "footer a.api-docs-link", "href"),
        vec!["/api/docs"]
    );
}

db_test!(
    async fn what_the_document_promises_about_odd_requests_holds(app) {
        // Another method at an API path: 405 with the methods there, not 404.
        let res = app.client.patch("/api/tags").dispatch().await;
        assert_eq!(res.status(), Status::MethodNotAllowed);
        assert_eq!(res.headers().get_one("Allow"), Some("GET, HEAD"));
        let res = app.client.req(Method::Trace, "/api/articles/some-slug").dispatch().await;
        assert_eq!(res.status(), Status::MethodNotAllowed);
        assert_eq!(res.headers().get_one("Allow"), Some("DELETE, GET, HEAD, PUT"));
        // A path no route has stays a 404; so does a known route's missing record.
        assert_eq!(app.client.patch("/api/nothing-here").dispatch().await.status(), Status::NotFound);
        let (status, _) = api(&app.client, Method::Get, "/api/articles/no-such-article", None, None).await;
        assert_eq!(status, Status::NotFound);

        let token = register(&app.client, "oddity").await;
        // A path id that is not a 64-bit number: 422, as documented.
        let (status, body) = api(&app.client, Method::Delete, "/api/articles/x/comments/9223372036854775808", Some(&token), None).await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}");
        // A list parameter given twice: 422 naming it (neither value is guessed at).
        for path in ["/api/articles?offset=1&offset=2", "/api/articles/feed?limit=1&limit=1"] {
            let (status, body) = api(&app.client, Method::Get, path, Some(&token), None).await;
            assert_eq!(status, Status::UnprocessableEntity, "{path}: {body}");
            let name = if path.contains("offset") { "offset" } else { "limit" };
            assert_eq!(body["errors"][name], json!(["is given more than once"]), "{body}");
        }
        // Any search text is taken (tests/it/search.rs): the document puts no rule on `q`.
        let (status, body) = api(&app.client, Method::Get, "/api/articles?q=a%0Fb", None, None).await;
        assert_eq!(status, Status::Ok, "{body}");
        // More than 10 tags, counted as sent (repeats too): 422, and nothing is written.
        let eleven: Vec<&str> = std::iter::repeat_n("same", 11).collect();
        let (status, body) = api(
            &app.client,
            Method::Post,
            "/api/articles",
            Some(&token),
            Some(json!({"article": {"title": "Tags", "description": "d", "body": "b", "tagList": eleven}})),
        )
        .await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}");
        assert!(body["errors"]["tagList"].is_array(), "{body}");
        // `null` where the document says nullable: no tags; in a change, no change.
        let (status, body) = api(
            &app.client,
            Method::Post,
            "/api/articles",
            Some(&token),
            Some(json!({"article": {"title": "Nulls", "description": "d", "body": "b", "tagList": null}})),
        )
        .await;
        assert_eq!(status, Status::Created, "{body}");
        let (status, body) = api(
            &app.client,
            Method::Put,
            "/api/articles/nulls",
            Some(&token),
            Some(json!({"article": {"title": null, "body": "new"}})),
        )
        .await;
        assert_eq!(status, Status::Ok, "{body}");
        assert_eq!((body["article"]["title"].as_str(), body["article"]["body"].as_str()), (Some("Nulls"), Some("new")));
        // A body that is not JSON: 415, as every operation with a body documents.
        let res = app
            .client
            .post("/api/articles")
            .header(ContentType::Form)
            .header(Header::new("Authorization", format!("Token {token}")))
            .body("a=b")
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::UnsupportedMediaType);
    }
);
