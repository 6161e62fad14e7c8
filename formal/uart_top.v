// Formal top for the UART frame bridge: systolic_uart_bridge (as generated for the board, with
// a short TIMEOUT) beside its checker. The receiver's strobes, the transmitter's ready and the
// AXI4-Lite slave's outputs are free inputs; the checker constrains only the receiver.
`default_nettype none
module uart_formal #(
  parameter TIMEOUT = 12,
  parameter IDLE_W = $clog2(TIMEOUT + 1)
) (
  input wire clk,
  input wire rst,
  input wire [7:0] rx_data,
  input wire rx_valid,
  input wire rx_err,
  input wire tx_ready,
  input wire m_axil_awready,
  input wire m_axil_wready,
  input wire [1:0] m_axil_bresp,
  input wire m_axil_bvalid,
  input wire m_axil_arready,
  input wire [31:0] m_axil_rdata,
  input wire [1:0] m_axil_rresp,
  input wire m_axil_rvalid
);
  wire [7:0] tx_data;
  wire tx_valid, m_axil_awvalid, m_axil_wvalid, m_axil_bready, m_axil_arvalid, m_axil_rready;
  wire active, link_err;
  wire [31:0] m_axil_awaddr, m_axil_wdata, m_axil_araddr;
  wire [3:0] m_axil_wstrb;

  // The bridge's registers for the checker's invariants: left undriven here, formal/uart.sby
  // connects each to the flattened bridge's register of the same name.
  wire [3:0] i_state;
  wire [IDLE_W-1:0] i_idle_cnt;
  wire [15:0] i_crc_rx;
  wire [7:0] i_cmd_r;
  wire [7:0] i_seq_r;
  wire [7:0] i_len_r;
  wire [7:0] i_pcnt;
  wire [31:0] i_addr_r;
  wire [7:0] i_arg_r;
  wire [7:0] i_crc_hi_r;
  wire i_crc_ok;
  wire [4:0] i_nwords;
  wire [4:0] i_widx;
  wire [1:0] i_resp_acc;
  wire i_last_valid;
  wire [7:0] i_last_seq;
  wire [1:0] i_last_resp;
  wire i_nak;
  wire [7:0] i_rbyte0;
  wire [2:0] i_tcnt;
  wire [6:0] i_dcnt;

  systolic_uart_bridge #(.TIMEOUT(TIMEOUT)) u_dut (
    .clk(clk), .rst(rst), .rx_data(rx_data), .rx_valid(rx_valid), .rx_err(rx_err),
    .tx_data(tx_data), .tx_valid(tx_valid), .tx_ready(tx_ready),
    .m_axil_awaddr(m_axil_awaddr), .m_axil_awvalid(m_axil_awvalid),
    .m_axil_awready(m_axil_awready), .m_axil_wdata(m_axil_wdata), .m_axil_wstrb(m_axil_wstrb),
    .m_axil_wvalid(m_axil_wvalid), .m_axil_wready(m_axil_wready),
    .m_axil_bresp(m_axil_bresp), .m_axil_bvalid(m_axil_bvalid), .m_axil_bready(m_axil_bready),
    .m_axil_araddr(m_axil_araddr), .m_axil_arvalid(m_axil_arvalid),
    .m_axil_arready(m_axil_arready), .m_axil_rdata(m_axil_rdata), .m_axil_rresp(m_axil_rresp),
    .m_axil_rvalid(m_axil_rvalid), .m_axil_rready(m_axil_rready),
    .active(active), .link_err(link_err)
  );

  systolic_uart_bridge_check #(.TIMEOUT(TIMEOUT)) u_check (
    .clk(clk), .rst(rst), .rx_data(rx_data), .rx_valid(rx_valid), .rx_err(rx_err),
    .tx_data(tx_data), .tx_valid(tx_valid), .tx_ready(tx_ready),
    .m_axil_awaddr(m_axil_awaddr), .m_axil_awvalid(m_axil_awvalid),
    .m_axil_awready(m_axil_awready), .m_axil_wvalid(m_axil_wvalid),
    .m_axil_wready(m_axil_wready), .m_axil_bresp(m_axil_bresp), .m_axil_bvalid(m_axil_bvalid),
    .m_axil_bready(m_axil_bready), .m_axil_arvalid(m_axil_arvalid),
    .m_axil_arready(m_axil_arready),
    .i_state(i_state),
    .i_idle_cnt(i_idle_cnt),
    .i_crc_rx(i_crc_rx),
    .i_cmd_r(i_cmd_r),
    .i_seq_r(i_seq_r),
    .i_len_r(i_len_r),
    .i_pcnt(i_pcnt),
    .i_addr_r(i_addr_r),
    .i_arg_r(i_arg_r),
    .i_crc_hi_r(i_crc_hi_r),
    .i_crc_ok(i_crc_ok),
    .i_nwords(i_nwords),
    .i_widx(i_widx),
    .i_resp_acc(i_resp_acc),
    .i_last_valid(i_last_valid),
    .i_last_seq(i_last_seq),
    .i_last_resp(i_last_resp),
    .i_nak(i_nak),
    .i_rbyte0(i_rbyte0),
    .i_tcnt(i_tcnt),
    .i_dcnt(i_dcnt)
  );
endmodule
`default_nettype wire
