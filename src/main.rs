//! The `tcpstat` binary: parse, run, map the result to an exit status. Nothing else.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use std::path::Path;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use tcpstat::cli::Cli;
use tcpstat::collect::users::Users;
use tcpstat::config::{Config, Environment};
use tcpstat::render::text::escape_lines;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print our own text; let clap do it (exit 0).
        Err(e) if !e.use_stderr() => e.exit(),
        // Usage errors exit 2. They quote what was typed, which may hold control characters
        // (a pasted process name): print them escaped, never raw.
        Err(e) => {
            let _ = write!(io::stderr(), "{}", escape_lines(&e.render().to_string()));
            std::process::exit(e.exit_code());
        }
    };
    let users = Users::load(Path::new("/etc/passwd"));
    let config = match Config::from_cli(cli, &Environment::capture(), &|name| users.uid(name)) {
        Ok(config) => config,
        // Same format and exit status (2) as clap's own usage errors.
        Err(message) => Cli::command()
            .error(ErrorKind::InvalidValue, message)
            .exit(),
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut err = io::stderr();
    let result =
        tcpstat::run(&config, &mut out, &mut err).and_then(|()| out.flush().map_err(Into::into));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`tcpstat | head`): a normal end, nothing to say.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        // Ctrl-C: the terminal is already restored; the shell knows what 130 means.
        Err(e @ tcpstat::error::Error::Interrupted) => ExitCode::from(e.exit_code() as u8),
        Err(e) => {
            // Discard buffered output unflushed: a failed run must not end with half a table.
            drop(out.into_parts());
            // Paths and kernel text in errors are outside text too.
            let _ = writeln!(err, "tcpstat: {}", escape_lines(&e.to_string()));
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
