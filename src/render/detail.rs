//! A socket's health detail (`list -i`, `list -m`) as table cells and JSON wire types.
//!
//! Owns: [`TcpInfoJson`] and [`MemoryJson`] (every field, units in the key names: `_us`,
//! `_ms`, `_bytes`, `_segments`, `_bytes_per_s`; `null` when the kernel did not send it), and
//! the table's health columns. Plain data in, text out.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{SkMemInfo, SocketDetail, TcpInfo};

/// `tcp_info` of one socket in `list --json -i`.
#[derive(Debug, Serialize)]
pub struct TcpInfoJson {
    /// Bytes of `struct tcp_info` the kernel sent: which fields it knows.
    pub info_length_bytes: u16,
    pub congestion_algorithm: Option<String>,
    pub ca_state: Option<&'static str>,
    pub rtt_us: Option<u32>,
    pub rttvar_us: Option<u32>,
    pub min_rtt_us: Option<u32>,
    pub rto_us: Option<u32>,
    pub ato_us: Option<u32>,
    pub rcv_rtt_us: Option<u32>,
    pub cwnd_segments: Option<u32>,
    pub ssthresh_segments: Option<u32>,
    pub unacked_segments: Option<u32>,
    pub sacked_segments: Option<u32>,
    pub lost_segments: Option<u32>,
    pub retrans_in_flight_segments: Option<u32>,
    pub total_retrans_segments: Option<u32>,
    pub consecutive_timeouts: Option<u8>,
    pub zero_window_probes: Option<u8>,
    pub backoff: Option<u8>,
    pub segs_out: Option<u32>,
    pub segs_in: Option<u32>,
    pub delivered_segments: Option<u32>,
    pub reordering_segments: Option<u32>,
    pub bytes_sent: Option<u64>,
    pub bytes_acked: Option<u64>,
    pub bytes_received: Option<u64>,
    pub bytes_retrans: Option<u64>,
    pub notsent_bytes: Option<u32>,
    pub delivery_rate_bytes_per_s: Option<u64>,
    pub pacing_rate_bytes_per_s: Option<u64>,
    pub busy_time_us: Option<u64>,
    pub rwnd_limited_us: Option<u64>,
    pub sndbuf_limited_us: Option<u64>,
    pub last_data_sent_ms: Option<u32>,
    pub last_data_recv_ms: Option<u32>,
    pub last_ack_recv_ms: Option<u32>,
    pub snd_wscale: Option<u8>,
    pub rcv_wscale: Option<u8>,
    pub mss_bytes: Option<u32>,
    pub rcv_mss_bytes: Option<u32>,
    pub advmss_bytes: Option<u32>,
    pub pmtu_bytes: Option<u32>,
    pub rcv_ssthresh_bytes: Option<u32>,
    pub rcv_space_bytes: Option<u32>,
    pub snd_wnd_bytes: Option<u32>,
    pub rcv_wnd_bytes: Option<u32>,
}

/// The kernel's congestion-avoidance state (`enum tcp_ca_state`).
fn ca_state_name(value: u8) -> &'static str {
    match value {
        0 => "open",
        1 => "disorder",
        2 => "cwr",
        3 => "recovery",
        4 => "loss",
        _ => "unknown",
    }
}

impl TcpInfoJson {
    pub fn of(i: &TcpInfo, detail: &SocketDetail) -> TcpInfoJson {
        TcpInfoJson {
            info_length_bytes: i.length,
            congestion_algorithm: detail.congestion.map(|c| c.as_str().to_owned()),
            ca_state: i.ca_state.map(ca_state_name),
            rtt_us: i.rtt_us,
            rttvar_us: i.rttvar_us,
            min_rtt_us: i.min_rtt_us,
            rto_us: i.rto_us,
            ato_us: i.ato_us,
            rcv_rtt_us: i.rcv_rtt_us,
            cwnd_segments: i.cwnd,
            ssthresh_segments: i.ssthresh,
            unacked_segments: i.unacked,
            sacked_segments: i.sacked,
            lost_segments: i.lost,
            retrans_in_flight_segments: i.retrans,
            total_retrans_segments: i.total_retrans,
            consecutive_timeouts: i.retransmits,
            zero_window_probes: i.probes,
            backoff: i.backoff,
            segs_out: i.segs_out,
            segs_in: i.segs_in,
            delivered_segments: i.delivered,
            reordering_segments: i.reordering,
            bytes_sent: i.bytes_sent,
            bytes_acked: i.bytes_acked,
            bytes_received: i.bytes_received,
            bytes_retrans: i.bytes_retrans,
            notsent_bytes: i.notsent_bytes,
            delivery_rate_bytes_per_s: i.delivery_rate,
            pacing_rate_bytes_per_s: i.pacing_rate,
            busy_time_us: i.busy_time_us,
            rwnd_limited_us: i.rwnd_limited_us,
            sndbuf_limited_us: i.sndbuf_limited_us,
            last_data_sent_ms: i.last_data_sent_ms,
            last_data_recv_ms: i.last_data_recv_ms,
            last_ack_recv_ms: i.last_ack_recv_ms,
            snd_wscale: i.snd_wscale,
            rcv_wscale: i.rcv_wscale,
            mss_bytes: i.mss,
            rcv_mss_bytes: i.rcv_mss,
            advmss_bytes: i.advmss,
            pmtu_bytes: i.pmtu,
            rcv_ssthresh_bytes: i.rcv_ssthresh,
            rcv_space_bytes: i.rcv_space,
            snd_wnd_bytes: i.snd_wnd,
            rcv_wnd_bytes: i.rcv_wnd,
        }
    }
}

