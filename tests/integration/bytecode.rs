//! The sock_diag bytecode on the live kernel: with port and address filters pushed into the
//! request, the kernel must send exactly the sockets `Filter::matches` keeps, no more (the
//! dump's `DumpStats::sockets` counts everything it sent) and no fewer (compared with a model
//! of the sockets the test opened, with a dump without bytecode, and with `ss`).
//!
//! Isolation: as root the scenario runs on a thread that has moved itself into a fresh network
//! namespace (`unshare(CLONE_NEWNET)`, loopback brought up with `ip`), where the test's sockets
//! are the whole table and every comparison is exact. Otherwise (a skip of the exact checks,
//! a failure under CI) it runs in the caller's namespace, where other sockets may exist: then
//! the test's own sockets must all be found and everything the kernel sends must pass the
//! filter, but foreign sockets are tolerated.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::thread;
use std::time::{Duration, Instant};

use tcpstat::collect::bytecode;
use tcpstat::collect::netlink::{DumpStats, NetlinkSource};
use tcpstat::model::Sink;
use tcpstat::model::{
    Cidr, Family, Filter, KernelState, PortSet, SocketRecord, StateSet, TcpState,
};

use crate::util::netns::{enter_private_netns, netns_available};
use crate::util::ss::{ss_for, ss_lines};
use crate::util::{serial, skip};

#[derive(Default)]
struct Collect(Vec<SocketRecord>);

impl Sink for Collect {
    fn record(&mut self, record: &SocketRecord) {
        self.0.push(*record);
    }
    fn reset(&mut self) -> bool {
        self.0.clear();
        true
    }
}

/// A socket as the comparisons see it.
type Key = (Family, String, IpAddr, u16, IpAddr, u16);

fn key(r: &SocketRecord) -> Key {
    (
        r.family,
        r.state.to_string(),
        r.local,
        r.local_port,
        r.remote,
        r.remote_port,
    )
}

fn dump(
    source: &mut NetlinkSource,
    filter: &Filter,
    family: Family,
) -> (DumpStats, Vec<SocketRecord>) {
    let mut sink = Collect::default();
    let stats = source
        .dump(family, filter, &mut sink)
        .expect("netlink dump");
    (stats, sink.0)
}

/// Moves the calling thread into a new network namespace with loopback up. False when that is
/// not possible (not root, no `ip`: a skip of the exact checks): the caller stays where it
/// was.
fn private_netns() -> bool {
    match netns_available() {
        Ok(()) => {
            enter_private_netns();
            true
        }
        Err(why) => {
            skip(format!(
                "exact comparisons in a private network namespace ({why}): foreign sockets \
                 tolerated"
            ));
            false
        }
    }
}

/// A TCP socket bound to `127.0.0.1:0` that never listens or connects: the kernel reports it
/// as CLOSED, and only to dumps asking for `TCP_BOUND_INACTIVE`.
fn bound_inactive() -> (OwnedFd, u16) {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let fd = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .expect("socket");
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    rustix::net::bind(&fd, &addr).expect("bind");
    // getsockname through std: a TcpListener over the same socket (it is not listening).
    let port = TcpListener::from(fd.try_clone().expect("dup"))
        .local_addr()
        .expect("getsockname")
        .port();
    (fd, port)
}

/// Everything the scenario opened, and the records the kernel should report for them.
struct Scenario {
    /// Listener on 127.0.0.1, IPv6 listener on ::1, dual-stack listener on [::], bound socket.
    p4: u16,
    p6: Option<u16>,
    pd: u16,
    pb: u16,
    /// Ephemeral port of the first client connected to `p4`.
    e1: u16,
    model: Vec<SocketRecord>,
    // Kept open for the test's duration.
    _sockets: Vec<TcpStream>,
    _listeners: Vec<TcpListener>,
    _bound: OwnedFd,
}

fn rec(state: TcpState, local: SocketAddr, remote: SocketAddr) -> SocketRecord {
    let family = if local.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    };
    let mut r = SocketRecord::empty(family, KernelState::Known(state));
    (r.local, r.local_port) = (local.ip(), local.port());
    (r.remote, r.remote_port) = (remote.ip(), remote.port());
    r
}

fn mapped(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port()),
        v6 => v6,
    }
}

