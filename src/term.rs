//! The terminal, for `watch`: a screen redrawn in place, always given back; and the signals
//! that stop `watch` and `serve` or ask `watch` to step aside.
//!
//! Owns: entering and leaving the alternate screen with the cursor hidden (restored by
//! [`Screen`]'s `Drop` on every way out: Ctrl-C, error, broken pipe, panic; and left on
//! Ctrl-Z before stopping), drawing a frame without flicker (each line put at its row and
//! overwritten, the rest cleared; never the whole screen cleared), cutting lines by display
//! width, the terminal size and foreground, and turning signals into flags the loops poll:
//! SIGINT / SIGTERM / SIGHUP ([`StopFlag`]) and, for the screen, SIGWINCH / SIGTSTP / SIGCONT
//! ([`ScreenSignals`]).
//!
//! Signals only set flags (`signal_hook::flag`): everything else (leaving the screen,
//! stopping, redrawing) happens in the loop, outside the handler, where it is safe. The loops
//! do not poll on a timer: [`defer_signals`] blocks the signals tcpstat acts on everywhere but
//! in [`StopFlag::wait`], which sleeps in `ppoll(2)` with them unblocked, so a signal wakes
//! the sleeper at once (no lost wake-up between looking at the flags and going to sleep), and
//! an idle `serve` or a `watch` between ticks costs no wake-ups and no descriptor.

use std::io::{self, Write};
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::time::TimeSpec;

use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGSTOP, SIGTERM, SIGTSTP, SIGWINCH};

const ENTER: &str = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
const LEAVE: &str = "\x1b[?25h\x1b[?1049l";
/// Synchronized output (DEC mode 2026): the terminal shows the frame once it is complete.
/// Terminals that do not know the mode ignore it.
const BEGIN_SYNC: &str = "\x1b[?2026h";
const END_SYNC: &str = "\x1b[?2026l";
const CLEAR_LINE_END: &str = "\x1b[K";
const CLEAR_BELOW: &str = "\x1b[J";

/// The alternate screen with a hidden cursor, for as long as this value lives and is active.
pub struct Screen<'w> {
    out: &'w mut dyn Write,
    active: bool,
}

