//! The whole command-line surface, defined once with clap.
//!
//! Owns: flags, subcommands, help text and value parsers. Help, completions and the man page
//! are generated from [`Cli::command`]; nothing else defines a flag. No I/O, no defaults that
//! depend on the environment (that is `config`'s job).

use std::path::PathBuf;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};

use crate::model::state::GROUPS;
use crate::model::{Cidr, PortSet, StateSet, TcpState};

/// How state names are spelled: in `--help` and, reflowed, in the man pages.
macro_rules! state_names_help {
    () => {
        "\
State names are case-insensitive and accept the spellings of ss, netstat and RFC 793
(close-wait, CLOSE_WAIT, closewait, fin-wait-1, FIN_WAIT1, syn-rcv, SYN_RECEIVED, estab,
timewait, close, ...) and the groups all, connected (all but LISTEN and CLOSED),
synchronized (connected but SYN_SENT), bucket (SYN_RECV and TIME_WAIT) and big (all but bucket)."
    };
}

/// The state-name paragraph of `--help`, for the man pages (which have their own EXIT STATUS).
pub const STATE_NAMES_HELP: &str = state_names_help!();

const AFTER_HELP: &str = concat!(
    state_names_help!(),
    "

Exit status: 0 ok (also when the reader closes the pipe), 1 runtime error, 2 usage error."
);

/// A live TCP socket-state monitor: exact per-state counts straight from the kernel.
///
/// Reads the kernel's socket tables through sock_diag netlink (IPv4 and IPv6), falling back to
/// /proc/net/tcp{,6}, and says which source it used. Without a subcommand, runs `summary`.
#[derive(Debug, Parser)]
#[command(
    name = "tcpstat",
    version,
    after_help = AFTER_HELP,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Options of `summary`, so that bare `tcpstat --json` works.
    #[command(flatten)]
    pub summary: SummaryArgs,

    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Count sockets per TCP state, per address family (the default command).
    ///
    /// All eleven states are always listed, zeros included, in lifecycle order.
    #[command(version, after_help = AFTER_HELP)]
    Summary(SummaryArgs),

    /// Sockets per port and state: which service has the CLOSE_WAITs.
    ///
    /// By default sockets are grouped by service port: the local port when this host listens
    /// on it (direction `in`), the remote port when this host listens on that (`out`: a
    /// client on this host). Otherwise (a connection to another host, or one whose listener
    /// has closed) the service port is the side outside net.ipv4.ip_local_port_range, or the
    /// lower port when both or neither are; `in` if it is the local side, `out` if the
    /// remote. "Listens on" is by port number, whatever the address. Listening ports are
    /// shown even without connections, with their accept queue.
    #[command(version, after_help = AFTER_HELP)]
    Ports(PortsArgs),

    /// Sockets per owning process and state: which process holds them.
    ///
    /// Sockets that cannot have an owner (TIME_WAIT, SYN_RECV request sockets, orphans),
    /// connections the listening process has not accept()ed yet (named with that process) and
    /// sockets whose owner could not be read (other users' processes without root) get rows
    /// of their own. A socket shared by several processes counts once for each of them.
    #[command(version, after_help = AFTER_HELP)]
    Procs(ProcsArgs),

    /// Sockets per workload and state: which service, container or pod holds them.
    ///
    /// A socket's workload comes from its cgroup (the kernel reports the cgroup id of every
    /// socket): a systemd unit, a Docker, Podman, LXC or nspawn container, a Kubernetes pod
    /// (containerd, CRI-O); names from the runtimes' files (see --host-root), else the cgroup
    /// path. TIME_WAIT and SYN_RECV sockets have no cgroup: one on a port a workload listens
    /// on counts for it; the others are counted as unattributed. With --source proc (no
    /// cgroup ids) the owning processes' cgroups are used.
    #[command(version, visible_alias = "wl", after_help = AFTER_HELP)]
    Workloads(WorkloadsArgs),

    /// Connection health per service port or peer, from the kernel's tcp_info.
    ///
    /// For each group of connections (listening sockets and TIME_WAIT/SYN_RECV minisockets
    /// are not connections): RTT p50/p90/p99/max (nearest rank), segments retransmitted,
    /// connections with retransmits in flight, lost segments, zero windows (the peer
    /// advertises no room while data is queued, or is being probed), stalled connections
    /// (data queued, nothing acknowledged for --stall), bytes in receive and send queues.
    /// Needs sock_diag netlink: the /proc source has no tcp_info (the numbers are then shown
    /// as `-`/null, never 0). Per socket: `tcpstat list -i`.
    #[command(version, after_help = AFTER_HELP)]
    Health(HealthArgs),

    /// One row per socket, streamed as it is read.
    #[command(version, visible_alias = "ls", after_help = AFTER_HELP)]
    List(ListArgs),

    /// A live view: counts, changes, rates, history, top groups and how long sockets have
    /// been stuck, every --interval.
    ///
    /// On a terminal the screen is redrawn in place (and at once on a resize); Ctrl-Z gives
    /// it back until fg, Ctrl-C restores it (exit 130). Piped, or with --json, prints one
    /// JSON object per tick (NDJSON), flushed each tick. Ages are lower bounds: a socket
    /// already in its state when watch started is counted from then.
    #[command(version, after_help = WATCH_AFTER_HELP)]
    Watch(WatchArgs),

    /// Print shell completions or man pages (for packagers).
    ///
    /// Hidden: it is not for day-to-day use. Generated from this very definition, with hidden
    /// items left out; the same files are committed under completions/ and man/.
    #[command(version, hide = true)]
    Generate(GenerateArgs),

    /// Explain what is wrong: CLOSE_WAIT leaks per process, full accept queues, SYN floods,
    /// TIME_WAIT and ephemeral-port pressure, stuck closes, orphans, TCP memory, unanswered connects.
    ///
    /// Each finding has a severity (ok, info, warning, critical), the evidence (numbers,
    /// ports, processes, remote addresses, kernel settings and counters), what it means and
    /// what to do. Run as root to see every process's sockets.
    #[command(version, after_help = DOCTOR_AFTER_HELP)]
    Doctor(DoctorArgs),

    /// A monitoring plugin (Nagios, Icinga, Sensu): one status line with performance data,
    /// exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    #[command(version, after_help = CHECK_AFTER_HELP)]
    Check(CheckArgs),

    /// Serve Prometheus metrics over HTTP: /metrics (a fresh collection per scrape), /healthz
    /// and a short index page at /.
    #[command(version, after_help = SERVE_AFTER_HELP)]
    Serve(ServeArgs),

    /// Record the socket table into a history database every --interval, until stopped.
    ///
    /// Each sample holds the sockets per state, per service port and state (listening ports
    /// with their accept queues), per workload and state (the top ones by stuck states) and
    /// the kernel's TCP counters (/proc/net/snmp Tcp, /proc/net/netstat TcpExt). One SQLite
    /// file in WAL mode (readable with the sqlite3 shell while recording; schema in
    /// docs/history.md), one transaction per sample, one recorder per file. SIGTERM, SIGINT
    /// and SIGHUP finish the sample being written and exit 0. For a service manager: runs in
    /// the foreground and logs to stderr.
    #[command(version, after_help = RECORD_AFTER_HELP)]
    Record(RecordArgs),

    /// Look back at what `tcpstat record` stored: sockets per state over a period (min, avg,
    /// max and a chart), one recorded moment (--at), when a state left its normal band
    /// (--onset), as a table, JSON or CSV.
    #[command(version, after_help = HISTORY_AFTER_HELP)]
    History(HistoryArgs),
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Summary(_) => "summary",
            Command::Ports(_) => "ports",
            Command::Procs(_) => "procs",
            Command::Workloads(_) => "workloads",
            Command::Health(_) => "health",
            Command::List(_) => "list",
            Command::Watch(_) => "watch",
            Command::Generate(_) => "generate",
            Command::Doctor(_) => "doctor",
            Command::Check(_) => "check",
            Command::Serve(_) => "serve",
            Command::Record(_) => "record",
            Command::History(_) => "history",
        }
    }
}

