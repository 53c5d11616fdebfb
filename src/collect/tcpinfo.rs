//! The health attributes of a sock_diag message: `INET_DIAG_INFO` (`struct tcp_info`),
//! `INET_DIAG_SKMEMINFO` and `INET_DIAG_CONG`, read from raw bytes with length checks.
//!
//! Owns: the request's extension bits ([`ext_bits`]) and the parsers. `struct tcp_info` grows
//! with the kernel (104 bytes on Linux 2.6, 280 on 6.18): a field is read only when the
//! attribute is long enough to hold it, else it is `None` ([`TcpInfo`]). The crate's
//! `rich_nlas` parser is not used because a shorter struct fails the whole message there.
//! Kernel references: `include/uapi/linux/tcp.h` (`struct tcp_info`),
//! `include/uapi/linux/inet_diag.h` (`enum inet_diag_attr`, `idiag_ext` bits),
//! `include/uapi/linux/sock_diag.h` (`SK_MEMINFO_*`), `net/ipv4/tcp.c` (`tcp_get_info`).

use crate::model::{Congestion, Extensions, SkMemInfo, SocketDetail, TcpInfo};

/// `INET_DIAG_INFO`: `struct tcp_info`.
pub const INET_DIAG_INFO: u16 = 2;
/// `INET_DIAG_CONG`: the congestion control algorithm's name, NUL-terminated.
pub const INET_DIAG_CONG: u16 = 4;
/// `INET_DIAG_SKMEMINFO`: `u32[SK_MEMINFO_VARS]`.
pub const INET_DIAG_SKMEMINFO: u16 = 7;

/// The request's `idiag_ext` for `extensions`: bit `INET_DIAG_X - 1` asks for attribute X.
pub const fn ext_bits(extensions: Extensions) -> u8 {
    let mut bits = 0;
    if extensions.info {
        bits |= 1 << (INET_DIAG_INFO - 1);
        bits |= 1 << (INET_DIAG_CONG - 1);
    }
    if extensions.memory {
        bits |= 1 << (INET_DIAG_SKMEMINFO - 1);
    }
    bits
}

/// The detail in the attributes after an `inet_diag_msg` (see `nlattr::attribute`), for the
/// parts `extensions` asked for. A part the kernel did not send (minisockets send none) is
/// `None`.
pub fn parse_detail(attrs: &[u8], extensions: Extensions) -> SocketDetail {
    use super::nlattr::attribute;
    SocketDetail {
        info: if extensions.info {
            attribute(attrs, INET_DIAG_INFO).and_then(parse_tcp_info)
        } else {
            None
        },
        congestion: if extensions.info {
            attribute(attrs, INET_DIAG_CONG).and_then(|name| {
                let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                Congestion::new(&name[..end])
            })
        } else {
            None
        },
        memory: if extensions.memory {
            attribute(attrs, INET_DIAG_SKMEMINFO).and_then(parse_skmeminfo)
        } else {
            None
        },
    }
}

/// Reads a `struct tcp_info` of any length; `None` when shorter than its first 8 bytes.
pub fn parse_tcp_info(b: &[u8]) -> Option<TcpInfo> {
    let u8_at = |at: usize| b.get(at).copied();
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
    };
    if b.len() < 8 {
        return None;
    }
    // Byte 6 holds two 4-bit fields: tcpi_snd_wscale in the low bits (declared first; x86
    // and the other little-endian ABIs fill bit-fields from the low bit).
    let wscale = u8_at(6);
    Some(TcpInfo {
        length: u16::try_from(b.len()).unwrap_or(u16::MAX),
        state: u8_at(0),
        ca_state: u8_at(1),
        retransmits: u8_at(2),
        probes: u8_at(3),
        backoff: u8_at(4),
        snd_wscale: wscale.map(|w| w & 0x0f),
        rcv_wscale: wscale.map(|w| w >> 4),
        rto_us: u32_at(8),
        ato_us: u32_at(12),
        mss: u32_at(16),
        rcv_mss: u32_at(20),
        unacked: u32_at(24),
        sacked: u32_at(28),
        lost: u32_at(32),
        retrans: u32_at(36),
        last_data_sent_ms: u32_at(44),
        last_data_recv_ms: u32_at(52),
        last_ack_recv_ms: u32_at(56),
        pmtu: u32_at(60),
        rcv_ssthresh: u32_at(64),
        rtt_us: u32_at(68),
        rttvar_us: u32_at(72),
        ssthresh: u32_at(76),
        cwnd: u32_at(80),
        advmss: u32_at(84),
        reordering: u32_at(88),
        rcv_rtt_us: u32_at(92),
        rcv_space: u32_at(96),
        total_retrans: u32_at(100),
        pacing_rate: u64_at(104),
        bytes_acked: u64_at(120),
        bytes_received: u64_at(128),
        segs_out: u32_at(136),
        segs_in: u32_at(140),
        notsent_bytes: u32_at(144),
        min_rtt_us: u32_at(148),
        delivery_rate: u64_at(160),
        busy_time_us: u64_at(168),
        rwnd_limited_us: u64_at(176),
        sndbuf_limited_us: u64_at(184),
        delivered: u32_at(192),
        bytes_sent: u64_at(200),
        bytes_retrans: u64_at(208),
        snd_wnd: u32_at(228),
        rcv_wnd: u32_at(232),
    })
}

