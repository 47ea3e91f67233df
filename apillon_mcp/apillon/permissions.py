"""Which API-key permissions a key holds, found out without changing anything.

Each probe sends a request whose role guard runs before validation and before any lookup: a key without the
role gets 403; a key with it gets past the guard and is stopped by validation (422) or by the lookup of a uuid that
does not exist (404). No probe can create, change or charge anything.

The guard order was read route by route in the backend's controllers. The storage upload route validates its body
first (apillon-api Corrections §2), so an empty upload gets 422 whatever the key's roles and cannot tell; Execute
on Storage is probed instead on ending an upload session, whose AuthGuard comes first and whose service answers
404 for a session that does not exist before it touches anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from apillon_mcp.apillon.errors import ApillonAPIError, ApillonAuthError, ApillonError, ApillonForbidden

_NO_SUCH_UUID = "00000000-0000-4000-8000-000000000000"


class Service(Enum):
    COMPUTING = "Computing"
    STORAGE = "Storage"


class Role(Enum):
    READ = "KEY_READ"
    WRITE = "KEY_WRITE"
    EXECUTE = "KEY_EXECUTE"

    @property
    def title(self) -> str:
        return self.name.capitalize()


@dataclass(frozen=True)
class Permission:
    role: Role
    service: Service

    def __str__(self) -> str:
        return f"{self.role.title} on {self.service.value}"


@dataclass(frozen=True)
class Probe:
    permission: Permission
    method: str
    path: str
    params: dict[str, str | int] | None = None
    json: Any = None


COMPUTING_READ = Permission(Role.READ, Service.COMPUTING)
COMPUTING_WRITE = Permission(Role.WRITE, Service.COMPUTING)
COMPUTING_EXECUTE = Permission(Role.EXECUTE, Service.COMPUTING)
STORAGE_READ = Permission(Role.READ, Service.STORAGE)
STORAGE_EXECUTE = Permission(Role.EXECUTE, Service.STORAGE)

PROBES: tuple[Probe, ...] = (
    Probe(COMPUTING_READ, "GET", "/cloud-functions", params={"limit": 1}),
    Probe(COMPUTING_WRITE, "POST", f"/cloud-functions/{_NO_SUCH_UUID}/jobs", json={}),
    Probe(COMPUTING_EXECUTE, "POST", f"/cloud-functions/{_NO_SUCH_UUID}/environment", json={"variables": []}),
    Probe(STORAGE_READ, "GET", f"/storage/buckets/{_NO_SUCH_UUID}/files", params={"limit": 1}),
    Probe(STORAGE_EXECUTE, "POST", f"/storage/buckets/{_NO_SUCH_UUID}/upload/{_NO_SUCH_UUID}/end", json={}),
)


@dataclass(frozen=True)
class ProbeResult:
    permission: Permission
    granted: bool | None
    """None when the probe could not tell (the API failed in another way); `detail` says how."""
    detail: str


def judge(probe: Probe, outcome: ApillonError | None) -> ProbeResult:
    """What a probe's answer says about the permission."""
    if outcome is None:
        return ProbeResult(probe.permission, True, "granted")
    if isinstance(outcome, ApillonForbidden) and outcome.missing_role is not None:
        return ProbeResult(probe.permission, False, f"missing ({outcome.missing_role})")
    if isinstance(outcome, ApillonAuthError):
        return ProbeResult(probe.permission, None, f"the key was not accepted: {outcome.message}")
    if isinstance(outcome, ApillonAPIError) and outcome.status in (400, 404, 422):
        return ProbeResult(probe.permission, True, "granted")
    return ProbeResult(probe.permission, None, f"could not tell: {outcome}")
