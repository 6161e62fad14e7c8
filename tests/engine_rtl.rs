//! The engine around the core (`systolic_engine`: AXI4-Lite slave, SBUF, sequencer, core),
//! driven purely over AXI4-Lite from Rust through Verilator ([`systolic::cosim::engine::RtlEngine`]).
//!
//! - `registers_doc_is_current` (no tool): `docs/registers.md` equals `regs::markdown()`.
//! - `engine_lint_is_clean`: `verilator --lint-only -Wall` prints nothing for 3x5, 4x4, 8x8 and
//!   edge engines (1x1 uint16 with 64-bit accumulators, 2x9 int4 with one bank), and for
//!   engines with the memory path (every AXI4 width, int8, uint8, bf16, fp8).
//! - `engine_iverilog_and_yosys`: `iverilog -g2005 -Wall` compiles with empty output; Yosys 0.23
//!   `hierarchy -check` + `proc` + `memory -nomap` elaborate it with no warning, and the SBUF
//!   and instruction queue are inferred as memories (counted with `stat`).
//! - Programs on 3x5 and 4x4 engines against plain Rust expectations computed here.
//! - Back-to-back MULTIPLY_MOVINGs measured with the CYCLES register.
//! - Every error path, each followed by CLEAR_ERROR and a correct program.
//! - Random wait states on every AXI channel.
//!
//! Each tool test fails (does not skip) when `CI` is set and the tool is missing.

mod common;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use systolic::config::{Config, RawConfig, SbufLayout};
use systolic::cosim::engine::RtlEngine;
use systolic::cosim::engine_checks;
use systolic::cosim::HarnessOptions;
use systolic::engine::Engine;
use systolic::files::write_atomically;
use systolic::format::mask;
use systolic::isa::{ErrorCode, Instr};
use systolic::program::SplitMix64;
use systolic::regs::{self, RESP_OKAY, RESP_SLVERR};
use systolic::rtl::engine::{design, ENGINE_TOP};
use systolic::tools;

use common::require_tool;

const TOOL_LIMIT: Duration = Duration::from_secs(600);

fn config(
    rows: u32,
    cols: u32,
    format: &str,
    acc: u32,
    banks: u32,
    depth: u32,
    sbuf: u32,
) -> Config {
    Config::from_raw(&RawConfig {
        name: format!("eng{rows}x{cols}-{format}-a{acc}-b{banks}-d{depth}-s{sbuf}"),
        rows,
        cols,
        format: format.into(),
        acc_bits: acc,
        psum_banks: banks,
        psum_depth: depth,
        sbuf_depth: sbuf,
        ..Default::default()
    })
    .expect("valid test config")
}

/// `cfg` with the packed SBUF (one memory per read port, a bus word stored one entry per cycle).
fn packed(cfg: Config) -> Config {
    let mut raw = cfg.to_raw();
    raw.sbuf_layout = SbufLayout::Packed;
    raw.name.push_str("-packed");
    Config::from_raw(&raw).expect("valid packed config")
}

fn scratch(tag: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("engine_rtl");
    common::fresh_dir(&base, tag).expect("scratch dir")
}

/// Write the engine design of `cfg` into a fresh directory; the file list in order.
fn write_engine(cfg: &Config, tag: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = scratch(tag);
    let mut files = vec![];
    for (name, text) in design(cfg).files() {
        let path = dir.join(&name);
        write_atomically(&path, text.as_bytes()).expect("write");
        files.push(path);
    }
    (dir, files)
}

fn lint_configs() -> Vec<Config> {
    vec![
        config(3, 5, "int8", 32, 2, 64, 64),
        config(4, 4, "int8", 32, 2, 64, 1024),
        config(8, 8, "int8", 32, 2, 64, 256),
        config(1, 1, "uint16", 64, 3, 2, 16),
        config(2, 9, "int4", 8, 1, 4096, 65536),
        config(5, 2, "int12", 40, 64, 16, 32),
        packed(config(3, 5, "int8", 32, 2, 64, 64)),
        packed(config(2, 9, "int4", 8, 1, 4096, 65536)),
        packed(config(5, 2, "int12", 40, 64, 16, 32)),
        packed(config(1, 1, "uint16", 64, 3, 2, 16)),
    ]
}

/// `cfg` with the memory path (`dma = true`) on an AXI4 bus of `bits` with `reads` read bursts
/// outstanding.
fn with_dma(cfg: Config, bits: u32, reads: u32) -> Config {
    let mut raw = cfg.to_raw();
    raw.dma = true;
    raw.dma_bits = Some(bits);
    raw.dma_reads = Some(reads);
    raw.name.push_str(&format!("-dma{bits}r{reads}"));
    Config::from_raw(&raw).expect("valid dma config")
}

/// Engines with the memory path (the DMA, the instruction fetch, the dispatcher and, for 8-bit
/// integer formats, the write-back unit), every bus width.
fn dma_lint_configs() -> Vec<Config> {
    vec![
        with_dma(config(6, 4, "int8", 32, 2, 16, 512), 64, 4),
        with_dma(config(3, 5, "int8", 32, 2, 64, 64), 128, 8),
        with_dma(config(8, 8, "uint8", 32, 4, 32, 256), 32, 1),
        with_dma(config(2, 2, "int8", 32, 1, 4, 16), 512, 64),
        with_dma(config(4, 4, "bf16", 32, 2, 16, 64), 256, 2),
        with_dma(config(4, 6, "fp8e4m3", 32, 2, 16, 64), 64, 4),
        // The other PSUM shapes behind the memory path's read port and mm_done: read-ahead 1
        // and 2, the split accumulate, the pipelined fp32 adder (the ECP5 block RAMs, which need
        // the primitives' models: tests/lint.rs `memory_path_cores_are_clean`).
        with_dma(
            with_psum(config(4, 4, "int8", 32, 2, 16, 64), 2, false),
            64,
            4,
        ),
        with_dma(
            with_psum(config(4, 4, "int8", 32, 2, 16, 64), 3, true),
            64,
            4,
        ),
        with_dma(
            with_psum(config(4, 4, "bf16", 32, 2, 16, 64), 3, false),
            64,
            4,
        ),
    ]
}

