"""Builds and runs the cocotb tests under Icarus Verilog with cocotb's Python runner.

    python cocotb/tests/run.py --engine DIR [--core DIR] --build DIR [--module NAME ...]
                               [--sim icarus|verilator]

DIR is a folder that `systolic generate` wrote (its files.f lists the Verilog in order): the
engine (`--level engine`) and the core (the default level). Exits non-zero when a test fails.
"""

import argparse
import sys
from pathlib import Path

from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

HERE = Path(__file__).resolve().parent
PACKAGE_DIR = HERE.parent  # holds systolic_tb/


def sources(rtl: Path) -> list[Path]:
    names = [line.strip() for line in (rtl / "files.f").read_text().splitlines()]
    return [rtl / n for n in names if n]


def run(sim: str, rtl: Path, top: str, module: str, build: Path, env: dict) -> tuple[int, int]:
    runner = get_runner(sim)
    runner.build(sources=sources(rtl), hdl_toplevel=top, build_dir=build / top,
                 timescale=("1ns", "1ps"), always=True)
    # The runner hands the simulator this process's sys.path as PYTHONPATH.
    for d in (str(PACKAGE_DIR), str(HERE)):
        if d not in sys.path:
            sys.path.insert(0, d)
    xml = runner.test(test_module=module, hdl_toplevel=top, build_dir=build / top,
                      test_dir=build / top, extra_env=env)
    return get_results(Path(xml))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--engine", type=Path, required=True)
    p.add_argument("--core", type=Path)
    p.add_argument("--build", type=Path, required=True)
    p.add_argument("--module", action="append",
                   help="engine test module(s) in cocotb/tests (default: test_engine)")
    p.add_argument("--sim", default="icarus",
                   help="cocotb simulator name (icarus; verilator needs Verilator >= 5.036)")
    args = p.parse_args()
    failed = total = 0
    env = {"SYSTOLIC_TB_CONFIG": str((args.engine / "config.toml").resolve())}
    jobs = [(args.engine, "systolic_engine", m) for m in (args.module or ["test_engine"])]
    if args.core and not args.module:
        jobs.append((args.core, "systolic_top", "test_core"))
    for rtl, top, module in jobs:
        n, f = run(args.sim, rtl.resolve(), top, module, args.build.resolve() / module, env)
        total += n
        failed += f
    print(f"cocotb: {total - failed} passed, {failed} failed")
    return 1 if failed or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
