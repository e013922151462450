"""Staff tabs that list rows a page at a time under a filter form."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from controlpanel.web.forms import Form

PAGE_SIZE = 50


def render_filtered_page(
    request: HttpRequest, page: Page[Any], form: Form, tab: str, *, nav_section: str = "staff"
) -> HttpResponse:
    """`page` on the staff tab `tab` (template `staff/<tab>.html`) with its filter form; the
    pager's links keep the filters."""
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "nav_section": nav_section,
        "staff_tab": tab,
    }
    return render(request, f"staff/{tab}.html", context)
