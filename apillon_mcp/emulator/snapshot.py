"""The emulator's state as a versioned JSON document and back, written out field by field.

A document is JSON-ready except for its `bytes` (file contents, the signing key), which `encode` writes as base64.
Until then they stay the state's own bytes objects, so comparing two documents (to decide whether to save) never
compares file contents that did not change: equal objects are compared by identity first.
"""

import base64
import binascii
import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import TypeVar

from apillon_mcp.emulator.clock import Clock, SystemClock
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
from apillon_mcp.emulator.state import EmulatorState, StateRows

FORMAT = "apillon-mcp emulator state"
VERSION = 1

Document = dict[str, object]
Status = TypeVar("Status", bound=IntEnum)
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
        "projects": [_dump_project(row) for row in rows.projects],
        "api_keys": [_dump_api_key(row) for row in rows.api_keys],
        "buckets": [_dump_bucket(row) for row in rows.buckets],
        "functions": [_dump_function(row) for row in rows.functions],
        "jobs": [_dump_job(row) for row in rows.jobs],
        "upload_sessions": [_dump_session(row) for row in rows.sessions],
        "file_uploads": [_dump_upload(row) for row in rows.uploads],
        "files": [_dump_file(row) for row in rows.files],
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
    rows = StateRows(
        projects=fields.rows("projects", _load_project),
        api_keys=fields.rows("api_keys", _load_api_key),
        buckets=fields.rows("buckets", _load_bucket),
        functions=fields.rows("functions", _load_function),
        jobs=fields.rows("jobs", _load_job),
        sessions=fields.rows("upload_sessions", _load_session),
        uploads=fields.rows("file_uploads", _load_upload),
        files=fields.rows("files", _load_file),
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


def _dump_project(row: Project) -> Document:
    return {"project_uuid": row.project_uuid, "credits": row.credits}


def _load_project(fields: "_Fields") -> Project:
    return Project(project_uuid=fields.text("project_uuid"), credits=fields.integer("credits"))


def _dump_api_key(row: ApiKey) -> Document:
    roles = sorted([int(role), int(service)] for role, service in row.roles)
    return {"key": row.key, "secret": row.secret, "project_uuid": row.project_uuid, "roles": roles}


def _load_api_key(fields: "_Fields") -> ApiKey:
    roles = fields.get("roles")
    if not isinstance(roles, list) or not all(isinstance(pair, list) and len(pair) == 2 for pair in roles):
        raise SnapshotError(f"{fields.where}.roles: expected a list of [role, service] pairs")
    return ApiKey(
        key=fields.text("key"),
        secret=fields.text("secret"),
        project_uuid=fields.text("project_uuid"),
        roles=frozenset(
            (_member(Role, role, f"{fields.where}.roles"), _member(Service, service, f"{fields.where}.roles"))
            for role, service in roles
        ),
    )


def _dump_bucket(row: Bucket) -> Document:
    return {
        "bucket_uuid": row.bucket_uuid,
        "project_uuid": row.project_uuid,
        "name": row.name,
        "create_time": _time(row.create_time),
    }


def _load_bucket(fields: "_Fields") -> Bucket:
    return Bucket(
        bucket_uuid=fields.text("bucket_uuid"),
        project_uuid=fields.text("project_uuid"),
        name=fields.text("name"),
        create_time=fields.time("create_time"),
    )


def _dump_function(row: CloudFunction) -> Document:
    return {
        "id": row.id,
        "function_uuid": row.function_uuid,
        "project_uuid": row.project_uuid,
        "bucket_uuid": row.bucket_uuid,
        "name": row.name,
        "description": row.description,
        "status": int(row.status),
        "create_time": _time(row.create_time),
        "update_time": _optional_time(row.update_time),
        "active_job_id": row.active_job_id,
        "variables": copy.deepcopy(row.variables),
    }


def _load_function(fields: "_Fields") -> CloudFunction:
    variables = fields.get("variables")
    if variables is not None and not (
        isinstance(variables, list) and all(isinstance(entry, dict) for entry in variables)
    ):
        raise SnapshotError(f"{fields.where}.variables: expected null or a list of objects")
    return CloudFunction(
        id=fields.integer("id"),
        function_uuid=fields.text("function_uuid"),
        project_uuid=fields.text("project_uuid"),
        bucket_uuid=fields.text("bucket_uuid"),
        name=fields.text("name"),
        description=fields.optional_text("description"),
        status=fields.member("status", RecordStatus),
        create_time=fields.time("create_time"),
        update_time=fields.optional_time("update_time"),
        active_job_id=fields.optional_integer("active_job_id"),
        variables=variables,
    )


def _dump_job(row: Job) -> Document:
    return {
        "id": row.id,
        "job_uuid": row.job_uuid,
        "project_uuid": row.project_uuid,
        "function_uuid": row.function_uuid,
        "name": row.name,
        "script_cid": row.script_cid,
        "slots": row.slots,
        "job_status": int(row.job_status),
        "status": int(row.status),
        "create_time": _time(row.create_time),
        "update_time": _optional_time(row.update_time),
        "deploy_due": _time(row.deploy_due),
        "match_due": _time(row.match_due),
        "job_id": row.job_id,
        "deploy_done": row.deploy_done,
        "match_done": row.match_done,
    }


def _load_job(fields: "_Fields") -> Job:
    return Job(
        id=fields.integer("id"),
        job_uuid=fields.text("job_uuid"),
        project_uuid=fields.text("project_uuid"),
        function_uuid=fields.text("function_uuid"),
        name=fields.text("name"),
        script_cid=fields.text("script_cid"),
        slots=fields.integer("slots"),
        job_status=fields.member("job_status", JobStatus),
        status=fields.member("status", RecordStatus),
        create_time=fields.time("create_time"),
        update_time=fields.optional_time("update_time"),
        deploy_due=fields.time("deploy_due"),
        match_due=fields.time("match_due"),
        job_id=fields.optional_integer("job_id"),
        deploy_done=fields.flag("deploy_done"),
        match_done=fields.flag("match_done"),
    )


def _dump_session(row: UploadSession) -> Document:
    return {
        "session_uuid": row.session_uuid,
        "bucket_uuid": row.bucket_uuid,
        "project_uuid": row.project_uuid,
        "status": int(row.status),
        "create_time": _time(row.create_time),
    }


def _load_session(fields: "_Fields") -> UploadSession:
    return UploadSession(
        session_uuid=fields.text("session_uuid"),
        bucket_uuid=fields.text("bucket_uuid"),
        project_uuid=fields.text("project_uuid"),
        status=fields.member("status", SessionStatus),
        create_time=fields.time("create_time"),
    )


def _dump_upload(row: FileUpload) -> Document:
    return {
        "file_uuid": row.file_uuid,
        "session_uuid": row.session_uuid,
        "bucket_uuid": row.bucket_uuid,
        "project_uuid": row.project_uuid,
        "path": row.path,
        "name": row.name,
        "content_type": row.content_type,
        "create_time": _time(row.create_time),
        "update_time": _time(row.update_time),
        "content": row.content,
    }


def _load_upload(fields: "_Fields") -> FileUpload:
    return FileUpload(
        file_uuid=fields.text("file_uuid"),
        session_uuid=fields.text("session_uuid"),
        bucket_uuid=fields.text("bucket_uuid"),
        project_uuid=fields.text("project_uuid"),
        path=fields.optional_text("path"),
        name=fields.text("name"),
        content_type=fields.optional_text("content_type"),
        create_time=fields.time("create_time"),
        update_time=fields.time("update_time"),
        content=fields.optional_blob("content"),
    )


def _dump_file(row: File) -> Document:
    return {
        "id": row.id,
        "file_uuid": row.file_uuid,
        "bucket_uuid": row.bucket_uuid,
        "project_uuid": row.project_uuid,
        "session_uuid": row.session_uuid,
        "path": row.path,
        "name": row.name,
        "content_type": row.content_type,
        "content": row.content,
        "cid_v0": row.cid_v0,
        "cid_v1": row.cid_v1,
        "file_status": int(row.file_status),
        "status": int(row.status),
        "create_time": _time(row.create_time),
        "update_time": _time(row.update_time),
        "ipfs_due": _time(row.ipfs_due),
        "pin_due": _time(row.pin_due),
    }


def _load_file(fields: "_Fields") -> File:
    return File(
        id=fields.integer("id"),
        file_uuid=fields.text("file_uuid"),
        bucket_uuid=fields.text("bucket_uuid"),
        project_uuid=fields.text("project_uuid"),
        session_uuid=fields.text("session_uuid"),
        path=fields.optional_text("path"),
        name=fields.text("name"),
        content_type=fields.optional_text("content_type"),
        content=fields.blob("content"),
        cid_v0=fields.text("cid_v0"),
        cid_v1=fields.text("cid_v1"),
        file_status=fields.member("file_status", FileStatus),
        status=fields.member("status", RecordStatus),
        create_time=fields.time("create_time"),
        update_time=fields.time("update_time"),
        ipfs_due=fields.time("ipfs_due"),
        pin_due=fields.time("pin_due"),
    )


def _load_fault(fields: "_Fields") -> Fault:
    try:
        return parse_fault(fields.values)
    except ValueError as error:
        raise SnapshotError(f"{fields.where}: {error}") from error


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _optional_time(moment: datetime | None) -> str | None:
    return None if moment is None else _time(moment)


def _base64(value: object) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} does not belong in a state document")


