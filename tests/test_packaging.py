"""server.json, pyproject, README and the tool list agree; the installed wheel carries and loads every file."""

import json
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any, cast

import jsonschema
import pytest
from mcp import Client, StdioServerParameters

from apillon_mcp.__main__ import main
from apillon_mcp.apillon.permissions import Permission, Role, Service
from apillon_mcp.tools import ALL_TOOLS

from support import data
from wheels import ROOT, build_wheel, bundle_manifest, outside_environment, packaged_files, sha256, version

SCHEMA = ROOT / "tests" / "fixtures" / "server.schema.2025-12-11.json"


def server_json() -> dict[str, Any]:
    return cast("dict[str, Any]", json.loads((ROOT / "server.json").read_text(encoding="utf-8")))


def declared_variables() -> dict[str, dict[str, object]]:
    (package,) = server_json()["packages"]
    return {variable["name"]: variable for variable in package["environmentVariables"]}


def test_server_json_is_valid_against_the_registry_schema() -> None:
    jsonschema.validate(server_json(), json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_versions_agree_and_the_readme_carries_the_registry_marker() -> None:
    manifest = server_json()
    (package,) = manifest["packages"]

    assert manifest["version"] == package["version"] == bundle_manifest()["version"] == version()
    assert package["identifier"] == "apillon-mcp" and package["transport"] == {"type": "stdio"}
    assert f"mcp-name: {manifest['name']}" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_the_version_flag_prints_the_package_version(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([flag])

    assert exited.value.code == 0
    assert capsys.readouterr().out == f"apillon-mcp {version()}\n"


# Settings of the HTTP deployment only; the registry package runs over stdio.
HTTP_ONLY = {
    "APILLON_MCP_TRANSPORT",
    "APILLON_MCP_HOST",
    "APILLON_MCP_PORT",
    "APILLON_MCP_TOKEN",
    "APILLON_MCP_ALLOWED_HOSTS",
    "APILLON_MCP_PER_REQUEST_CREDENTIALS",
}


def test_every_stdio_setting_is_declared_and_secrets_are_marked() -> None:
    declared = declared_variables()
    read = set(re.findall(r'"(APILLON_[A-Z_]+)"', (ROOT / "apillon_mcp" / "config.py").read_text(encoding="utf-8")))

    assert set(declared) == read - HTTP_ONLY
    for name in ("APILLON_API_KEY", "APILLON_API_SECRET", "APILLON_MCP_CONFIRMATION_KEY"):
        assert declared[name].get("isSecret") is True


def test_the_key_and_secret_are_not_required_because_the_sandbox_needs_neither() -> None:
    declared = declared_variables()

    for name in ("APILLON_API_KEY", "APILLON_API_SECRET"):
        assert declared[name]["isRequired"] is False
        assert "Not needed with APILLON_EMULATOR=true" in str(declared[name]["description"])
    sandbox = declared["APILLON_EMULATOR"]
    assert sandbox["format"] == "boolean" and sandbox["default"] == "false"
    assert "--emulator" in str(sandbox["description"]) and "no key" in str(sandbox["description"])


def permissions_phrase(needed: set[Permission]) -> str:
    """Every role the tools need, per service, as the descriptions of the key spell them out."""

    def listed(words: list[str]) -> str:
        return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"

    parts = [
        f"{listed([role.title for role in Role if Permission(role, service) in needed])} on {service.value}"
        for service in Service
        if any(permission.service is service for permission in needed)
    ]
    return ", and ".join(parts)


def test_every_description_of_the_key_names_each_permission_the_tools_use() -> None:
    phrase = permissions_phrase({permission for tool in ALL_TOOLS for permission in tool.needs})
    bundle = bundle_manifest()

    assert phrase == "Read, Write and Execute on Computing, and Read and Execute on Storage"
    assert phrase in str(declared_variables()["APILLON_API_KEY"]["description"])
    assert phrase in bundle["user_config"]["api_key"]["description"]
    assert phrase in bundle["long_description"]
    assert phrase in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.anyio
async def test_the_readme_tool_table_matches_tools_list(mcp: Client) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Tools", 1)[1].split("\n\n", 2)[1]
    documented = re.findall(r"^\| `([a-z_]+)\(", table, flags=re.MULTILINE)
    listed = (await mcp.list_tools()).tools

    assert sorted(documented) == sorted(tool.name for tool in listed)
    for tool in listed:
        row = next(line for line in table.splitlines() if line.startswith(f"| `{tool.name}("))
        hints = tool.annotations
        assert hints is not None
        kind = row.rsplit("|", 2)[1]
        assert ("read-only" in kind) == bool(hints.read_only_hint), tool.name
        assert ("destructive" in kind) == bool(hints.destructive_hint), tool.name
        arguments = set(tool.input_schema.get("properties", {}))
        assert all(argument in row for argument in arguments), (tool.name, arguments)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("dist"))


def test_the_wheel_carries_every_file_of_the_package_the_prompts_and_the_type_marker(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())

    assert not set(packaged_files()) - names, "left out of the wheel (git-ignored? see [tool.hatch.build])"
    assert {f"apillon_mcp/prompt_files/{p.name}" for p in (ROOT / "prompts").glob("*.md")} <= names
    assert {"apillon_mcp/py.typed", "apillon_mcp/docs/script-contract.md"} <= names
    assert any(name.startswith("apillon_mcp/") and name.endswith(".js") for name in names), "the script runner shim"


class FreshVenv:
    """A new virtual environment holding the wheel, and nothing of the source tree."""

    def __init__(self, root: Path, wheel: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
        self.python = next(path for path in (root / "bin" / "python", root / "Scripts" / "python.exe") if path.exists())
        paths = json.loads(self.run("import json, sysconfig; print(json.dumps(sysconfig.get_paths()))"))
        self.root, self.site_packages, self.scripts = root, Path(paths["purelib"]), Path(paths["scripts"])
        install = ["install", "--quiet", "--no-deps", "--no-index", str(wheel)]
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(self.python), *install],
            check=True,
            env=outside_environment(),
        )
        # The dependencies come from this test run's environment (appended to sys.path, after the venv's own
        # site-packages, where the wheel is), so the test needs no network; the `registry` tests install them.
        dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        (self.site_packages / "dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n", encoding="utf-8")

    def run(self, code: str, *args: str) -> str:
        return subprocess.run(
            [str(self.python), "-c", code, *args],
            env=outside_environment(),
            cwd=self.python.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> FreshVenv:
    return FreshVenv(tmp_path_factory.mktemp("fresh") / "venv", wheel)


LOAD_EVERY_FILE = """
import hashlib, json, sys
from importlib.resources import files
import apillon_mcp
from apillon_mcp.prompts import load_prompts, prompts_folder
from apillon_mcp.resources import script_contract

root = files("apillon_mcp")
print(json.dumps({
    "module": apillon_mcp.__file__,
    "version": apillon_mcp.__version__,
    "prompts_folder": str(prompts_folder()),
    "prompts": sorted(prompt.name for prompt in load_prompts()),
    "script_contract": script_contract(),
    "files": {
        name: hashlib.sha256(root.joinpath(name.removeprefix("apillon_mcp/")).read_bytes()).hexdigest()
        for name in json.loads(sys.argv[1])
    },
}))
"""


def test_every_data_file_loads_from_the_installed_wheel_outside_the_source_tree(venv: FreshVenv) -> None:
    data_files = {name: path for name, path in packaged_files().items() if path.suffix != ".py"}

    loaded = json.loads(venv.run(LOAD_EVERY_FILE, json.dumps(sorted(data_files))))

    assert Path(loaded["module"]).is_relative_to(venv.site_packages)
    assert Path(loaded["prompts_folder"]).is_relative_to(venv.site_packages)
    assert loaded["version"] == version()
    assert loaded["prompts"] == sorted(path.stem for path in (ROOT / "prompts").glob("*.md"))
    assert loaded["script_contract"] == (ROOT / "apillon_mcp" / "docs" / "script-contract.md").read_text("utf-8")
    assert loaded["files"] == {name: sha256(path) for name, path in data_files.items()}
    assert "apillon_mcp/py.typed" in loaded["files"]


RUN_A_SCRIPT = """
import anyio, apillon_mcp.runner as runner
script = b'_STD_.ws.open([], () => _STD_.ws.registerPayloadHandler(({ sender }) => '
script += b'_STD_.ws.send(sender, Buffer.from("ran from " + typeof _STD_).toString("hex"))));'
payload = runner.gateway_payload(body=None, path="/", query=[], headers=[])
outcome = anyio.run(lambda: runner.run_once(script, payload, env={}, timeout=60))
print(runner.__file__, outcome.result.body.decode())
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="scripts run with Node.js")
def test_the_installed_runner_runs_a_script_behind_its_shim(venv: FreshVenv) -> None:
    module, reply = venv.run(RUN_A_SCRIPT).split(" ", 1)

    assert Path(module).is_relative_to(venv.site_packages)
    assert reply.strip() == "ran from object"


@pytest.mark.anyio
async def test_the_installed_command_serves_tools_prompts_and_the_script_contract(venv: FreshVenv) -> None:
    command = next(venv.scripts.glob("apillon-mcp*"))
    server = StdioServerParameters(
        command=str(command),
        args=["--emulator", "--emulator-state", ":memory:"],
        env=outside_environment(),
        cwd=venv.root,
    )

    async with Client(server) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
        contract = await client.read_resource("apillon://docs/script-contract")
        created = await client.call_tool("create_cloud_function", {"name": "from the wheel"})

    assert tools == {tool.name for tool in ALL_TOOLS}
    assert prompts == {path.stem for path in (ROOT / "prompts").glob("*.md")}
    assert "_STD_.ws.send" in getattr(contract.contents[0], "text", "")
    assert data(created)["name"] == "from the wheel"
