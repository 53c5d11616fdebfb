//! What the history database holds, as plain data, and the values `record` and `history` are
//! given: one [`Sample`] of the socket table and the kernel's TCP counters; times
//! ([`When`]: `3h`, RFC 3339, local `YYYY-MM-DD HH:MM`) and sizes (`1GiB`).
//!
//! Owns: the sample's shape, the list of counters recorded ([`COUNTERS`]), and parsing and
//! resolving times and sizes (pure: the time zone and "now" are arguments). No I/O.

use std::time::Duration;

use jiff::civil::{DateTime, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::kernel::KernelFacts;
use super::{StateRow, TcpState};

/// The kernel TCP counters recorded, by section and the kernel's name (which is the column's
/// name in the database): `/proc/net/snmp` `Tcp:` and `/proc/net/netstat` `TcpExt:`, the
/// ones `sar -n TCP,ETCP` shows and those that explain stuck states and drops. Raw counters
/// since boot (or since the namespace was created), turned into rates when read. Appending
/// a name needs a schema migration (a column); never reorder.
pub const COUNTERS: [(&str, &str); 28] = [
    ("Tcp", "ActiveOpens"),
    ("Tcp", "PassiveOpens"),
    ("Tcp", "AttemptFails"),
    ("Tcp", "EstabResets"),
    ("Tcp", "InSegs"),
    ("Tcp", "OutSegs"),
    ("Tcp", "RetransSegs"),
    ("Tcp", "InErrs"),
    ("Tcp", "OutRsts"),
    ("TcpExt", "ListenOverflows"),
    ("TcpExt", "ListenDrops"),
    ("TcpExt", "TCPAbortOnTimeout"),
    ("TcpExt", "TCPAbortOnData"),
    ("TcpExt", "TCPAbortOnClose"),
    ("TcpExt", "TCPAbortOnMemory"),
    ("TcpExt", "TCPAbortOnLinger"),
    ("TcpExt", "TCPAbortFailed"),
    ("TcpExt", "TCPTimeouts"),
    ("TcpExt", "TCPSynRetrans"),
    ("TcpExt", "TCPMemoryPressures"),
    ("TcpExt", "TCPBacklogDrop"),
    ("TcpExt", "TCPReqQFullDrop"),
    ("TcpExt", "SyncookiesSent"),
    ("TcpExt", "SyncookiesFailed"),
    ("TcpExt", "TW"),
    ("TcpExt", "PruneCalled"),
    // Schema version 2: the two `doctor --at` reads that version 1 lacked.
    ("TcpExt", "TCPTimeWaitOverflow"),
    ("TcpExt", "TCPReqQFullDoCookies"),
];

/// How many of [`COUNTERS`] schema version 1 had (version 2 appended the rest).
pub const COUNTERS_V1: usize = 26;

/// States where sockets get stuck: workloads and processes are ranked by these (every
/// state a socket stays in because a process or a peer does not finish its part; not
/// ESTABLISHED, LISTEN or TIME_WAIT, which are normal however many there are).
pub const STUCK: [TcpState; 7] = [
    TcpState::SynSent,
    TcpState::SynRecv,
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::CloseWait,
    TcpState::Closing,
    TcpState::LastAck,
];

/// One recorded moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    /// When the collection began, in milliseconds since the Unix epoch (UTC).
    pub t_ms: i64,
    /// Where the sockets came from (`netlink`, `proc`).
    pub source: String,
    /// Whether some of the table could not be read (the outcome was partial).
    pub partial: bool,
    /// Every socket by state (all namespaces read, merged).
    pub states: StateRow,
    /// Sockets per service port and state; listening ports with their accept queue.
    pub ports: Vec<PortSample>,
    /// Sockets per workload and state: the top ones by stuck states, then `(other)` and
    /// `(unattributed)`.
    pub workloads: Vec<WorkloadSample>,
    /// [`COUNTERS`], in that order; `None` where the kernel did not show it.
    pub counters: Vec<Option<u64>>,
    /// Sockets per owning process and state: the top ones by stuck states, then
    /// [`OTHER_PROCESSES`] and [`NO_PROCESS`]. `None`: owners were not looked up (`record
    /// --processes never`, a sample `--processes auto` left out, or schema version 1).
    pub processes: Option<Vec<ProcessSample>>,
    /// Listening sockets with connections waiting in their accept queue (at most
    /// [`MAX_LISTENERS`], fullest first); the others had an empty queue.
    pub listeners: Vec<ListenerSample>,
    /// The kernel settings and socket totals `doctor` judges against (of the first network
    /// namespace read); `None` in samples of schema version 1. Only `sysctls`, `sockstat`
    /// and `page_size` are stored (the counters are [`Sample::counters`]).
    pub facts: Option<KernelFacts>,
    /// How long the collection took, in microseconds.
    pub collect_us: u64,
    /// The recorder's CPU (user + system) for the collection, in microseconds; `None` where
    /// not measured.
    pub cpu_us: Option<u64>,
    /// The regular spacing the recorder was keeping when it took this sample, in
    /// milliseconds: `--interval`, or longer where `--cpu-budget` spaced the samples out (a
    /// sample after a dear one may come later still, while its debt is paid).
    pub interval_ms: u64,
}

