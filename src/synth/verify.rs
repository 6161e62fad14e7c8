//! Post-synthesis co-simulation: the netlist Yosys wrote (`netlist.v`), with simulation models
//! of the FPGA cells, built by Verilator exactly like the RTL and run against the golden model
//! on random programs (with and without random stalls, cycle count against the timing model).
//! Synthesis cannot then change behaviour silently (a DSP mapping that is wrong, a memory read
//! with other timing, a Booth multiplier with a bug).
//!
//! Cell models: Yosys' own (`share/ice40/cells_sim.v`; `share/lattice/cells_sim_ecp5.v` and
//! the files it includes) from the Yosys the flow ran, plus `hdl/sim/ecp5_cells.v` for the ECP5
//! DSP block and block RAM, which Yosys ships as black boxes only ([`super::cell_models`]), and
//! `hdl/sim/pll_cells.v` for the PLLs of both families (black boxes too; cycles, not frequency:
//! the output clock is the reference clock, see the file). Those two
//! models cover the configurations Yosys' mapping gives the core (a combinational 18x18
//! multiply; a 36-bit simple dual-port memory) and refuse to elaborate any other, so a netlist
//! that uses them differently fails to build instead of simulating a different block.
//!
//! A netlist that contains the core module `systolic_top` (out of context, or inside the
//! pin-limited harness) is checked this way ([`verify`]). A board top's netlist is checked
//! through its UART pins instead ([`verify_board`]): the host's own link code talks to it bit
//! by bit, checks its ID and VERSION, and runs products of random values (the first across a
//! tile boundary in M and K) that must equal the golden engine's, element for element.

use std::path::Path;

use crate::config::Config;
use crate::cosim::board::SimBoard;
use crate::cosim::{Harness, Stalls};
use crate::engine::gemm::{gemm, GemmOptions, Matrix};
use crate::engine::golden::GoldenEngine;
use crate::program::{random_program, GenOptions, SplitMix64};
use crate::rtl::core::TOP;
use crate::uart::engine::UartEngine;

use super::board::Family;
use super::flow::{Check, Placement, Plan};
use super::SynthError;

use super::cell_models::netlist_sources;
pub use super::cell_models::{cell_models, CellModels, Verification};

/// The netlist an earlier flow left in `run_dir` (`netlist.v`), if that run was of `cfg`: its
/// generated RTL (`rtl/systolic_top.v`) must carry `cfg`'s hash in its header, so a folder of
/// another design (or a run stopped before Yosys wrote the netlist) is an error, not a check of
/// the wrong thing. Returns the netlist's name inside `run_dir`.
pub fn existing_netlist(cfg: &Config, run_dir: &Path) -> Result<String, SynthError> {
    let top_rtl = run_dir.join(super::flow::RTL).join(format!("{TOP}.v"));
    let netlist = run_dir.join(super::flow::NETLIST_V);
    let missing = |path: &Path| SynthError::Io {
        what: format!("reading {}", path.display()),
        message: format!(
            "not found: run `systolic synth` with the same design and --out {} first",
            run_dir.display()
        ),
    };
    let rtl = std::fs::read_to_string(&top_rtl).map_err(|_| missing(&top_rtl))?;
    let expected = cfg.hash();
    let found = crate::rtl::design::header_hash(&rtl);
    if found != Some(expected.as_str()) {
        return Err(SynthError::OtherDesign {
            dir: run_dir.to_path_buf(),
            found: found.unwrap_or("none").to_string(),
            expected,
        });
    }
    if !netlist.is_file() {
        return Err(missing(&netlist));
    }
    Ok(super::flow::NETLIST_V.to_string())
}

/// The netlist an earlier run of `plan` left in its run folder: [`existing_netlist`] of its
/// configuration and, when the plan places the board top, that run's `rtl/systolic_board.v`
/// must be the one `plan` generates (the same board, baud rate and clock: the `CLKS_PER_BIT`
/// the netlist's UART was built with), else [`SynthError::OtherBoardTop`]. Returns the
/// netlist's name inside the run folder.
pub fn existing_plan_netlist(plan: &Plan) -> Result<String, SynthError> {
    let dir = &plan.options.run_dir;
    let netlist = existing_netlist(plan.config(), dir)?;
    if plan.placement.board_params().is_none() {
        return Ok(netlist);
    }
    let name = format!("{}.v", crate::rtl::board::BOARD_TOP);
    let path = dir.join(super::flow::RTL).join(&name);
    let found = std::fs::read_to_string(&path).map_err(|_| SynthError::Io {
        what: format!("reading {}", path.display()),
        message: "not found: that run placed no board top (it ran with --ooc or --top harness)"
            .into(),
    })?;
    let (_, expected) = plan
        .design
        .files()
        .into_iter()
        .find(|(n, _)| *n == name)
        .expect("a board top's design has its top file");
    match first_difference(&found, &expected) {
        None => Ok(netlist),
        Some((found, expected)) => Err(SynthError::OtherBoardTop {
            dir: dir.clone(),
            file: format!("{}/{name}", super::flow::RTL),
            found,
            expected,
        }),
    }
}

