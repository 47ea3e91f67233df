"""A serving job is one long-running process, as on an Acurast processor (apillon-api.md, Corrections 11).

Its top-level code runs once, what it keeps lasts between calls, new variables restart it, and it stops when its
job no longer serves. Driven over HTTP through the emulator's gateway.
"""

import logging
import os
import shutil

import anyio
import httpx2
import pytest
from starlette.applications import Starlette

from apillon_mcp.emulator import CloudFunction, EmulatorState, Job, ManualClock
from apillon_mcp.emulator.gateway import script_pool

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("node") is None, reason="the gateway runs scripts with Node.js"),
]

TIMEOUT = {"message": "Endpoint request timed out"}


def serving(handler: str, top_level: str = "") -> str:
    """A script whose payload handler runs `handler` with `request` (the parsed payload) and `reply(text)`."""
    return f"""
{top_level}
const reply = (sender) => (text) => _STD_.ws.send(sender, Buffer.from(String(text), "utf8").toString("hex"));
_STD_.ws.open(["wss://websocket-proxy-1.prod.gke.acurast.com/"], () => {{
  _STD_.ws.registerPayloadHandler(({{ sender, payload }}) => {{
    const request = JSON.parse(Buffer.from(payload, "hex").toString("utf8"));
    ((request, reply) => {{ {handler} }})(request, reply(sender));
  }});
}}, () => {{}});
"""


COUNTER = serving("calls += 1; reply(`${calls}:${_STD_.env.COLOUR}`);", top_level="let calls = 0;")
PID = serving("reply(process.pid);")


def deploy(state: EmulatorState, clock: ManualClock, script: str, function: CloudFunction | None = None) -> Job:
    function = state.create_function("processes") if function is None else function
    stored = state.store_file(function.bucket_uuid, "index.js", script.encode())
    job = state.create_job(function.function_uuid, "job", stored.cid_v1)
    clock.advance(30)
    return job


async def call(http: httpx2.AsyncClient, job: Job, body: object = None) -> httpx2.Response:
    return await http.post(f"/gateway/{job.function_uuid}", json=body)


