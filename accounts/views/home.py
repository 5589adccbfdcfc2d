"""Each role's home: where a person lands after signing in, by the permissions of their role."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from accounts.permissions import permission_required
from accounts.selectors import access_log, staff

# Each role's home, in the order a person holding several roles lands on them.
ROLE_HOMES = [
    ("accounts.use_clinician_home", "clinician-home"),
    ("accounts.use_supervisor_home", "supervisor-home"),
    ("accounts.use_site_admin_home", "site-admin-home"),
]


# Pages that only show take GET (and HEAD): any other method is a 405, as on every other
# read-only page (tests/security/test_url_matrix.py).
@require_safe
def home(request):
    """Send each person to their role's home; someone with no role is told what to do."""
    if request.user.is_superuser and not request.user.groups.exists():
        # A superuser holds every permission, but without a role their work is the admin.
        return redirect("admin:index")
    for perm, url_name in ROLE_HOMES:
        if request.user.has_perm(perm):
            return redirect(url_name)
    return render(request, "accounts/no_role.html")


@permission_required("accounts.use_supervisor_home")
@require_safe
def supervisor_home(request):
    return render(
        request,
        "accounts/home_supervisor.html",
        {
            "activity": access_log.recent_account_activity(request.user),
            "staff": staff.clinic_staff(request.user.clinic) if request.user.clinic_id else [],
        },
    )


@permission_required("accounts.use_site_admin_home")
@require_safe
def site_admin_home(request):
    return render(
        request,
        "accounts/home_site_admin.html",
        {
            "activity": access_log.recent_account_activity(request.user),
            "clinics": staff.clinics_with_staff_counts(),
        },
    )
