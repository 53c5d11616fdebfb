//! What sock_diag tells about a connection's health, besides its [`SocketRecord`]: the
//! kernel's `struct tcp_info`, the socket's memory (`INET_DIAG_SKMEMINFO`) and its congestion
//! control algorithm (`INET_DIAG_CONG`).
//!
//! Owns: [`Extensions`] (which of them a plan asks for: each one makes every message of a dump
//! larger, so a plain run asks for none), [`SocketDetail`] and its parts. A collector hands a
//! detail to [`Sink::record_detail`](super::Sink::record_detail) next to the record, so the
//! record stays a small `Copy` value that every other consumer keeps as it is.
//!
//! A field the kernel did not send (an older kernel's shorter `tcp_info`, a source that has
//! none) is `None`, never 0: 0 retransmits and "not reported" are different answers. No I/O,
//! no parsing of kernel bytes (that is `collect::tcpinfo`).

use super::{KernelState, SocketRecord, TcpState};

/// What a collection reads beyond the 72-byte socket message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extensions {
    /// `tcp_info` and the congestion control algorithm (`ss -i`).
    pub info: bool,
    /// The socket's memory (`ss -m`).
    pub memory: bool,
}

impl Extensions {
    pub const NONE: Extensions = Extensions {
        info: false,
        memory: false,
    };

    pub const fn any(self) -> bool {
        self.info || self.memory
    }

    pub const fn union(self, other: Extensions) -> Extensions {
        Extensions {
            info: self.info || other.info,
            memory: self.memory || other.memory,
        }
    }
}

/// The fields of the kernel's `struct tcp_info` (`include/uapi/linux/tcp.h`) tcpstat shows.
/// Times are in microseconds (`_us`) or milliseconds (`_ms`) as the kernel gives them; byte
/// counts in bytes; rates in bytes per second. `None`: the kernel's struct was too short to
/// hold the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpInfo {
    /// Bytes of `tcp_info` the kernel sent (104 on Linux 2.6, 280 on 6.18).
    pub length: u16,
    /// `tcpi_state`: the kernel's state value.
    pub state: Option<u8>,
    /// `tcpi_ca_state`: 0 open, 1 disorder, 2 CWR, 3 recovery, 4 loss.
    pub ca_state: Option<u8>,
    /// `tcpi_retransmits`: consecutive retransmission timeouts of the segment in flight.
    pub retransmits: Option<u8>,
    /// `tcpi_probes`: zero-window probes sent without an answer.
    pub probes: Option<u8>,
    /// `tcpi_backoff`: exponential backoff of the retransmission timer.
    pub backoff: Option<u8>,
    pub snd_wscale: Option<u8>,
    pub rcv_wscale: Option<u8>,
    pub rto_us: Option<u32>,
    pub ato_us: Option<u32>,
    /// `tcpi_snd_mss`, bytes.
    pub mss: Option<u32>,
    pub rcv_mss: Option<u32>,
    /// `tcpi_unacked`: segments sent and not acknowledged.
    pub unacked: Option<u32>,
    pub sacked: Option<u32>,
    /// `tcpi_lost`: segments the kernel thinks were lost.
    pub lost: Option<u32>,
    /// `tcpi_retrans`: segments retransmitted and not acknowledged yet (in flight).
    pub retrans: Option<u32>,
    pub last_data_sent_ms: Option<u32>,
    pub last_data_recv_ms: Option<u32>,
    pub last_ack_recv_ms: Option<u32>,
    pub pmtu: Option<u32>,
    pub rcv_ssthresh: Option<u32>,
    /// `tcpi_rtt`: smoothed round-trip time.
    pub rtt_us: Option<u32>,
    pub rttvar_us: Option<u32>,
    /// `tcpi_snd_ssthresh`, segments (`0x7fffffff`: not set yet, "infinite").
    pub ssthresh: Option<u32>,
    /// `tcpi_snd_cwnd`, segments.
    pub cwnd: Option<u32>,
    pub advmss: Option<u32>,
    pub reordering: Option<u32>,
    pub rcv_rtt_us: Option<u32>,
    pub rcv_space: Option<u32>,
    /// `tcpi_total_retrans`: segments retransmitted over the connection's life.
    pub total_retrans: Option<u32>,
    pub pacing_rate: Option<u64>,
    pub bytes_acked: Option<u64>,
    pub bytes_received: Option<u64>,
    pub segs_out: Option<u32>,
    pub segs_in: Option<u32>,
    pub notsent_bytes: Option<u32>,
    pub min_rtt_us: Option<u32>,
    pub delivery_rate: Option<u64>,
    pub busy_time_us: Option<u64>,
    pub rwnd_limited_us: Option<u64>,
    pub sndbuf_limited_us: Option<u64>,
    pub delivered: Option<u32>,
    pub bytes_sent: Option<u64>,
    pub bytes_retrans: Option<u64>,
    /// `tcpi_snd_wnd`: the window the peer advertises (0: the peer is not reading).
    pub snd_wnd: Option<u32>,
    pub rcv_wnd: Option<u32>,
}

