//! Turns parsed flags plus the environment into one [`Config`].
//!
//! Owns: every decision that depends on the environment or the terminal (colour), and the
//! merging of repeated flags into a [`Filter`]. After this, nothing looks at flags, `NO_COLOR`
//! or whether stdout is a terminal.

use std::io::IsTerminal;

use crate::aggregate::health::HealthBy;
use crate::aggregate::watch::GroupBy;
pub use crate::aggregate::workloads::DEFAULT_TOP_WORKLOADS;
use crate::aggregate::PortGrouping;
use crate::check::Threshold;
use crate::cli::{
    ByArg, CheckArgs, Cli, ColorArg, Command, DoctorArgs, FilterArgs, FormatArg, GenerateArgs,
    GenerateTarget, HealthArgs, HealthByArg, HistoryArgs, ListArgs, PortsArgs, ProcsArgs,
    RecordArgs, ServeArgs, SortArg, SourceArg, SummaryArgs, WatchArgs, WatchByArg, WorkloadByArg,
    WorkloadsArgs,
};
use crate::diagnose::Thresholds;
use crate::model::history::When;
use crate::model::workload::WorkloadBy;
use crate::model::{
    Extensions, Family, Filter, NetnsRequest, Plan, PortSet, SourceChoice, StateSet, TcpState,
    WorkloadRequest,
};
pub use crate::render::list::ListFormat;

/// What to run, resolved.
#[derive(Debug, Clone)]
pub struct Config {
    /// Which source to read.
    pub source: SourceChoice,
    /// Root of the proc filesystem (`--proc-root`, default `/proc`).
    pub proc_root: std::path::PathBuf,
    /// Where container runtimes' files are read (`--host-root`, default `/`).
    pub host_root: std::path::PathBuf,
    /// Which network namespaces to read, as asked (finding them is I/O: the pipeline does it).
    pub netns: NetnsRequest,
    pub filter: Filter,
    pub color: bool,
    pub task: Task,
}

impl Config {
    /// A plan that reads the selected sockets and nothing else; subcommands add what they
    /// need besides.
    pub fn plan(&self) -> Plan {
        Plan::sockets(self.source, self.proc_root.clone(), self.filter.clone())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    Summary {
        format: Format,
    },
    Ports(PortsOptions),
    Procs(ProcsOptions),
    Workloads(WorkloadsOptions),
    List(ListOptions),
    Health(HealthOptions),
    Watch(WatchOptions),
    /// Completions or man pages (hidden `generate`): to stdout, or files into `dir`.
    Generate {
        target: GenerateTarget,
        dir: Option<std::path::PathBuf>,
    },
    Doctor {
        thresholds: Box<Thresholds>,
        json: bool,
        /// `--at`: a recorded moment, read from `db`.
        at: Option<When>,
        db: std::path::PathBuf,
    },
    Check(CheckOptions),
    Serve(ServeOptions),
    Record(RecordOptions),
    History(HistoryOptions),
}

/// `record`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOptions {
    pub db: std::path::PathBuf,
    pub interval: std::time::Duration,
    pub keep: std::time::Duration,
    pub max_size: u64,
    pub top: usize,
    pub count: Option<u64>,
    /// When to look up owners and record the top processes.
    pub processes: OwnerLookup,
    pub top_processes: usize,
    /// The share of one core the recorder may take on average (`--cpu-budget`), if any.
    pub cpu_budget: Option<f64>,
}

/// `record --processes`: when a sample looks up the owning processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerLookup {
    /// Every sample while the walks average under a budget of CPU, less often beyond.
    Auto,
    Always,
    Never,
}

/// How `history` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryFormat {
    Table,
    Json,
    Csv,
}

/// `history`, resolved (times are resolved against the clock and the time zone when it runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryOptions {
    pub db: std::path::PathBuf,
    pub since: When,
    pub until: When,
    pub at: Option<When>,
    /// Empty: every state (the stuck states with `--onset`).
    pub states: StateSet,
    pub ports: Vec<u16>,
    pub workloads: Vec<String>,
    /// `--process`: command names.
    pub processes: Vec<String>,
    pub onset: bool,
    pub format: HistoryFormat,
    /// `--html FILE` (`-`: stdout): the period as an HTML page instead of `format`.
    pub html: Option<std::path::PathBuf>,
    /// `--replay`: step through the period on watch's screen (NDJSON when not interactive).
    pub replay: Option<ReplayOptions>,
}

