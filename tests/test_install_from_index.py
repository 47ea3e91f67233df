"""Installed as a user installs it: `uvx`, `pipx run` and the MCP Bundle, with the dependencies from PyPI.

The wheel is built from this tree and offered next to PyPI, as it will be once published; each test runs in a new
home (no caches, no configuration) with `uv`, `uvx` and `pipx` on PATH and no `apillon-mcp` command. These tests
need the package registries, so they are marked `registry` and left out of a plain `python -m pytest`;
`.ci/run` runs them with `python -m pytest -m registry`.
"""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from bundle.pack import mcpb

from support import data
from wheels import ROOT, as_the_host_starts, build_wheel, bundle_manifest, outside_environment, version

pytestmark = pytest.mark.registry

# Generous: the first start downloads the dependencies (about 35 distributions).
START_TIMEOUT = 300


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only the wheel, offered to uv and pip as a flat index next to PyPI."""
    return build_wheel(tmp_path_factory.mktemp("index")).parent


class User:
    """A new home with uv, uvx and pipx on PATH (this environment's), the wheel offered next to PyPI, and the
    sandbox's state in the home's data folder."""

    def __init__(self, home: Path, index: Path) -> None:
        tools = home / "tools"
        tools.mkdir(parents=True)
        for name in ("uv", "uvx", "pipx"):
            found = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
            assert found, f"{name} is not installed: pip install -e '.[packaging]'"
            (tools / name).symlink_to(found)
        self.home = home
        base = outside_environment(drop=("UV_", "PIPX_", "PIP_"))
        self.env = base | {
            "PATH": os.pathsep.join([str(tools), base["PATH"]]),
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "UV_FIND_LINKS": str(index),
            "PIP_FIND_LINKS": str(index),
            "PIP_CONFIG_FILE": os.devnull,
            # This machine's Python, never a download: the test is about the package, not about uv's Pythons.
            "UV_PYTHON": sys.executable,
            "UV_PYTHON_DOWNLOADS": "never",
            "PIPX_DEFAULT_PYTHON": sys.executable,
        }
        if "PIP_CERT" in os.environ:  # how this machine trusts its TLS connections, not where packages come from
            self.env["PIP_CERT"] = os.environ["PIP_CERT"]

    def run(self, *command: str, extra: Mapping[str, str] | None = None, cwd: Path = ROOT) -> str:
        finished = subprocess.run(
            [self.which(command[0]), *command[1:]],
            env=self.env | dict(extra or {}),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )
        assert finished.returncode == 0, f"{' '.join(command)}: {finished.stdout}\n{finished.stderr}"
        return finished.stdout

    def which(self, command: str, env: Mapping[str, str] | None = None) -> str:
        found = shutil.which(command, path=(env or self.env)["PATH"])
        assert found, f"{command} is not on PATH"
        return found

    def server(self, command: str, *args: str, extra: Mapping[str, str] | None = None) -> StdioServerParameters:
        env = self.env | dict(extra or {})
        return StdioServerParameters(command=self.which(command, env), args=list(args), env=env, cwd=self.home)

    @property
    def sandbox_state(self) -> Path:
        return self.home / ".local" / "share" / "apillon-mcp"


@pytest.fixture
def user(tmp_path: Path, index: Path) -> User:
    return User(tmp_path / "home", index)


async def serves_the_whole_package(server: StdioServerParameters) -> None:
    """Over stdio, with the `initialize` handshake today's hosts use: tools/list and prompts/list match the
    package; the script contract and a sandbox call work."""
    manifest = bundle_manifest()
    with anyio.fail_after(START_TIMEOUT):
        async with Client(server, mode="legacy") as client:
            info = client.server_info
            tools = [tool.name for tool in (await client.list_tools()).tools]
            prompts = [prompt.name for prompt in (await client.list_prompts()).prompts]
            contract = await client.read_resource("apillon://docs/script-contract")
            created = await client.call_tool("create_cloud_function", {"name": "installed"})

    assert info is not None and info.version == version()
    assert tools == [tool["name"] for tool in manifest["tools"]]
    assert prompts == [prompt["name"] for prompt in manifest["prompts"]]
    assert "_STD_.ws.send" in getattr(contract.contents[0], "text", "")
    assert data(created)["name"] == "installed"


@pytest.mark.anyio
async def test_uvx_runs_the_published_wheel_with_the_sandbox(user: User) -> None:
    assert user.run("uvx", "apillon-mcp", "-V") == f"apillon-mcp {version()}\n"

    await serves_the_whole_package(user.server("uvx", "apillon-mcp", "--emulator"))

    assert list(user.sandbox_state.iterdir()), "the sandbox keeps its state in the user's data folder"


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["pip", "uv"])
async def test_pipx_run_runs_the_published_wheel_with_the_sandbox(user: User, backend: str) -> None:
    chosen = {"PIPX_DEFAULT_BACKEND": backend}

    assert user.run("pipx", "run", "apillon-mcp", "-V", extra=chosen).endswith(f"apillon-mcp {version()}\n")

    await serves_the_whole_package(user.server("pipx", "run", "apillon-mcp", "--emulator", extra=chosen))


@pytest.mark.anyio
async def test_the_bundle_validates_packs_unpacks_and_serves_as_the_host_starts_it(user: User, tmp_path: Path) -> None:
    packed = subprocess.run(
        [sys.executable, "-m", "bundle", "pack", "--out", str(tmp_path / "dist")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert packed.returncode == 0, packed.stdout + packed.stderr
    archive = tmp_path / "dist" / f"apillon-mcp-{version()}.mcpb"
    assert f"bundle: {archive}" in packed.stdout

    installed = tmp_path / "installed"
    cli = mcpb()
    subprocess.run([*cli, "unpack", str(archive), str(installed)], check=True, capture_output=True)
    validated = subprocess.run([*cli, "validate", str(installed / "manifest.json")], capture_output=True, text=True)
    assert validated.returncode == 0 and "Manifest schema validation passes!" in validated.stdout
    assert json.loads((installed / "manifest.json").read_text(encoding="utf-8")) == bundle_manifest()

    started = as_the_host_starts(bundle_manifest(), installed, {"sandbox": True})
    await serves_the_whole_package(user.server(started["command"], *started["args"], extra=started["env"]))

    assert (installed / ".venv").is_dir(), "uv installed the dependencies into the bundle's folder"
