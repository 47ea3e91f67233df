"""The one-time import of a JSON state file, the format apillon-mcp kept its sandbox in before SQLite (version 1).

Every value is checked before it is stored: a damaged or hostile file (not JSON, nested too deep, wrong types,
numbers that are not finite or too large, times out of range, rows referring to rows it lacks, a newer format)
is refused with a `JsonStateError` saying where, and nothing is imported.
"""

import base64
import binascii
import json
import math
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from enum import IntEnum
from typing import TypeVar

from apillon_mcp.emulator.clock import EPOCH, LATEST
from apillon_mcp.emulator.faults import Fault, parse_fault
from apillon_mcp.emulator.records import (
    ApiKey,
    Bucket,
    CloudFunction,
    File,
    FileStatus,
    FileUpload,
    Job,
    JobStatus,
    Project,
    RecordStatus,
    Role,
    Service,
    SessionStatus,
    UploadSession,
)
from apillon_mcp.emulator.tables import (
    API_KEYS,
    BUCKETS,
    FAULTS,
    FILE_UPLOADS,
    FILES,
    FUNCTIONS,
    JOBS,
    PROJECTS,
    UPLOAD_SESSIONS,
    Table,
)

FORMAT = "apillon-mcp emulator state"
VERSION = 1
_LARGEST = 2**63 - 1
Status = TypeVar("Status", bound=IntEnum)
Row = TypeVar("Row")


class JsonStateError(ValueError):
    """A JSON state this version cannot import; the message says where and what, on one line."""


def import_json_state(db: sqlite3.Connection, data: bytes) -> None:
    """Store the state in `data` in the (empty) sandbox database, inside the caller's transaction."""
    document = _Object(_decode(data), "the document")
    if document.values.get("format") != FORMAT:
        raise JsonStateError(f'not an emulator state: no "format": "{FORMAT}"')
    version = document.values.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise JsonStateError("no format version")
    if version != VERSION:
        newer = "from a newer apillon-mcp" if version > VERSION else "not supported"
        raise JsonStateError(f"format version {version} is {newer}; this apillon-mcp imports version {VERSION}")
    offset = document.number("clock_offset_seconds")
    if not 0 <= offset <= (LATEST - datetime.now(UTC)).total_seconds():
        raise JsonStateError(f"clock_offset_seconds: {offset} is not between 0 and the year {LATEST.year}")
    chain_id = document.integer("next_chain_job_id")
    signing_key = document.blob("signing_key")
    if chain_id < 1 or len(signing_key) < 16:
        raise JsonStateError("next_chain_job_id or signing_key: out of range")
    try:
        _store(db, PROJECTS, document.rows("projects", _project))
        _store(db, API_KEYS, document.rows("api_keys", _api_key))
        _store(db, BUCKETS, document.rows("buckets", _bucket))
        _store(db, FUNCTIONS, document.rows("functions", _function))
        _store(db, JOBS, document.rows("jobs", _job))
        _store(db, UPLOAD_SESSIONS, document.rows("upload_sessions", _session))
        _store(db, FILE_UPLOADS, document.rows("file_uploads", _upload))
        _store(db, FILES, document.rows("files", _file))
        _store(db, FAULTS, document.rows("faults", _fault))
    except sqlite3.IntegrityError as error:
        raise JsonStateError(f"rows that contradict each other or refer to rows it lacks ({error})") from error
    except (RecursionError, OverflowError) as error:  # a fault body nested too deep, a number SQLite cannot hold
        raise JsonStateError(f"a value that cannot be stored ({type(error).__name__})") from error
    db.execute(
        "INSERT INTO meta (id, clock_offset_us, next_chain_job_id, signing_key) VALUES (1, ?, ?, ?)",
        (round(offset * 1_000_000), chain_id, signing_key),
    )


def _decode(data: bytes) -> object:
    try:
        return json.loads(data)
    except RecursionError:
        raise JsonStateError("JSON nested too deeply") from None
    except ValueError as error:  # also bytes that are not UTF-8, and integers too long to read
        raise JsonStateError(f"not JSON ({error})") from error


def _store(db: sqlite3.Connection, table: Table[Row], rows: list[Row]) -> None:
    for row in rows:
        table.insert(db, row)


