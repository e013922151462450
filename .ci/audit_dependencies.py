"""Audit the pinned dependencies (requirements.lock, requirements-dev.lock) for known
vulnerabilities with pip-audit, and say plainly whether the audit really happened.

    python .ci/audit_dependencies.py PIP_AUDIT LOCKFILE...

Exit 1 when pip-audit reports a vulnerability that .ci/pip-audit-ignore does not list
(one advisory id per line, then `#` and the reason; review the list at every lock
update). When the advisory source cannot be reached, or answers "not found" for most
packages (a registry mirror without PyPI's JSON API), the audit did NOT happen: that is
printed as a warning and exits 0, unless HANGAR_AUDIT_STRICT=1 makes it fatal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

IGNORE_FILE = Path(__file__).with_name("pip-audit-ignore")
NOT_FOUND = "not found on PyPI"


def ignored() -> dict[str, str]:
    if not IGNORE_FILE.exists():
        return {}
    entries = {}
    for line in IGNORE_FILE.read_text().splitlines():
        advisory, _, reason = line.partition("#")
        if advisory.strip():
            entries[advisory.strip()] = reason.strip()
    return entries


def unaudited(message: str) -> int:
    print(f"pip-audit: WARNING: the dependency audit was NOT performed: {message}")
    if os.environ.get("HANGAR_AUDIT_STRICT") == "1":
        return 1
    print("pip-audit: not failing the build for that (HANGAR_AUDIT_STRICT=1 would).")
    return 0


def audit(pip_audit: str, lockfile: str) -> int:
    command = [
        pip_audit,
        "--requirement",
        lockfile,
        "--require-hashes",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--format",
        "json",
    ]
    for advisory in ignored():
        command += ["--ignore-vuln", advisory]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)  # noqa: S603
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        return unaudited(
            f"{lockfile}: pip-audit could not reach its advisory source: " + " ".join(tail)
        )
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if NOT_FOUND in (d.get("skip_reason") or "")]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release yet"
            print(
                f"pip-audit: {dependency['name']} {dependency['version']}: {vuln['id']} "
                f"(fixed in: {fixed})"
            )
    if vulnerable:
        print(
            f"pip-audit: {lockfile}: vulnerable dependencies. Update them (make lock after "
            "raising the lower bound in pyproject.toml), or list the advisory with its reason "
            "in .ci/pip-audit-ignore."
        )
        return 1
    if dependencies and len(skipped) > len(dependencies) / 2:
        return unaudited(
            f"{lockfile}: the advisory source knew {len(dependencies) - len(skipped)} of "
            f"{len(dependencies)} pinned packages (a registry mirror without PyPI's JSON API?)"
        )
    print(f"pip-audit: {lockfile}: no known vulnerabilities in {len(dependencies)} packages.")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__)
        return 2
    pip_audit, lockfiles = argv[1], argv[2:]
    return max(audit(pip_audit, lockfile) for lockfile in lockfiles)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
