"""The site's addresses: the role homes and the access log at the root, each app under its own
folder, the health check, the admin, and the error handlers (``core.views``)."""

from django.contrib import admin
from django.urls import include, path

from accounts.views import access_log as access_log_views
from accounts.views import home as home_views
from core import views as system_views
from directory.urls import public_urlpatterns
from referrals.views import worklist as referral_views_worklist

admin.site.site_header = "Self-help referral: administration"
admin.site.site_title = "Self-help referral administration"

urlpatterns = [
    path("", home_views.home, name="home"),
    path("clinician/", referral_views_worklist.clinician_home, name="clinician-home"),
    path("supervisor/", home_views.supervisor_home, name="supervisor-home"),
    path("site-admin/", home_views.site_admin_home, name="site-admin-home"),
    path("access-log/", access_log_views.access_log_list, name="access-log"),
    path("account/", include("accounts.urls")),
    path("directory/", include("directory.urls")),
    # The public directory (VII.A): the only pages open without signing in, with sign-in.
    path("groups/", include((public_urlpatterns, "public"))),
    path("", include("clients.urls")),
    path("referrals/", include("referrals.urls")),
    path("healthz", system_views.healthz, name="healthz"),
    path("about/", system_views.about, name="about"),
    # The admin signs in through the product's own sign-in, with its two-factor step.
    path("admin/login/", system_views.admin_sign_in, name="admin-login"),
    path("admin/", admin.site.urls),
]

handler403 = system_views.permission_denied
handler404 = system_views.page_not_found
handler500 = system_views.server_error
