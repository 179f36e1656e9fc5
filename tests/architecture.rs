#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic
//! The floors of the house stay as docs/architecture.md draws them. This reads the source (every
//! `.rs` file under `src/` and `views/src/`), finds the paths each file names (`crate::…`,
//! `super::…`, and a child module named from its parent), and fails on:
//! - two files that import each other (a parent module and its own child excepted: `mod.rs`
//!   declaring `mod x` and `x.rs` using the parent's types is how Rust modules are built);
//! - `db` importing `audit` or any domain module; `notify` importing `intake`;
//! - a staff handler file (`src/web/staff/`) importing another handler file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module: its crate ("lib", "bin", "views") and its path inside it.
type Module = (String, Vec<String>);

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a file holds, from its path.
fn module_of(root: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(root).unwrap();
    let parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    let (krate, mut path) = if parts[0] == "views" {
        ("views".to_string(), parts[2..].to_vec())
    } else if parts
        .get(1)
        .is_some_and(|p| p == "main" || p == "cli" || p == "bin")
    {
        ("bin".to_string(), parts[1..].to_vec())
    } else {
        ("lib".to_string(), parts[1..].to_vec())
    };
    if path
        .last()
        .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
    {
        path.pop();
    }
    (krate, path)
}

/// The code of a file without comments and string contents, and without `#[cfg(test)]` modules.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        if skip_depth.is_none() && t.starts_with("#[cfg(test)]") {
            skip_depth = Some(depth);
            continue;
        }
        let code = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        // Drop string literals (they hold URLs and text, not paths).
        let mut clean = String::new();
        let mut in_str = false;
        let mut prev = ' ';
        for ch in code.chars() {
            if ch == '"' && prev != '\\' && prev != '\'' {
                in_str = !in_str;
            } else if !in_str {
                clean.push(ch);
            }
            prev = ch;
        }
        let opens = clean.matches('{').count() as i32;
        let closes = clean.matches('}').count() as i32;
        let was = depth;
        depth += opens - closes;
        if let Some(d) = skip_depth {
            // The test module runs from its `mod tests {` to the brace that closes it.
            if depth <= d && (was > d || closes > 0) {
                skip_depth = None;
            }
            continue;
        }
        out.push_str(&clean);
        out.push('\n');
    }
    out
}

/// Every path named in `code` that starts with `head` (e.g. "crate::"): the segments after it,
/// with a `{a, b::c}` group giving one path per item.
fn paths_after(code: &str, head: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let b = code.as_bytes();
    let mut i = 0;
    while let Some(off) = code[i..].find(head) {
        let at = i + off;
        i = at + head.len();
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_' || b[at - 1] == b':') {
            continue;
        }
        let mut segs = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > start {
                segs.push(code[start..j].to_string());
            }
            if code[j..].starts_with("::{") {
                // A group: take the first segment of each top-level item.
                let mut k = j + 3;
                let mut level = 0;
                let mut item_start = k;
                while k < b.len() {
                    match b[k] {
                        b'{' => level += 1,
                        b'}' if level == 0 => break,
                        b'}' => level -= 1,
                        b',' if level == 0 => {
                            push_item(&mut found, &segs, &code[item_start..k]);
                            item_start = k + 1;
                        }
                        _ => {}
                    }
                    k += 1;
                }
                push_item(&mut found, &segs, &code[item_start..k.min(b.len())]);
                break;
            }
            if code[j..].starts_with("::") && j > start {
                j += 2;
                continue;
            }
            found.push(segs);
            break;
        }
    }
    found
}

fn push_item(found: &mut Vec<Vec<String>>, prefix: &[String], item: &str) {
    let first: String = item
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let mut p = prefix.to_vec();
    if !first.is_empty() && first != "self" {
        p.push(first);
    }
    found.push(p);
}

struct House {
    files: BTreeMap<Module, PathBuf>,
    edges: BTreeMap<Module, BTreeSet<Module>>,
}

