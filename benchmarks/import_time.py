"""Where a server's start-up time goes: `python -X importtime` output, compared with a baseline's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from benchmarks.report import Json

PROJECT = "apillon_mcp"


@dataclass(frozen=True)
class PackageCost:
    package: str
    self_ms: float
    """Import time of the package's own modules, not counting what they import from other packages."""
    modules: int

    def as_json(self) -> dict[str, Json]:
        return {"package": self.package, "self_ms": round(self.self_ms, 1), "modules": self.modules}


def parse(stderr: str) -> dict[str, int]:
    """Module name → its own import time in microseconds, from `-X importtime` lines."""
    modules: dict[str, int] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue  # the header line
        modules[fields[2].strip()] = int(fields[0])
    return modules


def package_of(module: str) -> str:
    """The top-level package; the project's own modules by subpackage, to show which part to make lazy."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == PROJECT and len(parts) > 1 else parts[0]


def total_ms(modules: Mapping[str, int]) -> float:
    return sum(modules.values()) / 1000


def extra_packages(server: Mapping[str, int], baseline: Mapping[str, int]) -> list[PackageCost]:
    """Packages of the modules the server imports and the baseline does not, costliest first."""
    self_us: defaultdict[str, int] = defaultdict(int)
    count: defaultdict[str, int] = defaultdict(int)
    for module, micros in server.items():
        if module not in baseline:
            self_us[package_of(module)] += micros
            count[package_of(module)] += 1
    costs = [PackageCost(package, micros / 1000, count[package]) for package, micros in self_us.items()]
    return sorted(costs, key=lambda cost: cost.self_ms, reverse=True)