/// One service port's sockets in a sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortSample {
    /// The service port; 0 for the ports folded into "other".
    pub port: u16,
    /// Whether this host serves on it (`In`) or is the client (`Out`).
    pub outgoing: bool,
    pub counts: StateRow,
    /// Listening sockets on the port (0: not listened on).
    pub listeners: u64,
    /// Connections waiting in the accept queues.
    pub queued: u64,
    /// Sum of the configured backlogs (`None`: unknown, the /proc source).
    pub backlog: Option<u64>,
}

/// One workload's sockets in a sample.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkloadSample {
    /// The workload's name (as `tcpstat workloads` prints it), or `(other)` /
    /// `(unattributed)`.
    pub name: String,
    pub counts: StateRow,
}

/// One process's sockets in a sample.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessSample {
    /// The process id; [`OTHER_PID`] and [`NO_PROCESS_PID`] for the two summed rows.
    pub pid: i64,
    /// Effective uid (`None` for the summed rows).
    pub uid: Option<u32>,
    /// The uid's name when the recorder could resolve it.
    pub user: Option<String>,
    /// `/proc/PID/comm` (untrusted text: renderers escape it), or [`OTHER_PROCESSES`] /
    /// [`NO_PROCESS`].
    pub command: String,
    /// A socket shared by several processes (after fork) counts in each of their rows.
    pub counts: StateRow,
}

/// The `pid` of the row of processes folded together past the top ones.
pub const OTHER_PID: i64 = 0;
/// The `pid` of the row of sockets no process was found for (no file: TIME_WAIT,
/// SYN_RECV, orphans, connections not accepted yet; or an owner the walk did not see).
pub const NO_PROCESS_PID: i64 = -1;
/// The command of the [`OTHER_PID`] row.
pub const OTHER_PROCESSES: &str = "(other)";
/// The command of the [`NO_PROCESS_PID`] row.
pub const NO_PROCESS: &str = "(no process)";

/// The most listening sockets with a non-empty accept queue stored per sample.
pub const MAX_LISTENERS: usize = 100;

/// A listening socket with connections waiting to be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerSample {
    pub address: std::net::IpAddr,
    pub port: u16,
    /// Connections waiting in its accept queue.
    pub queued: u64,
    /// Its backlog (`None`: unknown, the /proc source).
    pub backlog: Option<u64>,
}

/// The name of the workloads folded together past the top ones.
pub const OTHER_WORKLOADS: &str = "(other)";
/// The name of the sockets no workload was found for.
pub const UNATTRIBUTED: &str = "(unattributed)";

impl StateRow {
    /// Sockets in the [`STUCK`] states.
    pub fn stuck(&self) -> u64 {
        STUCK.iter().map(|&s| self.get(s)).sum()
    }
}

/// A time as given on the command line, before "now" and the time zone resolve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// `now`.
    Now,
    /// `3h`, `90m`, `2d` (optionally `3h ago` or `-3h`): that long before now.
    Ago(Duration),
    /// RFC 3339 with an offset or `Z`: an instant.
    Instant(Timestamp),
    /// `YYYY-MM-DD HH:MM[:SS]` (or with `T`), `YYYY-MM-DD`: a wall-clock time in the local
    /// time zone.
    Local(DateTime),
    /// `HH:MM[:SS]`: that wall-clock time today, or yesterday if today's is still to come.
    Clock(Time),
}

