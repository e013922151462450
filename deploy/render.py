"""Render a Kustomize directory of deploy/ without kustomize, for tests and for machines
without kubectl: `python deploy/render.py deploy/overlays/example > hangar.yaml`.

It understands the subset deploy/ uses, with kustomize's meaning: `resources` (files and
directories), `namespace`, `labels` (pairs, added to metadata.labels), `images` (newName,
newTag, digest) and `patches` with an inline JSON 6902 patch and a kind/name target.
Anything else is refused rather than ignored. tests/security/test_deploy.py checks the
result against `kubectl kustomize` where kubectl is installed.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]
SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "IngressClass",
    "PriorityClass",
    "StorageClass",
}


def render(directory: str | Path) -> list[Manifest]:
    directory = Path(directory)
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text()) or {}
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise ValueError(f"{directory}: render.py does not understand {sorted(unknown)}")
    objects: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            objects += render(path)
        else:
            objects += [obj for obj in yaml.safe_load_all(path.read_text()) if obj]
    for patch in kustomization.get("patches", []):
        _patch(objects, patch)
    for obj in objects:
        if "namespace" in kustomization and obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = kustomization["namespace"]
        for group in kustomization.get("labels", []):
            if group.get("includeSelectors") or group.get("includeTemplates"):
                raise ValueError("render.py adds labels to metadata.labels only")
            obj["metadata"].setdefault("labels", {}).update(group["pairs"])
        for image in kustomization.get("images", []):
            for pod in _pod_specs(obj):
                for container in pod.get("containers", []) + pod.get("initContainers", []):
                    container["image"] = _image(container["image"], image)
    return objects


def _pod_specs(obj: Manifest) -> list[Manifest]:
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    if "template" in spec and isinstance(spec["template"], dict) and "spec" in spec["template"]:
        return [spec["template"]["spec"]]
    return []


def _image(reference: str, rule: Manifest) -> str:
    name, _, _ = reference.partition("@")
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    if name != rule["name"]:
        return reference
    new = rule.get("newName", name)
    if rule.get("digest"):
        return f"{new}@{rule['digest']}"
    if rule.get("newTag"):
        return f"{new}:{rule['newTag']}"
    return new


def _patch(objects: list[Manifest], patch: Manifest) -> None:
    target = patch.get("target") or {}
    if set(target) - {"kind", "name"} or "path" in patch:
        raise ValueError("render.py supports inline JSON 6902 patches with a kind/name target")
    operations = yaml.safe_load(patch["patch"])
    matched = [
        obj
        for obj in objects
        if obj["kind"] == target.get("kind", obj["kind"])
        and obj["metadata"]["name"] == target.get("name", obj["metadata"]["name"])
    ]
    if not matched:
        raise ValueError(f"patch target {target} matches nothing")
    for obj in matched:
        for operation in operations:
            _apply(obj, operation)


def _apply(obj: Manifest, operation: Manifest) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]]
    parent: Any = obj
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last, op = parts[-1], operation["op"]
    value = copy.deepcopy(operation.get("value"))
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op == "add":
            parent.insert(index, value)
        elif op == "replace":
            parent[index] = value
        elif op == "remove":
            del parent[index]
        else:
            raise ValueError(f"unsupported op {op}")
    elif op in ("add", "replace"):
        if op == "replace" and last not in parent:
            raise ValueError(f"replace of a missing path {operation['path']}")
        parent[last] = value
    elif op == "remove":
        del parent[last]
    else:
        raise ValueError(f"unsupported op {op}")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python deploy/render.py DIRECTORY", file=sys.stderr)
        return 2
    sys.stdout.write(yaml.safe_dump_all(render(argv[1]), sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