/// `history --replay`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Time between samples at the start (`--speed`: 1 / samples a second).
    pub step: std::time::Duration,
    /// A screen (stdout is a terminal and --json was not given); else NDJSON.
    pub interactive: bool,
    /// As [`WatchOptions::fallback_size`].
    pub fallback_size: (usize, usize),
}

/// Output format of `summary`, `ports` and `procs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Prometheus,
}

impl Format {
    /// `--json` is `--format json`; clap refuses both together.
    fn of(json: bool, format: Option<FormatArg>) -> Format {
        match (json, format) {
            (true, _) | (false, Some(FormatArg::Json)) => Format::Json,
            (false, Some(FormatArg::Prometheus)) => Format::Prometheus,
            (false, Some(FormatArg::Table) | None) => Format::Table,
        }
    }
}

/// `ports`, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortsOptions {
    pub grouping: PortGrouping,
    pub all_states: bool,
    pub top: Option<usize>,
    /// `--format prometheus`: listening ports kept (`--top-listening`).
    pub top_listening: usize,
    pub format: Format,
}

/// `health`, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthOptions {
    pub by: HealthBy,
    /// `--stall`, milliseconds.
    pub stall_ms: u32,
    pub top: Option<usize>,
    pub json: bool,
}

/// `procs`, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcsOptions {
    pub all_states: bool,
    pub top: Option<usize>,
    pub format: Format,
}

/// `workloads`, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadsOptions {
    pub by: WorkloadBy,
    pub all_states: bool,
    pub top: Option<usize>,
    pub format: Format,
}

/// `check`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOptions {
    pub warn: Vec<Threshold>,
    pub crit: Vec<Threshold>,
    /// `-t`: UNKNOWN after this long.
    pub timeout: std::time::Duration,
    /// `-v` given this many times.
    pub verbosity: u8,
}

/// `serve`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    pub listen: std::net::SocketAddr,
    pub processes: bool,
    pub top_ports: usize,
    pub top_listening: usize,
    pub top_processes: usize,
    pub workloads: bool,
    pub top_workloads: usize,
    /// With `--health`: the stall time in milliseconds.
    pub health: Option<u32>,
    pub max_connections: usize,
}

/// `ports --format prometheus` without `--top`: non-listening ports kept.
pub const DEFAULT_TOP_PORTS: usize = 10;
/// `procs --format prometheus` without `--top`: commands kept.
pub const DEFAULT_TOP_COMMANDS: usize = 20;

/// `watch`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    pub interval: std::time::Duration,
    pub count: Option<u64>,
    pub by: GroupBy,
    pub top: usize,
    pub older_than: Option<std::time::Duration>,
    pub events: bool,
    /// With `--health`: the stall time in milliseconds.
    pub health: Option<u32>,
    /// Redraw a screen (stdout is a terminal and --json was not given); else NDJSON.
    pub interactive: bool,
    /// Columns and rows of the screen when the terminal does not report its size:
    /// `COLUMNS` and `LINES`, else 80 x 24.
    pub fallback_size: (usize, usize),
    /// States whose sockets are tracked for ages and events.
    pub tracked: StateSet,
}

/// Where sockets get stuck: tracked for ages when no --state is given.
pub const STUCK_STATES: [TcpState; 7] = [
    TcpState::SynSent,
    TcpState::SynRecv,
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::CloseWait,
    TcpState::Closing,
    TcpState::LastAck,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOptions {
    pub format: ListFormat,
    pub processes: bool,
    pub timers: bool,
    /// `-i`, `-m`: tcp_info and socket memory of each socket.
    pub detail: Extensions,
    /// `-W`: each socket's workload.
    pub workloads: bool,
    pub sort: Option<SortArg>,
}

/// The parts of the environment that shape output; read once in `run`.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub no_color: Option<String>,
    pub term: Option<String>,
    pub stdout_is_terminal: bool,
    /// `COLUMNS` and `LINES`: the watch screen's size when the terminal reports none.
    pub columns: Option<String>,
    pub lines: Option<String>,
}

impl Environment {
    pub fn capture() -> Environment {
        Environment {
            no_color: std::env::var("NO_COLOR").ok(),
            term: std::env::var("TERM").ok(),
            stdout_is_terminal: std::io::stdout().is_terminal(),
            columns: std::env::var("COLUMNS").ok(),
            lines: std::env::var("LINES").ok(),
        }
    }
}

