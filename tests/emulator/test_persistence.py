"""A sandbox in a SQLite file: kept across restarts, shared by processes, refused when hostile or damaged."""

import base64
import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager, closing
from datetime import timedelta
from pathlib import Path

import anyio
import httpx2
import pytest

from apillon_mcp.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_PROJECT_UUID,
    EmulatorState,
    FileStatus,
    JobStatus,
    ManualClock,
    Role,
    Service,
    StateFileError,
    SystemClock,
    create_emulator,
    database_path,
    default_state_path,
    open_state,
)
from apillon_mcp.emulator.database import Database
from apillon_mcp.emulator.faults import Fault
from apillon_mcp.emulator.json_import import VERSION
from apillon_mcp.unixfs import file_cids

from support import NO_AUTH

pytestmark = pytest.mark.anyio

OTHER_PROJECT = "c0ffee00-1234-4abc-8def-0123456789ab"
READER_KEY, READER_SECRET = "0b8d5c1e-7a2f-4e6b-9d3c-5f1a8e2b7c40", "Zx9!Qw3#Er5%"
SCRIPT = b"_STD_.ws.open([], () => {}, () => {});\n"
WRITER = Path(__file__).with_name("sandbox_writer.py")


@asynccontextmanager
async def serving(state: EmulatorState) -> AsyncGenerator[httpx2.AsyncClient, None]:
    """HTTP with the default key to the emulator serving `state`."""
    transport = httpx2.ASGITransport(app=create_emulator(state))
    auth = (DEFAULT_API_KEY, DEFAULT_API_SECRET)
    async with httpx2.AsyncClient(transport=transport, base_url="http://emulator", auth=auth) as http:
        yield http


async def upload_script(http: httpx2.AsyncClient, bucket_uuid: str, content: bytes = SCRIPT) -> str:
    """The SDK's flow: link by CID, request a URL, PUT the bytes, end the session; the CIDv1."""
    cid = file_cids(content).v1
    assert (await http.post("/storage/link-on-ipfs-multiple", json={"cids": [cid]})).status_code == 201
    answer = (await http.post(f"/storage/buckets/{bucket_uuid}/upload", json={"files": [{"fileName": "a.js"}]})).json()
    assert (await http.put(answer["data"]["files"][0]["url"], content=content, auth=NO_AUTH)).status_code == 200
    ended = await http.post(f"/storage/buckets/{bucket_uuid}/upload/{answer['data']['sessionUuid']}/end")
    assert ended.status_code == 200
    return cid


def names(state: EmulatorState) -> list[str]:
    return [function.name for function in state.functions.values()]


