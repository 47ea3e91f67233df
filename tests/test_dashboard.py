"""The dashboard as MCP clients see it: which tools show it, its ui:// resource, and hosts without MCP Apps.

The browser tests (tests/ui, `python -m pytest -m ui`) render it; these need no Node and no browser.
"""

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import TextContent

from apillon_mcp.dashboard import DASHBOARD_URI, apps_for, dashboard_html
from apillon_mcp.emulator import EmulatorState

from support import HELLO_WORLD_CID, ServerFactory

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "ui"
APPS_HOST = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


class Document(HTMLParser):
    """The tags of an HTML document, with their attributes, and the text of its <style> blocks."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


@pytest.mark.anyio
async def test_list_and_get_show_the_dashboard_and_no_other_tool_does(mcp: Client) -> None:
    tools = (await mcp.list_tools()).tools

    bound = {tool.name: tool.meta for tool in tools if tool.meta}
    assert bound == {
        "list_cloud_functions": {"ui": {"resourceUri": DASHBOARD_URI}},
        "get_cloud_function": {"ui": {"resourceUri": DASHBOARD_URI}},
    }


@pytest.mark.anyio
async def test_the_server_declares_mcp_apps_and_lists_the_dashboard(mcp: Client) -> None:
    capabilities = mcp.server_capabilities
    listed = {str(resource.uri): resource for resource in (await mcp.list_resources()).resources}

    assert capabilities is not None and capabilities.extensions == {EXTENSION_ID: {}}
    assert listed[DASHBOARD_URI].mime_type == APP_MIME_TYPE


@pytest.mark.anyio
async def test_the_dashboard_is_one_html_document_that_loads_nothing_from_outside(mcp: Client) -> None:
    (content,) = (await mcp.read_resource(DASHBOARD_URI)).contents
    assert content.mime_type == APP_MIME_TYPE
    assert content.meta == {
        "ui": {
            "csp": {"connectDomains": [], "resourceDomains": [], "frameDomains": [], "baseUriDomains": []},
            "prefersBorder": True,
        }
    }
    html = getattr(content, "text", "")
    assert html == dashboard_html()

    page = Document(html)
    assert [tag for tag, attrs in page.tags if {"src", "href", "action", "srcset"} & set(attrs)] == []
    assert [tag for tag, _ in page.tags if tag in {"link", "iframe", "object", "embed", "base", "form"}] == []
    policies = [attrs["content"] for tag, attrs in page.tags if attrs.get("http-equiv") == "Content-Security-Policy"]
    assert len(policies) == 1 and policies[0] is not None
    directives = dict(d.strip().split(" ", 1) for d in policies[0].split(";"))
    assert directives["default-src"] == "'none'"
    assert "connect-src" not in directives and "http" not in policies[0] and "*" not in policies[0]
    assert not re.search(r"@import|url\((?!data:)", "".join(page.styles))


@pytest.mark.anyio
async def test_hosts_without_apps_read_the_same_results_as_hosts_with_them(
    make_server: ServerFactory, emulator: EmulatorState
) -> None:
    function = emulator.create_function("Prices", "ETH prices")
    emulator.create_job(function.function_uuid, "v1", HELLO_WORLD_CID)
    calls = [("list_cloud_functions", {}), ("get_cloud_function", {"function_uuid": function.function_uuid})]

    async with Client(make_server()) as plain, Client(make_server(), extensions=[APPS_HOST]) as apps:
        for tool, arguments in calls:
            without, with_apps = await plain.call_tool(tool, arguments), await apps.call_tool(tool, arguments)

            assert without.model_dump() == with_apps.model_dump(), tool
            assert [block.type for block in without.content] == ["text"]
            summary = without.content[0]
            assert isinstance(summary, TextContent) and "Prices" in summary.text


@pytest.mark.anyio
async def test_a_server_whose_tools_show_no_dashboard_serves_none(make_server: ServerFactory) -> None:
    async with Client(make_server(tools=["get_credit_balance", "invoke_cloud_function"])) as client:
        listed = [str(resource.uri) for resource in (await client.list_resources()).resources]
        capabilities = client.server_capabilities

    assert DASHBOARD_URI not in listed
    assert capabilities is not None and EXTENSION_ID not in (capabilities.extensions or {})


@pytest.mark.anyio
async def test_a_read_only_server_shows_the_dashboard_too(make_server: ServerFactory) -> None:
    async with Client(make_server(read_only=True)) as client:
        bound = [tool.name for tool in (await client.list_tools()).tools if tool.meta]
        (content,) = (await client.read_resource(DASHBOARD_URI)).contents

    assert bound == ["list_cloud_functions", "get_cloud_function"]
    assert content.mime_type == APP_MIME_TYPE


def test_a_view_nobody_built_is_refused() -> None:
    with pytest.raises(ValueError, match="ui://apillon-mcp/other"):
        apps_for([DASHBOARD_URI, "ui://apillon-mcp/other"])


def sources_digest() -> str:
    """The digest ui/build.mjs records: sha256 over each build input's POSIX path, NUL, bytes, NUL, in path order."""
    inputs = [UI / name for name in ("package.json", "package-lock.json", "build.mjs", "tsconfig.json")]
    inputs += [path for path in (UI / "src").rglob("*") if path.is_file()]
    digest = hashlib.sha256()
    for path in sorted(inputs, key=lambda p: p.relative_to(UI).as_posix()):
        digest.update(path.relative_to(UI).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"sha256:{digest.hexdigest()}"


def test_the_shipped_dashboard_was_built_from_the_current_sources() -> None:
    recorded = re.search(r'<meta name="apillon-mcp-sources" content="([^"]+)">', dashboard_html())

    assert recorded is not None
    assert recorded.group(1) == sources_digest(), "ui/ changed since the last build: run `npm run build` in ui/"


def test_the_view_never_turns_strings_into_markup() -> None:
    risky = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|srcdoc|\beval\(|new Function")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((UI / "src").rglob("*.ts"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if risky.search(line)
    ]

    assert found == []
