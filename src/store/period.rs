//! Queries over a whole period for the HTML report: each port's, workload's and process
//! command's peak in it.
//! Additive to [`Reader`]'s per-sample queries; the same tables, nothing written.

use super::{named_row, port_sample, state_list, Reader};
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
        self.rows(
            &format!(
                "SELECT port, outgoing, max(listeners), max(queued), max(backlog), {} FROM port
                 WHERE sample BETWEEN ?1 AND ?2 GROUP BY port, outgoing",
                peaks()
            ),
            [first, last],
            "cannot read its ports",
            port_sample,
        )
    }

    /// Every workload recorded from sample `first` to `last`, each state its largest count.
    pub fn workload_peaks(&self, first: i64, last: i64) -> Result<Vec<WorkloadSample>, Error> {
        self.rows(
            &format!(
                "SELECT name, {} FROM workload_state JOIN workload ON workload.id = workload
                 WHERE sample BETWEEN ?1 AND ?2 GROUP BY name",
                peaks()
            ),
            [first, last],
            "cannot read its workloads",
            named_row,
        )
    }

    /// Every command recorded among the top processes from sample `first` to `last`, each
    /// state its largest count in one sample, summed over the processes of that command in
    /// that sample (as `history --process` sums them); the summed rows "(other)" and
    /// "(no process)" are left out. With the number of samples in the range that looked the
    /// owners up.
    pub fn process_peaks(
        &self,
        first: i64,
        last: i64,
    ) -> Result<(Vec<WorkloadSample>, u64), Error> {
        let sums = state_list(false)
            .split(", ")
            .map(|c| format!("sum({c}) AS {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = self.rows(
            &format!(
                "SELECT command, {} FROM (
                   SELECT sample, command, {sums} FROM process_state
                    WHERE sample BETWEEN ?1 AND ?2 AND pid > 0 GROUP BY sample, command)
                 GROUP BY command",
                peaks()
            ),
            [first, last],
            "cannot read its processes",
            named_row,
        )?;
        let looked: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM sample
                  WHERE id BETWEEN ?1 AND ?2 AND processes IS NOT NULL",
                [first, last],
                |r| r.get(0),
            )
            .map_err(self.err("cannot read its samples"))?;
        Ok((rows, looked as u64))
    }

    /// Where each sample from `first` to `last` read its sockets (`netlink`, `proc`), by id.
    pub fn sources(&self, first: i64, last: i64) -> Result<Vec<(i64, String)>, Error> {
        self.rows(
            "SELECT id, source FROM sample WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
            [first, last],
            "cannot read its samples",
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }
}
