"""`python -m benchmarks.run [--quick] [--only NAME] [--strict]`: measure, write results.

Each benchmark writes `<results>/<name>.json`; `summary.md` is rebuilt from every result file
there. The command exits 0 even when a target is missed, unless `--strict` is given (exit 1).
Benchmarks on the real databases share one private stack, started here and always removed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks import (
    apply_throughput,
    apply_workloads,
    capture_latency,
    catch_up,
    end_to_end,
    memory_pipeline,
    pipeline,
    wide_sync,
)
from benchmarks.report import Result, write_result, write_summary
from benchmarks.stack import private_stack, quiet_logs

RESULTS = Path(__file__).resolve().parent / "results"
# name -> (needs the stack, run(stack, mode) or run(mode))
BENCHMARKS: dict[str, tuple[bool, Callable[..., Result]]] = {
    memory_pipeline.NAME: (False, memory_pipeline.run),
    apply_throughput.NAME: (True, apply_throughput.run),
    capture_latency.NAME: (True, capture_latency.run),
    end_to_end.NAME: (True, end_to_end.run),
    apply_workloads.NAME: (True, apply_workloads.run),
    catch_up.NAME: (True, catch_up.run),
    pipeline.THROUGHPUT: (True, pipeline.run_throughput),
    pipeline.LATENCY: (True, pipeline.run_latency),
    wide_sync.NAME: (True, wide_sync.run),
}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (under a minute)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        choices=list(BENCHMARKS),
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write results")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    quiet_logs()
    mode = "quick" if args.quick else "full"
    chosen = [name for name in BENCHMARKS if not args.only or name in args.only]
    missed: list[str] = []
    with ExitStack() as stack_scope:
        stack: dict[str, str] | None = None
        for name in chosen:
            needs_stack, run = BENCHMARKS[name]
            if needs_stack and stack is None:
                say("starting the private stack (PostgreSQL, MariaDB, broker)")
                stack = stack_scope.enter_context(private_stack())
            say(f"{name} ({mode}) ...")
            started = time.monotonic()
            arguments: tuple[Any, ...] = (stack, mode) if needs_stack else (mode,)
            result = run(*arguments)
            elapsed = time.monotonic() - started
            write_result(args.results, result.document(mode, elapsed))
            for check in result.checks():
                mark = "met" if check["met"] else "MISSED"
                say(f"  {check['label']}: {check['measured']} {check['unit']} "
                    f"(target {check['target']}) {mark}")  # fmt: skip
            if not result.met:
                missed.append(name)
            say(f"  {name}: {elapsed:.1f} s")
        if stack is not None:
            say("stopping the private stack")
    summary = write_summary(args.results, list(BENCHMARKS))
    say(f"results in {args.results} ({summary.name})")
    if missed:
        say(f"targets missed: {', '.join(missed)}")
    return 1 if missed and args.strict else 0


def say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
