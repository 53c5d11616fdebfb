//! The history database: samples of the socket table in one SQLite file (`tcpstat record`
//! writes, `tcpstat history` reads). The schema is documented in `docs/history.md`.
//!
//! Owns: the schema and its migrations (`PRAGMA user_version`), WAL mode, the one-recorder
//! lock, writing a sample in one transaction, retention by age and size, and the queries
//! `history` makes. It must not collect sockets, aggregate or format: samples come in and go
//! out as [`crate::model::history`] data.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};

use crate::error::Error;
use crate::model::history::{
    ListenerSample, PortSample, ProcessSample, Sample, WorkloadSample, COUNTERS, COUNTERS_V1,
};
use crate::model::kernel::{KernelFacts, SockStat, Sysctls, TcpMem};
use crate::model::{StateRow, TcpState};

mod period;

/// `PRAGMA application_id`: "tcps". A SQLite file of another program is refused.
pub const APPLICATION_ID: i64 = 0x7463_7073;
/// The schema version this build writes and reads (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 3;

/// The oldest schema version readers take as it is: version 3 only added columns that say how
/// the recorder paced itself, which readers do without (a version 1 file lacks whole tables:
/// the recorder migrates it).
pub const MIN_READ_VERSION: i64 = 2;

/// The columns of the eleven states, in [`TcpState::ALL`] order.
pub const STATE_COLUMNS: [&str; 11] = [
    "listen",
    "syn_sent",
    "syn_recv",
    "established",
    "fin_wait_1",
    "fin_wait_2",
    "close_wait",
    "closing",
    "last_ack",
    "time_wait",
    "closed",
];

/// The column of a state.
pub fn column(state: TcpState) -> &'static str {
    STATE_COLUMNS[state.index()]
}

