"""List queries (apillon-api.md §4) as SQL: the parameter quirks, `LIKE` search, ORDER BY DB column names, paging.

Search is the backend's `name LIKE CONCAT('%', search, '%')` under a case-insensitive collation: `%` and `_` are
wildcards, `\\` escapes the next character. SQLite's LIKE never backtracks more than once per wildcard (a failed
`%` gives up the whole match), so no pattern costs more than about the name's length times the pattern's.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from apillon_mcp.emulator.coercion import js_integer
from apillon_mcp.emulator.errors import EmulatedError
from apillon_mcp.emulator.records import JobStatus, RecordStatus
from apillon_mcp.emulator.tables import fold

Params = Mapping[str, Sequence[str]]
DEFAULT_LIMIT = 20
_LARGEST = 2**63 - 1  # SQLite's integers
LIKE_PATTERN_LIMIT = 50_000
"""SQLite refuses longer LIKE patterns (in bytes); a longer search, once its runs of `%` are merged, can match
no stored name, as none is that long."""

# MySQL column names are case-insensitive; anything else is an unknown column and the SQL fails. Text sorts as the
# case-insensitive collation does; columns the emulator does not keep sort as NULL.
FUNCTION_COLUMNS = {
    "id": "id",
    "function_uuid": "function_uuid",
    "project_uuid": "project_uuid",
    "bucket_uuid": "bucket_uuid",
    "name": "name_folded",
    "description": "description COLLATE NOCASE",
    "activejob_id": "active_job_id",
    "status": "status",
    "createtime": "create_time",
    "updatetime": "update_time",
    "createuser": "NULL",
    "updateuser": "NULL",
    "encrypted_variables": "NULL",
}
# The job table has lost its `description` and `startTime` columns (apillon-api.md, Corrections 10).
JOB_COLUMNS = {
    "id": "id",
    "job_uuid": "job_uuid",
    "project_uuid": "project_uuid",
    "function_uuid": "function_uuid",
    "status": "status",
    "name": "name_folded",
    "scriptcid": "script_cid COLLATE NOCASE",
    "slots": "slots",
    "jobstatus": "job_status",
    "jobid": "job_id",
    "account": "NULL",
    "publickey": "NULL",
    "endtime": "create_time",  # a fixed three months after createTime, so it sorts the same way
    "transactionhash": "NULL",
    "deployeraddress": "NULL",
    "createtime": "create_time",
    "updatetime": "update_time",
    "createuser": "NULL",
    "updateuser": "NULL",
}
FILE_COLUMNS = {
    "id": "id",
    "file_uuid": "file_uuid",
    "project_uuid": "project_uuid",
    "bucket_id": "bucket_uuid",
    "directory_id": "NULL",
    "session_id": "session_uuid",
    "cid": "(CASE WHEN file_status >= 3 THEN cid_v0 END)",
    "cidv1": "(CASE WHEN file_status >= 3 THEN cid_v1 END)",
    "name": "name_folded",
    "contenttype": "content_type COLLATE NOCASE",
    "path": "path COLLATE NOCASE",
    "size": "length(content)",
    "filestatus": "file_status",
    "s3filekey": "(coalesce(path, '') || name) COLLATE NOCASE",
    "status": "status",
    "createtime": "create_time",
    "updatetime": "update_time",
    "createuser": "NULL",
    "updateuser": "NULL",
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


@dataclass
class Where:
    """A WHERE clause built up condition by condition, with its parameters."""

    conditions: list[str] = field(default_factory=list)
    parameters: list[object] = field(default_factory=list)

    def add(self, condition: str, *parameters: object) -> "Where":
        self.conditions.append(condition)
        self.parameters.extend(parameters)
        return self

    def search(self, folded_column: str, search: str | None, *, or_equal: tuple[str, ...] = ()) -> "Where":
        """`folded_column` LIKE the search (or one of the `or_equal` columns equal to it), when there is one."""
        if search is None:
            return self
        pattern = like_pattern(search)
        alternatives = [f"{column} = ?" for column in or_equal]
        if pattern is not None:
            alternatives.insert(0, f"{folded_column} LIKE ? ESCAPE '\\'")
        if not alternatives:
            return self.add("0")
        values = ([pattern] if pattern is not None else []) + [search] * len(or_equal)
        return self.add(f"({' OR '.join(alternatives)})", *values)

    def record_status(self, wanted: int | None) -> "Where":
        """The record status asked for; by default any but archived and deleted."""
        if wanted is None:
            return self.add(f"status NOT IN ({RecordStatus.ARCHIVED}, {RecordStatus.DELETED})")
        return self.equals("status", wanted)

    def job_status(self, wanted: int | None) -> "Where":
        """The job status asked for; by default any but deleted."""
        if wanted is None:
            return self.add(f"job_status != {JobStatus.DELETED}")
        return self.equals("job_status", wanted)

    def equals(self, column: str, value: int) -> "Where":
        return self.add(f"{column} = ?", value) if abs(value) <= _LARGEST else self.add("0")

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions) or "1"


def like_pattern(search: str) -> str | None:
    """The LIKE pattern for a search, folded as the names it is compared with; None when it can match nothing."""
    pattern = _merge_any_runs(f"%{fold(search)}%")
    return pattern if len(pattern.encode()) <= LIKE_PATTERN_LIMIT else None


def _merge_any_runs(pattern: str) -> str:
    """`%%` matches what `%` matches; an escaped `\\%` is a literal and stays."""
    merged: list[str] = []
    escaped = after_any = False
    for char in pattern:
        any_run = char == "%" and not escaped
        if not (any_run and after_any):
            merged.append(char)
        after_any = any_run
        escaped = not escaped and char == "\\"
    return "".join(merged)


def order_and_page(
    query: ListQuery, columns: Mapping[str, str], *, default: str = "id ASC"
) -> tuple[str, list[object]]:
    """`ORDER BY … LIMIT ? OFFSET ?` and its parameters: the requested columns (NULLs first ascending, as MySQL
    does) or, when none is asked for, `default`; creation order among equals; an unknown column fails as the
    backend's SQL does."""
    terms = [] if query.order_by else [default]
    for index, name in enumerate(query.order_by):
        column = columns.get(name.lower())
        if column is None:
            raise EmulatedError.unhandled(500)
        descending = index < len(query.desc) and query.desc[index]
        terms.append(f"{column} {'DESC' if descending else 'ASC'}")
    terms.append("id ASC")
    offset = query.offset
    if offset > _LARGEST:
        return f"ORDER BY {', '.join(terms)} LIMIT 0", []
    return f"ORDER BY {', '.join(terms)} LIMIT ? OFFSET ?", [min(query.limit, _LARGEST), offset]
