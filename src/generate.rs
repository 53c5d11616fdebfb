//! Files generated from the command-line definition, for packagers: shell completions and man
//! pages.
//!
//! Owns: turning [`Cli::command`] into completion scripts (bash, zsh, fish, elvish,
//! PowerShell) and roff man pages (`tcpstat.1` plus one page per visible subcommand, with the
//! sections clap cannot know: `generate/man.rs`), tcpstat-json(5) from the JSON Schemas of
//! `docs/schema/` (`generate/json_page.rs`), tcpstat-metrics(7) and the user guide's metrics
//! table from the exposition's table of metrics (`generate/metrics_page.rs`), and writing
//! them out for the hidden `tcpstat generate`. It must not define a flag (`cli` is the one
//! source of truth) and never reads the kernel.
//!
//! The same bytes are committed under `completions/` and `man/`;
//! `tests/integration/generated.rs` fails when they (or the user guide's metrics table) drift and
//! refreshes them with `TCPSTAT_UPDATE_GENERATED=1`. Output depends on
//! nothing but the definition, the crate version and the date set with it (`generate/man.rs`:
//! no day of generation, no paths), so it is reproducible.
//!
//! Hidden items (the `generate` subcommand, `--proc-root`) appear nowhere: clap_mangen skips
//! them itself, clap_complete does not (clap issues #1335 and #2541), so completions are
//! generated from [`visible_only`].
//!
//! Flag values clap_complete cannot list (`--state` and `--pid` as comma lists, running
//! processes, names under /run/netns, users in bash) are completed by functions of ours that
//! `generate/shells.rs` adds to the bash, zsh and fish scripts.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use clap::{ArgGroup, Command, CommandFactory};
use clap_complete::{Generator, Shell};

use crate::cli::{Cli, GenerateTarget};
use crate::error::Error;

mod json_page;
mod man;
mod metrics_page;
mod shells;

/// The binary's name, as completions and man pages know it.
const BIN: &str = "tcpstat";

/// The shells completions are generated for, in the order of `tcpstat generate --help`.
pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The repository directory it is committed in: `completions` or `man`.
    pub dir: &'static str,
    /// Its conventional file name: `tcpstat.bash`, `_tcpstat`, `tcpstat-watch.1`, ...
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Every generated file: five completion scripts, then the man pages.
pub fn all() -> io::Result<Vec<Generated>> {
    let mut files: Vec<Generated> = SHELLS.into_iter().map(completion).collect();
    files.extend(man_pages()?);
    Ok(files)
}

/// The completion script for `shell`, without hidden items, with our code for the flag
/// values clap_complete cannot list (`generate/shells.rs`).
pub fn completion(shell: Shell) -> Generated {
    let definition = Cli::command();
    let mut cmd = shells::with_markers(visible_only(&definition), shell);
    let mut bytes = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut bytes);
    Generated {
        dir: "completions",
        name: shell.file_name(BIN),
        bytes: shells::finish(shell, bytes, &definition),
    }
}

/// A copy of `cmd` without its hidden arguments and subcommands, recursively.
///
/// clap can neither remove an argument nor a subcommand, so the copy is re-assembled from
/// what completions and help are made of: names, visible aliases, texts, version, the visible
/// arguments (cloned whole), argument groups cut to their visible members, and the settings
/// that change parsing. Give it an unbuilt command (as [`Cli::command`] returns): building
/// the copy then propagates the global arguments and derives the `help` subcommand from the
/// visible subcommands only. A test checks that the copy's `--help` is the original's, for
/// every subcommand, so nothing visible can be lost on the way.
pub fn visible_only(cmd: &Command) -> Command {
    let visible: HashSet<&clap::Id> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .map(|a| a.get_id())
        .collect();
    let mut copy = Command::new(cmd.get_name().to_owned())
        .args(cmd.get_arguments().filter(|a| !a.is_hide_set()).cloned())
        .visible_aliases(cmd.get_visible_aliases().map(str::to_owned))
        .display_order(cmd.get_display_order())
        .args_conflicts_with_subcommands(cmd.is_args_conflicts_with_subcommands_set())
        .subcommand_required(cmd.is_subcommand_required_set())
        .subcommand_negates_reqs(cmd.is_subcommand_negates_reqs_set())
        .arg_required_else_help(cmd.is_arg_required_else_help_set())
        .disable_help_flag(cmd.is_disable_help_flag_set())
        .disable_version_flag(cmd.is_disable_version_flag_set())
        .disable_help_subcommand(cmd.is_disable_help_subcommand_set())
        .propagate_version(cmd.is_propagate_version_set())
        .flatten_help(cmd.is_flatten_help_set())
        .subcommands(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(visible_only),
        );
    if let Some(text) = cmd.get_about() {
        copy = copy.about(text.clone());
    }
    if let Some(text) = cmd.get_long_about() {
        copy = copy.long_about(text.clone());
    }
    if let Some(text) = cmd.get_before_help() {
        copy = copy.before_help(text.clone());
    }
    if let Some(text) = cmd.get_before_long_help() {
        copy = copy.before_long_help(text.clone());
    }
    if let Some(text) = cmd.get_after_help() {
        copy = copy.after_help(text.clone());
    }
    if let Some(text) = cmd.get_after_long_help() {
        copy = copy.after_long_help(text.clone());
    }
    if let Some(version) = cmd.get_version() {
        copy = copy.version(version.to_owned());
    }
    if let Some(version) = cmd.get_long_version() {
        copy = copy.long_version(version.to_owned());
    }
    if let Some(author) = cmd.get_author() {
        copy = copy.author(author.to_owned());
    }
    for group in cmd.get_groups() {
        let members: Vec<&clap::Id> = group.get_args().filter(|id| visible.contains(id)).collect();
        if !members.is_empty() {
            copy = copy.group(
                ArgGroup::new(group.get_id())
                    .args(members)
                    .multiple(group.clone().is_multiple())
                    .required(group.is_required_set()),
            );
        }
    }
    copy
}