/// Migration `i` takes a database from version `i` to `i + 1`; each runs in a transaction.
fn migrations() -> Vec<String> {
    let states = STATE_COLUMNS
        .iter()
        .map(|c| format!("{c} INTEGER NOT NULL"))
        .collect::<Vec<_>>()
        .join(", ");
    let counters = COUNTERS[..COUNTERS_V1]
        .iter()
        .map(|(_, name)| format!("{name} INTEGER"))
        .collect::<Vec<_>>()
        .join(", ");
    let added_counters: String = COUNTERS[COUNTERS_V1..]
        .iter()
        .map(|(_, name)| format!("ALTER TABLE counters ADD COLUMN {name} INTEGER;\n"))
        .collect();
    let facts = FACT_COLUMNS
        .iter()
        .map(|c| format!("{c} INTEGER"))
        .collect::<Vec<_>>()
        .join(", ");
    let v1 = format!(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
         CREATE TABLE sample (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, source TEXT NOT NULL,
             partial INTEGER NOT NULL, collect_us INTEGER NOT NULL, {states},
             unknown INTEGER NOT NULL);
         CREATE INDEX sample_t ON sample (t);
         CREATE TABLE port (sample INTEGER NOT NULL, port INTEGER NOT NULL,
             outgoing INTEGER NOT NULL, {states}, unknown INTEGER NOT NULL,
             listeners INTEGER NOT NULL, queued INTEGER NOT NULL, backlog INTEGER,
             PRIMARY KEY (sample, port, outgoing)) WITHOUT ROWID;
         CREATE TABLE workload (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
         CREATE TABLE workload_state (sample INTEGER NOT NULL, workload INTEGER NOT NULL,
             {states}, unknown INTEGER NOT NULL,
             PRIMARY KEY (sample, workload)) WITHOUT ROWID;
         CREATE TABLE counters (sample INTEGER PRIMARY KEY, {counters});"
    );
    // Version 2: owning processes, listeners with a queue, the kernel's settings and socket
    // totals (what `doctor --at` judges with), and two more counters. `sample.processes`
    // is NULL where owners were not looked up (every sample of version 1).
    let v2 = format!(
        "ALTER TABLE sample ADD COLUMN processes INTEGER;
         CREATE TABLE process_state (sample INTEGER NOT NULL, pid INTEGER NOT NULL,
             uid INTEGER, user TEXT, command TEXT NOT NULL, {states}, unknown INTEGER NOT NULL,
             PRIMARY KEY (sample, pid)) WITHOUT ROWID;
         CREATE TABLE listener (sample INTEGER NOT NULL, address TEXT NOT NULL,
             port INTEGER NOT NULL, queued INTEGER NOT NULL, backlog INTEGER);
         CREATE INDEX listener_sample ON listener (sample);
         CREATE TABLE facts (sample INTEGER PRIMARY KEY, {facts});
         {added_counters}"
    );
    // Version 3: the regular spacing the recorder kept at each sample (`--cpu-budget` may
    // stretch it beyond `meta.interval_ms`) and the CPU of its collection; NULL before.
    let v3 = "ALTER TABLE sample ADD COLUMN interval_ms INTEGER;
              ALTER TABLE sample ADD COLUMN cpu_us INTEGER;"
        .to_string();
    vec![v1, v2, v3]
}

/// The columns of the `facts` table (schema version 2): the sysctls `doctor` judges
/// against, `/proc/net/sockstat`'s TCP line and the page size.
pub const FACT_COLUMNS: [&str; 22] = [
    "tcp_max_tw_buckets",
    "port_range_low",
    "port_range_high",
    "tcp_syncookies",
    "tcp_max_syn_backlog",
    "somaxconn",
    "tcp_fin_timeout",
    "tcp_max_orphans",
    "tcp_orphan_retries",
    "tcp_tw_reuse",
    "tcp_timestamps",
    "tcp_syn_retries",
    "tcp_abort_on_overflow",
    "tcp_mem_min",
    "tcp_mem_pressure",
    "tcp_mem_max",
    "sockstat_inuse",
    "sockstat_orphan",
    "sockstat_tw",
    "sockstat_alloc",
    "sockstat_mem",
    "page_size",
];

/// `facts` as the values of [`FACT_COLUMNS`].
fn fact_values(f: &KernelFacts) -> [Option<i64>; 22] {
    let s = &f.sysctls;
    let n = |v: Option<u64>| v.map(|v| v as i64);
    let st = f.sockstat;
    [
        n(s.tcp_max_tw_buckets),
        s.ip_local_port_range.map(|r| i64::from(r.0)),
        s.ip_local_port_range.map(|r| i64::from(r.1)),
        n(s.tcp_syncookies),
        n(s.tcp_max_syn_backlog),
        n(s.somaxconn),
        n(s.tcp_fin_timeout),
        n(s.tcp_max_orphans),
        n(s.tcp_orphan_retries),
        n(s.tcp_tw_reuse),
        n(s.tcp_timestamps),
        n(s.tcp_syn_retries),
        n(s.tcp_abort_on_overflow),
        n(s.tcp_mem.map(|m| m.min)),
        n(s.tcp_mem.map(|m| m.pressure)),
        n(s.tcp_mem.map(|m| m.max)),
        n(st.map(|s| s.inuse)),
        n(st.map(|s| s.orphan)),
        n(st.map(|s| s.tw)),
        n(st.map(|s| s.alloc)),
        n(st.map(|s| s.mem_pages)),
        Some(f.page_size as i64),
    ]
}

/// The values of [`FACT_COLUMNS`] back as facts (`missing` names what was not recorded).
fn facts_of(v: &[Option<i64>]) -> KernelFacts {
    let n = |i: usize| v.get(i).copied().flatten().map(|x| x.max(0) as u64);
    let port = |i: usize| n(i).and_then(|x| u16::try_from(x).ok());
    let sockstat = match (n(16), n(17), n(18), n(19), n(20)) {
        (Some(inuse), Some(orphan), Some(tw), Some(alloc), Some(mem_pages)) => Some(SockStat {
            inuse,
            orphan,
            tw,
            alloc,
            mem_pages,
        }),
        _ => None,
    };
    let sysctls = Sysctls {
        tcp_max_tw_buckets: n(0),
        ip_local_port_range: port(1).zip(port(2)),
        tcp_syncookies: n(3),
        tcp_max_syn_backlog: n(4),
        somaxconn: n(5),
        tcp_fin_timeout: n(6),
        tcp_max_orphans: n(7),
        tcp_orphan_retries: n(8),
        tcp_tw_reuse: n(9),
        tcp_timestamps: n(10),
        tcp_syn_retries: n(11),
        tcp_abort_on_overflow: n(12),
        tcp_mem: match (n(13), n(14), n(15)) {
            (Some(min), Some(pressure), Some(max)) => Some(TcpMem { min, pressure, max }),
            _ => None,
        },
    };
    let missing = FACT_COLUMNS
        .iter()
        .zip(v)
        .filter(|(_, v)| v.is_none())
        .map(|(c, _)| format!("{c} (not readable when recorded)"))
        .collect();
    KernelFacts {
        sysctls,
        tcp_ext: Default::default(),
        sockstat,
        page_size: n(21).unwrap_or(4096),
        missing,
    }
}

/// A [`PortSample`] from `port, outgoing, listeners, queued, backlog` and the state columns.
fn port_sample(r: &rusqlite::Row<'_>) -> rusqlite::Result<PortSample> {
    Ok(PortSample {
        port: r.get(0)?,
        outgoing: r.get(1)?,
        listeners: r.get(2)?,
        queued: r.get(3)?,
        backlog: r.get(4)?,
        counts: state_row(r, 5)?,
    })
}

/// `names` as a list of SQL string literals (`'a','it''s'`), for an `IN (...)`.
fn sql_strings(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("'{}'", n.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",")
}

/// A named row (a workload, a process command) from `name` and the state columns.
fn named_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WorkloadSample> {
    Ok(WorkloadSample {
        name: r.get(0)?,
        counts: state_row(r, 1)?,
    })
}

/// A [`Point`] from `id, t, partial, collect_us` and the state columns.
fn point(r: &rusqlite::Row<'_>) -> rusqlite::Result<Point> {
    Ok(Point {
        id: r.get(0)?,
        t_ms: r.get(1)?,
        partial: r.get(2)?,
        collect_us: r.get(3)?,
        counts: state_row(r, 4)?,
    })
}

fn fail(path: &Path, what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    let what = what.into();
    move |source| Error::Store {
        path: path.to_path_buf(),
        what,
        source: Some(source),
    }
}

fn refuse(path: &Path, what: impl Into<String>) -> Error {
    Error::Store {
        path: path.to_path_buf(),
        what: what.into(),
        source: None,
    }
}

/// Whether a write failed for a reason that may pass (a full disk, a read-only remount, an
/// I/O error, a lock held too long), so that the recorder retries rather than ends.
pub fn is_transient(e: &Error) -> bool {
    use rusqlite::ErrorCode as C;
    let Error::Store {
        source: Some(rusqlite::Error::SqliteFailure(f, _)),
        ..
    } = e
    else {
        return false;
    };
    matches!(
        f.code,
        C::DiskFull
            | C::ReadOnly
            | C::SystemIoFailure
            | C::DatabaseBusy
            | C::DatabaseLocked
            | C::CannotOpen
            | C::OutOfMemory
    )
}

/// Checks that an open database is tcpstat's history (or empty) and of a version this build
/// knows; returns its version (0: empty).
fn check_format(conn: &Connection, path: &Path) -> Result<i64, Error> {
    let app: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(fail(path, "cannot read it (is it an SQLite database?)"))?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(fail(path, "cannot read its schema version"))?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(fail(path, "cannot read it (is it an SQLite database?)"))?;
    if app != APPLICATION_ID && (tables > 0 || app != 0) {
        return Err(refuse(
            path,
            format!(
                "not a tcpstat history database (an SQLite file with application_id {app:#x}, \
                 tcpstat's is {APPLICATION_ID:#x}); give another --db"
            ),
        ));
    }
    if version > SCHEMA_VERSION {
        return Err(refuse(
            path,
            format!(
                "written by a newer tcpstat (schema version {version}; this one knows up to \
                 {SCHEMA_VERSION})"
            ),
        ));
    }
    Ok(version)
}

fn configure(conn: &Connection, path: &Path) -> Result<(), Error> {
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(fail(path, "cannot set a busy timeout"))
}

/// Retention of the recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Samples older than this are deleted.
    pub keep: Duration,
    /// The database file is kept under this many bytes (the oldest samples go first).
    pub max_size: u64,
}

