//! The generated integer PE (`systolic_pe` of a 1x1 design, LUT multiplier) in Verilator, at
//! every pe_latency, against plain integer arithmetic: `psum_out = psum_in + x * w` modulo
//! `2^PS_W`, `pe_latency` cycles after the beat. The split multipliers (pe_latency 4: two
//! halves of the weight; 5: four quarters, then the halves) are where the bit slicing can go
//! wrong, so formats of up to 8 bits take every (weight, element) pair, wider ones random
//! pairs and the extremes; odd widths split unevenly. The `primitives = "ice40"` PE of a LUT
//! column (`USE_DSP` 0: the carry-chain multiplier `systolic_mul_lut_ice40`, on the RTL models
//! of SB_LUT4 and SB_CARRY) takes every pair of every width it allows (2 to 8 bits, signed and
//! unsigned: the sign rows and the top cell differ by width); so does the `"ecp5"` one
//! (`systolic_mul_lut_ecp5` on the RTL model of CCU2C; int16 on random pairs), at pe_latency 4
//! with its register after row W/2. One pair per cycle, each beat
//! swapping in the weight loaded during the previous one. A mismatch prints the operands, both
//! results and the seed.

mod common;

use std::path::PathBuf;

use systolic::config::{Config, Overrides, Primitives};
use systolic::cosim::verilator::{self, BuildSpec, PortSpec};
use systolic::program::SplitMix64;
use systolic::rtl::models::SimModel;
use systolic::verilog::print_module;

fn pe_pairs(format: &str, pe_latency: u32) {
    pe_pairs_with(format, pe_latency, None)
}

