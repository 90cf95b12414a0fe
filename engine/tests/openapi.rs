//! numpool's OpenAPI document (`docs/openapi.json`) against the real binary: served at
//! `/openapi.json` without credentials, byte for byte the repository's copy, and naming exactly
//! the paths and methods the router has. Response bodies are checked against it by
//! schemathesis (`.ci/conformance.sh`) and a generated client (`.ci/openapi_client.sh`).

mod support;

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use support::{Numpool, KEY};

/// The repository's copy, which the binary compiles in.
const SPEC: &str = include_str!("../../docs/openapi.json");
/// The router, read as text: the route table is code, so its paths are taken from the source.
const ROUTES: &str = include_str!("../src/http/mod.rs");

/// Path → methods, from every `resource("PATH", "METHODS")` call of `routes()` in the router.
/// Those after `web::scope(ACCOUNT_SCOPE)` are under that prefix.
fn routed() -> BTreeMap<String, BTreeSet<String>> {
    let scope = between(ROUTES, "const ACCOUNT_SCOPE: &str = \"", "\"");
    let body = between(ROUTES, "fn routes(", ".default_service(");
    let (top, scoped) = body
        .split_once("web::scope(ACCOUNT_SCOPE)")
        .expect("routes() opens the account scope");
    let mut routes = BTreeMap::new();
    for (prefix, text) in [("", top), (scope, scoped)] {
        for call in text.split("resource(\"").skip(1) {
            let (path, rest) = call.split_once("\", \"").expect("resource(path, allow)");
            let allow = rest.split('"').next().unwrap();
            routes.insert(format!("{prefix}{path}"), methods(allow));
        }
    }
    assert!(routes.len() >= 10, "parsed too few routes: {routes:?}");
    routes
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} in mod.rs"))
        + start.len();
    let len = text[from..].find(end).expect("end marker");
    &text[from..from + len]
}

/// `"GET, PATCH"` as a set of upper-case methods.
fn methods(allow: &str) -> BTreeSet<String> {
    allow.split(',').map(|m| m.trim().to_uppercase()).collect()
}

/// Path → methods of the document.
fn documented(spec: &Value) -> BTreeMap<String, BTreeSet<String>> {
    const VERBS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let verbs = item.as_object().expect("path item").keys();
            let verbs = verbs.filter(|v| VERBS.contains(&v.as_str()));
            (path.clone(), verbs.map(|v| v.to_uppercase()).collect())
        })
        .collect()
}

/// A concrete URL path for a templated one.
fn concrete(path: &str) -> String {
    path.replace("{account_id}", KEY)
        .replace("{pool_id}", "p")
        .replace("{number}", "14155550110")
        .replace("{to}", "447400123459")
}

#[tokio::test]
async fn openapi_json_is_served_and_names_every_route() {
    let server = Numpool::start(&[]);
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/openapi.json", server.base_url()))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.expect("body");
    assert_eq!(text, SPEC, "the server serves the repository's document");
    let spec: Value = serde_json::from_str(&text).expect("valid JSON");
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        spec["openapi"]
    );

    let documented = documented(&spec);
    assert_eq!(documented, routed(), "docs/openapi.json vs http/mod.rs");

    // The running router agrees: a method a path lacks answers 405 listing exactly the
    // documented ones (without credentials, so the route itself answers, not auth).
    for (path, verbs) in &documented {
        let url = format!("{}{}", server.base_url(), concrete(path));
        let response = client
            .request(Method::OPTIONS, &url)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let allow = response.headers()["allow"].to_str().unwrap();
        assert_eq!(&methods(allow), verbs, "{path}");
    }
}
