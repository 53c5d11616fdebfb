//! The man pages of the commands: `tcpstat.1` and one page per visible subcommand. clap_mangen
//! writes NAME, SYNOPSIS, DESCRIPTION and OPTIONS (and SUBCOMMANDS) from the definition;
//! this module tidies its roff and adds what clap cannot know: STATE NAMES, EXAMPLES, NOTES,
//! EXIT STATUS, NETWORK NAMESPACES, ENVIRONMENT, FILES and SEE ALSO, each on the pages it
//! concerns.
//!
//! Every page lints clean with `mandoc -Tlint` and `groff -ww`, and renders within 80
//! columns (`tests/integration/generated.rs`).

use std::io;

use clap::Command;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;

use super::{Generated, BIN};
use crate::cli::{STATE_NAMES_HELP, WATCH_TRACKING_HELP};

/// The date in every page's `.TH` line: the date of the release the pages describe, set with
/// the version it belongs to (a test fails when the crate version changes without it). Not
/// the day the pages are generated (the committed pages must not change with the day, and
/// `tcpstat generate man` must print the committed bytes), not SOURCE_DATE_EPOCH (the
/// packaged pages would differ from the committed ones), not a git date (a crate tarball
/// has no git).
pub(super) const DATE: (&str, &str) = ("0.1.0", "2026-12-05");

/// A roff document written one part at a time, that knows when a paragraph macro is due: not
/// right after a section heading (mandoc: "skipping paragraph macro: PP after SH").
pub(super) struct Page {
    roff: Roff,
    /// Nothing written since the last heading.
    fresh: bool,
}

impl Page {
    pub(super) fn new() -> Page {
        Page {
            roff: Roff::default(),
            fresh: true,
        }
    }

    /// The `.TH` line of a page of our own (clap_mangen writes its pages' own).
    pub(super) fn title(&mut self, name: &str, section: &str, manual: &str) {
        let source = format!("{BIN} {}", env!("CARGO_PKG_VERSION"));
        self.roff
            .control("TH", [name, section, DATE.1, source.as_str(), manual]);
    }

    pub(super) fn heading(&mut self, name: &str) {
        self.roff.control("SH", [name]);
        self.fresh = true;
    }

    pub(super) fn subheading(&mut self, name: &str) {
        self.roff.control("SS", [name]);
        self.fresh = true;
    }

    /// A paragraph: `.PP` unless it opens a section.
    pub(super) fn paragraph(&mut self, text: impl Into<Vec<Inline>>) {
        if !self.fresh {
            self.roff.control("PP", []);
        }
        self.roff.text(text);
        self.fresh = false;
    }

    /// A tagged paragraph (`.TP`): `tag` on its line, `text` indented below or beside it.
    pub(super) fn tagged(&mut self, tag: impl Into<Vec<Inline>>, text: impl Into<Vec<Inline>>) {
        self.roff.control("TP", []);
        self.roff.text(tag);
        self.roff.text(text);
        self.fresh = false;
    }

    /// A tagged paragraph whose text is several lines, each starting on a line of its own.
    pub(super) fn tagged_lines(&mut self, tag: impl Into<Vec<Inline>>, lines: Vec<Vec<Inline>>) {
        self.roff.control("TP", []);
        self.roff.text(tag);
        for (i, line) in lines.into_iter().enumerate() {
            if i > 0 {
                self.roff.control("br", []);
            }
            self.roff.text(line);
        }
        self.fresh = false;
    }

    /// Lines shown as they are, indented (shell commands).
    pub(super) fn verbatim(&mut self, lines: &[&str]) {
        if !self.fresh {
            self.roff.control("PP", []);
        }
        self.roff.control("RS", ["4"]);
        self.roff.control("nf", []);
        for line in lines {
            self.roff.text([roman(*line)]);
        }
        self.roff.control("fi", []);
        self.roff.control("RE", []);
        self.fresh = false;
    }

