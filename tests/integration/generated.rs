//! The committed completions (`completions/`) and man pages (`man/`) are exactly what the
//! current command-line definition (and the JSON Schemas, and the table of metrics)
//! generates, and so is the user guide's metrics table; hidden items appear in none of them; the
//! man pages lint clean with mandoc and groff and render within 80 columns, without Markdown;
//! and `tcpstat generate` prints and writes the same bytes. What the completion scripts offer
//! is tested in real shells by `completions.rs`.
//!
//! After changing a flag, a help text, a schema or a metric, refresh the files with
//!
//! ```text
//! TCPSTAT_UPDATE_GENERATED=1 cargo test --test integration generated
//! ```
//!
//! and commit them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use tcpstat::cli::Cli;
use tcpstat::generate::{self, Generated};

use crate::util::{run, serial, skip};

const REFRESH: &str = "TCPSTAT_UPDATE_GENERATED=1 cargo test --test integration generated";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generated() -> Vec<Generated> {
    generate::all().expect("generating in memory cannot fail")
}

/// File names present in `dir` (empty when it does not exist).
fn names_in(dir: &Path) -> BTreeSet<String> {
    match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| {
                e.expect("readable dir entry")
                    .file_name()
                    .into_string()
                    .expect("utf-8 name")
            })
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

#[test]
fn committed_files_match_the_definition() {
    let files = generated();
    let refresh = std::env::var_os("TCPSTAT_UPDATE_GENERATED").is_some_and(|v| v == "1");
    let mut problems = Vec::new();
    for dir in ["completions", "man"] {
        let path = repo().join(dir);
        let wanted: BTreeSet<String> = files
            .iter()
            .filter(|f| f.dir == dir)
            .map(|f| f.name.clone())
            .collect();
        for stray in names_in(&path).difference(&wanted) {
            if refresh {
                fs::remove_file(path.join(stray)).expect("remove a stale generated file");
            } else {
                problems.push(format!("{dir}/{stray} is not generated any more"));
            }
        }
    }
    for file in &files {
        let path = repo().join(file.dir).join(&file.name);
        if fs::read(&path).ok().as_deref() == Some(&file.bytes[..]) {
            continue;
        }
        if refresh {
            fs::create_dir_all(repo().join(file.dir)).expect("create the directory");
            fs::write(&path, &file.bytes).expect("write a generated file");
        } else {
            problems.push(format!("{}/{} differs or is missing", file.dir, file.name));
        }
    }
    assert!(
        problems.is_empty(),
        "generated files are out of date with src/cli.rs and src/generate.rs:\n  {}\n\
         refresh them with\n  {REFRESH}\nand commit completions/ and man/",
        problems.join("\n  ")
    );
}

/// The byte range of the Markdown table that follows `heading` in `text`: its lines, each
/// starting with `|`, up to the first that does not.
fn table_after(text: &str, heading: &str) -> Option<std::ops::Range<usize>> {
    let mut at = text.find(&format!("\n{heading}\n"))? + heading.len() + 2;
    let mut start = None;
    for line in text[at..].split_inclusive('\n') {
        match (line.starts_with('|'), start) {
            (true, None) => start = Some(at),
            (false, Some(s)) => return Some(s..at),
            _ => {}
        }
        at += line.len();
    }
    start.map(|s| s..at)
}

/// The user guide's metrics table (its section "### Metrics") is the one generated from the
/// table the Prometheus exposition is written from (`src/render/prometheus.rs`), as
/// tcpstat-metrics(7) is. The guide is no generated file, but its table is refreshed like
/// one, by the same command.
#[test]
fn guide_metrics_table_is_the_generated_one() {
    let path = repo().join("docs/GUIDE.md");
    let readme = fs::read_to_string(&path).expect("docs/GUIDE.md");
    let range = table_after(&readme, "### Metrics").expect("a table under ### Metrics");
    let want = generate::readme_metrics_table();
    if readme[range.clone()] == want {
        return;
    }
    if std::env::var_os("TCPSTAT_UPDATE_GENERATED").is_some_and(|v| v == "1") {
        let mut fresh = readme.clone();
        fresh.replace_range(range, &want);
        fs::write(&path, fresh).expect("write docs/GUIDE.md");
        return;
    }
    panic!(
        "docs/GUIDE.md's metrics table differs from src/render/prometheus.rs's METRICS:\n\
         --- guide\n{}--- generated\n{want}\nrefresh it with\n  {REFRESH}",
        &readme[range]
    );
}

