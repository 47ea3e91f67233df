"""A script's process dies with the process that started it, even when that one is killed outright."""

import os
import select
import shutil
import signal
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="scripts run with Node.js"),
    pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="waits on the process with a Linux pidfd"),
]

SERVER = """
import anyio
from apillon_mcp.runner import Launch, ScriptPool, gateway_payload

SCRIPT = b'''
_STD_.ws.open([], () => _STD_.ws.registerPayloadHandler(({ sender }) =>
  _STD_.ws.send(sender, Buffer.from(String(process.pid)).toString("hex"))));
'''

async def main() -> None:
    pool = ScriptPool()
    payload = gateway_payload(body=None, path="/", query=[], headers=[])
    reply = await pool.call("job", Launch(SCRIPT), payload, timeout=60)
    print(reply.body.decode(), flush=True)
    await anyio.sleep_forever()

anyio.run(main)
"""


def test_a_killed_server_leaves_no_script_process_behind() -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        script_pid = int(server.stdout.readline())
        script = os.pidfd_open(script_pid)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
        if server.stdout is not None:
            server.stdout.close()
    try:
        ended, _, _ = select.select([script], [], [], 30)
    finally:
        os.close(script)

    assert ended == [script]