/// `carry`: the PE of those FPGA primitives with `USE_DSP` 0 (their carry-chain multiplier).
fn pe_pairs_with(format: &str, pe_latency: u32, carry: Option<Primitives>) {
    let lut_ice40 = carry == Some(Primitives::Ice40);
    if !common::require_tool("verilator", "pe_pairs_with") {
        return;
    }
    let cfg = Config::from_overrides(&Overrides {
        rows: Some(1),
        cols: Some(1),
        format: Some(format.into()),
        pe_latency: Some(pe_latency),
        primitives: carry,
        dsp_cols: carry.map(|_| 0),
        ..Overrides::default()
    })
    .expect("config");
    let (d, signed) = (cfg.derived.data_w, cfg.format.is_signed());
    let ps_w = cfg.derived.ps_w;
    let (mul_lat, lat) = (cfg.derived.mul_lat as usize, pe_latency as usize);
    let row_w = cfg.derived.row_w;

    let tag = format!(
        "int-pe-{format}-l{pe_latency}{}",
        carry.map_or(String::new(), |p| format!("-carry-{p}"))
    );
    let dir = common::scratch_dir(&tag);
    let mut modules = vec![systolic::rtl::core::pe::module(&cfg)];
    match carry {
        Some(Primitives::Ice40) => {
            modules.push(systolic::rtl::prims::ice40::module());
            modules.push(systolic::rtl::prims::carry_mul::ice40_module());
        }
        Some(_) => {
            modules.push(systolic::rtl::prims::ecp5::module());
            modules.push(systolic::rtl::prims::carry_mul::ecp5_module());
        }
        None => {}
    }
    let mut sources: Vec<PathBuf> = vec![];
    for module in &modules {
        let path = dir.join(format!("{}.v", module.name));
        std::fs::write(
            &path,
            print_module(&[format!("int_pe test: {tag}")], module),
        )
        .expect("write source");
        sources.push(path);
    }
    let models = match carry {
        Some(Primitives::Ice40) => vec![SimModel::Ice40Cells],
        Some(_) => vec![SimModel::Ecp5Cells, SimModel::Ecp5Carry],
        None => vec![],
    };
    for (name, text) in models.into_iter().map(SimModel::file) {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write models");
        sources.push(path);
    }
    let extra_args: Vec<String> = if carry.is_some() {
        vec!["-GUSE_DSP=0".into()]
    } else {
        vec![]
    };
    let ports = [
        PortSpec::input("clk", 1),
        PortSpec::input("rst", 1),
        PortSpec::input("x_in", d),
        PortSpec::input("swap_in", 1),
        PortSpec::input("psum_in", ps_w),
        PortSpec::input("ld_valid", 1),
        PortSpec::input("ld_row", row_w),
        PortSpec::input("ld_data", d),
        PortSpec::output("psum_out", ps_w),
    ]
    .into_iter()
    // The ice40 PE's DSP-block ports (unused with USE_DSP 0; dsp_p stays 0).
    .chain(
        lut_ice40
            .then(|| {
                [
                    PortSpec::output("dsp_x", d),
                    PortSpec::output("dsp_w", d),
                    PortSpec::input("dsp_p", 2 * d),
                ]
            })
            .into_iter()
            .flatten(),
    )
    .collect::<Vec<_>>();
    let model = verilator::build(
        &BuildSpec {
            top: "systolic_pe",
            sources: &sources,
            ports: &ports,
            trace: false,
            fst: false,
            threads: 1,
            extra_args: &extra_args,
        },
        &verilator::default_cache_root(),
    )
    .unwrap_or_else(|e| panic!("build {tag}: {e}"));
    let mut sim = model.instantiate().expect("instantiate");
    let p = |n: &str| sim.require_port(n).expect("port");
    let (x_in, swap_in, psum_in, ld_valid, ld_data, psum_out, rst) = (
        p("x_in"),
        p("swap_in"),
        p("psum_in"),
        p("ld_valid"),
        p("ld_data"),
        p("psum_out"),
        p("rst"),
    );

    // The operand range of the format, and its bit patterns.
    let (lo, hi) = if signed {
        (-(1i64 << (d - 1)), (1i64 << (d - 1)) - 1)
    } else {
        (0, (1i64 << d) - 1)
    };
    let bits = |v: i64| (v as u64) & ((1u64 << d) - 1);
    let ps_mask = if ps_w == 64 {
        u64::MAX
    } else {
        (1u64 << ps_w) - 1
    };
    let seed = 0x1_7E00 + u64::from(d) * 8 + u64::from(pe_latency);
    let mut rng = SplitMix64::new(seed);
    let mut pairs: Vec<(i64, i64)> = vec![];
    if d <= 8 {
        for w in lo..=hi {
            for x in lo..=hi {
                pairs.push((w, x));
            }
        }
    } else {
        let ext = [lo, lo + 1, (-1i64).max(lo), 0, 1, hi - 1, hi];
        for &w in &ext {
            for &x in &ext {
                pairs.push((w, x));
            }
        }
        while pairs.len() < 200_000 {
            pairs.push((rng.range_i64(lo, hi), rng.range_i64(lo, hi)));
        }
    }
    let triples: Vec<(i64, i64, u64)> = pairs
        .iter()
        .map(|&(w, x)| (w, x, rng.next_u64() & ps_mask))
        .collect();

    sim.set_bool(rst, true);
    sim.tick();
    sim.set_bool(rst, false);
    // Cycle t: load w[t+1] into the shadow while the beat of triple t swaps w[t] in; psum_in of
    // triple t is presented in cycle t + MUL_LAT; its sum is on psum_out after edge t + lat - 1.
    sim.set_bool(ld_valid, true);
    sim.set_u64(ld_data, bits(triples[0].0));
    sim.set_bool(swap_in, false);
    sim.tick();
    let n = triples.len();
    for t in 0..n + lat {
        if t < n {
            sim.set_u64(x_in, bits(triples[t].1));
            sim.set_bool(swap_in, true);
            sim.set_u64(ld_data, triples.get(t + 1).map_or(0, |tr| bits(tr.0)));
        } else {
            sim.set_u64(x_in, 0);
            sim.set_bool(swap_in, false);
        }
        if t >= mul_lat && t - mul_lat < n {
            sim.set_u64(psum_in, triples[t - mul_lat].2);
        }
        sim.tick();
        if t + 1 >= lat && t + 1 - lat < n {
            let i = t + 1 - lat;
            let (w, x, ps) = triples[i];
            let want = ps.wrapping_add((w * x) as u64) & ps_mask;
            let got = sim.get_u64(psum_out);
            assert_eq!(
                got, want,
                "{format} pe_latency {pe_latency}, pair {i} (seed {seed:#x}): psum_in {ps:#x} + \
                 w {w} * x {x}: RTL {got:#x}, expected {want:#x}"
            );
        }
    }
    // The test itself: the format's extremes were among the pairs.
    assert!(pairs.contains(&(lo, lo)) && pairs.contains(&(hi, lo)));
}

