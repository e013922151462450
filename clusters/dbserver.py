"""The database server adapter: the only code that talks to a cluster's MariaDB/MySQL server.

Each environment gets a database and a user with privileges on that database only. Names
are validated identifiers (quoted with backticks besides), passwords travel as query
parameters, and every driver error becomes a `DatabaseServerError` that says what to fix.
Works with MariaDB 10.5+ and MySQL 8 (the statements are common to both).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pymysql
from django.conf import settings

if TYPE_CHECKING:
    from clusters.models import Cluster

# Lower-case letters, digits and underscores: safe in every identifier context, and the
# same on case-sensitive (Linux) and case-insensitive servers.
_IDENTIFIER = re.compile(r"[a-z0-9_]+")
DATABASE_NAME_MAX = 64
# MySQL limits user names to 32 characters (MariaDB to 80); stay within both.
USER_NAME_MAX = 32
# Users connect from pods, whose addresses change; the password is what protects them.
USER_HOST = "%"

# Driver error codes worth naming.
_ACCESS_DENIED = {1044, 1045, 1227, 1410, 1698}
_UNREACHABLE = {2002, 2003, 2005, 2006, 2013}


class DatabaseServerError(Exception):
    """A database server call failed; `retryable` says whether repeating it may help."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatabaseServerUnreachable(DatabaseServerError):
    retryable = True


@dataclass(frozen=True)
class DatabaseCredentials:
    host: str
    port: int
    name: str
    user: str
    password: str = ""


def new_password() -> str:
    """32 URL-safe characters: no quoting trouble in option files, URLs or shells."""
    return secrets.token_urlsafe(24)


def validate_identifier(value: str, *, limit: int, what: str) -> str:
    if not value or len(value) > limit or not _IDENTIFIER.fullmatch(value):
        raise DatabaseServerError(
            f"{what} {value!r} must be 1-{limit} characters of a-z, 0-9 and underscore."
        )
    return value


def quote(identifier: str) -> str:
    return f"`{identifier}`"


