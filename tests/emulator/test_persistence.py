"""Persistence: the state in a versioned JSON file, written atomically after every request that changed it."""

import json
import logging
import os
import sys
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
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
    default_state_path,
    open_state,
    persistence,
    persistent_emulator,
)
from apillon_mcp.emulator.faults import Fault
from apillon_mcp.emulator.records import SessionStatus
from apillon_mcp.emulator.snapshot import VERSION, decode, dump_state, encode, load_state
from apillon_mcp.emulator.validation import UploadItem, UploadRequest
from apillon_mcp.unixfs import file_cids

pytestmark = pytest.mark.anyio

OTHER_PROJECT = "c0ffee00-1234-4abc-8def-0123456789ab"
READER_KEY, READER_SECRET = "0b8d5c1e-7a2f-4e6b-9d3c-5f1a8e2b7c40", "Zx9!Qw3#Er5%"
SCRIPT = b"_STD_.ws.open([], () => {}, () => {});\n"


@asynccontextmanager
async def serving(state: EmulatorState, path: Path | None) -> AsyncGenerator[httpx2.AsyncClient, None]:
    """HTTP with the default key to `persistent_emulator(state, path)`."""
    transport = httpx2.ASGITransport(app=persistent_emulator(state, path))
    auth = (DEFAULT_API_KEY, DEFAULT_API_SECRET)
    async with httpx2.AsyncClient(transport=transport, base_url="http://emulator", auth=auth) as http:
        yield http


async def upload_script(http: httpx2.AsyncClient, bucket_uuid: str, content: bytes = SCRIPT) -> str:
    """The SDK's flow: link by CID, request a URL, PUT the bytes, end the session; the CIDv1."""
    cid = file_cids(content).v1
    assert (await http.post("/storage/link-on-ipfs-multiple", json={"cids": [cid]})).status_code == 201
    answer = (await http.post(f"/storage/buckets/{bucket_uuid}/upload", json={"files": [{"fileName": "a.js"}]})).json()
    assert (await http.put(answer["data"]["files"][0]["url"], content=content, auth=None)).status_code == 200
    ended = await http.post(f"/storage/buckets/{bucket_uuid}/upload/{answer['data']['sessionUuid']}/end")
    assert ended.status_code == 200
    return cid


def rich_state(clock: ManualClock) -> EmulatorState:
    """A state holding every kind of row, in the middle of its lifecycles."""
    state = EmulatorState(clock=clock)
    state.add_api_key(READER_KEY, READER_SECRET, [(Role.READ, Service.COMPUTING)], project_uuid=OTHER_PROJECT)
    state.set_credit_balance(OTHER_PROJECT, 7)
    matched = state.create_function("matched", "serves its gateway")
    stored = state.store_file(matched.bucket_uuid, "index.js", SCRIPT, path="src", content_type="text/javascript")
    old = state.create_job(matched.function_uuid, "old", stored.cid_v1, slots=3)
    clock.advance(30)
    state.set_environment(
        matched.function_uuid,
        [{"key": "A", "value": "1"}, {"key": "NESTED", "value": {"list": [1, 2.5, None, True]}}],
        project_uuid=DEFAULT_PROJECT_UUID,
    )
    state.create_job(matched.function_uuid, "deploying", stored.cid_v0)
    deleted = state.create_job(matched.function_uuid, "deleted", stored.cid_v0)
    state.delete_job(deleted.job_uuid, project_uuid=DEFAULT_PROJECT_UUID)
    state.create_function("empty")
    clock.advance(7)
    state.store_file(matched.bucket_uuid, "big.bin", b"x" * 300_000)  # more than one chunk
    clock.advance(5)  # the second job is DEPLOYED, not yet MATCHED; big.bin is on IPFS, not yet pinned
    state.store_file(matched.bucket_uuid, "fresh.txt", b"just stored")
    items = [UploadItem("sent.js", None, None), UploadItem("unsent.js", None, "dir/")]
    session, (sent, unsent) = state.storage.request_upload(
        matched.bucket_uuid, UploadRequest(items, None), project_uuid=DEFAULT_PROJECT_UUID
    )
    sent.content = b"bytes PUT to S3, session still open"
    state.faults.append(Fault(path="/cloud-functions/*", method="GET", status=503, body={"down": True}, times=2))
    assert old.job_status == JobStatus.MATCHED and session.status == SessionStatus.CREATED and unsent.content is None
    return state


