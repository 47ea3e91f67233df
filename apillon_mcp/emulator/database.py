"""The SQLite database a sandbox lives in: opening and checking the file, and one transaction per operation.

A file is opened in WAL mode, so readers never wait for the one writer and several processes can share it; each
transaction starts with `BEGIN IMMEDIATE`, so concurrent writers queue (up to `BUSY_SECONDS`) instead of failing.
`synchronous=NORMAL`: a commit survives the process crashing; a power cut may lose the last commits, never the
file. The file and SQLite's `-wal` and `-shm` files beside it are readable by their owner only (SQLite gives those
the database file's mode).
"""

import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apillon_mcp.emulator import schema
from apillon_mcp.emulator.clock import LATEST

BUSY_SECONDS = 10.0
OWNER_ONLY = 0o600
SQLITE_HEADER = b"SQLite format 3\x00"
MEMORY = ":memory:"
_RESET_HINT = "Delete it, or start the sandbox from scratch with --emulator-reset (apillon-mcp emulator: --reset)."


class StateFileError(Exception):
    """A state file that cannot be opened, read or written; the message names the file and fits one line.

    `replaceable`: the file is a damaged sandbox (or one from a newer version), which starting from scratch may
    replace; a database of another program never is.
    """

    def __init__(self, message: str, *, replaceable: bool = False) -> None:
        super().__init__(message)
        self.replaceable = replaceable


