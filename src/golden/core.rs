//! The core model: the golden model of the core (`systolic_top`, see `rtl::core`), driven by
//! its command stream. Executes a [`Program`] command by command, enforcing the rules of the
//! command stream, with the hardware's exact order of additions. The programmable engine
//! around the core (SBUF, instruction queue) is modelled on top of this in
//! `crate::engine::golden`.

use crate::config::Config;
use crate::format::NumberFormat;
use crate::program::{Command, Program};

use super::arith::{acc_to_signed, Arith, FormatArith};

/// A rule of the command stream broken by a program. Every message names the command's index in
/// the program and the offending field or limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error("command {index} ({command}): {field} = {value} is out of range: allowed {allowed}")]
    OutOfRange {
        index: usize,
        command: &'static str,
        field: String,
        value: i64,
        allowed: String,
    },
    #[error("command {index} ({command}): {field} has {len} values, expected {expected}")]
    WrongLength {
        index: usize,
        command: &'static str,
        field: String,
        len: usize,
        expected: usize,
    },
    #[error(
        "command {index} (LoadStationary): the stationary loaded by command {pending} has not been \
         consumed by a swap yet (the hardware would block forever)"
    )]
    StationaryPending { index: usize, pending: usize },
    #[error("command {index} (MultiplyMoving): swap = true but no stationary was loaded since the last swap")]
    SwapWithoutLoad { index: usize },
    #[error(
        "command {index} (MultiplyMoving): swap = false but no stationary is active yet (the first \
         MultiplyMoving must swap one in)"
    )]
    NoActiveStationary { index: usize },
    #[error(
        "command {index} (MultiplyMoving): accumulate = true but PSUM bank {bank} addr {addr} \
         column {column} was never written"
    )]
    AccumulateUnwritten {
        index: usize,
        bank: u32,
        addr: u32,
        column: u32,
    },
}

/// The response to a [`Command::ReadPsum`]: one value per array column, as `acc_bits` bit
/// patterns; `None` where that column of the address was never written (undefined in hardware).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    pub bank: u32,
    pub addr: u32,
    pub values: Vec<Option<u64>>,
}

impl ReadResult {
    /// The values viewed as two's-complement numbers of `acc_bits`.
    pub fn signed(&self, acc_bits: u32) -> Vec<Option<i64>> {
        self.values
            .iter()
            .map(|v| v.map(|b| acc_to_signed(b, acc_bits)))
            .collect()
    }

    /// Whether hardware data `got` (one bit pattern per column) agrees with this expectation:
    /// equal in every defined column, anything in undefined ones.
    pub fn matches(&self, got: &[u64]) -> bool {
        got.len() == self.values.len()
            && self
                .values
                .iter()
                .zip(got)
                .all(|(e, g)| e.is_none_or(|e| e == *g))
    }
}

/// Work counters of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MacCounts {
    /// `k * m * N` summed over MultiplyMoving instructions.
    pub useful: u64,
    /// `rows * cols * N` summed over MultiplyMoving instructions (what the array performs).
    pub array: u64,
    pub matmuls: u64,
    pub moving_beats: u64,
}

impl MacCounts {
    /// Fraction of the array's MACs that were useful (0 when nothing ran).
    pub fn utilization(&self) -> f64 {
        if self.array == 0 {
            0.0
        } else {
            self.useful as f64 / self.array as f64
        }
    }
}

/// The golden model of the core for one configuration.
#[derive(Debug, Clone)]
pub struct CoreModel {
    rows: u32,
    cols: u32,
    banks: u32,
    depth: u32,
    arith: FormatArith,
    /// Loaded but not yet swapped in: `K x cols`, and the loading command.
    pending: Option<(Vec<Vec<i64>>, usize)>,
    /// In use by MultiplyMoving: `K x cols`.
    active: Option<Vec<Vec<i64>>>,
    /// PSUM, indexed `bank * depth + addr`; an empty vector is an address never written.
    psum: Vec<Vec<Option<u64>>>,
    /// Index of the next command (commands executed so far).
    index: usize,
    macs: MacCounts,
}

impl CoreModel {
    pub fn new(cfg: &Config) -> CoreModel {
        CoreModel {
            rows: cfg.rows,
            cols: cfg.cols,
            banks: cfg.psum_banks,
            depth: cfg.psum_depth,
            arith: FormatArith::from_config(cfg),
            pending: None,
            active: None,
            psum: vec![Vec::new(); (cfg.psum_banks * cfg.psum_depth) as usize],
            index: 0,
            macs: MacCounts::default(),
        }
    }

