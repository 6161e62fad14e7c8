"""Valid/ready drivers for the core's (`systolic_top`) ports, per docs/architecture.md
("Command stream"): a beat fires at a rising edge where valid and ready are both high; a
source's valid and data never depend on ready and are held until the beat fires.

`StreamSource(dut, "mm", ["mm_k", "mm_m", ...])` drives `mm_valid` and the listed signals and
watches `mm_ready`; `StreamSink(dut, "rdata", ["rdata"])` drives `rdata_ready` (optionally with
random backpressure) and collects the beats of `rdata_valid`. Values are sampled as cocotb sees
them when RisingEdge returns: those of the cycle the edge ends.
"""

from __future__ import annotations

import random

from cocotb.triggers import RisingEdge


class StreamSource:
    def __init__(self, dut, prefix: str, signals: list[str], clk=None):
        self.clk = clk if clk is not None else dut.clk
        self.valid = getattr(dut, f"{prefix}_valid")
        self.ready = getattr(dut, f"{prefix}_ready")
        self.signals = {name: getattr(dut, name) for name in signals}
        self.valid.value = 0
        self.fired = 0

    async def send(self, **values: int) -> None:
        """Drive one beat; return right after the edge at which it fired (valid is then
        dropped, unless the caller sends the next beat at once: back to back)."""
        for name, value in values.items():
            self.signals[name].value = int(value)
        self.valid.value = 1
        while True:
            await RisingEdge(self.clk)
            if self.ready.value == 1:
                break
        self.valid.value = 0
        self.fired += 1


class StreamSink:
    def __init__(self, dut, prefix: str, signals: list[str], clk=None,
                 ready_probability: float = 1.0, rng: random.Random | None = None):
        self.clk = clk if clk is not None else dut.clk
        self.valid = getattr(dut, f"{prefix}_valid")
        self.ready = getattr(dut, f"{prefix}_ready")
        self.signals = {name: getattr(dut, name) for name in signals}
        self.p = ready_probability
        self.rng = rng or random.Random(1)
        self.ready.value = 0

    async def recv(self) -> dict[str, int]:
        """Wait for one beat (ready high with probability p in each cycle); its signals."""
        while True:
            ready = int(self.rng.random() < self.p)
            self.ready.value = ready
            await RisingEdge(self.clk)
            if ready and self.valid.value == 1:
                beat = {name: int(sig.value) for name, sig in self.signals.items()}
                self.ready.value = 0
                return beat


def pack(values, width: int) -> int:
    """Elements into one bus word, element i in bits [i*width +: width] (two's complement)."""
    mask = (1 << width) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * width)
    return word


def unpack(word: int, count: int, width: int, signed: bool = True) -> list[int]:
    mask = (1 << width) - 1
    out = []
    for i in range(count):
        v = (word >> (i * width)) & mask
        if signed and v >= 1 << (width - 1):
            v -= 1 << width
        out.append(v)
    return out
