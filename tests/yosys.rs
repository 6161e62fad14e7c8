//! Synthesis of every preset with Yosys (Debian Yosys 0.23, generic flow, no technology).
//!
//! Every preset in `seeds/` is generated into a fresh directory and run through one Yosys
//! script, chosen by size (see [`Flow::for_config`]). All flows start with
//!
//! ```text
//! read_verilog -defer -noautowire <files.f>      (an implicit net is an error; with FPGA
//!                                                  primitives, Yosys' cell declarations first,
//!                                                  as black boxes)
//! hierarchy -check -top systolic_top             (every module and port resolves)
//! proc
//! stat -width                                    -> stat_proc.txt
//! ```
//!
//! and then:
//! - [`Flow::Full`] (PSUM of at most 64 Kbit: int8-3x5, int8-4x4): `synth -run coarse:fine`
//!   (opt, wreduce, alumacc, share, `memory -nomap`), `stat -width` -> stat_mem.txt, then
//!   `synth -run fine:` (memory_map, techmap, abc) down to generic gates, `stat`.
//! - [`Flow::KeepMemories`] (at most 64x64 PEs: int8-8x8, int8-16x16): the same coarse part,
//!   then everything `synth -run fine:` does except `memory_map`: `opt -fast -full; techmap;
//!   opt -fast; abc -fast; opt -fast`, so the logic is mapped to generic gates and the PSUM
//!   stays as `$mem_v2` cells (as a RAM-macro flow would see it). A generic `synth` maps the
//!   PSUM to flip-flops: measured on the 2-core test machine, int8-16x16 (64 KiB of PSUM) took
//!   7.5 min and 3.4 GB that way, against ~15 s for this flow.
//! - [`Flow::Elaborate`] (larger: trn-int8-128x128): only `memory -nomap` on the PSUM module,
//!   `stat -width` -> stat_mem.txt. ~30 s for 128x128.
//! - [`Flow::Coarse`] (larger presets, only when `SYSTOLIC_YOSYS_THOROUGH` is set): the coarse
//!   part of `synth` (`synth -run coarse:fine`: opt, wreduce, alumacc, share, fsm,
//!   `memory -nomap` over the whole design), no mapping. ~130 s and 430 MB for 128x128, too
//!   close to the 3-minute budget of this test on a shared 2-core machine to be the default.
//!
//! Every flow ends with `check -assert` (no undriven or multiply driven nets, no logic loops)
//! and `stat -width` -> stat_final.txt. Asserted, parsing the `stat` text:
//! - Yosys exits with 0 and its log has no `ERROR` and no `Warning:` line;
//! - after `proc`: the PSUM module holds exactly COLS memories (2*COLS with `psum_split`, its
//!   lanes; none with the ECP5 primitives' DP16KD columns) and COLS*BANKS*DEPTH*ACC_W memory
//!   bits, the whole design no others;
//! - after `memory -nomap`: the PSUM module has one `$mem_v2` cell per memory above, no loose
//!   `$memrd`/`$memwr` cells, and far fewer flip-flop bits than memory bits (not exploded);
//! - the final design has ROWS*COLS `systolic_pe` instances (counted through the hierarchy:
//!   instances per module multiplied down from `systolic_top`);
//! - Full: no word-level cell and no `$mem_v2` is left (all generic gates); KeepMemories: the
//!   only word-level cells left are the COLS `$mem_v2`.
//!
//! Without `yosys` the test prints `skipped: yosys not found` and passes, unless `CI` is set.

mod common;

use systolic::tools;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use systolic::config::{list_presets, seeds_dir, Config, Overrides, Primitives};
use systolic::generate::write_design;
use systolic::rtl::core::TOP;

/// Per Yosys run.
const YOSYS_LIMIT: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Full,
    KeepMemories,
    Coarse,
    Elaborate,
}

impl Flow {
    fn for_config(cfg: &Config) -> Flow {
        if psum_bits(cfg) <= 64 * 1024 {
            Flow::Full
        } else if cfg.pes() <= 64 * 64 {
            Flow::KeepMemories
        } else if std::env::var_os("SYSTOLIC_YOSYS_THOROUGH").is_some() {
            Flow::Coarse
        } else {
            Flow::Elaborate
        }
    }

