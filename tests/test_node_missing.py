"""When Node.js is missing: the gateway says what to install, the demo fails, and doctor --emulator says so."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from apillon_mcp.demo import run_demo
from apillon_mcp.emulator import EmulatorState

from scripts import ECHO
from support import data, text


@pytest.fixture
def no_node(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A PATH on which there is no `node`."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


@pytest.mark.anyio
async def test_invoking_in_the_sandbox_says_which_node_to_install_and_how(
    mcp: Client, emulator: EmulatorState, no_node: Path
) -> None:
    function = emulator.create_function("no node")
    deployed = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO},
    )
    assert data(deployed)["outcome"] == "matched"

    answer = await mcp.call_tool("invoke_cloud_function", {"function_uuid": function.function_uuid})

    message = text(answer)
    assert answer.is_error
    assert "Node.js was not found on PATH" in message
    assert "Node.js 20.16+ or 22.3+" in message and "https://nodejs.org" in message
    assert "retry" not in message.lower()


def test_the_demo_exits_non_zero_and_says_why(no_node: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()

    assert run_demo(out) == 1

    assert "Demo finished" not in out.getvalue()
    failure = capsys.readouterr().err
    assert "demo failed: test_cloud_function_script failed" in failure
    assert "Node.js was not found on PATH" in failure


def test_doctor_in_the_sandbox_fails_and_gives_the_fix(no_node: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "apillon_mcp", "doctor", "--emulator", "--emulator-state", ":memory:"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PATH": str(no_node)},
    )

    node_line = next(line for line in finished.stdout.splitlines() if line.startswith("node.js"))
    assert finished.returncode == 1, finished.stdout + finished.stderr
    assert "FAIL" in node_line and "Node.js was not found on PATH" in node_line
    assert "fix: Install an LTS release from https://nodejs.org" in finished.stdout


def test_doctor_against_the_live_api_only_warns(no_node: Path) -> None:
    from apillon_mcp.doctor import node_check

    check = node_check(sandbox=False)

    assert (check.name, check.result) == ("node.js", "warn")
    assert "cannot be run or checked locally" in check.detail
