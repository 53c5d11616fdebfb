//! Queries over a whole period for the HTML report: each port's and workload's peak in it.
//! Additive to [`Reader`]'s per-sample queries; the same tables, nothing written.

use super::{state_list, state_row, Reader};
use crate::error::Error;
use crate::model::history::{PortSample, WorkloadSample};

/// `max(listen), ..., max(closed), max(unknown)`.
fn peaks() -> String {
    state_list(false)
        .split(", ")
        .map(|c| format!("max({c})"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Reader {
    /// Every port recorded from sample `first` to `last` (ids, inclusive), each column its
    /// largest value in that range (per state, listeners, queued, backlog): the peaks need
    /// not be of the same sample.
    pub fn port_peaks(&self, first: i64, last: i64) -> Result<Vec<PortSample>, Error> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT port, outgoing, max(listeners), max(queued), max(backlog), {} FROM port
                 WHERE sample BETWEEN ?1 AND ?2 GROUP BY port, outgoing",
                peaks()
            ))
            .map_err(self.err("cannot read its ports"))?;
        let rows = st
            .query_map([first, last], |r| {
                Ok(PortSample {
                    port: r.get(0)?,
                    outgoing: r.get(1)?,
                    listeners: r.get(2)?,
                    queued: r.get(3)?,
                    backlog: r.get(4)?,
                    counts: state_row(r, 5)?,
                })
            })
            .map_err(self.err("cannot read its ports"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err("cannot read its ports"))
    }

    /// Every workload recorded from sample `first` to `last`, each state its largest count.
    pub fn workload_peaks(&self, first: i64, last: i64) -> Result<Vec<WorkloadSample>, Error> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT name, {} FROM workload_state JOIN workload ON workload.id = workload
                 WHERE sample BETWEEN ?1 AND ?2 GROUP BY name",
                peaks()
            ))
            .map_err(self.err("cannot read its workloads"))?;
        let rows = st
            .query_map([first, last], |r| {
                Ok(WorkloadSample {
                    name: r.get(0)?,
                    counts: state_row(r, 1)?,
                })
            })
            .map_err(self.err("cannot read its workloads"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err("cannot read its workloads"))
    }

    /// Where each sample from `first` to `last` read its sockets (`netlink`, `proc`), by id.
    pub fn sources(&self, first: i64, last: i64) -> Result<Vec<(i64, String)>, Error> {
        let mut st = self
            .conn
            .prepare("SELECT id, source FROM sample WHERE id BETWEEN ?1 AND ?2 ORDER BY id")
            .map_err(self.err("cannot read its samples"))?;
        let rows = st
            .query_map([first, last], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err("cannot read its samples"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err("cannot read its samples"))
    }
}
