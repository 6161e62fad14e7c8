"""A driver of the generated engine (`systolic_engine`) over its AXI4-Lite slave.

The bus is cocotbext-axi's AxiLiteMaster on the `s_axil_*` ports (its default signal names:
awaddr, awprot, awvalid, ... under the prefix `s_axil`). Everything else follows
docs/registers.md ("Typical host sequence") and docs/isa.md.
"""

from __future__ import annotations

import logging

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from .isa import Isa
from .regs import RegisterMap

OKAY = 0


class EngineError(Exception):
    pass


class Engine:
    """`eng = Engine(dut); await eng.start(); c = await eng.gemm(a, b)`."""

    def __init__(self, dut, period_ns: int = 10, prefix: str = "s_axil"):
        self.dut = dut
        self.regs = RegisterMap()
        self.isa = Isa()
        self.period_ns = period_ns
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, prefix), dut.clk, dut.rst)
        self.axil.write_if.log.setLevel(logging.WARNING)  # one line per access otherwise
        self.axil.read_if.log.setLevel(logging.WARNING)
        self.pushed = 0

    # ---- bus ----

    async def write(self, name_or_addr, value: int) -> None:
        addr = self._addr(name_or_addr)
        resp = await self.axil.write(addr, int(value).to_bytes(4, "little"))
        if int(resp.resp) != OKAY:
            raise EngineError(f"write 0x{addr:x}: BRESP {int(resp.resp)}")

    async def read(self, name_or_addr) -> int:
        addr = self._addr(name_or_addr)
        resp = await self.axil.read(addr, 4)
        if int(resp.resp) != OKAY:
            raise EngineError(f"read 0x{addr:x}: RRESP {int(resp.resp)}")
        return int.from_bytes(resp.data, "little")

    def _addr(self, name_or_addr) -> int:
        return self.regs.addr(name_or_addr) if isinstance(name_or_addr, str) else name_or_addr

    # ---- bring-up ----

    async def start(self, reset_cycles: int = 2) -> None:
        """Start the clock, hold reset (synchronous, active high) and read the geometry."""
        Clock(self.dut.clk, self.period_ns, unit="ns").start()
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, reset_cycles)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)
        ident = await self.read("ID")
        if ident != 0x53595354:
            raise EngineError(f"ID 0x{ident:08x}, not 'SYST'")
        g = await self.read("GEOMETRY")
        mem = await self.read("MEMORY")
        geo, memory = self.regs["GEOMETRY"], self.regs["MEMORY"]
        self.rows = geo.get(g, "ROWS")
        self.cols = geo.get(g, "COLS")
        self.data_w = geo.get(g, "DATA_W")
        self.acc_w = geo.get(g, "ACC_W")
        self.signed = bool(geo.get(g, "SIGNED"))
        self.psum_banks = memory.get(mem, "PSUM_BANKS")
        self.psum_depth = 1 << memory.get(mem, "LOG2_PSUM_DEPTH")
        self.sbuf_depth = 1 << memory.get(mem, "LOG2_SBUF_DEPTH")
        self.partitions = max(self.rows, self.cols)
        self.eb = 1 if self.data_w <= 8 else 2

    # ---- SBUF ----

    @property
    def per_word(self) -> int:
        """SBUF entries in one 32-bit bus word."""
        return 4 // self.eb

    def align(self, entries: int) -> int:
        """`entries` rounded up to a whole bus word."""
        return -(-entries // self.per_word) * self.per_word

    async def write_sbuf(self, partition: int, entry: int, values) -> None:
        """Entries entry.. of one partition (integers; the low DATA_W bits are stored).

        `entry` must start a bus word, and the tail is padded with zeros to a whole word: the
        engine answers SLVERR to any address whose two low bits are not 0 (docs/registers.md,
        "Aligned words"), while cocotbext-axi puts a write's unaligned start address on AWADDR
        as it is (with the matching strobes), so the driver sends whole aligned words only."""
        values = [int(v) for v in values]
        if entry % self.per_word:
            raise ValueError(f"SBUF entry {entry} does not start a bus word")
        values += [0] * (self.align(len(values)) - len(values))
        if not (0 <= partition < self.partitions and 0 <= entry
                and entry + len(values) <= self.sbuf_depth):
            raise ValueError("outside the SBUF")
        mask = (1 << (8 * self.eb)) - 1
        data = b"".join((v & mask).to_bytes(self.eb, "little") for v in values)
        base = self.regs.window("SBUF") + (partition * self.sbuf_depth + entry) * self.eb
        resp = await self.axil.write(base, data)
        if int(resp.resp) != OKAY:
            raise EngineError(f"SBUF write at 0x{base:x}: BRESP {int(resp.resp)}")

    # ---- instructions ----

    async def status(self) -> dict[str, int]:
        word = await self.read("STATUS")
        return {name: f.get(word) for name, f in self.regs["STATUS"].fields.items()}

    async def push(self, word: int) -> None:
        """One instruction word: INSTR_LO, then INSTR_HI, when the queue has a free slot."""
        while (await self.status())["QUEUE_FREE"] == 0:
            pass
        await self.write("INSTR_LO", word & 0xFFFF_FFFF)
        await self.write("INSTR_HI", word >> 32)
        self.pushed += 1

    async def wait_idle(self, timeout_reads: int = 100_000) -> dict[str, int]:
        """Poll STATUS until BUSY = 0; an ERROR raises with ERROR_CODE (after CLEAR_ERROR)."""
        for _ in range(timeout_reads):
            st = await self.status()
            if st["ERROR"]:
                await self.write("CONTROL", self.regs["CONTROL"].pack(CLEAR_ERROR=1))
                raise EngineError(f"engine error, ERROR_CODE {st['ERROR_CODE']}")
            if not st["BUSY"]:
                return st
        raise EngineError("STATUS.BUSY never cleared")

    # ---- PSUM ----

    async def read_psum(self, bank: int, addr: int, columns: int) -> list[int]:
        """Columns 0..columns of one PSUM entry, as signed accumulators (ACC_W bits)."""
        await self.write("PSUM_SELECT", self.regs["PSUM_SELECT"].pack(ADDR=addr, BANK=bank))
        while not (await self.status())["PSUM_VALID"]:
            pass
        base = self.regs.window("PSUM_DATA")
        out = []
        for c in range(columns):
            v = await self.read(base + 8 * c)
            if self.acc_w > 32:
                v |= await self.read(base + 8 * c + 4) << 32
            v &= (1 << self.acc_w) - 1
            if v >= 1 << (self.acc_w - 1):
                v -= 1 << self.acc_w
            out.append(v)
        return out

    # ---- GEMM ----

    async def gemm(self, a: np.ndarray, b: np.ndarray, bank: int = 0) -> np.ndarray:
        """C = A @ B (A: M x K, B: K x N), tiled as docs/isa.md's worked example says: A is the
        stationary (M on the array's columns, stored transposed: partition m' holds row m' of
        A), B the moving data (partition k' holds row k' of B); K in tiles of ROWS accumulated
        into PSUM (acc = 1 after the first), M in tiles of COLS, N in tiles of psum_depth."""
        mm, kk = a.shape
        kk2, nn = b.shape
        assert kk == kk2
        c = np.zeros((mm, nn), dtype=np.int64)
        for m0 in range(0, mm, self.cols):
            for n0 in range(0, nn, self.psum_depth):
                m1, n1 = min(m0 + self.cols, mm), min(n0 + self.psum_depth, nn)
                c[m0:m1, n0:n1] = await self._tile(a[m0:m1], b[:, n0:n1], bank)
        return c

    async def _tile(self, a: np.ndarray, b: np.ndarray, bank: int) -> np.ndarray:
        m, kk = a.shape
        n = b.shape[1]
        k_tiles = list(range(0, kk, self.rows))
        # Every operand of the tile gets its own SBUF entries, so nothing is overwritten while
        # a queued instruction may still read it: stationary tile t at entries t*st..,
        # moving tile t after all stationaries (each region a whole number of bus words).
        st, mv = self.align(self.rows), self.align(n)
        mv_base = len(k_tiles) * st
        if mv_base + len(k_tiles) * mv > self.sbuf_depth:
            raise ValueError("the tile's operands do not fit in the SBUF")
        program = []
        for t, k0 in enumerate(k_tiles):
            k = min(self.rows, kk - k0)
            st_addr = t * st
            mv_addr = mv_base + t * mv
            for mi in range(m):  # partition m' holds A[m'][k0 .. k0+k]
                await self.write_sbuf(mi, st_addr, a[mi, k0:k0 + k])
            for ki in range(k):  # partition k' holds B[k0+k'][0 .. n]
                await self.write_sbuf(ki, mv_addr, b[k0 + ki, :])
            program.append(self.isa.load_stationary(addr=st_addr, k=k, m=m))
            program.append(self.isa.multiply_moving(addr=mv_addr, k=k, n=n, bank=bank,
                                                    offset=0, acc=t > 0, swap=True))
        program.append(self.isa.fence())
        for word in program:
            await self.push(word)
        await self.wait_idle()
        # PSUM entry n' holds column n' of C (one value per array column m').
        return np.array([await self.read_psum(bank, j, m) for j in range(n)],
                        dtype=np.int64).T
