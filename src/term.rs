//! The terminal, for `watch`: a screen redrawn in place, always given back.
//!
//! Owns: entering and leaving the alternate screen with the cursor hidden (restored by
//! [`Screen`]'s `Drop` on every way out: Ctrl-C, error, broken pipe, panic), drawing a frame
//! without flicker (home, overwrite each line, clear the rest; never clear the whole screen),
//! the terminal size, and turning SIGINT / SIGTERM into a flag the loop polls.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const ENTER: &str = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
const LEAVE: &str = "\x1b[?25h\x1b[?1049l";
const HOME: &str = "\x1b[H";
const CLEAR_LINE_END: &str = "\x1b[K";
const CLEAR_BELOW: &str = "\x1b[J";

/// The alternate screen with a hidden cursor, for as long as this value lives.
pub struct Screen<'w> {
    out: &'w mut dyn Write,
    active: bool,
}

impl<'w> Screen<'w> {
    pub fn enter(out: &'w mut dyn Write) -> io::Result<Screen<'w>> {
        out.write_all(ENTER.as_bytes())?;
        out.flush()?;
        Ok(Screen { out, active: true })
    }

    /// Draws `lines` (already cut to the width, see [`fit`]) over the previous frame.
    pub fn draw(&mut self, lines: &[String]) -> io::Result<()> {
        let mut frame = String::with_capacity(lines.iter().map(|l| l.len() + 8).sum::<usize>() + 8);
        frame.push_str(HOME);
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                frame.push_str("\r\n");
            }
            frame.push_str(line);
            frame.push_str(CLEAR_LINE_END);
        }
        frame.push_str(CLEAR_BELOW);
        self.out.write_all(frame.as_bytes())?;
        self.out.flush()
    }

    /// Gives the terminal back: cursor shown, the previous screen restored.
    pub fn leave(&mut self) -> io::Result<()> {
        if self.active {
            self.active = false;
            self.out.write_all(LEAVE.as_bytes())?;
            self.out.flush()?;
        }
        Ok(())
    }

    /// The writer, for output after leaving (the final frame).
    pub fn writer(&mut self) -> &mut dyn Write {
        self.out
    }
}

impl Drop for Screen<'_> {
    fn drop(&mut self) {
        let _ = self.leave();
    }
}

/// Cuts a line to `width` characters (the frame must never wrap, or the redraw drifts).
pub fn fit(line: &str, width: usize) -> String {
    match line.char_indices().nth(width) {
        Some((cut, _)) => line[..cut].to_string(),
        None => line.to_string(),
    }
}

/// Columns and rows of the terminal on stdout, if it is one.
pub fn size() -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the pointer we pass, which points to a
    // live, properly aligned local. This is the crate's only unsafe code: std has no API for
    // the terminal size, and a crate for one ioctl would not earn its place.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0 && ws.ws_row > 0).then_some((ws.ws_col, ws.ws_row))
}

/// A flag set by SIGINT / SIGTERM. Installing twice in one process fails (tests call `run`
/// more than once): then the existing handler's flag cannot be had, and a fresh, never-set
/// flag is returned, so Ctrl-C falls back to the default action.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let set = Arc::clone(&flag);
        let _ = ctrlc::set_handler(move || set.store(true, Ordering::SeqCst));
        flag
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_overwrite_in_place_and_leaving_restores() {
        let mut out = Vec::new();
        {
            let mut screen = Screen::enter(&mut out).expect("enter");
            screen.draw(&["a".into(), "b".into()]).expect("draw");
        }
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with(ENTER));
        assert!(text.contains("\x1b[Ha\x1b[K\r\nb\x1b[K\x1b[J"), "{text:?}");
        assert!(text.ends_with(LEAVE), "restored on drop: {text:?}");
        assert_eq!(
            text.matches("2J").count(),
            1,
            "the screen is cleared once, not per frame"
        );
    }

    #[test]
    fn fit_cuts_on_characters() {
        assert_eq!(fit("▁▂▃▄", 2), "▁▂");
        assert_eq!(fit("abc", 10), "abc");
    }
}