const DOCTOR_AFTER_HELP: &str = "\
Thresholds (--threshold KEY=WARN[,CRIT]; a level is a number of sockets, or N% of the limit):
  CLOSE_WAIT       CLOSE_WAIT sockets held by one process                   10 / 100
  ACCEPT_QUEUE     connections waiting in one listener's accept queue,
                   % of its backlog                                         80% / 100%
  SYN_RECV         half-open connections on one listening port (% of the
                   listeners' backlog)                                      100 / 100%
  TIME_WAIT        time-wait entries (TIME_WAIT + orphaned FIN_WAIT_2),
                   % of net.ipv4.tcp_max_tw_buckets                         50% / 90%
  EPHEMERAL_PORTS  ports in use from one local address to one remote
                   address:port (TIME_WAIT only where tcp_tw_reuse does
                   not apply), % of net.ipv4.ip_local_port_range            50% / 90%
  SYN_SENT         unanswered connects to one address:port                  10 / 100
  FIN_WAIT_1       FIN_WAIT_1 sockets                                       100 / 1000
  FIN_WAIT_2       FIN_WAIT_2 sockets                                       1000 / 10000
  CLOSING          CLOSING sockets                                          100 / 1000
  LAST_ACK         LAST_ACK sockets                                         100 / 1000
  ORPHANS          orphaned sockets, % of net.ipv4.tcp_max_orphans          50% / 90%
  TCP_MEMORY       pages of TCP buffer memory (host-wide), % of the
                   pressure value of net.ipv4.tcp_mem                      80% / 100%
From each connection's tcp_info (netlink only; not judged from /proc):
  RETRANSMITS      segments retransmitted to one peer, % of the segments
                   sent to it (peers with 100 segments or more)             2% / 10%
  UNANSWERED       SYN_SENT/FIN_WAIT_1/CLOSING/LAST_ACK sockets toward one
                   peer retransmitting without an answer                    5 / 50
  ZERO_WINDOW      connections to one peer advertising a zero window        5 / 50
  STALLED          connections to one peer with data queued and nothing
                   acknowledged for 5 s                                     5 / 50
  RECV_QUEUE       connections of one process not read: unread data, the
                   receive window closed                                    5 / 50
  RTT_OUTLIER      a peer's median RTT, % of the host's median RTT (the
                   median of every peer's median; 3 peers or more, and
                   10 ms above it at least)                                 500% / 1000%
A value at or above a level raises the finding to it. KEY=WARN alone keeps the default
critical level (raised to WARN if it is lower, compared once a percentage is resolved against
its limit); otherwise a warning level above the critical one is lowered to it.

Examples:
  tcpstat doctor
  tcpstat doctor --threshold CLOSE_WAIT=100 --threshold time-wait=80%,95%
  tcpstat doctor --json | jq '.findings[] | select(.severity != \"ok\")'

Exit status: 0 nothing above info, 3 a warning, 4 a critical finding, 1 runtime error,
2 usage error.";

const CHECK_AFTER_HELP: &str = "\
Thresholds: -w/--warn and -c/--crit [KEY[:PORT]=]RANGE, repeatable.
  KEY    a state (CLOSE_WAIT, time-wait, ...), a group (connected, synchronized, bucket, big)
         or total; without KEY= the range applies to total (every selected socket)
  :PORT  only sockets with this port on either side (as --port counts them)
  RANGE  monitoring-plugin syntax: N alerts above N; N: below N; ~:N above N; N:M outside
         N..M; @N:M inside N..M
Performance data lists total and every counted state, plus each KEY:PORT and group given,
with min 0; what cannot be counted (CLOSED from /proc, states outside --state) is left out,
not 0. --pid or --process matching no running process is UNKNOWN, not \"0 sockets\"; so is
an OK from an owner filter that could not read a process it selects (an alert stands).

Examples:
  tcpstat check --state close-wait -w 100 -c 500
  tcpstat check --warn CLOSE_WAIT=100 --crit CLOSE_WAIT=500
  tcpstat check --warn TIME_WAIT=20000 --crit CLOSE_WAIT:8080=50 --crit total=100000

Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for usage and runtime errors,
which print a TCPSTAT UNKNOWN line).";

const SERVE_AFTER_HELP: &str = "\
Endpoints: /metrics (Prometheus text format; concurrent scrapes share one collection),
/healthz (ok), / (index). GET and HEAD only (405 otherwise); malformed requests get 400.
Listens on loopback unless --listen names another address. A client has 5 s to send its
request and 10 s to take the whole response.

