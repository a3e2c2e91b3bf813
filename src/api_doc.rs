//! The API's OpenAPI 3.1 document (issue 19): what every face's documentation shares, and the
//! finished document as the app keeps it ([`ApiDocument`], managed state: the API serves it at
//! `/api/openapi.json`, the site renders it at `/api/docs`).
//!
//! The operations are described where they are handled: each `/api` handler carries a
//! `#[utoipa::path(...)]` attribute and is listed in its module's `Doc` (beside `routes()`),
//! its request and response bodies are the real serde types deriving `ToSchema`.
//! [`finish`] then adds what holds for many operations at once, as the app's fairings and
//! guards make it hold: the security scheme, `429` on every operation (the rate limits), `503`
//! (an overloaded pool or hasher), `401`/`403` wherever a credential is read, and the body
//! guard's `400`/`413`/`415`/`422` wherever a JSON body is read. `tests/it/openapi.rs` checks
//! that every mounted `/api` route is documented and nothing else is.

use serde_json::{json, Map, Value};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The name of the security scheme in the document.
pub const SECURITY_SCHEME: &str = "token";

/// The error body of every `/api` answer that is not a success: RealWorld's
/// `{"errors": {"body": ["..."], "<field>": ["..."]}}`. `errors.body` always holds the full
/// messages; a validation failure (422) names each field beside it.
pub struct ErrorBody;

impl PartialSchema for ErrorBody {
    fn schema() -> RefOr<Schema> {
        let messages = || ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String));
        let errors = ObjectBuilder::new()
            .property(
                "body",
                messages().description(Some("Every message, in full.")),
            )
            .required("body")
            .additional_properties(Some(messages()))
            .description(Some(
                "Messages by field (`email`, `title`, `limit`, ...), beside `body`.",
            ));
        ObjectBuilder::new()
            .property("errors", errors)
            .required("errors")
            .into()
    }
}

impl ToSchema for ErrorBody {}

/// The document as the app serves it: the JSON value and its serialized bytes.
#[derive(Debug, Clone)]
pub struct ApiDocument {
    /// The document.
    pub value: Value,
    /// `value` as served (compact JSON).
    pub json: String,
}

impl ApiDocument {
    /// The finished document of `openapi` (see [`finish`]).
    pub fn new(openapi: &utoipa::openapi::OpenApi) -> Self {
        let mut value = serde_json::to_value(openapi).unwrap_or_else(|e| {
            // Only a bug in a hand-written schema could fail here; the tests would catch it.
            log::error!("the OpenAPI document does not serialize: {e}");
            json!({})
        });
        finish(&mut value);
        let json = value.to_string();
        Self { value, json }
    }
}

/// HTTP methods as the document's path items name them.
pub const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn error_response(description: &str, headers: Value) -> Value {
    let mut response = json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } },
    });
    if headers.as_object().is_some_and(|h| !h.is_empty()) {
        response["headers"] = headers;
    }
    response
}

fn retry_after(description: &str) -> Value {
    json!({ "description": description, "schema": { "type": "integer", "minimum": 0 } })
}

/// The shared responses, by name in `components.responses`.
fn shared_responses() -> Value {
    json!({
        "BadRequest": error_response("The body is not JSON, not UTF-8, or malformed.", json!({})),
        "Unauthorized": error_response(
            "No valid credential: a missing, malformed, expired or revoked token, a disabled \
             account, or (where the answer says so) a login too old for this action.",
            json!({}),
        ),
        "Forbidden": error_response(
            "The credential may not do this: a personal access token without the scope (the \
             message names it), a non-admin on `/api/admin`, a cookie session without its \
             `X-CSRF-Token`, or a rule of the operation.",
            json!({}),
        ),
        "InvalidParameter": error_response(
            "A path parameter is not what the route takes (an id that is not a whole number \
             that fits 64 bits).",
            json!({}),
        ),
        "PayloadTooLarge": error_response("The body is over the configured `json` limit.", json!({})),
        "UnsupportedMediaType": error_response("The body is not `application/json`.", json!({})),
        "InvalidBody": error_response(
            "The JSON does not have the documented shape (a missing object, a wrong type), or a \
             field breaks a rule: `errors` names each field.",
            json!({}),
        ),
        "TooManyRequests": error_response(
            "Over a rate limit: the API's budget (reads and writes apart, per token, user or \
             address; see `RateLimit-Policy`) or a password check's throttle.",
            json!({
                "Retry-After": retry_after("Seconds until a request may succeed."),
                "RateLimit": {
                    "description": "Where the caller stands: `\"<policy>\";r=<left>;t=<seconds>`.",
                    "schema": { "type": "string" },
                },
                "RateLimit-Policy": {
                    "description": "The budget: `\"<policy>\";q=<requests>;w=<seconds>`.",
                    "schema": { "type": "string" },
                },
            }),
        ),
        "Unavailable": error_response(
            "The database or the password hasher is overloaded or unreachable; retry.",
            json!({ "Retry-After": retry_after("Seconds to wait before retrying.") }),
        ),
    })
}

