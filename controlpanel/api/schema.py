"""OpenAPI additions: every operation documents the problem-details errors it can answer."""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Messages per field (dotted paths for nested fields).",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "title", "status"],
}

ALWAYS = {
    "400": "Invalid input or query parameters; `errors` lists them per field.",
    "401": "No valid credentials.",
    "403": "The role or the token's scopes do not allow this.",
    "404": "No such object, or it belongs to another client.",
    "429": "Too many requests.",
}
WRITES = {
    "412": "If-Match does not match the current ETag.",
    "413": "The request body is too large.",
    "409": "Conflicts with the current state (e.g. a site's preview limit is reached).",
    "415": "Send application/json.",
    "422": "The Idempotency-Key was used for a different request.",
    "502": "The cluster answered with an error.",
}


def add_problem_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    reference = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors = dict(ALWAYS)
            if method in {"post", "put", "patch", "delete"}:
                errors |= WRITES
            for code, description in errors.items():
                operation["responses"].setdefault(
                    code, {"description": description, "content": reference}
                )
            if method in {"post", "put"} and "202" in operation["responses"]:
                operation.setdefault("parameters", []).append(
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 128},
                        "description": "Repeat a request safely: the same key and body give "
                        "the same operation.",
                    }
                )
    return result