/// `cfg` with `pe_latency` and the split PSUM accumulate.
fn with_psum(cfg: Config, pe_latency: u32, split: bool) -> Config {
    let mut raw = cfg.to_raw();
    raw.pe_latency = pe_latency;
    raw.psum_split = split;
    raw.name.push_str(&format!(
        "-pl{pe_latency}{}",
        if split { "-split" } else { "" }
    ));
    Config::from_raw(&raw).expect("valid psum config")
}

#[test]
fn registers_doc_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/registers.md");
    let want = systolic::regs::markdown();
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        if std::env::var_os("SYSTOLIC_BLESS").is_some() {
            std::fs::write(&path, &want).expect("write docs/registers.md");
            return;
        }
        panic!(
            "docs/registers.md is stale: regenerate it with `SYSTOLIC_BLESS=1 cargo test --test engine_rtl registers_doc_is_current`"
        );
    }
}

#[test]
fn engine_lint_is_clean() {
    if !require_tool("verilator", "engine_lint_is_clean") {
        return;
    }
    for cfg in lint_configs().into_iter().chain(dma_lint_configs()) {
        let (_dir, files) = write_engine(&cfg, "lint");
        let run = tools::run(
            Command::new("verilator")
                .args(["--lint-only", "-Wall", "--top-module", ENGINE_TOP])
                .args(&files),
            TOOL_LIMIT,
        )
        .expect("run verilator");
        assert!(
            run.success() && run.stdout.trim().is_empty() && run.stderr.trim().is_empty(),
            "{}: lint is not clean\n{}",
            cfg.name,
            run.output()
        );
    }
}

/// The engines with the memory path elaborate in Icarus (`-g2005 -Wall`, empty output) and in
/// Yosys (`hierarchy -check`, `proc`, `check -assert`, no warning).
#[test]
fn dma_engine_iverilog_and_yosys() {
    let have_iverilog = require_tool("iverilog", "dma_engine_iverilog_and_yosys");
    let have_yosys = require_tool("yosys", "dma_engine_iverilog_and_yosys");
    for cfg in dma_lint_configs() {
        let (dir, files) = write_engine(&cfg, "dma-elab");
        if have_iverilog {
            let run = tools::run(
                Command::new("iverilog")
                    .args(["-g2005", "-Wall", "-s", ENGINE_TOP, "-o"])
                    .arg(dir.join("engine.vvp"))
                    .args(&files),
                TOOL_LIMIT,
            )
            .expect("run iverilog");
            assert!(
                run.success() && run.stdout.trim().is_empty() && run.stderr.trim().is_empty(),
                "{}: iverilog\n{}",
                cfg.name,
                run.output()
            );
        }
        if have_yosys {
            let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            let script = format!(
                "read_verilog -defer -noautowire {}\nhierarchy -check -top {ENGINE_TOP}\nproc\nopt_clean\ncheck -assert\n",
                list.join(" ")
            );
            let script_path = dir.join("elab.ys");
            std::fs::write(&script_path, script).expect("write script");
            let run = tools::run(
                Command::new("yosys")
                    .args(["-q", "-l"])
                    .arg(dir.join("yosys.log"))
                    .arg("-s")
                    .arg(&script_path),
                TOOL_LIMIT,
            )
            .expect("run yosys");
            let log = std::fs::read_to_string(dir.join("yosys.log")).unwrap_or_default();
            assert!(
                run.success()
                    && !log
                        .lines()
                        .any(|l| l.starts_with("Warning:") || l.contains("ERROR")),
                "{}: yosys\n{}\n{log}",
                cfg.name,
                run.output()
            );
        }
    }
}

