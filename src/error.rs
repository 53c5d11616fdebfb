//! Typed errors and exit codes.
//!
//! Owns: [`Error`], which carries the path / errno / family needed to say what went wrong in
//! one line, and [`ExitCode`], the only place exit statuses are decided. Printing happens in
//! `main`; nothing here writes.

use std::io;
use std::path::PathBuf;

use crate::model::Family;

/// Process exit status (documented in docs/GUIDE.md and the man page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Success (also: the reader closed the pipe).
    Ok = 0,
    /// A runtime error: the kernel could not be read, output failed.
    Error = 1,
    /// A usage error: bad flag or value (clap exits with this code itself).
    Usage = 2,
    /// `doctor`: the worst finding is a warning.
    Warning = 3,
    /// `doctor`: the worst finding is critical.
    Critical = 4,
    /// `watch` stopped by Ctrl-C (SIGINT), SIGTERM or SIGHUP, after restoring the terminal;
    /// `serve` stopped by Ctrl-C or SIGHUP (SIGTERM, its normal stop, is 0).
    Interrupted = 130,
}

/// The exit status of `check`, by the monitoring-plugin convention (Nagios, Icinga, Sensu):
/// unlike every other subcommand, a runtime or usage error is `Unknown` (3) here, never 1 or 2,
/// which a monitoring system would read as WARNING or CRITICAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PluginStatus {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl PluginStatus {
    /// The word of the status line: `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub const fn label(self) -> &'static str {
        match self {
            PluginStatus::Ok => "OK",
            PluginStatus::Warning => "WARNING",
            PluginStatus::Critical => "CRITICAL",
            PluginStatus::Unknown => "UNKNOWN",
        }
    }
}

/// How a run that did not fail ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// One of the ordinary statuses (0, or `doctor`'s 3 and 4).
    Code(ExitCode),
    /// `check`'s plugin status.
    Plugin(PluginStatus),
}

impl Exit {
    pub const SUCCESS: Exit = Exit::Code(ExitCode::Ok);

    /// The process exit status.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Code(code) => code as u8,
            Exit::Plugin(status) => status as u8,
        }
    }
}

