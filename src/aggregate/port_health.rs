//! Connection health per service port as Prometheus series (`serve --health`): a histogram
//! of the connections' smoothed RTT, a counter of the segments they retransmitted, and gauges
//! of connections retransmitting, facing a zero window or stalled, and of queued bytes.
//!
//! Owns: [`PortHealth`] (one scrape's sink for one namespace), [`HealthSeries`] (what is kept
//! between scrapes: the cumulative histograms and counters, which ports have series, and each
//! connection's retransmit total at the previous scrape) and [`RTT_BUCKETS_US`]. Pure: no I/O.
//!
//! Histograms and counters must only grow while their series exist, so:
//! - every scrape observes each connection's RTT once (a histogram of connection-scrapes:
//!   `histogram_quantile` over its `rate` is the RTT quantile of the connections seen in the
//!   window, weighted by how long they were open);
//! - a connection's retransmits are the growth of its `tcpi_total_retrans` since the previous
//!   scrape, found by its socket cookie (a connection first seen counts its whole life so
//!   far; what a connection retransmitted after the last scrape before it closed is missed);
//! - the set of ports with series is sticky: the first `cap` (port, direction) pairs seen
//!   keep theirs for the life of the process, every later one adds to `port="other"` of its
//!   direction. A port moving between its own series and `other` would make both jump.

use std::collections::HashMap;
use std::sync::Arc;

use super::ports::{service_group_in, Direction};
use super::workloads::IdMap;
use crate::model::{KernelState, Sink, SocketDetail, SocketRecord, TcpState};

/// Upper bounds of the RTT histogram's buckets, in microseconds (then +Inf): from a
/// loopback or same-rack peer (tens of microseconds) through a data centre (a millisecond)
/// to other continents and bad mobile links (hundreds of milliseconds to seconds).
pub const RTT_BUCKETS_US: [u32; 15] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000,
];

/// Bucket counts, not cumulative; the last one is +Inf.
pub type Buckets = [u64; RTT_BUCKETS_US.len() + 1];

/// The index of the bucket an RTT falls in.
fn bucket(rtt_us: u32) -> usize {
    RTT_BUCKETS_US.partition_point(|&upper| upper < rtt_us)
}

/// A socket cookie -> its `tcpi_total_retrans` when last seen.
type Retransmits = IdMap<u64, u32>;

/// What one scrape saw of one service port's connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortGauges {
    /// Connections (not listeners, not minisockets).
    pub sockets: u64,
    /// Of them, those the kernel sent `tcp_info` for (none from /proc).
    pub with_info: u64,
    /// Connections with retransmitted segments in flight (`tcpi_retrans` > 0).
    pub retransmitting: u64,
    /// Connections whose peer advertises a zero window with data queued, or being probed.
    pub zero_window: u64,
    /// Connections with data queued and nothing acknowledged for the stall time.
    pub stalled: u64,
    pub recv_q_bytes: u64,
    pub send_q_bytes: u64,
    /// Nearest-rank percentiles of the connections' RTTs now (microseconds).
    pub rtt_p50_us: Option<u32>,
    pub rtt_p99_us: Option<u32>,
}

impl PortGauges {
    fn add(&mut self, other: &PortGauges) {
        self.sockets += other.sockets;
        self.with_info += other.with_info;
        self.retransmitting += other.retransmitting;
        self.zero_window += other.zero_window;
        self.stalled += other.stalled;
        self.recv_q_bytes += other.recv_q_bytes;
        self.send_q_bytes += other.send_q_bytes;
    }
}

/// What only grows: the RTT histogram and the retransmit counter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortTotals {
    pub rtt_buckets: Buckets,
    pub rtt_sum_us: u64,
    pub retransmits: u64,
}

impl PortTotals {
    fn add(&mut self, other: &PortTotals) {
        for (a, b) in self.rtt_buckets.iter_mut().zip(other.rtt_buckets) {
            *a += b;
        }
        self.rtt_sum_us += other.rtt_sum_us;
        self.retransmits += other.retransmits;
    }

    /// Observations in the histogram.
    pub fn rtt_count(&self) -> u64 {
        self.rtt_buckets.iter().sum()
    }
}

#[derive(Debug, Clone, Default)]
struct Port {
    gauges: PortGauges,
    /// This scrape's observations and new retransmits.
    grown: PortTotals,
    /// The RTTs of this scrape's connections, for the percentiles.
    rtts_us: Vec<u32>,
}

