"""Command line: serve MCP (stdio or HTTP), run the standalone emulator, the demo, or the doctor."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apillon_mcp import __version__

if TYPE_CHECKING:
    from apillon_mcp.apillon import Connect
    from apillon_mcp.config import Settings

MEMORY = ":memory:"


class UsageError(Exception):
    """A configuration problem: one line on stderr, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from apillon_mcp.demo import run_demo

            return run_demo()
        if args.command == "emulator":
            return _emulator(args)
        if args.command == "doctor":
            return _doctor(args)
        if args.command == "sandbox":
            return _top_up(args)
        return _serve(args)
    except UsageError as error:
        print(f"apillon-mcp: {error}", file=sys.stderr)
        return 2


def _flag(parser: argparse.ArgumentParser, name: str, help: str) -> None:
    # SUPPRESS: a flag left out sets nothing, so Settings read the environment (and a subcommand's parser does
    # not overwrite what the main parser set).
    parser.add_argument(name, action="store_true", default=argparse.SUPPRESS, help=help)


def _option(parser: argparse.ArgumentParser, name: str, help: str, **kwargs: Any) -> None:
    parser.add_argument(name, default=argparse.SUPPRESS, help=help, **kwargs)


def _parser() -> argparse.ArgumentParser:
    backend = argparse.ArgumentParser(add_help=False)
    _flag(
        backend, "--emulator", "use the embedded offline emulator of the Apillon API, no account (APILLON_EMULATOR=1)"
    )
    _option(
        backend,
        "--emulator-state",
        f"the sandbox's state file (default: in the user data directory; '{MEMORY}' keeps it in memory)",
        metavar="PATH",
    )
    _flag(backend, "--emulator-reset", "start the sandbox from scratch")
    selection = argparse.ArgumentParser(add_help=False)
    _flag(selection, "--read-only", "register no tool that changes anything (APILLON_READ_ONLY=true)")
    _option(selection, "--tools", "register only these tools (APILLON_TOOLS)", metavar="A,B,C")

    parser = argparse.ArgumentParser(
        prog="apillon-mcp",
        parents=[backend, selection],
        description="MCP server for Apillon Cloud Functions. Without a command it serves MCP (stdio by default), "
        "with APILLON_API_KEY, APILLON_API_SECRET and APILLON_API_URL.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"apillon-mcp {__version__}")
    _option(parser, "--transport", "stdio (default) or streamable HTTP", choices=["stdio", "http"])
    _option(parser, "--host", "HTTP: address to bind (default 127.0.0.1)")
    _option(parser, "--port", "HTTP: port (default 8000)", type=int)
    _option(
        parser,
        "--allowed-hosts",
        "HTTP: host names clients use to reach this server, besides --host (APILLON_MCP_ALLOWED_HOSTS)",
        metavar="H1,H2",
    )
    _flag(
        parser,
        "--per-request-credentials",
        "HTTP: hold no Apillon key; each request sends X-Apillon-Api-Key and X-Apillon-Api-Secret",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="offline walkthrough: a real MCP client session against the emulator")
    commands.add_parser(
        "doctor",
        parents=[backend, selection],
        help="check the configuration, the API key and its permissions, changing nothing",
    )
    sandbox = commands.add_parser("sandbox", help="change the offline sandbox, even while servers run on it")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", metavar="COMMAND", required=True)
    top_up = sandbox_commands.add_parser("top-up", help="add credits to the sandbox's project")
    top_up.add_argument("amount", type=int, metavar="AMOUNT", help="how many credits to add (a job costs 100)")
    _option(
        top_up,
        "--emulator-state",
        "the sandbox's state file (default: the one `apillon-mcp --emulator` uses)",
        metavar="PATH",
    )
    emulator = commands.add_parser("emulator", help="serve the emulated Apillon API over HTTP")
    emulator.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    emulator.add_argument("--port", type=int, default=8787, help="port (default 8787)")
    emulator.add_argument("--state", metavar="PATH", help="keep the emulator's state in this file")
    emulator.add_argument("--reset", action="store_true", help="ignore the state file's contents")
    emulator.add_argument(
        "--allow-remote", action="store_true", help="bind a non-loopback address (its credentials are public!)"
    )
    emulator.add_argument(
        "--base-url", metavar="URL", help="the URL clients reach it at, which the URLs it hands out start with"
    )
    emulator.add_argument(
        "--allowed-hosts", metavar="H1,H2", default="", help="host names it answers to, besides loopback and --host"
    )
    emulator.add_argument(
        "--allowed-origins", metavar="O1,O2", default="", help="web origins whose pages may call it, e.g. a local app"
    )
    return parser


# The settings a command-line flag can set (it wins over the environment variable).
_FLAG_SETTINGS = (
    "emulator",
    "emulator_state",
    "read_only",
    "tools",
    "transport",
    "host",
    "port",
    "allowed_hosts",
    "per_request_credentials",
)


def _settings(args: argparse.Namespace) -> Settings:
    from pydantic import ValidationError

    from apillon_mcp.config import Settings

    flags = {name: getattr(args, name) for name in _FLAG_SETTINGS if hasattr(args, name)}
    try:
        return Settings(**flags)
    except ValidationError as error:
        # Each problem names what sets it, never the value given (it may be a secret).
        problems = "; ".join(f"{_setting_name(e['loc'])} {_reason(e['msg'])}" for e in error.errors())
        raise UsageError(f"invalid configuration: {problems}") from None


def _setting_name(location: tuple[int | str, ...]) -> str:
    from apillon_mcp.config import Settings

    field = Settings.field_named(str(location[0])) if location else None
    if field is None:
        return "a setting"
    flag = f" (--{field.replace('_', '-')})" if field in _FLAG_SETTINGS else ""
    return f"{Settings.variable(field)}{flag}"


def _reason(message: str) -> str:
    reason = message.removeprefix("Value error, ")
    return reason if reason != message else f"is invalid: {reason[:1].lower()}{reason[1:]}"


def _state_path(settings: Settings) -> Path | None:
    from apillon_mcp.emulator.persistence import default_state_path

    if settings.emulator_state is None:
        return default_state_path()
    return None if str(settings.emulator_state) == MEMORY else settings.emulator_state


def _connect(settings: Settings, args: argparse.Namespace, *, save: bool = True) -> tuple[Connect, str]:
    """Where the server's client points, and how to name it in messages. Without `save`, a sandbox is read from
    its state file but never written back."""
    from apillon_mcp.backends import live_api, sandbox_api

    if not settings.emulator:
        return live_api(settings), settings.api_url
    from apillon_mcp.emulator.persistence import StateFileError, database_path, open_state

    path = _state_path(settings)
    try:
        state = open_state(path, reset=hasattr(args, "emulator_reset"), read_only=not save)
    except StateFileError as error:
        raise UsageError(str(error)) from None
    where = f"state in {database_path(path)}" if path is not None else "state in memory"
    connect = sandbox_api(state, retry=settings.retry_policy)
    return connect, f"the embedded emulator ({where})"


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.per_request_credentials and settings.transport != "http":
        raise UsageError("--per-request-credentials needs --transport http (stdio has no request headers)")
    missing = [] if settings.per_request_credentials else settings.missing_credentials()
    if missing:
        raise UsageError(
            f"{' and '.join(missing)} not set. Create an API key in the Apillon dashboard and set both variables, "
            "or run `apillon-mcp --emulator` to try the offline sandbox."
        )
    _log_to_stderr()
    logger = logging.getLogger("apillon_mcp")
    if settings.per_request_credentials and (settings.api_key or settings.api_secret):
        logger.warning(
            "APILLON_API_KEY and APILLON_API_SECRET are ignored: with per-request credentials the server holds no "
            "key and every call uses the one its caller sends"
        )
    from apillon_mcp.http_transport import HttpConfigError, check_http_settings
    from apillon_mcp.server import build_server
    from apillon_mcp.tools import ToolSelectionError

    try:
        # Checked before anything is opened or written: a refused configuration changes nothing.
        http = check_http_settings(settings) if settings.transport == "http" else None
        connect, target = _connect(settings, args)
        server = build_server(settings, connect)
    except (ToolSelectionError, HttpConfigError) as error:
        raise UsageError(str(error)) from None
    mode = " read-only" if settings.read_only else ""
    logger.info("apillon-mcp %s%s over %s against %s", __version__, mode, settings.transport, target)
    if http is not None:
        from apillon_mcp.http_transport import serve_http

        serve_http(server, http)
    else:
        server.run("stdio")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    import anyio

    from apillon_mcp.doctor import Check, configuration_check, node_check, passed, render, run_checks
    from apillon_mcp.tools import ToolSelectionError, select_tools

    settings = _settings(args)
    try:
        tools = select_tools(read_only=settings.read_only, names=settings.tools)
    except ToolSelectionError as error:
        raise UsageError(str(error)) from None
    missing = settings.missing_credentials()
    target = "the embedded emulator" if settings.emulator else settings.api_url
    if missing and settings.per_request_credentials:
        # Nothing to check without a key: every caller brings their own.
        detail = f"per-request credentials: the server holds no key, each caller sends theirs; API {target}"
        fix = "set APILLON_API_KEY and APILLON_API_SECRET to one caller's key to check it and its permissions"
        checks = [Check("configuration", "warn", detail, fix)]
    else:
        checks = [configuration_check(missing, target)]
    if not missing:
        # The key given is checked as one caller's, with or without per-request credentials.
        own_key = settings.model_copy(update={"per_request_credentials": False})
        connect, target = _connect(own_key, args, save=False)  # the doctor changes nothing, the sandbox included
        checks.extend(anyio.run(run_checks, target, connect, tools))
    checks.append(node_check(sandbox=settings.emulator))
    print(f"apillon-mcp doctor ({len(tools)} tools enabled)\n{render(checks)}")
    return 0 if passed(checks) else 1


def _top_up(args: argparse.Namespace) -> int:
    import sqlite3

    from apillon_mcp.emulator import DEFAULT_PROJECT_UUID
    from apillon_mcp.emulator.persistence import StateFileError, database_path, open_state

    path = _state_path(_settings(args))
    if path is None:
        raise UsageError("a sandbox in memory lives only inside the server running it: give the state file it uses")
    try:
        state = open_state(path)
        try:
            balance = state.add_credits(DEFAULT_PROJECT_UUID, args.amount)
        finally:
            state.close()
    except (StateFileError, ValueError) as error:
        raise UsageError(str(error)) from None
    except sqlite3.Error as error:
        # Opening may fail too (a database locked for too long), before there is a state to name.
        raise UsageError(f"cannot change the sandbox in {database_path(path)}: {error}") from None
    print(f"Added {args.amount} credits to the sandbox in {database_path(path)}: the balance is {balance} credits.")
    return 0


def _emulator(args: argparse.Namespace) -> int:
    import os

    from apillon_mcp.emulator.persistence import StateFileError
    from apillon_mcp.emulator.standalone import CONTROL_TOKEN_VARIABLE, Access, ServeError, serve

    _log_to_stderr()
    state_path = Path(args.state) if args.state else None
    access = Access(
        allow_remote=args.allow_remote,
        base_url=args.base_url,
        allowed_hosts=_names(args.allowed_hosts),
        allowed_origins=_names(args.allowed_origins),
        control_token=os.environ.get(CONTROL_TOKEN_VARIABLE) or None,
    )
    try:
        serve(args.host, args.port, state_path, args.reset, sys.stdout, access)
    except (StateFileError, ServeError) as error:
        raise UsageError(str(error)) from None
    return 0


def _names(listed: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in listed.split(",") if name.strip())


def _log_to_stderr() -> None:
    # stdout carries the MCP protocol over stdio: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx2").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
