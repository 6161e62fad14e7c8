//! The results store: one SQLite file (WAL mode, a busy timeout), one row per point, written by
//! every process of a sweep (the planning process, local workers, Slurm array tasks).
//!
//! A point's row is created `pending` when a sweep plans it; a worker claims it (`running`, with
//! its host, process id and Slurm array ids) and writes its outcome (`done` with the results, or
//! `failed` with the reason) in one statement. A `done` row is never run again; `failed` rows are
//! run again only when asked (`--retry-failed`); a `running` row whose worker is gone (its
//! process on this host no longer exists, or its Slurm task left the queue) is `pending` again
//! on the next sweep.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::point::{JobKind, Point, ToolVersions};

/// Schema version (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,          -- SHA-256 of the point's identity and the tool versions
    spec TEXT NOT NULL,            -- the spec's name
    idx INTEGER NOT NULL,          -- the point's index in the spec's expansion
    tag TEXT NOT NULL,
    job TEXT NOT NULL,
    fields TEXT NOT NULL,          -- the point's fields as given (JSON)
    options TEXT NOT NULL,         -- the job's options with defaults filled in (JSON)
    config_hash TEXT NOT NULL,
    preset TEXT,
    name TEXT NOT NULL,
    rows INTEGER NOT NULL,
    cols INTEGER NOT NULL,
    format TEXT NOT NULL,
    acc_bits INTEGER NOT NULL,
    psum_banks INTEGER NOT NULL,
    psum_depth INTEGER NOT NULL,
    sbuf_depth INTEGER NOT NULL,
    pe_latency INTEGER NOT NULL,
    primitives TEXT NOT NULL,
    dsp_cols INTEGER NOT NULL,
    psum_split INTEGER NOT NULL,
    sbuf_layout TEXT NOT NULL,
    tile_cols INTEGER NOT NULL,
    keep_tokens INTEGER NOT NULL,
    dma INTEGER NOT NULL,
    dma_bits INTEGER NOT NULL,
    dma_reads INTEGER NOT NULL,
    board TEXT,
    device TEXT,                   -- the device asked for (NULL: the board's own)
    seed INTEGER,
    m INTEGER, k INTEGER, n INTEGER,
    yosys_version TEXT,
    nextpnr_version TEXT,
    verilator_version TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    reason TEXT,
    family TEXT, device_name TEXT, -- the device the flow ran for
    multipliers TEXT,
    lut4 INTEGER, carry INTEGER, ff INTEGER, dsp INTEGER, bram INTEGER,
    logic_used INTEGER, logic_available INTEGER,
    fmax_mhz REAL, gops REAL, icetime_mhz REAL,
    critical_path TEXT,
    yosys_s REAL, nextpnr_s REAL,
    cycles INTEGER, macs INTEGER, utilisation REAL,
    wall_s REAL,
    host TEXT, pid INTEGER,
    slurm_job TEXT, slurm_task INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    started TEXT, finished TEXT,
    result TEXT                    -- the job's whole report (JSON)
);
CREATE INDEX IF NOT EXISTS points_spec ON points (spec, idx);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    spec TEXT NOT NULL,
    backend TEXT NOT NULL,
    created TEXT NOT NULL,
    slurm_job TEXT
);
CREATE TABLE IF NOT EXISTS batch_points (
    batch INTEGER NOT NULL,
    idx INTEGER NOT NULL,          -- the worker's --run-point index (a Slurm array task id)
    key TEXT NOT NULL,
    PRIMARY KEY (batch, idx)
);
";

/// A store error.
#[derive(Debug, thiserror::Error)]
#[error("results store {path}: {message}")]
pub struct StoreError {
    pub path: String,
    pub message: String,
}

/// Point states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Running,
    Done,
    Failed,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Running => "running",
            Status::Done => "done",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Status {
        match s {
            "running" => Status::Running,
            "done" => Status::Done,
            "failed" => Status::Failed,
            _ => Status::Pending,
        }
    }
}

