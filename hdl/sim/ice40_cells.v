// Simulation models of the iCE40 cells RTL generated with `primitives = "ice40"` instantiates:
// SB_LUT4 and SB_CARRY (the carry-chain multipliers of src/rtl/ice40_lut.rs, every iCE40), and
// the iCE40 UltraPlus SB_MAC16 in the one configuration RTL generated with
// `primitives = "ice40"` gives it (src/rtl/ice40.rs, `systolic_mul2_ice40`): dual 8x8 mode
// (MODE_8x8 = 1), both 8x8 products registered (TOP_8x8_MULT_REG = BOT_8x8_MULT_REG = 1) and
// selected to the outputs (TOPOUTPUT_SELECT = BOTOUTPUT_SELECT = 2), the A and B input registers
// both used or both bypassed, C and D registers and the 16x16 pipeline registers unused.
// O[15:0] = A[7:0] * B[7:0] and O[31:16] = A[15:8] * B[15:8], each 16 bits, the operands
// signed when A_SIGNED / B_SIGNED. Registers load at rising CLK edges with CE high, unless
// AHOLD / BHOLD; IRSTTOP clears the top input and product registers, IRSTBOT the bottom ones
// (asynchronous). The accumulators, the output registers and the carry and cascade ports are not
// modelled: any other configuration refuses to elaborate (it instantiates a module that does not
// exist), so a design that uses the block differently fails to build instead of simulating
// something else.
//
// SB_LUT4: O = LUT_INIT[{I3, I2, I1, I0}]. SB_CARRY: CO = majority(I0, I1, CI).
//
// Written for this project from the SB_MAC16 description in Lattice's iCE technology library
// (ports, parameters, the dual 8x8 mode); a netlist is simulated with Yosys' own cells_sim.v
// instead, so the two models check each other through the post-synthesis co-simulation.

// A model of a vendor primitive: every pin and parameter is declared whether this project uses
// it or not, and the file is not named after it.
/* verilator lint_off DECLFILENAME */
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */

module SB_MAC16 #(
  parameter [0:0] NEG_TRIGGER = 1'b0,
  parameter [0:0] C_REG = 1'b0,
  parameter [0:0] A_REG = 1'b0,
  parameter [0:0] B_REG = 1'b0,
  parameter [0:0] D_REG = 1'b0,
  parameter [0:0] TOP_8x8_MULT_REG = 1'b0,
  parameter [0:0] BOT_8x8_MULT_REG = 1'b0,
  parameter [0:0] PIPELINE_16x16_MULT_REG1 = 1'b0,
  parameter [0:0] PIPELINE_16x16_MULT_REG2 = 1'b0,
  parameter [1:0] TOPOUTPUT_SELECT = 2'd0,
  parameter [1:0] TOPADDSUB_LOWERINPUT = 2'd0,
  parameter [0:0] TOPADDSUB_UPPERINPUT = 1'b0,
  parameter [1:0] TOPADDSUB_CARRYSELECT = 2'd0,
  parameter [1:0] BOTOUTPUT_SELECT = 2'd0,
  parameter [1:0] BOTADDSUB_LOWERINPUT = 2'd0,
  parameter [0:0] BOTADDSUB_UPPERINPUT = 1'b0,
  parameter [1:0] BOTADDSUB_CARRYSELECT = 2'd0,
  parameter [0:0] MODE_8x8 = 1'b0,
  parameter [0:0] A_SIGNED = 1'b0,
  parameter [0:0] B_SIGNED = 1'b0
) (
  input  wire        CLK,
  input  wire        CE,
  input  wire [15:0] C,
  input  wire [15:0] A,
  input  wire [15:0] B,
  input  wire [15:0] D,
  input  wire        AHOLD, BHOLD, CHOLD, DHOLD,
  input  wire        IRSTTOP, IRSTBOT, ORSTTOP, ORSTBOT,
  input  wire        OLOADTOP, OLOADBOT, ADDSUBTOP, ADDSUBBOT, OHOLDTOP, OHOLDBOT,
  input  wire        CI, ACCUMCI, SIGNEXTIN,
  output wire [31:0] O,
  output wire        CO, ACCUMCO, SIGNEXTOUT
);
  localparam MODELLED = MODE_8x8 == 1'b1 && NEG_TRIGGER == 1'b0 && A_REG == B_REG
    && C_REG == 1'b0 && D_REG == 1'b0 && TOP_8x8_MULT_REG == 1'b1 && BOT_8x8_MULT_REG == 1'b1
    && PIPELINE_16x16_MULT_REG1 == 1'b0 && PIPELINE_16x16_MULT_REG2 == 1'b0
    && TOPOUTPUT_SELECT == 2'd2 && BOTOUTPUT_SELECT == 2'd2;
  generate
    if (!MODELLED) begin : g_unsupported
      SB_MAC16_configuration_not_modelled unsupported ();
    end
  endgenerate

  // Input registers (16 bits each, both halves): A cleared by IRSTTOP, B by IRSTBOT.
  reg [15:0] a_q = 16'd0;
  reg [15:0] b_q = 16'd0;
  always @(posedge CLK or posedge IRSTTOP) begin
    if (IRSTTOP) a_q <= 16'd0;
    else if (CE && !AHOLD) a_q <= A;
  end
  always @(posedge CLK or posedge IRSTBOT) begin
    if (IRSTBOT) b_q <= 16'd0;
    else if (CE && !BHOLD) b_q <= B;
  end
  wire [15:0] a = A_REG ? a_q : A;
  wire [15:0] b = B_REG ? b_q : B;

  // The two 8x8 products, each 16 bits: 9-bit operands (the sign bit, or a zero) multiplied
  // as signed, so one expression serves signed and unsigned operands.
  function automatic [15:0] mul8(input [7:0] x, input [7:0] y);
    reg signed [8:0] xs, ys;
    reg signed [17:0] p;
    begin
      xs = {A_SIGNED & x[7], x};
      ys = {B_SIGNED & y[7], y};
      p = xs * ys;
      mul8 = p[15:0];
    end
  endfunction

  reg [15:0] top_q = 16'd0;
  reg [15:0] bot_q = 16'd0;
  always @(posedge CLK or posedge IRSTTOP) begin
    if (IRSTTOP) top_q <= 16'd0;
    else if (CE) top_q <= mul8(a[15:8], b[15:8]);
  end
  always @(posedge CLK or posedge IRSTBOT) begin
    if (IRSTBOT) bot_q <= 16'd0;
    else if (CE) bot_q <= mul8(a[7:0], b[7:0]);
  end

  assign O = {top_q, bot_q};
  assign CO = 1'b0;
  assign ACCUMCO = 1'b0;
  assign SIGNEXTOUT = 1'b0;
endmodule

module SB_LUT4 #(
  parameter [15:0] LUT_INIT = 16'd0
) (
  output O,
  input I0,
  input I1,
  input I2,
  input I3
);
  assign O = LUT_INIT[{I3, I2, I1, I0}];
endmodule

module SB_CARRY (
  output CO,
  input CI,
  input I0,
  input I1
);
  assign CO = (I0 & I1) | (CI & (I0 | I1));
endmodule
