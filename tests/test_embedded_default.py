"""The embedded default as `make run` starts it: SQLite, the worker thread in the web
process, the sandbox cluster and the demo's S3 API server. The one test module that runs
Hangar on SQLite.

`make run` itself runs in a subprocess (its own settings, a temporary SQLite file, free
ports, a MariaDB server of its own for the demo's databases), with the intervals of the
periodic work shortened, and is spoken to over HTTP as a person's browser and scripts
would. It stays up for the module's tests.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest
import requests

from tests import helpers
from tests.helpers import free_port
from tests.services import PrivateMariaDB

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "hangar-demo-password"
# What the suite's settings put into the environment; the demo must not inherit them.
SUITE_VARIABLES = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY")


@dataclass
class Demo:
    url: str
    sandbox_url: str
    log: Path
    mariadb_port: int
    directory: Path

    def sql(self, database: str, *statements: str) -> list[tuple]:
        """On the demo's MariaDB, as its admin (what a site's own code would do)."""
        connection = pymysql.connect(
            host="127.0.0.1", port=self.mariadb_port, user="root", database=database
        )
        try:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
                rows = list(cursor.fetchall())
            connection.commit()
        finally:
            connection.close()
        return rows

    def session(self, email: str) -> requests.Session:
        """Signed in through the sign-in form, as a browser would be."""
        session = requests.Session()
        page = session.get(f"{self.url}/login/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        answer = session.post(
            f"{self.url}/login/",
            data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
            timeout=30,
        )
        assert answer.ok and "sessionid" in session.cookies, answer.text[:500]
        session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
        return session

    def environments(self, session: requests.Session) -> dict[str, dict]:
        found: dict[str, dict] = {}
        url = f"{self.url}/api/v1/environments/?page_size=100"
        while url:
            page = session.get(url, timeout=30).json()
            found.update({env["namespace"]: env for env in page["results"]})
            url = page.get("next")
        return found


def wait_for(condition, timeout: float, what: str):
    """Polls the demo's HTTP API at most twice a second."""
    return helpers.wait_for(condition, timeout, what, interval=0.5)


@pytest.fixture(scope="module")
def mariadb() -> Iterator[int]:
    """A MariaDB of the demo's own: the demo creates databases named after its sites.
    (Not under pytest's temporary directory, which the server's user may not enter.)"""
    root = Path(tempfile.mkdtemp(prefix="hangar-demo-mariadb-"))
    root.chmod(0o755)
    server = PrivateMariaDB(root)
    try:
        server.start()
        yield server.port
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, mariadb) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp("make-run")
    port, sandbox_port, s3_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in SUITE_VARIABLES}
    env = {k: v for k, v in env.items() if not k.startswith("HANGAR_")}
    env.update(
        DATABASE_URL=f"sqlite:///{directory / 'hangar.sqlite3'}",
        PORT=str(port),
        SANDBOX_PORT=str(sandbox_port),
        S3_PORT=str(s3_port),
        HANGAR_DEMO_MARIADB_URL=f"mysql://root@127.0.0.1:{mariadb}",
        # The periodic work, due every few seconds instead of every few minutes.
        HANGAR_SWEEP_SECONDS="2",
        HANGAR_RECONCILE_SECONDS="3",
        HANGAR_BILLING_SAMPLE_SECONDS="4",
        HANGAR_BACKUP_IMPORT_SECONDS="5",
        HANGAR_POLL_SECONDS="0.2",
        SANDBOX_ARGS="--rollout-delay 0.3 --job-duration 0.3",
    )
    log = directory / "make-run.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],  # noqa: S607
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    demo = Demo(
        f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}", log, mariadb, directory
    )
    try:

        def serving() -> bool:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                return requests.get(f"{demo.url}/healthz", timeout=2).ok
            except requests.ConnectionError:
                return False

        wait_for(serving, 120, "make run serves the panel")
        yield demo
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _errors(answer: requests.Response) -> str | None:
    if answer.status_code < 400 and "database is locked" not in answer.text:
        return None
    # DEBUG is on: the error page's title names the exception.
    title = re.search(r"<title>(.*?)</title>", answer.text, re.S)
    summary = " ".join(title[1].split()) if title else answer.text[:300]
    return f"{answer.request.method} {answer.url}: {answer.status_code} {summary}"


def test_twenty_parallel_writers_while_the_worker_runs_have_no_errors(demo):
    """Portal forms and API calls from 20 people at once, while the embedded worker
    provisions the demo and applies their changes: every write answers and is kept."""
    owner = demo.session("owner@acme.test")
    environments = {
        ns: env for ns, env in demo.environments(owner).items() if ns.startswith("acme-www-")
    }
    pending = owner.get(f"{demo.url}/api/v1/operations/?status=pending", timeout=30).json()
    assert pending["results"], "the worker has nothing to do: the test would prove nothing"
    errors: list[str] = []
    saved: list[tuple[str, str]] = []
    start = threading.Barrier(20)

    signed_in = [demo.session("owner@acme.test"), demo.session("developer@acme.test")]

    def writer(number: int) -> None:
        # Twenty browsers (and scripts), each with a session of one of two people.
        session = requests.Session()
        session.cookies.update(signed_in[number % 2].cookies)
        session.headers.update(signed_in[number % 2].headers)
        env = list(environments.values())[number % len(environments)]
        start.wait()
        for round_ in range(5):
            key, value = f"WRITER_{number}_{round_}", f"value {number}.{round_}"
            if number % 2:
                answer = session.post(
                    f"{demo.url}/api/v1/environments/{env['id']}/variables/",
                    json={"key": key, "value": value},
                    timeout=60,
                )
            else:
                answer = session.post(
                    f"{demo.url}/environments/{env['id']}/variables/set/",
                    data={
                        "key": key,
                        "value": value,
                        "csrfmiddlewaretoken": session.cookies["csrftoken"],
                    },
                    timeout=60,
                )
            problem = _errors(answer)
            if problem:
                errors.append(problem)
            else:
                saved.append((env["namespace"], key))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(saved) == 100
    for namespace, env in environments.items():
        variables = owner.get(
            f"{demo.url}/api/v1/environments/{env['id']}/variables/?page_size=200", timeout=30
        )
        keys = {v["key"] for v in variables.json()["results"]}
        assert {key for ns, key in saved if ns == namespace} <= keys


