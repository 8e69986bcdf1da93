//! The OpenAPI document at `/api/openapi.json` against the API itself:
//! every documented operation is called, answers one of its documented
//! statuses, and its JSON answer matches the documented schema (no field
//! missing, none undocumented). Lists page with `limit` and `offset`;
//! errors are problem+json naming the field.

use std::collections::BTreeMap;

use cbt_testkit::{TestApp, TestDatabase};
use reqwest::Method;
use serde_json::{Value, json};

async fn send(app: &TestApp, token: &str, method: Method, path: &str, body: Option<&Value>) -> (u16, String, Value) {
    let mut request = reqwest::Client::new().request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, r.json().await.unwrap_or(Value::Null))
}

/// The schema `#/components/schemas/Name` points at.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected ref {r}"));
            let target = &doc["components"]["schemas"][name];
            assert!(!target.is_null(), "{r} is not in the document");
            resolve(doc, target)
        }
        None => schema,
    }
}

/// Where `value` breaks `schema`, if anywhere (the subset of JSON Schema
/// that utoipa writes: $ref, type, properties, required, items, enum,
/// oneOf/anyOf/allOf).
fn mismatch(doc: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    let schema = resolve(doc, schema);
    if let Some(all) = schema["allOf"].as_array() {
        return all.iter().find_map(|s| mismatch(doc, s, value, at));
    }
    if let Some(any) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        let problems: Vec<String> = any.iter().filter_map(|s| mismatch(doc, s, value, at)).collect();
        return (problems.len() == any.len()).then(|| format!("{at}: matches none of: {}", problems.join("; ")));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Some(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let actual = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if !types.iter().any(|t| *t == actual || (*t == "number" && actual == "integer")) {
        return Some(format!("{at}: a {actual}, documented as {types:?}"));
    }
    match value {
        Value::Object(fields) => {
            let properties = schema["properties"].as_object().cloned().unwrap_or_default();
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap();
                if !fields.contains_key(name) {
                    return Some(format!("{at}: required `{name}` is missing"));
                }
            }
            for (name, field) in fields {
                let Some(property) = properties.get(name) else {
                    if schema["additionalProperties"].is_object() || schema["additionalProperties"] == json!(true) {
                        continue;
                    }
                    return Some(format!("{at}: `{name}` is not documented"));
                };
                if let Some(problem) = mismatch(doc, property, field, &format!("{at}.{name}")) {
                    return Some(problem);
                }
            }
            None
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| schema.get("items").and_then(|s| mismatch(doc, s, item, &format!("{at}[{i}]")))),
        _ => None,
    }
}

/// A custom instrument's definition as the API takes it: two yes/no items.
fn instrument(short_name: &str) -> Value {
    let options = json!([{"value": 0, "label": "No"}, {"value": 1, "label": "Yes"}]);
    json!({"id": "documented", "version": 1, "name": "Documented Measure", "short_name": short_name,
        "instructions": "Is this true of you?", "licence": "Written for the tests",
        "response_scales": [{"id": "yes-no", "options": options}],
        "items": [{"number": 1, "text": "First", "scale": "yes-no"}, {"number": 2, "text": "Second", "scale": "yes-no"}],
        "scoring": {"source": "The sum", "bands": [{"min": 0, "max": 1, "label": "Low"}, {"min": 2, "max": 2, "label": "High"}]},
        "missing_items": {"statement": "Both items are needed.", "source": "Chosen"}})
}

