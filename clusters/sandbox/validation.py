"""The validation upstream does that callers most often trip over, with its messages."""

from __future__ import annotations

import base64
import re
from typing import Any

from .cron import schedule_errors
from .errors import Literal, field_error
from .resources import ResourceType
from .selectors import matches_selector_object

# core.MaxSecretSize: the most a ConfigMap's or a Secret's data may hold in total.
MAX_DATA_SIZE = 1024 * 1024
CRONJOB_NAME_LIMIT = 52
LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
SUBDOMAIN_FMT = LABEL_FMT + r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    """``validation.RegexError``, including its double space before ``or``."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


_RULES = {
    "subdomain": (
        253,
        SUBDOMAIN_FMT,
        _regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character",
            SUBDOMAIN_FMT,
            "example.com",
        ),
    ),
    "label": (
        63,
        LABEL_FMT,
        _regex_error(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
            "or '-', and must start and end with an alphanumeric character",
            LABEL_FMT,
            "my-name",
            "123-abc",
        ),
    ),
    "dns1035": (
        63,
        DNS1035_FMT,
        _regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
            "start with an alphabetic character, and end with an alphanumeric character",
            DNS1035_FMT,
            "my-name",
            "abc-123",
        ),
    ),
}


def name_errors(rt: ResourceType, meta: dict[str, Any]) -> list[dict[str, str]]:
    name = meta.get("name") or ""
    if not name:
        return [field_error("Required", "metadata.name", "name or generateName is required")]
    limit, fmt, message = _RULES[rt.name_rule]
    causes = []
    if len(name) > limit:
        causes.append(
            field_error(
                "Invalid", "metadata.name", f"must be no more than {limit} characters", name
            )
        )
    if not re.fullmatch(fmt, name):
        causes.append(field_error("Invalid", "metadata.name", message, name))
    return causes


def _qualified_name_errors(key: str) -> list[str]:
    prefix, _, name = key.rpartition("/")
    errs = []
    if prefix and (len(prefix) > 253 or not re.fullmatch(SUBDOMAIN_FMT, prefix)):
        errs.append("prefix part " + _RULES["subdomain"][2])
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    elif not re.fullmatch(QUALIFIED_NAME_FMT, name):
        errs.append(
            _regex_error(
                "name part must consist of alphanumeric characters, '-', '_' or '.', and "
                "must start and end with an alphanumeric character",
                QUALIFIED_NAME_FMT,
                "MyName",
                "my.name",
                "123-abc",
            )
        )
    return errs


def label_errors(labels: Any, field: str = "metadata.labels") -> list[dict[str, str]]:
    causes = []
    for key, value in (labels or {}).items():
        for err in _qualified_name_errors(key):
            causes.append(field_error("Invalid", field, err, key))
        value = "" if value is None else str(value)
        if len(value) > 63:
            causes.append(
                field_error("Invalid", field, "must be no more than 63 characters", value)
            )
        if not re.fullmatch(LABEL_VALUE_FMT, value):
            causes.append(
                field_error(
                    "Invalid",
                    field,
                    _regex_error(
                        "a valid label must be an empty string or consist of alphanumeric "
                        "characters, '-', '_' or '.', and must start and end with an "
                        "alphanumeric character",
                        LABEL_VALUE_FMT,
                        "MyValue",
                        "my_value",
                        "12345",
                    ),
                    value,
                )
            )
    return causes


def _containers_errors(spec: dict[str, Any], field: str) -> list[dict[str, str]]:
    containers = spec.get("containers") or []
    if not containers:
        return [field_error("Required", f"{field}.containers", "")]
    causes = []
    for i, container in enumerate(containers):
        if not container.get("name"):
            causes.append(field_error("Required", f"{field}.containers[{i}].name", ""))
        if not container.get("image"):
            causes.append(field_error("Required", f"{field}.containers[{i}].image", ""))
    return causes


def _labels_text(labels: dict[str, str]) -> str:
    inner = ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items()))
    return Literal("map[string]string{" + inner + "}")


def spec_errors(
    rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None
) -> list[dict[str, str]]:
    """Kind-specific checks on the (defaulted) object."""
    spec = obj.get("spec") or {}
    causes: list[dict[str, str]] = []
    if rt.kind in ("Deployment", "ReplicaSet"):
        template = spec.get("template") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        selector = spec.get("selector")
        if not selector:
            causes.append(field_error("Required", "spec.selector", ""))
        elif not matches_selector_object(selector, labels):
            causes.append(
                field_error(
                    "Invalid",
                    "spec.template.metadata.labels",
                    "`selector` does not match template `labels`",
                    _labels_text(labels),
                )
            )
        causes += _containers_errors(template.get("spec") or {}, "spec.template.spec")
        if old is not None and selector != (old.get("spec") or {}).get("selector"):
            causes.append(
                field_error(
                    "Invalid",
                    "spec.selector",
                    "field is immutable",
                    Literal("v1.LabelSelector{...}"),
                )
            )
    elif rt.kind == "Job":
        template_spec = (spec.get("template") or {}).get("spec") or {}
        causes += _containers_errors(template_spec, "spec.template.spec")
        policy = template_spec.get("restartPolicy")
        if policy not in ("OnFailure", "Never"):
            causes.append(
                field_error(
                    "NotSupported",
                    "spec.template.spec.restartPolicy",
                    '"OnFailure", "Never"',
                    policy,
                )
            )
        if old is not None and spec.get("template") != (old.get("spec") or {}).get("template"):
            causes.append(
                field_error(
                    "Invalid",
                    "spec.template",
                    "field is immutable",
                    Literal("core.PodTemplateSpec{...}"),
                )
            )
    elif rt.kind == "CronJob":
        name = (obj.get("metadata") or {}).get("name") or ""
        if old is None and len(name) > CRONJOB_NAME_LIMIT:
            # The controller names each Job "<cronjob>-<11 characters>", within 63.
            causes.append(
                field_error(
                    "Invalid",
                    "metadata.name",
                    f"must be no more than {CRONJOB_NAME_LIMIT} characters",
                    name,
                )
            )
        schedule = spec.get("schedule")
        if not schedule:
            causes.append(field_error("Required", "spec.schedule", ""))
        else:
            for problem in schedule_errors(schedule):
                causes.append(field_error("Invalid", "spec.schedule", problem, schedule))
        job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        causes += _containers_errors(
            (job_spec.get("template") or {}).get("spec") or {},
            "spec.jobTemplate.spec.template.spec",
        )
    elif rt.kind == "Pod":
        causes += _containers_errors(spec, "spec")
    elif rt.kind == "ConfigMap":
        size = sum(len(str(v).encode()) for v in (obj.get("data") or {}).values())
        size += sum(_decoded_size(v) for v in (obj.get("binaryData") or {}).values())
        if size > MAX_DATA_SIZE:
            # The whole object: upstream's empty field path prints as "[]".
            causes.append(field_error("TooLong", "[]", _too_long()))
    elif rt.kind == "Secret":
        size = sum(_decoded_size(v) for v in (obj.get("data") or {}).values())
        if size > MAX_DATA_SIZE:
            causes.append(field_error("TooLong", "data", _too_long()))
    return causes


def _too_long() -> str:
    return f"must have at most {MAX_DATA_SIZE} bytes"


def _decoded_size(value: Any) -> int:
    try:
        return len(base64.b64decode(str(value), validate=False))
    except (ValueError, TypeError):
        return len(str(value))
