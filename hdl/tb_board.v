// tb_board: hand-written Verilog-2005 testbench of the generated board top `systolic_board`,
// for Icarus Verilog: the second simulator of the UART link. It plays a script of bytes onto
// the board's `uart_rx` pin and records every byte the board sends on `uart_tx`; the Rust test
// (tests/uart_link.rs) writes the script from the protocol and checks the recorded frames.
//
//   iverilog -g2005 -Wall -o tb.vvp -s tb_board -P tb_board.CPB=4 hdl/tb_board.v <board design>
//   vvp -N tb.vvp +script=script.hex +out=out.hex
//
// Script (`$readmemh`, one 12-bit word per line):
//   1XX  send byte XX (start bit, 8 data bits LSB first, stop bit; CPB cycles each)
//   2NN  wait until NN bytes more have been received (or the time limit below)
//   300  end: close the output and $finish
// Output: one line per received byte, two hex digits. A byte whose stop bit is low is recorded
// as `fe` followed by a line `framing`. The board's reset button (active low) is pressed for
// 8 cycles at the start. The run stops with `TIMEOUT` after LIMIT cycles.
//
// The board design must be generated with CLKS_PER_BIT = CPB, a button and 3 LEDs.

module tb_board;
  parameter integer CPB = 4;
  parameter integer LIMIT = 2000000;
  parameter integer SCRIPT_MAX = 4096;

  reg clk = 1'b0;
  always #5 clk = ~clk;

  reg btn = 1'b0;
  reg rx = 1'b1;
  wire tx;
  wire [2:0] led;

  systolic_board dut (
    .clk(clk),
    .btn(btn),
    .uart_rx(rx),
    .uart_tx(tx),
    .led(led)
  );

  reg [11:0] script [0:SCRIPT_MAX-1];
  integer out;
  integer received = 0;
  integer cycles = 0;
  reg [8*256-1:0] script_name;
  reg [8*256-1:0] out_name;

  // ---- the host's receiver: falling edge, middle of the start bit, one sample per bit ----
  integer i;
  reg [7:0] shift;
  always @(posedge clk) cycles <= cycles + 1;
  initial begin
    forever begin
      @(negedge clk);
      if (tx == 1'b0) begin
        repeat (CPB / 2) @(negedge clk);
        if (tx == 1'b0) begin
          for (i = 0; i < 8; i = i + 1) begin
            repeat (CPB) @(negedge clk);
            shift = {tx, shift[7:1]};
          end
          repeat (CPB) @(negedge clk);
          if (tx == 1'b1) begin
            $fwrite(out, "%02x\n", shift);
          end else begin
            $fwrite(out, "fe\nframing\n");
          end
          received = received + 1;
        end
      end
    end
  end

  // ---- the host's transmitter, driven by the script ----
  task send_byte(input [7:0] b);
    integer k;
    begin
      rx = 1'b0;
      repeat (CPB) @(negedge clk);
      for (k = 0; k < 8; k = k + 1) begin
        rx = b[k];
        repeat (CPB) @(negedge clk);
      end
      rx = 1'b1;
      repeat (CPB) @(negedge clk);
    end
  endtask

  integer pc;
  integer target;
  initial begin
    if (!$value$plusargs("script=%s", script_name)) begin
      $display("FAIL no +script=FILE");
      $finish;
    end
    if (!$value$plusargs("out=%s", out_name)) begin
      $display("FAIL no +out=FILE");
      $finish;
    end
    $readmemh(script_name, script);
    out = $fopen(out_name, "w");
    repeat (8) @(negedge clk);
    btn = 1'b1;
    repeat (32) @(negedge clk);
    pc = 0;
    forever begin
      case (script[pc][11:8])
        4'h1: send_byte(script[pc][7:0]);
        4'h2: begin
          target = received + script[pc][7:0];
          while (received < target) @(negedge clk);
        end
        default: begin
          $fclose(out);
          $display("DONE %0d bytes received in %0d cycles", received, cycles);
          $finish;
        end
      endcase
      pc = pc + 1;
    end
  end

  initial begin
    #(10 * LIMIT);
    $display("TIMEOUT after %0d cycles, %0d bytes received", LIMIT, received);
    $fclose(out);
    $finish;
  end
endmodule
