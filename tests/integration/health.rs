//! Connection health on real connections with real trouble: two private network namespaces
//! joined by a veth pair, this side (where tcpstat runs) sending to four addresses of the
//! other side:
//!
//! - `LOSSY` (10.77.0.2): nftables on the peer drops 20% of the packets sent to it;
//! - `CLEAN` (10.77.0.3): the same traffic, nothing dropped;
//! - `SLOW` (10.77.0.4): a receiver with a tiny SO_RCVBUF that never reads (this side sees a
//!   zero window; the peer's side a full receive queue);
//! - `SILENT` (10.77.0.5): connections that carried data, then every packet to it dropped
//!   (stalled send queues, FIN_WAIT_1 retransmitting, new connects stuck in SYN_SENT).
//!
//! Checked: retransmits on the lossy peer's sockets and (far) fewer on the clean one's; the
//! same sockets' numbers bracketed by `ss -ti` taken just before and just after; `health
//! --by peer` naming each; `doctor` naming each (and the process not reading, seen from the
//! peer's namespace); under `--source proc` the tcp_info checks are not judged. Root only,
//! with nftables (`.ci/run` installs it).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::schemas::schema_errors;
use crate::util::netns::{self, PeerNetns};
use crate::util::sockets::{Family, Sock};
use crate::util::ss::ss_for;
use crate::util::states::nft_apply;
use crate::util::{describe, run, serial, skip, wait_until};

const HERE: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const LOSSY: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const CLEAN: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 3);
const SLOW: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 4);
const SILENT: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 5);
const PORT: u16 = 5001;
/// Waits here are longer than util's 20 s: a connection is stalled only after 5 s without an
/// acknowledgement, and retransmission timers back off.
const LONG: Duration = Duration::from_secs(40);

