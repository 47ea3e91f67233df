"""`find_node`: which Node.js runs scripts, with which flags, and a clear refusal when none can isolate them."""

import shutil
import sys
from pathlib import Path

import pytest

from apillon_mcp.runner import NodeUnavailable, find_node

posix = pytest.mark.skipif(sys.platform == "win32", reason="the stand-in node is a shell script")


def stand_in_node(directory: Path, version: str) -> Path:
    """A `node` on PATH that only says its version."""
    node = directory / "node"
    node.write_text(f"#!/bin/sh\necho {version}\n", encoding="utf-8")
    node.chmod(0o755)
    return node


def test_without_node_on_path_the_message_says_what_is_missing_and_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(NodeUnavailable) as missing:
        find_node()

    assert missing.value.problem.startswith("Node.js was not found on PATH (looked for `node`)")
    assert "Node.js 20.16+ or 22.3+ (not 21)" in str(missing.value)
    assert "https://nodejs.org" in missing.value.fix
    assert str(missing.value).startswith(missing.value.problem)


@posix
@pytest.mark.parametrize("version", ["v18.19.1", "v20.0.0", "v20.15.1", "v21.7.3", "v22.2.0"])
def test_a_node_whose_permission_model_leaves_something_open_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, version: str
) -> None:
    node = stand_in_node(tmp_path, version)
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(NodeUnavailable) as refused:
        find_node()

    assert refused.value.problem.startswith(f"Node.js {version} at {node} is too old")
    assert "permission model" in refused.value.problem


@posix
@pytest.mark.parametrize(
    ("version", "flags"),
    [
        ("v20.16.0", ["--experimental-permission"]),
        ("v20.20.2", ["--experimental-permission"]),
        ("v22.3.0", ["--experimental-permission"]),
        ("v22.13.0", ["--permission"]),
        ("v23.4.0", ["--experimental-permission"]),
        ("v23.5.0", ["--permission"]),
        ("v24.11.1", ["--permission"]),
        ("v25.2.1", ["--permission", "--allow-net"]),
    ],
)
def test_each_supported_version_gets_the_flag_that_turns_its_permission_model_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, version: str, flags: list[str]
) -> None:
    node = stand_in_node(tmp_path, version)
    monkeypatch.setenv("PATH", str(tmp_path))

    runtime = find_node()

    assert (runtime.path, runtime.version_text) == (str(node), version)
    assert runtime.isolation_flags() == [*flags, "--disable-warning=ExperimentalWarning"]


@posix
def test_a_node_replaced_on_disk_is_asked_its_version_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    stand_in_node(tmp_path, "v18.20.0")
    with pytest.raises(NodeUnavailable):
        find_node()

    stand_in_node(tmp_path, "v22.22.0")

    assert find_node().version == (22, 22, 0)


@posix
def test_a_node_that_prints_no_version_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stand_in_node(tmp_path, "hello")
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(NodeUnavailable, match="did not print its version"):
        find_node()


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_the_node_on_this_machine_is_found() -> None:
    runtime = find_node()

    assert runtime.path == shutil.which("node")
    assert runtime.version >= (20, 16, 0)
