"""The bundle's `manifest.json`: hand-written metadata, plus the parts read from the package.

The version and the Python requirement come from `pyproject.toml`; the tools and prompts from the server itself
(`tools/list` and `prompts/list` of a server built with every tool), so a new tool or prompt needs only
`python -m bundle manifest` re-run. Everything else in `bundle/manifest.json` is edited by hand and kept as is.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, cast

import anyio

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = REPO_ROOT / "bundle" / "manifest.json"
PYPROJECT = REPO_ROOT / "pyproject.toml"

Json = dict[str, Any]


def pyproject() -> Json:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def committed() -> Json:
    return cast(Json, json.loads(MANIFEST.read_text(encoding="utf-8")))


def render(manifest: Mapping[str, Any]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def refreshed(manifest: Mapping[str, Any]) -> Json:
    """`manifest` with its version, Python requirement, tools and prompts read from the package."""
    project = pyproject()["project"]
    tools, prompts = anyio.run(_surface)
    compatibility = dict(manifest.get("compatibility", {}))
    compatibility["runtimes"] = {**compatibility.get("runtimes", {}), "python": project["requires-python"]}
    return {
        **manifest,
        "version": project["version"],
        "compatibility": compatibility,
        "tools": tools,
        "prompts": prompts,
    }


def is_stale() -> bool:
    current = committed()
    return render(refreshed(current)) != render(current)


def write() -> bool:
    """Brings `bundle/manifest.json` in step with the package; says whether it changed."""
    current = committed()
    fresh = render(refreshed(current))
    if fresh == render(current):
        return False
    MANIFEST.write_text(fresh, encoding="utf-8")
    return True


async def _surface() -> tuple[list[Json], list[Json]]:
    from apillon_mcp.config import Settings
    from apillon_mcp.prompts import load_prompts
    from apillon_mcp.server import build_server

    def never_connect() -> AbstractAsyncContextManager[Any]:
        raise AssertionError("listing tools and prompts opens no Apillon client")

    # Explicit values win over the environment, so the listing never depends on the caller's APILLON_* settings.
    server = build_server(Settings(emulator=True, read_only=False, tools=None), never_connect)
    listed = await server.list_tools()
    tools = [{"name": tool.name, "description": _one_line(tool.description or "")} for tool in listed]
    # The text is the prompt's template with each argument standing for itself, as the manifest's
    # `${arguments.NAME}` placeholder: rendering through the server would reject such values.
    templates = {prompt.name: prompt.template for prompt in load_prompts()}
    prompts = []
    for prompt in await server.list_prompts():
        arguments = [argument.name for argument in prompt.arguments or []]
        text = templates[prompt.name].substitute({name: f"${{arguments.{name}}}" for name in arguments})
        prompts.append(
            {"name": prompt.name, "description": prompt.description or "", "arguments": arguments, "text": text}
        )
    return tools, prompts


def _one_line(text: str) -> str:
    return " ".join(text.split())
