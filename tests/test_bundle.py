"""The MCP Bundle: its manifest is in step with the package and starts the server the way its settings say.

Packing it with `mcpb`, unpacking it and serving from it need npm and PyPI: the `registry` tests do that.
"""

import json
import re
import zipfile
from pathlib import Path

import pytest
from mcp import Client

from apillon_mcp.config import Settings
from bundle import manifest
from bundle.cli import main
from bundle.pack import stage

from wheels import ROOT, as_the_host_starts, build_wheel, bundle_manifest, pyproject

CONFIG = (ROOT / "apillon_mcp" / "config.py").read_text(encoding="utf-8")
SETTINGS_READ = set(re.findall(r'"(APILLON_[A-Z_]+)"', CONFIG))


def test_the_committed_manifest_is_in_step_with_the_package() -> None:
    committed = manifest.committed()

    assert manifest.refreshed(committed) == committed, "bundle/manifest.json is stale: run `python -m bundle manifest`"
    assert main(["manifest", "--check"]) == 0


@pytest.mark.anyio
async def test_the_manifest_lists_the_tools_and_prompts_the_server_serves(mcp: Client) -> None:
    bundle = bundle_manifest()
    tools = (await mcp.list_tools()).tools
    prompts = (await mcp.list_prompts()).prompts

    assert [tool["name"] for tool in bundle["tools"]] == [tool.name for tool in tools]
    assert all(entry["description"] for entry in bundle["tools"])
    assert [prompt["name"] for prompt in bundle["prompts"]] == [prompt.name for prompt in prompts]
    for entry, prompt in zip(bundle["prompts"], prompts, strict=True):
        assert entry["arguments"] == [argument.name for argument in prompt.arguments or []]
        assert all(f"${{arguments.{name}}}" in entry["text"] for name in entry["arguments"]), entry["name"]
    assert bundle.get("tools_generated", False) is False


def test_the_host_runs_the_package_with_uv_from_the_bundle_folder() -> None:
    bundle = bundle_manifest()
    server = bundle["server"]
    config = server["mcp_config"]

    assert bundle["manifest_version"] == "0.4" and server["type"] == "uv"
    assert config["command"] == "uv"
    assert config["args"] == ["run", "--directory", "${__dirname}", *pyproject()["project"]["scripts"]]
    assert (ROOT / server["entry_point"]).is_file()
    assert bundle["compatibility"]["runtimes"] == {"python": pyproject()["project"]["requires-python"]}


def test_every_variable_the_bundle_sets_is_a_setting_and_every_option_has_a_default() -> None:
    bundle = bundle_manifest()
    options = bundle["user_config"]
    env = bundle["server"]["mcp_config"]["env"]

    assert set(env) <= SETTINGS_READ
    assert set(re.findall(r"\$\{user_config\.(\w+)\}", json.dumps(bundle["server"]))) == set(options)
    # A host passes an option left empty as the literal `${user_config.NAME}` unless it has a default.
    assert all("default" in option for option in options.values())
    for name in ("api_key", "api_secret"):
        assert options[name]["type"] == "string"
        assert options[name]["sensitive"] is True and options[name]["required"] is False
        assert "Not needed with Sandbox on" in options[name]["description"]
    assert env["APILLON_EMULATOR"] == "${user_config.sandbox}" and options["sandbox"]["type"] == "boolean"
    assert env["APILLON_READ_ONLY"] == "${user_config.read_only}" and options["read_only"]["type"] == "boolean"


@pytest.mark.parametrize(
    ("choices", "missing", "sandbox"),
    [
        ({}, ["APILLON_API_KEY", "APILLON_API_SECRET"], False),
        ({"sandbox": True}, [], True),
        ({"api_key": "7f3c9a52-5d1e-4b8a-9c6f-2e4d8b1a0c37", "api_secret": "s3cret!"}, [], False),
    ],
)
def test_what_the_host_passes_is_a_configuration_the_server_reads(
    choices: dict[str, object], missing: list[str], sandbox: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in SETTINGS_READ:
        monkeypatch.delenv(name, raising=False)
    started = as_the_host_starts(bundle_manifest(), tmp_path, choices)
    for name, value in started["env"].items():
        monkeypatch.setenv(name, value)

    settings = Settings()

    assert "${" not in json.dumps(started)
    assert settings.missing_credentials() == missing
    assert settings.emulator is sandbox and settings.read_only is False and settings.tools is None


def test_the_staged_bundle_builds_the_same_wheel_as_the_repository(tmp_path: Path) -> None:
    staged = tmp_path / "bundle"
    stage(staged, manifest.committed())

    from_bundle = build_wheel(tmp_path / "from-bundle", source=staged)
    from_repository = build_wheel(tmp_path / "from-repository")

    assert json.loads((staged / "manifest.json").read_text(encoding="utf-8")) == manifest.committed()
    assert not list(staged.rglob("__pycache__"))
    with zipfile.ZipFile(from_bundle) as bundled, zipfile.ZipFile(from_repository) as reference:
        assert sorted(bundled.namelist()) == sorted(reference.namelist())
        for name in reference.namelist():
            if not name.endswith("/RECORD"):
                assert bundled.read(name) == reference.read(name), name


def test_a_stale_manifest_is_refused_by_pack_and_brought_in_step_by_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = manifest.committed() | {"version": "0.0.1", "tools": []}
    copy = tmp_path / "manifest.json"
    copy.write_text(manifest.render(stale), encoding="utf-8")
    monkeypatch.setattr(manifest, "MANIFEST", copy)

    assert main(["manifest", "--check"]) == 1
    assert main(["pack", "--out", str(tmp_path / "dist")]) == 1
    assert "run `python -m bundle manifest`" in capsys.readouterr().err
    assert not (tmp_path / "dist").exists()

    assert main(["manifest"]) == 0
    assert json.loads(copy.read_text(encoding="utf-8")) == manifest.refreshed(stale) != stale
    assert main(["manifest", "--check"]) == 0
