"""GET of one object and LIST, with label and field selectors and paging."""

from __future__ import annotations

import base64
import json
from typing import Any

from . import errors
from .admission import Admission
from .calls import Result
from .resources import ResourceType
from .selectors import field_matcher, label_matcher


class Reads(Admission):
    def get(self, rt: ResourceType, namespace: str, name: str) -> Result:
        return Result(200, self._require(rt, namespace, name))

    def list(self, rt: ResourceType, namespace: str | None, query: dict[str, str]) -> Result:
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), rt.field_selectors)
        with self.store.lock:
            revision = str(self.store.revision)
            items = [
                o
                for o in self.store.list(rt.group, rt.plural, namespace)
                if labels(o) and fields(o)
            ]
        start = 0
        if query.get("continue"):
            try:
                token = json.loads(base64.urlsafe_b64decode(query["continue"]))
                start, revision = int(token["start"]), str(token["rv"])
            except (ValueError, KeyError, TypeError) as exc:
                raise errors.bad_request(
                    "continue key is not valid: incorrect encoded start "
                    "resourceVersion (version meta.k8s.io/v1)"
                ) from exc
        list_meta: dict[str, Any] = {"resourceVersion": revision}
        limit = int(query.get("limit") or 0)
        if limit > 0:
            page = items[start : start + limit]
            if start + limit < len(items):
                list_meta["continue"] = base64.urlsafe_b64encode(
                    json.dumps({"rv": int(revision), "start": start + limit}).encode()
                ).decode()
                if not (query.get("labelSelector") or query.get("fieldSelector")):
                    # Upstream counts what remains only when no selector filters the list.
                    list_meta["remainingItemCount"] = len(items) - start - limit
            items = page
        for item in items:
            # Items of typed lists carry no kind/apiVersion on the wire.
            item.pop("kind", None)
            item.pop("apiVersion", None)
        return Result(
            200,
            {
                "kind": f"{rt.kind}List",
                "apiVersion": rt.api_version,
                "metadata": list_meta,
                "items": items,
            },
        )
