"""Middleware of the web UI: the Content-Security-Policy header and the two-factor gate."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp import user_has_device


class ContentSecurityPolicyMiddleware:
    """Send `settings.CONTENT_SECURITY_POLICY` with every response: pages hold no inline
    script, style or event handler (the API docs included, see controlpanel.api.urls)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


# Reachable while a second factor is still owed: signing in or out, enrolment, recovery.
_OPEN_NAMES = (
    "login",
    "logout",
    "two_factor_verify",
    "two_factor_setup",
    "password_reset",
    "password_reset_done",
    "password_reset_complete",
)


class TwoFactorMiddleware:
    """A signed-in person who has a TOTP device must enter a code before anything else;
    agency staff without a device are sent to enrolment before anything else.

    Runs after django_otp's OTPMiddleware (which gives `user.is_verified()`). Requests that
    authenticate with an API token carry no session user and pass untouched.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._open: tuple[str, ...] | None = None

    def _open_paths(self) -> tuple[str, ...]:
        if self._open is None:
            self._open = (
                *(reverse(name) for name in _OPEN_NAMES),
                "/reset/",  # password_reset_confirm/<uidb64>/<token>/
                settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/static/",
                "/healthz",
                "/readyz",
            )
        return self._open

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(self._open_paths())
        ):
            if user_has_device(user, confirmed=True):
                return _redirect("two_factor_verify", request)
            if user.is_agency_staff:
                return _redirect("two_factor_setup", request)
        return self.get_response(request)


def _redirect(name: str, request: HttpRequest) -> HttpResponse:
    query = urlencode({"next": request.get_full_path()})
    response = HttpResponseRedirect(f"{reverse(name)}?{query}")
    if request.headers.get("HX-Request"):
        # htmx follows redirects inside a fragment; send the whole page there instead.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = f"{reverse(name)}?{query}"
    return response