impl Config {
    /// Resolves the command line. `uid_of` maps a user name to a uid (from /etc/passwd);
    /// an unknown user is a usage error, returned as its message.
    pub fn from_cli(
        cli: Cli,
        env: &Environment,
        uid_of: &dyn Fn(&str) -> Option<u32>,
    ) -> Result<Config, String> {
        // `summary`'s options work without the subcommand (`tcpstat --json`); given before
        // another subcommand they would be silently ignored. Global options (`--netns`,
        // `--source`, ...) may come before any subcommand.
        if let (Some(command), false) = (&cli.command, cli.summary == SummaryArgs::default()) {
            return Err(format!(
                "summary's options (--json, --format, --state, --port, ...) were given before \
                 the subcommand '{}': put them after it",
                command.name()
            ));
        }
        let (task, filter) = match cli.command {
            None => (summary(&cli.summary), cli.summary.filter),
            Some(Command::Summary(args)) => (summary(&args), args.filter),
            Some(Command::Ports(args)) => (ports(&args)?, args.filter),
            Some(Command::Procs(args)) => (procs(&args)?, args.filter),
            Some(Command::Workloads(args)) => (workloads(&args)?, args.filter),
            Some(Command::Doctor(args)) => (doctor(&args)?, args.filter),
            Some(Command::Check(args)) => (check(&args)?, args.filter),
            Some(Command::Serve(args)) => (serve(&args), args.filter),
            Some(Command::List(args)) => (list(&args), args.filter),
            Some(Command::Health(args)) => (health(&args), args.filter),
            Some(Command::Watch(args)) => (watch(&args, env), args.filter),
            Some(Command::Record(args)) => (record(&args), FilterArgs::default()),
            Some(Command::History(args)) => (history(&args, env), FilterArgs::default()),
            Some(Command::Generate(GenerateArgs { target, dir })) => {
                (Task::Generate { target, dir }, FilterArgs::default())
            }
        };
        let global = cli.global;
        if global.all_netns {
            refuse_all_netns(&task)?;
        }
        Ok(Config {
            source: source(global.source, &global.proc_root),
            netns: match (global.netns, global.netns_pid, global.all_netns) {
                (Some(target), _, _) => NetnsRequest::NameOrPath(target),
                (None, Some(pid), _) => NetnsRequest::Pid(pid),
                (None, None, true) => NetnsRequest::All,
                (None, None, false) => NetnsRequest::Own,
            },
            proc_root: global.proc_root,
            host_root: global.host_root,
            filter: build_filter(&filter, uid_of)?,
            color: !task.machine_output() && use_color(global.color, env),
            task,
        })
    }
}

impl Task {
    /// Output for programs (JSON, NDJSON, metrics, a plugin line, generated files): never
    /// coloured.
    fn machine_output(&self) -> bool {
        match self {
            Task::Summary { format } => *format != Format::Table,
            Task::Ports(o) => o.format != Format::Table,
            Task::Procs(o) => o.format != Format::Table,
            Task::Workloads(o) => o.format != Format::Table,
            Task::List(o) => !matches!(o.format, ListFormat::Table { .. }),
            Task::Health(o) => o.json,
            Task::Watch(o) => !o.interactive,
            Task::Generate { .. } => true,
            Task::Doctor { json, .. } => *json,
            Task::Check(_) | Task::Serve(_) | Task::Record(_) => true,
            Task::History(o) => match &o.replay {
                Some(r) => !r.interactive,
                None => o.format != HistoryFormat::Table || o.html.is_some(),
            },
        }
    }
}

/// `--source`: a recorded proc root is only meaningful to the /proc source, so `auto` reads
/// /proc there (it would count the live kernel's sockets under the recording's host name).
fn source(choice: SourceArg, proc_root: &std::path::Path) -> SourceChoice {
    match choice {
        SourceArg::Auto if proc_root != std::path::Path::new("/proc") => SourceChoice::Proc,
        SourceArg::Auto => SourceChoice::Auto,
        SourceArg::Netlink => SourceChoice::Netlink,
        SourceArg::Proc => SourceChoice::Proc,
    }
}

/// The reports that read one namespace at a time refuse `--all-netns`.
fn refuse_all_netns(task: &Task) -> Result<(), String> {
    let one_at_a_time = match task {
        Task::Doctor { .. } => Some("doctor"),
        Task::Check(_) => Some("check"),
        _ => None,
    };
    match one_at_a_time {
        Some(what) => Err(format!(
            "{what} reads one network namespace at a time: use --netns NAME or \
             --netns-pid PID (once per namespace) instead of --all-netns"
        )),
        None => Ok(()),
    }
}

