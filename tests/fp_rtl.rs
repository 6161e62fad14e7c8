//! The generated floating-point units in Verilator against the golden model, bit for bit:
//! * `systolic_fp_mul`, combinational and pipelined (`PIPE = 1`, checked one cycle later): every pair of fp8 E4M3 inputs and every pair of E5M2 inputs (65,536
//!   each); for bf16 every pair of special values (signed zeros, smallest and largest subnormal
//!   and normal, ones, infinities, NaNs of several payloads) and 1,000,000 random pairs, half of
//!   them with exponents at the fp32 overflow and underflow boundaries.
//! * `systolic_fp32_add`, combinational and pipelined (`PIPE = 1`, checked one cycle later):
//!   every pair of fp32 special values and 1,000,000 random pairs (uniform bit patterns, near
//!   cancellations, subnormals, nearby exponents).
//!
//! * a whole bf16 PE at pe_latency 1 and 4: the special values crossed, then 1,000,000 random
//!   (weight, element, partial sum) triples, 10% of them masked, one per cycle.
//!
//! The golden `fp::mul` / `fp::add` are themselves checked against the host's IEEE `f32` in
//! `fp_numerics.rs`. A mismatch prints the operands, both results and the seed.
//! Arrays and PSUM accumulation chains are co-simulated in `cosim.rs`.

mod common;

use std::path::PathBuf;

use systolic::cosim::verilator::{self, BuildSpec, PortSpec, Sim};
use systolic::format::FpFormat;
use systolic::golden::fp;
use systolic::program::SplitMix64;
use systolic::rtl::core::fp::{add_module, mul_module};
use systolic::verilog::*;

/// A probe around one multiplier of `f` and two adders (PIPE = 0 and 1).
fn probe(f: FpFormat) -> Module {
    let inst = |module: &str, name: &str, params: Vec<(String, Expr)>, ports: &[(&str, &str)]| {
        Item::Instance(Instance {
            module: module.into(),
            name: name.into(),
            params,
            ports: ports.iter().map(|(p, n)| (p.to_string(), id(n))).collect(),
        })
    };
    let dw = Some(int(i64::from(f.bits())));
    Module {
        name: "fp_probe".into(),
        doc: vec![
            "Test probe: fp multipliers and fp32 adders, combinational and pipelined.".into(),
        ],
        params: vec![],
        ports: vec![
            input("clk", None, ""),
            input("a", dw.clone(), ""),
            input("b", dw, ""),
            input("x", Some(int(32)), ""),
            input("y", Some(int(32)), ""),
            output("p", Some(int(32)), "a * b"),
            output("pq", Some(int(32)), "a * b, one cycle later"),
            output("s", Some(int(32)), "x + y"),
            output("sq", Some(int(32)), "x + y, one cycle later"),
        ],
        items: vec![
            inst(
                "systolic_fp_mul",
                "u_mul0",
                vec![("PIPE".into(), int(0))],
                &[("clk", "clk"), ("a", "a"), ("b", "b"), ("p", "p")],
            ),
            inst(
                "systolic_fp_mul",
                "u_mul1",
                vec![("PIPE".into(), int(1))],
                &[("clk", "clk"), ("a", "a"), ("b", "b"), ("p", "pq")],
            ),
            inst(
                "systolic_fp32_add",
                "u_add0",
                vec![("PIPE".into(), int(0))],
                &[("clk", "clk"), ("a", "x"), ("b", "y"), ("y", "s")],
            ),
            inst(
                "systolic_fp32_add",
                "u_add1",
                vec![("PIPE".into(), int(1))],
                &[("clk", "clk"), ("a", "x"), ("b", "y"), ("y", "sq")],
            ),
        ],
    }
}

struct Probe {
    sim: Sim,
    a: verilator::PortId,
    b: verilator::PortId,
    x: verilator::PortId,
    y: verilator::PortId,
    p: verilator::PortId,
    pq: verilator::PortId,
    s: verilator::PortId,
    sq: verilator::PortId,
}

/// Print `modules` into a scratch folder and build `top` with Verilator (cached).
fn simulate(tag: &str, modules: &[Module], top: &str, ports: &[PortSpec]) -> Sim {
    let dir = common::scratch_dir(tag);
    let header = vec![format!("fp_rtl test: {tag}")];
    let mut sources: Vec<PathBuf> = vec![];
    for m in modules {
        let path = dir.join(format!("{}.v", m.name));
        std::fs::write(&path, print_module(&header, m)).expect("write source");
        sources.push(path);
    }
    let model = verilator::build(
        &BuildSpec {
            top,
            sources: &sources,
            ports,
            trace: false,
            fst: false,
            threads: 1,
            extra_args: &[],
        },
        &verilator::default_cache_root(),
    )
    .unwrap_or_else(|e| panic!("build {tag}: {e}"));
    model.instantiate().expect("instantiate")
}