Examples:
  tcpstat serve
  tcpstat serve --listen 0.0.0.0:9555 --processes

Exit status: 0 on SIGTERM (a service manager's stop), 130 after Ctrl-C, 1 when the address
cannot be bound, 2 usage error.";

/// `doctor`.
// Field docs are clap help text (KEY=WARN[,CRIT], KEY[:PORT]), not intra-doc links.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Args, Default)]
pub struct DoctorArgs {
    /// Override a threshold: KEY=WARN[,CRIT], e.g. CLOSE_WAIT=100 or TIME_WAIT=80%,95%
    /// (keys and defaults below). Repeatable.
    #[arg(long, value_name = "KEY=WARN[,CRIT]", value_parser = crate::diagnose::parse_threshold, action = clap::ArgAction::Append)]
    pub threshold: Vec<crate::diagnose::ThresholdOverride>,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,

    /// Diagnose a recorded moment instead of now: the sample of `tcpstat record` nearest to
    /// TIME (as `history --at`: 3h, 14:30, 2024-06-19 14:30, RFC 3339), at most two recording
    /// intervals away, judged by the same rules; what the recording does not hold is said,
    /// and a check it cannot support is reported as not checked.
    #[arg(long, value_name = "TIME", value_parser = crate::model::history::parse_when)]
    pub at: Option<crate::model::history::When>,

    /// The history database for --at.
    #[arg(long, value_name = "PATH", default_value = "/var/lib/tcpstat/history.db",
          value_hint = ValueHint::FilePath, requires = "at")]
    pub db: PathBuf,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// `check`.
// Field docs are clap help text (KEY=WARN[,CRIT], KEY[:PORT]), not intra-doc links.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Args, Default)]
pub struct CheckArgs {
    /// WARNING when KEY's count is outside RANGE: [KEY[:PORT]=]RANGE, e.g. CLOSE_WAIT=100, or
    /// 100 for every selected socket. Repeatable.
    #[arg(short = 'w', long, value_name = "[KEY=]RANGE", value_parser = crate::check::parse_threshold, action = clap::ArgAction::Append)]
    pub warn: Vec<crate::check::Threshold>,

    /// CRITICAL when KEY's count is outside RANGE: [KEY[:PORT]=]RANGE, e.g. CLOSE_WAIT=500, or
    /// 500 for every selected socket. Repeatable.
    #[arg(short = 'c', long, value_name = "[KEY=]RANGE", value_parser = crate::check::parse_threshold, action = clap::ArgAction::Append)]
    pub crit: Vec<crate::check::Threshold>,

    /// Give up after this long with an UNKNOWN line (before the monitoring system kills the
    /// plugin and reports CRITICAL): 10s, 500ms, or seconds.
    #[arg(short = 't', long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    pub timeout: std::time::Duration,

    /// More in the status: -v adds where the numbers came from and every warning; -vv adds
    /// one line per measured value after the status line (long output).
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Loopback by default; any other address (0.0.0.0, a
    /// public interface) exposes socket counts to whoever can reach it.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9555")]
    pub listen: std::net::SocketAddr,

    /// Also export tcpstat_process_sockets{command,state} (walks /proc/*/fd on every scrape).
    #[arg(long)]
    pub processes: bool,

    /// Ports in tcpstat_port_sockets that are not listened on: the N busiest; the rest are
    /// summed as port="other".
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top_ports: usize,

    /// Listening ports in tcpstat_port_sockets and the queue metrics: the N with the fullest
    /// accept queues (then the busiest); the rest are summed as port="other".
    #[arg(long, value_name = "N", default_value_t = crate::aggregate::DEFAULT_TOP_LISTENING)]
    pub top_listening: usize,

    /// Commands in tcpstat_process_sockets (with --processes): the N busiest.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top_processes: usize,

    /// Also export tcpstat_workload_sockets{workload,kind,state} (systemd units, containers,
    /// pods; from each socket's cgroup id, so no walk of /proc/*/fd; new cgroups are looked up
    /// as they appear).
    #[arg(long)]
    pub workloads: bool,

    /// Workloads in tcpstat_workload_sockets (with --workloads): the N busiest; the rest are
    /// summed in tcpstat_workload_other_sockets.
    #[arg(long, value_name = "N", default_value_t = crate::aggregate::workloads::DEFAULT_TOP_WORKLOADS)]
    pub top_workloads: usize,

    /// Also export connection health per service port: an RTT histogram, retransmitted
    /// segments (a counter), connections retransmitting, facing a zero window or stalled, and
    /// queued bytes (asks the kernel for every connection's tcp_info; netlink only). The first
    /// --top-listening plus --top-ports ports seen keep series for the life of the process.
    #[arg(long)]
    pub health: bool,

    /// With --health: a connection with data queued and nothing acknowledged for this long
    /// is stalled (e.g. 5s, 500ms).
    #[arg(long, value_name = "DURATION", value_parser = crate::model::duration::parse,
          default_value = "5s", requires = "health")]
    pub stall: std::time::Duration,

    /// Connections served at once. When all are taken, a new one takes the slot of the oldest
    /// connection still sending its request (answered 503), else of the one that has been
    /// taking its response for more than a second (reset: a client that does not read); when
    /// every one is busy with something recent, the new one is answered 503 at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub max_connections: u16,

    #[command(flatten)]
    pub filter: FilterArgs,
}

const RECORD_AFTER_HELP: &str = "\
The default interval, 10s, catches what a minute-long incident does (a CLOSE_WAIT climb, an
accept queue filling) with several samples, where sar's 10 minutes sees one or none, and it
costs little: one netlink dump per sample (and the owner walk, paced), and about 2.5 KiB of
database per sample (about 21 MiB a day; docs/history.md has the figures).

--cpu-budget (1% of one core) bounds what the recorder takes, measured, over any period: on
a host where a sample costs more than that at --interval (about 100k sockets and up), the
samples are spaced further apart and the recorder says so; each sample records the spacing
it kept.

Exit status: 0 stopped by a signal or after --count samples, 1 the database cannot be used
(another recorder holds it, not a tcpstat database, cannot be created). A write that fails
(disk full, read-only file system) is reported and tried again after a back-off that doubles
up to 5 minutes.";

