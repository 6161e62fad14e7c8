// Formal checker of systolic_axil, the engine's AXI4-Lite slave (docs/registers.md), bound to
// the slave's ports only (formal/axil_top.v instantiates both). Assumptions constrain the
// master (AXI4-Lite rules: valid held until ready, payload stable while waiting; plus a live
// master that takes a response within FAIR cycles) and the core's PSUM read port (its contract
// in docs/architecture.md: rd_ready within RD_WAIT cycles, one rdata beat 1..3 cycles after the
// request). Everything the sequencer drives (queue status, counters, STATUS fields) is left
// free: the properties hold for any sequencer behaviour.
//
// Properties (assertions):
//   H  handshake rules of the slave: BVALID/RVALID held until taken, BRESP/RDATA/RRESP stable;
//   O  one response per accepted request: B only for an accepted AW+W pair, R only for an
//      accepted AR, at most one of each outstanding (so in order);
//   L  liveness bounds: a request with nothing outstanding is accepted at once (AWREADY, WREADY,
//      ARREADY), an accepted pair is answered within B_BOUND cycles, an AR at the next edge;
//   D  decode: BRESP/RRESP = SLVERR exactly for the accesses docs/registers.md lists (unmapped,
//      misaligned, wrong direction, PSUM_SELECT out of range, INSTR_HI into a full queue),
//      a SLVERR read returns 0, ID reads its constant, RETIRED the value at AR acceptance;
//   E  effects: q_push exactly for an OKAY INSTR_HI write, with its data; bus_err exactly for
//      the SLVERR accesses; SBUF write enables and CONTROL pulses only for OKAY writes there.
// Covers show the interesting states are reachable (SLVERR writes and reads, an overflowing
// INSTR_HI, a PSUM_SELECT held behind an earlier snapshot, back-to-back writes).
`default_nettype none
module systolic_axil_check #(
  parameter COLS = 2,
  parameter BANKS = 2,
  parameter PSUM_DEPTH = 4,
  parameter SBUF_BYTES = 32,
  parameter LANES = 4,
  parameter FAIR = 2,       // the master takes B/R within FAIR cycles
  parameter RD_WAIT = 3,    // the core's rd_ready within RD_WAIT cycles of rd_valid
  parameter B_BOUND = 9     // cycles from an accepted AW+W pair to BVALID
) (
  input wire clk,
  input wire rst,
  input wire [31:0] s_axil_awaddr,
  input wire s_axil_awvalid,
  input wire s_axil_awready,
  input wire [31:0] s_axil_wdata,
  input wire [3:0] s_axil_wstrb,
  input wire s_axil_wvalid,
  input wire s_axil_wready,
  input wire [1:0] s_axil_bresp,
  input wire s_axil_bvalid,
  input wire s_axil_bready,
  input wire [31:0] s_axil_araddr,
  input wire s_axil_arvalid,
  input wire s_axil_arready,
  input wire [31:0] s_axil_rdata,
  input wire [1:0] s_axil_rresp,
  input wire s_axil_rvalid,
  input wire s_axil_rready,
  input wire q_push,
  input wire [63:0] q_word,
  input wire clear_error,
  input wire clear_counters,
  input wire bus_err,
  input wire [4:0] q_free,
  input wire [31:0] retired,
  input wire [LANES-1:0] sb_wen,
  input wire rd_valid,
  input wire rd_ready,
  input wire rdata_valid
);
`include "regmap.vh"

  localparam [1:0] OKAY = 2'd0, SLVERR = 2'd2;

  reg f_init = 1'b1;
  always @(posedge clk) f_init <= 1'b0;

  // Reset in the first cycle only.
  always @(*) assume(rst == f_init);

  // ---- The checker's own record of the requests ----
  reg aw_pend = 1'b0, w_pend = 1'b0, ar_pend = 1'b0;   // accepted, not yet answered
  reg [31:0] aw_addr, w_data, ar_addr;
  reg [1:0] ar_exp_resp;
  reg [31:0] ar_exp_retired;
  wire aw_fire = s_axil_awvalid && s_axil_awready;
  wire w_fire = s_axil_wvalid && s_axil_wready;
  wire ar_fire = s_axil_arvalid && s_axil_arready;
  wire b_fire = s_axil_bvalid && s_axil_bready;
  wire r_fire = s_axil_rvalid && s_axil_rready;
  // The write's address and data, recorded or arriving now.
  wire [31:0] cur_aw = aw_pend ? aw_addr : s_axil_awaddr;
  wire [31:0] cur_w = w_pend ? w_data : s_axil_wdata;

  always @(posedge clk) begin
    if (rst) begin
      aw_pend <= 1'b0;
      w_pend <= 1'b0;
      ar_pend <= 1'b0;
    end else begin
      if (aw_fire) begin aw_pend <= 1'b1; aw_addr <= s_axil_awaddr; end
      if (w_fire) begin w_pend <= 1'b1; w_data <= s_axil_wdata; end
      if (b_fire) begin aw_pend <= 1'b0; w_pend <= 1'b0; end
      if (ar_fire) begin
        ar_pend <= 1'b1;
        ar_addr <= s_axil_araddr;
        ar_exp_resp <= rm_read_ok(s_axil_araddr) ? OKAY : SLVERR;
        ar_exp_retired <= retired;
      end
      if (r_fire) ar_pend <= 1'b0;
    end
  end

  // Expected BRESP of the pair, given the queue's free slots in the cycle it is performed.
  function [1:0] exp_bresp;
    input [31:0] a;
    input [31:0] d;
    input [4:0] free;
    begin
      if (!rm_write_ok(a))
        exp_bresp = SLVERR;
      else if (a == RM_PSUM_SELECT && !(d[21:16] < BANKS && d[11:0] < PSUM_DEPTH))
        exp_bresp = SLVERR;
      else if (a == RM_INSTR_HI && free == 5'd0)
        exp_bresp = SLVERR;
      else
        exp_bresp = OKAY;
    end
  endfunction

  // ---- Master assumptions (AXI4-Lite) ----
  reg [3:0] b_wait = 0, r_wait = 0;
  always @(posedge clk) begin
    b_wait <= (s_axil_bvalid && !s_axil_bready) ? b_wait + 1'b1 : 4'd0;
    r_wait <= (s_axil_rvalid && !s_axil_rready) ? r_wait + 1'b1 : 4'd0;
  end
  always @(posedge clk) begin
    if (f_init) begin
      assume(!s_axil_awvalid && !s_axil_wvalid && !s_axil_arvalid);
    end else if (!$past(rst)) begin
      if ($past(s_axil_awvalid && !s_axil_awready))
        assume(s_axil_awvalid && s_axil_awaddr == $past(s_axil_awaddr));
      if ($past(s_axil_wvalid && !s_axil_wready))
        assume(s_axil_wvalid && s_axil_wdata == $past(s_axil_wdata)
               && s_axil_wstrb == $past(s_axil_wstrb));
      if ($past(s_axil_arvalid && !s_axil_arready))
        assume(s_axil_arvalid && s_axil_araddr == $past(s_axil_araddr));
    end
  end
  // A live master: a response waits at most FAIR cycles.
  always @(*) begin
    if (b_wait >= FAIR) assume(s_axil_bready);
    if (r_wait >= FAIR) assume(s_axil_rready);
  end

  // ---- The core's PSUM read port (docs/architecture.md) ----
  reg [3:0] rdv_wait = 0;
  reg [1:0] rd_age = 0;
  reg rd_out = 1'b0;   // the core has accepted a read, its data not yet returned
  always @(posedge clk) begin
    rdv_wait <= (rd_valid && !rd_ready) ? rdv_wait + 1'b1 : 4'd0;
    if (rst) begin
      rd_out <= 1'b0;
      rd_age <= 0;
    end else if (rd_valid && rd_ready) begin
      rd_out <= 1'b1;
      rd_age <= 0;
    end else if (rdata_valid) begin
      rd_out <= 1'b0;
    end else if (rd_out) begin
      rd_age <= rd_age + 1'b1;
    end
  end
  always @(*) begin
    if (rdv_wait >= RD_WAIT && !rd_out) assume(rd_ready);
    if (rd_out) assume(!rd_ready);   // the core takes one read at a time
    if (!rd_out) assume(!rdata_valid);
    if (rd_out && rd_age >= 2) assume(rdata_valid);
  end

  // ---- Properties ----
  reg [4:0] pair_wait = 0;
  always @(posedge clk) pair_wait <= (aw_pend && w_pend && !s_axil_bvalid) ? pair_wait + 1'b1 : 5'd0;

  reg bvalid_q = 1'b0;
  always @(posedge clk) bvalid_q <= s_axil_bvalid;
  wire b_rise = s_axil_bvalid && !bvalid_q;

  always @(posedge clk) begin
    if (!f_init && !rst) begin
      // H: the slave's handshake rules.
      if (!$past(rst) && $past(s_axil_bvalid && !s_axil_bready))
        assert(s_axil_bvalid && s_axil_bresp == $past(s_axil_bresp));
      if (!$past(rst) && $past(s_axil_rvalid && !s_axil_rready))
        assert(s_axil_rvalid && s_axil_rdata == $past(s_axil_rdata)
               && s_axil_rresp == $past(s_axil_rresp));

      // O: responses only for accepted requests, one outstanding of each.
      if (s_axil_bvalid) assert(aw_pend && w_pend);
      if (aw_pend) assert(!s_axil_awready);
      if (w_pend) assert(!s_axil_wready);
      if (s_axil_rvalid) assert(ar_pend);
      if (ar_pend) assert(s_axil_rvalid && !s_axil_arready);

      // L: no deadlock: a request with nothing outstanding is taken at once, a pair answered
      // within B_BOUND cycles.
      if (!aw_pend && !s_axil_bvalid) assert(s_axil_awready);
      if (!w_pend && !s_axil_bvalid) assert(s_axil_wready);
      if (!ar_pend) assert(s_axil_arready);
      assert(pair_wait <= B_BOUND);

      // D: the response decodes the address (and data, queue state) as the table says.
      if (b_rise)
        assert(s_axil_bresp == exp_bresp(aw_addr, w_data, $past(q_free)));
      if (s_axil_rvalid) begin
        assert(s_axil_rresp == ar_exp_resp);
        if (ar_exp_resp == SLVERR) assert(s_axil_rdata == 32'd0);
        if (ar_addr == RM_ID) assert(s_axil_rdata == RM_ID_VALUE);
        if (ar_addr == RM_RETIRED) assert(s_axil_rdata == ar_exp_retired);
      end

      // E: effects happen in the cycle the write is performed (the cycle before B rises) and
      // only for OKAY writes; bus_err reports every SLVERR access.
      if (!$past(rst)) begin
        assert($past(q_push) == (b_rise && aw_addr == RM_INSTR_HI && s_axil_bresp == OKAY));
        if ($past(q_push)) assert($past(q_word[63:32]) == w_data);
        if ($past(sb_wen != 0))
          assert(b_rise && aw_addr >= RM_SBUF && s_axil_bresp == OKAY);
        if ($past(clear_error || clear_counters))
          assert(b_rise && aw_addr == RM_CONTROL && s_axil_bresp == OKAY);
        assert($past(bus_err) == ((b_rise && s_axil_bresp == SLVERR)
          || ($past(ar_fire) && s_axil_rresp == SLVERR)));
      end
    end
  end

  // ---- Covers: the interesting states are reachable ----
  always @(posedge clk) begin
    if (!f_init && !rst) begin
      cover(b_rise && s_axil_bresp == SLVERR && aw_addr == RM_STATUS);          // write of RO
      cover(b_rise && s_axil_bresp == SLVERR && aw_addr == RM_INSTR_HI);        // queue full
      cover(b_rise && s_axil_bresp == SLVERR && aw_addr == RM_PSUM_SELECT);     // out of range
      cover(b_rise && s_axil_bresp == OKAY && aw_addr == RM_INSTR_HI);          // a push
      cover(s_axil_rvalid && s_axil_rresp == SLVERR && ar_addr == RM_CONTROL);  // read of WO
      cover(s_axil_rvalid && s_axil_rresp == OKAY && ar_addr == RM_PSUM_DATA + 4);
      cover(aw_pend && w_pend && !s_axil_bvalid && pair_wait >= 3);             // held write
      cover(b_rise && $past(s_axil_bvalid, 2));                                 // back to back
    end
  end
endmodule
`default_nettype wire