/// `INET_DIAG_SKMEMINFO` of one socket in `list --json -m`.
#[derive(Debug, Serialize)]
pub struct MemoryJson {
    pub rmem_alloc_bytes: Option<u32>,
    pub rcvbuf_bytes: Option<u32>,
    pub wmem_alloc_bytes: Option<u32>,
    pub sndbuf_bytes: Option<u32>,
    pub fwd_alloc_bytes: Option<u32>,
    pub wmem_queued_bytes: Option<u32>,
    pub optmem_bytes: Option<u32>,
    pub backlog_bytes: Option<u32>,
    pub drops_packets: Option<u32>,
}

impl MemoryJson {
    pub fn of(m: &SkMemInfo) -> MemoryJson {
        MemoryJson {
            rmem_alloc_bytes: m.rmem_alloc,
            rcvbuf_bytes: m.rcvbuf,
            wmem_alloc_bytes: m.wmem_alloc,
            sndbuf_bytes: m.sndbuf,
            fwd_alloc_bytes: m.fwd_alloc,
            wmem_queued_bytes: m.wmem_queued,
            optmem_bytes: m.optmem,
            backlog_bytes: m.backlog,
            drops_packets: m.drops,
        }
    }
}

/// The `-i` columns' headings, each right-aligned in its width but the last.
pub const INFO_HEADINGS: &str = "   RTT-MS  RTTVAR     CWND  RETRANS  UNACKED  SND-WND CC";
/// The `-m` columns' headings.
pub const MEMORY_HEADINGS: &str = "     RMEM   RCVBUF  WQUEUED   SNDBUF  DROPS";

fn cell<T: std::fmt::Display>(line: &mut String, value: Option<T>, width: usize) {
    match value {
        Some(v) => {
            let _ = write!(line, " {v:>width$}");
        }
        None => {
            let _ = write!(line, " {:>width$}", "-");
        }
    }
}

/// Appends the `-i` cells: RTT and its variance in ms (as `ss -i`), cwnd, retransmits in
/// flight/total (as `ss`'s `retrans:`), unacked segments, the peer's window, the algorithm.
/// `-` for what the kernel did not send (a minisocket has no `tcp_info` at all).
pub fn push_info_cells(line: &mut String, detail: Option<&SocketDetail>) {
    let info = detail.and_then(|d| d.info);
    let ms = |us: Option<u32>| us.map(|us| format!("{}.{:03}", us / 1000, us % 1000));
    cell(line, ms(info.and_then(|i| i.rtt_us)), 8);
    cell(line, ms(info.and_then(|i| i.rttvar_us)), 7);
    cell(line, info.and_then(|i| i.cwnd), 8);
    let retrans = info.and_then(|i| Some(format!("{}/{}", i.retrans?, i.total_retrans?)));
    cell(line, retrans, 8);
    cell(line, info.and_then(|i| i.unacked), 8);
    cell(line, info.and_then(|i| i.snd_wnd), 8);
    line.push(' ');
    match detail.and_then(|d| d.congestion) {
        Some(c) => line.push_str(c.as_str()),
        None => line.push('-'),
    }
}

/// Appends the `-m` cells, in bytes (drops in packets).
pub fn push_memory_cells(line: &mut String, detail: Option<&SocketDetail>) {
    let m = detail.and_then(|d| d.memory);
    cell(line, m.and_then(|m| m.rmem_alloc), 8);
    cell(line, m.and_then(|m| m.rcvbuf), 8);
    cell(line, m.and_then(|m| m.wmem_queued), 8);
    cell(line, m.and_then(|m| m.sndbuf), 8);
    cell(line, m.and_then(|m| m.drops), 6);
}