class _Object:
    """Typed reads from one JSON object, whose errors say where in the document the bad value was."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise JsonStateError(f"{where}: expected an object")
        self.values: dict[str, object] = value
        self.where = where

    def _get(self, name: str) -> object:
        if name not in self.values:
            raise JsonStateError(f"{self.where}.{name}: missing")
        return self.values[name]

    def _wrong(self, name: str, expected: str) -> JsonStateError:
        return JsonStateError(f"{self.where}.{name}: expected {expected}")

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise self._wrong(name, "a string")
        return value

    def optional_text(self, name: str) -> str | None:
        return None if self._get(name) is None else self.text(name)

    def integer(self, name: str) -> int:
        value = self._get(name)
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > _LARGEST:
            raise self._wrong(name, "an integer")
        return value

    def optional_integer(self, name: str) -> int | None:
        return None if self._get(name) is None else self.integer(name)

    def number(self, name: str) -> float:
        value = self._get(name)
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise self._wrong(name, "a finite number")
        return float(value)

    def boolean(self, name: str) -> bool:
        value = self._get(name)
        if not isinstance(value, bool):
            raise self._wrong(name, "true or false")
        return value

    def status(self, name: str, kind: type[Status]) -> Status:
        value = self.integer(name)
        if value not in kind._value2member_map_:
            raise self._wrong(name, f"a {kind.__name__}")
        return kind(value)

    def time(self, name: str) -> datetime:
        value = self._get(name)
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None or not EPOCH <= moment <= LATEST:
            raise self._wrong(name, f"an ISO 8601 time with a UTC offset, between {EPOCH.year} and {LATEST.year}")
        return moment.astimezone(UTC)

    def optional_time(self, name: str) -> datetime | None:
        return None if self._get(name) is None else self.time(name)

    def blob(self, name: str) -> bytes:
        value = self._get(name)
        try:
            if isinstance(value, str):
                return base64.b64decode(value, validate=True)
        except binascii.Error:
            pass
        raise self._wrong(name, "base64")

    def optional_blob(self, name: str) -> bytes | None:
        return None if self._get(name) is None else self.blob(name)

    def variables(self, name: str) -> list[dict[str, object]] | None:
        value = self._get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
            raise self._wrong(name, "a list of objects")
        try:
            json.dumps(value)  # it is stored as JSON text again
        except (RecursionError, ValueError):
            raise self._wrong(name, "JSON that can be stored") from None
        return value

    def roles(self, name: str) -> frozenset[tuple[Role, Service]]:
        value = self._get(name)
        roles = set()
        for pair in value if isinstance(value, list) else [None]:
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, int) for part in pair)):
                raise self._wrong(name, "a list of [role, service] integer pairs")
            if pair[0] not in Role._value2member_map_ or pair[1] not in Service._value2member_map_:
                raise self._wrong(name, "known roles and services")
            roles.add((Role(pair[0]), Service(pair[1])))
        return frozenset(roles)

    def rows(self, name: str, load: Callable[["_Object"], Row]) -> list[Row]:
        value = self._get(name)
        if not isinstance(value, list):
            raise self._wrong(name, "a list")
        return [load(_Object(item, f"{name}[{index}]")) for index, item in enumerate(value)]


def _project(row: _Object) -> Project:
    return Project(row.text("project_uuid"), row.integer("credits"))


def _api_key(row: _Object) -> ApiKey:
    return ApiKey(row.text("key"), row.text("secret"), row.text("project_uuid"), row.roles("roles"))


def _bucket(row: _Object) -> Bucket:
    return Bucket(row.text("bucket_uuid"), row.text("project_uuid"), row.text("name"), row.time("create_time"))


def _function(row: _Object) -> CloudFunction:
    return CloudFunction(
        id=row.integer("id"),
        function_uuid=row.text("function_uuid"),
        project_uuid=row.text("project_uuid"),
        bucket_uuid=row.text("bucket_uuid"),
        name=row.text("name"),
        description=row.optional_text("description"),
        status=row.status("status", RecordStatus),
        create_time=row.time("create_time"),
        update_time=row.optional_time("update_time"),
        active_job_id=row.optional_integer("active_job_id"),
        variables=row.variables("variables"),
    )


def _job(row: _Object) -> Job:
    return Job(
        id=row.integer("id"),
        job_uuid=row.text("job_uuid"),
        project_uuid=row.text("project_uuid"),
        function_uuid=row.text("function_uuid"),
        name=row.text("name"),
        script_cid=row.text("script_cid"),
        slots=row.integer("slots"),
        job_status=row.status("job_status", JobStatus),
        status=row.status("status", RecordStatus),
        create_time=row.time("create_time"),
        update_time=row.optional_time("update_time"),
        deploy_due=row.time("deploy_due"),
        match_due=row.time("match_due"),
        job_id=row.optional_integer("job_id"),
        deploy_done=row.boolean("deploy_done"),
        match_done=row.boolean("match_done"),
    )


def _session(row: _Object) -> UploadSession:
    return UploadSession(
        row.text("session_uuid"),
        row.text("bucket_uuid"),
        row.text("project_uuid"),
        row.status("status", SessionStatus),
        row.time("create_time"),
    )


def _upload(row: _Object) -> FileUpload:
    return FileUpload(
        file_uuid=row.text("file_uuid"),
        session_uuid=row.text("session_uuid"),
        bucket_uuid=row.text("bucket_uuid"),
        project_uuid=row.text("project_uuid"),
        path=row.optional_text("path"),
        name=row.text("name"),
        content_type=row.optional_text("content_type"),
        create_time=row.time("create_time"),
        update_time=row.time("update_time"),
        content=row.optional_blob("content"),
    )


def _file(row: _Object) -> File:
    return File(
        id=row.integer("id"),
        file_uuid=row.text("file_uuid"),
        bucket_uuid=row.text("bucket_uuid"),
        project_uuid=row.text("project_uuid"),
        session_uuid=row.text("session_uuid"),
        path=row.optional_text("path"),
        name=row.text("name"),
        content_type=row.optional_text("content_type"),
        content=row.blob("content"),
        cid_v0=row.text("cid_v0"),
        cid_v1=row.text("cid_v1"),
        file_status=row.status("file_status", FileStatus),
        status=row.status("status", RecordStatus),
        create_time=row.time("create_time"),
        update_time=row.time("update_time"),
        ipfs_due=row.time("ipfs_due"),
        pin_due=row.time("pin_due"),
    )


def _fault(row: _Object) -> Fault:
    try:
        return parse_fault(row.values)
    except ValueError as error:
        raise JsonStateError(f"{row.where}: {error}") from error
