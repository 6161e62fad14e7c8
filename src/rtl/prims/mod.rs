//! Vendor primitives in the generated RTL (only with `primitives = "ecp5"` / `"ice40"`):
//! [`ecp5`]: the ECP5 MULT18X18D multiplier and DP16KD PSUM RAM with their own registers;
//! [`ice40`]: two multipliers on one iCE40 UltraPlus SB_MAC16; [`carry_mul`]: array multipliers
//! on either family's carry chains, for the columns past `dsp_cols`.

pub mod carry_mul;
pub mod ecp5;
pub mod ice40;

use crate::verilog::{concat, id, int, repeat, wire_init, Item};

/// `<name><bits>`: the `W`-bit operand `name` sign-extended (when `SIGNED`) or zero-extended to
/// a DSP block's `bits`-bit input (`systolic_mul_ecp5`, `systolic_mul2_ice40`).
pub(crate) fn extend_operand(name: &str, bits: i64) -> Item {
    wire_init(
        &format!("{name}{bits}"),
        Some(int(bits)),
        concat(vec![
            repeat(
                int(bits) - id("W"),
                id("SIGNED")
                    .ne(int(0))
                    .bit_and(id(name).at(id("W") - int(1))),
            ),
            id(name),
        ]),
    )
}
