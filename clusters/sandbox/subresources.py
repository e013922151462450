"""The scale and log subresources."""

from __future__ import annotations

import copy
from typing import Any

from .calls import Options, Result
from .commit import Committer
from .logs import render_log
from .resources import ResourceType
from .scale import replicas_of, scale_of


class Subresources(Committer):
    custom_logs: dict[tuple[str, str, str], str]

    def get_scale(self, rt: ResourceType, namespace: str, name: str) -> Result:
        return Result(200, scale_of(self._require(rt, namespace, name)))

    def _scale_to(
        self, rt: ResourceType, old: dict[str, Any], scale: Any, opts: Options
    ) -> dict[str, Any]:
        new = copy.deepcopy(old)
        new["spec"]["replicas"] = replicas_of(scale, old["metadata"]["name"])
        return scale_of(self._commit(rt, old, new, opts))

    def pod_log(self, namespace: str, name: str, query: dict[str, str]) -> Result:
        pods = self.registry.by_path("", "v1", "pods")
        assert pods is not None  # noqa: S101 - built-in kind
        pod = self._require(pods, namespace, name)
        return Result(200, render_log(pod, query, self.custom_logs))
