"""The staff console: agency staff only (404 for everyone else)."""

from django.urls import path

from controlpanel.web.staff.views import (
    billing,
    billing_prices,
    clients,
    clusters,
    fleet,
    monitoring,
    sizes,
    users,
)

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
    path("fleet/", fleet.fleet, name="fleet"),
    path("fleet/deploy/", fleet.fleet_deploy, name="fleet_deploy"),
    path("fleet/<slug:batch>/", fleet.fleet_batch, name="fleet_batch"),
    path("fleet/<slug:batch>/live/", fleet.fleet_batch_live, name="fleet_batch_live"),
    path("operations/", monitoring.operations, name="operations"),
    path("drift/", monitoring.drift, name="drift"),
    path("drift/<int:pk>/repair/", monitoring.drift_repair, name="drift_repair"),
    path("audit/", monitoring.audit, name="audit"),
    # Billing: the month's invoices, margins and utilisation; prices and cluster costs.
    path("billing/", billing.billing, name="billing"),
    path("billing/drafts/", billing.drafts_prepare, name="billing_drafts"),
    path("billing/invoices/<int:pk>/", billing.invoice, name="billing_invoice"),
    path("billing/invoices/<int:pk>/refresh/", billing.invoice_refresh, name="billing_refresh"),
    path("billing/invoices/<int:pk>/issue/", billing.invoice_issue_view, name="billing_issue"),
    path("billing/invoices/<int:pk>/paid/", billing.invoice_paid, name="billing_paid"),
    path("billing/invoices/<int:pk>/void/", billing.invoice_void_view, name="billing_void"),
    path("billing/invoices/<int:pk>/email/", billing.invoice_email_view, name="billing_email"),
    path("billing/invoices/<int:pk>/delete/", billing.invoice_delete, name="billing_delete"),
    path("billing/prices/", billing_prices.prices, name="billing_prices"),
    path("billing/prices/nodes/add/", billing_prices.price_add, name="price_add"),
    path("billing/prices/items/add/", billing_prices.cost_item_add, name="cost_item_add"),
    path("billing/prices/items/<int:pk>/end/", billing_prices.cost_item_end, name="cost_item_end"),
]
