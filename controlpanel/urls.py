from django.contrib import admin
from django.urls import include, path

from controlpanel.core import views

admin.site.site_header = "Hangar administration"
admin.site.site_title = "Hangar"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/", include("controlpanel.api.urls")),
    # The web UI: sign-in, the staff console (/staff/) and the client portal (/).
    path("", include("controlpanel.web.urls")),
]
