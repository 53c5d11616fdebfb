//! Connection health per service port (`serve --health`): the RTT histogram, the retransmit
//! counter and the health gauges of [`crate::aggregate::port_health`].
//!
//! Owns: their names, HELP and TYPE lines, and their layout. Plain data in, bytes out.

use std::io::{self, Write};

use super::{family, sample, with_netns, Kind, Label, Metric, NetnsLabels, DIRECTION, PORT};
use crate::aggregate::port_health::{PortGauges, PortHealthRow, SeriesPort, RTT_BUCKETS_US};

const QUEUE: Label = Label::of("queue", &["send", "recv"]);

pub const RTT: Metric = Metric {
    name: "tcpstat_port_rtt_seconds",
    kind: Kind::Histogram,
    labels: &[PORT, DIRECTION],
    written: "serve --health; only from netlink",
    help: "Smoothed round-trip time (tcpi_rtt) of the connections of a service port, one observation per connection per scrape; buckets from 50us to 2.5s. histogram_quantile over its rate is the RTT quantile of the connections open in the window.",
};

pub const RETRANSMITS: Metric = Metric {
    name: "tcpstat_port_retransmits_total",
    kind: Kind::Counter,
    labels: &[PORT, DIRECTION],
    written: "serve --health; only from netlink",
    help: "Segments retransmitted on the connections of a service port: the growth of each connection's tcpi_total_retrans between scrapes (a connection first seen counts its whole life; what a connection retransmitted after the last scrape before it closed is missed).",
};

pub const RETRANSMITTING: Metric = Metric {
    name: "tcpstat_port_retransmitting_sockets",
    kind: Kind::Gauge,
    labels: &[PORT, DIRECTION],
    written: "serve --health; only from netlink",
    help: "Connections of a service port with retransmitted segments not yet acknowledged (tcpi_retrans > 0).",
};

pub const ZERO_WINDOW: Metric = Metric {
    name: "tcpstat_port_zero_window_sockets",
    kind: Kind::Gauge,
    labels: &[PORT, DIRECTION],
    written: "serve --health; only from netlink",
    help: "Connections of a service port whose peer advertises a zero receive window while data waits, or that are probing it: the peer is not reading.",
};

pub const STALLED: Metric = Metric {
    name: "tcpstat_port_stalled_sockets",
    kind: Kind::Gauge,
    labels: &[PORT, DIRECTION],
    written: "serve --health; only from netlink",
    help: "Connections of a service port with data queued and nothing acknowledged for the stall time (serve --stall, 5s by default).",
};

pub const QUEUED: Metric = Metric {
    name: "tcpstat_port_queued_bytes",
    kind: Kind::Gauge,
    labels: &[PORT, DIRECTION, QUEUE],
    written: "serve --health",
    help: "Bytes waiting in the connections of a service port: queue recv not yet read by the application, queue send not yet acknowledged by the peer.",
};

pub const FOLDED: Metric = Metric {
    name: "tcpstat_health_ports_folded",
    kind: Kind::Gauge,
    labels: &[DIRECTION],
    written: "serve --health; only when ports are folded",
    help: "Service ports whose connections count in the port other health series now: the first --top-listening plus --top-ports ports seen keep series of their own for the life of the process (a counter cannot move between series).",
};