fn summary(args: &SummaryArgs) -> Task {
    Task::Summary {
        format: Format::of(args.json, args.format),
    }
}

fn ports(args: &PortsArgs) -> Result<Task, String> {
    let format = Format::of(args.json, args.format);
    let grouping = match args.by {
        ByArg::Service => PortGrouping::Service,
        ByArg::Local => PortGrouping::Local,
        ByArg::Remote => PortGrouping::Remote,
    };
    if format == Format::Prometheus && grouping != PortGrouping::Service {
        // Grouped by local or remote port, every outgoing connection's ephemeral port would
        // become a label value: a new series per connection.
        let by = if grouping == PortGrouping::Local {
            "local"
        } else {
            "remote"
        };
        return Err(format!(
            "--format prometheus groups by service port only: with --by {by}, the ephemeral \
             ports of outgoing connections would become label values (a new series for every \
             connection). Drop --by {by}, or use --json"
        ));
    }
    check_top(args.top, format)?;
    Ok(Task::Ports(PortsOptions {
        grouping,
        all_states: args.all_states,
        top: args.top,
        top_listening: args.top_listening,
        format,
    }))
}

fn health(args: &HealthArgs) -> Task {
    Task::Health(HealthOptions {
        by: match args.by {
            HealthByArg::Service => HealthBy::Service,
            HealthByArg::Peer => HealthBy::Peer,
            HealthByArg::Prefix => HealthBy::Prefix {
                v4: args.prefix,
                v6: args.prefix6,
            },
            HealthByArg::Process => HealthBy::Process,
            HealthByArg::Workload => HealthBy::Workload,
        },
        stall_ms: u32::try_from(args.stall.as_millis()).unwrap_or(u32::MAX),
        top: args.top.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        json: args.json,
    })
}

fn procs(args: &ProcsArgs) -> Result<Task, String> {
    let format = Format::of(args.json, args.format);
    check_top(args.top, format)?;
    Ok(Task::Procs(ProcsOptions {
        all_states: args.all_states,
        top: args.top,
        format,
    }))
}

fn workloads(args: &WorkloadsArgs) -> Result<Task, String> {
    let format = Format::of(args.json, args.format);
    check_top(args.top, format)?;
    Ok(Task::Workloads(WorkloadsOptions {
        by: match args.by {
            WorkloadByArg::Workload => WorkloadBy::Workload,
            WorkloadByArg::Unit => WorkloadBy::Unit,
            WorkloadByArg::Container => WorkloadBy::Container,
            WorkloadByArg::Pod => WorkloadBy::Pod,
            WorkloadByArg::Cgroup => WorkloadBy::Cgroup,
        },
        all_states: args.all_states,
        top: args.top,
        format,
    }))
}

fn doctor(args: &DoctorArgs) -> Result<Task, String> {
    let mut thresholds = Thresholds::default();
    let mut seen = Vec::new();
    for o in &args.threshold {
        if seen.contains(&o.check) {
            return Err(format!("--threshold {} is given twice", o.check.key()));
        }
        seen.push(o.check);
        thresholds.apply(o);
    }
    Ok(Task::Doctor {
        thresholds: Box::new(thresholds),
        json: args.json,
        at: args.at,
        db: args.db.clone(),
    })
}

fn check(args: &CheckArgs) -> Result<Task, String> {
    for list in [&args.warn, &args.crit] {
        for (i, t) in list.iter().enumerate() {
            if list[..i].iter().any(|u| u.metric.same_as(&t.metric)) {
                return Err(format!(
                    "a threshold for {} is given twice in the same level",
                    t.metric.key
                ));
            }
        }
    }
    Ok(Task::Check(CheckOptions {
        warn: args.warn.clone(),
        crit: args.crit.clone(),
        timeout: args.timeout,
        verbosity: args.verbose,
    }))
}

fn serve(args: &ServeArgs) -> Task {
    Task::Serve(ServeOptions {
        listen: args.listen,
        processes: args.processes,
        top_ports: args.top_ports,
        top_listening: args.top_listening,
        top_processes: args.top_processes,
        workloads: args.workloads,
        top_workloads: args.top_workloads,
        health: args
            .health
            .then(|| u32::try_from(args.stall.as_millis()).unwrap_or(u32::MAX)),
        max_connections: usize::from(args.max_connections),
    })
}

