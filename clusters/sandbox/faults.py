"""Fault injection and the log of requests received, for tests to steer and inspect."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class FaultRule:
    """Applies to the next ``times`` matching requests (forever if ``times`` is None).

    Exactly what happens: sleep ``latency`` seconds, then either drop the
    connection (``drop``), answer ``status`` with a Status body (and a
    ``Retry-After`` header if ``retry_after`` is set), or, with neither, go on
    to serve the request normally (pure latency).
    """

    method: str | None = None
    path_regex: str | None = None
    status: int | None = None
    retry_after: int | None = None
    latency: float = 0.0
    drop: bool = False
    times: int | None = 1
    message: str | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not self.path_regex or re.search(self.path_regex, path) is not None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


class Faults:
    """The rules of one sandbox; the first unexhausted matching rule wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(
        self,
        method: str | None = None,
        path_regex: str | None = None,
        status: int | None = None,
        *,
        retry_after: int | None = None,
        latency: float = 0.0,
        drop: bool = False,
        times: int | None = 1,
        message: str | None = None,
    ) -> FaultRule:
        if status == 429 and retry_after is None:
            retry_after = 1
        rule = FaultRule(
            method=method,
            path_regex=path_regex,
            status=status,
            retry_after=retry_after,
            latency=latency,
            drop=drop,
            times=times,
            message=message,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def error(
        self,
        status: int = 503,
        method: str | None = None,
        path_regex: str | None = None,
        times: int | None = 1,
    ) -> FaultRule:
        return self.add(method, path_regex, status, times=times)

    def throttle(
        self,
        retry_after: int = 1,
        method: str | None = None,
        path_regex: str | None = None,
        times: int | None = 1,
    ) -> FaultRule:
        return self.add(method, path_regex, 429, retry_after=retry_after, times=times)

    def delay(
        self,
        seconds: float,
        method: str | None = None,
        path_regex: str | None = None,
        times: int | None = 1,
    ) -> FaultRule:
        return self.add(method, path_regex, latency=seconds, times=times)

    def drop(
        self, method: str | None = None, path_regex: str | None = None, times: int | None = 1
    ) -> FaultRule:
        return self.add(method, path_regex, drop=True, times=times)

    def take(self, method: str, path: str) -> FaultRule | None:
        """Consume one hit of the first live rule matching this request."""
        with self._lock:
            for rule in self._rules:
                if not rule.exhausted and rule.matches(method, path):
                    rule.hits += 1
                    return rule
        return None

    def remove(self, rule: FaultRule) -> None:
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    user_agent: str
    at: float = field(default_factory=time.time)
    status: int | None = None  # None: no response (dropped or still running)
    fault: bool = False

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


class RequestLog:
    """Every request the sandbox received, in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def record(self, record: RequestRecord) -> RequestRecord:
        with self._lock:
            self._records.append(record)
        return record

    def filter(
        self,
        method: str | None = None,
        path_regex: str | None = None,
        content_type: str | None = None,
    ) -> list[RequestRecord]:
        with self._lock:
            records = list(self._records)
        return [
            r
            for r in records
            if (method is None or r.method == method.upper())
            and (path_regex is None or re.search(path_regex, r.path))
            and (content_type is None or r.content_type.split(";")[0].strip() == content_type)
        ]

    def count(
        self,
        method: str | None = None,
        path_regex: str | None = None,
        content_type: str | None = None,
    ) -> int:
        return len(self.filter(method, path_regex, content_type))

    @property
    def writes(self) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._records if r.is_write]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        with self._lock:
            return iter(list(self._records))

    def __getitem__(self, index: int) -> RequestRecord:
        with self._lock:
            return self._records[index]