#[test]
fn engine_iverilog_and_yosys() {
    let have_iverilog = require_tool("iverilog", "engine_iverilog_and_yosys");
    let have_yosys = require_tool("yosys", "engine_iverilog_and_yosys");
    for cfg in lint_configs() {
        let (dir, files) = write_engine(&cfg, "elab");
        if have_iverilog {
            let run = tools::run(
                Command::new("iverilog")
                    .args(["-g2005", "-Wall", "-s", ENGINE_TOP, "-o"])
                    .arg(dir.join("engine.vvp"))
                    .args(&files),
                TOOL_LIMIT,
            )
            .expect("run iverilog");
            assert!(
                run.success() && run.stdout.trim().is_empty() && run.stderr.trim().is_empty(),
                "{}: iverilog\n{}",
                cfg.name,
                run.output()
            );
        }
        if have_yosys {
            let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            let script = format!(
                "read_verilog -defer -noautowire {}\nhierarchy -check -top {ENGINE_TOP}\nproc\nopt_clean\ntee -q -o {} stat -width\nmemory -nomap\nopt_clean\ntee -q -o {} stat -width\ncheck -assert\n",
                list.join(" "),
                dir.join("stat_proc.txt").display(),
                dir.join("stat_mem.txt").display()
            );
            let script_path = dir.join("elab.ys");
            std::fs::write(&script_path, script).expect("write script");
            let run = tools::run(
                Command::new("yosys")
                    .args(["-q", "-l"])
                    .arg(dir.join("yosys.log"))
                    .arg("-s")
                    .arg(&script_path),
                TOOL_LIMIT,
            )
            .expect("run yosys");
            let log = std::fs::read_to_string(dir.join("yosys.log")).unwrap_or_default();
            assert!(
                run.success(),
                "{}: yosys\n{}\n{log}",
                cfg.name,
                run.output()
            );
            assert!(
                !log.lines()
                    .any(|l| l.starts_with("Warning:") || l.contains("ERROR")),
                "{}: yosys warnings\n{log}",
                cfg.name
            );
            // The SBUF: LANES memories per partition and read port (partitioned) or one per read
            // port (packed); the queue: one memory.
            let lanes = if cfg.derived.data_w <= 8 { 4 } else { 2 };
            let sbuf_mems = match cfg.sbuf_layout {
                SbufLayout::Partitioned => lanes * (cfg.rows + cfg.cols),
                SbufLayout::Packed => 2,
            };
            let sbuf_bits = u64::from(cfg.sbuf_depth)
                * u64::from(cfg.derived.data_w)
                * u64::from(cfg.rows + cfg.cols);
            let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
            let stat = sbuf_stat(&read("stat_proc.txt"), &read("stat_mem.txt"));
            assert_eq!(
                stat.sbuf_mems, sbuf_mems,
                "{}: SBUF memories\n{log}",
                cfg.name
            );
            assert_eq!(stat.sbuf_bits, sbuf_bits, "{}: SBUF memory bits", cfg.name);
            assert_eq!(stat.queue_bits, 16 * 64, "{}: queue memory bits", cfg.name);
        }
    }
}

#[derive(Debug, Default)]
struct MemStat {
    sbuf_mems: u32,
    sbuf_bits: u64,
    queue_bits: u64,
}