def round_trip(state: EmulatorState, clock: ManualClock | None = None) -> EmulatorState:
    return load_state(decode(encode(dump_state(state))), clock)


async def test_every_kind_of_row_loads_back_equal(clock: ManualClock) -> None:
    state = rich_state(clock)

    loaded = round_trip(state, clock)

    assert loaded.rows() == state.rows()
    assert [file.file_status for file in loaded.files.values()] == [
        FileStatus.PINNED_TO_CRUST,
        FileStatus.UPLOADED_TO_IPFS,
        FileStatus.UPLOADED_TO_S3,
    ]
    assert [job.job_status for job in loaded.jobs.values()] == [
        JobStatus.MATCHED,
        JobStatus.DEPLOYED,
        JobStatus.DELETED,
    ]
    assert loaded.api_keys[READER_KEY].roles == frozenset({(Role.READ, Service.COMPUTING)})
    assert loaded.credit_balance(OTHER_PROJECT) == 7


async def test_a_job_mid_lifecycle_goes_on_on_the_clock_after_a_reload(tmp_path: Path, clock: ManualClock) -> None:
    state = EmulatorState(clock=clock)
    function = state.create_function("f")
    first = state.create_job(function.function_uuid, "first", file_cids(SCRIPT).v0)
    clock.advance(12)
    assert state.jobs[first.job_uuid].job_status == JobStatus.DEPLOYED
    persistent_emulator(state, tmp_path / "state.json")

    reloaded = open_state(tmp_path / "state.json", clock=clock)
    clock.advance(18)
    second = reloaded.create_job(function.function_uuid, "second", file_cids(SCRIPT).v0)
    clock.advance(10)

    job = reloaded.jobs[first.job_uuid]
    assert (job.job_status, job.job_id, job.update_time) == (JobStatus.MATCHED, 1001, first.match_due)
    assert reloaded.functions[function.function_uuid].active_job_id == job.id
    assert (reloaded.jobs[second.job_uuid].job_id, reloaded.jobs[second.job_uuid].id) == (1002, 2)


