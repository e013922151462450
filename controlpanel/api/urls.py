from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from controlpanel.api.views.backups import BackupViewSet
from controlpanel.api.views.billing import EstimateViewSet, InvoiceViewSet
from controlpanel.api.views.docs import RedocView, SwaggerView
from controlpanel.api.views.environments import EnvironmentViewSet
from controlpanel.api.views.fleet import FleetDeployViewSet
from controlpanel.api.views.infrastructure import (
    AuditEventViewSet,
    ClusterViewSet,
    NodePoolViewSet,
    NodeSizeViewSet,
)
from controlpanel.api.views.local import (
    EnvironmentFilesScriptView,
    EnvironmentLocalView,
    EnvironmentLocalZipView,
    SiteSanitizeRulesView,
)
from controlpanel.api.views.mail import (
    ClientMailRelayView,
    EnvironmentMailView,
    EnvironmentTestMailView,
)
from controlpanel.api.views.operations import OperationViewSet
from controlpanel.api.views.previews import (
    PreviewListView,
    PreviewSettingsView,
    PreviewTokenView,
    PreviewView,
)
from controlpanel.api.views.resources import (
    ClientViewSet,
    CronViewSet,
    DomainViewSet,
    EnvVarViewSet,
    MembershipViewSet,
    SiteViewSet,
)
from controlpanel.api.views.tokens import TokenViewSet
from controlpanel.api.views.webhooks import WebhookViewSet

app_name = "api"

router = DefaultRouter()
router.register("clients", ClientViewSet, basename="client")
router.register("memberships", MembershipViewSet, basename="membership")
router.register("sites", SiteViewSet, basename="site")
router.register("environments", EnvironmentViewSet, basename="environment")
router.register("domains", DomainViewSet, basename="domain")
router.register("variables", EnvVarViewSet, basename="variable")
router.register("cron", CronViewSet, basename="cron")
router.register("operations", OperationViewSet, basename="operation")
router.register("clusters", ClusterViewSet, basename="cluster")
router.register("node-pools", NodePoolViewSet, basename="nodepool")
router.register("node-sizes", NodeSizeViewSet, basename="nodesize")
router.register("audit-events", AuditEventViewSet, basename="auditevent")
router.register("tokens", TokenViewSet, basename="token")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("fleet-deploys", FleetDeployViewSet, basename="fleetdeploy")
router.register("backups", BackupViewSet, basename="backup")
router.register("invoices", InvoiceViewSet, basename="invoice")
router.register("estimates", EstimateViewSet, basename="estimate")

urlpatterns = [
    # Before the router, whose format-suffix routes would otherwise take ".csv".
    path(
        "v1/audit-events/export.csv",
        AuditEventViewSet.as_view({"get": "export"}),
        name="auditevent-export",
    ),
    path("v1/clients/<str:pk>/mail-relay/", ClientMailRelayView.as_view(), name="client-mail"),
    path("v1/environments/<str:pk>/mail/", EnvironmentMailView.as_view(), name="environment-mail"),
    path(
        "v1/environments/<str:pk>/test-mail/",
        EnvironmentTestMailView.as_view(),
        name="environment-test-mail",
    ),
    path(
        "v1/environments/<str:pk>/local/", EnvironmentLocalView.as_view(), name="environment-local"
    ),
    path(
        "v1/environments/<str:pk>/local.zip",
        EnvironmentLocalZipView.as_view(),
        name="environment-local-zip",
    ),
    path(
        "v1/environments/<str:pk>/files.sh",
        EnvironmentFilesScriptView.as_view(),
        name="environment-files-script",
    ),
    path(
        "v1/sites/<str:pk>/sanitize-rules/",
        SiteSanitizeRulesView.as_view(),
        name="site-sanitize-rules",
    ),
    path("v1/sites/<str:pk>/previews/", PreviewListView.as_view(), name="site-previews"),
    # Branch names may hold slashes (feature/x): the rest of the path is the branch.
    path("v1/sites/<str:pk>/previews/<path:branch>/", PreviewView.as_view(), name="site-preview"),
    path(
        "v1/sites/<str:pk>/preview-settings/",
        PreviewSettingsView.as_view(),
        name="site-preview-settings",
    ),
    path(
        "v1/sites/<str:pk>/preview-tokens/", PreviewTokenView.as_view(), name="site-preview-tokens"
    ),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Interactive docs from Hangar's own static files, under the strict CSP (views/docs.py).
    path("docs/", SwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", RedocView.as_view(url_name="api:schema"), name="redoc"),
]
