"""The dashboard: an MCP App view (extension `io.modelcontextprotocol/ui`) of functions, jobs, credits and the gateway.

Tools that show it name it in their `ToolSpec.view`; hosts with MCP Apps render it beside the tool's result, hosts
without read the same text as ever. The view reads everything through the server's own tools (`tools/call` via the
host), so it sees exactly what the model sees and goes through the same confirmations. Its HTML is built from `ui/`
(`npm run build` there) and ships in the package: running the server needs no Node.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files

from mcp.server.apps import Apps, ResourceCsp

DASHBOARD_URI = "ui://apillon-mcp/dashboard"
DASHBOARD_FILE = "ui/dashboard.html"

# No outside origins: the view talks only to the host, and loads nothing.
_NO_OUTSIDE_ORIGINS = ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[], base_uri_domains=[])


def dashboard_html() -> str:
    return files("apillon_mcp").joinpath(DASHBOARD_FILE).read_text(encoding="utf-8")


def apps_for(views: Iterable[str | None]) -> list[Apps]:
    """The Apps extension serving the views the registered tools name; none when no tool shows one."""
    wanted = {view for view in views if view is not None}
    unknown = wanted - {DASHBOARD_URI}
    if unknown:
        raise ValueError(f"no view is built for {', '.join(sorted(unknown))}")
    if not wanted:
        return []
    apps = Apps()
    apps.add_html_resource(
        DASHBOARD_URI,
        dashboard_html(),
        name="dashboard",
        title="Cloud Functions dashboard",
        description="Functions and their serving status, jobs with their scripts, credits, and a gateway console.",
        csp=_NO_OUTSIDE_ORIGINS,
        prefers_border=True,
    )
    return [apps]
