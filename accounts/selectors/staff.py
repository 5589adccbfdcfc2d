"""The clinic's staff, for the supervisor's and the site administrator's homes."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count, Prefetch, Q

from accounts.models import Clinic


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