/// The first line where `found` and `expected` differ, trimmed, as `(found, expected)` (an
/// absent line is "end of file").
fn first_difference(found: &str, expected: &str) -> Option<(String, String)> {
    let (mut f, mut e) = (found.lines(), expected.lines());
    loop {
        match (f.next(), e.next()) {
            (None, None) => return None,
            (a, b) if a != b => {
                let text = |l: Option<&str>| l.map_or("end of file".into(), |l| l.trim().into());
                return Some((text(a), text(b)));
            }
            _ => {}
        }
    }
}

/// Co-simulate `run_dir/netlist` (written by the flow for `cfg` on a `family` device) against
/// the golden model: `programs` random programs from `seed`, each without and with random
/// stalls. `progress` receives one line per step.
pub fn verify(
    cfg: &Config,
    family: Family,
    run_dir: &Path,
    netlist: &str,
    programs: usize,
    seed: u64,
    progress: &mut dyn FnMut(&str),
) -> Result<Verification, SynthError> {
    let (CellModels { files, models, .. }, opts) = netlist_sources(
        family,
        &run_dir.join(netlist),
        TOP,
        "the core's check needs it (out of context or in the harness; a board top is checked \
         through its UART pins)",
    )?;
    progress("verify: building the netlist with Verilator");

    let harness = Harness::build_files(cfg, &files, &opts, progress).map_err(|e| {
        SynthError::Unsupported(format!("the netlist does not build in Verilator: {e}"))
    })?;
    let mut v = Verification {
        pass: true,
        through: "core",
        programs,
        seed,
        reads: 0,
        cycles: 0,
        models,
        failure: None,
        build_seconds: harness.build_seconds,
    };
    for i in 0..programs {
        let s = seed.wrapping_add(i as u64);
        let program = random_program(cfg, &mut SplitMix64::new(s), &GenOptions::default());
        for stalls in [Stalls::NONE, Stalls::random(s)] {
            progress(&format!(
                "verify: program {} of {programs} (seed {s}){}",
                i + 1,
                if stalls.any() { ", random stalls" } else { "" }
            ));
            let out = harness
                .run(&program, stalls, None)
                .map_err(|e| SynthError::Unsupported(format!("post-synthesis simulation: {e}")))?;
            v.reads += out.expected.len();
            v.cycles += out.report.cycles;
            if !out.report.pass {
                v.pass = false;
                v.failure = Some(format!("seed {s}: {}", out.report.summary()));
                return Ok(v);
            }
        }
    }
    Ok(v)
}

/// Co-simulate the netlist `netlist` (in the run folder) of the flow `plan` ran, as the plan
/// says ([`Plan::check`](super::flow::Plan)): the core's on random programs ([`verify`]), the
/// board top's through its UART pins ([`verify_board`]), the engine's through its AXI ports
/// ([`super::verify_engine::verify_engine`]). `count` programs or products from
/// `seed`; `progress` receives one line per step.
pub fn check(
    plan: &Plan,
    netlist: &str,
    count: usize,
    seed: u64,
    progress: &mut dyn FnMut(&str),
) -> Result<Verification, SynthError> {
    match plan.check {
        Check::Core => verify(
            plan.config(),
            plan.family(),
            &plan.options.run_dir,
            netlist,
            count,
            seed,
            progress,
        ),
        Check::Uart => verify_board(plan, netlist, count, seed, progress),
        Check::Engine => super::verify_engine::verify_engine(
            &plan.design,
            plan.family(),
            &plan.options.run_dir.join(netlist),
            count,
            seed,
            progress,
        ),
    }
}

/// Co-simulate the board top's netlist `netlist` (in the run folder; the output of the flow
/// `plan`) through its UART pins: the design is built at the baud rate and clock it was
/// synthesised for (its `CLKS_PER_BIT`), connected to the host's link code (which checks its ID
/// and VERSION against the configuration), and runs `products` products `C = A x B` of random
/// values from `seed`, compared with the golden engine's: the first `(cols + 1) x (rows + 1)`
/// times `(rows + 1) x 8` (a tile boundary crossed in M and K), the others of random shapes (M
/// and K up to two tiles, N up to 8). `progress` receives one line per step.
pub fn verify_board(
    plan: &Plan,
    netlist: &str,
    products: usize,
    seed: u64,
    progress: &mut dyn FnMut(&str),
) -> Result<Verification, SynthError> {
    let cfg = plan.config();
    let (board, models) = board_netlist(plan, netlist, &mut |l| progress(&format!("verify: {l}")))?;
    let build_seconds = board.build_seconds;
    let mut v = Verification {
        pass: true,
        through: "uart",
        programs: products,
        seed,
        reads: 0,
        cycles: 0,
        models,
        failure: None,
        build_seconds,
    };
    progress("verify: connecting through the UART (ID and VERSION)");
    let mut engine = match UartEngine::connect(board, cfg, Default::default()) {
        Ok(e) => e,
        Err(err) => {
            v.pass = false;
            v.failure = Some(format!("the netlist does not answer as this design: {err}"));
            return Ok(v);
        }
    };
    let mut rng = SplitMix64::new(seed);
    for i in 0..products {
        let (a, b) = random_operands(cfg, i, &mut rng);
        progress(&format!(
            "verify: product {} of {products}: ({} x {}) x ({} x {}) through the UART",
            i + 1,
            a.rows,
            a.cols,
            b.rows,
            b.cols
        ));
        if let Some(failure) = compare_product(cfg, &mut engine, &a, &b, i, seed, &mut v)? {
            v.pass = false;
            v.failure = Some(failure);
            return Ok(v);
        }
    }
    Ok(v)
}

