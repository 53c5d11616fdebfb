//! The generated completion scripts, driven in real shells: bash (with bash-completion
//! loaded, calling the function `complete -p tcpstat` names as readline would), zsh (an
//! interactive zsh on a pseudo-terminal, through `zpty`, with `compadd` recording what the
//! completion system offers) and fish (`complete -C`).
//!
//! Each shell runs in a scratch directory holding one file, so a value that falls back to
//! file names shows it. What must hold: flags whose values are a fixed set (`--state`, a
//! comma list; `--format`, `--by`) or discoverable (`--user`, `--pid`, `--netns-pid`,
//! `--process`, `--netns`) offer those values and no file; `tcpstat help` offers subcommands.
//! The process-name case includes a process named like a command substitution, which must be
//! offered as text and never run.
//!
//! The shells come from `.ci/run` (bash-completion, zsh, fish); without one, its test says a
//! [`skip`].

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;

use tcpstat::generate;

use crate::util::{is_root, serial, skip, wait_for, wait_until, WAIT};

/// The file every scratch directory holds: offered only by a fallback to file names.
const SENTINEL: &str = "sentinel-file";

/// What `--state` offers: the state names as people type them, then the groups.
const STATES: [&str; 16] = [
    "listen",
    "syn-sent",
    "syn-recv",
    "established",
    "fin-wait-1",
    "fin-wait-2",
    "close-wait",
    "closing",
    "last-ack",
    "time-wait",
    "closed",
    "all",
    "connected",
    "synchronized",
    "bucket",
    "big",
];

const SUBCOMMANDS: [&str; 13] = [
    "summary",
    "ports",
    "procs",
    "workloads",
    "health",
    "list",
    "watch",
    "doctor",
    "check",
    "serve",
    "record",
    "history",
    "help",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// What one command line must be offered.
#[derive(Debug)]
enum Want {
    /// Exactly these candidates.
    Exactly(Vec<String>),
    /// At least these.
    Includes(Vec<String>),
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// A scratch directory (the shells' working directory and home) holding [`SENTINEL`],
/// removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("tcpstat-complete-{what}-{}", std::process::id()));
        fs::remove_dir_all(&dir).ok();
        fs::create_dir_all(&dir).expect("create a scratch directory");
        fs::write(dir.join(SENTINEL), "").expect("write the sentinel file");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        fs::remove_dir_all(&self.0).ok();
    }
}

/// A process whose command name (`/proc/PID/comm`) is `name`, until dropped: a shell that
/// renames itself and waits on its standard input.
struct Named {
    child: Child,
    name: String,
}

