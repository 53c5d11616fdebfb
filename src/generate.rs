//! Files generated from the command-line definition, for packagers: shell completions and man
//! pages.
//!
//! Owns: turning [`Cli::command`] into completion scripts (bash, zsh, fish, elvish,
//! PowerShell) and roff man pages (`tcpstat.1` plus one page per visible subcommand), the man
//! sections clap cannot know (STATE NAMES, EXAMPLES, EXIT STATUS, ENVIRONMENT, FILES, SEE
//! ALSO), and writing them out for the hidden `tcpstat generate`. It must not define a flag
//! (`cli` is the one source of truth) and never reads the kernel.
//!
//! The same bytes are committed under `completions/` and `man/`; `tests/generated.rs` fails
//! when they drift and refreshes them with `TCPSTAT_UPDATE_GENERATED=1`. Output depends on
//! nothing but the definition and the crate version (no dates, no paths), so it is
//! reproducible.
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
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

use crate::cli::{Cli, GenerateTarget, STATE_NAMES_HELP, WATCH_TRACKING_HELP};
use crate::error::Error;

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

/// `tcpstat.1` and one page per visible subcommand (`tcpstat-summary.1`, ...), as
/// `clap_mangen::generate_to` names them, each followed by the hand-written sections.
pub fn man_pages() -> io::Result<Vec<Generated>> {
    // Built once, as clap_mangen does: global arguments reach the subcommands and each
    // subcommand gets its display name (`tcpstat-watch`) and bin name (`tcpstat watch`).
    // No `help` subcommand: it has no page of its own.
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = vec![man_page(&root, None)?];
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(man_page(sub, Some(sub.get_name()))?);
    }
    Ok(pages)
}

/// One page: clap_mangen's NAME, SYNOPSIS, DESCRIPTION, OPTIONS (and SUBCOMMANDS), then ours.
fn man_page(cmd: &Command, subcommand: Option<&str>) -> io::Result<Generated> {
    let title = cmd.get_display_name().unwrap_or(BIN).to_owned();
    // The `--help` epilogue would come out as a section called EXTRA, and the version as a
    // VERSION section before ours: both are replaced by the sections below and the version
    // in the page footer (`.TH`'s source field).
    let bare = cmd.clone().after_help(None).version(None);
    let man = Man::new(bare)
        .title(title.to_uppercase())
        // No date, so the page does not change with the day it was generated. clap_mangen
        // writes an empty date as nothing, which shifts the source and manual into its place
        // in `.TH`; `""` is roff's empty argument.
        .date("\"\"")
        .source(format!("{BIN} {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands");
    let mut bytes = Vec::new();
    man.render(&mut bytes)?;
    // `Roff::to_writer` starts every document with the same two-line preamble (the
    // apostrophe string `\*(Aq`); the page already has it once.
    let preamble = Roff::default().render();
    let sections = extra_sections(subcommand).render();
    bytes.extend_from_slice(
        sections
            .strip_prefix(preamble.as_str())
            .unwrap_or(&sections)
            .as_bytes(),
    );
    Ok(Generated {
        dir: "man",
        name: format!("{title}.1"),
        bytes,
    })
}

/// An example of the EXAMPLES sections.
struct Example {
    /// The subcommand whose page shows it (every example is on tcpstat(1)).
    subcommand: &'static str,
    about: &'static str,
    /// Shell lines, shown verbatim.
    lines: &'static [&'static str],
}

