"""Bring up what the test suite needs, run a command, stop what was started.

    python tests/services.py -- COMMAND [ARG...]        (`make test` runs pytest this way)

Servers, each given to the command through the variable the test settings read:

| server     | variable                  | default address tried                       |
| ---------- | ------------------------- | ------------------------------------------- |
| PostgreSQL | DATABASE_URL              | postgres://postgres@127.0.0.1:5432 (trust)  |
| Redis      | CELERY_BROKER_URL         | redis://127.0.0.1:6379                      |
| MariaDB    | HANGAR_TEST_MARIADB_URL   | mysql://root@127.0.0.1:3306 (no password)   |

A variable that is set is used as it is. Otherwise the default address is used if it
answers as the suite needs it, and if it does not, a private server is started: its data
in a temporary directory, on a free loopback port, as this process's child (as the
package's system user when running as root), stopped and removed when the command ends.

Programs the suite runs (the servers above, rclone and the mariadb client tools for the
backup scripts, Chromium for the browser tests, the Pango and HarfBuzz libraries and a
font for WeasyPrint's PDFs) are installed with apt-get when missing and this runs as root
on Debian or Ubuntu; elsewhere what is missing is named, and the tests needing it fail or
skip saying so. Exits with the command's exit code.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# (what must exist, the Debian package that brings it)
PROGRAMS = [
    ("rclone", "rclone"),
    ("mariadb", "mariadb-client"),
    ("mariadb-dump", "mariadb-client"),
    ("/usr/bin/chromium", "chromium"),
]
# WeasyPrint's libraries and a font to embed, by Debian package.
LIBRARIES = ["libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core"]


def say(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s")


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# --- Installing programs -----------------------------------------------------------------------


class Apt:
    """apt-get, when it can be used: as root on Debian or Ubuntu."""

    def __init__(self) -> None:
        self.usable = os.geteuid() == 0 and shutil.which("apt-get") is not None
        self._updated = False

    @staticmethod
    def installed(package: str) -> bool:
        result = subprocess.run(  # noqa: S603
            ["dpkg-query", "-W", "-f=${Status}", package],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        return result.returncode == 0 and "install ok installed" in result.stdout

    def install(self, packages: list[str]) -> None:
        missing = sorted({p for p in packages if not self.installed(p)})
        if not missing:
            return
        if not self.usable:
            say(f"missing {', '.join(missing)} (install them; apt-get needs root on Debian)")
            return
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if not self._updated:
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)  # noqa: S607
            self._updated = True
        say(f"installing {' '.join(missing)}")
        subprocess.run(  # noqa: S603
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],  # noqa: S607
            check=True,
            env=env,
        )


def find_program(name: str, *patterns: str) -> str | None:
    """On PATH, or in the places Debian keeps server binaries off PATH."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    for pattern in patterns:
        matches = sorted(glob.glob(pattern), key=_version_key)
        if matches:
            return matches[-1]
    return None


def _version_key(path: str) -> list[int]:
    return [int(part) for part in path.split("/") if part.isdigit()]


# --- Private servers ---------------------------------------------------------------------------