def test_periodic_work_runs_in_the_embedded_default(demo):
    """Drift reconcile and usage sampling are on the schedule that beat runs, and the
    embedded worker runs it too: drift is found and costs appear without any beat."""
    owner = demo.session("owner@acme.test")
    namespace = "acme-blog-production"
    wait_for(
        lambda: demo.environments(owner)[namespace]["status"] == "active",
        60,
        f"{namespace} is provisioned",
    )
    # Someone scales the Deployment behind Hangar's back.
    answer = requests.patch(
        f"{demo.sandbox_url}/apis/apps/v1/namespaces/{namespace}/deployments/web",
        json={"spec": {"replicas": 7}},
        headers={
            "Content-Type": "application/merge-patch+json",
            "Authorization": "Bearer sandbox-token",
        },
        timeout=30,
    )
    assert answer.ok, answer.text
    report = wait_for(
        lambda: demo.environments(owner)[namespace]["drift_report"],
        60,
        "the reconcile reports the drift",
    )
    assert any("replicas" in str(item) for item in report), report

    def sampled() -> bool:
        # Only the periodic task samples at the demo's 4-second interval (seed_demo's
        # history is hourly), so such a run proves the embedded schedule ran it.
        with closing(sqlite3.connect(demo.directory / "hangar.sqlite3", timeout=30)) as db:
            return (
                db.execute("SELECT count(*) FROM billing_samplerun WHERE seconds = 4").fetchone()[0]
                > 0
            )

    wait_for(sampled, 60, "usage is sampled on the embedded schedule")

    def costs_shown() -> bool:
        page = owner.get(f"{demo.url}/", timeout=30).text
        return len(re.findall(r">\d[\d,]*\.\d\d USD</a></td>", page)) >= 6

    wait_for(costs_shown, 60, "this month's costs are shown")


def _operation_of(demo: Demo, session: requests.Session, answer: requests.Response) -> dict:
    """The operation a portal action redirected to, once it has finished."""
    match = re.search(r"/operations/(\d+)/", answer.url)
    assert match, f"{answer.url}: {answer.text[:300]}"
    url = f"{demo.url}/api/v1/operations/{match[1]}/"
    return wait_for(
        lambda: (
            (op := session.get(url, timeout=30).json())["status"]
            in ("succeeded", "failed", "cancelled")
            and op
        ),
        120,
        f"operation {match[1]} finishes",
    )


def test_the_demo_backs_up_and_restores_for_real(demo):
    """With a MariaDB to use, the sandbox cluster provisions the demo's databases, and a
    backup taken in the portal restores the data it held."""
    assert "Backups are on" in demo.log.read_text()
    owner = demo.session("owner@acme.test")
    namespace = "acme-www-production"
    production = wait_for(
        lambda: (env := demo.environments(owner)[namespace])["status"] == "active" and env,
        90,
        f"{namespace} is provisioned",
    )
    database = namespace.replace("-", "_")
    demo.sql(
        database,
        "CREATE TABLE node (nid INT PRIMARY KEY, title VARCHAR(255))",
        "INSERT INTO node VALUES (1, 'Welcome'), (2, 'About us')",
    )
    page = owner.get(f"{demo.url}/environments/{production['id']}/backups/", timeout=30)
    assert "Back up now" in page.text

    taken = _operation_of(
        demo,
        owner,
        owner.post(
            f"{demo.url}/environments/{production['id']}/backups/now/",
            data={"csrfmiddlewaretoken": owner.cookies["csrftoken"]},
            timeout=30,
        ),
    )
    assert taken["status"] == "succeeded", taken
    backups = owner.get(
        f"{demo.url}/api/v1/backups/?environment={production['id']}&status=succeeded", timeout=30
    ).json()["results"]
    assert len(backups) == 1 and backups[0]["database_size"] > 0, backups

    demo.sql(database, "DELETE FROM node WHERE nid = 2", "UPDATE node SET title = 'Oops'")
    restored = _operation_of(
        demo,
        owner,
        owner.post(
            f"{demo.url}/environments/{production['id']}/backups/{backups[0]['id']}/restore/",
            data={
                "target": production["id"],
                "confirm": production["name"],
                "csrfmiddlewaretoken": owner.cookies["csrftoken"],
            },
            timeout=30,
        ),
    )
    assert restored["status"] == "succeeded", restored
    assert demo.sql(database, "SELECT nid, title FROM node ORDER BY nid") == [
        (1, "Welcome"),
        (2, "About us"),
    ]