    /// The script; a design with FPGA primitives (`primitives = "ecp5"` or `"ice40"`) also
    /// reads Yosys' declarations of those cells as black boxes (`-lib`): the generic flow keeps
    /// them as cells.
    fn script(self, files: &str, primitives: Primitives) -> String {
        let cells = match primitives {
            Primitives::Generic => "",
            Primitives::Ecp5 => "read_verilog -lib +/ecp5/cells_bb.v +/ecp5/cells_sim.v\n",
            Primitives::Ice40 => "read_verilog -lib -D ICE40_U +/ice40/cells_sim.v\n",
        };
        let mut s = format!(
            "{cells}read_verilog -defer -noautowire {files}\n\
             hierarchy -check -top {TOP}\n\
             proc\n\
             tee -q -o stat_proc.txt stat -width\n"
        );
        s.push_str(match self {
            Flow::Full => {
                "synth -top systolic_top -run coarse:fine\n\
                 tee -q -o stat_mem.txt stat -width\n\
                 synth -top systolic_top -run fine:\n"
            }
            Flow::KeepMemories => {
                "synth -top systolic_top -run coarse:fine\n\
                 tee -q -o stat_mem.txt stat -width\n\
                 opt -fast -full\n\
                 techmap\n\
                 opt -fast\n\
                 abc -fast\n\
                 opt -fast\n"
            }
            Flow::Coarse => {
                "synth -top systolic_top -run coarse:fine\n\
                 tee -q -o stat_mem.txt stat -width\n"
            }
            Flow::Elaborate => {
                "memory -nomap *systolic_psum\n\
                 tee -q -o stat_mem.txt stat -width\n"
            }
        });
        s.push_str("check -assert\ntee -q -o stat_final.txt stat -width\n");
        s
    }
}

fn psum_bits(cfg: &Config) -> u64 {
    u64::from(cfg.cols)
        * u64::from(cfg.psum_banks)
        * u64::from(cfg.psum_depth)
        * u64::from(cfg.derived.acc_w)
}

// ---------------------------------------------------------------------------------------------
// `stat` text.

