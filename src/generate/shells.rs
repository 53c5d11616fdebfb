//! Flag values clap_complete cannot list by itself, completed by code of ours in the bash,
//! zsh and fish scripts.
//!
//! clap_complete writes static scripts: it offers a fixed list (an argument's possible
//! values), or maps a [`clap::ValueHint`] to a shell function where the shell has one, and
//! falls back to file names otherwise. That leaves out what tcpstat's flags take: `--state`
//! is a comma list of names and groups, `--pid` a comma list of process ids, `--process` the
//! command name of a running process, `--netns` a name under /run/netns (or a path), and bash
//! has nothing for ValueHint::Username at all. clap's dynamic completion (the binary asked at
//! every Tab) is behind the `unstable-dynamic` feature: not something to ship in a package.
//!
//! So the scripts are post-processed, deterministically: for the flags of [`VALUES`], the
//! command the scripts are generated from gives the flag one possible value, a marker
//! (`tcpstat-complete-KIND`), which every generator writes in one known form; that form is
//! replaced by a call to a function of ours, added to the script. A replacement that finds
//! nothing, or a marker left over, is a bug (clap_complete changed its output), and panics:
//! the tests of this module and `tests/integration/generated.rs` run it for every shell.
//! What the functions offer is tested in real shells by `tests/integration/completions.rs`.
//!
//! Candidates that come from the system (process and namespace names) are never evaluated:
//! a process can name itself `$(...)`. bash gets them matched and quoted by the function
//! (not through `compgen -W`, which expands its words); zsh and fish quote what they insert.

use clap::builder::PossibleValuesParser;
use clap::{Arg, Command};
use clap_complete::Shell;

/// What a flag's value is, for the shells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Values {
    /// State names and groups, a comma list: the flag's own possible values.
    States,
    /// Process ids, a comma list.
    Pids,
    /// One process id.
    Pid,
    /// The command names of running processes (`/proc/PID/comm`).
    Processes,
    /// User names (clap_complete handles ValueHint::Username in zsh and fish).
    Users,
    /// A name under /run/netns, or the path of a namespace file.
    Netns,
}

impl Values {
    fn key(self) -> &'static str {
        match self {
            Values::States => "states",
            Values::Pids => "pids",
            Values::Pid => "pid",
            Values::Processes => "processes",
            Values::Users => "users",
            Values::Netns => "netns",
        }
    }

    /// Whether `shell` needs our code for it (else clap_complete's output stands).
    fn ours_in(self, shell: Shell) -> bool {
        match shell {
            Shell::Bash => true,
            Shell::Zsh | Shell::Fish => self != Values::Users,
            _ => false,
        }
    }

    fn marker(self) -> String {
        format!("tcpstat-complete-{}", self.key())
    }
}

/// The flags completed by our code, by long name.
const VALUES: [(&str, Values); 6] = [
    ("state", Values::States),
    ("pid", Values::Pids),
    ("netns-pid", Values::Pid),
    ("process", Values::Processes),
    ("user", Values::Users),
    ("netns", Values::Netns),
];

fn values_of(arg: &Arg) -> Option<Values> {
    let long = arg.get_long()?;
    VALUES.iter().find(|(l, _)| *l == long).map(|(_, v)| *v)
}

/// The names and descriptions `--state` offers: its possible values in the definition.
fn states(cmd: &Command) -> Vec<(String, String)> {
    let state = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some("state"))
        .expect("--state is defined");
    state
        .get_possible_values()
        .into_iter()
        .map(|v| {
            let help = v.get_help().map(ToString::to_string).unwrap_or_default();
            (v.get_name().to_owned(), help)
        })
        .collect()
}

/// `cmd` (unbuilt) with the marker as the only possible value of every flag `shell` needs our
/// code for, in every subcommand.
pub(super) fn with_markers(cmd: Command, shell: Shell) -> Command {
    cmd.mut_args(|arg| match values_of(&arg) {
        Some(values) if values.ours_in(shell) => {
            arg.value_parser(PossibleValuesParser::new([values.marker()]))
        }
        _ => arg,
    })
    .mut_subcommands(|sub| with_markers(sub, shell))
}