/// Everything that can stop a run. `Display` says what failed in tcpstat's words; the cause
/// (an OS error, a nested error) is the `source()`, never repeated in the message: print an
/// error with [`Error::report`], which joins the whole chain (`cannot read /proc/net/tcp:
/// Permission denied (os error 13)`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The sock_diag netlink socket could not be created.
    #[error("cannot open a sock_diag netlink socket")]
    NetlinkOpen(#[source] io::Error),
    /// Sending the dump request or receiving its answer failed.
    #[error("sock_diag {} dump: {op} failed", family.label())]
    NetlinkIo {
        family: Family,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// The kernel answered the request with `NLMSG_ERROR` or ended the dump with an errno.
    #[error("sock_diag {} dump: the kernel returned an error {during}: {}", family.label(), errno_text(*errno))]
    NetlinkKernel {
        family: Family,
        errno: i32,
        during: &'static str,
    },
    /// A datagram did not parse as the kernel's inet_diag format.
    #[error("sock_diag {} dump: malformed answer from the kernel: {detail}", family.label())]
    NetlinkMalformed { family: Family, detail: String },
    /// A datagram was larger than the receive buffer (`MSG_TRUNC`): sockets would be lost.
    #[error("sock_diag {} dump: a {len}-byte datagram did not fit the {buffer}-byte buffer", family.label())]
    NetlinkTruncated {
        family: Family,
        len: usize,
        buffer: usize,
    },
    /// A `/proc` socket table could not be opened or read.
    #[error("cannot read {}", path.display())]
    ProcRead {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A `/proc` socket table did not start with the expected header.
    #[error("{}: not a TCP socket table: {detail}", path.display())]
    ProcHeader { path: PathBuf, detail: String },
    /// `--source auto`: netlink failed, then the /proc fallback failed too. Two causes, so
    /// both are in the message (a chain has room for one).
    #[error("netlink failed ({}) and the /proc fallback failed too ({})", netlink.report(), proc.report())]
    BothSourcesFailed {
        netlink: Box<Error>,
        proc: Box<Error>,
    },
    /// Writing the output failed (a closed pipe is handled as a normal end in `main`).
    #[error("cannot write output")]
    Output(#[source] io::Error),
    /// A network namespace could not be found, opened or entered (`--netns`, `--netns-pid`,
    /// `--all-netns`). `netns` is how the user or the output names it.
    #[error("network namespace {netns}: {problem}")]
    Netns {
        netns: String,
        problem: String,
        #[source]
        source: Option<io::Error>,
    },
    /// A file could not be written (`tcpstat generate --dir`).
    #[error("cannot write {}", path.display())]
    WriteFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Ctrl-C (or SIGTERM, SIGHUP) during `watch`, Ctrl-C or SIGHUP during `serve`: the
    /// terminal was restored; exit 130.
    #[error("interrupted")]
    Interrupted,
    /// `watch` on its screen got another signal that ends a program (SIGQUIT, SIGUSR1, ...):
    /// the terminal was restored; the program then ends as the signal would have.
    #[error("ended by signal {0}")]
    Signaled(i32),
    /// `watch`: collections failed this many times in a row.
    #[error("collection failed {times} times in a row; last error")]
    Repeated {
        times: u32,
        #[source]
        last: Box<Error>,
    },
    /// `serve`: the listening socket could not be set up.
    #[error("cannot listen on {address}")]
    Listen {
        address: std::net::SocketAddr,
        #[source]
        source: io::Error,
    },
    /// A thread the program needs could not be started (`serve`'s collector).
    #[error("cannot start the {what}")]
    Thread {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    /// `check -t`: the collection took longer than the plugin may.
    #[error("timed out after {} (collecting took longer than --timeout)", crate::model::duration::format_age(*after))]
    TimedOut { after: std::time::Duration },
    /// `check`: the owner filters (`--pid`, `--process`) match no running process at all, so
    /// a count of 0 would only hide a typo. `filters` is how they were given.
    #[error("no running process matches {filters}")]
    NoMatchingProcess { filters: String },
    /// A value that could only be checked against the system (a `--cgroup` path that does
    /// not exist, a `--workload` nobody has): a usage error, exit 2.
    #[error("{0}")]
    Usage(String),
    /// The history database (`record`, `history`) could not be opened, read or written, or
    /// is not one tcpstat can use. `what` says which, in tcpstat's words.
    #[error("history database {}: {what}", path.display())]
    Store {
        path: PathBuf,
        what: String,
        #[source]
        source: Option<rusqlite::Error>,
    },
    /// `--cgroup`/`--workload` over a source without cgroup ids (/proc/net/tcp has none).
    #[error("{what} needs the netlink source: /proc/net/tcp has no cgroup ids{}", reason.as_deref().map(|r| format!(" (netlink failed: {r})")).unwrap_or_default())]
    NeedsCgroupIds {
        what: &'static str,
        reason: Option<String>,
    },
}

impl Error {
    /// True when the error is only the reader going away (`tcpstat ... | head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// True when the process (EMFILE) or the system (ENFILE) is out of file descriptors,
    /// however deep in the error: a condition that closing other descriptors mends.
    pub fn is_out_of_descriptors(&self) -> bool {
        let short = |e: &io::Error| matches!(e.raw_os_error(), Some(code) if code == libc::EMFILE || code == libc::ENFILE);
        match self {
            Error::NetlinkOpen(e) => short(e),
            Error::NetlinkIo { source, .. } | Error::ProcRead { source, .. } => short(source),
            Error::Netns {
                source: Some(source),
                ..
            } => short(source),
            Error::BothSourcesFailed { netlink, proc } => {
                netlink.is_out_of_descriptors() || proc.is_out_of_descriptors()
            }
            _ => false,
        }
    }

    /// The error and its causes in one line: `what failed: why: why`. The one way tcpstat
    /// prints an error (on stderr, in a plugin line, on the watch screen, in a log).
    pub fn report(&self) -> String {
        let mut line = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(e) = cause {
            line.push_str(": ");
            line.push_str(&e.to_string());
            cause = e.source();
        }
        line
    }

    pub fn exit_code(&self) -> ExitCode {
        if self.is_broken_pipe() {
            ExitCode::Ok
        } else if matches!(self, Error::Interrupted) {
            ExitCode::Interrupted
        } else if matches!(self, Error::Usage(_)) {
            ExitCode::Usage
        } else {
            ExitCode::Error
        }
    }
}

fn errno_text(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    // std appends " (os error N)"; keep it, it is the number people search for.
    text
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Output(e)
    }
}

/// Standard error for warnings: a write that fails (a closed pipe, a full disk) is dropped, so
/// a logger that went away can neither cost the results on stdout nor pass for the stdout
/// reader going away (which `main` treats as a silent success).
pub struct WarningStream<W: io::Write>(pub W);

impl<W: io::Write> io::Write for WarningStream<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    struct Closed;
    impl io::Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn a_closed_warning_stream_is_not_an_error() {
        let mut err = WarningStream(Closed);
        assert!(writeln!(err, "tcpstat: warning: x").is_ok());
        assert!(err.flush().is_ok());
    }
}
