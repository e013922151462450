"""Signing in (password, then a TOTP code when the person has a device), enrolment in
two-factor authentication, and turning it off for client users."""

from __future__ import annotations

import base64
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from controlpanel.core.audit import audit_record
from controlpanel.web.accounts.forms import PasswordResetForm, SignInForm, TokenForm

_THROTTLED = "Too many wrong codes in a row: wait a few seconds, then enter the current one."


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _with_next(name: str, request: HttpRequest) -> str:
    from urllib.parse import urlencode

    return f"{reverse(name)}?{urlencode({'next': _next_url(request)})}"


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: SignInForm) -> HttpResponse:
        super().form_valid(form)
        user = form.get_user()
        if user_has_device(user, confirmed=True):
            return HttpResponseRedirect(_with_next("two_factor_verify", self.request))
        if user.is_agency_staff:
            messages.info(
                self.request,
                "Agency staff sign in with a second factor. Set up an authenticator app to go on.",
            )
            return HttpResponseRedirect(_with_next("two_factor_setup", self.request))
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm


@never_cache
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the person's authenticator app."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    devices = list(TOTPDevice.objects.devices_for_user(request.user, confirmed=True))
    if not devices:
        return redirect(_with_next("two_factor_setup", request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not any(d.verify_is_allowed()[0] for d in devices):
            form.add_error("code", _THROTTLED)
        else:
            device = next((d for d in devices if d.verify_token(form.cleaned_data["code"])), None)
            if device is not None:
                otp_login(request, device)
                return redirect(_next_url(request))
            form.add_error(
                "code",
                "That code is not valid. Codes change every 30 seconds: check your phone's "
                "clock and enter the current one.",
            )
    return render(request, "accounts/verify.html", {"form": form, "next": _next_url(request)})


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@never_cache
@login_required
def setup(request: HttpRequest) -> HttpResponse:
    """Enrolment: scan the QR code (or type the secret), then confirm with a code."""
    user = request.user
    confirmed = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    if confirmed is not None:
        if not user.is_verified():
            return redirect(_with_next("two_factor_verify", request))
        return render(request, "accounts/two_factor.html", {"device": confirmed})
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not device.verify_is_allowed()[0]:
            form.add_error("code", _THROTTLED)
        elif device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit_record(actor=user, action="user.two_factor_enable", target=user)
            messages.success(
                request,
                "Two-factor authentication is on. From now on you sign in with your password "
                "and a code from your app.",
            )
            return redirect(_next_url(request))
        else:
            form.add_error("code", "That code does not match. Enter the code the app shows now.")
    secret = base64.b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "qr_svg": _qr_svg(device.config_url),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "next": _next_url(request),
        "required": user.is_agency_staff,
    }
    return render(request, "accounts/two_factor_setup.html", context)


@require_POST
@login_required
def disable(request: HttpRequest) -> HttpResponse:
    """Client users may turn two-factor authentication off again; staff may not."""
    user = request.user
    if user.is_agency_staff:
        messages.error(request, "Agency staff must keep two-factor authentication on.")
        return redirect("two_factor_setup")
    TOTPDevice.objects.filter(user=user).delete()
    audit_record(actor=user, action="user.two_factor_disable", target=user)
    messages.success(request, "Two-factor authentication is off. You sign in with your password.")
    return redirect("two_factor_setup")