/// Reads `INET_DIAG_SKMEMINFO` of any length (`SK_MEMINFO_DROPS` came in Linux 4.x); `None`
/// when empty.
pub fn parse_skmeminfo(b: &[u8]) -> Option<SkMemInfo> {
    let at = |i: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(
            b.get(i * 4..i * 4 + 4)?.try_into().ok()?,
        ))
    };
    if b.len() < 4 {
        return None;
    }
    Some(SkMemInfo {
        rmem_alloc: at(0),
        rcvbuf: at(1),
        wmem_alloc: at(2),
        sndbuf: at(3),
        fwd_alloc: at(4),
        wmem_queued: at(5),
        optmem: at(6),
        backlog: at(7),
        drops: at(8),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The 280-byte `INET_DIAG_INFO` Linux 6.18 sent to `ss -tinm` for the accepting side of
    /// a loopback connection that had received 100000 bytes and read 1000 (strace -x; ss
    /// printed `bbr wscale:10,10 rto:200 rtt:0.019/0.009 ato:40 mss:32768 pmtu:65535
    /// rcvmss:34518 advmss:65483 cwnd:10 bytes_received:100000 segs_out:2 segs_in:5
    /// data_segs_in:3 lastsnd:884 lastrcv:884 lastack:884 rcv_rtt:0.031 rcv_space:65483
    /// rcv_ssthresh:94833 minrtt:0.019 snd_wnd:65536`).
    pub(crate) const RECORDED_6_18: &[u8] = b"\x01\x00\x00\x00\x00\x07\xaa\x01\x40\x0d\x03\x00\x40\x9c\x00\x00\x00\x80\x00\x00\xd6\x86\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x74\x03\x00\x00\x00\x00\x00\x00\x74\x03\x00\x00\x74\x03\x00\x00\xff\xff\x00\x00\x71\x72\x01\x00\x13\x00\x00\x00\x09\x00\x00\x00\xff\xff\xff\x7f\x0a\x00\x00\x00\xcb\xff\x00\x00\x03\x00\x00\x00\x1f\x00\x00\x00\xcb\xff\x00\x00\x00\x00\x00\x00\x73\x24\xc2\x79\x0b\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\xa0\x86\x01\x00\x00\x00\x00\x00\x02\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x13\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x70\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

    /// The `INET_DIAG_SKMEMINFO` of the same message: `skmem:(r102496,rb131072,t0,tb3939840,
    /// f4000,w0,o0,bl0,d0)`.
    pub(crate) fn recorded_skmeminfo() -> Vec<u8> {
        [102_496u32, 131_072, 0, 3_939_840, 4000, 0, 0, 0, 0]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect()
    }

    #[test]
    fn the_recorded_6_18_struct_reads_as_ss_printed_it() {
        assert_eq!(RECORDED_6_18.len(), 280);
        let i = parse_tcp_info(RECORDED_6_18).expect("parses");
        assert_eq!(i.length, 280);
        assert_eq!(i.state, Some(1));
        assert_eq!((i.snd_wscale, i.rcv_wscale), (Some(10), Some(10)));
        assert_eq!(i.rto_us, Some(200_000));
        assert_eq!(i.ato_us, Some(40_000));
        assert_eq!((i.mss, i.rcv_mss), (Some(32_768), Some(34_518)));
        assert_eq!(
            (i.rtt_us, i.rttvar_us, i.min_rtt_us),
            (Some(19), Some(9), Some(19))
        );
        assert_eq!(i.cwnd, Some(10));
        assert_eq!(i.ssthresh, Some(0x7fff_ffff));
        assert_eq!(i.advmss, Some(65_483));
        assert_eq!(i.pmtu, Some(65_535));
        assert_eq!(i.rcv_ssthresh, Some(94_833));
        assert_eq!(i.rcv_rtt_us, Some(31));
        assert_eq!(i.rcv_space, Some(65_483));
        assert_eq!((i.segs_out, i.segs_in), (Some(2), Some(5)));
        assert_eq!(i.bytes_received, Some(100_000));
        assert_eq!(
            (i.last_data_sent_ms, i.last_data_recv_ms, i.last_ack_recv_ms),
            (Some(884), Some(884), Some(884))
        );
        assert_eq!(
            (i.retrans, i.total_retrans, i.lost, i.unacked),
            (Some(0), Some(0), Some(0), Some(0))
        );
        assert_eq!(i.delivered, Some(1));
        assert_eq!(i.snd_wnd, Some(65_536));
        assert_eq!(i.bytes_sent, Some(0));
    }

    #[test]
    fn shorter_structs_leave_later_fields_absent_not_zero() {
        // Linux 2.6 (104 bytes: up to tcpi_total_retrans), 4.1 (tcpi_bytes_received, 136),
        // 4.6 (tcpi_min_rtt, 160), 4.9 (tcpi_delivery_rate, 168), 4.19 (tcpi_bytes_sent,
        // 224), 5.4 (tcpi_snd_wnd, 232).
        let at = |len: usize| parse_tcp_info(&RECORDED_6_18[..len]).expect("parses");
        let old = at(104);
        assert_eq!(old.length, 104);
        assert_eq!(old.rtt_us, Some(19));
        assert_eq!(old.total_retrans, Some(0));
        assert_eq!(old.pacing_rate, None);
        assert_eq!(old.bytes_received, None);
        assert_eq!(old.min_rtt_us, None);
        assert_eq!(old.snd_wnd, None);
        assert_eq!(at(136).bytes_received, Some(100_000));
        assert_eq!(at(136).min_rtt_us, None);
        assert_eq!(at(160).min_rtt_us, Some(19));
        assert_eq!(at(160).delivery_rate, None);
        assert_eq!(at(168).delivery_rate, Some(0));
        assert_eq!(at(168).busy_time_us, None);
        assert_eq!(at(224).bytes_sent, Some(0));
        assert_eq!(at(224).snd_wnd, None);
        assert_eq!(at(232).snd_wnd, Some(65_536));
        assert_eq!(at(232).rcv_wnd, None);
        // A field cut in the middle is absent, not half read.
        assert_eq!(at(70).rtt_us, None);
        assert_eq!(at(70).rcv_ssthresh, Some(94_833));
        assert!(parse_tcp_info(&RECORDED_6_18[..7]).is_none());
    }

    #[test]
    fn socket_memory_of_any_length() {
        let m = parse_skmeminfo(&recorded_skmeminfo()).expect("parses");
        assert_eq!(m.rmem_alloc, Some(102_496));
        assert_eq!(m.rcvbuf, Some(131_072));
        assert_eq!(m.sndbuf, Some(3_939_840));
        assert_eq!(m.fwd_alloc, Some(4000));
        assert_eq!(m.drops, Some(0));
        let old = parse_skmeminfo(&recorded_skmeminfo()[..32]).expect("8 fields");
        assert_eq!(old.backlog, Some(0));
        assert_eq!(old.drops, None);
        assert!(parse_skmeminfo(&[1, 2]).is_none());
    }

    #[test]
    fn extension_bits_are_the_kernels() {
        assert_eq!(ext_bits(Extensions::NONE), 0);
        let info = Extensions {
            info: true,
            memory: false,
        };
        // ss -i asks for INET_DIAG_INFO and INET_DIAG_CONG (and vegas/dctcp/bbr, unused).
        assert_eq!(ext_bits(info), 0x02 | 0x08);
        let memory = Extensions {
            info: false,
            memory: true,
        };
        assert_eq!(ext_bits(memory), 0x40);
    }
}
