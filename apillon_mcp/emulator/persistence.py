"""Where a sandbox lives on disk: the per-user default file, state files of older versions, opening one.

A sandbox is one SQLite database (`database`). Every change is committed before its response is sent, and
every process serving the same file (stdio servers, `apillon-mcp emulator`) reads the current rows on every
request, so they share one sandbox and lose nothing.

Older versions kept the sandbox in a JSON file. A path ending in `.json` (or a file holding JSON) names such a
state: the sandbox then lives in the `.sqlite3` file beside it, into which the JSON state is imported once, the
first time; the JSON file itself is left as it was. The old default file, `emulator-state.json` in the same
directory as the new default, is imported into the new default the same way.
"""

from contextlib import suppress
from pathlib import Path

from apillon_mcp.emulator.clock import Clock
from apillon_mcp.emulator.database import Database, StateFileError
from apillon_mcp.emulator.json_import import JsonStateError, import_json_state
from apillon_mcp.emulator.state import EmulatorState

APP_DIRECTORY = "apillon-mcp"
STATE_FILE_NAME = "sandbox.sqlite3"
LEGACY_STATE_FILE_NAME = "emulator-state.json"
DATABASE_SUFFIX = ".sqlite3"

__all__ = ["StateFileError", "database_path", "default_state_path", "open_state"]


def default_state_path() -> Path:
    """The per-user data file, in the platform's per-user data directory (`platformdirs.user_data_dir`)."""
    import platformdirs  # imported on first use: a server given its state file never needs it

    return Path(platformdirs.user_data_dir(APP_DIRECTORY, appauthor=False)) / STATE_FILE_NAME


def database_path(path: Path) -> Path:
    """The database file a state path names: the path itself, or for a JSON state the `.sqlite3` file beside it."""
    if not _names_json_state(path):
        return path
    if path.suffix.lower() == ".json":
        return path.with_suffix(DATABASE_SUFFIX)
    return path.with_name(path.name + DATABASE_SUFFIX)


def open_state(
    path: Path | None, *, reset: bool = False, clock: Clock | None = None, read_only: bool = False
) -> EmulatorState:
    """The sandbox kept at `path` (see `database_path`), created when missing; in memory when `path` is None.

    `reset` empties it (a damaged file is replaced; a database of another program never is). `read_only` works on
    a copy in memory: the file is read, never created or written. A state opened from a file runs, without a
    `clock`, on a `SystemClock` whose offset the file keeps. Raises `StateFileError`, with one line naming the
    file and the fix, when the sandbox cannot be opened.
    """
    if path is None:
        return EmulatorState(clock=clock)
    target = database_path(path)
    legacy = None if reset else _legacy_state(path, target)
    new = not target.exists()
    if read_only:
        database = Database.copy_of(target) if target.is_file() else Database.in_memory()
    else:
        database = _open(target, reset)
    try:
        if legacy is not None:
            _import(database, legacy)
        state = EmulatorState(clock=clock, database=database)
        if reset:
            state.reset()
    except BaseException:
        database.close()
        if new and not read_only:  # leave no empty sandbox behind a failed first start
            _remove(target)
        raise
    return state


def _names_json_state(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    try:
        with path.open("rb") as file:
            return file.read(64).lstrip().startswith(b"{")
    except OSError:  # missing, a directory, unreadable: not a JSON state; opening the database will say more
        return False


def _legacy_state(path: Path, target: Path) -> Path | None:
    """The JSON state to import into `target` when it is new: `path` itself, or the old default file."""
    if target != path:
        return path if path.is_file() else None
    if path == default_state_path():
        legacy = path.with_name(LEGACY_STATE_FILE_NAME)
        return legacy if legacy.is_file() else None
    return None


def _open(target: Path, reset: bool) -> Database:
    try:
        return Database.open(target)
    except StateFileError as error:
        if not (reset and error.replaceable):
            raise
    _remove(target)
    return Database.open(target)


def _remove(target: Path) -> None:
    """Delete a sandbox file and SQLite's files beside it."""
    for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        with suppress(FileNotFoundError):
            leftover.unlink()


def _import(database: Database, legacy: Path) -> None:
    """Import the JSON state at `legacy` if the database holds no sandbox yet, all or nothing."""
    with database.transaction() as db:
        if db.execute("SELECT count(*) FROM meta").fetchone()[0]:
            return
        try:
            import_json_state(db, legacy.read_bytes())
        except OSError as error:
            raise StateFileError(f"cannot read the emulator state file {legacy}: {error.strerror or error}") from error
        except JsonStateError as error:
            raise StateFileError(
                f"the emulator state file {legacy} cannot be imported ({error}). Move it away, or start the sandbox "
                "from scratch with --emulator-reset (apillon-mcp emulator: --reset); the file is left as it is."
            ) from error
