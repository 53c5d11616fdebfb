//! Durations as people type them (`500ms`, `2s`, `1m`, `1h30m`) and print them (`5m12s`).
//!
//! Owns: parsing `--interval` / `--older-than` values (a usage error names the bad value) and
//! formatting ages. No I/O.

use std::time::Duration;

/// Parses `N` (seconds), `Nms`, `Ns`, `Nm`, `Nh`, `Nd` and sums like `1h30m` or `1m30s`.
/// Decimal fractions are allowed per unit (`1.5s`) and computed exactly in nanoseconds.
/// Zero is allowed; callers decide if it is valid.
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
    let mut total: u128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_len];
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit_ns: u128 = match &rest[..unit_len] {
            // A bare number, alone, is seconds.
            "" if total == 0 && rest.is_empty() && num_len == t.len() => 1_000_000_000,
            "ms" => 1_000_000,
            "s" | "sec" => 1_000_000_000,
            "m" | "min" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = total
            .checked_add(decimal_ns(number, unit_ns).ok_or_else(bad)?)
            .ok_or_else(bad)?;
    }
    // Anything past a century is a typo, not an interval.
    if total > 100 * 365 * 86_400_000_000_000 {
        return Err(format!(
            "duration {text:?} is over a century (examples: 500ms, 2s, 1m, 1h30m)"
        ));
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| bad())?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// `number` (digits, optionally `.digits`) times `unit_ns`, exactly, or `None`.
fn decimal_ns(number: &str, unit_ns: u128) -> Option<u128> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        || int.len() > 20
        || frac.len() > 18
    {
        return None;
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let scale = 10u128.pow(frac.len() as u32);
    int.checked_mul(unit_ns)?
        .checked_add(frac_value * unit_ns / scale)
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