/// What a finished job measured (every field optional: a job fills what it has).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Metrics {
    pub family: Option<String>,
    pub device_name: Option<String>,
    pub multipliers: Option<String>,
    pub lut4: Option<u64>,
    pub carry: Option<u64>,
    pub ff: Option<u64>,
    pub dsp: Option<u64>,
    pub bram: Option<u64>,
    pub logic_used: Option<u64>,
    pub logic_available: Option<u64>,
    pub fmax_mhz: Option<f64>,
    pub gops: Option<f64>,
    pub icetime_mhz: Option<f64>,
    pub critical_path: Option<String>,
    pub yosys_s: Option<f64>,
    pub nextpnr_s: Option<f64>,
    pub cycles: Option<u64>,
    pub macs: Option<u64>,
    pub utilisation: Option<f64>,
}

/// A point's outcome, as a worker writes it ([`Store::finish`]).
#[derive(Debug, Clone, Copy)]
pub struct Finish<'a> {
    pub status: Status,
    /// Why it failed.
    pub reason: Option<&'a str>,
    pub metrics: &'a Metrics,
    pub wall_s: f64,
    /// The job's report.
    pub result: &'a Value,
}

/// A `running` row's worker: status, host, pid, Slurm job and task.
type Worker = (
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

/// A worker's claim on a point: who runs it.
#[derive(Debug, Clone, Default)]
pub struct Claim {
    pub host: String,
    pub pid: u32,
    pub slurm_job: Option<String>,
    pub slurm_task: Option<u32>,
}

impl Claim {
    /// This process, with the Slurm array ids from the environment when it is an array task.
    pub fn this_process() -> Claim {
        Claim {
            host: hostname(),
            pid: std::process::id(),
            slurm_job: std::env::var("SLURM_ARRAY_JOB_ID")
                .or_else(|_| std::env::var("SLURM_JOB_ID"))
                .ok(),
            slurm_task: std::env::var("SLURM_ARRAY_TASK_ID")
                .ok()
                .and_then(|t| t.parse().ok()),
        }
    }
}

/// This machine's name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or
    // truncates.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// UTC now as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// One row, as the table and the report read it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub key: String,
    pub spec: String,
    pub idx: i64,
    pub tag: String,
    pub job: String,
    pub status: String,
    pub reason: Option<String>,
    /// Every column by name (JSON values), for `--json` and the report.
    pub columns: serde_json::Map<String, Value>,
}

impl Row {
    pub fn get(&self, col: &str) -> &Value {
        self.columns.get(col).unwrap_or(&Value::Null)
    }

    pub fn f64(&self, col: &str) -> Option<f64> {
        self.get(col).as_f64()
    }

    pub fn u64(&self, col: &str) -> Option<u64> {
        self.get(col).as_u64()
    }

    pub fn str(&self, col: &str) -> Option<&str> {
        self.get(col).as_str()
    }
}

/// The open store.
pub struct Store {
    conn: Connection,
    path: String,
}