const HISTORY_AFTER_HELP: &str = "\
Times (--since, --until, --at): relative (3h, 90m, 2d, 3h ago), now, RFC 3339 with an offset
(2024-06-19T14:30:00Z, 2024-06-19T14:30:00+02:00), or local wall-clock time (2024-06-19 14:30,
2024-06-19, 14:30: today's, or yesterday's if it is still to come). A local time skipped by a
daylight-saving change counts as after it; one that happens twice is the first.

Counters are shown as rates per second between samples. --onset: for each state shown, the
first sample whose count is above its normal band: the median of the 30 samples before it
plus max(5 x MAD, 10% of the median, 3), MAD being the median absolute deviation; with the
ports and workloads that hold most of that state then.

Exit status: 0 ok, 1 the database cannot be read or holds no sample in the period, 2 usage.";

/// `record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The history database (created with its directory if missing).
    #[arg(long, value_name = "PATH", default_value = "/var/lib/tcpstat/history.db",
          value_hint = ValueHint::FilePath)]
    pub db: PathBuf,

    /// Time between samples: 10s by default (see below); 200ms to 1h.
    #[arg(long, short = 'n', value_name = "DURATION", default_value = "10s", value_parser = parse_record_interval)]
    pub interval: std::time::Duration,

    /// Delete samples older than this.
    #[arg(long, value_name = "DURATION", default_value = "14d", value_parser = crate::model::duration::parse)]
    pub keep: std::time::Duration,

    /// Keep the database file under this size, deleting the oldest samples first (the WAL
    /// beside it adds up to 4 MiB).
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = crate::model::history::parse_size)]
    pub max_size: u64,

    /// Ports (listening ones by fullest accept queue, the others by sockets) and workloads
    /// (by sockets in stuck states) kept per sample; the rest are summed as port 0 and
    /// "(other)".
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = parse_top)]
    pub top: usize,

    /// Processes kept per sample, by sockets in stuck states (SYN_SENT, SYN_RECV, FIN_WAIT_1,
    /// FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK), then by sockets; the rest are summed as
    /// "(other)".
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = parse_top)]
    pub top_processes: usize,

    /// When to look up the owning processes (a walk of /proc/*/fd, which costs with the
    /// descriptors on the host): auto on every sample while the walks fit in --cpu-budget,
    /// less often on hosts where a walk takes longer (samples between hold no processes);
    /// always on every sample; never.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ProcessesArg::Auto)]
    pub processes: ProcessesArg,

    /// The share of one core the recorder may take, measured over any period (its whole CPU:
    /// dumps, process lookups, writes). Where a sample costs more than the budget allows at
    /// --interval, samples are spaced further apart, and said; none for no limit.
    #[arg(long, value_name = "PERCENT", default_value = "1%", value_parser = parse_cpu_budget)]
    pub cpu_budget: f64,

    /// Stop after N samples.
    #[arg(long, short = 'c', value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
}

/// `--cpu-budget`: a share of one core, 0 for none (clap reads an `Option` field as optional).
fn parse_cpu_budget(text: &str) -> Result<f64, String> {
    crate::model::history::parse_share(text).map(|share| share.unwrap_or(0.0))
}

fn parse_record_interval(text: &str) -> Result<std::time::Duration, String> {
    let d = crate::model::duration::parse(text)?;
    if d < std::time::Duration::from_millis(200) || d > std::time::Duration::from_secs(3600) {
        return Err(format!("interval {text:?} is out of range (200ms to 1h)"));
    }
    Ok(d)
}

/// `history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The history database `tcpstat record` writes.
    #[arg(long, value_name = "PATH", default_value = "/var/lib/tcpstat/history.db",
          value_hint = ValueHint::FilePath)]
    pub db: PathBuf,

    /// Start of the period (see TIMES below).
    #[arg(long, value_name = "TIME", default_value = "1h", value_parser = crate::model::history::parse_when)]
    pub since: crate::model::history::When,

    /// End of the period.
    #[arg(long, value_name = "TIME", default_value = "now", value_parser = crate::model::history::parse_when)]
    pub until: crate::model::history::When,

    /// One recorded moment instead of a period: the last sample at or before TIME, with its
    /// ports, workloads and counter rates.
    #[arg(long, value_name = "TIME", value_parser = crate::model::history::parse_when,
          conflicts_with_all = ["onset"])]
    pub at: Option<crate::model::history::When>,

    /// Only these states: names or groups, comma-separated or repeated.
    #[arg(long, value_name = "STATES", value_parser = StatesParser, hide_possible_values = true,
          action = clap::ArgAction::Append)]
    pub state: Vec<StateSet>,

    /// Only the sockets of these service ports (as recorded: the top ports of each sample).
    #[arg(long, value_name = "PORT", value_delimiter = ',', action = clap::ArgAction::Append,
          conflicts_with_all = ["workload", "process"])]
    pub port: Vec<u16>,

    /// Only the sockets of these workloads, by the name `tcpstat workloads` gives them.
    #[arg(long, value_name = "NAME", action = clap::ArgAction::Append,
          conflicts_with = "process")]
    pub workload: Vec<String>,

    /// Only the sockets of processes with this command name (exact, as /proc/PID/comm; as
    /// recorded: the top processes of each sample; samples recorded without processes are
    /// left out).
    #[arg(long, value_name = "NAME", action = clap::ArgAction::Append)]
    pub process: Vec<String>,

    /// When did it start: for each state shown (the stuck states by default), the first
    /// sample above its normal band, and who held that state then.
    #[arg(long)]
    pub onset: bool,

    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,

    /// Print CSV: one line per sample, counts per state, then counter rates.
    #[arg(long)]
    pub csv: bool,

    /// Write the period as one self-contained HTML page to FILE (`-`: stdout), for an
    /// incident ticket: charts as inline SVG, the min/avg/max table, the onset of each
    /// --state given, the top ports and workloads; nothing loaded from the network.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath,
          conflicts_with_all = ["json", "csv", "at", "replay"])]
    pub html: Option<PathBuf>,

    /// Step through the period on watch's screen: the recorded counts, deltas and top
    /// ports and workloads of each sample at its recorded time. Keys: space pause/resume,
    /// right/l/n next sample, left/h/p previous, +/- faster/slower, g/G first/last, q quit.
    /// Not on a terminal (or with --json): watch's NDJSON, one object per sample, at once.
    #[arg(long, conflicts_with_all = ["at", "onset", "csv"])]
    pub replay: bool,

    /// With --replay: samples shown per second at the start (`+`/`-` change it).
    #[arg(long, value_name = "N", default_value_t = 1.0, requires = "replay",
          value_parser = parse_speed)]
    pub speed: f64,
}

