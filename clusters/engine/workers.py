"""Who holds a claim: the host, the process id and the process's start time.

The start time tells a live process from another one that reuses its pid (a restarted
container has the same host name and often the same pid). With all three, a process can
tell for certain that a claim recorded on its own host belongs to a process that is gone,
and take the operation back at once instead of waiting for missed heartbeats.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22);
    None when there is no such process (or no /proc to ask)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True)
class WorkerIdentity:
    host: str
    pid: int
    started: str  # clock ticks since boot, or "" where /proc is missing

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.started}"

    @classmethod
    def parse(cls, token: str) -> WorkerIdentity | None:
        """From a claim token (`host:pid:started:nonce`); None for anything else."""
        parts = token.split(":")
        if len(parts) != 4 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2])

    def is_gone(self) -> bool:
        """True only when this process can tell for certain that the claimant no longer
        runs: it was on this host, and its pid is free or belongs to a later process."""
        if self.host != this_host() or not self.started:
            return False
        return _start_ticks(self.pid) != self.started


@cache
def this_host() -> str:
    return socket.gethostname()


def current() -> WorkerIdentity:
    pid = os.getpid()  # not cached: a forked pool process is another claimant
    return WorkerIdentity(this_host(), pid, _start_ticks(pid) or "")


def claim_token() -> str:
    """A token for one claim: this process's identity and a nonce, so two runs of one
    operation by the same process are still told apart."""
    return f"{current()}:{uuid.uuid4().hex[:8]}"
