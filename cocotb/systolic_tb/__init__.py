"""Test-bench helpers for the generated systolic engine and core, for cocotb.

Written from the documents alone (docs/registers.md, docs/isa.md, docs/architecture.md):

- regs: the register map, read from docs/registers.md's tables;
- isa: an encoder of LOAD_STATIONARY, MULTIPLY_MOVING and FENCE, from docs/isa.md's tables;
- engine: a driver of `systolic_engine` over its AXI4-Lite slave (cocotbext-axi's
  AxiLiteMaster on the `s_axil_*` ports), with a tiled GEMM;
- stream: valid/ready sources and sinks for the core's (`systolic_top`) ports;
- reference: the NumPy products the tests compare with.
"""

from pathlib import Path

#: The repository root (this package lives in <root>/cocotb/systolic_tb).
REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"