/// Parses a time (see [`When`]).
pub fn parse_when(text: &str) -> Result<When, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "invalid time {text:?} (examples: 3h, 90m, 2d ago, now, 14:30, 2024-06-19 14:30, \
             2024-06-19T14:30:00Z, 2024-06-19T14:30:00+02:00)"
        )
    };
    if t.eq_ignore_ascii_case("now") {
        return Ok(When::Now);
    }
    let relative = t
        .strip_suffix("ago")
        .map(str::trim_end)
        .or_else(|| t.strip_prefix('-'))
        .unwrap_or(t);
    if relative.starts_with(|c: char| c.is_ascii_digit()) && !relative.contains([':', '-']) {
        return super::duration::parse(relative)
            .map(When::Ago)
            .map_err(|_| bad());
    }
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(When::Instant(ts));
    }
    // A wall-clock time: an offset or zone name would have parsed as an instant above.
    if t.len() == 10 {
        if let Ok(date) = t.parse::<jiff::civil::Date>() {
            return Ok(When::Local(date.to_datetime(Time::midnight())));
        }
    }
    if let Ok(dt) = t.parse::<DateTime>() {
        return Ok(When::Local(dt));
    }
    if let Ok(time) = t.parse::<Time>() {
        return Ok(When::Clock(time));
    }
    Err(bad())
}

/// Resolves `when` against `now` in `tz`, to milliseconds since the epoch. A local time
/// that a daylight-saving change skips (02:30 on a spring-forward night) is taken as the
/// same time after the change (03:30); one that happens twice (a fall-back night) is the
/// first of the two (jiff's "compatible" rule, RFC 5545's).
pub fn resolve_when(when: When, now: Timestamp, tz: &TimeZone) -> Result<i64, String> {
    let local = |dt: DateTime| {
        tz.to_ambiguous_zoned_datetime(dt)
            .compatible()
            .map(|z| z.timestamp())
            .map_err(|e| format!("{dt} in the local time zone: {e}"))
    };
    let ts = match when {
        When::Now => now,
        When::Ago(d) => {
            let span = jiff::SignedDuration::try_from(d).map_err(|e| e.to_string())?;
            now.checked_sub(span).map_err(|_| {
                format!("{} ago is before the epoch", super::duration::format_age(d))
            })?
        }
        When::Instant(ts) => ts,
        When::Local(dt) => local(dt)?,
        When::Clock(time) => {
            let today = tz.to_datetime(now).date();
            let at = local(today.to_datetime(time))?;
            if at > now {
                local(
                    today
                        .yesterday()
                        .map_err(|e| e.to_string())?
                        .to_datetime(time),
                )?
            } else {
                at
            }
        }
    };
    Ok(ts.as_millisecond())
}

/// Parses a size: a number of bytes with an optional unit (`B`, `KiB`/`K`, `MiB`/`M`,
/// `GiB`/`G`, `TiB`/`T`: powers of 1024; `kB`, `MB`, `GB`, `TB`: powers of 1000).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || format!("invalid size {text:?} (examples: 500MiB, 1GiB, 2G, 100MB)");
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let number: f64 = t[..digits].parse().map_err(|_| bad())?;
    let unit: u64 = match t[digits..].trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => return Err(bad()),
    };
    let bytes = number * unit as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// Parses `record --cpu-budget`: a share of one core as a percentage (`1%`, `0.5%`; the `%`
/// may be left out), up to `100%`; `none` (or `0`) for no budget.
pub fn parse_share(text: &str) -> Result<Option<f64>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let bad = || format!("invalid CPU budget {text:?} (examples: 1%, 0.5%, 5%, none)");
    let number: f64 = t
        .strip_suffix('%')
        .unwrap_or(t)
        .trim()
        .parse()
        .map_err(|_| bad())?;
    if !number.is_finite() || !(0.0..=100.0).contains(&number) {
        return Err(bad());
    }
    Ok((number > 0.0).then_some(number / 100.0))
}

