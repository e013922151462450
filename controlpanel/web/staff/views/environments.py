"""The staff dashboard, where agency staff land: every client's environments, a page at a
time, filtered by client, cluster, environment, site kind, status, health or a search."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse

from controlpanel.web.portal.selectors import health
from controlpanel.web.staff.access import staff_required
from controlpanel.web.staff.forms import EnvironmentFilterForm
from controlpanel.web.staff.pages import PAGE_SIZE, render_filtered_page
from controlpanel.web.staff.selectors import environments_at_a_glance, environments_for_staff


@staff_required
def environments(request: HttpRequest) -> HttpResponse:
    form = EnvironmentFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    matching = environments_for_staff(**filters).values_list("pk", flat=True)
    page = Paginator(matching, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = environments_at_a_glance(list(page.object_list))
    for environment in rows:
        environment.health = health(environment)  # type: ignore[attr-defined]
    page.object_list = rows  # type: ignore[assignment]
    return render_filtered_page(request, page, form, "environments", nav_section="dashboard")
