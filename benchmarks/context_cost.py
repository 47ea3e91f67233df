"""Benchmark 1: what `tools/list` costs the context window, and whether every parameter is described and bounded.

Model-facing bytes of a tool: compact JSON of its `name`, `description` and `inputSchema` as the client receives
them. Full bytes: the whole tool object (title, annotations, outputSchema too).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mcp import Client

from benchmarks.harness import Sandbox
from benchmarks.profiles import Profile
from benchmarks.report import Budget, Cell, Outcome, Table
from benchmarks.schema_rules import Violation, violations
from benchmarks.sizes import json_bytes

# 650 B held the nine tools of the first release (629 B mean, 5,662 B in all). Safe deploys added, measured:
# test_cloud_function_script (1,277 B), deploy's smoke_test, deploy_despite_problems and longer description
# (about 450 B), delete's job_uuids and create's wait (about 240 B): 7,780 B for ten tools, 778 B each.
BUDGET_BYTES_PER_TOOL = 800
MODEL_FACING = ("name", "description", "inputSchema")


def without_titles(schema: Any) -> Any:
    """The schema without its `title` keywords (pydantic adds one per field); property names are kept."""
    if isinstance(schema, list):
        return [without_titles(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    kept: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title":
            continue
        if key in ("properties", "$defs") and isinstance(value, Mapping):
            kept[key] = {name: without_titles(sub) for name, sub in value.items()}
        else:
            kept[key] = without_titles(value)
    return kept


@dataclass(frozen=True)
class ToolCost:
    name: str
    model_bytes: int
    full_bytes: int
    description_bytes: int
    input_schema_bytes: int
    input_schema_title_bytes: int
    """Bytes of the input schema spent on `title` keywords."""
    parameters: int

    @classmethod
    def of(cls, tool: Mapping[str, Any]) -> ToolCost:
        schema = tool.get("inputSchema", {})
        return cls(
            name=str(tool["name"]),
            model_bytes=json_bytes({key: tool[key] for key in MODEL_FACING if key in tool}),
            full_bytes=json_bytes(tool),
            description_bytes=json_bytes(tool.get("description", "")),
            input_schema_bytes=json_bytes(schema),
            input_schema_title_bytes=json_bytes(schema) - json_bytes(without_titles(schema)),
            parameters=len(schema.get("properties", {})),
        )

    @property
    def over_budget_bytes(self) -> int:
        return max(0, self.model_bytes - BUDGET_BYTES_PER_TOOL)


async def run(profile: Profile) -> Outcome:
    async with Client(Sandbox().server()) as client:
        listed = (await client.list_tools()).tools
    tools = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in listed]
    costs = [ToolCost.of(tool) for tool in tools]
    found = [v for tool in tools for v in violations(str(tool["name"]), tool.get("inputSchema", {}))]

    count = max(1, len(costs))
    model_total = sum(c.model_bytes for c in costs)
    full_total = sum(c.full_bytes for c in costs)
    titles_total = sum(c.input_schema_title_bytes for c in costs)
    mean, full_mean = model_total / count, full_total / count

    outcome = Outcome()
    outcome.figures = {
        "tools": len(costs),
        "model_bytes_total": model_total,
        "model_bytes_per_tool": round(mean, 1),
        "full_bytes_total": full_total,
        "full_bytes_per_tool": round(full_mean, 1),
        "input_schema_title_bytes_total": titles_total,
        "per_tool": [{**dataclasses.asdict(c), "over_budget_bytes": c.over_budget_bytes} for c in costs],
        "violations": [dataclasses.asdict(v) for v in found],
    }
    rows: list[tuple[Cell, ...]] = [
        (
            c.name,
            c.model_bytes,
            c.full_bytes,
            c.description_bytes,
            c.input_schema_bytes,
            c.input_schema_title_bytes,
            c.over_budget_bytes or None,
        )
        for c in costs
    ]
    rows.append(("total", model_total, full_total, None, None, titles_total, None))
    rows.append((f"mean of {len(costs)} tools", round(mean, 1), round(full_mean, 1), None, None, None, None))
    columns = ("tool", "model B", "full B", "descr. B", "schema B", "of it titles B", f"over {BUDGET_BYTES_PER_TOOL} B")
    outcome.tables.append(Table("tools/list context cost (compact UTF-8 JSON bytes)", columns, rows))
    if found:
        problems = [(v.tool, v.parameter, v.problem) for v in found]
        outcome.tables.append(
            Table("Parameters not described or not constrained", ("tool", "parameter", "problem"), problems)
        )
    outcome.budgets.append(_size_budget(costs, mean, titles_total))
    outcome.budgets.append(_rule_budget(found))
    return outcome


def _size_budget(costs: list[ToolCost], mean: float, titles_total: int) -> Budget:
    met = mean <= BUDGET_BYTES_PER_TOOL
    over = ", ".join(f"{c.name} {c.model_bytes} B (+{c.over_budget_bytes})" for c in costs if c.over_budget_bytes)
    cause = (
        f"over {BUDGET_BYTES_PER_TOOL} B: {over}; `title` keywords take {titles_total} B of all input schemas"
        if not met
        else ""
    )
    return Budget(
        "context: model-facing bytes per tool (mean)", f"<= {BUDGET_BYTES_PER_TOOL} B", f"{mean:.1f} B", met, cause
    )


def _rule_budget(found: list[Violation]) -> Budget:
    return Budget(
        "context: every parameter described and constrained",
        "0 violations",
        f"{len(found)} violations",
        not found,
        "; ".join(str(v) for v in found),
    )
