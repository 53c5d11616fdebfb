//! Outputs compared with committed files, one `.txt` file per output: the golden outputs of
//! the binary (`tests/golden/`) and the renderer snapshots (`tests/snapshots/`). Any
//! difference fails with a readable line diff; `TCPSTAT_BLESS=1` rewrites the files instead
//! (and removes those no output produces any more), to be reviewed with `git diff`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Set to `1` to rewrite the committed files instead of comparing with them.
pub const BLESS: &str = "TCPSTAT_BLESS";

/// A directory of committed outputs.
pub struct Snapshots {
    /// Relative to the crate root, for messages: `tests/golden`.
    pub dir: &'static str,
    /// The test filter that produces them: `golden`.
    pub filter: &'static str,
}

impl Snapshots {
    fn path(&self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(self.dir)
    }

    /// Compares `files` (name, text) with the directory, or rewrites it under
    /// `TCPSTAT_BLESS=1`. Every name must be unique.
    pub fn check(&self, files: &[(String, String)]) {
        let names: BTreeSet<&String> = files.iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), files.len(), "two outputs with one file name");
        if std::env::var_os(BLESS).is_some_and(|v| v == "1") {
            self.bless(files);
        } else {
            self.compare(files);
        }
    }

    /// Rewrites the files (and removes those no output produces any more).
    fn bless(&self, files: &[(String, String)]) {
        let dir = self.path();
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", self.dir));
        let wanted: BTreeSet<String> = files.iter().map(|(n, _)| n.clone()).collect();
        for stale in txt_files(&dir).difference(&wanted) {
            fs::remove_file(dir.join(stale)).expect("remove a stale file");
            println!("removed {}/{stale}", self.dir);
        }
        for (name, text) in files {
            let path = dir.join(name);
            if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                fs::write(&path, text).expect("write a file");
                println!("wrote {}/{name}", self.dir);
            }
        }
    }

    /// Compares with the files; panics with every difference.
    fn compare(&self, files: &[(String, String)]) {
        let dir = self.path();
        let mut problems = Vec::new();
        let wanted: BTreeSet<String> = files.iter().map(|(n, _)| n.clone()).collect();
        for stale in txt_files(&dir).difference(&wanted) {
            problems.push(format!(
                "{}/{stale}: no output produces it any more",
                self.dir
            ));
        }
        for (name, got) in files {
            match fs::read_to_string(dir.join(name)) {
                Ok(want) if want == *got => {}
                Ok(want) => problems.push(format!(
                    "{}/{name} differs:\n{}",
                    self.dir,
                    line_diff(&want, got)
                )),
                Err(e) => problems.push(format!("{}/{name}: {e}", self.dir)),
            }
        }
        assert!(
            problems.is_empty(),
            "{} of {} outputs in {} differ (if the change is intended: {BLESS}=1 cargo test \
             --test integration {}, and review the diff of {}):\n\n{}",
            problems.len(),
            files.len(),
            self.dir,
            self.filter,
            self.dir,
            problems.join("\n\n")
        );
    }
}

fn txt_files(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".txt"))
                .collect()
        })
        .unwrap_or_default()
}

/// The first differences of two texts, line by line (longest common subsequence), with two
/// lines of context, and for the first changed line where it starts to differ.
pub fn line_diff(want: &str, got: &str) -> String {
    const CONTEXT: usize = 2;
    const MAX_LINES: usize = 60;
    const LONG: usize = 200;
    // Split on '\n' only, so that a '\r' shows (escaped).
    let a: Vec<&str> = want.split('\n').collect();
    let b: Vec<&str> = got.split('\n').collect();
    // lcs[i][j]: common lines of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // (tag, line number in want or got, text)
    let mut ops: Vec<(char, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i + 1, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i + 1, a[i]));
            i += 1;
        } else {
            ops.push(('+', j + 1, b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut out = String::from("--- committed (want)\n+++ this run (got)\n");
    let mut shown = 0;
    let mut last: Option<usize> = None;
    for &k in &changed {
        let from = k.saturating_sub(CONTEXT).max(last.map_or(0, |l| l + 1));
        if last.is_some_and(|l| from > l + 1) || (last.is_none() && from > 0) {
            let _ = writeln!(out, "@@ line {} @@", ops[from].1);
        }
        let to = (k + CONTEXT).min(ops.len() - 1);
        for (tag, n, text) in &ops[from..=to] {
            if shown == MAX_LINES {
                out.push_str("... (more differences)\n");
                return out;
            }
            let _ = writeln!(out, "{tag}{n:>4} | {}", visible(text, LONG));
            shown += 1;
        }
        last = Some(to);
    }
    // Long lines (JSON): where the first changed pair starts to differ.
    let first_removed = ops.iter().find(|o| o.0 == '-');
    let first_added = ops.iter().find(|o| o.0 == '+');
    if let (Some(w), Some(g)) = (first_removed, first_added) {
        let col =
            w.2.chars()
                .zip(g.2.chars())
                .take_while(|(x, y)| x == y)
                .count();
        let excerpt = |s: &str| -> String {
            let part: String = s.chars().skip(col.saturating_sub(40)).collect();
            visible(&part, 100)
        };
        let _ = writeln!(
            out,
            "first difference at want line {} / got line {}, column {}:\n  want …{}\n  got  …{}",
            w.1,
            g.1,
            col + 1,
            excerpt(w.2),
            excerpt(g.2)
        );
    }
    out
}

/// `line` with control characters escaped (`\r`, `\t`, ...), cut after `max` characters.
pub fn visible(line: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in line.chars().enumerate() {
        if n == max {
            let _ = write!(out, "… ({} more characters)", line.chars().count() - max);
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