/// The caller's records, by the kind in the path before `{id}`.
async fn records(app: &TestApp, token: &str) -> BTreeMap<&'static str, String> {
    let id = |body: Value| body["id"].as_str().unwrap().to_owned();
    let post = |path: String, body: Value| async move {
        let (status, _, answer) = send(app, token, Method::POST, &path, Some(&body)).await;
        assert_eq!(status, 201, "{path}: {answer}");
        answer
    };
    let client = id(post("/api/v1/clients".into(), json!({"full_name": "Documented Client"})).await);
    let note = json!({"date": "2026-11-20", "body": {"format": "soap", "subjective": "Documented"}});
    let note = id(post(format!("/api/v1/clients/{client}/notes"), note).await);
    let formulation = id(post(format!("/api/v1/clients/{client}/formulations"), json!({"title": "F"})).await);
    let hypothesis = id(post(format!("/api/v1/clients/{client}/hypotheses"), json!({"statement": "H"})).await);
    let goal = json!({"number": 1, "description": "Ride two stops", "measure": "Stops", "target": "2",
        "target_date": "2027-01-31", "interventions": "Exposure"});
    let plan = json!({"title": "P", "start_date": "2026-11-01", "goals": [goal]});
    let plan = id(post(format!("/api/v1/clients/{client}/plans"), plan).await);
    let homework = json!({"source": "library:activity_schedule"});
    let homework = id(post(format!("/api/v1/clients/{client}/homework"), homework).await);
    let sheet = json!({"title": "Sheet", "fields": [{"key": "a", "label": "What happened?", "kind": "text"}]});
    let worksheet = id(post("/api/v1/worksheets".into(), sheet).await);
    let result = json!({"instrument": "phq-9", "taken_on": "2026-11-20", "answers": [1, 2, 1, 0, 0, 1, 1, 0, 1]});
    let assessment = id(post(format!("/api/v1/clients/{client}/assessments"), result).await);
    let link =
        id(post(format!("/api/v1/clients/{client}/links"), json!({"instrument": "gad-7", "delivery": "copy"})).await);
    let instrument = id(post("/api/v1/instruments".into(), instrument("DOC-2")).await);
    BTreeMap::from([
        ("instruments", instrument),
        ("assessments", assessment),
        ("links", link),
        ("clients", client),
        ("notes", note),
        ("formulations", formulation),
        ("hypotheses", hypothesis),
        ("plans", plan),
        ("homework", homework),
        ("worksheets", worksheet),
    ])
}

/// The body an operation is called with: new records as a therapist
/// writes them; changes as the record was read back.
async fn body_for(app: &TestApp, token: &str, id: &str, url: &str) -> Value {
    let current = || async {
        let (_, _, body) = send(app, token, Method::GET, url.trim_end_matches("/sign"), None).await;
        body
    };
    match id {
        "create_client" => json!({"full_name": "Another Documented Client"}),
        "create_session_note" => json!({"date": "2026-11-27", "body": {"format": "free", "text": "Documented"}}),
        "create_formulation" => json!({"title": "Second formulation"}),
        "create_hypothesis" => json!({"statement": "Second hypothesis"}),
        "create_treatment_plan" => json!({"title": "Second plan", "start_date": "2026-11-01"}),
        "assign_homework" => json!({"source": "library:exposure_hierarchy", "instructions": "Two steps"}),
        "create_worksheet" => {
            json!({"title": "Second sheet", "fields": [{"key": "x", "label": "Q", "kind": "long_text"}]})
        }
        "rate_goal" => json!({"goal": 1, "date": "2026-11-20", "rating": 4}),
        "record_assessment" => {
            json!({"instrument": "gad-7", "taken_on": "2026-11-21", "answers": [0, 1, 2, 3, 0, 1, null]})
        }
        "send_client_link" => json!({"instrument": "pcl-5", "delivery": "copy"}),
        "create_instrument" => instrument("DOC-2B"),
        "update_instrument" => {
            let body = current().await;
            json!({"version": body["version"], "definition": body["definition"]})
        }
        "save_psychotherapy_note" => json!({"version": current().await["version"], "text": "Documented private"}),
        "update_client" => {
            let body = current().await;
            json!({"version": body["version"], "details": body["details"]})
        }
        "update_worksheet" => {
            let body = current().await;
            json!({"version": body["version"], "content": body["worksheet"]})
        }
        _ if id.starts_with("update_") => {
            let body = current().await;
            json!({"version": body["version"], "content": body["content"]})
        }
        _ if id.starts_with("sign_") => json!({"version": current().await["version"]}),
        _ if id.starts_with("add_addendum_to_") => json!({"text": "Documented addendum"}),
        _ => panic!("no body for operation {id}: add one to body_for"),
    }
}

/// Reads first, then writes, then signs, then addenda (which need a
/// signed record).
fn order(method: &str, id: &str) -> u8 {
    match (method, id) {
        ("get", _) => 0,
        (_, id) if id.starts_with("sign_") => 3,
        (_, id) if id.starts_with("add_addendum_to_") => 4,
        ("put", _) => 2,
        _ => 1,
    }
}

