//! `/api/docs`: the API reference as a page of the site (issue 19), rendered on the server from
//! the very document `/api/openapi.json` serves ([`ApiDocument`]): operations grouped by tag,
//! each with its method, path, authentication, parameters, request body and responses, then
//! the schemas they name. No script, nothing from another origin.

use rocket::{get, routes, Route, State};
use serde::Serialize;
use serde_json::Value;

use crate::api_doc::{ApiDocument, METHODS};
use crate::web::layout::Layout;
use crate::web::render::RenderedPage;

/// One parameter of an operation.
#[derive(Serialize)]
struct ParamView {
    name: String,
    location: String,
    required: bool,
    kind: TypeView,
    description: String,
}

/// A type as the page shows it: words, the anchor of the schema it names (for a link), and
/// its rules in words.
#[derive(Serialize, Default)]
struct TypeView {
    text: String,
    schema: Option<String>,
    rules: String,
}

/// One response of an operation.
#[derive(Serialize)]
struct ResponseView {
    status: String,
    description: String,
    kind: Option<TypeView>,
    headers: Vec<String>,
}

/// One operation.
#[derive(Serialize)]
struct OperationView {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    auth: &'static str,
    params: Vec<ParamView>,
    body: Option<TypeView>,
    body_description: String,
    responses: Vec<ResponseView>,
}

/// One tag's operations.
#[derive(Serialize)]
struct GroupView {
    anchor: String,
    name: String,
    description: String,
    operations: Vec<OperationView>,
}

/// One property of a schema.
#[derive(Serialize)]
struct FieldView {
    name: String,
    required: bool,
    kind: TypeView,
    description: String,
}

/// One schema.
#[derive(Serialize)]
struct SchemaView {
    anchor: String,
    name: String,
    description: String,
    kind: TypeView,
    fields: Vec<FieldView>,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().trim().to_owned()
}

/// The name of the schema a `$ref` points to.
fn ref_name(reference: &str) -> Option<&str> {
    reference.rsplit('/').next()
}

/// `#/components/responses/X` resolved against the document.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference.strip_prefix("#/").map_or(value, |path| {
            path.split('/').fold(doc, |node, key| &node[key])
        }),
        None => value,
    }
}

/// The rules a schema states, in words: lengths, ranges, patterns, items.
fn rules(schema: &Value) -> String {
    let mut rules = Vec::new();
    let number = |key: &str| schema.get(key).and_then(Value::as_u64);
    match (number("minLength"), number("maxLength")) {
        (Some(min), Some(max)) => rules.push(format!("{min} to {max} characters")),
        (Some(min), None) => rules.push(format!("at least {min} characters")),
        (None, Some(max)) => rules.push(format!("at most {max} characters")),
        (None, None) => {}
    }
    if let Some(min) = schema.get("minimum").and_then(Value::as_i64) {
        rules.push(format!("at least {min}"));
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_i64) {
        rules.push(format!("at most {max}"));
    }
    if let Some(min) = number("minItems") {
        rules.push(format!("at least {min} items"));
    }
    if let Some(max) = number("maxItems") {
        rules.push(format!("at most {max} items"));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values.iter().map(Value::to_string).collect();
        rules.push(format!("one of {}", values.join(", ")));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        rules.push(format!("matching {pattern}"));
    }
    rules.join("; ")
}

/// A schema in words: `string`, `array of Article`, `integer or null`, `Profile` (linked).
fn type_of(schema: &Value) -> TypeView {
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(ref_name)
    {
        return TypeView {
            text: name.to_owned(),
            schema: Some(anchor("schema", name)),
            rules: String::new(),
        };
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(choices) = schema.get(key).and_then(Value::as_array) {
            let names: Vec<String> = choices.iter().map(|c| type_of(c).text).collect();
            return TypeView {
                text: format!("one of {}", names.join(", ")),
                schema: None,
                rules: rules(schema),
            };
        }
    }
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().map(text).collect(),
        _ => vec!["any".to_owned()],
    };
    let mut linked = None;
    let words: Vec<String> = types
        .iter()
        .map(|t| {
            if t == "array" {
                let items = type_of(&schema["items"]);
                linked.clone_from(&items.schema);
                format!("array of {}", items.text)
            } else if let Some(format) = schema.get("format").and_then(Value::as_str) {
                format!("{t} ({format})")
            } else {
                t.clone()
            }
        })
        .collect();
    TypeView {
        text: words.join(" or "),
        schema: linked,
        rules: rules(schema),
    }
}

