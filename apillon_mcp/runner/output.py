"""What a script prints: each line logged at DEBUG without its variables' values (or not logged), the first kept."""

from __future__ import annotations

import logging
import threading

from apillon_mcp.runner.redact import Redactor

logger = logging.getLogger("apillon_mcp.runner")

OUTPUT_KEPT_CHARS = 8 * 1024


class ScriptOutput:
    """Called with each line a script prints (from its process's reader threads); keeps the first `keep` characters.

    With `log` false nothing is logged: the caller hands the output to whoever asked for the run, and the server's
    log need not hold a copy of it (or of the script's own lines, which Node prints with a syntax error).
    """

    def __init__(self, redact: Redactor, label: str, keep: int = 0, *, log: bool = True) -> None:
        self._redact = redact
        self._label = label
        self._keep = keep
        self._log = log
        self._lock = threading.Lock()
        self._kept: list[str] = []
        self._size = 0
        self.truncated = False

    def __call__(self, line: str) -> None:
        if self._log and logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s: %s", self._label, self._redact(line))
        if not self._keep:
            return
        with self._lock:
            room = self._keep - self._size
            if len(line) + 1 > room:
                self.truncated = True
            if room > 0:
                piece = f"{line}\n"[:room]
                self._kept.append(piece)
                self._size += len(piece)

    def text(self) -> str:
        with self._lock:
            return "".join(self._kept)