fn connect_pairs(
    listener: &TcpListener,
    to: SocketAddr,
    n: usize,
    model: &mut Vec<SocketRecord>,
    sockets: &mut Vec<TcpStream>,
    map_server_side: bool,
) {
    for _ in 0..n {
        let client = TcpStream::connect(to).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        let (c_local, c_peer) = (
            client.local_addr().expect("addr"),
            client.peer_addr().expect("addr"),
        );
        model.push(rec(TcpState::Established, c_local, c_peer));
        let (s_local, s_peer) = (
            server.local_addr().expect("addr"),
            server.peer_addr().expect("addr"),
        );
        if map_server_side {
            // std shows a v4-mapped peer as IPv4; the kernel reports the AF_INET6 socket's
            // own addresses, ::ffff:a.b.c.d.
            model.push(rec(TcpState::Established, mapped(s_local), mapped(s_peer)));
        } else {
            model.push(rec(TcpState::Established, s_local, s_peer));
        }
        sockets.push(client);
        sockets.push(server);
    }
}

fn scenario(source: &mut NetlinkSource, exact: bool) -> Scenario {
    let mut model = Vec::new();
    let mut sockets = Vec::new();
    let mut listeners = Vec::new();

    let l4 = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let a4 = l4.local_addr().expect("addr");
    model.push(rec(
        TcpState::Listen,
        a4,
        "0.0.0.0:0".parse().expect("addr"),
    ));
    connect_pairs(&l4, a4, 3, &mut model, &mut sockets, false);
    let e1 = sockets[0].local_addr().expect("addr").port();

    let l6 = TcpListener::bind("[::1]:0").ok();
    let p6 = l6.as_ref().map(|l6| {
        let a6 = l6.local_addr().expect("addr");
        model.push(rec(TcpState::Listen, a6, "[::]:0".parse().expect("addr")));
        connect_pairs(l6, a6, 3, &mut model, &mut sockets, false);
        a6.port()
    });

    // Dual-stack: IPv4 clients make AF_INET6 server sockets with v4-mapped addresses.
    let ld = TcpListener::bind("[::]:0").expect("bind [::]");
    let pd = ld.local_addr().expect("addr").port();
    model.push(rec(
        TcpState::Listen,
        ld.local_addr().expect("addr"),
        "[::]:0".parse().expect("addr"),
    ));
    let to = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), pd);
    connect_pairs(&ld, to, 3, &mut model, &mut sockets, true);

    let (bound, pb) = bound_inactive();
    model.push(rec(
        TcpState::Closed,
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), pb),
        "0.0.0.0:0".parse().expect("addr"),
    ));

    // Two clients of l4 closed first: they end in TIME_WAIT (an inet_timewait_sock).
    for _ in 0..2 {
        let client = TcpStream::connect(a4).expect("connect");
        let (mut server, _) = l4.accept().expect("accept");
        model.push(rec(
            TcpState::TimeWait,
            client.local_addr().expect("addr"),
            client.peer_addr().expect("addr"),
        ));
        client.shutdown(Shutdown::Both).expect("shutdown");
        let mut rest = Vec::new();
        server
            .read_to_end(&mut rest)
            .expect("read to the client's FIN");
        drop(server);
        drop(client);
    }
    listeners.extend([l4, ld]);
    listeners.extend(l6);

    let scenario = Scenario {
        p4: a4.port(),
        p6,
        pd,
        pb,
        e1,
        model,
        _sockets: sockets,
        _listeners: listeners,
        _bound: bound,
    };
    // Wait until the kernel shows every modelled socket (the TIME_WAIT ones take an RTT or two)
    // and, in a private namespace, nothing else (the closed servers' LAST_ACK is gone).
    let want: BTreeSet<Key> = scenario.model.iter().map(key).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut seen = BTreeSet::new();
        for family in Family::ALL {
            seen.extend(dump(source, &Filter::default(), family).1.iter().map(key));
        }
        let missing: Vec<_> = want.difference(&seen).collect();
        let extra: Vec<_> = seen.difference(&want).collect();
        if missing.is_empty() && (extra.is_empty() || !exact) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the kernel never showed {missing:?} / still shows {extra:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
    scenario
}

/// One filter, as the CLI would build it from `--port/--sport/--dport/--src/--dst` values.
fn filter(spec: &[(&str, String)]) -> Filter {
    let mut f = Filter::default();
    for (flag, value) in spec {
        let cidrs = || {
            value
                .split(',')
                .map(|c| Cidr::parse(c).expect("cidr"))
                .collect()
        };
        match *flag {
            "port" => f.any_port = PortSet::parse(value).expect("ports"),
            "sport" => f.local_port = PortSet::parse(value).expect("ports"),
            "dport" => f.remote_port = PortSet::parse(value).expect("ports"),
            "src" => f.local_addr = cidrs(),
            "dst" => f.remote_addr = cidrs(),
            "state" => f.states = StateSet::parse_list(value).expect("states"),
            other => panic!("unknown flag {other}"),
        }
    }
    f
}