macro_rules! pe_case {
    ($name:ident, $format:expr, $lat:expr) => {
        #[test]
        fn $name() {
            pe_pairs($format, $lat);
        }
    };
}

pe_case!(int8_l1_every_pair, "int8", 1);
pe_case!(int8_l4_every_pair, "int8", 4);
pe_case!(int8_l5_every_pair, "int8", 5);
pe_case!(uint8_l4_every_pair, "uint8", 4);
pe_case!(uint8_l5_every_pair, "uint8", 5);
pe_case!(int5_l5_every_pair, "int5", 5);
pe_case!(uint7_l5_every_pair, "uint7", 5);
pe_case!(int4_l5_every_pair, "int4", 5);
pe_case!(int16_l5_random_pairs, "int16", 5);
pe_case!(uint13_l5_random_pairs, "uint13", 5);

macro_rules! lut_ice40_case {
    ($name:ident, $format:expr, $lat:expr) => {
        #[test]
        fn $name() {
            pe_pairs_with($format, $lat, Some(Primitives::Ice40));
        }
    };
}

lut_ice40_case!(ice40_lut_int8_l2_every_pair, "int8", 2);
lut_ice40_case!(ice40_lut_int8_l4_every_pair, "int8", 4);
lut_ice40_case!(ice40_lut_uint8_l3_every_pair, "uint8", 3);
lut_ice40_case!(ice40_lut_int7_l3_every_pair, "int7", 3);
lut_ice40_case!(ice40_lut_uint5_l2_every_pair, "uint5", 2);
lut_ice40_case!(ice40_lut_int3_l2_every_pair, "int3", 2);
lut_ice40_case!(ice40_lut_int2_l3_every_pair, "int2", 3);
lut_ice40_case!(ice40_lut_uint2_l2_every_pair, "uint2", 2);
// pe_latency 4: a register after row W/2 inside the multiplier (odd widths split unevenly;
// int2 registers the inverted row 0).
lut_ice40_case!(ice40_lut_int7_l4_every_pair, "int7", 4);
lut_ice40_case!(ice40_lut_uint5_l4_every_pair, "uint5", 4);
lut_ice40_case!(ice40_lut_int3_l4_every_pair, "int3", 4);
lut_ice40_case!(ice40_lut_int2_l4_every_pair, "int2", 4);

macro_rules! carry_ecp5_case {
    ($name:ident, $format:expr, $lat:expr) => {
        #[test]
        fn $name() {
            pe_pairs_with($format, $lat, Some(Primitives::Ecp5));
        }
    };
}

carry_ecp5_case!(ecp5_carry_int8_l2_every_pair, "int8", 2);
carry_ecp5_case!(ecp5_carry_int8_l4_every_pair, "int8", 4);
carry_ecp5_case!(ecp5_carry_uint8_l3_every_pair, "uint8", 3);
carry_ecp5_case!(ecp5_carry_int7_l3_every_pair, "int7", 3);
carry_ecp5_case!(ecp5_carry_uint5_l2_every_pair, "uint5", 2);
carry_ecp5_case!(ecp5_carry_int2_l3_every_pair, "int2", 3);
carry_ecp5_case!(ecp5_carry_uint2_l2_every_pair, "uint2", 2);
carry_ecp5_case!(ecp5_carry_int16_l3_random_pairs, "int16", 3);
carry_ecp5_case!(ecp5_carry_int7_l4_every_pair, "int7", 4);
carry_ecp5_case!(ecp5_carry_uint5_l4_every_pair, "uint5", 4);
carry_ecp5_case!(ecp5_carry_int2_l4_every_pair, "int2", 4);
carry_ecp5_case!(ecp5_carry_int16_l4_random_pairs, "int16", 4);
