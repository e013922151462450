"""Forms of the staff console."""

from __future__ import annotations

from django import forms
from django.db.models import Q

from billing.models import ClusterCostItem
from clusters.models import Cluster, NodePool, NodeSize, Provider
from controlpanel.core.models import Client
from controlpanel.core.roles import ClientRole, StaffRole
from controlpanel.core.validators import validate_dns_label
from controlpanel.web.forms import Form, LongSelect, WriteOnlyTextarea
from sites import validators as v
from sites.models import Environment, SiteKind, Tier


class ClientForm(Form):
    name = forms.CharField(max_length=120)
    # The model's validator here too: all errors in one round (issue 17.8).
    slug = forms.CharField(
        max_length=63,
        help_text="Lower-case letters, digits and hyphens; part of namespace names.",
        validators=[validate_dns_label],
    )
    billing_email = forms.EmailField(label="Billing email")
    markup_percent = forms.DecimalField(
        label="Markup (%)", max_digits=6, decimal_places=2, initial=0, min_value=0
    )


class ClientEditForm(ClientForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["slug"]


class SiteForm(Form):
    name = forms.CharField(max_length=120)
    slug = forms.CharField(max_length=63)
    kind = forms.ChoiceField(choices=SiteKind.choices)
    repository_url = forms.CharField(label="Git repository", max_length=500, required=False)
    image_repository = forms.CharField(label="Image repository", max_length=255, required=False)


class EnvironmentForm(Form):
    site = forms.ModelChoiceField(queryset=None)
    name = forms.CharField(max_length=60)
    slug = forms.CharField(max_length=63)
    tier = forms.ChoiceField(choices=Tier.choices)
    cluster = forms.ModelChoiceField(queryset=Cluster.objects.order_by("name"))
    node_pool = forms.ModelChoiceField(
        queryset=NodePool.objects.select_related("cluster").order_by("cluster__name", "name"),
        required=False,
    )

    def __init__(self, *args, client: Client, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = client.sites.order_by("name")
        # Offer only pools this client may use: shared ones and its own dedicated ones
        # (another client's dedicated pool is refused on submit; never suggest it).
        self.fields["node_pool"].queryset = (
            NodePool.objects.select_related("cluster")
            .filter(Q(dedicated_client__isnull=True) | Q(dedicated_client=client))
            .order_by("cluster__name", "name")
        )


class InviteUserForm(Form):
    email = forms.EmailField(label="Email address")
    full_name = forms.CharField(label="Name", max_length=150, required=False)
    client = forms.ModelChoiceField(
        queryset=Client.objects.order_by("name"),
        required=False,
        empty_label="— agency staff (no client) —",
        help_text="A client makes them a client user; leave empty to invite agency staff.",
    )
    role = forms.ChoiceField(
        label="Client role", choices=[("", "—"), *ClientRole.choices], required=False
    )
    staff_role = forms.ChoiceField(
        label="Staff role", choices=[("", "—"), *StaffRole.choices], required=False
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("client") and not data.get("role"):
            self.add_error("role", "Choose the role they have in the client.")
        if not data.get("client") and not data.get("staff_role"):
            self.add_error("staff_role", "Choose a staff role, or a client and a role.")
        if data.get("client") and data.get("staff_role"):
            self.add_error("staff_role", "A person is either agency staff or a client user.")
        return data


class ClusterForm(Form):
    """Every editable cluster field; secrets are write-only (blank keeps the stored value
    when editing)."""

    name = forms.CharField(max_length=120)
    slug = forms.CharField(max_length=63)
    provider = forms.ChoiceField(choices=Provider.choices)
    region = forms.CharField(max_length=64, required=False)
    kubeconfig = forms.CharField(
        label="Kubeconfig",
        widget=WriteOnlyTextarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
        help_text="Of Hangar's service account (docs/cluster-access.md). Write-only: never shown "
        "again.",
        strip=False,
    )
    ingress_class = forms.CharField(max_length=63, initial="nginx")
    ingress_namespace = forms.CharField(max_length=63, initial="ingress-nginx")
    cert_manager_issuer = forms.CharField(
        label="cert-manager ClusterIssuer", max_length=253, initial="letsencrypt"
    )
    storage_endpoint = forms.URLField(
        label="Object storage endpoint", required=False, assume_scheme="https"
    )
    storage_region = forms.CharField(label="Object storage region", max_length=64, required=False)
    storage_bucket = forms.CharField(label="Object storage bucket", max_length=63, required=False)
    storage_addressing_style = forms.ChoiceField(
        label="Object storage addressing",
        choices=Cluster._meta.get_field("storage_addressing_style").choices,
        initial="virtual",
        required=False,
    )
    storage_access_key = forms.CharField(
        label="Object storage access key",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    storage_secret_key = forms.CharField(
        label="Object storage secret key",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    db_host = forms.CharField(label="Database server host", max_length=253, required=False)
    db_port = forms.IntegerField(label="Database server port", initial=3306)
    db_admin_user = forms.CharField(label="Database admin user", max_length=80, required=False)
    db_admin_password = forms.CharField(
        label="Database admin password",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    provision_data = forms.BooleanField(
        label="Provision databases and storage (enables backups)",
        required=False,
        help_text=Cluster._meta.get_field("provision_data").help_text,
    )
    max_concurrent_operations = forms.IntegerField(
        label="Operations at once", initial=4, min_value=1, max_value=50
    )
    is_sandbox = forms.BooleanField(
        label="Sandbox (an emulator; runs no real sites)", required=False
    )

    def __init__(self, *args, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["slug"]
            self.fields["kubeconfig"].required = False
            self.fields["kubeconfig"].help_text = "Write-only. Leave blank to keep the stored one."
            for name in ("storage_access_key", "storage_secret_key", "db_admin_password"):
                self.fields[name].help_text = "Write-only. Leave blank to keep the stored value."


class NodeSizeForm(Form):
    provider = forms.ChoiceField(choices=Provider.choices)
    slug = forms.CharField(max_length=63, help_text="The provider's name, e.g. s-2vcpu-4gb")
    vcpu = forms.IntegerField(label="vCPU", min_value=1)
    memory_mib = forms.IntegerField(label="Memory (MiB)", min_value=256)
    disk_gib = forms.IntegerField(label="Disk (GiB)", min_value=0, initial=0)
    description = forms.CharField(max_length=120, required=False)


class NodePriceForm(Form):
    size = forms.ModelChoiceField(queryset=NodeSize.objects.order_by("provider", "slug"))
    monthly_price = forms.DecimalField(label="Monthly price", max_digits=10, decimal_places=2)
    effective_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))


class FleetForm(Form):
    image = forms.CharField(
        max_length=v.MAX_IMAGE_REFERENCE_LENGTH,
        help_text="Deployed to every matching provisioned environment.",
    )
    site_kind = forms.ChoiceField(
        label="Site kind", choices=[("", "any"), *SiteKind.choices], required=False
    )
    client = forms.ModelChoiceField(
        queryset=Client.objects.order_by("name"), required=False, empty_label="any"
    )
    cluster = forms.ModelChoiceField(
        queryset=Cluster.objects.order_by("name"), required=False, empty_label="any"
    )
    environment_slug = forms.CharField(
        label="Environment slug", max_length=63, required=False, help_text="e.g. staging"
    )


class AuditFilterForm(Form):
    client = forms.ModelChoiceField(
        queryset=Client.objects.order_by("name"), required=False, empty_label="any client"
    )
    actor = forms.CharField(label="Who", required=False)
    action = forms.CharField(label="Action", required=False, help_text="e.g. environment.deploy")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class OperationFilterForm(Form):
    status = forms.ChoiceField(required=False, choices=[("", "any status")])
    kind = forms.CharField(required=False)
    client = forms.ModelChoiceField(
        queryset=Client.objects.order_by("name"), required=False, empty_label="any client"
    )
    cluster = forms.ModelChoiceField(
        queryset=Cluster.objects.order_by("name"), required=False, empty_label="any cluster"
    )

    def __init__(self, *args, **kwargs) -> None:
        from clusters.models import Operation

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "any status"), *Operation.Status.choices]


class EnvironmentFilterForm(Form):
    """The staff dashboard's filters; every one optional."""

    HEALTH_CHOICES = [
        ("", "any health"),
        ("healthy", "Healthy"),
        ("changing", "Changing"),
        ("degraded", "Needs attention"),
        ("unknown", "Not deployed"),
    ]

    search = forms.CharField(
        required=False, max_length=200, help_text="Name, namespace, client or domain."
    )
    client = forms.ModelChoiceField(
        queryset=Client.objects.only("pk", "name").order_by("name"),
        required=False,
        empty_label="any client",
        widget=LongSelect,
    )
    cluster = forms.ModelChoiceField(
        queryset=Cluster.objects.only("pk", "name", "is_sandbox").order_by("name"),
        required=False,
        empty_label="any cluster",
    )
    tier = forms.ChoiceField(
        label="Environment", required=False, choices=[("", "any environment"), *Tier.choices]
    )
    site_kind = forms.ChoiceField(
        label="Site kind", required=False, choices=[("", "any kind"), *SiteKind.choices]
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "any status"), *Environment.Status.choices]
    )
    health = forms.ChoiceField(required=False, choices=HEALTH_CHOICES)


class ClusterCostItemForm(Form):
    cluster = forms.ModelChoiceField(queryset=Cluster.objects.order_by("name"))
    kind = forms.ChoiceField(choices=ClusterCostItem.Kind.choices)
    name = forms.CharField(max_length=120, help_text="e.g. ingress load balancer")
    monthly_price = forms.DecimalField(label="Monthly price", max_digits=10, decimal_places=2)
    effective_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        label="Last day",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty while it runs.",
    )


class CostItemEndForm(Form):
    ends_on = forms.DateField(label="Last day", widget=forms.DateInput(attrs={"type": "date"}))


class InvoiceVoidForm(Form):
    reason = forms.CharField(
        label="Why is it void?", max_length=255, help_text="The client sees this reason."
    )


class InvoiceEmailForm(Form):
    to = forms.EmailField(
        label="Send to", required=False, help_text="Empty: the client's invoice address."
    )