/// Dumps both families with `f` (bytecode on) and checks the result; returns what was sent.
fn check(source: &mut NetlinkSource, s: &Scenario, f: &Filter, exact: bool, label: &str) -> usize {
    let mut sent = 0;
    for family in Family::ALL {
        let (stats, got) = dump(source, f, family);
        // No more: everything the kernel sent passed the user-space filter.
        assert_eq!(
            stats.sockets,
            got.len() as u64,
            "{label} {family:?}: the kernel sent sockets the filter rejects"
        );
        sent += got.len();
        let got: BTreeSet<Key> = got.iter().map(key).collect();
        let want: BTreeSet<Key> = s
            .model
            .iter()
            .filter(|r| r.family == family && f.matches(r))
            .map(key)
            .collect();
        if exact {
            assert_eq!(got, want, "{label} {family:?}");
            // The same as filtering a dump without bytecode in user space.
            let all = Filter {
                states: f.states,
                ..Filter::default()
            };
            assert_eq!(bytecode::compile(&all, family), None);
            let (plain_stats, plain) = dump(source, &all, family);
            let plain: BTreeSet<Key> = plain.iter().filter(|r| f.matches(r)).map(key).collect();
            assert_eq!(got, plain, "{label} {family:?}: with and without bytecode");
            if bytecode::compile(f, family).is_some() {
                assert!(
                    stats.sockets <= plain_stats.sockets,
                    "{label} {family:?}: the bytecode made the dump bigger"
                );
            }
        } else {
            let missing: Vec<_> = want.difference(&got).collect();
            assert!(
                missing.is_empty(),
                "{label} {family:?}: missing {missing:?}"
            );
        }
    }
    sent
}

fn run_scenario(exact: bool) {
    let mut source = NetlinkSource::open().expect("netlink socket");
    let s = scenario(&mut source, exact);
    let (p4, pd, pb, e1) = (s.p4, s.pd, s.pb, s.e1);
    let lo = p4.min(pd).min(pb);
    let hi = p4.max(pd).max(pb);
    let mut cases: Vec<Vec<(&str, String)>> = vec![
        vec![("sport", p4.to_string())],
        vec![("dport", p4.to_string())],
        vec![("port", p4.to_string())],
        vec![("sport", format!("{lo}-{hi}"))],
        vec![("port", format!("{p4},{pd}")), ("dport", format!("1-{hi}"))],
        vec![("dport", e1.to_string())],
        vec![("port", "0".into())],
        vec![("port", "65535".into())],
        vec![("sport", "1-65535".into()), ("dport", "0".into())],
        // The bound-inactive socket, alone, and excluded by an address it does not have.
        vec![("sport", pb.to_string())],
        vec![("sport", pb.to_string()), ("src", "127.0.0.2".into())],
        vec![("src", "127.0.0.1".into()), ("sport", format!("{pb},{p4}"))],
        // IPv4 networks match v4-mapped addresses on IPv6 sockets, on both sides.
        vec![
            ("dst", "127.0.0.0/8".into()),
            ("port", format!("{p4},{pd}")),
        ],
        vec![("src", "127.0.0.1".into()), ("sport", pd.to_string())],
        vec![("src", "0.0.0.0/0".into()), ("sport", pd.to_string())],
        vec![
            ("src", "::ffff:127.0.0.1".into()),
            ("sport", pd.to_string()),
        ],
        vec![("src", "::/0".into()), ("sport", pd.to_string())],
        vec![
            ("src", "::ffff:0:0/96,10.0.0.0/8".into()),
            ("port", pd.to_string()),
        ],
        vec![("dst", "10.0.0.0/8".into())],
        vec![("state", "time-wait".into()), ("dport", p4.to_string())],
        vec![
            ("state", "listen,closed".into()),
            ("sport", format!("{lo}-{hi}")),
        ],
    ];
    if let Some(p6) = s.p6 {
        cases.push(vec![("src", "::1".into()), ("port", p6.to_string())]);
        cases.push(vec![
            ("dst", "::1/128,127.0.0.1".into()),
            ("dport", format!("{p6},{p4}")),
        ]);
        cases.push(vec![("sport", format!("{}-{}", p6.min(pd), p6.max(pd)))]);
    }
    for spec in &cases {
        let f = filter(spec);
        check(&mut source, &s, &f, exact, &format!("{spec:?}"));
    }
    // The selective filters really were pushed down: the kernel sent one socket.
    let one = filter(&[("dport", e1.to_string())]);
    assert!(bytecode::compile(&one, Family::V4).is_some());
    assert_eq!(check(&mut source, &s, &one, exact, "dport e1"), 1);
    compare_with_ss(&mut source, &s, exact);
}

