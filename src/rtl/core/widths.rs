//! The sizes, widths and latencies that `systolic_top` declares and passes down to its parts
//! (command queue, load controller, moving entry, control pipeline): one name, one default and
//! one meaning for all of them.

use crate::config::Config;
use crate::verilog::*;

/// Parameters `names` of the core's parts, with `cfg`'s values as defaults (the sizes, widths
/// and latencies that `systolic_top` declares and passes down).
pub fn core_params(cfg: &Config, names: &[&str]) -> Vec<Param> {
    let d = &cfg.derived;
    names
        .iter()
        .map(|&name| {
            let (value, comment) = match name {
                "ROWS" => (cfg.rows, "array rows"),
                "COLS" => (cfg.cols, "array columns"),
                "DATA_W" => (d.data_w, "bits of one input element"),
                "X_W" => (
                    d.data_w + u32::from(cfg.format.is_float()),
                    "bits of a moving lane (floating point: an active bit above the element)",
                ),
                "ROW_W" => (d.row_w, "bits of a row index"),
                "K_W" => (d.k_w, "bits of a K count 1..ROWS"),
                "M_W" => (d.m_w, "bits of an M count 1..COLS"),
                "N_W" => (d.n_w, "bits of an N count 1..PSUM_DEPTH"),
                "BANK_W" => (d.bank_w, "bits of a bank number"),
                "ADDR_W" => (d.addr_w, "bits of an address in a bank"),
                "ADD_LAT" => (d.add_lat, "cycles per row of the partial-sum chain"),
                other => panic!("no core parameter {other}"),
            };
            param(name, value.into(), comment)
        })
        .collect()
}
