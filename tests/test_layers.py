"""The apps' imports point downward only (docs/architecture.md, "Layers"): controlpanel/core
← clusters ← sites ← billing ← controlpanel/integrations ← controlpanel/api and
controlpanel/web, which never import each other (issue 19). Read from the source, so an
import inside a function counts like one at the top of a module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. Project configuration (controlpanel.celery, settings) sits under every app;
# anything else of the project's package (urls, management commands, the demo's storage)
# composes the apps and sits on top.
LAYERS = (
    "controlpanel.core",
    "clusters",
    "sites",
    "billing",
    "controlpanel.integrations",
    "controlpanel.api controlpanel.web",
)
CONFIGURATION = ("controlpanel.celery", "controlpanel.settings", "controlpanel.settings_test")
TOP = len(LAYERS) - 1


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def layer_of(module: str) -> int | None:
    """The layer `module` belongs to, or None for the configuration and third parties."""
    if any(_within(module, package) for package in CONFIGURATION):
        return None
    for index, packages in enumerate(LAYERS):
        if any(_within(module, package) for package in packages.split()):
            return index
    return TOP if _within(module, "controlpanel") else None


def imported(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """(line, absolute module) of every import in the file, at any depth."""
    package = ".".join(path.relative_to(root).parent.parts)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            # `from sites import services` imports sites.services: name each candidate.
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)


def modules(package: str) -> Iterator[Path]:
    for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
        if "migrations" not in path.relative_to(ROOT).parts:
            yield path


def upward_imports() -> list[str]:
    found: dict[str, str] = {}
    for own, packages in enumerate(LAYERS[:TOP]):
        for path in (p for package in packages.split() for p in modules(package)):
            for line, module in imported(path):
                target = layer_of(module)
                if target is not None and target > own:
                    found.setdefault(f"{path.relative_to(ROOT)}:{line}", module)
    return sorted(f"{where} imports {module}" for where, module in found.items())


def test_no_app_imports_a_layer_above_it():
    assert upward_imports() == []


def test_the_walk_sees_imports_inside_functions_and_relative_ones(tmp_path):
    """The check itself: a deferred import and a relative one are both read."""
    source = tmp_path / "clusters" / "deep.py"
    source.parent.mkdir()
    source.write_text(
        "from .engine import run\n\ndef later():\n    from sites.models import Environment\n"
    )
    assert list(imported(source, tmp_path)) == [
        (1, "clusters.engine"),
        (1, "clusters.engine.run"),
        (4, "sites.models"),
        (4, "sites.models.Environment"),
    ]
    assert [layer_of(m) for m in ("sites.models", "controlpanel.urls", "controlpanel.celery")] == [
        2,
        TOP,
        None,
    ]


def imports_between(package: str, other: str) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in modules(package)
        for line, module in imported(path)
        if _within(module, other)
    )


def test_the_web_ui_does_not_import_the_api():
    assert imports_between("controlpanel.web", "controlpanel.api") == []


def test_the_api_does_not_import_the_web_ui():
    assert imports_between("controlpanel.api", "controlpanel.web") == []
