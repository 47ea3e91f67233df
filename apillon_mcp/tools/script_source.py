"""A script's bytes, from the text the model gives or from a local file the user names (stdio only).

A local file is read only when it really is a script: the path is resolved first (symlinks followed), and the
target must be a regular file with a script suffix, within the size limit, outside the kernel's pseudo file
systems. So a link named `index.js` that points at a private key, or at `/proc/self/environ`, is refused
instead of being uploaded to public IPFS.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from apillon_mcp.context import AppState
from apillon_mcp.tools.untrusted import quoted

MAX_SCRIPT_BYTES = 10 * 1024 * 1024
SCRIPT_SUFFIXES = (".js", ".cjs")
_PSEUDO_FILE_SYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))

ScriptSource = Annotated[
    str | None,
    Field(min_length=1, max_length=1_000_000, description="JavaScript text (or script_path)."),
]
ScriptPath = Annotated[
    str | None,
    Field(min_length=1, max_length=4096, description="A local .js file (stdio server only)."),
]


def read_script(state: AppState, name: str, source: str | None, path: str | None) -> tuple[bytes, str]:
    """The script's bytes and a file name for it (from `name` for source text)."""
    if (source is None) == (path is None):
        raise ToolError("Give exactly one of script_source (the JavaScript text) or script_path (a local .js file).")
    if source is not None:
        return source.encode("utf-8"), file_name_for(name)
    assert path is not None
    if not state.local_files:
        raise ToolError(
            "script_path is refused: this server does not run on your machine (it is served over HTTP), so it "
            "cannot read your files. Pass the JavaScript text as script_source instead."
        )
    return _read_local_script(path)


def file_name_for(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "script"
    return f"{stem[:80]}.js"


def _read_local_script(path: str) -> tuple[bytes, str]:
    if "\0" in path:
        raise ToolError("script_path contains a NUL character; give the path of a .js file.")
    try:
        target = Path(path).expanduser().resolve(strict=True)
    except RuntimeError:  # `~user` for a user that does not exist, or a symlink loop
        raise ToolError(
            f"script_path {quoted(path)} cannot be resolved (an unknown ~user, or a symlink loop)."
        ) from None
    except OSError as error:
        raise ToolError(f"cannot read script_path {quoted(path)}: {error.strerror or error}.") from None
    if any(target.is_relative_to(root) for root in _PSEUDO_FILE_SYSTEMS):
        raise ToolError(f"script_path {quoted(path)} leads to {quoted(str(target))}, which is not a script file.")
    if target.suffix not in SCRIPT_SUFFIXES:
        shown = quoted(target.name) + (f" (where {quoted(path)} leads)" if target.name != Path(path).name else "")
        raise ToolError(f"script_path must be a .js file, not {shown}.")
    try:
        descriptor = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise ToolError(f"cannot read script_path {quoted(path)}: {error.strerror or error}.") from None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ToolError(f"script_path {quoted(path)} is not a regular file.")
        content = file.read(MAX_SCRIPT_BYTES + 1)
    if len(content) > MAX_SCRIPT_BYTES:
        raise ToolError(f"the script is over {MAX_SCRIPT_BYTES} bytes, the limit here.")
    return content, target.name
