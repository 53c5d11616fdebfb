//! Threshold ranges in the monitoring-plugin syntax (Nagios plugin development guidelines,
//! "Threshold and ranges"), as `check --warn` / `--crit` take them.
//!
//! Owns: [`Range`], its parser and the alert test. No I/O.
//!
//! | range | alert when the value is |
//! |---|---|
//! | `10` | above 10 (or below 0) |
//! | `10:` | below 10 |
//! | `~:10` | above 10 |
//! | `10:20` | outside 10..20 |
//! | `@10:20` | inside 10..20 (inclusive) |

use std::fmt;

/// A plugin threshold range; the text is kept for performance data.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// Lower bound; `-inf` for `~`.
    start: f64,
    /// Upper bound; `+inf` when omitted after `:`.
    end: f64,
    /// `@`: alert inside the range instead of outside.
    inside: bool,
    text: String,
}

impl Range {
    /// Parses `[@]start:end`, `[@]start:`, `[@]end` (start 0) and `~` for minus infinity.
    pub fn parse(text: &str) -> Result<Range, String> {
        let original = text.trim();
        let (inside, body) = match original.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, original),
        };
        let bad = |why: &str| {
            format!(
                "invalid range {original:?}: {why} (expected N, N:, ~:N, N:M or @N:M, as in the \
                 monitoring-plugin guidelines)"
            )
        };
        if body.is_empty() {
            return Err(bad("empty"));
        }
        let number = |s: &str| -> Result<f64, String> {
            let v: f64 = s
                .parse()
                .map_err(|_| bad(&format!("{s:?} is not a number")))?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(bad(&format!("{s:?} is not a finite number")))
            }
        };
        let (start, end) = match body.split_once(':') {
            None => (0.0, number(body)?),
            Some((s, e)) => {
                let start = match s {
                    "~" => f64::NEG_INFINITY,
                    "" => 0.0,
                    s => number(s)?,
                };
                let end = if e.is_empty() {
                    f64::INFINITY
                } else {
                    number(e)?
                };
                (start, end)
            }
        };
        if start > end {
            return Err(bad("start is above end"));
        }
        Ok(Range {
            start,
            end,
            inside,
            text: original.to_string(),
        })
    }

    /// Whether `value` raises the alert.
    pub fn alerts(&self, value: f64) -> bool {
        let within = self.start <= value && value <= self.end;
        within == self.inside
    }

    /// The range as written, for performance data.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alerts(range: &str, value: f64) -> bool {
        Range::parse(range).expect("valid").alerts(value)
    }

    #[test]
    fn guideline_examples() {
        // "10": outside 0..10.
        assert!(!alerts("10", 0.0) && !alerts("10", 10.0));
        assert!(alerts("10", 11.0) && alerts("10", -1.0));
        // "10:": below 10.
        assert!(alerts("10:", 9.0) && !alerts("10:", 10.0) && !alerts("10:", 1e12));
        // "~:10": above 10.
        assert!(!alerts("~:10", -1e12) && !alerts("~:10", 10.0) && alerts("~:10", 10.5));
        // "10:20": outside 10..20.
        assert!(alerts("10:20", 9.0) && !alerts("10:20", 15.0) && alerts("10:20", 21.0));
        // "@10:20": inside 10..20, inclusive.
        assert!(!alerts("@10:20", 9.0) && alerts("@10:20", 10.0) && alerts("@10:20", 20.0));
        assert!(!alerts("@10:20", 20.5));
        assert!(alerts("@5", 0.0) && !alerts("@5", 6.0));
        assert!(alerts("0", 1.0) && !alerts("0", 0.0));
    }

    #[test]
    fn text_is_kept_for_perfdata() {
        assert_eq!(Range::parse(" ~:10 ").expect("valid").text(), "~:10");
        assert_eq!(Range::parse("@1.5:2").expect("valid").to_string(), "@1.5:2");
    }

    #[test]
    fn bad_ranges_name_the_problem() {
        for (bad, why) in [
            ("", "empty"),
            ("@", "empty"),
            ("x", "not a number"),
            ("20:10", "start is above end"),
            ("1:2:3", "not a number"),
            ("inf", "finite"),
            ("~", "not a number"),
        ] {
            let err = Range::parse(bad).expect_err(bad);
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
