"""Each role's home: where a person lands after signing in, by the permissions of their role."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from accounts.forms import IssueEnrolmentCodeForm
from accounts.permissions import permission_required
from accounts.selectors import access_log, lockout, staff, two_factor
from accounts.services import two_factor as two_factor_services

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
    people = staff.staff_table(request.user.clinic) if request.user.clinic_id else []
    enrolled = two_factor.enrolled_user_ids([person.pk for person in people])
    for person in people:
        person.has_second_factor = person.pk in enrolled
    return render(
        request,
        "accounts/home_supervisor.html",
        {
            "activity": access_log.recent_account_activity(request.user),
            "staff": people,
            "sign_in_trouble": lockout.clinic_sign_in_trouble(request.user.clinic),
        },
    )


@permission_required("accounts.use_supervisor_home")
@require_POST
def issue_enrolment_code(request):
    """A one-time code for a person of the supervisor's clinic to enrol a second factor.

    Shown once, here; valid 72 hours; the access log records who issued it for whom. Not for
    oneself: the code is another person's word that the enrolment is wanted.
    """
    people = staff.clinic_staff(request.user.clinic).exclude(pk=request.user.pk)
    form = IssueEnrolmentCodeForm(request.POST, staff_queryset=people)
    if not form.is_valid():
        return render(request, "accounts/enrolment_code_refused.html", {"form": form}, status=400)
    person = form.cleaned_data["user"]
    code = two_factor_services.issue_enrolment_code(user=person, by=request.user, request=request)
    return render(request, "accounts/enrolment_codes.html", {"issued": [(person, code)]})


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