impl Named {
    fn spawn(name: &str) -> Named {
        let child = Command::new("sh")
            .args([
                "-c",
                "printf %s \"$1\" > /proc/$$/comm && read -r line",
                "sh",
            ])
            .arg(name)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn sh");
        let comm = format!("/proc/{}/comm", child.id());
        wait_for(&format!("{comm} to read {name:?}"), || {
            let now = fs::read_to_string(&comm).ok()?;
            (now.trim_end_matches('\n') == name).then_some(())
        });
        Named {
            child,
            name: name.to_owned(),
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A network namespace named under /run/netns (`ip netns add`), deleted when dropped. Named
/// like the namespaces of `netns.rs`, so a killed run's leftover is removed there.
struct NamedNetns(String);

impl NamedNetns {
    fn add() -> Option<NamedNetns> {
        if !is_root() {
            skip("--netns NAME completion: not root (ip netns add)");
            return None;
        }
        let name = format!("tcpstat-test-{}-complete", std::process::id());
        let added = Command::new("ip")
            .args(["netns", "add", &name])
            .stderr(Stdio::null())
            .status();
        if !added.is_ok_and(|s| s.success()) {
            skip(format!(
                "--netns NAME completion: `ip netns add {name}` failed"
            ));
            return None;
        }
        Some(NamedNetns(name))
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status();
    }
}

/// Runs `cmd` to the end within [`WAIT`] (killing it after), its output read as it comes.
fn output_within(mut cmd: Command, what: &str) -> (bool, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let reader = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("stdout")));
    let err = reader(Box::new(child.stderr.take().expect("stderr")));
    let status = wait_until(what, WAIT, || match child.try_wait() {
        Ok(Some(status)) => Ok(status),
        Ok(None) => Err("still running".into()),
        Err(e) => panic!("wait for {what}: {e}"),
    });
    let out = out.join().expect("stdout reader");
    let err = err.join().expect("stderr reader");
    (status.success(), out, err)
}

/// A shell with an environment of its own: `PATH`, and home and configuration in `dir`.
fn shell_command(program: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("XDG_DATA_HOME", dir.join(".local/share"))
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .env("ZDOTDIR", dir)
        .env("LANG", "C.UTF-8")
        .current_dir(dir);
    cmd
}

fn installed(program: &str, version_flag: &str) -> bool {
    Command::new(program)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The script of `shell` as generated (and, by `generated.rs`, as committed), written into
/// `dir` under its conventional name; its path.
fn script(shell: clap_complete::Shell, dir: &Path) -> PathBuf {
    let file = generate::completion(shell);
    let path = dir.join(&file.name);
    fs::write(&path, &file.bytes).expect("write the completion script");
    path
}

/// bash: sources bash-completion and the script, then calls the function `complete -p
/// tcpstat` names with the words of `line` as readline splits them (at spaces, and around
/// `=`, which is in `COMP_WORDBREAKS`); prints `COMPREPLY`, or the file names readline falls
/// back to when it is empty (`complete -o default`).
const BASH_DRIVER: &str = r#"
source /usr/share/bash-completion/bash_completion || exit 3
source "$1" || exit 4
shift
spec=$(complete -p tcpstat) || exit 5
fn=${spec##*-F }
fn=${fn%% *}
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
COMP_TYPE=9
COMP_KEY=9
cur="${COMP_WORDS[COMP_CWORD]}"
# Right after a `=`, readline passes an empty word, the `=` being a word of its own.
if [[ "$cur" == "=" ]]; then cur=""; fi
COMPREPLY=()
"$fn" tcpstat "$cur" "${COMP_WORDS[COMP_CWORD-1]}"
# What readline does with nothing offered and `complete -o default`: file names.
if (( ${#COMPREPLY[@]} == 0 )) && [[ "$spec" == *"-o default"* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
fi
(( ${#COMPREPLY[@]} == 0 )) || printf '%s\n' "${COMPREPLY[@]}"
"#;

fn bash_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    for word in line.split(' ') {
        let mut parts = word.split('=').peekable();
        while let Some(part) = parts.next() {
            if !part.is_empty() || parts.peek().is_none() {
                words.push(part.to_owned());
            }
            if parts.peek().is_some() {
                words.push("=".to_owned());
            }
        }
    }
    // `--format=` ends with the `=` word, not an empty one after it.
    if line.ends_with('=') && words.last().is_some_and(String::is_empty) {
        words.pop();
    }
    words
}

fn bash_offers(dir: &Path, script: &Path, line: &str) -> Vec<String> {
    let mut cmd = shell_command("bash", dir);
    cmd.args(["--norc", "--noprofile", "-c", BASH_DRIVER, "bash"])
        .arg(script)
        .args(bash_words(line));
    let (ok, out, err) = output_within(cmd, &format!("bash completing {line:?}"));
    assert!(ok, "bash completing {line:?} failed:\n{err}");
    out.lines().map(str::to_owned).collect()
}

/// zsh: the setup an interactive zsh sources. `compadd` records what it adds (calls with
/// -O, -A or -D only filter, and are passed through), and a post-completion hook marks the
/// end.
const ZSH_SETUP: &str = r#"
PS1='' PROMPT='' RPROMPT=''
fpath=($TCPSTAT_FPATH $fpath)
autoload -Uz compinit && compinit -u -D
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
compadd() {
  local -a __opts=(${@[1,(i)(-|--)]})
  if [[ ${(j: :)__opts} == *-[[:alpha:]]#[OAD]* ]]; then
    builtin compadd "$@"
    return
  fi
  local -a __added
  builtin compadd -A __added "$@"
  local __m
  for __m in $__added; do print -r -- "$IPREFIX$__m" >> $TCPSTAT_OUT; done
  builtin compadd "$@"
}
_tcpstat_test_done() { print -r -- '<done>' >> $TCPSTAT_OUT }
comppostfuncs=(_tcpstat_test_done)
print -r -- '<ready>' >> $TCPSTAT_OUT
"#;

/// zsh: drives an interactive zsh on a pseudo-terminal: sources the setup, types the line
/// and a Tab, and waits (with a deadline) for the end mark.
const ZSH_DRIVER: &str = r#"
zmodload zsh/zpty || exit 3
export TCPSTAT_OUT=$1 TCPSTAT_FPATH=$2
: > $TCPSTAT_OUT
zpty shell zsh -f -i
zpty -w shell "source ${(q)3}"
wait_for() {
  local i
  for i in {1..400}; do
    grep -qF -- $1 $TCPSTAT_OUT && return 0
    sleep 0.05
  done
  print -u2 "no $1 within 20 s"
  return 1
}
wait_for '<ready>' || exit 4
zpty -w -n shell "$4"$'\t'
wait_for '<done>' || exit 5
zpty -d shell
"#;

fn zsh_offers(dir: &Path, fpath: &Path, line: &str) -> Vec<String> {
    let out = dir.join("offered");
    let setup = dir.join("setup.zsh");
    fs::write(&setup, ZSH_SETUP).expect("write the zsh setup");
    let mut cmd = shell_command("zsh", dir);
    cmd.args(["-f", "-c", ZSH_DRIVER, "zsh"])
        .arg(&out)
        .arg(fpath)
        .arg(&setup)
        .arg(line);
    let (ok, _, err) = output_within(cmd, &format!("zsh completing {line:?}"));
    assert!(ok, "zsh completing {line:?} failed:\n{err}");
    let text = fs::read_to_string(&out).expect("what zsh offered");
    fs::remove_file(&out).ok();
    text.lines()
        .filter(|l| !matches!(*l, "<ready>" | "<done>"))
        .map(str::to_owned)
        .collect()
}

fn fish_offers(dir: &Path, script: &Path, line: &str) -> Vec<String> {
    let mut cmd = shell_command("fish", dir);
    cmd.args([
        "--no-config",
        "-c",
        "source $argv[1]; and complete -C $argv[2]",
    ])
    .arg(script)
    .arg(line);
    let (ok, out, err) = output_within(cmd, &format!("fish completing {line:?}"));
    assert!(ok, "fish completing {line:?} failed:\n{err}");
    // `candidate<TAB>description`.
    out.lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_owned())
        .collect()
}

/// The command lines every shell is tried on, with what each must offer. `processes` are a
/// plain and a hostile command name; `netns` a name under /run/netns, when one could be
/// made.
fn cases(shell: Shell, processes: &[Named; 2], netns: Option<&str>) -> Vec<(String, Want)> {
    let [plain, hostile] = processes;
    let pid = plain.pid();
    let mut cases = vec![
        (
            "tcpstat --state ".to_owned(),
            Want::Exactly(strings(&STATES)),
        ),
        (
            "tcpstat list --state close-wait,ti".to_owned(),
            Want::Exactly(strings(&["close-wait,time-wait"])),
        ),
        (
            "tcpstat --format ".to_owned(),
            Want::Exactly(strings(&["table", "json", "prometheus"])),
        ),
        (
            "tcpstat ports --by ".to_owned(),
            Want::Exactly(strings(&["service", "local", "remote"])),
        ),
        (
            "tcpstat --source proc watch --by ".to_owned(),
            Want::Exactly(strings(&["port", "process", "remote", "workload"])),
        ),
        (
            "tcpstat --user ro".to_owned(),
            Want::Includes(strings(&["root"])),
        ),
        (
            format!("tcpstat --pid {pid}"),
            Want::Includes(vec![pid.clone()]),
        ),
        (
            format!("tcpstat procs --pid 1,{pid}"),
            Want::Includes(vec![format!("1,{pid}")]),
        ),
        (
            format!("tcpstat --netns-pid {pid}"),
            Want::Includes(vec![pid.clone()]),
        ),
        (
            format!("tcpstat list --process {}", &plain.name[..4]),
            Want::Includes(vec![plain.name.clone()]),
        ),
        (
            format!("tcpstat list --process {}", &hostile.name[..3]),
            // bash inserts candidates as they are, so they are quoted for it; zsh's
            // _process_names quotes them too; fish quotes what it inserts.
            Want::Includes(vec![if shell == Shell::Fish {
                hostile.name.clone()
            } else {
                r"tcx\$\(:\>pwned\)".to_owned()
            }]),
        ),
        (
            "tcpstat help ".to_owned(),
            Want::Exactly(strings(&SUBCOMMANDS)),
        ),
        (
            "tcpstat help wa".to_owned(),
            Want::Exactly(strings(&["watch"])),
        ),
    ];
    // `--flag=value`, which each shell reports in its own way.
    cases.push(match shell {
        Shell::Bash => (
            "tcpstat --format=j".to_owned(),
            Want::Exactly(strings(&["json"])),
        ),
        Shell::Zsh | Shell::Fish => (
            "tcpstat --format=j".to_owned(),
            Want::Exactly(strings(&["--format=json"])),
        ),
    });
    if let Some(name) = netns {
        let prefix = &name[..name.len() - 3];
        cases.push((
            format!("tcpstat --netns {prefix}"),
            Want::Exactly(vec![name.to_owned()]),
        ));
    }
    cases
}

/// Completes every case in `shell` (through `offers`) and fails listing every case that got
/// something else, a file name in particular.
fn check_shell(shell: Shell, dir: &Scratch, offers: &dyn Fn(&str) -> Vec<String>) {
    let processes = [Named::spawn("tcpcmpl-plain"), Named::spawn("tcx$(:>pwned)")];
    let netns = NamedNetns::add();
    let mut problems = Vec::new();
    for (line, want) in cases(shell, &processes, netns.as_ref().map(|n| n.0.as_str())) {
        let offered = offers(&line);
        let set: BTreeSet<&str> = offered.iter().map(String::as_str).collect();
        let ok = match &want {
            Want::Exactly(words) => set == words.iter().map(String::as_str).collect(),
            Want::Includes(words) => words.iter().all(|w| set.contains(w.as_str())),
        };
        let files = offered.iter().any(|w| w.contains(SENTINEL));
        if !ok || files {
            problems.push(format!("{line:?}: want {want:?}, offered {offered:?}"));
        }
    }
    // Created by a completion that ran a process name as a command substitution.
    if dir.0.join("pwned").exists() {
        problems.push("a process name was run as a command".to_owned());
    }
    assert!(
        problems.is_empty(),
        "{shell:?} completion:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn bash_completes_values_not_files() {
    let _serial = serial();
    if !installed("bash", "--version")
        || !Path::new("/usr/share/bash-completion/bash_completion").exists()
    {
        skip("bash with bash-completion is not installed (apt-get install bash-completion)");
        return;
    }
    let dir = Scratch::new("bash");
    let script = script(clap_complete::Shell::Bash, &dir.0);
    check_shell(Shell::Bash, &dir, &|line| {
        bash_offers(&dir.0, &script, line)
    });
}

#[test]
fn zsh_completes_values_not_files() {
    let _serial = serial();
    if !installed("zsh", "--version") {
        skip("zsh is not installed (apt-get install zsh)");
        return;
    }
    let dir = Scratch::new("zsh");
    let fpath = dir.0.join("functions");
    fs::create_dir_all(&fpath).expect("create the fpath directory");
    script(clap_complete::Shell::Zsh, &fpath);
    check_shell(Shell::Zsh, &dir, &|line| zsh_offers(&dir.0, &fpath, line));
}

#[test]
fn fish_completes_values_not_files() {
    let _serial = serial();
    if !installed("fish", "--version") {
        skip("fish is not installed (apt-get install fish)");
        return;
    }
    let dir = Scratch::new("fish");
    let script = script(clap_complete::Shell::Fish, &dir.0);
    check_shell(Shell::Fish, &dir, &|line| {
        fish_offers(&dir.0, &script, line)
    });
}
