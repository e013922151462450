"""Reading and writing the environments' real databases and files in tests."""

from __future__ import annotations

import pymysql
from django.conf import settings

from sites.models import EnvironmentDatabase

MARIADB = {"host": settings.TEST_MARIADB["host"], "port": settings.TEST_MARIADB["port"]}


def connect(record: EnvironmentDatabase):
    """Connect as the environment's own user, as its site would."""
    return pymysql.connect(
        **MARIADB,
        user=record.user,
        password=record.password,
        database=record.name,
        autocommit=True,
    )


def sql(record: EnvironmentDatabase, *statements: str) -> list[tuple]:
    rows: list[tuple] = []
    connection = connect(record)
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
                rows = list(cursor.fetchall())
    finally:
        connection.close()
    return rows


def seed(record: EnvironmentDatabase, rows: int = 50) -> None:
    values = ", ".join(f"({i}, 'node {i}', REPEAT('body {i} ', 20))" for i in range(1, rows + 1))
    sql(
        record,
        "CREATE TABLE node (nid INT PRIMARY KEY, title VARCHAR(255), body TEXT)",
        f"INSERT INTO node VALUES {values}",  # noqa: S608 - test data
        "CREATE TABLE users (uid INT PRIMARY KEY, name VARCHAR(60), pass BLOB)",
        "INSERT INTO users VALUES (1, 'admin', 0x00ff10), (2, 'editor', NULL)",
        "CREATE VIEW titles AS SELECT nid, title FROM node",
    )
