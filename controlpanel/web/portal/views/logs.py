"""The logs viewer: the recent log of every web pod, refreshed by htmx while following."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clusters.kube.errors import KubeError
from controlpanel.web.portal.forms import LogsForm
from controlpanel.web.portal.views.base import render_environment
from controlpanel.web.shortcuts import environment_or_404
from sites.models import Environment
from sites.selectors import environment_logs


@login_required
def logs(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    form = LogsForm(request.GET or None, initial={"container": "web", "tail_lines": 200})
    if not environment.varnish_enabled:
        form.fields["container"].choices = [("web", "web")]
    return render_environment(
        request, environment, "logs", "portal/environment/logs.html", {"form": form}
    )


@login_required
def logs_tail(request: HttpRequest, pk: int) -> HttpResponse:
    """The log text (a fragment). With `follow`, the fragment asks to be fetched again."""
    environment = environment_or_404(request, pk)
    form = LogsForm(request.GET)
    pods, problem = [], ""
    follow = False
    if not form.is_valid():
        problem = "Choose a container and a number of lines."
    elif environment.status == Environment.Status.NEW:
        problem = "This environment is not provisioned yet: there are no pods."
    else:
        follow = form.cleaned_data["follow"]
        try:
            pods = environment_logs(
                actor=request.user,
                environment=environment,
                container=form.cleaned_data["container"],
                tail_lines=form.cleaned_data["tail_lines"],
            )
        except ValidationError as exc:
            problem = " ".join(exc.messages)
        except KubeError as exc:
            problem = f"Could not read the logs from the cluster: {exc.message}"
        except Exception:
            problem = "Could not read the logs from the cluster. Try again in a moment."
    context = {
        "environment": environment,
        "pods": pods,
        "problem": problem,
        "follow": follow,
        "query": request.GET.urlencode(),
    }
    return render(request, "portal/environment/_logs.html", context)
