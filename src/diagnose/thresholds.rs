//! The levels `doctor` judges against: [`Thresholds`] holds the warning and critical
//! [`Levels`] of every check, the defaults of the check table with
//! `--threshold KEY=WARN[,CRIT]` overrides ([`parse_threshold`]) applied.
//!
//! Owns: the override syntax, its errors, and how an override combines with a default. Must not
//! judge a value (the rules resolve levels against the limits they read) nor hold a check's
//! defaults (the check table does).

use super::checks::CHECKS;
use super::levels::{Level, Levels};
use super::Check;

/// One `--threshold KEY=WARN[,CRIT]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdOverride {
    pub check: Check,
    pub warning: Level,
    pub critical: Option<Level>,
}

/// Parses `KEY=WARN[,CRIT]`, each level a number of sockets or, for checks with a kernel
/// limit, `N%` of it.
pub fn parse_threshold(text: &str) -> Result<ThresholdOverride, String> {
    let keys: Vec<&str> = Check::ALL.iter().map(|c| c.key()).collect();
    let (key, levels) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected KEY=WARN[,CRIT], e.g. CLOSE_WAIT=100"))?;
    let check = Check::parse_key(key.trim()).ok_or_else(|| {
        format!(
            "{text:?}: unknown threshold {:?}; the keys are {}",
            key.trim(),
            keys.join(", ")
        )
    })?;
    let level = |t: &str| {
        Level::parse(t, check.limit_name().is_some(), check.key())
            .map_err(|e| format!("{text:?}: {e}"))
    };
    let (warning, critical) = match levels.split_once(',') {
        Some((w, c)) => (level(w)?, Some(level(c)?)),
        None => (level(levels)?, None),
    };
    if let Some(c) = critical {
        let backwards = match (warning, c) {
            (Level::Count(w), Level::Count(c)) => w > c,
            (Level::Percent(w), Level::Percent(c)) => w > c,
            _ => false,
        };
        if backwards {
            return Err(format!(
                "{text:?}: the warning level is above the critical one"
            ));
        }
    }
    Ok(ThresholdOverride {
        check,
        warning,
        critical,
    })
}

/// The levels of every check: defaults with overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    /// Indexed like [`CHECKS`] (by `Check as usize`).
    levels: [Levels; CHECKS.len()],
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            levels: Check::ALL.map(Check::default_levels),
        }
    }
}

impl Thresholds {
    pub fn get(&self, check: Check) -> Levels {
        self.levels[check.index()]
    }

    /// Applies an override. With only a warning level, the critical level keeps its value,
    /// raised to the warning level when it is the same kind and lower.
    pub fn apply(&mut self, o: &ThresholdOverride) {
        let i = o.check.index();
        let old = self.levels[i];
        let critical = o.critical.unwrap_or(match (o.warning, old.critical) {
            (Level::Count(w), Level::Count(c)) if c < w => Level::Count(w),
            (Level::Percent(w), Level::Percent(c)) if c < w => Level::Percent(w),
            _ => old.critical,
        });
        self.levels[i] = Levels {
            warning: o.warning,
            critical,
            critical_follows: o.critical.is_none(),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::judge;
    use crate::diagnose::Severity;

    #[test]
    fn levels_parse_resolve_and_override() {
        let o = parse_threshold("close-wait=5,50").expect("valid");
        assert_eq!(
            (o.check, o.warning, o.critical),
            (Check::CloseWait, Level::Count(5), Some(Level::Count(50)))
        );
        let o = parse_threshold("TIME_WAIT=70%").expect("valid");
        assert_eq!((o.warning, o.critical), (Level::Percent(70), None));
        let mut t = Thresholds::default();
        t.apply(&o);
        assert_eq!(t.get(Check::TimeWait).critical, Level::Percent(90));
        t.apply(&parse_threshold("TIME_WAIT=95%").expect("valid"));
        assert_eq!(
            t.get(Check::TimeWait).critical,
            Level::Percent(95),
            "raised"
        );
        t.apply(&parse_threshold("CLOSE_WAIT=500").expect("valid"));
        assert_eq!(t.get(Check::CloseWait).critical, Level::Count(500));
        for (bad, why) in [
            ("CLOSE_WAIT", "expected KEY=WARN"),
            ("ESTABLISHED=5", "unknown threshold"),
            ("CLOSE_WAIT=50%", "not a percentage"),
            ("CLOSE_WAIT=0", "at least 1"),
            ("CLOSE_WAIT=10,5", "above the critical"),
            ("ORPHANS=x%", "whole percentage"),
        ] {
            let err = parse_threshold(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
        // A count above a percentage's resolution: the critical level is raised to it.
        let mut t = Thresholds::default();
        t.apply(&parse_threshold("TIME_WAIT=200000").expect("valid"));
        let levels = t.get(Check::TimeWait);
        assert_eq!(levels.critical, Level::Percent(90), "kinds differ: kept");
        assert_eq!(
            judge(150_000, levels, Some(131_072)),
            (Severity::Ok, Some(200_000), Some(200_000)),
            "90% of 131072 is 117965, below the warning level"
        );
        assert_eq!(
            judge(200_000, levels, Some(131_072)).0,
            Severity::Critical,
            "at both levels"
        );
        // Both given: the critical level stands, the warning level is lowered to it.
        let both = parse_threshold("EPHEMERAL_PORTS=500,10%").expect("valid: kinds differ");
        t.apply(&both);
        assert_eq!(
            judge(100, t.get(Check::EphemeralPorts), Some(1000)),
            (Severity::Critical, Some(100), Some(100))
        );
        // So do defaults: SYN_RECV is critical at a full SYN queue below its 100 warning.
        assert_eq!(
            judge(6, Check::SynRecv.default_levels(), Some(6)),
            (Severity::Critical, Some(6), Some(6))
        );
        // Unknown limit: the percentage stays unknown, the count stands.
        assert_eq!(judge(1, levels, None), (Severity::Ok, Some(200_000), None));
        for check in Check::ALL {
            for limit in [None, Some(0), Some(1), Some(100), Some(131_072)] {
                let (_, w, c) = judge(1, Check::default_levels(check), limit);
                if let (Some(w), Some(c)) = (w, c) {
                    assert!(c >= w, "{check:?} at {limit:?}: {w} > {c}");
                }
            }
        }
        assert_eq!(Level::Percent(80).resolve(Some(1)), Some(1));
        assert_eq!(Level::Percent(100).resolve(Some(0)), Some(1));
        assert_eq!(Level::Percent(50).resolve(Some(28232)), Some(14116));
        assert_eq!(Level::Percent(50).resolve(None), None);
        assert_eq!(Check::parse_key("fin-wait1"), Some(Check::FinWait1));
        assert_eq!(Check::parse_key("accept-queue"), Some(Check::AcceptQueue));
    }
}
