"""Command line: `apillon-mcp` serves MCP over stdio; `apillon-mcp demo` runs the offline walkthrough."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from apillon_mcp import __version__


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from apillon_mcp.demo import run_demo

        return run_demo()
    return _serve(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="apillon-mcp",
        description="MCP server for Apillon Cloud Functions. Without a command it serves MCP over stdio, using "
        "APILLON_API_KEY, APILLON_API_SECRET and APILLON_API_URL.",
    )
    parser.add_argument("--version", action="version", version=f"apillon-mcp {__version__}")
    parser.add_argument(
        "--emulator",
        action="store_true",
        default=None,
        help="serve against the embedded offline emulator of the Apillon API (no account needed; "
        "also APILLON_EMULATOR=1)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="offline walkthrough: a real MCP client session against the emulator")
    return parser


def _serve(args: argparse.Namespace) -> int:
    from apillon_mcp.config import Settings

    settings = Settings() if args.emulator is None else Settings(emulator=True)
    missing = settings.missing_credentials()
    if missing:
        print(
            f"apillon-mcp: {' and '.join(missing)} not set. Create an API key in the Apillon dashboard and set "
            "both variables, or run `apillon-mcp --emulator` to try the offline sandbox.",
            file=sys.stderr,
        )
        return 2
    _log_to_stderr()
    from apillon_mcp.backends import live_api, sandbox_api
    from apillon_mcp.server import build_server

    if settings.emulator:
        from apillon_mcp.emulator import EmulatorState

        connect = sandbox_api(EmulatorState())
        target = "the embedded emulator (offline sandbox)"
    else:
        connect = live_api(settings)
        target = settings.api_url
    server = build_server(settings, connect)
    logging.getLogger("apillon_mcp").info("apillon-mcp %s serving MCP over stdio against %s", __version__, target)
    server.run("stdio")
    return 0


def _log_to_stderr() -> None:
    # stdout carries the MCP protocol over stdio: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx2").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
