"""Collections over the sandbox's tables, for the emulator and for tests: every access reads the current rows.

What they hand out are copies: changing one changes nothing stored (`EmulatorState.edit_function` and
`edit_job` do that for tests).
"""

import sqlite3
from collections.abc import Callable, ItemsView, Iterator, Mapping, MutableMapping, Sequence, ValuesView
from contextlib import AbstractContextManager
from typing import Generic, TypeVar, overload

from apillon_mcp.emulator.faults import Fault
from apillon_mcp.emulator.records import CachedJob
from apillon_mcp.emulator.tables import FAULTS, JOBS, Table, micros, moment

Row = TypeVar("Row")
Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]


class RowsView(Mapping[str, Row], Generic[Row]):
    """A table's rows by key, in insertion order."""

    def __init__(self, table: Table[Row], transaction: Transaction) -> None:
        self._table = table
        self._transaction = transaction

    @property
    def key_field(self) -> str:
        return self._table.key

    def __getitem__(self, key: str) -> Row:
        with self._transaction() as db:
            row = self._table.get(db, key)
        if row is None:
            raise KeyError(key)
        return row

    def __iter__(self) -> Iterator[str]:
        with self._transaction() as db:
            return iter(self._table.keys(db))

    def __len__(self) -> int:
        with self._transaction() as db:
            return self._table.count(db)

    def values(self) -> ValuesView[Row]:
        return _Values(self)

    def items(self) -> ItemsView[str, Row]:
        return _Items(self)

    def rows(self) -> list[Row]:
        """Every row, in one query."""
        with self._transaction() as db:
            return self._table.select(db)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class _Values(ValuesView[Row]):
    """The values in one query, not one per key."""

    _mapping: RowsView[Row]

    def __iter__(self) -> Iterator[Row]:
        return iter(self._mapping.rows())


class _Items(ItemsView[str, Row]):
    _mapping: RowsView[Row]

    def __iter__(self) -> Iterator[tuple[str, Row]]:
        key = self._mapping.key_field
        return iter([(getattr(row, key), row) for row in self._mapping.rows()])


class FaultQueue(Sequence[Fault]):
    """The injected faults waiting for requests, in the order they were added."""

    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction

    def append(self, fault: Fault) -> None:
        with self._transaction() as db:
            FAULTS.insert(db, fault)

    def clear(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM faults")

    def take(self, method: str, path: str) -> Fault | None:
        """Use up one of the first pending fault that matches, if any; the fault as it was before."""
        with self._transaction() as db:
            for rowid, fault in self._numbered(db):
                if fault.matches(method, path):
                    if fault.times > 1:
                        db.execute("UPDATE faults SET times = times - 1 WHERE rowid = ?", (rowid,))
                    else:
                        db.execute("DELETE FROM faults WHERE rowid = ?", (rowid,))
                    return fault
        return None

    @overload
    def __getitem__(self, index: int) -> Fault: ...

    @overload
    def __getitem__(self, index: slice) -> list[Fault]: ...

    def __getitem__(self, index: int | slice) -> Fault | list[Fault]:
        return self._all()[index]

    def __len__(self) -> int:
        with self._transaction() as db:
            return FAULTS.count(db)

    def __iter__(self) -> Iterator[Fault]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FaultQueue | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._all())

    def _all(self) -> list[Fault]:
        with self._transaction() as db:
            return [fault for _, fault in self._numbered(db)]

    def _numbered(self, db: sqlite3.Connection) -> list[tuple[int, Fault]]:
        found = db.execute(f"SELECT rowid, {FAULTS.columns} FROM faults ORDER BY rowid").fetchall()
        return [(values[0], FAULTS.load(values[1:])) for values in found]


class GatewayCache(MutableMapping[str, CachedJob]):
    """The gateway's function → job resolutions; an entry gives the job as it is now, until `expires`."""

    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction

    def __getitem__(self, function_uuid: str) -> CachedJob:
        with self._transaction() as db:
            entry = db.execute(
                "SELECT job_uuid, expires FROM gateway_cache WHERE function_uuid = ?", (function_uuid,)
            ).fetchone()
            job = None if entry is None else JOBS.get(db, entry[0])
        if entry is None or job is None:
            raise KeyError(function_uuid)
        return CachedJob(job, moment(entry[1]))

    def __setitem__(self, function_uuid: str, cached: CachedJob) -> None:
        with self._transaction() as db:
            db.execute(
                """INSERT INTO gateway_cache (function_uuid, job_uuid, expires) VALUES (?, ?, ?)
                ON CONFLICT (function_uuid) DO UPDATE SET job_uuid = excluded.job_uuid, expires = excluded.expires""",
                (function_uuid, cached.job.job_uuid, micros(cached.expires)),
            )

    def __delitem__(self, function_uuid: str) -> None:
        with self._transaction() as db:
            deleted = db.execute("DELETE FROM gateway_cache WHERE function_uuid = ?", (function_uuid,)).rowcount
        if not deleted:
            raise KeyError(function_uuid)

    def __iter__(self) -> Iterator[str]:
        with self._transaction() as db:
            return iter([key for (key,) in db.execute("SELECT function_uuid FROM gateway_cache ORDER BY rowid")])

    def __len__(self) -> int:
        with self._transaction() as db:
            count: int = db.execute("SELECT count(*) FROM gateway_cache").fetchone()[0]
            return count
