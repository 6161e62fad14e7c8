//! Mutation campaigns: how many deliberate one-site bugs of the generated Verilog
//! ([`crate::verilog::mutate`]) the project's co-simulation checks catch (`systolic mutate`,
//! `docs/verification.md`).
//!
//! A mutant is named by (module, site index) of a design. It is built with Verilator and run
//! through checks ordered from cheap to expensive ([`core_checks`], [`engine_checks`]); the
//! first failing check kills it. A mutant Verilator cannot build is *invalid* (not a kill); a
//! mutant whose printed Verilog equals the original's is never run. The board level
//! ([`board_checks`]) mutates the UART, its frame bridge and the board top, checked through the
//! UART pins. Every check passes on the
//! unmodified design first ([`baseline`]), so a kill is the mutant's doing.

use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::cosim::board_checks;
use crate::cosim::engine::{AxiMaster, RtlEngine};
use crate::cosim::engine_checks::{self, random_matrix};
use crate::cosim::{Harness, HarnessOptions, Stalls};
use crate::engine::gemm::{gemm, GemmOptions};
use crate::engine::golden::GoldenEngine;
use crate::engine::host::HostEngine;
use crate::program::{random_program, GenOptions, SplitMix64};
use crate::rtl::design::{Design, Level};
use crate::verilog::mutate::{self, Kind};

/// One mutant of a design: where it is and what it changes.
#[derive(Debug, Clone, Serialize)]
pub struct MutantInfo {
    pub module: String,
    pub index: usize,
    pub kind: Kind,
    pub description: String,
    /// Unified diff of the module's printed Verilog.
    pub diff: String,
    /// Whether the site is in code the configuration elaborates: false for a site inside a
    /// generate branch no instance takes (such a mutant cannot change the design: equivalent
    /// by construction, reported apart and left out of the kill rate).
    pub elaborated: bool,
}

/// What happened to a mutant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// A check failed: its name and the first line of its failure.
    Killed { check: String, detail: String },
    /// Every check passed.
    Survived,
    /// Verilator could not build it (lint or compile error): not a kill.
    Invalid { reason: String },
}

/// The modules a campaign mutates at `level` (those the design holds).
pub fn default_modules(design: &Design) -> Vec<String> {
    let wanted: &[&str] = match design.level {
        Level::Core => &[
            "systolic_pe",
            "systolic_column",
            "systolic_array",
            "systolic_skew",
            "systolic_deskew",
            "systolic_psum",
            "systolic_cmd_queue",
            "systolic_load_ctl",
            "systolic_mv_entry",
            "systolic_ctl_pipe",
            "systolic_top",
        ],
        Level::Board => &[
            "systolic_uart_rx",
            "systolic_uart_tx",
            "systolic_uart_bridge",
            "systolic_board",
        ],
        _ => &[
            "systolic_sbuf",
            "systolic_sequencer",
            "systolic_axil",
            "systolic_engine",
            "systolic_dma",
            "systolic_fetch",
            "systolic_act",
        ],
    };
    wanted
        .iter()
        .filter(|w| design.modules.iter().any(|m| m.name == **w))
        .map(|w| w.to_string())
        .collect()
}

/// Every mutant of `module` in `design` whose printed Verilog differs from the original and
/// whose site the configuration elaborates (not inside a generate branch no instance takes:
/// such a mutant cannot change the simulated design), in site order.
pub fn mutants_of(design: &Design, module: &str) -> Vec<MutantInfo> {
    let Some(m) = design.modules.iter().find(|m| m.name == module) else {
        return vec![];
    };
    let sites = mutate::sites(m, &design.modules);
    let taken = mutate::taken_branches(&design.modules, design.top_name());
    (0..sites.len())
        .filter_map(|i| {
            let (after, site) = mutate::apply(m, i, &design.modules)?;
            let diff = mutate::diff(m, &after);
            let elaborated = site
                .branches
                .iter()
                .all(|b| taken.contains(&(module.to_string(), b.clone())));
            (!diff.is_empty() && elaborated).then(|| MutantInfo {
                module: module.to_string(),
                index: i,
                kind: site.kind,
                elaborated,
                description: site.description,
                diff,
            })
        })
        .collect()
}