/// Every man page: `tcpstat.1` and one page per visible subcommand (`tcpstat-summary.1`,
/// ...), as `clap_mangen::generate_to` names them, each followed by the hand-written
/// sections; then `tcpstat-json.5`, the JSON documents, and `tcpstat-metrics.7`, the
/// Prometheus metrics.
pub fn man_pages() -> io::Result<Vec<Generated>> {
    // Built once, as clap_mangen does: global arguments reach the subcommands and each
    // subcommand gets its display name (`tcpstat-watch`) and bin name (`tcpstat watch`).
    // No `help` subcommand: it has no page of its own.
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = man::command_pages(&root)?;
    pages.push(json_page::page());
    pages.push(metrics_page::page());
    Ok(pages)
}

/// The user guide's metrics table (section "### Metrics"), generated from the table the
/// Prometheus exposition is written from; `tests/integration/generated.rs` compares it with
/// docs/GUIDE.md.
pub fn readme_metrics_table() -> String {
    metrics_page::readme_table()
}

/// `tcpstat generate TARGET [--dir DIR]`: prints one file to `out`, or writes files into
/// `dir` (created if missing). `man` prints tcpstat(1); with a directory, every page.
pub fn write(target: GenerateTarget, dir: Option<&Path>, out: &mut dyn Write) -> Result<(), Error> {
    let shell = match target {
        GenerateTarget::Bash => Some(Shell::Bash),
        GenerateTarget::Zsh => Some(Shell::Zsh),
        GenerateTarget::Fish => Some(Shell::Fish),
        GenerateTarget::Elvish => Some(Shell::Elvish),
        GenerateTarget::Powershell => Some(Shell::PowerShell),
        GenerateTarget::Man => None,
    };
    let mut files = match shell {
        Some(shell) => vec![completion(shell)],
        None => man_pages()?,
    };
    let Some(dir) = dir else {
        // tcpstat(1) comes first.
        files.truncate(1);
        for file in &files {
            out.write_all(&file.bytes)?;
        }
        out.flush()?;
        return Ok(());
    };
    let error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::WriteFile { path, source }
    };
    fs::create_dir_all(dir).map_err(error(dir))?;
    for file in &files {
        let path = dir.join(&file.name);
        fs::write(&path, &file.bytes).map_err(error(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `--help` of `cmd` and its visible subcommands, by command path.
    fn helps(cmd: &mut Command, path: String, out: &mut Vec<(String, String)>) {
        out.push((path.clone(), cmd.render_long_help().to_string()));
        for sub in cmd.get_subcommands_mut().filter(|s| !s.is_hide_set()) {
            let name = format!("{path} {}", sub.get_name());
            helps(sub, name, out);
        }
    }

    #[test]
    fn the_visible_copy_has_the_same_help_everywhere() {
        let mut full = Cli::command();
        full.build();
        let mut copy = visible_only(&Cli::command());
        copy.build();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        helps(&mut full, BIN.into(), &mut a);
        helps(&mut copy, BIN.into(), &mut b);
        assert!(a.len() > 6, "every subcommand was visited: {}", a.len());
        assert_eq!(a, b);
        visible_only(&Cli::command()).debug_assert();
    }

    #[test]
    fn the_visible_copy_drops_hidden_items() {
        let mut copy = visible_only(&Cli::command());
        copy.build();
        assert!(copy.find_subcommand("generate").is_none());
        assert!(copy.find_subcommand("summary").is_some());
        let longs: Vec<&str> = copy.get_arguments().filter_map(|a| a.get_long()).collect();
        assert!(
            longs.contains(&"source") && !longs.contains(&"proc-root"),
            "{longs:?}"
        );
        let watch = copy.find_subcommand("watch").expect("watch");
        assert!(
            watch
                .get_arguments()
                .all(|a| a.get_long() != Some("proc-root")),
            "a global hidden flag does not reach the subcommands either"
        );
        // And the reason this exists: clap_complete writes hidden items of the full command.
        let mut bytes = Vec::new();
        clap_complete::generate(Shell::Bash, &mut Cli::command(), BIN, &mut bytes);
        let text = String::from_utf8(bytes).expect("utf-8");
        assert!(text.contains("proc-root") && text.contains("generate"));
    }

    #[test]
    fn pages_are_named_like_clap_mangen_names_them() {
        let names: Vec<String> = man_pages()
            .expect("renders")
            .into_iter()
            .map(|g| g.name)
            .collect();
        assert_eq!(
            names,
            [
                "tcpstat.1",
                "tcpstat-summary.1",
                "tcpstat-ports.1",
                "tcpstat-procs.1",
                "tcpstat-workloads.1",
                "tcpstat-health.1",
                "tcpstat-list.1",
                "tcpstat-watch.1",
                "tcpstat-doctor.1",
                "tcpstat-check.1",
                "tcpstat-serve.1",
                "tcpstat-record.1",
                "tcpstat-history.1",
                "tcpstat-json.5",
                "tcpstat-metrics.7",
            ]
        );
    }
}
