// Formal top for the engine's AXI4 master: the DMA (systolic_dma) and the instruction fetch
// (systolic_fetch: the AR registers, arbitrated between the DMA's ID 0 and the fetch's ID 1, and
// the R routing by ID), as generated, wired as systolic_engine wires them, beside
// formal/axi4m_check.v. The master's constant fields (AWID, AxSIZE, AxBURST) are the engine
// top's own assignments, copied from the generated systolic_engine.v into engine_axi.vh by
// scripts/formal.sh.
//
// The rest of the engine is left free: the slave's channels (the checker constrains them to the
// AXI4 rules), the SBUF and PSUM read data and the arbitration inputs of the store reader and the
// load writer (l_free, ps_ok, sb_block), the fetch's START, PROG_BASE, PROG_WORDS, queue room
// and abort. Assumed (the dispatcher's and the register slave's guarantees):
// - a DMA instruction starts (go) only while the DMA is not busy, and is a legal DMA_LOAD or
//   DMA_STORE: the rules of src/engine/checks.rs (DmaRange, DmaAlign) for this configuration;
// - START only while the fetch is not running (the slave answers it SLVERR otherwise).
`default_nettype none
module axi4m_formal #(
  parameter ROWS = 2,
  parameter COLS = 2,
  parameter EB = 1,            // SBUF element bytes
  parameter SBUF_DEPTH = 16,
  parameter BANKS = 1,
  parameter PSUM_DEPTH = 2,
  parameter DB = 4,            // bus bytes
  parameter DMA_READS = 2
) (
  input wire clk,
  input wire rst,
  input wire go,
  input wire [191:0] words,
  input wire m_axi_awready,
  input wire m_axi_wready,
  input wire m_axi_bid,
  input wire [1:0] m_axi_bresp,
  input wire m_axi_bvalid,
  input wire m_axi_arready,
  input wire m_axi_rid,
  input wire [8*DB-1:0] m_axi_rdata,
  input wire [1:0] m_axi_rresp,
  input wire m_axi_rlast,
  input wire m_axi_rvalid,
  input wire sb_block,
  input wire [ROWS*8*EB-1:0] l_data,
  input wire l_free,
  input wire [COLS*32-1:0] ps_data,
  input wire ps_ok,
  input wire start,
  input wire [31:0] prog_base,
  input wire [31:0] prog_words,
  input wire [6:0] q_free,      // the memory path's queue: 64 words, 7 count bits
  input wire abort
);
  localparam integer PARTS = ROWS > COLS ? ROWS : COLS;
  localparam integer ESIZE_SBUF = EB == 2 ? 1 : 0;

  // The engine top's constant fields.
  wire m_axi_awid;
  wire [2:0] m_axi_awsize, m_axi_arsize;
  wire [1:0] m_axi_awburst, m_axi_arburst;
`include "engine_axi.vh"

  wire busy, done, done_store, err;
  wire [31:0] done_bytes;
  wire d_ar_req, d_ar_grant, d_r_valid, d_r_ready;
  wire [31:0] d_ar_addr;
  wire [7:0] d_ar_len;
  wire m_axi_awvalid, m_axi_wvalid, m_axi_wlast, m_axi_bready;
  wire [31:0] m_axi_awaddr, m_axi_araddr;
  wire [7:0] m_axi_awlen, m_axi_arlen;
  wire [8*DB-1:0] m_axi_wdata;
  wire [DB-1:0] m_axi_wstrb;
  wire m_axi_arvalid, m_axi_arid, m_axi_rready;
  wire f_push, f_sems_clear, f_err, fetching;
  wire [63:0] f_word;
  wire [7:0] f_code;

  // Outputs towards the SBUF, PSUM and table: not observed here.
  /* verilator lint_off PINCONNECTEMPTY */
  systolic_dma u_dma (
    .clk(clk), .rst(rst), .go(go), .words(words), .busy(busy), .done(done),
    .done_store(done_store), .done_bytes(done_bytes), .err(err),
    .ar_req(d_ar_req), .ar_addr(d_ar_addr), .ar_len(d_ar_len), .ar_grant(d_ar_grant),
    .r_valid(d_r_valid), .r_data(m_axi_rdata), .r_resp(m_axi_rresp), .r_last(m_axi_rlast),
    .r_ready(d_r_ready),
    .m_axi_awvalid(m_axi_awvalid), .m_axi_awready(m_axi_awready), .m_axi_awaddr(m_axi_awaddr),
    .m_axi_awlen(m_axi_awlen), .m_axi_wvalid(m_axi_wvalid), .m_axi_wready(m_axi_wready),
    .m_axi_wdata(m_axi_wdata), .m_axi_wstrb(m_axi_wstrb), .m_axi_wlast(m_axi_wlast),
    .m_axi_bvalid(m_axi_bvalid), .m_axi_bresp(m_axi_bresp), .m_axi_bready(m_axi_bready),
    .d_rwen(), .d_rentry(), .d_rdata(), .d_wen(), .d_wpart(), .d_wrow(), .d_wdata(),
    .sb_block(sb_block), .d_l_en(), .d_l_addr(), .l_data(l_data), .l_free(l_free),
    .ps_en(), .ps_bank(), .ps_addr(), .ps_data(ps_data), .ps_ok(ps_ok),
    .tbl_wen(), .tbl_waddr(), .tbl_wdata()
  );
  systolic_fetch u_fetch (
    .clk(clk), .rst(rst), .start(start), .prog_base(prog_base), .prog_words(prog_words),
    .q_free(q_free), .abort(abort), .f_push(f_push), .f_word(f_word),
    .f_sems_clear(f_sems_clear), .f_err(f_err), .f_code(f_code), .fetching(fetching),
    .d_ar_req(d_ar_req), .d_ar_addr(d_ar_addr), .d_ar_len(d_ar_len), .d_ar_grant(d_ar_grant),
    .m_axi_arvalid(m_axi_arvalid), .m_axi_arready(m_axi_arready), .m_axi_arid(m_axi_arid),
    .m_axi_araddr(m_axi_araddr), .m_axi_arlen(m_axi_arlen),
    .m_axi_rvalid(m_axi_rvalid), .m_axi_rready(m_axi_rready), .m_axi_rid(m_axi_rid),
    .m_axi_rdata(m_axi_rdata), .m_axi_rresp(m_axi_rresp), .m_axi_rlast(m_axi_rlast),
    .d_r_valid(d_r_valid), .d_r_ready(d_r_ready)
  );
  /* verilator lint_on PINCONNECTEMPTY */

  // The design's registers the checker's invariants read (formal/axi4m.sby connects them).
  localparam integer RD_W = $clog2(DMA_READS + 1), WR_W = 5;   // as wide as the design's
  wire [RD_W-1:0] i_rd_out;
  wire [WR_W-1:0] i_wr_out;
  wire i_failed, i_fr_out;

  systolic_axi4m_check #(.DB(DB), .DMA_READS(DMA_READS)) u_check (
    .clk(clk), .rst(rst),
    .awid(m_axi_awid), .awaddr(m_axi_awaddr), .awlen(m_axi_awlen), .awsize(m_axi_awsize),
    .awburst(m_axi_awburst), .awvalid(m_axi_awvalid), .awready(m_axi_awready),
    .wdata(m_axi_wdata), .wstrb(m_axi_wstrb), .wlast(m_axi_wlast), .wvalid(m_axi_wvalid),
    .wready(m_axi_wready),
    .bid(m_axi_bid), .bresp(m_axi_bresp), .bvalid(m_axi_bvalid), .bready(m_axi_bready),
    .arid(m_axi_arid), .araddr(m_axi_araddr), .arlen(m_axi_arlen), .arsize(m_axi_arsize),
    .arburst(m_axi_arburst), .arvalid(m_axi_arvalid), .arready(m_axi_arready),
    .rid(m_axi_rid), .rdata(m_axi_rdata), .rresp(m_axi_rresp), .rlast(m_axi_rlast),
    .rvalid(m_axi_rvalid), .rready(m_axi_rready),
    .dma_go(go), .dma_busy(busy), .dma_done(done), .dma_err(err), .fetching(fetching),
    .i_rd_out({{(8-RD_W){1'b0}}, i_rd_out}), .i_wr_out({{(8-WR_W){1'b0}}, i_wr_out}), .i_failed(i_failed), .i_fr_out(i_fr_out)
  );

  // ---- The DMA instruction: legal descriptors only (src/engine/checks.rs) ----
  wire [3:0] op = words[3:0];
  wire [1:0] target = words[5:4];
  wire layout = words[6];
  wire [1:0] esize = words[8:7];
  wire [15:0] rows = words[24:9];
  wire [15:0] row_len = words[40:25];
  wire [8:0] part = words[49:41];
  wire [5:0] bank = words[55:50];
  wire [31:0] base = words[95:64];
  wire [31:0] stride = words[127:96];
  wire [15:0] entry = words[143:128];
  wire [11:0] offset = words[155:144];
  wire store = op == 4'd5;
  // Memory bytes from base to past the last element.
  wire [63:0] span = ({48'd0, rows} - 64'd1) * {32'd0, stride} + ({48'd0, row_len} << esize);
  wire [2:0] esz = target == 2'd0 ? ESIZE_SBUF : 3'd2;
  wire fields_ok = target == 2'd0 ? bank == 0 && offset == 0
                 : target == 2'd1 ? layout == 1'b0 && entry == 0
                 : layout == 1'b0 && part == 0 && bank == 0 && offset == 0;
  wire [31:0] rows32 = {16'd0, rows}, len32 = {16'd0, row_len};
  wire [31:0] part32 = {23'd0, part}, entry32 = {16'd0, entry}, offset32 = {20'd0, offset};
  wire bounds_ok = target == 2'd0 ? (layout == 1'b0
                     ? part32 + len32 <= PARTS && entry32 + rows32 <= SBUF_DEPTH
                     : part32 + rows32 <= PARTS && entry32 + len32 <= SBUF_DEPTH)
                 : target == 2'd1 ? {26'd0, bank} < BANKS && offset32 + rows32 <= PSUM_DEPTH
                                    && part32 + len32 <= COLS
                 : {32'd0, entry32} + {32'd0, rows32} * {32'd0, len32} <= 2 * COLS;
  wire legal = (op == 4'd4 || op == 4'd5)
            && (target == 2'd0 || target == 2'd1 && store || target == 2'd2 && !store)
            && (target == 2'd0 || layout == 1'b0) && {1'b0, esize} == esz
            && rows != 0 && row_len != 0 && fields_ok && bounds_ok
            && {32'd0, base} + span <= 64'h1_0000_0000
            && (base & ((32'd1 << esize) - 32'd1)) == 0 && (stride & ((32'd1 << esize) - 32'd1)) == 0;
  always @(*) begin
    if (rst) assume(!go && !start);
    if (go) assume(!busy && legal);
    if (start) assume(!fetching);
  end
endmodule
