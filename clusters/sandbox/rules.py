"""A list of rules that tests add and take back while the server answers requests (the
deny rules of access.py, the fault rules of faults.py): one lock guards it."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

Rule = TypeVar("Rule")


class RuleList(Generic[Rule]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []

    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: Rule) -> None:
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[Rule]:
        with self._lock:
            return list(self._rules)
