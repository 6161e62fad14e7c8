// Formal checker of systolic_uart_bridge (docs/uart-protocol.md), bound to the bridge's ports
// (formal/uart_top.v). The checker parses the request bytes itself, as the protocol describes
// the device (SYNC hunt, CMD, SEQ, LEN, payload, CRC-16/CCITT-FALSE MSB first; a frame dropped
// on LEN > 69, a framing error or silence; bytes dropped while a frame is executed or
// answered), and parses the response frames on the transmit side.
//
// Properties (assertions):
//   C  a frame whose CRC does not match causes no bus access (no AW, W or AR beat) and is
//      answered with NAK 0x01;
//   R  a well-formed WRITE whose SEQ equals the SEQ of the last executed frame is a retry: it
//      causes no bus access and is answered with the RESP stored from the last executed WRITE;
//   X  an executed WRITE of n words performs exactly n AW beats and n W beats, at ADDR + 4i,
//      an executed READ of COUNT words exactly COUNT AR beats, malformed frames none;
//   A  every complete frame gets exactly one response, with its SEQ, before the next frame
//      is taken; no response without a frame.
// Assumptions: the receiver's strobes (`rx_valid`, `rx_err` never together; bytes never in the
// TIMEOUT_SLACK cycles around the timeout, so the checker need not know the exact cycle the
// bridge drops a silent frame); nothing about the AXI slave or the transmitter.
// Invariants (white-box, asserted and proven with the properties): the bridge's registers, seen
// through the i_* inputs that formal/uart.sby connects after flattening, equal the checker's
// parse; they make the properties inductive for PDR.
`default_nettype none
module systolic_uart_bridge_check #(
  parameter TIMEOUT = 12,
  parameter TIMEOUT_SLACK = 2,
  parameter IDLE_W = $clog2(TIMEOUT + 1)
) (
  input wire clk,
  input wire rst,
  input wire [7:0] rx_data,
  input wire rx_valid,
  input wire rx_err,
  input wire [7:0] tx_data,
  input wire tx_valid,
  input wire tx_ready,
  input wire [31:0] m_axil_awaddr,
  input wire m_axil_awvalid,
  input wire m_axil_awready,
  input wire m_axil_wvalid,
  input wire m_axil_wready,
  input wire [1:0] m_axil_bresp,
  input wire m_axil_bvalid,
  input wire m_axil_bready,
  input wire m_axil_arvalid,
  input wire m_axil_arready,
  // White-box view of the bridge's registers, for the invariants below only (formal/uart.sby
  // connects them to the flattened bridge's registers of the same names).
  input wire [3:0] i_state,
  input wire [IDLE_W-1:0] i_idle_cnt,
  input wire [15:0] i_crc_rx,
  input wire [7:0] i_cmd_r,
  input wire [7:0] i_seq_r,
  input wire [7:0] i_len_r,
  input wire [7:0] i_pcnt,
  input wire [31:0] i_addr_r,
  input wire [7:0] i_arg_r,
  input wire [7:0] i_crc_hi_r,
  input wire i_crc_ok,
  input wire [4:0] i_nwords,
  input wire [4:0] i_widx,
  input wire [1:0] i_resp_acc,
  input wire i_last_valid,
  input wire [7:0] i_last_seq,
  input wire [1:0] i_last_resp,
  input wire i_nak,
  input wire [7:0] i_rbyte0,
  input wire [2:0] i_tcnt,
  input wire [6:0] i_dcnt
);
  localparam [7:0] SYNC = 8'hA5, CMD_READ = 8'h01, CMD_WRITE = 8'h02, CMD_NAK = 8'hFF;
  localparam [3:0] HUNT = 0, CMD = 1, SEQ = 2, LEN = 3, PAY = 4, CRC_HI = 5, CRC_LO = 6, BUSY = 7;

  reg f_init = 1'b1;
  always @(posedge clk) f_init <= 1'b0;
  always @(*) assume(rst == f_init);
  always @(*) assume(!(rx_valid && rx_err));

  // CRC-16/CCITT-FALSE of one byte, bit by bit.
  function [15:0] crc_byte;
    input [15:0] crc;
    input [7:0] b;
    integer k;
    reg [15:0] v;
    begin
      v = crc ^ {b, 8'h00};
      for (k = 0; k < 8; k = k + 1)
        v = v[15] ? {v[14:0], 1'b0} ^ 16'h1021 : {v[14:0], 1'b0};
      crc_byte = v;
    end
  endfunction

  // ---- Request parser ----
  reg [3:0] st = HUNT;
  reg [15:0] crc;
  reg [7:0] cmd, seq, len, pcnt, count, crc_hi;
  reg [31:0] addr;
  reg [7:0] gap = 0;             // cycles since the last byte of the frame being received
  wire receiving = st != HUNT && st != BUSY;
  // The checker drops a silent frame at the end of the window in which bytes are assumed away
  // (the bridge drops it at the window's first half), so both are hunting when bytes may come.
  wire timed_out = receiving && gap >= TIMEOUT + TIMEOUT_SLACK;
  always @(*) if (receiving && gap >= TIMEOUT - TIMEOUT_SLACK && gap <= TIMEOUT + TIMEOUT_SLACK)
    assume(!rx_valid && !rx_err);

  // The frame being executed and answered (set when its last byte arrives).
  reg f_crc_ok, f_read, f_write, f_retry;
  reg [7:0] f_seq, f_words;
  reg [31:0] f_addr;
  reg [4:0] aw_n = 0, w_n = 0, ar_n = 0;   // bus beats of the current frame
  // The device's memory of executed frames, as the protocol defines it.
  reg last_valid = 1'b0;
  reg [7:0] last_seq;
  reg [1:0] last_resp;
  reg last_resp_valid = 1'b0;    // a WRITE was executed since reset (last_resp defined)
  reg [1:0] resp_acc;

  wire [15:0] crc_next = crc_byte(crc, rx_data);
  wire len_write_ok = len > 8'd5 && len[1:0] == 2'd1;   // 5 + 4n, n >= 1 (LEN <= 69)
  wire frame_read = cmd == CMD_READ && len == 8'd5 && count >= 8'd1 && count <= 8'd16;
  wire frame_write = cmd == CMD_WRITE && len_write_ok;

  // ---- Response parser ----
  reg [7:0] tcnt = 0;            // response bytes sent
  reg [7:0] tlen;                // the response's LEN
  reg resp_done_now;
  wire tx_fire = tx_valid && tx_ready;

  always @(posedge clk) begin
    if (rst) begin
      st <= HUNT;
      gap <= 0;
      last_valid <= 1'b0;
      last_resp_valid <= 1'b0;
      tcnt <= 0;
      aw_n <= 0;
      w_n <= 0;
      ar_n <= 0;
    end else begin
      gap <= (rx_valid || !receiving) ? 8'd0 : (gap == 8'hFF ? gap : gap + 1'b1);
      if (m_axil_awvalid && m_axil_awready) aw_n <= aw_n + 1'b1;
      if (m_axil_wvalid && m_axil_wready) w_n <= w_n + 1'b1;
      if (m_axil_arvalid && m_axil_arready) ar_n <= ar_n + 1'b1;
      if (m_axil_bvalid && m_axil_bready) resp_acc <= resp_acc | m_axil_bresp;
      case (st)
        HUNT: if (rx_valid && rx_data == SYNC) begin st <= CMD; crc <= 16'hFFFF; end
        BUSY: if (tx_fire && tcnt >= 8'd4 && tcnt + 1 == tlen + 8'd6) begin
          st <= HUNT;
          tcnt <= 0;
        end else if (tx_fire) begin
          tcnt <= tcnt + 1'b1;
          if (tcnt == 8'd3) tlen <= tx_data;
        end
        default:
          if (rx_err || timed_out) begin
            st <= HUNT;
          end else if (rx_valid) begin
            case (st)
              CMD: begin cmd <= rx_data; crc <= crc_next; st <= SEQ; end
              SEQ: begin seq <= rx_data; crc <= crc_next; st <= LEN; end
              LEN: begin
                len <= rx_data;
                crc <= crc_next;
                pcnt <= 0;
                st <= rx_data > 8'd69 ? HUNT : rx_data == 8'd0 ? CRC_HI : PAY;
              end
              PAY: begin
                crc <= crc_next;
                pcnt <= pcnt + 1'b1;
                if (pcnt < 8'd4) addr <= {rx_data, addr[31:8]};
                if (pcnt == 8'd4) count <= rx_data;
                if (pcnt + 1'b1 == len) st <= CRC_HI;
              end
              CRC_HI: begin crc_hi <= rx_data; st <= CRC_LO; end
              CRC_LO: begin
                // The frame is complete: what the device must do with it.
                st <= BUSY;
                tcnt <= 0;
                aw_n <= 0;
                w_n <= 0;
                ar_n <= 0;
                resp_acc <= 0;
                f_crc_ok <= {crc_hi, rx_data} == crc;
                f_seq <= seq;
                f_addr <= addr;
                f_read <= frame_read;
                f_write <= frame_write;
                f_retry <= frame_write && last_valid && seq == last_seq;
                f_words <= frame_read ? count : (len - 8'd5) >> 2;
                if ({crc_hi, rx_data} == crc && (frame_read || frame_write && !(last_valid && seq == last_seq))) begin
                  last_valid <= 1'b1;
                  last_seq <= seq;
                end
              end
              default: ;
            endcase
          end
      endcase
      // The stored RESP of the last executed WRITE: taken when its response is sent.
      if (st == BUSY && tcnt == 8'd4 && tx_fire && f_crc_ok && f_write && !f_retry) begin
        last_resp <= resp_acc;
        last_resp_valid <= 1'b1;
      end
    end
  end

  wire executing = st == BUSY;
  wire exec_write = executing && f_crc_ok && f_write && !f_retry;
  wire exec_read = executing && f_crc_ok && f_read;

  // ---- Properties ----
  always @(posedge clk) begin
    if (!f_init && !rst) begin
      // C, R, X: bus beats only for an executed frame, and no more than it has words.
      if (m_axil_awvalid || m_axil_wvalid) assert(exec_write);
      if (m_axil_arvalid) assert(exec_read);
      if (exec_write) assert(aw_n <= f_words && w_n <= f_words);
      if (exec_read) assert(ar_n <= f_words);
      if (m_axil_awvalid) assert(m_axil_awaddr == f_addr + {aw_n, 2'b00});
      // A: response bytes only while a frame is answered, and each frame's response has the
      // right header (SYNC, CMD, SEQ, RESP).
      if (tx_valid) assert(executing);
      if (executing && tx_valid) begin
        if (tcnt == 8'd0) assert(tx_data == SYNC);
        if (tcnt == 8'd1) begin
          if (!f_crc_ok || !(f_read || f_write)) assert(tx_data == CMD_NAK);
          else assert(tx_data == (f_read ? CMD_READ : CMD_WRITE) | 8'h80);
        end
        if (tcnt == 8'd2) assert(tx_data == f_seq);
        if (tcnt == 8'd4) begin
          if (!f_crc_ok) assert(tx_data == 8'h01);
          else if (!(f_read || f_write)) assert(tx_data == 8'h02);
          // (a retry of a READ's SEQ before any WRITE answers the RESP register as reset left it:
          // the protocol leaves it undefined, so only a defined one is compared)
          else if (f_retry) begin if (last_resp_valid) assert(tx_data == {6'd0, last_resp}); end
          else if (f_write) assert(tx_data == {6'd0, resp_acc});
        end
        // X: by the time the answer starts, every word was performed.
        if (exec_write) assert(aw_n == f_words && w_n == f_words);
        if (exec_read && tcnt >= 8'd4) assert(ar_n == f_words);
      end
    end
  end

  // ---- Invariants (white-box) ----
  // The bridge's registers in terms of the checker's own parse. They are assertions like the
  // properties above, proven with them (so a planted bug may break one of these first: the
  // trace then shows the bridge entering the wrong state); they make the properties inductive,
  // so that PDR (or k-induction) needs no deep unrolling. Bridge states: 0 hunt, 1..6 CMD to
  // CRC_LO, 7 check, 8/9 AW+W/B, 10/11 AR/R, 12 response head, 13 data, 14/15 CRC.
  wire [7:0] i_dbytes = {1'b0, i_nwords, 2'b00};
  wire i_tx_read = !i_nak && i_cmd_r == CMD_READ;
  wire [7:0] i_rlen = i_tx_read ? i_dbytes + 8'd1 : 8'd1;
  wire i_executes = f_crc_ok && (f_read || f_write && !f_retry);
  always @(posedge clk) begin
    if (!f_init && !rst) begin
      // Phases: the same receive state until the bridge's timeout, then hunting.
      if (st == HUNT) assert(i_state == 4'd0);
      if (receiving) begin
        if (gap < TIMEOUT) assert(i_state == st && i_idle_cnt == gap);
        else assert(i_state == 4'd0 && gap <= TIMEOUT + TIMEOUT_SLACK);
      end
      if (st == BUSY) assert(i_state >= 4'd7);
      // The received fields.
      if (receiving && gap < TIMEOUT) begin
        assert(crc == i_crc_rx);
        if (st == CRC_LO) assert(crc_hi == i_crc_hi_r);
        if (st == PAY) assert(pcnt < len);
      end
      if ((receiving && gap < TIMEOUT) || st == BUSY) begin
        if (st >= SEQ) assert(cmd == i_cmd_r);
        if (st >= LEN) assert(seq == i_seq_r);
        if (st >= PAY) begin
          assert(len == i_len_r && pcnt == i_pcnt);
          if (pcnt >= 8'd1) assert(addr[31:24] == i_addr_r[31:24]);
          if (pcnt >= 8'd2) assert(addr[31:16] == i_addr_r[31:16]);
          if (pcnt >= 8'd3) assert(addr[31:8] == i_addr_r[31:8]);
          if (pcnt >= 8'd4) assert(addr == i_addr_r);
          if (pcnt >= 8'd5) assert(count == i_arg_r);
        end
      end
      // The frame being executed.
      if (st == BUSY) begin
        assert(pcnt == len && f_seq == seq && f_addr == addr);
        assert(f_read == frame_read && f_write == frame_write && f_crc_ok == i_crc_ok);
        assert(f_words == (frame_read ? count : (len - 8'd5) >> 2));
      end
      // The remembered SEQ: the checker takes it with the frame's last byte, the bridge in its
      // check state (7).
      if (st == BUSY && i_state == 4'd7) begin
        assert(f_retry == (frame_write && i_last_valid && seq == i_last_seq));
        assert(last_valid == (i_last_valid || i_executes));
        if (i_executes) assert(last_seq == seq);
        else if (i_last_valid) assert(last_seq == i_last_seq);
        assert(aw_n == 0 && w_n == 0 && ar_n == 0 && tcnt == 0 && resp_acc == 0);
      end else begin
        assert(last_valid == i_last_valid && (!last_valid || last_seq == i_last_seq));
      end
      // The remembered RESP: the bridge takes it with the last B, the checker when it is sent.
      if (exec_write && i_state == 4'd12) assert(i_last_resp == resp_acc);
      else if (last_resp_valid) assert(i_last_resp == last_resp);
      // Bus phases.
      if (i_state != 4'd8) assert(!m_axil_awvalid && !m_axil_wvalid);
      if (i_state != 4'd10) assert(!m_axil_arvalid);
      if (i_state == 4'd8 || i_state == 4'd9)
        assert(exec_write && i_nwords == f_words && i_widx < i_nwords && resp_acc == i_resp_acc);
      if (i_state == 4'd8)
        assert((m_axil_awvalid || m_axil_wvalid) && aw_n == i_widx + !m_axil_awvalid
               && w_n == i_widx + !m_axil_wvalid);
      if (i_state == 4'd9) assert(aw_n == i_widx + 5'd1 && w_n == i_widx + 5'd1);
      if (i_state == 4'd10 || i_state == 4'd11)
        assert(exec_read && i_nwords == f_words && i_widx < i_nwords);
      if (i_state == 4'd10) assert(m_axil_arvalid && ar_n == i_widx);
      if (i_state == 4'd11) assert(ar_n == i_widx + 5'd1);
      // The response.
      if (i_state >= 4'd12) begin
        assert(i_nak == !(f_crc_ok && (f_read || f_write)));
        if (exec_write) assert(aw_n == f_words && w_n == f_words && ar_n == 0 && i_rbyte0 == resp_acc);
        else if (exec_read) assert(ar_n == f_words && aw_n == 0 && w_n == 0 && i_nwords == f_words);
        else assert(aw_n == 0 && w_n == 0 && ar_n == 0);
        if (!f_crc_ok) assert(i_rbyte0 == 8'd1);
        else if (!(f_read || f_write)) assert(i_rbyte0 == 8'd2);
        else if (f_retry) assert(i_rbyte0 == {6'd0, i_last_resp});
        if (tcnt >= 8'd4) assert(tlen == i_rlen);
      end
      if (i_state == 4'd12) assert(tcnt == {5'd0, i_tcnt} && i_tcnt <= 3'd4);
      if (i_state == 4'd13) assert(i_tx_read && tcnt == 8'd5 + i_dcnt && {1'b0, i_dcnt} < i_dbytes);
      if (i_state == 4'd14) assert(tcnt == 8'd5 + (i_tx_read ? i_dbytes : 8'd0));
      if (i_state == 4'd15) assert(tcnt == 8'd6 + (i_tx_read ? i_dbytes : 8'd0));
    end
  end

  // ---- Covers ----
  // Shallow ones (formal/uart.sby task cover, smtbmc): a NAK for a bad CRC, a READ, a 2-word
  // WRITE. The retried WRITE needs two frames (about 47 cycles), too deep for smtbmc's cover
  // in reasonable time: task reach finds it with ABC's bmc3 as the counterexample of the
  // assertion below, which must FAIL.
  always @(posedge clk) begin
    if (!f_init && !rst) begin
      cover(executing && !f_crc_ok && tx_fire && tcnt == 8'd4);               // a NAK for a bad CRC
      cover(exec_read && m_axil_arvalid && m_axil_arready);                   // a READ
      cover(exec_write && m_axil_bvalid && f_words == 2 && aw_n == 2);        // a 2-word WRITE
    end
  end
`ifdef REACH_RETRY
  always @(posedge clk)
    if (!f_init && !rst)
      assert(!(executing && f_crc_ok && f_retry && last_resp_valid && tx_fire && tcnt == 8'd4));
`endif
endmodule
`default_nettype wire