/// The board top's netlist `netlist` (in the run folder of the flow `plan`) as a simulated
/// board: the family's cell models and the netlist built by Verilator, its UART pins driven at
/// the `CLKS_PER_BIT` it was synthesised with. Also the models used, for reports. `progress`
/// receives one line per step. Used by [`verify_board`] and by `systolic infer --netlist`.
pub fn board_netlist(
    plan: &Plan,
    netlist: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<(SimBoard, Vec<String>), SynthError> {
    let Placement::BoardTop(params) = &plan.placement else {
        return Err(SynthError::Unsupported(format!(
            "the board top's netlist of a flow that places the {} level",
            plan.placement.level().name()
        )));
    };
    let (CellModels { files, models, .. }, hopts) = netlist_sources(
        plan.family(),
        &plan.options.run_dir.join(netlist),
        crate::rtl::board::BOARD_TOP,
        "the board top's simulation needs it (a core's netlist is checked with --ooc or --top \
         harness)",
    )?;
    progress(&format!(
        "building the board netlist with Verilator (UART at {} clock cycles per bit)",
        params.clks_per_bit
    ));
    let board = SimBoard::build_files(
        &format!("board-netlist-{}", plan.config().tag()),
        &files,
        &plan.design,
        params,
        &hopts,
    )
    .map_err(|e| sim_err("the netlist does not build in Verilator", &e))?;
    Ok((board, models))
}

/// The operands of the board check's product `i`: the first crosses a tile boundary in M and
/// K (two stationaries, an accumulation over K); the others take M and K up to two tiles, N up
/// to 8. Random values of the configuration's format.
fn random_operands(cfg: &Config, i: usize, rng: &mut SplitMix64) -> (Matrix, Matrix) {
    let value = |rng: &mut SplitMix64| -> i64 {
        match cfg.format.float() {
            Some(fp) => i64::from(crate::program::float_value(fp, rng, 0.0)),
            None => rng.range_i64(cfg.format.min_value(), cfg.format.max_value()),
        }
    };
    let dim = |rng: &mut SplitMix64, max: u32| rng.range_i64(1, i64::from(max)) as usize;
    let (m, k, n) = if i == 0 {
        (cfg.cols as usize + 1, cfg.rows as usize + 1, 8)
    } else {
        (dim(rng, 2 * cfg.cols), dim(rng, 2 * cfg.rows), dim(rng, 8))
    };
    let a = Matrix::from_fn(m, k, |_, _| value(rng));
    let b = Matrix::from_fn(k, n, |_, _| value(rng));
    (a, b)
}

/// `a x b` on the netlist `engine` against the golden engine: the failure, if any (a link
/// error, or the first element that differs); the elements compared and the host's cycles are
/// counted in `v`.
fn compare_product(
    cfg: &Config,
    engine: &mut UartEngine<SimBoard>,
    a: &Matrix,
    b: &Matrix,
    i: usize,
    seed: u64,
    v: &mut Verification,
) -> Result<Option<String>, SynthError> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let want = gemm(&mut GoldenEngine::new(cfg), a, b, &GemmOptions::default())
        .map_err(|e| sim_err("the golden engine", &e))?;
    let got = match gemm(engine, a, b, &GemmOptions::default()) {
        Ok(got) => got,
        Err(err) => return Ok(Some(format!("product {} ({m} x {k} x {n}): {err}", i + 1))),
    };
    v.reads += got.c.data.len();
    v.cycles = crate::engine::Engine::host_cycles(engine);
    Ok((0..got.c.data.len())
        .find(|&j| got.c.data[j] != want.c.data[j])
        .map(|at| {
            format!(
                "product {} ({m} x {k} x {n}, seed {seed}): C[{}][{}] = {} from the netlist, {} \
                 from the golden engine (first difference in row-major order)",
                i + 1,
                at / n,
                at % n,
                got.c.data[at],
                want.c.data[at]
            )
        }))
}

/// A failure of the board check's simulation itself (not a wrong result).
fn sim_err(what: &str, e: &dyn std::fmt::Display) -> SynthError {
    SynthError::Unsupported(format!(
        "post-synthesis simulation of the board top: {what}: {e}"
    ))
}