/// One scrape of one namespace: its connections by service port.
#[derive(Debug)]
pub struct PortHealth {
    listening: std::collections::HashSet<u16>,
    ephemeral: (u16, u16),
    stall_ms: u32,
    /// The previous scrape's retransmit totals of this namespace (read only).
    before: Arc<Retransmits>,
    /// This scrape's, for the next.
    now: Retransmits,
    ports: HashMap<(u16, Direction), Port>,
}

impl PortHealth {
    /// `before`: what [`HealthSeries::retransmits`] kept from the previous scrape.
    pub fn new(
        listening: std::collections::HashSet<u16>,
        ephemeral: (u16, u16),
        stall_ms: u32,
        before: Arc<Retransmits>,
    ) -> PortHealth {
        let now = Retransmits::with_capacity_and_hasher(before.len(), Default::default());
        PortHealth {
            listening,
            ephemeral,
            stall_ms,
            before,
            now,
            ports: HashMap::new(),
        }
    }

    fn port(&mut self, r: &SocketRecord) -> Option<&mut Port> {
        let listen = r.state == KernelState::Known(TcpState::Listen);
        if listen || r.is_minisocket() || r.remote_port == 0 {
            return None;
        }
        let key = service_group_in(&self.listening, self.ephemeral, r);
        let port = self.ports.entry(key).or_default();
        port.gauges.sockets += 1;
        port.gauges.recv_q_bytes += u64::from(r.recv_q);
        port.gauges.send_q_bytes += u64::from(r.send_q);
        Some(port)
    }
}

impl Sink for PortHealth {
    fn record(&mut self, record: &SocketRecord) {
        self.port(record);
    }

    fn record_detail(&mut self, record: &SocketRecord, detail: &SocketDetail) {
        let stall_ms = self.stall_ms;
        let Some(info) = detail.info else {
            self.port(record);
            return;
        };
        // The growth of this connection's retransmit total since the previous scrape; all
        // of it when first seen (the kernel does not reuse cookies; were a total ever to go
        // down, it is counted as a new connection's, from zero).
        let grown = match (info.total_retrans, record.cookie) {
            (Some(total), cookie) if cookie != 0 => {
                self.now.insert(cookie, total);
                match self.before.get(&cookie) {
                    Some(&was) if was <= total => total - was,
                    _ => total,
                }
            }
            _ => 0,
        };
        let Some(port) = self.port(record) else {
            return;
        };
        let g = &mut port.gauges;
        g.with_info += 1;
        g.retransmitting += u64::from(info.retrans.unwrap_or(0) > 0);
        g.zero_window += u64::from(info.zero_window(record));
        g.stalled += u64::from(info.stalled(record, stall_ms).unwrap_or(false));
        if let Some(rtt) = info.measured_rtt_us(record) {
            port.grown.rtt_buckets[bucket(rtt)] += 1;
            port.grown.rtt_sum_us += u64::from(rtt);
            port.rtts_us.push(rtt);
        }
        port.grown.retransmits += u64::from(grown);
    }

    fn reset(&mut self) -> bool {
        self.now.clear();
        self.ports.clear();
        true
    }
}

/// One series' port: its own, or `other` (the ports beyond the cap, of one direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SeriesPort {
    Port(u16),
    Other,
}

/// One (namespace, port, direction)'s numbers at a scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortHealthRow {
    /// The namespace's tag ([`crate::pipeline::Collection::tag`]).
    pub netns: u64,
    pub port: SeriesPort,
    pub direction: Direction,
    /// Now; `None` for a port with series but no connection at this scrape.
    pub gauges: Option<PortGauges>,
    /// Since tcpstat started.
    pub totals: PortTotals,
    /// At this scrape: its observations, and the retransmits since the previous one (on the
    /// first scrape, the whole lives of the connections open then).
    pub grown: PortTotals,
}

/// What `serve --health` keeps between scrapes.
#[derive(Debug, Default)]
pub struct HealthSeries {
    /// Most (port, direction) pairs with series of their own, over every namespace.
    cap: usize,
    ports: HashMap<(u64, u16, Direction), PortTotals>,
    other: HashMap<(u64, Direction), PortTotals>,
    /// Per namespace, each connection's retransmit total at the previous scrape (shared
    /// with the sinks of a scrape: a namespace read twice starts from the same totals).
    retransmits: HashMap<u64, Arc<Retransmits>>,
}

impl HealthSeries {
    pub fn new(cap: usize) -> HealthSeries {
        HealthSeries {
            cap,
            ..HealthSeries::default()
        }
    }

