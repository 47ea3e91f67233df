"""The client under network faults: reads retried within a budget, writes never repeated once they may have landed."""

import socket
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx2
import pytest
from starlette.types import Receive, Scope, Send

from apillon_mcp.apillon import ApillonBadResponse, ApillonClient, ApillonServerError, ApillonUnreachable, open_client
from apillon_mcp.apillon.retry import Attempt, RetryPolicy, retry_after_seconds
from apillon_mcp.backends import SandboxTransport
from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, EmulatorState, create_emulator
from apillon_mcp.emulator.faults import Fault, FaultKind

from loopback import served

pytestmark = [pytest.mark.anyio, pytest.mark.faults]

POLICY = RetryPolicy()
"""The client's own policy; `test_by_default_*` pin its figures."""


class Sleeps:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def client(
    emulator: EmulatorState,
    sleeps: Sleeps,
    *,
    base_url: str = "http://emulator",
    transport: httpx2.AsyncBaseTransport | None = None,
    timeout: httpx2.Timeout | None = None,
    retry: RetryPolicy | None = None,
) -> AbstractAsyncContextManager[ApillonClient]:
    """The client with recorded (not waited) retry sleeps: in-process against `emulator` unless `base_url` is a
    real server; without `retry`, the client's default policy."""
    if transport is None and base_url == "http://emulator":
        transport = SandboxTransport(app=create_emulator(emulator))
    extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    if retry is not None:
        extra["retry"] = retry
    return open_client(
        base_url=base_url,
        api_key=DEFAULT_API_KEY,
        api_secret=DEFAULT_API_SECRET,
        user_agent="test",
        transport=transport,
        sleep=sleeps,
        **extra,
    )


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def apillon(emulator: EmulatorState, sleeps: Sleeps) -> AsyncGenerator[ApillonClient, None]:
    async with client(emulator, sleeps) as connected:
        yield connected


@pytest.mark.parametrize("status", [502, 503, 504, 429])
async def test_a_read_is_retried_after_a_passing_failure(
    apillon: ApillonClient, emulator: EmulatorState, sleeps: Sleeps, status: int
) -> None:
    emulator.faults.append(Fault(path="/cloud-functions", method="GET", status=status, times=2))

    listing = await apillon.list_cloud_functions()

    assert listing.total == 0
    assert len(sleeps.seconds) == 2
    assert 0.25 <= sleeps.seconds[0] <= 0.5 and 0.5 <= sleeps.seconds[1] <= 1.0


async def test_a_read_gives_up_after_the_attempts_with_the_last_error(
    apillon: ApillonClient, emulator: EmulatorState, sleeps: Sleeps
) -> None:
    emulator.faults.append(Fault(path="/cloud-functions", method="GET", status=503, times=10))

    with pytest.raises(ApillonServerError) as raised:
        await apillon.list_cloud_functions()

    assert raised.value.status == 503
    assert len(sleeps.seconds) == POLICY.attempts - 1
    assert sum(sleeps.seconds) <= POLICY.max_wait
    assert emulator.faults[0].times == 10 - POLICY.attempts


async def test_the_total_wait_stays_within_the_budget(emulator: EmulatorState, sleeps: Sleeps) -> None:
    emulator.faults.append(Fault(path="/project/credit", status=502, times=50))
    tight = RetryPolicy(attempts=10, base_delay=1.0, max_delay=8.0, max_wait=6.0)
    async with client(emulator, sleeps, retry=tight) as apillon:
        with pytest.raises(ApillonServerError):
            await apillon.get_credit_balance()

    assert sum(sleeps.seconds) <= 6.0
    assert len(sleeps.seconds) < 9


async def test_retry_after_is_honoured(apillon: ApillonClient, emulator: EmulatorState, sleeps: Sleeps) -> None:
    app = create_emulator(emulator)

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not sleeps.seconds:
            await send({"type": "http.response.start", "status": 429, "headers": [(b"retry-after", b"3")]})
            await send({"type": "http.response.body", "body": b"slow down"})
            return
        await app(scope, receive, send)

    async with client(emulator, sleeps, transport=SandboxTransport(app=limited)) as limited_client:
        assert await limited_client.get_credit_balance() == 1000

    assert sleeps.seconds == [3.0]


