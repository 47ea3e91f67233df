"""The layering, enforced: which part of the package may import which.

`tools/` → `apillon/`; the REST client (`apillon/`) knows nothing of MCP or of the emulator; the emulator knows
nothing of MCP or of the client; the isolated script runner (`runner/`) knows nothing of any of them. Only the entry
points import the composition root (`server.py`).

Each rule is checked twice: on the source, every import statement (those inside functions and under
`TYPE_CHECKING` too); and at run time, by importing every module of the layer in a fresh interpreter and looking at
what got loaded along the way, which catches a rule broken through a module in between.
"""

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "apillon_mcp"


@dataclass(frozen=True)
class Layer:
    folder: str
    banned: tuple[str, ...]
    """Modules (and their submodules) nothing in the folder may import."""

    @property
    def package(self) -> str:
        return f"apillon_mcp.{self.folder}"


LAYERS = [
    Layer("apillon", ("mcp", "apillon_mcp.emulator", "apillon_mcp.runner", "apillon_mcp.tools", "apillon_mcp.server")),
    Layer("emulator", ("mcp", "apillon_mcp.apillon", "apillon_mcp.tools", "apillon_mcp.server")),
    Layer("runner", ("mcp", "apillon_mcp.apillon", "apillon_mcp.emulator", "apillon_mcp.tools", "apillon_mcp.server")),
]
ENTRY_POINTS = {"apillon_mcp.__main__", "apillon_mcp.demo"}
"""The only modules of the package that may import the composition root."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, package: bool = False) -> set[str]:
    """Every module an import statement of `module`'s source names, resolved to its absolute name."""
    here = module.split(".") if package else module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[: len(here) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def is_within(name: str, module: str) -> bool:
    return name == module or name.startswith(f"{module}.")


def banned_imports(source: str, module: str, banned: tuple[str, ...], *, package: bool = False) -> list[str]:
    return sorted(
        f"{module} imports {name}"
        for name in imported_modules(source, module, package=package)
        for ban in banned
        if is_within(name, ban)
    )


def broken_rules(path: Path, banned: tuple[str, ...]) -> list[str]:
    source = path.read_text(encoding="utf-8")
    return banned_imports(source, module_name(path), banned, package=path.name == "__init__.py")


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.folder)
def test_no_module_of_a_layer_imports_what_it_must_not(layer: Layer) -> None:
    sources = sorted((PACKAGE / layer.folder).rglob("*.py"))
    assert sources

    assert [broken for path in sources for broken in broken_rules(path, layer.banned)] == []


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.folder)
def test_importing_a_layer_loads_nothing_it_must_not(layer: Layer) -> None:
    modules = sorted(module_name(path) for path in (PACKAGE / layer.folder).rglob("*.py"))
    probe = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    loaded = json.loads(run.stdout)

    assert [name for name in loaded if any(is_within(name, module) for module in layer.banned)] == []


def test_only_the_entry_points_import_the_composition_root() -> None:
    importers = sorted(
        module_name(path)
        for path in PACKAGE.rglob("*.py")
        if module_name(path) not in {*ENTRY_POINTS, "apillon_mcp.server"}
        and broken_rules(path, ("apillon_mcp.server",))
    )

    assert importers == []


def test_the_rules_see_relative_and_lazy_imports() -> None:
    """The checker itself: an import inside a function, or a relative one, is an import all the same."""
    source = "def later():\n    from ..emulator import state\n    import mcp.types\nfrom . import models\n"

    assert banned_imports(source, "apillon_mcp.apillon.probe", ("mcp", "apillon_mcp.emulator")) == [
        "apillon_mcp.apillon.probe imports apillon_mcp.emulator",
        "apillon_mcp.apillon.probe imports apillon_mcp.emulator.state",
        "apillon_mcp.apillon.probe imports mcp.types",
    ]
    assert banned_imports(
        "from .client import x\n", "apillon_mcp.apillon", ("apillon_mcp.apillon.client",), package=True
    )