/// `ss -tanH FILTER` lists the same sockets as our dumps (ss 6.1 never asks for bound-inactive
/// sockets, so CLOSED ones are left out of the comparison).
fn compare_with_ss(source: &mut NetlinkSource, s: &Scenario, exact: bool) {
    if !ss_for("the comparison of the bytecode dumps with ss") {
        return;
    }
    let (p4, pd) = (s.p4, s.pd);
    let cases = [
        (
            format!("( sport = :{p4} )"),
            filter(&[("sport", p4.to_string())]),
        ),
        (
            format!("( dport = :{p4} )"),
            filter(&[("dport", p4.to_string())]),
        ),
        (
            format!("( sport = :{pd} or dport = :{pd} )"),
            filter(&[("port", pd.to_string())]),
        ),
        (
            format!("( src 127.0.0.1 and sport = :{pd} )"),
            filter(&[("src", "127.0.0.1".into()), ("sport", pd.to_string())]),
        ),
    ];
    for (expr, f) in cases {
        let lines = ss_lines(&expr);
        let ss_count = lines.lines().filter(|l| !l.trim().is_empty()).count();
        let mut ours = 0;
        for family in Family::ALL {
            let (_, got) = dump(source, &f, family);
            ours += got
                .iter()
                .filter(|r| r.state != KernelState::Known(TcpState::Closed))
                .count();
        }
        if exact {
            assert_eq!(ours, ss_count, "ss {expr}:\n{lines}");
        } else {
            assert!(ss_count > 0 && ours > 0, "ss {expr}:\n{lines}");
        }
    }
}

#[test]
fn the_kernel_sends_exactly_the_matching_sockets() {
    let _serial = serial();
    thread::spawn(|| {
        let exact = private_netns();
        run_scenario(exact);
    })
    .join()
    .expect("scenario thread");
}

#[test]
fn an_impossible_family_sends_nothing() {
    let _serial = serial();
    // IPv6 networks on an IPv4 dump: one JMP past the end, and the kernel sends no socket
    // even though loopback listeners exist.
    let _listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut source = NetlinkSource::open().expect("netlink socket");
    let f = Filter {
        local_addr: vec![
            Cidr::parse("::1").expect("cidr"),
            Cidr::parse("2001:db8::/32").expect("cidr"),
        ],
        ..Filter::default()
    };
    let (stats, got) = dump(&mut source, &f, Family::V4);
    assert_eq!((stats.sockets, got.len()), (0, 0));
    let (all, _) = dump(&mut source, &Filter::default(), Family::V4);
    assert!(all.sockets > 0, "the listener is there without the filter");
}

/// `cargo test --test integration -- --ignored --nocapture bytecode::measure`: dump time for
/// `--dport P` on a table of a few thousand sockets, with the bytecode and with user-space
/// filtering only.
#[test]
#[ignore = "a measurement, not a check"]
fn measure_dport_dump_time() {
    let _serial = serial();
    thread::spawn(|| {
        let exact = private_netns();
        let mut source = NetlinkSource::open().expect("netlink socket");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut keep = Vec::new();
        for _ in 0..2500 {
            keep.push(TcpStream::connect(addr).expect("connect"));
            keep.push(listener.accept().expect("accept").0);
        }
        let target = keep[0].local_addr().expect("addr").port();
        let with = filter(&[("dport", target.to_string())]);
        let without = Filter::default();
        let mut time = |f: &Filter, user: &Filter| {
            let mut runs = Vec::new();
            let mut sent = 0;
            let mut kept = 0;
            for _ in 0..41 {
                let start = Instant::now();
                let (stats, got) = dump(&mut source, f, Family::V4);
                kept = got.iter().filter(|r| user.matches(r)).count();
                runs.push(start.elapsed());
                sent = stats.sockets;
            }
            runs.sort();
            (runs[runs.len() / 2], sent, kept)
        };
        let (t_with, sent_with, kept_with) = time(&with, &with);
        let (t_without, sent_without, kept_without) = time(&without, &with);
        println!(
            "private netns: {exact}; {} sockets; --dport {target}: bytecode {:?} ({sent_with} \
             sent, {kept_with} kept), user space only {:?} ({sent_without} sent, {kept_without} \
             kept)",
            keep.len() + 1,
            t_with,
            t_without
        );
        assert_eq!(kept_with, kept_without);
    })
    .join()
    .expect("measurement thread");
}