fn parse_speed(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.1..=1000.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "speed {text:?} is out of range (0.1 to 1000 samples a second)"
        )),
    }
}

/// What `generate` produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenerateTarget {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
    /// tcpstat(1); with --dir, also one page per subcommand (tcpstat-summary(1), ...).
    Man,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The shell to complete for, or `man`.
    #[arg(value_enum)]
    pub target: GenerateTarget,

    /// Write the file(s) into this directory, under their conventional names, instead of
    /// printing to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Which sockets `watch` tracks: in `--help` and in tcpstat-watch(1).
macro_rules! watch_tracking_help {
    () => {
        "\
Without --state, all states are counted and the states where sockets get stuck (SYN_SENT,
SYN_RECV, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK) are tracked for ages."
    };
}

/// The tracking paragraph of `watch --help`, for its man page.
pub const WATCH_TRACKING_HELP: &str = watch_tracking_help!();

const WATCH_AFTER_HELP: &str = concat!(
    "\
Examples:
  tcpstat watch --state close-wait            hunt a CLOSE_WAIT leak
  tcpstat watch --state close-wait --by process --older-than 5m
  tcpstat watch --state syn-sent,syn-recv --interval 500ms --events
  tcpstat watch --count 10 --json | jq .states

",
    watch_tracking_help!(),
    "

Exit status: 0 after --count ticks or when the reader closes the pipe, 1 after repeated
collection errors, 2 usage error, 130 after Ctrl-C or SIGTERM."
);

/// What `watch` groups its top list by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum WatchByArg {
    /// Service port (as `tcpstat ports`).
    #[default]
    Port,
    /// Owning process (walks /proc/*/fd each tick).
    Process,
    /// Remote address.
    Remote,
    /// Workload: systemd unit, container or pod (as `tcpstat workloads`).
    Workload,
}

#[derive(Debug, Args, Default)]
pub struct WatchArgs {
    /// Time between collections: 500ms, 2s, 1m, ...
    #[arg(long, short = 'n', value_name = "DURATION", default_value = "1s", value_parser = parse_interval)]
    pub interval: std::time::Duration,

    /// Stop after N ticks.
    #[arg(long, short = 'c', value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Group the top list by service port, owning process, remote address or workload.
    #[arg(long, value_enum, default_value_t = WatchByArg::Port)]
    pub by: WatchByArg,

    /// Length of the top and age lists (at least 1).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = parse_top)]
    pub top: usize,

    /// Only report sockets that have been in their state at least this long (e.g. 5m).
    #[arg(long, value_name = "DURATION", value_parser = crate::model::duration::parse)]
    pub older_than: Option<std::time::Duration>,

    /// Also show connection health per service port: connections, RTT p50/p99,
    /// retransmitted segments per second (the growth of each connection's total since the
    /// tick before), connections retransmitting, facing a zero window or stalled, and queued
    /// bytes (asks the kernel for every connection's tcp_info; netlink only).
    #[arg(long)]
    pub health: bool,

    /// With --health: a connection with data queued and nothing acknowledged for this long
    /// is stalled (e.g. 5s, 500ms).
    #[arg(long, value_name = "DURATION", value_parser = crate::model::duration::parse,
          default_value = "5s", requires = "health")]
    pub stall: std::time::Duration,

    /// Also report the sockets that entered or left the watched states since the last tick.
    #[arg(long)]
    pub events: bool,

    /// Print NDJSON (one object per tick) even on a terminal.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub filter: FilterArgs,
}

fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    let d = crate::model::duration::parse(text)?;
    if d.is_zero() {
        return Err(format!("timeout {text:?} must be more than 0"));
    }
    Ok(d)
}

fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let d = crate::model::duration::parse(text)?;
    if d < std::time::Duration::from_millis(10) {
        return Err(format!("interval {text:?} is too short (10ms at least)"));
    }
    Ok(d)
}

/// Options that apply to every subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on
    /// stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which
    /// cannot see CLOSED (bound-only) sockets.
    #[arg(long, value_enum, default_value_t = SourceArg::Auto, global = true)]
    pub source: SourceArg,

    /// When to colour the output: `auto` colours a terminal unless NO_COLOR is set or
    /// TERM=dumb; `always` beats the environment.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, global = true, value_name = "WHEN")]
    pub color: ColorArg,

    /// Read another network namespace: a name under /run/netns (as `ip netns` names them) or
    /// the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs
    /// CAP_SYS_ADMIN (root).
    #[arg(long, value_name = "NAME|PATH", global = true, conflicts_with_all = ["netns_pid", "all_netns"],
          value_parser = clap::builder::NonEmptyStringValueParser::new(), value_hint = ValueHint::AnyPath)]
    pub netns: Option<String>,

    /// Read the network namespace of process PID (e.g. a container's main process). Entering
    /// it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering.
    #[arg(long, value_name = "PID", global = true, conflicts_with = "all_netns",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub netns_pid: Option<u32>,

    /// Read every network namespace of the host (those named under /run/netns and those of
    /// every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A
    /// namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root).
    #[arg(long, global = true)]
    pub all_netns: bool,

    /// Where container runtimes keep their files (the host's `/`; e.g. `/host` in a
    /// container with the host's root mounted there): names of Docker and Podman containers
    /// and Kubernetes pods are read under it (var/lib/docker, var/lib/containers,
    /// run/containerd, run/containers, var/log/pods).
    #[arg(long, value_name = "DIR", global = true, env = "TCPSTAT_HOST_ROOT",
          default_value = "/", value_hint = ValueHint::DirPath)]
    pub host_root: PathBuf,

    /// Root of the proc filesystem used by the /proc source (for recorded fixtures). With
    /// `--source auto`, a root other than /proc selects the /proc source.
    #[arg(
        long,
        hide = true,
        default_value = "/proc",
        global = true,
        value_name = "DIR"
    )]
    pub proc_root: PathBuf,
}