/// The families of `rows` (sorted by namespace, direction, port, as
/// [`crate::aggregate::port_health::HealthSeries::add`] returns them); `folded` the ports
/// summed into `other` at this scrape, per namespace tag and direction.
pub fn port_health(
    out: &mut dyn Write,
    rows: &[PortHealthRow],
    folded: &[(u64, crate::aggregate::Direction, u64)],
    netns: NetnsLabels<'_>,
) -> io::Result<()> {
    let labelled: Vec<(String, Option<String>, &PortHealthRow)> = rows
        .iter()
        .map(|r| {
            let port = match r.port {
                SeriesPort::Port(p) => p.to_string(),
                SeriesPort::Other => "other".to_string(),
            };
            (port, netns(r.netns), r)
        })
        .collect();
    let labels_of = |port: &'_ str, row: &PortHealthRow| {
        [
            ("port", port.to_owned()),
            ("direction", row.direction.name().to_owned()),
        ]
    };
    // Only connections the kernel sent tcp_info for have an RTT or retransmits: from /proc
    // (no tcp_info) these families are empty rather than zero.
    let measured = |row: &PortHealthRow| row.totals.rtt_count() > 0 || row.totals.retransmits > 0;
    if labelled.iter().any(|(_, _, r)| measured(r)) {
        family(out, &RTT)?;
        for (port, label, row) in &labelled {
            let base = labels_of(port, row);
            let base: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let base = with_netns(&base, label.as_deref());
            let mut cumulative = 0;
            for (i, count) in row.totals.rtt_buckets.iter().enumerate() {
                cumulative += count;
                let le = RTT_BUCKETS_US
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), |us| seconds(u64::from(*us)));
                let mut labels = base.clone();
                labels.push(("le", &le));
                sample(out, "tcpstat_port_rtt_seconds_bucket", &labels, cumulative)?;
            }
            sample(
                out,
                "tcpstat_port_rtt_seconds_sum",
                &base,
                seconds(row.totals.rtt_sum_us),
            )?;
            sample(out, "tcpstat_port_rtt_seconds_count", &base, cumulative)?;
        }
        family(out, &RETRANSMITS)?;
        for (port, label, row) in &labelled {
            let base = labels_of(port, row);
            let base: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
            sample(
                out,
                RETRANSMITS.name,
                &with_netns(&base, label.as_deref()),
                row.totals.retransmits,
            )?;
        }
    }
    // The gauges of the ports with connections now.
    let now: Vec<_> = labelled
        .iter()
        .filter_map(|(port, label, row)| row.gauges.as_ref().map(|g| (port, label, *row, g)))
        .collect();
    let with_info: Vec<_> = now.iter().filter(|(_, _, _, g)| g.with_info > 0).collect();
    let gauges: [(&Metric, Gauge); 3] = [
        (&RETRANSMITTING, |g| g.retransmitting),
        (&ZERO_WINDOW, |g| g.zero_window),
        (&STALLED, |g| g.stalled),
    ];
    if !with_info.is_empty() {
        for (metric, value) in gauges {
            family(out, metric)?;
            for (port, label, row, g) in &with_info {
                let base = labels_of(port, row);
                let base: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
                sample(
                    out,
                    metric.name,
                    &with_netns(&base, label.as_deref()),
                    value(g),
                )?;
            }
        }
    }
    if !now.is_empty() {
        family(out, &QUEUED)?;
        for (port, label, row, g) in &now {
            let base = labels_of(port, row);
            for (queue, bytes) in [("recv", g.recv_q_bytes), ("send", g.send_q_bytes)] {
                let mut labels: Vec<(&str, &str)> =
                    base.iter().map(|(k, v)| (*k, v.as_str())).collect();
                labels.push(("queue", queue));
                sample(
                    out,
                    QUEUED.name,
                    &with_netns(&labels, label.as_deref()),
                    bytes,
                )?;
            }
        }
    }
    if !folded.is_empty() {
        family(out, &FOLDED)?;
        for &(tag, direction, ports) in folded {
            let label = netns(tag);
            sample(
                out,
                FOLDED.name,
                &with_netns(&[("direction", direction.name())], label.as_deref()),
                ports,
            )?;
        }
    }
    Ok(())
}

/// One of a port's gauges.
type Gauge = fn(&PortGauges) -> u64;

/// Microseconds as seconds, exactly (`50` -> `0.00005`).
fn seconds(us: u64) -> String {
    let (whole, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:06}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact_decimals() {
        assert_eq!(seconds(50), "0.00005");
        assert_eq!(seconds(2_500_000), "2.5");
        assert_eq!(seconds(1_000_000), "1");
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(12_345_678), "12.345678");
    }
}
