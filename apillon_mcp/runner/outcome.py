"""What running a script gave: a reply, an error it threw, an exit, or nothing in time; and syntax problems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Reply:
    """The bytes of the script's first `_STD_.ws.send` to the gateway for this call."""

    body: bytes


@dataclass(frozen=True)
class Thrown:
    """An uncaught exception or unhandled rejection that ended the script before it replied.

    `line` and `column` (1-based) point into the script where it was thrown, when a stack frame or the parser says.
    """

    name: str
    message: str
    line: int | None
    column: int | None


@dataclass(frozen=True)
class Exited:
    """The process ended without replying; `code` as Python reports it (negative: killed by that signal)."""

    code: int
    detail: str


@dataclass(frozen=True)
class TimedOut:
    seconds: float


Result = Reply | Thrown | Exited | TimedOut
Kind = Literal["reply", "error", "exit", "timeout"]


def kind_of(result: Result) -> Kind:
    if isinstance(result, Reply):
        return "reply"
    if isinstance(result, Thrown):
        return "error"
    if isinstance(result, Exited):
        return "exit"
    return "timeout"


@dataclass(frozen=True)
class ScriptOutcome:
    """One run: its result, what the script printed (console, stdout and stderr; its first bytes) and how long."""

    result: Result
    output: str
    output_truncated: bool
    elapsed_seconds: float

    @property
    def kind(self) -> Kind:
        return kind_of(self.result)


@dataclass(frozen=True)
class SyntaxProblem:
    """Where Node's parser stopped: 1-based line and column (None when it did not say), its message, the line."""

    line: int | None
    column: int | None
    message: str
    source: str | None