const EXAMPLES: &[Example] = &[
    Example {
        subcommand: "summary",
        about: "How many sockets a server has in each state (summary is the default command):",
        lines: &["tcpstat"],
    },
    Example {
        subcommand: "summary",
        about: "Only the states that pile up when something is wrong, for one service:",
        lines: &["tcpstat summary --state close-wait,time-wait --port 443"],
    },
    Example {
        subcommand: "ports",
        about: "Which service has the CLOSE_WAITs:",
        lines: &["tcpstat ports --state close-wait"],
    },
    Example {
        subcommand: "procs",
        about: "Which process holds them (run as root to see every owner):",
        lines: &["tcpstat procs --state close-wait"],
    },
    Example {
        subcommand: "list",
        about: "Every such socket, with its owner and timer:",
        lines: &["tcpstat list -p -o --state close-wait"],
    },
    Example {
        subcommand: "watch",
        about: "Watch a CLOSE_WAIT leak live: counts, changes, top processes, and how long \
                sockets have been stuck; only those stuck 5 minutes or more:",
        lines: &["tcpstat watch --state close-wait --by process --older-than 5m"],
    },
    Example {
        subcommand: "watch",
        about: "Ten ticks as NDJSON, one object per tick, read live:",
        lines: &["tcpstat watch --count 10 --json | jq -c .states"],
    },
    Example {
        subcommand: "summary",
        about: "Every container at once: one row per network namespace (as root):",
        lines: &["tcpstat summary --all-netns"],
    },
    Example {
        subcommand: "procs",
        about: "Which process, in which container, holds the CLOSE_WAITs:",
        lines: &["tcpstat procs --all-netns --state close-wait"],
    },
    Example {
        subcommand: "ports",
        about: "One container, by the pid of its main process, or one ip-netns namespace:",
        lines: &[
            "tcpstat ports --netns-pid \"$(docker inspect -f '{{.State.Pid}}' web)\"",
            "tcpstat list -p --netns blue",
        ],
    },
    Example {
        subcommand: "summary",
        about: "JSON into jq (the schema is in the README and docs/schema/, and carries \
                schema_version):",
        lines: &[
            "tcpstat --json | jq .states.CLOSE_WAIT",
            "tcpstat list --ndjson --state established |",
            "    jq -r 'select(.type == \"socket\") | .remote_address' | sort | uniq -c | sort -rn",
        ],
    },
    Example {
        subcommand: "doctor",
        about: "What is wrong and who is causing it: CLOSE_WAIT leaks per process, full accept \
                queues, SYN floods, TIME_WAIT and ephemeral-port pressure, stuck closes:",
        lines: &[
            "tcpstat doctor",
            "tcpstat doctor --threshold CLOSE_WAIT=100 --json |",
            "    jq -r '.findings[] | select(.severity != \"ok\") | .summary'",
        ],
    },
    Example {
        subcommand: "check",
        about: "A Nagios/Icinga plugin: warning at 100 CLOSE_WAIT sockets, critical at 500 or \
                at 50 on port 8080, with performance data:",
        lines: &[
            "tcpstat check --warn CLOSE_WAIT=100 --crit CLOSE_WAIT=500 --crit CLOSE_WAIT:8080=50",
        ],
    },
    Example {
        subcommand: "summary",
        about: "Prometheus, through node_exporter's textfile collector (from cron):",
        lines: &[
            "d=/var/lib/node_exporter/textfile",
            "tcpstat summary --format prometheus > $d/tcpstat.prom.tmp &&",
            "    mv $d/tcpstat.prom.tmp $d/tcpstat.prom",
        ],
    },
    Example {
        subcommand: "serve",
        about: "Prometheus, scraping tcpstat directly (loopback unless told otherwise):",
        lines: &["tcpstat serve --listen 0.0.0.0:9555 --processes"],
    },
];

/// The NETWORK NAMESPACES section of tcpstat(1).
const NETNS_NOTES: &[&str] = &[
    "--netns NAME reads a namespace named under /run/netns, --netns PATH one given by a \
     namespace file (/proc/PID/ns/net, a bind mount), --netns-pid PID the namespace of a \
     process, such as a container's main process. --all-netns reads every namespace of the \
     host, those named under /run/netns and those of every process, each once: tables get a \
     NETNS column and JSON a netns key, labelled with the /run/netns name, else \
     ns:[INODE] (COMMAND) after a process in it.",
    "sock_diag answers for the namespace its socket was created in, so tcpstat creates it \
     inside the namespace, on a thread that enters it with setns(2). That needs \
     CAP_SYS_ADMIN (root); without it, tcpstat stops with a message naming the namespace \
     (--all-netns: when it can enter none but its own; a namespace it cannot enter is \
     otherwise skipped and reported). --source proc with --netns-pid reads \
     /proc/PID/net/tcp{,6} and enters nothing.",
    "Owners are found in every process of the host: a socket inode is unique on the host, \
     so a socket held by a process of another namespace is still attributed to it.",
];