fn anchor(prefix: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{prefix}-{}", clean.trim_matches('-'))
}

fn operation(doc: &Value, method: &str, path: &str, op: &Value) -> OperationView {
    let security = op
        .get("security")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let auth = if security.is_empty() {
        "none"
    } else if security
        .iter()
        .any(|s| s.as_object().is_some_and(serde_json::Map::is_empty))
    {
        "optional"
    } else {
        "required"
    };
    let params = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| ParamView {
                    name: text(&p["name"]),
                    location: text(&p["in"]),
                    required: p["required"].as_bool().unwrap_or(false),
                    kind: type_of(&p["schema"]),
                    description: text(&p["description"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let body = op
        .get("requestBody")
        .map(|b| type_of(&b["content"]["application/json"]["schema"]));
    let responses = op["responses"]
        .as_object()
        .map(|rs| {
            rs.iter()
                .map(|(status, response)| {
                    let response = resolve(doc, response);
                    let content = response["content"]
                        .as_object()
                        .and_then(|c| c.values().next());
                    ResponseView {
                        status: status.clone(),
                        description: text(&response["description"]),
                        kind: content.map(|c| type_of(&c["schema"])),
                        headers: response["headers"]
                            .as_object()
                            .map(|h| h.keys().cloned().collect())
                            .unwrap_or_default(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    OperationView {
        anchor: anchor(&format!("op-{method}"), path),
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        summary: text(&op["summary"]),
        description: text(&op["description"]),
        auth,
        params,
        body,
        body_description: text(&op["requestBody"]["description"]),
        responses,
    }
}

/// The document's operations grouped by their first tag, in the document's tag order.
fn groups(doc: &Value) -> Vec<GroupView> {
    let mut groups: Vec<GroupView> = doc["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| GroupView {
                    anchor: anchor("tag", &text(&t["name"])),
                    name: text(&t["name"]),
                    description: text(&t["description"]),
                    operations: Vec::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    let Some(paths) = doc["paths"].as_object() else {
        return groups;
    };
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let tag = text(&op["tags"][0]);
            let index = if let Some(index) = groups.iter().position(|g| g.name == tag) {
                index
            } else {
                groups.push(GroupView {
                    anchor: anchor("tag", &tag),
                    name: tag,
                    description: String::new(),
                    operations: Vec::new(),
                });
                groups.len() - 1
            };
            groups[index]
                .operations
                .push(operation(doc, method, path, op));
        }
    }
    groups.retain(|g| !g.operations.is_empty());
    groups
}

fn schemas(doc: &Value) -> Vec<SchemaView> {
    doc["components"]["schemas"]
        .as_object()
        .map(|schemas| {
            schemas
                .iter()
                .map(|(name, schema)| {
                    let required: Vec<&str> = schema["required"]
                        .as_array()
                        .map(|r| r.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let fields = schema["properties"]
                        .as_object()
                        .map(|props| {
                            props
                                .iter()
                                .map(|(field, s)| FieldView {
                                    name: field.clone(),
                                    required: required.contains(&field.as_str()),
                                    kind: type_of(s),
                                    description: text(&s["description"]),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    SchemaView {
                        anchor: anchor("schema", name),
                        name: name.clone(),
                        description: text(&schema["description"]),
                        kind: type_of(schema),
                        fields,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where the document itself is served: its own operation's path (`getOpenApi`).
fn own_path(doc: &Value) -> Option<String> {
    doc["paths"].as_object().and_then(|paths| {
        paths
            .iter()
            .find(|(_, item)| item["get"]["operationId"] == "getOpenApi")
            .map(|(path, _)| path.clone())
    })
}

/// The reference page.
#[get("/api/docs")]
pub fn page(layout: Layout, doc: &State<ApiDocument>) -> RenderedPage {
    let doc = &doc.value;
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .map(|s| {
            s.values()
                .map(|v| text(&v["description"]))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    layout.render(
        "api/docs",
        serde_json::json!({
            "title": "API reference",
            "active": "api-docs",
            "intro": text(&doc["info"]["description"]),
            "version": text(&doc["info"]["version"]),
            "security": schemes,
            "groups": groups(doc),
            "schemas": schemas(doc),
            "document_url": own_path(doc),
        }),
    )
}

/// The routes of this module (mounted at `/`: the page's path is under `/api`).
pub fn routes() -> Vec<Route> {
    routes![page]
}
