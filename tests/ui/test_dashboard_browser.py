"""The dashboard in headless Chromium, hosted by the ext-apps AppBridge, against the real server on the sandbox.

Each test saves a PNG of the states it reaches (see the `screenshots` fixture); docs/dashboard/ holds a committed set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest
from mcp import Client

from apillon_mcp.emulator import DEFAULT_API_SECRET, EmulatorState
from apillon_mcp.emulator.faults import Fault

from scripts import ECHO, saying
from support import HELLO_WORLD_CID, Serve, data, text, token_of

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Expect, Locator, Page, Request

pytestmark = [pytest.mark.anyio, pytest.mark.ui]

SECRET_VALUE = "env-value-that-never-leaves-the-server-9d2f"
# What the serving script answers: markup that would run if the view treated the reply as HTML.
MARKUP_REPLY = '<b id="injected">v2</b> says <img src="x" onerror="document.title=\'owned\'"> hi'
POLL_MS = 3_000
"""How often the view looks again while a job deploys (POLL_SECONDS in ui/src/render.ts)."""
GATEWAY_LABELS = {"serving": "Serving", "no_job_matched_yet": "No job matched yet"}


class HostPage:
    """The test host page showing the view of one tool call, and what the view did through it."""

    def __init__(self, page: Page, shots: Path) -> None:
        self.page = page
        self.view = page.frame_locator("#frame iframe")
        self.shots = shots
        self.requests: list[Request] = []
        page.on("request", lambda request: self.requests.append(request))

    @classmethod
    async def open(
        cls,
        browser: BrowserContext,
        base: str,
        shots: Path,
        tool: str,
        arguments: dict[str, Any] | None = None,
        theme: str = "light",
    ) -> HostPage:
        host = cls(await browser.new_page(), shots)
        # The page's clock runs on its own, and a test can move it ahead to fire the view's timers at once.
        await host.page.clock.install()
        query = urlencode({"tool": tool, "args": json.dumps(arguments or {}), "theme": theme})
        await host.page.goto(f"{base}/host/host.html?{query}")
        await host.page.wait_for_function("window.testHost.ready || window.testHost.error !== null")
        assert await host.page.evaluate("window.testHost.error") is None
        return host

    async def calls(self, tool: str) -> list[dict[str, Any]]:
        made = await self.page.evaluate("window.testHost.calls")
        return [call["arguments"] for call in made if call["name"] == tool]

    def job(self, job_uuid: str) -> Locator:
        return self.view.locator(f'[data-testid="job"][data-uuid="{job_uuid}"]')

    async def screenshot(self, name: str) -> None:
        await self.page.screenshot(path=str(self.shots / name), full_page=True)

    async def assert_offline_and_secret_free(self, *secrets: str) -> None:
        """The view fetched nothing (CSP, no outside origins), and no secret reached it."""
        frame = self.page.frames[1]
        assert [r.url for r in self.requests if r.frame == frame] == []
        seen = await frame.content() + json.dumps(await self.page.evaluate("window.testHost"))
        for secret in secrets:
            assert secret not in seen


async def deploy(mcp: Client, function_uuid: str, name: str, script: str) -> None:
    answer = await mcp.call_tool(
        "deploy_cloud_function_script", {"function_uuid": function_uuid, "job_name": name, "script_source": script}
    )
    assert data(answer)["outcome"] == "matched", text(answer)


async def seeded(mcp: Client, emulator: EmulatorState) -> dict[str, str]:
    """'Price feed' (job v1 INACTIVE, v2 serving, a secret variable), 'Webhook relay' (one job), 'Drafts' (none)."""
    feed = emulator.create_function("Price feed", "ETH and BTC prices for the shop").function_uuid
    await deploy(mcp, feed, "v1", ECHO)
    await deploy(mcp, feed, "v2", saying(MARKUP_REPLY))
    arguments = {"function_uuid": feed, "variables": {"API_TOKEN": SECRET_VALUE}}
    first = text(await mcp.call_tool("set_cloud_function_environment", arguments))
    token = token_of(first)
    confirmed = await mcp.call_tool("set_cloud_function_environment", {**arguments, "confirmation_token": token})
    assert not confirmed.is_error, text(confirmed)
    relay = emulator.create_function("Webhook relay").function_uuid
    await deploy(mcp, relay, "relay", ECHO)
    emulator.create_function("Drafts")
    jobs = data(await mcp.call_tool("get_cloud_function", {"function_uuid": feed}))["jobs"]
    return {"feed": feed, **{job["name"]: job["job_uuid"] for job in jobs}}


async def live_jobs(mcp: Client, function_uuid: str) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = data(await mcp.call_tool("get_cloud_function", {"function_uuid": function_uuid}))[
        "jobs"
    ]
    return jobs


async def shown_jobs(host: HostPage) -> list[tuple[str | None, str, str, bool]]:
    return [
        (
            await row.get_attribute("data-uuid"),
            await row.get_by_test_id("job-status").inner_text(),
            await row.get_by_test_id("job-cid").inner_text(),
            await row.get_by_test_id("serves").count() == 1,
        )
        for row in await host.view.get_by_test_id("job").all()
    ]


async def test_the_dashboard_shows_the_functions_jobs_and_credits_the_server_holds(
    mcp: Client, emulator: EmulatorState, serve: Serve, browser: BrowserContext, expect: Expect, screenshots: Path
) -> None:
    seed = await seeded(mcp, emulator)
    listed = data(await mcp.call_tool("list_cloud_functions", {}))
    balance = data(await mcp.call_tool("get_credit_balance", {}))["balance"]

    async with serve() as base:
        host = await HostPage.open(browser, base, screenshots, "list_cloud_functions")
        rows = host.view.get_by_test_id("function")
        await expect(rows).to_have_count(listed["total"])
        for function, row in zip(listed["functions"], await rows.all(), strict=True):
            assert await row.get_attribute("data-uuid") == function["function_uuid"]
            await expect(row.locator(".name")).to_have_text(function["name"])
            gateway = data(await mcp.call_tool("get_cloud_function", {"function_uuid": function["function_uuid"]}))
            await expect(row.get_by_test_id("gateway-status")).to_have_text(GATEWAY_LABELS[gateway["gateway_status"]])
        await expect(host.view.get_by_test_id("balance")).to_have_text(f"{balance:,} credits")
        await expect(host.view.get_by_test_id("no-selection")).to_be_visible()
        await host.screenshot("1-functions.png")

        await host.view.locator(f'[data-testid="function"][data-uuid="{seed["feed"]}"]').click()
        expected = data(await mcp.call_tool("get_cloud_function", {"function_uuid": seed["feed"]}))["jobs"]
        await expect(host.view.get_by_test_id("job")).to_have_count(len(expected))
        assert await shown_jobs(host) == [
            (job["job_uuid"], job["status"], job["script_cid"], job["serves_gateway"]) for job in expected
        ]
        await expect(host.job(seed["v2"]).get_by_test_id("serves")).to_have_text("Serves the gateway")
        await host.screenshot("2-jobs.png")
        await host.assert_offline_and_secret_free(SECRET_VALUE, DEFAULT_API_SECRET)


async def test_the_gateway_console_shows_the_functions_reply_as_text(
    mcp: Client, emulator: EmulatorState, serve: Serve, browser: BrowserContext, expect: Expect, screenshots: Path
) -> None:
    seed = await seeded(mcp, emulator)

    async with serve() as base:
        host = await HostPage.open(browser, base, screenshots, "get_cloud_function", {"function_uuid": seed["feed"]})
        await host.view.get_by_test_id("console-body").fill('{"coin": "eth"}')
        await host.view.get_by_test_id("console-path").fill("/prices?currency=usd")
        await host.view.get_by_test_id("console-send").click()

        await expect(host.view.get_by_test_id("console-reply")).to_have_text(MARKUP_REPLY)
        await expect(host.view.get_by_test_id("console-status")).to_contain_text("HTTP 200")
        assert await host.view.locator("#injected, img").count() == 0
        assert await host.page.title() != "owned"
        assert await host.calls("invoke_cloud_function") == [
            {"function_uuid": seed["feed"], "body": {"coin": "eth"}, "path": "/prices?currency=usd"}
        ]
        await host.screenshot("3-console.png")
        await host.assert_offline_and_secret_free(SECRET_VALUE, DEFAULT_API_SECRET)

        dark = await HostPage.open(
            browser, base, screenshots, "get_cloud_function", {"function_uuid": seed["feed"]}, theme="dark"
        )
        await expect(dark.view.locator("html")).to_have_attribute("data-theme", "dark")
        await expect(dark.view.get_by_test_id("job")).to_have_count(2)
        await dark.screenshot("10-dark.png")


async def test_a_delete_from_the_view_asks_for_confirmation_and_changes_nothing_until_given(
    mcp: Client, emulator: EmulatorState, serve: Serve, browser: BrowserContext, expect: Expect, screenshots: Path
) -> None:
    seed = await seeded(mcp, emulator)
    old = seed["v1"]

    async with serve() as base:
        host = await HostPage.open(browser, base, screenshots, "get_cloud_function", {"function_uuid": seed["feed"]})
        await host.job(old).get_by_test_id("delete").click()

        question = host.view.get_by_test_id("confirm-text")
        await expect(question).to_contain_text('Delete job "v1"')
        await expect(question).to_contain_text("INACTIVE")
        await expect(question).not_to_contain_text("confirmation_token")
        await expect(host.view.get_by_test_id("confirm-no")).to_be_focused()
        assert old in [job["job_uuid"] for job in await live_jobs(mcp, seed["feed"])]
        assert await host.calls("delete_cloud_function_job") == [{"job_uuid": old}]
        await host.screenshot("4-delete-confirmation.png")

        await host.view.get_by_test_id("confirm-no").click()
        await expect(host.view.get_by_test_id("notice")).to_contain_text("Nothing was deleted")
        await expect(host.view.get_by_test_id("confirm")).to_have_count(0)
        assert old in [job["job_uuid"] for job in await live_jobs(mcp, seed["feed"])]
        assert len(await host.calls("delete_cloud_function_job")) == 1

        await host.job(old).get_by_test_id("delete").click()
        await host.view.get_by_test_id("confirm-yes").click()
        await expect(host.view.get_by_test_id("notice")).to_contain_text('Deleted job "v1"')
        await expect(host.job(old)).to_have_count(0)
        assert old not in [job["job_uuid"] for job in await live_jobs(mcp, seed["feed"])]
        deletes = await host.calls("delete_cloud_function_job")
        assert [sorted(call) for call in deletes] == [["job_uuid"], ["job_uuid"], ["confirmation_token", "job_uuid"]]
        told = json.dumps(await host.page.evaluate("window.testHost.modelContext"))
        assert "Deleted 1 job" in told
        await host.screenshot("5-deleted.png")
        await host.assert_offline_and_secret_free(SECRET_VALUE, DEFAULT_API_SECRET)


async def test_on_a_read_only_server_the_view_stops_offering_what_the_server_cannot_do(
    mcp: Client, emulator: EmulatorState, serve: Serve, browser: BrowserContext, expect: Expect, screenshots: Path
) -> None:
    function = emulator.create_function("Price feed")
    job = emulator.create_job(function.function_uuid, "v1", HELLO_WORLD_CID)

    async with serve(read_only=True) as base:
        host = await HostPage.open(
            browser, base, screenshots, "get_cloud_function", {"function_uuid": function.function_uuid}
        )
        await host.job(job.job_uuid).get_by_test_id("delete").click()

        await expect(host.view.get_by_test_id("notice")).to_contain_text("does not offer delete_cloud_function_job")
        await expect(host.view.get_by_test_id("delete")).to_have_count(0)
        assert [j["job_uuid"] for j in await live_jobs(mcp, function.function_uuid)] == [job.job_uuid]


async def test_a_rollback_deploys_the_old_cid_and_the_view_follows_it_until_it_serves(
    mcp: Client, emulator: EmulatorState, serve: Serve, browser: BrowserContext, expect: Expect, screenshots: Path
) -> None:
    seed = await seeded(mcp, emulator)
    before = {job["job_uuid"]: job for job in await live_jobs(mcp, seed["feed"])}
    balance = data(await mcp.call_tool("get_credit_balance", {}))["balance"]

    async with serve(spending_cap_credits=500) as base:
        host = await HostPage.open(browser, base, screenshots, "get_cloud_function", {"function_uuid": seed["feed"]})
        cap = host.view.get_by_test_id("spending-cap")
        await expect(cap).to_have_text("Spending cap: 0 of 500 credits used, 500 left")
        await expect(host.job(seed["v2"]).get_by_test_id("rollback")).to_have_count(0)
        await host.job(seed["v1"]).get_by_test_id("rollback").click()
        await expect(host.view.get_by_test_id("confirm-text")).to_contain_text(before[seed["v1"]]["script_cid"])
        assert await host.calls("create_cloud_function_job") == []
        await host.view.get_by_test_id("confirm-yes").click()

        await expect(host.view.get_by_test_id("job")).to_have_count(3)
        (created,) = [job for job in await live_jobs(mcp, seed["feed"]) if job["job_uuid"] not in before]
        assert (created["script_cid"], created["name"]) == (before[seed["v1"]]["script_cid"], "Rollback: v1")
        row = host.job(created["job_uuid"])
        await expect(row.get_by_test_id("job-status")).to_have_text("DEPLOYING")
        await expect(host.view.get_by_test_id("polling")).to_be_visible()
        await expect(host.view.get_by_test_id("balance")).to_have_text(f"{balance - 100:,} credits")
        await expect(cap).to_have_text("Spending cap: 100 of 500 credits used, 400 left")
        await host.screenshot("6-rollback-deploying.png")

        # Nobody clicks Refresh from here: the view looks again on its own every few seconds while the job deploys.
        emulator.clock.advance(10)
        await host.page.clock.fast_forward(POLL_MS)
        await expect(row.get_by_test_id("job-status")).to_have_text("DEPLOYED")
        emulator.clock.advance(20)
        await host.page.clock.fast_forward(POLL_MS)
        await expect(row.get_by_test_id("job-status")).to_have_text("MATCHED")
        await expect(row.get_by_test_id("serves")).to_be_visible()
        await expect(host.view.get_by_test_id("polling")).to_have_count(0)
        serving = [job["job_uuid"] for job in await live_jobs(mcp, seed["feed"]) if job["serves_gateway"]]
        assert serving == [created["job_uuid"]]
        await host.screenshot("7-rollback-serving.png")
        await host.assert_offline_and_secret_free(SECRET_VALUE, DEFAULT_API_SECRET)


async def test_an_empty_project_and_a_failing_api_get_clear_states(
    mcp: Client, emulator: EmulatorState, serve: Serve, browser: BrowserContext, expect: Expect, screenshots: Path
) -> None:
    async with serve() as base:
        host = await HostPage.open(browser, base, screenshots, "list_cloud_functions")
        await expect(host.view.get_by_test_id("empty")).to_contain_text("No cloud functions yet")
        await host.screenshot("8-empty.png")

        emulator.faults.append(Fault(path="/cloud-functions", method="GET", status=503, times=1000))
        failing = await HostPage.open(browser, base, screenshots, "list_cloud_functions")
        error = failing.view.get_by_test_id("error")
        await expect(error).to_contain_text("Apillon answered HTTP 503")
        await expect(failing.view.get_by_test_id("notice")).to_have_count(0)
        await failing.screenshot("9-error.png")

        emulator.faults.clear()
        emulator.create_function("Back again")
        await error.get_by_role("button", name="Try again").click()
        await expect(failing.view.get_by_test_id("function").locator(".name")).to_have_text(["Back again"])
        await expect(error).to_have_count(0)
        await failing.assert_offline_and_secret_free(DEFAULT_API_SECRET)
