// tb_core: hand-written, self-checking Verilog-2005 testbench of the generated `systolic_top`,
// for Icarus Verilog. It is the project's second simulator: it checks the engine against
// expected values computed here, in plain integer arithmetic, independently of the Rust golden
// model and of the Verilator co-simulation.
//
//   iverilog -g2005 -Wall -o tb.vvp -s tb_core \
//            -P tb_core.ROWS=4 -P tb_core.COLS=4 ... hdl/tb_core.v $(cat files.f)
//   vvp -N tb.vvp
//
// Prints `PASS <n> checks` and calls $finish (exit status 0), or prints `FAIL <what>` for the
// first mismatch and calls $stop, which `vvp -N` turns into exit status 1 (a plain `vvp` would
// stop at its interactive prompt instead; `$finish` follows for `vvp -n`).
//
// The parameters must match the generated design (ROWS, COLS, DATA_W, SIGNED, ACC_W,
// PSUM_BANKS, PSUM_DEPTH); the port widths are derived here with the same formulas as in
// systolic_top, and a mismatch shows up as an Icarus port-width warning. SELF_TEST_BREAK=1 adds
// 1 to one expected value, so a run must report FAIL: that proves the checks can fail.
//
// Scenario (every channel is driven AXI-style: valid and data are set at a falling edge and
// held until ready; a beat fires at the rising edge where valid && ready; idle channels carry
// garbage data):
//   Stationaries: S0 has ROWS rows, ended by the ROWS-th beat (ls_last never raised); S1 has
//   K1 = ROWS-1 rows (ROWS if ROWS == 1), ended by ls_last, so its rows >= K1 must act as
//   zero although S0's weights were loaded there before (instructions 3 and 4 use S1 with
//   random moving data in every row, 3 with k = ROWS); S2 has ROWS rows, ls_last on the last.
//   The loader presents each stationary as soon as the previous one is loaded, so the contract
//   `ls_ready = !shadow_full || swap_fire` is checked exactly: S1 (S2) must start in the cycle
//   the swap beat of S0 (S1) fires.
//   Instructions (psum[bank][offset+n][c] (+)= sum_{r<k} stationary[r][c] * moving[r][n],
//   columns c < m only; moving rows r >= k always carry garbage):
//     phase A  0: bank 0,  [OA, OA+NA),    k=ROWS, m=COLS, acc=0, swap (S0)
//              1: bank B1, [0, DEPTH),     k=KM,   m=COLS, acc=0        (N = DEPTH, gaps)
//              read back every written address
//     phase B  2: bank 0,  [OA, OA+NA),    k=KM,   m=MM,   acc=1        (S0)
//              3: bank 0,  OA+NA-1, N=1,   k=ROWS, m=COLS, acc=1, swap (S1), back to back
//              4: bank 0,  OA+NA-1, N=1,   k=KM,   m=MM,   acc=1        (S1), back to back
//              5: bank B1, [0, DEPTH),     k=ROWS, m=M4,   acc=1, swap (S2, waits for it)
//              6: bank 0,  [OA, OA+NA),    k=1,    m=COLS, acc=1        (S2, gaps)
//              read back every written address, requests raised while 5 and 6 are in flight
//   Instructions 3 and 4 accumulate into the address written by the previous beat (the PSUM
//   forwarding path); their beats must follow 2's last beat with no bubble.
// Checks: every column of every read (masked to ACC_W bits); a response held while
// rdata_ready is low stays valid and unchanged; a read is accepted only after every beat of
// every accepted instruction; busy after reset and at the end; the exact cycles above.
module tb_core;
  parameter integer ROWS = 4;
  parameter integer COLS = 4;
  parameter integer DATA_W = 8;
  parameter integer SIGNED = 1;
  parameter integer ACC_W = 32;
  parameter integer PSUM_BANKS = 2;
  parameter integer PSUM_DEPTH = 64;
  parameter integer SEED = 1;
  parameter integer SELF_TEST_BREAK = 0;
  parameter integer TIMEOUT_CYCLES = 100000;
  // Negative clock edges with rst high before it is released (the mutation campaign also runs
  // 1: every register the design resets must be right after one reset edge, from any state).
  parameter integer RESET_CYCLES = 4;

  // Port widths, same formulas as systolic_top.
  localparam integer K_W = $clog2(ROWS + 1);
  localparam integer M_W = $clog2(COLS + 1);
  localparam integer N_W = $clog2(PSUM_DEPTH + 1);
  localparam integer BANK_W = PSUM_BANKS > 1 ? $clog2(PSUM_BANKS) : 1;
  localparam integer ADDR_W = $clog2(PSUM_DEPTH);

  // Scenario sizes.
  localparam integer KM = ROWS - ROWS / 2;           // masked k: < ROWS when ROWS > 1
  localparam integer K1 = ROWS > 1 ? ROWS - 1 : 1;   // rows of the short stationary S1
  localparam integer MM = COLS - COLS / 2;           // partial m: < COLS when COLS > 1
  localparam integer M4 = COLS > 1 ? COLS - 1 : 1;
  localparam integer OA = PSUM_DEPTH > 8 ? 3 : 0;
  localparam integer NA = PSUM_DEPTH - OA < 5 ? PSUM_DEPTH - OA : 5;
  localparam integer B1 = PSUM_BANKS - 1;
  localparam integer NI = 7;                         // instructions
  localparam integer NS = 3;                         // stationaries
  localparam integer MAXB = 3 * NA + 2 * PSUM_DEPTH + 2; // moving beats in all
  localparam integer ENTRIES = PSUM_BANKS * PSUM_DEPTH;

  // ---- Clock, DUT ----
  reg clk = 1'b0;
  always #5 clk = ~clk;
  reg rst = 1'b1;

  reg ls_valid = 1'b0;
  wire ls_ready;
  reg [COLS*DATA_W-1:0] ls_data = {COLS*DATA_W{1'b0}};
  reg ls_last = 1'b0;
  reg mm_valid = 1'b0;
  wire mm_ready;
  reg [K_W-1:0] mm_k = {K_W{1'b0}};
  reg [M_W-1:0] mm_m = {M_W{1'b0}};
  reg [N_W-1:0] mm_n = {N_W{1'b0}};
  reg [BANK_W-1:0] mm_bank = {BANK_W{1'b0}};
  reg [ADDR_W-1:0] mm_offset = {ADDR_W{1'b0}};
  reg mm_acc = 1'b0;
  reg mm_swap = 1'b0;
  reg mv_valid = 1'b0;
  wire mv_ready;
  reg [ROWS*DATA_W-1:0] mv_data = {ROWS*DATA_W{1'b0}};
  reg rd_valid = 1'b0;
  wire rd_ready;
  reg [BANK_W-1:0] rd_bank = {BANK_W{1'b0}};
  reg [ADDR_W-1:0] rd_addr = {ADDR_W{1'b0}};
  wire rdata_valid;
  reg rdata_ready = 1'b0;
  wire [COLS*ACC_W-1:0] rdata;
  wire busy;

  systolic_top #(
    .ROWS       (ROWS),
    .COLS       (COLS),
    .DATA_W     (DATA_W),
    .SIGNED     (SIGNED),
    .ACC_W      (ACC_W),
    .PSUM_BANKS (PSUM_BANKS),
    .PSUM_DEPTH (PSUM_DEPTH)
  ) dut (
    .clk         (clk),
    .rst         (rst),
    .ls_valid    (ls_valid),
    .ls_ready    (ls_ready),
    .ls_data     (ls_data),
    .ls_last     (ls_last),
    .ls_gapless  (1'b0),
    .mm_valid    (mm_valid),
    .mm_ready    (mm_ready),
    .mm_k        (mm_k),
    .mm_m        (mm_m),
    .mm_n        (mm_n),
    .mm_bank     (mm_bank),
    .mm_offset   (mm_offset),
    .mm_acc      (mm_acc),
    .mm_swap     (mm_swap),
    .mv_valid    (mv_valid),
    .mv_ready    (mv_ready),
    .mv_data     (mv_data),
    .rd_valid    (rd_valid),
    .rd_ready    (rd_ready),
    .rd_bank     (rd_bank),
    .rd_addr     (rd_addr),
    .rdata_valid (rdata_valid),
    .rdata_ready (rdata_ready),
    .rdata       (rdata),
    .busy        (busy)
  );

  // ---- Bookkeeping ----
  integer checks = 0;
  integer cycle = 0;
  always @(posedge clk) cycle <= cycle + 1;

  task fail;
    begin
      $display("       at cycle %0d (time %0t)", cycle, $time);
      $stop;
      $finish;
    end
  endtask

  initial begin
    repeat (TIMEOUT_CYCLES) @(posedge clk);
    $display("FAIL timeout: no PASS after %0d cycles", TIMEOUT_CYCLES);
    fail;
  end

  // ---- Pseudo-random numbers: a 32-bit LCG per process ----
  function [31:0] lcg_next;
    input [31:0] s;
    begin
      lcg_next = s * 32'd1664525 + 32'd1013904223;
    end
  endfunction

  localparam [DATA_W-1:0] MINV = SIGNED != 0 ? {1'b1, {(DATA_W - 1){1'b0}}} : {DATA_W{1'b0}};
  localparam [DATA_W-1:0] MAXV = SIGNED != 0 ? {1'b0, {(DATA_W - 1){1'b1}}} : {DATA_W{1'b1}};

  // One element: the extremes (most negative / 0, most positive, 0, all ones) one time in two,
  // else uniform. Advances the state it is given.
  reg [31:0] gen_state;
  task rand_elem;
    output [DATA_W-1:0] v;
    begin
      gen_state = lcg_next(gen_state);
      case (gen_state[31:29])
        3'd0: v = MINV;
        3'd1: v = MAXV;
        3'd2: v = {DATA_W{1'b0}};
        3'd3: v = {DATA_W{1'b1}};
        default: begin
          gen_state = lcg_next(gen_state);
          v = gen_state[31:32-DATA_W];
        end
      endcase
    end
  endtask

  // The value of an element as a number: two's complement when SIGNED, else unsigned.
  function signed [63:0] value;
    input [DATA_W-1:0] b;
    reg signed [63:0] v;
    begin
      v = 64'sd0;
      v[DATA_W-1:0] = b;
      if (SIGNED != 0 && b[DATA_W-1])
        v = v - (64'sd1 <<< DATA_W);
      value = v;
    end
  endfunction

  // ---- Stimulus data and the instruction list ----
  reg [DATA_W-1:0] stat_mem [0:NS*ROWS*COLS-1];  // stationary s, row r, column c
  integer stat_rows [0:NS-1];
  reg [DATA_W-1:0] mov_mem [0:MAXB*ROWS-1];      // global beat b, row r
  integer i_bank [0:NI-1], i_off [0:NI-1], i_n [0:NI-1], i_k [0:NI-1], i_m [0:NI-1];
  integer i_acc [0:NI-1], i_swap [0:NI-1], i_gaps [0:NI-1], i_base [0:NI-1];
  integer beat_cycle [0:MAXB-1];                 // cycle each moving beat fired
  integer ls_first_cycle [0:NS-1];               // cycle the first row of each stationary fired

  task set_instr;
    input integer i, bank, off, n, k, m, acc, swap, gaps;
    begin
      i_bank[i] = bank; i_off[i] = off; i_n[i] = n; i_k[i] = k; i_m[i] = m;
      i_acc[i] = acc; i_swap[i] = swap; i_gaps[i] = gaps;
    end
  endtask

  integer gi, gr, gc;
  task make_stimulus;
    begin
      gen_state = 32'h5eed_0000 ^ SEED;
      stat_rows[0] = ROWS;
      stat_rows[1] = K1;
      stat_rows[2] = ROWS;
      for (gi = 0; gi < NS * ROWS * COLS; gi = gi + 1) rand_elem(stat_mem[gi]);
      for (gi = 0; gi < MAXB * ROWS; gi = gi + 1) rand_elem(mov_mem[gi]);
      // Largest products for sure: MIN*MIN at PE(0,0), MAX*MAX at PE(ROWS-1,COLS-1), beat 0.
      stat_mem[0] = MINV;
      mov_mem[0] = MINV;
      stat_mem[ROWS * COLS - 1] = MAXV;
      mov_mem[ROWS - 1] = MAXV;
      //            i  bank off          n           k     m     acc swap gaps
      set_instr(0, 0, OA, NA, ROWS, COLS, 0, 1, 0);
      set_instr(1, B1, 0, PSUM_DEPTH, KM, COLS, 0, 0, 1);
      set_instr(2, 0, OA, NA, KM, MM, 1, 0, 0);
      set_instr(3, 0, OA + NA - 1, 1, ROWS, COLS, 1, 1, 0);
      set_instr(4, 0, OA + NA - 1, 1, KM, MM, 1, 0, 0);
      set_instr(5, B1, 0, PSUM_DEPTH, ROWS, M4, 1, 1, 0);
      set_instr(6, 0, OA, NA, 1, COLS, 1, 0, 1);
      i_base[0] = 0;
      for (gi = 1; gi < NI; gi = gi + 1) i_base[gi] = i_base[gi - 1] + i_n[gi - 1];
      for (gi = 0; gi < MAXB; gi = gi + 1) beat_cycle[gi] = -1;
    end
  endtask

  // ---- The expected PSUM: applied in program order when a header is accepted ----
  reg [ACC_W-1:0] exp_mem [0:ENTRIES*COLS-1];   // (bank*DEPTH + addr)*COLS + column
  reg written [0:ENTRIES-1];
  integer model_stat = -1;                      // stationary in use

  integer mn, mr, mc, me, mk;
  reg signed [63:0] dot;
  task model_apply;
    input integer i;
    begin
      if (i_swap[i] != 0) model_stat = model_stat + 1;
      mk = i_k[i] < stat_rows[model_stat] ? i_k[i] : stat_rows[model_stat];
      for (mn = 0; mn < i_n[i]; mn = mn + 1) begin
        me = i_bank[i] * PSUM_DEPTH + i_off[i] + mn;
        written[me] = 1'b1;
        for (mc = 0; mc < i_m[i]; mc = mc + 1) begin
          dot = 64'sd0;
          for (mr = 0; mr < mk; mr = mr + 1)
            dot = dot + value(stat_mem[(model_stat * ROWS + mr) * COLS + mc])
                      * value(mov_mem[(i_base[i] + mn) * ROWS + mr]);
          if (i_acc[i] != 0)
            exp_mem[me * COLS + mc] = exp_mem[me * COLS + mc] + dot[ACC_W-1:0];
          else
            exp_mem[me * COLS + mc] = dot[ACC_W-1:0];
        end
      end
      if (SELF_TEST_BREAK != 0 && i == NI - 1)
        exp_mem[OA * COLS] = exp_mem[OA * COLS] + 1'b1;
    end
  endtask

  // ---- LoadStationary driver ----
  reg [31:0] ls_rng = 32'h1111_0000 ^ SEED;
  integer lr, lcol;
  task ls_idle;
    begin
      @(negedge clk);
      ls_rng = lcg_next(ls_rng);
      ls_valid = 1'b0;
      ls_last = ls_rng[31];
      ls_data = {COLS{ls_rng}};
    end
  endtask
  task ls_load;
    input integer s;
    input integer use_last;
    input integer gaps;
    begin
      for (lr = 0; lr < stat_rows[s]; lr = lr + 1) begin
        ls_rng = lcg_next(ls_rng);
        if (gaps != 0 && ls_rng[31] && lr > 0) begin
          ls_idle;
          if (ls_rng[30]) ls_idle;
        end
        @(negedge clk);
        ls_valid = 1'b1;
        ls_last = use_last != 0 && lr == stat_rows[s] - 1;
        for (lcol = 0; lcol < COLS; lcol = lcol + 1)
          ls_data[lcol*DATA_W +: DATA_W] = stat_mem[(s * ROWS + lr) * COLS + lcol];
        @(posedge clk);
        while (!ls_ready) @(posedge clk);
        if (lr == 0) ls_first_cycle[s] = cycle;
      end
    end
  endtask

  // ---- MultiplyMoving header driver ----
  integer mm_beats_accepted = 0;   // sum of N over accepted headers
  integer hi;
  task mm_run;
    input integer first, last, delay;
    begin
      repeat (delay) @(negedge clk);
      for (hi = first; hi <= last; hi = hi + 1) begin
        @(negedge clk);
        mm_valid = 1'b1;
        mm_k = i_k[hi];
        mm_m = i_m[hi];
        mm_n = i_n[hi];
        mm_bank = i_bank[hi];
        mm_offset = i_off[hi];
        mm_acc = i_acc[hi] != 0;
        mm_swap = i_swap[hi] != 0;
        @(posedge clk);
        while (!mm_ready) @(posedge clk);
        model_apply(hi);
        mm_beats_accepted = mm_beats_accepted + i_n[hi];
      end
      @(negedge clk);
      mm_valid = 1'b0;
      mm_k = ~mm_k;
      mm_swap = ~mm_swap;
      @(posedge clk);
      if (busy !== 1'b1) begin
        $display("FAIL busy is %b the cycle after MultiplyMoving %0d was accepted", busy, last);
        fail;
      end
      checks = checks + 1;
    end
  endtask

  // ---- Moving driver ----
  reg [31:0] mv_rng = 32'h2222_0000 ^ SEED;
  integer mv_fired = 0;
  integer vi, vn, vr;
  task mv_idle;
    begin
      @(negedge clk);
      mv_rng = lcg_next(mv_rng);
      mv_valid = 1'b0;
      mv_data = {ROWS{mv_rng}};
    end
  endtask
  task mv_run;
    input integer first, last;
    begin
      for (vi = first; vi <= last; vi = vi + 1)
        for (vn = 0; vn < i_n[vi]; vn = vn + 1) begin
          mv_rng = lcg_next(mv_rng);
          if (i_gaps[vi] != 0 && mv_rng[31]) begin
            mv_idle;
            if (mv_rng[30]) mv_idle;
          end
          @(negedge clk);
          mv_valid = 1'b1;
          for (vr = 0; vr < ROWS; vr = vr + 1)
            mv_data[vr*DATA_W +: DATA_W] = mov_mem[(i_base[vi] + vn) * ROWS + vr];
          @(posedge clk);
          while (!mv_ready) @(posedge clk);
          beat_cycle[i_base[vi] + vn] = cycle;
          mv_fired = mv_fired + 1;
        end
      mv_idle;
    end
  endtask

  // ---- PSUM reads: requests and responses ----
  integer fifo [0:ENTRIES-1];   // entry (bank*DEPTH + addr) of each accepted request
  integer fifo_wr, fifo_rd, rd_total;
  reg [31:0] rd_rng = 32'h3333_0000 ^ SEED;
  integer re;
  task rd_idle;
    begin
      @(negedge clk);
      rd_rng = lcg_next(rd_rng);
      rd_valid = 1'b0;
      rd_bank = rd_rng[31:16];
      rd_addr = rd_rng[15:0];
    end
  endtask
  task rd_requests;
    begin
      for (re = 0; re < ENTRIES; re = re + 1)
        if (written[re]) begin
          rd_rng = lcg_next(rd_rng);
          if (rd_rng[31:30] == 2'b00) rd_idle;
          @(negedge clk);
          rd_valid = 1'b1;
          rd_bank = re / PSUM_DEPTH;
          rd_addr = re % PSUM_DEPTH;
          @(posedge clk);
          while (!rd_ready) @(posedge clk);
          if (mv_fired != mm_beats_accepted) begin
            $display("FAIL read of bank %0d addr %0d accepted with %0d of %0d moving beats sent",
                     re / PSUM_DEPTH, re % PSUM_DEPTH, mv_fired, mm_beats_accepted);
            fail;
          end
          checks = checks + 1;
          fifo[fifo_wr] = re;
          fifo_wr = fifo_wr + 1;
        end
      rd_idle;
    end
  endtask

  reg [31:0] rq_rng = 32'h4444_0000 ^ SEED;
  integer taken, qe, qc;
  reg [ACC_W-1:0] got, want;
  task rd_responses;
    begin
      taken = 0;
      while (taken < rd_total) begin
        @(negedge clk);
        rq_rng = lcg_next(rq_rng);
        rdata_ready = rq_rng[31] | rq_rng[30];   // 3 cycles in 4
        @(posedge clk);
        if (rdata_valid && rdata_ready) begin
          if (fifo_rd >= fifo_wr) begin
            $display("FAIL read response without a request");
            fail;
          end
          qe = fifo[fifo_rd];
          fifo_rd = fifo_rd + 1;
          for (qc = 0; qc < COLS; qc = qc + 1) begin
            got = rdata[qc*ACC_W +: ACC_W];
            want = exp_mem[qe * COLS + qc];
            if (got !== want) begin
              $display("FAIL bank %0d addr %0d column %0d: got %0d (0x%h), expected %0d (0x%h)",
                       qe / PSUM_DEPTH, qe % PSUM_DEPTH, qc, got, got, want, want);
              fail;
            end
            checks = checks + 1;
          end
          taken = taken + 1;
        end
      end
      @(negedge clk);
      rdata_ready = 1'b0;
    end
  endtask

  task read_all;
    begin
      fifo_wr = 0;
      fifo_rd = 0;
      rd_total = 0;
      for (re = 0; re < ENTRIES; re = re + 1)
        if (written[re]) rd_total = rd_total + 1;
      fork
        rd_requests;
        rd_responses;
      join
    end
  endtask

  // A response held while rdata_ready is low stays valid and unchanged.
  reg held = 1'b0;
  reg [COLS*ACC_W-1:0] held_data;
  always @(posedge clk) begin
    if (held) begin
      if (rdata_valid !== 1'b1 || rdata !== held_data) begin
        $display("FAIL a read response not taken changed: valid %b data 0x%h, was 0x%h",
                 rdata_valid, rdata, held_data);
        fail;
      end
      checks = checks + 1;
    end
    held <= !rst && rdata_valid === 1'b1 && rdata_ready === 1'b0;
    held_data <= rdata;
  end

  // ---- Timing checks of the contract ----
  task expect_cycle;
    input integer got_cycle, want_cycle;
    input [8*48-1:0] what;
    begin
      if (got_cycle != want_cycle) begin
        $display("FAIL %0s: cycle %0d, expected %0d", what, got_cycle, want_cycle);
        fail;
      end
      checks = checks + 1;
    end
  endtask

  integer ti;
  task timing_checks;
    begin
      // Instruction 2 has no gaps; 3 and 4 follow back to back (3 swaps in S1).
      for (ti = 1; ti < i_n[2]; ti = ti + 1)
        expect_cycle(beat_cycle[i_base[2] + ti], beat_cycle[i_base[2]] + ti,
                     "beat of instruction 2");
      expect_cycle(beat_cycle[i_base[3]], beat_cycle[i_base[2] + i_n[2] - 1] + 1,
                   "swap beat of instruction 3");
      expect_cycle(beat_cycle[i_base[4]], beat_cycle[i_base[3]] + 1,
                   "beat of instruction 4");
      // Each stationary after the first starts loading in the cycle its predecessor's swap
      // beat fires (the loader was waiting with ls_valid high).
      expect_cycle(ls_first_cycle[1], beat_cycle[i_base[0]], "first row of S1");
      expect_cycle(ls_first_cycle[2], beat_cycle[i_base[3]], "first row of S2");
    end
  endtask

  // ---- Main ----
  integer wi;
  initial begin
    make_stimulus;
    for (wi = 0; wi < ENTRIES; wi = wi + 1) written[wi] = 1'b0;
    repeat (RESET_CYCLES) @(negedge clk);
    rst = 1'b0;
    @(posedge clk);
    if (busy !== 1'b0 || mm_ready !== 1'b1 || ls_ready !== 1'b1 || mv_ready !== 1'b0
        || rdata_valid !== 1'b0) begin
      $display("FAIL after reset: busy %b mm_ready %b ls_ready %b mv_ready %b rdata_valid %b",
               busy, mm_ready, ls_ready, mv_ready, rdata_valid);
      fail;
    end
    checks = checks + 1;
    fork
      begin
        ls_load(0, 0, 0);
        ls_load(1, 1, 1);
        ls_load(2, 1, 1);
        ls_idle;
      end
      begin
        // Phase A. The header comes late: mv_valid waits for it.
        fork
          mm_run(0, 1, 3);
          mv_run(0, 1);
        join
        read_all;
        // Phase B: reads start while instructions 5 and 6 are still in flight.
        fork
          begin
            mm_run(2, NI - 1, 0);
            read_all;
          end
          mv_run(2, NI - 1);
        join
      end
    join
    timing_checks;
    repeat (2) @(posedge clk);
    if (busy !== 1'b0) begin
      $display("FAIL busy is %b after every response was taken", busy);
      fail;
    end
    checks = checks + 1;
    $display("PASS %0d checks", checks);
    $finish;
  end
endmodule
