//! Making outside text safe for a terminal.
//!
//! Owns: [`escape`], applied to every piece of text that did not come from tcpstat itself
//! (host names, process names, paths, typed values) before it reaches a human-readable output.
//! JSON output escapes the same characters as `\uXXXX` (see `json::InertFormatter`).

use std::borrow::Cow;
use std::fmt::Write;

use unicode_width::UnicodeWidthChar;

/// Replaces control characters (C0, DEL, C1), Unicode bidi controls (marks, embeddings,
/// overrides, isolates, the Arabic letter mark) and the line / paragraph separators with
/// visible escapes (`\x1b`, `\u{202e}`), so text from other users can neither move the cursor,
/// recolour, retitle the terminal nor reorder what is shown. Backslashes are doubled so an
/// escape cannot be faked.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text the user typed, shown back in a usage error: control, bidi and invisible characters
/// are escaped as by [`escape`], but backslashes are not doubled. The text is the user's own
/// command line, so there is nothing to fake, and a value a parser already showed in Rust's
/// debug form (`"\u{1b}[2J"`) must not have its escapes escaped again.
pub fn escape_typed(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            let mut out = String::with_capacity(line.len());
            for c in line.chars() {
                if c == '\\' || !needs_escape(c) {
                    out.push(c);
                } else {
                    out.push_str(&escape(&c.to_string()));
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// [`escape`] for multi-line messages: newlines stay, everything else is escaped per line.
pub fn escape_lines(text: &str) -> String {
    text.split('\n').map(escape).collect::<Vec<_>>().join("\n")
}

fn needs_escape(c: char) -> bool {
    c == '\\' || is_unsafe_for_terminals(c)
}

/// Characters that must never reach a terminal raw, because they change what the terminal
/// does or hide what text says:
/// - C0, DEL and C1 controls (`char::is_control` is exactly U+0000-U+001F and
///   U+007F-U+009F);
/// - the line and paragraph separators U+2028 / U+2029, which some terminals and viewers treat
///   as line breaks;
/// - every format character (Unicode general category Cf: the bidi controls U+061C, U+200E,
///   U+200F, U+202A-U+202E, U+2066-U+2069 that reorder what is shown; zero-width space, joiners,
///   word joiner, the BOM; Unicode tag characters U+E0001-U+E007F; ...) and every other
///   default-ignorable code point (the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, variation
///   selectors, the combining grapheme joiner, ...): they display as nothing, so
///   `\u{200b}nginx` would look exactly like `nginx` (issue 14).
///
/// Shared by the JSON writer, which escapes the same set as `\uXXXX`. Ranges from Unicode 15.1
/// (`DerivedCoreProperties.txt` Default_Ignorable_Code_Point, and `gc=Cf` from
/// `UnicodeData.txt`); an unassigned code point in them is escaped too.
pub fn is_unsafe_for_terminals(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_invisible(c)
}

/// Format characters (Cf) and default-ignorable code points: see [`is_unsafe_for_terminals`].
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{034f}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061c}'
            | '\u{06dd}'
            | '\u{070f}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08e2}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

/// Display columns of `text` (a CJK character takes two, a combining mark none).
pub fn width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Cuts a line to `columns` display columns (the frame must never wrap, or the screen
/// scrolls). A wide character that would straddle the edge is left out. Control characters
/// are escaped before this (`render::text::escape`).
pub fn fit(line: &str, columns: usize) -> String {
    let mut used = 0;
    for (at, c) in line.char_indices() {
        used += c.width().unwrap_or(0);
        if used > columns {
            return line[..at].to_string();
        }
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_messages_keep_their_lines() {
        assert_eq!(escape_lines("a\x1b[2J\nb\r"), "a\\x1b[2J\nb\\r");
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape("nginx: worker"), Cow::Borrowed(_)));
    }

    #[test]
    fn control_and_bidi_characters_are_made_visible() {
        assert_eq!(escape("evil\x1b[2J\x07"), "evil\\x1b[2J\\x07");
        assert_eq!(escape("a\rb\nc\td"), "a\\rb\\nc\\td");
        assert_eq!(escape("x\u{9b}y"), "x\\u{9b}y");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("back\\x1b"), "back\\\\x1b");
        assert_eq!(escape("\x7f"), "\\x7f");
        assert_eq!(
            escape("a\u{61c}b\u{200e}c\u{200f}"),
            "a\\u{61c}b\\u{200e}c\\u{200f}"
        );
        assert_eq!(escape("l\u{2028}p\u{2029}"), "l\\u{2028}p\\u{2029}");
        for c in (0x80..=0x9f).filter_map(char::from_u32) {
            assert_eq!(escape(&c.to_string()), format!("\\u{{{:x}}}", c as u32));
        }
        for out in [escape("\x1b]0;title\x07"), escape("\u{2066}")] {
            assert!(
                !out.chars().any(|c| c.is_control() || c == '\u{2066}'),
                "{out}"
            );
        }
    }
}

/// Formats seconds + milliseconds since the Unix epoch as RFC 3339 UTC
/// (`2026-11-21T12:00:00.123Z`), without a date library (Howard Hinnant's `civil_from_days`).
pub fn rfc3339_utc(unix_seconds: u64, millis: u32) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod time_tests {
    use super::{escape, fit, rfc3339_utc, width};

    #[test]
    fn known_dates() {
        assert_eq!(rfc3339_utc(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339_utc(1_795_262_400, 999), "2026-11-21T12:00:00.999Z");
        assert_eq!(rfc3339_utc(4_102_444_799, 0), "2099-12-31T23:59:59.000Z");
    }

    #[test]
    fn fit_cuts_on_display_columns() {
        assert_eq!(fit("▁▂▃▄", 2), "▁▂");
        assert_eq!(fit("abc", 10), "abc");
        // Each of these takes two columns: a fourth would reach column 8.
        assert_eq!(fit("pid 7 日本語の名前", 12), "pid 7 日本語");
        assert_eq!(fit("pid 7 日本語の名前", 13), "pid 7 日本語");
        assert_eq!(width(&fit("日本語の名前です", 9)), 8, "no half character");
        assert_eq!(width("e\u{301}"), 1, "a combining mark takes no column");
        assert_eq!(fit("e\u{301}x", 1), "e\u{301}");
    }

    #[test]
    fn invisible_characters_are_escaped() {
        for (raw, shown) in [
            ("\u{200b}nginx", "\\u{200b}nginx"),
            ("ngi\u{2060}nx", "ngi\\u{2060}nx"),
            ("\u{feff}bom", "\\u{feff}bom"),
            ("tag\u{e0041}", "tag\\u{e0041}"),
            ("\u{3164}", "\\u{3164}"),
            ("\u{115f}x", "\\u{115f}x"),
            ("soft\u{ad}hyphen", "soft\\u{ad}hyphen"),
            ("vs\u{fe0f}", "vs\\u{fe0f}"),
        ] {
            assert_eq!(escape(raw), shown, "{raw:?}");
        }
        // Visible text, wide characters and ordinary combining marks stay as they are.
        for plain in [
            "nginx",
            "caf\u{e9}",
            "e\u{301}",
            "\u{65e5}\u{672c}",
            "\u{1f600}",
        ] {
            assert_eq!(escape(plain), plain);
        }
    }
}
