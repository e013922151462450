"""Forms of signing in, the second factor and password recovery."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from controlpanel.web.accounts import throttle
from controlpanel.web.forms import Form, StyledMixin


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    header = settings.HANGAR_CLIENT_IP_HEADER
    value = request.META.get(header, "") if header else ""
    return value.split(",")[0].strip() or request.META.get("REMOTE_ADDR") or None


def _wait_text(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class SignInForm(StyledMixin, auth_forms.AuthenticationForm):
    """Email and password, refused for a while after repeated failures."""

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": "Your email address and password didn't match. Please try again.",
        "throttled": (
            "Too many failed sign-ins. Try again in %(wait)s, or reset your password "
            "if you have forgotten it."
        ),
    }

    def __init__(self, request: HttpRequest | None = None, *args, **kwargs) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email address"
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autocomplete": "username", "autofocus": True, "class": "form-control"}
        )
        self.fields["password"].widget.attrs["class"] = "form-control"

    def _throttled(self, wait: int) -> ValidationError:
        return ValidationError(
            self.error_messages["throttled"], code="throttled", params={"wait": _wait_text(wait)}
        )

    def clean_username(self) -> str:
        return (self.cleaned_data.get("username") or "").strip().lower()

    def clean(self) -> dict:
        email = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request)
        # The account's own lock holds even for the right password (guessing one
        # account); the address's lock answers only failures, so the people of an office
        # behind one address still sign in while someone there mistypes or guesses.
        wait = throttle.locked_for(email, None)
        if wait:
            raise self._throttled(wait)
        try:
            cleaned = super().clean()
        except ValidationError as exc:
            if any(error.code == "invalid_login" for error in exc.error_list):
                ip_wait = throttle.locked_for("", ip)
                throttle.record_failure(email, ip)
                if ip_wait:
                    raise self._throttled(ip_wait) from None
            raise
        throttle.reset(email)
        return cleaned


class TokenForm(Form):
    """A six-digit code from an authenticator app."""

    code = forms.CharField(
        label="Code from your authenticator app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "autofocus": True,
                "class": "form-control",
            }
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].replace(" ", "")
        if not code.isdigit():
            raise ValidationError("Enter the digits your authenticator app shows.")
        return code


class PasswordResetForm(StyledMixin, auth_forms.PasswordResetForm):
    """Also reaches people who were invited and never set a password."""

    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "class": "form-control"}),
    )

    def get_users(self, email: str):
        return get_user_model()._default_manager.filter(email__iexact=email, is_active=True)