class Database:
    """One connection to a sandbox database, used by one state; every state operation is one `transaction()`.

    `path` is the file, or None for a database in memory.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self._connection = connection
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0

    @classmethod
    def in_memory(cls) -> "Database":
        connection = _connect(MEMORY)
        with _TEMPLATE_LOCK:
            _empty_template().backup(connection)  # ten times faster than creating the tables again
        return cls(connection, None)

    @classmethod
    def open(cls, path: Path) -> "Database":
        """The sandbox database in `path`, created (with its directory) when missing; StateFileError when the file
        is not a sandbox, is damaged, comes from a newer apillon-mcp, or cannot be created or written."""
        _create_file(path)
        try:
            connection = _connect(str(path))
        except sqlite3.Error as error:
            raise _file_error(path, error) from error
        try:
            connection.execute("BEGIN IMMEDIATE")
            if _is_empty(connection):
                _create_schema(connection)
            else:
                _check(connection, path)
            connection.execute("COMMIT")
            # Only once the file is known to be a sandbox: these change the file, as does tightening its mode.
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            _owner_only(path)
        except BaseException as error:
            connection.close()
            if isinstance(error, sqlite3.Error):
                raise _file_error(path, error) from error
            raise
        return cls(connection, path)

    @classmethod
    def copy_of(cls, path: Path) -> "Database":
        """The content of the sandbox database in `path`, in memory: the file is checked and read, never written."""
        try:
            with path.open("rb") as file:
                header = file.read(len(SQLITE_HEADER))
        except OSError as error:
            raise StateFileError(f"cannot read the sandbox state file {path}: {error.strerror or error}") from None
        _check_header(path, header)
        if not header:  # created, never written: a new sandbox
            return cls.in_memory()
        try:
            with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as source:
                source.execute("BEGIN")
                _check(source, path)
                source.execute("COMMIT")
                memory = _connect(MEMORY)
                source.backup(memory)
        except sqlite3.Error as error:
            raise _file_error(path, error) from error
        return cls(memory, None)

    @contextmanager
    def transaction(self, on_begin: Callable[[sqlite3.Connection], None] | None = None) -> Iterator[sqlite3.Connection]:
        """The connection inside one write transaction, committed when the block ends and rolled back when it
        raises. A transaction opened inside another joins it; `on_begin` runs first in a new one only."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._connection
                finally:
                    self._depth -= 1
                return
            self._connection.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                if on_begin is not None:
                    on_begin(self._connection)
                yield self._connection
                self._connection.execute("COMMIT")
            except BaseException:
                self._connection.rollback()
                raise
            finally:
                self._depth = 0

    def read_one(self, sql: str, parameters: Sequence[object] = ()) -> tuple[Any, ...]:
        """The first row `sql` finds, read inside the current transaction if one is open, else on its own."""
        with self._lock:
            row: tuple[Any, ...] = self._connection.execute(sql, parameters).fetchone()
            return row

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def _connect(target: str) -> sqlite3.Connection:
    # Autocommit mode: transactions are begun explicitly, never implicitly by the module.
    connection = sqlite3.connect(target, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
    if sqlite3.sqlite_version_info < schema.MINIMUM_SQLITE:
        connection.close()
        needed = ".".join(map(str, schema.MINIMUM_SQLITE))
        raise StateFileError(
            f"the sandbox needs SQLite {needed} or newer, and this Python has SQLite {sqlite3.sqlite_version}"
        )
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def _create_file(path: Path) -> None:
    """Make sure `path` exists (a new file readable by its owner only) and may be a sandbox database."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, OWNER_ONLY)
        try:
            header = os.read(descriptor, len(SQLITE_HEADER))
        finally:
            os.close(descriptor)
    except OSError as error:
        reason = error.strerror or error
        raise StateFileError(f"cannot create or write the sandbox state file {path}: {reason}") from None
    _check_header(path, header)


def _owner_only(path: Path) -> None:
    """Tighten a sandbox file (and SQLite's files beside it, which it gives the same mode) that others may read."""
    if os.name == "nt":
        return
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with suppress(OSError):  # missing, or not ours to change: SQLite still works
            if file.stat().st_mode & 0o077:
                file.chmod(OWNER_ONLY)


def _check_header(path: Path, header: bytes) -> None:
    if header and header != SQLITE_HEADER:
        raise StateFileError(
            f"the sandbox state file {path} is neither a sandbox database nor a JSON state. {_RESET_HINT}",
            replaceable=True,
        )


def _is_empty(connection: sqlite3.Connection) -> bool:
    objects: int = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    return objects == 0


def _create_schema(connection: sqlite3.Connection) -> None:
    connection.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    connection.execute(f"PRAGMA user_version = {schema.VERSION}")
    for statement in schema.TABLES.split(";"):
        if statement.strip():
            connection.execute(statement)


_TEMPLATE_LOCK = threading.Lock()


@functools.cache
def _empty_template() -> sqlite3.Connection:
    connection = _connect(MEMORY)
    _create_schema(connection)
    return connection


@functools.cache
def _expected_schema() -> list[tuple[str, str, str | None]]:
    with closing(sqlite3.connect(MEMORY)) as connection:
        _create_schema(connection)
        return _schema_of(connection)


def _schema_of(connection: sqlite3.Connection) -> list[tuple[str, str, str | None]]:
    rows = connection.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    return [(kind, name, sql) for kind, name, sql in rows]


def _check(connection: sqlite3.Connection, path: Path) -> None:
    """Refuse a file that is not this version's sandbox, or whose content SQLite finds damaged."""
    if _is_empty(connection):
        raise _damaged(path, "it holds no tables")
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    if application_id != schema.APPLICATION_ID:
        raise StateFileError(
            f"{path} is a SQLite database of another program, not an apillon-mcp sandbox: choose another state file"
        )
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > schema.VERSION:
        raise StateFileError(
            f"the sandbox state file {path} comes from a newer apillon-mcp (schema {version}; this one reads "
            f"{schema.VERSION}): upgrade apillon-mcp, or use another state file",
            replaceable=True,
        )
    if version != schema.VERSION or _schema_of(connection) != _expected_schema():
        raise _damaged(path, "its tables are not the ones apillon-mcp makes")
    problems = [row[0] for row in connection.execute("PRAGMA quick_check(3)").fetchall()]
    if problems != ["ok"]:
        raise _damaged(path, "; ".join(problems))
    _check_meta(connection, path)


def _check_meta(connection: sqlite3.Connection, path: Path) -> None:
    row = connection.execute("SELECT clock_offset_us FROM meta").fetchone()
    if row is not None and row[0] > (LATEST - datetime.now(UTC)) // timedelta(microseconds=1):
        raise _damaged(path, f"its clock runs past {LATEST.date().isoformat()}")


def _damaged(path: Path, reason: str) -> StateFileError:
    return StateFileError(f"the sandbox state file {path} is damaged ({reason}). {_RESET_HINT}", replaceable=True)


def _file_error(path: Path, error: sqlite3.Error) -> StateFileError:
    if isinstance(error, sqlite3.OperationalError):  # the file cannot be used now, which says nothing of its content
        return StateFileError(f"cannot open or write the sandbox state file {path}: {error}")
    if isinstance(error, sqlite3.DatabaseError):
        return _damaged(path, str(error))
    return StateFileError(f"cannot open the sandbox state file {path}: {error}")
