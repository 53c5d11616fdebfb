//! The whole command-line surface, defined once with clap.
//!
//! Owns: flags, subcommands, help text and value parsers. Help, completions and the man page
//! are generated from [`Cli::command`]; nothing else defines a flag. No I/O, no defaults that
//! depend on the environment (that is `config`'s job).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::{PortSet, StateSet};

const AFTER_HELP: &str = "\
State names are case-insensitive and accept the spellings of ss, netstat and RFC 793
(close-wait, CLOSE_WAIT, closewait, fin-wait-1, FIN_WAIT1, syn-rcv, SYN_RECEIVED, estab,
timewait, close, ...) and the groups all, connected (all but LISTEN and CLOSED),
synchronized (connected but SYN_SENT), bucket (SYN_RECV and TIME_WAIT) and big (all but bucket).

Exit status: 0 ok (also when the reader closes the pipe), 1 runtime error, 2 usage error.";

/// A live TCP socket-state monitor: exact per-state counts straight from the kernel.
///
/// Reads the kernel's socket tables through sock_diag netlink (IPv4 and IPv6), falling back to
/// /proc/net/tcp{,6}, and says which source it used. Without a subcommand, runs `summary`.
#[derive(Debug, Parser)]
#[command(
    name = "tcpstat",
    version,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
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
    #[command(after_help = AFTER_HELP)]
    Summary(SummaryArgs),
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

    /// Root of the proc filesystem used by the /proc source (for recorded fixtures).
    #[arg(
        long,
        hide = true,
        default_value = "/proc",
        global = true,
        value_name = "DIR"
    )]
    pub proc_root: PathBuf,
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

#[derive(Debug, Args, Default)]
pub struct SummaryArgs {
    /// Print one JSON object instead of a table (schema in the README).
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Which sockets to count. Filters combine with AND; list values with OR.
#[derive(Debug, Args, Default, Clone)]
pub struct FilterArgs {
    /// Only these states: names or groups, comma-separated or repeated
    /// (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap.
    #[arg(long, value_name = "STATES", value_parser = parse_states, action = clap::ArgAction::Append)]
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
}

fn parse_states(text: &str) -> Result<StateSet, String> {
    StateSet::parse_list(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

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
