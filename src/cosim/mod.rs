//! Co-simulation: the generated design built by Verilator at run time, driven from Rust, every
//! PSUM read compared in order against the golden model, and the cycle count of a stall-free run
//! compared against the golden timing model.
//!
//! - [`verilator`]: the generic run-time back end (generated C++ shim, cached shared library).
//! - [`driver`]: the cycle-level driver of the core's handshake ports and the scoreboard.
//! - [`Harness`]: one built core design, ready to run programs.
//! - [`engine`]: the engine design behind its AXI4-Lite slave, as an
//!   [`Engine`](crate::engine::Engine).
//! - [`board`]: the board design behind its UART pins, as a [`Transport`](crate::uart::Transport).

pub mod axi4;
pub mod board;
pub mod driver;
pub mod engine;
pub mod verilator;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::config::Config;
use crate::files::write_atomically;
use crate::golden::{self, CoreModel, ReadResult};
use crate::program::Program;
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
        let run = driver::run_program(&mut sim, cfg, program, stalls, limit)?;
        let sim_seconds = start.elapsed().as_secs_f64();
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
        };
        Ok(Outcome {
            report,
            rtl: run,
            expected,
        })
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