fn nft_installed() -> bool {
    Command::new("nft")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A tcpstat run's JSON document (any exit status: doctor exits 3 or 4 on findings),
/// valid by its subcommand's published schema.
fn tcpstat_json(args: &[&str]) -> Value {
    let o = run(args);
    let doc = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", describe(args, &o)));
    let errors = schema_errors(args[0], &doc);
    assert!(errors.is_empty(), "{args:?}: {errors:#?}\n{doc}");
    doc
}

/// `list -i --ndjson` rows toward `peer`, by local port: the tcp_info object of each.
fn our_info(peer: Ipv4Addr) -> BTreeMap<u16, Value> {
    let args = ["list", "-i", "--ndjson", "--state", "established"];
    let o = run(&args);
    assert!(o.status.success(), "{}", describe(&args, &o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|row| row["remote_address"] == peer.to_string())
        .map(|row| {
            let port = row["local_port"].as_u64().expect("local_port") as u16;
            (port, row["tcp_info"].clone())
        })
        .collect()
}

/// What `ss -tin dst PEER` says of each established socket, by local port: total
/// retransmits (`retrans:CUR/TOTAL`, absent when both are 0), segments sent (`segs_out`),
/// `mss` and `wscale:SND,RCV`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SsInfo {
    total_retrans: u64,
    segs_out: u64,
    mss: u64,
    wscale: (u64, u64),
}

fn ss_info(peer: Ipv4Addr) -> BTreeMap<u16, SsInfo> {
    let out = Command::new("ss")
        .args(["-tinH", "state", "established", "dst", &peer.to_string()])
        .output()
        .expect("running ss");
    assert!(out.status.success(), "ss: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sockets = BTreeMap::new();
    let mut port = None;
    for line in text.lines() {
        if !line.starts_with(char::is_whitespace) {
            // Recv-Q Send-Q Local:Port Peer:Port (the state is filtered away).
            port = line
                .split_whitespace()
                .nth(2)
                .and_then(|local| local.rsplit(':').next())
                .and_then(|p| p.parse::<u16>().ok());
            continue;
        }
        let Some(p) = port.take() else { continue };
        let mut info = SsInfo::default();
        for field in line.split_whitespace() {
            let Some((key, value)) = field.split_once(':') else {
                continue;
            };
            let number = |v: &str| v.parse::<u64>().unwrap_or(0);
            match key {
                "retrans" => {
                    info.total_retrans = value.split_once('/').map_or(0, |(_, t)| number(t))
                }
                "segs_out" => info.segs_out = number(value),
                "mss" => info.mss = number(value),
                "wscale" => {
                    if let Some((s, r)) = value.split_once(',') {
                        info.wscale = (number(s), number(r));
                    }
                }
                _ => {}
            }
        }
        sockets.insert(p, info);
    }
    sockets
}

fn number(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// Connections from this side to `to`, accepted on the peer's side: (ours, theirs).
fn connect(listener: &Sock, to: Ipv4Addr, n: usize) -> Vec<(Sock, Sock)> {
    (0..n)
        .map(|_| {
            let c = Sock::new(Family::V4);
            c.connect(SocketAddr::from((to, PORT)));
            (c, listener.accept())
        })
        .collect()
}

/// Writes until `stop` on one thread per socket, 16 KiB every 2 ms (8 MB/s): steady, and
/// gentle enough that neither side's queues overflow on a busy machine (drops there would be
/// retransmits on the clean path too).
fn keep_writing(socks: Vec<Arc<Sock>>, stop: &Arc<AtomicBool>) -> Vec<thread::JoinHandle<()>> {
    socks
        .into_iter()
        .map(|s| {
            let stop = Arc::clone(stop);
            thread::spawn(move || {
                let buf = [0x5au8; 16384];
                while !stop.load(Ordering::Relaxed) {
                    let sent = rustix::net::send(&*s, &buf, rustix::net::SendFlags::NOSIGNAL);
                    if sent.is_err_and(|e| e != rustix::io::Errno::INTR) {
                        return;
                    }
                    thread::sleep(Duration::from_millis(2));
                }
            })
        })
        .collect()
}

/// Reads and discards until `stop` (or end of stream) on one thread per socket.
fn keep_reading(socks: Vec<Arc<Sock>>, stop: &Arc<AtomicBool>) -> Vec<thread::JoinHandle<()>> {
    socks
        .into_iter()
        .map(|s| {
            let stop = Arc::clone(stop);
            thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    match rustix::io::read(&*s, &mut buf) {
                        Ok(0) => return,
                        Ok(_) | Err(rustix::io::Errno::INTR) => {}
                        Err(_) => return,
                    }
                }
            })
        })
        .collect()
}

fn findings<'v>(doc: &'v Value, check: &str) -> Vec<&'v Value> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

/// The finding of `check` about peer `peer`, if any.
fn about_peer<'v>(doc: &'v Value, check: &str, peer: Ipv4Addr) -> Option<&'v Value> {
    findings(doc, check).into_iter().find(|f| {
        f["subject"]["kind"] == "peer" && f["subject"]["remote_address"] == peer.to_string()
    })
}

fn health_row(doc: &Value, peer: Ipv4Addr) -> Option<Value> {
    doc["groups"]
        .as_array()?
        .iter()
        .find(|g| g["peer"] == peer.to_string())
        .cloned()
}

#[test]
fn loss_zero_windows_and_stalls_between_two_namespaces() {
    let _serial = serial();
    if let Err(why) = netns::netns_available() {
        skip(format!("connection health over a veth: {why}"));
        return;
    }
    if !nft_installed() {
        skip("connection health over a veth: nft (nftables) is not installed");
        return;
    }
    if !ss_for("connection health over a veth") {
        return;
    }
    netns::in_private_netns(scenario);
}

