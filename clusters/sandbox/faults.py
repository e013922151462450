"""Fault injection and the log of requests received, for tests to steer and inspect.

What a test can make the API server do (each rule matches a method and a path regex, for
the next ``times`` requests or forever):

- answer an error status (5xx, 429 with Retry-After): ``error``, ``throttle``;
- answer late, after N seconds (a read timeout for a client that waits less): ``delay``;
- close the connection without answering, before doing anything: ``drop``;
- do the request, then close the connection without answering (a write applied whose
  answer was lost): ``lose_answer``;
- forget everything, as an API server whose etcd was lost and rebuilt: ``lose_state``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .rules import RuleList


@dataclass
class FaultRule:
    """Applies to the next ``times`` matching requests (forever if ``times`` is None).

    Exactly what happens: sleep ``latency`` seconds, then either drop the
    connection (``drop``), answer ``status`` with a Status body (and a
    ``Retry-After`` header if ``retry_after`` is set), or, with neither, go on
    to serve the request normally (pure latency). With ``lose_answer`` the request
    is served (a write is stored) and the connection is then closed before the
    answer is sent.
    """

    method: str | None = None
    path_regex: str | None = None
    status: int | None = None
    retry_after: int | None = None
    latency: float = 0.0
    drop: bool = False
    times: int | None = 1
    message: str | None = None
    lose_answer: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not self.path_regex or re.search(self.path_regex, path) is not None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


class Faults(RuleList[FaultRule]):
    """The rules of one sandbox; the first unexhausted matching rule wins."""

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
        lose_answer: bool = False,
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
            lose_answer=lose_answer,
        )
        return self._add(rule)

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

    def lose_answer(
        self, method: str | None = None, path_regex: str | None = None, times: int | None = 1
    ) -> FaultRule:
        """Serve the request (a write is stored), then close the connection unanswered:
        the client cannot tell whether its write happened."""
        return self.add(method, path_regex, lose_answer=True, times=times)

    def take(self, method: str, path: str) -> FaultRule | None:
        """Consume one hit of the first live rule matching this request."""
        with self._lock:
            for rule in self._rules:
                if not rule.exhausted and rule.matches(method, path):
                    rule.hits += 1
                    return rule
        return None


# What an API server holds again right after its etcd was lost and it restarted: its own
# namespaces, and what the cluster's operator re-installs and the kubelets re-register.
KEPT_ON_STATE_LOSS = frozenset(
    {("", "nodes"), ("apiextensions.k8s.io", "customresourcedefinitions")}
)


def lose_state(store: Any, system_namespaces: Iterable[str]) -> int:
    """Forget every object but the system namespaces, the Nodes and the CRDs, as an API
    server does whose etcd was lost and restored empty; returns how many were lost.

    Goes through ``store.remove`` (watches see the deletions, indexes stay right), and
    skips the API's finalizers and garbage collection: nothing terminates, it is gone."""
    kept = set(system_namespaces)
    lost = 0
    for group, plural, obj in store.items():
        meta = obj.get("metadata") or {}
        if (group, plural) in KEPT_ON_STATE_LOSS:
            continue
        if (group, plural) == ("", "namespaces") and meta.get("name") in kept:
            continue
        if meta.get("namespace") in kept:
            continue
        if store.remove(group, plural, meta.get("namespace", ""), meta["name"]) is not None:
            lost += 1
    return lost


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
