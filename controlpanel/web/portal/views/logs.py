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

LAST_CHOICE = "logs_choice"


@login_required
def logs(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    # The last choice (container, lines, timestamps, search) is kept for the next visit.
    query = request.GET or request.session.get(LAST_CHOICE)
    form = LogsForm(query or None, initial={"container": "web", "tail_lines": 200})
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
                timestamps=form.cleaned_data["timestamps"],
                search=form.cleaned_data["search"],
            )
            request.session[LAST_CHOICE] = {
                k: v for k, v in request.GET.items() if k in form.fields and k != "follow"
            }
        except ValidationError as exc:
            problem = " ".join(exc.messages)
        except KubeError as exc:
            problem = f"Could not read the logs from the cluster: {exc.message}"
        except Exception:
            problem = "Could not read the logs from the cluster. Try again in a moment."
    if request.GET.get("download") and pods and not problem:
        # The range shown, as a file: one section per pod.
        text = "".join(
            f"==> {pod.pod} ({pod.container}) <==\n{pod.text or pod.unavailable + chr(10)}\n"
            for pod in pods
        )
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{environment.namespace}-{form.cleaned_data["container"]}.log"'
        )
        return response
    context = {
        "environment": environment,
        "pods": pods,
        "problem": problem,
        "follow": follow,
        "query": request.GET.urlencode(),
    }
    return render(request, "portal/environment/_logs.html", context)