fn response_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

/// Add to `responses` each `(status, shared response)` it does not already describe.
fn add_missing(responses: &mut Map<String, Value>, shared: &[(&str, &str)]) {
    for (status, name) in shared {
        responses
            .entry((*status).to_owned())
            .or_insert_with(|| response_ref(name));
    }
}

/// Complete the generated document: the security scheme, the shared responses, and each
/// operation's answers that come from the app's fairings and guards rather than its handler.
pub fn finish(doc: &mut Value) {
    doc["components"]["securitySchemes"] = json!({
        SECURITY_SCHEME: {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: Token <credential>`, the word `Token`, a space, \
                then either the JWT of a login (`user.token` from `POST /api/users/login` or \
                `POST /api/users`) or a personal access token (`cdt_...`, from \
                `POST /api/user/tokens`; what it may do is its scopes: `read`, `write`, \
                `admin`). `Bearer` is accepted in place of `Token`. The site's session cookie \
                also works, with an `X-CSRF-Token` header on every write.",
        }
    });
    doc["components"]["responses"] = shared_responses();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            let secured = op
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| !s.is_empty());
            let has_body = op.contains_key("requestBody");
            let numeric_path =
                op.get("parameters")
                    .and_then(Value::as_array)
                    .is_some_and(|params| {
                        params
                            .iter()
                            .any(|p| p["in"] == "path" && p["schema"]["type"] == "integer")
                    });
            let responses = op
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut();
            let Some(responses) = responses else { continue };
            if has_body {
                add_missing(
                    responses,
                    &[
                        ("400", "BadRequest"),
                        ("413", "PayloadTooLarge"),
                        ("415", "UnsupportedMediaType"),
                        ("422", "InvalidBody"),
                    ],
                );
            }
            if secured {
                add_missing(responses, &[("401", "Unauthorized"), ("403", "Forbidden")]);
            }
            if numeric_path {
                // Rocket forwards a parameter that does not parse with 422.
                add_missing(responses, &[("422", "InvalidParameter")]);
            }
            add_missing(
                responses,
                &[("429", "TooManyRequests"), ("503", "Unavailable")],
            );
        }
    }
}

/// The `path` of an operation in the document for a Rocket route's URI path: `<param>` (and
/// `<param..>`) becomes `{param}`; the query part is not part of it.
pub fn openapi_path(rocket_path: &str) -> String {
    rocket_path
        .split('/')
        .map(|segment| {
            segment
                .strip_prefix('<')
                .and_then(|s| s.strip_suffix('>'))
                .map_or_else(
                    || segment.to_owned(),
                    |name| format!("{{{}}}", name.trim_end_matches("..")),
                )
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rocket_paths_become_openapi_paths() {
        assert_eq!(openapi_path("/api/tags"), "/api/tags");
        assert_eq!(
            openapi_path("/api/articles/<slug>/comments/<id>"),
            "/api/articles/{slug}/comments/{id}"
        );
        assert_eq!(openapi_path("/api/admin/<rest..>"), "/api/admin/{rest}");
    }

    #[test]
    fn finishing_adds_the_answers_fairings_and_guards_give() {
        let mut doc = json!({
            "openapi": "3.1.0",
            "paths": {
                "/api/x": {
                    "get": { "responses": { "200": { "description": "ok" } } },
                    "post": {
                        "security": [{ "token": [] }],
                        "requestBody": { "content": {} },
                        "responses": { "422": { "description": "own" } },
                    },
                },
            },
        });
        finish(&mut doc);
        let get = &doc["paths"]["/api/x"]["get"]["responses"];
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(get), ["200", "429", "503"]);
        let post = &doc["paths"]["/api/x"]["post"]["responses"];
        assert_eq!(
            keys(post),
            ["400", "401", "403", "413", "415", "422", "429", "503"]
        );
        assert_eq!(
            post["422"]["description"], "own",
            "an operation's own stays"
        );
        assert_eq!(
            doc["components"]["securitySchemes"]["token"]["name"],
            "Authorization"
        );
    }
}
