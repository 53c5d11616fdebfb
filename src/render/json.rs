//! JSON output: a contract with scripts.
//!
//! Owns: the wire types, separate from the model so the model can change without the JSON
//! changing shape. Keys are snake_case except state names, which are the canonical upper-case
//! names; every state key is always present; numbers are numbers. Bump [`SCHEMA_VERSION`] on
//! any change that could break a reader. The schema is documented in the README.

use std::io::{self, Write};

use serde::Serialize;

use super::SummaryReport;
use crate::aggregate::StateCounts;
use crate::model::{Family, StateSet, TcpState};

/// Version of every JSON document tcpstat prints.
pub const SCHEMA_VERSION: u32 = 1;

/// The eleven states as fixed keys, in lifecycle order.
#[derive(Debug, Serialize)]
pub struct StatesJson {
    #[serde(rename = "LISTEN")]
    pub listen: u64,
    #[serde(rename = "SYN_SENT")]
    pub syn_sent: u64,
    #[serde(rename = "SYN_RECV")]
    pub syn_recv: u64,
    #[serde(rename = "ESTABLISHED")]
    pub established: u64,
    #[serde(rename = "FIN_WAIT_1")]
    pub fin_wait_1: u64,
    #[serde(rename = "FIN_WAIT_2")]
    pub fin_wait_2: u64,
    #[serde(rename = "CLOSE_WAIT")]
    pub close_wait: u64,
    #[serde(rename = "CLOSING")]
    pub closing: u64,
    #[serde(rename = "LAST_ACK")]
    pub last_ack: u64,
    #[serde(rename = "TIME_WAIT")]
    pub time_wait: u64,
    #[serde(rename = "CLOSED")]
    pub closed: u64,
}

impl StatesJson {
    /// Builds the object from a per-state lookup.
    pub fn from_fn(count: impl Fn(TcpState) -> u64) -> StatesJson {
        StatesJson {
            listen: count(TcpState::Listen),
            syn_sent: count(TcpState::SynSent),
            syn_recv: count(TcpState::SynRecv),
            established: count(TcpState::Established),
            fin_wait_1: count(TcpState::FinWait1),
            fin_wait_2: count(TcpState::FinWait2),
            close_wait: count(TcpState::CloseWait),
            closing: count(TcpState::Closing),
            last_ack: count(TcpState::LastAck),
            time_wait: count(TcpState::TimeWait),
            closed: count(TcpState::Closed),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FamilyJson {
    pub states: StatesJson,
    pub total: u64,
}

#[derive(Debug, Serialize)]
pub struct FamiliesJson {
    pub ipv4: FamilyJson,
    pub ipv6: FamilyJson,
}

#[derive(Debug, Serialize)]
pub struct UnknownJson {
    /// The raw kernel state value.
    pub value: u8,
    pub ipv4: u64,
    pub ipv6: u64,
    pub total: u64,
}

/// `tcpstat summary --json`.
#[derive(Debug, Serialize)]
pub struct SummaryJson<'a> {
    pub schema_version: u32,
    pub source: &'static str,
    pub fallback_reason: Option<&'a str>,
    pub source_covers: Vec<&'static str>,
    pub counted_states: Vec<&'static str>,
    pub counted_families: Vec<&'static str>,
    pub timestamp: &'a str,
    pub hostname: Option<&'a str>,
    pub states: StatesJson,
    pub families: FamiliesJson,
    pub total: u64,
    pub unknown: Vec<UnknownJson>,
    pub complete: bool,
    pub warnings: &'a [String],
}

fn names(set: StateSet) -> Vec<&'static str> {
    set.iter().map(TcpState::name).collect()
}

fn family_json(counts: &StateCounts, family: Family) -> FamilyJson {
    FamilyJson {
        states: StatesJson::from_fn(|s| counts.get(family, s)),
        total: counts.family_total(family),
    }
}

impl<'a> SummaryJson<'a> {
    pub fn new(report: &'a SummaryReport<'a>) -> SummaryJson<'a> {
        let counts = report.counts;
        SummaryJson {
            schema_version: SCHEMA_VERSION,
            source: report.outcome.source.name(),
            fallback_reason: report.outcome.fallback_reason.as_deref(),
            source_covers: names(report.outcome.source.covers()),
            counted_states: names(report.counted_states()),
            counted_families: report.families().iter().map(|f| f.key()).collect(),
            timestamp: &report.timestamp,
            hostname: report.hostname.as_deref(),
            states: StatesJson::from_fn(|s| counts.state_total(s)),
            families: FamiliesJson {
                ipv4: family_json(counts, Family::V4),
                ipv6: family_json(counts, Family::V6),
            },
            total: counts.total(),
            unknown: counts
                .unknown()
                .iter()
                .map(|b| UnknownJson {
                    value: b.value,
                    ipv4: b.by_family[Family::V4.index()],
                    ipv6: b.by_family[Family::V6.index()],
                    total: b.total(),
                })
                .collect(),
            complete: report.outcome.complete,
            warnings: &report.outcome.warnings,
        }
    }
}

/// Writes `value` as one line of JSON.
pub fn write_line(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)
}