/// Names of hidden subcommands and the long names of hidden flags, at any depth.
fn hidden_names(cmd: &clap::Command, out: &mut Vec<String>) {
    for arg in cmd.get_arguments().filter(|a| a.is_hide_set()) {
        out.extend(arg.get_long().map(str::to_owned));
    }
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() {
            out.push(sub.get_name().to_owned());
        }
        hidden_names(sub, out);
    }
}

#[test]
fn hidden_items_appear_in_no_completion_and_no_man_page() {
    let mut hidden = Vec::new();
    hidden_names(&Cli::command(), &mut hidden);
    assert!(
        hidden.contains(&"generate".to_owned()) && hidden.contains(&"proc-root".to_owned()),
        "{hidden:?}"
    );
    let files = generated();
    assert_eq!(files.iter().filter(|f| f.dir == "completions").count(), 5);
    for file in &files {
        let text = String::from_utf8_lossy(&file.bytes);
        for name in &hidden {
            // Man pages escape '-' as '\-'.
            let escaped = name.replace('-', "\\-");
            assert!(
                !text.contains(name.as_str()) && !text.contains(&escaped),
                "{}/{} mentions hidden {name:?}",
                file.dir,
                file.name
            );
        }
    }
    // The visible ones are there, in every shell.
    for file in files.iter().filter(|f| f.dir == "completions") {
        let text = String::from_utf8_lossy(&file.bytes);
        for visible in ["watch", "older-than", "source", "ls"] {
            assert!(text.contains(visible), "{} lacks {visible:?}", file.name);
        }
    }
}

#[test]
fn man_pages_have_the_sections_and_format_without_warnings() {
    let _serial = serial();
    let files = generated();
    let pages: Vec<&Generated> = files.iter().filter(|f| f.dir == "man").collect();
    let root = pages
        .iter()
        .find(|p| p.name == "tcpstat.1")
        .expect("tcpstat.1");
    let text = String::from_utf8_lossy(&root.bytes);
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "SUBCOMMANDS",
        "EXAMPLES",
        "\"EXIT STATUS\"",
        "ENVIRONMENT",
        "FILES",
        "\"SEE ALSO\"",
    ] {
        assert!(
            text.contains(&format!("\n.SH {section}\n")),
            "tcpstat.1 lacks {section}"
        );
    }
    for needle in [
        "NO_COLOR",
        "COLUMNS",
        "/proc/net/tcp6",
        "\\fBss\\fR(8)",
        "\\fBnetstat\\fR(8)",
    ] {
        assert!(text.contains(needle), "tcpstat.1 lacks {needle}");
    }
    assert!(
        !text.contains(".SH EXTRA"),
        "the --help epilogue has sections of its own"
    );
    for page in &pages {
        let text = String::from_utf8_lossy(&page.bytes);
        assert_eq!(
            text.matches(".ds Aq").count(),
            2,
            "{}: one apostrophe preamble (.ie/.el)",
            page.name
        );
        assert!(text.contains("\n.TH "), "{}", page.name);
    }
    // Every command's page says what it reads and what changes it, not only tcpstat(1).
    for page in pages.iter().filter(|p| p.name.ends_with(".1")) {
        let text = String::from_utf8_lossy(&page.bytes);
        for section in ["\"EXIT STATUS\"", "ENVIRONMENT", "FILES", "\"SEE ALSO\""] {
            assert!(
                text.contains(&format!("\n.SH {section}\n")),
                "{} lacks {section}",
                page.name
            );
        }
        assert!(text.contains("/proc/net/tcp6"), "{}", page.name);
    }

    let Ok(version) = Command::new("groff").arg("--version").output() else {
        skip("groff is not installed (apt-get install groff-base)");
        return;
    };
    assert!(version.status.success());
    let dir = tempdir("man-lint");
    for page in &pages {
        let path = dir.join(&page.name);
        fs::write(&path, &page.bytes).expect("write page");
        // -ww: every warning; -z: format, print nothing.
        let out = Command::new("groff")
            .args(["-ww", "-man", "-z"])
            .arg(&path)
            .output()
            .expect("groff runs");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}: groff says:\n{}",
            page.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fs::remove_dir_all(&dir).ok();
}

