//! `systolic_deskew`: undoes the skew of the array's outputs, so that a whole output vector
//! (one moving column's results, one value per array column) leaves in the same cycle.
//!
//! Timing contract:
//! - Latency: lane `i` of `in_lanes` appears on `out_lanes` exactly `LANES-1-i` cycles later; the
//!   last lane is a wire. Column `c` of the array produces its result `c` cycles after column 0,
//!   so after the deskew all columns of one result vector are aligned.
//! - Registered: `LANES-1-i` stages of `W` bits for lane `i`. Data only: no reset (the valid bit
//!   travels in the top level's control pipe, which is reset).
//! - No handshake: a fixed delay that never stalls.
//! - With `GROUP` (generated when the array has tiles of more than one column, whose columns
//!   deliver in the same cycle): lane `i` is delayed `(LANES-1)/GROUP - i/GROUP` cycles.

use super::skew::{delay_line, group_param};
use crate::verilog::*;

/// `grouped`: with the `GROUP` parameter (default 1).
pub fn module(lanes: u32, lane_w: u32, grouped: bool) -> Module {
    let delay = if grouped {
        id("LANES")
            .sub(int(1))
            .div(id("GROUP"))
            .sub(id("i").div(id("GROUP")))
    } else {
        id("LANES").sub(int(1)).sub(id("i"))
    };
    Module {
        name: "systolic_deskew".into(),
        doc: vec![
            "Deskew: lane i of in_lanes appears on out_lanes LANES-1-i cycles later (last lane is a wire).".into(),
            "Registered: LANES-1-i stages of W bits for lane i; data only, no reset.".into(),
            "No handshake: a fixed delay that never stalls.".into(),
        ],
        params: vec![param("LANES", lanes.into(), "number of lanes"), param("W", lane_w.into(), "bits per lane")]
            .into_iter()
            .chain(grouped.then(group_param))
            .collect(),
        ports: vec![
            input("clk", None, "unused when LANES == 1").waive("UNUSED"),
            input("in_lanes", Some(id("LANES").mul(id("W"))), "lane i in bits [i*W +: W]"),
            output("out_lanes", Some(id("LANES").mul(id("W"))), "lane i delayed by LANES-1-i cycles"),
        ],
        items: vec![gen_for(
            "i",
            int(0),
            id("LANES"),
            "g_lane",
            delay_line(
                delay,
                id("in_lanes"),
                id("out_lanes"),
                id("i").mul(id("W")),
                id("W"),
                false,
            ),
        )],
    }
}
