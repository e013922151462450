"""The staff console: agency staff only (404 for everyone else)."""

from django.urls import path

from controlpanel.web.staff.views import clients, clusters, fleet, monitoring, sizes, users

app_name = "staff"

urlpatterns = [
    path("", monitoring.index, name="index"),
    path("clients/", clients.clients, name="clients"),
    path("clients/add/", clients.client_add, name="client_add"),
    path("clients/<int:pk>/", clients.client, name="client"),
    path("clients/<int:pk>/edit/", clients.client_edit, name="client_edit"),
    path("clients/<int:pk>/status/", clients.client_status, name="client_status"),
    path("clients/<int:pk>/sites/add/", clients.site_add, name="site_add"),
    path("clients/<int:pk>/environments/add/", clients.environment_add, name="environment_add"),
    path("users/", users.users, name="users"),
    path("users/invite/", users.user_invite, name="user_invite"),
    path("clusters/", clusters.clusters, name="clusters"),
    path("clusters/add/", clusters.cluster_add, name="cluster_add"),
    path("clusters/<int:pk>/", clusters.cluster, name="cluster"),
    path("clusters/<int:pk>/edit/", clusters.cluster_edit, name="cluster_edit"),
    path("clusters/<int:pk>/test/", clusters.cluster_test, name="cluster_test"),
    path("clusters/<int:pk>/sync/", clusters.cluster_sync, name="cluster_sync"),
    path("sizes/", sizes.sizes, name="sizes"),
    path("sizes/add/", sizes.size_add, name="size_add"),
    path("sizes/prices/add/", sizes.price_add, name="price_add"),
    path("fleet/", fleet.fleet, name="fleet"),
    path("fleet/deploy/", fleet.fleet_deploy, name="fleet_deploy"),
    path("fleet/<slug:batch>/", fleet.fleet_batch, name="fleet_batch"),
    path("fleet/<slug:batch>/live/", fleet.fleet_batch_live, name="fleet_batch_live"),
    path("operations/", monitoring.operations, name="operations"),
    path("drift/", monitoring.drift, name="drift"),
    path("drift/<int:pk>/repair/", monitoring.drift_repair, name="drift_repair"),
    path("audit/", monitoring.audit, name="audit"),
]
