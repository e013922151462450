"""The alternatives the fleet benchmark compares with, installed under bench/.tools/ (ignored
by git) with the ordinary package clients, the first time they are needed:

- kubectl from Debian's `kubernetes-client` package: `apt-get download` and `dpkg-deb -x`
  into bench/.tools/debian/, so it does not replace a kubectl the machine already has;
  `KUBECTL=/path/to/kubectl` uses another one.
- Ansible from PyPI (`ansible`, which bundles the kubernetes.core collection, plus the
  `kubernetes` client its k8s module needs) in a virtualenv of its own,
  bench/.tools/ansible-venv, so its pins never meet Hangar's.

Each `ensure_*` returns what it found, or raises `Unavailable` with the exact reason, which
the results then record instead of a figure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TOOLS = Path(__file__).resolve().parent / ".tools"
DEBIAN_KUBECTL = TOOLS / "debian" / "usr" / "bin" / "kubectl"
ANSIBLE_VENV = TOOLS / "ansible-venv"


class Unavailable(Exception):
    """A tool cannot be had here; the message says exactly why."""


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, **kwargs)  # noqa: S603


def ensure_kubectl() -> dict[str, str]:
    chosen = os.environ.get("KUBECTL")
    if chosen:
        path = Path(chosen)
        source = "KUBECTL"
    else:
        path = DEBIAN_KUBECTL
        source = "Debian kubernetes-client (apt-get download, dpkg-deb -x)"
        if not path.exists():
            if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
                raise Unavailable("no apt-get/dpkg-deb here to fetch Debian's kubernetes-client")
            with tempfile.TemporaryDirectory() as tmp:
                fetched = _run(["apt-get", "download", "kubernetes-client"], cwd=tmp)
                debs = list(Path(tmp).glob("kubernetes-client_*.deb"))
                if fetched.returncode != 0 or not debs:
                    raise Unavailable(
                        "apt-get download kubernetes-client failed: "
                        + (fetched.stderr or fetched.stdout).strip()[-500:]
                    )
                # dpkg-deb makes the last directory only: a fresh checkout has no .tools
                (TOOLS / "debian").mkdir(parents=True, exist_ok=True)
                unpacked = _run(["dpkg-deb", "-x", str(debs[0]), str(TOOLS / "debian")])
                if unpacked.returncode != 0:
                    raise Unavailable(f"dpkg-deb -x failed: {unpacked.stderr.strip()[-500:]}")
    if not path.exists():
        raise Unavailable(f"{path} does not exist")
    version = _run([str(path), "version", "--client", "-o", "json"])
    try:
        git_version = json.loads(version.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        git_version = (version.stdout or version.stderr).strip()[:100]
    return {"path": str(path), "version": git_version, "source": source}


def ensure_ansible() -> dict[str, str]:
    playbook = ANSIBLE_VENV / "bin" / "ansible-playbook"
    python = ANSIBLE_VENV / "bin" / "python"
    if not playbook.exists():
        made = _run([sys.executable, "-m", "venv", "--clear", str(ANSIBLE_VENV)])
        if made.returncode != 0:
            raise Unavailable(f"python -m venv failed: {made.stderr.strip()[-500:]}")
        installed = _run(
            # The versions the published results were measured with.
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "ansible>=12,<13",
                "kubernetes>=30,<38",
            ],
            timeout=900,
        )
        if installed.returncode != 0 or not playbook.exists():
            raise Unavailable(
                "pip install ansible kubernetes failed: "
                + (installed.stderr or installed.stdout).strip()[-800:]
            )
    core = _run([str(playbook), "--version"]).stdout.splitlines()
    manifest = next(
        iter(
            ANSIBLE_VENV.glob(
                "lib/python*/site-packages/ansible_collections/kubernetes/core/MANIFEST.json"
            )
        ),
        None,
    )
    collection = ""
    if manifest is not None:
        collection = json.loads(manifest.read_text())["collection_info"]["version"]
    if not collection:
        raise Unavailable("the ansible package installed has no kubernetes.core collection")
    packages = _run([str(python), "-m", "pip", "list", "--format", "json"]).stdout
    versions = {p["name"].lower(): p["version"] for p in json.loads(packages or "[]")}
    return {
        "playbook": str(playbook),
        "python": str(python),
        "ansible_core": core[0] if core else "",
        "ansible": versions.get("ansible", ""),
        "kubernetes_core": collection,
        "kubernetes_client": versions.get("kubernetes", ""),
    }


if __name__ == "__main__":
    for name, ensure in (("kubectl", ensure_kubectl), ("ansible", ensure_ansible)):
        try:
            print(name, ensure())
        except Unavailable as exc:
            print(name, "unavailable:", exc)
