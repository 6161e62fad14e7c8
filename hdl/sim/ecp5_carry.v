// Simulation model of the ECP5 CCU2C (two LUT4s on the carry chain) for simulating RTL generated
// with `primitives = "ecp5"`, whose LUT columns instantiate it (src/rtl/carry_mul.rs,
// `systolic_mul_lut_ecp5`). A netlist is simulated with Yosys' own model instead (its
// cells_sim_ecp5.v includes one), so the two check each other through the post-synthesis
// co-simulation; this file is kept apart from ecp5_cells.v for that reason.
//
// Each half h: its LUT4 Z = INIT[{D, C, B, A}] is the propagate signal; with INJECT1_h "NO" the
// sum is S = Z ^ carry-in and the carry out Z ? carry-in : G, where G is the LUT at C = D = 0
// (INIT[{B, A}]); with "YES" the half takes no carry (S = Z, carry out Z & carry-in). Half 0
// takes CIN, half 1 half 0's carry, and COUT is half 1's.
//
// Written for this project from the CCU2C description in Lattice's ECP5 library (pins,
// parameters, the carry and sum of each half).

/* verilator lint_off DECLFILENAME */
/* verilator lint_off UNUSEDPARAM */
// INJECT1_* are strings ("YES", "NO") of different lengths.
/* verilator lint_off WIDTH */

module CCU2C #(
  parameter [15:0] INIT0 = 16'h0000,
  parameter [15:0] INIT1 = 16'h0000,
  parameter INJECT1_0 = "YES",
  parameter INJECT1_1 = "YES"
) (
  input CIN,
  input A0,
  input B0,
  input C0,
  input D0,
  input A1,
  input B1,
  input C1,
  input D1,
  output S0,
  output S1,
  output COUT
);
  wire z0 = INIT0[{D0, C0, B0, A0}];
  wire g0 = INIT0[{2'b00, B0, A0}];
  wire c0 = INJECT1_0 == "YES" ? 1'b0 : CIN;
  assign S0 = z0 ^ c0;
  wire co0 = z0 ? CIN : (INJECT1_0 == "YES" ? 1'b0 : g0);

  wire z1 = INIT1[{D1, C1, B1, A1}];
  wire g1 = INIT1[{2'b00, B1, A1}];
  wire c1 = INJECT1_1 == "YES" ? 1'b0 : co0;
  assign S1 = z1 ^ c1;
  assign COUT = z1 ? co0 : (INJECT1_1 == "YES" ? 1'b0 : g1);
endmodule
