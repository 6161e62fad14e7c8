// Simulation models of the PLL primitives the board top's clock module instantiates
// (src/rtl/clock.rs): iCE40 SB_PLL40_PAD and SB_PLL40_CORE, ECP5 EHXPLLL. Yosys ships all three
// as black boxes only (share/ice40/cells_sim.v, share/lattice/cells_bb_ecp5.v).
//
// THEY MODEL CYCLES, NOT FREQUENCY. The output clock is the reference clock itself (one core
// cycle per reference cycle, whatever the dividers say), and LOCK rises after LOCK_CYCLES
// reference cycles (and falls while the PLL is held in reset). A simulation with them checks
// that the design is clocked from the PLL's output and held in reset until LOCK; it says nothing
// about the output frequency, the lock time, jitter or the clock-domain crossing of LOCK. The
// frequency is the divider search's (src/pll.rs, unit-tested against the data-sheet formulas,
// icepll and ecppll) and nextpnr times the design at it.
//
// Each model accepts only the configuration the clock module gives it (iCE40: SIMPLE feedback,
// PLLOUT_SELECT GENCLK; ECP5: feedback from CLKOP, CLKOP enabled) and refuses to elaborate any
// other (it instantiates a module that does not exist). Written for this project; the pins and
// parameters are those of the Yosys 0.70 black boxes.

// A model of vendor primitives: every pin and parameter is declared whether it is used or not,
// and three modules share the file.
/* verilator lint_off DECLFILENAME */
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */
/* verilator lint_off MULTITOP */

// The lock counter shared by the three models: LOCK after LOCK_CYCLES rising edges of `ref_clk`
// with `run` high; low again while `run` is low.
module systolic_pll_model_lock #(
  parameter integer LOCK_CYCLES = 8
) (
  input  wire ref_clk,
  input  wire run,
  output wire lock
);
  reg [7:0] count = 8'd0;
  always @(posedge ref_clk) begin
    if (!run) begin
      count <= 8'd0;
    end else if (count != LOCK_CYCLES[7:0]) begin
      count <= count + 8'd1;
    end
  end
  assign lock = count == LOCK_CYCLES[7:0];
endmodule

module SB_PLL40_PAD #(
  parameter FEEDBACK_PATH = "SIMPLE",
  parameter DELAY_ADJUSTMENT_MODE_FEEDBACK = "FIXED",
  parameter DELAY_ADJUSTMENT_MODE_RELATIVE = "FIXED",
  parameter SHIFTREG_DIV_MODE = 1'b0,
  parameter FDA_FEEDBACK = 4'b0000,
  parameter FDA_RELATIVE = 4'b0000,
  parameter PLLOUT_SELECT = "GENCLK",
  parameter DIVR = 4'b0000,
  parameter DIVF = 7'b0000000,
  parameter DIVQ = 3'b000,
  parameter FILTER_RANGE = 3'b000,
  parameter ENABLE_ICEGATE = 1'b0,
  parameter TEST_MODE = 1'b0,
  parameter EXTERNAL_DIVIDE_FACTOR = 1
) (
  input  wire PACKAGEPIN,
  output wire PLLOUTCORE,
  output wire PLLOUTGLOBAL,
  input  wire EXTFEEDBACK,
  input  wire [7:0] DYNAMICDELAY,
  output wire LOCK,
  input  wire BYPASS,
  input  wire RESETB,
  input  wire LATCHINPUTVALUE,
  output wire SDO,
  input  wire SDI,
  input  wire SCLK
);
  generate
    if (FEEDBACK_PATH != "SIMPLE" || PLLOUT_SELECT != "GENCLK") begin : g_unsupported
      SB_PLL40_PAD_configuration_not_modelled unsupported ();
    end
  endgenerate
  assign PLLOUTCORE = PACKAGEPIN;
  assign PLLOUTGLOBAL = PACKAGEPIN;
  assign SDO = 1'b0;
  systolic_pll_model_lock u_lock (.ref_clk(PACKAGEPIN), .run(RESETB), .lock(LOCK));
endmodule

