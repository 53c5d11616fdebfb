//! The eleven TCP states, how the kernel numbers them, and how people spell them.
//!
//! Owns: the [`TcpState`] enum, the mapping from every kernel state value (0-255) to a state or
//! an explicit unknown, the forgiving name parser (ss, netstat and RFC 793 spellings, plus the
//! ss groups) and [`StateSet`], a bitmask of states. No I/O here.

use std::fmt;

/// One of the eleven TCP states, in lifecycle order (the order every output uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TcpState {
    Listen,
    SynSent,
    SynRecv,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
    Closed,
}

/// What a kernel state value means to us: one of the eleven states, or a value we do not know.
///
/// Unknown values are never dropped: they are counted in their own bucket with the raw value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelState {
    Known(TcpState),
    Unknown(u8),
}

impl TcpState {
    /// All eleven states in lifecycle order.
    pub const ALL: [TcpState; 11] = [
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::Closing,
        TcpState::LastAck,
        TcpState::TimeWait,
        TcpState::Closed,
    ];

    /// Position in [`TcpState::ALL`]; used to index per-state arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The canonical name used in every output (tables, JSON, metrics).
    pub const fn name(self) -> &'static str {
        match self {
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN_WAIT_1",
            TcpState::FinWait2 => "FIN_WAIT_2",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Closed => "CLOSED",
        }
    }

    /// The name as people type it: lower case, words joined by `-` (`close-wait`,
    /// `fin-wait-1`), as ss(8) and tcpstat's examples spell it. What shell completion offers;
    /// [`TcpState::parse`] reads it back.
    pub const fn typed_name(self) -> &'static str {
        match self {
            TcpState::Listen => "listen",
            TcpState::SynSent => "syn-sent",
            TcpState::SynRecv => "syn-recv",
            TcpState::Established => "established",
            TcpState::FinWait1 => "fin-wait-1",
            TcpState::FinWait2 => "fin-wait-2",
            TcpState::CloseWait => "close-wait",
            TcpState::Closing => "closing",
            TcpState::LastAck => "last-ack",
            TcpState::TimeWait => "time-wait",
            TcpState::Closed => "closed",
        }
    }

    /// Maps a state value reported by the kernel (sock_diag `idiag_state` or the `st` column of
    /// `/proc/net/tcp`) onto a state.
    ///
    /// 1-11 are `include/net/tcp_states.h`. 12 (`TCP_NEW_SYN_RECV`, a request socket) is reported
    /// as 3 by current kernels but is a SYN_RECV either way. 13 (`TCP_BOUND_INACTIVE`) is a
    /// socket that is only bound; the kernel reports those as 7 (CLOSE), and a 13 would mean the
    /// same thing. Everything else is unknown and kept with its raw value.
    pub const fn from_kernel(value: u8) -> KernelState {
        let state = match value {
            1 => TcpState::Established,
            2 => TcpState::SynSent,
            3 | 12 => TcpState::SynRecv,
            4 => TcpState::FinWait1,
            5 => TcpState::FinWait2,
            6 => TcpState::TimeWait,
            7 | 13 => TcpState::Closed,
            8 => TcpState::CloseWait,
            9 => TcpState::LastAck,
            10 => TcpState::Listen,
            11 => TcpState::Closing,
            other => return KernelState::Unknown(other),
        };
        KernelState::Known(state)
    }

    /// The kernel's request bits (`1 << TCP_*`) that select this state in a sock_diag dump.
    ///
    /// SYN_RECV also asks for `TCP_NEW_SYN_RECV` (12) so request sockets are included; CLOSED
    /// asks for `TCP_BOUND_INACTIVE` (13), without which bound-only sockets are never dumped.
    pub const fn kernel_mask(self) -> u32 {
        match self {
            TcpState::Established => 1 << 1,
            TcpState::SynSent => 1 << 2,
            TcpState::SynRecv => (1 << 3) | (1 << 12),
            TcpState::FinWait1 => 1 << 4,
            TcpState::FinWait2 => 1 << 5,
            TcpState::TimeWait => 1 << 6,
            TcpState::Closed => (1 << 7) | (1 << 13),
            TcpState::CloseWait => 1 << 8,
            TcpState::LastAck => 1 << 9,
            TcpState::Listen => 1 << 10,
            TcpState::Closing => 1 << 11,
        }
    }

    /// Parses one state name, forgivingly: case-insensitive, with `-`, `_` or nothing between
    /// words, in the spellings of ss, netstat and RFC 793. What is not forgiven: a separator
    /// that is not between two words (`time_wait_`, `-listen`), two in a row, and spaces
    /// (`close wait`: a quoting slip, not a spelling). Groups are handled by
    /// [`StateSet::parse`].
    pub fn parse(name: &str) -> Option<TcpState> {
        let well_formed = name
            .split(['-', '_'])
            .all(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric()));
        if !well_formed {
            return None;
        }
        let key: String = name
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let state = match key.as_str() {
            "listen" | "listening" => TcpState::Listen,
            "synsent" => TcpState::SynSent,
            "synrecv" | "synrcvd" | "synrcv" | "synreceived" => TcpState::SynRecv,
            "established" | "estab" => TcpState::Established,
            "finwait1" => TcpState::FinWait1,
            "finwait2" => TcpState::FinWait2,
            "closewait" => TcpState::CloseWait,
            "closing" => TcpState::Closing,
            "lastack" => TcpState::LastAck,
            "timewait" => TcpState::TimeWait,
            "closed" | "close" | "unconn" | "unconnected" | "bound" | "boundinactive" => {
                TcpState::Closed
            }
            _ => return None,
        };
        Some(state)
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for KernelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelState::Known(state) => state.fmt(f),
            KernelState::Unknown(value) => write!(f, "UNKNOWN({value})"),
        }
    }
}

