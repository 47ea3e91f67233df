"""Benchmark 3: spawn → `tools/list` answer over stdio, for apillon-mcp and for a one-tool MCPServer.

Both are started the same way (see `benchmarks.stdio`), alternately (A, B, A, B, ...) so that drift hits both,
after one untimed warm-up spawn each (bytecode caches, disk cache). The judged figure is the ratio of the
medians. A last spawn of each under `-X importtime` shows which imports apillon-mcp adds to the baseline, and
`benchmarks.startup_probe` times the phases of building the server.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import anyio
from mcp import StdioServerParameters

from benchmarks.import_time import PackageCost, extra_packages, parse, total_ms
from benchmarks.profiles import Profile
from benchmarks.report import Budget, Cell, Outcome, Table
from benchmarks.stats import ratio
from benchmarks.stdio import (
    APILLON,
    BASELINE_MODULE,
    REPO_ROOT,
    baseline_module,
    child_environment,
    module_server,
    stdio_session,
)

BUDGET_RATIO = 1.25
TOP_PACKAGES = 10


async def spawn_to_tools_list(server: StdioServerParameters, errlog: TextIO) -> tuple[float, int]:
    """Seconds from spawning the server to holding its tools/list answer, and how many tools it listed."""
    started = time.perf_counter()
    async with stdio_session(server, errlog) as client:
        tools = (await client.list_tools()).tools
        elapsed = time.perf_counter() - started
    return elapsed, len(tools)


async def import_profile(server: StdioServerParameters) -> dict[str, int]:
    """Module → own import time (µs) of one spawn under `-X importtime`."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errlog:
        await spawn_to_tools_list(server, errlog)
        errlog.seek(0)
        return parse(errlog.read())


async def startup_phases() -> dict[str, float]:
    """Milliseconds per phase of building an emulator-backed server, in a fresh interpreter."""
    command = [sys.executable, "-m", "benchmarks.startup_probe"]
    finished = await anyio.run_process(command, cwd=REPO_ROOT, env=child_environment())
    phases: dict[str, float] = json.loads(finished.stdout)
    return phases


@dataclass
class Spawns:
    apillon: list[float]
    baseline: list[float]
    apillon_tools: int = 0

    @property
    def apillon_ms(self) -> float:
        return statistics.median(self.apillon) * 1000

    @property
    def baseline_ms(self) -> float:
        return statistics.median(self.baseline) * 1000

    @property
    def ratio(self) -> float:
        return ratio(self.apillon_ms, self.baseline_ms)

    @property
    def paired_ratio(self) -> float:
        """Median of each run's own ratio: a second view, less moved by one slow pair than by drift."""
        return statistics.median(ratio(a, b) for a, b in zip(self.apillon, self.baseline, strict=True))


async def timed_spawns(runs: int, directory: Path) -> Spawns:
    spawns = Spawns([], [])
    apillon = module_server(APILLON, python_path=[directory])
    baseline = module_server([BASELINE_MODULE], python_path=[directory])
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        for attempt in range(1 + runs):
            apillon_seconds, spawns.apillon_tools = await spawn_to_tools_list(apillon, devnull)
            baseline_seconds, _ = await spawn_to_tools_list(baseline, devnull)
            if attempt > 0:
                spawns.apillon.append(apillon_seconds)
                spawns.baseline.append(baseline_seconds)
    return spawns


async def run(profile: Profile) -> Outcome:
    with baseline_module() as directory:
        spawns = await timed_spawns(profile.cold_start_runs, directory)
        importtime = ["-X", "importtime"]
        apillon_imports = await import_profile(module_server(APILLON, python_path=[directory], flags=importtime))
        baseline_imports = await import_profile(
            module_server([BASELINE_MODULE], python_path=[directory], flags=importtime)
        )
    phases = await startup_phases()
    extra = extra_packages(apillon_imports, baseline_imports)
    extra_ms = sum(cost.self_ms for cost in extra)

    outcome = Outcome()
    outcome.figures = {
        "runs": profile.cold_start_runs,
        "apillon_ms": [round(t * 1000, 1) for t in spawns.apillon],
        "baseline_ms": [round(t * 1000, 1) for t in spawns.baseline],
        "apillon_median_ms": round(spawns.apillon_ms, 1),
        "baseline_median_ms": round(spawns.baseline_ms, 1),
        "ratio": round(spawns.ratio, 3),
        "paired_ratio_median": round(spawns.paired_ratio, 3),
        "apillon_tools": spawns.apillon_tools,
        "import_time": {
            "apillon_total_ms": round(total_ms(apillon_imports), 1),
            "baseline_total_ms": round(total_ms(baseline_imports), 1),
            "extra_ms": round(extra_ms, 1),
            "extra_modules": sum(cost.modules for cost in extra),
            "extra_by_package": [cost.as_json() for cost in extra],
        },
        "startup_phases_ms": phases,
    }
    outcome.tables.append(
        Table(
            f"Cold start: spawn -> tools/list answer (ratio of medians {spawns.ratio:.3f}; "
            f"median of paired ratios {spawns.paired_ratio:.3f})",
            ("server", "median ms", "min ms", "max ms", "runs"),
            [_row("apillon-mcp --emulator", spawns.apillon), _row("minimal MCPServer, 1 tool", spawns.baseline)],
        )
    )
    import_rows: list[Sequence[Cell]] = [(cost.package, cost.self_ms, cost.modules) for cost in extra[:TOP_PACKAGES]]
    import_rows.append((f"all {len(extra)} packages", extra_ms, sum(cost.modules for cost in extra)))
    outcome.tables.append(
        Table(
            f"Imports apillon-mcp adds to the baseline (-X importtime, one run; baseline total "
            f"{total_ms(baseline_imports):.0f} ms, apillon-mcp {total_ms(apillon_imports):.0f} ms)",
            ("package", "self ms", "modules"),
            import_rows,
        )
    )
    outcome.tables.append(
        Table("Start-up phases of an emulator-backed server (one interpreter)", ("phase", "ms"), list(phases.items()))
    )
    outcome.budgets.append(_budget(spawns, extra, phases))
    return outcome


def _row(name: str, seconds: list[float]) -> tuple[Cell, ...]:
    return (name, statistics.median(seconds) * 1000, min(seconds) * 1000, max(seconds) * 1000, len(seconds))


def _budget(spawns: Spawns, extra: list[PackageCost], phases: dict[str, float]) -> Budget:
    met = spawns.ratio <= BUDGET_RATIO
    cause = ""
    if not met:
        top = ", ".join(f"{cost.package} {cost.self_ms:.0f} ms" for cost in extra[:5])
        steps = ", ".join(f"{phase} {ms:.0f} ms" for phase, ms in phases.items())
        cause = (
            f"{spawns.apillon_ms - spawns.baseline_ms:.0f} ms slower than the baseline; it imports "
            f"{sum(cost.self_ms for cost in extra):.0f} ms (under -X importtime) of modules the baseline does not, "
            f"most: {top}; start-up phases: {steps}"
        )
    return Budget(
        "cold start: apillon-mcp / minimal server (medians)",
        f"<= {BUDGET_RATIO}x",
        f"{spawns.ratio:.3f}x ({spawns.apillon_ms:.0f} / {spawns.baseline_ms:.0f} ms)",
        met,
        cause,
    )
