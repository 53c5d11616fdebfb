//! `tcpstat history`: what `tcpstat record` stored, over a period or at one moment.
//!
//! Owns: resolving the times (the clock and the system's time zone), the queries of a run
//! (through [`crate::store::Reader`]), the statistics and onsets (`aggregate::history`) and
//! the choice of renderer. Reads no socket.

use std::io::Write;
use std::path::Path;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::aggregate::history::{grew_with, onset, rates, stats, BAND_WINDOW};
use crate::config::{Config, HistoryFormat, HistoryOptions};
use crate::error::Error;
use crate::model::history::{
    resolve_when, PortSample, ProcessSample, WorkloadSample, COUNTERS, STUCK,
};
use crate::model::{StateRow, StateSet, TcpState};
use crate::render::history::{
    self as view, CounterSeries, MomentReport, OnsetReport, PeriodReport, Selection, StateSeries,
};
use crate::render::history_html::{self, HtmlReport};
use crate::store::{Point, Reader};

/// Columns of the charts.
const CHART_WIDTH: usize = 48;
/// Ports, workloads and processes named at an onset.
const ONSET_TOP: usize = 5;

pub fn run(
    _config: &Config,
    options: &HistoryOptions,
    out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<(), Error> {
    let tz = TimeZone::system();
    let now = Timestamp::now();
    let resolve = |when| resolve_when(when, now, &tz).map_err(Error::Usage);
    let reader = Reader::open(&options.db)?;
    let hostname = reader.meta("hostname")?.unwrap_or_default();
    let db = options.db.display().to_string();
    let shown: Vec<TcpState> = if options.states.is_empty() {
        if options.onset {
            STUCK.to_vec()
        } else {
            TcpState::ALL.to_vec()
        }
    } else {
        options.states.iter().collect()
    };
    let selection = Selection {
        ports: options.ports.clone(),
        workloads: options.workloads.clone(),
        processes: options.processes.clone(),
    };
    if let Some(at) = options.at {
        let asked = resolve(at)?;
        return moment(
            &reader, &hostname, &db, asked, &tz, &shown, &selection, options, out,
        );
    }
    let from = resolve(options.since)?;
    let until = resolve(options.until)?;
    if from > until {
        return Err(Error::Usage(format!(
            "--since ({}) is after --until ({})",
            view::local(from, &tz),
            view::local(until, &tz)
        )));
    }
    // The HTML page charts every state that was not always 0, and says when each state
    // given with --state (or every one shown, with --onset) left its normal band.
    let html = options.html.is_some();
    let onset_states: Vec<TcpState> = if options.onset {
        shown.clone()
    } else if html {
        options.states.iter().collect()
    } else {
        Vec::new()
    };
    let shown = if html && !options.onset {
        TcpState::ALL.to_vec()
    } else {
        shown
    };
    let onset_wanted = options.onset || !onset_states.is_empty();
    let before = if onset_wanted { BAND_WINDOW } else { 1 };
    let mut points = reader.points(from, until, before)?;
    let lead = points.iter().take_while(|p| p.t_ms < from).count();
    if points.len() == lead {
        return Err(no_samples(&reader, &options.db, from, until, &tz)?);
    }
    let (first, last) = (points[0].id, points[points.len() - 1].id);
    select(&reader, &mut points, first, last, &selection)?;
    let lead = points.iter().take_while(|p| p.t_ms < from).count();
    if points.len() == lead {
        return Err(Error::Usage(format!(
            "no sample from {} to {} recorded processes (record --processes never, or \
             by a tcpstat before version 2 of the database); --process needs them",
            view::local(from, &tz),
            view::local(until, &tz)
        )));
    }
    let times: Vec<i64> = points.iter().map(|p| p.t_ms).collect();
    let counters = reader.counters(first, last)?;
    let counter_series: Vec<CounterSeries> = (0..COUNTERS.len())
        .map(|i| {
            let values: Vec<Option<u64>> = points
                .iter()
                .map(|p| {
                    counters
                        .iter()
                        .find(|(id, _)| *id == p.id)
                        .and_then(|(_, v)| v[i])
                })
                .collect();
            let r = rates(&times, &values);
            CounterSeries {
                name: COUNTERS[i].1,
                rates: r[lead..].to_vec(),
            }
        })
        .collect();
    let series =
        |state: TcpState| -> Vec<u64> { points.iter().map(|p| p.counts.get(state)).collect() };
    let states: Vec<StateSeries> = shown
        .iter()
        .filter_map(|&state| {
            let values = series(state)[lead..].to_vec();
            let s = stats(&values)?;
            Some(StateSeries {
                state,
                values,
                stats: s,
            })
        })
        // Without --state, states that were always 0 are left out of the table.
        .filter(|s| (!options.states.is_empty() && !html) || options.onset || s.stats.max > 0)
        .collect();
    let onsets = if onset_wanted {
        let mut found = Vec::new();
        for &state in &onset_states {
            let values = series(state);
            let Some(o) = onset(&values, lead) else {
                continue;
            };
            let at = points[o.index].id;
            let previous = points[o.index - 1].id;
            let (ports, workloads) = reader.detail(at)?;
            let (ports_before, workloads_before) = reader.detail(previous)?;
            let processes = reader.processes(at)?;
            let processes_before = reader.processes(previous)?.unwrap_or_default();
            found.push(OnsetReport {
                state,
                t_ms: points[o.index].t_ms,
                onset: o,
                ports: top_ports(&ports, &ports_before, state),
                workloads: top_workloads(&workloads, &workloads_before, state),
                processes: processes.map(|now| top_processes(&now, &processes_before, state)),
            });
        }
        found.sort_by_key(|o| o.t_ms);
        Some(found)
    } else {
        None
    };
    let report = PeriodReport {
        hostname: &hostname,
        db: &db,
        from_ms: from,
        until_ms: until,
        tz: &tz,
        selection: &selection,
        partial: points[lead..].iter().filter(|p| p.partial).count(),
        times: times[lead..].to_vec(),
        states,
        counters: counter_series,
        onsets,
    };
    if let Some(path) = &options.html {
        let (processes, process_samples) = reader.process_peaks(points[lead].id, last)?;
        let page = HtmlReport {
            period: &report,
            ports: reader.port_peaks(points[lead].id, last)?,
            workloads: reader.workload_peaks(points[lead].id, last)?,
            processes,
            process_samples,
            generated_ms: now.as_millisecond(),
        };
        return write_html(path, &page, out);
    }
    match options.format {
        HistoryFormat::Json => view::period_json(out, &report)?,
        HistoryFormat::Csv => view::period_csv(out, &report)?,
        HistoryFormat::Table => view::period_table(out, &report, CHART_WIDTH)?,
    }
    Ok(())
}

/// Writes the page to `path` (`-`: `out`), whole or not at all: into a file beside it,
/// renamed over it once written.
fn write_html(path: &Path, page: &HtmlReport<'_>, out: &mut dyn Write) -> Result<(), Error> {
    if path == Path::new("-") {
        history_html::write(out, page)?;
        return Ok(());
    }
    let failed = |source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(failed)?);
    history_html::write(&mut file, page)
        .and_then(|()| file.into_inner().map_err(|e| e.into_error()))
        .and_then(|f| f.sync_all())
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            failed(e)
        })?;
    std::fs::rename(&tmp, path).map_err(failed)?;
    Ok(())
}