/// The writing side: one per file, held by the `flock(2)` on the file.
pub struct Recorder {
    conn: Connection,
    path: PathBuf,
    /// Dropped after `conn` (fields drop in order): the lock outlives the connection. An
    /// `flock` lock is separate from SQLite's POSIX record locks, so holding it never
    /// disturbs them; it is released by the kernel when the process ends, however it ends.
    _lock: File,
}

impl Recorder {
    /// Opens (creating it and its directory if needed) the database at `path` for writing:
    /// refuses it when another recorder holds it, or when it is not tcpstat's; migrates an
    /// older schema.
    pub fn open(path: &Path, hostname: &str, interval: Duration) -> Result<Recorder, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Store {
                path: path.to_path_buf(),
                what: format!("cannot create the directory {}: {e}", dir.display()),
                source: None,
            })?;
        }
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| refuse(path, format!("cannot open it for writing: {e}")))?;
        if let Err(e) =
            rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        {
            if e == rustix::io::Errno::WOULDBLOCK {
                let holder = Reader::open(path)
                    .ok()
                    .and_then(|r| r.meta("recorder_pid").ok().flatten())
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                return Err(refuse(
                    path,
                    format!("another tcpstat record{holder} is writing it; one recorder per file"),
                ));
            }
            return Err(refuse(path, format!("cannot lock it: {e}")));
        }
        let conn = Connection::open(path).map_err(fail(path, "cannot open it"))?;
        configure(&conn, path)?;
        let version = check_format(&conn, path)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))
            .map_err(fail(path, "cannot switch it to WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(refuse(
                path,
                format!("cannot use WAL mode (the file system gave {mode})"),
            ));
        }
        // synchronous=NORMAL in WAL mode: a commit is durable once the WAL is synced at a
        // checkpoint; a power cut may lose the last samples but never corrupts the file.
        // The WAL is cut back to 4 MiB after each checkpoint, so --max-size holds.
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 4194304;")
            .map_err(fail(path, "cannot set its pragmas"))?;
        if version == 0 {
            // Before the first table: only then can auto_vacuum still be chosen.
            conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")
                .map_err(fail(path, "cannot set it up"))?;
        }
        let mut recorder = Recorder {
            conn,
            path: path.to_path_buf(),
            _lock: lock,
        };
        recorder.migrate(version)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            .to_string();
        for (key, value) in [
            ("hostname", hostname.to_string()),
            ("recorder_pid", std::process::id().to_string()),
            ("recorder_started_ms", now),
            ("interval_ms", interval.as_millis().to_string()),
            ("tcpstat_version", env!("CARGO_PKG_VERSION").to_string()),
        ] {
            recorder
                .conn
                .execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![key, value],
                )
                .map_err(fail(path, "cannot write its metadata"))?;
        }
        Ok(recorder)
    }

    fn migrate(&mut self, from: i64) -> Result<(), Error> {
        let path = self.path.clone();
        for (version, sql) in migrations().iter().enumerate().skip(from as usize) {
            let tx = self
                .conn
                .transaction()
                .map_err(fail(&path, "cannot begin a migration"))?;
            if version == 0 {
                tx.pragma_update(None, "application_id", APPLICATION_ID)
                    .map_err(fail(&path, "cannot set its application id"))?;
            }
            tx.execute_batch(sql).map_err(fail(
                &path,
                format!("cannot migrate it to version {}", version + 1),
            ))?;
            tx.pragma_update(None, "user_version", version as i64 + 1)
                .map_err(fail(&path, "cannot set its schema version"))?;
            tx.commit().map_err(fail(
                &path,
                format!("cannot migrate it to version {}", version + 1),
            ))?;
        }
        Ok(())
    }

    /// Writes one sample and applies `retention`, in one transaction: a crash loses at most
    /// this sample. Returns the sample's id.
    pub fn write(&mut self, sample: &Sample, retention: Retention) -> Result<i64, Error> {
        let path = self.path.clone();
        let err = |what: &'static str| fail(&path, what);
        let tx = self
            .conn
            .transaction()
            .map_err(err("cannot begin writing a sample"))?;
        let s = sample.states;
        tx.prepare_cached(
            "INSERT INTO sample (t, source, partial, collect_us, listen, syn_sent, syn_recv,
             established, fin_wait_1, fin_wait_2, close_wait, closing, last_ack, time_wait,
             closed, unknown, processes, interval_ms, cpu_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6,
             ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
        )
        .and_then(|mut st| {
            st.execute(params![
                sample.t_ms,
                sample.source,
                sample.partial,
                sample.collect_us,
                s.counts[0],
                s.counts[1],
                s.counts[2],
                s.counts[3],
                s.counts[4],
                s.counts[5],
                s.counts[6],
                s.counts[7],
                s.counts[8],
                s.counts[9],
                s.counts[10],
                s.unknown,
                sample.processes.as_ref().map(|p| p.len() as i64),
                sample.interval_ms as i64,
                sample.cpu_us.map(|us| us as i64),
            ])
        })
        .map_err(err("cannot write a sample"))?;
        let id = tx.last_insert_rowid();
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO port VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                     ?13, ?14, ?15, ?16, ?17, ?18)",
                )
                .map_err(err("cannot write a sample's ports"))?;
            for p in &sample.ports {
                let c = p.counts.counts;
                st.execute(params![
                    id,
                    p.port,
                    p.outgoing,
                    c[0],
                    c[1],
                    c[2],
                    c[3],
                    c[4],
                    c[5],
                    c[6],
                    c[7],
                    c[8],
                    c[9],
                    c[10],
                    p.counts.unknown,
                    p.listeners,
                    p.queued,
                    p.backlog
                ])
                .map_err(err("cannot write a sample's ports"))?;
            }
            let mut name = tx
                .prepare_cached(
                    "INSERT INTO workload (name) VALUES (?1)
                     ON CONFLICT (name) DO UPDATE SET name = name RETURNING id",
                )
                .map_err(err("cannot write a sample's workloads"))?;
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO workload_state VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
                     ?10, ?11, ?12, ?13, ?14)",
                )
                .map_err(err("cannot write a sample's workloads"))?;
            for w in &sample.workloads {
                let wid: i64 = name
                    .query_row([&w.name], |r| r.get(0))
                    .map_err(err("cannot write a sample's workloads"))?;
                let c = w.counts.counts;
                st.execute(params![
                    id,
                    wid,
                    c[0],
                    c[1],
                    c[2],
                    c[3],
                    c[4],
                    c[5],
                    c[6],
                    c[7],
                    c[8],
                    c[9],
                    c[10],
                    w.counts.unknown
                ])
                .map_err(err("cannot write a sample's workloads"))?;
            }
            let marks = vec!["?"; COUNTERS.len() + 1].join(", ");
            let mut st = tx
                .prepare_cached(&format!("INSERT INTO counters VALUES ({marks})"))
                .map_err(err("cannot write a sample's counters"))?;
            let mut values: Vec<Option<i64>> = vec![Some(id)];
            values.extend(
                (0..COUNTERS.len())
                    .map(|i| sample.counters.get(i).copied().flatten().map(|v| v as i64)),
            );
            st.execute(rusqlite::params_from_iter(values))
                .map_err(err("cannot write a sample's counters"))?;
            write_extras(&tx, id, sample).map_err(err("cannot write a sample's processes"))?;
        }
        let cutoff = sample.t_ms - retention.keep.as_millis() as i64;
        let old: Option<i64> = tx
            .query_row("SELECT max(id) FROM sample WHERE t < ?1", [cutoff], |r| {
                r.get(0)
            })
            .map_err(err("cannot apply --keep"))?;
        if let Some(old) = old {
            delete_through(&tx, old).map_err(err("cannot apply --keep"))?;
        }
        tx.commit().map_err(err("cannot commit a sample"))?;
        self.bound_size(retention.max_size, id)?;
        Ok(id)
    }

    /// Deletes the oldest samples while the file is over `max_size` (never the newest, `id`),
    /// then gives the freed pages back to the file system.
    fn bound_size(&mut self, max_size: u64, id: i64) -> Result<(), Error> {
        let path = self.path.clone();
        let err = |what: &'static str| fail(&path, what);
        for _ in 0..32 {
            let (pages, free, page_size): (i64, i64, i64) = self
                .conn
                .query_row(
                    "SELECT * FROM pragma_page_count, pragma_freelist_count, pragma_page_size",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .map_err(err("cannot measure its size"))?;
            if free > 0 {
                self.conn
                    .execute_batch("PRAGMA incremental_vacuum")
                    .map_err(err("cannot give freed pages back"))?;
            }
            let used = ((pages - free).max(0) as u64) * page_size as u64;
            if used <= max_size {
                return Ok(());
            }
            // A tenth of what is kept (at least one sample) per round: few rounds, and never
            // much more than needed.
            let (first, count): (Option<i64>, i64) = self
                .conn
                .query_row("SELECT min(id), count(*) FROM sample", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(err("cannot apply --max-size"))?;
            let Some(first) = first else { return Ok(()) };
            let through = (first + (count / 10).max(1) - 1).min(id - 1);
            if through < first {
                return Ok(());
            }
            let tx = self
                .conn
                .transaction()
                .map_err(err("cannot apply --max-size"))?;
            delete_through(&tx, through).map_err(err("cannot apply --max-size"))?;
            tx.commit().map_err(err("cannot apply --max-size"))?;
        }
        Ok(())
    }

    /// Gives the WAL back to the main file (on a clean stop).
    pub fn close(self) -> Result<(), Error> {
        let path = self.path.clone();
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(fail(&path, "cannot checkpoint it"))?;
        self.conn
            .close()
            .map_err(|(_, e)| fail(&path, "cannot close it")(e))
    }
}

/// The rows schema version 2 added: processes, listeners with a queue, kernel facts.
fn write_extras(tx: &Connection, id: i64, sample: &Sample) -> rusqlite::Result<()> {
    let mut st = tx.prepare_cached(
        "INSERT INTO process_state VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
         ?13, ?14, ?15, ?16, ?17)",
    )?;
    for p in sample.processes.iter().flatten() {
        let c = p.counts.counts;
        st.execute(params![
            id,
            p.pid,
            p.uid,
            p.user,
            p.command,
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            c[6],
            c[7],
            c[8],
            c[9],
            c[10],
            p.counts.unknown
        ])?;
    }
    let mut st = tx.prepare_cached("INSERT INTO listener VALUES (?1, ?2, ?3, ?4, ?5)")?;
    for l in &sample.listeners {
        st.execute(params![
            id,
            l.address.to_string(),
            l.port,
            l.queued,
            l.backlog
        ])?;
    }
    if let Some(facts) = &sample.facts {
        let marks = vec!["?"; FACT_COLUMNS.len() + 1].join(", ");
        let mut st = tx.prepare_cached(&format!("INSERT INTO facts VALUES ({marks})"))?;
        let mut values: Vec<Option<i64>> = vec![Some(id)];
        values.extend(fact_values(facts));
        st.execute(rusqlite::params_from_iter(values))?;
    }
    Ok(())
}

