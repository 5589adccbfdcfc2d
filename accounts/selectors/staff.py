"""The clinic's staff, for the supervisor's and the site administrator's homes."""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count, Prefetch, Q

from accounts.models import Clinic, Role
from core.rows import date_label


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


def staff_table(clinic) -> list:
    """The supervisor's table of the clinic's staff: each person with ``roles_label`` and
    ``last_login_label`` as the table prints them, worked out here once rather than by filters
    on every row. Two queries: the people, and the names of their roles as plain rows (no
    prefetched group instances)."""
    if clinic is None:
        return []
    people = list(clinic_staff(clinic).prefetch_related(None))
    held = defaultdict(set)
    for user_id, name in (
        get_user_model()
        .groups.through.objects.filter(user__clinic=clinic)
        .values_list("user_id", "group__name")
    ):
        held[user_id].add(name)
    for person in people:
        roles = held[person.pk]
        person.roles_label = ", ".join(str(r.label) for r in Role if r.value in roles) or "none"
        person.last_login_label = date_label(person.last_login, "M j, Y g:i a", "never")
    return people


def clinics_with_staff_counts():
    return Clinic.objects.annotate(
        active_staff=Count("staff", filter=Q(staff__is_active=True))
    ).order_by("service_planning_area", "name")
