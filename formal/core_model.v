// Behavioural model of systolic_top for the formal miter (formal/core_top.v), written from the
// contract of docs/architecture.md, not from the RTL: transaction level, no pipeline. Every
// fired beat acts at once on the model's state:
//   ls beat    -> one row of the shadow stationary (a new load starts at row 0; `ls_last` or the
//                 ROWS-th row ends it: the shadow is then full);
//   mm header  -> queued (the model's queue is deeper than the core's, so it never refuses);
//   mv beat    -> the head instruction's next moving column: the first beat of a swap
//                 instruction makes the shadow active; then for every column m < M
//                   psum[bank][offset + n][m] = (acc ? psum : 0) + sum_{r < min(K, rows)} w[r][m] * x[r]
//                 modulo 2^ACC_W, rows past the loaded stationary's last and moving rows r >= K
//                 counting as zero;
//   rd request -> the model's PSUM entry as it stands, compared with the response.
// PSUM powers up undefined: the model tracks which (bank, address, column) were written and
// compares only those; accumulating into an undefined entry leaves it undefined.
//
// Assertions: the read response equals the model (every written column), arrives within
// RD_BOUND cycles, is held until taken, one per request; no beat is taken that the command stream
// has no room for (an mv beat with no instruction, an ls beat into a full shadow without a
// swap in the same cycle, a swap beat without a full shadow); the model's queue never overflows.
// Assumptions: the legal command stream of the core's contract (k, m, n in range, offset + n
// within the bank, a swap = 0 instruction only after some swap, a bank in range) and
// ls_gapless = 0. Nothing is assumed about when valids rise or fall.
`default_nettype none
module systolic_top_model #(
  parameter ROWS = 2,
  parameter COLS = 2,
  parameter DATA_W = 4,
  parameter ACC_W = 8,
  parameter SIGNED = 1,
  parameter BANKS = 1,
  parameter DEPTH = 2,
  parameter K_W = 2,
  parameter M_W = 2,
  parameter N_W = 2,
  parameter BANK_W = 1,
  parameter ADDR_W = 1,
  parameter RD_BOUND = 1,   // the response comes at most RD_BOUND + 1 cycles after the request
  parameter Q = 4
) (
  input wire clk,
  input wire rst,
  input wire ls_valid,
  input wire ls_ready,
  input wire [COLS*DATA_W-1:0] ls_data,
  input wire ls_last,
  input wire ls_gapless,
  input wire mm_valid,
  input wire mm_ready,
  input wire [K_W-1:0] mm_k,
  input wire [M_W-1:0] mm_m,
  input wire [N_W-1:0] mm_n,
  input wire [BANK_W-1:0] mm_bank,
  input wire [ADDR_W-1:0] mm_offset,
  input wire mm_acc,
  input wire mm_swap,
  input wire mv_valid,
  input wire mv_ready,
  input wire [ROWS*DATA_W-1:0] mv_data,
  input wire rd_valid,
  input wire rd_ready,
  input wire [BANK_W-1:0] rd_bank,
  input wire [ADDR_W-1:0] rd_addr,
  input wire rdata_valid,
  input wire rdata_ready,
  input wire [COLS*ACC_W-1:0] rdata
);
  localparam ENTRIES = BANKS * DEPTH;
  localparam QW = K_W + M_W + N_W + BANK_W + ADDR_W + 2;
  localparam QI_W = $clog2(Q + 1);

  reg f_init = 1'b1;
  always @(posedge clk) f_init <= 1'b0;
  always @(*) assume(rst == f_init);
  always @(*) assume(!ls_gapless);

  wire ls_fire = ls_valid && ls_ready;
  wire mm_fire = mm_valid && mm_ready;
  wire mv_fire = mv_valid && mv_ready;
  wire rd_fire = rd_valid && rd_ready;
  wire rdata_fire = rdata_valid && rdata_ready;

  // ---- The legal command stream (assumptions on the producer) ----
  reg swap_issued = 1'b0;
  always @(posedge clk) if (!rst && mm_fire && mm_swap) swap_issued <= 1'b1;
  always @(*) begin
    if (mm_valid) begin
      assume(mm_k >= 1 && mm_k <= ROWS);
      assume(mm_m >= 1 && mm_m <= COLS);
      assume(mm_n >= 1 && mm_n <= DEPTH);
      assume(mm_bank < BANKS);
      assume({1'b0, mm_offset} + mm_n <= DEPTH);
      assume(mm_swap || swap_issued);
    end
    if (rd_valid) assume(rd_bank < BANKS);
  end

  // ---- Model state ----
  reg [DATA_W-1:0] shadow [0:ROWS*COLS-1];
  reg [DATA_W-1:0] active [0:ROWS*COLS-1];
  reg [K_W-1:0] shadow_rows = 0, active_rows = 0;  // rows loaded (the rest read as zero)
  reg loading = 1'b0, shadow_full = 1'b0;
  reg [ACC_W-1:0] pm [0:ENTRIES*COLS-1];
  reg [ENTRIES*COLS-1:0] written = 0;
  reg [QW-1:0] q [0:Q-1];
  reg [QI_W-1:0] q_count = 0;
  reg [N_W-1:0] beat = 0;   // beats of the head instruction already taken

  // The head instruction's fields.
  wire [QW-1:0] head = q[0];
  wire h_swap = head[0];
  wire h_acc = head[1];
  wire [ADDR_W-1:0] h_offset = head[2 +: ADDR_W];
  wire [BANK_W-1:0] h_bank = head[2 + ADDR_W +: BANK_W];
  wire [N_W-1:0] h_n = head[2 + ADDR_W + BANK_W +: N_W];
  wire [M_W-1:0] h_m = head[2 + ADDR_W + BANK_W + N_W +: M_W];
  wire [K_W-1:0] h_k = head[2 + ADDR_W + BANK_W + N_W + M_W +: K_W];
  wire [QW-1:0] mm_word = {mm_k, mm_m, mm_n, mm_bank, mm_offset, mm_acc, mm_swap};

  // An element widened to ACC_W bits (sign-extended for signed formats).
  function [ACC_W-1:0] widen;
    input [DATA_W-1:0] v;
    begin
      widen = {{(ACC_W - DATA_W){SIGNED != 0 && v[DATA_W-1]}}, v};
    end
  endfunction

  // Read response tracking.
  reg rd_out = 1'b0;
  reg [2:0] rd_age = 0;
  reg [COLS*ACC_W-1:0] exp_data;
  reg [COLS-1:0] exp_written;
  reg rst_q = 1'b1;
  reg rdata_valid_q = 1'b0;
  reg rdata_ready_q = 1'b0;
  reg [COLS*ACC_W-1:0] rdata_q;

  integer r, c, e, i, pc;
  reg [ACC_W-1:0] sum;
  reg swapping;
  reg [ADDR_W:0] addr;

  always @(posedge clk) begin
    rst_q <= rst;
    rdata_valid_q <= rdata_valid;
    rdata_ready_q <= rdata_ready;
    rdata_q <= rdata;
    if (rst) begin
      loading <= 1'b0;
      shadow_full <= 1'b0;
      shadow_rows <= 0;
      active_rows <= 0;
      q_count <= 0;
      beat <= 0;
      rd_out <= 1'b0;
      rd_age <= 0;
      written <= 0;
    end else begin
      // mv beat: the swap (first beat of a swap instruction) happens before this cycle's ls
      // beat writes the shadow.
      swapping = mv_fire && beat == 0 && h_swap;
      if (mv_fire) begin
        if (swapping) begin
          for (i = 0; i < ROWS * COLS; i = i + 1) active[i] <= shadow[i];
          active_rows <= shadow_rows;
        end
        addr = h_offset + beat;
        for (c = 0; c < COLS; c = c + 1) begin
          sum = 0;
          for (r = 0; r < ROWS; r = r + 1)
            if (r < h_k && r < (swapping ? shadow_rows : active_rows))
              sum = sum + widen(swapping ? shadow[r * COLS + c] : active[r * COLS + c])
                        * widen(mv_data[r * DATA_W +: DATA_W]);
          for (e = 0; e < ENTRIES; e = e + 1)
            if (c < h_m && e == h_bank * DEPTH + addr) begin
              pm[e * COLS + c] <= (h_acc ? pm[e * COLS + c] : {ACC_W{1'b0}}) + sum;
              written[e * COLS + c] <= h_acc ? written[e * COLS + c] : 1'b1;
            end
        end
        if (beat + 1 == h_n) begin
          beat <= 0;
          for (i = 0; i + 1 < Q; i = i + 1) q[i] <= q[i + 1];
        end else begin
          beat <= beat + 1'b1;
        end
      end
      // mm header: joins the queue (behind the head that may leave in this cycle).
      if (mm_fire)
        q[q_count - (mv_fire && beat + 1 == h_n ? 1 : 0)] <= mm_word;
      q_count <= q_count + (mm_fire ? 1 : 0) - (mv_fire && beat + 1 == h_n ? 1 : 0);
      // ls beat: one shadow row.
      if (ls_fire) begin
        for (c = 0; c < COLS; c = c + 1)
          shadow[(loading ? shadow_rows : 0) * COLS + c] <= ls_data[c * DATA_W +: DATA_W];
        if (ls_last || (loading ? shadow_rows : 0) + 1 == ROWS) begin
          loading <= 1'b0;
          shadow_full <= 1'b1;
        end else begin
          loading <= 1'b1;
          shadow_full <= 1'b0;
        end
        shadow_rows <= (loading ? shadow_rows : 0) + 1'b1;
      end else if (swapping) begin
        shadow_full <= 1'b0;
      end
      // Read request and response.
      if (rd_fire) begin
        rd_out <= 1'b1;
        rd_age <= 0;
        for (c = 0; c < COLS; c = c + 1) begin
          exp_data[c * ACC_W +: ACC_W] <= pm[(rd_bank * DEPTH + rd_addr) * COLS + c];
          exp_written[c] <= written[(rd_bank * DEPTH + rd_addr) * COLS + c];
        end
      end else if (rdata_fire) begin
        rd_out <= 1'b0;
      end else if (rd_out && !rdata_valid) begin
        rd_age <= rd_age + 1'b1;
      end
    end
  end

  // ---- Properties ----
  always @(posedge clk) begin
    if (!f_init && !rst) begin
      // No beat taken that the command stream has no room for.
      if (mv_fire) assert(q_count != 0);
      if (mv_fire && beat == 0 && h_swap) assert(shadow_full && !loading);
      if (ls_fire) assert(!shadow_full || (mv_fire && beat == 0 && h_swap));
      assert(q_count < Q);
      // The read port: one response per request, within RD_BOUND cycles, held until taken.
      if (rd_fire) assert(!rd_out || rdata_fire);
      if (rdata_valid) assert(rd_out);
      if (rd_out && !rdata_valid) assert(rd_age < RD_BOUND);
      if (!rst_q && rdata_valid_q && !rdata_ready_q) assert(rdata_valid && rdata == rdata_q);
      // The miter: every written column of the entry equals the model.
      if (rdata_valid)
        for (pc = 0; pc < COLS; pc = pc + 1)
          if (exp_written[pc]) assert(rdata[pc * ACC_W +: ACC_W] == exp_data[pc * ACC_W +: ACC_W]);
    end
  end

  // ---- Covers ----
  always @(posedge clk) begin
    if (!f_init && !rst) begin
      cover(rdata_valid && exp_written == {COLS{1'b1}});                    // a full result read
      cover(ls_fire && mv_fire && beat == 0 && h_swap);                     // swap during a load
      cover(rdata_valid && exp_written[0] && q_count == 0 && swap_issued
            && active_rows == ROWS && exp_data[ACC_W-1]);                   // a negative sum read
      cover(mv_fire && h_acc && beat == 0 && written != 0);                 // accumulate
    end
  end
endmodule
`default_nettype wire
