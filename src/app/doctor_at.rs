//! `tcpstat doctor --at TIME`: the checks of `doctor` over the recorded sample nearest to
//! TIME (`store`), with the same findings, table and JSON, plus where and when the sample
//! was recorded and what the recording does not hold. Reads no socket.

use std::io::Write;
use std::path::Path;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::config::Config;
use crate::diagnose::{self, Recording, Severity, Thresholds};
use crate::error::{Error, Exit, ExitCode};
use crate::model::history::{resolve_when, When, COUNTERS};
use crate::model::{Filter, NetnsRequest, Outcome, SourceKind, StateSet};
use crate::render::doctor_at::RecordedAt;
use crate::render::{self, json, table, DoctorReport};
use crate::store::Reader;

/// How far the sample used may be from the time asked, in recording intervals.
pub const MAX_INTERVALS: i64 = 2;
/// The interval assumed when the database does not say (the recorder's default).
const DEFAULT_INTERVAL_MS: i64 = 10_000;

pub fn run(
    config: &Config,
    thresholds: &Thresholds,
    as_json: bool,
    at: When,
    db: &Path,
    out: &mut dyn Write,
) -> Result<Exit, Error> {
    if config.filter != Filter::default() {
        return Err(Error::Usage(
            "doctor --at judges a whole recorded sample: socket filters (--state, --port, \
             --pid, ...) do not apply to it"
                .into(),
        ));
    }
    if config.netns != NetnsRequest::Own {
        return Err(Error::Usage(
            "doctor --at reads the namespaces the recorder read: --netns, --netns-pid and \
             --all-netns do not apply to it"
                .into(),
        ));
    }
    let tz = TimeZone::system();
    let asked = resolve_when(at, Timestamp::now(), &tz).map_err(Error::Usage)?;
    let reader = Reader::open(db)?;
    let interval_ms = reader
        .meta("interval_ms")?
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|&v| v > 0)
        .unwrap_or(DEFAULT_INTERVAL_MS);
    let refuse = |what: String| Error::Store {
        path: db.to_path_buf(),
        what,
        source: None,
    };
    let held = |reader: &Reader| -> Result<String, Error> {
        Ok(match reader.span()? {
            Some((a, b)) => format!(
                "it holds samples from {} to {}",
                render::history::local(a, &tz),
                render::history::local(b, &tz)
            ),
            None => "it holds no sample yet".to_string(),
        })
    };
    let Some(point) = reader.nearest(asked)? else {
        return Err(refuse(format!(
            "no sample to diagnose at {} ({})",
            render::history::local(asked, &tz),
            held(&reader)?
        )));
    };
    // Two intervals as the recorder kept them there: `--cpu-budget` may have spaced the
    // samples out beyond the configured one.
    let interval_ms = reader
        .kept_interval(point.id)?
        .map_or(interval_ms, |kept| kept.max(interval_ms));
    let max_ms = interval_ms * MAX_INTERVALS;
    let distance = point.t_ms - asked;
    if distance.abs() > max_ms {
        return Err(refuse(format!(
            "no sample within {} of {} (two recording intervals): the nearest is at {}, {} \
             {}; {}",
            render::doctor_at::span(max_ms),
            render::history::local(asked, &tz),
            render::history::local(point.t_ms, &tz),
            render::doctor_at::span(distance.abs()),
            if distance < 0 { "before" } else { "after" },
            held(&reader)?
        )));
    }
    let (ports, _) = reader.detail(point.id)?;
    let processes = reader.processes(point.id)?;
    let listeners = reader.listeners(point.id)?;
    let mut facts = reader.facts(point.id)?;
    let recorded_facts = facts.is_some();
    let counters = reader
        .counters(point.id, point.id)?
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .unwrap_or_default();
    let facts_all = facts.get_or_insert_with(Default::default);
    for (i, value) in counters.iter().enumerate() {
        if let (Some(v), Some(&(section, name))) = (value, COUNTERS.get(i)) {
            if section == "TcpExt" {
                facts_all.tcp_ext.insert(name.to_string(), *v);
            }
        }
    }
    let source_name = reader.source(point.id)?;
    let source = if source_name == "proc" {
        SourceKind::Proc
    } else {
        SourceKind::Netlink
    };
    let has_listener_table = recorded_facts;
    let recording = Recording {
        states: point.counts,
        ports: &ports,
        processes: processes.as_deref(),
        listeners: has_listener_table.then_some(&listeners[..]),
        facts: recorded_facts.then_some(&*facts_all),
        backlog_known: source == SourceKind::Netlink,
    };
    let recorded = diagnose::diagnose_recorded(&recording, thresholds);
    let code = match recorded.diagnosis.worst() {
        Severity::Ok | Severity::Info => ExitCode::Ok,
        Severity::Warning => ExitCode::Warning,
        Severity::Critical => ExitCode::Critical,
    };
    let mut outcome = Outcome::new(source, StateSet::ALL);
    outcome.complete = !point.partial;
    if point.partial {
        outcome
            .warnings
            .push("the recorder could not read all of the socket table for this sample".into());
    }
    let shown_facts = facts.clone().unwrap_or_default();
    let view = crate::model::netns::NetnsView::default();
    let hostname = reader.meta("hostname")?.filter(|h| !h.is_empty());
    let report = DoctorReport {
        diagnosis: &recorded.diagnosis,
        thresholds,
        facts: &shown_facts,
        outcome: &outcome,
        hostname,
        timestamp: crate::app::rfc3339(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(point.t_ms.max(0) as u64),
        ),
        exit_code: code as u8,
        netns: &view,
    };
    let at = RecordedAt {
        db: &db.display().to_string(),
        asked_ms: asked,
        t_ms: point.t_ms,
        interval_ms,
        source: &source_name,
        partial: point.partial,
        processes: processes.is_some(),
        settings: recorded_facts,
        gaps: &recorded.gaps,
        tz: &tz,
    };
    if as_json {
        let mut doc = serde_json::to_value(render::doctor::json(&report))
            .map_err(|e| Error::Output(std::io::Error::other(e)))?;
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("recorded".into(), render::doctor_at::json(&at));
        }
        json::write_line(out, &doc)?;
    } else {
        render::doctor_at::header(out, &at)?;
        render::doctor::text(out, &report, table::Paint(config.color))?;
        render::doctor_at::footer(out, &at)?;
    }
    out.flush()?;
    Ok(Exit::Code(code))
}
