"""Dependencies are pinned with hashes, the image installs exactly those, and the lock files
keep up with pyproject.toml. (`make lock` writes them; `make audit` checks them with
pip-audit; docs/security.md, "Supply chain".)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def pins(lockfile: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a pip-compile style lock file."""
    text = (ROOT / lockfile).read_text()
    found = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", block)
        if match:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
            found[canonicalize_name(match.group(1))] = (match.group(2), hashes)
    return found


@pytest.mark.parametrize(
    ("lockfile", "requirements"),
    [
        ("requirements.lock", PYPROJECT["project"]["dependencies"]),
        (
            "requirements-dev.lock",
            PYPROJECT["project"]["dependencies"]
            + PYPROJECT["project"]["optional-dependencies"]["dev"],
        ),
    ],
)
def test_every_dependency_is_pinned_with_hashes(lockfile, requirements):
    locked = pins(lockfile)
    assert locked, f"{lockfile} is empty"
    for name, (version, hashes) in locked.items():
        assert hashes, f"{lockfile}: {name}=={version} has no --hash"
    stale = []
    for line in requirements:
        requirement = Requirement(line)
        pinned = locked.get(canonicalize_name(requirement.name))
        if pinned is None or not requirement.specifier.contains(pinned[0], prereleases=True):
            stale.append(line)
    assert not stale, (
        f"{lockfile} does not satisfy pyproject.toml for {stale}: run `make lock` and commit it"
    )


def test_the_image_installs_the_lock_file_with_hashes_only():
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert installs == ["RUN pip install --require-hashes --no-deps -r requirements.lock"]
    assert "COPY requirements.lock" in dockerfile


def test_the_image_runs_as_a_fixed_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    runtime = dockerfile.split("AS runtime", 1)[1]
    users = re.findall(r"^USER (\S+)", runtime, flags=re.MULTILINE)
    assert users == ["10001"]
    assert "PYTHONDONTWRITEBYTECODE=1" in runtime  # nothing writes next to the code


def test_ci_audits_the_lock_files():
    assert "make audit" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "requirements.lock requirements-dev.lock" in makefile


def run_audit(tmp_path, report, strict=False):
    import json
    import os
    import subprocess
    import sys

    fake = tmp_path / "pip-audit"
    fake.write_text(f"#!{sys.executable}\nprint({json.dumps(json.dumps(report))})\n")
    fake.chmod(0o755)
    env = {**os.environ, "HANGAR_AUDIT_STRICT": "1" if strict else "0"}
    return subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / ".ci" / "audit_dependencies.py"), str(fake), "x.lock"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


VULNERABLE = {
    "dependencies": [
        {
            "name": "django",
            "version": "5.2.0",
            "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["5.2.1"]}],
        },
        {"name": "celery", "version": "5.4.0", "vulns": []},
    ]
}
UNKNOWN = {
    "dependencies": [
        {"name": "django", "skip_reason": "Dependency not found on PyPI and could not be audited"},
        {"name": "celery", "skip_reason": "Dependency not found on PyPI and could not be audited"},
    ]
}


def test_the_audit_fails_on_a_vulnerability(tmp_path):
    result = run_audit(tmp_path, VULNERABLE)
    assert result.returncode == 1
    assert "django 5.2.0: GHSA-xxxx (fixed in: 5.2.1)" in result.stdout


def test_an_unreachable_advisory_source_is_a_loud_warning_not_a_pass(tmp_path):
    result = run_audit(tmp_path, UNKNOWN)
    assert result.returncode == 0
    assert "NOT performed" in result.stdout
    assert run_audit(tmp_path, UNKNOWN, strict=True).returncode == 1


def test_a_clean_audit_passes(tmp_path):
    clean = {"dependencies": [{"name": "django", "version": "5.2.19", "vulns": []}]}
    result = run_audit(tmp_path, clean)
    assert result.returncode == 0 and "no known vulnerabilities" in result.stdout