/// A deterministic sample of `total` mutants spread evenly over `modules` (a module with fewer
/// mutants than its share gives all it has; the rest goes to the others), each module's picked
/// by a seeded shuffle, listed module by module in site order.
pub fn sample(design: &Design, modules: &[String], total: usize, seed: u64) -> Vec<MutantInfo> {
    let mut pools: Vec<Vec<MutantInfo>> = modules
        .iter()
        .map(|m| {
            let mut all = mutants_of(design, m);
            let mut rng = SplitMix64::new(seed ^ fnv(m));
            // Fisher-Yates.
            for i in (1..all.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                all.swap(i, j);
            }
            all
        })
        .collect();
    let mut take = vec![0usize; pools.len()];
    let mut left = total;
    while left > 0 {
        let mut progressed = false;
        for (k, pool) in pools.iter().enumerate() {
            if left > 0 && take[k] < pool.len() {
                take[k] += 1;
                left -= 1;
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    let mut out = vec![];
    for (pool, n) in pools.iter_mut().zip(take) {
        pool.truncate(n);
        pool.sort_by_key(|m| m.index);
        out.append(pool);
    }
    out
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `design` with mutant (`module`, `index`) applied.
pub fn mutant_design(design: &Design, module: &str, index: usize) -> Option<Design> {
    let mut d = design.clone();
    let k = d.modules.iter().position(|m| m.name == module)?;
    let (after, _) = mutate::apply(&d.modules[k], index, &design.modules)?;
    d.modules[k] = after;
    Some(d)
}

/// One check of a campaign: its name and how much it runs.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    pub name: &'static str,
    /// Random programs (core) or products (engine).
    pub runs: u32,
    /// MultiplyMoving instructions per program (core) or the largest dimension (engine).
    pub size: u32,
    pub stalls: bool,
    /// Core: loads streamed without gaps with `ls_gapless` high (the early swap).
    pub gapless: bool,
}

/// The core-level checks, cheap to expensive: short random programs without stalls, the same
/// with random stalls on every handshake, then longer programs with and without stalls, then
/// programs whose loads stream without gaps with `ls_gapless` high (the early swap; every other
/// one with stalls), then the Icarus testbench, with its 4-cycle reset and with a 1-cycle one.
pub fn core_checks() -> Vec<Check> {
    vec![
        Check {
            name: "cosim-short",
            runs: 3,
            size: 12,
            stalls: false,
            gapless: false,
        },
        Check {
            name: "cosim-short-stalls",
            runs: 3,
            size: 12,
            stalls: true,
            gapless: false,
        },
        Check {
            name: "cosim-long",
            runs: 8,
            size: 40,
            stalls: false,
            gapless: false,
        },
        Check {
            name: "cosim-long-stalls",
            runs: 8,
            size: 40,
            stalls: true,
            gapless: false,
        },
        Check {
            name: "cosim-gapless",
            runs: 6,
            size: 30,
            stalls: true,
            gapless: true,
        },
        Check {
            name: ICARUS,
            runs: 1,
            size: 0,
            stalls: false,
            gapless: false,
        },
        Check {
            name: ICARUS_RESET1,
            runs: 1,
            size: 0,
            stalls: false,
            gapless: false,
        },
        random_init_check(),
    ]
}

/// The Icarus testbench with `rst` high for one clock edge only (from the unknown initial
/// state): every register the design resets must be right after a single reset edge.
pub const ICARUS_RESET1: &str = "icarus-tb-reset1";

/// The name of the check that runs the hand-written testbench `hdl/tb_core.v` in Icarus
/// Verilog (4-state: registers start unknown, so a lost reset shows).
pub const ICARUS: &str = "icarus-tb";

/// The engine check of the error paths, CLEAR_ERROR, STATUS and the registers
/// ([`engine_checks::error_paths`]).
pub const ERRORS: &str = "errors";
/// The engine check of products over the memory path ([`engine_checks::memory_gemm`]), with
/// `stalls`: random memory latencies.
pub const MEM_GEMM: &str = "mem-gemm";
pub const MEM_GEMM_LATENCY: &str = "mem-gemm-latency";
/// The engine check of random memory-path programs ([`crate::cosim::dma_random`]: DMA loads and
/// stores of odd partitions and 4 KB-straddling bases, planted bus, range and fetch errors,
/// matmul chains with PSUM stores, ACTIVATE chains with clamps and exact ties, signal bursts)
/// through a slave model with random latency, stalls and response order, against the golden
/// engine; `runs` batches of `size` cases, each with its own slave.
pub const DMA_RANDOM: &str = "dma-random";

/// The engine-level checks: `gemm` on the RTL engine over AXI4-Lite against the golden engine
/// (small shapes without bus wait states); the error paths, CLEAR_ERROR, STATUS and the
/// registers; with `dma`, products over the memory path (DMA loads, ACTIVATE, DMA stores; then
/// with random memory latencies); `gemm` with random wait states on every channel; larger
/// shapes through the double-buffered SBUF slots; with `dma`, the random memory-path programs
/// of [`crate::cosim::dma_random`] ([`DMA_RANDOM`]); last the random initial state.
pub fn engine_checks(dma: bool) -> Vec<Check> {
    let mut v = vec![
        Check {
            name: "gemm-short",
            runs: 2,
            size: 6,
            stalls: false,
            gapless: false,
        },
        Check {
            name: ERRORS,
            runs: 1,
            size: 0,
            stalls: false,
            gapless: false,
        },
    ];
    if dma {
        v.push(Check {
            name: MEM_GEMM,
            runs: 2,
            size: 7,
            stalls: false,
            gapless: false,
        });
    }
    v.extend([
        Check {
            name: "gemm-short-waits",
            runs: 2,
            size: 6,
            stalls: true,
            gapless: false,
        },
        Check {
            name: "gemm-long",
            runs: 4,
            size: 14,
            stalls: false,
            gapless: false,
        },
        Check {
            name: "gemm-long-waits",
            runs: 4,
            size: 14,
            stalls: true,
            gapless: false,
        },
    ]);
    if dma {
        v.push(Check {
            name: MEM_GEMM_LATENCY,
            runs: 4,
            size: 12,
            stalls: true,
            gapless: false,
        });
        v.push(Check {
            name: DMA_RANDOM,
            runs: 4,
            size: 100,
            stalls: true,
            gapless: false,
        });
    }
    v.push(random_init_check());
    v
}

/// The board check of a clean line ([`board_checks::link`]).
pub const LINK: &str = "link";
/// The board check of line faults, retries and malformed or dropped frames
/// ([`board_checks::faults`]).
pub const FAULTS: &str = "faults";

/// The board-level checks (the UART bridge and the board top, through the UART pins): a clean
/// line, then the faults, then the random initial state (through both).
pub fn board_checks() -> Vec<Check> {
    let one = |name| Check {
        name,
        runs: 1,
        size: 0,
        stalls: false,
        gapless: false,
    };
    vec![one(LINK), one(FAULTS), random_init_check()]
}

/// The checks of a design's level (and, for engines, of its memory path).
pub fn checks(design: &Design) -> Vec<Check> {
    match design.level {
        Level::Core => core_checks(),
        Level::Board => board_checks(),
        _ => engine_checks(design.config.dma),
    }
}

/// Build `design` (Verilator, cache under `cache_root`) and run `checks` in order, seeded by
/// `seed`; the first failure kills it.
pub fn run_checks(design: &Design, checks: &[Check], seed: u64, cache_root: &Path) -> Verdict {
    let opts = HarnessOptions {
        cache_root: cache_root.to_path_buf(),
        ..HarnessOptions::default()
    };
    match design.level {
        Level::Core => run_core(design, checks, seed, &opts),
        Level::Board => run_board(design, checks, seed, &opts),
        _ => run_engine(design, checks, seed, &opts),
    }
}

/// The board checks: the design built once, each check on a fresh simulation of it (reset
/// with the button) with the campaign's board parameters.
fn run_board(design: &Design, checks: &[Check], seed: u64, opts: &HarnessOptions) -> Verdict {
    let model = match crate::cosim::build_design(design, opts, &mut |_| {}) {
        Ok(m) => m,
        Err(e) => {
            return Verdict::Invalid {
                reason: first_line(&e.to_string()),
            }
        }
    };
    let params = board_checks::campaign_params();
    let cfg = &design.config;
    for (c, check) in checks.iter().enumerate() {
        let check_seed = seed.wrapping_add(1000 * c as u64);
        let result = match check.name {
            LINK => board_checks::link(&model, &params, cfg, check_seed),
            FAULTS => board_checks::faults(&model, &params, cfg, check_seed),
            RANDOM_INIT => match random_init(design, check, seed, opts) {
                Ok(()) => Ok(()),
                Err(v) => return v,
            },
            other => panic!("no board check {other}"),
        };
        if let Err(detail) = result {
            return Verdict::Killed {
                check: check.name.into(),
                detail: first_line(&detail),
            };
        }
    }
    Verdict::Survived
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

fn run_core(design: &Design, checks: &[Check], seed: u64, opts: &HarnessOptions) -> Verdict {
    let cfg = &design.config;
    let harness = match Harness::build_design(design, opts, &mut |_| {}) {
        Ok(h) => h,
        Err(e) => {
            return Verdict::Invalid {
                reason: first_line(&e.to_string()),
            }
        }
    };
    for (c, check) in checks.iter().enumerate() {
        if check.name == ICARUS || check.name == ICARUS_RESET1 {
            let reset = if check.name == ICARUS { 4 } else { 1 };
            if let Err(v) = icarus(design, seed, reset, check.name, &opts.cache_root) {
                return v;
            }
            continue;
        }
        if check.name == RANDOM_INIT {
            if let Err(v) = random_init(design, check, seed, opts) {
                return v;
            }
            continue;
        }
        let mut rng = SplitMix64::new(seed.wrapping_add(1000 * c as u64));
        for run in 0..check.runs {
            let program = random_program(
                cfg,
                &mut rng,
                &GenOptions {
                    matmuls: check.size as usize,
                    ..GenOptions::default()
                },
            );
            // With `gapless`, every other run also stalls.
            let mut stalls = if check.stalls && (!check.gapless || run % 2 == 1) {
                Stalls::random(seed ^ (u64::from(run) << 8) ^ c as u64)
            } else {
                Stalls::NONE
            };
            stalls.gapless_loads = check.gapless;
            match harness.run(&program, stalls, None) {
                Ok(out) if out.report.pass => {}
                Ok(out) => {
                    return Verdict::Killed {
                        check: check.name.into(),
                        detail: first_line(out.report.failure.as_deref().unwrap_or("failed")),
                    }
                }
                Err(e) => {
                    return Verdict::Killed {
                        check: check.name.into(),
                        detail: first_line(&format!("error: {e}")),
                    }
                }
            }
        }
    }
    Verdict::Survived
}

/// Run `hdl/tb_core.v` (from the source tree) on `design` with Icarus Verilog in a scratch
/// folder under `scratch`: `Err` with the verdict when it does not print `PASS`.
fn icarus(
    design: &Design,
    seed: u64,
    reset_cycles: i64,
    name: &str,
    scratch: &Path,
) -> Result<(), Verdict> {
    use std::process::Command;
    use std::time::Duration;
    let cfg = &design.config;
    let dir = scratch.join(format!("icarus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let io = |e: std::io::Error| Verdict::Invalid {
        reason: format!("icarus scratch: {e}"),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let mut files = vec![];
    for (name, text) in design.sim_files() {
        let path = dir.join(&name);
        std::fs::write(&path, text).map_err(io)?;
        if name.ends_with(".v") {
            files.push(path);
        }
    }
    let tb = Path::new(env!("CARGO_MANIFEST_DIR")).join("hdl/tb_core.v");
    let image = dir.join("tb.vvp");
    let mut cmd = Command::new("iverilog");
    cmd.args(["-g2005", "-s", "tb_core", "-o"]).arg(&image);
    let d = &cfg.derived;
    for (name, value) in [
        ("ROWS", i64::from(cfg.rows)),
        ("COLS", cfg.cols.into()),
        ("DATA_W", d.data_w.into()),
        ("SIGNED", i64::from(cfg.format.is_signed())),
        ("ACC_W", d.acc_w.into()),
        ("PSUM_BANKS", cfg.psum_banks.into()),
        ("PSUM_DEPTH", cfg.psum_depth.into()),
        ("SEED", (seed % 1000) as i64 + 1),
        ("RESET_CYCLES", reset_cycles),
    ] {
        cmd.arg(format!("-Ptb_core.{name}={value}"));
    }
    cmd.arg(&tb).args(&files);
    let result = (|| {
        let compile = crate::tools::run(&mut cmd, Duration::from_secs(120)).map_err(io)?;
        if !compile.success() {
            return Err(Verdict::Invalid {
                reason: first_line(&format!("iverilog: {}{}", compile.stdout, compile.stderr)),
            });
        }
        let run = crate::tools::run(
            Command::new("vvp").arg("-N").arg(&image),
            Duration::from_secs(300),
        )
        .map_err(io)?;
        let pass = run.stdout.lines().any(|l| l.trim().starts_with("PASS "));
        if pass && run.success() && !run.timed_out {
            return Ok(());
        }
        let why = run
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with("FAIL"))
            .map(str::to_string)
            .unwrap_or_else(|| {
                if run.timed_out {
                    "vvp timed out".into()
                } else {
                    format!("no PASS line (status {})", run.status)
                }
            });
        Err(Verdict::Killed {
            check: name.into(),
            detail: first_line(&why),
        })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_engine(design: &Design, checks: &[Check], seed: u64, opts: &HarnessOptions) -> Verdict {
    let cfg = design.config.clone();
    assert!(
        !cfg.format.is_float(),
        "engine campaigns use integer formats"
    );
    let bus = match AxiMaster::build_with(design, opts, &mut |_| {}) {
        Ok(b) => b,
        Err(e) => {
            return Verdict::Invalid {
                reason: first_line(&e.to_string()),
            }
        }
    };
    let mut rtl: RtlEngine = HostEngine::new(&cfg, bus);
    for (c, check) in checks.iter().enumerate() {
        let check_seed = seed.wrapping_add(1000 * c as u64);
        let mut rng = SplitMix64::new(check_seed);
        let other = match check.name {
            ERRORS => {
                rtl.reset();
                rtl.bus_mut().set_wait_states(0.0, 0);
                rtl.bus_mut().set_cycle_limit(20_000);
                Some(engine_checks::error_paths(&mut rtl, &cfg, check_seed))
            }
            MEM_GEMM | MEM_GEMM_LATENCY => Some((0..check.runs).try_for_each(|run| {
                rtl.bus_mut().set_wait_states(0.0, 0);
                engine_checks::memory_gemm(
                    &mut rtl,
                    &cfg,
                    check_seed.wrapping_add(u64::from(run)),
                    check.size,
                    check.stalls,
                )
            })),
            DMA_RANDOM => Some((0..check.runs).try_for_each(|run| {
                dma_random(
                    &mut rtl,
                    &cfg,
                    check_seed.wrapping_add(u64::from(run)),
                    check.size,
                )
            })),
            RANDOM_INIT => Some(match random_init(design, check, seed, opts) {
                Ok(()) => Ok(()),
                Err(v) => return v,
            }),
            _ => None,
        };
        match other {
            Some(Ok(())) => continue,
            Some(Err(detail)) => {
                return Verdict::Killed {
                    check: check.name.into(),
                    detail: first_line(&detail),
                }
            }
            None => {}
        }
        for run in 0..check.runs {
            let size = u64::from(check.size);
            let (m, k, n) = (
                1 + rng.below(size) as usize,
                1 + rng.below(size) as usize,
                1 + rng.below(size) as usize,
            );
            let a = random_matrix(&cfg, m, k, &mut rng);
            let b = random_matrix(&cfg, k, n, &mut rng);
            let gopts = GemmOptions {
                resident: Some(run % 2 == 0),
                ..GemmOptions::default()
            };
            let mut golden = GoldenEngine::new(&cfg);
            let want = match gemm(&mut golden, &a, &b, &gopts) {
                Ok(r) => r.c,
                Err(e) => panic!("the golden engine rejects {m}x{k}x{n}: {e}"),
            };
            rtl.reset();
            let waits = if check.stalls { 0.3 } else { 0.0 };
            rtl.bus_mut()
                .set_wait_states(waits, seed ^ (u64::from(run) << 8) ^ c as u64);
            rtl.bus_mut().set_cycle_limit(20_000);
            let what = format!("{m}x{k}x{n}");
            match gemm(&mut rtl, &a, &b, &gopts) {
                Ok(got) if got.c == want.clone() => {}
                Ok(got) => {
                    let (i, j) = (0..m)
                        .flat_map(|i| (0..n).map(move |j| (i, j)))
                        .find(|&(i, j)| got.c.get(i, j) != want.get(i, j))
                        .expect("a differing element");
                    return Verdict::Killed {
                        check: check.name.into(),
                        detail: format!(
                            "{what}: C[{i}][{j}] = {}, expected {}",
                            got.c.get(i, j),
                            want.get(i, j)
                        ),
                    };
                }
                Err(e) => {
                    return Verdict::Killed {
                        check: check.name.into(),
                        detail: first_line(&format!("{what}: error: {e}")),
                    }
                }
            }
        }
    }
    Verdict::Survived
}

/// One batch of [`DMA_RANDOM`]: `cases` random memory-path cases from `seed` on `rtl` (reset,
/// a fresh slave model drawn from the seed) against a fresh golden engine.
fn dma_random(rtl: &mut RtlEngine, cfg: &Config, seed: u64, cases: u32) -> Result<(), String> {
    use crate::cosim::dma_random::{random_slave, run_batch, Pair};
    use crate::engine::memory::SparseMemory;
    let mut rng = SplitMix64::new(seed);
    rtl.reset();
    rtl.bus_mut().set_wait_states(0.0, 0);
    // Every other batch with a slave that raises its readies only after their valids.
    let mut slave = random_slave(&mut rng, cfg.dma_bits);
    slave.ready_after_valid = seed.is_multiple_of(2);
    rtl.bus_mut()
        .attach_memory(slave, SparseMemory::new())
        .map_err(|e| format!("memory: {e}"))?;
    rtl.bus_mut().set_cycle_limit(200_000);
    let mut pair = Pair::new(rtl, cfg);
    run_batch(&mut pair, &mut rng, cases as usize, &mut |_| {})
        .map(|_| ())
        .map_err(|m| format!("seed {seed:#x}: {m}"))
}

/// `design` with every register starting from an arbitrary value: each `reg` (not a memory),
/// declared or an `output reg` port, in every module and generate block, gets an `initial`
/// assignment of a 64-bit constant drawn from `seed`, the module's and the register's name
/// (truncated to the register's width, zero-extended above 64 bits; the same in every instance
/// of a module). Verilator and Icarus honour `initial` blocks, so the simulation starts from
/// that state instead of zeros (`--x-initial fast`) or X; the design must still behave after
/// its reset. The `initial` lines are a simulation-only wrapper of this check, never part of
/// the generated Verilog (they are carried as a verbatim item of the typed description).
pub fn random_initial_state(design: &Design, seed: u64) -> Design {
    use crate::verilog::{Item, NetKind};
    fn walk(items: &mut Vec<Item>, module: &str, seed: u64) {
        let mut regs = vec![];
        for item in items.iter_mut() {
            match item {
                Item::Net(n) if n.kind == NetKind::Reg && n.depth.is_none() => {
                    regs.push(n.name.clone());
                }
                Item::For { items, .. } | Item::LintOff { items, .. } => walk(items, module, seed),
                Item::If {
                    then_items,
                    else_items,
                    ..
                } => {
                    walk(then_items, module, seed);
                    walk(else_items, module, seed);
                }
                _ => {}
            }
        }
        for r in regs {
            items.push(initial(module, &r, seed));
        }
    }
    fn initial(module: &str, reg: &str, seed: u64) -> Item {
        let value = SplitMix64::new(seed ^ fnv(module) ^ fnv(reg).rotate_left(17)).next_u64();
        Item::Initial {
            name: reg.to_string(),
            value,
        }
    }
    let mut d = design.clone();
    for m in &mut d.modules {
        let name = m.name.clone();
        walk(&mut m.items, &name, seed);
        let outs: Vec<String> = m
            .ports
            .iter()
            .filter(|p| p.reg)
            .map(|p| p.name.clone())
            .collect();
        for r in outs {
            m.items.push(initial(&name, &r, seed));
        }
    }
    d
}

/// The check that starts every register from [`random_initial_state`] (two states from the
/// seed, each through the level's first checks: short programs with and without stalls; the
/// engine's `gemm-short` and, with `dma`, `mem-gemm`).
pub const RANDOM_INIT: &str = "random-init";

fn random_init_check() -> Check {
    Check {
        name: RANDOM_INIT,
        runs: 2,
        size: 0,
        stalls: false,
        gapless: false,
    }
}

/// [`RANDOM_INIT`] on `design`: `Ok` or the verdict.
fn random_init(
    design: &Design,
    check: &Check,
    seed: u64,
    opts: &HarnessOptions,
) -> Result<(), Verdict> {
    let sub: Vec<Check> = match design.level {
        Level::Core => core_checks().into_iter().take(2).collect(),
        Level::Board => board_checks().into_iter().take(2).collect(),
        _ => engine_checks(design.config.dma)
            .into_iter()
            .filter(|c| c.name == "gemm-short" || c.name == MEM_GEMM)
            .collect(),
    };
    for run in 0..u64::from(check.runs) {
        let state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(run);
        let d = random_initial_state(design, state);
        let v = match design.level {
            Level::Core => run_core(&d, &sub, seed, opts),
            Level::Board => run_board(&d, &sub, seed, opts),
            _ => run_engine(&d, &sub, seed, opts),
        };
        match v {
            Verdict::Survived => {}
            Verdict::Killed { check: c, detail } => {
                return Err(Verdict::Killed {
                    check: RANDOM_INIT.into(),
                    detail: first_line(&format!("state {run}, {c}: {detail}")),
                })
            }
            Verdict::Invalid { reason } => {
                return Err(Verdict::Invalid {
                    reason: first_line(&format!("{RANDOM_INIT}: {reason}")),
                })
            }
        }
    }
    Ok(())
}

/// The design of `cfg` at `level` (core, engine, or board with
/// [`board_checks::campaign_params`]).
pub fn design(cfg: &Config, level: Level) -> Design {
    match level {
        Level::Core => crate::rtl::core::design(cfg),
        Level::Board => crate::rtl::board::design(cfg, &board_checks::campaign_params()),
        _ => crate::rtl::engine::design(cfg),
    }
}

/// Run the checks on the unmodified design: they must all pass, or no kill means anything.
pub fn baseline(design: &Design, seed: u64, cache_root: &Path) -> Verdict {
    run_checks(design, &checks(design), seed, cache_root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Overrides};

    #[test]
    fn random_initial_state_sets_every_register_and_depends_on_the_seed() {
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        let cfg = Config::from_preset(&seeds, "int8-4x4", &Overrides::default()).expect("preset");
        let d = design(&cfg, Level::Core);
        let a = random_initial_state(&d, 1);
        let b = random_initial_state(&d, 2);
        let text = |d: &Design| -> String {
            d.sim_files()
                .into_iter()
                .map(|(_, t)| t)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let (ta, tb) = (text(&a), text(&b));
        assert_ne!(ta, tb, "the seed draws the values");
        assert_eq!(ta, text(&random_initial_state(&d, 1)), "deterministic");
        // Every reg of the PSUM (declared, in generate blocks, output ports) has its initial.
        let psum = a
            .modules
            .iter()
            .find(|m| m.name == "systolic_psum")
            .unwrap();
        let printed = crate::verilog::print_module(&[], psum);
        let plain = crate::verilog::print_module(
            &[],
            d.modules
                .iter()
                .find(|m| m.name == "systolic_psum")
                .unwrap(),
        );
        let regs: Vec<String> = plain
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let rest = l
                    .strip_prefix("reg ")
                    .or_else(|| l.strip_prefix("output reg "))?;
                // The declaration before its `;`, `,` or comment; not a memory.
                let decl = rest.split([';', ',', '/']).next()?;
                let name = decl.split_whitespace().last()?;
                (!decl.contains("[0:")).then(|| name.to_string())
            })
            .collect();
        assert!(regs.len() >= 5, "{regs:?}");
        for r in regs {
            assert!(
                printed.contains(&format!("initial {r} = 64'h")),
                "{r} has no initial value:\n{printed}"
            );
        }
    }
}