    /// `page(section), page(section), ...` in bold and roman, as SEE ALSO lists them.
    pub(super) fn references(&mut self, pages: &[&str]) {
        let mut refs = Vec::new();
        for (i, name) in pages.iter().enumerate() {
            let (page, section) = name.split_once('(').unwrap_or((name, ""));
            if i > 0 {
                refs.push(roman(", "));
            }
            refs.push(bold(page));
            refs.push(roman(format!("({section}")));
        }
        self.paragraph(refs);
    }

    /// The roff text, with the apostrophe preamble `Roff` starts every document with.
    pub(super) fn render(&self) -> String {
        self.roff.render()
    }
}

/// `tcpstat.1` and one page per visible subcommand (`tcpstat-summary.1`, ...), as
/// `clap_mangen::generate_to` names them.
pub(super) fn command_pages(root: &Command) -> io::Result<Vec<Generated>> {
    let mut pages = vec![command_page(root, None)?];
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(command_page(sub, Some(sub.get_name()))?);
    }
    Ok(pages)
}

/// One page: clap_mangen's NAME, SYNOPSIS, DESCRIPTION, OPTIONS (and SUBCOMMANDS), tidied,
/// then ours.
fn command_page(cmd: &Command, subcommand: Option<&str>) -> io::Result<Generated> {
    let title = cmd.get_display_name().unwrap_or(BIN).to_owned();
    // The `--help` epilogue would come out as a section called EXTRA, and the version as a
    // VERSION section before ours: both are replaced by the sections below and the version
    // in the page footer (`.TH`'s source field).
    let bare = cmd.clone().after_help(None).version(None);
    let man = Man::new(bare)
        .title(title.to_uppercase())
        .date(DATE.1)
        .source(format!("{BIN} {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands");
    let mut bytes = Vec::new();
    man.render(&mut bytes)?;
    let mut text = tidy(&String::from_utf8(bytes).expect("clap_mangen writes UTF-8"));
    // `Roff::render` starts every document with the same two-line preamble (the apostrophe
    // string `\*(Aq`); the page already has it once.
    let preamble = Roff::default().render();
    let sections = sections(subcommand).render();
    text.push_str(
        sections
            .strip_prefix(preamble.as_str())
            .unwrap_or(&sections),
    );
    Ok(Generated {
        dir: "man",
        name: format!("{title}.1"),
        bytes: text.into_bytes(),
    })
}

/// clap_mangen's roff, made lint-clean and rid of Markdown:
/// - between an option's help and its "Possible values" it writes `.br`, an empty line and
///   `.br` (mandoc: "skipping paragraph macro: br before sp", "br after sp"): one `.sp`;
/// - help texts mark literal words with backticks, Markdown style (`--state close-wait`),
///   which roff would print as they are: bold instead.
fn tidy(roff: &str) -> String {
    let roff = roff.replace("\n.br\n\n.br\n", "\n.sp\n");
    let mut out = String::with_capacity(roff.len());
    for line in roff.lines() {
        if line.starts_with(['.', '\'']) {
            out.push_str(line);
        } else {
            out.push_str(&code_spans(line));
        }
        out.push('\n');
    }
    out
}

/// `` `x` `` as bold `x`, on one line of roff text. An unpaired backtick is left as it is.
fn code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut rest = line;
    while let Some(open) = rest.find('`') {
        let Some(len) = rest[open + 1..].find('`') else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str("\\fB");
        out.push_str(&rest[open + 1..open + 1 + len]);
        out.push_str("\\fR");
        rest = &rest[open + 1 + len + 1..];
    }
    out.push_str(rest);
    out
}