/// `record --processes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProcessesArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    Auto,
    Netlink,
    Proc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// Output format of `summary`, `ports` and `procs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FormatArg {
    /// A table for people.
    #[default]
    Table,
    /// One JSON object (schema: man tcpstat-json); the same as --json.
    Json,
    /// Prometheus text exposition, e.g. for node_exporter's textfile collector.
    Prometheus,
}

#[derive(Debug, Args, Default, PartialEq)]
pub struct SummaryArgs {
    /// Print one JSON object instead of a table (schema: man tcpstat-json); --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Output format: table, json or prometheus.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// How `ports` groups sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ByArg {
    /// The service port: the side listened on here (by port number: `in` if local, `out` if
    /// remote); if neither, the side outside net.ipv4.ip_local_port_range, else the lower.
    #[default]
    Service,
    /// Always the local port.
    Local,
    /// Always the remote port.
    Remote,
}

#[derive(Debug, Args, Default)]
pub struct PortsArgs {
    /// How to group: `service` (default), `local` or `remote` port. --format prometheus takes
    /// only `service` (ephemeral ports never become labels).
    #[arg(long, value_enum, default_value_t = ByArg::Service)]
    pub by: ByArg,

    /// Show a column for every state, not only those with sockets (or, with --state, those
    /// selected); states not selected or not visible to the source show `-`.
    #[arg(long)]
    pub all_states: bool,

    /// Only the N groups with the most sockets (N >= 1; the footer and JSON `ports_omitted` say
    /// how many were left out). With --format prometheus: the N busiest ports that are not
    /// listened on (default 10; 0: none), the rest summed as port="other".
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// With --format prometheus: the listening ports kept, those with the fullest accept
    /// queues first (then the busiest); the rest are summed as port="other", so that the
    /// number of series is bounded whatever the host does.
    #[arg(long, value_name = "N", default_value_t = crate::aggregate::DEFAULT_TOP_LISTENING)]
    pub top_listening: usize,

    /// Print a JSON object instead of a table; --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Output format: table, json or prometheus.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Args, Default)]
pub struct ProcsArgs {
    /// Show a column for every state, not only those with sockets (or, with --state, those
    /// selected); states not selected or not visible to the source show `-`.
    #[arg(long)]
    pub all_states: bool,

    /// Only the N processes with the most sockets (N >= 1; the footer and JSON
    /// `processes_omitted` say how many were left out; the rows of sockets without a process
    /// are always shown). With --format prometheus: the N busiest command names (default 20;
    /// 0: none), the rest summed.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Print a JSON object instead of a table; --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Output format: table, json or prometheus.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// What `workloads` groups sockets by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum WorkloadByArg {
    /// The most specific of pod container, container, systemd unit, else the cgroup path.
    #[default]
    Workload,
    /// The systemd unit (service, scope, user unit).
    Unit,
    /// The container, in a pod or not.
    Container,
    /// The Kubernetes pod.
    Pod,
    /// The raw cgroup path.
    Cgroup,
}

#[derive(Debug, Args, Default)]
pub struct WorkloadsArgs {
    /// Group by workload (default), systemd unit, container, pod or raw cgroup path. Sockets
    /// of workloads that have no such thing (a service is in no pod) share one row.
    #[arg(long, value_enum, default_value_t = WorkloadByArg::Workload)]
    pub by: WorkloadByArg,

    /// Show a column for every state, not only those with sockets (or, with --state, those
    /// selected); states not selected or not visible to the source show `-`.
    #[arg(long)]
    pub all_states: bool,

    /// Only the N workloads with the most sockets (N >= 1; the footer and JSON
    /// `workloads_omitted` say how many were left out). With --format prometheus: the N
    /// busiest (default 50; 0: none), the rest summed.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Print a JSON object instead of a table; --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Output format: table, json or prometheus.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// What `health` groups connections by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum HealthByArg {
    /// The service port and direction (as `ports`).
    #[default]
    Service,
    /// The remote address.
    Peer,
    /// The remote address's network (--prefix, --prefix6).
    Prefix,
    /// The owning process (walks /proc/*/fd; a socket shared by several processes counts
    /// for each).
    Process,
    /// The workload of the socket's cgroup: systemd unit, container, pod (as `workloads`).
    Workload,
}

#[derive(Debug, Args, Default)]
pub struct HealthArgs {
    /// Group by service port (default), peer address, peer network, process or workload.
    #[arg(long, value_enum, default_value_t = HealthByArg::Service)]
    pub by: HealthByArg,

    /// With --by prefix: the length of an IPv4 peer's network.
    #[arg(long, value_name = "BITS", default_value_t = 24,
          value_parser = clap::value_parser!(u8).range(0..=32))]
    pub prefix: u8,

    /// With --by prefix: the length of an IPv6 peer's network.
    #[arg(long, value_name = "BITS", default_value_t = 64,
          value_parser = clap::value_parser!(u8).range(0..=128))]
    pub prefix6: u8,

    /// A connection with data queued and nothing acknowledged for this long is stalled
    /// (e.g. 5s, 500ms).
    #[arg(long, value_name = "DURATION", value_parser = crate::model::duration::parse,
          default_value = "5s")]
    pub stall: std::time::Duration,

    /// Only the N groups that retransmit most (then the busiest); JSON `groups_omitted`
    /// says how many were left out.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub top: Option<u64>,

    /// Print a JSON object instead of a table.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Sort keys of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    /// Lifecycle order of the state.
    State,
    /// Local address, then port.
    Local,
    /// Remote address, then port.
    Remote,
    /// Local port.
    Port,
    /// First owning process id (resolves owners).
    Pid,
    /// Receive + send queue, largest first.
    Queue,
}

#[derive(Debug, Args, Default)]
pub struct ListArgs {
    /// Show the owning processes (pid/command); walks /proc/*/fd once.
    #[arg(short = 'p', long)]
    pub processes: bool,

    /// Show the active timer (TIME_WAIT remaining, retransmit, keepalive, probe).
    #[arg(short = 'o', long)]
    pub timers: bool,

    /// Show the kernel's tcp_info (as `ss -i`): RTT, cwnd, retransmits, unacked segments,
    /// the peer's window, congestion control; JSON has every field (`tcp_info`). Asked from
    /// the kernel only with this flag; the /proc source has none.
    #[arg(short = 'i', long)]
    pub info: bool,

    /// Show socket memory (as `ss -m`, INET_DIAG_SKMEMINFO): receive/send buffer use and
    /// sizes, drops; JSON: `memory`.
    #[arg(short = 'm', long)]
    pub memory: bool,

