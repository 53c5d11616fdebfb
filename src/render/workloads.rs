//! `tcpstat workloads` as a table or JSON.
//!
//! Owns: [`WorkloadsReport`], the JSON rows of `workloads` and the table (the workload keys
//! shared with `list --json -W` rows are `json::WorkloadJson`). Names are untrusted text
//! (cgroup paths, container and pod names): escaped in the table, made inert in JSON by the
//! JSON writer.

use std::io::{self, Write};

use serde::Serialize;

use super::json::{
    row_netns, row_states, Footer, Header, SpecialRowJson, StatesJson, WorkloadJson,
};
use super::table::Paint;
use super::text::escape;
use super::{NetnsView, TopCut};
use crate::aggregate::workloads::{WorkloadMatrix, WorkloadRow};
use crate::model::workload::{WorkloadBy, WorkloadKind};
use crate::model::{Filter, Outcome, StateRow, TcpState};

/// What `workloads` shows.
#[derive(Debug)]
pub struct WorkloadsReport<'a> {
    pub matrix: &'a WorkloadMatrix,
    pub by: WorkloadBy,
    pub outcome: &'a Outcome,
    pub filter: &'a Filter,
    pub all_states: bool,
    pub netns: &'a NetnsView<'a>,
    pub cut: TopCut,
    /// Where cgroup2 is mounted (`None`: not found).
    pub cgroup_mount: Option<String>,
    pub hostname: Option<String>,
    /// RFC 3339, UTC.
    pub timestamp: String,
}

/// A row's workload as a row grouped under `by` shows it: the group's name, and no finer
/// identity than the group has (a pod row names no container).
fn grouped(row: &WorkloadRow, by: WorkloadBy) -> WorkloadJson<'_> {
    let mut json = WorkloadJson::of(&row.workload);
    json.workload = row.key.clone();
    match by {
        WorkloadBy::Pod => {
            json.kind = WorkloadKind::Pod.key();
            json.container = None;
            json.container_id = None;
            json.unit = None;
            json.runtime = None;
        }
        WorkloadBy::Unit => {
            json.container = None;
            json.pod = None;
            json.namespace = None;
            json.pod_uid = None;
        }
        WorkloadBy::Workload | WorkloadBy::Container | WorkloadBy::Cgroup => {}
    }
    json
}

/// One row of `workloads --json`.
#[derive(Debug, Serialize)]
pub struct WorkloadRowJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns_label: Option<&'a str>,
    #[serde(flatten)]
    pub workload: WorkloadJson<'a>,
    pub states: StatesJson,
    pub unknown: u64,
    pub total: u64,
}

/// `tcpstat workloads --json`.
#[derive(Debug, Serialize)]
pub struct WorkloadsJson<'a> {
    #[serde(flatten)]
    pub header: Header<'a>,
    pub by: &'static str,
    pub cgroup_mount: Option<&'a str>,
    pub counted_states: Vec<&'static str>,
    pub workloads: Vec<WorkloadRowJson<'a>>,
    /// Rows left out by `--top` (0 without it).
    pub workloads_omitted: usize,
    pub unattributed: SpecialRowJson,
    pub ungrouped: SpecialRowJson,
    pub total: u64,
    #[serde(flatten)]
    pub footer: Footer<'a>,
}

const UNATTRIBUTED: &str =
    "sockets with no cgroup and nothing to attribute them by: TIME_WAIT and \
     SYN_RECV sockets on a port no workload listens on (a client's), and with the /proc source \
     sockets whose owning process was not found or not readable";

fn ungrouped_reason(by: WorkloadBy) -> String {
    match by {
        WorkloadBy::Workload | WorkloadBy::Cgroup => "every workload has a row".to_string(),
        other => format!("sockets of workloads that are in no {}", other.key()),
    }
}

fn special(row: &StateRow, reason: impl Into<String>) -> SpecialRowJson {
    SpecialRowJson {
        states: row_states(row),
        unknown: row.unknown,
        total: row.total(),
        reason: reason.into(),
    }
}

pub fn json<'a>(report: &'a WorkloadsReport<'a>) -> WorkloadsJson<'a> {
    let m = report.matrix;
    WorkloadsJson {
        header: Header::new(&report.timestamp, report.hostname.as_deref()),
        by: report.by.key(),
        cgroup_mount: report.cgroup_mount.as_deref(),
        counted_states: report
            .filter
            .states
            .intersect(report.outcome.covers)
            .iter()
            .map(TcpState::name)
            .collect(),
        workloads: m
            .rows
            .iter()
            .map(|row| WorkloadRowJson {
                netns_label: row_netns(report.netns, row.netns),
                workload: grouped(row, report.by),
                states: row_states(&row.counts),
                unknown: row.counts.unknown,
                total: row.counts.total(),
            })
            .collect(),
        workloads_omitted: report.cut.omitted,
        unattributed: special(&m.unattributed, UNATTRIBUTED),
        ungrouped: special(&m.ungrouped, ungrouped_reason(report.by)),
        total: m.sockets,
        footer: Footer::new(report.outcome, report.netns),
    }
}

/// The table: one row per workload, then the rows of sockets without one.
pub fn table(out: &mut dyn Write, report: &WorkloadsReport<'_>, paint: Paint) -> io::Result<()> {
    let m = report.matrix;
    let specials = [&m.unattributed, &m.ungrouped];
    let states = super::matrix_columns(
        report.all_states,
        report.filter.states,
        report.outcome.covers,
        m.rows.iter().map(|r| &r.counts).chain(specials),
    );
    let per_row = report.netns.per_row;
    let mut header = Vec::new();
    if per_row {
        header.push("NETNS".to_string());
    }
    header.push(report.by.key().to_uppercase());
    header.push("KIND".to_string());
    let mut rows = Vec::new();
    for row in &m.rows {
        let mut cells = Vec::new();
        if per_row {
            cells.push(escape(report.netns.label(row.netns)).into_owned());
        }
        let kind = match report.by {
            WorkloadBy::Pod => WorkloadKind::Pod.key(),
            _ => row.workload.kind().key(),
        };
        cells.push(escape(&row.key).into_owned());
        cells.push(kind.to_string());
        rows.push((cells, &row.counts));
    }
    for (row, label) in [
        (&m.unattributed, "(unattributed)"),
        (&m.ungrouped, "(in no such group)"),
    ] {
        if row.total() > 0 {
            let mut cells = Vec::new();
            if per_row {
                cells.push(String::new());
            }
            cells.push(paint.apply(super::table::DIM, label));
            cells.push(String::new());
            rows.push((cells, row));
        }
    }
    super::table::matrix(out, paint, header, &states, rows)?;
    let mut legend: Vec<String> = report.cut.footer().into_iter().collect();
    if m.unattributed.total() > 0 {
        legend.push(format!("(unattributed): {UNATTRIBUTED}"));
    }
    if m.ungrouped.total() > 0 {
        legend.push(format!(
            "(in no such group): {}",
            ungrouped_reason(report.by)
        ));
    }
    legend.push(format!(
        "{} socket(s); the workload of a socket is its cgroup's",
        m.sockets
    ));
    super::table::footer(out, &legend, report.outcome, report.netns, paint)
}
