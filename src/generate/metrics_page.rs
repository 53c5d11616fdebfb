//! tcpstat-metrics(7), and the user guide's metrics table: both generated from the table the
//! exposition itself is written from ([`METRICS`]), so neither can drift from what
//! `--format prometheus` and `tcpstat serve` write.

use clap_mangen::roff::{bold, roman, Inline};

use super::man::Page;
use super::Generated;
use crate::render::prometheus::{Metric, METRICS};

/// DESCRIPTION of tcpstat-metrics(7): how the families are written, labelled and bounded.
const DESCRIPTION: &[&str] = &[
    "tcpstat summary, ports and procs write these metrics with --format prometheus, for \
     node_exporter's textfile collector; tcpstat serve answers them on /metrics, from a fresh \
     collection per scrape. The format is Prometheus' text exposition format 0.0.4, without \
     timestamps: each family once, its HELP and TYPE lines first.",
    "The report label of the meta families (source, completeness, duration) is summary, \
     ports, procs or serve, so that textfiles written by several commands on one host never \
     hold the same series.",
    "Every series read from a network namespace other than tcpstat's own carries a netns \
     label, the meta families included: the namespace's name under /run/netns, else \
     ns:[INODE], else pid:PID for a namespace known only through a process. --all-netns \
     writes one set of series per namespace in one exposition, tcpstat's own without the \
     label.",
    "The number of series is bounded whatever the host does. tcpstat_sockets has at most 11 \
     states times 2 families per namespace. tcpstat_port_sockets keeps the listening ports \
     with the fullest accept queues (--top-listening, default 50) and the busiest other ports \
     (ports --top, serve --top-ports, default 10), and sums the rest, their queues included, \
     as port=\"other\" per direction, so that the series still add up to every socket. \
     Per-process series are per command name, never per pid, for the busiest commands (procs \
     --top, serve --top-processes, default 20), the rest summed in \
     tcpstat_process_other_sockets. Ephemeral ports, remote addresses and pids never become \
     label values: ports --format prometheus groups by service port only.",
    "Label values are made inert, then escaped as the format requires. Command and namespace \
     names come from other users and reach terminals: control, bidi and invisible characters \
     become a visible text form (\\xNN, \\n, \\t, \\u{NNNN}) and a backslash is doubled, \
     exactly as in tables; the format then escapes backslashes and double quotes. Both steps \
     are one-to-one, so two different names are always two different label values.",
];

/// What the page says of a family besides its HELP: labels, and who writes it when.
fn facts(metric: &Metric) -> Vec<Inline> {
    let mut parts = Vec::new();
    if metric.labels.is_empty() {
        parts.push(roman("No labels"));
    } else {
        parts.push(roman("Labels: "));
        for (i, label) in metric.labels.iter().enumerate() {
            if i > 0 {
                parts.push(roman(", "));
            }
            parts.push(bold(label.name));
            if !label.values.is_empty() {
                parts.push(roman(format!(" ({})", label.values.join(", "))));
            }
        }
    }
    parts.push(roman(format!(". Written by {}.", metric.written)));
    parts
}

/// tcpstat-metrics(7).
pub(super) fn page() -> Generated {
    let mut page = Page::new();
    page.title("TCPSTAT-METRICS", "7", "Miscellaneous Information");
    page.heading("NAME");
    page.paragraph([roman("tcpstat-metrics - the Prometheus metrics of tcpstat")]);
    page.heading("DESCRIPTION");
    for paragraph in DESCRIPTION {
        page.paragraph([roman(*paragraph)]);
    }
    page.heading("METRICS");
    for metric in METRICS {
        page.tagged_lines(
            [
                bold(metric.name),
                roman(format!(" ({})", metric.kind.name())),
            ],
            vec![vec![roman(metric.help)], facts(&metric)],
        );
    }
    page.heading("SEE ALSO");
    page.references(&[
        "tcpstat(1)",
        "tcpstat-summary(1)",
        "tcpstat-ports(1)",
        "tcpstat-procs(1)",
        "tcpstat-serve(1)",
    ]);
    Generated {
        dir: "man",
        name: "tcpstat-metrics.7".to_owned(),
        bytes: page.render().into_bytes(),
    }
}

/// Text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The user guide's metrics table (section "### Metrics"), in Markdown.
pub fn readme_table() -> String {
    let mut out =
        String::from("| metric | type | labels | written by | meaning |\n|---|---|---|---|---|\n");
    for metric in METRICS {
        let labels: Vec<String> = metric
            .labels
            .iter()
            .map(|l| {
                let values: Vec<String> = l.values.iter().map(|v| format!("`{v}`")).collect();
                if values.is_empty() {
                    format!("`{}`", l.name)
                } else {
                    format!("`{}` ({})", l.name, values.join(", "))
                }
            })
            .collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            metric.name,
            metric.kind.name(),
            labels.join(", "),
            cell(metric.written),
            cell(metric.help)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_on_the_page_and_in_the_table() {
        let page = String::from_utf8(page().bytes).expect("utf-8");
        let table = readme_table();
        for metric in METRICS {
            assert!(
                page.contains(&format!("\\fB{}\\fR", metric.name)),
                "{}",
                metric.name
            );
            assert!(table.contains(&format!("| `{}` |", metric.name)));
            for label in metric.labels {
                assert!(page.contains(&format!("\\fB{}\\fR", label.name)));
                assert!(table.contains(&format!("`{}`", label.name)));
            }
        }
        assert_eq!(table.lines().count(), METRICS.len() + 2);
    }
}