impl Store {
    /// Open (creating if needed) the store at `path`: WAL journal, a 60 s busy timeout.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let p = path.display().to_string();
        let err = |e: rusqlite::Error| StoreError {
            path: p.clone(),
            message: e.to_string(),
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(60)).map_err(err)?;
        // journal_mode answers with the mode in force.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError {
                path: p,
                message: format!("could not switch to WAL mode (journal_mode is {mode})"),
            });
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL;")
            .map_err(err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError {
                path: p,
                message: format!(
                    "schema version {version} is newer than this program's {SCHEMA_VERSION}"
                ),
            });
        }
        conn.execute_batch(SCHEMA).map_err(err)?;
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
            .map_err(err)?;
        Ok(Store { conn, path: p })
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Add `point` as `pending` unless its key is already there (any status). Returns the status
    /// in the store afterwards.
    pub fn plan(
        &self,
        spec: &str,
        point: &Point,
        key: &str,
        tools: &ToolVersions,
    ) -> Result<Status, StoreError> {
        let c = &point.config;
        let shape = point.shape;
        self.conn
            .execute(
                "INSERT OR IGNORE INTO points (key, spec, idx, tag, job, fields, options,
                    config_hash, preset, name, rows, cols, format, acc_bits, psum_banks,
                    psum_depth, sbuf_depth, pe_latency, primitives, dsp_cols, psum_split,
                    sbuf_layout, tile_cols, keep_tokens, dma, dma_bits, dma_reads, board,
                    device, seed, m, k, n, yosys_version, nextpnr_version, verilator_version,
                    status, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31,
                    ?32, ?33, ?34, ?35, ?36, 'pending', ?37)",
                params![
                    key,
                    spec,
                    point.index as i64,
                    point.tag,
                    point.job.name(),
                    serde_json::to_string(&point.fields).unwrap(),
                    point.options().to_string(),
                    c.hash(),
                    point.preset,
                    c.name,
                    c.rows,
                    c.cols,
                    c.format.to_string(),
                    c.acc_bits,
                    c.psum_banks,
                    c.psum_depth,
                    c.sbuf_depth,
                    c.pe_latency,
                    c.primitives.to_string(),
                    c.dsp_cols,
                    c.psum_split,
                    c.sbuf_layout.to_string(),
                    c.tile_cols,
                    c.keep_tokens,
                    c.dma,
                    c.dma_bits,
                    c.dma_reads,
                    point.board(),
                    point.device(),
                    point.seed.map(|s| s as i64),
                    shape.map(|s| s.m as i64),
                    shape.map(|s| s.k as i64),
                    shape.map(|s| s.n as i64),
                    tools.yosys,
                    tools.nextpnr,
                    tools.verilator,
                    now(),
                ],
            )
            .map_err(|e| self.err(e))?;
        // The same point under a newer spec index or tag keeps its results; the index follows the
        // spec as it is now.
        self.conn
            .execute(
                "UPDATE points SET idx = ?2, tag = ?3, spec = ?4 WHERE key = ?1",
                params![key, point.index as i64, point.tag, spec],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.status(key)?.unwrap_or(Status::Pending))
    }

    pub fn status(&self, key: &str) -> Result<Option<Status>, StoreError> {
        self.conn
            .query_row("SELECT status FROM points WHERE key = ?1", [key], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .map(|s| s.map(|s| Status::parse(&s)))
            .map_err(|e| self.err(e))
    }

    /// The job and the stored fields of the point `key`.
    pub fn stored_point(&self, key: &str) -> Result<Option<(JobKind, String)>, StoreError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT job, fields FROM points WHERE key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(row.and_then(|(job, fields)| JobKind::parse(&job).ok().map(|j| (j, fields))))
    }

    /// Put failed points back to pending (`--retry-failed`). Returns how many.
    pub fn retry_failed(&self, keys: &[String]) -> Result<usize, StoreError> {
        let mut n = 0;
        for k in keys {
            n += self
                .conn
                .execute(
                    "UPDATE points SET status = 'pending', reason = NULL WHERE key = ?1 AND status = 'failed'",
                    [k],
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(n)
    }

    /// `running` rows among `keys` whose worker is gone back to `pending`: a worker on this host
    /// whose process does not exist, or one whose Slurm job `gone_slurm` says left the queue.
    /// Returns the keys reset.
    pub fn recover(
        &self,
        keys: &[String],
        gone_slurm: &dyn Fn(&str, Option<u32>) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        let host = hostname();
        let mut reset = vec![];
        for k in keys {
            let row: Option<Worker> = self
                .conn
                .query_row(
                    "SELECT status, host, pid, slurm_job, slurm_task FROM points WHERE key = ?1",
                    [k],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            let Some((status, h, pid, sj, st)) = row else {
                continue;
            };
            if status != "running" {
                continue;
            }
            let dead = match (&sj, h.as_deref(), pid) {
                (Some(job), _, _) => gone_slurm(job, st.map(|t| t as u32)),
                (None, Some(h), Some(pid)) if h == host => !process_alive(pid as i32),
                _ => false,
            };
            if dead && self.reset_pending(k, "running")? {
                reset.push(k.clone());
            }
        }
        Ok(reset)
    }

    /// `key` from `from` to `pending` (a worker interrupted or gone). Whether it changed.
    pub fn reset_pending(&self, key: &str, from: &str) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE points SET status = 'pending', host = NULL, pid = NULL, started = NULL
                 WHERE key = ?1 AND status = ?2",
                params![key, from],
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    /// A new batch: the keys to run, numbered 0.. (a worker's `--run-point` index, a Slurm
    /// array's task id). Returns its id.
    pub fn new_batch(&self, spec: &str, backend: &str, keys: &[String]) -> Result<i64, StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT INTO batches (spec, backend, created) VALUES (?1, ?2, ?3)",
            params![spec, backend, now()],
        )
        .map_err(|e| self.err(e))?;
        let id = tx.last_insert_rowid();
        for (i, k) in keys.iter().enumerate() {
            tx.execute(
                "INSERT INTO batch_points (batch, idx, key) VALUES (?1, ?2, ?3)",
                params![id, i as i64, k],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(id)
    }

    pub fn set_batch_slurm_job(&self, batch: i64, job: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE batches SET slurm_job = ?2 WHERE id = ?1",
                params![batch, job],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The key of point `idx` of batch `batch`.
    pub fn batch_key(&self, batch: i64, idx: i64) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT key FROM batch_points WHERE batch = ?1 AND idx = ?2",
                params![batch, idx],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Claim `key` for `claim`: `pending` (or `failed` with `retry`) to `running`. False when
    /// the point is not there to run (done, running elsewhere).
    pub fn claim(&self, key: &str, claim: &Claim, retry: bool) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE points SET status = 'running', reason = NULL, host = ?2, pid = ?3,
                    slurm_job = ?4, slurm_task = ?5, started = ?6, finished = NULL,
                    attempts = attempts + 1
                 WHERE key = ?1 AND (status = 'pending' OR (?7 AND status = 'failed'))",
                params![
                    key,
                    claim.host,
                    claim.pid,
                    claim.slurm_job,
                    claim.slurm_task,
                    now(),
                    retry
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    /// Write a point's outcome (`done` or `failed`) with what it measured, if it is still the
    /// running point of `pid` (a worker whose claim was taken back writes nothing).
    pub fn finish(&self, key: &str, pid: u32, f: &Finish) -> Result<bool, StoreError> {
        let (status, reason, m, wall_s, result) =
            (f.status, f.reason, f.metrics, f.wall_s, f.result);
        let n = self
            .conn
            .execute(
                "UPDATE points SET status = ?3, reason = ?4, family = ?5, device_name = ?6,
                    multipliers = ?7, lut4 = ?8, carry = ?9, ff = ?10, dsp = ?11, bram = ?12,
                    logic_used = ?13, logic_available = ?14, fmax_mhz = ?15, gops = ?16,
                    icetime_mhz = ?17, critical_path = ?18, yosys_s = ?19, nextpnr_s = ?20,
                    cycles = ?21, macs = ?22, utilisation = ?23, wall_s = ?24, finished = ?25,
                    result = ?26
                 WHERE key = ?1 AND status = 'running' AND pid = ?2",
                params![
                    key,
                    pid,
                    status.name(),
                    reason,
                    m.family,
                    m.device_name,
                    m.multipliers,
                    m.lut4.map(|x| x as i64),
                    m.carry.map(|x| x as i64),
                    m.ff.map(|x| x as i64),
                    m.dsp.map(|x| x as i64),
                    m.bram.map(|x| x as i64),
                    m.logic_used.map(|x| x as i64),
                    m.logic_available.map(|x| x as i64),
                    m.fmax_mhz,
                    m.gops,
                    m.icetime_mhz,
                    m.critical_path,
                    m.yosys_s,
                    m.nextpnr_s,
                    m.cycles.map(|x| x as i64),
                    m.macs.map(|x| x as i64),
                    m.utilisation,
                    wall_s,
                    now(),
                    result.to_string(),
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    /// Mark `key` failed with `reason` whatever its state but `done` (a worker that died, a
    /// Slurm task that ended without a result).
    pub fn fail(&self, key: &str, reason: &str) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE points SET status = 'failed', reason = ?2, finished = ?3
                 WHERE key = ?1 AND status IN ('pending', 'running')",
                params![key, reason, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    /// A finished point's status and a one-line account of it (its reason, or what it
    /// measured), for progress lines.
    pub fn account(&self, key: &str) -> Result<(Status, String), StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT status, reason, fmax_mhz, gops, cycles, utilisation, wall_s
                 FROM points WHERE key = ?1",
                [key],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<f64>>(2)?,
                        r.get::<_, Option<f64>>(3)?,
                        r.get::<_, Option<i64>>(4)?,
                        r.get::<_, Option<f64>>(5)?,
                        r.get::<_, Option<f64>>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((status, reason, fmax, gops, cycles, util, wall)) = row else {
            return Ok((Status::Pending, "not in the store".into()));
        };
        let mut parts = vec![];
        if let Some(r) = reason {
            parts.push(r);
        }
        if let Some(f) = fmax {
            parts.push(format!("{f:.1} MHz"));
        }
        if let Some(g) = gops {
            parts.push(format!("{g:.2} GOPS"));
        }
        if let Some(c) = cycles {
            parts.push(format!("{c} cycles"));
        }
        if let Some(u) = util {
            parts.push(format!("utilisation {:.1}%", 100.0 * u));
        }
        if let Some(w) = wall {
            parts.push(format!("{w:.0} s"));
        }
        Ok((Status::parse(&status), parts.join(", ")))
    }

    /// Counts of `keys` by status: (pending, running, done, failed).
    pub fn counts(&self, keys: &[String]) -> Result<[usize; 4], StoreError> {
        let mut c = [0; 4];
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status FROM points WHERE key = ?1")
            .map_err(|e| self.err(e))?;
        for k in keys {
            let s: Option<String> = stmt
                .query_row([k], |r| r.get(0))
                .optional()
                .map_err(|e| self.err(e))?;
            match s.as_deref().map(Status::parse) {
                Some(Status::Running) => c[1] += 1,
                Some(Status::Done) => c[2] += 1,
                Some(Status::Failed) => c[3] += 1,
                _ => c[0] += 1,
            }
        }
        Ok(c)
    }

    /// Every row of `spec` (all of the store's when `None`), by index then creation.
    pub fn rows(&self, spec: Option<&str>) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT * FROM points WHERE (?1 IS NULL OR spec = ?1) ORDER BY idx, created, key",
            )
            .map_err(|e| self.err(e))?;
        let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
        let rows = stmt
            .query_map([spec], |r| {
                let mut cols = serde_json::Map::new();
                for (i, n) in names.iter().enumerate() {
                    let v: rusqlite::types::Value = r.get(i)?;
                    let j = match v {
                        rusqlite::types::Value::Null => Value::Null,
                        rusqlite::types::Value::Integer(i) => i.into(),
                        rusqlite::types::Value::Real(f) => f.into(),
                        rusqlite::types::Value::Text(t) => t.into(),
                        rusqlite::types::Value::Blob(_) => Value::Null,
                    };
                    cols.insert(n.clone(), j);
                }
                Ok(cols)
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .map(|cols| {
                let s = |k: &str| {
                    cols.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                Row {
                    key: s("key"),
                    spec: s("spec"),
                    idx: cols.get("idx").and_then(Value::as_i64).unwrap_or(0),
                    tag: s("tag"),
                    job: s("job"),
                    status: s("status"),
                    reason: cols
                        .get("reason")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    columns: cols,
                }
            })
            .collect())
    }
}

/// Whether process `pid` exists on this machine (and is not a zombie).
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}
