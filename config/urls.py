from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from config import system_views
from referrals.views import worklist as referral_views_worklist

admin.site.site_header = "Self-help referral: administration"
admin.site.site_title = "Self-help referral administration"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("clinician/", referral_views_worklist.clinician_home, name="clinician-home"),
    path("supervisor/", account_views.supervisor_home, name="supervisor-home"),
    path("site-admin/", account_views.site_admin_home, name="site-admin-home"),
    path("access-log/", account_views.access_log_list, name="access-log"),
    path("account/", include("accounts.urls")),
    path("directory/", include("directory.urls")),
    path("", include("clients.urls")),
    path("referrals/", include("referrals.urls")),
    path("healthz", system_views.healthz, name="healthz"),
    # The admin signs in through the product's own sign-in, with its two-factor step.
    path("admin/login/", system_views.admin_sign_in, name="admin-login"),
    path("admin/", admin.site.urls),
]

handler403 = system_views.permission_denied
handler404 = system_views.page_not_found
handler500 = system_views.server_error
