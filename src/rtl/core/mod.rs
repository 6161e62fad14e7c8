//! The engine core `systolic_top` and the levels inside it:
//!
//! - [`pe`]: one processing element; [`fp`]: its floating-point multiplier and adder (with the
//!   FPGA primitives its multiplier is a DSP block or a carry-chain multiplier, in
//!   [`super::prims`]);
//! - [`column`]: ROWS PEs stacked; [`array`]: COLS columns side by side;
//! - [`skew`], [`deskew`]: the staggering of inputs and the re-alignment of outputs;
//! - [`psum`]: the accumulation buffer and its read port;
//! - [`cmd_queue`]: the MultiplyMoving queue and the moving handshake; [`load_ctl`]: the
//!   LoadStationary controller; [`mv_entry`]: the moving entry register and its masking;
//!   [`ctl_pipe`]: each beat's PSUM control beside its data, the in-flight count;
//! - [`top`]: `systolic_top`, which wires them all ([`widths`]: the parameters it passes down).

pub mod array;
pub mod cmd_queue;
pub mod column;
pub mod ctl_pipe;
pub mod deskew;
pub mod fp;
pub mod load_ctl;
pub mod mv_entry;
pub mod pe;
pub mod psum;
pub mod skew;
pub mod top;
pub mod widths;

use crate::config::{Config, Primitives};

use super::design::{header, Design, Level};
use super::models::SimModel;
use super::prims::{carry_mul, ecp5, ice40};

/// Name of the core's top module.
pub const TOP: &str = "systolic_top";

/// The core design of `cfg`: its modules leaves first, `systolic_top` last.
pub fn design(cfg: &Config) -> Design {
    let d = &cfg.derived;
    let mut modules = vec![];
    let mut models = vec![];
    if let Some(f) = cfg.format.float() {
        modules.push(fp::mul_module(f));
        modules.push(fp::add_module(d.add_lat - 1));
    }
    match cfg.primitives {
        Primitives::Ecp5 => {
            modules.push(ecp5::module());
            modules.push(carry_mul::ecp5_module());
            models.extend([SimModel::Ecp5Cells, SimModel::Ecp5Carry]);
        }
        Primitives::Ice40 => {
            modules.push(ice40::module());
            modules.push(carry_mul::ice40_module());
            models.push(SimModel::Ice40Cells);
        }
        Primitives::Generic => {}
    }
    if d.psum_ram_ecp5 != 0 {
        modules.push(ecp5::ram_module());
    }
    modules.extend([
        pe::module(cfg),
        column::module(cfg),
        array::module(cfg),
        // The skew's defaults are those of its moving-data instance (lane = row).
        skew::module(
            cfg.rows,
            d.data_w + u32::from(cfg.format.is_float()) + 1,
            d.add_lat,
            cfg.tile_cols > 1,
        ),
        deskew::module(cfg.cols, d.acc_w, cfg.tile_cols > 1),
        psum::module(cfg),
        cmd_queue::module(cfg),
        load_ctl::module(cfg),
        mv_entry::module(cfg),
        ctl_pipe::module(cfg),
        top::module(cfg),
    ]);
    Design {
        config: cfg.clone(),
        level: Level::Core,
        header: header(cfg),
        modules,
        models,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;
    use crate::rtl::design::header_hash;

    fn cfg(rows: u32, cols: u32, banks: u32, depth: u32) -> Config {
        Config::from_raw(&RawConfig {
            name: "t".into(),
            rows,
            cols,
            format: "int8".into(),
            acc_bits: 32,
            psum_banks: banks,
            psum_depth: depth,
            sbuf_depth: 1024,
            pe_latency: 1,
            primitives: Default::default(),
            dsp_cols: None,
            psum_split: false,
            sbuf_layout: Default::default(),
            tile_cols: 1,
            keep_tokens: false,
            ..RawConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn every_file_header_names_the_config_hash() {
        let c = cfg(3, 4, 2, 16);
        for (name, text) in design(&c).files() {
            assert_eq!(header_hash(&text), Some(c.hash().as_str()), "{name}");
        }
        assert_eq!(header_hash("module m;\nendmodule\n"), None);
    }

    #[test]
    fn verilog_widths_match_rust_derived_widths() {
        for (r, c, b, d) in [
            (1, 1, 1, 2),
            (3, 5, 2, 16),
            (4, 4, 3, 64),
            (8, 1, 8, 512),
            (128, 128, 8, 512),
            (2, 9, 5, 4096),
        ] {
            let cfg = cfg(r, c, b, d);
            let ports = design(&cfg).top_ports();
            let width = |n: &str| ports.iter().find(|p| p.name == n).unwrap().width;
            assert_eq!(width("mm_k"), cfg.derived.k_w, "{r}x{c}");
            assert_eq!(width("mm_m"), cfg.derived.m_w);
            assert_eq!(width("mm_n"), cfg.derived.n_w);
            assert_eq!(width("mm_bank"), cfg.derived.bank_w);
            assert_eq!(width("mm_offset"), cfg.derived.addr_w);
            assert_eq!(width("mv_data"), r * 8);
            assert_eq!(width("ls_data"), c * 8);
            assert_eq!(width("rdata"), c * 32);
        }
    }

    #[test]
    fn output_is_deterministic() {
        let a = design(&cfg(3, 5, 2, 16)).files();
        let b = design(&cfg(3, 5, 2, 16)).files();
        assert_eq!(a, b);
        assert_eq!(a.len(), 11);
        for (_, text) in &a {
            assert!(!text.contains("$display"));
        }
    }
}