module SB_PLL40_CORE #(
  parameter FEEDBACK_PATH = "SIMPLE",
  parameter DELAY_ADJUSTMENT_MODE_FEEDBACK = "FIXED",
  parameter DELAY_ADJUSTMENT_MODE_RELATIVE = "FIXED",
  parameter SHIFTREG_DIV_MODE = 1'b0,
  parameter FDA_FEEDBACK = 4'b0000,
  parameter FDA_RELATIVE = 4'b0000,
  parameter PLLOUT_SELECT = "GENCLK",
  parameter DIVR = 4'b0000,
  parameter DIVF = 7'b0000000,
  parameter DIVQ = 3'b000,
  parameter FILTER_RANGE = 3'b000,
  parameter ENABLE_ICEGATE = 1'b0,
  parameter TEST_MODE = 1'b0,
  parameter EXTERNAL_DIVIDE_FACTOR = 1
) (
  input  wire REFERENCECLK,
  output wire PLLOUTCORE,
  output wire PLLOUTGLOBAL,
  input  wire EXTFEEDBACK,
  input  wire [7:0] DYNAMICDELAY,
  output wire LOCK,
  input  wire BYPASS,
  input  wire RESETB,
  input  wire LATCHINPUTVALUE,
  output wire SDO,
  input  wire SDI,
  input  wire SCLK
);
  generate
    if (FEEDBACK_PATH != "SIMPLE" || PLLOUT_SELECT != "GENCLK") begin : g_unsupported
      SB_PLL40_CORE_configuration_not_modelled unsupported ();
    end
  endgenerate
  assign PLLOUTCORE = REFERENCECLK;
  assign PLLOUTGLOBAL = REFERENCECLK;
  assign SDO = 1'b0;
  systolic_pll_model_lock u_lock (.ref_clk(REFERENCECLK), .run(RESETB), .lock(LOCK));
endmodule

module EHXPLLL #(
  parameter CLKI_DIV = 1,
  parameter CLKFB_DIV = 1,
  parameter CLKOP_DIV = 8,
  parameter CLKOS_DIV = 8,
  parameter CLKOS2_DIV = 8,
  parameter CLKOS3_DIV = 8,
  parameter CLKOP_ENABLE = "ENABLED",
  parameter CLKOS_ENABLE = "DISABLED",
  parameter CLKOS2_ENABLE = "DISABLED",
  parameter CLKOS3_ENABLE = "DISABLED",
  parameter CLKOP_CPHASE = 0,
  parameter CLKOS_CPHASE = 0,
  parameter CLKOS2_CPHASE = 0,
  parameter CLKOS3_CPHASE = 0,
  parameter CLKOP_FPHASE = 0,
  parameter CLKOS_FPHASE = 0,
  parameter CLKOS2_FPHASE = 0,
  parameter CLKOS3_FPHASE = 0,
  parameter FEEDBK_PATH = "CLKOP",
  parameter CLKOP_TRIM_POL = "RISING",
  parameter CLKOP_TRIM_DELAY = 0,
  parameter CLKOS_TRIM_POL = "RISING",
  parameter CLKOS_TRIM_DELAY = 0,
  parameter OUTDIVIDER_MUXA = "DIVA",
  parameter OUTDIVIDER_MUXB = "DIVB",
  parameter OUTDIVIDER_MUXC = "DIVC",
  parameter OUTDIVIDER_MUXD = "DIVD",
  parameter PLL_LOCK_MODE = 0,
  parameter PLL_LOCK_DELAY = 200,
  parameter STDBY_ENABLE = "DISABLED",
  parameter REFIN_RESET = "DISABLED",
  parameter SYNC_ENABLE = "DISABLED",
  parameter INT_LOCK_STICKY = "ENABLED",
  parameter DPHASE_SOURCE = "DISABLED",
  parameter PLLRST_ENA = "DISABLED",
  parameter INTFB_WAKE = "DISABLED"
) (
  input  wire CLKI,
  input  wire CLKFB,
  input  wire PHASESEL1,
  input  wire PHASESEL0,
  input  wire PHASEDIR,
  input  wire PHASESTEP,
  input  wire PHASELOADREG,
  input  wire STDBY,
  input  wire PLLWAKESYNC,
  input  wire RST,
  input  wire ENCLKOP,
  input  wire ENCLKOS,
  input  wire ENCLKOS2,
  input  wire ENCLKOS3,
  output wire CLKOP,
  output wire CLKOS,
  output wire CLKOS2,
  output wire CLKOS3,
  output wire LOCK,
  output wire INTLOCK,
  output wire REFCLK,
  output wire CLKINTFB
);
  generate
    if (FEEDBK_PATH != "CLKOP" || CLKOP_ENABLE != "ENABLED" || CLKOS_ENABLE != "DISABLED"
        || CLKOS2_ENABLE != "DISABLED" || CLKOS3_ENABLE != "DISABLED") begin : g_unsupported
      EHXPLLL_configuration_not_modelled unsupported ();
    end
  endgenerate
  assign CLKOP = CLKI;
  assign CLKOS = 1'b0;
  assign CLKOS2 = 1'b0;
  assign CLKOS3 = 1'b0;
  assign REFCLK = CLKI;
  assign CLKINTFB = 1'b0;
  assign INTLOCK = LOCK;
  systolic_pll_model_lock u_lock (.ref_clk(CLKI), .run(!RST && !STDBY), .lock(LOCK));
endmodule
