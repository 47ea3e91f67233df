"""The command line: stdio and HTTP servers, start-up checks, doctor, demo."""

import io
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from apillon_mcp.__main__ import main
from apillon_mcp.demo import run_demo
from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, EmulatorState, create_emulator

from loopback import served
from support import data, text

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("APILLON_")}


def stdio(*args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "apillon_mcp", *args], env=CLEAN_ENV)


@pytest.mark.anyio
async def test_the_stdio_server_with_the_emulator_lists_tools_and_answers_a_call(tmp_path: Path) -> None:
    async with Client(stdio("--emulator", "--emulator-state", str(tmp_path / "state.json"))) as client:
        listed = (await client.list_tools()).tools
        created = await client.call_tool("create_cloud_function", {"name": "over stdio"})
        listing = await client.call_tool("list_cloud_functions", {})

    assert len(listed) == 10
    assert data(created)["name"] == "over stdio"
    assert '"over stdio"' in text(listing)


@pytest.mark.anyio
async def test_the_sandbox_survives_a_restart_and_reset_starts_clean(tmp_path: Path) -> None:
    state = str(tmp_path / "sandbox" / "state.json")
    async with Client(stdio("--emulator", "--emulator-state", state)) as first:
        created = data(await first.call_tool("create_cloud_function", {"name": "kept"}))

    async with Client(stdio("--emulator", "--emulator-state", state)) as second:
        kept = await second.call_tool("get_cloud_function", {"function_uuid": created["function_uuid"]})
    async with Client(stdio("--emulator", "--emulator-state", state, "--emulator-reset")) as third:
        after_reset = data(await third.call_tool("list_cloud_functions", {}))

    assert data(kept)["name"] == "kept"
    assert after_reset["total"] == 0


def test_without_credentials_the_server_exits_2_with_one_line_on_stderr() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "apillon_mcp"], env=CLEAN_ENV, capture_output=True, text=True, timeout=60, check=False
    )

    assert finished.returncode == 2
    assert finished.stdout == ""
    assert len(finished.stderr.strip().splitlines()) == 1
    assert "APILLON_API_KEY and APILLON_API_SECRET not set" in finished.stderr
    assert "--emulator" in finished.stderr