impl<'w> Screen<'w> {
    pub fn enter(out: &'w mut dyn Write) -> io::Result<Screen<'w>> {
        let mut screen = Screen { out, active: false };
        screen.reenter()?;
        Ok(screen)
    }

    /// Takes the alternate screen (again, after [`Screen::leave`]: a resumed Ctrl-Z).
    pub fn reenter(&mut self) -> io::Result<()> {
        if !self.active {
            self.out.write_all(ENTER.as_bytes())?;
            self.out.flush()?;
            self.active = true;
        }
        Ok(())
    }

    /// True while the screen is ours (between `enter` / `reenter` and `leave`).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Draws `lines` (already cut to the width, see [`crate::render::text::fit`]) over the previous frame, in one
    /// `write(2)` wrapped in synchronized output. Each line is put at its row with a cursor
    /// position, never with a newline: a newline at the bottom row would scroll, and stdout's
    /// line buffering would split the frame into two writes at the last newline.
    pub fn draw(&mut self, lines: &[String]) -> io::Result<()> {
        let mut frame = String::with_capacity(
            lines.iter().map(|l| l.len() + 16).sum::<usize>() + 3 * BEGIN_SYNC.len(),
        );
        frame.push_str(BEGIN_SYNC);
        for (row, line) in lines.iter().enumerate() {
            frame.push_str(&format!("\x1b[{};1H", row + 1));
            frame.push_str(line);
            frame.push_str(CLEAR_LINE_END);
        }
        if lines.is_empty() {
            frame.push_str("\x1b[H");
        }
        frame.push_str(CLEAR_BELOW);
        frame.push_str(END_SYNC);
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

/// Columns and rows of the terminal on stdout, if it is one (`TIOCGWINSZ`).
pub fn size() -> Option<(u16, u16)> {
    let ws = rustix::termios::tcgetwinsize(io::stdout()).ok()?;
    (ws.ws_col > 0 && ws.ws_row > 0).then_some((ws.ws_col, ws.ws_row))
}

/// True when tcpstat is in the terminal's foreground process group (not `bg`-ed), or when
/// that cannot be told (then drawing is the better guess).
pub fn in_foreground() -> bool {
    match rustix::termios::tcgetpgrp(io::stdout()) {
        Ok(group) => group == rustix::process::getpgrp(),
        Err(_) => true,
    }
}

/// A signal that asks a run to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: a service manager's (or `kill`'s) normal stop.
    Terminate,
    /// SIGHUP: the terminal went away.
    Hangup,
    /// Another signal whose default action ends the program (SIGQUIT, SIGUSR1, ...), caught
    /// only while `watch` holds the screen ([`ScreenSignals::install`]): the screen is given
    /// back, then the program ends the way the signal would have ended it ([`end_by`]).
    Other(i32),
}

impl StopSignal {
    /// The error a loop ends with on this signal.
    pub fn error(self) -> crate::error::Error {
        match self {
            StopSignal::Other(signal) => crate::error::Error::Signaled(signal),
            _ => crate::error::Error::Interrupted,
        }
    }
}

/// Signals whose default action ends the program, besides SIGINT, SIGTERM and SIGHUP: caught
/// while the screen is ours, so that the terminal is never left on the alternate screen with
/// a hidden cursor (Ctrl-\\ is SIGQUIT). Faults (SIGSEGV, SIGBUS, ...) cannot be caught
/// safely, and SIGKILL not at all.
const ENDING: [i32; 10] = [
    Signal::SIGQUIT as i32,
    Signal::SIGUSR1 as i32,
    Signal::SIGUSR2 as i32,
    Signal::SIGALRM as i32,
    Signal::SIGVTALRM as i32,
    Signal::SIGPROF as i32,
    Signal::SIGIO as i32,
    Signal::SIGPWR as i32,
    Signal::SIGXCPU as i32,
    Signal::SIGXFSZ as i32,
];

/// Ends the program as `signal` would have, once the terminal is restored: its default
/// action (a core dump for SIGQUIT), so that a parent sees the signal. Exits 128 + signal if
/// that does not end it.
pub fn end_by(signal: i32) -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(signal);
    std::process::exit(128 + signal)
}

/// Set by SIGINT, SIGTERM or SIGHUP; read by `watch` and `serve`, which sleep in
/// [`StopFlag::wait`] so that a signal wakes them at once.
#[derive(Debug, Clone)]
pub struct StopFlag(Arc<AtomicUsize>);

impl StopFlag {
    /// The last stop signal received, if any.
    pub fn get(&self) -> Option<StopSignal> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            n if n == SIGTERM as usize => Some(StopSignal::Terminate),
            n if n == SIGHUP as usize => Some(StopSignal::Hangup),
            n if n == SIGINT as usize => Some(StopSignal::Interrupt),
            n => Some(StopSignal::Other(i32::try_from(n).unwrap_or(0))),
        }
    }

    /// Sleeps until `fd` is readable (`true`), a signal tcpstat acts on arrives, or
    /// `timeout` passes (for ever without one); `false` when it returns for another reason
    /// than `fd`. The caller then looks at the flags. After [`defer_signals`] no signal can
    /// slip in between looking at the flags and going to sleep: they are unblocked only
    /// inside `ppoll(2)`, atomically.
    pub fn wait(&self, fd: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> io::Result<bool> {
        let mut fds: Vec<PollFd<'_>> = fd
            .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
            .into_iter()
            .collect();
        let mut mask = SigSet::thread_get_mask()?;
        for signal in DEFERRED {
            mask.remove(signal);
        }
        match ppoll(&mut fds, timeout.map(TimeSpec::from_duration), Some(mask)) {
            Ok(_) => Ok(fds
                .first()
                .and_then(PollFd::revents)
                .is_some_and(|events| !events.is_empty())),
            Err(Errno::EINTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// The signals tcpstat acts on: the stop signals, the screen's, and the others that end the
/// program (caught while the screen is ours).
const DEFERRED: [Signal; 16] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGWINCH,
    Signal::SIGTSTP,
    Signal::SIGCONT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGIO,
    Signal::SIGPWR,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
];

/// Blocks the signals tcpstat acts on in the calling thread and in every thread it starts
/// afterwards (threads inherit the mask): they are then delivered only while a loop sleeps in
/// [`StopFlag::wait`]. For `watch` and `serve`, before they start any thread. A signal that
/// arrives meanwhile waits, pending, for the next `wait` (at most one collection).
pub fn defer_signals() -> io::Result<()> {
    let mut set = SigSet::empty();
    for signal in DEFERRED {
        set.add(signal);
    }
    set.thread_block().map_err(io::Error::from)
}

static STOP: OnceLock<StopFlag> = OnceLock::new();

/// The stop flag, its handlers installed on first use (once per process: tests call `run`
/// more than once, and a handler stays for the process's life). If installing fails, the
/// flag is never set and the signals keep their default action (the process ends).
pub fn stop_flag() -> StopFlag {
    STOP.get_or_init(|| {
        let flag = Arc::new(AtomicUsize::new(0));
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            let _ = signal_hook::flag::register_usize(signal, Arc::clone(&flag), signal as usize);
        }
        StopFlag(flag)
    })
    .clone()
}

/// What the terminal asked of the screen since it was last looked at.
#[derive(Debug, Default)]
pub struct ScreenSignals {
    /// SIGWINCH: the size changed; redraw now.
    resized: AtomicBool,
    /// SIGTSTP: Ctrl-Z; give the terminal back, then stop.
    suspend: AtomicBool,
    /// SIGCONT: continued (`fg`, `bg`, `kill -CONT`); take the screen again if in front.
    continued: AtomicBool,
}

/// One thing the screen has to do, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenEvent {
    Suspend,
    Continued,
    Resized,
}

impl ScreenSignals {
    /// The flags, their handlers installed on first use (once per process). Installed only
    /// by an interactive `watch`: piped, Ctrl-Z keeps its default action. Once installed,
    /// SIGTSTP no longer stops the process by itself: [`suspend`] does it.
    pub fn install() -> &'static ScreenSignals {
        static SIGNALS: OnceLock<ScreenSignals> = OnceLock::new();
        static INSTALLED: OnceLock<()> = OnceLock::new();
        let signals = SIGNALS.get_or_init(ScreenSignals::default);
        INSTALLED.get_or_init(|| {
            let _ = signal_hook::flag::register(SIGWINCH, &signals.resized);
            let _ = signal_hook::flag::register(SIGTSTP, &signals.suspend);
            let _ = signal_hook::flag::register(SIGCONT, &signals.continued);
            // The screen must be given back whatever ends the program.
            let stop = stop_flag();
            for signal in ENDING {
                let _ =
                    signal_hook::flag::register_usize(signal, Arc::clone(&stop.0), signal as usize);
            }
        });
        signals
    }

    /// Takes the most urgent pending event, if any.
    pub fn take(&self) -> Option<ScreenEvent> {
        if self.suspend.swap(false, Ordering::SeqCst) {
            Some(ScreenEvent::Suspend)
        } else if self.continued.swap(false, Ordering::SeqCst) {
            Some(ScreenEvent::Continued)
        } else if self.resized.swap(false, Ordering::SeqCst) {
            Some(ScreenEvent::Resized)
        } else {
            None
        }
    }
}

