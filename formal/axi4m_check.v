// Formal checker of the engine's AXI4 (full) master port (docs/memory-path.md, "The AXI4 master
// port of systolic_engine"), bound to the port's signals only, plus the DMA's instruction status
// (go, busy, done, err) and the fetch's STATUS.FETCHING for the completion and error
// properties. formal/axi4m_top.v instantiates it beside the DMA (systolic_dma) and the fetch unit
// (systolic_fetch, which owns the AR registers and routes R by ID), as generated.
//
// Assumptions constrain the slave only (AXI4 rules): RVALID only for a burst accepted on AR and
// not finished, with the ID of one (bursts of one ID answered in order, IDs may interleave),
// RLAST exactly on the burst's ARLEN+1-th beat; BVALID only for a burst whose AW and WLAST beat
// are both accepted and not answered, BID 0; R and B held with a stable payload until taken;
// RRESP/BRESP OKAY, SLVERR or DECERR (no EXOKAY: the master makes no exclusive access); valids low
// in the reset cycle. The first cycle is reset, and only the first.
//
// Properties (assertions):
//   H  handshakes of the master: ARVALID, AWVALID, WVALID held until READY, their payload
//      (ID, address, length, size, burst; data, strobes, last) stable meanwhile;
//   F  legal fields: AxSIZE = log2 of the bus bytes, AxBURST = INCR, AWID 0, and no burst
//      crosses a 4 KB boundary (from the start address aligned down to the beat to the end of
//      its last beat), BREADY always high (the design's promise);
//   W  W bursts: the k-th W burst has exactly AWLEN+1 beats of the k-th AW, WLAST on the last
//      one and only there (W may run ahead of its AW: AXI4 allows it; by at most one burst
//      here, which this checker's record of lengths needs and the design keeps: one AW register);
//   O  outstanding: DMA read bursts (ID 0) accepted and unfinished at most DMA_READS, fetch
//      bursts (ID 1) at most FETCH_READS, write bursts issued and unanswered at most MAX_WRITES;
//   A  every request answered: when the DMA is not busy, none of its bursts is outstanding (no
//      AR of ID 0 waiting or unfinished, no AW or W waiting, no W beat or B response owed), and
//      when the fetch is not running none of its bursts is (ID 1); so an instruction, even one
//      ended by an error, finishes only once every response of its bursts is in;
//   E  errors: an R beat of ID 0 or a B response with SLVERR or DECERR during a DMA instruction
//      raises the DMA's err in that cycle (the first one of the instruction; err only then), and
//      such an instruction never reports done.
//   I  invariants (white-box, i_* inputs): the design's outstanding counts and error flag equal
//      the checker's records; they make H, F, O, E inductive for PDR.
// The W and A groups are left out under AXI4M_BASIC (the `prove` task of formal/axi4m.sby: PDR
// closes the others; W and A are checked by bounded model checking, docs/formal.md says why).
// Covers show interesting states reachable: a burst ending exactly at a 4 KB boundary (AR and
// AW), DMA_READS read bursts outstanding, a fetch burst and a DMA burst outstanding together, a
// write burst answered with SLVERR, a W burst complete before its AW, a DMA_STORE done.
`default_nettype none
module systolic_axi4m_check #(
  parameter DB = 4,            // bus bytes
  parameter DMA_READS = 2,     // read bursts of the DMA outstanding at most
  parameter FETCH_READS = 1,   // read bursts of the fetch outstanding at most
  parameter MAX_WRITES = 16    // write bursts issued and unanswered at most
) (
  input wire clk,
  input wire rst,
  input wire awid,
  input wire [31:0] awaddr,
  input wire [7:0] awlen,
  input wire [2:0] awsize,
  input wire [1:0] awburst,
  input wire awvalid,
  input wire awready,
  input wire [8*DB-1:0] wdata,
  input wire [DB-1:0] wstrb,
  input wire wlast,
  input wire wvalid,
  input wire wready,
  input wire bid,
  input wire [1:0] bresp,
  input wire bvalid,
  input wire bready,
  input wire arid,
  input wire [31:0] araddr,
  input wire [7:0] arlen,
  input wire [2:0] arsize,
  input wire [1:0] arburst,
  input wire arvalid,
  input wire arready,
  input wire rid,
  input wire [8*DB-1:0] rdata,
  input wire [1:0] rresp,
  input wire rlast,
  input wire rvalid,
  input wire rready,
  input wire dma_go,
  input wire dma_busy,
  input wire dma_done,
  input wire dma_err,
  input wire fetching,
  // The design's own counts and flags (white-box, for the invariants below; connected by name
  // in formal/axi4m.sby): the DMA's read bursts granted and unfinished, its write bursts issued
  // and unanswered, its error flag, the fetch's burst in flight.
  input wire [7:0] i_rd_out,
  input wire [7:0] i_wr_out,
  input wire i_failed,
  input wire i_fr_out
);
  localparam integer SIZE = $clog2(DB);
  localparam [1:0] INCR = 2'd1, EXOKAY = 2'd1;

  reg f_init = 1'b1;
  always @(posedge clk) f_init <= 1'b0;
  always @(*) assume(rst == f_init);

  wire ar_hs = arvalid && arready;
  wire aw_hs = awvalid && awready;
  wire w_hs = wvalid && wready;
  wire r_hs = rvalid && rready;
  wire b_hs = bvalid && bready;

  // Past of the channels (the first cycle is reset: no past to compare with).
  reg p_ok = 1'b0;
  reg p_ar_wait, p_aw_wait, p_w_wait, p_r_wait, p_b_wait;
  reg p_arid, p_awid, p_wlast, p_rid, p_rlast;
  reg [31:0] p_araddr, p_awaddr;
  reg [7:0] p_arlen, p_awlen;
  reg [2:0] p_arsize, p_awsize;
  reg [1:0] p_arburst, p_awburst, p_rresp, p_bresp;
  reg [8*DB-1:0] p_wdata, p_rdata;
  reg [DB-1:0] p_wstrb;
  always @(posedge clk) begin
    p_ok <= !rst;
    p_ar_wait <= arvalid && !arready;
    p_aw_wait <= awvalid && !awready;
    p_w_wait <= wvalid && !wready;
    p_r_wait <= rvalid && !rready;
    p_b_wait <= bvalid && !bready;
    p_arid <= arid; p_araddr <= araddr; p_arlen <= arlen; p_arsize <= arsize; p_arburst <= arburst;
    p_awid <= awid; p_awaddr <= awaddr; p_awlen <= awlen; p_awsize <= awsize; p_awburst <= awburst;
    p_wdata <= wdata; p_wstrb <= wstrb; p_wlast <= wlast;
    p_rid <= rid; p_rdata <= rdata; p_rresp <= rresp; p_rlast <= rlast;
    p_bresp <= bresp;
  end

  // ---- Read bursts accepted and unfinished, per ID: their lengths in order ----
  localparam integer RQB = $clog2(DMA_READS + 1);
  localparam integer RQ = 1 << RQB;        // entries of ID 0's record (DMA_READS < RQ)
  reg [7:0] r0_len [0:RQ-1];
  reg [RQB-1:0] r0_rp = 0, r0_wp = 0;
  reg [RQB:0] r0_n = 0;
  reg [7:0] r1_len;
  reg [1:0] r1_n = 0;
  reg [7:0] r0_beat = 0, r1_beat = 0;
  wire [7:0] r0_head = r0_len[r0_rp];
  wire r0_end = r_hs && !rid && rlast;
  wire r1_end = r_hs && rid && rlast;
  always @(posedge clk) begin
    if (rst) begin
      r0_rp <= 0; r0_wp <= 0; r0_n <= 0; r1_n <= 0; r0_beat <= 0; r1_beat <= 0;
    end else begin
      if (ar_hs && !arid) begin r0_len[r0_wp] <= arlen; r0_wp <= r0_wp + 1'b1; end
      if (ar_hs && arid) r1_len <= arlen;
      if (r0_end) r0_rp <= r0_rp + 1'b1;
      r0_n <= r0_n + (ar_hs && !arid) - r0_end;
      r1_n <= r1_n + (ar_hs && arid) - r1_end;
      if (r_hs && !rid) r0_beat <= rlast ? 8'd0 : r0_beat + 1'b1;
      if (r_hs && rid) r1_beat <= rlast ? 8'd0 : r1_beat + 1'b1;
    end
  end

  // ---- Write bursts: AW lengths ahead of their W bursts, or W lengths ahead of their AW ----
  // wq holds, in order, the AWLENs of accepted AWs whose W burst is not complete (w_lead low),
  // or the lengths (beats - 1) of complete W bursts whose AW is not accepted yet (w_lead high).
  // wb counts the beats of the W burst in progress.
  localparam WQ = 16;                      // entries (MAX_WRITES <= WQ)
  reg [7:0] wq [0:WQ-1];
  reg [3:0] wq_rp = 0, wq_wp = 0;
  reg [4:0] wq_n = 0;
  reg w_lead = 1'b0;
  reg [8:0] wb = 0;
  wire [7:0] wq_head = wq[wq_rp];
  wire [7:0] wq_second = wq[wq_rp + 1'b1];
  // Step 1, the AW handshake: it matches a complete W burst, or joins the record.
  wire aw_match = aw_hs && w_lead && wq_n != 0;
  wire aw_push = aw_hs && !(w_lead && wq_n != 0);
  wire [4:0] n1 = wq_n - aw_match + aw_push;
  wire lead1 = w_lead && n1 != 0;
  wire [7:0] head1 = aw_match ? wq_second : (wq_n == 0 ? awlen : wq_head);
  // Step 2, a W beat: its burst's AW is known (AW first) or not yet (W first).
  wire w_known = !lead1 && n1 != 0;
  wire w_pop = w_hs && w_known && wlast;
  wire w_push = w_hs && !w_known && wlast;
  wire [4:0] n2 = n1 - w_pop;
  // This cycle's AW is the one of the W burst in progress (W started before its AW).
  wire aw_for_current = aw_push && wq_n == 0;
  always @(posedge clk) begin
    if (rst) begin
      wq_rp <= 0; wq_wp <= 0; wq_n <= 0; w_lead <= 1'b0; wb <= 0;
    end else begin
      if (aw_push) wq[wq_wp] <= awlen;
      if (w_push) wq[wq_wp] <= wb[7:0];
      if (aw_push || w_push) wq_wp <= wq_wp + 1'b1;
      if (aw_match || w_pop) wq_rp <= wq_rp + 1'b1;
      wq_n <= n1 + w_push - w_pop;
      if (w_push) w_lead <= 1'b1;
      else if (aw_push || n2 == 0) w_lead <= 1'b0;
      if (w_hs) wb <= wlast ? 9'd0 : wb + 1'b1;
    end
  end

  // Write bursts with AW accepted, with WLAST accepted, less the B responses.
  reg [5:0] aw_nb = 0, wl_nb = 0;
  always @(posedge clk) begin
    if (rst) begin
      aw_nb <= 0; wl_nb <= 0;
    end else begin
      aw_nb <= aw_nb + aw_hs - b_hs;
      wl_nb <= wl_nb + (w_hs && wlast) - b_hs;
    end
  end

  // ---- Slave assumptions (AXI4) ----
  always @(*) begin
    if (rst) assume(!rvalid && !bvalid);
    if (p_ok && p_r_wait)
      assume(rvalid && rid == p_rid && rdata == p_rdata && rresp == p_rresp && rlast == p_rlast);
    if (p_ok && p_b_wait) assume(bvalid && bresp == p_bresp);
    if (rvalid) begin
      assume(rid ? r1_n != 0 : r0_n != 0);
      assume(rlast == (rid ? r1_beat == r1_len : r0_beat == r0_head));
      assume(rresp != EXOKAY);
    end
    if (bvalid) assume(aw_nb != 0 && wl_nb != 0 && bid == 1'b0 && bresp != EXOKAY);
  end

  // ---- DMA instruction errors ----
  wire bad_now = dma_busy && (r_hs && !rid && rresp[1] || b_hs && bresp[1]);
  reg inst_bad = 1'b0;
  always @(posedge clk) begin
    if (rst || dma_go) inst_bad <= 1'b0;
    else if (bad_now) inst_bad <= 1'b1;
  end

  // 4 KB: the start aligned down to the beat, plus the burst's bytes, stays in the page.
  function in_page;
    input [31:0] addr;
    input [7:0] len;
    reg [31:0] a0;
    begin
      a0 = {20'd0, addr[11:0]} & ~(DB - 1);
      in_page = a0 + (({24'd0, len} + 32'd1) << SIZE) <= 32'd4096;
    end
  endfunction
  function ends_page;
    input [31:0] addr;
    input [7:0] len;
    reg [31:0] a0;
    begin
      a0 = {20'd0, addr[11:0]} & ~(DB - 1);
      ends_page = a0 + (({24'd0, len} + 32'd1) << SIZE) == 32'd4096;
    end
  endfunction

  always @(*) begin
    if (!rst) begin
      // H: handshakes.
      if (p_ok && p_ar_wait)
        assert(arvalid && arid == p_arid && araddr == p_araddr && arlen == p_arlen
               && arsize == p_arsize && arburst == p_arburst);
      if (p_ok && p_aw_wait)
        assert(awvalid && awid == p_awid && awaddr == p_awaddr && awlen == p_awlen
               && awsize == p_awsize && awburst == p_awburst);
      if (p_ok && p_w_wait)
        assert(wvalid && wdata == p_wdata && wstrb == p_wstrb && wlast == p_wlast);
      // F: legal fields.
      if (arvalid) assert(arsize == SIZE && arburst == INCR && in_page(araddr, arlen));
      if (awvalid) assert(awsize == SIZE && awburst == INCR && awid == 1'b0 && in_page(awaddr, awlen));
      assert(bready);
`ifndef AXI4M_BASIC
      // W: beats per burst.
      if (aw_match) assert(awlen == wq_head);
      if (aw_for_current) assert(wb <= {1'b0, awlen});
      if (w_hs && w_known) assert(wb <= {1'b0, head1} && wlast == (wb == {1'b0, head1}));
      if (w_hs && !w_known && wb == 9'd255) assert(wlast);
      assert(w_lead ? wq_n <= 1 : wq_n <= MAX_WRITES);
`endif
      // O: outstanding.
      assert(r0_n <= DMA_READS);
      assert(r1_n <= FETCH_READS);
      assert(aw_nb <= MAX_WRITES);
      // Invariants (white-box): the design's counts are the checker's, plus a burst in the AR
      // or AW register; its error flag is the checker's record of an error response.
      assert(i_rd_out == r0_n + (arvalid && !arid));
      assert({1'b0, i_fr_out} == r1_n + (arvalid && arid));
      assert(i_wr_out == aw_nb + awvalid);
      if (dma_busy) assert(i_failed == inst_bad);
      assert(i_rd_out <= DMA_READS && i_wr_out <= MAX_WRITES);
`ifndef AXI4M_BASIC
      // A: every request answered before the DMA or the fetch is idle.
      if (!dma_busy)
        assert(r0_n == 0 && !(arvalid && !arid) && !awvalid && !wvalid && aw_nb == 0
               && wl_nb == 0 && wb == 0);
`endif
      if (!fetching) assert(r1_n == 0 && !(arvalid && arid));
      // E: errors.
      assert(dma_err == (bad_now && !inst_bad));
      if (dma_done) assert(!inst_bad && !bad_now);
    end
  end

  // ---- Covers ----
  reg wrote = 1'b0;                        // an AW accepted since the last go
  always @(posedge clk) begin
    if (rst || dma_go) wrote <= 1'b0;
    else if (aw_hs) wrote <= 1'b1;
  end
  always @(*) begin
    if (!rst) begin
      cover(ar_hs && !arid && arlen != 0 && ends_page(araddr, arlen));
      cover(aw_hs && awlen != 0 && ends_page(awaddr, awlen));
      cover(r0_n == DMA_READS);
      cover(r0_n != 0 && r1_n != 0);
      cover(b_hs && bresp == 2'd2);
      cover(w_lead && wq_n == 1);
      cover(dma_done && wrote);
    end
  end
endmodule