def test_with_only_a_key_the_missing_secret_is_named() -> None:
    env = {**CLEAN_ENV, "APILLON_API_KEY": "7f3c9a52-5d1e-4b8a-9c6f-2e4d8b1a0c37"}
    finished = subprocess.run(
        [sys.executable, "-m", "apillon_mcp"], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert finished.returncode == 2
    assert "APILLON_API_SECRET not set" in finished.stderr
    assert "7f3c9a52" not in finished.stderr


def only_apillon_variables(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    """These APILLON_ variables set, and no other."""
    for name in [name for name in os.environ if name.startswith("APILLON_")]:
        monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


SHORT_KEY = "fifteen-bytes!!"


@pytest.mark.parametrize(
    ("environment", "argv", "message"),
    [
        ({"APILLON_MCP_CONFIRMATION_KEY": SHORT_KEY}, [], "APILLON_MCP_CONFIRMATION_KEY is too short: use at least 16"),
        ({"APILLON_MCP_CONFIRMATION_KEY": ""}, [], "APILLON_MCP_CONFIRMATION_KEY is too short"),
        ({"APILLON_TOOLS": ""}, [], "APILLON_TOOLS (--tools) names no tool"),
        ({"APILLON_TOOLS": " , "}, [], "APILLON_TOOLS (--tools) names no tool"),
        ({}, ["--tools", ""], "APILLON_TOOLS (--tools) names no tool"),
        ({}, ["--port", "70000"], "APILLON_MCP_PORT (--port) is invalid: input should be less than or equal to 65535"),
        ({"APILLON_MCP_CONFIRMATION_KEY": SHORT_KEY}, ["doctor"], "APILLON_MCP_CONFIRMATION_KEY is too short"),
        ({"APILLON_TOOLS": ""}, ["doctor"], "APILLON_TOOLS (--tools) names no tool"),
    ],
)
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_bad_setting_stops_the_start_with_exit_2_and_one_clear_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    environment: dict[str, str],
    argv: list[str],
    message: str,
    transport: str,
) -> None:
    only_apillon_variables(monkeypatch, {"APILLON_EMULATOR": "1", "APILLON_MCP_TRANSPORT": transport, **environment})

    code = main(argv)

    printed = capsys.readouterr()
    assert code == 2
    assert printed.out == ""
    assert printed.err.startswith("apillon-mcp: invalid configuration: ")
    assert message in printed.err
    assert len(printed.err.strip().splitlines()) == 1
    assert SHORT_KEY not in printed.err


@pytest.mark.skipif(shutil.which("node") is None, reason="the demo's gateway call runs the script with Node.js")
def test_the_demo_walks_through_every_step_and_shows_no_secret() -> None:
    out = io.StringIO()

    assert run_demo(out) == 0

    printed = out.getvalue()
    assert printed.count("> ") >= 10
    assert "(MATCHED)" in printed
    assert '{"message":"Greetings from Acurast, Ada!"}' in printed
    assert printed.count("Confirmation required:") == 2
    assert "Replaced the environment" in printed
    assert "Deleted 1 job" in printed
    assert "The script replied" in printed and "Smoke test: HTTP 200" in printed
    assert "Not deployed: nothing was uploaded, created or charged." in printed
    assert "demo-secret-value" not in printed


@asynccontextmanager
async def http_server(*args: str, env: dict[str, str]) -> AsyncGenerator[tuple[str, list[str]], None]:
    """`apillon-mcp --transport http --port 0 ARGS` in a subprocess: its base URL once it listens, and (filled in
    when it has stopped) its stderr lines."""
    command = [sys.executable, "-m", "apillon_mcp", "--transport", "http", "--port", "0", *args]
    stderr: list[str] = []
    with anyio.fail_after(60):
        async with await anyio.open_process(command, env=env) as process:
            assert process.stderr is not None
            lines = BufferedByteReceiveStream(process.stderr)
            listening = None
            while listening is None:
                try:
                    line = (await lines.receive_until(b"\n", 65536)).decode()
                except anyio.IncompleteRead:
                    pytest.fail(f"the server exited before listening: {''.join(stderr)}{lines.buffer.decode()}")
                stderr.append(line)
                listening = re.search(r"Uvicorn running on (http://\S+)", line)
            try:
                yield listening.group(1), stderr
            finally:
                process.send_signal(signal.SIGINT)
                stderr.extend((await _rest_of(lines)).decode().splitlines())
                await process.wait()


async def _rest_of(stream: BufferedByteReceiveStream) -> bytes:
    chunks = []
    try:
        while True:
            chunks.append(await stream.receive())
    except anyio.EndOfStream:
        return b"".join(chunks)


@pytest.mark.anyio
async def test_per_request_credentials_against_the_live_api_start_without_a_server_key(
    emulator: EmulatorState,
) -> None:
    """The live API here is the emulator on a loopback socket: the server is started without --emulator. A server
    key left in the environment is ignored, with a warning."""
    async with served(create_emulator(emulator)) as api:
        env = {**CLEAN_ENV, "APILLON_API_URL": api, "APILLON_API_KEY": DEFAULT_API_KEY, "APILLON_API_SECRET": "Srv#Key"}
        async with http_server("--per-request-credentials", env=env) as (base, stderr):
            caller = {"X-Apillon-Api-Key": DEFAULT_API_KEY, "X-Apillon-Api-Secret": DEFAULT_API_SECRET}
            async with (
                httpx2.AsyncClient(headers=caller, timeout=30) as http,
                Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
            ):
                created = await client.call_tool("create_cloud_function", {"name": "per request"})
            async with Client(f"{base}/mcp") as anonymous:
                refused = await anonymous.call_tool("list_cloud_functions", {})

    assert data(created)["name"] == "per request"
    assert [function.name for function in emulator.functions.values()] == ["per request"]
    assert refused.is_error and "X-Apillon-Api-Key" in text(refused)
    assert not any("Traceback" in line for line in stderr)
    assert any("APILLON_API_KEY and APILLON_API_SECRET are ignored" in line for line in stderr)
    assert "Srv#Key" not in "".join(stderr) and DEFAULT_API_SECRET not in "".join(stderr)


def test_the_doctor_with_per_request_credentials_and_no_key_says_there_is_nothing_to_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    only_apillon_variables(monkeypatch, {"APILLON_MCP_PER_REQUEST_CREDENTIALS": "true"})

    code = main(["doctor"])

    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "warn" in printed.out and "each caller sends theirs" in printed.out
    assert "set APILLON_API_KEY and APILLON_API_SECRET to one caller's key" in printed.out
    assert printed.err == ""


@pytest.mark.anyio
async def test_the_doctor_with_per_request_credentials_checks_the_key_it_is_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], emulator: EmulatorState
) -> None:
    async with served(create_emulator(emulator)) as api:
        only_apillon_variables(
            monkeypatch,
            {
                "APILLON_MCP_PER_REQUEST_CREDENTIALS": "true",
                "APILLON_API_URL": api,
                "APILLON_API_KEY": DEFAULT_API_KEY,
                "APILLON_API_SECRET": DEFAULT_API_SECRET,
            },
        )
        code = await anyio.to_thread.run_sync(main, ["doctor"])

    printed = capsys.readouterr()
    assert code == 0, printed.out + printed.err
    assert f"key {DEFAULT_API_KEY[:8]}… accepted" in printed.out
    assert ("GET", "/project/credit") in emulator.requests