async def test_a_retry_after_longer_than_the_budget_is_not_waited_for(emulator: EmulatorState, sleeps: Sleeps) -> None:
    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 429, "headers": [(b"retry-after", b"3600")]})
        await send({"type": "http.response.body", "body": b"{}"})

    async with client(emulator, sleeps, transport=SandboxTransport(app=limited)) as limited_client:
        with pytest.raises(ApillonServerError) as raised:
            await limited_client.get_credit_balance()

    assert raised.value.status == 429
    assert sleeps.seconds == []


@pytest.mark.parametrize(("asked", "wait"), [("8", 8.0), ("9", None)], ids=["the-longest-single-wait", "longer"])
def test_a_retry_after_is_waited_for_up_to_the_longest_single_wait(asked: str, wait: float | None) -> None:
    attempt = Attempt(number=1, method="GET", status=503, retry_after=asked)

    assert POLICY.wait_before_retry(attempt, waited=0, jitter=lambda: 0.5) == wait


def test_retry_after_reads_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
    assert retry_after_seconds(" 12 ", now) == 12
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 -0000", now) == 30  # no zone: read as UTC
    assert retry_after_seconds("Thu, 01 Jan 2026 14:00:30 +0200", now) == 30  # a zone of its own is kept
    assert retry_after_seconds("Thu, 01 Jan 2026 11:59:00 GMT", now) == 0.0  # already past: no wait


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
async def test_a_write_is_never_retried_after_an_answer(
    apillon: ApillonClient, emulator: EmulatorState, sleeps: Sleeps, status: int
) -> None:
    emulator.faults.append(Fault(path="/cloud-functions", method="POST", status=status, times=5))

    with pytest.raises(ApillonServerError) as raised:
        await apillon.create_cloud_function("once")

    assert sleeps.seconds == []
    assert emulator.faults[0].times == 4
    assert raised.value.outcome_unknown is (status in (502, 503, 504))


async def test_a_dropped_connection_after_a_write_is_an_unknown_outcome_not_a_duplicate(
    apillon: ApillonClient, emulator: EmulatorState, sleeps: Sleeps
) -> None:
    emulator.faults.append(Fault(path="/cloud-functions", method="POST", kind="reset"))

    with pytest.raises(ApillonUnreachable) as raised:
        await apillon.create_cloud_function("maybe")

    assert raised.value.outcome_unknown is True
    assert sleeps.seconds == []
    assert [f.name for f in emulator.functions.values()] == ["maybe"]


async def test_a_dropped_connection_during_a_read_is_retried(
    apillon: ApillonClient, emulator: EmulatorState, sleeps: Sleeps
) -> None:
    emulator.faults.append(Fault(path="/project/credit", kind="reset"))

    assert await apillon.get_credit_balance() == 1000
    assert len(sleeps.seconds) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("<html><h1>502 Bad Gateway</h1></html>", 502),
        ('{"id":"9f1","status":201,"da', 201),
        ("", 200),
        ({"id": "x", "status": 201}, 201),
    ],
)
async def test_an_unreadable_answer_to_a_write_is_an_unknown_outcome(
    apillon: ApillonClient, emulator: EmulatorState, body: object, status: int
) -> None:
    emulator.faults.append(Fault(path="/cloud-functions", method="POST", status=status, body=body or " "))

    with pytest.raises((ApillonBadResponse, ApillonServerError)) as raised:
        await apillon.create_cloud_function("x")

    assert raised.value.outcome_unknown is True


async def test_an_unreadable_answer_to_a_read_is_a_clear_error(apillon: ApillonClient, emulator: EmulatorState) -> None:
    emulator.faults.append(Fault(path="/project/credit", status=200, body='{"id":"9f1","status":200,"da'))

    with pytest.raises(ApillonBadResponse) as raised:
        await apillon.get_credit_balance()

    assert "without the Apillon JSON envelope" in str(raised.value)
    assert raised.value.outcome_unknown is False


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_refused_connection_is_retried_even_for_a_write(emulator: EmulatorState, sleeps: Sleeps) -> None:
    async with client(emulator, sleeps, base_url=f"http://127.0.0.1:{_closed_port()}") as unreachable:
        with pytest.raises(ApillonUnreachable) as raised:
            await unreachable.create_cloud_function("never sent")

    assert raised.value.may_have_reached_server is False
    assert raised.value.outcome_unknown is False
    assert len(sleeps.seconds) == POLICY.attempts - 1