/// A set of states, as a bitmask over [`TcpState::index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StateSet(u16);

/// The named groups accepted wherever a state name is, with their members (ss(8) definitions).
pub const GROUPS: [(&str, &str); 5] = [
    ("all", "all eleven states"),
    (
        "connected",
        "all but LISTEN and CLOSED (ss: every state except listening and closed)",
    ),
    ("synchronized", "connected states except SYN_SENT"),
    (
        "bucket",
        "SYN_RECV and TIME_WAIT (minisockets without an owner process)",
    ),
    ("big", "every state but those in bucket"),
];

impl StateSet {
    pub const EMPTY: StateSet = StateSet(0);
    pub const ALL: StateSet = StateSet((1 << 11) - 1);

    pub const fn of(state: TcpState) -> StateSet {
        StateSet(1 << state.index())
    }

    pub const fn contains(self, state: TcpState) -> bool {
        self.0 & (1 << state.index()) != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn union(self, other: StateSet) -> StateSet {
        StateSet(self.0 | other.0)
    }

    pub const fn intersect(self, other: StateSet) -> StateSet {
        StateSet(self.0 & other.0)
    }

    pub const fn without(self, other: StateSet) -> StateSet {
        StateSet(self.0 & !other.0)
    }

    /// The members in lifecycle order.
    pub fn iter(self) -> impl Iterator<Item = TcpState> {
        TcpState::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The sock_diag `idiag_states` request mask selecting exactly these states.
    pub fn kernel_mask(self) -> u32 {
        self.iter().fold(0, |mask, s| mask | s.kernel_mask())
    }

    /// Parses a state name or a group name (see [`GROUPS`]).
    pub fn parse(name: &str) -> Option<StateSet> {
        if let Some(state) = TcpState::parse(name) {
            return Some(StateSet::of(state));
        }
        let listen_closed = StateSet::of(TcpState::Listen).union(StateSet::of(TcpState::Closed));
        let bucket = StateSet::of(TcpState::SynRecv).union(StateSet::of(TcpState::TimeWait));
        match name.to_ascii_lowercase().as_str() {
            "all" => Some(StateSet::ALL),
            "connected" => Some(StateSet::ALL.without(listen_closed)),
            "synchronized" | "synchronised" => Some(
                StateSet::ALL
                    .without(listen_closed)
                    .without(StateSet::of(TcpState::SynSent)),
            ),
            "bucket" => Some(bucket),
            "big" => Some(StateSet::ALL.without(bucket)),
            _ => None,
        }
    }

    /// Parses a comma-separated list of names and groups; the error names the bad entry and
    /// lists what is valid.
    pub fn parse_list(list: &str) -> Result<StateSet, String> {
        let mut set = StateSet::EMPTY;
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match StateSet::parse(item) {
                Some(s) => set = set.union(s),
                None => return Err(unknown_state_message(item)),
            }
        }
        if set.is_empty() {
            return Err(format!("no state named in {list:?}\n\n{}", valid_names()));
        }
        Ok(set)
    }
}

fn unknown_state_message(item: &str) -> String {
    format!("unknown TCP state {item:?}\n\n{}", valid_names())
}

/// The help text listing every accepted name; used by usage errors.
pub fn valid_names() -> String {
    let states: Vec<&str> = TcpState::ALL.iter().map(|s| s.name()).collect();
    let groups: Vec<&str> = GROUPS.iter().map(|(g, _)| *g).collect();
    format!(
        "valid states: {}\nvalid groups: {}\n(case-insensitive; '-', '_' or nothing between words; \
         ss/netstat/RFC 793 spellings such as estab, syn-rcv, fin-wait1, timewait, close also work)",
        states.join(", "),
        groups.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_value_maps_without_panic_and_1_to_11_are_distinct() {
        let mut seen = StateSet::EMPTY;
        for value in 0..=255u8 {
            match TcpState::from_kernel(value) {
                KernelState::Known(state) => {
                    assert!(
                        matches!(value, 1..=13),
                        "value {value} must not be a known state"
                    );
                    if (1..=11).contains(&value) {
                        assert!(!seen.contains(state), "{state} mapped twice");
                        seen = seen.union(StateSet::of(state));
                    }
                }
                KernelState::Unknown(raw) => {
                    assert_eq!(raw, value);
                    assert!(value == 0 || value > 13, "value {value} should be known");
                }
            }
        }
        assert_eq!(seen, StateSet::ALL);
    }

    #[test]
    fn kernel_numbering_matches_tcp_states_h() {
        let expected = [
            (1, "ESTABLISHED"),
            (2, "SYN_SENT"),
            (3, "SYN_RECV"),
            (4, "FIN_WAIT_1"),
            (5, "FIN_WAIT_2"),
            (6, "TIME_WAIT"),
            (7, "CLOSED"),
            (8, "CLOSE_WAIT"),
            (9, "LAST_ACK"),
            (10, "LISTEN"),
            (11, "CLOSING"),
            (12, "SYN_RECV"),
            (13, "CLOSED"),
        ];
        for (value, name) in expected {
            assert_eq!(
                TcpState::from_kernel(value).to_string(),
                name,
                "value {value}"
            );
        }
        assert_eq!(TcpState::from_kernel(0).to_string(), "UNKNOWN(0)");
        assert_eq!(TcpState::from_kernel(14).to_string(), "UNKNOWN(14)");
        assert_eq!(TcpState::from_kernel(255).to_string(), "UNKNOWN(255)");
    }

    #[test]
    fn kernel_mask_round_trips_through_from_kernel() {
        for state in TcpState::ALL {
            let mask = state.kernel_mask();
            for bit in 0..32u8 {
                if mask & (1 << bit) != 0 {
                    assert_eq!(TcpState::from_kernel(bit), KernelState::Known(state));
                }
            }
        }
        assert_eq!(StateSet::ALL.kernel_mask(), 0x3ffe);
    }

    #[test]
    fn names_are_forgiving() {
        let cases = [
            ("close-wait", TcpState::CloseWait),
            ("CLOSE_WAIT", TcpState::CloseWait),
            ("closewait", TcpState::CloseWait),
            ("Close-Wait", TcpState::CloseWait),
            ("fin-wait-1", TcpState::FinWait1),
            ("FIN_WAIT1", TcpState::FinWait1),
            ("fin-wait-2", TcpState::FinWait2),
            ("syn-recv", TcpState::SynRecv),
            ("syn-rcv", TcpState::SynRecv),
            ("SYN_RECEIVED", TcpState::SynRecv),
            ("SYN-RCVD", TcpState::SynRecv),
            ("syn-sent", TcpState::SynSent),
            ("time-wait", TcpState::TimeWait),
            ("timewait", TcpState::TimeWait),
            ("estab", TcpState::Established),
            ("ESTABLISHED", TcpState::Established),
            ("close", TcpState::Closed),
            ("closed", TcpState::Closed),
            ("unconn", TcpState::Closed),
            ("unconnected", TcpState::Closed),
            ("bound-inactive", TcpState::Closed),
            ("BOUND_INACTIVE", TcpState::Closed),
            ("listen", TcpState::Listen),
            ("LISTENING", TcpState::Listen),
            ("last-ack", TcpState::LastAck),
            ("closing", TcpState::Closing),
        ];
        for (name, state) in cases {
            assert_eq!(TcpState::parse(name), Some(state), "{name}");
        }
        for state in TcpState::ALL {
            assert_eq!(TcpState::parse(state.name()), Some(state));
            assert_eq!(TcpState::parse(state.typed_name()), Some(state));
            assert_eq!(
                state.typed_name(),
                state.name().to_ascii_lowercase().replace('_', "-")
            );
        }
        for bad in [
            "",
            "bogus",
            "fin-wait",
            "wait",
            "close-waiting",
            "estab1",
            "close wait",
            "time_wait_",
            "-listen",
            "close--wait",
            " established",
        ] {
            assert_eq!(TcpState::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn groups_follow_ss() {
        let connected = StateSet::parse("connected").expect("group");
        assert!(!connected.contains(TcpState::Listen));
        assert!(!connected.contains(TcpState::Closed));
        assert!(connected.contains(TcpState::SynSent));
        assert_eq!(connected.iter().count(), 9);
        let sync = StateSet::parse("synchronized").expect("group");
        assert!(!sync.contains(TcpState::SynSent));
        assert_eq!(sync.iter().count(), 8);
        assert_eq!(StateSet::parse("ALL"), Some(StateSet::ALL));
        let bucket = StateSet::parse("bucket").expect("group");
        assert_eq!(
            bucket.iter().collect::<Vec<_>>(),
            [TcpState::SynRecv, TcpState::TimeWait]
        );
        assert_eq!(
            StateSet::parse("big").expect("group").union(bucket),
            StateSet::ALL
        );
    }

    #[test]
    fn lists_combine_and_errors_name_the_bad_entry() {
        let set = StateSet::parse_list("close-wait, TIME_WAIT").expect("valid");
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [TcpState::CloseWait, TcpState::TimeWait]
        );
        let err = StateSet::parse_list("estab,bogus").expect_err("invalid");
        assert!(err.contains("\"bogus\""), "{err}");
        assert!(
            err.contains("CLOSE_WAIT") && err.contains("synchronized"),
            "{err}"
        );
        assert!(StateSet::parse_list(",").is_err());
    }
}