/// Deletes every sample up to id `through`, with its rows.
fn delete_through(tx: &Connection, through: i64) -> rusqlite::Result<()> {
    for table in [
        "port",
        "workload_state",
        "counters",
        "process_state",
        "listener",
        "facts",
    ] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE sample <= ?1"),
            [through],
        )?;
    }
    tx.execute("DELETE FROM sample WHERE id <= ?1", [through])?;
    Ok(())
}

/// One sample's socket counts, without its ports and workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub id: i64,
    pub t_ms: i64,
    pub counts: StateRow,
    pub partial: bool,
    pub collect_us: u64,
}

/// A sample's id and its counters, in [`COUNTERS`] order (`None`: not shown by the kernel).
pub type CounterRow = (i64, Vec<Option<u64>>);

/// The reading side: any number, while the recorder writes (WAL).
pub struct Reader {
    conn: Connection,
    path: PathBuf,
    /// The file's schema version, [`MIN_READ_VERSION`] to [`SCHEMA_VERSION`].
    version: i64,
}

fn state_row(r: &Row<'_>, first: usize) -> rusqlite::Result<StateRow> {
    let mut row = StateRow::default();
    for i in 0..11 {
        row.counts[i] = r.get(first + i)?;
    }
    row.unknown = r.get(first + 11)?;
    Ok(row)
}