fn scenario() {
    let peer = PeerNetns::new();
    netns::veth(&peer, HERE, &[LOSSY, CLEAN, SLOW, SILENT]);
    // Loss on the path to LOSSY only: the peer's kernel never sees a fifth of what is sent
    // to it, so this side retransmits (dropped on arrival, not on the way out: a packet
    // dropped by this side's own filter is an error to its sender, not a loss).
    let filtered = peer.run(|| {
        nft_apply(&format!(
            "table inet tcpstat_health {{
               chain arrive {{
                 type filter hook prerouting priority -150; policy accept;
                 ip daddr {LOSSY} tcp dport {PORT} numgen random mod 100 < 20 drop
               }}
             }}"
        ))
    });
    assert!(filtered, "nft was found a moment ago");
    let listeners: Vec<Sock> = peer.run(|| {
        [LOSSY, CLEAN, SLOW, SILENT]
            .iter()
            .map(|&a| {
                let l = Sock::new(Family::V4);
                if a == SLOW {
                    // Inherited by the accepted socket: its window closes after a few KiB.
                    l.set_rcvbuf(4096);
                }
                l.bind(SocketAddr::from((a, PORT))).expect("bind");
                l.listen(16);
                l
            })
            .collect()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let mut keep: Vec<Arc<Sock>> = Vec::new();

    // Bulk traffic to LOSSY and CLEAN, two connections each, read on the other side.
    for (i, to) in [(0, LOSSY), (1, CLEAN)] {
        let pairs = connect(&listeners[i], to, 2);
        let (ours, theirs): (Vec<_>, Vec<_>) = pairs
            .into_iter()
            .map(|(a, b)| (Arc::new(a), Arc::new(b)))
            .unzip();
        threads.extend(keep_writing(ours.clone(), &stop));
        threads.extend(keep_reading(theirs.clone(), &stop));
        keep.extend(ours.into_iter().chain(theirs));
    }
    // SLOW: filled until it advertises a zero window, never read.
    let (slow_ours, slow_theirs) = connect(&listeners[2], SLOW, 1).remove(0);
    slow_ours.set_nonblocking();
    slow_ours.fill_peer_window();
    // SILENT: three connections carry data (read on the other side), then the peer drops
    // everything sent to that address.
    let silent = connect(&listeners[3], SILENT, 3);
    for (ours, theirs) in &silent {
        rustix::net::send(ours, &[1u8; 4096], rustix::net::SendFlags::NOSIGNAL).expect("send");
        let mut buf = [0u8; 4096];
        let mut got = 0;
        while got < buf.len() {
            got += rustix::io::read(theirs, &mut buf[got..]).expect("read");
        }
    }
    peer.run(|| {
        let added = Command::new("nft")
            .args([
                "add",
                "rule",
                "inet",
                "tcpstat_health",
                "arrive",
                "ip",
                "daddr",
                &SILENT.to_string(),
                "drop",
            ])
            .status()
            .expect("nft");
        assert!(added.success(), "nft add rule");
    });
    let mut silent_ours = Vec::new();
    let mut silent_theirs = Vec::new();
    for (i, (ours, theirs)) in silent.into_iter().enumerate() {
        ours.set_nonblocking();
        rustix::net::send(&ours, &[2u8; 8192], rustix::net::SendFlags::NOSIGNAL).expect("queued");
        silent_theirs.push(theirs);
        if i == 0 {
            silent_ours.push(ours);
        } else {
            // FIN_WAIT_1 behind unacknowledged data, retransmitting into the void.
            ours.close_gracefully();
        }
    }
    let syn_sent: Vec<Sock> = (0..2)
        .map(|_| {
            let s = Sock::new(Family::V4);
            s.connect_nonblocking(SocketAddr::from((SILENT, PORT)));
            s
        })
        .collect();

    // 1. The lossy peer's sockets retransmit, the clean peer's (far) less; tcpstat's numbers
    //    are bracketed by ss's just before and just after.
    let lossy_total = wait_until("retransmits on the lossy peer's sockets", LONG, || {
        let ours = our_info(LOSSY);
        let total: u64 = ours
            .values()
            .map(|i| number(i, "total_retrans_segments"))
            .sum();
        if ours.len() == 2 && total >= 20 {
            Ok(total)
        } else {
            Err(format!("{} sockets, {total} retransmits", ours.len()))
        }
    });
    let clean_total: u64 = our_info(CLEAN)
        .values()
        .map(|i| number(i, "total_retrans_segments"))
        .sum();
    assert!(
        clean_total * 10 < lossy_total,
        "the clean peer retransmitted {clean_total}, the lossy one {lossy_total}"
    );
    for peer_address in [LOSSY, CLEAN] {
        let before = ss_info(peer_address);
        let ours = our_info(peer_address);
        let after = ss_info(peer_address);
        assert_eq!(ours.len(), 2, "two connections to {peer_address}: {ours:?}");
        for (port, info) in &ours {
            let (b, a) = (before[port], after[port]);
            for (what, key, lo, hi) in [
                (
                    "total retransmits",
                    "total_retrans_segments",
                    b.total_retrans,
                    a.total_retrans,
                ),
                ("segments sent", "segs_out", b.segs_out, a.segs_out),
            ] {
                let v = number(info, key);
                assert!(
                    lo <= v && v <= hi,
                    "{peer_address} port {port}: {what}: ss {lo} then {hi}, tcpstat {v} between"
                );
            }
            assert_eq!(number(info, "mss_bytes"), b.mss, "mss, port {port}");
            assert_eq!(
                (number(info, "snd_wscale"), number(info, "rcv_wscale")),
                b.wscale,
                "wscale, port {port}"
            );
        }
    }

    // 2. health --by peer: the lossy peer retransmits, the slow one has a zero window, the
    //    silent one stalls (after 5 s without an acknowledgement).
    let health = wait_until(
        "health --by peer to see every kind of trouble",
        LONG,
        || {
            let doc = tcpstat_json(&["health", "--by", "peer", "--json"]);
            let row = |p| health_row(&doc, p).ok_or(format!("no row for {p}: {doc}"));
            let (lossy, clean) = (row(LOSSY)?, row(CLEAN)?);
            let (slow, silent) = (row(SLOW)?, row(SILENT)?);
            // The open connection and the two closing ones; not the two connects waiting in
            // SYN_SENT (nothing was ever acknowledged on them: that is no stall).
            if number(&silent, "stalled_sockets") != 3 {
                return Err(format!("{SILENT}: not (only) the 3 stalled yet: {silent}"));
            }
            Ok((lossy, clean, slow, silent))
        },
    );
    let (lossy, clean, slow, silent) = health;
    assert_eq!(number(&silent, "zero_window_sockets"), 0, "{silent}");
    assert!(number(&lossy, "retransmitted_segments") >= lossy_total);
    assert!(
        number(&clean, "retransmitted_segments") * 10 < number(&lossy, "retransmitted_segments"),
        "clean {clean} lossy {lossy}"
    );
    assert_eq!(number(&slow, "zero_window_sockets"), 1, "{slow}");

    // 3. doctor names them: the lossy peer as retransmitting (not the clean one), the slow
    //    receiver's peer with a zero window and the process writing to it (this test), the
    //    silent peer stalled and with unanswered SYNs and FINs.
    let me = u64::from(std::process::id());
    let levels = [
        "--threshold",
        "ZERO_WINDOW=1",
        "--threshold",
        "STALLED=1",
        "--threshold",
        "UNANSWERED=2",
    ];
    let doc = wait_until("doctor to name every peer in trouble", LONG, || {
        let mut args = vec!["doctor", "--json"];
        args.extend(levels);
        let doc = tcpstat_json(&args);
        let unanswered = about_peer(&doc, "unanswered", SILENT)
            .ok_or_else(|| format!("no unanswered finding for {SILENT}"))?;
        if unanswered["evidence"]["numbers"]["syn_sent"] != 2
            || unanswered["evidence"]["numbers"]["fin_wait_1"] != 2
        {
            return Err(format!("not yet both states: {unanswered}"));
        }
        about_peer(&doc, "stalled", SILENT).ok_or("not stalled yet")?;
        Ok(doc)
    });
    let lossy_finding = about_peer(&doc, "retransmits", LOSSY).expect("the lossy peer named");
    assert!(
        ["warning", "critical"].contains(&lossy_finding["severity"].as_str().unwrap_or("")),
        "{lossy_finding}"
    );
    assert!(number(lossy_finding, "value") > 0);
    assert!(
        about_peer(&doc, "retransmits", CLEAN).is_none(),
        "the clean peer is not named: {doc}"
    );
    let zero = about_peer(&doc, "zero_window", SLOW).expect("the slow receiver's peer named");
    assert_eq!(zero["severity"], "warning", "{zero}");
    assert!(
        zero["evidence"]["processes"]
            .as_array()
            .expect("processes")
            .iter()
            .any(|p| p["pid"] == me),
        "the writing process (this test, pid {me}) named: {zero}"
    );
    let stalled = about_peer(&doc, "stalled", SILENT).expect("stalled");
    assert_eq!(
        stalled["value"], 3,
        "the open connection and the two closing ones: {stalled}"
    );
    assert_eq!(
        stalled["evidence"]["processes"][0]["total"], 1,
        "only the open one has a process: {stalled}"
    );
    assert!(number(&stalled["evidence"]["numbers"], "longest_ack_wait_ms") >= 5000);
    for (check, quiet) in [("zero_window", LOSSY), ("stalled", CLEAN)] {
        assert!(about_peer(&doc, check, quiet).is_none(), "{check} {quiet}");
    }
    // The same in words.
    let mut args = vec!["doctor"];
    args.extend(levels);
    let text = String::from_utf8_lossy(&run(&args).stdout).into_owned();
    for want in [
        format!("peer {LOSSY}: "),
        format!("peer {SLOW} advertises a zero window on 1 connection"),
        format!("peer {SILENT}: 3 connections stalled"),
    ] {
        assert!(text.contains(&want), "{want:?} in:\n{text}");
    }

    // 4. From the peer's side: the process not reading its full receive queue is named.
    let theirs_doc =
        peer.run(|| tcpstat_json(&["doctor", "--json", "--threshold", "RECV_QUEUE=1"]));
    let recv = findings(&theirs_doc, "recv_queue");
    let named = recv
        .iter()
        .find(|f| f["subject"]["kind"] == "process" && f["subject"]["pid"] == me)
        .unwrap_or_else(|| panic!("pid {me} named for not reading: {recv:?}"));
    assert_eq!(named["severity"], "warning");
    assert_eq!(
        named["evidence"]["remotes"][0]["remote_address"],
        HERE.to_string()
    );
    assert!(number(&named["evidence"]["numbers"], "recv_queue_bytes") > 0);

    // 5. /proc has no tcp_info: those checks are not judged, never ok.
    let proc_doc = tcpstat_json(&["doctor", "--json", "--source", "proc"]);
    for check in [
        "retransmits",
        "unanswered",
        "zero_window",
        "stalled",
        "recv_queue",
        "rtt_outlier",
    ] {
        assert!(
            findings(&proc_doc, check).is_empty(),
            "{check} judged from /proc"
        );
        let why = proc_doc["not_checked"]
            .as_array()
            .expect("not_checked")
            .iter()
            .find(|n| n["check"] == check)
            .unwrap_or_else(|| panic!("{check} not listed as not checked"));
        assert!(
            why["reason"]
                .as_str()
                .is_some_and(|r| r.contains("not judged")),
            "{why}"
        );
    }

    // Tear down: wake every reader and writer, then abort every connection (Sock's drop).
    stop.store(true, Ordering::Relaxed);
    for s in &keep {
        let _ = rustix::net::shutdown(&**s, rustix::net::Shutdown::Both);
    }
    for t in threads {
        let _ = t.join();
    }
    drop((
        slow_ours,
        slow_theirs,
        silent_ours,
        silent_theirs,
        syn_sent,
        keep,
    ));
    // The orphans toward SILENT have no descriptor to abort: destroy them (SOCK_DESTROY).
    let _ = Command::new("ss")
        .args(["-K", "-tan", "dst", &SILENT.to_string()])
        .output();
    drop(listeners);
}
