"""A reference test of the bare core (`systolic_top`) through its valid/ready ports,
written from docs/architecture.md ("Command stream")."""

import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from systolic_tb.reference import gemm, random_int
from systolic_tb.stream import StreamSink, StreamSource, pack, unpack


@cocotb.test()
async def core_product_with_backpressure(dut):
    """Two stationaries (K tiles) accumulated into PSUM, read back through rd/rdata with a
    random rdata_ready; compared with NumPy."""
    rows = int(dut.ROWS.value)
    cols = int(dut.COLS.value)
    data_w = int(dut.DATA_W.value)
    acc_w = int(dut.ACC_W.value)
    Clock(dut.clk, 10, unit="ns").start()
    ls = StreamSource(dut, "ls", ["ls_data", "ls_last"])
    dut.ls_gapless.value = 0
    mm = StreamSource(dut, "mm", ["mm_k", "mm_m", "mm_n", "mm_bank", "mm_offset", "mm_acc",
                                  "mm_swap"])
    mv = StreamSource(dut, "mv", ["mv_data"])
    rd = StreamSource(dut, "rd", ["rd_bank", "rd_addr"])
    rdata = StreamSink(dut, "rdata", ["rdata"], ready_probability=0.5,
                       rng=random.Random(7))
    dut.rst.value = 1
    await ClockCycles(dut.clk, 5)
    dut.rst.value = 0
    await RisingEdge(dut.clk)

    rng = np.random.default_rng(3)
    m, n, k = cols, 6, 2 * rows
    a = random_int(rng, (m, k), data_w)  # stationary: stationary[k'][m'] = A[m'][k']
    b = random_int(rng, (k, n), data_w)  # moving: column n' of B per beat
    for t in range(2):
        ks = range(t * rows, (t + 1) * rows)
        for i, kk in enumerate(ks):  # one stationary row per beat: element m' = A[m'][kk]
            await ls.send(ls_data=pack(a[:, kk], data_w), ls_last=int(i == rows - 1))
        await mm.send(mm_k=rows, mm_m=m, mm_n=n, mm_bank=0, mm_offset=0, mm_acc=int(t > 0),
                      mm_swap=1)
        for j in range(n):  # one moving column per beat: element k' = B[kk][j]
            await mv.send(mv_data=pack(b[list(ks), j], data_w))
    got = []
    for j in range(n):
        await rd.send(rd_bank=0, rd_addr=j)
        beat = await rdata.recv()
        got.append(unpack(beat["rdata"], cols, acc_w))
    c = np.array(got, dtype=np.int64).T[:m]
    want = gemm(a, b, acc_w)
    assert np.array_equal(c, want), f"got\n{c}\nwant\n{want}"