    /// Show each socket's workload (systemd unit, container, pod; see `tcpstat workloads`).
    #[arg(short = 'W', long)]
    pub workloads: bool,

    /// Print one JSON object, its `sockets` array streamed row by row.
    #[arg(long, conflicts_with = "ndjson")]
    pub json: bool,

    /// Print one JSON object per socket per line (streamed), then an `end` line.
    #[arg(long)]
    pub ndjson: bool,

    /// Sort rows (this reads the whole table before printing).
    #[arg(long, value_enum, value_name = "KEY")]
    pub sort: Option<SortArg>,

    /// Do not print the header line.
    #[arg(long)]
    pub no_header: bool,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Which sockets to count. Filters combine with AND; list values with OR.
#[derive(Debug, Args, Default, Clone, PartialEq)]
pub struct FilterArgs {
    /// Only these states: names or groups, comma-separated or repeated
    /// (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap.
    #[arg(long, value_name = "STATES", value_parser = StatesParser, hide_possible_values = true,
          action = clap::ArgAction::Append)]
    pub state: Vec<StateSet>,

    /// Only IPv4 sockets.
    #[arg(short = '4', long = "ipv4")]
    pub ipv4: bool,

    /// Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss).
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,

    /// Sockets with this port on either side: a port, a list or a range (`80,443`,
    /// `8000-8100`).
    #[arg(long, value_name = "PORTS", value_parser = PortSet::parse, action = clap::ArgAction::Append)]
    pub port: Vec<PortSet>,

    /// Sockets whose local (source) port matches.
    #[arg(long, value_name = "PORTS", value_parser = PortSet::parse, action = clap::ArgAction::Append)]
    pub sport: Vec<PortSet>,

    /// Sockets whose remote (destination) port matches.
    #[arg(long, value_name = "PORTS", value_parser = PortSet::parse, action = clap::ArgAction::Append)]
    pub dport: Vec<PortSet>,

    /// Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6
    /// (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses.
    #[arg(long, value_name = "CIDR", value_parser = Cidr::parse, action = clap::ArgAction::Append)]
    pub src: Vec<Cidr>,

    /// Sockets whose remote address is in this network.
    #[arg(long, value_name = "CIDR", value_parser = Cidr::parse, action = clap::ArgAction::Append)]
    pub dst: Vec<Cidr>,

    /// Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners.
    #[arg(long, value_name = "PID", value_delimiter = ',', action = clap::ArgAction::Append,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub pid: Vec<u32>,

    /// Sockets owned by a process with this command name: exact match on the kernel's
    /// command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes).
    /// Resolves owners.
    #[arg(long, value_name = "NAME", action = clap::ArgAction::Append, value_parser = parse_process_name)]
    pub process: Vec<String>,

    /// Sockets owned by this user (the socket's uid): a name or a numeric uid.
    #[arg(long, value_name = "USER", value_hint = ValueHint::Username, action = clap::ArgAction::Append)]
    pub user: Vec<String>,

    /// Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in
    /// /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as
    /// `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count
    /// when they are on a port the cgroup listens on. Needs the netlink source.
    #[arg(long, value_name = "PATH", action = clap::ArgAction::Append,
          value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub cgroup: Vec<String>,

    /// Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a
    /// systemd unit (`nginx.service`), a container's name or id (12 hex digits at least), a
    /// pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every
    /// cgroup it names.
    #[arg(long, value_name = "NAME", action = clap::ArgAction::Append,
          value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub workload: Vec<String>,
}

fn parse_states(text: &str) -> Result<StateSet, String> {
    StateSet::parse_list(text)
}

/// `--state`: a comma list parsed by [`parse_states`] (same errors), whose possible values
/// are the state names as people type them and the groups, for shell completion. Help does
/// not list them (`hide_possible_values`): it explains the spellings in prose.
#[derive(Debug, Clone, Copy)]
struct StatesParser;

impl TypedValueParser for StatesParser {
    type Value = StateSet;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<StateSet, clap::Error> {
        parse_states.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let states = TcpState::ALL
            .into_iter()
            .map(|s| PossibleValue::new(s.typed_name()).help(s.name()));
        let groups = GROUPS
            .into_iter()
            .map(|(name, members)| PossibleValue::new(name).help(members));
        Some(Box::new(states.chain(groups)))
    }
}

/// `watch --top N`: at least 1 (`--top 0` would print an empty list that looks like
/// "nothing"). `ports` and `procs` check theirs in `config`: 0 has a meaning with `--format
/// prometheus` (everything but the listening ports summed).
fn parse_top(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1 (--top 0 would show no rows)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text:?} is not a number")),
    }
}

/// `--process NAME`: a command name is never empty, so an empty one can only be a mistake
/// (an unset shell variable) that would silently select nothing.
fn parse_process_name(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("a process name cannot be empty (expected a command name, e.g. nginx)".into());
    }
    Ok(text.to_string())
}