fn build(f: FpFormat) -> Option<Probe> {
    if !common::require_tool("verilator", "build") {
        return None;
    }
    let ports = [
        PortSpec::input("clk", 1),
        PortSpec::input("a", f.bits()),
        PortSpec::input("b", f.bits()),
        PortSpec::input("x", 32),
        PortSpec::input("y", 32),
        PortSpec::output("p", 32),
        PortSpec::output("pq", 32),
        PortSpec::output("s", 32),
        PortSpec::output("sq", 32),
    ];
    let sim = simulate(
        &format!("fp-rtl-{}", f.name()),
        &[mul_module(f), add_module(0), probe(f)],
        "fp_probe",
        &ports,
    );
    let port = |n: &str| sim.require_port(n).expect("port");
    Some(Probe {
        a: port("a"),
        b: port("b"),
        x: port("x"),
        y: port("y"),
        p: port("p"),
        pq: port("pq"),
        s: port("s"),
        sq: port("sq"),
        sim,
    })
}

impl Probe {
    /// The combinational product now, and the pipelined one after the clock edge.
    fn mul(&mut self, a: u16, b: u16) -> (u32, u32) {
        self.sim.set_u64(self.a, a.into());
        self.sim.set_u64(self.b, b.into());
        self.sim.eval();
        let p = self.sim.get_u64(self.p) as u32;
        self.sim.tick();
        (p, self.sim.get_u64(self.pq) as u32)
    }

    /// Checks the combinational sum now and the pipelined sum of `prev` after the clock edge.
    fn add(&mut self, x: u32, y: u32) -> (u32, u32) {
        self.sim.set_u64(self.x, x.into());
        self.sim.set_u64(self.y, y.into());
        self.sim.eval();
        let s = self.sim.get_u64(self.s) as u32;
        self.sim.tick();
        (s, self.sim.get_u64(self.sq) as u32)
    }
}

fn check_mul(pr: &mut Probe, f: FpFormat, a: u16, b: u16, what: &str) {
    let (got, got_pipe) = pr.mul(a, b);
    let want = fp::mul(f, a, b);
    assert_eq!(
        got, want,
        "{what}: {f} {a:#06x} * {b:#06x}: RTL {got:#010x}, golden {want:#010x}"
    );
    assert_eq!(
        got_pipe, want,
        "{what}, PIPE = 1: {f} {a:#06x} * {b:#06x}: RTL {got_pipe:#010x}, golden {want:#010x}"
    );
}

fn exhaustive_fp8(f: FpFormat) {
    let Some(mut pr) = build(f) else { return };
    for a in 0..=0xFFu16 {
        for b in 0..=0xFFu16 {
            check_mul(&mut pr, f, a, b, "exhaustive");
        }
    }
}

#[test]
fn fp8_e4m3_multiplier_every_pair() {
    exhaustive_fp8(FpFormat::E4M3);
}

#[test]
fn fp8_e5m2_multiplier_every_pair() {
    exhaustive_fp8(FpFormat::E5M2);
}

/// Special bf16 values: both signs of zero, smallest/largest subnormal, smallest normal, one,
/// largest finite, infinity, NaNs with several payloads.
fn bf16_specials() -> Vec<u16> {
    let pos = [
        0x0000, 0x0001, 0x007F, 0x0080, 0x3F80, 0x7F7F, 0x7F80, 0x7FC0, 0x7F81, 0x7FFF, 0x0040,
        0x3F81, 0x4000, 0x1F80, 0x5F80, 0x2000,
    ];
    pos.iter().flat_map(|&v| [v, v | 0x8000]).collect()
}

