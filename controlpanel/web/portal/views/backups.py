"""Backups of an environment: take one, restore one into this or another environment of
the site (typing the target's name back), check that one restores, download one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from controlpanel.web.forms import Form
from controlpanel.web.portal.views.base import render_environment
from controlpanel.web.shortcuts import attempt, environment_or_404
from sites.backups import services as backup_services
from sites.backups.retention import Policy, retention_words
from sites.models import Backup, BackupSchedule, Environment

BACKUPS_SHOWN = 30


class RestoreForm(Form):
    target = forms.TypedChoiceField(label="Restore into", coerce=int)
    confirm = forms.CharField(
        label="Type the target environment's name to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    confirm_empty = forms.BooleanField(
        label="The backup holds an empty database: empty the target's too",
        required=False,
    )

    def __init__(self, *args, targets: list[Environment], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.targets = {env.pk: env for env in targets}
        self.fields["target"].choices = [
            (env.pk, f"{env.name} ({env.get_tier_display().lower()})") for env in targets
        ]

    def clean(self) -> dict:
        data = super().clean()
        target = self.targets.get(data.get("target"))
        if target is not None and data.get("confirm") != target.name:
            self.add_error(
                "confirm",
                f"Type {target.name} exactly: its database and files are replaced by the backup's.",
            )
        return data


class ScheduleForm(Form):
    schedule = forms.CharField(
        label="When (cron, agency time zone; H spreads the minute or hour)", max_length=120
    )
    enabled = forms.BooleanField(label="Scheduled backups on", required=False)
    keep_daily = forms.IntegerField(label="Keep daily", min_value=0, max_value=366)
    keep_weekly = forms.IntegerField(label="Keep weekly", min_value=0, max_value=520)
    keep_monthly = forms.IntegerField(label="Keep monthly", min_value=0, max_value=240)
    pre_deploy = forms.BooleanField(label="Back up before deploys", required=False)
    verify_restore = forms.BooleanField(label="Weekly restore check", required=False)


def _schedule_initial(environment: Environment) -> dict:
    schedule = BackupSchedule.objects.filter(environment=environment).first()
    if schedule is None:
        schedule = BackupSchedule(environment=environment)
    return {name: getattr(schedule, name) for name in backup_services.SCHEDULE_FIELDS}


def _backup(environment: Environment, pk: int) -> Backup:
    return get_object_or_404(Backup, pk=pk, site=environment.site)


def _page(request: HttpRequest, environment: Environment, status: int = 200, **extra):
    backups = list(
        Backup.objects.filter(environment=environment)
        .select_related("created_by", "site__client")
        .order_by("-taken_at", "-pk")[:BACKUPS_SHOWN]
    )
    for backup in backups:
        backup.downloadable = backup_services.can_download(request.user, backup)
    initial = _schedule_initial(environment)
    schedule_form = extra.pop("schedule_form", None) or ScheduleForm(initial=initial)
    policy = Policy(initial["keep_daily"], initial["keep_weekly"], initial["keep_monthly"])
    context = {
        "backups": backups,
        "may_check": True,
        "schedule_form": schedule_form,
        "schedule": BackupSchedule.objects.filter(environment=environment).first(),
        "retention_words": retention_words(policy),
    } | extra
    return render_environment(
        request, environment, "backups", "portal/environment/backups.html", context, status
    )


@login_required
def backups(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, environment_or_404(request, pk))


@require_POST
@login_required
def backup_now(request: HttpRequest, pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    form = Form()
    operation = attempt(
        form, backup_services.backup_create, actor=request.user, environment=environment
    )
    if operation is None:
        for error in form.non_field_errors():
            messages.error(request, error)
        return redirect("portal:backups", environment.pk)
    messages.success(
        request, "Backing up: database dump and files, verified before the backup counts."
    )
    return redirect("portal:operation", operation.pk)


def _targets(environment: Environment) -> list[Environment]:
    return list(
        Environment.objects.filter(site=environment.site)
        .select_related("site__client", "cluster")
        .order_by("created_at")
    )


@login_required
def backup_restore(request: HttpRequest, pk: int, backup_pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    backup = _backup(environment, backup_pk)
    targets = _targets(environment)
    form = RestoreForm(request.POST or None, targets=targets, initial={"target": environment.pk})
    if request.method == "POST" and form.is_valid():
        target = form.targets[form.cleaned_data["target"]]
        operation = attempt(
            form,
            backup_services.backup_restore,
            actor=request.user,
            backup=backup,
            target=target,
            confirm_empty=form.cleaned_data["confirm_empty"],
        )
        if operation is not None:
            messages.warning(
                request,
                f"Restoring the backup of {backup.taken_at:%Y-%m-%d %H:%M} into {target.name}. "
                "A safety backup of it is taken first and put back if the restore fails.",
            )
            return redirect("portal:operation", operation.pk)
    return _page(
        request,
        environment,
        400 if form.is_bound else 200,
        restoring=backup,
        restore_form=form,
    )


@login_required
def backup_download(request: HttpRequest, pk: int, backup_pk: int) -> HttpResponse:
    """A short-lived link to the dump: the browser is sent there."""
    environment = environment_or_404(request, pk)
    backup = _backup(environment, backup_pk)
    try:
        url = backup_services.backup_download_url(actor=request.user, backup=backup)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("portal:backups", environment.pk)
    return redirect(url)


@require_POST
@login_required
def backup_check(request: HttpRequest, pk: int, backup_pk: int) -> HttpResponse:
    environment = environment_or_404(request, pk)
    backup = _backup(environment, backup_pk)
    form = Form()
    operation = attempt(
        form,
        backup_services.backup_check_restore,
        actor=request.user,
        environment=environment,
        backup=backup,
    )
    if operation is None:
        for error in form.non_field_errors():
            messages.error(request, error)
        return redirect("portal:backups", environment.pk)
    messages.success(request, "Checking that the backup restores, in a scratch database.")
    return redirect("portal:operation", operation.pk)


@require_POST
@login_required
def backup_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Create or change the environment's backup schedule and retention."""
    environment = environment_or_404(request, pk)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        done = attempt(
            form,
            backup_services.backup_schedule_set,
            actor=request.user,
            environment=environment,
            **form.cleaned_data,
        )
        if done is not None:
            messages.success(request, "Backup schedule saved; the CronJob follows.")
            return redirect("portal:backups", environment.pk)
    return _page(request, environment, 400, schedule_form=form)