    /// What a reset of the core does to this model: the stationaries (loaded and in use) are
    /// gone, PSUM keeps its contents (its memories are not reset), the counts go on.
    pub fn reset(&mut self) {
        self.pending = None;
        self.active = None;
    }

    pub fn arith(&self) -> &FormatArith {
        &self.arith
    }

    /// Work done so far.
    pub fn macs(&self) -> MacCounts {
        self.macs
    }

    /// The index the next executed command gets in error messages.
    pub fn next_index(&self) -> usize {
        self.index
    }

    /// The current content of one PSUM address (one entry per column, `None` = never written).
    ///
    /// # Panics
    /// If `bank` or `addr` is out of range.
    pub fn psum(&self, bank: u32, addr: u32) -> Vec<Option<u64>> {
        assert!(
            bank < self.banks && addr < self.depth,
            "psum({bank}, {addr}) out of range"
        );
        let e = &self.psum[(bank * self.depth + addr) as usize];
        if e.is_empty() {
            vec![None; self.cols as usize]
        } else {
            e.clone()
        }
    }

    /// Set one PSUM value directly (`value` masked to `acc_bits`; the other columns of a
    /// never-written entry stay unwritten): a test hook for what reads PSUM (the engine's
    /// write-back unit and DMA), standing in for a long run of products.
    ///
    /// # Panics
    /// If `bank`, `addr` or `column` is out of range.
    pub fn poke_psum(&mut self, bank: u32, addr: u32, column: u32, value: u64) {
        assert!(
            bank < self.banks && addr < self.depth && column < self.cols,
            "poke_psum({bank}, {addr}, {column}) out of range"
        );
        let bits = self.arith.acc_bits;
        let e = &mut self.psum[(bank * self.depth + addr) as usize];
        if e.is_empty() {
            *e = vec![None; self.cols as usize];
        }
        e[column as usize] = Some(value & crate::format::mask(bits));
    }

