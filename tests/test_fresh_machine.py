"""`make test` on a fresh machine: a copy of the repository with no .venv, and no PostgreSQL,
Redis or MariaDB on their default ports. It must install what it needs and start private
servers, then pass.

The copy runs in a network namespace of its own, whose loopback has nothing listening:
what a fresh machine sees, without stopping the servers this machine shares. The namespace
has no route out either, so the locked packages are downloaded first (outside it, by pip,
from its cache when it has them) and installed inside it from that directory. Programs
such as initdb, mariadbd and rclone come from this machine's disk (tests/services.py
installs them with apt-get where they are missing, before the namespace is entered).

Slow (a virtualenv from scratch): it runs only when asked, `pytest -m fresh_machine`, as
.ci/run does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A few tests that need every server and program: PostgreSQL and Redis (readiness),
# MariaDB and the S3 server (the database-server and storage adapters), Chromium and the
# static files (the API docs).
SELECTION = "tests/core/test_health.py tests/backups/test_adapters.py tests/web/test_api_docs.py"
# What this run's own settings put into the environment; a fresh machine has none of it.
INHERITED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "HANGAR_TEST_MARIADB_URL",
    "DJANGO_SETTINGS_MODULE",
    "VIRTUAL_ENV",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
)

pytestmark = pytest.mark.fresh_machine


@pytest.fixture
def asked_for(request):
    if "fresh_machine" not in (request.config.option.markexpr or ""):
        pytest.skip("slow: runs with -m fresh_machine (.ci/run does)")
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for a network namespace")


def copy_repository(target: Path) -> None:
    """The files git knows of (tracked, and new ones not ignored): no .venv, no var/."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def download_packages(target: Path) -> None:
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(target)]
    subprocess.run(  # noqa: S603
        [*pip, "--require-hashes", "-r", str(ROOT / "requirements-dev.lock")], check=True
    )
    # What `pip install -e .` builds Hangar with (pyproject.toml's build-system).
    subprocess.run([*pip, "setuptools>=69"], check=True)  # noqa: S603


@pytest.fixture
def namespace():
    name = f"hangar-fresh-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)  # noqa: S603, S607
    try:
        subprocess.run(  # noqa: S603
            ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"],  # noqa: S607
            check=True,
        )
        yield ["ip", "netns", "exec", name]
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)  # noqa: S603, S607


def nothing_listens(namespace: list[str], ports: tuple[int, ...]) -> bool:
    probe = (
        "import socket, sys\n"
        "for port in sys.argv[1:]:\n"
        "    s = socket.socket(); s.settimeout(1)\n"
        "    if s.connect_ex(('127.0.0.1', int(port))) == 0: sys.exit(1)\n"
    )
    command = [*namespace, sys.executable, "-c", probe, *map(str, ports)]
    return subprocess.run(command, check=False).returncode == 0  # noqa: S603


def test_make_test_passes_on_a_fresh_copy(asked_for, tmp_path, namespace):
    repository, wheels = tmp_path / "hangar", tmp_path / "wheels"
    copy_repository(repository)
    assert not (repository / ".venv").exists()
    started = time.monotonic()
    download_packages(wheels)
    downloaded = time.monotonic()
    assert nothing_listens(namespace, (5432, 6379, 3306)), "the namespace is not empty"

    env = {k: v for k, v in os.environ.items() if k not in INHERITED}
    # pip: only the downloaded files (the namespace reaches no index).
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PIP_CONFIG_FILE=os.devnull)
    run = subprocess.run(  # noqa: S603
        [*namespace, "make", "-C", str(repository), "test", f"PYTEST_ARGS={SELECTION} -q"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1500,
    )
    output = run.stdout + run.stderr
    # For the record (`-s` shows it): where the time goes.
    print(f"download {downloaded - started:.0f}s, make test {time.monotonic() - downloaded:.0f}s")
    print(output[-2500:])
    assert run.returncode == 0, output[-6000:]
    for server in ("postgresql", "redis", "mariadb"):
        assert f"started a private {server} for this run" in output, output[-3000:]
    assert " passed" in output and " failed" not in output, output[-3000:]
    assert (repository / ".venv" / ".installed").exists()