    /// The previous scrape's retransmit totals of a namespace, for its [`PortHealth`].
    pub fn retransmits(&self, netns: u64) -> Arc<Retransmits> {
        self.retransmits.get(&netns).cloned().unwrap_or_default()
    }

    /// Adds one scrape: `scraped` holds every namespace read, by tag. Namespaces no longer
    /// read lose their series (and their place under the cap).
    pub fn add(&mut self, scraped: Vec<(u64, PortHealth)>) -> HealthScrape {
        let read: std::collections::HashSet<u64> = scraped.iter().map(|(tag, _)| *tag).collect();
        self.ports.retain(|(tag, _, _), _| read.contains(tag));
        self.other.retain(|(tag, _), _| read.contains(tag));
        self.retransmits.clear();
        // Per series: the gauges, the growth and the RTTs of this scrape.
        let mut now: HashMap<(u64, SeriesPort, Direction), Current> = HashMap::new();
        let mut folded: HashMap<(u64, Direction), u64> = HashMap::new();
        for (tag, health) in scraped {
            self.retransmits.insert(tag, Arc::new(health.now));
            // Busiest first, so that at the first scrape the cap keeps the ports that matter.
            let mut ports: Vec<((u16, Direction), Port)> = health.ports.into_iter().collect();
            ports.sort_by(|a, b| {
                b.1.gauges
                    .sockets
                    .cmp(&a.1.gauges.sockets)
                    .then(a.0.cmp(&b.0))
            });
            for ((port, direction), p) in ports {
                let key = (tag, port, direction);
                let series = if self.ports.contains_key(&key) || self.ports.len() < self.cap {
                    self.ports.entry(key).or_default().add(&p.grown);
                    SeriesPort::Port(port)
                } else {
                    self.other
                        .entry((tag, direction))
                        .or_default()
                        .add(&p.grown);
                    *folded.entry((tag, direction)).or_default() += 1;
                    SeriesPort::Other
                };
                let current = now.entry((tag, series, direction)).or_default();
                current.0.add(&p.gauges);
                current.1.add(&p.grown);
                current.2.extend(p.rtts_us);
            }
        }
        let mut rows: Vec<PortHealthRow> =
            self.ports
                .iter()
                .map(|(&(netns, port, direction), totals)| {
                    (netns, SeriesPort::Port(port), direction, totals)
                })
                .chain(self.other.iter().map(|(&(netns, direction), totals)| {
                    (netns, SeriesPort::Other, direction, totals)
                }))
                .map(|(netns, port, direction, totals)| {
                    let (gauges, grown) = match now.remove(&(netns, port, direction)) {
                        Some((mut gauges, grown, mut rtts)) => {
                            rtts.sort_unstable();
                            gauges.rtt_p50_us = super::health::percentile(&rtts, 50);
                            gauges.rtt_p99_us = super::health::percentile(&rtts, 99);
                            (Some(gauges), grown)
                        }
                        None => (None, PortTotals::default()),
                    };
                    PortHealthRow {
                        netns,
                        port,
                        direction,
                        gauges,
                        totals: totals.clone(),
                        grown,
                    }
                })
                .collect();
        rows.sort_by_key(|r| (r.netns, r.direction, r.port));
        let mut folded: Vec<(u64, Direction, u64)> =
            folded.into_iter().map(|((t, d), n)| (t, d, n)).collect();
        folded.sort_unstable();
        HealthScrape { rows, folded }
    }
}

/// A series' gauges, growth and RTTs at one scrape.
type Current = (PortGauges, PortTotals, Vec<u32>);