/// When a command line that failed to parse looks like `ss` or `netstat`, what tcpstat calls
/// the same thing (`-tanp` is `tcpstat list -p`, `state established` is `--state
/// established`, `sport = :80` is `--sport 80`); `None` otherwise. Said after the usage error
/// instead of guessing: the options look alike but mean other things (`-s` is ss's summary,
/// `-n` is always on here).
pub fn habit_hint(args: &[std::ffi::OsString]) -> Option<String> {
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut said: Vec<String> = Vec::new();
    let mut list = false;
    let mut processes = false;
    let mut timers = false;
    let mut info = false;
    let mut memory = false;
    let mut states: Vec<String> = Vec::new();
    let mut filters: Vec<String> = Vec::new();
    let mut other_protocols = false;
    let mut summary = false;
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        // A cluster of ss / netstat one-letter options (`-tanp`, `-tulpn`, `-s`).
        if let Some(letters) = word.strip_prefix('-').filter(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && l.chars().all(|c| "tuanplsoewxr46im".contains(c))
        }) {
            for c in letters.chars() {
                match c {
                    'p' => processes = true,
                    'l' => states.push("listen".into()),
                    'o' | 'e' => timers = true,
                    'i' => info = true,
                    'm' => memory = true,
                    's' => summary = true,
                    'u' | 'w' | 'x' | 'r' => other_protocols = true,
                    _ => {}
                }
            }
            list |= !summary;
            said.push(word.to_string());
        } else if word == "state" {
            if let Some(state) = words.get(i + 1) {
                states.push(state.clone());
                said.push(format!("{word} {state}"));
                i += 1;
            }
        } else if let Some(side) = ["sport", "dport", "src", "dst"]
            .into_iter()
            .find(|s| word.trim_start_matches('(').trim() == *s)
        {
            // `sport = :80`, `sport :80`, `dst 10.0.0.1`.
            let mut j = i + 1;
            if words
                .get(j)
                .is_some_and(|w| matches!(w.as_str(), "=" | "==" | "eq"))
            {
                j += 1;
            }
            if let Some(value) = words.get(j) {
                let value = value.trim_start_matches(':').trim_end_matches(')');
                said.push(format!("{side} {value}"));
                filters.push(format!("--{side} {value}"));
                i = j;
            }
        }
        i += 1;
    }
    if said.is_empty() {
        return None;
    }
    let mut spelled = vec!["tcpstat".to_string()];
    if summary && !list && !processes {
        spelled.push("summary".into());
    } else {
        spelled.push("list".into());
        if processes {
            spelled.push("-p".into());
        }
        if timers {
            spelled.push("-o".into());
        }
        if info {
            spelled.push("-i".into());
        }
        if memory {
            spelled.push("-m".into());
        }
    }
    if !states.is_empty() {
        spelled.push(format!("--state {}", states.join(",")));
    }
    spelled.extend(filters);
    let mut hint = format!(
        "hint: `{}` is how ss / netstat say it; in tcpstat: {}",
        said.join(" "),
        spelled.join(" ")
    );
    hint.push_str(
        " (TCP only, addresses always numeric, every state by default; README: \"Coming from ss, \
         netstat or lsof\")",
    );
    if other_protocols {
        hint.push_str(". tcpstat reads TCP sockets only (-u, -w, -x: use ss for those)");
    }
    Some(hint)
}

/// The subcommand an argument list invokes (its canonical name, aliases resolved), found
/// without parsing it: options before it are skipped, with their values when they take one.
/// For deciding how to report a usage error before there is a parsed command line.
pub fn subcommand_of(args: &[std::ffi::OsString]) -> Option<String> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let takes_value = |arg: Option<&clap::Arg>| arg.is_some_and(|a| a.get_action().takes_values());
    let mut it = args.iter().skip(1);
    while let Some(arg) = it.next() {
        let s = arg.to_str()?;
        if s == "--" {
            return None;
        }
        if let Some(long) = s.strip_prefix("--") {
            if !long.contains('=')
                && takes_value(cmd.get_arguments().find(|a| a.get_long() == Some(long)))
            {
                it.next();
            }
            continue;
        }
        if let Some(shorts) = s.strip_prefix('-').filter(|x| !x.is_empty()) {
            // A value-taking short flag consumes the rest of its cluster, or the next word.
            for (i, c) in shorts.char_indices() {
                if takes_value(cmd.get_arguments().find(|a| a.get_short() == Some(c))) {
                    if i + c.len_utf8() == shorts.len() {
                        it.next();
                    }
                    break;
                }
            }
            continue;
        }
        return Some(
            cmd.find_subcommand(s)
                .map_or_else(|| s.to_string(), |c| c.get_name().to_string()),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn subcommand_is_found_past_global_options() {
        let of = |args: &[&str]| {
            let v: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
            subcommand_of(&v)
        };
        assert_eq!(
            of(&["tcpstat", "check", "--warn", "x"]).as_deref(),
            Some("check")
        );
        assert_eq!(
            of(&["tcpstat", "--source", "proc", "--color=never", "check"]).as_deref(),
            Some("check")
        );
        assert_eq!(
            of(&["tcpstat", "--proc-root", "check", "summary"]).as_deref(),
            Some("summary"),
            "a value is not a subcommand"
        );
        assert_eq!(of(&["tcpstat", "ls"]).as_deref(), Some("list"));
        assert_eq!(of(&["tcpstat", "-4", "--json"]), None);
        assert_eq!(of(&["tcpstat", "--", "check"]), None);
    }

    #[test]
    fn ss_and_netstat_habits_get_the_tcpstat_spelling() {
        let hint = |line: &str| {
            let v: Vec<std::ffi::OsString> = std::iter::once("tcpstat")
                .chain(line.split(' '))
                .map(Into::into)
                .collect();
            habit_hint(&v)
        };
        let said = |line: &str, want: &str| {
            let h = hint(line).unwrap_or_else(|| panic!("no hint for {line:?}"));
            assert!(
                h.contains(&format!("in tcpstat: {want} (")),
                "{line:?}: {h}"
            );
        };
        said("-tanp", "tcpstat list -p");
        said("-tulpn", "tcpstat list -p --state listen");
        said("-s", "tcpstat summary");
        said(
            "-tan state established sport = :80",
            "tcpstat list --state established --sport 80",
        );
        said("-tn dst 10.0.0.1", "tcpstat list --dst 10.0.0.1");
        assert!(hint("-tulpn").is_some_and(|h| h.contains("TCP sockets only")));
        assert_eq!(hint("--json"), None);
        assert_eq!(hint("list --sort state"), None);
    }

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bare_invocation_takes_summary_flags() {
        let cli = Cli::try_parse_from(["tcpstat", "--json", "--state", "estab"]).expect("parses");
        assert!(cli.command.is_none());
        assert!(cli.summary.json);
        let cli =
            Cli::try_parse_from(["tcpstat", "summary", "--source", "proc", "-4"]).expect("parses");
        let Some(Command::Summary(args)) = cli.command else {
            panic!("summary expected")
        };
        assert!(args.filter.ipv4);
        assert_eq!(cli.global.source, SourceArg::Proc);
    }

    #[test]
    fn bad_values_are_usage_errors_naming_the_value() {
        for (args, needle) in [
            (vec!["tcpstat", "--state", "bogus"], "bogus"),
            (vec!["tcpstat", "--port", "70000"], "70000"),
            (vec!["tcpstat", "summary", "--dport", "x"], "\"x\""),
        ] {
            let err = Cli::try_parse_from(&args).expect_err("invalid");
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains(needle), "{args:?}: {err}");
        }
    }
}
