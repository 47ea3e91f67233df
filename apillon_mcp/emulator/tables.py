"""Each record type's table (`schema`), and its rows to and from SQL values, field by field.

A column is named after its field. The field's type says how a value is stored: times as microseconds since
1970, statuses as their integers, booleans as 0/1; the few fields of another type name their own `Codec`.
"""

import dataclasses
import json
import sqlite3
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any, Generic, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from apillon_mcp.emulator.clock import EPOCH
from apillon_mcp.emulator.faults import Fault
from apillon_mcp.emulator.records import (
    ApiKey,
    Bucket,
    CloudFunction,
    File,
    FileUpload,
    Job,
    Project,
    Role,
    Service,
    UploadSession,
)

Row = TypeVar("Row")
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Codec:
    to_sql: Callable[[Any], object]
    from_sql: Callable[[Any], Any]


def micros(moment: datetime) -> int:
    """A time as stored: microseconds since 1970-01-01T00:00:00Z."""
    return (moment - EPOCH) // _MICROSECOND


def moment(stored: int) -> datetime:
    return EPOCH + stored * _MICROSECOND


def fold(text: str) -> str:
    """What search and ordering compare: the backend's collation ignores case."""
    return text.lower()


def json_text(value: object) -> str:
    """How every JSON column is written (and measured, where the service limits its size)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_SAME = Codec(lambda value: value, lambda value: value)
_TIME = Codec(micros, moment)
_BOOL = Codec(int, bool)
JSON = Codec(json_text, json.loads)
_OPTIONAL_JSON = Codec(
    lambda value: None if value is None else json_text(value),
    lambda text: None if text is None else json.loads(text),
)
_ROLES = Codec(
    lambda roles: json_text(sorted([int(role), int(service)] for role, service in roles)),
    lambda text: frozenset((Role(role), Service(service)) for role, service in json.loads(text)),
)


def _codec_for(kind: Any) -> Codec:
    origin, arguments = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        (inner,) = (argument for argument in arguments if argument is not type(None))
        codec = _codec_for(inner)
        return Codec(
            lambda value: None if value is None else codec.to_sql(value),
            lambda value: None if value is None else codec.from_sql(value),
        )
    if origin is Literal or kind in (str, int, float, bytes):
        return _SAME
    if kind is datetime:
        return _TIME
    if kind is bool:
        return _BOOL
    if isinstance(kind, type) and issubclass(kind, IntEnum):
        return Codec(int, kind)
    raise TypeError(f"no column form for {kind!r}: give the field a Codec")  # a field added to `records`


class Table(Generic[Row]):
    """The table `name` holding `row_type` rows, keyed by the field `key`, in insertion order.

    `derived` columns are computed from a row when it is written and never read back.
    """

    def __init__(
        self,
        name: str,
        row_type: type[Row],
        key: str,
        *,
        codecs: Mapping[str, Codec] | None = None,
        derived: Mapping[str, Callable[[Row], object]] | None = None,
    ) -> None:
        hints = get_type_hints(row_type)
        self.name = name
        self.key = key
        self._row_type = row_type
        self._fields = [field.name for field in dataclasses.fields(row_type)]  # type: ignore[arg-type]
        own = codecs or {}
        self._codecs = [own.get(field) or _codec_for(hints[field]) for field in self._fields]
        self._derived = dict(derived or {})
        columns = [*self._fields, *self._derived]
        self.columns = ", ".join(self._fields)
        self._insert = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        self._update = f"UPDATE {name} SET {', '.join(f'{column} = ?' for column in columns)} WHERE {key} = ?"
        changed = ", ".join(f"{column} = excluded.{column}" for column in columns if column != key)
        self._upsert = f"{self._insert} ON CONFLICT ({key}) DO UPDATE SET {changed}"

    def values(self, row: Row) -> list[object]:
        stored = [codec.to_sql(getattr(row, field)) for field, codec in zip(self._fields, self._codecs, strict=True)]
        return [*stored, *(compute(row) for compute in self._derived.values())]

    def load(self, values: Sequence[object]) -> Row:
        """A row from the values of `columns`, in their order."""
        decoded = zip(self._fields, self._codecs, values, strict=True)
        return self._row_type(**{field: codec.from_sql(value) for field, codec, value in decoded})

    def insert(self, db: sqlite3.Connection, row: Row) -> None:
        db.execute(self._insert, self.values(row))

    def upsert(self, db: sqlite3.Connection, row: Row) -> None:
        """Insert the row, or replace the one with its key (which keeps its place in insertion order)."""
        db.execute(self._upsert, self.values(row))

    def update(self, db: sqlite3.Connection, row: Row) -> None:
        db.execute(self._update, [*self.values(row), getattr(row, self.key)])

    def get(self, db: sqlite3.Connection, key: object) -> Row | None:
        return self.first(db, f"{self.key} = ?", (key,))

    def first(self, db: sqlite3.Connection, where: str, parameters: Sequence[object] = ()) -> Row | None:
        found = db.execute(f"SELECT {self.columns} FROM {self.name} WHERE {where} LIMIT 1", parameters).fetchone()
        return None if found is None else self.load(found)

    def select(
        self, db: sqlite3.Connection, tail: str = "ORDER BY rowid", parameters: Sequence[object] = ()
    ) -> list[Row]:
        """The rows `SELECT <columns> FROM <table> <tail>` finds."""
        found = db.execute(f"SELECT {self.columns} FROM {self.name} {tail}", parameters)
        return [self.load(values) for values in found]

    def keys(self, db: sqlite3.Connection) -> list[str]:
        return [key for (key,) in db.execute(f"SELECT {self.key} FROM {self.name} ORDER BY rowid")]

    def count(self, db: sqlite3.Connection) -> int:
        count: int = db.execute(f"SELECT count(*) FROM {self.name}").fetchone()[0]
        return count

    def next_id(self, db: sqlite3.Connection) -> int:
        """The `id` the next row gets: one more than the highest so far."""
        # Exactly `SELECT max(id)`: SQLite reads it off the index then, instead of scanning the table.
        highest: int | None = db.execute(f"SELECT max(id) FROM {self.name}").fetchone()[0]
        return (highest or 0) + 1


PROJECTS = Table("projects", Project, "project_uuid")
API_KEYS = Table("api_keys", ApiKey, "key", codecs={"roles": _ROLES})
BUCKETS = Table("buckets", Bucket, "bucket_uuid")
FUNCTIONS = Table(
    "functions",
    CloudFunction,
    "function_uuid",
    codecs={"variables": _OPTIONAL_JSON},
    derived={"name_folded": lambda row: fold(row.name)},
)
JOBS = Table("jobs", Job, "job_uuid", derived={"name_folded": lambda row: fold(row.name)})
UPLOAD_SESSIONS = Table("upload_sessions", UploadSession, "session_uuid")
FILE_UPLOADS = Table("file_uploads", FileUpload, "file_uuid", derived={"s3_key": lambda row: row.s3_key})
FILES = Table("files", File, "file_uuid", derived={"name_folded": lambda row: fold(row.name)})
FAULTS = Table("faults", Fault, "rowid", codecs={"body": JSON})
