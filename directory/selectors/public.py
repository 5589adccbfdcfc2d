"""Reads of the public directory (VII.A): catalogue data only, a fixed number of queries a page.

Only listings that meet (active or temporarily closed) are public, and only the columns a
public page shows are read: never a review flag, a medication concern, a criterion's reviewer,
who verified a listing, the source's text or any internal note. The pages' queries are pinned in
tests/integration/directory/test_public.py with many listings.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from accounts.models import Clinic
from directory.models import Contact, Group, Language, Meeting, Need, ServiceArea
from directory.rules.records import MEETING_STATUSES
from directory.selectors import browse

# The listing's columns a public page may read.
PUBLIC_GROUP_FIELDS = (
    "pk",
    "slug",
    "name",
    "aliases",
    "description",
    "status",
    "fees_note",
    "last_verified_on",
)
PUBLIC_CONTACT_FIELDS = ("pk", "group_id", "kind", "phone", "extension", "email", "url", "hours")


def _contacts() -> QuerySet:
    return Contact.objects.only(*PUBLIC_CONTACT_FIELDS).order_by("order", "id")


def listings() -> QuerySet:
    """The public listings, by name: current (not archived) and meeting."""
    return browse.listings().filter(status__in=MEETING_STATUSES).only(*PUBLIC_GROUP_FIELDS)


def with_result_details(queryset: QuerySet) -> QuerySet:
    """What a search result shows: its needs and its contacts (two queries)."""
    return queryset.prefetch_related(
        Prefetch("needs", queryset=Need.objects.order_by("name")),
        Prefetch("contacts", queryset=_contacts(), to_attr="public_contacts"),
    )


def group_page(slug: str) -> Group:
    """One public listing with its needs, languages, areas, contacts and meetings; 404 if it
    is not public (archived, inactive, defunct or never was)."""
    group = (
        listings()
        .filter(slug=slug)
        .prefetch_related(
            Prefetch("needs", queryset=Need.objects.order_by("name")),
            Prefetch("languages", queryset=Language.objects.order_by("name")),
            Prefetch("service_areas", queryset=ServiceArea.objects.order_by("order", "name")),
            Prefetch("contacts", queryset=_contacts(), to_attr="public_contacts"),
            Prefetch(
                "meetings",
                queryset=Meeting.objects.select_related("service_area", "language").order_by(
                    "weekday", "start_time", "id"
                ),
                to_attr="public_meetings",
            ),
        )
        .first()
    )
    if group is None:
        raise Http404("No such listing.")
    return group


@dataclass(frozen=True)
class Poster:
    clinic: Clinic
    area: ServiceArea | None  # the clinic's Service Planning Area, which the QR code opens


def poster(clinic_id: int) -> Poster:
    """An active clinic and its Service Planning Area; 404 for any other id."""
    clinic = Clinic.objects.filter(pk=clinic_id, is_active=True).first()
    if clinic is None:
        raise Http404("No such clinic.")
    area = ServiceArea.objects.filter(spa_number=clinic.service_planning_area).first()
    return Poster(clinic=clinic, area=area)
