"""The shipped dashboard is, byte for byte, what ui/ builds; the view's sources type-check and are formatted."""

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.ui

UI = Path(__file__).resolve().parents[2] / "ui"


def run_in_ui(*command: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None or not (UI / "node_modules").is_dir():
        pytest.fail("needs Node and ui/node_modules: run `npm ci` in ui/")
    return subprocess.run(list(command), cwd=UI, capture_output=True, text=True, check=False)


def test_the_shipped_dashboard_is_the_build_of_its_sources_byte_for_byte() -> None:
    checked = run_in_ui("node", "build.mjs", "--check")

    assert checked.returncode == 0, checked.stderr


def test_the_view_and_the_test_host_type_check() -> None:
    checked = run_in_ui("node", "node_modules/typescript/bin/tsc", "--noEmit", "-p", ".")

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_ui_sources_are_formatted() -> None:
    checked = run_in_ui("node", "node_modules/prettier/bin/prettier.cjs", "--check", ".")

    assert checked.returncode == 0, checked.stdout + checked.stderr