async def test_a_sandbox_on_a_file_holds_every_kind_of_row_after_a_restart(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "sandbox.sqlite3"
    state = open_state(path, clock=clock)
    state.add_api_key(READER_KEY, READER_SECRET, [(Role.READ, Service.COMPUTING)], project_uuid=OTHER_PROJECT)
    state.set_credit_balance(OTHER_PROJECT, 7)
    function = state.create_function("matched", "serves its gateway")
    stored = state.store_file(function.bucket_uuid, "index.js", SCRIPT, path="src", content_type="text/javascript")
    state.create_job(function.function_uuid, "old", stored.cid_v1, slots=3)
    clock.advance(30)
    variables: list[dict[str, object]] = [
        {"key": "A", "value": "1"},
        {"key": "NESTED", "value": {"list": [1, 2.5, None, True]}},
    ]
    state.set_environment(function.function_uuid, variables, project_uuid=DEFAULT_PROJECT_UUID)
    state.create_job(function.function_uuid, "deploying", stored.cid_v0)
    deleted = state.create_job(function.function_uuid, "deleted", stored.cid_v0)
    state.delete_job(deleted.job_uuid, project_uuid=DEFAULT_PROJECT_UUID)
    state.faults.append(Fault(path="/cloud-functions/*", method="GET", status=503, body={"down": True}, times=2))
    clock.advance(12)
    before = (
        dict(state.functions),
        dict(state.jobs),
        dict(state.files),
        dict(state.storage.sessions),
        dict(state.storage.uploads),
        dict(state.api_keys),
        dict(state.projects),
        list(state.faults),
        state.storage.signing_key,
    )
    state.close()

    reloaded = open_state(path, clock=clock)

    after = (
        dict(reloaded.functions),
        dict(reloaded.jobs),
        dict(reloaded.files),
        dict(reloaded.storage.sessions),
        dict(reloaded.storage.uploads),
        dict(reloaded.api_keys),
        dict(reloaded.projects),
        list(reloaded.faults),
        reloaded.storage.signing_key,
    )
    assert after == before
    assert [job.job_status for job in reloaded.jobs.values()] == [JobStatus.MATCHED, JobStatus.DEPLOYED, 9]
    assert reloaded.functions[function.function_uuid].variables == variables
    assert reloaded.api_keys[READER_KEY].roles == frozenset({(Role.READ, Service.COMPUTING)})
    assert (reloaded.credit_balance(OTHER_PROJECT), reloaded.file_content_by_cid(stored.cid_v0)) == (7, SCRIPT)


async def test_a_job_mid_lifecycle_goes_on_on_the_clock_after_a_restart(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "sandbox.sqlite3"
    state = open_state(path, clock=clock)
    function = state.create_function("f")
    first = state.create_job(function.function_uuid, "first", file_cids(SCRIPT).v0)
    clock.advance(12)
    assert state.jobs[first.job_uuid].job_status == JobStatus.DEPLOYED
    state.close()

    reloaded = open_state(path, clock=clock)
    clock.advance(18)
    second = reloaded.create_job(function.function_uuid, "second", file_cids(SCRIPT).v0)
    clock.advance(10)

    job = reloaded.jobs[first.job_uuid]
    assert (job.job_status, job.job_id, job.update_time) == (JobStatus.MATCHED, 1001, first.match_due)
    assert reloaded.functions[function.function_uuid].active_job_id == job.id
    assert (reloaded.jobs[second.job_uuid].job_id, reloaded.jobs[second.job_uuid].id) == (1002, 2)


async def test_two_servers_on_one_file_see_each_others_changes_at_once(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "sandbox.sqlite3"
    first_state, second_state = open_state(path, clock=clock), open_state(path, clock=clock)
    async with serving(first_state) as first, serving(second_state) as second:
        function = (await first.post("/cloud-functions", json={"name": "handed over"})).json()["data"]
        cid = await upload_script(second, function["bucketUuid"])
        job = (
            await first.post(f"/cloud-functions/{function['functionUuid']}/jobs", json={"name": "j", "scriptCid": cid})
        ).json()["data"]
        clock.advance(30)
        fetched = (await second.get(f"/cloud-functions/{function['functionUuid']}")).json()["data"]
        files = (await first.get(f"/storage/buckets/{function['bucketUuid']}/files")).json()["data"]
        await second.post("/_emulator/faults", json={"path": "/project/credit", "status": 502})
        faulted = await first.get("/project/credit")
        credit = (await first.get("/project/credit")).json()["data"]

    assert [(item["jobUuid"], item["jobStatus"]) for item in fetched["jobs"]] == [(job["jobUuid"], JobStatus.MATCHED)]
    assert [(item["name"], item["CIDv1"]) for item in files["items"]] == [("a.js", cid)]
    assert (faulted.status_code, credit) == (502, {"balance": 900})


async def test_concurrent_requests_in_one_process_keep_all_their_changes(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "sandbox.sqlite3"
    async with serving(open_state(path, clock=clock)) as http:

        async def create(name: str) -> None:
            assert (await http.post("/cloud-functions", json={"name": name})).status_code == 201

        async with anyio.create_task_group() as group:
            for index in range(5):
                group.start_soon(create, f"f{index}")

    assert sorted(names(open_state(path, clock=clock))) == [f"f{index}" for index in range(5)]


def test_two_processes_creating_functions_at_once_on_one_file_lose_none(tmp_path: Path) -> None:
    path, count = tmp_path / "sandbox.sqlite3", 150
    writers = [
        subprocess.Popen(
            [sys.executable, str(WRITER), str(path), prefix, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for prefix in ("a", "b")
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
    for writer in writers:  # both have the file open: let them go together
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    reports = [json.loads(writer.communicate(timeout=120)[0]) for writer in writers]

    assert [writer.returncode for writer in writers] == [0, 0]
    assert [report["created"] for report in reports] == [count, count]
    assert sorted(names(open_state(path))) == sorted(f"{prefix}-{n}" for prefix in "ab" for n in range(count))


async def test_the_sandbox_clock_offset_is_shared_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    first, second = open_state(path), open_state(path)
    assert isinstance(first.clock, SystemClock) and isinstance(second.clock, SystemClock)

    async with serving(first) as http:
        await http.post("/_emulator/clock", json={"advance_seconds": 3600})
    restarted = open_state(path).clock

    assert second.clock.offset == timedelta(hours=1)
    assert isinstance(restarted, SystemClock) and restarted.offset == timedelta(hours=1)


async def test_a_top_up_by_another_process_is_seen_by_a_running_server_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    running = open_state(path)

    assert open_state(path).add_credits(DEFAULT_PROJECT_UUID, 250) == 1250
    async with serving(running) as http:
        credit = (await http.get("/project/credit")).json()["data"]

    assert credit == {"balance": 1250}


@pytest.mark.parametrize("amount", [0, -5, True, 2.5, 999_999_001])
async def test_a_top_up_that_is_not_a_positive_whole_number_within_bounds_is_refused(amount: object) -> None:
    state = EmulatorState()

    with pytest.raises(ValueError, match=r"whole number above 0|would pass"):
        state.add_credits(DEFAULT_PROJECT_UUID, amount)  # type: ignore[arg-type]

    assert state.credit_balance(DEFAULT_PROJECT_UUID) == 1000


def test_a_failed_operation_leaves_nothing_of_what_it_wrote() -> None:
    database = Database.in_memory()
    state = EmulatorState(database=database)

    with pytest.raises(RuntimeError), database.transaction():
        state.create_function("half done")
        state.add_credits(DEFAULT_PROJECT_UUID, 5)
        raise RuntimeError("the operation fails after writing")

    assert (names(state), dict(state.buckets), state.credit_balance(DEFAULT_PROJECT_UUID)) == ([], {}, 1000)


async def test_a_read_that_applies_a_due_transition_stores_it_for_every_process(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "sandbox.sqlite3"
    state = open_state(path, clock=clock)
    function = state.create_function("f")
    job = state.create_job(function.function_uuid, "j", file_cids(SCRIPT).v0)
    clock.advance(30)
    async with serving(state) as http:
        await http.get("/cloud-functions")

    with closing(sqlite3.connect(path)) as raw:
        stored = raw.execute("SELECT job_uuid, job_status FROM jobs").fetchall()
    assert stored == [(job.job_uuid, JobStatus.MATCHED)]


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
async def test_the_state_file_and_sqlites_files_beside_it_are_the_owners_only(tmp_path: Path) -> None:
    path = tmp_path / "new" / "sandbox.sqlite3"
    state = open_state(path)
    state.create_function("f")  # writes go through the -wal file, which the -shm file indexes

    modes = {file.name: stat.S_IMODE(file.stat().st_mode) for file in path.parent.iterdir()}

    assert modes == {"sandbox.sqlite3": 0o600, "sandbox.sqlite3-wal": 0o600, "sandbox.sqlite3-shm": 0o600}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
async def test_an_existing_state_file_readable_by_others_is_made_the_owners_only(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    open_state(path).close()
    path.chmod(0o644)

    open_state(path).create_function("f")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_read_only_open_works_on_a_copy_and_never_writes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    writer = open_state(path)
    writer.create_function("kept")
    writer.close()
    before = path.read_bytes()

    copy = open_state(path, read_only=True)
    copy.create_function("only in the copy")

    assert names(copy) == ["kept", "only in the copy"]
    assert names(open_state(path, read_only=True)) == ["kept"]
    assert path.read_bytes() == before
    absent = tmp_path / "absent.sqlite3"
    assert names(open_state(absent, read_only=True)) == []
    assert not absent.exists()


async def test_without_a_path_the_state_lives_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    state = open_state(None)

    async with serving(state) as http:
        await http.post("/cloud-functions", json={"name": "f"})

    assert list(tmp_path.iterdir()) == []
    assert (state.path, EmulatorState().path) == (None, None)
    assert isinstance(state.clock, SystemClock)


async def test_reset_empties_the_sandbox_for_every_process_on_it(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "sandbox.sqlite3"
    running = open_state(path, clock=clock)
    running.create_function("old")

    fresh = open_state(path, reset=True, clock=clock)

    assert (names(fresh), names(running), list(running.api_keys)) == ([], [], [DEFAULT_API_KEY])


async def test_reset_replaces_a_damaged_file_but_never_another_programs_database(tmp_path: Path) -> None:
    damaged, foreign = tmp_path / "damaged.sqlite3", tmp_path / "foreign.sqlite3"
    damaged.write_bytes(b"\x00garbage that is no database")
    with closing(sqlite3.connect(foreign)) as other:
        other.execute("CREATE TABLE notes (text TEXT)")

    assert names(open_state(damaged, reset=True)) == []
    with pytest.raises(StateFileError, match="another program"):
        open_state(foreign, reset=True)
    with closing(sqlite3.connect(foreign)) as other:
        assert other.execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]


async def test_an_unwritable_location_is_a_state_file_error(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a directory should be")

    with pytest.raises(StateFileError, match=r"cannot create or write the sandbox state file .*blocker"):
        open_state(tmp_path / "blocker" / "sandbox.sqlite3")


# JSON state files of earlier versions


def json_document() -> dict[str, object]:
    """A version-1 JSON state, as earlier versions wrote it: a function with a matched job, its script, a fault."""
    job_created, matched = "2025-01-01T00:00:00+00:00", "2025-01-01T00:00:30+00:00"
    cids = file_cids(SCRIPT)
    return {
        "format": "apillon-mcp emulator state",
        "version": 1,
        "clock_offset_seconds": 120.0,
        "next_chain_job_id": 1002,
        "signing_key": "c2lnbmluZyBrZXkgb2YgdGhlIG9sZCBzYW5kYm94IQ==",
        "projects": [{"project_uuid": DEFAULT_PROJECT_UUID, "credits": 900}],
        "api_keys": [
            {
                "key": DEFAULT_API_KEY,
                "secret": DEFAULT_API_SECRET,
                "project_uuid": DEFAULT_PROJECT_UUID,
                "roles": [[role, service] for role in (50, 51, 52) for service in (2, 5)],
            }
        ],
        "buckets": [
            {
                "bucket_uuid": "b0000000-0000-4000-8000-000000000001",
                "project_uuid": DEFAULT_PROJECT_UUID,
                "name": "old Bucket",
                "create_time": job_created,
            }
        ],
        "functions": [
            {
                "id": 1,
                "function_uuid": "f0000000-0000-4000-8000-000000000001",
                "project_uuid": DEFAULT_PROJECT_UUID,
                "bucket_uuid": "b0000000-0000-4000-8000-000000000001",
                "name": "old",
                "description": None,
                "status": 5,
                "create_time": job_created,
                "update_time": matched,
                "active_job_id": 1,
                "variables": [{"key": "GREETING", "value": "hi"}],
            }
        ],
        "jobs": [
            {
                "id": 1,
                "job_uuid": "j0000000-0000-4000-8000-000000000001",
                "project_uuid": DEFAULT_PROJECT_UUID,
                "function_uuid": "f0000000-0000-4000-8000-000000000001",
                "name": "v1",
                "script_cid": cids.v0,
                "slots": 1,
                "job_status": 3,
                "status": 5,
                "create_time": job_created,
                "update_time": matched,
                "deploy_due": "2025-01-01T00:00:10+00:00",
                "match_due": matched,
                "job_id": 1001,
                "deploy_done": True,
                "match_done": True,
            }
        ],
        "upload_sessions": [
            {
                "session_uuid": "s0000000-0000-4000-8000-000000000001",
                "bucket_uuid": "b0000000-0000-4000-8000-000000000001",
                "project_uuid": DEFAULT_PROJECT_UUID,
                "status": 2,
                "create_time": job_created,
            }
        ],
        "file_uploads": [
            {
                "file_uuid": "u0000000-0000-4000-8000-000000000001",
                "session_uuid": "s0000000-0000-4000-8000-000000000001",
                "bucket_uuid": "b0000000-0000-4000-8000-000000000001",
                "project_uuid": DEFAULT_PROJECT_UUID,
                "path": None,
                "name": "index.js",
                "content_type": None,
                "create_time": job_created,
                "update_time": job_created,
                "content": base64.b64encode(SCRIPT).decode(),
            }
        ],
        "files": [
            {
                "id": 1,
                "file_uuid": "u0000000-0000-4000-8000-000000000001",
                "bucket_uuid": "b0000000-0000-4000-8000-000000000001",
                "project_uuid": DEFAULT_PROJECT_UUID,
                "session_uuid": "s0000000-0000-4000-8000-000000000001",
                "path": None,
                "name": "index.js",
                "content_type": None,
                "content": base64.b64encode(SCRIPT).decode(),
                "cid_v0": cids.v0,
                "cid_v1": cids.v1,
                "file_status": 2,
                "status": 5,
                "create_time": job_created,
                "update_time": job_created,
                "ipfs_due": "2025-01-01T00:00:05+00:00",
                "pin_due": "2025-01-01T00:00:15+00:00",
            }
        ],
        "faults": [
            {
                "kind": "error",
                "method": "GET",
                "path": "/project/credit",
                "status": 503,
                "body": None,
                "delay_seconds": 0,
                "times": 2,
            }
        ],
    }


async def test_a_json_state_of_an_earlier_version_is_imported_once_and_left_as_it_was(
    tmp_path: Path, clock: ManualClock
) -> None:
    legacy = tmp_path / "sandbox.json"
    legacy.write_text(json.dumps(json_document()))
    original = legacy.read_bytes()

    state = open_state(legacy, clock=clock)
    state.create_function("after the import")
    state.close()
    legacy.write_text(json.dumps({**json_document(), "functions": [], "jobs": []}))  # not read again
    again = open_state(legacy, clock=clock)
    clock.advance(60)

    assert database_path(legacy) == tmp_path / "sandbox.sqlite3" == again.path
    assert names(again) == ["old", "after the import"]
    job = again.jobs["j0000000-0000-4000-8000-000000000001"]
    assert (job.job_status, job.job_id) == (JobStatus.MATCHED, 1001)
    assert again.functions["f0000000-0000-4000-8000-000000000001"].variables == [{"key": "GREETING", "value": "hi"}]
    assert again.files["u0000000-0000-4000-8000-000000000001"].file_status == FileStatus.PINNED_TO_CRUST
    assert again.file_content_by_cid(file_cids(SCRIPT).v1) == SCRIPT
    assert (again.credit_balance(DEFAULT_PROJECT_UUID), again.faults[0].times) == (900, 2)
    assert original == json.dumps(json_document()).encode()


async def test_an_imported_sandbox_keeps_its_clock_offset_and_chain_ids(tmp_path: Path) -> None:
    legacy = tmp_path / "state"  # no suffix: recognised by its content
    legacy.write_text(json.dumps(json_document()))

    state = open_state(legacy)
    job = state.create_job("f0000000-0000-4000-8000-000000000001", "v2", file_cids(SCRIPT).v0)
    state.clock.advance(11)

    assert state.path == tmp_path / "state.sqlite3"
    assert isinstance(state.clock, SystemClock) and state.clock.offset == timedelta(seconds=131)
    assert state.jobs[job.job_uuid].job_id == 1002


async def test_the_old_default_file_is_imported_into_the_new_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    old = tmp_path / "apillon-mcp" / "emulator-state.json"
    old.parent.mkdir()
    old.write_text(json.dumps(json_document()))

    state = open_state(default_state_path(), clock=clock)

    assert state.path == tmp_path / "apillon-mcp" / "sandbox.sqlite3"
    assert names(state) == ["old"]
    assert old.is_file()


def edited(document: dict[str, object], edit: Callable[[dict[str, object]], object]) -> bytes:
    edit(document)
    return json.dumps(document).encode()


def rows_of(document: dict[str, object], table: str) -> list[object]:
    rows = document[table]
    assert isinstance(rows, list)
    return rows


def first_row(document: dict[str, object], table: str) -> dict[str, object]:
    row = rows_of(document, table)[0]
    assert isinstance(row, dict)
    return row


JSON_DAMAGE: dict[str, Callable[[dict[str, object]], bytes]] = {
    "empty": lambda document: b"",
    "not JSON": lambda document: b"{\x00\x01 not json",
    "torn": lambda document: json.dumps(document).encode()[:200],
    "a list": lambda document: b"[]",
    "nested too deep": lambda document: b"{" + b'"a":[' * 200_000 + b"]" * 200_000 + b"}",
    "no format": lambda document: edited(document, lambda d: d.pop("format")),
    "no version": lambda document: edited(document, lambda d: d.pop("version")),
    "a newer version": lambda document: edited(document, lambda d: d.update(version=VERSION + 1)),
    "a string version": lambda document: edited(document, lambda d: d.update(version="1")),
    "a NaN clock": lambda document: json.dumps(document).replace("120.0", "NaN").encode(),
    "an infinite clock": lambda document: json.dumps(document).replace("120.0", "1e999").encode(),
    "a clock past the year 9999": lambda document: edited(document, lambda d: d.update(clock_offset_seconds=3e11)),
    "a negative clock": lambda document: edited(document, lambda d: d.update(clock_offset_seconds=-1)),
    "a missing list": lambda document: edited(document, lambda d: d.pop("jobs")),
    "a wrong type": lambda document: edited(document, lambda d: first_row(d, "functions").update(id="1")),
    "a huge integer": lambda document: edited(document, lambda d: first_row(d, "functions").update(id=10**30)),
    "a 5000-digit integer": lambda document: (
        json.dumps(document).replace('"slots": 1', '"slots": ' + "9" * 5000).encode()
    ),
    "an unknown status": lambda document: edited(document, lambda d: first_row(d, "jobs").update(job_status=6)),
    "a naive time": lambda document: edited(
        document, lambda d: first_row(d, "jobs").update(create_time="2025-01-01T00:00:00")
    ),
    "a time out of range": lambda document: edited(
        document, lambda d: first_row(d, "jobs").update(match_due="9999-12-31T23:59:59+00:00")
    ),
    "bad base64": lambda document: edited(document, lambda d: d.update(signing_key="***")),
    "variables that are not a list": lambda document: edited(
        document, lambda d: first_row(d, "functions").update(variables={"key": "A"})
    ),
    "a dangling job": lambda document: edited(document, lambda d: d.update(functions=[])),
    "a duplicate key": lambda document: edited(document, lambda d: d.update(projects=rows_of(d, "projects") * 2)),
}


@pytest.mark.parametrize("damage", JSON_DAMAGE.values(), ids=JSON_DAMAGE.keys())
async def test_a_damaged_or_hostile_json_state_is_refused_with_one_line_and_nothing_imported(
    tmp_path: Path, clock: ManualClock, damage: Callable[[dict[str, object]], bytes]
) -> None:
    legacy = tmp_path / "state.json"
    legacy.write_bytes(damage(json_document()))

    with pytest.raises(StateFileError) as raised:
        open_state(legacy, clock=clock)

    message = str(raised.value)
    assert str(legacy) in message and "cannot be imported" in message
    assert "--emulator-reset" in message and "\n" not in message
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["state.json"]  # no half-made sandbox beside it
    assert names(open_state(legacy, reset=True, clock=clock)) == []  # reset does not import, nor stop at the file


def our_database(path: Path) -> Path:
    state = open_state(path)
    state.create_function("f")
    state.close()  # the last connection folds the -wal file into the database
    return path


def run_sql(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path)) as raw:
        for statement in statements:
            raw.execute(statement)
        raw.commit()


def overwrite_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\xff" * 4096
    path.write_bytes(bytes(data))


SQLITE_DAMAGE: dict[str, tuple[Callable[[Path], object], str]] = {
    "another program's database": (lambda path: run_sql(path, "CREATE TABLE notes (text TEXT)"), "another program"),
    "a newer schema": (lambda path: run_sql(our_database(path), "PRAGMA user_version = 2"), "newer apillon-mcp"),
    "a table of its own": (lambda path: run_sql(our_database(path), "CREATE TABLE extra (x)"), "tables are not"),
    "a clock past the year 9999": (
        lambda path: run_sql(our_database(path), f"UPDATE meta SET clock_offset_us = {2**62}"),
        "clock runs past",
    ),
    "overwritten pages": (lambda path: overwrite_middle(our_database(path)), "damaged"),
    "a torn header": (lambda path: path.write_bytes(our_database(path).read_bytes()[:50]), "damaged"),
    "neither SQLite nor JSON": (lambda path: path.write_bytes(b"\x89PNG\r\n"), "neither"),
}


@pytest.mark.parametrize(("damage", "reason"), SQLITE_DAMAGE.values(), ids=SQLITE_DAMAGE.keys())
@pytest.mark.parametrize("read_only", [False, True], ids=["open", "read-only"])
async def test_a_state_file_that_is_not_this_versions_sandbox_is_refused_with_one_line(
    tmp_path: Path, damage: Callable[[Path], object], reason: str, read_only: bool
) -> None:
    path = tmp_path / "sandbox.sqlite3"
    damage(path)

    with pytest.raises(StateFileError, match=reason) as raised:
        open_state(path, read_only=read_only)

    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the XDG directories are Linux's")
@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"XDG_DATA_HOME": "/xdg/data"}, "/xdg/data/apillon-mcp/sandbox.sqlite3"),
        ({}, "/h/.local/share/apillon-mcp/sandbox.sqlite3"),
        ({"XDG_DATA_HOME": "relative/ignored"}, "/h/.local/share/apillon-mcp/sandbox.sqlite3"),
    ],
    ids=["xdg", "default", "relative-xdg"],
)
def test_the_default_state_path_is_the_per_user_data_directory(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: str
) -> None:
    monkeypatch.setenv("HOME", "/h")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert default_state_path() == Path(expected)


@pytest.mark.parametrize(
    ("given", "database"),
    [("sandbox.sqlite3", "sandbox.sqlite3"), ("sandbox.json", "sandbox.sqlite3"), ("SANDBOX.JSON", "SANDBOX.sqlite3")],
)
def test_a_json_path_names_the_database_beside_it(given: str, database: str) -> None:
    assert database_path(Path("/data") / given) == Path("/data") / database