/// Replaces every `from` in `script` with `to`; panics when there is none.
fn replace_all(script: &mut String, from: &str, to: &str) {
    assert!(
        script.contains(from),
        "clap_complete's output changed: {from:?} not found"
    );
    *script = script.replace(from, to);
}

/// Replaces the one occurrence of `from` with `to`; panics when it is not there once.
fn replace_once(script: &mut String, from: &str, to: &str) {
    assert_eq!(
        script.matches(from).count(),
        1,
        "clap_complete's output changed: {from:?} is not there once"
    );
    *script = script.replacen(from, to, 1);
}

/// Inserts `text` before the one occurrence of `anchor`.
fn insert_before(script: &mut String, anchor: &str, text: &str) {
    replace_once(script, anchor, &format!("{text}{anchor}"));
}

/// Inserts `text` after the one occurrence of `anchor`.
fn insert_after(script: &mut String, anchor: &str, text: &str) {
    replace_once(script, anchor, &format!("{anchor}{text}"));
}

/// The script clap_complete generated for `shell` from `cmd` (the command [`with_markers`]
/// made, `definition` the original), with the markers replaced by our code.
pub(super) fn finish(shell: Shell, script: Vec<u8>, definition: &Command) -> Vec<u8> {
    let mut script = String::from_utf8(script).expect("clap_complete writes UTF-8");
    let states = states(definition);
    match shell {
        Shell::Bash => bash(&mut script, &states),
        Shell::Zsh => zsh(&mut script, &states),
        Shell::Fish => fish(&mut script, &states),
        _ => {}
    }
    assert!(
        !script.contains("tcpstat-complete-"),
        "a marker was left in the {shell} script"
    );
    script.into_bytes()
}

