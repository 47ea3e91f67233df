"""List queries (apillon-api.md §4): the parameter quirks, `LIKE` search, ORDER BY DB column names, paging."""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from apillon_mcp.emulator.coercion import js_integer
from apillon_mcp.emulator.errors import EmulatedError
from apillon_mcp.emulator.records import CloudFunction, File, Job

Row = TypeVar("Row", CloudFunction, Job, File)
Params = Mapping[str, Sequence[str]]
DEFAULT_LIMIT = 20

# MySQL column names are case-insensitive; anything else is an unknown column and the SQL fails.
FUNCTION_COLUMNS: dict[str, Callable[[CloudFunction], object]] = {
    "id": lambda row: row.id,
    "function_uuid": lambda row: row.function_uuid,
    "project_uuid": lambda row: row.project_uuid,
    "bucket_uuid": lambda row: row.bucket_uuid,
    "name": lambda row: row.name,
    "description": lambda row: row.description,
    "activejob_id": lambda row: row.active_job_id,
    "status": lambda row: row.status,
    "createtime": lambda row: row.create_time,
    "updatetime": lambda row: row.update_time,
    "createuser": lambda row: None,
    "updateuser": lambda row: None,
    "encrypted_variables": lambda row: None,
}
JOB_COLUMNS: dict[str, Callable[[Job], object]] = {
    "id": lambda row: row.id,
    "job_uuid": lambda row: row.job_uuid,
    "project_uuid": lambda row: row.project_uuid,
    "function_uuid": lambda row: row.function_uuid,
    "status": lambda row: row.status,
    "name": lambda row: row.name,
    "description": lambda row: None,
    "scriptcid": lambda row: row.script_cid,
    "slots": lambda row: row.slots,
    "jobstatus": lambda row: row.job_status,
    "jobid": lambda row: row.job_id,
    "account": lambda row: None,
    "publickey": lambda row: None,
    # startTime and endTime sit a fixed offset after createTime, so they sort the same way.
    "starttime": lambda row: row.create_time,
    "endtime": lambda row: row.create_time,
    "transactionhash": lambda row: None,
    "deployeraddress": lambda row: None,
    "createtime": lambda row: row.create_time,
    "updatetime": lambda row: row.update_time,
    "createuser": lambda row: None,
    "updateuser": lambda row: None,
}

FILE_COLUMNS: dict[str, Callable[[File], object]] = {
    "id": lambda row: row.id,
    "file_uuid": lambda row: row.file_uuid,
    "project_uuid": lambda row: row.project_uuid,
    "bucket_id": lambda row: row.bucket_uuid,
    "directory_id": lambda row: None,
    "session_id": lambda row: row.session_uuid,
    "cid": lambda row: row.cid_v0 if row.published else None,
    "cidv1": lambda row: row.cid_v1 if row.published else None,
    "name": lambda row: row.name,
    "contenttype": lambda row: row.content_type,
    "path": lambda row: row.path,
    "size": lambda row: len(row.content),
    "filestatus": lambda row: row.file_status,
    "s3filekey": lambda row: f"{row.path or ''}{row.name}",
    "status": lambda row: row.status,
    "createtime": lambda row: row.create_time,
    "updatetime": lambda row: row.update_time,
    "createuser": lambda row: None,
    "updateuser": lambda row: None,
}


@dataclass(frozen=True)
class ListQuery:
    """Parsed list parameters. `page` is echoed back as given (0 included); `offset` treats 0 as page 1."""

    page: int = 1
    limit: int = DEFAULT_LIMIT
    search: str | None = None
    status: int | None = None
    job_status: int | None = None
    order_by: tuple[str, ...] = ()
    desc: tuple[bool, ...] = ()

    @property
    def offset(self) -> int:
        return (max(self.page, 1) - 1) * self.limit


def parse_list_query(params: Params) -> ListQuery:
    def first(name: str) -> str | None:
        values = params.get(name)
        return values[0] if values else None

    page = js_integer(first("page"))
    limit = js_integer(first("limit"))
    return ListQuery(
        page=1 if page is None or page < 0 else page,
        limit=DEFAULT_LIMIT if limit is None or limit < 1 else limit,
        search=first("search"),
        status=js_integer(first("status")),
        job_status=js_integer(first("jobStatus")),
        order_by=tuple(params.get("orderBy", ())),
        desc=tuple(value == "true" for value in params.get("desc", ())),
    )


def name_like(name: str, search: str | None) -> bool:
    """`name LIKE CONCAT('%', search, '%')` under a case-insensitive collation; `%` and `_` stay wildcards."""
    if search is None:
        return True
    pattern, escaped = [], False
    for char in search:
        if escaped:
            pattern.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            pattern.append({"%": ".*", "_": "."}.get(char) or re.escape(char))
    return re.search("".join(pattern), name, re.IGNORECASE | re.DOTALL) is not None


def sort_and_page(rows: list[Row], query: ListQuery, columns: Mapping[str, Callable[[Row], object]]) -> list[Row]:
    """Order by the requested columns (NULLs first ascending, as MySQL does), then cut out the page."""
    ordered = sorted(rows, key=lambda row: row.id)
    for index in reversed(range(len(query.order_by))):
        column = columns.get(query.order_by[index].lower())
        if column is None:
            raise EmulatedError.unhandled(500)
        descending = index < len(query.desc) and query.desc[index]
        ordered.sort(key=_by(column), reverse=descending)
    return ordered[query.offset : query.offset + query.limit]


def _by(column: Callable[[Row], object]) -> Callable[[Row], tuple[int, str | int | float | datetime]]:
    return lambda row: _sort_key(column(row))


def _sort_key(value: object) -> tuple[int, str | int | float | datetime]:
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (1, value.casefold())
    if isinstance(value, int | float | datetime):
        return (1, value)
    return (1, str(value))
