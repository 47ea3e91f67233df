"""The pytest plugin that runs mutants in one process: the tests are collected once, each mutant is swapped in and
only the tests that run its line are run again, fastest first, until one fails.

Loaded by `python -m mutation` as `-p mutation.worker --mutation-plan PLAN`; the plan (JSON) names the mutants, the
coverage file and the results file. The first run records which test runs which line of the mutated modules
(the baseline); later runs read it back.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from _pytest.runner import runtestprotocol

from mutation.operators import mutated_trees
from mutation.patching import CannotPatch, swapped_in


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--mutation-plan", help="the plan `python -m mutation` wrote")


class _Lines:
    """Records the lines of the given files that run (a trace function only for their frames)."""

    def __init__(self, files: set[str]) -> None:
        self._files = files
        self.seen: set[tuple[str, int]] = set()

    def __enter__(self) -> _Lines:
        sys.settrace(self._call)
        threading.settrace(self._call)
        return self

    def __exit__(self, *_: object) -> None:
        sys.settrace(None)
        threading.settrace(None)

    def _call(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename in self._files:
            self.seen.add((frame.f_code.co_filename, frame.f_lineno))
            return self._line
        return None

    def _line(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.seen.add((frame.f_code.co_filename, frame.f_lineno))
        return self._line


def _run(item: pytest.Item) -> bool:
    """Whether the test passed (or skipped)."""
    reports = runtestprotocol(item, log=False, nextitem=None)
    return not any(report.failed for report in reports)


def _baseline(items: list[pytest.Item], files: set[str]) -> dict[str, Any]:
    tests: dict[str, Any] = {}
    for item in items:
        started = time.perf_counter()
        with _Lines(files) as lines:
            passed = _run(item)
        tests[item.nodeid] = {
            "passed": passed,
            "seconds": round(time.perf_counter() - started, 4),
            "lines": sorted([file, line] for file, line in lines.seen),
        }
    return tests


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    plan_path = session.config.getoption("--mutation-plan")
    if not plan_path:
        return None
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    root = Path(plan["root"])
    files = {str((root / path).resolve()): path for path in plan["files"]}
    coverage_path = Path(plan["coverage"])
    items = {item.nodeid: item for item in session.items}
    if not coverage_path.exists():
        tests = _baseline(list(items.values()), set(files))
        coverage_path.write_text(json.dumps(tests), encoding="utf-8")
    tests = json.loads(coverage_path.read_text(encoding="utf-8"))
    runs: dict[tuple[str, int], list[str]] = {}
    for nodeid, record in tests.items():
        if record["passed"] and nodeid in items:
            for file, line in record["lines"]:
                runs.setdefault((files[file], line), []).append(nodeid)
    wanted = set(plan["mutants"])
    with Path(plan["results"]).open("a", encoding="utf-8") as out:
        for path in plan["files"]:
            for mutant, tree in mutated_trees(root / path, root):
                if mutant.id not in wanted:
                    continue
                covering = sorted(
                    {nodeid for line in range(mutant.first, mutant.last + 1) for nodeid in runs.get((path, line), [])},
                    key=lambda nodeid: tests[nodeid]["seconds"],
                )
                expected = sum(tests[nodeid]["seconds"] for nodeid in covering)
                out.write(json.dumps({"start": mutant.id, "expected": expected}) + "\n")
                out.flush()
                out.write(json.dumps(_verdict(mutant, tree, root, covering, items)) + "\n")
                out.flush()
    return True


def _verdict(mutant: Any, tree: Any, root: Path, covering: list[str], items: dict[str, pytest.Item]) -> dict[str, Any]:
    result: dict[str, Any] = {"id": mutant.id, "tests": len(covering)}
    if not covering:
        return {**result, "status": "uncovered"}
    started = time.perf_counter()
    try:
        with swapped_in(mutant.path, mutant.function, tree, str((root / mutant.path).resolve())):
            for ran, nodeid in enumerate(covering, start=1):
                if not _run(items[nodeid]):
                    return {**result, "status": "killed", "by": nodeid, "ran": ran, "seconds": _since(started)}
    except CannotPatch as error:
        return {**result, "status": "error", "error": str(error)}
    except SyntaxError as error:
        return {**result, "status": "error", "error": f"does not compile: {error}"}
    return {**result, "status": "survived", "ran": len(covering), "seconds": _since(started)}


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 2)