const BASH_VALUES: &str = r#"# Values clap_complete cannot list, completed by functions of tcpstat's own:
# state names and process ids as comma lists, user names, command names of running processes,
# names under /run/netns. Names from the system are matched here and quoted (printf %q), never
# given to compgen -W, which would expand them: a process can name itself $(...).
_tcpstat_value() {
    local kind="$1" cur="$2" head="" word path
    COMPREPLY=()
    if [[ "${kind}" == states || "${kind}" == pids ]] && [[ "${cur}" == *,* ]]; then
        # A comma list: complete its last entry, after the others.
        head="${cur%,*},"
        cur="${cur##*,}"
    fi
    case "${kind}" in
        states)
            for word in @STATES@; do
                if [[ "${word}" == "${cur}"* ]]; then
                    COMPREPLY+=("${head}${word}")
                fi
            done
            ;;
        pid|pids)
            for path in /proc/[1-9]*; do
                word="${path#/proc/}"
                if [[ "${word}" == "${cur}"* ]]; then
                    COMPREPLY+=("${head}${word}")
                fi
            done
            ;;
        users)
            COMPREPLY=($(compgen -u -- "${cur}"))
            ;;
        processes)
            for path in /proc/[1-9]*/comm; do
                IFS= read -r word 2>/dev/null <"${path}" || continue
                if [[ -n "${word}" && "${word}" == "${cur}"* ]]; then
                    printf -v word '%q' "${word}"
                    COMPREPLY+=("${word}")
                fi
            done
            ;;
        netns)
            # A name under /run/netns; a path when the word looks like one or there is none.
            if [[ "${cur}" != [/.~]* ]]; then
                for path in /run/netns/*; do
                    word="${path##*/}"
                    if [[ -e "${path}" && "${word}" == "${cur}"* ]]; then
                        printf -v word '%q' "${word}"
                        COMPREPLY+=("${word}")
                    fi
                done
            fi
            if [[ ${#COMPREPLY[@]} -eq 0 ]]; then
                local IFS=$'\n'
                COMPREPLY=($(compgen -f -- "${cur}"))
                compopt -o filenames 2>/dev/null
            fi
            ;;
    esac
}

"#;

const BASH_EQUALS: &str = r#"
    # `--flag=value`: bash splits the word at `=` (COMP_WORDBREAKS); complete the value.
    if [[ "${prev}" == "=" && ${COMP_CWORD} -ge 2 ]]; then
        prev="${COMP_WORDS[COMP_CWORD-2]}"
    fi"#;

fn bash(script: &mut String, states: &[(String, String)]) {
    for (_, values) in VALUES {
        let from = format!("$(compgen -W \"{}\" -- \"${{cur}}\")", values.marker());
        // `COMPREPLY=(...)` becomes the call, which sets COMPREPLY.
        replace_all(
            script,
            &format!("COMPREPLY=({from})"),
            &format!("_tcpstat_value {} \"${{cur}}\"", values.key()),
        );
    }
    let names: Vec<&str> = states.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')),
        "state names are words: {names:?}"
    );
    insert_before(
        script,
        "_tcpstat() {",
        &BASH_VALUES.replace("@STATES@", &names.join(" ")),
    );
    insert_after(script, "\n    prev=\"$3\"", BASH_EQUALS);
}

const ZSH_VALUES: &str = r#"# Values clap_complete cannot list, completed by functions of tcpstat's own.
(( $+functions[_tcpstat_value_states] )) ||
_tcpstat_value_states() {
    _values -s , 'state or group' \
@STATES@
}
(( $+functions[_tcpstat_value_pids] )) ||
_tcpstat_value_pids() {
    _sequence -s , _tcpstat_value_pid
}
(( $+functions[_tcpstat_value_pid] )) ||
_tcpstat_value_pid() {
    # Every process (zsh's _pids lists only the terminal's by default).
    local -a expl pids
    pids=(/proc/<->(N:t))
    _wanted processes expl 'process ID' compadd -a pids
}
(( $+functions[_tcpstat_value_processes] )) ||
_tcpstat_value_processes() {
    # Every process, by its kernel command name (/proc/PID/comm, as --process matches).
    _process_names -a -t
}
(( $+functions[_tcpstat_value_netns] )) ||
_tcpstat_value_netns() {
    # A name under /run/netns; a path when the word looks like one or there is none.
    local -a expl names
    if [[ $PREFIX != [/.~]* ]]; then
        names=(/run/netns/*(N:t))
    fi
    if (( $#names )); then
        _wanted netns expl 'network namespace' compadd -a names
    else
        _files
    fi
}

"#;

/// One `name[description]` of `_values`, in single quotes.
fn zsh_value(name: &str, help: &str) -> String {
    let help = help
        .replace('\\', "\\\\")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace(':', "\\:")
        .replace('\'', "'\\''");
    format!("'{name}[{help}]'")
}

fn zsh(script: &mut String, states: &[(String, String)]) {
    for (_, values) in VALUES.into_iter().filter(|(_, v)| v.ours_in(Shell::Zsh)) {
        replace_all(
            script,
            &format!("({})'", values.marker()),
            &format!("_tcpstat_value_{}'", values.key()),
        );
    }
    let values: Vec<String> = states
        .iter()
        .map(|(name, help)| format!("        {}", zsh_value(name, help)))
        .collect();
    insert_before(
        script,
        "if [ \"$funcstack[1]\" = \"_tcpstat\" ]; then",
        &ZSH_VALUES.replace("@STATES@", &values.join(" \\\n")),
    );
}

const FISH_VALUES: &str = r#"# Values clap_complete cannot list, completed by functions of tcpstat's own.
function __fish_tcpstat_value --argument-names kind
    # The value typed so far, without the `--flag=` fish puts back itself.
    set -l token (commandline -ct | string replace -r -- '^--[^=]*=' '')
    set -l head
    if contains -- $kind states pids
        # A comma list: complete its last entry, after the others.
        set head (string match -r -- '^.*,' $token)
    end
    switch $kind
        case states
            for value in @STATES@
                printf '%s%s\n' "$head" $value
            end
        case pid
            __fish_complete_pids
        case pids
            for value in (__fish_complete_pids)
                printf '%s%s\n' "$head" $value
            end
        case processes
            # Every process's kernel command name, as --process matches it (fish's
            # __fish_complete_proc drops names with parentheses, taking them for zombies).
            command cat /proc/*/comm 2>/dev/null | sort -u
        case netns
            # A name under /run/netns; a path when the word looks like one or there is none.
            set -l names
            if not string match -qr -- '^[/.~]' $token
                set names /run/netns/*
            end
            if set -q names[1]
                string replace -r -- '^/run/netns/' '' $names
            else
                __fish_complete_path $token
            end
    end
end

"#;

/// fish's `help` subcommand offers the subcommands only while none of them has been seen,
/// and clap_complete counts `help` itself among them: once `help` is typed, nothing is
/// offered but files. Fixed here, and files switched off after `help`.
const FISH_HELP: &str = "complete -c tcpstat -n \"__fish_tcpstat_using_subcommand help\" -f\n";

/// One `name<TAB>description` of a fish list, quoted.
fn fish_value(name: &str, help: &str) -> String {
    let help = help.replace('\\', "\\\\").replace('\'', "\\'");
    format!("{name}\\t'{help}'")
}

/// clap_complete's `__fish_tcpstat_needs_command` parses the words before the cursor with
/// argparse and gives up when that fails, and it fails on an option still waiting for its
/// value: `tcpstat --format <Tab>` matched no rule and offered files. No subcommand has been
/// seen then: the top level's rules apply.
const FISH_ARGPARSE: (&str, &str) = (
    "    argparse -s (__fish_tcpstat_global_optspecs) -- $cmd 2>/dev/null\n    or return\n",
    "    argparse -s (__fish_tcpstat_global_optspecs) -- $cmd 2>/dev/null\n    \
     # tcpstat: an option waiting for its value (tcpstat --format <Tab>) is no subcommand.\n    \
     or return 0\n",
);

fn fish(script: &mut String, states: &[(String, String)]) {
    replace_once(script, FISH_ARGPARSE.0, FISH_ARGPARSE.1);
    for (_, values) in VALUES.into_iter().filter(|(_, v)| v.ours_in(Shell::Fish)) {
        replace_all(
            script,
            &format!("\"{}\\t''\"", values.marker()),
            &format!("\"(__fish_tcpstat_value {})\"", values.key()),
        );
    }
    let help_prefix = "complete -c tcpstat -n \"__fish_tcpstat_using_subcommand help; and not \
                       __fish_seen_subcommand_from ";
    let mut fixed = 0;
    let lines: Vec<String> = script
        .lines()
        .map(|line| match line.strip_prefix(help_prefix) {
            Some(rest) => {
                let (seen, after) = rest.split_once('"').expect("a closing quote");
                let seen = seen
                    .strip_suffix(" help")
                    .expect("help among the subcommands");
                fixed += 1;
                format!("{help_prefix}{seen}\"{after}")
            }
            None => line.to_owned(),
        })
        .collect();
    assert!(
        fixed > 0,
        "clap_complete's output changed: no help completion"
    );
    *script = lines.join("\n") + "\n";
    script.push_str(FISH_HELP);
    let values: Vec<String> = states
        .iter()
        .map(|(name, help)| fish_value(name, help))
        .collect();
    script.push('\n');
    script.push_str(&FISH_VALUES.replace("@STATES@", &values.join(" ")));
    // One line feed at the end, as clap_complete ends its scripts.
    while script.ends_with("\n\n") {
        script.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::CommandFactory;

    #[test]
    fn every_flag_of_the_table_takes_a_value_in_the_definition() {
        let mut cmd = Cli::command();
        cmd.build();
        for (long, _) in VALUES {
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .unwrap_or_else(|| panic!("--{long} is not defined"));
            assert!(
                arg.get_num_args().expect("built").takes_values(),
                "--{long}"
            );
        }
        let names: Vec<String> = states(&cmd).into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"close-wait".to_owned()), "{names:?}");
        assert!(names.contains(&"connected".to_owned()), "{names:?}");
    }

    #[test]
    fn every_marker_is_replaced_in_every_shell() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let text = String::from_utf8(super::super::completion(shell).bytes).expect("utf-8");
            for (_, values) in VALUES.into_iter().filter(|(_, v)| v.ours_in(shell)) {
                assert!(text.contains(values.key()), "{shell}: {values:?}");
            }
        }
    }

    #[test]
    fn descriptions_are_quoted_for_each_shell() {
        assert_eq!(
            zsh_value("x", "a [b]: c's"),
            r"'x[a \[b\]\: c'\''s]'".to_owned()
        );
        assert_eq!(fish_value("x", "it's"), r"x\t'it\'s'".to_owned());
    }
}
