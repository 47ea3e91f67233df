"""Builds the MCP Bundle (`.mcpb`) that Claude Desktop installs with one click.

`manifest` brings `bundle/manifest.json` in step with the package (version, tools, prompts); `--check` only
says whether it is. `pack` validates the manifest and packs the bundle with the official `mcpb` CLI (installed
from `bundle/package-lock.json` with npm on first use) into `dist/`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bundle import manifest
from bundle.pack import BundleError, pack

DEFAULT_OUT = manifest.REPO_ROOT / "dist"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bundle", description=__doc__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    refresh = commands.add_parser("manifest", help="bring bundle/manifest.json in step with the package")
    refresh.add_argument("--check", action="store_true", help="change nothing; exit 1 if the manifest is stale")
    packing = commands.add_parser("pack", help="validate the manifest and pack the .mcpb")
    packing.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help=f"default: {DEFAULT_OUT}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "manifest":
        return _manifest(check=args.check)
    try:
        archive = pack(args.out)
    except BundleError as error:
        print(f"python -m bundle: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(f"python -m bundle: {' '.join(map(str, error.cmd))} failed (exit {error.returncode})", file=sys.stderr)
        return 1
    print(f"bundle: {archive}")
    return 0


def _manifest(*, check: bool) -> int:
    if check:
        if manifest.is_stale():
            print("bundle/manifest.json is stale: run `python -m bundle manifest`", file=sys.stderr)
            return 1
        print("bundle/manifest.json is in step with the package")
        return 0
    changed = manifest.write()
    print("bundle/manifest.json " + ("updated" if changed else "already in step with the package"))
    return 0
