"""Forms of the client portal. Field names follow the services' keyword arguments, so
their field-keyed errors land next to the right field."""

from __future__ import annotations

from django import forms

from controlpanel.core.events import EVENTS
from controlpanel.core.roles import ClientRole
from controlpanel.integrations.models import Scope
from controlpanel.web.forms import Form
from sites import validators as v
from sites.selectors import CONTAINERS, MAX_TAIL_LINES


class DeployForm(Form):
    image = forms.CharField(
        label="Image",
        max_length=v.MAX_IMAGE_REFERENCE_LENGTH,
        help_text="A reference with a tag or digest, e.g. registry.example.com/acme/web:1.4.2",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )


class PromoteForm(Form):
    source = forms.TypedChoiceField(label="Promote what runs in", coerce=int)

    def __init__(self, *args, siblings, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # No default: which environment's image replaces this one's is always a choice.
        self.fields["source"].choices = [("", "Choose an environment…")] + [
            (env.pk, f"{env.name} ({env.image or 'nothing deployed'})") for env in siblings
        ]
        self.fields["source"].error_messages["required"] = (
            "Choose the environment whose image to promote."
        )


class ScaleForm(Form):
    replicas = forms.IntegerField(label="Replicas", min_value=0, max_value=v.MAX_REPLICAS)


class AutoscaleForm(Form):
    enabled = forms.BooleanField(label="Scale automatically with load", required=False)
    autoscale_min = forms.IntegerField(
        label="Minimum replicas", min_value=1, max_value=v.MAX_REPLICAS
    )
    autoscale_max = forms.IntegerField(
        label="Maximum replicas", min_value=1, max_value=v.MAX_REPLICAS
    )
    autoscale_cpu_target = forms.IntegerField(
        label="Target CPU use (%)", min_value=v.CPU_TARGET_MIN, max_value=v.CPU_TARGET_MAX
    )


class DomainForm(Form):
    hostname = forms.CharField(
        label="Hostname",
        max_length=253,
        widget=forms.TextInput(attrs={"spellcheck": "false", "placeholder": "www.example.com"}),
    )
    is_primary = forms.BooleanField(label="Primary domain", required=False)
    tls_enabled = forms.BooleanField(label="TLS certificate (HTTPS)", required=False, initial=True)


class VariableForm(Form):
    key = forms.CharField(
        label="Name", max_length=128, widget=forms.TextInput(attrs={"spellcheck": "false"})
    )
    value = forms.CharField(
        label="Value",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off"}),
    )
    is_secret = forms.BooleanField(label="Secret (write-only: never shown again)", required=False)


class SecretValueForm(Form):
    """Replacing a secret's value: the field starts empty, the old value is never sent."""

    value = forms.CharField(
        label="New value",
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class CronForm(Form):
    # The service's own validators on the fields too, so that every field's error shows
    # in one round (a bad name next to a missing schedule), not after the others are fixed.
    name = forms.CharField(
        label="Name",
        max_length=v.CRON_NAME_MAX,
        help_text="Lower-case letters, digits and hyphens.",
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
        validators=[v.validate_cron_name],
    )
    schedule = forms.CharField(
        label="Schedule",
        max_length=120,
        validators=[v.validate_cron_schedule],
        help_text="Five cron fields (minute hour day month weekday); H spreads a minute or hour.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "placeholder": "H/15 * * * *"}),
    )
    command = forms.CharField(
        label="Command",
        max_length=v.MAX_COMMAND_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text="Runs with /bin/sh -c in the environment's own image.",
        validators=[v.validate_command],
    )
    timeout_seconds = forms.IntegerField(
        label="Timeout (seconds)",
        min_value=v.TIMEOUT_MIN_SECONDS,
        max_value=v.TIMEOUT_MAX_SECONDS,
        initial=3600,
    )
    suspended = forms.BooleanField(label="Suspended", required=False)


class CronEditForm(CronForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["name"]


class LogsForm(Form):
    container = forms.ChoiceField(label="Container", choices=[(c, c) for c in CONTAINERS])
    tail_lines = forms.TypedChoiceField(
        label="Lines",
        coerce=int,
        choices=[(n, n) for n in (50, 200, 1000, MAX_TAIL_LINES)],
        initial=200,
    )
    follow = forms.BooleanField(label="Follow (refresh every 2 seconds)", required=False)
    timestamps = forms.BooleanField(label="Timestamps", required=False, initial=True)
    search = forms.CharField(label="Search", required=False, max_length=200)


class CommandForm(Form):
    command = forms.CharField(
        label="Command",
        max_length=v.MAX_COMMAND_LENGTH,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    timeout = forms.IntegerField(
        label="Timeout (seconds)",
        min_value=v.TIMEOUT_MIN_SECONDS,
        max_value=v.TIMEOUT_MAX_SECONDS,
        initial=3600,
    )


class InviteForm(Form):
    email = forms.EmailField(label="Email address")
    full_name = forms.CharField(label="Name", max_length=150, required=False)
    role = forms.ChoiceField(label="Role", choices=ClientRole.choices, initial=ClientRole.DEVELOPER)


class RoleForm(Form):
    role = forms.ChoiceField(label="Role", choices=ClientRole.choices)


class TokenForm(Form):
    name = forms.CharField(label="Name", max_length=100, help_text="What uses it, e.g. 'CI'.")
    scopes = forms.MultipleChoiceField(
        label="Scopes", choices=[], widget=forms.CheckboxSelectMultiple
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        coerce=int,
        choices=[(30, "in 30 days"), (90, "in 90 days"), (365, "in a year"), (0, "never")],
        initial=90,
    )

    password = forms.CharField(
        label="Your current password (for the admin scope)",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, staff: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [
            (value, label) for value, label in Scope.choices if staff or value != Scope.ADMIN
        ]
        if not staff:
            del self.fields["password"]


class DeployTokenForm(Form):
    name = forms.CharField(label="Name", max_length=100, help_text="e.g. 'GitLab CI'")


class WebhookForm(Form):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label="Events", choices=[(e, e) for e in EVENTS], widget=forms.CheckboxSelectMultiple
    )


class PreviewSettingsForm(Form):
    enabled = forms.BooleanField(label="Let CI create previews of this site", required=False)
    max_alive = forms.IntegerField(
        label="Previews alive at once", min_value=1, max_value=50, initial=3
    )
    ttl_days = forms.IntegerField(
        label="Time to live (days)",
        min_value=1,
        max_value=90,
        initial=7,
        help_text="A preview is destroyed this many days after its last deploy.",
    )
    data_source = forms.ChoiceField(label="Data", initial="staging")
    host_pattern = forms.CharField(
        label="Host names",
        max_length=253,
        help_text="{branch} becomes the branch's slug, e.g. {branch}.preview.example.com",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        from sites.previews.models import PreviewData

        super().__init__(*args, **kwargs)
        self.fields["data_source"].choices = PreviewData.choices
