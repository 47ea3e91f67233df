"""`apillon-mcp doctor` against the emulator: keys with and without the permissions the tools need."""

import os
import subprocess
import sys

import pytest

from apillon_mcp.backends import sandbox_api
from apillon_mcp.doctor import passed, render, run_checks
from apillon_mcp.emulator import EmulatorState, Role, Service
from apillon_mcp.tools import select_tools

from support import ALL_ROLES

pytestmark = pytest.mark.anyio

KEY, SECRET = "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98", "NoExec#Key42"


async def checks_for(emulator: EmulatorState, roles: list[tuple[Role, Service]], *, read_only: bool = False) -> str:
    emulator.add_api_key(KEY, SECRET, roles)
    checks = await run_checks(
        "the emulator", sandbox_api(emulator, api_key=KEY, api_secret=SECRET), select_tools(read_only=read_only)
    )
    return ("passed" if passed(checks) else "failed") + "\n" + render(checks)


async def test_a_key_with_every_role_passes(emulator: EmulatorState) -> None:
    report = await checks_for(emulator, ALL_ROLES)

    assert report.startswith("passed")
    assert report.count(" ok ") == 7
    assert "1000 credits" in report


async def test_a_key_without_execute_fails_and_says_how_to_fix_it(emulator: EmulatorState) -> None:
    roles = [r for r in ALL_ROLES if r[0] is not Role.EXECUTE]

    report = await checks_for(emulator, roles)

    assert report.startswith("failed")
    lines = report.splitlines()
    computing = next(line for line in lines if "Execute on Computing" in line)
    assert "FAIL" in computing and "set_cloud_function_environment" in computing
    assert "fix: add Execute on Computing to this API key" in report
    assert "Execute on Storage" in report and "deploy_cloud_function_script" in report


async def test_a_key_without_execute_on_storage_is_not_ok_although_an_empty_upload_gets_422(
    emulator: EmulatorState,
) -> None:
    """The upload route validates before its role guard, so the probe must not be an upload."""
    roles = [role for role in ALL_ROLES if role != (Role.EXECUTE, Service.STORAGE)]

    report = await checks_for(emulator, roles)

    storage = next(line for line in report.splitlines() if "Execute on Storage" in line)
    assert report.startswith("failed")
    assert " ok " not in storage
    assert "FAIL" in storage and "missing (KEY_EXECUTE)" in storage and "deploy_cloud_function_script" in storage
    assert "fix: add Execute on Storage to this API key" in report
    assert emulator.storage.sessions == {}


async def test_read_only_mode_needs_only_read(emulator: EmulatorState) -> None:
    report = await checks_for(emulator, [(Role.READ, Service.COMPUTING)], read_only=True)

    assert report.startswith("passed")
    assert "warn" in report and "FAIL" not in report


async def test_the_doctor_changes_nothing(emulator: EmulatorState) -> None:
    await checks_for(emulator, ALL_ROLES)

    assert emulator.functions == {} and emulator.jobs == {}
    assert emulator.credit_balance("5b2e8f14-3c7a-4d9e-8a61-f0b7c2d94e85") == 1000


async def test_a_wrong_secret_fails_authentication_and_skips_the_permissions(emulator: EmulatorState) -> None:
    checks = await run_checks("the emulator", sandbox_api(emulator, api_secret="Wrong#Secret"), select_tools())

    report = render(checks)
    assert not passed(checks)
    assert "authentication" in report and "40002400" in report
    assert report.count("skipped") == 5
    assert "Wrong#Secret" not in report


def test_the_command_checks_the_sandbox_without_writing_its_state_and_exits_0(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    state = tmp_path_factory.mktemp("doctor") / "state.json"
    finished = subprocess.run(
        [sys.executable, "-m", "apillon_mcp", "doctor", "--emulator", "--emulator-state", str(state)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "permission: Execute on Computing" in finished.stdout
    assert list(state.parent.iterdir()) == []


def test_the_command_without_credentials_exits_1_with_the_fix() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APILLON_")}
    finished = subprocess.run(
        [sys.executable, "-m", "apillon_mcp", "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 1
    assert "APILLON_API_KEY and APILLON_API_SECRET not set" in finished.stdout
