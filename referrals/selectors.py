"""Reads for the screening and referral pages, each in a fixed number of queries.

Matching (``referrals/matching.py``) works on plain facts; ``matching_listings`` builds them
for every available listing with one query per relation, reading ``values_list`` rows rather
than model instances, so that 2,000 listings cost the same seven queries as twenty.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Exists, OuterRef, Prefetch
from django.shortcuts import get_object_or_404

from clients.models import Client
from directory.models import (
    Contact,
    Group,
    GroupType,
    Language,
    Meeting,
    Need,
    ReferralResource,
    ResourcePhone,
    ReviewFlag,
    ServiceArea,
)
from referrals import eligibility, matching
from referrals.models import Referral, ReferredGroup, Screening, ScreeningReason


def client_for(user, pk: int) -> Client:
    """A client of the user's clinic, or 404 (another clinic's client is not found)."""
    return get_object_or_404(
        Client.objects.for_clinic(user.clinic_id).select_related("primary_clinician"), pk=pk
    )


def screening_for(user, pk: int) -> Screening:
    return get_object_or_404(
        Screening.objects.for_clinic(user.clinic_id)
        .select_related("client", "screened_by")
        .prefetch_related(
            Prefetch("reasons", queryset=ScreeningReason.objects.order_by("order", "id"))
        ),
        pk=pk,
    )


def referral_for(user, pk: int) -> Referral:
    return get_object_or_404(
        Referral.objects.for_clinic(user.clinic_id)
        .select_related(
            "client", "clinician", "screening", "preferred_area", "approval_recorded_by"
        )
        .prefetch_related(
            "goal_needs",
            Prefetch("groups", queryset=ReferredGroup.objects.select_related("group")),
            Prefetch("screening__reasons", queryset=ScreeningReason.objects.order_by("order")),
        ),
        pk=pk,
    )


def _open_medication_concern():
    return Exists(
        ReviewFlag.objects.filter(
            group=OuterRef("pk"), concerns_medication=True, resolved_at__isnull=True
        )
    )


def matching_listings() -> list[matching.Listing]:
    """Every available listing (active, not archived) as facts for matching: seven queries."""
    groups = list(
        Group.objects.current()
        .filter(status=Group.Status.ACTIVE)
        .annotate(open_medication_concern=_open_medication_concern())
        .values_list(
            "id",
            "name",
            "slug",
            "is_twelve_step",
            "medication_stance",
            "open_medication_concern",
            "last_verified_on",
        )
    )
    ids = [row[0] for row in groups]
    needs = _pairs(Group.needs.through.objects.filter(group_id__in=ids), "need__slug")
    types = _pairs(Group.types.through.objects.filter(group_id__in=ids), "grouptype__code")
    languages = _pairs(Group.languages.through.objects.filter(group_id__in=ids), "language__code")
    areas = _pairs(
        Group.service_areas.through.objects.filter(group_id__in=ids), "servicearea__slug"
    )
    # A listing is also where its contacts and meetings are (design notes, section 3).
    for group_id, slug in Contact.service_areas.through.objects.filter(
        contact__group_id__in=ids
    ).values_list("contact__group_id", "servicearea__slug"):
        areas[group_id].add(slug)
    for group_id, area_slug, language_code in Meeting.objects.filter(group_id__in=ids).values_list(
        "group_id", "service_area__slug", "language__code"
    ):
        if area_slug:
            areas[group_id].add(area_slug)
        if language_code:
            languages[group_id].add(language_code)
    return [
        matching.Listing(
            id=pk,
            name=name,
            slug=slug,
            need_slugs=frozenset(needs[pk]),
            group_type_codes=frozenset(types[pk]),
            language_codes=frozenset(languages[pk]),
            areas=frozenset(areas[pk]),
            is_twelve_step=twelve_step,
            medication_stance=matching.Stance(stance),
            open_medication_concern=concern,
            last_verified_on=verified,
        )
        for pk, name, slug, twelve_step, stance, concern, verified in groups
    ]


def _pairs(queryset, value_field: str) -> defaultdict[int, set]:
    result: defaultdict[int, set] = defaultdict(set)
    for group_id, value in queryset.values_list("group_id", value_field):
        result[group_id].add(value)
    return result


def vocabulary() -> matching.Vocabulary:
    """Names for the reasons matching gives: four small queries."""
    return matching.Vocabulary(
        needs=dict(Need.objects.values_list("slug", "name")),
        languages=dict(Language.objects.values_list("code", "name")),
        group_types=dict(GroupType.objects.values_list("code", "name")),
        areas={
            slug: matching.Area(slug=slug, name=name, kind=kind, spa_number=spa)
            for slug, name, kind, spa in ServiceArea.objects.values_list(
                "slug", "name", "kind", "spa_number"
            )
        },
    )


def client_profile(referral: Referral) -> matching.ClientProfile:
    """What matching needs to know about the client, from the screening and VIII.B."""
    answers = eligibility.ScreeningAnswers.from_dict(referral.screening.answers)
    outcome = eligibility.evaluate(answers)
    goal_needs = {need.slug for need in referral.goal_needs.all()}
    return matching.ClientProfile(
        need_slugs=frozenset(outcome.needs() | goal_needs),
        group_type_codes=frozenset(outcome.group_types()),
        language_code=referral.language or referral.client.preferred_language,
        area_slug=referral.preferred_area.slug if referral.preferred_area_id else None,
        # VI.C: either the screening or the client's current record saying so is enough.
        on_prescribed_medication=(
            referral.screening.on_prescribed_medication or referral.client.on_prescribed_medication
        ),
        twelve_step=matching.TwelveStep(referral.twelve_step),
    )


def share_resources() -> list[ReferralResource]:
    """SHARE! and the Friendship Line (VIII.D), shown when nothing fits."""
    return list(
        ReferralResource.objects.filter(key__in=["share", "friendship-line"])
        .order_by("name")
        .prefetch_related(
            Prefetch("phones", queryset=ResourcePhone.objects.order_by("order", "id"))
        )
    )


def client_screenings(client: Client, limit: int = 20):
    return list(
        Screening.objects.filter(client=client)
        .select_related("screened_by")
        .order_by("-screened_at", "-id")[:limit]
    )