/// A key read from the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
}

/// The keys in `bytes`, what one read of the terminal gave: characters (UTF-8), and the
/// arrows, Home and End as terminals send them (`ESC [ C`, `ESC O C` in application mode,
/// `ESC [ H`, `ESC [ 1 ~`, `ESC [ 4 ~`, ...). Other sequences and a lone ESC are dropped.
pub fn keys(bytes: &[u8]) -> Vec<Key> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1b {
            let Some(&kind) = bytes.get(i + 1) else {
                break;
            };
            if kind != b'[' && kind != b'O' {
                i += 1;
                continue;
            }
            // Parameters, then the final byte (0x40..=0x7e).
            let mut j = i + 2;
            while j < bytes.len() && !(0x40..=0x7e).contains(&bytes[j]) {
                j += 1;
            }
            let Some(&end) = bytes.get(j) else {
                break;
            };
            let params = &bytes[i + 2..j];
            let key = match (end, params) {
                (b'A', _) => Some(Key::Up),
                (b'B', _) => Some(Key::Down),
                (b'C', _) => Some(Key::Right),
                (b'D', _) => Some(Key::Left),
                (b'H', _) | (b'~', b"1" | b"7") => Some(Key::Home),
                (b'F', _) | (b'~', b"4" | b"8") => Some(Key::End),
                _ => None,
            };
            out.extend(key);
            i = j + 1;
            continue;
        }
        let len = match bytes[i] {
            b if b < 0x80 => 1,
            b if b >= 0xf0 => 4,
            b if b >= 0xe0 => 3,
            _ => 2,
        };
        let end = (i + len).min(bytes.len());
        if let Some(c) = std::str::from_utf8(&bytes[i..end])
            .ok()
            .and_then(|s| s.chars().next())
        {
            out.push(Key::Char(c));
        }
        i = end;
    }
    out
}

