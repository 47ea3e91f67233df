"""Errors raised by the Apillon client.

Every failure of a call to the Apillon API is one of these::

    ApillonError
    ├── ApillonUnreachable          no HTTP answer (connect error, timeout)
    ├── ApillonBadResponse          an answer that is not the documented envelope
    └── ApillonAPIError             a documented error body (apillon-api §3.2 shapes A-E)
        ├── ApillonAuthError        401, and 400 40000003/40000004: credentials missing or wrong
        ├── ApillonForbidden        403: the key lacks a role, or the record is another project's
        ├── ApillonNotFound         404
        ├── ApillonValidationError  422 (per-field errors) and any other 400: a rule refused the request
        └── ApillonServerError      5xx and any other status

An `ApillonAPIError` carries the HTTP status, the Apillon code, the message and the field errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Type D bodies wrap the real code in `errors[]` under this top-level code.
MICROSERVICE_VALIDATION_WRAPPER = 500004

_MISSING_ROLE = re.compile(r"missing (KEY_[A-Z]+) permission")


@dataclass(frozen=True)
class FieldError:
    property: str
    code: int | None
    message: str


class ApillonError(Exception):
    """Any failure of a call to the Apillon API.

    `outcome_unknown` is true for a write whose request may have been carried out although no readable answer came
    back (a dropped connection, a timeout after sending, a gateway error or an unreadable body in front of it).
    """

    outcome_unknown: bool = False


class ApillonUnreachable(ApillonError):
    """The request got no HTTP answer.

    `may_have_reached_server` is true when the request was sent before the failure (a read timeout,
    a connection dropped mid-response): the server may have acted on it.
    """

    def __init__(self, message: str, *, may_have_reached_server: bool) -> None:
        super().__init__(message)
        self.may_have_reached_server = may_have_reached_server


class ApillonBadResponse(ApillonError):
    """The API answered, but not with the documented JSON envelope (a proxy page, a truncated body)."""

    def __init__(self, message: str, *, status: int | None, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.outcome_unknown = outcome_unknown


class ApillonAPIError(ApillonError):
    """A documented Apillon error response."""

    def __init__(
        self,
        *,
        status: int,
        code: int | None,
        message: str,
        field_errors: tuple[FieldError, ...] = (),
        path: str | None = None,
    ) -> None:
        super().__init__(f"HTTP {status}, code {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field_errors = field_errors
        self.path = path


class ApillonAuthError(ApillonAPIError):
    """The API key or secret is missing, malformed or wrong."""


class ApillonForbidden(ApillonAPIError):
    """The key may not do this: it lacks a role, or the record belongs to another project."""

    @property
    def missing_role(self) -> str | None:
        """The role the endpoint needs (`KEY_EXECUTE`, `KEY_WRITE`, `KEY_READ`), when that is the reason."""
        match = _MISSING_ROLE.search(self.message)
        return match.group(1) if match else None


class ApillonNotFound(ApillonAPIError):
    """The record does not exist (or was deleted)."""


class ApillonValidationError(ApillonAPIError):
    """The request body or query broke a validation rule; `field_errors` says which."""


class ApillonServerError(ApillonAPIError):
    """A 5xx answer, or a status the API does not document."""


_AUTH_HEADER_CODES = frozenset({40000003, 40000004})


def error_class_for(status: int, code: int | None) -> type[ApillonAPIError]:
    if status == 401 or (status == 400 and code in _AUTH_HEADER_CODES):
        return ApillonAuthError
    if status == 403:
        return ApillonForbidden
    if status == 404:
        return ApillonNotFound
    if status in (400, 422):
        return ApillonValidationError
    return ApillonServerError
