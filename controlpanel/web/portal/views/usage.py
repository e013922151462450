"""What an environment uses: pods, CPU and memory requested and really used, over the last
days, as usage sampling recorded them (used: from the cluster's metrics API where it serves
one). For everyone who may see the environment: these are not money."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from billing.selectors import environment_usage
from controlpanel.web.charts import Series, chart
from controlpanel.web.portal.views.base import render_environment
from controlpanel.web.shortcuts import environment_or_404

DAYS = 7


def _cores(millicores: float) -> str:
    return f"{float(millicores) / 1000:g}"


def _mib(mib: float) -> str:
    return f"{float(mib):,.0f}"


@login_required
def usage(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    samples = environment_usage(actor=request.user, environment=environment, days=DAYS)
    labels = [timezone.localtime(s.taken_at).strftime("%d %b %H:%M") for s in samples]
    measured = any(s.cpu_used_millicores is not None for s in samples)
    cpu = chart(
        id="cpu-use",
        title=f"CPU of {environment.name}, last {DAYS} days (cores)",
        labels=labels,
        series=[
            Series("Requested", [s.cpu_millicores for s in samples], "line", "chart-series-1"),
            Series("Used", [s.cpu_used_millicores for s in samples], "line", "chart-series-3"),
        ],
        fmt=_cores,
    )
    memory = chart(
        id="memory-use",
        title=f"Memory of {environment.name}, last {DAYS} days (MiB)",
        labels=labels,
        series=[
            Series("Requested", [s.memory_mib for s in samples], "line", "chart-series-1"),
            Series("Used", [s.memory_used_mib for s in samples], "line", "chart-series-3"),
        ],
        fmt=_mib,
    )
    context = {
        "samples": samples,
        "latest": samples[-1] if samples else None,
        "measured": measured,
        "cpu_chart": cpu,
        "memory_chart": memory,
        "days": DAYS,
    }
    return render_environment(
        request, environment, "usage", "portal/environment/usage.html", context
    )
