"""The sandbox from the command line: `sandbox top-up`, and state files that stop every command with one line."""

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from apillon_mcp.__main__ import main
from apillon_mcp.emulator import DEFAULT_PROJECT_UUID, open_state

STATE_FORMAT = "apillon-mcp emulator state"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No APILLON_* variable of the shell, and a per-user data directory of the test's own."""
    for name in ("APILLON_API_KEY", "APILLON_API_SECRET", "APILLON_EMULATOR", "APILLON_EMULATOR_STATE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr("sys.platform", "linux")


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("apillon-mcp: ") and "Traceback" not in captured.err + captured.out
    return lines[0]


def test_top_up_adds_credits_that_a_server_running_on_the_file_sees_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sandbox.sqlite3"
    running = open_state(path)

    code = main(["sandbox", "top-up", "500", "--emulator-state", str(path)])

    assert code == 0
    assert capsys.readouterr().out == f"Added 500 credits to the sandbox in {path}: the balance is 1500 credits.\n"
    assert running.credit_balance(DEFAULT_PROJECT_UUID) == 1500


def test_top_up_uses_the_file_apillon_mcp_emulator_uses_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["sandbox", "top-up", "20"]) == 0
    monkeypatch.setenv("APILLON_EMULATOR_STATE", str(tmp_path / "elsewhere.sqlite3"))
    assert main(["sandbox", "top-up", "30"]) == 0

    assert (
        open_state(tmp_path / "data" / "apillon-mcp" / "sandbox.sqlite3").credit_balance(DEFAULT_PROJECT_UUID) == 1020
    )
    assert open_state(tmp_path / "elsewhere.sqlite3").credit_balance(DEFAULT_PROJECT_UUID) == 1030
    assert "the balance is 1030 credits" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (["0"], "whole number above 0"),
        (["-5"], "whole number above 0"),
        (["999999001"], "would pass 1000000000 credits"),
        (["5", "--emulator-state", ":memory:"], "in memory"),
    ],
)
def test_a_top_up_that_cannot_be_done_exits_2_with_one_line_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], reason: str
) -> None:
    path = tmp_path / "data" / "apillon-mcp" / "sandbox.sqlite3"

    code = main(["sandbox", "top-up", *arguments])

    assert code == 2
    assert reason in one_line_error(capsys)
    assert not path.exists() or open_state(path).credit_balance(DEFAULT_PROJECT_UUID) == 1000


def json_state(**fields: object) -> bytes:
    return json.dumps({"format": STATE_FORMAT, "version": 1, "clock_offset_seconds": 0, **fields}).encode()


def sandbox_database(path: Path, *statements: str) -> None:
    open_state(path).close()
    with closing(sqlite3.connect(path)) as raw:
        for statement in statements:
            raw.execute(statement)
        raw.commit()


def overwritten_pages(path: Path) -> None:
    state = open_state(path)
    for n in range(50):
        state.create_function(f"f{n}")
    state.close()
    data = bytearray(path.read_bytes())
    data[4096:12288] = b"\xff" * 8192
    path.write_bytes(bytes(data))


def other_programs_database(path: Path) -> None:
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("CREATE TABLE notes (text TEXT)")


HOSTILE: dict[str, tuple[str, Callable[[Path], object]]] = {
    "a NaN clock": ("state.json", lambda path: path.write_bytes(json_state().replace(b'": 0}', b'": NaN}'))),
    "deeply nested JSON": ("state.json", lambda path: path.write_bytes(b"[" * 100_000 + b"]" * 100_000)),
    "wrong types": ("state.json", lambda path: path.write_bytes(json_state(next_chain_job_id="1001"))),
    "a newer JSON version": ("state.json", lambda path: path.write_bytes(json_state(version=2))),
    "a newer schema": ("sandbox.sqlite3", lambda path: sandbox_database(path, "PRAGMA user_version = 99")),
    "another program's SQLite file": ("sandbox.sqlite3", other_programs_database),
    "a corrupt SQLite file": ("sandbox.sqlite3", overwritten_pages),
}
COMMANDS = {
    "stdio server": ["--emulator", "--emulator-state", "{path}"],
    "standalone emulator": ["emulator", "--port", "0", "--state", "{path}"],
    "doctor": ["doctor", "--emulator", "--emulator-state", "{path}"],
    "top-up": ["sandbox", "top-up", "5", "--emulator-state", "{path}"],
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize(("name", "damage"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_or_damaged_state_file_exits_2_with_one_line_naming_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    name: str,
    damage: Callable[[Path], object],
) -> None:
    path = tmp_path / name
    damage(path)
    before = path.read_bytes()

    code = main([part.format(path=path) for part in command])

    assert code == 2
    assert str(path) in one_line_error(capsys)
    assert path.read_bytes() == before


@pytest.mark.parametrize("command", [COMMANDS["stdio server"], COMMANDS["standalone emulator"], COMMANDS["top-up"]])
def test_an_unwritable_state_path_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    (tmp_path / "blocker").write_text("a file where a directory should be")
    path = tmp_path / "blocker" / "sandbox.sqlite3"

    code = main([part.format(path=path) for part in command])

    assert code == 2
    assert "cannot create or write the sandbox state file" in one_line_error(capsys)


def test_top_up_on_a_sandbox_locked_too_long_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sandbox.sqlite3"
    open_state(path).close()
    monkeypatch.setattr("apillon_mcp.emulator.database.BUSY_SECONDS", 0.0)  # how long it waits for the lock

    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        code = main(["sandbox", "top-up", "100", "--emulator-state", str(path)])
        holder.execute("ROLLBACK")

    assert code == 2
    assert (
        one_line_error(capsys) == f"apillon-mcp: cannot open or write the sandbox state file {path}: database is locked"
    )
