//! The layering of `ARCHITECTURE.md`, checked on the source: which module may import which.
//! A `use crate::x` (or a `crate::x::` path) from a layer that must not know `x` fails here,
//! naming the file and the line.

use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The top-level module a file belongs to: `model`, `collect`, `render`, `main`, ...
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// The crate modules a file names (`crate::collect::...`), with their lines; test modules
/// (`#[cfg(test)]` to the end of the file, by the crate's layout) are left out.
fn imports(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let name: String = rest[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((n + 1, name));
            }
            rest = &rest[at + 7..];
        }
    }
    found
}

#[test]
fn layers_import_only_downwards() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    // What each layer must never name.
    let pure = [
        "collect", "pipeline", "app", "config", "cli", "term", "serve", "generate", "store",
    ];
    let rules: &[(&str, &[&str])] = &[
        (
            "model",
            &[
                "collect",
                "pipeline",
                "app",
                "config",
                "cli",
                "term",
                "serve",
                "generate",
                "aggregate",
                "render",
                "diagnose",
                "check",
                "error",
            ],
        ),
        ("aggregate", &pure),
        ("diagnose", &pure),
        ("check", &pure),
        ("render", &pure),
        (
            "collect",
            &[
                "pipeline",
                "app",
                "config",
                "cli",
                "term",
                "serve",
                "generate",
                "aggregate",
                "render",
                "diagnose",
                "check",
            ],
        ),
        (
            "pipeline",
            &[
                "app",
                "config",
                "cli",
                "term",
                "serve",
                "generate",
                "aggregate",
                "render",
                "diagnose",
                "check",
            ],
        ),
        ("serve", &["app", "config", "cli", "pipeline", "collect"]),
        // The history database: samples in and out as model data; it neither collects,
        // aggregates nor formats.
        (
            "store",
            &[
                "collect",
                "pipeline",
                "app",
                "config",
                "cli",
                "term",
                "serve",
                "generate",
                "aggregate",
                "render",
                "diagnose",
                "check",
            ],
        ),
        (
            "error",
            &[
                "collect",
                "pipeline",
                "app",
                "config",
                "cli",
                "term",
                "serve",
                "aggregate",
                "render",
                "diagnose",
                "check",
            ],
        ),
    ];
    let mut broken = Vec::new();
    for file in sources(&src) {
        let module = module_of(&src, &file);
        let Some((_, never)) = rules.iter().find(|(m, _)| *m == module) else {
            continue;
        };
        let text = fs::read_to_string(&file).expect("readable source");
        for (line, name) in imports(&text) {
            if never.contains(&name.as_str()) {
                broken.push(format!(
                    "{}:{line}: {module} must not import crate::{name}",
                    file.strip_prefix(&src).expect("under src").display()
                ));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn the_checker_sees_imports() {
    let text = "use crate::collect::netns;\nfn f() { crate::render::text::escape(\"\"); }\n#[cfg(test)]\nuse crate::app;";
    let names: Vec<String> = imports(text).into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, ["collect", "render"]);
}