/// `--help` text is wrapped for a terminal; roff fills paragraphs itself.
fn reflow(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An example of the EXAMPLES sections.
struct Example {
    /// The subcommand whose page shows it (every example is on tcpstat(1)).
    subcommand: &'static str,
    about: &'static str,
    /// Shell lines, shown verbatim; at most 69 columns (80, less the section indentation
    /// and the examples' own).
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
        about: "JSON into jq (tcpstat-json(5) describes every document; each carries \
                schema_version):",
        lines: &[
            "tcpstat --json | jq .states.CLOSE_WAIT",
            "tcpstat list --ndjson --state established |",
            "    jq -r 'select(.type == \"socket\") | .remote_address' |",
            "    sort | uniq -c | sort -rn",
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
            "tcpstat check --warn CLOSE_WAIT=100 --crit CLOSE_WAIT=500 \\",
            "    --crit CLOSE_WAIT:8080=50",
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

/// Which pages an entry of ENVIRONMENT or FILES is on: tcpstat(1) has every entry.
#[derive(Debug, Clone, Copy)]
enum On {
    Every,
    Only(&'static [&'static str]),
}

impl On {
    fn includes(self, subcommand: Option<&str>) -> bool {
        match (self, subcommand) {
            (On::Every, _) | (_, None) => true,
            (On::Only(pages), Some(sub)) => pages.contains(&sub),
        }
    }
}

/// The subcommands that colour their tables.
const COLOURED: On = On::Only(&["summary", "ports", "procs", "doctor"]);

/// ENVIRONMENT: what each variable changes.
const ENVIRONMENT: &[(&str, On, &str)] = &[
    (
        "NO_COLOR",
        COLOURED,
        "When set and not empty, --color auto does not colour (no-color.org). --color always \
         wins over it. JSON is never coloured.",
    ),
    ("TERM", COLOURED, "When dumb, --color auto does not colour."),
    (
        "COLUMNS, LINES",
        On::Only(&["watch"]),
        "The size of the watch screen when the terminal does not report one (its own size \
         wins, and follows resizes). Tables and lists are never cut to a width: an address is \
         never truncated.",
    ),
    (
        "MALLOC_ARENA_MAX",
        On::Only(&["serve"]),
        "serve caps the GNU C library's allocator at one arena, which keeps its memory flat \
         over many scrapes, unless this variable says otherwise.",
    ),
];

/// FILES: what tcpstat reads, and for what.
const FILES: &[(&str, On, &str)] = &[
    (
        "/proc/net/tcp, /proc/net/tcp6",
        On::Every,
        "The socket tables of the /proc source (--source proc, and the fallback when sock_diag \
         netlink cannot be used). They never list bound-only (CLOSED) sockets.",
    ),
    (
        "/proc/PID/fd/",
        On::Every,
        "Read to find which processes own which sockets (procs, list -p, --pid, --process, \
         watch --by process, doctor, serve --processes); other users' processes need root.",
    ),
    ("/proc/PID/comm", On::Every, "The command names of owners."),
    (
        "/proc/sys/kernel/hostname",
        On::Only(&["summary", "ports", "procs", "list", "watch", "doctor"]),
        "The host name shown with the numbers.",
    ),
    (
        "/proc/sys/net/ipv4/ip_local_port_range",
        On::Only(&["ports", "watch", "doctor", "serve"]),
        "The ephemeral ports: which side of a connection is the service (ports, watch --by \
         port, serve), and what ephemeral-port pressure is measured against (doctor).",
    ),
    (
        "/proc/sys/net/, /proc/net/netstat, /proc/net/sockstat",
        On::Only(&["doctor"]),
        "The kernel's TCP settings (tcp_max_tw_buckets, tcp_max_orphans, tcp_mem, somaxconn, \
         ...), its counters and its socket totals, which findings are measured against and \
         cite.",
    ),
    (
        "/run/netns/",
        On::Every,
        "Named network namespaces, as ip netns names them (--netns NAME, --all-netns).",
    ),
    (
        "/proc/PID/ns/net",
        On::Every,
        "The network namespace of a process (--netns-pid, --all-netns).",
    ),
    (
        "/proc/PID/net/tcp, /proc/PID/net/tcp6",
        On::Every,
        "The socket tables of a process's namespace, read by --source proc without entering \
         it.",
    ),
    (
        "/etc/passwd",
        On::Every,
        "User names (--user, the USER columns), through the C library's user database (NSS): \
         LDAP, SSSD and systemd-homed users have names too.",
    ),
];

/// The sections after clap's: everything on tcpstat(1), what concerns it on a subcommand's
/// page.
fn sections(subcommand: Option<&str>) -> Page {
    let mut page = Page::new();
    page.heading("STATE NAMES");
    page.paragraph([roman(reflow(STATE_NAMES_HELP))]);
    examples(&mut page, subcommand);
    if subcommand == Some("watch") {
        page.heading("NOTES");
        page.paragraph([roman(reflow(WATCH_TRACKING_HELP))]);
    }
    exit_status(&mut page, subcommand);
    if subcommand.is_none() {
        page.heading("NETWORK NAMESPACES");
        for paragraph in NETNS_NOTES {
            page.paragraph([roman(*paragraph)]);
        }
    }
    environment(&mut page, subcommand);
    files(&mut page, subcommand);
    see_also(&mut page, subcommand);
    page
}

fn examples(page: &mut Page, subcommand: Option<&str>) {
    let examples: Vec<&Example> = EXAMPLES
        .iter()
        .filter(|e| subcommand.is_none_or(|s| s == e.subcommand))
        .collect();
    if examples.is_empty() {
        return;
    }
    page.heading("EXAMPLES");
    for example in examples {
        page.paragraph([roman(example.about)]);
        page.verbatim(example.lines);
    }
}

/// What each exit status means on a page. `check` follows the monitoring-plugin convention,
/// every outcome one of its four codes; the others share 0, 1 and 2 and add their own.
fn exit_codes(subcommand: Option<&str>) -> Vec<(&'static str, &'static str)> {
    if subcommand == Some("check") {
        return vec![
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
    let success = match subcommand {
        Some("watch") => "After --count ticks, or when the reader closes the pipe.",
        Some("serve") => "Stopped by SIGTERM (a service manager's normal stop, as systemctl stop).",
        Some("doctor") => "No finding above info.",
        _ => "Success; also when the reader closes the pipe early (tcpstat list | head).",
    };
    let failure = match subcommand {
        Some("watch") => {
            "Collection failed three ticks in a row and for at least 3 seconds (a failure is \
             shown and retried), or output failed. One line, tcpstat: CAUSE, on standard error."
        }
        Some("serve") => {
            "The address could not be listened on (in use, not local). One line, tcpstat: \
             CAUSE, on standard error."
        }
        _ => {
            "A runtime error: the socket tables could not be read, a network namespace could \
             not be found or entered, or output failed. One line, tcpstat: CAUSE, on standard \
             error, and nothing on standard output."
        }
    };
    let mut codes = vec![
        ("0", success),
        ("1", failure),
        (
            "2",
            "A usage error: an unknown flag or state name, an invalid value (port 70000, a bad \
             CIDR, an unknown user). The message names the bad value.",
        ),
    ];
    if matches!(subcommand, None | Some("doctor")) {
        codes.push(("3", "doctor: the worst finding is a warning."));
        codes.push(("4", "doctor: the worst finding is critical."));
    }
    let interrupted = match subcommand {
        None => Some(
            "watch was stopped by Ctrl-C (SIGINT), SIGTERM or SIGHUP (the terminal is restored \
             first); serve by Ctrl-C or SIGHUP (SIGTERM stops serve with 0).",
        ),
        Some("watch") => {
            Some("Stopped by Ctrl-C (SIGINT), SIGTERM or SIGHUP; the terminal is restored first.")
        }
        Some("serve") => Some("Stopped by Ctrl-C (SIGINT) or SIGHUP."),
        Some(_) => None,
    };
    codes.extend(interrupted.map(|text| ("130", text)));
    if subcommand.is_none() {
        codes.push((
            "check",
            "follows the monitoring-plugin convention instead: 0 OK, 1 WARNING, 2 CRITICAL, \
             3 UNKNOWN (usage and runtime errors included).",
        ));
    }
    codes
}

fn exit_status(page: &mut Page, subcommand: Option<&str>) {
    page.heading("EXIT STATUS");
    for (code, meaning) in exit_codes(subcommand) {
        page.tagged([bold(code)], [roman(meaning)]);
    }
    page.paragraph([roman(
        "Warnings (a fallback to /proc, malformed /proc lines, processes that could not be \
         read) go to standard error as tcpstat: warning: ... and do not change the exit status; \
         JSON carries them in warnings and complete.",
    )]);
}

fn environment(page: &mut Page, subcommand: Option<&str>) {
    page.heading("ENVIRONMENT");
    let entries: Vec<_> = ENVIRONMENT
        .iter()
        .filter(|(_, on, _)| on.includes(subcommand))
        .collect();
    if entries.is_empty() {
        let command = subcommand.map_or(BIN.to_owned(), |s| format!("{BIN} {s}"));
        page.paragraph([roman(format!(
            "No environment variable changes what {command} does: its output is never \
             coloured, whatever NO_COLOR, TERM and --color say."
        ))]);
    }
    for (name, _, meaning) in entries {
        page.tagged([bold(*name)], [roman(*meaning)]);
    }
}

fn files(page: &mut Page, subcommand: Option<&str>) {
    page.heading("FILES");
    for (path, _, meaning) in FILES.iter().filter(|(_, on, _)| on.includes(subcommand)) {
        page.tagged([italic(*path)], [roman(*meaning)]);
    }
}

fn see_also(page: &mut Page, subcommand: Option<&str>) {
    page.heading("SEE ALSO");
    let mut pages: Vec<&str> = Vec::new();
    if subcommand.is_some() {
        pages.push("tcpstat(1)");
    }
    if subcommand.is_none_or(|s| !matches!(s, "check" | "serve")) {
        pages.push("tcpstat-json(5)");
    }
    if matches!(
        subcommand,
        None | Some("summary" | "ports" | "procs" | "serve")
    ) {
        pages.push("tcpstat-metrics(7)");
    }
    pages.extend([
        "ss(8)",
        "netstat(8)",
        "ip-netns(8)",
        "tcp(7)",
        "sock_diag(7)",
        "proc(5)",
    ]);
    page.references(&pages);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_belongs_to_this_version() {
        assert_eq!(
            DATE.0,
            env!("CARGO_PKG_VERSION"),
            "a new version: set DATE to its release date"
        );
        let (y, md) = DATE.1.split_at(4);
        assert!(
            y.parse::<u16>().is_ok() && md.len() == 6 && md.starts_with('-'),
            "YYYY-MM-DD: {}",
            DATE.1
        );
    }

    /// The columns an example line may take: 80, less the section indentation (7) and the
    /// examples' own (4).
    const EXAMPLE_WIDTH: usize = 69;

    #[test]
    fn example_lines_fit_the_page() {
        for example in EXAMPLES {
            for line in example.lines {
                assert!(
                    line.chars().count() <= EXAMPLE_WIDTH,
                    "{} columns: {line}",
                    line.chars().count()
                );
            }
        }
    }

    #[test]
    fn backticks_become_bold() {
        assert_eq!(
            code_spans("by `service` (default), `local` or x"),
            "by \\fBservice\\fR (default), \\fBlocal\\fR or x"
        );
        assert_eq!(code_spans("a ` b"), "a ` b");
        assert_eq!(tidy(".TP\n`x`\n"), ".TP\n\\fBx\\fR\n");
        assert_eq!(tidy("a\n.br\n\n.br\nb\n"), "a\n.sp\nb\n");
    }

    #[test]
    fn every_page_has_environment_and_files() {
        for sub in [
            None,
            Some("summary"),
            Some("list"),
            Some("check"),
            Some("serve"),
        ] {
            let text = sections(sub).render();
            for section in ["ENVIRONMENT", "FILES", "\"EXIT STATUS\"", "\"SEE ALSO\""] {
                assert!(
                    text.contains(&format!(".SH {section}\n")),
                    "{sub:?}: {section}"
                );
            }
        }
    }
}
