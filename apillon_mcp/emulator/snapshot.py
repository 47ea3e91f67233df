"""The emulator's state as a versioned JSON document and back.

Each row is written field by field after its dataclass (`records`), the field's type saying how: times as ISO 8601
with an offset, statuses and roles as their integers, bytes as base64. A document is JSON-ready except for its
`bytes` (file contents, the signing key), which `encode` writes as base64. Until then they stay the state's own
bytes objects, so comparing two documents (to decide whether to save) never compares file contents that did not
change: equal objects are compared by identity first.
"""

import base64
import binascii
import copy
import dataclasses
import json
import types
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from apillon_mcp.emulator.clock import Clock, SystemClock
from apillon_mcp.emulator.faults import Fault, parse_fault
from apillon_mcp.emulator.records import ApiKey, Bucket, CloudFunction, File, FileUpload, Job, Project, UploadSession
from apillon_mcp.emulator.state import EmulatorState, StateRows

FORMAT = "apillon-mcp emulator state"
VERSION = 1

Document = dict[str, object]
Row = TypeVar("Row")


class SnapshotError(ValueError):
    """A document this version cannot load; the message says where and what."""


def dump_state(state: EmulatorState) -> Document:
    """The document of `state` as any read would see it now (pending transitions applied)."""
    rows = state.rows()
    offset = state.clock.offset if isinstance(state.clock, SystemClock) else timedelta()
    return {
        "format": FORMAT,
        "version": VERSION,
        "clock_offset_seconds": offset.total_seconds(),
        "next_chain_job_id": rows.next_chain_job_id,
        "signing_key": rows.signing_key,
        **{table: [_dump_row(row) for row in getattr(rows, attribute)] for table, attribute, _ in _TABLES},
        "faults": [fault.to_json() for fault in rows.faults],
    }


def encode(document: Document) -> bytes:
    return json.dumps(document, indent=1, ensure_ascii=False, default=_base64).encode()


def decode(data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError as error:  # also covers bytes that are not UTF-8
        raise SnapshotError(f"not JSON ({error})") from error


def load_state(document: object, clock: Clock | None = None) -> EmulatorState:
    """A state equal to the one `document` was dumped from.

    With no `clock`, a `SystemClock` as far ahead of real time as the saved one was; a given clock is used as it is.
    """
    fields = _Fields(document, "the document")
    _check_version(fields)
    tables = {attribute: fields.rows(table, _loader(row_type)) for table, attribute, row_type in _TABLES}
    rows = StateRows(
        **tables,
        faults=fields.rows("faults", _load_fault),
        next_chain_job_id=fields.integer("next_chain_job_id"),
        signing_key=fields.blob("signing_key"),
    )
    _check_references(rows)
    if clock is None:
        offset = fields.number("clock_offset_seconds")
        if offset < 0:
            raise SnapshotError("clock_offset_seconds: must be >= 0")
        clock = SystemClock(timedelta(seconds=offset))
    state = EmulatorState(clock=clock)
    state.restore(rows)
    return state


# (key in the document, attribute of StateRows, row dataclass), in the order they are written
_TABLES: tuple[tuple[str, str, type[Any]], ...] = (
    ("projects", "projects", Project),
    ("api_keys", "api_keys", ApiKey),
    ("buckets", "buckets", Bucket),
    ("functions", "functions", CloudFunction),
    ("jobs", "jobs", Job),
    ("upload_sessions", "sessions", UploadSession),
    ("file_uploads", "uploads", FileUpload),
    ("files", "files", File),
)


def _check_version(fields: "_Fields") -> None:
    if fields.get("format") != FORMAT:
        raise SnapshotError(f'not an emulator state: no "format": "{FORMAT}"')
    version = fields.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SnapshotError("no format version")
    if version > VERSION:
        raise SnapshotError(f"format version {version} is from a newer apillon-mcp; this one reads version {VERSION}")
    if version != VERSION:
        raise SnapshotError(f"format version {version} is not supported; this apillon-mcp reads version {VERSION}")


def _check_references(rows: StateRows) -> None:
    """Refuse rows pointing at rows the document lacks: the state would fail later, far from the cause."""
    functions = {function.function_uuid for function in rows.functions}
    buckets = {bucket.bucket_uuid for bucket in rows.buckets}
    sessions = {session.session_uuid for session in rows.sessions}
    references: list[tuple[str, str, str, set[str]]] = [
        *(("job", job.job_uuid, job.function_uuid, functions) for job in rows.jobs),
        *(("function", function.function_uuid, function.bucket_uuid, buckets) for function in rows.functions),
        *(("upload session", session.session_uuid, session.bucket_uuid, buckets) for session in rows.sessions),
        *(("file upload", upload.file_uuid, upload.session_uuid, sessions) for upload in rows.uploads),
        *(("file", file.file_uuid, file.session_uuid, sessions) for file in rows.files),
    ]
    for kind, uuid, target, known in references:
        if target not in known:
            raise SnapshotError(f"{kind} {uuid} refers to {target}, which the document does not have")


def _dump_row(row: Any) -> Document:
    return {field.name: _dump_value(getattr(row, field.name)) for field in dataclasses.fields(row)}


def _dump_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, IntEnum):
        return int(value)
    if isinstance(value, frozenset):
        return sorted(_dump_value(item) for item in value)  # type: ignore[type-var]  # lists of ints compare
    if isinstance(value, tuple):
        return [_dump_value(item) for item in value]
    if isinstance(value, list | dict):
        return copy.deepcopy(value)  # the state may change it in place after the dump
    return value


