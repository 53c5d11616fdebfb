//! What `ss` (iproute2) says about the same sockets: counts per family and state, and its
//! listing for assertion messages. CI installs iproute2; elsewhere a missing `ss` is a
//! [`skip`] of the comparison.

use std::process::Command;
use std::sync::OnceLock;

use super::skip;
use super::sockets::Family;
use super::states::{Counts, Scope, State};

/// `ss`, found on `PATH` (`/usr/bin/ss` or `/bin/ss`, as iproute2 is packaged).
pub const SS: &str = "ss";

/// Whether `ss` is installed (no skip said: for diagnostics).
pub fn ss_available() -> bool {
    static THERE: OnceLock<bool> = OnceLock::new();
    *THERE.get_or_init(|| {
        Command::new(SS)
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Whether `ss` is installed, saying a [`skip`] of `what` when it is not.
pub fn ss_for(what: &str) -> bool {
    let there = ss_available();
    if !there {
        skip(format!("{what}: ss (iproute2) is not installed"));
    }
    there
}

/// `ss -tan`, to show what the kernel has when a wait times out; empty without `ss`.
pub fn ss_dump() -> String {
    if !ss_available() {
        return String::new();
    }
    match Command::new(SS).args(["-tan"]).output() {
        Ok(o) => format!("ss -tan:\n{}", String::from_utf8_lossy(&o.stdout)),
        Err(_) => String::new(),
    }
}

/// `ss -tanH` with a filter expression: its lines, which must come.
pub fn ss_lines(filter: &str) -> String {
    let out = Command::new(SS)
        .args(["-tanH", filter])
        .output()
        .unwrap_or_else(|e| panic!("running ss: {e}"));
    assert!(out.status.success(), "ss {filter}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Count the sockets `ss -tan` shows in `scope`, per family and state.
pub fn ss_counts(scope: Scope) -> Counts {
    let mut counts = Counts::default();
    for fam in Family::BOTH {
        let mut cmd = Command::new(SS);
        cmd.arg("-tanH").arg(match fam {
            Family::V4 => "-4",
            Family::V6 => "-6",
        });
        if let Scope::Port(p) = scope {
            cmd.arg(format!("( sport = :{p} or dport = :{p} )"));
        }
        let out = cmd.output().unwrap_or_else(|e| panic!("running ss: {e}"));
        assert!(
            out.status.success(),
            "ss failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            let st = State::from_ss_name(name)
                .unwrap_or_else(|| panic!("unknown ss state {name:?} in line {line:?}"));
            counts.add(fam, st, 1);
        }
    }
    counts
}
