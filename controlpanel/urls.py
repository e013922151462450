from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from controlpanel.core import views
from sites import views as site_views

admin.site.site_header = "Hangar administration"
admin.site.site_title = "Hangar"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("controlpanel.api.urls")),
    path("", site_views.home, name="home"),
]
