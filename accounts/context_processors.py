"""What every page's layout needs: the demo banner switch and the signed-in person's navigation."""

from django.conf import settings


def site(request):
    """What the base layout needs on every page: the demo banner and the role navigation."""
    user = getattr(request, "user", None)
    nav = []
    if user is not None and user.is_authenticated:
        # has_perm caches the user's permissions after the first call: two queries in all.
        if user.has_perm("accounts.use_clinician_home"):
            nav.append(("clinician-home", "Clinician"))
        if user.has_perm("clients.view_client"):
            nav.append(("clients:list", "Clients"))
        if user.has_perm("directory.view_group"):
            nav.append(("directory:search", "Self-help groups"))
        if user.has_perm("accounts.use_supervisor_home"):
            nav.append(("supervisor-home", "Supervisor"))
        if user.has_perm("accounts.view_clinic_access_log"):
            nav.append(("access-log", "Access log"))
        if user.has_perm("accounts.use_site_admin_home"):
            nav.append(("site-admin-home", "Site admin"))
        if user.is_superuser:
            nav.append(("admin:index", "Administration"))
    return {"require_mfa": settings.REQUIRE_MFA, "nav_items": nav}
