"""`python -m mutation [AREA ...]`: mutation testing of the areas `[tool.mutation]` in pyproject.toml names.

Each mutant is a small bug put into one function; it is killed when a test fails with it in place. One pytest
process (a worker) collects the tests once, records which test runs which line (the baseline), then swaps each
mutant in and runs only the tests that run its line. A mutant that makes the tests hang is killed after a timeout
(a hang is noticed too), and the worker starts again after it.

Mutants that cannot change behaviour (equivalent ones) are listed, each with its reason, in
`mutation/equivalent.toml`; the score of a module is killed / (all - equivalent). Slow: not part of CI.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mutation.operators import Mutant, mutants

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
EQUIVALENT = Path(__file__).resolve().parent / "equivalent.toml"


@dataclass(frozen=True)
class Area:
    modules: list[str]
    tests: list[str]


@dataclass(frozen=True)
class Config:
    areas: dict[str, Area]
    pytest_args: list[str]
    timeout_floor: float

    @classmethod
    def load(cls) -> Config:
        table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutation"]
        return cls(
            areas={name: Area(list(a["modules"]), list(a["tests"])) for name, a in table["areas"].items()},
            pytest_args=list(table["pytest-args"]),
            timeout_floor=float(table.get("timeout-seconds", 60)),
        )


def main(argv: list[str] | None = None) -> int:
    config = Config.load()
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.splitlines()[0])
    parser.add_argument("areas", nargs="*", metavar="AREA", help=f"default: every area ({', '.join(config.areas)})")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--report", action="store_true", help="report the last run again, run nothing")
    args = parser.parse_args(argv)
    unknown = [name for name in args.areas if name not in config.areas]
    if unknown:
        parser.error(f"unknown area {', '.join(unknown)}; the areas are {', '.join(config.areas)}")
    areas = args.areas or list(config.areas)
    made: list[Mutant] = []
    WORK.mkdir(exist_ok=True)
    for name in areas:
        area = config.areas[name]
        files = _files(area.modules)
        area_mutants = [mutant for file in files for mutant in mutants(ROOT / file, ROOT)]
        made.extend(area_mutants)
        if args.list:
            for mutant in area_mutants:
                print(f"{mutant.id} {mutant.path}:{mutant.first} {mutant.function}: {mutant.description}")
            continue
        results = WORK / f"results-{name}.jsonl"
        if not args.report:
            results.unlink(missing_ok=True)
            _run(config, name, area, files, area_mutants, results)
    if args.list:
        return 0
    verdicts = {k: v for name in areas for k, v in _verdicts(WORK / f"results-{name}.jsonl").items()}
    return _report(config, areas, made, verdicts)


def _files(patterns: Iterable[str]) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        path = ROOT / pattern
        if path.is_dir():
            found.extend(p.relative_to(ROOT).as_posix() for p in sorted(path.rglob("*.py")))
        elif path.exists():
            found.append(pattern)
    return found


def _fingerprint(area: Area) -> str:
    digest = hashlib.sha256(repr(area).encode())
    for path in sorted([*ROOT.joinpath("apillon_mcp").rglob("*.py"), *ROOT.joinpath("tests").rglob("*.py")]):
        digest.update(path.as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _run(config: Config, name: str, area: Area, files: list[str], made: list[Mutant], results: Path) -> None:
    coverage = WORK / f"coverage-{name}-{_fingerprint(area)}.json"
    pending = [mutant.id for mutant in made]
    print(f"{name}: {len(made)} mutants in {len(files)} modules", file=sys.stderr)
    while pending:
        plan = WORK / "plan.json"
        plan.write_text(
            json.dumps(
                {
                    "root": str(ROOT),
                    "files": files,
                    "mutants": pending,
                    "coverage": str(coverage),
                    "results": str(results),
                }
            ),
            encoding="utf-8",
        )
        hung = _work(config, area, plan, results, baseline=not coverage.exists())
        done = set(_verdicts(results))
        if hung is not None:
            with results.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"id": hung, "status": "timeout"}) + "\n")
            done.add(hung)
        left = [mutant_id for mutant_id in pending if mutant_id not in done]
        if hung is None and left:
            raise SystemExit(f"the worker stopped with {len(left)} mutants left; see {WORK / 'worker.log'}")
        pending = left


def _work(config: Config, area: Area, plan: Path, results: Path, *, baseline: bool) -> str | None:
    """Runs a worker until it is done (None) or hangs on a mutant (its id)."""
    tests = [test for test in area.tests if (ROOT / test).exists()]
    command = [
        sys.executable, "-m", "pytest", "-p", "mutation.worker", f"--mutation-plan={plan}", *config.pytest_args, *tests
    ]  # fmt: skip
    log = (WORK / "worker.log").open("a", encoding="utf-8")
    worker = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    if baseline:
        print("recording which test runs which line (the baseline run of the tests)...", file=sys.stderr)
    try:
        while worker.poll() is None:
            time.sleep(1)
            started = _in_progress(results, config.timeout_floor)
            if started is not None and time.monotonic() - started[1] > started[2]:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
                return started[0]
        return None
    finally:
        log.close()


_seen: dict[str, float] = {}


def _in_progress(results: Path, timeout_floor: float) -> tuple[str, float, float] | None:
    """The mutant the worker is on: (its id, when it was seen starting, how long it may take)."""
    if not results.exists():
        return None
    last: dict[str, Any] | None = None
    for line in results.read_text(encoding="utf-8").splitlines():
        last = json.loads(line)
    if last is None or "start" not in last:
        return None
    seen = _seen.setdefault(last["start"], time.monotonic())
    return last["start"], seen, timeout_floor + 5 * float(last["expected"])


def _verdicts(results: Path) -> dict[str, dict[str, Any]]:
    verdicts: dict[str, dict[str, Any]] = {}
    if results.exists():
        for line in results.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if "id" in record:
                verdicts[record["id"]] = record
    return verdicts


def equivalent_mutants() -> dict[str, str]:
    """The mutants judged equivalent, by key, with the reason."""
    if not EQUIVALENT.exists():
        return {}
    table = tomllib.loads(EQUIVALENT.read_text(encoding="utf-8"))
    return {f"{e['module']}::{e['function']}::{e['mutant']}": e["why"] for e in table.get("equivalent", [])}


def _report(config: Config, areas: list[str], made: list[Mutant], verdicts: dict[str, dict[str, Any]]) -> int:
    """A line per module: its mutants, how many were killed, judged equivalent, could not be applied (their code
    could not be swapped in; left out of the score), and are alive; then each mutant still alive."""
    equivalent = equivalent_mutants()
    by_module: dict[str, list[Mutant]] = {}
    for mutant in made:
        by_module.setdefault(mutant.path, []).append(mutant)
    header = f"{'module':44} {'mutants':>7} {'killed':>6} {'equiv':>5} {'n/a':>4} {'alive':>5} {'score':>6}"
    lines = [header]
    survivors: list[tuple[Mutant, str]] = []
    totals = [0, 0, 0, 0, 0]
    for path, module_mutants in by_module.items():
        counts = [len(module_mutants), 0, 0, 0, 0]
        for mutant in module_mutants:
            status = verdicts.get(mutant.id, {}).get("status", "not run")
            if status in ("killed", "timeout"):
                counts[1] += 1
            elif mutant.key in equivalent:
                counts[2] += 1
            elif status == "error":
                counts[3] += 1
            else:
                counts[4] += 1
                survivors.append((mutant, status))
        lines.append(_row(path, counts))
        totals = [t + n for t, n in zip(totals, counts, strict=True)]
    lines.append(_row("all", totals))
    print("\n".join(lines))
    if survivors:
        print("\nSurvivors (not judged equivalent):")
        for mutant, status in survivors:
            print(f"  {mutant.path}:{mutant.first} {mutant.function} [{status}]: {mutant.description}")
    stale = set(equivalent) - {mutant.key for mutant in made}
    if stale and set(areas) == set(config.areas):
        print(f"\n{len(stale)} entries of {EQUIVALENT.name} match no mutant any more.")
    return 0


def _row(name: str, counts: list[int]) -> str:
    total, killed, equiv, not_applied, alive = counts
    counted = total - equiv - not_applied
    score = f"{100 * killed / counted:5.1f}%" if counted else "  -"
    return f"{name:44} {total:7} {killed:6} {equiv:5} {not_applied:4} {alive:5} {score:>6}"


if __name__ == "__main__":
    sys.exit(main())