/// A share of one core as `parse_share` reads it: `1%`, `0.5%`.
pub fn format_share(share: f64) -> String {
    let percent = share * 100.0;
    if (percent - percent.round()).abs() < 1e-9 {
        format!("{percent:.0}%")
    } else {
        format!("{}%", (percent * 1000.0).round() / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_budgets_read_as_shares_of_a_core() {
        assert_eq!(parse_share("1%"), Ok(Some(0.01)));
        assert_eq!(parse_share("0.5%"), Ok(Some(0.005)));
        assert_eq!(parse_share("2"), Ok(Some(0.02)));
        assert_eq!(parse_share("100%"), Ok(Some(1.0)));
        assert_eq!(parse_share("none"), Ok(None));
        assert_eq!(parse_share("0%"), Ok(None));
        for bad in ["", "%", "-1%", "101%", "1%%", "one", "NaN"] {
            assert!(parse_share(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(format_share(0.01), "1%");
        assert_eq!(format_share(0.005), "0.5%");
        assert_eq!(
            parse_share("0.25%").map(|s| s.map(format_share)),
            Ok(Some("0.25%".into()))
        );
    }

    fn berlin() -> TimeZone {
        // Pure (no zoneinfo file): Europe/Berlin's rule since 1996.
        TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("a valid POSIX TZ")
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("an instant")
    }

    fn at(text: &str, now: &str) -> Result<String, String> {
        let ms = resolve_when(parse_when(text)?, ts(now), &berlin())?;
        Ok(Timestamp::from_millisecond(ms)
            .expect("in range")
            .to_string())
    }

    #[test]
    fn relative_times_count_back_from_now() {
        let now = "2024-06-19T12:00:00Z";
        assert_eq!(at("3h", now).as_deref(), Ok("2024-06-19T09:00:00Z"));
        assert_eq!(at("90m", now).as_deref(), Ok("2024-06-19T10:30:00Z"));
        assert_eq!(at("2d ago", now).as_deref(), Ok("2024-06-17T12:00:00Z"));
        assert_eq!(at("-1h30m", now).as_deref(), Ok("2024-06-19T10:30:00Z"));
        assert_eq!(at("now", now).as_deref(), Ok("2024-06-19T12:00:00Z"));
        assert_eq!(at("0s", now).as_deref(), Ok("2024-06-19T12:00:00Z"));
    }

    #[test]
    fn absolute_times_with_an_offset_are_instants() {
        let now = "2024-06-19T12:00:00Z";
        assert_eq!(
            at("2024-06-19T14:30:00+02:00", now).as_deref(),
            Ok("2024-06-19T12:30:00Z")
        );
        assert_eq!(
            at("2024-06-19T14:30:00Z", now).as_deref(),
            Ok("2024-06-19T14:30:00Z")
        );
        // In the future: resolved all the same; the caller decides what that means.
        assert_eq!(
            at("2030-01-01T00:00:00Z", now).as_deref(),
            Ok("2030-01-01T00:00:00Z")
        );
    }

    #[test]
    fn local_times_follow_the_zone_and_its_daylight_saving() {
        let now = "2024-12-01T12:00:00Z";
        // Summer (CEST, +2) and winter (CET, +1).
        assert_eq!(
            at("2024-06-19 14:30", now).as_deref(),
            Ok("2024-06-19T12:30:00Z")
        );
        assert_eq!(
            at("2024-01-19T14:30:10", now).as_deref(),
            Ok("2024-01-19T13:30:10Z")
        );
        assert_eq!(at("2024-01-19", now).as_deref(), Ok("2024-01-18T23:00:00Z"));
        // 02:30 on 31 March 2024 does not exist (02:00 -> 03:00): taken as 03:30 CEST.
        assert_eq!(
            at("2024-03-31 02:30", now).as_deref(),
            Ok("2024-03-31T01:30:00Z")
        );
        // 02:30 on 27 October 2024 happens twice: the first, still CEST.
        assert_eq!(
            at("2024-10-27 02:30", now).as_deref(),
            Ok("2024-10-27T00:30:00Z")
        );
    }

    #[test]
    fn a_clock_time_is_the_last_one_that_has_passed() {
        // 12:00 UTC is 14:00 in Berlin in June.
        let now = "2024-06-19T12:00:00Z";
        assert_eq!(at("13:00", now).as_deref(), Ok("2024-06-19T11:00:00Z"));
        assert_eq!(at("15:00", now).as_deref(), Ok("2024-06-18T13:00:00Z"));
        assert_eq!(at("03:00:30", now).as_deref(), Ok("2024-06-19T01:00:30Z"));
    }

    #[test]
    fn bad_times_say_what_is_accepted() {
        for bad in [
            "",
            "yesterday",
            "3x",
            "2024-13-01",
            "25:00",
            "2024-06-19 14:61",
            "h3",
        ] {
            let e = parse_when(bad).expect_err(bad);
            assert!(e.contains("examples"), "{bad}: {e}");
        }
    }

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("500MiB"), Ok(500 << 20));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        for bad in ["", "0", "GiB", "1 PB", "-1G", "1e3"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
