"""Destructive actions of the UI confirmed on a page of their own: a GET shows what stops
working, and only a POST that carries the confirmation does it. A POST without it changes
nothing and shows the page again (a mis-click, a stale form, a forged request)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.timesince import timesince

from controlpanel.integrations.models import ApiToken
from controlpanel.web.forms import Form

F = TypeVar("F", bound=forms.Form)


class _Confirmation(forms.HiddenInput):
    """Sent with the confirm button, also when the page is shown again after a POST that
    lacked it (a bound form would otherwise render the empty value it got)."""

    def format_value(self, value: object) -> str:
        return "True"


class ConfirmForm(Form):
    """The confirm button's own field: a POST without it is not a confirmation."""

    confirm = forms.BooleanField(widget=_Confirmation, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("confirm"):
            # Said above the form: the field itself is hidden.
            raise forms.ValidationError("Nothing was changed: confirm with the button below.")
        return cleaned


def confirm_form(request: HttpRequest, form_class: type[F], **kwargs: Any) -> F:
    """The confirmation form, bound on every POST (an empty one too, which it refuses)."""
    return form_class(request.POST if request.method == "POST" else None, **kwargs)


def confirm_page(
    request: HttpRequest,
    form: forms.Form,
    *,
    title: str,
    consequence: str,
    facts: Sequence[tuple[str, str]],
    action: str,
    submit: str,
    cancel: str,
    **extra: object,
) -> HttpResponse:
    """The confirmation page: 200 asked for, 400 after a POST that did not confirm."""
    context = {
        "title": title,
        "consequence": consequence,
        "facts": facts,
        "form": form,
        "action": action,
        "submit": submit,
        "cancel": cancel,
    } | extra
    return render(request, "portal/confirm.html", context, status=400 if form.is_bound else 200)


def token_revoke_page(
    request: HttpRequest,
    form: forms.Form,
    token: ApiToken,
    *,
    what: str,
    stops: str,
    action: str,
    cancel: str,
    facts: Sequence[tuple[str, str]] = (),
    **extra: object,
) -> HttpResponse:
    """A token's revocation asked: which token, whether anything used it lately, and what
    stops working (`stops`)."""
    last = (
        f"{timesince(token.last_used_at)} ago ({token.last_used_at:%Y-%m-%d %H:%M} UTC)"
        if token.last_used_at
        else "never"
    )
    return confirm_page(
        request,
        form,
        title=f"Revoke the {what} {token.name}",
        consequence=f"{stops} This cannot be undone.",
        facts=[("Token", f"{token.name} ({token.prefix}…)"), ("Last used", last), *facts],
        action=action,
        submit="Revoke the token",
        cancel=cancel,
        **extra,
    )
