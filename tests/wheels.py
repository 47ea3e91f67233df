"""The wheel, what it must carry, and the environment of a process that must not see the source tree."""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent


def pyproject(source: Path = ROOT) -> dict[str, Any]:
    return tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))


def version() -> str:
    return str(pyproject()["project"]["version"])


def build_wheel(directory: Path, source: Path = ROOT) -> Path:
    from hatchling.builders.wheel import WheelBuilder

    return Path(next(iter(WheelBuilder(str(source)).build(directory=str(directory), versions=["standard"]))))


def packaged_files(source: Path = ROOT) -> dict[str, Path]:
    """Every file the wheel must carry, by its path in the wheel, and the file it comes from: all of each package
    and of each folder that `pyproject.toml` force-includes. Built from the tree, so a new file is covered."""
    wheel = pyproject(source)["tool"]["hatch"]["build"]["targets"]["wheel"]
    folders = {package: package for package in wheel["packages"]} | wheel.get("force-include", {})
    found = {}
    for folder, target in folders.items():
        for path in sorted((source / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                found[f"{target}/{path.relative_to(source / folder).as_posix()}"] = path
    return found


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bundle_manifest() -> dict[str, Any]:
    return cast("dict[str, Any]", json.loads((ROOT / "bundle" / "manifest.json").read_text(encoding="utf-8")))


def outside_environment(extra: Mapping[str, str] | None = None, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment for a child that must find nothing of this checkout: no APILLON_* settings, no
    PYTHONPATH, and no PATH entry that holds an `apillon-mcp` command; variables starting with `drop` left out."""
    prefixes = ("APILLON_", "PYTHON", "VIRTUAL_ENV", *drop)
    kept = {name: value for name, value in os.environ.items() if not name.startswith(prefixes)}
    path = [entry for entry in kept.get("PATH", "").split(os.pathsep) if entry and not _holds_the_command(entry)]
    return kept | {"PATH": os.pathsep.join(path)} | dict(extra or {})


def _holds_the_command(directory: str) -> bool:
    return any((Path(directory) / name).exists() for name in ("apillon-mcp", "apillon-mcp.exe"))


def as_the_host_starts(manifest: Mapping[str, Any], folder: Path, choices: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest's `mcp_config` with `${__dirname}` and each `${user_config.NAME}` filled in as the host does:
    the user's choice, else the option's default (JSON text for booleans and numbers)."""
    options = manifest.get("user_config", {})
    values = {"__dirname": str(folder)}
    for name, option in options.items():
        value = choices.get(name, option.get("default"))
        if value is not None:
            values[f"user_config.{name}"] = value if isinstance(value, str) else json.dumps(value)

    def fill(text: str) -> str:
        for placeholder, value in values.items():
            text = text.replace(f"${{{placeholder}}}", value)
        return text

    config = manifest["server"]["mcp_config"]
    return {
        "command": fill(config["command"]),
        "args": [fill(argument) for argument in config.get("args", [])],
        "env": {name: fill(value) for name, value in config.get("env", {}).items()},
    }
