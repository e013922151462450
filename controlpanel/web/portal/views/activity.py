"""A client's activity: its audit log in the portal, filterable, for those who may read it
(owners; Action.VIEW_AUDIT), with the same rows as the API's list and CSV export."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from controlpanel.core.audit_export import audit_events_for_user
from controlpanel.core.models import Client
from controlpanel.core.permissions import Action, can
from controlpanel.web.forms import Form
from controlpanel.web.shortcuts import scoped_or_404

PAGE_SIZE = 50


class ActivityFilterForm(Form):
    actor = forms.CharField(label="Who", required=False)
    action = forms.CharField(
        label="What", required=False, help_text="An action (environment.deploy) or a target."
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@login_required
def activity(request: HttpRequest, pk: int) -> HttpResponse:
    client = scoped_or_404(request, Client.objects.all(), pk=pk)
    if not can(request.user, Action.VIEW_AUDIT, client):
        raise PermissionDenied("Only the client's owners may read its activity.")
    form = ActivityFilterForm(request.GET or None)
    events = audit_events_for_user(request.user).filter(client=client)
    if form.is_valid():
        data = form.cleaned_data
        if data["actor"]:
            events = events.filter(actor_label__icontains=data["actor"])
        if data["action"]:
            events = events.filter(
                Q(action__startswith=data["action"]) | Q(target_label__icontains=data["action"])
            )
        if data["since"]:
            events = events.filter(created_at__gte=_day_start(data["since"]))
        if data["until"]:
            events = events.filter(created_at__lt=_day_start(data["until"]) + timedelta(days=1))
    page = Paginator(events.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "client": client,
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "nav_client_id": client.pk,
    }
    return render(request, "portal/activity.html", context)
