"""The benchmark suite still runs: `python -m benchmarks --quick` writes every benchmark's figures.

Budgets and times are the command's verdict (its exit code), not this test's: nothing here depends on speed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each benchmark, and figures its JSON must carry.
FIGURES = {
    "context_cost": {
        "tools",
        "model_bytes_per_tool",
        "model_bytes_total",
        "full_bytes_total",
        "per_tool",
        "violations",
    },
    "result_size": {"cases"},
    "cold_start": {"apillon_median_ms", "baseline_median_ms", "ratio", "import_time", "startup_phases_ms"},
    "call_overhead": {"in_memory_mcp", "bare_api_client", "stdio_mcp", "in_memory_ratio_median", "stdio_ratio_median"},
    "scale": {"functions", "jobs", "calls", "state_traced_bytes", "call_round_peak_traced_bytes"},
    "http": {"calls_attempted", "calls_succeeded", "errors", "throughput_calls_per_second", "latency"},
    "scenarios": {"scenarios"},
    "sandbox_state": {"small", "large", "search_ms"},
}
CASE_FIGURES = {"raw_bytes", "summary_bytes", "summary_percent_of_raw", "structured_bytes", "missing"}


def test_the_quick_run_reports_every_benchmark(tmp_path: Path) -> None:
    output = tmp_path / "quick.json"
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    finished = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(output)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": python_path},
        capture_output=True,
        text=True,
        timeout=300,
    )

    # 0: every budget met, 1: one missed (or a benchmark failed, which the report below shows).
    assert finished.returncode in (0, 1), finished.stdout + finished.stderr
    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["quick"] is True
    assert set(report["benchmarks"]) == set(FIGURES)
    for name, figures in FIGURES.items():
        benchmark = report["benchmarks"][name]
        assert benchmark["error"] is None, f"{name} failed:\n{benchmark['error']}"
        assert figures <= set(benchmark["figures"]), f"{name} lacks {figures - set(benchmark['figures'])}"
        assert f"== {benchmark['title']} ==" in finished.stdout
    for case in report["benchmarks"]["result_size"]["figures"]["cases"]:
        assert set(case) >= CASE_FIGURES, case
    assert report["benchmarks"]["context_cost"]["figures"]["tools"] > 0
    judged = [budget for benchmark in report["benchmarks"].values() for budget in benchmark["budgets"]]
    assert judged and all({"name", "limit", "actual", "met"} <= set(budget) for budget in judged)
