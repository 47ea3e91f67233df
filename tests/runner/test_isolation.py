"""Scripts run under Node's permission model with an empty environment: each denial, proven from inside a script."""

import json
import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

from apillon_mcp.runner import Reply, gateway_payload, run_once

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("node") is None, reason="scripts run with Node.js"),
]
linux = pytest.mark.skipif(sys.platform != "linux", reason="/proc is Linux's")

PAYLOAD = gateway_payload(body=None, path="/", query=[], headers=[])


def attempting(action: str) -> bytes:
    """A script that tries `action` when called and replies with what happened: `allowed: …` or the error code."""
    return f"""
_STD_.ws.open([], () => _STD_.ws.registerPayloadHandler(async ({{ sender }}) => {{
  let outcome;
  try {{
    outcome = "allowed: " + String(await (async () => {{ {action} }})()).slice(0, 200);
  }} catch (error) {{
    outcome = `denied: ${{error.code}} ${{error.message}}`;
  }}
  _STD_.ws.send(sender, Buffer.from(outcome, "utf8").toString("hex"));
}}));
""".encode()


async def attempt(action: str) -> str:
    outcome = await run_once(attempting(action), PAYLOAD, env={}, timeout=20)
    assert isinstance(outcome.result, Reply), (outcome.result, outcome.output)
    return outcome.result.body.decode()


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("return require('child_process').execSync('id').toString();", "ERR_ACCESS_DENIED"),
        ("return require('child_process').spawnSync('id').pid;", "ERR_ACCESS_DENIED"),
        ("return new (require('worker_threads').Worker)('1', { eval: true }).threadId;", "ERR_ACCESS_DENIED"),
        ("return new (require('wasi').WASI)({ version: 'preview1', preopens: { '/': '/' } });", "ERR_ACCESS_DENIED"),
        ("return process.binding('spawn_sync');", "ERR_ACCESS_DENIED"),
        ("return require('fs').readdirSync('/').length;", "ERR_ACCESS_DENIED"),
        ("require('fs').writeFileSync(require('os').tmpdir() + '/planted.txt', 'x');", "ERR_ACCESS_DENIED"),
        ("const s = new (require('inspector').Session)(); s.connect(); return 'connected';", "ERR_ACCESS_DENIED"),
    ],
    ids=["exec", "spawn", "worker", "wasi", "process-binding", "list-a-directory", "write-a-file", "inspector"],
)
async def test_a_script_cannot_reach_beyond_its_process(action: str, code: str) -> None:
    assert (await attempt(action)).startswith(f"denied: {code}")


async def test_a_script_cannot_read_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret", encoding="utf-8")

    outcome = await attempt(f"return require('fs').readFileSync({json.dumps(str(secret))}, 'utf8');")

    assert outcome.startswith("denied: ERR_ACCESS_DENIED")


async def test_a_script_cannot_load_a_native_addon(tmp_path: Path) -> None:
    addon = tmp_path / "addon.node"
    addon.write_bytes(b"\x7fELF")

    outcome = await attempt(f"return process.dlopen({{ exports: {{}} }}, {json.dumps(str(addon))});")

    assert outcome.startswith("denied: ERR_DLOPEN_DISABLED")


@linux
async def test_a_script_cannot_read_its_own_environment_or_its_parents_through_proc() -> None:
    own = await attempt("return require('fs').readFileSync('/proc/self/environ', 'utf8');")
    parent = await attempt("return require('fs').readFileSync(`/proc/${process.ppid}/environ`, 'utf8');")
    server = await attempt(f"return require('fs').readFileSync('/proc/{os.getpid()}/environ', 'utf8');")

    assert own.startswith("denied: ERR_ACCESS_DENIED")
    assert parent.startswith("denied: ERR_ACCESS_DENIED")
    assert server.startswith("denied: ERR_ACCESS_DENIED")


async def test_process_env_holds_nothing_of_the_server_and_the_variables_are_in_std_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APILLON_MCP_TOKEN", "server-secret-4b1d")
    monkeypatch.setenv("NODE_OPTIONS", "--require /nonexistent/preload.js")
    script = b"""
_STD_.ws.open([], () => _STD_.ws.registerPayloadHandler(({ sender }) => {
  const seen = JSON.stringify({ env: process.env, std: _STD_.env });
  _STD_.ws.send(sender, Buffer.from(seen, "utf8").toString("hex"));
}));
"""

    outcome = await run_once(script, PAYLOAD, env={"GREETING": "hello"}, timeout=20)

    assert isinstance(outcome.result, Reply)
    seen = json.loads(outcome.result.body)
    assert seen["env"] == {}
    assert seen["std"] == {"GREETING": "hello"}
    assert b"server-secret-4b1d" not in outcome.result.body


async def test_the_network_stays_open_for_scripts_that_call_apis() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        outcome = await attempt(
            "return await new Promise((resolve, reject) => {"
            f" const socket = require('net').connect({port}, '127.0.0.1', () => {{"
            " socket.end(); resolve('connected'); });"
            " socket.on('error', reject); });"
        )

    assert outcome == "allowed: connected"