    /// Run a whole program from this state; returns the read responses in program order.
    pub fn run(&mut self, program: &Program) -> Result<Vec<ReadResult>, CoreError> {
        let mut out = Vec::new();
        for c in &program.commands {
            if let Some(r) = self.execute(c)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Execute one command. On error the state is unchanged.
    pub fn execute(&mut self, command: &Command) -> Result<Option<ReadResult>, CoreError> {
        let result = match command {
            Command::LoadStationary { rows } => {
                self.load(rows)?;
                None
            }
            Command::MultiplyMoving {
                k,
                m,
                bank,
                offset,
                accumulate,
                swap,
                moving,
            } => {
                self.multiply(*k, *m, *bank, *offset, *accumulate, *swap, moving)?;
                None
            }
            Command::ReadPsum { bank, addr } => Some(self.read(*bank, *addr)?),
        };
        self.index += 1;
        Ok(result)
    }

    fn range_err(
        &self,
        command: &'static str,
        field: impl Into<String>,
        value: i64,
        allowed: String,
    ) -> CoreError {
        CoreError::OutOfRange {
            index: self.index,
            command,
            field: field.into(),
            value,
            allowed,
        }
    }

    fn check_count(
        &self,
        command: &'static str,
        field: &str,
        value: u32,
        max: u32,
    ) -> Result<(), CoreError> {
        if (1..=max).contains(&value) {
            Ok(())
        } else {
            Err(self.range_err(command, field, i64::from(value), format!("1..={max}")))
        }
    }

    fn check_below(
        &self,
        command: &'static str,
        field: &str,
        value: u32,
        limit: u32,
        what: &str,
    ) -> Result<(), CoreError> {
        if value < limit {
            Ok(())
        } else {
            Err(self.range_err(
                command,
                field,
                i64::from(value),
                format!("0..={} ({what} = {limit})", limit - 1),
            ))
        }
    }

    /// Lengths and value ranges of a matrix given as rows; `name[i][j]` names an element.
    fn check_matrix(
        &self,
        command: &'static str,
        name: &str,
        rows: &[Vec<i64>],
        len: u32,
    ) -> Result<(), CoreError> {
        let f: NumberFormat = self.arith.format;
        for (i, row) in rows.iter().enumerate() {
            if row.len() != len as usize {
                return Err(CoreError::WrongLength {
                    index: self.index,
                    command,
                    field: format!("{name}[{i}]"),
                    len: row.len(),
                    expected: len as usize,
                });
            }
            if let Some((j, &v)) = row.iter().enumerate().find(|(_, v)| !f.contains(**v)) {
                return Err(self.range_err(
                    command,
                    format!("{name}[{i}][{j}]"),
                    v,
                    format!(
                        "{f} {} {}..={}",
                        if f.is_float() {
                            "bit patterns"
                        } else {
                            "values"
                        },
                        f.min_value(),
                        f.max_value()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn load(&mut self, rows: &[Vec<i64>]) -> Result<(), CoreError> {
        const C: &str = "LoadStationary";
        let k = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        self.check_count(C, "K (rows.len())", k, self.rows)?;
        self.check_matrix(C, "rows", rows, self.cols)?;
        if let Some((_, pending)) = self.pending {
            return Err(CoreError::StationaryPending {
                index: self.index,
                pending,
            });
        }
        self.pending = Some((rows.to_vec(), self.index));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn multiply(
        &mut self,
        k: u32,
        m: u32,
        bank: u32,
        offset: u32,
        accumulate: bool,
        swap: bool,
        moving: &[Vec<i64>],
    ) -> Result<(), CoreError> {
        const C: &str = "MultiplyMoving";
        self.check_count(C, "k", k, self.rows)?;
        self.check_count(C, "m", m, self.cols)?;
        self.check_below(C, "bank", bank, self.banks, "psum_banks")?;
        let n = u32::try_from(moving.len()).unwrap_or(u32::MAX);
        self.check_count(C, "N (moving.len())", n, self.depth)?;
        if u64::from(offset) + u64::from(n) > u64::from(self.depth) {
            return Err(self.range_err(
                C,
                format!("offset + N ({offset} + {n})"),
                i64::from(offset) + i64::from(n),
                format!("1..={} (psum_depth)", self.depth),
            ));
        }
        self.check_matrix(C, "moving", moving, self.rows)?;
        if swap && self.pending.is_none() {
            return Err(CoreError::SwapWithoutLoad { index: self.index });
        }
        if !swap && self.active.is_none() {
            return Err(CoreError::NoActiveStationary { index: self.index });
        }
        let base = (bank * self.depth + offset) as usize;
        if accumulate {
            for (i, entry) in self.psum[base..base + n as usize].iter().enumerate() {
                if let Some(column) =
                    (0..m).find(|&c| entry.get(c as usize).copied().flatten().is_none())
                {
                    return Err(CoreError::AccumulateUnwritten {
                        index: self.index,
                        bank,
                        addr: offset + i as u32,
                        column,
                    });
                }
            }
        }

        // Checked: now change state.
        if swap {
            let (w, _) = self.pending.take().expect("checked");
            self.active = Some(w);
        }
        let w = self.active.as_ref().expect("checked");
        let a = &self.arith;
        // Rows below both k and the stationary's K multiply; every other row of the array adds
        // an exact zero product (the hardware masks it, whatever its weight and moving value).
        let active = (k as usize).min(w.len());
        for (i, beat) in moving.iter().enumerate() {
            let entry = &mut self.psum[base + i];
            if entry.is_empty() {
                *entry = vec![None; self.cols as usize];
            }
            for c in 0..m as usize {
                // Hardware order: down the column through every array row, masked rows included.
                let mut acc = a.zero();
                for r in 0..self.rows as usize {
                    let p = if r < active {
                        a.mul(w[r][c], beat[r])
                    } else {
                        a.zero()
                    };
                    acc = a.add(acc, p);
                }
                entry[c] = Some(match (accumulate, entry[c]) {
                    (true, Some(old)) => a.add(old, acc),
                    _ => acc,
                });
            }
        }
        let n = u64::from(n);
        self.macs.useful += u64::from(k) * u64::from(m) * n;
        self.macs.array += u64::from(self.rows) * u64::from(self.cols) * n;
        self.macs.matmuls += 1;
        self.macs.moving_beats += n;
        Ok(())
    }

    fn read(&self, bank: u32, addr: u32) -> Result<ReadResult, CoreError> {
        const C: &str = "ReadPsum";
        self.check_below(C, "bank", bank, self.banks, "psum_banks")?;
        self.check_below(C, "addr", addr, self.depth, "psum_depth")?;
        Ok(ReadResult {
            bank,
            addr,
            values: self.psum(bank, addr),
        })
    }
}
