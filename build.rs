//! Captures the git revision tcpstat is built from, for `tcpstat_build_info{revision}`.
//!
//! Sets `TCPSTAT_REVISION` for the compiler and nothing else: it writes no file (neither in
//! the source tree nor in `OUT_DIR`). The revision is, in order: `TCPSTAT_REVISION` from the
//! environment (a packager building from a tarball who knows it), `git rev-parse --short=12
//! HEAD` when the source is a git checkout and git is installed, else `unknown` (a
//! `cargo package` tarball, crates.io, a distribution's source package).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=TCPSTAT_REVISION");
    // Any rerun-if line turns off cargo's default of rerunning on every change in the package.
    println!("cargo:rerun-if-changed=build.rs");
    let revision = std::env::var("TCPSTAT_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=TCPSTAT_REVISION={revision}");
}

/// HEAD's abbreviated hash, and the files whose change means a new HEAD (so that a commit
/// rebuilds the label, and nothing else does).
fn git_revision() -> Option<String> {
    // Only this crate's own checkout: a tarball unpacked inside some other git repository
    // must not take that repository's revision.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    if !Path::new(&manifest_dir).join(".git").exists() {
        return None;
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(&manifest_dir)
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        out.status.success().then(|| text.trim().to_string())
    };
    let revision = git(&["rev-parse", "--short=12", "HEAD"])?;
    // A worktree's HEAD and refs live elsewhere than `.git/`: ask git where. The reflog
    // (logs/HEAD) changes with every commit, checkout and reset, also when the branch's ref
    // is only in packed-refs and no loose ref file exists yet to watch.
    for path in ["HEAD", "logs/HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--path-format=absolute", "--git-path", path]) {
            if Path::new(&p).exists() {
                println!("cargo:rerun-if-changed={p}");
            }
        }
    }
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(p) = git(&[
            "rev-parse",
            "--path-format=absolute",
            "--git-path",
            &reference,
        ]) {
            if Path::new(&p).exists() {
                println!("cargo:rerun-if-changed={p}");
            }
        }
    }
    Some(revision)
}
