// Formal top for the UART frame bridge: systolic_uart_bridge (as generated for the board, with
// a short TIMEOUT) beside its checker. The receiver's strobes, the transmitter's ready and the
// AXI4-Lite slave's outputs are free inputs; the checker constrains only the receiver.
`default_nettype none
module uart_formal #(
  parameter TIMEOUT = 12
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
    .m_axil_arready(m_axil_arready)
  );
endmodule
`default_nettype wire
