"""Finding a Node.js that can run scripts in isolation, and the flags that isolate them.

Node's permission model (`--experimental-permission` from 20.0, `--permission` from 22.13 and 23.5) denies file
system access, child processes, worker threads and native addons; WASI joined the list in 20.16 and 22.3 (never
in 21), and the network in 25.0, where it must be allowed again because scripts call APIs. A Node whose permission
model leaves any of these open is refused, never used unprotected.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

Version = tuple[int, int, int]

REQUIREMENT = "Node.js 20.16+ or 22.3+ (not 21)"
MESSAGE_START = "Node.js "
INSTALL_HINT = (
    "Install an LTS release from https://nodejs.org, or with brew, winget or NodeSource's apt/dnf packages "
    "(a distribution's own package may be older), then try again."
)

_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)")
_PROBE_TIMEOUT_SECONDS = 10


class NodeUnavailable(Exception):
    """No Node.js that can run scripts in isolation: `problem` says what is missing, `fix` how to install it; the
    message is both, and starts with `MESSAGE_START`."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}. {INSTALL_HINT}")
        self.problem = problem
        self.fix = INSTALL_HINT


@dataclass(frozen=True)
class NodeRuntime:
    """A Node.js executable fit to run scripts, and how to switch its permission model on."""

    path: str
    version: Version
    permission_flag: str
    allow_net: bool

    @property
    def version_text(self) -> str:
        return "v{}.{}.{}".format(*self.version)

    def isolation_flags(self) -> list[str]:
        """The flags that deny the file system, child processes, workers, addons and WASI, and keep the network."""
        flags = [self.permission_flag]
        if self.allow_net:
            flags.append("--allow-net")
        # The permission model warns that it is experimental on every start before it became stable.
        flags.append("--disable-warning=ExperimentalWarning")
        return flags


def find_node(command: str = "node") -> NodeRuntime:
    """The Node.js that `command` names (looked up on PATH now, so a changed PATH counts at once).

    Raises `NodeUnavailable` when it is missing, does not run, or is too old to isolate scripts.
    """
    path = shutil.which(command)
    if path is None:
        raise NodeUnavailable(
            f"Node.js was not found on PATH (looked for `{command}`): running cloud function scripts on this machine "
            f"needs {REQUIREMENT}"
        )
    stat = os.stat(path)
    version = _version(path, stat.st_mtime_ns, stat.st_size, stat.st_ino)
    flag = permission_flag(version)
    if flag is None:
        raise NodeUnavailable(
            f"Node.js {'v{}.{}.{}'.format(*version)} at {path} is too old: cloud function scripts run on this machine "
            f"isolated by Node's permission model, which is complete from {REQUIREMENT}"
        )
    return NodeRuntime(path=path, version=version, permission_flag=flag, allow_net=version >= (25, 0, 0))


def permission_flag(version: Version) -> str | None:
    """The flag that switches the permission model on in this version, or None when it is too weak to use."""
    major = version[0]
    if major < 20 or major == 21 or version < (20, 16, 0) or (major == 22 and version < (22, 3, 0)):
        return None
    if version >= (23, 5, 0) or (major == 22 and version >= (22, 13, 0)):
        return "--permission"
    return "--experimental-permission"


# The key holds the file's identity, so a node replaced in place (an upgrade) is asked again.
@functools.lru_cache(maxsize=16)
def _version(path: str, mtime_ns: int, size: int, inode: int) -> Version:
    try:
        printed = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            env=child_environment(),
            timeout=_PROBE_TIMEOUT_SECONDS,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NodeUnavailable(f"Node.js at {path} does not run ({error})") from error
    match = _VERSION.match(printed)
    if match is None:
        raise NodeUnavailable(f"Node.js at {path} did not print its version (`--version`)")
    return int(match[1]), int(match[2]), int(match[3])


def child_environment() -> dict[str, str]:
    """The whole environment a Node child gets: nothing of this process's (no secrets, no NODE_OPTIONS).

    Windows cannot start a process without SYSTEMROOT, which names the Windows directory and nothing secret.
    """
    if sys.platform == "win32" and "SYSTEMROOT" in os.environ:
        return {"SYSTEMROOT": os.environ["SYSTEMROOT"]}
    return {}