/// Replaces each point's counts with those of the selected ports, workloads or processes
/// (with processes, the points of samples that did not record them are dropped).
pub(super) fn select(
    reader: &Reader,
    points: &mut Vec<Point>,
    first: i64,
    last: i64,
    selection: &Selection,
) -> Result<(), Error> {
    let rows = if !selection.processes.is_empty() {
        let with = reader.samples_with_processes(first, last)?;
        points.retain(|p| with.binary_search(&p.id).is_ok());
        let rows = reader.process_counts(first, last, &selection.processes)?;
        if rows.is_empty() && !with.is_empty() {
            let names = reader.process_names(first, last)?;
            return Err(Error::Usage(format!(
                "no process named {} was recorded in the period; recorded: {}",
                selection.processes.join(", "),
                names.join(", ")
            )));
        }
        rows
    } else if !selection.ports.is_empty() {
        reader.port_counts(first, last, &selection.ports)?
    } else if !selection.workloads.is_empty() {
        let rows = reader.workload_counts(first, last, &selection.workloads)?;
        if rows.is_empty() {
            let names = reader.workload_names(first, last)?;
            return Err(Error::Usage(format!(
                "no workload named {} was recorded in the period; recorded: {}",
                selection.workloads.join(", "),
                names.join(", ")
            )));
        }
        rows
    } else {
        return Ok(());
    };
    for p in points.iter_mut() {
        p.counts = rows
            .iter()
            .find(|(id, _)| *id == p.id)
            .map_or_else(StateRow::default, |(_, row)| *row);
    }
    Ok(())
}

fn top_ports(now: &[PortSample], before: &[PortSample], state: TcpState) -> Vec<(PortSample, i64)> {
    let same = |a: &PortSample, b: &PortSample| a.port == b.port && a.outgoing == b.outgoing;
    grew_with(now, before, state, |p| &p.counts, same, ONSET_TOP)
}