/// One scrape's series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthScrape {
    /// Ordered by namespace, direction, port (`other` last).
    pub rows: Vec<PortHealthRow>,
    /// Per namespace and direction, the ports counted in `other` at this scrape.
    pub folded: Vec<(u64, Direction, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, TcpInfo};

    fn conn(cookie: u64, lport: u16, rport: u16) -> SocketRecord {
        let mut r = SocketRecord::empty(Family::V4, KernelState::Known(TcpState::Established));
        r.local = "10.0.0.1".parse().expect("ip");
        r.remote = "10.0.0.2".parse().expect("ip");
        r.local_port = lport;
        r.remote_port = rport;
        r.inode = cookie;
        r.cookie = cookie;
        r
    }

    fn info(rtt: u32, total: u32) -> SocketDetail {
        SocketDetail {
            info: Some(TcpInfo {
                rtt_us: Some(rtt),
                retrans: Some(0),
                total_retrans: Some(total),
                ..TcpInfo::default()
            }),
            ..SocketDetail::default()
        }
    }

    fn scrape(series: &mut HealthSeries, conns: &[(u64, u16, u32, u32)]) -> Vec<PortHealthRow> {
        let listening = [443, 80, 22].into();
        let mut h = PortHealth::new(listening, (32768, 60999), 5000, series.retransmits(0));
        for &(cookie, port, rtt, total) in conns {
            h.record_detail(
                &conn(cookie, port, 40000 + cookie as u16),
                &info(rtt, total),
            );
        }
        series.add(vec![(0, h)]).rows
    }

    fn row(rows: &[PortHealthRow], port: SeriesPort) -> &PortHealthRow {
        rows.iter().find(|r| r.port == port).expect("row")
    }

    #[test]
    fn buckets_hold_their_upper_bound() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(50), 0);
        assert_eq!(bucket(51), 1);
        assert_eq!(bucket(2_500_000), RTT_BUCKETS_US.len() - 1);
        assert_eq!(bucket(2_500_001), RTT_BUCKETS_US.len());
        assert_eq!(bucket(u32::MAX), RTT_BUCKETS_US.len());
    }

    #[test]
    fn retransmits_count_the_growth_between_scrapes_and_histograms_only_grow() {
        let mut s = HealthSeries::new(10);
        let rows = scrape(&mut s, &[(1, 443, 40, 3), (2, 443, 900, 0)]);
        let https = row(&rows, SeriesPort::Port(443));
        assert_eq!(
            https.totals.retransmits, 3,
            "a connection first seen counts its life"
        );
        assert_eq!(https.totals.rtt_count(), 2);
        assert_eq!(https.totals.rtt_buckets[0], 1);
        assert_eq!(https.totals.rtt_buckets[bucket(900)], 1);
        assert_eq!(https.gauges.as_ref().map(|g| g.sockets), Some(2));
        // Connection 1 retransmits 2 more, 2 closes, 3 opens with 1.
        let rows = scrape(&mut s, &[(1, 443, 40, 5), (3, 443, 60, 1)]);
        let https = row(&rows, SeriesPort::Port(443));
        assert_eq!(https.totals.retransmits, 3 + 2 + 1);
        assert_eq!(https.grown.retransmits, 2 + 1, "this scrape's");
        let g = https.gauges.as_ref().expect("gauges");
        assert_eq!((g.rtt_p50_us, g.rtt_p99_us), (Some(40), Some(60)));
        assert_eq!(https.totals.rtt_count(), 4);
        assert_eq!(https.totals.rtt_sum_us, 40 + 900 + 40 + 60);
        // Nobody left: the series stay (the same totals), the gauges are gone.
        let rows = scrape(&mut s, &[]);
        let https = row(&rows, SeriesPort::Port(443));
        assert_eq!(https.totals.retransmits, 6);
        assert_eq!(https.gauges, None);
    }

    #[test]
    fn the_set_of_ports_with_series_is_sticky_under_the_cap() {
        let mut s = HealthSeries::new(1);
        let rows = scrape(&mut s, &[(1, 443, 40, 1), (2, 443, 40, 0), (3, 80, 40, 7)]);
        assert_eq!(row(&rows, SeriesPort::Port(443)).totals.retransmits, 1);
        assert_eq!(row(&rows, SeriesPort::Other).totals.retransmits, 7);
        assert!(rows.iter().all(|r| r.port != SeriesPort::Port(80)));
        let mut again = HealthSeries::new(1);
        let h = PortHealth::new([443, 80].into(), (32768, 60999), 5000, Default::default());
        assert_eq!(again.add(vec![(0, h)]).folded, vec![]);
        // Port 80 is now the busiest: it still goes to `other`, 443 keeps its series.
        let rows = scrape(&mut s, &[(3, 80, 40, 9), (4, 80, 40, 0), (5, 80, 40, 0)]);
        assert_eq!(row(&rows, SeriesPort::Other).totals.retransmits, 9);
        assert_eq!(
            row(&rows, SeriesPort::Other)
                .gauges
                .as_ref()
                .map(|g| g.sockets),
            Some(3)
        );
        assert_eq!(row(&rows, SeriesPort::Port(443)).gauges, None);
    }

    #[test]
    fn a_namespace_no_longer_read_loses_its_series() {
        let mut s = HealthSeries::new(10);
        let h = PortHealth::new([443].into(), (32768, 60999), 5000, s.retransmits(7));
        let mut h = h;
        h.record_detail(&conn(1, 443, 40001), &info(40, 0));
        assert_eq!(s.add(vec![(7, h)]).rows.len(), 1);
        assert!(s.add(vec![]).rows.is_empty());
    }
}
