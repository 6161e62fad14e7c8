"""An encoder of the engine's one-word instructions, from docs/isa.md's tables.

Opcodes and field positions are read from the document ("Opcodes" and the first "Fields"
table), so `encode("MULTIPLY_MOVING", addr=8, k=2, n=4, swap=1)` is the word the document
describes; the worked example's words are checked against it in the tests.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import DOCS

_OPCODE = re.compile(r"^\|\s*(\d+)\s*\|\s*`(\w+)`\s*\|\s*(\d+)\s*\|")
_FIELD = re.compile(r"^\|\s*`(\w+)`\s*\|\s*(\d+)(?:\.\.(\d+))?\s*\|\s*([A-Z_, ]+)\s*\|")


class Isa:
    def __init__(self, path: Path | str | None = None):
        path = Path(path) if path else DOCS / "isa.md"
        self.opcodes: dict[str, int] = {}
        self.words: dict[str, int] = {}
        # mnemonic -> field -> (lsb, width)
        self.fields: dict[str, dict[str, tuple[int, int]]] = {}
        section = None
        fields_tables = 0
        for line in path.read_text().splitlines():
            if line.startswith("## "):
                section = line[3:].strip()
                continue
            if section == "Opcodes":
                m = _OPCODE.match(line)
                if m:
                    code, name, words = m.groups()
                    self.opcodes[name] = int(code)
                    self.words[name] = int(words)
                    self.fields.setdefault(name, {})
            elif section == "Fields":
                if line.startswith("| field |"):
                    fields_tables += 1
                if fields_tables != 1:
                    continue  # only the one-word instructions' table
                m = _FIELD.match(line)
                if m:
                    name, hi, lo, users = m.groups()
                    lo = lo if lo is not None else hi
                    for user in (u.strip() for u in users.split(",")):
                        self.fields.setdefault(user, {})[name] = (int(lo), int(hi) - int(lo) + 1)
        for need in ("LOAD_STATIONARY", "MULTIPLY_MOVING", "FENCE"):
            if need not in self.opcodes or "op" not in self.fields.get(need, {}):
                raise ValueError(f"{path}: {need} not found")

    def encode(self, mnemonic: str, **values: int) -> int:
        """The 64-bit word of a one-word instruction; fields not given are 0."""
        if self.words[mnemonic] != 1:
            raise ValueError(f"{mnemonic} is not a one-word instruction")
        layout = self.fields[mnemonic]
        word = 0
        for name, value in {"op": self.opcodes[mnemonic], **values}.items():
            if name not in layout:
                raise ValueError(f"{mnemonic} has no field {name}")
            lsb, width = layout[name]
            if not 0 <= value < (1 << width):
                raise ValueError(f"{mnemonic}.{name} = {value} does not fit in {width} bits")
            word |= value << lsb
        return word

    def load_stationary(self, addr: int, k: int, m: int) -> int:
        return self.encode("LOAD_STATIONARY", addr=addr, k=k, m=m)

    def multiply_moving(self, addr: int, k: int, n: int, bank: int = 0, offset: int = 0,
                        acc: bool = False, swap: bool = True) -> int:
        return self.encode("MULTIPLY_MOVING", addr=addr, k=k, n=n, bank=bank, offset=offset,
                           acc=int(acc), swap=int(swap))

    def fence(self) -> int:
        return self.encode("FENCE")