async def set_colour(http: httpx2.AsyncClient, job: Job, colour: str) -> None:
    variables = [{"key": "COLOUR", "value": colour}]
    answer = await http.post(f"/cloud-functions/{job.function_uuid}/environment", json={"variables": variables})
    assert answer.status_code == 201


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_state_is_kept_between_calls_and_top_level_code_runs_once(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    script = serving("calls += 1; reply(`start ${starts}, call ${calls}`);", top_level="let starts = 1, calls = 0;")
    job = deploy(state, clock, script)

    first = await call(anonymous, job)
    second = await call(anonymous, job)

    assert (first.text, second.text) == ("start 1, call 1", "start 1, call 2")


async def test_new_variables_restart_the_process_with_the_new_values(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    job = deploy(state, clock, COUNTER)
    await set_colour(client, job, "red")
    before = [(await call(anonymous, job)).text for _ in range(2)]

    await set_colour(client, job, "blue")
    after = [(await call(anonymous, job)).text for _ in range(2)]

    assert before == ["1:red", "2:red"]
    assert after == ["1:blue", "2:blue"]


async def test_setting_the_same_variables_again_keeps_the_process(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    job = deploy(state, clock, COUNTER)
    await set_colour(client, job, "red")
    await call(anonymous, job)

    await set_colour(client, job, "red")

    assert (await call(anonymous, job)).text == "2:red"


async def test_concurrent_calls_each_get_the_reply_their_own_handler_sends(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    script = serving("setTimeout(() => reply(request.body), request.body === 'slow' ? 200 : 0);")
    job = deploy(state, clock, script)
    replies: dict[str, str] = {}

    async def ask(body: str) -> None:
        replies[body] = (await call(anonymous, job, body)).text

    async with anyio.create_task_group() as group:
        group.start_soon(ask, "slow")
        group.start_soon(ask, "fast")

    assert replies == {"slow": "slow", "fast": "fast"}


async def test_a_call_that_times_out_leaves_the_process_running_and_its_late_reply_answers_nobody(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    script = serving(
        "calls += 1; if (request.body === 'slow') setTimeout(() => reply('late'), 400); else reply(`call ${calls}`);",
        top_level="let calls = 0;",
    )
    job = deploy(state, clock, script)
    await call(anonymous, job)  # started: the short limit below is for the call alone
    state.gateway.timeout_seconds = 0.2

    slow = await call(anonymous, job, "slow")
    state.gateway.timeout_seconds = 5
    after = await call(anonymous, job, "fast")

    assert (slow.status_code, slow.json()) == (504, TIMEOUT)
    assert (after.status_code, after.text) == (200, "call 3")


async def test_a_process_stuck_in_a_loop_is_killed_and_the_next_call_starts_a_fresh_one(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient, app: Starlette
) -> None:
    script = serving("calls += 1; if (request.body === 'spin') for (;;) {} reply(`call ${calls}`);", "let calls = 0;")
    job = deploy(state, clock, script)
    await call(anonymous, job)
    stuck = script_pool(app).running()[0].pid
    state.gateway.timeout_seconds = 0.2

    spun = await call(anonymous, job, "spin")
    state.gateway.timeout_seconds = 5
    after = await call(anonymous, job)

    assert (spun.status_code, spun.json()) == (504, TIMEOUT)
    assert not alive(stuck)
    assert after.text == "call 1"


async def test_a_script_that_crashed_starts_again_at_the_next_call(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    script = serving(
        "calls += 1; if (request.body === 'crash') setImmediate(() => { throw new TypeError('bad state'); });"
        " else reply(`call ${calls}`);",
        "let calls = 0;",
    )
    job = deploy(state, clock, script)
    await call(anonymous, job)
    caplog.set_level(logging.INFO, logger="apillon_mcp.runner")

    crashed = await call(anonymous, job, "crash")
    after = await call(anonymous, job)

    assert (crashed.status_code, crashed.json()) == (504, TIMEOUT)
    assert after.text == "call 1"
    assert "ended: TypeError: bad state (line 7); its next call starts it again" in caplog.text


async def test_a_script_is_bounded_in_memory(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    job = deploy(state, clock, serving("const hog = []; for (;;) hog.push(new Array(100000).fill(1.5));"))
    state.gateway.memory_mb = 32
    caplog.set_level(logging.INFO, logger="apillon_mcp.runner")

    response = await call(anonymous, job)

    assert (response.status_code, response.json()) == (504, TIMEOUT)
    assert "ran out of memory (the limit is 32 MB)" in caplog.text


async def test_a_job_that_is_superseded_stops_once_the_new_one_matches(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    old = deploy(state, clock, PID)
    old_pid = int((await call(anonymous, old)).text)

    new = deploy(state, clock, PID, state.functions[old.function_uuid])
    await client.get(f"/cloud-functions/{old.function_uuid}")
    new_pid = int((await call(anonymous, new)).text)

    assert not alive(old_pid)
    assert new_pid != old_pid and alive(new_pid)


async def test_a_deleted_job_serves_from_its_process_while_the_gateway_caches_it_then_stops(
    state: EmulatorState,
    clock: ManualClock,
    client: httpx2.AsyncClient,
    anonymous: httpx2.AsyncClient,
    app: Starlette,
) -> None:
    job = deploy(state, clock, COUNTER)
    await call(anonymous, job)
    pid = script_pool(app).running()[0].pid
    await client.delete(f"/cloud-functions/jobs/{job.job_uuid}")

    cached = await call(anonymous, job)
    clock.advance(300)
    await client.get("/cloud-functions")

    assert cached.text == "2:undefined"
    assert script_pool(app).running() == []
    assert not alive(pid)


async def test_processes_run_only_for_jobs_that_were_called(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient, app: Starlette
) -> None:
    deploy(state, clock, COUNTER)

    await client.get("/cloud-functions")

    assert script_pool(app).running() == []


async def test_a_reply_sent_from_top_level_code_answers_the_oldest_waiting_call(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    script = """
let gateway = null;
_STD_.ws.open([], () => _STD_.ws.registerPayloadHandler(({ sender }) => { gateway = sender; }));
setInterval(() => { if (gateway) _STD_.ws.send(gateway, Buffer.from("from a timer").toString("hex")); }, 20);
"""
    job = deploy(state, clock, script)

    response = await call(anonymous, job)

    assert (response.status_code, response.text) == (200, "from a timer")
