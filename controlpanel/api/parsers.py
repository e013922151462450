"""The API's JSON parser: malformed bodies are a 400 naming the rule, never a 500.

The standard parser hands `json.loads` whatever arrives; 10,000 nested brackets make it
(or the serializers after it) raise RecursionError. Hangar's bodies are shallow, so
nesting beyond MAX_DEPTH is refused before anything else looks at the data."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# The deepest body Hangar takes is an object of lists of objects; 32 leaves ample room.
MAX_DEPTH = 32


def _too_deep(text: str) -> bool:
    """Bracket depth of a JSON text, outside strings, beyond MAX_DEPTH."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            text = stream.read().decode("utf-8") if stream is not None else ""
        except UnicodeDecodeError as exc:
            raise ParseError(f"The body is not UTF-8 (byte {exc.start}): JSON must be.") from None
        if _too_deep(text):
            raise ParseError(f"The JSON body is nested more than {MAX_DEPTH} levels deep.")
        try:
            return json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")