/// One `=== name ===` section of `stat` output.
#[derive(Debug, Default, Clone)]
struct ModStat {
    /// "Number of X: n" lines, keyed by X in lower case ("wires", "memory bits", "cells", ...).
    numbers: BTreeMap<String, u64>,
    /// The cell-type lines after "Number of cells".
    cells: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
struct Stat {
    /// Per module, keyed by the module name as printed (`$paramod$...\systolic_pe`).
    modules: BTreeMap<String, ModStat>,
    /// The `design hierarchy` section's totals, when printed.
    design: Option<ModStat>,
}

/// The base name of a (possibly parameterised) module: `$paramod$abc\systolic_pe` ->
/// `systolic_pe`.
fn base_name(module: &str) -> &str {
    module.rsplit('\\').next().unwrap_or(module)
}

fn is_module_type(cell_type: &str) -> bool {
    !cell_type.starts_with('$') || cell_type.starts_with("$paramod")
}

impl Stat {
    fn parse(text: &str) -> Stat {
        let mut stat = Stat::default();
        let mut current: Option<(String, ModStat)> = None;
        let mut in_cells = false;
        let finish = |stat: &mut Stat, cur: Option<(String, ModStat)>| {
            if let Some((name, m)) = cur {
                if name == "design hierarchy" {
                    stat.design = Some(m);
                } else {
                    stat.modules.insert(name, m);
                }
            }
        };
        for line in text.lines() {
            let t = line.trim();
            if let Some(name) = t.strip_prefix("=== ").and_then(|r| r.strip_suffix(" ===")) {
                finish(&mut stat, current.take());
                current = Some((name.to_string(), ModStat::default()));
                in_cells = false;
                continue;
            }
            let Some((_, m)) = current.as_mut() else {
                continue;
            };
            if let Some(rest) = t.strip_prefix("Number of ") {
                in_cells = false;
                if let Some((key, value)) = rest.split_once(':') {
                    if let Ok(v) = value.trim().parse::<u64>() {
                        let key = key.trim().to_ascii_lowercase();
                        in_cells = key == "cells";
                        m.numbers.insert(key, v);
                    }
                }
                continue;
            }
            if in_cells {
                let mut parts = t.split_whitespace();
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(ty), Some(n), None) => match n.parse::<u64>() {
                        Ok(n) => {
                            *m.cells.entry(ty.to_string()).or_default() += n;
                        }
                        Err(_) => in_cells = false,
                    },
                    _ => in_cells = false,
                }
            }
        }
        finish(&mut stat, current);
        stat
    }

    /// The sections whose module has this base name.
    fn by_base<'a>(&'a self, base: &'a str) -> impl Iterator<Item = (&'a String, &'a ModStat)> {
        self.modules
            .iter()
            .filter(move |(n, _)| base_name(n) == base)
    }

    /// Total instances of every module under `top` (top counted once), through the hierarchy.
    fn instance_totals(&self, top: &str) -> BTreeMap<String, u64> {
        let mut totals = BTreeMap::new();
        self.add_instances(top, 1, &mut totals, 0);
        totals
    }

    fn add_instances(&self, module: &str, n: u64, totals: &mut BTreeMap<String, u64>, depth: u32) {
        assert!(depth < 64, "module hierarchy too deep at {module}");
        *totals.entry(module.to_string()).or_default() += n;
        if let Some(m) = self.modules.get(module) {
            for (ty, count) in &m.cells {
                if is_module_type(ty) {
                    self.add_instances(ty, n * count, totals, depth + 1);
                }
            }
        }
    }

    /// Total instances of modules with base name `base` in the design under `top`.
    fn count_instances(&self, top: &str, base: &str) -> u64 {
        self.instance_totals(top)
            .iter()
            .filter(|(name, _)| base_name(name) == base)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Flip-flop bits of a `stat -width` section: `$dff_32` x 3 is 96 bits. Types without a width
/// suffix (gate-level `$_DFF_P_`) count one bit each.
fn ff_bits(m: &ModStat) -> u64 {
    m.cells
        .iter()
        .filter(|(ty, _)| {
            let base = ty
                .trim_start_matches('$')
                .trim_start_matches('_')
                .to_ascii_lowercase();
            [
                "dff", "sdff", "adff", "aldff", "dffe", "sdffe", "sdffce", "adffe", "dffsr",
                "dlatch",
            ]
            .iter()
            .any(|p| base.starts_with(p))
        })
        .map(|(ty, n)| {
            let width = ty
                .rsplit_once('_')
                .and_then(|(_, w)| w.parse::<u64>().ok())
                .filter(|_| !ty.starts_with("$_"))
                .unwrap_or(1);
            width * n
        })
        .sum()
}

// ---------------------------------------------------------------------------------------------
// The test.

struct Outcome {
    name: String,
    flow: Flow,
    elapsed: Duration,
    summary: String,
    problems: Vec<String>,
}

/// Generate `cfg` into `dir`, write `script_name` with `script(files)` (the design's file names,
/// space separated) and run Yosys on it there, its log in `yosys.log`.
fn run_yosys(
    cfg: &Config,
    dir: &Path,
    script_name: &str,
    script: impl FnOnce(&str) -> String,
) -> tools::ToolRun {
    write_design(&systolic::rtl::core::design(cfg), dir).expect("write design");
    let files: Vec<String> = common::listed_files(dir)
        .expect("file list")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    std::fs::write(dir.join(script_name), script(&files.join(" "))).expect("write script");
    tools::run(
        Command::new("yosys")
            .args(["-q", "-l", "yosys.log", script_name])
            .current_dir(dir),
        YOSYS_LIMIT,
    )
    .expect("yosys runs")
}

fn synthesise(cfg: &Config) -> Outcome {
    let flow = Flow::for_config(cfg);
    let mut problems = vec![];
    let dir = common::fresh_dir(
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        &format!("yosys-{}", cfg.name),
    )
    .expect("scratch directory");
    let run = run_yosys(cfg, &dir, "flow.ys", |files| {
        flow.script(files, cfg.primitives)
    });
    let log = std::fs::read_to_string(dir.join("yosys.log")).unwrap_or_default();
    let fail = |problems: Vec<String>, summary: String| Outcome {
        name: cfg.name.clone(),
        flow,
        elapsed: run.elapsed,
        summary,
        problems,
    };
    if !run.success() {
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        problems.push(format!(
            "yosys failed (exit {:?}{}) in {}\n{}\n--- log tail ---\n{}",
            run.status.code(),
            if run.timed_out { ", timed out" } else { "" },
            dir.display(),
            run.stderr,
            tail.join("\n")
        ));
        return fail(problems, String::new());
    }
    let notes: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") || l.trim_start().starts_with("Warning:"))
        .collect();
    if !notes.is_empty() {
        problems.push(format!(
            "errors or warnings in the log:\n{}",
            notes.join("\n")
        ));
    }

    let read = |f: &str| Stat::parse(&std::fs::read_to_string(dir.join(f)).unwrap_or_default());
    let (after_proc, after_mem, last) = (
        read("stat_proc.txt"),
        read("stat_mem.txt"),
        read("stat_final.txt"),
    );
    // The PSUM's inferred memories: one per column, two with the split accumulate (its
    // lanes), none when its columns are the ECP5 block RAMs themselves (`RAM_ECP5`).
    let mems = if cfg.derived.psum_ram_ecp5 == 1 {
        0
    } else {
        u64::from(cfg.cols) * u64::from(1 + cfg.derived.psum_split)
    };
    let bits = if mems == 0 { 0 } else { psum_bits(cfg) };

    // After proc: the PSUM storage is memories, nothing else is.
    let psum: Vec<_> = after_proc.by_base("systolic_psum").collect();
    if psum.len() != 1 {
        problems.push(format!(
            "after proc: {} systolic_psum modules, expected 1",
            psum.len()
        ));
    }
    for (name, m) in &psum {
        let found = m.numbers.get("memories").copied().unwrap_or(0);
        let mem_bits = m.numbers.get("memory bits").copied().unwrap_or(0);
        if found != mems || mem_bits != bits {
            problems.push(format!(
                "after proc: {name} has {found} memories of {mem_bits} bits, expected {mems} of {bits} in all"
            ));
        }
    }
    let design_mem_bits = after_proc
        .design
        .as_ref()
        .and_then(|d| d.numbers.get("memory bits").copied());
    if design_mem_bits != Some(bits) {
        problems.push(format!(
            "after proc: the design has {design_mem_bits:?} memory bits, expected {bits} (the PSUM only)"
        ));
    }

    // After memory -nomap: one $mem_v2 per column, ACC_W wide; no storage in flip-flops.
    let mut mem_cells = 0;
    let mut psum_ff = 0;
    for (name, m) in after_mem.by_base("systolic_psum") {
        mem_cells = m
            .cells
            .iter()
            .filter(|(t, _)| t.starts_with("$mem_v2"))
            .map(|(_, n)| n)
            .sum();
        let all_mem: u64 = m
            .cells
            .iter()
            .filter(|(t, _)| t.starts_with("$mem"))
            .map(|(_, n)| n)
            .sum();
        psum_ff = ff_bits(m);
        if mem_cells != mems || all_mem != mems {
            problems.push(format!(
                "after memory -nomap: {name} has {mem_cells} $mem_v2 cells and {all_mem} memory \
                 cells in all, expected {mems} (one per column or lane): {:?}",
                m.cells
            ));
        }
        if bits > 0 && psum_ff * 4 >= bits {
            problems.push(format!(
                "after memory -nomap: {name} has {psum_ff} flip-flop bits for {bits} memory bits: \
                 the PSUM looks exploded into registers"
            ));
        }
    }

    // The final design: the whole array, and what is left unmapped.
    let pes = last.count_instances(TOP, "systolic_pe");
    if pes != cfg.pes() {
        problems.push(format!(
            "final: {pes} systolic_pe instances under {TOP}, expected {}x{} = {}",
            cfg.rows,
            cfg.cols,
            cfg.pes()
        ));
    }
    let mut word_level: BTreeMap<String, u64> = BTreeMap::new();
    for m in last.modules.values() {
        for (ty, n) in &m.cells {
            if ty.starts_with('$') && !ty.starts_with("$_") && !is_module_type(ty) {
                *word_level.entry(ty.clone()).or_default() += n;
            }
        }
    }
    let totals = last.instance_totals(TOP);
    let final_mem: u64 = last
        .modules
        .iter()
        .map(|(name, m)| {
            let here: u64 = m
                .cells
                .iter()
                .filter(|(t, _)| t.starts_with("$mem_v2"))
                .map(|(_, n)| n)
                .sum();
            totals.get(name).copied().unwrap_or(0) * here
        })
        .sum();
    match flow {
        Flow::Full if !word_level.is_empty() => problems.push(format!(
            "final: word-level cells left after a full synth: {word_level:?}"
        )),
        Flow::KeepMemories => {
            let others: BTreeMap<_, _> = word_level
                .iter()
                .filter(|(t, _)| !t.starts_with("$mem_v2"))
                .collect();
            if !others.is_empty() || final_mem != mems {
                problems.push(format!(
                    "final: expected only {mems} $mem_v2 cells left, found {final_mem} and {others:?}"
                ));
            }
        }
        _ => {}
    }
    let design = last.design.clone().unwrap_or_default();
    let summary = format!(
        "{} PEs, {} cells ({} flip-flop bits) in the design, PSUM: {mem_cells} x $mem_v2 \
         ({bits} bits) next to {psum_ff} flip-flop bits",
        pes,
        design.numbers.get("cells").copied().unwrap_or(0),
        ff_bits(&design),
    );
    if problems.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        problems.push(format!("files kept in {}", dir.display()));
    }
    fail(problems, summary)
}