async def test_a_reloaded_sandbox_serves_its_files_by_cid_and_keeps_the_stored_variables(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "state.json"
    state = EmulatorState(clock=clock)
    function = state.create_function("f")
    async with serving(state, path) as http:
        cid = await upload_script(http, function.bucket_uuid)
        variables = [{"key": "GREETING", "value": "hi"}]
        await http.post(f"/cloud-functions/{function.function_uuid}/environment", json={"variables": variables})
    clock.advance(5)

    reloaded = open_state(path, clock=clock)
    async with serving(reloaded, path) as http:
        fetched = await http.get(f"/ipfs/{cid}", auth=None)

    assert (fetched.status_code, fetched.content) == (200, SCRIPT)
    assert reloaded.file_content_by_cid(file_cids(SCRIPT).v0) == SCRIPT
    assert reloaded.functions[function.function_uuid].variables == variables


async def test_a_key_with_limited_roles_is_still_limited_after_a_reload(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "state.json"
    state = EmulatorState(clock=clock)
    state.add_api_key(READER_KEY, READER_SECRET, [(Role.READ, Service.COMPUTING)])
    persistent_emulator(state, path)

    async with serving(open_state(path, clock=clock), path) as http:
        listed = await http.get("/cloud-functions", auth=(READER_KEY, READER_SECRET))
        created = await http.post("/cloud-functions", json={"name": "f"}, auth=(READER_KEY, READER_SECRET))

    assert listed.status_code == 200
    assert (created.status_code, created.json()["message"]) == (
        403,
        "Insufficient permissions - missing KEY_WRITE permission",
    )


async def test_a_second_app_on_the_same_file_sees_what_the_first_created_over_http(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "state.json"
    async with serving(open_state(path, clock=clock), path) as first:
        function = (await first.post("/cloud-functions", json={"name": "handed over"})).json()["data"]
        cid = await upload_script(first, function["bucketUuid"])
        job = await first.post(
            f"/cloud-functions/{function['functionUuid']}/jobs", json={"name": "j", "scriptCid": cid}
        )
    clock.advance(30)

    async with serving(open_state(path, clock=clock), path) as second:
        fetched = (await second.get(f"/cloud-functions/{function['functionUuid']}")).json()["data"]
        files = (await second.get(f"/storage/buckets/{function['bucketUuid']}/files")).json()["data"]
        credit = (await second.get("/project/credit")).json()["data"]

    assert fetched["name"] == "handed over"
    assert [(item["jobUuid"], item["jobStatus"]) for item in fetched["jobs"]] == [
        (job.json()["data"]["jobUuid"], JobStatus.MATCHED)
    ]
    assert [(item["name"], item["CIDv1"]) for item in files["items"]] == [("a.js", cid)]
    assert credit == {"balance": 900}


async def test_a_request_that_changes_nothing_writes_nothing_and_one_that_does_writes_once(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[Path] = []
    real_write = persistence.write_atomically

    def counted_write(path: Path, data: bytes) -> None:
        writes.append(path)
        real_write(path, data)

    monkeypatch.setattr(persistence, "write_atomically", counted_write)
    state = EmulatorState(clock=clock)

    async with serving(state, tmp_path / "state.json") as http:
        created_app = len(writes)
        await http.get("/cloud-functions")
        await http.get("/nowhere")
        await http.get("/cloud-functions", auth=("wrong", "credentials"))
        reads = len(writes)
        await http.post("/cloud-functions", json={"name": "f"})

    assert (created_app, reads, len(writes)) == (1, 1, 2)


async def test_a_read_that_applies_a_due_transition_is_saved(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "state.json"
    state = EmulatorState(clock=clock)
    function = state.create_function("f")
    job = state.create_job(function.function_uuid, "j", file_cids(SCRIPT).v0)
    async with serving(state, path) as http:
        clock.advance(30)
        await http.get("/cloud-functions")

    saved = json.loads(path.read_bytes())
    assert [(row["job_uuid"], row["job_status"]) for row in saved["jobs"]] == [(job.job_uuid, JobStatus.MATCHED)]


async def test_control_routes_and_consumed_faults_are_saved(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = EmulatorState(clock=SystemClock())
    async with serving(state, path) as http:
        await http.post("/_emulator/clock", json={"advance_seconds": 3600})
        await http.post("/_emulator/faults", json={"path": "/project/credit", "status": 502, "times": 2})
        await http.get("/project/credit")

    reloaded = open_state(path)
    assert isinstance(reloaded.clock, SystemClock)
    assert reloaded.clock.offset == timedelta(hours=1)
    assert [(fault.path, fault.status, fault.times) for fault in reloaded.faults] == [("/project/credit", 502, 1)]


async def test_concurrent_requests_leave_the_file_with_all_their_changes(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "state.json"
    async with serving(EmulatorState(clock=clock), path) as http:

        async def create(name: str) -> None:
            assert (await http.post("/cloud-functions", json={"name": name})).status_code == 201

        async with anyio.create_task_group() as group:
            for index in range(5):
                group.start_soon(create, f"f{index}")

    assert sorted(function.name for function in open_state(path, clock=clock).functions.values()) == [
        f"f{index}" for index in range(5)
    ]


async def test_a_failed_save_is_logged_the_request_still_answers_and_the_next_request_saves(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.json"
    real_write = persistence.write_atomically
    failures = [StateFileError(f"cannot write the emulator state file {path}: No space left on device")]

    def flaky_write(target: Path, data: bytes) -> None:
        if failures:
            raise failures.pop()
        real_write(target, data)

    async with serving(EmulatorState(clock=clock), path) as http:
        monkeypatch.setattr(persistence, "write_atomically", flaky_write)
        with caplog.at_level(logging.ERROR, logger="apillon_mcp.emulator.persistence"):
            created = await http.post("/cloud-functions", json={"name": "kept"})
        assert [function.name for function in open_state(path, clock=clock).functions.values()] == []
        await http.get("/cloud-functions")

    assert created.status_code == 201
    assert "No space left on device" in caplog.text
    assert [function.name for function in open_state(path, clock=clock).functions.values()] == ["kept"]


def only_the_state_file(path: Path) -> bool:
    return [entry.name for entry in path.parent.iterdir()] == [path.name]


@pytest.mark.parametrize("crash_at", ["fsync", "replace"])
async def test_a_crash_before_the_rename_leaves_the_old_file_whole_and_no_temporary_file(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, crash_at: str
) -> None:
    path = tmp_path / "state.json"
    state = EmulatorState(clock=clock)
    state.create_function("before")
    persistent_emulator(state, path)
    before = path.read_bytes()
    state.create_function("after")

    def crash(*args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, crash_at, crash)
    with pytest.raises(StateFileError, match=r"cannot write the emulator state file .*state\.json: Input/output"):
        persistence.StateFile(state, path).save()
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert [function.name for function in open_state(path, clock=clock).functions.values()] == ["before"]
    assert only_the_state_file(path)


async def test_a_serialiser_failing_midway_writes_nothing(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    state = EmulatorState(clock=clock)
    persistent_emulator(state, path)
    before = path.read_bytes()
    state.create_function("f").variables = [{"key": "K", "value": object()}]  # not JSON: encoding fails midway

    with pytest.raises(TypeError):
        persistence.StateFile(state, path).save()

    assert path.read_bytes() == before
    assert only_the_state_file(path)


async def test_a_successful_save_leaves_no_temporary_file_and_creates_missing_directories(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "deep" / "er" / "state.json"
    state = EmulatorState(clock=clock)
    assert not path.parent.exists()

    async with serving(state, path) as http:
        await http.post("/cloud-functions", json={"name": "f"})

    assert only_the_state_file(path)
    assert json.loads(path.read_bytes())["version"] == VERSION


async def test_without_a_path_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    state = open_state(None)

    async with serving(state, None) as http:
        await http.post("/cloud-functions", json={"name": "f"})

    assert list(tmp_path.iterdir()) == []
    assert isinstance(state.clock, SystemClock)


async def test_a_missing_file_gives_a_fresh_state(tmp_path: Path) -> None:
    state = open_state(tmp_path / "absent.json")

    assert (dict(state.functions), list(state.api_keys)) == ({}, [DEFAULT_API_KEY])
    assert not (tmp_path / "absent.json").exists()


async def test_reset_ignores_the_file_and_the_first_save_replaces_it(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "state.json"
    old = EmulatorState(clock=clock)
    old.create_function("old")
    persistent_emulator(old, path)
    path.write_text("{ corrupt, but reset does not read it")

    fresh = open_state(path, reset=True, clock=clock)
    persistent_emulator(fresh, path)

    assert dict(fresh.functions) == {}
    assert dict(open_state(path, clock=clock).functions) == {}


def valid_document(clock: ManualClock) -> dict[str, object]:
    state = EmulatorState(clock=clock)
    function = state.create_function("f")
    state.create_job(function.function_uuid, "j", file_cids(SCRIPT).v0)
    document: dict[str, object] = json.loads(encode(dump_state(state)))
    return document


def change(document: dict[str, object], edit: Callable[[dict[str, object]], object]) -> bytes:
    edit(document)
    return json.dumps(document).encode()


def first_row(document: dict[str, object], table: str) -> dict[str, object]:
    rows = document[table]
    assert isinstance(rows, list) and isinstance(rows[0], dict)
    return rows[0]


CORRUPTIONS: dict[str, Callable[[dict[str, object]], bytes]] = {
    "empty": lambda document: b"",
    "not JSON": lambda document: b"\x00\x01 not json",
    "torn": lambda document: json.dumps(document).encode()[:200],
    "a list": lambda document: b"[]",
    "no format": lambda document: change(document, lambda d: d.pop("format")),
    "no version": lambda document: change(document, lambda d: d.pop("version")),
    "a newer version": lambda document: change(document, lambda d: d.update(version=VERSION + 1)),
    "a string version": lambda document: change(document, lambda d: d.update(version="1")),
    "a missing list": lambda document: change(document, lambda d: d.pop("jobs")),
    "a wrong type": lambda document: change(document, lambda d: first_row(d, "functions").update(id="1")),
    "an unknown status": lambda document: change(document, lambda d: first_row(d, "jobs").update(job_status=6)),
    "a naive time": lambda document: change(
        document, lambda d: first_row(d, "jobs").update(create_time="2025-01-01T00:00:00")
    ),
    "bad base64": lambda document: change(document, lambda d: d.update(signing_key="***")),
    "a dangling job": lambda document: change(document, lambda d: d.update(functions=[])),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
async def test_a_corrupt_state_file_is_refused_with_one_line_naming_the_file_and_the_fix(
    tmp_path: Path, clock: ManualClock, corruption: Callable[[dict[str, object]], bytes]
) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(corruption(valid_document(clock)))

    with pytest.raises(StateFileError) as raised:
        open_state(path, clock=clock)

    message = str(raised.value)
    assert str(path) in message
    assert "--reset" in message and "Delete it" in message
    assert "\n" not in message


async def test_the_version_errors_say_what_is_wrong(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "state.json"
    newer = change(valid_document(clock), lambda d: d.update(version=VERSION + 1))
    path.write_bytes(newer)

    with pytest.raises(StateFileError, match="from a newer apillon-mcp"):
        open_state(path)
    path.write_bytes(change(valid_document(clock), lambda d: d.pop("version")))
    with pytest.raises(StateFileError, match="no format version"):
        open_state(path)


async def test_an_unreadable_state_file_is_a_state_file_error(tmp_path: Path) -> None:
    (tmp_path / "state.json").mkdir()

    with pytest.raises(StateFileError, match=r"cannot read the emulator state file .*state\.json"):
        open_state(tmp_path / "state.json")


async def test_an_unwritable_location_fails_the_first_save(tmp_path: Path, clock: ManualClock) -> None:
    (tmp_path / "blocker").write_text("a file where a directory should be")

    with pytest.raises(StateFileError, match=r"cannot write the emulator state file .*blocker"):
        persistent_emulator(EmulatorState(clock=clock), tmp_path / "blocker" / "state.json")


@pytest.mark.parametrize(
    ("platform", "environment", "expected"),
    [
        ("linux", {"XDG_DATA_HOME": "/xdg/data"}, "/xdg/data/apillon-mcp/emulator-state.json"),
        ("linux", {}, "/h/.local/share/apillon-mcp/emulator-state.json"),
        ("linux", {"XDG_DATA_HOME": "relative/ignored"}, "/h/.local/share/apillon-mcp/emulator-state.json"),
        ("darwin", {"XDG_DATA_HOME": "/xdg/data"}, "/h/Library/Application Support/apillon-mcp/emulator-state.json"),
        ("win32", {"LOCALAPPDATA": "/local/app/data"}, "/local/app/data/apillon-mcp/emulator-state.json"),
    ],
    ids=["xdg", "linux-default", "relative-xdg", "macos", "windows"],
)
def test_the_default_state_path_is_the_platforms_per_user_data_directory(
    monkeypatch: pytest.MonkeyPatch, platform: str, environment: dict[str, str], expected: str
) -> None:
    if sys.platform == "win32":
        pytest.skip("POSIX paths stand in for every platform here")
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setenv("HOME", "/h")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert default_state_path() == Path(expected)
