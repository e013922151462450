"""An environment's variables. Secret values are write-only: they never reach a page, not
even the form that replaces them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from controlpanel.core.permissions import Action, require
from controlpanel.web.portal.forms import SecretValueForm, VariableForm
from controlpanel.web.portal.views.base import render_editable_list
from controlpanel.web.shortcuts import attempt, environment_or_404
from sites import services
from sites.models import Environment, EnvVar


def _page(
    request: HttpRequest,
    environment: Environment,
    form=None,
    editing: EnvVar | None = None,
    edit_form=None,
) -> HttpResponse:
    # Only what a page may show: a secret's value stays in the database.
    variables = list(environment.env_vars.defer("value").order_by("key"))
    plain = dict(environment.env_vars.filter(is_secret=False).values_list("pk", "value"))
    for variable in variables:
        variable.shown_value = plain.get(variable.pk)
    return render_editable_list(
        request,
        environment,
        "variables",
        {"variables": variables},
        form_class=VariableForm,
        form=form,
        editing=editing,
        edit_form=edit_form,
    )


@login_required
def variables(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, environment_or_404(request, pk))


@require_POST
@login_required
def variable_set(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    form = VariableForm(request.POST)
    if form.is_valid():
        variable = attempt(
            form,
            services.env_var_set,
            actor=request.user,
            environment=environment,
            **form.cleaned_data,
        )
        if variable is not None:
            messages.success(
                request,
                f"Saved {variable.key}. It reaches the pods with the next configuration "
                "apply, which has been queued.",
            )
            return redirect("portal:variables", environment.pk)
    if form.data.get("is_secret"):
        # Shown again with errors: a secret value is not sent back to the browser.
        form.data = form.data.copy()
        form.data["value"] = ""
    return _page(request, environment, form=form)


@login_required
def variable_edit(request: HttpRequest, pk: int, variable_pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    variable = get_object_or_404(EnvVar, pk=variable_pk, environment=environment)
    require(request.user, Action.MANAGE_ENV_VARS, environment.site.client)
    if variable.is_secret:
        form = SecretValueForm(request.POST or None)
    else:
        form = VariableForm(
            request.POST or None,
            initial={"key": variable.key, "value": variable.value, "is_secret": False},
        )
        form.fields["key"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = attempt(
            form,
            services.env_var_set,
            actor=request.user,
            environment=environment,
            key=variable.key,
            value=data["value"],
            is_secret=variable.is_secret or data.get("is_secret", False),
        )
        if saved is not None:
            messages.success(request, f"Saved {variable.key}.")
            return redirect("portal:variables", environment.pk)
    return _page(request, environment, editing=variable, edit_form=form)


@require_POST
@login_required
def variable_delete(request: HttpRequest, pk: int, variable_pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    variable = get_object_or_404(EnvVar, pk=variable_pk, environment=environment)
    services.env_var_delete(actor=request.user, variable=variable)
    messages.success(request, f"Deleted {variable.key}.")
    return redirect("portal:variables", environment.pk)