class Private:
    """A server of this run's own: a data directory under `root` (which the server's user
    must be able to enter), a port, a process."""

    name = ""
    system_user = ""

    def __init__(self, root: Path) -> None:
        self.dir = root / self.name
        self.dir.mkdir()
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        # Servers refuse to run as root: the package's user (or nobody) owns the data.
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = self.system_user if _user_exists(self.system_user) else "nobody"
            shutil.chown(self.dir, self.user)

    def run(self, argv: list[str]) -> None:
        result = subprocess.run(  # noqa: S603
            argv, user=self.user, check=False, capture_output=True, cwd=self.dir
        )
        if result.returncode:
            output = (result.stdout + result.stderr).decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{output}")

    def spawn(self, argv: list[str]) -> None:
        log = (self.dir / "server.log").open("wb")
        # A session of its own: Ctrl-C in the terminal does not reach it, `stop` does.
        self.process = subprocess.Popen(  # noqa: S603
            argv,
            user=self.user,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
            start_new_session=True,
        )

    def wait_listening(self) -> None:
        def up() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the private {self.name} stopped:\n{self.log_tail()}")
            return listening(self.port)

        wait_until(up, f"the private {self.name}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class PrivatePostgres(Private):
    name = "postgresql"
    system_user = "postgres"

    def start(self) -> str:
        initdb = find_program("initdb", "/usr/lib/postgresql/*/bin/initdb")
        postgres = find_program("postgres", "/usr/lib/postgresql/*/bin/postgres")
        if initdb is None or postgres is None:
            raise RuntimeError("PostgreSQL's initdb and postgres are not installed")
        data = self.dir / "data"
        self.run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions"])  # fmt: skip
        # The suite's data is thrown away after the run: no durability needed.
        self.spawn([postgres, "-D", str(data), "-p", str(self.port), "-k", str(self.dir),
                    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                    "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])  # fmt: skip
        self.wait_listening()
        return f"postgres://postgres@127.0.0.1:{self.port}/controlpanel"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown
        super().stop()


class PrivateRedis(Private):
    name = "redis"
    system_user = "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        binary = find_program("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.spawn([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", str(self.dir)])  # fmt: skip
        self.wait_listening()
        return self.url


class PrivateMariaDB(Private):
    name = "mariadb"
    system_user = "mysql"

    def start(self) -> str:
        install = find_program("mariadb-install-db") or find_program("mysql_install_db")
        server = find_program("mariadbd") or find_program("mysqld")
        client = find_program("mariadb") or find_program("mysql")
        if install is None or server is None or client is None:
            raise RuntimeError("MariaDB (server and client) is not installed")
        data, sock = self.dir / "data", self.dir / "mariadb.sock"
        user = [f"--user={self.user}"] if self.user else []
        self.run([install, "--no-defaults", f"--datadir={data}", "--skip-test-db",
                  "--auth-root-authentication-method=normal", *user])  # fmt: skip
        self.spawn([server, "--no-defaults", f"--datadir={data}", f"--socket={sock}",
                    f"--port={self.port}", "--bind-address=127.0.0.1", "--skip-log-bin",
                    "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=0",
                    f"--pid-file={self.dir / 'mariadb.pid'}", *user])  # fmt: skip
        self.wait_listening()
        # The suite connects as root over TCP without a password, as CI's server allows.
        subprocess.run(  # noqa: S603
            [client, "--no-defaults", f"--socket={sock}", "-u", "root", "-e",
             "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; "
             "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"],
            check=True, capture_output=True,
        )  # fmt: skip
        return f"mysql://root@127.0.0.1:{self.port}"


# --- Is the default address good enough? --------------------------------------------------------


def postgres_answers(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=3).ping())
    except redis.RedisError:
        return False


def mariadb_answers(url: str) -> bool:
    import pymysql

    try:
        pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=3).close()
    except pymysql.Error:
        return False
    return True


SERVERS = [
    # variable, default, check, private server, packages it needs
    (
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/controlpanel",
        postgres_answers,
        PrivatePostgres,
        ["postgresql"],
    ),
    (
        "CELERY_BROKER_URL",
        "redis://127.0.0.1:6379/15",
        redis_answers,
        PrivateRedis,
        ["redis-server"],
    ),
    (
        "HANGAR_TEST_MARIADB_URL",
        "mysql://root@127.0.0.1:3306",
        mariadb_answers,
        PrivateMariaDB,
        ["mariadb-server", "mariadb-client"],
    ),
]


@contextlib.contextmanager
def services(apt: Apt) -> Iterator[dict[str, str]]:
    """The variables to give the command; private servers run until the block ends."""
    env: dict[str, str] = {}
    started: list[Private] = []
    root = Path(tempfile.mkdtemp(prefix="hangar-services-"))
    root.chmod(0o755)
    try:
        for variable, default, answers, private, packages in SERVERS:
            if os.environ.get(variable):
                continue
            if answers(default):
                env[variable] = default
                continue
            apt.install(packages)
            server = private(root)
            started.append(server)
            env[variable] = server.start()
            say(f"started a private {server.name} for this run: {variable}={env[variable]}")
        yield env
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def programs(apt: Apt) -> None:
    packages = [package for program, package in PROGRAMS if not find_program(program)]
    apt.install(packages + LIBRARIES)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        print(__doc__, file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1 :]
    # Stopped while starting servers: unwind through `services`, which stops them.
    signal.signal(signal.SIGTERM, _interrupt)
    apt = Apt()
    try:
        programs(apt)
        with services(apt) as env:
            child = subprocess.Popen(command, env={**os.environ, **env})  # noqa: S603
            # Ctrl-C reaches the command from the terminal; a kill is passed on to it.
            # Either way the servers are stopped once it has ended.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
            return child.wait()
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv))
