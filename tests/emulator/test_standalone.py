"""The standalone emulator (`apillon-mcp emulator`): uvicorn on a real loopback socket, its banner, loopback only."""

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

import apillon_mcp
from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, StateFileError, SystemClock, open_state
from apillon_mcp.emulator.standalone import ServeError, Standalone, banner, prepare
from apillon_mcp.loopback import is_loopback

from support import NO_AUTH

pytestmark = pytest.mark.anyio

CREDENTIALS = (DEFAULT_API_KEY, DEFAULT_API_SECRET)


@asynccontextmanager
async def running(standalone: Standalone) -> AsyncGenerator[httpx2.AsyncClient, None]:
    """uvicorn serving `standalone` in this event loop, and HTTP with the default key to its base URL.

    The socket listens before the server starts, so requests wait in its backlog: no need to wait for startup.
    """
    server = standalone.server(configure_logging=False)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(server.serve, [standalone.socket])
            async with httpx2.AsyncClient(base_url=standalone.base_url, auth=CREDENTIALS) as http:
                yield http
            server.should_exit = True
    finally:
        standalone.socket.close()


async def test_the_standalone_emulator_answers_authenticated_requests_over_a_real_socket(tmp_path: Path) -> None:
    standalone = prepare("127.0.0.1", 0, tmp_path / "state.json", False)
    port = standalone.socket.getsockname()[1]

    async with running(standalone) as http:
        credit = await http.get("/project/credit")
        anonymous = await http.get("/project/credit", auth=NO_AUTH)

    assert standalone.base_url == f"http://127.0.0.1:{port}"
    assert (credit.status_code, credit.json()["data"]) == (200, {"balance": 1000})
    assert (anonymous.status_code, anonymous.json()["message"]) == (400, "Missing Authorization header")
    assert isinstance(standalone.state.clock, SystemClock)


async def test_a_function_created_over_the_socket_has_a_gateway_url_on_the_real_base_url_and_is_saved(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    standalone = prepare("127.0.0.1", 0, path, False)

    async with running(standalone) as http:
        created = (await http.post("/cloud-functions", json={"name": "over tcp"})).json()["data"]
        gateway = await http.post(f"/gateway/{created['functionUuid']}", content=b"{}")

    assert created["gatewayUrl"] == f"{standalone.base_url}/gateway/{created['functionUuid']}"
    assert (gateway.status_code, gateway.json()) == (500, {"message": "JOB_NOT_DEPLOYED"})
    assert [function.name for function in open_state(path).functions.values()] == ["over tcp"]


@pytest.mark.skipif(shutil.which("node") is None, reason="the gateway runs scripts with Node.js")
async def test_the_script_processes_stop_when_the_standalone_emulator_stops(tmp_path: Path) -> None:
    standalone = prepare("127.0.0.1", 0, tmp_path / "state.json", False)
    script = (
        "_STD_.ws.open([], () => _STD_.ws.registerPayloadHandler(({ sender }) => "
        '_STD_.ws.send(sender, Buffer.from(String(process.pid)).toString("hex"))));'
    )

    async with running(standalone) as http:
        function = (await http.post("/cloud-functions", json={"name": "pid"})).json()["data"]
        stored = standalone.state.store_file(function["bucketUuid"], "index.js", script.encode())
        await http.post(
            f"/cloud-functions/{function['functionUuid']}/jobs", json={"name": "v1", "scriptCid": stored.cid_v1}
        )
        standalone.state.clock.advance(30)
        pid = int((await http.post(f"/gateway/{function['functionUuid']}")).text)
        running_while_served = alive(pid)

    assert running_while_served
    assert not alive(pid)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_restarted_standalone_emulator_serves_what_the_previous_one_saved(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    async with running(prepare("127.0.0.1", 0, path, False)) as http:
        created = (await http.post("/cloud-functions", json={"name": "kept"})).json()["data"]

    async with running(prepare("127.0.0.1", 0, path, False)) as http:
        kept = await http.get(f"/cloud-functions/{created['functionUuid']}")
    async with running(prepare("127.0.0.1", 0, path, True)) as http:
        after_reset = await http.get(f"/cloud-functions/{created['functionUuid']}")

    assert (kept.status_code, kept.json()["data"]["name"]) == (200, "kept")
    assert after_reset.status_code == 404


async def test_ipv6_loopback_gets_a_bracketed_base_url() -> None:
    try:
        standalone = prepare("::1", 0, None, False)
    except ServeError:
        pytest.skip("this machine has no IPv6 loopback")
    port = standalone.socket.getsockname()[1]

    async with running(standalone) as http:
        response = await http.get("/cloud-functions")

    assert standalone.base_url == f"http://[::1]:{port}"
    assert response.status_code == 200


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT, as Ctrl+C does")
async def test_serve_prints_the_banner_answers_on_the_url_it_printed_and_exits_cleanly_on_ctrl_c(
    tmp_path: Path,
) -> None:
    code = (
        "import sys; from pathlib import Path; from apillon_mcp.emulator.standalone import serve; "
        "serve('127.0.0.1', 0, Path(sys.argv[1]), False, sys.stdout)"
    )
    environment = {**os.environ, "PYTHONPATH": str(Path(apillon_mcp.__file__).parents[1])}
    command = [sys.executable, "-c", code, str(tmp_path / "sandbox.sqlite3")]
    with anyio.fail_after(60):
        async with await anyio.open_process(command, env=environment) as process:
            assert process.stdout is not None and process.stderr is not None
            first_line = (await BufferedByteReceiveStream(process.stdout).receive_until(b"\n", 4096)).decode()
            base_url = first_line.rsplit(" at ", 1)[1]
            async with httpx2.AsyncClient(base_url=base_url, auth=CREDENTIALS) as http:
                response = await http.get("/cloud-functions")
            process.send_signal(signal.SIGINT)
            stderr = b"".join([chunk async for chunk in process.stderr]).decode()
            exit_code = await process.wait()

    assert first_line.startswith("Apillon emulator (offline sandbox) at http://127.0.0.1:")
    assert response.status_code == 200
    assert (tmp_path / "sandbox.sqlite3").exists()
    assert exit_code == 0
    assert "Finished server process" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
async def test_a_host_that_is_not_loopback_is_refused_without_allow_remote(tmp_path: Path, host: str) -> None:
    with pytest.raises(ServeError, match=f"refusing to listen on {host}: .*explicitly allowed"):
        prepare(host, 0, tmp_path / "state.json", False)

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.1", False),
        ("myhost.local", False),
        ("", False),
    ],
)
def test_only_localhost_and_loopback_addresses_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_a_port_in_use_is_a_serve_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(ServeError, match=f"cannot listen on 127.0.0.1:{port}"):
            prepare("127.0.0.1", port, tmp_path / "state.json", False)

    assert list(tmp_path.iterdir()) == []