/// Every preset of the full flow and the smallest of each other flow (the larger ones repeat
/// the same builders at a larger size, for minutes of Yosys each); a preset whose core is the
/// same Verilog as one already taken (presets that differ only outside the core, e.g. in the
/// SBUF) once.
fn sample(mut configs: Vec<Config>) -> Vec<Config> {
    let total = configs.len();
    configs.sort_by_key(|c| (c.pes(), psum_bits(c), c.format.is_float(), c.name.clone()));
    let mut seen = vec![];
    let mut cores = vec![];
    configs.retain(|c| {
        let flow = Flow::for_config(c);
        let core = systolic::rtl::core::design(c).modules;
        let keep = (flow == Flow::Full || !seen.contains(&flow)) && !cores.contains(&core);
        seen.push(flow);
        cores.push(core);
        keep
    });
    let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
    eprintln!(
        "a sample of {} of {total} presets: {}",
        configs.len(),
        names.join(", ")
    );
    configs
}

fn presets() -> Vec<Config> {
    let dir = seeds_dir();
    let configs: Vec<Config> = list_presets(&dir)
        .iter()
        .map(|n| Config::from_preset(&dir, n, &Overrides::default()).expect("preset"))
        .collect();
    assert!(!configs.is_empty(), "no presets in {}", dir.display());
    configs
}

