//! The `tcpstat` binary: parse, run, map the result to an exit status. Nothing else.

use std::ffi::OsString;
use std::io::{self, BufWriter, Write};
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

use std::path::Path;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use tcpstat::cli::{self, Cli};
use tcpstat::collect::users;
use tcpstat::config::{Config, Environment, Task};
use tcpstat::error::PluginStatus;
use tcpstat::render::plugin;
use tcpstat::render::text::escape_lines;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    // `check` is a monitoring plugin: its usage errors are UNKNOWN (3) with a status line,
    // not clap's 2, which a monitoring system would read as CRITICAL.
    let plugin_mode = cli::subcommand_of(&args).as_deref() == Some("check");
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        // --help and --version print our own text; let clap do it (exit 0).
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) if plugin_mode => return plugin_usage_error(&e.render().to_string()),
        // Usage errors exit 2. They quote what was typed, which may hold control characters
        // (a pasted process name): print them escaped, never raw.
        Err(e) => {
            let _ = write!(io::stderr(), "{}", escape_lines(&e.render().to_string()));
            std::process::exit(e.exit_code());
        }
    };
    let users = users::load(Path::new("/etc/passwd"));
    let config = match Config::from_cli(cli, &Environment::capture(), &|name| users.uid(name)) {
        Ok(config) => config,
        Err(message) if plugin_mode => {
            return plugin_usage_error(&format!("error: {message}"));
        }
        Err(message) => usage_error(&args, &message),
    };
    let plugin_task = matches!(config.task, Task::Check(_));
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut err = tcpstat::error::WarningStream(io::stderr());
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        tcpstat::run(&config, &mut out, &mut err)
            .and_then(|exit| out.flush().map(|()| exit).map_err(Into::into))
    }));
    let result = match outcome {
        Ok(result) => result,
        // A bug. The panic message is already on stderr (the default hook); a plugin must
        // still end with its status line, or Nagios shows "(No output returned from plugin)".
        Err(_) if plugin_task => {
            drop(out.into_parts());
            return plugin_unknown("internal error: tcpstat panicked (a bug; see stderr)");
        }
        Err(panic) => panic::resume_unwind(panic),
    };
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        // The reader went away (`tcpstat | head`): a normal end, nothing to say.
        Err(e) if e.is_broken_pipe() && !plugin_task => ExitCode::SUCCESS,
        // Ctrl-C: the terminal is already restored; the shell knows what 130 means.
        Err(e @ tcpstat::error::Error::Interrupted) => ExitCode::from(e.exit_code() as u8),
        Err(e) => {
            // Discard buffered output unflushed: a failed run must not end with half a table.
            drop(out.into_parts());
            // Paths and kernel text in errors are outside text too.
            let _ = writeln!(err, "tcpstat: {}", escape_lines(&e.report()));
            if plugin_task {
                // Every runtime error of `check` ends here, wherever it arose (finding a
                // namespace, reading the tables, writing): one UNKNOWN line on stdout.
                plugin_unknown(&e.report())
            } else {
                ExitCode::from(e.exit_code() as u8)
            }
        }
    }
}

/// `check`'s runtime error: one UNKNOWN line on stdout (the cause is on stderr too), exit 3.
fn plugin_unknown(cause: &str) -> ExitCode {
    let mut out = io::stdout();
    let _ = plugin::unknown_line(&mut out, cause);
    let _ = out.flush();
    ExitCode::from(PluginStatus::Unknown as u8)
}

/// A usage error found after parsing (an unknown `--user`, a threshold given twice): the same
/// format and exit status (2) as clap's own, with the usage line of the subcommand invoked
/// (`Usage: tcpstat list [OPTIONS]`), not the top level's.
fn usage_error(args: &[OsString], message: &str) -> ! {
    let mut cmd = Cli::command();
    cmd.build();
    if let Some(name) = cli::subcommand_of(args) {
        if let Some(sub) = cmd.find_subcommand_mut(&name) {
            sub.error(ErrorKind::InvalidValue, message).exit();
        }
    }
    cmd.error(ErrorKind::InvalidValue, message).exit()
}

/// `check`'s usage error: the whole message on stderr (escaped), one UNKNOWN line on stdout,
/// exit 3.
fn plugin_usage_error(message: &str) -> ExitCode {
    let _ = write!(io::stderr(), "{}", escape_lines(message));
    if !message.ends_with('\n') {
        let _ = writeln!(io::stderr());
    }
    let first = message
        .lines()
        .next()
        .unwrap_or("usage error")
        .trim_start_matches("error: ");
    plugin_unknown(&format!("usage error: {first}"))
}
