"""server.json, pyproject, README and the tool list agree; the wheel carries prompts, docs and the shim."""

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import jsonschema
import pytest
from mcp import Client

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "tests" / "fixtures" / "server.schema.2025-12-11.json"


def server_json() -> dict[str, object]:
    return json.loads((ROOT / "server.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_server_json_is_valid_against_the_registry_schema() -> None:
    jsonschema.validate(server_json(), json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_versions_agree_and_the_readme_carries_the_registry_marker() -> None:
    manifest = server_json()
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    (package,) = manifest["packages"]  # type: ignore[misc]

    assert manifest["version"] == package["version"] == version
    assert package["identifier"] == "apillon-mcp" and package["transport"] == {"type": "stdio"}
    assert f"mcp-name: {manifest['name']}" in (ROOT / "README.md").read_text(encoding="utf-8")


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
    (package,) = server_json()["packages"]  # type: ignore[misc]
    declared = {variable["name"]: variable for variable in package["environmentVariables"]}
    read = set(re.findall(r'"(APILLON_[A-Z_]+)"', (ROOT / "apillon_mcp" / "config.py").read_text(encoding="utf-8")))

    assert set(declared) == read - HTTP_ONLY
    for name in ("APILLON_API_KEY", "APILLON_API_SECRET", "APILLON_MCP_CONFIRMATION_KEY"):
        assert declared[name].get("isSecret") is True


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


def test_the_wheel_carries_prompts_docs_and_the_script_shim(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder

    wheel = Path(next(iter(WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")

    assert {f"apillon_mcp/prompt_files/{p.name}" for p in (ROOT / "prompts").glob("*.md")} <= names
    assert {"apillon_mcp/docs/script-contract.md", "apillon_mcp/emulator/acurast_shim.js"} <= names
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "from apillon_mcp.prompts import load_prompts, prompts_folder;"
            "print(prompts_folder()); print(sorted(p.name for p in load_prompts()))",
        ],
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.splitlines()
    assert loaded[0].startswith(str(tmp_path / "site"))
    assert loaded[1] == "['deploy_function', 'rotate_environment', 'troubleshoot_function']"