/// Memory bits (after `proc`) and `$mem_v2` cells (after `memory -nomap`) of the SBUF and the
/// sequencer, from two `stat -width` reports.
fn sbuf_stat(after_proc: &str, after_memory: &str) -> MemStat {
    let mut s = MemStat::default();
    let sections = |text: &str| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = vec![];
        for line in text.lines() {
            let t = line.trim();
            if let Some(name) = t.strip_prefix("=== ").and_then(|r| r.strip_suffix(" ===")) {
                out.push((name.to_string(), String::new()));
            } else if let Some(last) = out.last_mut() {
                last.1.push_str(t);
                last.1.push('\n');
            }
        }
        out
    };
    let number = |body: &str, key: &str| -> u64 {
        body.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.trim().parse().ok()))
            .unwrap_or(0)
    };
    for (name, body) in sections(after_proc) {
        if name.ends_with("systolic_sbuf") {
            s.sbuf_bits += number(&body, "Number of memory bits:");
        }
        if name.ends_with("systolic_sequencer") {
            s.queue_bits += number(&body, "Number of memory bits:");
        }
    }
    for (name, body) in sections(after_memory) {
        if name.ends_with("systolic_sbuf") {
            s.sbuf_mems += number(&body, "$mem_v2") as u32;
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// The expectation: the ISA semantics in plain Rust (docs/isa.md, src/engine/mod.rs), written
// here from the definition, not from the RTL.
// ---------------------------------------------------------------------------------------------

/// A stationary: `rows[k'][m']`, `rows` rows (all of the array), `m` columns written.
#[derive(Clone)]
struct Stationary {
    w: Vec<Vec<i64>>,
    m: u32,
}

struct Expect {
    cfg: Config,
    sbuf: Vec<Vec<i64>>,
    pending: VecDeque<Stationary>,
    active: Option<Stationary>,
    /// PSUM bit patterns, `None` = never written.
    psum: HashMap<(u32, u32), Vec<Option<u64>>>,
    macs: u64,
    retired: u64,
}

impl Expect {
    fn new(cfg: &Config) -> Expect {
        let parts = cfg.rows.max(cfg.cols) as usize;
        Expect {
            cfg: cfg.clone(),
            sbuf: vec![vec![0; cfg.sbuf_depth as usize]; parts],
            pending: VecDeque::new(),
            active: None,
            psum: HashMap::new(),
            macs: 0,
            retired: 0,
        }
    }

    fn write_sbuf(&mut self, p: u32, e: u32, values: &[i64]) {
        self.sbuf[p as usize][e as usize..e as usize + values.len()].copy_from_slice(values);
    }

    fn entry(&mut self, bank: u32, addr: u32) -> &mut Vec<Option<u64>> {
        let cols = self.cfg.cols as usize;
        self.psum
            .entry((bank, addr))
            .or_insert_with(|| vec![None; cols])
    }

    /// Execute one valid instruction.
    fn exec(&mut self, i: Instr) {
        let (rows, cols) = (self.cfg.rows, self.cfg.cols);
        self.retired += 1;
        match i {
            Instr::LoadStationary { addr, k, m } => {
                // stationary[k'][m'] = SBUF[partition m'][addr + k'] (stored transposed).
                let w = (0..rows)
                    .map(|kk| {
                        (0..cols)
                            .map(|mm| {
                                if kk < k && mm < m {
                                    self.sbuf[mm as usize][(addr + kk) as usize]
                                } else {
                                    0
                                }
                            })
                            .collect()
                    })
                    .collect();
                self.pending.push_back(Stationary { w, m });
            }
            Instr::MultiplyMoving {
                addr,
                k,
                n,
                bank,
                offset,
                acc,
                swap,
            } => {
                if swap {
                    self.active = Some(self.pending.pop_front().expect("a pending load"));
                }
                let st = self.active.clone().expect("a stationary in use");
                let acc_bits = self.cfg.acc_bits;
                for nn in 0..n {
                    for mm in 0..st.m {
                        let mut sum: i128 = 0;
                        for kk in 0..k {
                            let x = self.sbuf[kk as usize][(addr + nn) as usize];
                            sum += i128::from(st.w[kk as usize][mm as usize]) * i128::from(x);
                        }
                        let e = self.entry(bank, offset + nn);
                        let old = if acc {
                            e[mm as usize].expect("accumulate into a written entry")
                        } else {
                            0
                        };
                        e[mm as usize] = Some(old.wrapping_add(sum as u64) & mask(acc_bits));
                    }
                }
                self.macs += u64::from(k) * u64::from(st.m) * u64::from(n);
            }
            Instr::Fence => {}
            other => panic!("this reference models the tensor engine only, not {other}"),
        }
    }

    /// CLEAR_ERROR: the loads waiting behind the one streamed into the core are dropped.
    fn clear_error(&mut self) {
        self.pending.truncate(1);
    }

    fn m_in_use(&self) -> Option<u32> {
        self.active.as_ref().map(|s| s.m)
    }
}

fn build(cfg: &Config, test: &str) -> Option<RtlEngine> {
    if !require_tool("verilator", test) {
        return None;
    }
    let start = Instant::now();
    let e = RtlEngine::build(cfg, &HarnessOptions::default())
        .unwrap_or_else(|err| panic!("{}: build: {err}", cfg.name));
    eprintln!(
        "{test}: {} engine ready in {:.1} s{}",
        cfg.name,
        start.elapsed().as_secs_f64(),
        if e.bus().build_seconds.is_some() {
            " (built)"
        } else {
            " (cached)"
        }
    );
    Some(e)
}

/// Random SBUF contents, written to both the engine and the expectation.
fn fill_sbuf(e: &mut RtlEngine, x: &mut Expect, rng: &mut SplitMix64) {
    let cfg = x.cfg.clone();
    let (lo, hi) = (cfg.format.min_value(), cfg.format.max_value());
    for p in 0..cfg.rows.max(cfg.cols) {
        let values: Vec<i64> = (0..cfg.sbuf_depth).map(|_| rng.range_i64(lo, hi)).collect();
        e.write_sbuf(p, 0, &values).expect("write_sbuf");
        x.write_sbuf(p, 0, &values);
    }
}

/// Push `program` to both, wait until idle, expect no error.
fn run(e: &mut RtlEngine, x: &mut Expect, program: &[Instr], what: &str) {
    for &i in program {
        e.push(i)
            .unwrap_or_else(|err| panic!("{what}: push {i}: {err}"));
        x.exec(i);
    }
    let st = e.wait_idle().unwrap_or_else(|err| panic!("{what}: {err}"));
    assert_eq!(st.error, ErrorCode::None, "{what}: unexpected error");
    assert!(!st.busy, "{what}: still busy");
}

/// Compare every PSUM entry the expectation knows (defined columns only).
fn check_psum(e: &mut RtlEngine, x: &Expect, what: &str) -> usize {
    let mut keys: Vec<_> = x.psum.keys().copied().collect();
    keys.sort();
    for (bank, addr) in &keys {
        let got = e
            .read_psum(*bank, *addr)
            .unwrap_or_else(|err| panic!("{what}: read_psum({bank}, {addr}): {err}"));
        let want = &x.psum[&(*bank, *addr)];
        for (c, (w, g)) in want.iter().zip(&got).enumerate() {
            if let Some(w) = w {
                assert_eq!(
                    g, w,
                    "{what}: PSUM bank {bank} addr {addr} column {c}: got {g:#x}, expected {w:#x}"
                );
            }
        }
    }
    keys.len()
}

fn ls(addr: u32, k: u32, m: u32) -> Instr {
    Instr::LoadStationary { addr, k, m }
}

#[allow(clippy::too_many_arguments)]
fn mm(addr: u32, k: u32, n: u32, bank: u32, offset: u32, acc: bool, swap: bool) -> Instr {
    Instr::MultiplyMoving {
        addr,
        k,
        n,
        bank,
        offset,
        acc,
        swap,
    }
}

// ---------------------------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------------------------

/// Hand-written programs: full and partial stationaries, accumulation, two loads pending,
/// back-to-back swaps, FENCE, counters.
fn hand_programs(cfg: &Config, test: &str) {
    let Some(mut e) = build(cfg, test) else {
        return;
    };
    let start = Instant::now();
    e.check_identity().expect("ID, VERSION, GEOMETRY, MEMORY");
    let mut x = Expect::new(cfg);
    let mut rng = SplitMix64::new(0x5eed ^ u64::from(cfg.rows * 100 + cfg.cols));
    fill_sbuf(&mut e, &mut x, &mut rng);
    let (r, c) = (cfg.rows, cfg.cols);

    // 1. One full stationary, one instruction.
    run(
        &mut e,
        &mut x,
        &[ls(0, r, c), mm(8, r, 6, 0, 0, false, true)],
        "full LS + MM",
    );
    assert_eq!(x.m_in_use(), Some(c));
    check_psum(&mut e, &x, "full LS + MM");

    // 2. A partial stationary (k < rows, m < cols), zero-padded; MM with more rows than the
    //    stationary; then accumulation without swap and a FENCE.
    run(
        &mut e,
        &mut x,
        &[
            ls(20, r - 1, c - 1),
            mm(30, r, 5, 1, 3, false, true),
            mm(40, r - 1, 5, 1, 3, true, false),
            Instr::Fence,
            mm(41, 1, 2, 1, 7, false, false),
        ],
        "partial stationary, accumulate",
    );
    check_psum(&mut e, &x, "partial stationary, accumulate");

    // 3. Back-to-back MULTIPLY_MOVINGs, each with a new stationary, mixed banks and acc.
    let mut prog = vec![];
    for t in 0..4u32 {
        prog.push(ls(4 * t, r, c - (t % 2)));
        prog.push(mm(10 + t, r - (t % 2), 4, t % 2, 10 + 2 * t, false, true));
    }
    prog.push(mm(3, r, 4, 1, 10, false, false));
    prog.push(mm(5, r, 4, 1, 10, true, false));
    run(&mut e, &mut x, &prog, "back-to-back swaps");
    check_psum(&mut e, &x, "back-to-back swaps");

    // 4. Two loads pending before their swaps (the second waits for the first one's swap).
    run(
        &mut e,
        &mut x,
        &[
            ls(1, r, c),
            ls(2, r, 1),
            mm(9, r, 3, 0, 40, false, true),
            mm(12, r, 3, 0, 43, false, true),
            mm(15, r, 2, 0, 46, false, false),
        ],
        "two pending loads",
    );
    check_psum(&mut e, &x, "two pending loads");

    // Counters: MACs and retired instructions of everything above.
    let counters = e.counters().expect("counters");
    assert_eq!(counters.macs, x.macs, "MACS");
    assert_eq!(counters.retired, x.retired, "RETIRED");
    assert!(counters.busy_cycles > 0);
    e.clear_counters().expect("clear counters");
    let zero = e.counters().expect("counters");
    assert_eq!((zero.busy_cycles, zero.macs, zero.retired), (0, 0, 0));
    eprintln!(
        "{test}: {} programs passed in {:.2} s, {} host cycles, {} simulated cycles",
        cfg.name,
        start.elapsed().as_secs_f64(),
        e.host_cycles(),
        e.bus().cycle()
    );
}

#[test]
fn programs_3x5() {
    hand_programs(&config(3, 5, "int8", 32, 2, 64, 64), "programs_3x5");
}

/// The packed SBUF: every bus word is stored one entry per cycle while the bus waits.
#[test]
fn programs_3x5_packed() {
    hand_programs(
        &packed(config(3, 5, "int8", 32, 2, 64, 64)),
        "programs_3x5_packed",
    );
}

#[test]
fn programs_4x4() {
    hand_programs(&config(4, 4, "int8", 32, 2, 64, 1024), "programs_4x4");
}

/// The engine around a pipelined core whose PSUM accumulate is split (one cycle more from a
/// beat to its PSUM write): its fences and reads still see every result.
#[test]
fn programs_4x4_l3_psum_split() {
    let mut raw = config(4, 4, "int8", 32, 2, 64, 1024).to_raw();
    raw.pe_latency = 3;
    raw.psum_split = true;
    raw.name.push_str("-l3-split");
    hand_programs(
        &Config::from_raw(&raw).expect("valid config"),
        "programs_4x4_l3_psum_split",
    );
}

/// T back-to-back MULTIPLY_MOVINGs of N >= rows beats, each with a new stationary: CYCLES must
/// be about T*N + rows + cols (the first load, the pipeline and the host's first pushes).
fn back_to_back(cfg: &Config, t: u32, n: u32, test: &str) {
    let Some(mut e) = build(cfg, test) else {
        return;
    };
    let mut x = Expect::new(cfg);
    let mut rng = SplitMix64::new(7);
    fill_sbuf(&mut e, &mut x, &mut rng);
    let (r, c) = (cfg.rows, cfg.cols);
    assert!(n >= r && t * n <= cfg.psum_depth * cfg.psum_banks);
    let mut prog = vec![];
    for i in 0..t {
        prog.push(ls(i % 8, r, c));
        let (bank, offset) = ((i * n) / cfg.psum_depth, (i * n) % cfg.psum_depth);
        prog.push(mm(i % 16, r, n, bank, offset, false, true));
    }
    e.clear_counters().expect("clear counters");
    let host_before = e.host_cycles();
    run(&mut e, &mut x, &prog, "back-to-back");
    let k = e.counters().expect("counters");
    let bound = u64::from(t * n + r + c + 40);
    eprintln!(
        "{test}: {}x{}: {t} MULTIPLY_MOVINGs of N = {n} with a new stationary each: CYCLES = {} \
         (T*N + rows + cols = {}; bound {bound}), host cycles {}",
        r,
        c,
        k.busy_cycles,
        t * n + r + c,
        e.host_cycles() - host_before
    );
    assert!(
        k.busy_cycles <= bound,
        "{test}: {} busy cycles > {bound}",
        k.busy_cycles
    );
    assert!(k.busy_cycles >= u64::from(t * n + r + c));
    assert_eq!(k.macs, x.macs);
    assert_eq!(k.retired, u64::from(2 * t));
    check_psum(&mut e, &x, "back-to-back");
}

#[test]
fn back_to_back_4x4() {
    back_to_back(
        &config(4, 4, "int8", 32, 2, 64, 1024),
        8,
        16,
        "back_to_back_4x4",
    );
}

#[test]
fn back_to_back_8x8() {
    back_to_back(
        &config(8, 8, "int8", 32, 2, 64, 256),
        8,
        16,
        "back_to_back_8x8",
    );
}

// ---------------------------------------------------------------------------------------------
// Error paths
// ---------------------------------------------------------------------------------------------

/// The entry a sentinel MULTIPLY_MOVING pushed behind a bad instruction would overwrite.
fn sentinel(cfg: &Config) -> (u32, u32) {
    (0, cfg.psum_depth - 1)
}

/// After CLEAR_ERROR: consume a stationary left pending, then a fresh load and two
/// instructions (one of them writes the sentinel entry), and compare all of PSUM.
fn recover(e: &mut RtlEngine, x: &mut Expect, what: &str) {
    let cfg = x.cfg.clone();
    let (r, c) = (cfg.rows, cfg.cols);
    let (sb, sa) = sentinel(&cfg);
    let mut prog = vec![];
    for _ in 0..x.pending.len() {
        prog.push(mm(2, r, 2, 1, 0, false, true));
    }
    prog.push(ls(3, r, c));
    prog.push(mm(5, r, 3, 1, 4, false, true));
    prog.push(mm(7, r, 1, sb, sa, false, false));
    run(e, x, &prog, &format!("{what}: recovery program"));
    check_psum(e, x, &format!("{what}: after recovery"));
}

/// Push `prefix` (valid) and the raw `bad` words, then a valid sentinel instruction; expect the
/// engine to stop with `code` without executing the sentinel; clear and recover.
fn error_case(
    e: &mut RtlEngine,
    x: &mut Expect,
    what: &str,
    prefix: &[Instr],
    bad: &[u64],
    code: ErrorCode,
) {
    let cfg = x.cfg.clone();
    for &i in prefix {
        e.push(i)
            .unwrap_or_else(|err| panic!("{what}: push {i}: {err}"));
        x.exec(i);
    }
    for &w in bad {
        e.push_word(w)
            .unwrap_or_else(|err| panic!("{what}: push {w:#018x}: {err}"));
    }
    let (sb, sa) = sentinel(&cfg);
    let has_sentinel = x.m_in_use().is_some() && x.psum.contains_key(&(sb, sa));
    if has_sentinel {
        e.push(mm(9, cfg.rows, 1, sb, sa, false, false))
            .expect("push sentinel");
    }
    stopped_with(e, x, what, code);
}

/// The engine is stopped with `code`; what was pushed after the error did not execute.
fn stopped_with(e: &mut RtlEngine, x: &mut Expect, what: &str, code: ErrorCode) {
    let st = e.wait_idle().unwrap_or_else(|err| panic!("{what}: {err}"));
    assert_eq!(st.error, code, "{what}: STATUS.ERROR_CODE");
    let w = e.status_word().expect("status");
    assert_eq!(
        regs::reg("STATUS").field("ERROR").get(w),
        1,
        "{what}: STATUS.ERROR"
    );
    // PSUM as expected: nothing after the error was executed (the sentinel included).
    check_psum(e, x, &format!("{what}: stopped"));
    e.clear_error().expect("clear_error");
    x.clear_error();
    let st = e.wait_idle().expect("idle after clear");
    assert_eq!(st.error, ErrorCode::None, "{what}: error after CLEAR_ERROR");
    assert!(!st.busy, "{what}: busy after CLEAR_ERROR");
    assert_eq!(
        st.queue_free,
        empty_queue(&x.cfg),
        "{what}: the queue is emptied"
    );
    recover(e, x, what);
}

/// STATUS.QUEUE_FREE of an empty queue (docs/registers.md): 16 words, 64 with the memory path.
fn empty_queue(cfg: &Config) -> u32 {
    if cfg.dma {
        64
    } else {
        16
    }
}

/// A bus access that must answer SLVERR and stop the engine with `code`.
fn bus_case(
    e: &mut RtlEngine,
    x: &mut Expect,
    what: &str,
    access: impl FnOnce(&mut RtlEngine) -> (u32, u32),
    code: ErrorCode,
) {
    let (resp, data) = access(e);
    assert_eq!(resp, RESP_SLVERR, "{what}: response");
    assert_eq!(data, 0, "{what}: data of a failed read");
    stopped_with(e, x, what, code);
}

fn error_paths(cfg: &Config, test: &str) {
    let Some(mut e) = build(cfg, test) else {
        return;
    };
    let start = Instant::now();
    let mut x = Expect::new(cfg);
    let mut rng = SplitMix64::new(99);
    fill_sbuf(&mut e, &mut x, &mut rng);
    let (r, c, d, banks, sd) = (
        cfg.rows,
        cfg.cols,
        cfg.psum_depth,
        cfg.psum_banks,
        cfg.sbuf_depth,
    );
    let w = |i: Instr| i.encode()[0];
    use ErrorCode::*;

    // On a fresh engine: no stationary in use, none loaded.
    error_case(
        &mut e,
        &mut x,
        "MM without swap, none in use",
        &[],
        &[w(mm(0, r, 1, 0, 0, false, false))],
        SwapWithoutLoad,
    );

    // The error sequences the mutation campaign's `errors` check runs too (with the codes they
    // must stop with).
    let mut n_cases = 1;
    for bad in engine_checks::bad_programs(cfg) {
        error_case(&mut e, &mut x, bad.what, &bad.prefix, &bad.words, bad.code);
        n_cases += 1;
    }

    // A load waiting for a swap nobody pushed: BUSY and STALLED, wait_idle returns.
    for i in [ls(0, r, c), ls(4, r, c)] {
        e.push(i).expect("push");
        x.exec(i);
    }
    let st = e.wait_idle().expect("stalled wait_idle returns");
    let sw = e.status_word().expect("status");
    let status = regs::reg("STATUS");
    assert!(
        st.busy && status.field("STALLED").get(sw) == 1,
        "stalled: {sw:#x}"
    );
    assert_eq!(status.field("PENDING_LOADS").get(sw), 2);
    run(
        &mut e,
        &mut x,
        &[
            mm(1, r, 2, 1, 20, false, true),
            mm(2, r, 2, 1, 22, false, true),
        ],
        "unstall",
    );
    check_psum(&mut e, &x, "unstall");

    // Queue overflow: many long instructions pushed faster than they run (raw writes, no
    // waiting for free slots). All of them compute the same thing, so however many ran before
    // the overflow stopped dispatch, PSUM bank 1 holds that one result.
    let (lo, hi) = (regs::reg("INSTR_LO").offset, regs::reg("INSTR_HI").offset);
    let n = d.min(sd);
    let first = [ls(0, r, c), mm(0, r, n, 1, 0, false, true)];
    let mut words: Vec<u64> = first.iter().map(|i| i.encode()[0]).collect();
    words.extend(std::iter::repeat_n(w(mm(0, r, n, 1, 0, false, false)), 30));
    let mut overflow_at: Option<usize> = Option::None;
    for (k, word) in words.iter().enumerate() {
        assert_eq!(
            e.bus_mut().write_reg(lo, *word as u32).expect("write"),
            RESP_OKAY
        );
        let resp = e
            .bus_mut()
            .write_reg(hi, (*word >> 32) as u32)
            .expect("write");
        if resp == RESP_SLVERR && overflow_at.is_none() {
            overflow_at = Some(k);
        }
    }
    for i in first {
        x.exec(i);
    }
    let at = overflow_at.expect("the queue overflowed");
    eprintln!("{test}: the queue overflowed at push #{at}");
    assert!(at >= 16, "overflow after {at} pushes");
    stopped_with(&mut e, &mut x, "queue overflow", QueueOverflow);
    n_cases += 1;

    // The bus: unmapped, misaligned and wrong-direction accesses answer SLVERR and stop the
    // engine; the bus keeps working.
    let sbuf_end = regs::SBUF_BASE + (regs::window("SBUF").size)(cfg);
    let reads: Vec<(&str, u32)> = vec![
        ("read of an unmapped address", 0x2000),
        ("read past PSUM_DATA", regs::psum_data_address(c, false)),
        ("misaligned read", regs::reg("STATUS").offset + 2),
        ("read of INSTR_LO (write-only)", lo),
        ("read of CONTROL (write-only)", regs::reg("CONTROL").offset),
        ("read of the SBUF window", regs::SBUF_BASE),
        ("read of 0xFFFF_FFFC", 0xFFFF_FFFC),
    ];
    for (what, addr) in reads {
        bus_case(
            &mut e,
            &mut x,
            what,
            |e| {
                let (d, r) = e.bus_mut().read_reg(addr).expect("read");
                (r, d)
            },
            BusAddress,
        );
        n_cases += 1;
    }
    let writes: Vec<(&str, u32)> = vec![
        ("write of STATUS (read-only)", regs::reg("STATUS").offset),
        ("write of ID (read-only)", regs::reg("ID").offset),
        (
            "write of PSUM_DATA (read-only)",
            regs::psum_data_address(0, false),
        ),
        ("write of an unmapped address", 0x038),
        ("misaligned write", hi + 1),
        ("write past the SBUF window", sbuf_end),
        ("write of 0x8000_0000", 0x8000_0000),
    ];
    for (what, addr) in writes {
        bus_case(
            &mut e,
            &mut x,
            what,
            |e| (e.bus_mut().write_reg(addr, 0xFFFF_FFFF).expect("write"), 0),
            BusAddress,
        );
        n_cases += 1;
    }
    // An unmapped write pushed nothing: the queue is empty after recovery.
    let st = e.status().expect("status");
    assert_eq!(st.queue_free, empty_queue(cfg));

    // PSUM_SELECT out of range.
    let psel = regs::reg("PSUM_SELECT");
    for (what, bank, addr) in [
        ("PSUM_SELECT bank", banks, 0),
        ("PSUM_SELECT address", 0, d),
    ] {
        let value = psel.field("BANK").put(bank) | psel.field("ADDR").put(addr);
        bus_case(
            &mut e,
            &mut x,
            what,
            |e| (e.bus_mut().write_reg(psel.offset, value).expect("write"), 0),
            PsumRange,
        );
        n_cases += 1;
    }
    match e.read_psum(banks, 0) {
        Err(systolic::engine::BackendError::Stopped {
            code: PsumRange, ..
        }) => {}
        other => panic!("read_psum out of range: {other:?}"),
    }
    e.clear_error().expect("clear");
    x.clear_error();
    recover(&mut e, &mut x, "read_psum out of range");
    eprintln!(
        "{test}: {} error cases, each followed by CLEAR_ERROR and a checked program, in {:.2} s ({} host cycles)",
        n_cases,
        start.elapsed().as_secs_f64(),
        e.host_cycles()
    );
}

#[test]
fn error_paths_3x5() {
    error_paths(&config(3, 5, "int8", 32, 2, 64, 64), "error_paths_3x5");
}

// ---------------------------------------------------------------------------------------------
// Random programs under random wait states on every AXI channel
// ---------------------------------------------------------------------------------------------

/// A random valid program drawn against the expectation's state (never accumulates into an
/// unwritten entry, never swaps without a load, at most two loads pending).
fn random_program(x: &Expect, rng: &mut SplitMix64, len: usize) -> Vec<Instr> {
    let cfg = &x.cfg;
    let (r, c, d, sd) = (cfg.rows, cfg.cols, cfg.psum_depth, cfg.sbuf_depth);
    let mut pending = x.pending.len();
    let mut in_use = x.m_in_use();
    let mut loaded_m: VecDeque<u32> = x.pending.iter().map(|s| s.m).collect();
    let mut written: HashMap<(u32, u32), u32> = x
        .psum
        .iter()
        .map(|(k, v)| (*k, v.iter().take_while(|c| c.is_some()).count() as u32))
        .collect();
    let mut prog = vec![];
    while prog.len() < len || pending > 0 {
        let choice = rng.below(10);
        if prog.len() >= len || (pending > 0 && choice < 4) || (pending == 2) {
            // MULTIPLY_MOVING with swap.
        } else if choice < 6 || in_use.is_none() {
            let k = rng.range_u32(1, r);
            let m = rng.range_u32(1, c);
            prog.push(ls(rng.range_u32(0, sd - k), k, m));
            pending += 1;
            loaded_m.push_back(m);
            continue;
        } else if choice == 6 {
            prog.push(Instr::Fence);
            continue;
        }
        let swap =
            pending > 0 && (prog.len() >= len || choice < 4 || pending == 2 || rng.chance(0.5));
        if !swap && in_use.is_none() {
            continue;
        }
        let m = if swap {
            pending -= 1;
            let m = loaded_m.pop_front().expect("loaded");
            in_use = Some(m);
            m
        } else {
            in_use.expect("in use")
        };
        let n = rng.range_u32(1, d.min(12));
        let k = rng.range_u32(1, r);
        let bank = rng.below(u64::from(cfg.psum_banks)) as u32;
        let offset = rng.range_u32(0, d - n);
        let acc = (0..n).all(|i| written.get(&(bank, offset + i)).is_some_and(|w| *w >= m))
            && rng.chance(0.5);
        for i in 0..n {
            let e = written.entry((bank, offset + i)).or_insert(0);
            if !acc {
                *e = (*e).max(m);
            }
        }
        prog.push(mm(rng.range_u32(0, sd - n), k, n, bank, offset, acc, swap));
    }
    prog
}

fn random_with_wait_states(cfg: &Config, test: &str, seeds: &[u64]) {
    let Some(mut e) = build(cfg, test) else {
        return;
    };
    let start = Instant::now();
    let mut checked = 0;
    let mut instrs = 0;
    // Wait states really slow the bus down: cycles per register read with and without.
    let reads = |e: &mut RtlEngine| {
        let before = e.host_cycles();
        for _ in 0..200 {
            e.bus_mut().read_reg(regs::reg("ID").offset).expect("read");
        }
        (e.host_cycles() - before) as f64 / 200.0
    };
    let plain = reads(&mut e);
    e.bus_mut().set_wait_states(0.5, 1);
    let slow = reads(&mut e);
    eprintln!("{test}: {plain:.2} cycles per read without wait states, {slow:.2} with p = 0.5");
    assert!(plain <= 2.0 && slow > plain + 1.0);
    for &seed in seeds {
        e.reset();
        e.bus_mut().set_wait_states(0.5, seed);
        e.check_identity().expect("identity under wait states");
        let mut x = Expect::new(cfg);
        let mut rng = SplitMix64::new(seed);
        fill_sbuf(&mut e, &mut x, &mut rng);
        for round in 0..3 {
            let prog = random_program(&x, &mut rng, 24);
            instrs += prog.len();
            run(&mut e, &mut x, &prog, &format!("seed {seed} round {round}"));
            checked += check_psum(&mut e, &x, &format!("seed {seed} round {round}"));
        }
        let k = e.counters().expect("counters");
        assert_eq!(k.macs, x.macs, "seed {seed}: MACS");
        assert_eq!(k.retired, x.retired, "seed {seed}: RETIRED");
    }
    eprintln!(
        "{test}: {} seeds, {instrs} random instructions, {checked} PSUM entries compared, wait states p = 0.5, in {:.2} s",
        seeds.len(),
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn random_wait_states_3x5() {
    random_with_wait_states(
        &config(3, 5, "int8", 32, 2, 64, 64),
        "random_wait_states_3x5",
        &[1, 2, 3],
    );
}

#[test]
fn random_wait_states_3x5_packed() {
    random_with_wait_states(
        &packed(config(3, 5, "int8", 32, 2, 64, 64)),
        "random_wait_states_3x5_packed",
        &[1, 2],
    );
}

/// 16-bit elements (two per bus word in the SBUF window) and 48-bit accumulators (two words per
/// PSUM column), under wait states.
#[test]
fn random_wait_states_4x4_int16() {
    random_with_wait_states(
        &config(4, 4, "int16", 48, 3, 32, 64),
        "random_wait_states_4x4_int16",
        &[4, 5],
    );
}

/// Two lanes per bus word in the packed SBUF.
#[test]
fn random_wait_states_4x4_int16_packed() {
    random_with_wait_states(
        &packed(config(4, 4, "int16", 48, 3, 32, 64)),
        "random_wait_states_4x4_int16_packed",
        &[6],
    );
}
