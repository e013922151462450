"""The web UI and the REST API never import each other (issue 19.4): token and webhook
logic both use lives in controlpanel/integrations."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "controlpanel"


def _imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                names = {a.name for a in node.names}
            else:
                continue
            found.setdefault(str(path.relative_to(ROOT)), set()).update(names)
    return found


def _offenders(package: str, other: str) -> list[str]:
    return sorted(
        f"{path}: {name}"
        for path, names in _imports(package).items()
        for name in names
        if name == f"controlpanel.{other}" or name.startswith(f"controlpanel.{other}.")
    )


def test_the_web_ui_does_not_import_the_api():
    assert _offenders("web", "api") == []


def test_the_api_does_not_import_the_web_ui():
    assert _offenders("api", "web") == []