impl TcpInfo {
    /// True when the peer advertises a zero window while we have data to send, or the kernel
    /// is probing a zero window (`tcpi_probes`). Never for SYN_SENT: the peer has advertised
    /// nothing yet (the SYN itself counts as one byte queued).
    pub fn zero_window(&self, record: &SocketRecord) -> bool {
        if record.state == KernelState::Known(TcpState::SynSent) {
            return false;
        }
        let queued = record.send_q > 0 || self.unacked.unwrap_or(0) > 0;
        (self.snd_wnd == Some(0) && queued) || self.probes.unwrap_or(0) > 0
    }

    /// The smoothed RTT, when the connection has measured one: not in SYN_SENT, where the
    /// kernel reports 0 (no answer yet to time).
    pub fn measured_rtt_us(&self, record: &SocketRecord) -> Option<u32> {
        if record.state == KernelState::Known(TcpState::SynSent) {
            return None;
        }
        self.rtt_us
    }

    /// True when data waits to be acknowledged (or sent) and nothing was acknowledged for
    /// `stall_ms` or longer. `None` when the kernel did not send the ack age. Never for
    /// SYN_SENT: nothing was ever received, and the kernel's ack age then counts from its
    /// clock's origin (hours), while the SYN waiting is an unanswered connect, not a stall.
    pub fn stalled(&self, record: &SocketRecord, stall_ms: u32) -> Option<bool> {
        if record.state == KernelState::Known(TcpState::SynSent) {
            return self.last_ack_recv_ms.map(|_| false);
        }
        let queued = record.send_q > 0 || self.unacked.unwrap_or(0) > 0;
        Some(queued && self.last_ack_recv_ms? >= stall_ms)
    }
}

/// `INET_DIAG_SKMEMINFO` (`SK_MEMINFO_*` in `include/uapi/linux/sock_diag.h`), bytes except
/// `drops` (packets). `None`: not sent by this kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SkMemInfo {
    pub rmem_alloc: Option<u32>,
    pub rcvbuf: Option<u32>,
    pub wmem_alloc: Option<u32>,
    pub sndbuf: Option<u32>,
    pub fwd_alloc: Option<u32>,
    pub wmem_queued: Option<u32>,
    pub optmem: Option<u32>,
    pub backlog: Option<u32>,
    pub drops: Option<u32>,
}

/// A congestion control algorithm's name (`TCP_CA_NAME_MAX` is 16), kept inline so a
/// detail needs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Congestion {
    bytes: [u8; 16],
    len: u8,
}

impl Congestion {
    /// The name, cut at 16 bytes; `None` when empty or not ASCII.
    pub fn new(name: &[u8]) -> Option<Congestion> {
        let name = &name[..name.len().min(16)];
        if name.is_empty() || !name.iter().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let mut bytes = [0; 16];
        bytes[..name.len()].copy_from_slice(name);
        Some(Congestion {
            bytes,
            len: name.len() as u8,
        })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

/// What the kernel sent about one socket besides its message, as the plan's [`Extensions`]
/// asked. Each part is `None` when not asked for or not sent (minisockets have none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocketDetail {
    pub info: Option<TcpInfo>,
    pub memory: Option<SkMemInfo>,
    pub congestion: Option<Congestion>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Family;

    #[test]
    fn congestion_names_are_checked() {
        assert_eq!(
            Congestion::new(b"bbr").map(|c| c.as_str().to_owned()),
            Some("bbr".into())
        );
        assert_eq!(Congestion::new(b""), None);
        assert_eq!(Congestion::new(b"a\x1b[2J"), None);
        let long = Congestion::new(b"0123456789abcdefXYZ").expect("cut");
        assert_eq!(long.as_str(), "0123456789abcdef");
    }

    #[test]
    fn zero_window_and_stall_need_queued_data() {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(TcpState::Established));
        let mut info = TcpInfo {
            snd_wnd: Some(0),
            last_ack_recv_ms: Some(9_000),
            ..TcpInfo::default()
        };
        assert!(!info.zero_window(&r));
        assert_eq!(info.stalled(&r, 5_000), Some(false));
        r.send_q = 100;
        assert!(info.zero_window(&r));
        assert_eq!(info.stalled(&r, 5_000), Some(true));
        assert_eq!(info.stalled(&r, 10_000), Some(false));
        // A connect waiting for its SYN-ACK: one byte (the SYN) queued, no window, an ack
        // age counted from the clock's origin: neither a zero window nor a stall.
        let mut syn = r;
        syn.state = KernelState::Known(TcpState::SynSent);
        syn.send_q = 1;
        info.last_ack_recv_ms = Some(21_981_932);
        assert!(!info.zero_window(&syn));
        assert_eq!(info.stalled(&syn, 5_000), Some(false));
        info.last_ack_recv_ms = None;
        assert_eq!(info.stalled(&r, 5_000), None, "unknown, not 'no'");
        info.rtt_us = Some(0);
        assert_eq!(info.measured_rtt_us(&syn), None, "no RTT before an answer");
        assert_eq!(info.measured_rtt_us(&r), Some(0));
    }
}