class DatabaseServer:
    def __init__(
        self,
        *,
        host: str,
        port: int = 3306,
        admin_user: str,
        admin_password: str = "",
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self.host = host
        self.port = int(port)
        self.admin_user = admin_user
        self.admin_password = admin_password
        self.connect_timeout = connect_timeout or settings.HANGAR_DATABASE_CONNECT_TIMEOUT
        self.read_timeout = read_timeout or settings.HANGAR_DATABASE_READ_TIMEOUT

    @classmethod
    def for_cluster(cls, cluster: Cluster) -> DatabaseServer:
        if not cluster.db_host or not cluster.db_admin_user:
            raise DatabaseServerError(
                f"Cluster {cluster.slug} has no database server configured (host, admin user)."
            )
        return cls(
            host=cluster.db_host,
            port=cluster.db_port,
            admin_user=cluster.db_admin_user,
            admin_password=cluster.db_admin_password,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # --- connections and errors ------------------------------------------------------

    def _translate(self, exc: Exception) -> DatabaseServerError:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        detail = exc.args[1] if len(exc.args) > 1 else str(exc)
        if code in _UNREACHABLE:
            return DatabaseServerUnreachable(
                f"The database server {self.address} is unreachable: {detail}"
            )
        if code in _ACCESS_DENIED:
            return DatabaseServerError(
                f"The database server {self.address} refused {self.admin_user}: {detail}. "
                "Check the cluster's database admin user and password."
            )
        return DatabaseServerError(f"The database server {self.address} answered: {detail}")

    @contextmanager
    def connect(self, database: str | None = None) -> Iterator[Any]:
        try:
            connection = pymysql.connect(
                host=self.host,
                port=self.port,
                user=self.admin_user,
                password=self.admin_password,
                database=database,
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
                write_timeout=self.read_timeout,
                autocommit=True,
                charset="utf8mb4",
            )
        except pymysql.MySQLError as exc:
            raise self._translate(exc) from exc
        try:
            with connection.cursor() as cursor:
                yield cursor
        except pymysql.MySQLError as exc:
            raise self._translate(exc) from exc
        finally:
            connection.close()

    # --- databases and users -----------------------------------------------------------

    def version(self) -> str:
        with self.connect() as cursor:
            cursor.execute("SELECT VERSION()")
            return str(cursor.fetchone()[0])

    def database_create(
        self, *, name: str, user: str, password: str | None = None
    ) -> DatabaseCredentials:
        """Create (or keep) the database and the user, set the user's password and grant it
        every privilege on that database and nothing else. Safe to repeat."""
        validate_identifier(name, limit=DATABASE_NAME_MAX, what="Database name")
        validate_identifier(user, limit=USER_NAME_MAX, what="User name")
        password = password or new_password()
        with self.connect() as cursor:
            cursor.execute(
                f"CREATE DATABASE IF NOT EXISTS {quote(name)} "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
            cursor.execute(
                "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, USER_HOST, password)
            )
            cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, USER_HOST, password))
            cursor.execute(f"GRANT ALL PRIVILEGES ON {quote(name)}.* TO %s@%s", (user, USER_HOST))
        return DatabaseCredentials(self.host, self.port, name, user, password)

    def password_rotate(self, *, user: str, password: str | None = None) -> str:
        validate_identifier(user, limit=USER_NAME_MAX, what="User name")
        password = password or new_password()
        with self.connect() as cursor:
            cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, USER_HOST, password))
        return password

    def database_drop(self, *, name: str, user: str = "") -> None:
        """Drop the database and (when given) the user. Missing ones are fine."""
        validate_identifier(name, limit=DATABASE_NAME_MAX, what="Database name")
        with self.connect() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quote(name)}")
            if user:
                validate_identifier(user, limit=USER_NAME_MAX, what="User name")
                cursor.execute("DROP USER IF EXISTS %s@%s", (user, USER_HOST))

    def database_exists(self, name: str) -> bool:
        with self.connect() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s", (name,)
            )
            return bool(cursor.fetchone()[0])

    def user_exists(self, user: str) -> bool:
        with self.connect() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM mysql.user WHERE user = %s AND host = %s", (user, USER_HOST)
            )
            return bool(cursor.fetchone()[0])

    def grant(self, *, name: str, user: str) -> None:
        """Let `user` use one more database (a scratch copy for a restore check)."""
        validate_identifier(name, limit=DATABASE_NAME_MAX, what="Database name")
        validate_identifier(user, limit=USER_NAME_MAX, what="User name")
        with self.connect() as cursor:
            cursor.execute(f"GRANT ALL PRIVILEGES ON {quote(name)}.* TO %s@%s", (user, USER_HOST))

    def revoke(self, *, name: str, user: str) -> None:
        validate_identifier(name, limit=DATABASE_NAME_MAX, what="Database name")
        validate_identifier(user, limit=USER_NAME_MAX, what="User name")
        with self.connect() as cursor:
            cursor.execute("SELECT COUNT(*) FROM mysql.user WHERE user = %s", (user,))
            if not cursor.fetchone()[0]:
                return
            try:
                cursor.execute(
                    f"REVOKE ALL PRIVILEGES ON {quote(name)}.* FROM %s@%s", (user, USER_HOST)
                )
            except pymysql.MySQLError as exc:
                if exc.args and exc.args[0] == 1141:  # there was no such grant
                    return
                raise

    # --- reading a database ------------------------------------------------------------

    def tables(self, name: str) -> list[str]:
        with self.connect() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
                (name,),
            )
            return [str(row[0]) for row in cursor.fetchall()]

    def table_checksums(self, name: str) -> dict[str, int | None]:
        """`CHECKSUM TABLE` of every table: equal data gives equal numbers."""
        validate_identifier(name, limit=DATABASE_NAME_MAX, what="Database name")
        tables = self.tables(name)
        if not tables:
            return {}
        listing = ", ".join(f"{quote(name)}.`{t.replace('`', '``')}`" for t in tables)
        with self.connect() as cursor:
            cursor.execute(f"CHECKSUM TABLE {listing}")
            return {str(row[0]).split(".", 1)[1]: row[1] for row in cursor.fetchall()}
