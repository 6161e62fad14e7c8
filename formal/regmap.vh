// The register map of systolic_engine's AXI4-Lite slave, as the formal checkers see it.
// Written from the tables of docs/registers.md, independently of the RTL decoder;
// scripts/formal.sh compares every line marked `// REG` and `// WINDOW` with the tables of
// docs/registers.md (generated from src/regs.rs) before it runs, so a register added to the
// table without this file stops the checks.
//
// Needs the parameters COLS and SBUF_BYTES (max(ROWS, COLS) * sbuf_depth * EB) in the including
// module.

localparam [31:0] RM_ID_VALUE = 32'h53595354; // ID register constant, ASCII "SYST"

localparam [31:0] RM_ID          = 32'h000; // REG ID RO
localparam [31:0] RM_VERSION     = 32'h004; // REG VERSION RO
localparam [31:0] RM_GEOMETRY    = 32'h008; // REG GEOMETRY RO
localparam [31:0] RM_MEMORY      = 32'h00C; // REG MEMORY RO
localparam [31:0] RM_CONTROL     = 32'h010; // REG CONTROL WO
localparam [31:0] RM_STATUS      = 32'h014; // REG STATUS RO
localparam [31:0] RM_CYCLES_LO   = 32'h018; // REG CYCLES_LO RO
localparam [31:0] RM_CYCLES_HI   = 32'h01C; // REG CYCLES_HI RO
localparam [31:0] RM_MACS_LO     = 32'h020; // REG MACS_LO RO
localparam [31:0] RM_MACS_HI     = 32'h024; // REG MACS_HI RO
localparam [31:0] RM_RETIRED     = 32'h028; // REG RETIRED RO
localparam [31:0] RM_INSTR_LO    = 32'h030; // REG INSTR_LO WO
localparam [31:0] RM_INSTR_HI    = 32'h034; // REG INSTR_HI WO
localparam [31:0] RM_PSUM_SELECT = 32'h040; // REG PSUM_SELECT WO

localparam [31:0] RM_PSUM_DATA = 32'h00001000; // WINDOW PSUM_DATA RO 8*COLS
localparam [31:0] RM_SBUF      = 32'h40000000; // WINDOW SBUF WO SBUF_BYTES

// A read of `a` is mapped: a read-only register, or an aligned word of the PSUM snapshot.
function rm_read_ok;
  input [31:0] a;
  begin
    case (a)
      RM_ID, RM_VERSION, RM_GEOMETRY, RM_MEMORY, RM_STATUS, RM_CYCLES_LO, RM_CYCLES_HI,
      RM_MACS_LO, RM_MACS_HI, RM_RETIRED: rm_read_ok = 1'b1;
      default: rm_read_ok = a >= RM_PSUM_DATA && a - RM_PSUM_DATA < 8 * COLS && a[1:0] == 2'b00;
    endcase
  end
endfunction

// A write of `a` is mapped: a write-only register, or an aligned word of the SBUF window.
function rm_write_ok;
  input [31:0] a;
  begin
    case (a)
      RM_CONTROL, RM_INSTR_LO, RM_INSTR_HI, RM_PSUM_SELECT: rm_write_ok = 1'b1;
      default: rm_write_ok = a >= RM_SBUF && a - RM_SBUF < SBUF_BYTES && a[1:0] == 2'b00;
    endcase
  end
endfunction
