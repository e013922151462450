"""The write verbs: create, update (PUT), patch (JSON, merge, strategic merge) and
server-side apply."""

from __future__ import annotations

import json
from typing import Any

from . import errors
from .access import AccessPolicy
from .apply import server_side_apply
from .calls import Options, Result
from .meta import rfc3339
from .patches import json_patch, merge_patch, strategic_merge
from .resources import ResourceType
from .scale import scale_of
from .schemas import Shape
from .subresources import Subresources

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE, APPLY, STRATEGIC)


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc


def parse_apply_body(body: bytes) -> Any:
    """Apply bodies are YAML; JSON is YAML too, so try the cheaper parser first."""
    try:
        return json.loads(body)
    except ValueError:
        pass
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - PyYAML is a project dependency
        raise errors.bad_request("YAML apply bodies need PyYAML") from exc
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"error decoding YAML: {exc}") from exc


class Writes(Subresources):
    access: AccessPolicy

    def create(self, rt: ResourceType, namespace: str, body: Any, opts: Options) -> Result:
        if rt.kind == "SelfSubjectAccessReview":
            return Result(201, self.access.review(body if isinstance(body, dict) else {}))
        self._check_identity(rt, namespace, "", body)
        with self.store.lock:
            name = (body.get("metadata") or {}).get("name", "")
            self._ns_check(rt, namespace, name)
            return Result(201, self._create(rt, namespace, body, opts))

    def replace(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        opts: Options,
        subresource: str = "",
    ) -> Result:
        self._check_identity(rt, namespace, name, body)
        with self.store.lock:
            old = self._require(rt, namespace, name)
            wanted = (body.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, rt.group, name, errors.STALE_OBJECT)
            if subresource == "scale":
                return Result(200, self._scale_to(rt, old, body, opts))
            return Result(200, self._commit(rt, old, body, opts, subresource))

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        raw: bytes,
        content_type: str,
        opts: Options,
        subresource: str = "",
    ) -> Result:
        kind = content_type.split(";")[0].strip().lower()
        if kind not in PATCH_TYPES:
            raise errors.unsupported_media_type(content_type, list(PATCH_TYPES))
        if kind == APPLY:
            return self._apply(rt, namespace, name, raw, opts, subresource)
        if opts.force is not None:
            raise errors.invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                [
                    errors.field_error(
                        "Forbidden", "force", "may not be specified for non-apply patch"
                    )
                ],
            )
        patch = parse_json(raw)
        with self.store.lock:
            old = self._require(rt, namespace, name)
            base = scale_of(old) if subresource == "scale" else old
            if kind == JSON_PATCH:
                patched = json_patch(base, patch)
            elif not isinstance(patch, dict):
                raise errors.bad_request(
                    "json: cannot unmarshal array into Go value of type map[string]interface {}"
                )
            elif kind == MERGE:
                patched = merge_patch(base, patch)
            else:
                shape = Shape("autoscaling/v1", "Scale") if subresource == "scale" else rt.shape
                patched = strategic_merge(base, patch, shape)
            if subresource == "scale":
                return Result(200, self._scale_to(rt, old, patched, opts))
            wanted = (patched.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, rt.group, name, errors.STALE_OBJECT)
            return Result(200, self._commit(rt, old, patched, opts, subresource))

    def _apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        raw: bytes,
        opts: Options,
        subresource: str,
    ) -> Result:
        if not opts.manager:
            raise errors.invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                [errors.field_error("Required", "fieldManager", "is required for apply patch")],
            )
        applied = parse_apply_body(raw)
        if not isinstance(applied, dict):
            raise errors.bad_request("error decoding YAML: the apply body must be an object")
        if applied.get("apiVersion") != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({applied.get('apiVersion', '')}) does not match "
                f"the expected API version ({rt.api_version})"
            )
        if applied.get("kind") != rt.kind:
            raise errors.bad_request(
                f"the kind in the data ({applied.get('kind', '')}) does not match the expected "
                f"kind ({rt.kind})"
            )
        self._check_identity(rt, namespace, name, applied)
        if subresource == "scale":
            raise errors.method_not_allowed("apply", rt.plural, rt.group)
        now = rfc3339()
        with self.store.lock:
            live = self.store.get(rt.group, rt.plural, namespace if rt.namespaced else "", name)
            if live is None:
                if subresource:
                    raise errors.not_found(rt.plural, rt.group, name)
                self._ns_check(rt, namespace, name)
            else:
                wanted = (applied.get("metadata") or {}).get("resourceVersion")
                if wanted and wanted != live["metadata"]["resourceVersion"]:
                    # An applied resourceVersion is a precondition, as on update.
                    raise errors.conflict(rt.plural, rt.group, name, errors.STALE_OBJECT)
            merged = server_side_apply(
                live,
                applied,
                manager=opts.manager,
                force=bool(opts.force),
                now=now,
                api_version=rt.api_version,
                kind=rt.kind,
                subresource=subresource,
            )
            if live is None:
                merged["metadata"]["name"] = name
                managed = merged["metadata"].pop("managedFields")
                return Result(201, self._create(rt, namespace, merged, opts, managed=managed))
            managed = merged["metadata"]["managedFields"]
            return Result(200, self._commit(rt, live, merged, opts, subresource, managed))
