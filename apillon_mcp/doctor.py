"""`apillon-mcp doctor`: configuration, reachability, authentication and each permission the tools need.

Every request it sends is a read, or a write the API refuses before doing anything (see `apillon.permissions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from apillon_mcp.apillon import (
    ApillonAuthError,
    ApillonBadResponse,
    ApillonClient,
    ApillonError,
    ApillonUnreachable,
    Connect,
)
from apillon_mcp.apillon.permissions import PROBES, Permission
from apillon_mcp.runner import NodeUnavailable, find_node
from apillon_mcp.tools.spec import ToolSpec

Result = Literal["ok", "FAIL", "warn", "skipped"]


@dataclass(frozen=True)
class Check:
    name: str
    result: Result
    detail: str
    fix: str = ""


async def run_checks(client_target: str, connect: Connect, tools: Sequence[ToolSpec]) -> list[Check]:
    """The checks in order; later ones are skipped when an earlier one makes them meaningless."""
    checks: list[Check] = []
    async with connect() as client:
        reached = await _reach_and_authenticate(client, client_target, checks)
        needs = _needs(tools)
        for probe in PROBES:
            name = f"permission: {probe.permission}"
            users = needs.get(probe.permission, [])
            if not reached:
                checks.append(Check(name, "skipped", "the API could not be used"))
                continue
            outcome = await client.probe(probe)
            if outcome.granted:
                checks.append(Check(name, "ok", f"needed by {', '.join(users)}" if users else "not needed"))
            elif outcome.granted is False and users:
                checks.append(
                    Check(
                        name,
                        "FAIL",
                        f"{outcome.detail}; needed by {', '.join(users)}",
                        f"add {probe.permission} to this API key in the Apillon dashboard (API keys); changes can "
                        "take up to an hour to apply",
                    )
                )
            elif outcome.granted is False:
                checks.append(Check(name, "warn", f"{outcome.detail}; no enabled tool needs it"))
            else:
                checks.append(Check(name, "FAIL" if users else "warn", outcome.detail, "run doctor again later"))
    return checks


async def _reach_and_authenticate(client: ApillonClient, target: str, checks: list[Check]) -> bool:
    try:
        balance = await client.get_credit_balance()
    except ApillonUnreachable as error:
        checks.append(Check("reachable", "FAIL", str(error), f"check the network and APILLON_API_URL ({target})"))
        return False
    except ApillonBadResponse as error:
        checks.append(
            Check(
                "reachable", "FAIL", f"{target} is not answering as the Apillon API: {error}", "check APILLON_API_URL"
            )
        )
        return False
    except ApillonAuthError as error:
        checks.append(Check("reachable", "ok", target))
        checks.append(
            Check(
                "authentication",
                "FAIL",
                f"HTTP {error.status}, code {error.code}: {error.message}",
                "check APILLON_API_KEY and APILLON_API_SECRET (the key may have been deleted)",
            )
        )
        return False
    except ApillonError as error:
        checks.append(Check("reachable", "FAIL", str(error), "retry later; Apillon may be failing"))
        return False
    checks.append(Check("reachable", "ok", target))
    checks.append(Check("authentication", "ok", f"key {_masked(client.key_id)} accepted; {balance} credits"))
    return True


def _needs(tools: Sequence[ToolSpec]) -> dict[Permission, list[str]]:
    needs: dict[Permission, list[str]] = {}
    for tool in tools:
        for permission in tool.needs:
            needs.setdefault(permission, []).append(tool.name)
    return needs


def _masked(key: str | None) -> str:
    if not key:
        return "(none)"
    return f"{key[:8]}…" if len(key) > 8 else "…"


def node_check(*, sandbox: bool, command: str = "node") -> Check:
    """Node.js runs scripts on this machine: the sandbox's gateway needs it; with the live API, local checks do."""
    try:
        runtime = find_node(command)
    except NodeUnavailable as missing:
        if sandbox:
            return Check("node.js", "FAIL", f"{missing.problem}; the sandbox's gateway cannot run scripts", missing.fix)
        return Check("node.js", "warn", f"{missing.problem}; scripts cannot be run or checked locally", missing.fix)
    return Check(
        "node.js", "ok", f"{runtime.version_text} at {runtime.path}; scripts run isolated ({runtime.permission_flag})"
    )


def configuration_check(missing: Sequence[str], target: str) -> Check:
    if missing:
        return Check(
            "configuration",
            "FAIL",
            f"{' and '.join(missing)} not set",
            "create an API key in the Apillon dashboard and set both variables, or use --emulator",
        )
    return Check("configuration", "ok", f"credentials set; API {target}")


def render(checks: Sequence[Check]) -> str:
    width = max(len(check.name) for check in checks)
    lines = [f"{'check':<{width}}  result   detail"]
    for check in checks:
        lines.append(f"{check.name:<{width}}  {check.result:<7}  {check.detail}")
        if check.fix:
            lines.append(f"{'':<{width}}           fix: {check.fix}")
    return "\n".join(lines)


def passed(checks: Sequence[Check]) -> bool:
    return not any(check.result == "FAIL" for check in checks)