/// `listen, ..., closed, unknown`, each summed when `sum`.
fn state_list(sum: bool) -> String {
    STATE_COLUMNS
        .iter()
        .chain(&["unknown"])
        .map(|c| {
            if sum {
                format!("total({c})")
            } else {
                (*c).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Reader {
    /// Opens the database at `path` read-only.
    pub fn open(path: &Path) -> Result<Reader, Error> {
        if !path.exists() {
            return Err(refuse(
                path,
                "no such file (is `tcpstat record` running? --db gives another file)",
            ));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(fail(path, "cannot open it"))?;
        configure(&conn, path)?;
        let version = check_format(&conn, path)?;
        if version < MIN_READ_VERSION {
            return Err(refuse(
                path,
                if version == 0 {
                    "empty (no sample recorded yet)".to_string()
                } else {
                    format!(
                        "schema version {version} is older than this tcpstat reads \
                         ({MIN_READ_VERSION} to {SCHEMA_VERSION}); run tcpstat record on it \
                         once to migrate it"
                    )
                },
            ));
        }
        Ok(Reader {
            conn,
            path: path.to_path_buf(),
            version,
        })
    }

    fn err(&self, what: &str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
        fail(&self.path, what.to_string())
    }

    /// Every row `sql` selects with `params`, each made by `row`; `what` says what could not
    /// be read.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        what: &str,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, Error> {
        let mut st = self.conn.prepare(sql).map_err(self.err(what))?;
        let rows = st.query_map(params, row).map_err(self.err(what))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(self.err(what))
    }

    /// A value of the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, Error> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(self.err("cannot read its metadata"))
    }

    /// The first and last sample times, if any.
    pub fn span(&self) -> Result<Option<(i64, i64)>, Error> {
        self.conn
            .query_row("SELECT min(t), max(t) FROM sample", [], |r| {
                Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?))
            })
            .map_err(self.err("cannot read its samples"))
    }

    /// Every sample from `from_ms` to `to_ms` (inclusive), oldest first, with the `before`
    /// samples just before `from_ms` too (a baseline for rates and the normal band).
    pub fn points(&self, from_ms: i64, to_ms: i64, before: usize) -> Result<Vec<Point>, Error> {
        let cols = state_list(false);
        let sql = format!(
            "SELECT * FROM (SELECT id, t, partial, collect_us, {cols} FROM sample
               WHERE t < ?1 ORDER BY t DESC LIMIT ?3)
             UNION ALL
             SELECT id, t, partial, collect_us, {cols} FROM sample WHERE t BETWEEN ?1 AND ?2
             ORDER BY 2"
        );
        self.rows(
            &sql,
            params![from_ms, to_ms, before as i64],
            "cannot read its samples",
            point,
        )
    }

    /// The sockets of `ports` (both directions) in each sample of `ids`' range, by sample id.
    /// A sample where none of them was recorded counts 0 (the port was quiet, or folded into
    /// port 0, "other").
    pub fn port_counts(
        &self,
        first: i64,
        last: i64,
        ports: &[u16],
    ) -> Result<Vec<(i64, StateRow)>, Error> {
        let list = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",");
        self.grouped(
            &format!(
                "SELECT sample, {} FROM port WHERE sample BETWEEN ?1 AND ?2 AND port IN ({list})
             GROUP BY sample",
                state_list(true)
            ),
            first,
            last,
        )
    }

    /// The sockets of the workloads named `names` in each sample from `first` to `last`.
    pub fn workload_counts(
        &self,
        first: i64,
        last: i64,
        names: &[String],
    ) -> Result<Vec<(i64, StateRow)>, Error> {
        let quoted = sql_strings(names);
        self.grouped(
            &format!(
                "SELECT sample, {} FROM workload_state JOIN workload ON workload.id = workload
             WHERE sample BETWEEN ?1 AND ?2 AND name IN ({quoted}) GROUP BY sample",
                state_list(true)
            ),
            first,
            last,
        )
    }

    fn grouped(&self, sql: &str, first: i64, last: i64) -> Result<Vec<(i64, StateRow)>, Error> {
        self.rows(sql, [first, last], "cannot read its samples", |r| {
            let mut row = StateRow::default();
            for i in 0..11 {
                row.counts[i] = r.get::<_, f64>(1 + i)? as u64;
            }
            row.unknown = r.get::<_, f64>(12)? as u64;
            Ok((r.get(0)?, row))
        })
    }

    /// The workload names recorded from sample `first` to `last`.
    pub fn workload_names(&self, first: i64, last: i64) -> Result<Vec<String>, Error> {
        self.rows(
            "SELECT DISTINCT name FROM workload_state JOIN workload ON workload.id = workload
                 WHERE sample BETWEEN ?1 AND ?2 ORDER BY name",
            [first, last],
            "cannot read its workloads",
            |r| r.get(0),
        )
    }

    /// The counters of each sample from `first` to `last`, in [`COUNTERS`] order.
    pub fn counters(&self, first: i64, last: i64) -> Result<Vec<CounterRow>, Error> {
        self.rows(
            "SELECT * FROM counters WHERE sample BETWEEN ?1 AND ?2 ORDER BY sample",
            [first, last],
            "cannot read its counters",
            |r| {
                let values = (0..COUNTERS.len())
                    .map(|i| r.get::<_, Option<i64>>(i + 1).map(|v| v.map(|v| v as u64)))
                    .collect::<rusqlite::Result<_>>()?;
                Ok((r.get(0)?, values))
            },
        )
    }

    /// The ports and workloads of sample `id`.
    pub fn detail(&self, id: i64) -> Result<(Vec<PortSample>, Vec<WorkloadSample>), Error> {
        let ports = self.rows(
            &format!(
                "SELECT port, outgoing, listeners, queued, backlog, {} FROM port
                 WHERE sample = ?1",
                state_list(false)
            ),
            [id],
            "cannot read its ports",
            port_sample,
        )?;
        let workloads = self.rows(
            &format!(
                "SELECT name, {} FROM workload_state JOIN workload ON workload.id = workload
                 WHERE sample = ?1",
                state_list(false)
            ),
            [id],
            "cannot read its workloads",
            named_row,
        )?;
        Ok((ports, workloads))
    }
}

