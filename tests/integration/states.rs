//! End-to-end tests of `tcpstat summary`: real loopback sockets are driven
//! into every TCP state and the binary must count them exactly, from both
//! sources, per family, and agree with `ss` where it is installed.
//!
//! Every scenario runs on the host with `--port P` filters (exact because each
//! part has a port nobody else uses) and, when the process may create network
//! namespaces (root), again in a private namespace where the unfiltered
//! counts for the whole namespace must be exact too.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::util::netns::{
    in_private_netns, ipv6_available, netns_available, run_everywhere, run_in_netns_only, Env,
};
use crate::util::report::{expect_counts, expect_report, json_report, summary, Source};
use crate::util::sockets::{Family, Sock};
use crate::util::states::{Counts, Scenario, Scope, State};
use crate::util::{describe, run, serial, skip, BIN};

/// Build a scenario with `build`, then run the full check on it.
fn scenario(env: Env, build: impl FnOnce(&mut Scenario)) -> Scenario {
    let mut s = Scenario::new(env);
    build(&mut s);
    s.check();
    s
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------
// One state (or one natural pair of states) at a time, IPv4
// ---------------------------------------------------------------------------

#[test]
fn listen_sockets_are_counted_exactly() {
    let _serial = serial();
    run_everywhere("listen", |env| {
        scenario(env, |s| {
            s.listen(Family::V4, 3);
        });
    });
}

#[test]
fn established_sockets_are_counted_exactly() {
    let _serial = serial();
    run_everywhere("established", |env| {
        scenario(env, |s| {
            s.established(Family::V4, 3);
        });
    });
}

#[test]
fn sport_and_dport_pick_the_right_end() {
    let _serial = serial();
    run_everywhere("sport/dport", |env| {
        // A listener plus a SYN_SENT crowd: the listener and the queued
        // server end have local port P, the clients have remote port P.
        let s = scenario(env, |s| {
            s.syn_sent(Family::V4, 2);
        });
        let p = s.parts[0].port.to_string();
        let local = Counts::default().with(Family::V4, State::Listen, 1).with(
            Family::V4,
            State::Established,
            1,
        );
        let remote = Counts::default()
            .with(Family::V4, State::Established, 1)
            .with(Family::V4, State::SynSent, 2);
        for source in Source::BOTH {
            expect_counts(env, source, &args(&["--sport", &p]), local, "local end");
            expect_counts(env, source, &args(&["--dport", &p]), remote, "remote end");
        }
    });
}

#[test]
fn close_wait_and_fin_wait_2_are_counted_exactly() {
    let _serial = serial();
    run_everywhere("close_wait", |env| {
        scenario(env, |s| {
            s.close_wait(Family::V4, 3);
        });
    });
}

#[test]
fn time_wait_is_counted_exactly() {
    let _serial = serial();
    run_everywhere("time_wait", |env| {
        scenario(env, |s| {
            s.time_wait(Family::V4, 3);
        });
    });
}

#[test]
fn syn_sent_is_counted_exactly() {
    let _serial = serial();
    run_everywhere("syn_sent", |env| {
        scenario(env, |s| {
            s.syn_sent(Family::V4, 3);
        });
    });
}

#[test]
fn fin_wait_1_is_counted_exactly() {
    let _serial = serial();
    run_everywhere("fin_wait_1", |env| {
        scenario(env, |s| {
            s.fin_wait_1(Family::V4, 2);
        });
    });
}

#[test]
fn closing_is_counted_exactly() {
    let _serial = serial();
    run_everywhere("closing", |env| {
        scenario(env, |s| {
            s.closing(Family::V4, 2);
        });
    });
}

#[test]
fn last_ack_is_counted_exactly() {
    let _serial = serial();
    run_everywhere("last_ack", |env| {
        scenario(env, |s| {
            s.last_ack(Family::V4, 2);
        });
    });
}

#[test]
fn closed_is_seen_by_netlink_only() {
    let _serial = serial();
    run_everywhere("closed", |env| {
        let s = scenario(env, |s| {
            s.closed(Family::V4, 3);
        });
        // Spelled out, although `check` already covers it: netlink sees the
        // three bound-only sockets, /proc cannot and must not pretend to.
        let scope = Scope::Port(s.parts[0].port).tcpstat_args();
        let three = Counts::default().with(Family::V4, State::Closed, 3);
        let nl = expect_counts(env, Source::Netlink, &scope, three, "netlink");
        assert!(nl.source_covers.iter().any(|s| s == "CLOSED"));
        let pr = expect_counts(env, Source::Proc, &scope, Counts::default(), "proc");
        assert_eq!(pr.total, 0, "{}", pr.json);
        assert!(
            !pr.source_covers.iter().any(|s| s == "CLOSED"),
            "proc cannot see CLOSED sockets, yet source_covers lists it: {}",
            pr.json
        );
        assert!(
            !pr.counted_states.iter().any(|s| s == "CLOSED"),
            "proc cannot count CLOSED sockets, yet counted_states lists it: {}",
            pr.json
        );
    });
}

#[test]
fn syn_recv_is_counted_exactly() {
    let _serial = serial();
    run_in_netns_only("syn_recv (needs a private network namespace)", |env| {
        let mut s = Scenario::new(env);
        if s.syn_recv(Family::V4, 3).is_none() {
            return;
        }
        if ipv6_available("syn_recv over IPv6") {
            s.syn_recv(Family::V6, 2);
        }
        s.check();
    });
}

// ---------------------------------------------------------------------------
// IPv6 and mixed families
// ---------------------------------------------------------------------------

#[test]
fn ipv6_and_ipv4_are_counted_per_family() {
    let _serial = serial();
    run_everywhere("mixed families", |env| {
        if !ipv6_available("mixed families") {
            return;
        }
        let s = scenario(env, |s| {
            s.established(Family::V6, 2);
            s.close_wait(Family::V6, 2);
            s.time_wait(Family::V6, 1);
            s.fin_wait_1(Family::V6, 1);
            s.closed(Family::V6, 2);
            s.listen(Family::V4, 2);
            s.last_ack(Family::V4, 1);
            s.syn_sent(Family::V4, 1);
            s.closed(Family::V4, 1);
        });
        // -4 / -6 keep exactly one family.
        for (scope, expected) in s.scopes() {
            for source in Source::BOTH {
                for (flag, fam) in [("-4", Family::V4), ("-6", Family::V6)] {
                    let mut a = scope.tcpstat_args();
                    a.push(flag.into());
                    let want = source.visible(expected).only_family(fam);
                    expect_counts(env, source, &a, want, flag);
                }
            }
        }
    });
}

#[test]
fn dash_4_with_an_ipv6_scenario_counts_nothing() {
    let _serial = serial();
    run_everywhere("-4 on ipv6", |env| {
        if !ipv6_available("-4 on ipv6") {
            return;
        }
        let s = scenario(env, |s| {
            s.established(Family::V6, 2);
            s.close_wait(Family::V6, 1);
            s.closed(Family::V6, 1);
        });
        for (scope, _) in s.scopes() {
            for source in Source::BOTH {
                let mut a = scope.tcpstat_args();
                a.push("-4".into());
                let r = expect_counts(env, source, &a, Counts::default(), "-4");
                assert_eq!(r.total, 0, "{}", r.json);
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Everything at once
// ---------------------------------------------------------------------------

#[test]
fn every_state_at_once() {
    let _serial = serial();
    run_everywhere("every state at once", |env| {
        let mut s = Scenario::new(env);
        let mut built = vec![(Family::V4, s.all_states(Family::V4))];
        if ipv6_available("every state at once over IPv6") {
            built.push((Family::V6, s.all_states(Family::V6)));
        }
        s.check();
        // Guard against the scenario itself shrinking: every state really is
        // there (SYN_RECV only in a private namespace with nft).
        let all = s.expected();
        for (fam, with_syn_recv) in built {
            for st in State::ALL {
                if st != State::SynRecv || with_syn_recv {
                    assert!(
                        all.get(fam, st) > 0,
                        "the combined scenario lacks {st:?}/{fam:?}: {all:?}"
                    );
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------
// --state
// ---------------------------------------------------------------------------

#[test]
fn state_filter_counts_only_that_state() {
    let _serial = serial();
    run_everywhere("--state", |env| {
        if !ipv6_available("--state") {
            return;
        }
        let s = scenario(env, |s| {
            s.close_wait(Family::V4, 3);
            s.close_wait(Family::V6, 1);
            s.established(Family::V4, 1);
        });
        for (scope, expected) in s.scopes() {
            for name in ["close-wait", "CLOSE_WAIT", "closewait"] {
                for source in Source::BOTH {
                    let mut a = scope.tcpstat_args();
                    a.extend(args(&["--state", name]));
                    let want = expected.only_states(&[State::CloseWait]);
                    let r = expect_counts(env, source, &a, want, name);
                    assert_eq!(
                        r.counted_states,
                        vec!["CLOSE_WAIT".to_string()],
                        "--state {name}: counted_states: {}",
                        r.json
                    );
                }
            }
        }
    });
}

#[test]
fn several_states_comma_separated_or_repeated() {
    let _serial = serial();
    run_everywhere("--state a,b", |env| {
        if !ipv6_available("--state a,b") {
            return;
        }
        let s = scenario(env, |s| {
            s.close_wait(Family::V4, 2);
            s.time_wait(Family::V6, 1);
            s.established(Family::V4, 1);
        });
        let picked = [State::CloseWait, State::TimeWait];
        for (scope, expected) in s.scopes() {
            for flags in [
                &["--state", "close-wait,time-wait"][..],
                &["--state", "CLOSE_WAIT", "--state", "timewait"][..],
            ] {
                for source in Source::BOTH {
                    let mut a = scope.tcpstat_args();
                    a.extend(args(flags));
                    let r = expect_counts(env, source, &a, expected.only_states(&picked), "a,b");
                    let mut counted = r.counted_states.clone();
                    counted.sort();
                    assert_eq!(counted, ["CLOSE_WAIT", "TIME_WAIT"], "{}", r.json);
                }
            }
        }
    });
}

#[test]
fn state_groups_match_their_documented_definition() {
    let _serial = serial();
    run_everywhere("state groups", |env| {
        let mut s = Scenario::new(env);
        s.all_states(Family::V4);
        s.check();
        for (scope, expected) in s.scopes() {
            for (group, members) in groups_table() {
                for source in Source::BOTH {
                    let mut a = scope.tcpstat_args();
                    a.extend(args(&["--state", group]));
                    let want = source.visible(expected.only_states(&members));
                    expect_counts(env, source, &a, want, group);
                }
            }
        }
    });
}

/// The --state groups, as `tcpstat --help` defines them.
fn groups_table() -> [(&'static str, Vec<State>); 5] {
    use State::*;
    let connected = vec![
        SynSent,
        SynRecv,
        Established,
        FinWait1,
        FinWait2,
        CloseWait,
        Closing,
        LastAck,
        TimeWait,
    ];
    let synchronized = connected
        .iter()
        .copied()
        .filter(|&s| s != SynSent)
        .collect();
    let bucket = vec![SynRecv, TimeWait];
    let big = State::ALL
        .into_iter()
        .filter(|s| !bucket.contains(s))
        .collect();
    [
        ("all", State::ALL.to_vec()),
        ("connected", connected),
        ("synchronized", synchronized),
        ("bucket", bucket),
        ("big", big),
    ]
}

#[test]
fn unknown_state_is_a_usage_error_listing_valid_names() {
    let _serial = serial();
    for extra in [&[][..], &["--json"][..]] {
        let mut a = args(&["summary", "--state", "bogus"]);
        a.extend(args(extra));
        let out = run(&a);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&a, &out));
        assert!(out.stdout.is_empty(), "{}", describe(&a, &out));
        // Whatever the spelling (close-wait, CLOSE_WAIT, ...), every state
        // must be named in the message.
        let norm = String::from_utf8_lossy(&out.stderr)
            .to_uppercase()
            .replace('-', "_");
        for st in State::ALL {
            let name = st.json_name();
            let found = norm.contains(name) || norm.contains(&name.replace('_', ""));
            assert!(found, "stderr does not list {name}: {}", describe(&a, &out));
        }
    }
}

#[test]
fn other_usage_errors_exit_2() {
    let _serial = serial();
    for a in [
        args(&["summary", "--source", "bogus"]),
        args(&["summary", "--port", "notaport"]),
        args(&["summary", "--port", "70000"]),
        args(&["summary", "--no-such-flag"]),
        args(&["no-such-subcommand"]),
    ] {
        let out = run(&a);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&a, &out));
        assert!(!out.stderr.is_empty(), "{}", describe(&a, &out));
    }
}

// ---------------------------------------------------------------------------
// Table output and closed pipes
// ---------------------------------------------------------------------------

#[test]
fn table_output_succeeds() {
    let _serial = serial();
    for a in [args(&[]), args(&["summary"])] {
        let out = run(&a);
        assert!(out.status.success(), "{}", describe(&a, &out));
        assert!(out.stderr.is_empty(), "{}", describe(&a, &out));
        assert!(!out.stdout.is_empty(), "{}", describe(&a, &out));
    }
}

/// A pipe whose read end is already closed: any write to it fails with EPIPE.
fn widowed_pipe() -> std::io::PipeWriter {
    let (read, write) = std::io::pipe().expect("pipe");
    drop(read);
    write
}

#[test]
fn closed_stdout_pipe_is_not_an_error() {
    let _serial = serial();
    for a in [args(&[]), args(&["summary"]), args(&["summary", "--json"])] {
        // Deterministic: the reader is gone before tcpstat even starts.
        let out = Command::new(BIN)
            .args(&a)
            .stdin(Stdio::null())
            .stdout(Stdio::from(widowed_pipe()))
            .stderr(Stdio::piped())
            .output()
            .expect("running tcpstat");
        assert_eq!(
            out.status.code(),
            Some(0),
            "stdout closed before start: {}",
            describe(&a, &out)
        );
        assert!(
            out.stderr.is_empty(),
            "stdout closed before start: {}",
            describe(&a, &out)
        );

        // As a shell pipeline into e.g. `head -c0` would: the reader goes
        // away right after the spawn.
        let mut child = Command::new(BIN)
            .args(&a)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning tcpstat");
        drop(child.stdout.take());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("reading stderr");
        let status = child.wait().expect("waiting for tcpstat");
        assert_eq!(
            status.code(),
            Some(0),
            "`tcpstat {}` with the reader gone: status {status:?}, stderr {stderr:?}",
            a.join(" ")
        );
        assert!(
            stderr.is_empty(),
            "`tcpstat {}` with the reader gone: stderr {stderr:?}",
            a.join(" ")
        );
    }
}

// ---------------------------------------------------------------------------
// Consistency under socket churn
// ---------------------------------------------------------------------------

/// 300 static sockets on port P while another thread opens and aborts
/// connections on another port as fast as it can.  /proc/net/tcp is
/// generated one page (~27 lines) per read(), so an entry can be listed twice
/// when the hash chains change between two reads; the counts for P must
/// still be exact.
#[test]
fn counts_stay_exact_while_other_sockets_come_and_go() {
    let _serial = serial();
    fn run_churn(env: Env) {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;

        let mut s = Scenario::new(env);
        let port = s.established(Family::V4, 150);
        s.settle();
        let want = s.part(port).expected;

        let stop = Arc::new(AtomicBool::new(false));
        let churn = {
            let stop = Arc::clone(&stop);
            // Spawned from this thread, so it shares its network namespace.
            std::thread::spawn(move || {
                let lst = Sock::new(Family::V4);
                lst.bind("127.0.0.1:0".parse().expect("addr"))
                    .expect("bind churn listener");
                lst.listen(128);
                let addr = lst.local_addr();
                let mut cycles = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let clients: Vec<Sock> = (0..20)
                        .map(|_| {
                            let c = Sock::new(Family::V4);
                            c.connect(addr);
                            c
                        })
                        .collect();
                    let servers: Vec<Sock> = (0..20).map(|_| lst.accept()).collect();
                    drop(clients); // RST: gone at once
                    drop(servers);
                    cycles += 1;
                }
                cycles
            })
        };

        let scope = Scope::Port(port).tcpstat_args();
        let mut wrong = Vec::new();
        for _ in 0..25 {
            for source in Source::BOTH {
                let r = summary(source, &scope);
                if r.counts != want {
                    wrong.push(format!("{}: {:?}", source.name(), r.counts));
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        let cycles = churn.join().expect("churn thread");
        assert!(cycles > 0, "the churn thread never completed a cycle");
        assert!(
            wrong.is_empty(),
            "{} of 50 runs were wrong (want {want:?}) while {} connections came and went:\n{}",
            wrong.len(),
            cycles * 20,
            wrong.join("\n")
        );
    }
    match netns_available() {
        Ok(()) => in_private_netns(|| run_churn(Env::Netns)),
        Err(why) => {
            skip(format!(
                "the churn test in a private namespace ({why}): it runs on the host"
            ));
            run_churn(Env::Host)
        }
    }
}

// ---------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------

/// Bare `tcpstat` is `tcpstat summary`, and `--source auto` (the default)
/// uses netlink where it works: the CLOSED sockets prove which source ran.
#[test]
fn bare_tcpstat_is_summary_and_auto_picks_netlink() {
    let _serial = serial();
    run_everywhere("defaults", |env| {
        if !ipv6_available("defaults") {
            return;
        }
        let s = scenario(env, |s| {
            s.closed(Family::V4, 2);
            s.established(Family::V6, 1);
        });
        for (scope, expected) in s.scopes() {
            for head in [
                &["summary", "--json"][..],
                &["--json"],
                &["--json", "--source", "auto"],
            ] {
                let mut a = args(head);
                a.extend(scope.tcpstat_args());
                let r = expect_report(env, expected, "defaults", || json_report(&a));
                assert_eq!(r.source, "netlink", "`{}`: {}", r.command, r.json);
            }
        }
    });
}
