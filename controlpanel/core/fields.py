"""Model fields: secrets stored encrypted and used as plaintext in Python, and the optional
references many models share."""

from __future__ import annotations

from typing import Any

from django.db import models

from controlpanel.core import crypto


class EncryptedTextField(models.TextField):
    """Text encrypted with the configured Fernet keys before it reaches the database.

    The empty string stays empty, so "not set" is visible without decrypting. Encrypted
    values cannot be searched or ordered; keep lookups to `isnull`/exact-empty checks.
    `multiline` only tells forms which widget to use (a kubeconfig versus a password).
    """

    description = "Text encrypted at rest"

    def __init__(self, *args: Any, multiline: bool = False, **kwargs: Any) -> None:
        self.multiline = multiline
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        if self.multiline:
            kwargs["multiline"] = True
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return crypto.encrypt(value)


def optional_reference(to: str | type[models.Model], **kwargs: Any) -> models.ForeignKey:
    """A link that may be empty and is emptied when the row it points at is deleted, so
    the linking row (a release, a backup, an audit event) outlives it; no reverse accessor."""
    return models.ForeignKey(
        to, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", **kwargs
    )