#[test]
fn bf16_multiplier_specials_and_random_pairs() {
    let f = FpFormat::Bf16;
    let Some(mut pr) = build(f) else { return };
    let sp = bf16_specials();
    for &a in &sp {
        for &b in &sp {
            check_mul(&mut pr, f, a, b, "specials");
        }
    }
    let seed = 0xB16_0001;
    let mut rng = SplitMix64::new(seed);
    for i in 0..1_000_000u32 {
        let (a, b) = if i % 2 == 0 {
            (rng.next_u64() as u16, rng.next_u64() as u16)
        } else {
            // Exponent fields summing near the fp32 underflow (sum - 127 in -30..=2) or overflow
            // (sum - 127 in 250..=256) boundary.
            let ea = rng.range_i64(1, 254);
            let target = if rng.chance(0.5) {
                127 + rng.range_i64(-30, 2)
            } else {
                127 + rng.range_i64(250, 256)
            };
            let eb = (target - ea).clamp(0, 254);
            let frac = |r: &mut SplitMix64| r.below(128) as u16;
            let sign = |r: &mut SplitMix64| if r.chance(0.5) { 0x8000 } else { 0 };
            (
                sign(&mut rng) | (ea as u16) << 7 | frac(&mut rng),
                sign(&mut rng) | (eb as u16) << 7 | frac(&mut rng),
            )
        };
        check_mul(
            &mut pr,
            f,
            a,
            b,
            &format!("random (seed {seed:#x}, pair {i})"),
        );
    }
}

fn f32_specials() -> Vec<u32> {
    let pos = [
        0x0000_0000,
        0x0000_0001,
        0x0000_0002,
        0x007F_FFFF,
        0x0080_0000,
        0x0080_0001,
        0x3F80_0000,
        0x3F80_0001,
        0x3FFF_FFFF,
        0x4B80_0000,
        0x7F00_0000,
        0x7F7F_FFFF,
        0x7F80_0000,
        0x7FC0_0000,
        0x7F80_0001,
        0x7FFF_FFFF,
        0x3380_0000,
        0x3400_0000,
    ];
    pos.iter().flat_map(|&v| [v, v | 0x8000_0000]).collect()
}

#[test]
fn fp32_adder_specials_and_random_pairs() {
    let Some(mut pr) = build(FpFormat::Bf16) else {
        return;
    };
    let sp = f32_specials();
    let mut pairs: Vec<(u32, u32)> = vec![];
    for &x in &sp {
        for &y in &sp {
            pairs.push((x, y));
        }
    }
    let seed = 0xADD_0001;
    let mut rng = SplitMix64::new(seed);
    for i in 0..1_000_000u32 {
        let x = rng.next_u64() as u32;
        let y = match i % 4 {
            // Uniform bit patterns.
            0 => rng.next_u64() as u32,
            // Near cancellation: the negated x with a few low bits changed.
            1 => {
                let span = 1u64 << rng.below(24);
                (x ^ 0x8000_0000) ^ (rng.below(span) as u32)
            }
            // Nearby exponent (within 30 binades), any sign.
            2 => {
                let e = ((x >> 23) & 0xFF) as i64 + rng.range_i64(-30, 30);
                let e = e.clamp(0, 255) as u32;
                (rng.next_u64() as u32 & 0x807F_FFFF) | (e << 23)
            }
            // Subnormal or tiny.
            _ => (rng.next_u64() as u32) & 0x80FF_FFFF,
        };
        let x = if i % 4 == 3 { x & 0x80FF_FFFF } else { x };
        pairs.push((x, y));
    }
    let mut prev: Option<(u32, u32, u32)> = None;
    for (i, &(x, y)) in pairs.iter().enumerate() {
        let want = fp::add(x, y);
        let (s, sq) = pr.add(x, y);
        assert_eq!(
            s, want,
            "pair {i} (seed {seed:#x}): {x:#010x} + {y:#010x}: RTL {s:#010x}, golden {want:#010x}"
        );
        // The pipelined adder registered this pair at the edge: its output is this sum now.
        assert_eq!(
            sq, want,
            "PIPE = 1, pair {i} (seed {seed:#x}): {x:#010x} + {y:#010x}: RTL {sq:#010x}, golden {want:#010x} (previous pair {prev:x?})"
        );
        prev = Some((x, y, want));
    }
}

