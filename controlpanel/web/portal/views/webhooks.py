"""A client's webhooks (owners): endpoints, their signing secret shown once, test pings
and the delivery log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from controlpanel.core.models import Client
from controlpanel.core.permissions import Action, can
from controlpanel.integrations.models import Webhook, WebhookDelivery
from controlpanel.integrations.webhooks import webhook_create, webhook_delete, webhook_ping
from controlpanel.web.portal.forms import WebhookForm
from controlpanel.web.shortcuts import attempt, scoped_or_404

DELIVERIES_SHOWN = 20


def _client(request: HttpRequest, pk: int) -> Client:
    client = scoped_or_404(request, Client.objects.all(), pk=pk)
    if not can(request.user, Action.MANAGE_INTEGRATIONS, client):
        raise PermissionDenied("Only the client's owners manage webhooks.")
    return client


def _page(request: HttpRequest, client: Client, status: int = 200, **extra) -> HttpResponse:
    context = {
        "client": client,
        "webhooks": Webhook.objects.filter(client=client).order_by("pk"),
        "deliveries": WebhookDelivery.objects.filter(webhook__client=client)
        .select_related("webhook")
        .order_by("-created_at", "-id")[:DELIVERIES_SHOWN],
        "form": WebhookForm(),
        "nav_client_id": client.pk,
    } | extra
    return render(request, "portal/webhooks.html", context, status=status)


@login_required
def webhooks(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, _client(request, pk))


@require_POST
@login_required
def webhook_add(request: HttpRequest, pk: int) -> HttpResponse:
    client = _client(request, pk)
    form = WebhookForm(request.POST)
    if form.is_valid():
        created = attempt(
            form, webhook_create, actor=request.user, client=client, **form.cleaned_data
        )
        if created is not None:
            webhook, secret = created
            return _page(request, client, new_secret=secret, new_webhook=webhook)
    return _page(request, client, 400, form=form)


@require_POST
@login_required
def webhook_remove(request: HttpRequest, pk: int, webhook_pk: int) -> HttpResponse:
    client = _client(request, pk)
    webhook = get_object_or_404(Webhook, pk=webhook_pk, client=client)
    webhook_delete(actor=request.user, webhook=webhook)
    messages.success(request, f"Deleted the webhook to {webhook.url}.")
    return redirect("portal:webhooks", client.pk)


@require_POST
@login_required
def webhook_test(request: HttpRequest, pk: int, webhook_pk: int) -> HttpResponse:
    client = _client(request, pk)
    webhook = get_object_or_404(Webhook, pk=webhook_pk, client=client)
    webhook_ping(actor=request.user, webhook=webhook)
    messages.success(request, f"Sent a ping to {webhook.url}. Its outcome shows below shortly.")
    return redirect("portal:webhooks", client.pk)