def _loader(row_type: type[Row]) -> Callable[["_Fields"], Row]:
    hints = get_type_hints(row_type)
    names = [field.name for field in dataclasses.fields(row_type)]  # type: ignore[arg-type]
    return lambda fields: row_type(**{name: fields.value(name, hints[name]) for name in names})


def _load_fault(fields: "_Fields") -> Fault:
    try:
        return parse_fault(fields.values)
    except ValueError as error:
        raise SnapshotError(f"{fields.where}: {error}") from error


def _base64(value: object) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} does not belong in a state document")


class _Fields:
    """Typed reads from one JSON object, whose errors say where in the document the bad value was."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise SnapshotError(f"{where}: expected an object")
        self.values: dict[str, object] = value
        self.where = where

    def get(self, name: str) -> object:
        return self.values.get(name)

    def value(self, name: str, kind: Any) -> Any:
        """The field read as the type `kind` of a row's field says."""
        if name not in self.values:
            raise SnapshotError(f"{self.where}.{name}: missing")
        return _convert(self.values[name], kind, f"{self.where}.{name}")

    def integer(self, name: str) -> int:
        return int(self.value(name, int))

    def number(self, name: str) -> float:
        return float(self.value(name, float))

    def blob(self, name: str) -> bytes:
        return bytes(self.value(name, bytes))

    def rows(self, name: str, load: Callable[["_Fields"], Row]) -> list[Row]:
        items = self.value(name, list)
        return [load(_Fields(item, f"{name}[{index}]")) for index, item in enumerate(items)]


def _convert(value: object, kind: Any, where: str) -> Any:
    """`value` from the document as a `kind`; SnapshotError saying where when it is not one."""
    origin, arguments = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        options = [option for option in arguments if option is not type(None)]
        return None if value is None else _convert(value, options[0], where)
    if origin in (list, frozenset):
        if not isinstance(value, list):
            raise SnapshotError(f"{where}: expected a list")
        items = [_convert(item, arguments[0], f"{where}[{index}]") for index, item in enumerate(value)]
        return frozenset(items) if origin is frozenset else items
    if origin is tuple:
        if not isinstance(value, list) or len(value) != len(arguments):
            raise SnapshotError(f"{where}: expected a list of {len(arguments)}")
        return tuple(_convert(item, part, where) for item, part in zip(value, arguments, strict=True))
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise SnapshotError(f"{where}: expected an object")
        return value
    if kind is list:
        if not isinstance(value, list):
            raise SnapshotError(f"{where}: expected a list")
        return value
    if isinstance(kind, type) and issubclass(kind, IntEnum):
        if isinstance(value, int) and not isinstance(value, bool) and value in kind._value2member_map_:
            return kind(value)
        raise SnapshotError(f"{where}: {value!r} is not a {kind.__name__}")
    if kind is datetime:
        moment = _time(value)
        if moment is None:
            raise SnapshotError(f"{where}: expected an ISO 8601 time with a UTC offset")
        return moment
    if kind is bytes:
        try:
            return base64.b64decode(value, validate=True) if isinstance(value, str) else _wrong(where, "base64")
        except binascii.Error as error:
            raise SnapshotError(f"{where}: expected base64") from error
    if kind is bool:
        return value if isinstance(value, bool) else _wrong(where, "true or false")
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _wrong(where, "an integer")
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return _wrong(where, "a number")
    if kind is str:
        return value if isinstance(value, str) else _wrong(where, "a string")
    raise TypeError(f"no document form for {kind!r}")  # a field type added to `records` without one here


def _time(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment is not None and moment.tzinfo is not None else None


def _wrong(where: str, expected: str) -> Any:
    raise SnapshotError(f"{where}: expected {expected}")