def _member(kind: type[Status], value: object, where: str) -> Status:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return kind(value)
        except ValueError:
            pass
    raise SnapshotError(f"{where}: {value!r} is not a {kind.__name__}")


class _Fields:
    """Typed reads from one JSON object, whose errors say where in the document the bad value was."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise SnapshotError(f"{where}: expected an object")
        self.values: dict[str, object] = value
        self.where = where

    def get(self, name: str) -> object:
        return self.values.get(name)

    def text(self, name: str) -> str:
        return self._typed(name, str, "a string")

    def optional_text(self, name: str) -> str | None:
        return None if self._required(name) is None else self.text(name)

    def integer(self, name: str) -> int:
        value = self._required(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise SnapshotError(f"{self.where}.{name}: expected an integer")
        return value

    def optional_integer(self, name: str) -> int | None:
        return None if self._required(name) is None else self.integer(name)

    def number(self, name: str) -> float:
        value = self._required(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise SnapshotError(f"{self.where}.{name}: expected a number")
        return float(value)

    def flag(self, name: str) -> bool:
        return self._typed(name, bool, "true or false")

    def member(self, name: str, kind: type[Status]) -> Status:
        return _member(kind, self._required(name), f"{self.where}.{name}")

    def time(self, name: str) -> datetime:
        try:
            moment = datetime.fromisoformat(self.text(name))
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise SnapshotError(f"{self.where}.{name}: expected an ISO 8601 time with a UTC offset")
        return moment.astimezone(UTC)

    def optional_time(self, name: str) -> datetime | None:
        return None if self._required(name) is None else self.time(name)

    def blob(self, name: str) -> bytes:
        try:
            return base64.b64decode(self.text(name), validate=True)
        except binascii.Error as error:
            raise SnapshotError(f"{self.where}.{name}: expected base64") from error

    def optional_blob(self, name: str) -> bytes | None:
        return None if self._required(name) is None else self.blob(name)

    def rows(self, name: str, load: Callable[["_Fields"], Row]) -> list[Row]:
        items = self._typed(name, list, "a list")
        return [load(_Fields(item, f"{name}[{index}]")) for index, item in enumerate(items)]

    def _required(self, name: str) -> object:
        if name not in self.values:
            raise SnapshotError(f"{self.where}.{name}: missing")
        return self.values[name]

    def _typed(self, name: str, kind: type[Row], expected: str) -> Row:
        value = self._required(name)
        if not isinstance(value, kind):
            raise SnapshotError(f"{self.where}.{name}: expected {expected}")
        return value