/// The terminal's keys one at a time (no line editing, no echo), for as long as this value
/// lives: the settings are restored on drop, and around a Ctrl-Z ([`KeyInput::restore`],
/// [`KeyInput::reapply`]). Ctrl-C and Ctrl-Z still send their signals.
pub struct KeyInput {
    saved: rustix::termios::Termios,
}

impl KeyInput {
    /// Takes stdin's keys; `None` when stdin is not a terminal.
    pub fn enable() -> io::Result<Option<KeyInput>> {
        let stdin = io::stdin();
        if !rustix::termios::isatty(&stdin) {
            return Ok(None);
        }
        let saved = rustix::termios::tcgetattr(&stdin)?;
        let input = KeyInput { saved };
        input.reapply()?;
        Ok(Some(input))
    }

    /// Keys one at a time, without echo (again, after [`KeyInput::restore`]).
    pub fn reapply(&self) -> io::Result<()> {
        use rustix::termios::{LocalModes, OptionalActions, SpecialCodeIndex};
        let mut raw = self.saved.clone();
        raw.local_modes
            .remove(LocalModes::ICANON | LocalModes::ECHO);
        raw.special_codes[SpecialCodeIndex::VMIN] = 1;
        raw.special_codes[SpecialCodeIndex::VTIME] = 0;
        rustix::termios::tcsetattr(io::stdin(), OptionalActions::Now, &raw)?;
        Ok(())
    }

    /// The terminal's settings as they were.
    pub fn restore(&self) -> io::Result<()> {
        rustix::termios::tcsetattr(
            io::stdin(),
            rustix::termios::OptionalActions::Now,
            &self.saved,
        )?;
        Ok(())
    }

    /// The keys waiting (call when stdin is readable: it blocks otherwise); `None` at the
    /// end of input.
    pub fn read(&self) -> io::Result<Option<Vec<Key>>> {
        let mut buf = [0u8; 256];
        let n = rustix::io::read(io::stdin(), &mut buf)?;
        Ok((n > 0).then(|| keys(&buf[..n])))
    }
}

impl Drop for KeyInput {
    fn drop(&mut self) {
        let _ = self.restore();
    }
}

/// Stops the process as Ctrl-Z would have (SIGSTOP cannot be caught), returning once it is
/// continued. The caller leaves the screen first.
pub fn suspend() -> io::Result<()> {
    signal_hook::low_level::raise(SIGSTOP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_overwrite_in_place_in_one_write_and_leaving_restores() {
        let mut out = Vec::new();
        {
            let mut screen = Screen::enter(&mut out).expect("enter");
            screen.draw(&["a".into(), "b".into()]).expect("draw");
        }
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with(ENTER));
        assert!(
            text.contains("\x1b[?2026h\x1b[1;1Ha\x1b[K\x1b[2;1Hb\x1b[K\x1b[J\x1b[?2026l"),
            "{text:?}"
        );
        assert!(!text.contains('\n'), "no newline: one write, no scroll");
        assert!(text.ends_with(LEAVE), "restored on drop: {text:?}");
        assert_eq!(
            text.matches("2J").count(),
            1,
            "the screen is cleared once, not per frame"
        );
    }

    #[test]
    fn leaving_and_reentering() {
        let mut out = Vec::new();
        {
            let mut screen = Screen::enter(&mut out).expect("enter");
            screen.leave().expect("leave");
            assert!(!screen.is_active());
            screen.leave().expect("twice is once");
            screen.reenter().expect("reenter");
            assert!(screen.is_active());
        }
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text, format!("{ENTER}{LEAVE}{ENTER}{LEAVE}"));
    }

    #[test]
    fn keys_are_characters_arrows_home_and_end() {
        assert_eq!(
            keys(b"q \x1b[C\x1bOD\x1b[H\x1b[4~+\x1b[5~\xc3\xa9\x1b"),
            [
                Key::Char('q'),
                Key::Char(' '),
                Key::Right,
                Key::Left,
                Key::Home,
                Key::End,
                Key::Char('+'),
                Key::Char('\u{e9}'),
            ]
        );
    }
}