impl House {
    fn read() -> House {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut list = Vec::new();
        rs_files(&root.join("src"), &mut list);
        rs_files(&root.join("views/src"), &mut list);
        let files: BTreeMap<Module, PathBuf> = list
            .iter()
            .map(|f| (module_of(root, f), f.clone()))
            .collect();
        let mut edges = BTreeMap::new();
        for (m, f) in &files {
            let text = std::fs::read_to_string(f).unwrap();
            let code = code_of(&text);
            let is_dir_module =
                f.ends_with("mod.rs") || f.ends_with("lib.rs") || f.ends_with("main.rs");
            // `super` of a file `a/b.rs` is `a`; of `a/b/mod.rs` it is `a` as well.
            let parent: Vec<String> = m.1[..m.1.len().saturating_sub(1)].to_vec();
            let mut targets = BTreeSet::new();
            let mut add = |path: Vec<String>| {
                if let Some(t) = resolve(&files, &m.0, &path)
                    && t != *m
                {
                    targets.insert(t);
                }
            };
            for p in paths_after(&code, "crate::") {
                add(p);
            }
            for p in paths_after(&code, "super::") {
                if p.first().is_some_and(|s| s == "super") {
                    continue;
                }
                let mut full = parent.clone();
                full.extend(p);
                add(full);
            }
            // A module file naming one of its own children (`store::insert(...)`).
            let own: Vec<String> = m.1.clone();
            if is_dir_module {
                for (c, _) in files.range(m.clone()..) {
                    if c.0 != m.0 || c.1.len() != own.len() + 1 || !c.1.starts_with(&own) {
                        continue;
                    }
                    let child = c.1.last().unwrap().clone();
                    for p in paths_after(&code, &format!("{child}::")) {
                        let mut full = own.clone();
                        full.push(child.clone());
                        full.extend(p);
                        add(full);
                    }
                }
            }
            edges.insert(m.clone(), targets);
        }
        House { files, edges }
    }

    fn imports(&self, a: &Module, b: &Module) -> bool {
        self.edges.get(a).is_some_and(|t| t.contains(b))
    }
}

/// The deepest module file that a path names.
fn resolve(files: &BTreeMap<Module, PathBuf>, krate: &str, path: &[String]) -> Option<Module> {
    (0..=path.len()).rev().find_map(|n| {
        let m = (krate.to_string(), path[..n].to_vec());
        files.contains_key(&m).then_some(m)
    })
}

fn name(m: &Module) -> String {
    format!("{}::{}", m.0, m.1.join("::"))
}

fn is_parent_and_child(a: &Module, b: &Module) -> bool {
    let (short, long) = if a.1.len() < b.1.len() {
        (a, b)
    } else {
        (b, a)
    };
    long.1.len() == short.1.len() + 1 && long.1.starts_with(&short.1)
}

/// Pairs that still import each other. Empty: every pair found when this test was written is
/// untied (issue 17 follow-up). Never add to it; the test fails on any pair.
const KNOWN_PAIRS: &[&str] = &[];

#[test]
fn no_two_files_import_each_other() {
    let h = House::read();
    assert!(h.files.len() > 50, "the source tree was not found");
    let mut bad = Vec::new();
    for (a, targets) in &h.edges {
        for b in targets {
            if a < b && h.imports(b, a) && !is_parent_and_child(a, b) {
                bad.push(format!("{} <-> {}", name(a), name(b)));
            }
        }
    }
    let new: Vec<_> = bad
        .iter()
        .filter(|p| !KNOWN_PAIRS.contains(&p.as_str()))
        .collect();
    assert!(new.is_empty(), "files that import each other: {new:#?}");
    let gone: Vec<_> = KNOWN_PAIRS
        .iter()
        .filter(|p| !bad.contains(&p.to_string()))
        .collect();
    assert!(
        gone.is_empty(),
        "untied, remove from KNOWN_PAIRS: {gone:#?}"
    );
}