impl Reader {
    /// The sample nearest to `t_ms` (before or after; the earlier of two as near), if any.
    pub fn nearest(&self, t_ms: i64) -> Result<Option<Point>, Error> {
        let cols = state_list(false);
        let sql = format!(
            "SELECT * FROM (
               SELECT * FROM (SELECT id, t, partial, collect_us, {cols} FROM sample
                 WHERE t <= ?1 ORDER BY t DESC LIMIT 1)
               UNION ALL
               SELECT * FROM (SELECT id, t, partial, collect_us, {cols} FROM sample
                 WHERE t > ?1 ORDER BY t LIMIT 1))
             ORDER BY abs(t - ?1), t LIMIT 1"
        );
        self.conn
            .query_row(&sql, [t_ms], point)
            .optional()
            .map_err(self.err("cannot read its samples"))
    }

    /// The regular spacing the recorder kept at sample `id` (`sample.interval_ms`), if it says
    /// (schema version 3 on; `--cpu-budget` may have stretched it beyond `meta.interval_ms`).
    pub fn kept_interval(&self, id: i64) -> Result<Option<i64>, Error> {
        if self.version < 3 {
            return Ok(None);
        }
        self.conn
            .query_row("SELECT interval_ms FROM sample WHERE id = ?1", [id], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()
            .map(Option::flatten)
            .map_err(self.err("cannot read its samples"))
    }

    /// Where the sockets of sample `id` came from (`netlink`, `proc`).
    pub fn source(&self, id: i64) -> Result<String, Error> {
        self.conn
            .query_row("SELECT source FROM sample WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(self.err("cannot read its samples"))
    }

    /// The processes of sample `id`, busiest in stuck states first, then the summed rows;
    /// `None` when owners were not looked up for it.
    pub fn processes(&self, id: i64) -> Result<Option<Vec<ProcessSample>>, Error> {
        let looked: Option<i64> = self
            .conn
            .query_row("SELECT processes FROM sample WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err("cannot read its processes"))?
            .flatten();
        if looked.is_none() {
            return Ok(None);
        }
        let mut rows = self.rows(
            &format!(
                "SELECT pid, uid, user, command, {} FROM process_state WHERE sample = ?1",
                state_list(false)
            ),
            [id],
            "cannot read its processes",
            |r| {
                Ok(ProcessSample {
                    pid: r.get(0)?,
                    uid: r.get(1)?,
                    user: r.get(2)?,
                    command: r.get(3)?,
                    counts: state_row(r, 4)?,
                })
            },
        )?;
        rows.sort_by(|a, b| {
            (a.pid <= 0)
                .cmp(&(b.pid <= 0))
                .then(b.counts.stuck().cmp(&a.counts.stuck()))
                .then(b.counts.total().cmp(&a.counts.total()))
                .then(b.pid.cmp(&a.pid))
        });
        Ok(Some(rows))
    }

    /// The sockets of the processes whose command is one of `names` (summed) in each
    /// sample from `first` to `last` that recorded processes.
    pub fn process_counts(
        &self,
        first: i64,
        last: i64,
        names: &[String],
    ) -> Result<Vec<(i64, StateRow)>, Error> {
        let quoted = sql_strings(names);
        self.grouped(
            &format!(
                "SELECT sample, {} FROM process_state
                 WHERE sample BETWEEN ?1 AND ?2 AND pid > 0 AND command IN ({quoted})
                 GROUP BY sample",
                state_list(true)
            ),
            first,
            last,
        )
    }

    /// The ids of the samples from `first` to `last` that recorded processes.
    pub fn samples_with_processes(&self, first: i64, last: i64) -> Result<Vec<i64>, Error> {
        self.rows(
            "SELECT id FROM sample WHERE id BETWEEN ?1 AND ?2 AND processes IS NOT NULL
                 ORDER BY id",
            [first, last],
            "cannot read its samples",
            |r| r.get(0),
        )
    }

    /// The commands of the processes recorded from sample `first` to `last`.
    pub fn process_names(&self, first: i64, last: i64) -> Result<Vec<String>, Error> {
        self.rows(
            "SELECT DISTINCT command FROM process_state
                 WHERE sample BETWEEN ?1 AND ?2 AND pid > 0 ORDER BY command",
            [first, last],
            "cannot read its processes",
            |r| r.get(0),
        )
    }

    /// The listening sockets of sample `id` that had connections waiting.
    pub fn listeners(&self, id: i64) -> Result<Vec<ListenerSample>, Error> {
        self.rows(
            "SELECT address, port, queued, backlog FROM listener WHERE sample = ?1
                 ORDER BY queued DESC",
            [id],
            "cannot read its listeners",
            |r| {
                let address: String = r.get(0)?;
                Ok(ListenerSample {
                    address: address
                        .parse()
                        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
                    port: r.get(1)?,
                    queued: r.get(2)?,
                    backlog: r.get(3)?,
                })
            },
        )
    }

    /// The kernel settings and socket totals of sample `id` (its counters are
    /// [`Reader::counters`]); `None` when not recorded (schema version 1).
    pub fn facts(&self, id: i64) -> Result<Option<KernelFacts>, Error> {
        self.conn
            .query_row("SELECT * FROM facts WHERE sample = ?1", [id], |r| {
                (0..FACT_COLUMNS.len())
                    .map(|i| r.get::<_, Option<i64>>(i + 1))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .optional()
            .map_err(self.err("cannot read its kernel settings"))
            .map(|v| v.map(|v| facts_of(&v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_ms: i64, close_wait: u64) -> Sample {
        let mut states = StateRow::default();
        states.counts[TcpState::CloseWait.index()] = close_wait;
        states.counts[TcpState::Established.index()] = 10;
        Sample {
            t_ms,
            source: "netlink".into(),
            states,
            ports: vec![PortSample {
                port: 80,
                counts: states,
                listeners: 1,
                queued: 2,
                backlog: Some(128),
                ..PortSample::default()
            }],
            workloads: vec![WorkloadSample {
                name: "nginx.service".into(),
                counts: states,
            }],
            counters: vec![Some(5); COUNTERS.len()],
            ..Sample::default()
        }
    }

    const KEEP: Retention = Retention {
        keep: Duration::from_secs(3600),
        max_size: 1 << 30,
    };

    #[test]
    fn samples_written_are_read_back() {
        let dir = std::env::temp_dir().join(format!("tcpstat-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("h.db");
        let mut rec = Recorder::open(&path, "host", Duration::from_secs(1)).expect("open");
        for i in 0..5 {
            rec.write(&sample(1_000_000 + i * 1000, i as u64), KEEP)
                .expect("write");
        }
        let reader = Reader::open(&path).expect("reader");
        let points = reader.points(1_002_000, 1_004_000, 1).expect("points");
        assert_eq!(points.len(), 4);
        assert_eq!(points[0].counts.get(TcpState::CloseWait), 1);
        let ports = reader
            .port_counts(points[0].id, points[3].id, &[80])
            .expect("ports");
        assert_eq!(ports.len(), 4);
        assert_eq!(ports[3].1.get(TcpState::CloseWait), 4);
        let (p, w) = reader.detail(points[3].id).expect("detail");
        assert_eq!(p[0].backlog, Some(128));
        assert_eq!(w[0].name, "nginx.service");
        // A second recorder is refused while the first holds the file.
        let again = Recorder::open(&path, "host", Duration::from_secs(1));
        let Err(e) = again else {
            panic!("a second recorder opened")
        };
        assert!(
            e.report().contains("another tcpstat record"),
            "{}",
            e.report()
        );
        // Retention by age: a sample an hour and more later pushes the first ones out.
        rec.write(&sample(1_000_000 + 3_600_000 + 2500, 9), KEEP)
            .expect("write");
        let points = reader.points(0, i64::MAX, 0).expect("points");
        assert_eq!(
            points.iter().map(|p| p.t_ms).collect::<Vec<_>>(),
            [1_003_000, 1_004_000, 4_602_500]
        );
        rec.close().expect("close");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
