//! Durations as people type them (`500ms`, `2s`, `1m`, `1h30m`) and print them (`5m12s`).
//!
//! Owns: parsing `--interval` / `--older-than` values (a usage error names the bad value) and
//! formatting ages. No I/O.

use std::time::Duration;

/// Parses `N` (seconds), `Nms`, `Ns`, `Nm`, `Nh`, `Nd` and sums like `1h30m` or `1m30s`.
/// Fractions are allowed per unit (`1.5s`). Zero is allowed; callers decide if it is valid.
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "invalid duration {text:?} (examples: 500ms, 2s, 1m, 1h30m; a bare number is seconds)"
        )
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<f64>() {
        return seconds(secs).ok_or_else(bad);
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = total
            .checked_add(seconds(value * scale).ok_or_else(bad)?)
            .ok_or_else(bad)?;
    }
    Ok(total)
}

fn seconds(value: f64) -> Option<Duration> {
    // Anything past a century is a typo, not an interval.
    (value.is_finite() && (0.0..=3.2e9).contains(&value)).then(|| Duration::from_secs_f64(value))
}

/// `850ms`, `42s`, `5m12s`, `3h04m`, `2d05h`: two units at most, for narrow columns.
pub fn format_age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.subsec_millis()),
        1..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_people_type() {
        let ms = |n| Duration::from_millis(n);
        for (text, want) in [
            ("500ms", ms(500)),
            ("2s", ms(2000)),
            ("1m", ms(60_000)),
            ("1h30m", ms(5_400_000)),
            ("1m30s", ms(90_000)),
            ("1.5s", ms(1500)),
            ("3", ms(3000)),
            ("0.25", ms(250)),
            ("0", ms(0)),
            ("2d", ms(172_800_000)),
            (" 10s ", ms(10_000)),
        ] {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_the_rest_naming_the_value() {
        for text in [
            "",
            "s",
            "10x",
            "-1s",
            "1.2.3s",
            "ms",
            "5 m",
            "1e400",
            "inf",
            "NaN",
            "99999999999999h",
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(&format!("{text:?}")), "{err}");
        }
    }

    #[test]
    fn ages_are_short() {
        assert_eq!(format_age(Duration::from_millis(850)), "850ms");
        assert_eq!(format_age(Duration::from_secs(42)), "42s");
        assert_eq!(format_age(Duration::from_secs(312)), "5m12s");
        assert_eq!(format_age(Duration::from_secs(3 * 3600 + 4 * 60)), "3h04m");
        assert_eq!(
            format_age(Duration::from_secs(2 * 86_400 + 5 * 3600)),
            "2d05h"
        );
    }
}
