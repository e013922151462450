"""Pod Security admission, enforce mode, for namespaces labelled with a level.

A pod created in a namespace labelled ``pod-security.kubernetes.io/enforce: restricted``
(or ``baseline``) that breaks the level's checks is refused with upstream's 403 and its
message: the failed checks in the order of their IDs, each saying which pod or container
must change what. The checks here are those of the baseline and restricted profiles that
workloads commonly trip over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ENFORCE = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
_BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
_RESTRICTED_VOLUMES = (
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
)  # fmt: skip


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    # Upstream visits init containers first, then containers, then ephemeral ones.
    return [
        c
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(key) or []
    ]


def _named(kind: str, names: list[str]) -> str:
    quoted = ", ".join(f'"{n}"' for n in names)
    return f"{kind}s {quoted}" if len(names) > 1 else f"{kind} {quoted}"


def _quoted(values: list[str]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _sc(container: dict[str, Any]) -> dict[str, Any]:
    return container.get("securityContext") or {}


def _allow_privilege_escalation(spec: dict[str, Any]) -> str | None:
    bad = [
        c["name"] for c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False
    ]
    if bad:
        return (
            f"allowPrivilegeEscalation != false ({_named('container', bad)} must set "
            "securityContext.allowPrivilegeEscalation=false)"
        )
    return None


def _capabilities_baseline(spec: dict[str, Any]) -> str | None:
    found: dict[str, list[str]] = {}
    for c in _containers(spec):
        for cap in (_sc(c).get("capabilities") or {}).get("add") or []:
            if cap not in _BASELINE_CAPABILITIES:
                found.setdefault(c["name"], []).append(cap)
    if not found:
        return None
    parts = [
        f"{_named('container', [name])} must not include {_quoted(caps)} "
        "in securityContext.capabilities.add"
        for name, caps in found.items()
    ]
    return f"non-default capabilities ({'; '.join(parts)})"


def _capabilities_restricted(spec: dict[str, Any]) -> str | None:
    no_drop, bad_add = [], {}
    for c in _containers(spec):
        caps = _sc(c).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            no_drop.append(c["name"])
        added = [x for x in caps.get("add") or [] if x != "NET_BIND_SERVICE"]
        if added:
            bad_add[c["name"]] = added
    parts = []
    if no_drop:
        drop = 'securityContext.capabilities.drop=["ALL"]'
        parts.append(f"{_named('container', no_drop)} must set {drop}")
    for name, added in bad_add.items():
        parts.append(
            f"{_named('container', [name])} must not include {_quoted(added)} "
            "in securityContext.capabilities.add"
        )
    return f"unrestricted capabilities ({'; '.join(parts)})" if parts else None


def _host_namespaces(spec: dict[str, Any]) -> str | None:
    used = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    return f"host namespaces ({', '.join(used)})" if used else None


def _host_path_volumes(spec: dict[str, Any]) -> str | None:
    bad = [v["name"] for v in spec.get("volumes") or [] if "hostPath" in v]
    return f"hostPath volumes ({_named('volume', bad)})" if bad else None


def _host_ports(spec: dict[str, Any]) -> str | None:
    bad, ports = [], []
    for c in _containers(spec):
        used = [str(p["hostPort"]) for p in c.get("ports") or [] if p.get("hostPort")]
        if used:
            bad.append(c["name"])
            ports += used
    if bad:
        noun = "hostPorts" if len(ports) > 1 else "hostPort"
        return f"hostPort ({_named('container', bad)} uses {noun} {', '.join(ports)})"
    return None


def _privileged(spec: dict[str, Any]) -> str | None:
    bad = [c["name"] for c in _containers(spec) if _sc(c).get("privileged")]
    if bad:
        who = _named("container", bad)
        return f"privileged ({who} must not set securityContext.privileged=true)"
    return None


def _restricted_volumes(spec: dict[str, Any]) -> str | None:
    parts = []
    for volume in spec.get("volumes") or []:
        kinds = [k for k in volume if k != "name" and k not in _RESTRICTED_VOLUMES]
        if kinds:
            parts.append(f'volume "{volume["name"]}" uses restricted volume type "{kinds[0]}"')
    return f"restricted volume types ({', '.join(parts)})" if parts else None


def _run_as_non_root(spec: dict[str, Any]) -> str | None:
    pod = (spec.get("securityContext") or {}).get("runAsNonRoot")
    explicit_false = [c["name"] for c in _containers(spec) if _sc(c).get("runAsNonRoot") is False]
    unset = [c["name"] for c in _containers(spec) if _sc(c).get("runAsNonRoot") is None]
    parts = []
    if pod is False:
        parts.append("pod must not set securityContext.runAsNonRoot=false")
    if explicit_false:
        who = _named("container", explicit_false)
        parts.append(f"{who} must not set securityContext.runAsNonRoot=false")
    if pod is None and unset:
        who = _named("container", unset)
        parts.append(f"pod or {who} must set securityContext.runAsNonRoot=true")
    return f"runAsNonRoot != true ({'; '.join(parts)})" if parts else None


def _run_as_user(spec: dict[str, Any]) -> str | None:
    parts = []
    if (spec.get("securityContext") or {}).get("runAsUser") == 0:
        parts.append("pod must not set runAsUser=0")
    bad = [c["name"] for c in _containers(spec) if _sc(c).get("runAsUser") == 0]
    if bad:
        parts.append(f"{_named('container', bad)} must not set runAsUser=0")
    return f"runAsUser=0 ({'; '.join(parts)})" if parts else None


def _seccomp_restricted(spec: dict[str, Any]) -> str | None:
    allowed = ("RuntimeDefault", "Localhost")
    pod = ((spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
    parts = []
    if pod is not None and pod not in allowed:
        parts.append(f'pod must not set securityContext.seccompProfile.type to "{pod}"')
    bad_types: dict[str, list[str]] = {}
    unset = []
    for c in _containers(spec):
        kind = (_sc(c).get("seccompProfile") or {}).get("type")
        if kind is None:
            unset.append(c["name"])
        elif kind not in allowed:
            bad_types.setdefault(kind, []).append(c["name"])
    for kind, names in bad_types.items():
        who = _named("container", names)
        parts.append(f'{who} must not set securityContext.seccompProfile.type to "{kind}"')
    if pod is None and unset:
        parts.append(
            f"pod or {_named('container', unset)} must set securityContext.seccompProfile.type "
            'to "RuntimeDefault" or "Localhost"'
        )
    return f"seccompProfile ({'; '.join(parts)})" if parts else None


Check = Callable[[dict[str, Any]], "str | None"]
# By check ID, as upstream orders them; the restricted level includes the baseline checks.
_BASELINE: list[tuple[str, Check]] = [
    ("capabilities_baseline", _capabilities_baseline),
    ("hostNamespaces", _host_namespaces),
    ("hostPathVolumes", _host_path_volumes),
    ("hostPorts", _host_ports),
    ("privileged", _privileged),
]
_RESTRICTED: list[tuple[str, Check]] = [
    ("allowPrivilegeEscalation", _allow_privilege_escalation),
    ("capabilities_restricted", _capabilities_restricted),
    ("restrictedVolumes", _restricted_volumes),
    ("runAsNonRoot", _run_as_non_root),
    ("runAsUser", _run_as_user),
    ("seccompProfile_restricted", _seccomp_restricted),
]


def violations(namespace_labels: dict[str, str], pod: dict[str, Any]) -> str | None:
    """``violates PodSecurity "restricted:latest": ...`` or None if the pod may run."""
    level = namespace_labels.get(ENFORCE)
    if level not in ("baseline", "restricted"):
        return None
    checks = _BASELINE + (_RESTRICTED if level == "restricted" else [])
    spec = pod.get("spec") or {}
    found = [message for _, check in sorted(checks, key=lambda c: c[0]) if (message := check(spec))]
    if not found:
        return None
    version = namespace_labels.get(ENFORCE_VERSION) or "latest"
    return f'violates PodSecurity "{level}:{version}": ' + ", ".join(found)
