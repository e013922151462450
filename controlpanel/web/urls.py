"""Every page of the web UI: sign-in and account pages, the staff console under /staff/,
and the client portal at the root."""

from django.urls import include, path

from controlpanel.web.portal.views.dashboard import home

urlpatterns = [
    path("", include("controlpanel.web.accounts.urls")),
    path("staff/", include("controlpanel.web.staff.urls")),
    # The dashboard is also the site's home page.
    path("", home, name="home"),
    path("", include("controlpanel.web.portal.urls")),
]
