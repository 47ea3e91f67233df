"""JavaScript used by the deploy and gateway tests."""

import json

ECHO = """
const PROXIES = ["wss://websocket-proxy-1.prod.gke.acurast.com/", "wss://websocket-proxy-2.prod.gke.acurast.com/"];
_STD_.ws.open(PROXIES, () => {
  _STD_.ws.registerPayloadHandler(({ sender, payload }) => {
    const request = JSON.parse(Buffer.from(payload, "hex").toString("utf8"));
    const reply = JSON.stringify({ request, greeting: _STD_.env["GREETING"] || null });
    _STD_.ws.send(sender, Buffer.from(reply, "utf8").toString("hex"));
  });
}, (error) => console.error(error));
"""

SILENT = """
_STD_.ws.open(["wss://websocket-proxy-1.prod.gke.acurast.com/"], () => {
  _STD_.ws.registerPayloadHandler(() => { /* never replies */ });
}, () => {});
"""

PID = """
_STD_.ws.open(["wss://websocket-proxy-1.prod.gke.acurast.com/"], () => {
  _STD_.ws.registerPayloadHandler(({ sender }) => {
    _STD_.ws.send(sender, Buffer.from(String(process.pid)).toString("hex"));
  });
}, () => {});
"""

HTTP_SERVER = """
require("http").createServer((req, res) => res.end("hi")).listen(8080);
"""


def saying(text: str) -> str:
    """A script that answers every call with `text`."""
    return f"""
const REPLY = {json.dumps(text)};
_STD_.ws.open(["wss://websocket-proxy-1.prod.gke.acurast.com/"], () => {{
  _STD_.ws.registerPayloadHandler(({{ sender }}) => {{
    _STD_.ws.send(sender, Buffer.from(REPLY, "utf8").toString("hex"));
  }});
}}, () => {{}});
"""
