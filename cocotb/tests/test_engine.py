"""Reference tests of the generated engine (`systolic_engine`) through its AXI4-Lite port,
written from docs/registers.md and docs/isa.md: random int8 GEMMs compared with NumPy."""

import os
import re
import tomllib
from pathlib import Path

import cocotb
import numpy as np

from systolic_tb.engine import Engine, EngineError
from systolic_tb.reference import gemm, random_int

SEED = int(os.environ.get("SYSTOLIC_TB_SEED", "1"))


@cocotb.test()
async def docs_worked_example_encodes(dut):
    """The encoder gives docs/isa.md's worked-example words (the document's own numbers)."""
    eng = Engine(dut)
    assert eng.isa.load_stationary(addr=0, k=2, m=3) == 0x0000000060200001
    assert eng.isa.multiply_moving(addr=8, k=2, n=4, bank=0, offset=0, acc=False,
                                   swap=True) == 0x2000000080200082


@cocotb.test()
async def identity_matches_config(dut):
    """ID, VERSION, GEOMETRY and MEMORY read what the generated folder's config.toml says."""
    eng = Engine(dut)
    await eng.start()
    path = Path(os.environ["SYSTOLIC_TB_CONFIG"])
    cfg = tomllib.loads(path.read_text())
    fmt = re.fullmatch(r"(u?)int(\d+)", cfg["format"])
    assert fmt, f"integer formats only, not {cfg['format']}"
    assert (eng.rows, eng.cols, eng.data_w, eng.acc_w, eng.signed) == (
        cfg["rows"], cfg["cols"], int(fmt.group(2)), cfg["acc_bits"], fmt.group(1) == "")
    assert (eng.psum_banks, eng.psum_depth, eng.sbuf_depth) == (
        cfg["psum_banks"], cfg["psum_depth"], cfg["sbuf_depth"])
    # VERSION: the first 8 hex digits of the configuration hash the file's header names.
    digest = re.search(r"\(hash ([0-9a-f]{16})\)", path.read_text()).group(1)
    assert await eng.read("VERSION") == int(digest[:8], 16)
    st = await eng.status()
    assert st["BUSY"] == 0 and st["ERROR"] == 0 and st["QUEUE_FREE"] > 0


async def run_gemm(dut, m, k, n, seed):
    eng = Engine(dut)
    await eng.start()
    rng = np.random.default_rng(seed)
    a = random_int(rng, (m, k), eng.data_w, eng.signed)
    b = random_int(rng, (k, n), eng.data_w, eng.signed)
    c = await eng.gemm(a, b)
    want = gemm(a, b, eng.acc_w)
    if not np.array_equal(c, want):
        bad = np.argwhere(c != want)
        raise AssertionError(
            f"C differs from A @ B at {len(bad)} of {c.size} entries, first (i, j) = "
            f"{tuple(bad[0])}: got {c[tuple(bad[0])]}, want {want[tuple(bad[0])]}\n"
            f"got\n{c}\nwant\n{want}")
    # Every instruction retired (docs/registers.md: RETIRED counts LOAD_STATIONARY,
    # MULTIPLY_MOVING and FENCE).
    assert await eng.read("RETIRED") == eng.pushed
    return eng


@cocotb.test()
async def gemm_one_tile(dut):
    """M, K, N = the array's size: one LOAD_STATIONARY, one MULTIPLY_MOVING, one FENCE."""
    eng = Engine(dut)
    await eng.start()
    await run_gemm(dut, eng.cols, eng.rows, eng.cols, SEED)


@cocotb.test()
async def gemm_partial_tile(dut):
    """M < cols, K < rows, N < cols: the unused columns and rows stay out of the result."""
    await run_gemm(dut, 3, 2, 5, SEED + 1)


@cocotb.test()
async def gemm_k_tiles_accumulate(dut):
    """K over three tiles of ROWS (the last one partial), accumulated in PSUM with acc = 1;
    M over two tiles of COLS."""
    eng = Engine(dut)
    await eng.start()
    await run_gemm(dut, eng.cols + 2, 2 * eng.rows + 3, 7, SEED + 2)


@cocotb.test()
async def gemm_extremes(dut):
    """Every product at the format's extremes (-128 * -128 for int8) along a whole K."""
    eng = Engine(dut)
    await eng.start()
    lo = -(1 << (eng.data_w - 1))
    k = 3 * eng.rows
    a = np.full((eng.cols, k), lo, dtype=np.int64)
    b = np.full((k, 4), lo, dtype=np.int64)
    c = await eng.gemm(a, b)
    assert np.array_equal(c, gemm(a, b, eng.acc_w)), c


@cocotb.test()
async def error_then_clear(dut):
    """docs/isa.md: a LOAD_STATIONARY with k = 0 is KRange (4); it stops dispatch with
    STATUS.ERROR; CONTROL.CLEAR_ERROR resumes, and a GEMM then runs as usual."""
    eng = Engine(dut)
    await eng.start()
    await eng.push(eng.isa.encode("LOAD_STATIONARY", addr=0, k=0, m=1))
    try:
        await eng.wait_idle()
    except EngineError as e:
        assert "ERROR_CODE 4" in str(e), e
    else:
        raise AssertionError("k = 0 raised no error")
    st = await eng.status()
    assert st["ERROR"] == 0 and st["ERROR_CODE"] == 0, st
    rng = np.random.default_rng(SEED + 3)
    a = random_int(rng, (eng.cols, eng.rows), eng.data_w, eng.signed)
    b = random_int(rng, (eng.rows, 3), eng.data_w, eng.signed)
    assert np.array_equal(await eng.gemm(a, b), gemm(a, b, eng.acc_w))
