// Simulation models of two ECP5 primitives, for the post-synthesis co-simulation of
// `systolic synth --verify` (src/synth/verify.rs) and for simulating RTL generated with
// `primitives = "ecp5"`, which instantiates them. Yosys ships both as black boxes only.
// Each models exactly the configurations Yosys' mapping and the generated RTL give it, and refuses
// to elaborate any other (it instantiates a module that does not exist), so a netlist that
// uses the primitive differently fails to build instead of simulating something else.
//
// Written for this project from the mapping files of Yosys 0.70 (share/lattice/dsp_map_18x18.v,
// brams_map_16kd.v: which pin carries which bit); not a model of the silicon beyond that.

// A model of vendor primitives: every pin and parameter of the cells is declared whether this
// project uses it or not, and two modules share the file.
/* verilator lint_off DECLFILENAME */
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */

// MULT18X18D in the two configurations this project produces: as `$__MUL18X18` maps it
// (combinational, every REG_* parameter at its default "NONE"), and as `systolic_mul_ecp5`
// instantiates it (REG_OUTPUT_CLK "CLK0", REG_INPUTA_CLK and REG_INPUTB_CLK both "NONE" or both
// "CLK0", clock enable CE0 (the B input register: CE0 or CE1), reset RST0 synchronous, GSR
// "DISABLED"). P = A * B modulo 2^36 with
// A and B signed when SIGNEDA / SIGNEDB. C, SOURCE*, the pipeline register and the cascade ports
// are not modelled; any other register setting refuses to elaborate.
module MULT18X18D #(
  parameter REG_INPUTA_CLK = "NONE",
  parameter REG_INPUTA_CE = "CE0",
  parameter REG_INPUTA_RST = "RST0",
  parameter REG_INPUTB_CLK = "NONE",
  parameter REG_INPUTB_CE = "CE0",
  parameter REG_INPUTB_RST = "RST0",
  parameter REG_OUTPUT_CLK = "NONE",
  parameter REG_OUTPUT_CE = "CE0",
  parameter REG_OUTPUT_RST = "RST0",
  parameter GSR = "ENABLED",
  parameter RESETMODE = "SYNC"
) (
  input  wire A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0,
  input  wire B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0,
  input  wire C17, C16, C15, C14, C13, C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2, C1, C0,
  input  wire SIGNEDA, SIGNEDB, SOURCEA, SOURCEB,
  input  wire CLK0, CLK1, CLK2, CLK3, CE0, CE1, CE2, CE3, RST0, RST1, RST2, RST3,
  output wire P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18, P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0,
  output wire SIGNEDP
);
  localparam COMB = REG_INPUTA_CLK == "NONE" && REG_INPUTB_CLK == "NONE" && REG_OUTPUT_CLK == "NONE";
  localparam REG_OUT = REG_OUTPUT_CLK == "CLK0" && REG_OUTPUT_CE == "CE0" && REG_OUTPUT_RST == "RST0"
    && GSR == "DISABLED" && RESETMODE == "SYNC";
  localparam REG_IN = REG_INPUTA_CLK == "CLK0" && REG_INPUTB_CLK == "CLK0"
    && REG_INPUTA_CE == "CE0" && (REG_INPUTB_CE == "CE0" || REG_INPUTB_CE == "CE1")
    && REG_INPUTA_RST == "RST0" && REG_INPUTB_RST == "RST0";
  // The B input register's clock enable: CE0, or CE1 (a register that holds its operand).
  wire ce_b = REG_INPUTB_CE == "CE1" ? CE1 : CE0;
  localparam IN_NONE = REG_INPUTA_CLK == "NONE" && REG_INPUTB_CLK == "NONE";
  generate
    if (!COMB && !(REG_OUT && (REG_IN || IN_NONE))) begin : g_unsupported
      MULT18X18D_configuration_not_modelled unsupported ();
    end
  endgenerate

  wire [17:0] a = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
  wire [17:0] b = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};
  reg [17:0] a_q = 18'd0, b_q = 18'd0;
  reg sa_q = 1'b0, sb_q = 1'b0;
  always @(posedge CLK0) begin
    if (RST0) begin
      a_q <= 18'd0;
      b_q <= 18'd0;
    end else begin
      if (CE0) begin
        a_q <= a;
        sa_q <= SIGNEDA;
      end
      if (ce_b) begin
        b_q <= b;
        sb_q <= SIGNEDB;
      end
    end
  end
  wire [17:0] a_m = REG_IN ? a_q : a;
  wire [17:0] b_m = REG_IN ? b_q : b;
  wire sa = REG_IN ? sa_q : SIGNEDA;
  wire sb = REG_IN ? sb_q : SIGNEDB;
  wire [35:0] a_ext = {{18{sa & a_m[17]}}, a_m};
  wire [35:0] b_ext = {{18{sb & b_m[17]}}, b_m};
  wire [35:0] prod = a_ext * b_ext;
  reg [35:0] p_q = 36'd0;
  always @(posedge CLK0) begin
    if (RST0) p_q <= 36'd0;
    else if (CE0) p_q <= prod;
  end
  wire [35:0] p = COMB ? prod : p_q;
  assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18, P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0} = p;
  assign SIGNEDP = sa | sb;