/// The sections after clap's: everything on tcpstat(1), a subset on a subcommand's page.
fn extra_sections(subcommand: Option<&str>) -> Roff {
    let mut roff = Roff::default();
    heading(&mut roff, "STATE NAMES");
    roff.text([roman(reflow(STATE_NAMES_HELP))]);

    let examples: Vec<&Example> = EXAMPLES
        .iter()
        .filter(|e| subcommand.is_none_or(|s| s == e.subcommand))
        .collect();
    if !examples.is_empty() {
        heading(&mut roff, "EXAMPLES");
        for example in examples {
            roff.control("PP", []);
            roff.text([roman(example.about)]);
            roff.control("PP", []);
            roff.control("RS", ["4"]);
            roff.control("nf", []);
            for line in example.lines {
                roff.text([roman(*line)]);
            }
            roff.control("fi", []);
            roff.control("RE", []);
        }
    }

    if subcommand == Some("watch") {
        heading(&mut roff, "NOTES");
        roff.text([roman(reflow(WATCH_TRACKING_HELP))]);
    }

    heading(&mut roff, "EXIT STATUS");
    let watch = subcommand == Some("watch");
    let mut status = vec![
        (
            "0",
            if watch {
                "After --count ticks, or when the reader closes the pipe."
            } else if subcommand == Some("serve") {
                "Stopped by SIGTERM (a service manager's normal stop, as systemctl stop)."
            } else if subcommand == Some("doctor") {
                "No finding above info."
            } else {
                "Success; also when the reader closes the pipe early (tcpstat list | head)."
            },
        ),
        (
            "1",
            if watch {
                "Collection failed three ticks in a row and for at least 3 seconds (a failure \
                 is shown and retried), or output failed. One line, tcpstat: CAUSE, on \
                 standard error."
            } else if subcommand == Some("serve") {
                "The address could not be listened on (in use, not local). One line, \
                 tcpstat: CAUSE, on standard error."
            } else {
                "A runtime error: the socket tables could not be read, a network namespace \
                 could not be found or entered, or output failed. One line, tcpstat: CAUSE, on \
                 standard error, and nothing on standard output."
            },
        ),
        (
            "2",
            "A usage error: an unknown flag or state name, an invalid value (port 70000, a bad \
             CIDR, an unknown user). The message names the bad value.",
        ),
    ];
    if subcommand.is_none() || subcommand == Some("doctor") {
        status.push(("3", "doctor: the worst finding is a warning."));
        status.push(("4", "doctor: the worst finding is critical."));
    }
    if subcommand == Some("check") {
        // A monitoring plugin: every outcome, errors included, is one of the four codes.
        status = vec![
            ("0", "OK: no threshold crossed."),
            ("1", "WARNING: a --warn range alerts, no --crit range does."),
            ("2", "CRITICAL: a --crit range alerts."),
            (
                "3",
                "UNKNOWN: a threshold names only states that cannot be counted, --pid or \
                 --process match no running process, or a usage or runtime error happened; a \
                 TCPSTAT UNKNOWN line on standard output says which.",
            ),
        ];
    }
    if subcommand.is_none() || watch || subcommand == Some("serve") {
        status.push((
            "130",
            if watch {
                "Stopped by Ctrl-C (SIGINT), SIGTERM or SIGHUP; the terminal is restored first."
            } else if subcommand == Some("serve") {
                "Stopped by Ctrl-C (SIGINT) or SIGHUP."
            } else {
                "watch was stopped by Ctrl-C (SIGINT), SIGTERM or SIGHUP (the terminal is \
                 restored first); serve by Ctrl-C or SIGHUP (SIGTERM stops serve with 0)."
            },
        ));
    }
    if subcommand.is_none() {
        status.push((
            "check",
            "follows the monitoring-plugin convention instead: 0 OK, 1 WARNING, 2 CRITICAL, \
             3 UNKNOWN (usage and runtime errors included).",
        ));
    }
    for (code, meaning) in status {
        roff.control("TP", []);
        roff.text([bold(code)]);
        roff.text([roman(meaning)]);
    }
    roff.control("PP", []);
    roff.text([roman(
        "Warnings (a fallback to /proc, malformed /proc lines, processes that could not be \
         read) go to standard error as tcpstat: warning: ... and do not change the exit status; \
         JSON carries them in warnings and complete.",
    )]);

    if subcommand.is_none() {
        heading(&mut roff, "NETWORK NAMESPACES");
        for paragraph in NETNS_NOTES {
            roff.control("PP", []);
            roff.text([roman(*paragraph)]);
        }

        heading(&mut roff, "ENVIRONMENT");
        for (name, meaning) in [
            (
                "NO_COLOR",
                "When set and not empty, --color auto does not colour (no-color.org). \
                 --color always wins over it. JSON is never coloured.",
            ),
            ("TERM", "When dumb, --color auto does not colour."),
            (
                "COLUMNS, LINES",
                "The size of the watch screen when the terminal does not report one (its own \
                 size wins, and follows resizes). Tables and lists are never cut to a width: \
                 an address is never truncated.",
            ),
        ] {
            roff.control("TP", []);
            roff.text([bold(name)]);
            roff.text([roman(meaning)]);
        }

        heading(&mut roff, "FILES");
        for (path, meaning) in [
            (
                "/proc/net/tcp, /proc/net/tcp6",
                "The socket tables of the /proc source (--source proc, and the fallback when \
                 sock_diag netlink cannot be used). They never list bound-only (CLOSED) \
                 sockets.",
            ),
            (
                "/proc/PID/fd/",
                "Read to find which processes own which sockets (procs, list -p, --pid, \
                 --process, watch --by process); other users' processes need root.",
            ),
            ("/proc/PID/comm", "The command names of owners."),
            (
                "/proc/sys/kernel/hostname",
                "The host name shown with the numbers.",
            ),
            (
                "/run/netns/",
                "Named network namespaces, as ip netns names them (--netns NAME, --all-netns).",
            ),
            (
                "/proc/PID/ns/net",
                "The network namespace of a process (--netns-pid, --all-netns).",
            ),
            (
                "/proc/PID/net/tcp, /proc/PID/net/tcp6",
                "The socket tables of a process's namespace, read by --source proc without \
                 entering it.",
            ),
            ("/etc/passwd", "User names (--user, the USER columns), through the C library's user database (NSS): LDAP, SSSD and systemd-homed users have names too."),
        ] {
            roff.control("TP", []);
            roff.text([italic(path)]);
            roff.text([roman(meaning)]);
        }
    }

    heading(&mut roff, "SEE ALSO");
    let mut see_also: Vec<String> = Vec::new();
    if subcommand.is_some() {
        see_also.push(format!("{BIN}(1)"));
    }
    see_also.extend(
        [
            "ss(8)",
            "netstat(8)",
            "ip-netns(8)",
            "tcp(7)",
            "sock_diag(7)",
            "proc(5)",
        ]
        .map(String::from),
    );
    let mut refs = Vec::new();
    for (i, name) in see_also.iter().enumerate() {
        let (page, section) = name.split_once('(').unwrap_or((name, ""));
        if i > 0 {
            refs.push(roman(", "));
        }
        refs.push(bold(page));
        refs.push(roman(format!("({section}")));
    }
    roff.text(refs);
    roff
}

/// `--help` text is wrapped for a terminal; groff fills paragraphs itself.
fn reflow(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn heading(roff: &mut Roff, name: &str) {
    roff.control("SH", [name]);
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
                "tcpstat-list.1",
                "tcpstat-watch.1",
                "tcpstat-doctor.1",
                "tcpstat-check.1",
                "tcpstat-serve.1"
            ]
        );
    }
}
