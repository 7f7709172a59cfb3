//! The crate's modules depend on each other one way (STYLE: no module cycles): every
//! `crate::…` path in `src/` is an edge from the file's module to the module it names
//! (submodules count as their top-level module, so `engine::ranges` → `engine` is not an
//! edge but `engine::leaves` → `plan` is), and the graph has no cycle.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module of each source file, and the top-level modules it names.
fn edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let path_re = regex::Regex::new(r"crate::([a-z_][a-z0-9_]*)").unwrap();
    let group_re = regex::Regex::new(r"use crate::\{([^;]*)\};").unwrap();
    let item_re = regex::Regex::new(r"(?:^|[,{\s])([a-z_][a-z0-9_]*)(?:::|\s*[,}]|$)").unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(dir) = files.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.push(path);
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if top == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests and comments may name anything.
            let text = text.split("#[cfg(test)]").next().unwrap_or("");
            let code: String = text
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            let mut named: BTreeSet<String> = path_re
                .captures_iter(&code)
                .map(|c| c[1].to_string())
                .collect();
            for group in group_re.captures_iter(&code) {
                named.extend(item_re.captures_iter(&group[1]).map(|c| c[1].to_string()));
            }
            named.remove(&top);
            out.entry(top).or_default().extend(named);
        }
    }
    let modules: BTreeSet<String> = out.keys().cloned().collect();
    for targets in out.values_mut() {
        targets.retain(|t| modules.contains(t));
    }
    out
}

/// A cycle through `from`, if there is one.
fn cycle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|m| m == from) {
        let mut c = path[i..].to_vec();
        c.push(from.to_string());
        return Some(c);
    }
    if done.contains(from) {
        return None;
    }
    path.push(from.to_string());
    for next in graph.get(from).into_iter().flatten() {
        if let Some(c) = cycle(graph, next, path, done) {
            return Some(c);
        }
    }
    path.pop();
    done.insert(from.to_string());
    None
}

#[test]
fn modules_depend_one_way() {
    let graph = edges(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.len() >= 15, "modules found: {:?}", graph.keys());
    // The result layer's order, as ARCHITECTURE.md describes it.
    for (from, to) in [
        ("live", "eval"),
        ("eval", "value"),
        ("value", "render"),
        ("render", "shape"),
    ] {
        let reaches = |a: &str, b: &str| {
            let mut seen = BTreeSet::new();
            let mut stack = vec![a.to_string()];
            while let Some(m) = stack.pop() {
                if m == b {
                    return true;
                }
                if seen.insert(m.clone()) {
                    stack.extend(graph.get(&m).into_iter().flatten().cloned());
                }
            }
            false
        };
        assert!(!reaches(to, from), "{to} must not depend on {from}");
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(c) = cycle(&graph, m, &mut Vec::new(), &mut done) {
            panic!("module cycle: {}", c.join(" → "));
        }
    }
}
