"""The engine's register map, parsed from docs/registers.md (names -> addresses and fields).

The document is generated from the same table as the RTL's address decoder, so parsing it
gives the test bench the map a user reads, with no second copy to keep in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import DOCS

_ROW = re.compile(r"^\|\s*`(0x[0-9A-Fa-f]+)`\s*\|\s*`(\w+)`\s*\|\s*(\w+)\s*\|")
_HEAD = re.compile(r"^###\s*`(\w+)`")
_FIELD = re.compile(r"^\|\s*(\d+)(?:\.\.(\d+))?\s*\|\s*`(\w+)`\s*\|")


@dataclass
class Field:
    name: str
    lsb: int
    width: int

    def get(self, word: int) -> int:
        return (word >> self.lsb) & ((1 << self.width) - 1)

    def put(self, value: int) -> int:
        if not 0 <= value < (1 << self.width):
            raise ValueError(f"{self.name}: {value} does not fit in {self.width} bits")
        return value << self.lsb


@dataclass
class Register:
    name: str
    addr: int
    access: str
    fields: dict[str, Field] = field(default_factory=dict)

    def get(self, word: int, name: str) -> int:
        return self.fields[name].get(word)

    def pack(self, **values: int) -> int:
        word = 0
        for name, value in values.items():
            word |= self.fields[name].put(value)
        return word


class RegisterMap:
    """`regs["STATUS"].addr`, `regs["STATUS"].get(word, "BUSY")`, `regs.window("SBUF")`."""

    def __init__(self, path: Path | str | None = None):
        path = Path(path) if path else DOCS / "registers.md"
        self.registers: dict[str, Register] = {}
        self.windows: dict[str, int] = {}
        section = None
        current = None
        for line in path.read_text().splitlines():
            if line.startswith("## "):
                section = line[3:].strip()
                current = None
                continue
            m = _HEAD.match(line)
            if m and section == "Fields":
                current = self.registers[m.group(1)]
                continue
            m = _ROW.match(line)
            if m and section == "Registers":
                addr, name, access = m.groups()
                self.registers[name] = Register(name, int(addr, 16), access)
                continue
            if m and section == "Windows":
                self.windows[m.group(2)] = int(m.group(1), 16)
                continue
            m = _FIELD.match(line)
            if m and current is not None:
                hi, lo, name = m.groups()
                hi = int(hi)
                lo = int(lo) if lo is not None else hi
                current.fields[name] = Field(name, lo, hi - lo + 1)
        for need in ("ID", "GEOMETRY", "MEMORY", "CONTROL", "STATUS", "INSTR_LO", "INSTR_HI",
                     "PSUM_SELECT", "RETIRED"):
            if need not in self.registers:
                raise ValueError(f"{path}: register {need} not found")
        for need in ("PSUM_DATA", "SBUF"):
            if need not in self.windows:
                raise ValueError(f"{path}: window {need} not found")

    def __getitem__(self, name: str) -> Register:
        return self.registers[name]

    def addr(self, name: str) -> int:
        return self.registers[name].addr

    def window(self, name: str) -> int:
        return self.windows[name]
