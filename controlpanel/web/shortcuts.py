"""What every view of the UI needs: tenant-scoped lookups that answer 404 for other
clients' objects, and services' field-keyed errors mapped onto forms."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from controlpanel.integrations.tokens import reauthenticate
from sites.models import Environment

T = TypeVar("T")


def scoped_or_404(request: HttpRequest, queryset: models.QuerySet, **lookup: Any) -> Any:
    """The object if the signed-in person may see it, else 404 (never 403: another
    client's ids must not be distinguishable from ids that do not exist)."""
    return get_object_or_404(queryset.for_user(request.user), **lookup)


def environment_or_404(request: HttpRequest, pk: int) -> Environment:
    return scoped_or_404(
        request,
        Environment.objects.select_related("site__client", "cluster", "node_pool__size"),
        pk=pk,
    )


def apply_errors(
    form: forms.Form, exc: ValidationError, aliases: Mapping[str, str] | None = None
) -> None:
    """Put a service's ValidationError next to the fields it names. Errors about fields
    the form does not have are shown above the form, prefixed by the field's name."""
    aliases = aliases or {}
    if not hasattr(form, "cleaned_data"):
        # A form that only carries errors of a button's action (never bound or validated).
        form.errors  # noqa: B018 - initialises the error dict
        form.cleaned_data = {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        name = aliases.get(field, field)
        if name in form.fields:
            for error in errors:
                form.add_error(name, error)
        else:
            label = field.replace("_", " ").capitalize() if field != "__all__" else ""
            for error in errors:
                for message in error.messages:
                    form.add_error(None, f"{label}: {message}" if label else message)


def attempt(
    form: forms.Form,
    service: Callable[..., T],
    aliases: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> T | None:
    """Call `service(**kwargs)`; on ValidationError map it onto `form` and return None."""
    try:
        return service(**kwargs)
    except ValidationError as exc:
        apply_errors(form, exc, aliases)
        return None


def reauthenticated(form: forms.Form, *, actor: Any, password: str | None) -> bool:
    """Whether `actor` confirmed their current password (see `reauthenticate`); if not,
    why is put on `form`'s password field."""
    return attempt(form, _password_checked, actor=actor, password=password) is not None


def _password_checked(*, actor: Any, password: str | None) -> bool:
    reauthenticate(actor=actor, password=password)
    return True


def htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
