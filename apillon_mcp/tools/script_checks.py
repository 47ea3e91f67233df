"""What can be known about a script before paying for it: Node's own parse, and the gateway contract.

The contract (resource apillon://docs/script-contract): a job answers its gateway only if the script uses the
Acurast runtime's websocket (`_STD_.ws.open`, `registerPayloadHandler`, `send`). The contract checks read the
text, not the program, so only what a script cannot do without refuses it: a name that appears nowhere. Constructs
that show a misunderstanding (an HTTP server, a Lambda-style exported handler) are pointed out where they are,
but on their own they refuse nothing: a bundle may carry a library's server code that never runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

from apillon_mcp import runner


class Problem(BaseModel):
    check: str = Field(description="syntax or contract.")
    where: str = Field(description="Line and column, or 'anywhere' for something missing.")
    problem: str
    fix: str


@dataclass(frozen=True)
class _Needed:
    pattern: re.Pattern[str]
    problem: str
    fix: str


_NEEDED = (
    _Needed(
        re.compile(r"\b_STD_\b"),
        "it never uses the Acurast runtime (_STD_), so gateway calls can never reach it",
        "open the websocket with _STD_.ws.open(...) and answer each payload, as the script contract shows",
    ),
    _Needed(
        re.compile(r"\.\s*open\s*\(|\[\s*[\"']open[\"']\s*\]"),
        "it never calls _STD_.ws.open(...), so it never connects to the Acurast websocket proxy",
        "call _STD_.ws.open([proxy URLs], onOpen, onError) at the top level",
    ),
    _Needed(
        re.compile(r"\bregisterPayloadHandler\b"),
        "it never calls _STD_.ws.registerPayloadHandler(...), so gateway calls never reach it",
        "register a handler in onOpen: _STD_.ws.registerPayloadHandler(({ sender, payload }) => ...)",
    ),
    _Needed(
        re.compile(r"\bsend\s*\(|\[\s*[\"']send[\"']\s*\]"),
        "it never calls _STD_.ws.send(...), so it cannot reply to a gateway call",
        "answer every payload with _STD_.ws.send(sender, <hex of the reply text>)",
    ),
)

_MISUSED = (
    (
        re.compile(r"\b(?:http|https|net)\s*\.\s*createServer\s*\(|\bcreateServer\s*\("),
        "it starts an HTTP server; a job does not listen: the gateway reaches it over _STD_.ws",
        "remove the server; handle each request in _STD_.ws.registerPayloadHandler and reply with _STD_.ws.send",
    ),
    (
        re.compile(r"\.\s*listen\s*\(\s*(?:\d|process\.env|PORT\b)"),
        "it listens on a port; nothing can connect to a job",
        "remove the listen call; requests arrive through _STD_.ws.registerPayloadHandler",
    ),
    (
        re.compile(
            r"^[ \t]*(?:module\.)?exports\s*(?:\.\s*handler\s*)?="
            r"|^[ \t]*export\s+(?:default|async|function|const)",
            re.M,
        ),
        "it exports a handler, like AWS Lambda or a web framework; Acurast runs the file top to bottom and never "
        "calls an export",
        "call your handler from _STD_.ws.registerPayloadHandler and reply with _STD_.ws.send",
    ),
)


def contract_problems(source: str) -> tuple[list[Problem], list[Problem]]:
    """(how the script breaks the gateway contract, what looks wrong but may be harmless); empty when it follows
    the contract as far as the text shows."""
    missing = [needed for needed in _NEEDED if needed.pattern.search(source) is None]
    if _NEEDED[0] in missing:
        missing = [_NEEDED[0]]  # without _STD_ at all, the other three say the same thing again
    misused = [
        Problem(check="contract", where=_where(source, match.start()), problem=problem, fix=fix)
        for pattern, problem, fix in _MISUSED
        if (match := pattern.search(source)) is not None
    ]
    problems = [Problem(check="contract", where="anywhere", problem=n.problem, fix=n.fix) for n in missing]
    return (problems + misused, []) if problems else ([], misused)


async def syntax_problems(script: bytes) -> tuple[list[Problem], str]:
    """Node's own parse of the script as a job loads it, and a note on the check (how it ran, or why it did not)."""
    try:
        found = await runner.check_syntax(script)
    except (runner.NodeUnavailable, runner.RunnerError) as missing:
        return [], f"syntax NOT checked: {missing}"
    problems = [
        Problem(
            check="syntax",
            where=_at(problem.line, problem.column),
            problem=problem.message,
            fix="correct the JavaScript there (a job loads the file as one CommonJS script: bundle modules into it)",
        )
        for problem in found
    ]
    return problems, "syntax (Node.js)"


def _at(line: int | None, column: int | None) -> str:
    if line is None:
        return "somewhere (Node did not say where)"
    return f"line {line}" + (f", column {column}" if column is not None else "")


def _where(source: str, offset: int) -> str:
    line = source.count("\n", 0, offset) + 1
    return _at(line, offset - (source.rfind("\n", 0, offset) + 1) + 1)