/// A whole floating-point PE (`systolic_pe` of a 1x1 bf16 design) at pe_latency 1 and 4: one
/// (weight, moving element, partial sum in) triple per cycle, the weight loaded through the
/// load bus and swapped in with the beat; 10% of the beats inactive (masked). `psum_out` must be
/// `add(psum_in, active ? mul(w, x) : +0)`, bit for bit, `pe_latency` cycles after the beat
/// (the partial sum enters `MUL_LAT` cycles after the element, as down a column).
fn pe_random_triples(pe_latency: u32, count: usize) {
    use systolic::config::{Config, Overrides};
    if !common::require_tool("verilator", "pe_random_triples") {
        return;
    }
    let cfg = Config::from_overrides(&Overrides {
        rows: Some(1),
        cols: Some(1),
        format: Some("bf16".into()),
        pe_latency: Some(pe_latency),
        ..Overrides::default()
    })
    .expect("config");
    let f = FpFormat::Bf16;
    let (mul_lat, lat) = (cfg.derived.mul_lat as usize, pe_latency as usize);
    let ports = [
        PortSpec::input("clk", 1),
        PortSpec::input("rst", 1),
        PortSpec::input("x_in", 17),
        PortSpec::input("swap_in", 1),
        PortSpec::input("psum_in", 32),
        PortSpec::input("ld_valid", 1),
        PortSpec::input("ld_row", 1),
        PortSpec::input("ld_data", 16),
        PortSpec::output("psum_out", 32),
    ];
    let mut sim = simulate(
        &format!("fp-pe-l{pe_latency}"),
        &[
            mul_module(f),
            add_module(cfg.derived.add_lat - 1),
            systolic::rtl::core::pe::module(&cfg),
        ],
        "systolic_pe",
        &ports,
    );
    let p = |n: &str| sim.require_port(n).expect("port");
    let (x_in, swap_in, psum_in, ld_valid, ld_data, psum_out) = (
        p("x_in"),
        p("swap_in"),
        p("psum_in"),
        p("ld_valid"),
        p("ld_data"),
        p("psum_out"),
    );
    let rst = p("rst");
    sim.set_bool(rst, true);
    sim.tick();
    sim.set_bool(rst, false);

    // Triples: the specials crossed with a few partial sums, then random ones.
    let seed = 0x9E_0001 + u64::from(pe_latency);
    let mut rng = SplitMix64::new(seed);
    let sp = bf16_specials();
    let psums = f32_specials();
    let mut triples: Vec<(u16, u16, u32, bool)> = vec![];
    for &w in &sp {
        for &x in &sp {
            let ps = psums[rng.below(psums.len() as u64) as usize];
            triples.push((w, x, ps, true));
        }
    }
    while triples.len() < count {
        let w = rng.next_u64() as u16;
        let x = rng.next_u64() as u16;
        let ps = if rng.chance(0.5) {
            rng.next_u64() as u32
        } else {
            // A partial sum of the product's size, so that the addition rounds.
            let e =
                ((w >> 7) & 0xFF) as i64 + ((x >> 7) & 0xFF) as i64 - 127 + rng.range_i64(-3, 3);
            (rng.next_u64() as u32 & 0x807F_FFFF) | ((e.clamp(0, 254) as u32) << 23)
        };
        triples.push((w, x, ps, !rng.chance(0.1)));
    }

    // Cycle t: load w[t+1] into the shadow while the beat of triple t swaps w[t] in; psum_in of
    // triple t is presented in cycle t + MUL_LAT; its sum is on psum_out after edge t + lat - 1.
    sim.set_bool(ld_valid, true);
    sim.set_u64(ld_data, triples[0].0.into());
    sim.set_bool(swap_in, false);
    sim.tick();
    let n = triples.len();
    for t in 0..n + lat {
        if t < n {
            let (_, x, _, act) = triples[t];
            sim.set_u64(x_in, (u64::from(act) << 16) | u64::from(x));
            sim.set_bool(swap_in, true);
            sim.set_u64(ld_data, triples.get(t + 1).map_or(0, |tr| tr.0).into());
        } else {
            sim.set_u64(x_in, 0);
            sim.set_bool(swap_in, false);
        }
        if t >= mul_lat && t - mul_lat < n {
            sim.set_u64(psum_in, triples[t - mul_lat].2.into());
        }
        sim.tick();
        if t + 1 >= lat && t + 1 - lat < n {
            let i = t + 1 - lat;
            let (w, x, ps, act) = triples[i];
            let prod = if act {
                fp::mul(f, w, x)
            } else {
                fp::F32_POS_ZERO
            };
            let want = fp::add(ps, prod);
            let got = sim.get_u64(psum_out) as u32;
            assert_eq!(
                got,
                want,
                "pe_latency {pe_latency}, triple {i} (seed {seed:#x}): psum_in {ps:#010x} + \
                 {}bf16 {w:#06x} * {x:#06x}: RTL {got:#010x}, golden {want:#010x}",
                if act { "" } else { "masked " }
            );
        }
    }
}

#[test]
fn bf16_pe_random_triples_latency_1() {
    pe_random_triples(1, 1_000_000);
}

#[test]
fn bf16_pe_random_triples_latency_4() {
    pe_random_triples(4, 1_000_000);
}
