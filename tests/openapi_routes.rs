//! The OpenAPI description cannot drift from the routes: every route actix serves under
//! `/api/v1` (pattern and methods) is described in `src/web/openapi.json`, and every described
//! route is served with exactly the described methods.
//!
//! The routes are read from actix's own resource map (the tree of every registered resource,
//! scopes included), not from a list kept beside them. The methods of each route come from the
//! app itself: every resource is built by `web::resource`, which answers a method it does not
//! serve with 405 and an `Allow` header, and each allowed method is then checked to reach a
//! handler (anything but 405).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

use actix_web::{App, http::Method, test as web_test};
use std::collections::{BTreeMap, BTreeSet};

/// Full patterns of the leaf resources in actix's `{:#?}` rendering of the root resource map:
/// each node prints its `pattern` (a `ResourceDef` with `patterns: Single("...")`) and its
/// `nodes` (children, or `None` for a leaf), indented by depth.
fn leaf_patterns(tree: &str) -> Vec<String> {
    let lines: Vec<&str> = tree.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    // (indent of the node's `pattern:` line, its pattern) for the nodes above the current line.
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut leaves = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if t.starts_with("pattern: ResourceDef {") {
            let depth = indent(line);
            while stack.last().is_some_and(|(d, _)| *d >= depth) {
                stack.pop();
            }
            // The first `patterns: Single(` below it, on the same line or the next.
            let pat = lines[i..]
                .iter()
                .take(40)
                .zip(lines[i + 1..].iter().chain(std::iter::once(&"")))
                .find_map(|(l, next)| {
                    let l = l.trim();
                    l.strip_prefix("patterns: Single(").map(|rest| {
                        let s = if rest.trim().is_empty() {
                            next.trim()
                        } else {
                            rest
                        };
                        s.trim_end_matches([')', ',']).trim_matches('"').to_string()
                    })
                })
                .unwrap_or_default();
            stack.push((depth, pat));
        } else if t.starts_with("nodes: None") {
            let depth = indent(line);
            while stack.last().is_some_and(|(d, _)| *d > depth) {
                stack.pop();
            }
            leaves.push(stack.iter().map(|(_, p)| p.as_str()).collect::<String>());
        }
    }
    leaves
}

/// A concrete path for a pattern: each `{param}` becomes `x`.
fn concrete(pattern: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in pattern.chars() {
        match c {
            '{' => in_param = true,
            '}' => {
                in_param = false;
                out.push('x');
            }
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

#[actix_web::test]
async fn every_api_route_is_described_and_every_described_route_is_served() {
    let app = web_test::init_service(App::new().configure(tipline::web::configure)).await;
    let probe = web_test::TestRequest::default()
        .method(Method::from_bytes(b"PROPFIND").unwrap())
        .uri("/")
        .to_request();
    let resp = web_test::call_service(&app, probe).await;
    let tree = format!("{:#?}", resp.request().resource_map());
    let served_patterns: Vec<String> = leaf_patterns(&tree)
        .into_iter()
        .filter(|p| p.starts_with("/api/v1/"))
        .collect();
    assert!(
        served_patterns.len() > 30,
        "the resource map yielded too few API routes ({}): has actix's Debug rendering changed?\n{served_patterns:?}",
        served_patterns.len()
    );

    let mut served: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for pattern in &served_patterns {
        let path = concrete(pattern);
        let req = web_test::TestRequest::default()
            .method(Method::from_bytes(b"PROPFIND").unwrap())
            .uri(&path)
            .to_request();
        let resp = web_test::call_service(&app, req).await;
        assert_eq!(
            resp.status(),
            405,
            "{pattern}: PROPFIND should be refused with 405"
        );
        let allow: BTreeSet<String> = resp
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        // The Allow header tells the truth: allowed methods reach a handler, others get 405.
        for m in METHODS {
            let req = web_test::TestRequest::default()
                .method(Method::from_bytes(m.as_bytes()).unwrap())
                .uri(&path)
                .to_request();
            let status = web_test::call_service(&app, req).await.status();
            assert_eq!(
                status != 405,
                allow.contains(m),
                "{pattern}: {m} answered {status}, but Allow is {allow:?}"
            );
        }
        served.insert(pattern.clone(), allow);
    }

    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../src/web/openapi.json")).unwrap();
    let described: BTreeMap<String, BTreeSet<String>> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.to_uppercase())
                .filter(|k| METHODS.contains(&k.as_str()))
                .collect();
            (path.clone(), methods)
        })
        .collect();

    let mut problems = Vec::new();
    for (path, methods) in &served {
        match described.get(path) {
            None => problems.push(format!("served but not described: {path} {methods:?}")),
            Some(d) if d != methods => {
                problems.push(format!("{path}: served {methods:?}, described {d:?}"))
            }
            _ => {}
        }
    }
    for path in described.keys() {
        if !served.contains_key(path) {
            problems.push(format!("described but not served: {path}"));
        }
    }
    assert!(
        problems.is_empty(),
        "OpenAPI drift:\n{}",
        problems.join("\n")
    );
}

#[test]
fn leaf_patterns_follow_the_tree() {
    let tree = r#"ResourceMap {
    pattern: ResourceDef {
        patterns: Single(
            "",
        ),
    },
    nodes: Some(
        [
            ResourceMap {
                pattern: ResourceDef {
                    patterns: Single(
                        "/api/v1",
                    ),
                },
                nodes: Some(
                    [
                        ResourceMap {
                            pattern: ResourceDef {
                                patterns: Single(
                                    "/meta",
                                ),
                            },
                            nodes: None,
                        },
                    ],
                ),
            },
            ResourceMap {
                pattern: ResourceDef {
                    patterns: Single(
                        "/status",
                    ),
                },
                nodes: None,
            },
        ],
    ),
}"#;
    assert_eq!(leaf_patterns(tree), vec!["/api/v1/meta", "/status"]);
    assert_eq!(concrete("/a/{id}/b/{tip}"), "/a/x/b/x");
}
