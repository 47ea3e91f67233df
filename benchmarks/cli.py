"""Runs the suite: a table per benchmark on stdout, every figure in a JSON file, exit 1 when a budget is missed.

The JSON goes to `--json PATH`, by default `benchmarks/results/latest.json` (that folder is git-ignored). A
benchmark that raises is reported with its traceback and counts as a missed budget.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import anyio

from benchmarks.profiles import FULL, QUICK, Profile
from benchmarks.render import render_budgets, render_table
from benchmarks.report import Budget, Json, Outcome
from benchmarks.suite import BENCHMARKS, Benchmark

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="run every benchmark once, on small data")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH", help=f"default: {DEFAULT_JSON}")
    names = ", ".join(benchmark.name for benchmark in BENCHMARKS)
    parser.add_argument("--only", metavar="NAME,...", help=f"run only these benchmarks ({names})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    selected = _select(args.only)
    if selected is None:
        print(f"unknown benchmark in --only {args.only!r}", file=sys.stderr)
        return 2
    # Installed before the server's own logging set-up (a no-op once the root logger has a handler), so that
    # per-request INFO lines neither flood the terminal nor weigh on the timings.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    profile = QUICK if args.quick else FULL
    started = time.perf_counter()
    reports: dict[str, Json] = {}
    budgets: list[Budget] = []
    for benchmark in selected:
        print(f"\n== {benchmark.title} ==\n", flush=True)
        began = time.perf_counter()
        outcome, error = _run(benchmark, profile)
        seconds = time.perf_counter() - began
        for table in outcome.tables:
            print(render_table(table) + "\n")
        for note in outcome.notes:
            print(f"note: {note}")
        if error:
            print(error)
        print(f"({seconds:.1f} s)", flush=True)
        budgets.extend(outcome.budgets)
        reports[benchmark.name] = {
            "title": benchmark.title,
            "seconds": round(seconds, 2),
            "figures": outcome.figures,
            "budgets": [budget.as_json() for budget in outcome.budgets],
            "notes": outcome.notes,
            "error": error,
        }

    missed = [budget for budget in budgets if not budget.met]
    total = time.perf_counter() - started
    print(f"\n== Budgets ==\n\n{render_budgets(budgets)}\n")
    _write(args.json, profile, reports, missed, total)
    print(f"Figures written to {args.json} ({total:.0f} s in all).")
    if missed:
        print(f"\nMissed {len(missed)} budget(s):")
        for budget in missed:
            print(
                f"- {budget.name}: {budget.actual} (limit {budget.limit})"
                + (f"\n  cause: {budget.cause}" if budget.cause else "")
            )
        return 1
    print("All budgets met.")
    return 0


def _select(only: str | None) -> list[Benchmark] | None:
    if only is None:
        return list(BENCHMARKS)
    wanted = {name.strip() for name in only.split(",") if name.strip()}
    known = {benchmark.name for benchmark in BENCHMARKS}
    if not wanted or wanted - known:
        return None
    return [benchmark for benchmark in BENCHMARKS if benchmark.name in wanted]


def _run(benchmark: Benchmark, profile: Profile) -> tuple[Outcome, str | None]:
    """The benchmark's outcome, or (an outcome with one missed budget, the traceback) when it raised."""

    async def bounded() -> Outcome:
        with anyio.fail_after(profile.timeout_seconds):
            return await benchmark.run(profile)

    try:
        return anyio.run(bounded), None
    except Exception as error:
        failed = Budget(f"{benchmark.name}: runs to completion", "no error", type(error).__name__, False, str(error))
        return Outcome(budgets=[failed]), "".join(traceback.format_exception(error))


def _write(path: Path, profile: Profile, reports: dict[str, Json], missed: list[Budget], seconds: float) -> None:
    document: dict[str, Json] = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": profile.quick,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "seconds": round(seconds, 1),
        "benchmarks": reports,
        "budgets_missed": [budget.name for budget in missed],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