fn top_processes(
    now: &[ProcessSample],
    before: &[ProcessSample],
    state: TcpState,
) -> Vec<(ProcessSample, i64)> {
    let same = |a: &ProcessSample, b: &ProcessSample| a.pid == b.pid && a.command == b.command;
    grew_with(now, before, state, |p| &p.counts, same, ONSET_TOP)
}

fn top_workloads(
    now: &[WorkloadSample],
    before: &[WorkloadSample],
    state: TcpState,
) -> Vec<(WorkloadSample, i64)> {
    let same = |a: &WorkloadSample, b: &WorkloadSample| a.name == b.name;
    grew_with(now, before, state, |w| &w.counts, same, ONSET_TOP)
}

/// Says what the database does hold when the period has no sample.
pub(super) fn no_samples(
    reader: &Reader,
    path: &std::path::Path,
    from: i64,
    until: i64,
    tz: &TimeZone,
) -> Result<Error, Error> {
    let held = match reader.span()? {
        Some((a, b)) => format!(
            "it holds samples from {} to {}",
            view::local(a, tz),
            view::local(b, tz)
        ),
        None => "it holds no sample yet".to_string(),
    };
    Ok(Error::Store {
        path: path.to_path_buf(),
        what: format!(
            "no sample from {} to {} ({held})",
            view::local(from, tz),
            view::local(until, tz)
        ),
        source: None,
    })
}

#[allow(clippy::too_many_arguments)]
fn moment(
    reader: &Reader,
    hostname: &str,
    db: &str,
    asked: i64,
    tz: &TimeZone,
    shown: &[TcpState],
    selection: &Selection,
    options: &HistoryOptions,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let points = reader.points(asked + 1, asked, 2)?;
    let Some(point) = points.last() else {
        return Err(no_samples(reader, &options.db, asked, asked, tz)?);
    };
    let (mut ports, mut workloads) = reader.detail(point.id)?;
    if !selection.ports.is_empty() {
        ports.retain(|p| selection.ports.contains(&p.port));
    }
    if !selection.workloads.is_empty() {
        workloads.retain(|w| selection.workloads.contains(&w.name));
    }
    let recorded_processes = reader.processes(point.id)?;
    let mut processes = recorded_processes.clone().unwrap_or_default();
    if !selection.processes.is_empty() {
        processes.retain(|p| p.pid > 0 && selection.processes.contains(&p.command));
    }
    let selected = shown
        .iter()
        .fold(StateSet::EMPTY, |a, &s| a.union(StateSet::of(s)));
    let busy = |c: &StateRow| selected.iter().any(|s| c.get(s) > 0);
    ports.retain(|p| busy(&p.counts) || p.listeners > 0);
    ports.sort_by(|a, b| {
        b.queued
            .cmp(&a.queued)
            .then(b.counts.total().cmp(&a.counts.total()))
            .then(a.port.cmp(&b.port))
    });
    workloads.retain(|w| busy(&w.counts));
    processes.retain(|p| busy(&p.counts));
    let rates_now: Vec<(&'static str, Option<f64>)> = if points.len() == 2 {
        let counters = reader.counters(points[0].id, point.id)?;
        let times = [points[0].t_ms, point.t_ms];
        (0..COUNTERS.len())
            .map(|i| {
                let values: Vec<Option<u64>> = [points[0].id, point.id]
                    .iter()
                    .map(|id| {
                        counters
                            .iter()
                            .find(|(c, _)| c == id)
                            .and_then(|(_, v)| v[i])
                    })
                    .collect();
                (COUNTERS[i].1, rates(&times, &values)[1])
            })
            .collect()
    } else {
        COUNTERS.iter().map(|&(_, name)| (name, None)).collect()
    };
    let report = MomentReport {
        hostname,
        db,
        asked_ms: asked,
        t_ms: point.t_ms,
        tz,
        states: shown.iter().map(|&s| (s, point.counts.get(s))).collect(),
        ports,
        workloads,
        processes: recorded_processes.map(|_| processes),
        rates: rates_now,
    };
    match options.format {
        HistoryFormat::Json => view::moment_json(out, &report)?,
        // One line of counts per state, as the period's CSV has per sample.
        HistoryFormat::Csv => {
            let names: Vec<&str> = shown.iter().map(|s| s.name()).collect();
            writeln!(out, "time,{}", names.join(","))?;
            let values: Vec<String> = shown
                .iter()
                .map(|&s| point.counts.get(s).to_string())
                .collect();
            writeln!(
                out,
                "{},{}",
                crate::app::rfc3339(
                    std::time::UNIX_EPOCH
                        + std::time::Duration::from_millis(point.t_ms.max(0) as u64)
                ),
                values.join(",")
            )?;
        }
        HistoryFormat::Table => view::moment_table(out, &report)?,
    }
    Ok(())
}
