"""A real browser against the real server: headless Chromium from the OS, the server over streamable HTTP on
loopback, and a test host page (ui/test-host) that renders the dashboard with the ext-apps AppBridge.

Needs `npm ci` in ui/, Debian's chromium, and the `browser` extra (Python's playwright, which drives the installed
Chromium and never downloads its own). Run with `python -m pytest -m ui`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from apillon_mcp.config import Settings
from apillon_mcp.emulator import EmulatorState
from apillon_mcp.http_transport import check_http_settings, http_app
from apillon_mcp.server import build_sandbox_server

from loopback import served
from support import Serve

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Expect

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "ui"
CHROMIUM = os.environ.get("APILLON_MCP_CHROMIUM", "/usr/bin/chromium")
HOST_PATH = "/host"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the tests save a PNG of each state (APILLON_MCP_SCREENSHOTS=docs/dashboard refreshes the committed set)."""
    folder = Path(os.environ.get("APILLON_MCP_SCREENSHOTS", ROOT / "build" / "dashboard-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def host_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test host page, bundled from ui/test-host with the pinned ext-apps and MCP client."""
    node = shutil.which("node")
    if node is None or not (UI / "node_modules").is_dir():
        pytest.fail("the browser tests need Node and ui/node_modules: run `npm ci` in ui/")
    folder = tmp_path_factory.mktemp("host")
    subprocess.run([node, str(UI / "build.mjs"), "--test-host", str(folder)], check=True, cwd=UI)
    return folder


def with_host_page(app: ASGIApp, folder: Path) -> ASGIApp:
    """`app`, plus the test host page under /host/ on the same origin (the page's MCP client talks to /mcp)."""
    files = StaticFiles(directory=folder)

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(f"{HOST_PATH}/"):
            await files({**scope, "path": scope["path"][len(HOST_PATH) :]}, receive, send)
        else:
            await app(scope, receive, send)

    return route


@pytest.fixture
def serve(emulator: EmulatorState, host_page: Path, browser: BrowserContext) -> Serve:
    """Serves the MCP server (on the test's emulator, with `Settings` overrides) over HTTP on loopback, with the host
    page; yields the base URL.

    The browser's pages close first, so that no open stream holds the server's shutdown.
    """

    @asynccontextmanager
    async def serving(**overrides: Any) -> AsyncGenerator[str, None]:
        settings = Settings(emulator=True, transport="http", **overrides)
        server = build_sandbox_server(emulator, settings)
        async with served(with_host_page(http_app(server, check_http_settings(settings)), host_page)) as base:
            try:
                yield base
            finally:
                for page in browser.pages:
                    await page.close()

    return serving


def need_playwright() -> None:
    """Playwright is imported only by the browser tests' fixtures: it comes with the browser extra, not the test one."""
    if importlib.util.find_spec("playwright") is None:
        pytest.fail('the browser tests need the browser extra: pip install -e ".[browser]"')


@pytest.fixture
def expect() -> Expect:
    need_playwright()
    from playwright.async_api import expect as playwright_expect

    playwright_expect.set_options(timeout=20_000)
    return playwright_expect


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncGenerator[BrowserContext, None]:
    """A fresh headless Chromium profile (the OS's Chromium; no network beyond loopback is used)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    need_playwright()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1180, "height": 900},
            device_scale_factor=1,
        )
        try:
            yield context
        finally:
            await context.close()
