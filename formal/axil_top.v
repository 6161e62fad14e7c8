// Formal top for the AXI4-Lite slave: systolic_axil (as generated for the engine) beside its
// checker. Every input of the slave is a free input of this top: the master's channels (the
// checker constrains them to AXI4-Lite rules), the sequencer's status and counters (left free:
// the proof covers any sequencer), the core's PSUM read port (the checker assumes its contract).
`default_nettype none
module axil_formal #(
  parameter COLS = 2,
  parameter ACC_W = 32,
  parameter BANKS = 2,
  parameter PSUM_DEPTH = 4,
  parameter SBUF_BYTES = 32,
  parameter LANES = 4
) (
  input wire clk,
  input wire rst,
  input wire [31:0] s_axil_awaddr,
  input wire s_axil_awvalid,
  input wire [31:0] s_axil_wdata,
  input wire [3:0] s_axil_wstrb,
  input wire s_axil_wvalid,
  input wire s_axil_bready,
  input wire [31:0] s_axil_araddr,
  input wire s_axil_arvalid,
  input wire s_axil_rready,
  input wire [4:0] q_free,
  input wire st_busy,
  input wire st_stalled,
  input wire st_error,
  input wire [7:0] st_code,
  input wire [1:0] pend_loads,
  input wire stationary,
  input wire [63:0] cycles,
  input wire [63:0] macs,
  input wire [31:0] retired,
  input wire rd_ready,
  input wire rdata_valid,
  input wire [COLS*ACC_W-1:0] rdata
);
  wire s_axil_awready, s_axil_wready, s_axil_bvalid, s_axil_arready, s_axil_rvalid;
  wire [1:0] s_axil_bresp, s_axil_rresp;
  wire [31:0] s_axil_rdata;
  wire q_push, clear_error, clear_counters, bus_err, rd_valid, rdata_ready;
  wire [63:0] q_word;
  wire [7:0] bus_code;
  wire [LANES-1:0] sb_wen;

  systolic_axil u_dut (
    .clk(clk), .rst(rst),
    .s_axil_awaddr(s_axil_awaddr), .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb), .s_axil_wvalid(s_axil_wvalid),
    .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp), .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr), .s_axil_arvalid(s_axil_arvalid),
    .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp), .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .q_push(q_push), .q_word(q_word), .clear_error(clear_error),
    .clear_counters(clear_counters), .bus_err(bus_err), .bus_code(bus_code),
    .q_free(q_free), .st_busy(st_busy), .st_stalled(st_stalled), .st_error(st_error),
    .st_code(st_code), .pend_loads(pend_loads), .stationary(stationary),
    .cycles(cycles), .macs(macs), .retired(retired),
    .sb_wen(sb_wen), .sb_wpart(), .sb_wrow(), .sb_wdata(),
    .rd_valid(rd_valid), .rd_ready(rd_ready), .rd_bank(), .rd_addr(),
    .rdata_valid(rdata_valid), .rdata_ready(rdata_ready), .rdata(rdata)
  );

  systolic_axil_check #(
    .COLS(COLS), .BANKS(BANKS), .PSUM_DEPTH(PSUM_DEPTH), .SBUF_BYTES(SBUF_BYTES), .LANES(LANES)
  ) u_check (
    .clk(clk), .rst(rst),
    .s_axil_awaddr(s_axil_awaddr), .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb), .s_axil_wvalid(s_axil_wvalid),
    .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp), .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr), .s_axil_arvalid(s_axil_arvalid),
    .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp), .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .q_push(q_push), .q_word(q_word), .clear_error(clear_error),
    .clear_counters(clear_counters), .bus_err(bus_err), .q_free(q_free), .retired(retired),
    .sb_wen(sb_wen), .rd_valid(rd_valid), .rd_ready(rd_ready), .rdata_valid(rdata_valid)
  );
endmodule
`default_nettype wire
