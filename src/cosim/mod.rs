//! Co-simulation: the generated design built by Verilator at run time, driven from Rust, every
//! PSUM read compared in order against the golden model, and the cycle count of a stall-free run
//! compared against the golden timing model.
//!
//! - [`verilator`]: the generic run-time back end (generated C++ shim, cached shared library).
//! - [`driver`]: the cycle-level driver of the core's handshake ports and the scoreboard.
//! - [`Harness`]: one built core design, ready to run programs.
//! - [`engine`]: the engine design behind its AXI4-Lite slave, as an
//!   [`Engine`](crate::engine::Engine).
//! - [`board`]: the board design behind its UART pins, as a [`Transport`](crate::uart::Transport);
//!   [`board_checks`]: checks of it driven the way a host drives it (the board mutation campaign).

pub mod axi4;
pub mod board;
pub mod board_checks;
pub mod dma_random;
pub mod driver;
pub mod engine;
pub mod engine_checks;
pub mod mem_port;
pub mod verilator;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::config::Config;
use crate::files::write_atomically;
use crate::golden::{self, CoreModel, ReadResult};
use crate::program::{Program, STREAM_CHUNK};
use crate::progress::Progress;
use crate::rtl::design::Design;

pub use driver::{Mismatch, ObservedRead, RtlRun, Stalls};

