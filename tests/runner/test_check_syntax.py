"""`check_syntax`: Node's own parse of a script as the runner loads it (a CommonJS module body), never running it."""

import shutil
from pathlib import Path

import pytest

from apillon_mcp.runner import NodeUnavailable, SyntaxProblem, check_syntax

from scripts import ECHO

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("node") is None, reason="scripts are parsed by Node.js"),
]


async def test_a_script_that_parses_has_no_problems() -> None:
    assert await check_syntax(ECHO.encode()) == []


async def test_a_syntax_error_gives_its_line_column_message_and_source_line() -> None:
    script = b"const PROXIES = [];\n_STD_.ws.open(PROXIES, () => {\n  const reply = { type: 'ok' ;\n});\n"

    problems = await check_syntax(script)

    assert problems == [
        SyntaxProblem(
            line=3, column=30, message="SyntaxError: Unexpected token ';'", source="  const reply = { type: 'ok' ;"
        )
    ]


async def test_the_script_is_parsed_as_commonjs_not_as_a_module() -> None:
    top_level_await = await check_syntax(b"const r = await fetch('https://example.org');\n")
    imports = await check_syntax(b"import fs from 'fs';\n")
    commonjs = await check_syntax(b"#!/usr/bin/env node\nconst fs = require('fs');\nmodule.exports = {};\nreturn;\n")

    assert [problem.line for problem in top_level_await] == [1]
    assert "await is only valid in async functions" in top_level_await[0].message
    assert [problem.line for problem in imports] == [1]
    assert commonjs == []


async def test_parsing_never_runs_the_script() -> None:
    assert await check_syntax(b"for (;;) {}\n") == []


async def test_a_byte_order_mark_and_bad_utf8_are_read_as_node_reads_a_file() -> None:
    assert await check_syntax(b"\xef\xbb\xbfconst ok = '\xff';\n") == []


async def test_without_node_on_path_it_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(NodeUnavailable, match=r"^Node.js was not found on PATH"):
        await check_syntax(ECHO.encode())
