//! The `tcpstat` binary: parse, run, and turn how it ended into an exit status. Nothing else.

use std::ffi::OsString;
use std::io::{self, BufWriter, Write};
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use tcpstat::cli::{self, Cli};
use tcpstat::collect::users;
use tcpstat::config::{Config, Environment};
use tcpstat::error::{Error, Exit, PluginStatus};
use tcpstat::render::plugin;
use tcpstat::render::text::{escape_lines, escape_typed};

/// How a run ended, before it is said and turned into a status.
enum Ending {
    /// It ran: 0, or `doctor`'s and `check`'s own statuses.
    Ran(Exit),
    /// `--help` or `--version`: clap prints them.
    Help(clap::Error),
    /// A usage error: the message (clap's rendering, or ours in its format) and the usage
    /// line of the subcommand invoked.
    Usage(String),
    /// A runtime error, with whatever was written before it discarded.
    Failed(Error),
    /// A bug: the panic message is already on stderr (the default hook).
    Panicked(Box<dyn std::any::Any + Send>),
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    // `check` is a monitoring plugin: every way it can end says a status line on stdout.
    let plugin_mode = cli::subcommand_of(&args).as_deref() == Some("check");
    end(run(&args), plugin_mode)
}

/// Parses and runs, writing results to stdout through one buffer.
fn run(args: &[OsString]) -> Ending {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => return Ending::Help(e),
        Err(e) => {
            let mut text = usage_text(&e);
            if let Some(hint) = cli::habit_hint(args) {
                text = format!("{}\n{hint}\n", text.trim_end());
            }
            return Ending::Usage(text);
        }
    };
    let config = match Config::from_cli(cli, &Environment::capture(), &users::uid_of) {
        Ok(config) => config,
        Err(message) => return Ending::Usage(usage_message(args, &message)),
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut err = tcpstat::error::WarningStream(io::stderr());
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        tcpstat::run(&config, &mut out, &mut err)
            .and_then(|exit| out.flush().map(|()| exit).map_err(Into::into))
    }));
    match outcome {
        Ok(Ok(exit)) => Ending::Ran(exit),
        Ok(Err(e)) => {
            // A failed run must not end with half a table: discard what is still buffered.
            drop(out.into_parts());
            Ending::Failed(e)
        }
        Err(panic) => {
            drop(out.into_parts());
            Ending::Panicked(panic)
        }
    }
}

/// Says how the run ended and decides the exit status: the one place both happen. A plugin
/// (`check`) ends every way with one status line on stdout and its own statuses (UNKNOWN,
/// 3, for usage and runtime errors, which 1 or 2 would make WARNING or CRITICAL).
fn end(ending: Ending, plugin_mode: bool) -> ExitCode {
    match ending {
        Ending::Ran(exit) => ExitCode::from(exit.code()),
        Ending::Help(e) => e.exit(),
        Ending::Usage(message) => {
            // Usage errors quote what was typed, which may hold control characters (a pasted
            // process name): printed escaped, never raw (and escaped once: see escape_typed).
            let _ = write!(io::stderr(), "{}", escape_typed(&message));
            if !message.ends_with('\n') {
                let _ = writeln!(io::stderr());
            }
            if plugin_mode {
                let first = message
                    .lines()
                    .next()
                    .unwrap_or("usage error")
                    .trim_start_matches("error: ");
                return plugin_unknown(&format!("usage error: {first}"));
            }
            ExitCode::from(tcpstat::error::ExitCode::Usage as u8)
        }
        // The reader went away (`tcpstat | head`): a normal end, nothing to say.
        Ending::Failed(e) if e.is_broken_pipe() && !plugin_mode => ExitCode::SUCCESS,
        // Ctrl-C: the terminal is already restored; the shell knows what 130 means.
        Ending::Failed(e @ Error::Interrupted) => ExitCode::from(e.exit_code() as u8),
        // SIGQUIT, SIGUSR1, ... on watch's screen: restored; now end as the signal would.
        Ending::Failed(Error::Signaled(signal)) => tcpstat::term::end_by(signal),
        Ending::Failed(e) => {
            // Paths and kernel text in errors are outside text too.
            let _ = writeln!(
                tcpstat::error::WarningStream(io::stderr()),
                "tcpstat: {}",
                escape_lines(&e.report())
            );
            if plugin_mode {
                // Every runtime error of `check` ends here, wherever it arose (finding a
                // namespace, reading the tables, writing): one UNKNOWN line on stdout.
                return plugin_unknown(&e.report());
            }
            ExitCode::from(e.exit_code() as u8)
        }
        // Without a status line Nagios shows "(No output returned from plugin)".
        Ending::Panicked(_) if plugin_mode => {
            plugin_unknown("internal error: tcpstat panicked (a bug; see stderr)")
        }
        Ending::Panicked(panic) => panic::resume_unwind(panic),
    }
}

/// `check`'s UNKNOWN line on stdout (the cause is on stderr too), exit 3.
fn plugin_unknown(cause: &str) -> ExitCode {
    let mut out = io::stdout();
    let _ = plugin::unknown_line(&mut out, cause);
    let _ = out.flush();
    ExitCode::from(PluginStatus::Unknown as u8)
}

/// clap's message for a usage error, with the value it quotes as typed. clap renders its
/// message as styled text, and turning that into plain text drops every ANSI escape sequence,
/// including those in the value the user typed: `--src $'\e[2J...red'` would be reported as
/// `'red'`. So for an invalid value the first line is written here from the error's parts.
fn usage_text(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let rendered = e.render().to_string();
    let (Some(ContextValue::String(value)), Some(ContextValue::String(arg))) = (
        e.get(ContextKind::InvalidValue),
        e.get(ContextKind::InvalidArg),
    ) else {
        return rendered;
    };
    let cause = std::error::Error::source(e).map_or_else(String::new, |s| format!(": {s}"));
    let first = format!("error: invalid value '{value}' for '{arg}'{cause}");
    match rendered.split_once('\n') {
        Some((_, rest)) => format!("{first}\n{rest}"),
        None => first,
    }
}

/// A usage error found after parsing (an unknown `--user`, a threshold given twice), in
/// clap's format with the usage line of the subcommand invoked (`Usage: tcpstat list
/// [OPTIONS]`), not the top level's.
fn usage_message(args: &[OsString], message: &str) -> String {
    let mut cmd = Cli::command();
    cmd.build();
    let error = match cli::subcommand_of(args).and_then(|name| {
        cmd.find_subcommand_mut(&name)
            .map(|sub| sub.error(ErrorKind::InvalidValue, message))
    }) {
        Some(error) => error,
        None => cmd.error(ErrorKind::InvalidValue, message),
    };
    error.render().to_string()
}