async def test_a_corrupt_state_file_stops_the_standalone_emulator_before_it_serves(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{")

    with pytest.raises(StateFileError, match=r"state\.json cannot be imported"):
        prepare("127.0.0.1", 0, tmp_path / "state.json", False)


def test_the_banner_gives_the_url_the_credentials_and_how_to_use_them() -> None:
    text = banner("http://127.0.0.1:8787", Path("/data/emulator-state.json"))

    assert text.startswith("Apillon emulator (offline sandbox) at http://127.0.0.1:8787\n")
    assert "State: saved in /data/emulator-state.json" in text
    assert "  APILLON_API_URL=http://127.0.0.1:8787\n" in text
    assert f"  APILLON_API_KEY={DEFAULT_API_KEY}\n" in text
    assert f"  APILLON_API_SECRET={DEFAULT_API_SECRET}\n" in text
    assert f"curl -u '{DEFAULT_API_KEY}:{DEFAULT_API_SECRET}' http://127.0.0.1:8787/cloud-functions" in text
    assert "npx apillon cloud-functions list" in text
    assert "@apillon/sdk" in text and "\n  apillon-mcp\n" in text
    assert "http://127.0.0.1:8787/gateway/<function uuid>" in text
    assert "loopback address only" in text


def test_the_banner_says_when_the_state_is_in_memory_and_when_it_listens_beyond_loopback() -> None:
    text = banner("http://127.0.0.1:8787", None, remote=True)

    assert "State: in memory only" in text
    assert "beyond this machine" in text and "loopback address only" not in text


async def test_over_a_real_socket_a_rebound_host_is_refused_and_the_token_opens_the_controls(tmp_path: Path) -> None:
    standalone = prepare("127.0.0.1", 0, tmp_path / "state.json", False)
    token = {"authorization": f"Bearer {standalone.control_token}"}

    async with running(standalone) as http:
        rebound = await http.post("/cloud-functions", json={"name": "x"}, headers={"host": "rebind.example"})
        reset = await http.post("/_emulator/reset", json={}, headers=token, auth=NO_AUTH)
        tokenless = await http.post("/_emulator/reset", json={}, auth=NO_AUTH)

    assert (rebound.status_code, reset.status_code, tokenless.status_code) == (421, 200, 401)
    assert standalone.state.functions == {}


@pytest.mark.parametrize(
    ("arguments", "environment", "complaint"),
    [
        (["--base-url", "ftp://example.org"], {}, "--base-url 'ftp://example.org' is not usable"),
        (["--allowed-origins", "example.org"], {}, "'example.org' is not an origin"),
        ([], {"APILLON_EMULATOR_CONTROL_TOKEN": "short"}, "at least 16 characters"),
    ],
)
def test_the_command_refuses_unusable_door_options_with_one_line_and_exit_code_2(
    tmp_path: Path, arguments: list[str], environment: dict[str, str], complaint: str
) -> None:
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "apillon_mcp",
            "emulator",
            "--port",
            "0",
            "--state",
            str(tmp_path / "s.json"),
            *arguments,
        ],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 2
    assert finished.stderr.startswith("apillon-mcp: ") and complaint in finished.stderr
    assert len(finished.stderr.strip().splitlines()) == 1
    assert finished.stdout == ""
    assert list(tmp_path.iterdir()) == []