/// Errors of a co-simulation run (a mismatch is not an error: it is a failing [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum CosimError {
    #[error(transparent)]
    Verilator(#[from] verilator::VerilatorError),
    #[error(transparent)]
    Driver(#[from] driver::DriverError),
    #[error("the program is not valid for this engine: {0}")]
    Program(#[from] golden::CoreError),
    #[error("the timing model rejects the program: {0}")]
    Timing(#[from] golden::TimingError),
    #[error("interrupted")]
    Interrupted,
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How to build the simulation.
#[derive(Debug, Clone)]
pub struct HarnessOptions {
    /// Build with VCD tracing support (needed for `--waves`).
    pub trace: bool,
    /// With `trace`: FST instead of VCD (`verilator --trace-fst`).
    pub fst: bool,
    /// `verilator --threads`.
    pub threads: u32,
    /// Root of the build cache ([`verilator::default_cache_root`] by default).
    pub cache_root: PathBuf,
    /// Extra Verilator arguments (part of the cache key).
    pub extra_args: Vec<String>,
}

/// Verilator arguments the co-simulation passes by default. Splitting the generated C++ into
/// functions of at most 200 statements keeps g++ away from its superlinear cost on the huge
/// functions of a fully inlined array (measured on 32x32: make 173 s -> 44 s).
pub fn default_verilator_args() -> Vec<String> {
    vec!["--output-split-cfuncs".into(), "200".into()]
}

impl Default for HarnessOptions {
    fn default() -> Self {
        HarnessOptions {
            trace: false,
            fst: false,
            threads: 1,
            cache_root: verilator::default_cache_root(),
            extra_args: default_verilator_args(),
        }
    }
}

/// A design built for simulation.
pub struct Harness {
    pub cfg: Config,
    model: verilator::Model,
    /// Seconds the Verilator build took, `None` when it came from the cache.
    pub build_seconds: Option<f64>,
}

/// The outcome of one program run, for people ([`Report::summary`]) and scripts (JSON).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub pass: bool,
    pub config: String,
    pub rows: u32,
    pub cols: u32,
    pub format: String,
    pub commands: usize,
    pub reads: usize,
    pub stalls: bool,
    /// Cycles of the RTL run (from the first cycle after reset until idle).
    pub cycles: u64,
    /// Cycles the timing model predicts (stall-free runs only).
    pub expected_cycles: Option<u64>,
    pub useful_macs: u64,
    /// Useful MACs / (rows * cols * cycles).
    pub utilisation: f64,
    pub first_mismatch: Option<Mismatch>,
    /// Why the run failed, in one line (mismatch, cycle count, missing reads).
    pub failure: Option<String>,
    pub sim_seconds: f64,
    pub cycles_per_second: f64,
    /// CPU time of this process (all its threads) over the span of `sim_seconds`: on a shared
    /// machine, less disturbed by other work than the wall clock.
    pub sim_cpu_seconds: f64,
}

/// CPU seconds this process has used so far (all threads; 0 if the clock cannot be read).
pub fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

impl Report {
    /// A short human-readable summary.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} on {} ({}x{} {}): {} commands, {} reads compared, {} cycles{}, {} useful MACs, utilisation {:.1}%{}",
            if self.pass { "PASS" } else { "FAIL" },
            if self.stalls { "random stalls" } else { "no stalls" },
            self.config,
            self.rows,
            self.cols,
            self.format,
            self.commands,
            self.reads,
            self.cycles,
            match self.expected_cycles {
                Some(e) if e == self.cycles => " (= timing model)".to_string(),
                Some(e) => format!(" (timing model: {e})"),
                None => String::new(),
            },
            self.useful_macs,
            100.0 * self.utilisation,
            format_args!(", {:.0} cycles/s", self.cycles_per_second),
        );
        if let Some(f) = &self.failure {
            s.push_str("\n  ");
            s.push_str(f);
        }
        s
    }
}

impl Harness {
    /// Generate the core design of `cfg` and build it (or fetch it from the cache).
    pub fn build(cfg: &Config, opts: &HarnessOptions) -> Result<Harness, CosimError> {
        Harness::build_design(&crate::rtl::core::design(cfg), opts, &mut |_| {})
    }

    /// Build a core-level `design` (possibly modified, e.g. a deliberately mutated one),
    /// reporting build steps to `progress`.
    pub fn build_design(
        design: &Design,
        opts: &HarnessOptions,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Harness, CosimError> {
        let model = build_design(design, opts, progress)?;
        Ok(Harness {
            cfg: design.config.clone(),
            build_seconds: model.build_seconds(),
            model,
        })
    }

    /// Build from explicit Verilog `files` whose top has the core's ports (e.g. a
    /// post-synthesis netlist and its cell models), reporting build steps to `progress`.
    pub fn build_files(
        cfg: &Config,
        files: &[(String, String)],
        opts: &HarnessOptions,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Harness, CosimError> {
        let core = crate::rtl::core::design(cfg);
        let ports = port_specs(&core);
        let model = build_model(&cfg.tag(), files, core.top_name(), &ports, opts, progress)?;
        Ok(Harness {
            cfg: cfg.clone(),
            build_seconds: model.build_seconds(),
            model,
        })
    }

    /// Run `program` on a fresh instance and on the golden model, and compare.
    pub fn run(
        &self,
        program: &Program,
        stalls: Stalls,
        waves: Option<&Path>,
    ) -> Result<Outcome, CosimError> {
        let cfg = &self.cfg;
        let mut golden = CoreModel::new(cfg);
        let expected = golden.run(program)?;
        // The timing model describes the stall-free driver without gapless loads.
        let expected_cycles = if stalls.any() || stalls.gapless_loads {
            None
        } else {
            Some(golden::stall_free(cfg, program)?.total_cycles)
        };

        let mut sim = self.model.instantiate()?;
        if let Some(path) = waves {
            sim.open_trace(path)?;
        }
        let limit = cycle_limit(cfg, program, stalls);
        let start = Instant::now();
        let cpu_start = process_cpu_seconds();
        let run = driver::run_program(&mut sim, cfg, program, stalls, limit)?;
        let sim_seconds = start.elapsed().as_secs_f64();
        let sim_cpu_seconds = process_cpu_seconds() - cpu_start;
        if waves.is_some() {
            sim.flush_trace();
        }

        let first_mismatch = driver::compare(cfg, &expected, &run.reads);
        let failure = failure(
            cfg,
            first_mismatch.as_ref(),
            &run,
            &expected,
            expected_cycles,
        );
        let macs = golden.macs();
        let cycles = run.total_cycles.max(1);
        let report = Report {
            pass: failure.is_none(),
            config: cfg.name.clone(),
            rows: cfg.rows,
            cols: cfg.cols,
            format: cfg.format.to_string(),
            commands: program.commands.len(),
            reads: expected.len(),
            stalls: stalls.any(),
            cycles: run.total_cycles,
            expected_cycles,
            useful_macs: macs.useful,
            utilisation: macs.useful as f64 / (cfg.pes() as f64 * cycles as f64),
            first_mismatch,
            failure,
            sim_seconds,
            cycles_per_second: run.total_cycles as f64 / sim_seconds.max(1e-9),
            sim_cpu_seconds,
        };
        Ok(Outcome {
            report,
            rtl: run,
            expected,
        })
    }
}

impl Harness {
    /// Run the consecutive programs of `programs` (e.g. a [`crate::program::RandomStream`]) on one
    /// instance and one golden model, one program at a time: each is generated, run on both,
    /// compared (and, without stalls, its cycle count checked against the timing model), then
    /// dropped, so memory does not grow with the stream. The core is reset between programs
    /// (each starts by loading a stationary); PSUM carries over. Stops at the first failure, or
    /// with [`CosimError::Interrupted`] when [`crate::progress::interrupted`]. `total` is the
    /// stream's MultiplyMoving count, for `progress`.
    pub fn run_stream(
        &self,
        programs: impl Iterator<Item = Program>,
        stalls: Stalls,
        waves: Option<&Waves>,
        total: u64,
        progress: &mut dyn Progress,
    ) -> Result<Report, CosimError> {
        let cfg = &self.cfg;
        let mut golden = CoreModel::new(cfg);
        let mut sim = self.model.instantiate()?;
        if let Some(w) = waves {
            sim.set_trace_window(&w.path, w.from, w.to)?;
        }
        let mut sum = StreamSum::default();
        let mut warned = false;
        progress.stage("co-simulation (MultiplyMoving instructions)", Some(total));
        let start = Instant::now();
        let cpu_start = process_cpu_seconds();
        for program in programs {
            if crate::progress::interrupted() {
                return Err(CosimError::Interrupted);
            }
            let chunk = self.run_chunk(&mut sim, &mut golden, &program, stalls)?;
            sim.trace_error()?;
            sum.add(&program, chunk);
            progress.set(sum.matmuls);
            if let (Some(w), false) = (waves, warned) {
                sim.flush_trace();
                warned = w.warn_if_large(sim.cycle(), sum.matmuls, total, progress);
            }
            if sum.failure.is_some() {
                break;
            }
        }
        progress.end();
        if waves.is_some() {
            sim.close_trace();
        }
        Ok(sum.report(
            cfg,
            stalls,
            golden.macs().useful,
            start.elapsed().as_secs_f64(),
            process_cpu_seconds() - cpu_start,
        ))
    }

    /// One program of a stream on `sim` and `golden` (both carrying the earlier ones' PSUM).
    fn run_chunk(
        &self,
        sim: &mut verilator::Sim,
        golden: &mut CoreModel,
        program: &Program,
        stalls: Stalls,
    ) -> Result<Chunk, CosimError> {
        let cfg = &self.cfg;
        // The driver resets the core before each program: so does the model (PSUM stays).
        golden.reset();
        let expected = golden.run(program)?;
        let expected_cycles = if stalls.any() || stalls.gapless_loads {
            None
        } else {
            Some(golden::stall_free(cfg, program)?.total_cycles)
        };
        let run =
            driver::run_program(sim, cfg, program, stalls, cycle_limit(cfg, program, stalls))?;
        let first_mismatch = driver::compare(cfg, &expected, &run.reads);
        let failure = failure(
            cfg,
            first_mismatch.as_ref(),
            &run,
            &expected,
            expected_cycles,
        );
        Ok(Chunk {
            reads: expected.len(),
            cycles: run.total_cycles,
            expected_cycles,
            first_mismatch,
            failure,
        })
    }
}

/// A waveform of a co-simulation: cycles `from..to` (`to` `None`: to the end) into `path`, VCD
/// or FST as the model was built ([`HarnessOptions::fst`]).
#[derive(Debug, Clone)]
pub struct Waves {
    pub path: PathBuf,
    pub from: u64,
    pub to: Option<u64>,
}

/// Traces larger than this get a warning with their expected size.
pub const WAVES_WARN_BYTES: u64 = 1 << 30;

impl Waves {
    /// After some of a stream has run (`cycles` simulated, `done` of `total` instructions),
    /// project the trace's final size from its size so far; warn through `progress` when it
    /// will exceed [`WAVES_WARN_BYTES`]. True once a projection was made.
    fn warn_if_large(
        &self,
        cycles: u64,
        done: u64,
        total: u64,
        progress: &mut dyn Progress,
    ) -> bool {
        let Ok(bytes) = std::fs::metadata(&self.path).map(|m| m.len()) else {
            return false;
        };
        let traced = cycles
            .min(self.to.unwrap_or(u64::MAX))
            .saturating_sub(self.from);
        if traced == 0 || done == 0 {
            return false;
        }
        let total_cycles = cycles as f64 * total as f64 / done as f64;
        let end = self
            .to
            .map_or(total_cycles, |t| (t as f64).min(total_cycles));
        let expected = bytes as f64 / traced as f64 * (end - self.from as f64).max(0.0);
        if expected > WAVES_WARN_BYTES as f64 {
            progress.note(&format!(
                "waves: {} will be about {:.1} GB ({:.0} bytes per traced cycle); narrow it with \
                 --waves-from/--waves-to, or use a .fst file",
                self.path.display(),
                expected / 1e9,
                bytes as f64 / traced as f64
            ));
        }
        true
    }
}

/// What one program of a stream gave.
struct Chunk {
    reads: usize,
    cycles: u64,
    expected_cycles: Option<u64>,
    first_mismatch: Option<Mismatch>,
    failure: Option<String>,
}

/// A stream's results so far.
#[derive(Default)]
struct StreamSum {
    commands: usize,
    matmuls: u64,
    reads: usize,
    cycles: u64,
    expected_cycles: Option<u64>,
    first_mismatch: Option<Mismatch>,
    failure: Option<String>,
}

impl StreamSum {
    /// Add one program's results; a mismatch's read and cycle become the stream's.
    fn add(&mut self, program: &Program, c: Chunk) {
        if let Some(mut m) = c.first_mismatch {
            m.read += self.reads;
            m.cycle += self.cycles;
            self.first_mismatch = Some(m);
        }
        if self.failure.is_none() {
            self.failure = c.failure.map(|f| {
                format!(
                    "program {} of the stream: {f}",
                    self.matmuls / STREAM_CHUNK as u64 + 1
                )
            });
        }
        self.expected_cycles = match (self.commands, c.expected_cycles) {
            (0, e) => e,
            (_, e) => self.expected_cycles.zip(e).map(|(a, b)| a + b),
        };
        self.commands += program.commands.len();
        self.matmuls += program.stats().matmuls as u64;
        self.reads += c.reads;
        self.cycles += c.cycles;
    }

    fn report(
        self,
        cfg: &Config,
        stalls: Stalls,
        useful_macs: u64,
        sim_seconds: f64,
        sim_cpu_seconds: f64,
    ) -> Report {
        Report {
            pass: self.failure.is_none(),
            config: cfg.name.clone(),
            rows: cfg.rows,
            cols: cfg.cols,
            format: cfg.format.to_string(),
            commands: self.commands,
            reads: self.reads,
            stalls: stalls.any(),
            cycles: self.cycles,
            expected_cycles: self.expected_cycles,
            useful_macs,
            utilisation: useful_macs as f64 / (cfg.pes() as f64 * self.cycles.max(1) as f64),
            first_mismatch: self.first_mismatch,
            failure: self.failure,
            sim_seconds,
            cycles_per_second: self.cycles as f64 / sim_seconds.max(1e-9),
            sim_cpu_seconds,
        }
    }
}

/// A generous bound on the cycles of `program`'s run: every beat may wait for its predecessors
/// plus the pipeline depth.
fn cycle_limit(cfg: &Config, program: &Program, stalls: Stalls) -> u64 {
    let stats = program.stats();
    let work =
        (stats.load_beats + stats.moving_beats + 8 * stats.reads + program.commands.len()) as u64;
    64 + (work + 4 * u64::from(cfg.rows + cfg.cols)) * if stalls.any() { 20 } else { 4 }
}

/// Why a run failed, in one line: the first mismatch, else a different number of reads, else a
/// cycle count other than the timing model's (`expected_cycles`, stall-free runs); `None`: it
/// passed.
fn failure(
    cfg: &Config,
    first_mismatch: Option<&Mismatch>,
    run: &RtlRun,
    expected: &[ReadResult],
    expected_cycles: Option<u64>,
) -> Option<String> {
    // An accumulator as a person reads it: the number (fp32 or two's complement) and its bits.
    let show = |bits: u64, signed: i64| {
        if cfg.format.is_float() {
            format!("{:e} (0x{bits:08x})", f32::from_bits(bits as u32))
        } else {
            format!("{signed} (0x{bits:x})")
        }
    };
    if let Some(m) = first_mismatch {
        return Some(format!(
            "first mismatch: read #{} (cycle {}), bank {}, address {}, column {}: expected {}, got {}",
            m.read,
            m.cycle,
            m.bank,
            m.addr,
            m.column,
            show(m.expected, m.expected_signed),
            show(m.got, m.got_signed)
        ));
    }
    if run.reads.len() != expected.len() {
        return Some(format!(
            "the RTL answered {} reads, the golden model {}",
            run.reads.len(),
            expected.len()
        ));
    }
    match expected_cycles {
        Some(e) if e != run.total_cycles => Some(format!(
            "cycle count: the RTL took {} cycles, the timing model says {}",
            run.total_cycles, e
        )),
        _ => None,
    }
}

/// The Verilator port list of a design's top.
pub fn port_specs(design: &Design) -> Vec<verilator::PortSpec> {
    design.top_ports().into_iter().map(Into::into).collect()
}

/// Build the Verilator model of `design` (its modules and the simulation models of its
/// primitives) as `opts` asks, or fetch it from the cache, reporting build steps to `progress`.
pub fn build_design(
    design: &Design,
    opts: &HarnessOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<verilator::Model, CosimError> {
    build_model(
        &design.tag(),
        &design.sim_files(),
        design.top_name(),
        &port_specs(design),
        opts,
        progress,
    )
}

/// Write `files` into the build cache ([`write_sources`]) and build the Verilator model of
/// `top` with `ports` as `opts` asks (or fetch it from the cache), reporting build steps to
/// `progress`: the one build of the co-simulation harness, the RTL engine and the simulated board.
pub fn build_model(
    tag: &str,
    files: &[(String, String)],
    top: &str,
    ports: &[verilator::PortSpec],
    opts: &HarnessOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<verilator::Model, CosimError> {
    let sources = write_sources(&opts.cache_root, tag, files)?;
    let spec = verilator::BuildSpec {
        top,
        sources: &sources,
        ports,
        trace: opts.trace,
        fst: opts.fst,
        threads: opts.threads,
        extra_args: &opts.extra_args,
    };
    Ok(verilator::build_with(
        &spec,
        &opts.cache_root,
        verilator::BuildOptions {
            progress: Some(progress),
            ..Default::default()
        },
    )?)
}

/// Write generated `files` into a content-addressed folder of the build cache
/// (`<cache_root>/src/<tag>-<hash of the files>`), so parallel builds of the same design share
/// them and different designs never collide; return the paths of the Verilog files, in order.
pub fn write_sources(
    cache_root: &Path,
    tag: &str,
    files: &[(String, String)],
) -> Result<Vec<PathBuf>, CosimError> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (name, text) in files {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    let key: String = h
        .finalize()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = cache_root.join("src").join(format!("{tag}-{key}"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CosimError::Io { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let mut sources = vec![];
    for (name, text) in files {
        let path = dir.join(name);
        if !path.exists() {
            write_atomically(&path, text.as_bytes()).map_err(io(&path))?;
        }
        if name.ends_with(".v") {
            sources.push(path);
        }
    }
    Ok(sources)
}

/// Everything one run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub report: Report,
    pub rtl: RtlRun,
    pub expected: Vec<ReadResult>,
}
