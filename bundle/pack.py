"""Packs the MCP Bundle with the official `mcpb` CLI: the manifest, and the sources `uv` builds the package from.

The host installs a `uv` bundle by running `uv run` in the unpacked folder, which builds the package from
`pyproject.toml` the way `pip install .` does. So the bundle holds what that build reads (the project file, the
readme, the package and the folders `pyproject.toml` force-includes), taken from `pyproject.toml` itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bundle import manifest

BUNDLE_DIR = manifest.REPO_ROOT / "bundle"
MCPB_PACKAGE = BUNDLE_DIR / "node_modules" / "@anthropic-ai" / "mcpb"
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store")


class BundleError(Exception):
    """The bundle cannot be built: one line saying why and what to do."""


def sources(project_file: Mapping[str, Any]) -> list[str]:
    """Paths, relative to the repository, of everything building the wheel reads."""
    wheel = project_file["tool"]["hatch"]["build"]["targets"]["wheel"]
    readme = project_file["project"]["readme"]
    return ["pyproject.toml", readme, *wheel["packages"], *wheel.get("force-include", {})]


def stage(directory: Path, content: Mapping[str, Any]) -> None:
    """Lays out the bundle's files in `directory` (which must not exist), with `content` as its manifest."""
    directory.mkdir(parents=True)
    for relative in sources(manifest.pyproject()):
        source, target = manifest.REPO_ROOT / relative, directory / relative
        if source.is_dir():
            shutil.copytree(source, target, ignore=SKIPPED)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (directory / "manifest.json").write_text(manifest.render(content), encoding="utf-8")


def mcpb() -> list[str]:
    """The command that runs the `mcpb` CLI pinned in `bundle/package-lock.json`, installing it first if needed."""
    if _installed_mcpb_version() != _locked_mcpb_version():
        npm = shutil.which("npm")
        if npm is None:
            raise BundleError("npm is not on PATH: install Node.js (20 or newer) to build the bundle")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BUNDLE_DIR, check=True)
    package = _read_json(MCPB_PACKAGE / "package.json")
    node = shutil.which("node")
    if node is None:
        raise BundleError("node is not on PATH: install Node.js (20 or newer) to build the bundle")
    entry = package["bin"] if isinstance(package["bin"], str) else package["bin"]["mcpb"]
    return [node, str(MCPB_PACKAGE / entry)]


def _locked_mcpb_version() -> str:
    locked = _read_json(BUNDLE_DIR / "package-lock.json")["packages"]["node_modules/@anthropic-ai/mcpb"]
    return str(locked["version"])


def _installed_mcpb_version() -> str | None:
    installed = MCPB_PACKAGE / "package.json"
    return str(_read_json(installed)["version"]) if installed.exists() else None


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def pack(out_dir: Path) -> Path:
    """Validates and packs the bundle into `out_dir`; returns the `.mcpb` file's path."""
    if manifest.is_stale():
        raise BundleError("bundle/manifest.json is not in step with the package: run `python -m bundle manifest`")
    content = manifest.committed()
    cli = mcpb()
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir.resolve() / f"{content['name']}-{content['version']}.mcpb"
    with tempfile.TemporaryDirectory(prefix="apillon-mcp-bundle-") as scratch:
        staged = Path(scratch) / str(content["name"])
        stage(staged, content)
        subprocess.run([*cli, "validate", str(staged / "manifest.json")], check=True)
        subprocess.run([*cli, "pack", str(staged), str(archive)], check=True)
    return archive