fn record(args: &RecordArgs) -> Task {
    Task::Record(RecordOptions {
        db: args.db.clone(),
        interval: args.interval,
        keep: args.keep,
        max_size: args.max_size,
        top: args.top,
        count: args.count,
        processes: match args.processes {
            crate::cli::ProcessesArg::Auto => OwnerLookup::Auto,
            crate::cli::ProcessesArg::Always => OwnerLookup::Always,
            crate::cli::ProcessesArg::Never => OwnerLookup::Never,
        },
        top_processes: args.top_processes,
        cpu_budget: (args.cpu_budget > 0.0).then_some(args.cpu_budget),
    })
}

fn history(args: &HistoryArgs, env: &Environment) -> Task {
    Task::History(HistoryOptions {
        db: args.db.clone(),
        since: args.since,
        until: args.until,
        at: args.at,
        states: args.state.iter().fold(StateSet::EMPTY, |a, s| a.union(*s)),
        ports: args.port.clone(),
        workloads: args.workload.clone(),
        processes: args.process.clone(),
        onset: args.onset,
        html: args.html.clone(),
        replay: args.replay.then(|| ReplayOptions {
            step: std::time::Duration::from_secs_f64(1.0 / args.speed),
            interactive: env.stdout_is_terminal && !args.json,
            fallback_size: (
                size_from(env.columns.as_deref()).unwrap_or(80),
                size_from(env.lines.as_deref()).unwrap_or(24),
            ),
        }),
        format: if args.json {
            HistoryFormat::Json
        } else if args.csv {
            HistoryFormat::Csv
        } else {
            HistoryFormat::Table
        },
    })
}

fn list(args: &ListArgs) -> Task {
    let format = if args.json {
        ListFormat::Json
    } else if args.ndjson {
        ListFormat::Ndjson
    } else {
        ListFormat::Table {
            header: !args.no_header,
        }
    };
    Task::List(ListOptions {
        format,
        processes: args.processes,
        timers: args.timers,
        detail: Extensions {
            info: args.info,
            memory: args.memory,
        },
        workloads: args.workloads,
        sort: args.sort,
    })
}

fn watch(args: &WatchArgs, env: &Environment) -> Task {
    let tracked = if args.filter.state.is_empty() {
        STUCK_STATES
            .iter()
            .fold(StateSet::EMPTY, |a, &s| a.union(StateSet::of(s)))
    } else {
        args.filter
            .state
            .iter()
            .fold(StateSet::EMPTY, |a, s| a.union(*s))
    };
    Task::Watch(WatchOptions {
        interval: args.interval,
        count: args.count,
        by: match args.by {
            WatchByArg::Port => GroupBy::Port,
            WatchByArg::Process => GroupBy::Process,
            WatchByArg::Remote => GroupBy::Remote,
            WatchByArg::Workload => GroupBy::Workload,
        },
        top: args.top,
        older_than: args.older_than,
        events: args.events,
        health: args
            .health
            .then(|| u32::try_from(args.stall.as_millis()).unwrap_or(u32::MAX)),
        interactive: env.stdout_is_terminal && !args.json,
        fallback_size: (
            size_from(env.columns.as_deref()).unwrap_or(80),
            size_from(env.lines.as_deref()).unwrap_or(24),
        ),
        tracked,
    })
}

/// `ports` / `procs --top 0` would print a table or JSON with no rows, which reads as "no
/// sockets": a usage error, except with `--format prometheus`, where N counts the series
/// besides the always-kept listening ports (or all commands summed), and 0 is a choice.
fn check_top(top: Option<usize>, format: Format) -> Result<(), String> {
    if top == Some(0) && format != Format::Prometheus {
        return Err(
            "invalid value '0' for '--top <N>': must be at least 1 (--top 0 would show \
                    no rows; only --format prometheus takes 0, to keep just the listening \
                    ports or to sum every command)"
                .into(),
        );
    }
    Ok(())
}

/// `--color`: `always` and `never` win; `auto` colours a terminal unless `NO_COLOR` is set and
/// non-empty (no-color.org) or `TERM` is `dumb`.
pub fn use_color(choice: ColorArg, env: &Environment) -> bool {
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            env.stdout_is_terminal
                && env.no_color.as_deref().is_none_or(str::is_empty)
                && env.term.as_deref() != Some("dumb")
        }
    }
}

fn merge_ports(sets: &[PortSet]) -> PortSet {
    let mut all = PortSet::default();
    for set in sets {
        all.extend(set);
    }
    all
}

