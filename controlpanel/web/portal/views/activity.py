"""A client's activity: its audit log in the portal, filterable, for those who may read it
(owners; Action.VIEW_AUDIT), with the same rows as the API's list and CSV export."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from controlpanel.core.audit_export import audit_events_filter, audit_events_for_user
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


@login_required
def activity(request: HttpRequest, pk: int) -> HttpResponse:
    client = scoped_or_404(request, Client.objects.all(), pk=pk)
    if not can(request.user, Action.VIEW_AUDIT, client):
        raise PermissionDenied("Only the client's owners may read its activity.")
    form = ActivityFilterForm(request.GET or None)
    events = audit_events_for_user(request.user).filter(client=client)
    if form.is_valid():
        events = audit_events_filter(events, **form.cleaned_data)
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
