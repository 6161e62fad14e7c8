// Formal miter top for the core: systolic_top (as generated, its parameters the configuration's
// defaults) beside the behavioural model formal/core_model.v on the same ports. Every input of
// the core is a free input here; the model's assumptions make the command stream legal.
// The parameters must match the generated configuration (the .sby file sets them).
`default_nettype none
module core_formal #(
  parameter ROWS = 2,
  parameter COLS = 2,
  parameter DATA_W = 4,
  parameter ACC_W = 8,
  parameter SIGNED = 1,
  parameter BANKS = 1,
  parameter DEPTH = 2,
  parameter RD_BOUND = 1
) (
  input wire clk,
  input wire rst,
  input wire ls_valid,
  input wire [COLS*DATA_W-1:0] ls_data,
  input wire ls_last,
  input wire ls_gapless,
  input wire mm_valid,
  input wire [$clog2(ROWS + 1)-1:0] mm_k,
  input wire [$clog2(COLS + 1)-1:0] mm_m,
  input wire [$clog2(DEPTH + 1)-1:0] mm_n,
  input wire [((BANKS > 1) ? $clog2(BANKS) : 1)-1:0] mm_bank,
  input wire [$clog2(DEPTH)-1:0] mm_offset,
  input wire mm_acc,
  input wire mm_swap,
  input wire mv_valid,
  input wire [ROWS*DATA_W-1:0] mv_data,
  input wire rd_valid,
  input wire [((BANKS > 1) ? $clog2(BANKS) : 1)-1:0] rd_bank,
  input wire [$clog2(DEPTH)-1:0] rd_addr,
  input wire rdata_ready
);
  localparam K_W = $clog2(ROWS + 1);
  localparam M_W = $clog2(COLS + 1);
  localparam N_W = $clog2(DEPTH + 1);
  localparam BANK_W = (BANKS > 1) ? $clog2(BANKS) : 1;
  localparam ADDR_W = $clog2(DEPTH);

  wire ls_ready, mm_ready, mv_ready, rd_ready, rdata_valid, busy, mm_busy;
  wire [COLS*ACC_W-1:0] rdata;

  systolic_top u_dut (
    .clk(clk), .rst(rst),
    .ls_valid(ls_valid), .ls_ready(ls_ready), .ls_data(ls_data), .ls_last(ls_last),
    .ls_gapless(ls_gapless),
    .mm_valid(mm_valid), .mm_ready(mm_ready), .mm_k(mm_k), .mm_m(mm_m), .mm_n(mm_n),
    .mm_bank(mm_bank), .mm_offset(mm_offset), .mm_acc(mm_acc), .mm_swap(mm_swap),
    .mv_valid(mv_valid), .mv_ready(mv_ready), .mv_data(mv_data),
    .rd_valid(rd_valid), .rd_ready(rd_ready), .rd_bank(rd_bank), .rd_addr(rd_addr),
    .rdata_valid(rdata_valid), .rdata_ready(rdata_ready), .rdata(rdata),
    .busy(busy), .mm_busy(mm_busy)
  );

  systolic_top_model #(
    .ROWS(ROWS), .COLS(COLS), .DATA_W(DATA_W), .ACC_W(ACC_W), .SIGNED(SIGNED),
    .BANKS(BANKS), .DEPTH(DEPTH), .K_W(K_W), .M_W(M_W), .N_W(N_W), .BANK_W(BANK_W),
    .ADDR_W(ADDR_W), .RD_BOUND(RD_BOUND)
  ) u_model (
    .clk(clk), .rst(rst),
    .ls_valid(ls_valid), .ls_ready(ls_ready), .ls_data(ls_data), .ls_last(ls_last),
    .ls_gapless(ls_gapless),
    .mm_valid(mm_valid), .mm_ready(mm_ready), .mm_k(mm_k), .mm_m(mm_m), .mm_n(mm_n),
    .mm_bank(mm_bank), .mm_offset(mm_offset), .mm_acc(mm_acc), .mm_swap(mm_swap),
    .mv_valid(mv_valid), .mv_ready(mv_ready), .mv_data(mv_data),
    .rd_valid(rd_valid), .rd_ready(rd_ready), .rd_bank(rd_bank), .rd_addr(rd_addr),
    .rdata_valid(rdata_valid), .rdata_ready(rdata_ready), .rdata(rdata)
  );
endmodule
`default_nettype wire