async fn every_operation_answers_as_documented(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let r = reqwest::get(app.url("/api/openapi.json")).await.unwrap();
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!((r.status().as_u16(), kind.as_str()), (200, "application/json"), "public, as JSON");
    let doc: Value = r.json().await.unwrap();
    let token = app.api_token("documented@example.org").await;
    let ids = records(&app, &token).await;

    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with("/api/v1/"), "{path}");
        for (method, operation) in item.as_object().unwrap() {
            operations.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    operations.sort_by_key(|(method, _, op)| order(method, op["operationId"].as_str().unwrap()));
    let mut seen = std::collections::BTreeSet::new();
    for (method, path, operation) in &operations {
        let id = operation["operationId"].as_str().unwrap();
        assert!(seen.insert(id.to_owned()), "operation id {id} is used twice");
        assert!(operation["tags"].as_array().is_some_and(|t| !t.is_empty()), "{id} has a tag");
        let url = match path.split_once("{id}") {
            Some((before, after)) => {
                let kind = before.trim_end_matches('/').rsplit('/').next().unwrap();
                format!("{before}{}{after}", ids[kind])
            }
            None => path.clone(),
        };
        let body =
            if operation["requestBody"].is_object() { Some(body_for(&app, &token, id, &url).await) } else { None };
        let (status, kind, answer) =
            send(&app, &token, method.to_uppercase().parse().unwrap(), &url, body.as_ref()).await;
        let documented = &operation["responses"][status.to_string()];
        assert!(documented.is_object(), "{id} ({method} {url}) answered {status}, not documented: {answer}");
        assert!(status < 300, "{id} ({method} {url}) failed with {status}: {answer}");
        if status == 204 {
            assert!(documented["content"].is_null(), "{id}: a 204 is documented without a body");
            continue;
        }
        let schema = &documented["content"]["application/json"]["schema"];
        assert!(kind.starts_with("application/json"), "{id}: {kind}");
        if let Some(problem) = mismatch(&doc, schema, &answer, id) {
            panic!("{id} ({method} {url}) answered off its schema: {problem}\n{answer}");
        }
    }
    assert!(seen.len() >= 35, "the document lists every operation: {}", seen.len());

    // Every documented error answer is problem+json.
    for (_, _, operation) in &operations {
        for (status, response) in operation["responses"].as_object().unwrap() {
            if status.starts_with('4') {
                assert!(response["content"]["application/problem+json"].is_object(), "{status} of {operation}");
            }
        }
    }
}

async fn paging_and_parameter_errors(db: Option<TestDatabase>) {
    let Some(db) = db else { return };
    let app = TestApp::spawn(db).await;
    let token = app.api_token("pages@example.org").await;
    for name in ["Paged A", "Paged B", "Paged C"] {
        let (status, _, _) =
            send(&app, &token, Method::POST, "/api/v1/clients", Some(&json!({"full_name": name}))).await;
        assert_eq!(status, 201);
    }
    let (_, _, page) = send(&app, &token, Method::GET, "/api/v1/clients?limit=1&offset=1", None).await;
    let names: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|c| c["details"]["full_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Paged B"], "sorted by name, one after the first");
    assert_eq!((page["total"].clone(), page["limit"].clone(), page["offset"].clone()), (json!(3), json!(1), json!(1)));
    let (_, _, page) = send(&app, &token, Method::GET, "/api/v1/clients", None).await;
    assert_eq!((page["items"].as_array().unwrap().len(), page["limit"].clone()), (3, json!(50)), "the default page");

    for (query, field) in
        [("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit"), ("offset=-1", "offset")]
    {
        let (status, kind, problem) =
            send(&app, &token, Method::GET, &format!("/api/v1/worksheets?{query}"), None).await;
        assert_eq!((status, kind.as_str()), (422, "application/problem+json"), "{query}");
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    let (status, kind, _) = send(&app, &token, Method::GET, "/api/v1/worksheets?page=2", None).await;
    assert_eq!((status, kind.as_str()), (400, "application/problem+json"), "an unknown parameter is refused");
    let (status, _, problem) =
        send(&app, &token, Method::POST, "/api/v1/clients", Some(&json!({"full_name": "X", "account_id": "mine"})))
            .await;
    assert_eq!(status, 422, "unknown fields are refused (no mass assignment): {problem}");
}

on_both_backends! {
    every_documented_operation_answers_as_documented => every_operation_answers_as_documented;
    lists_page_and_errors_name_the_parameter => paging_and_parameter_errors;
}
