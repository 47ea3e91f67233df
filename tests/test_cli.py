"""The command line: stdio server, credential check, demo."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from apillon_mcp.demo import run_demo

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

    assert len(listed) == 9
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


def test_the_demo_walks_through_every_step_and_shows_no_secret() -> None:
    out = io.StringIO()

    assert run_demo(out) == 0

    printed = out.getvalue()
    assert printed.count("> ") >= 10
    assert "(MATCHED)" in printed
    assert printed.count("Confirmation required:") == 2
    assert "Replaced the environment" in printed
    assert "Deleted job" in printed
    assert "demo-secret-value" not in printed
