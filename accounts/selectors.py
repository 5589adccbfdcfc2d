"""Reads the account pages need, each a fixed number of queries whatever the data size."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count, Prefetch, Q

from accounts.models import AccessEvent, Clinic

SIGN_IN_ACTIONS = [
    AccessEvent.Action.SIGN_IN,
    AccessEvent.Action.SIGN_OUT,
    AccessEvent.Action.FAILED_SIGN_IN,
    AccessEvent.Action.LOCKOUT,
]


def recent_account_activity(user, limit: int = 5):
    """The person's own latest sign-in events, so they can spot a sign-in that was not theirs."""
    return list(
        AccessEvent.objects.filter(user=user, action__in=SIGN_IN_ACTIONS).order_by(
            "-occurred_at", "-id"
        )[:limit]
    )


def clinic_staff(clinic):
    """Everyone at the clinic with their roles (one query for people, one for groups)."""
    if clinic is None:
        return get_user_model().objects.none()
    return (
        get_user_model()
        .objects.filter(clinic=clinic)
        .prefetch_related(Prefetch("groups", queryset=Group.objects.order_by("name")))
        .order_by("last_name", "first_name", "username")
    )


def clinics_with_staff_counts():
    return Clinic.objects.annotate(
        active_staff=Count("staff", filter=Q(staff__is_active=True))
    ).order_by("service_planning_area", "name")


def clinic_access_events(clinic):
    """The clinic's access log, newest first, with the actor joined in."""
    if clinic is None:
        return AccessEvent.objects.none()
    return (
        AccessEvent.objects.filter(clinic=clinic)
        .select_related("user")
        .order_by("-occurred_at", "-id")
    )
