"""What a permission probe's answer says about the key (the doctor reads these verdicts)."""

import pytest

from apillon_mcp.apillon import (
    ApillonAuthError,
    ApillonError,
    ApillonForbidden,
    ApillonNotFound,
    ApillonServerError,
    ApillonUnreachable,
    ApillonValidationError,
)
from apillon_mcp.apillon.permissions import PROBES, judge

PROBE = PROBES[1]


@pytest.mark.parametrize(
    ("outcome", "granted", "detail"),
    [
        (None, True, "granted"),
        (ApillonNotFound(status=404, code=40400000, message="CLOUD_FUNCTION_NOT_FOUND"), True, "granted"),
        (ApillonValidationError(status=422, code=42200000, message="invalid"), True, "granted"),
        (ApillonValidationError(status=400, code=40000001, message="bad"), True, "granted"),
        (
            ApillonForbidden(
                status=403, code=40300000, message="Insufficient permissions - missing KEY_WRITE permission"
            ),
            False,
            "missing (KEY_WRITE)",
        ),
        (
            ApillonForbidden(status=403, code=40300000, message="Insufficient permissins"),
            None,
            "could not tell: HTTP 403, code 40300000: Insufficient permissins",
        ),
        (
            ApillonAuthError(status=401, code=40100000, message="INVALID_API_KEY"),
            None,
            "the key was not accepted: INVALID_API_KEY",
        ),
        (
            ApillonServerError(status=500, code=500001, message="boom"),
            None,
            "could not tell: HTTP 500, code 500001: boom",
        ),
        (ApillonUnreachable("GET /x failed", may_have_reached_server=False), None, "could not tell: GET /x failed"),
    ],
    ids=["answered", "404", "422", "400", "role-missing", "other-403", "401", "500", "unreachable"],
)
def test_a_probe_answer_grants_denies_or_cannot_tell(
    outcome: ApillonError | None, granted: bool | None, detail: str
) -> None:
    result = judge(PROBE, outcome)

    assert (result.permission, result.granted, result.detail) == (PROBE.permission, granted, detail)