/// Every page through `mandoc -Tlint -W warning`: no message at all. (Its STYLE level, below
/// warnings, flags input lines longer than 80 bytes: clap_mangen writes a paragraph per
/// line, and that is how roff source is meant to be written; it changes nothing rendered.)
#[test]
fn man_pages_lint_clean_with_mandoc() {
    let _serial = serial();
    let files = generated();
    if Command::new("mandoc").arg("-V").output().is_err() {
        skip("mandoc is not installed (apt-get install mandoc)");
        return;
    }
    let dir = tempdir("mandoc-lint");
    let mut problems = Vec::new();
    for page in files.iter().filter(|f| f.dir == "man") {
        let path = dir.join(&page.name);
        fs::write(&path, &page.bytes).expect("write page");
        let out = Command::new("mandoc")
            .args(["-Tlint", "-W", "warning"])
            .arg(&path)
            .output()
            .expect("mandoc runs");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() || !said.is_empty() {
            problems.push(format!("{} ({}):\n{said}", page.name, out.status));
        }
    }
    fs::remove_dir_all(&dir).ok();
    assert!(
        problems.is_empty(),
        "mandoc -Tlint:\n{}",
        problems.join("\n")
    );
}

/// Terminal output without its overstrikes (`X\bX` bold, `_\bX` underlined).
fn plain(rendered: &[u8]) -> String {
    let mut out = String::new();
    for c in String::from_utf8_lossy(rendered).chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out
}

/// Every page rendered for an 80-column terminal, by mandoc and by groff (as man-db runs
/// it): no line wider, and no Markdown backtick left from the help texts.
#[test]
fn man_pages_render_within_80_columns_without_markdown() {
    let _serial = serial();
    let files = generated();
    let renderers: [(&str, &[&str]); 2] = [
        ("mandoc", &["-Tutf8", "-O", "width=80"]),
        ("groff", &["-man", "-Tutf8", "-rLL=80n", "-P-cbou"]),
    ];
    let dir = tempdir("man-width");
    let mut problems = Vec::new();
    for (program, args) in renderers {
        if Command::new(program).arg("-V").output().is_err() {
            skip(format!("{program} is not installed"));
            continue;
        }
        for page in files.iter().filter(|f| f.dir == "man") {
            let path = dir.join(&page.name);
            fs::write(&path, &page.bytes).expect("write page");
            let out = Command::new(program)
                .args(args)
                .arg(&path)
                .output()
                .expect("renders");
            assert!(out.status.success(), "{program} {}: {out:?}", page.name);
            let text = plain(&out.stdout);
            assert!(text.lines().count() > 20, "{program} {}: {text}", page.name);
            for line in text.lines() {
                let width = line.chars().count();
                if width > 80 {
                    problems.push(format!("{program} {}: {width} columns: {line}", page.name));
                }
                if line.contains('`') {
                    problems.push(format!("{program} {}: a backtick: {line}", page.name));
                }
            }
        }
    }
    fs::remove_dir_all(&dir).ok();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn tempdir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcpstat-{what}-{}", std::process::id()));
    fs::remove_dir_all(&dir).ok();
    fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

#[test]
fn the_hidden_generate_subcommand_prints_and_writes_the_same_bytes() {
    let _serial = serial();
    let files = generated();
    for (target, name) in [
        ("bash", "tcpstat.bash"),
        ("zsh", "_tcpstat"),
        ("fish", "tcpstat.fish"),
        ("elvish", "tcpstat.elv"),
        ("powershell", "_tcpstat.ps1"),
        ("man", "tcpstat.1"),
    ] {
        let out = run(&["generate", target]);
        assert!(out.status.success(), "{target}: {out:?}");
        let want = files.iter().find(|f| f.name == name).expect(name);
        assert!(out.stdout == want.bytes, "generate {target} prints {name}");
    }
    let dir = tempdir("generate");
    let out = run(&["generate", "man", "--dir", dir.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{out:?}");
    let pages: BTreeSet<String> = files
        .iter()
        .filter(|f| f.dir == "man")
        .map(|f| f.name.clone())
        .collect();
    assert_eq!(names_in(&dir), pages);
    for page in files.iter().filter(|f| f.dir == "man") {
        assert_eq!(fs::read(dir.join(&page.name)).expect("written"), page.bytes);
    }
    let out = run(&["generate", "zsh", "--dir", dir.to_str().expect("utf-8")]);
    assert!(out.status.success() && dir.join("_tcpstat").exists());
    fs::remove_dir_all(&dir).ok();

    // A directory that cannot be made is a runtime error naming it.
    let out = run(&["generate", "bash", "--dir", "/proc/no-such-dir/x"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/proc/no-such-dir/x"), "{stderr}");
    // Hidden from help, but documented in its own.
    let help = run(&["--help"]);
    assert!(!String::from_utf8_lossy(&help.stdout).contains("generate"));
}