fn reaches(h: &House, from: &str, to: &[&str]) -> Vec<String> {
    let mut bad = Vec::new();
    for (a, targets) in &h.edges {
        if a.0 != "lib" || a.1.first().map(String::as_str) != Some(from) {
            continue;
        }
        for b in targets {
            if b.0 == "lib" && b.1.first().is_some_and(|y| to.contains(&y.as_str())) {
                bad.push(format!("{} -> {}", name(a), name(b)));
            }
        }
    }
    bad
}

#[test]
fn storage_knows_no_audit_and_no_domain() {
    let h = House::read();
    let domain = [
        "audit",
        "intake",
        "notify",
        "triage",
        "staff",
        "rewards",
        "reports",
        "retention",
        "web",
        "server",
        "keys",
    ];
    let bad = reaches(&h, "db", &domain);
    assert!(bad.is_empty(), "db imports a floor above it: {bad:#?}");
}

#[test]
fn notify_does_not_import_intake() {
    let h = House::read();
    let bad = reaches(&h, "notify", &["intake"]);
    assert!(bad.is_empty(), "notify imports intake: {bad:#?}");
}

#[test]
fn staff_handler_files_import_only_the_shared_helpers() {
    let h = House::read();
    let shared = ["api_kit", "forms", "layout", "reward_parts", "session"];
    let mut bad = Vec::new();
    for (a, targets) in &h.edges {
        let in_staff =
            |m: &Module| m.0 == "lib" && m.1.len() == 3 && m.1[0] == "web" && m.1[1] == "staff";
        if !in_staff(a) {
            continue;
        }
        for b in targets {
            if in_staff(b) && !shared.contains(&b.1[2].as_str()) {
                bad.push(format!("{} -> {}", name(a), name(b)));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "a staff handler file imports another: {bad:#?}"
    );
}

/// Web handlers call the domain; no file under `src/web/` builds a query of its own (the health
/// check's `SELECT 1` on a pooled connection is not a query on a table).
#[test]
fn web_handlers_run_no_queries() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rs_files(&root.join("src/web"), &mut files);
    assert!(
        files.len() > 10,
        "the scanner found {} web files",
        files.len()
    );
    let query = [
        "schema::",
        "insert_into(",
        "diesel::update(",
        "diesel::delete(",
        "sql_query(",
        "RunQueryDsl",
        "QueryDsl",
        ".load::<",
        ".get_result(",
    ];
    let mut bad = Vec::new();
    for f in &files {
        let code = code_of(&std::fs::read_to_string(f).unwrap());
        for q in query {
            if code.contains(q) {
                bad.push(format!("{}: {q}", f.strip_prefix(root).unwrap().display()));
            }
        }
    }
    assert!(bad.is_empty(), "queries in the web layer: {bad:#?}");
    // The check can fail: a made-up handler with a query is caught.
    let made_up = code_of("fn h(c: &mut DbConn) { tips::table.filter(x).load::<Tip>(c); }");
    assert!(query.iter().any(|q| made_up.contains(q)));
}

/// The test can fail: the scanner sees the paths of a made-up file, and skips comments and tests.
#[test]
fn the_scanner_sees_paths() {
    let p = paths_after(
        "use crate::db::{schema::{a, b}, DbConn};\nlet x = crate::web::staff::layout::page(1);",
        "crate::",
    );
    assert!(
        p.contains(&vec!["db".to_string(), "schema".to_string()]),
        "{p:?}"
    );
    assert!(
        p.contains(&vec!["db".to_string(), "DbConn".to_string()]),
        "{p:?}"
    );
    assert!(
        p.contains(&vec![
            "web".into(),
            "staff".into(),
            "layout".into(),
            "page".into()
        ]),
        "{p:?}"
    );
    let code = code_of(
        "use crate::a;\n// use crate::b;\n#[cfg(test)]\nmod tests {\n    use crate::c;\n}\nuse crate::d;\n",
    );
    assert!(
        code.contains("crate::a") && code.contains("crate::d"),
        "{code}"
    );
    assert!(
        !code.contains("crate::b") && !code.contains("crate::c"),
        "{code}"
    );
}
