"""What a verb of the emulated API is called with (Options) and answers (Result)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    """What a verb returns: HTTP code, JSON body (or text) and extra headers."""

    code: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Options:
    """Per-request options taken from the query string and DeleteOptions."""

    manager: str = ""
    dry_run: bool = False
    force: bool | None = None
    propagation: str | None = None
    preconditions: dict[str, Any] = field(default_factory=dict)
