"""`run_once`: a fresh isolated process, one payload, and its reply, error, exit or timeout; and what it printed."""

import json
import logging
import shutil
from pathlib import Path

import anyio
import pytest

from apillon_mcp.runner import (
    Exited,
    NodeUnavailable,
    Reply,
    Thrown,
    TimedOut,
    check_syntax,
    gateway_payload,
    run_once,
)

from scripts import ECHO, SILENT

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("node") is None, reason="scripts run with Node.js"),
]

PAYLOAD = gateway_payload(
    body=b'{"coin": "eth"}', path="/prices", query=[("x", "1")], headers=[("x-trace", "t1"), ("X-Amzn-Trace", "no")]
)


def listening(handler: str, top_level: str = "") -> bytes:
    return f"""{top_level}
_STD_.ws.open([], () => _STD_.ws.registerPayloadHandler(({{ sender, payload }}) => {{
{handler}
}}));
""".encode()


async def test_the_reply_is_the_scripts_answer_to_the_payload_with_its_variables() -> None:
    outcome = await run_once(ECHO.encode(), PAYLOAD, env={"GREETING": "hej"}, timeout=20)

    assert outcome.kind == "reply"
    assert isinstance(outcome.result, Reply)
    reply = json.loads(outcome.result.body)
    assert reply["greeting"] == "hej"
    assert reply["request"] == {
        "body": {"coin": "eth"},
        "headers": {"x-trace": "t1"},
        "path": "/prices",
        "queryStringParameters": {"x": "1"},
        "multiValueQueryStringParameters": {"x": ["1"]},
        "pathParameters": {"proxy": "prices"},
    }
    assert 0 < outcome.elapsed_seconds < 20


async def test_an_exception_thrown_before_replying_is_an_error_with_its_line() -> None:
    script = listening("  const data = null;\n  _STD_.ws.send(sender, data.price);")

    outcome = await run_once(script, PAYLOAD, env={}, timeout=20)

    assert outcome.result == Thrown(
        name="TypeError", message="Cannot read properties of null (reading 'price')", line=4, column=30
    )
    assert "TypeError: Cannot read properties of null" in outcome.output


async def test_an_exception_at_load_and_an_unhandled_rejection_are_errors_too() -> None:
    at_load = await run_once(b"\n\nthrow new RangeError('no config');\n", PAYLOAD, env={}, timeout=20)
    rejected = await run_once(listening("  Promise.reject(new Error('async failure'));"), PAYLOAD, env={}, timeout=20)
    thrown_string = await run_once(b"throw 'plain text';", PAYLOAD, env={}, timeout=20)

    assert at_load.result == Thrown(name="RangeError", message="no config", line=3, column=7)
    assert rejected.result == Thrown(name="Error", message="async failure", line=3, column=18)
    assert thrown_string.kind == "error"
    assert isinstance(thrown_string.result, Thrown)
    assert (thrown_string.result.name, thrown_string.result.message) == ("string", "'plain text'")


async def test_a_syntax_error_is_an_error_at_its_line() -> None:
    outcome = await run_once(b"const a = 1;\nconst b = ;\n", PAYLOAD, env={}, timeout=20)

    assert outcome.result == Thrown(name="SyntaxError", message="Unexpected token ';'", line=2, column=11)


async def test_a_script_that_ends_without_replying_is_an_exit_with_its_code() -> None:
    exits = await run_once(listening("  process.exit(3);"), PAYLOAD, env={}, timeout=20)
    finishes = await run_once(b"console.log('done, nothing to wait for');", PAYLOAD, env={}, timeout=20)

    assert exits.result == Exited(code=3, detail="exited with code 3")
    assert finishes.result == Exited(code=0, detail="exited with code 0")
    assert finishes.output == "done, nothing to wait for\n"


async def test_a_script_that_never_replies_times_out() -> None:
    outcome = await run_once(SILENT.encode(), PAYLOAD, env={}, timeout=0.3)

    assert outcome.result == TimedOut(0.3)
    assert outcome.kind == "timeout"


async def test_a_script_stuck_before_it_reads_a_large_payload_still_times_out_on_time() -> None:
    large = gateway_payload(body=b"x" * 2_000_000, path="/", query=[], headers=[])

    with anyio.fail_after(15):
        outcome = await run_once(b"for (;;) {}", large, env={}, timeout=0.3)

    assert outcome.result == TimedOut(0.3)


async def test_a_script_that_runs_out_of_memory_is_an_exit_that_says_so() -> None:
    hog = listening("  const hog = []; for (;;) hog.push(new Array(100000).fill(1.5));")

    outcome = await run_once(hog, PAYLOAD, env={}, timeout=20, memory_mb=32)

    assert isinstance(outcome.result, Exited)
    assert outcome.result.detail == "ran out of memory (the limit is 32 MB)"


async def test_only_the_first_reply_counts() -> None:
    script = listening(
        '  _STD_.ws.send(sender, Buffer.from("first").toString("hex"));\n'
        '  _STD_.ws.send(sender, Buffer.from("second").toString("hex"));'
    )

    outcome = await run_once(script, PAYLOAD, env={}, timeout=20)

    assert outcome.result == Reply(b"first")


async def test_everything_the_script_prints_is_in_the_output_and_never_in_the_reply() -> None:
    script = listening(
        '  console.log("log", { a: 1 });\n  console.error("error line");\n  process.stdout.write("raw stdout\\n");\n'
        '  require("fs").writeSync(1, "straight to fd 1\\n");\n'
        '  _STD_.ws.send(sender, Buffer.from("the reply").toString("hex"));',
        top_level="console.warn('loading');",
    )

    outcome = await run_once(script, PAYLOAD, env={}, timeout=20)

    assert outcome.result == Reply(b"the reply")
    lines = outcome.output.splitlines()
    through_stderr = ["loading", "log { a: 1 }", "error line", "raw stdout"]
    # stdout and stderr are read apart, so only the lines of each keep their order
    assert [line for line in lines if line != "straight to fd 1"] == through_stderr
    assert "straight to fd 1" in lines
    assert not outcome.output_truncated


async def test_a_long_output_is_trimmed_to_its_first_kibibytes() -> None:
    script = b"for (let i = 0; i < 2000; i++) console.log(String(i).padStart(20, '.'));"

    outcome = await run_once(script, PAYLOAD, env={}, timeout=20)

    assert outcome.output_truncated
    assert len(outcome.output) == 8 * 1024
    assert outcome.output.startswith("...................0\n")


async def test_the_output_goes_to_the_caller_and_not_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="apillon_mcp.runner")
    script = b"console.log('token is', _STD_.env.TOKEN);"

    outcome = await run_once(script, PAYLOAD, env={"TOKEN": "tk-5e6f7a8b"}, timeout=20)

    assert outcome.output == "token is tk-5e6f7a8b\n"
    assert "tk-5e6f7a8b" not in caplog.text and "token is" not in caplog.text


async def test_without_node_on_path_it_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(NodeUnavailable, match=r"^Node.js was not found on PATH") as missing:
        await run_once(ECHO.encode(), PAYLOAD, env={}, timeout=20)

    assert "https://nodejs.org" in str(missing.value)


async def test_a_syntax_error_on_a_line_with_a_separator_character_is_reported() -> None:
    """Python's `splitlines` also splits at form feed, FS, GS, RS and NEL; JavaScript keeps them on the line."""
    problems = await check_syntax("const a = '\x0c\x1e\x85' +;\n".encode())

    assert len(problems) == 1
    assert "Unexpected token" in problems[0].message
