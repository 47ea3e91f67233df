"""`python -m benchmarks.startup_probe`: the phases of starting an emulator-backed server, as JSON on stdout.

The imports sit inside `main` on purpose: timing them is the point. Interpreter start-up comes before `main`
and is not counted; neither is answering the client.
"""

from __future__ import annotations

import importlib
import json
import time


def main() -> None:
    phases: dict[str, float] = {}
    last = time.perf_counter()

    def done(phase: str) -> None:
        nonlocal last
        now = time.perf_counter()
        phases[phase] = round((now - last) * 1000, 1)
        last = now

    importlib.import_module("mcp.server.mcpserver")
    done("import the MCP SDK's MCPServer")
    from apillon_mcp.backends import sandbox_api
    from apillon_mcp.config import Settings
    from apillon_mcp.emulator import EmulatorState
    from apillon_mcp.server import build_server

    done("import apillon_mcp (server, backends, config, emulator)")
    settings = Settings(emulator=True, read_only=False, tools=None)
    connect = sandbox_api(EmulatorState())
    done("settings and the emulator")
    build_server(settings, connect)
    done("build_server (tools, resources, prompts)")
    print(json.dumps(phases))


if __name__ == "__main__":
    main()
