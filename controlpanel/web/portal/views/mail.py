"""An environment's mail: where it goes, its override, the client's relay (owners), and
"send test mail". Passwords are write-only: the forms never send one back."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from controlpanel.core.permissions import Action, can
from controlpanel.web.forms import Form
from controlpanel.web.portal.views.base import render_environment
from controlpanel.web.shortcuts import attempt, environment_or_404
from sites.mail import services
from sites.mail.models import MailMode, MailSettings, MailTls
from sites.mail.selectors import effective_mail
from sites.models import Environment


class RelayForm(Form):
    host = forms.CharField(label="SMTP host", max_length=253)
    port = forms.IntegerField(label="Port", initial=587)
    tls = forms.ChoiceField(label="Encryption", choices=MailTls.choices)
    tls_verify = forms.BooleanField(
        label="Verify the server's certificate", required=False, initial=True
    )
    username = forms.CharField(label="User", max_length=255, required=False)
    password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        help_text="Write-only. Leave empty to keep the current one.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    from_address = forms.CharField(label="From address", max_length=254, required=False)


class OverrideForm(RelayForm):
    mode = forms.ChoiceField(label="Mail of this environment", choices=MailMode.choices)
    field_order = ["mode"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["host"].required = False
        self.fields["host"].help_text = "Empty: the client's relay."


class TestMailForm(Form):
    recipient = forms.EmailField(label="Send a test message to")


def _fields(form: Form) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    if not data.get("password"):
        data.pop("password", None)  # empty: keep the stored one
    return data


def _page(
    request: HttpRequest, environment: Environment, status: int = 200, **forms_: Form
) -> HttpResponse:
    client = environment.site.client
    relay = MailSettings.objects.filter(client=client, environment__isnull=True).first()
    override = MailSettings.objects.filter(environment=environment).first()
    may_relay = can(request.user, Action.MANAGE_INTEGRATIONS, client)
    context = {
        "mail": effective_mail(environment),
        "relay": relay,
        "override": override,
        "may_relay": may_relay,
        "relay_form": forms_.get("relay_form")
        or (RelayForm(initial=_initial(relay)) if may_relay else None),
        "override_form": forms_.get("override_form") or OverrideForm(initial=_initial(override)),
        "test_form": forms_.get("test_form")
        or TestMailForm(initial={"recipient": request.user.email}),
    }
    return render_environment(
        request, environment, "mail", "portal/environment/mail.html", context, status
    )


def _initial(settings: MailSettings | None) -> dict[str, Any]:
    if settings is None:
        return {}
    return {
        name: getattr(settings, name)
        for name in ("mode", "host", "port", "tls", "tls_verify", "username", "from_address")
    }


@login_required
def mail(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, environment_or_404(request, pk))


@require_POST
@login_required
def relay_set(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    form = RelayForm(request.POST)
    if form.is_valid() and attempt(
        form,
        services.mail_relay_set,
        actor=request.user,
        client=environment.site.client,
        **_fields(form),
    ):
        messages.success(
            request,
            "Saved the client's SMTP relay. Every environment of the client gets it with a "
            "configuration apply, which has been queued.",
        )
        return redirect("portal:mail", environment.pk)
    return _page(request, environment, 400, relay_form=form)


@require_POST
@login_required
def override_set(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    form = OverrideForm(request.POST)
    if form.is_valid() and attempt(
        form,
        services.mail_override_set,
        actor=request.user,
        environment=environment,
        **_fields(form),
    ):
        messages.success(request, "Saved. The pods get it with the configuration apply.")
        return redirect("portal:mail", environment.pk)
    return _page(request, environment, 400, override_form=form)


@require_POST
@login_required
def override_reset(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    services.mail_override_delete(actor=request.user, environment=environment)
    messages.success(request, "This environment follows the client's relay and its tier again.")
    return redirect("portal:mail", environment.pk)


@require_POST
@login_required
def test_send(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    form = TestMailForm(request.POST)
    if form.is_valid():
        operation = attempt(
            form,
            services.environment_send_test_mail,
            actor=request.user,
            environment=environment,
            recipient=form.cleaned_data["recipient"],
        )
        if operation is not None:
            return redirect("portal:operation", operation.pk)
    return _page(request, environment, 400, test_form=form)
