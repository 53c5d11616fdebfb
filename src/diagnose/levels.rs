//! A level `doctor` judges against: a [`Level`] is a number of sockets or a percentage of a
//! check's kernel limit; [`Levels`] a check's warning and critical pair.
//!
//! Owns: the level syntax and how a level resolves against a limit. Below both the check table
//! (`checks.rs`, whose defaults are levels) and `thresholds.rs` (overrides of them).

use std::fmt;

/// One threshold level: a number of sockets, or a percentage of the check's kernel limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Count(u64),
    /// Percent of the check's kernel limit (`Check::limit_name`).
    Percent(u32),
}

impl Level {
    /// The level as a number of sockets: `None` when it is a percentage of an unknown limit.
    /// A percentage rounds up and is at least 1, so 100% of a backlog of 0 is 1.
    pub fn resolve(self, limit: Option<u64>) -> Option<u64> {
        match self {
            Level::Count(n) => Some(n),
            Level::Percent(p) => {
                let limit = limit?;
                Some((limit.saturating_mul(u64::from(p)).saturating_add(99) / 100).max(1))
            }
        }
    }

    /// Parses `N` or `N%` for the check named `key`, which takes percentages when
    /// `percent_ok` (it has a kernel limit).
    pub fn parse(text: &str, percent_ok: bool, key: &str) -> Result<Level, String> {
        let text = text.trim();
        if let Some(p) = text.strip_suffix('%') {
            if !percent_ok {
                return Err(format!("{key} takes a number of sockets, not a percentage"));
            }
            let p: u32 = p
                .trim()
                .parse()
                .map_err(|_| format!("{text:?} is not a whole percentage"))?;
            if p == 0 || p > 1000 {
                return Err(format!("{text:?}: a percentage is 1% to 1000%"));
            }
            return Ok(Level::Percent(p));
        }
        let n: u64 = text
            .parse()
            .map_err(|_| format!("{text:?} is not a whole number of sockets (or N%)"))?;
        if n == 0 {
            return Err(format!("{text:?}: a level is at least 1"));
        }
        Ok(Level::Count(n))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Level::Count(n) => write!(f, "{n}"),
            Level::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// The warning and critical levels of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    pub warning: Level,
    pub critical: Level,
    /// Which level gives way when, once resolved against the limit, the critical level would
    /// be below the warning one (levels of different kinds can only be compared then).
    /// `true`: the critical level is a default kept under a `--threshold KEY=WARN` given
    /// without CRIT, and is raised to the warning level (as `--help` says). `false` (the
    /// defaults, or both levels given): the critical level stands and the warning level is
    /// lowered to it (SYN_RECV's 100% of a backlog of 6 stays critical at 6, below the
    /// default warning level of 100).
    pub critical_follows: bool,
}

impl Levels {
    /// A check's documented defaults (docs/GUIDE.md, `doctor --help`): the critical level stands.
    pub const fn default_of(warning: Level, critical: Level) -> Levels {
        Levels {
            warning,
            critical,
            critical_follows: false,
        }
    }
}