/// The presets of every flow: all small ones, the smallest of each larger flow.
#[test]
fn presets_of_every_flow_synthesise() {
    if common::require_tool("yosys", "presets_of_every_flow_synthesise") {
        synthesise_all(sample(presets()));
    }
}

#[test]
#[ignore = "every preset: the 16x16, 20x20 and both 128x128 take minutes each; scripts/test.sh --full"]
fn every_preset_synthesises() {
    if common::require_tool("yosys", "every_preset_synthesises") {
        synthesise_all(presets());
    }
}

fn synthesise_all(mut configs: Vec<Config>) {
    // Largest first, so that the longest run starts at once.
    configs.sort_by_key(|c| std::cmp::Reverse(c.pes() * 1_000_000 + psum_bits(c) / 1024));

    let start = Instant::now();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(configs.len());
    let next = AtomicUsize::new(0);
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = vec![];
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(cfg) = configs.get(i) else {
                            break done;
                        };
                        let o = synthesise(cfg);
                        eprintln!(
                            "{}: {:?} flow in {:.1?}: {}",
                            o.name, o.flow, o.elapsed, o.summary
                        );
                        done.push(o);
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker panicked"))
            .collect()
    });
    eprintln!("{} presets in {:.1?}", outcomes.len(), start.elapsed());
    let failures: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.problems.is_empty())
        .map(|o| {
            format!(
                "{} ({:?} flow):\n  {}",
                o.name,
                o.flow,
                o.problems.join("\n  ")
            )
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn stat_parser_counts_instances_through_the_hierarchy() {
    let text = "\n=== $paramod$1\\systolic_pe ===\n\n   Number of wires:     4\n   \
        Number of memories:   0\n   Number of cells:     3\n     $_DFF_P_     2\n     $dff_32     1\n\n\
        === $paramod$2\\systolic_column ===\n\n   Number of cells:     3\n     \
        $paramod$1\\systolic_pe      3\n\n=== top_x ===\n\n   Number of cells:   5\n     \
        $paramod$2\\systolic_column      5\n     $mem_v2_32      2\n\n=== design hierarchy ===\n\n   \
        top_x      1\n     $paramod$2\\systolic_column      5\n       $paramod$1\\systolic_pe      3\n\n   \
        Number of memory bits:      77\n   Number of cells:     47\n     $_DFF_P_     30\n";
    let stat = Stat::parse(text);
    assert_eq!(stat.modules.len(), 3);
    assert_eq!(stat.count_instances("top_x", "systolic_pe"), 15);
    assert_eq!(stat.count_instances("top_x", "systolic_column"), 5);
    let pe = &stat.modules["$paramod$1\\systolic_pe"];
    assert_eq!(ff_bits(pe), 2 + 32);
    assert_eq!(pe.numbers["wires"], 4);
    let design = stat.design.as_ref().unwrap();
    assert_eq!(design.numbers["memory bits"], 77);
    assert_eq!(design.cells["$_DFF_P_"], 30);
    assert_eq!(stat.modules["top_x"].cells["$mem_v2_32"], 2);
}

#[test]
fn flows_are_chosen_by_size() {
    let dir = seeds_dir();
    let flow = |n: &str| {
        Flow::for_config(&Config::from_preset(&dir, n, &Overrides::default()).expect("preset"))
    };
    assert_eq!(flow("int8-4x4"), Flow::Full);
    assert_eq!(flow("int8-3x5"), Flow::Full);
    assert_eq!(flow("int8-16x16"), Flow::KeepMemories);
    let large = flow("trn-int8-128x128");
    assert!(
        large == Flow::Elaborate || large == Flow::Coarse,
        "{large:?}"
    );
}

/// `keep_tokens`: PEs on an anti-diagonal hold equal swap tokens (the token reaches PE (r, c)
/// in the cycle r + c), so after flattening `opt` (its `opt_merge`) merges registers with
/// equal inputs into one that drives several PEs; with the `keep` attribute on the PE's token
/// register every PE keeps its own. Measured on this 4x5 core (Yosys 0.23): 29 single-bit
/// flip-flops with a synchronous reset (the tokens and the control) without, 33 with.
/// Asserted: strictly more flip-flop bits with `keep_tokens` (the attribute is not ignored).
#[test]
fn keep_tokens_stops_synthesis_merging_the_swap_registers() {
    if !common::require_tool(
        "yosys",
        "keep_tokens_stops_synthesis_merging_the_swap_registers",
    ) {
        return;
    }
    let (rows, cols) = (4, 5);
    let ffs = |keep: bool| -> u64 {
        let cfg = Config::from_overrides(&Overrides {
            rows: Some(rows),
            cols: Some(cols),
            psum_depth: Some(4),
            keep_tokens: Some(keep),
            ..Overrides::default()
        })
        .expect("valid config");
        let dir = common::fresh_dir(
            Path::new(env!("CARGO_TARGET_TMPDIR")),
            &format!("yosys-keep-{keep}"),
        )
        .expect("scratch directory");
        let run = run_yosys(&cfg, &dir, "keep.ys", |files| {
            format!(
                "read_verilog -defer {files}\nhierarchy -check -top {TOP}\nproc\nflatten\nopt\n\
                 tee -o stat.txt stat -width\n"
            )
        });
        assert!(run.success(), "yosys failed: see {}", dir.display());
        let text = std::fs::read_to_string(dir.join("stat.txt")).expect("stat.txt");
        let stat = Stat::parse(&text);
        let top = stat
            .modules
            .get(TOP)
            .unwrap_or_else(|| panic!("{TOP} in the stat: {text}"));
        ff_bits(top)
    };
    let (merged, kept) = (ffs(false), ffs(true));
    eprintln!("flip-flop bits: {merged} merged, {kept} with keep_tokens");
    assert!(
        kept > merged,
        "keep_tokens kept no more registers: {merged} -> {kept}"
    );
}