async def test_over_a_real_socket_a_slow_write_times_out_as_an_unknown_outcome(
    emulator: EmulatorState, sleeps: Sleeps
) -> None:
    emulator.faults.append(Fault(path="/cloud-functions", method="POST", kind="slow", delay_seconds=30))
    timeout = httpx2.Timeout(connect=2.0, read=0.3, write=2.0, pool=2.0)
    async with (
        served(create_emulator(emulator)) as base,
        client(emulator, sleeps, base_url=base, timeout=timeout) as remote,
    ):
        with pytest.raises(ApillonUnreachable) as raised:
            await remote.create_cloud_function("slow one")

    assert raised.value.outcome_unknown is True
    assert "timed out" in str(raised.value)
    assert [f.name for f in emulator.functions.values()] == ["slow one"]


@pytest.mark.parametrize("kind", ["reset", "truncate"])
async def test_over_a_real_socket_a_broken_answer_to_a_write_is_an_unknown_outcome(
    emulator: EmulatorState, sleeps: Sleeps, kind: FaultKind
) -> None:
    emulator.faults.append(Fault(path="/cloud-functions", method="POST", kind=kind))
    async with served(create_emulator(emulator)) as base, client(emulator, sleeps, base_url=base) as remote:
        with pytest.raises(ApillonUnreachable) as raised:
            await remote.create_cloud_function("cut off")

    assert raised.value.outcome_unknown is True
    assert sleeps.seconds == []
    assert [f.name for f in emulator.functions.values()] == ["cut off"]


async def test_an_http_date_retry_after_is_read_against_the_current_time(
    emulator: EmulatorState, sleeps: Sleeps
) -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    app = create_emulator(emulator)

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not sleeps.seconds:
            when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True).encode()
            await send({"type": "http.response.start", "status": 503, "headers": [(b"retry-after", when)]})
            await send({"type": "http.response.body", "body": b"later"})
            return
        await app(scope, receive, send)

    async with client(emulator, sleeps, transport=SandboxTransport(app=limited)) as limited_client:
        assert await limited_client.get_credit_balance() == 1000

    (waited,) = sleeps.seconds
    assert 3.0 < waited <= 5.0


async def test_a_retry_after_longer_than_one_wait_but_within_the_budget_is_not_waited_for(
    emulator: EmulatorState, sleeps: Sleeps
) -> None:
    """The server asks for 9 s: more than the longest single wait (8 s), less than the whole budget (20 s)."""

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": [(b"retry-after", b"9")]})
        await send({"type": "http.response.body", "body": b"{}"})

    async with client(emulator, sleeps, transport=SandboxTransport(app=limited)) as limited_client:
        with pytest.raises(ApillonServerError) as raised:
            await limited_client.get_credit_balance()

    assert raised.value.status == 503
    assert sleeps.seconds == []


async def test_by_default_a_read_is_tried_four_times_with_growing_waits_within_twenty_seconds(
    emulator: EmulatorState, sleeps: Sleeps
) -> None:
    emulator.faults.append(Fault(path="/project/credit", status=503, times=50))
    async with client(emulator, sleeps) as apillon:
        with pytest.raises(ApillonServerError):
            await apillon.get_credit_balance()

    assert emulator.faults[0].times == 50 - 4
    first, second, third = sleeps.seconds
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1.0 and 1.0 <= third <= 2.0


async def test_by_default_a_long_outage_is_given_up_on_within_twenty_seconds_of_waits(
    emulator: EmulatorState, sleeps: Sleeps
) -> None:
    """Each wait at most 8 s, all of them at most 20 s: ten tries allowed, the budget ends them first."""
    emulator.faults.append(Fault(path="/project/credit", status=503, times=50))
    async with client(emulator, sleeps, retry=RetryPolicy(attempts=10)) as apillon:
        with pytest.raises(ApillonServerError):
            await apillon.get_credit_balance()

    assert max(sleeps.seconds) <= 8.0
    assert 10.0 < sum(sleeps.seconds) <= 20.0