/// Merges repeated flags into one [`Filter`]; fails on an unknown user name.
pub fn build_filter(
    args: &FilterArgs,
    uid_of: &dyn Fn(&str) -> Option<u32>,
) -> Result<Filter, String> {
    let states = if args.state.is_empty() {
        StateSet::ALL
    } else {
        args.state.iter().fold(StateSet::EMPTY, |a, s| a.union(*s))
    };
    // -4 and -6 together mean both, as in ss.
    let families = match (args.ipv4, args.ipv6) {
        (true, false) => vec![Family::V4],
        (false, true) => vec![Family::V6],
        _ => Family::ALL.to_vec(),
    };
    let mut uids = Vec::new();
    for user in &args.user {
        let uid = match user.parse::<u32>() {
            Ok(uid) => uid,
            Err(_) => uid_of(user).ok_or_else(|| {
                format!("unknown user {user:?} for '--user' (no such user in the user database; a numeric uid always works)")
            })?,
        };
        uids.push(uid);
    }
    Ok(Filter {
        states,
        families,
        any_port: merge_ports(&args.port),
        local_port: merge_ports(&args.sport),
        remote_port: merge_ports(&args.dport),
        local_addr: args.src.clone(),
        remote_addr: args.dst.clone(),
        uids,
        pids: args.pid.clone(),
        process_names: args.process.clone(),
        workloads: WorkloadRequest {
            cgroup_paths: args.cgroup.clone(),
            names: args.workload.clone(),
        },
        cgroups: None,
        half: None,
    })
}

/// A positive number of columns or rows from the environment; anything else is ignored.
fn size_from(value: Option<&str>) -> Option<usize> {
    value?.trim().parse().ok().filter(|&n: &usize| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(tty: bool, no_color: Option<&str>, term: Option<&str>) -> Environment {
        Environment {
            no_color: no_color.map(String::from),
            term: term.map(String::from),
            stdout_is_terminal: tty,
            columns: None,
            lines: None,
        }
    }

    #[test]
    fn screen_size_from_the_environment() {
        assert_eq!(size_from(Some("132")), Some(132));
        assert_eq!(size_from(Some("0")), None);
        assert_eq!(size_from(Some("wide")), None);
        assert_eq!(size_from(None), None);
    }

    #[test]
    fn colour_rules() {
        assert!(use_color(ColorArg::Auto, &env(true, None, Some("xterm"))));
        assert!(
            use_color(ColorArg::Auto, &env(true, Some(""), None)),
            "empty NO_COLOR is unset"
        );
        assert!(!use_color(ColorArg::Auto, &env(true, Some("1"), None)));
        assert!(!use_color(ColorArg::Auto, &env(true, None, Some("dumb"))));
        assert!(!use_color(ColorArg::Auto, &env(false, None, None)));
        assert!(use_color(
            ColorArg::Always,
            &env(false, Some("1"), Some("dumb"))
        ));
        assert!(!use_color(ColorArg::Never, &env(true, None, None)));
    }

    #[test]
    fn users_resolve_by_name_or_number() {
        let args = FilterArgs {
            user: vec!["www-data".into(), "1000".into()],
            ..FilterArgs::default()
        };
        let lookup = |name: &str| (name == "www-data").then_some(33);
        assert_eq!(
            build_filter(&args, &lookup).expect("valid").uids,
            [33, 1000]
        );
        let args = FilterArgs {
            user: vec!["nobody-here".into()],
            ..FilterArgs::default()
        };
        let err = build_filter(&args, &lookup).expect_err("unknown user");
        assert!(err.contains("\"nobody-here\""), "{err}");
    }

    #[test]
    fn repeated_flags_merge() {
        let args = FilterArgs {
            state: vec![
                StateSet::parse_list("estab").expect("valid"),
                StateSet::parse_list("close-wait").expect("valid"),
            ],
            ipv4: true,
            ipv6: true,
            port: vec![
                PortSet::parse("80").expect("valid"),
                PortSet::parse("443").expect("valid"),
            ],
            ..FilterArgs::default()
        };
        let filter = build_filter(&args, &|_| None).expect("valid");
        assert_eq!(filter.states.iter().count(), 2);
        assert_eq!(filter.families, Family::ALL.to_vec());
        assert!(filter.any_port.contains(80) && filter.any_port.contains(443));
        assert!(!filter.any_port.contains(8080));
    }
}
