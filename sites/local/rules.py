"""The sanitize rules: SQL run on a scratch copy of a backup before a developer gets it.

Pure functions (no database access), shared by the Site model, forms, serializers and
services. The defaults replace what identifies people in Drupal and WordPress: e-mail
addresses, password hashes and user names; an owner adds rules for the site's own tables.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

MAX_SANITIZE_SQL_LENGTH = 65536
# What a rule may do to the scratch copy: change or remove rows and tables, set session
# variables. Nothing that reaches another database, user or the server.
ALLOWED_STATEMENTS = ("UPDATE", "DELETE", "TRUNCATE", "INSERT", "REPLACE", "DROP TABLE", "SET")
_FORBIDDEN = re.compile(r"\b(OUTFILE|DUMPFILE|LOAD_FILE|INFILE)\b", re.I)
_QUALIFIED = re.compile(r"\b(UPDATE|FROM|INTO|TABLE|JOIN)\s+`?\w+`?\s*\.\s*`?\w", re.I)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")

DRUPAL = """\
-- Drupal: every account gets a made-up name and e-mail and no password.
UPDATE users_field_data SET
  mail = CONCAT('user', uid, '@example.invalid'),
  init = CONCAT('user', uid, '@example.invalid'),
  name = CONCAT('user', uid),
  pass = NULL
WHERE uid > 0;
"""

WORDPRESS = """\
-- WordPress: made-up logins and e-mails, no password hashes or sessions.
UPDATE wp_users SET
  user_email = CONCAT('user', ID, '@example.invalid'),
  user_login = CONCAT('user', ID),
  user_nicename = CONCAT('user', ID),
  display_name = CONCAT('User ', ID),
  user_pass = '',
  user_activation_key = '';
UPDATE wp_usermeta SET meta_value = CONCAT('user', user_id, '@example.invalid')
WHERE meta_value LIKE '%@%.%';
DELETE FROM wp_usermeta WHERE meta_key = 'session_tokens';
UPDATE wp_comments SET comment_author_email = '', comment_author_IP = '';
"""

DEFAULTS = {"drupal": DRUPAL, "wordpress": WORDPRESS}


def default_sanitize_sql(kind: str) -> str:
    """The rules a site of `kind` starts with ("" where Hangar knows no tables)."""
    return DEFAULTS.get(kind, "")


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def validate_sanitize_sql(sql: str) -> str:
    """SQL statements separated by ';', each an UPDATE, DELETE, TRUNCATE, INSERT,
    REPLACE, DROP TABLE or SET, naming no database, user or file; returns it stripped."""
    sql = (sql or "").strip()
    if len(sql) > MAX_SANITIZE_SQL_LENGTH:
        raise ValidationError(
            f"The sanitize rules are {len(sql)} characters; at most {MAX_SANITIZE_SQL_LENGTH}.",
            code="sanitize_sql",
        )
    for statement in _statements(sql):
        words = " ".join(statement.split()[:2]).upper()
        if not any(words.startswith(allowed) for allowed in ALLOWED_STATEMENTS):
            raise ValidationError(
                f'"{statement[:60]}" is not allowed: each rule is one of '
                f"{', '.join(ALLOWED_STATEMENTS)}, ending with ';'.",
                code="sanitize_sql",
            )
        code_only = _QUOTED.sub("''", statement)
        found = _FORBIDDEN.search(code_only)
        if found:
            raise ValidationError(
                f'"{statement[:60]}" uses {found.group(1).upper()}: the rules work on the '
                "site's own tables only, never on files.",
                code="sanitize_sql",
            )
        if _QUALIFIED.search(code_only):
            raise ValidationError(
                f'"{statement[:60]}" names a table with its database: name tables alone.',
                code="sanitize_sql",
            )
    return sql