endmodule

// DP16KD in the configurations this project produces, each with chip selects compared with
// CSDECODE_*:
// - 36-bit simple dual port (both DATA_WIDTH 36), as `$__PDPW16KD_` maps it and as
//   `systolic_ram_ecp5` instantiates it: port A writes (word address ADA13..ADA5, byte enables
//   ADA3..ADA0 for the four 9-bit bytes of {DIB17..DIB0, DIA17..DIA0}), port B reads (address
//   ADB13..ADB5, data on {DOB17..DOB0, DOA17..DOA0}). REGMODE_A and REGMODE_B equal.
// - 18-bit true dual port (both DATA_WIDTH 18), as `$__DP16KD_` maps it and as
//   `systolic_ram_ecp5` instantiates it for up to 1024 words: either port writes (WE) or reads
//   (not WE) the word at AD13..AD4 with byte enables AD1..AD0 for the two 9-bit bytes of DI;
//   a port's DO keeps its value in a cycle that writes (WRITEMODE "NORMAL"). REGMODE_A "NOREG".
// - 9-bit true dual port (both DATA_WIDTH 9), as `$__DP16KD_` maps the engine's byte-wide
//   memories (the SBUF's lanes): as the 18-bit one, the word at AD13..AD3 (no byte enables),
//   data on DI8..DI0 and DO8..DO0 (the other DO bits 0); WRITEMODE "NORMAL" or
//   "READBEFOREWRITE" (a writing port's DO then shows the word it overwrites).
// Read data changes at the clock edge of a read with CE; with REGMODE "OUTREG" it passes the
// block's output register at the next edge with OCE. A read of the word written at the same
// edge returns the old word (the generated PSUM never relies on it: it forwards). RST clears
// the read data (synchronously here). INITVAL_* are accepted and ignored: the memory starts at
// zero (the PSUM's contents are undefined until written). Anything else refuses to elaborate.
module DP16KD #(
  parameter DATA_WIDTH_A = 18,
  parameter DATA_WIDTH_B = 18,
  parameter REGMODE_A = "NOREG",
  parameter REGMODE_B = "NOREG",
  parameter RESETMODE = "SYNC",
  parameter ASYNC_RESET_RELEASE = "SYNC",
  parameter CSDECODE_A = "0b000",
  parameter CSDECODE_B = "0b000",
  parameter WRITEMODE_A = "NORMAL",
  parameter WRITEMODE_B = "NORMAL",
  parameter CLKAMUX = "CLKA",
  parameter CLKBMUX = "CLKB",
  parameter GSR = "ENABLED",
  parameter INIT_DATA = "STATIC",
  parameter [319:0] INITVAL_00 = 320'h0,
  parameter [319:0] INITVAL_01 = 320'h0,
  parameter [319:0] INITVAL_02 = 320'h0,
  parameter [319:0] INITVAL_03 = 320'h0,
  parameter [319:0] INITVAL_04 = 320'h0,
  parameter [319:0] INITVAL_05 = 320'h0,
  parameter [319:0] INITVAL_06 = 320'h0,
  parameter [319:0] INITVAL_07 = 320'h0,
  parameter [319:0] INITVAL_08 = 320'h0,
  parameter [319:0] INITVAL_09 = 320'h0,
  parameter [319:0] INITVAL_0A = 320'h0,
  parameter [319:0] INITVAL_0B = 320'h0,
  parameter [319:0] INITVAL_0C = 320'h0,
  parameter [319:0] INITVAL_0D = 320'h0,
  parameter [319:0] INITVAL_0E = 320'h0,
  parameter [319:0] INITVAL_0F = 320'h0,
  parameter [319:0] INITVAL_10 = 320'h0,
  parameter [319:0] INITVAL_11 = 320'h0,
  parameter [319:0] INITVAL_12 = 320'h0,
  parameter [319:0] INITVAL_13 = 320'h0,
  parameter [319:0] INITVAL_14 = 320'h0,
  parameter [319:0] INITVAL_15 = 320'h0,
  parameter [319:0] INITVAL_16 = 320'h0,
  parameter [319:0] INITVAL_17 = 320'h0,
  parameter [319:0] INITVAL_18 = 320'h0,
  parameter [319:0] INITVAL_19 = 320'h0,
  parameter [319:0] INITVAL_1A = 320'h0,
  parameter [319:0] INITVAL_1B = 320'h0,
  parameter [319:0] INITVAL_1C = 320'h0,
  parameter [319:0] INITVAL_1D = 320'h0,
  parameter [319:0] INITVAL_1E = 320'h0,
  parameter [319:0] INITVAL_1F = 320'h0,
  parameter [319:0] INITVAL_20 = 320'h0,
  parameter [319:0] INITVAL_21 = 320'h0,
  parameter [319:0] INITVAL_22 = 320'h0,
  parameter [319:0] INITVAL_23 = 320'h0,
  parameter [319:0] INITVAL_24 = 320'h0,
  parameter [319:0] INITVAL_25 = 320'h0,
  parameter [319:0] INITVAL_26 = 320'h0,
  parameter [319:0] INITVAL_27 = 320'h0,
  parameter [319:0] INITVAL_28 = 320'h0,
  parameter [319:0] INITVAL_29 = 320'h0,
  parameter [319:0] INITVAL_2A = 320'h0,
  parameter [319:0] INITVAL_2B = 320'h0,
  parameter [319:0] INITVAL_2C = 320'h0,
  parameter [319:0] INITVAL_2D = 320'h0,
  parameter [319:0] INITVAL_2E = 320'h0,
  parameter [319:0] INITVAL_2F = 320'h0,
  parameter [319:0] INITVAL_30 = 320'h0,
  parameter [319:0] INITVAL_31 = 320'h0,
  parameter [319:0] INITVAL_32 = 320'h0,
  parameter [319:0] INITVAL_33 = 320'h0,
  parameter [319:0] INITVAL_34 = 320'h0,
  parameter [319:0] INITVAL_35 = 320'h0,
  parameter [319:0] INITVAL_36 = 320'h0,
  parameter [319:0] INITVAL_37 = 320'h0,
  parameter [319:0] INITVAL_38 = 320'h0,
  parameter [319:0] INITVAL_39 = 320'h0,
  parameter [319:0] INITVAL_3A = 320'h0,
  parameter [319:0] INITVAL_3B = 320'h0,
  parameter [319:0] INITVAL_3C = 320'h0,
  parameter [319:0] INITVAL_3D = 320'h0,
  parameter [319:0] INITVAL_3E = 320'h0,
  parameter [319:0] INITVAL_3F = 320'h0,
  parameter WID = 0
) (
  input  wire DIA0, DIA1, DIA2, DIA3, DIA4, DIA5, DIA6, DIA7, DIA8, DIA9, DIA10, DIA11, DIA12, DIA13, DIA14, DIA15, DIA16, DIA17,
  input  wire ADA0, ADA1, ADA2, ADA3, ADA4, ADA5, ADA6, ADA7, ADA8, ADA9, ADA10, ADA11, ADA12, ADA13,
  input  wire DIB0, DIB1, DIB2, DIB3, DIB4, DIB5, DIB6, DIB7, DIB8, DIB9, DIB10, DIB11, DIB12, DIB13, DIB14, DIB15, DIB16, DIB17,
  input  wire ADB0, ADB1, ADB2, ADB3, ADB4, ADB5, ADB6, ADB7, ADB8, ADB9, ADB10, ADB11, ADB12, ADB13,
  input  wire CEA, OCEA, CLKA, WEA, CSA0, CSA1, CSA2, RSTA,
  input  wire CEB, OCEB, CLKB, WEB, CSB0, CSB1, CSB2, RSTB,
  output wire DOA0, DOA1, DOA2, DOA3, DOA4, DOA5, DOA6, DOA7, DOA8, DOA9, DOA10, DOA11, DOA12, DOA13, DOA14, DOA15, DOA16, DOA17,
  output wire DOB0, DOB1, DOB2, DOB3, DOB4, DOB5, DOB6, DOB7, DOB8, DOB9, DOB10, DOB11, DOB12, DOB13, DOB14, DOB15, DOB16, DOB17
);

  // The string parameters compare with strings of other lengths ("NOREG" against "OUTREG"):
  // zero-extended, as the standard says, which is what is meant.
  /* verilator lint_off WIDTH */
  localparam PDP = DATA_WIDTH_A == 36 && DATA_WIDTH_B == 36 && REGMODE_A == REGMODE_B;
  localparam TDP18 = DATA_WIDTH_A == 18 && DATA_WIDTH_B == 18 && REGMODE_A == "NOREG";
  localparam TDP9 = DATA_WIDTH_A == 9 && DATA_WIDTH_B == 9 && REGMODE_A == "NOREG";
  localparam OUTREG = REGMODE_B == "OUTREG";
  localparam RBW_A = WRITEMODE_A == "READBEFOREWRITE";
  generate
  if (!((PDP || TDP18 || TDP9) && (REGMODE_B == "NOREG" || OUTREG)
        && (WRITEMODE_A == "NORMAL" || TDP9 && WRITEMODE_A == "READBEFOREWRITE")
        && (WRITEMODE_B == "NORMAL" || TDP9 && WRITEMODE_B == "READBEFOREWRITE")
        && CLKAMUX == "CLKA" && CLKBMUX == "CLKB")) begin : g_unsupported
    dp16kd_configuration_not_modelled u_unsupported ();
  end
  endgenerate
  /* verilator lint_on WIDTH */

  localparam [2:0] CS_A =
    (CSDECODE_A == "0b001") ? 3'd1 :
    (CSDECODE_A == "0b010") ? 3'd2 :
    (CSDECODE_A == "0b011") ? 3'd3 :
    (CSDECODE_A == "0b100") ? 3'd4 :
    (CSDECODE_A == "0b101") ? 3'd5 :
    (CSDECODE_A == "0b110") ? 3'd6 :
    (CSDECODE_A == "0b111") ? 3'd7 :
    3'd0;
  localparam [2:0] CS_B =
    (CSDECODE_B == "0b001") ? 3'd1 :
    (CSDECODE_B == "0b010") ? 3'd2 :
    (CSDECODE_B == "0b011") ? 3'd3 :
    (CSDECODE_B == "0b100") ? 3'd4 :
    (CSDECODE_B == "0b101") ? 3'd5 :
    (CSDECODE_B == "0b110") ? 3'd6 :
    (CSDECODE_B == "0b111") ? 3'd7 :
    3'd0;
  wire cs_a = {CSA2, CSA1, CSA0} == CS_A;
  wire cs_b = {CSB2, CSB1, CSB0} == CS_B;
  wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
  wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
  wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
  wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};

  // The storage as 2048 bytes of 9 bits: a 36-bit word w is bytes 4w..4w+3, an 18-bit word w
  // bytes 2w, 2w+1 (the 36-bit view's low half is DIA/DOA, high half DIB/DOB), a 9-bit word w
  // byte w.
  reg [8:0] mem [0:2047];
  reg [35:0] rp, op;        // PDP: read latch and output register (port B)
  reg [17:0] ra, rb, ob;    // TDP18: read latches of ports A and B, output register of B
  integer i;

  initial begin
    for (i = 0; i < 2048; i = i + 1) mem[i] = 9'd0;
    rp = 36'd0;
    op = 36'd0;
    ra = 18'd0;
    rb = 18'd0;
    ob = 18'd0;
  end

  // Port A writes (PDP: 36 bits; TDP18: 18; TDP9: 9), or (TDP18, TDP9) reads. Port B's writes
  // (TDP18, TDP9) are not modelled: one stops the simulation.
  always @(posedge CLKA) begin
    if (CEA && cs_a) begin
      if (PDP) begin
        if (WEA) begin
          if (ada[0]) mem[{ada[13:5], 2'd0}] <= dia[8:0];
          if (ada[1]) mem[{ada[13:5], 2'd1}] <= dia[17:9];
          if (ada[2]) mem[{ada[13:5], 2'd2}] <= dib[8:0];
          if (ada[3]) mem[{ada[13:5], 2'd3}] <= dib[17:9];
        end
      end else if (TDP9) begin
        if (WEA) mem[ada[13:3]] <= dia[8:0];
        if (!WEA || RBW_A) ra <= {9'd0, mem[ada[13:3]]};
      end else if (WEA) begin
        if (ada[0]) mem[{ada[13:4], 1'b0}] <= dia[8:0];
        if (ada[1]) mem[{ada[13:4], 1'b1}] <= dia[17:9];
      end else begin
        ra <= {mem[{ada[13:4], 1'b1}], mem[{ada[13:4], 1'b0}]};
      end
    end
    if (RSTA) ra <= 18'd0;
  end

  always @(posedge CLKB) begin
    if (CEB && cs_b) begin
      if (PDP) begin
        rp <= {mem[{adb[13:5], 2'd3}], mem[{adb[13:5], 2'd2}],
               mem[{adb[13:5], 2'd1}], mem[{adb[13:5], 2'd0}]};
      end else if (WEB) begin
        $display("DP16KD model: writes on port B are not modelled");
        $stop;
      end else if (TDP9) begin
        rb <= {9'd0, mem[adb[13:3]]};
      end else begin
        rb <= {mem[{adb[13:4], 1'b1}], mem[{adb[13:4], 1'b0}]};
      end
    end
    if (RSTB) begin
      rp <= 36'd0;
      rb <= 18'd0;
    end
    if (OCEB) begin
      op <= rp;
      ob <= rb;
    end
  end

  wire [35:0] pdp_out = OUTREG ? op : rp;
  wire [17:0] doa = PDP ? pdp_out[17:0] : ra;
  wire [17:0] dob = PDP ? pdp_out[35:18] : (OUTREG ? ob : rb);
  assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = doa;
  assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = dob;
endmodule

/* verilator lint_on UNUSEDPARAM */
/* verilator lint_on UNUSEDSIGNAL */
/* verilator lint_on DECLFILENAME */
