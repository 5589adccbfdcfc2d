"""The matching reads (referrals/selectors/matching.py) on a generated directory, against the way
they were first written: every listing read row by row, every meeting included, all ranked.

``matching_selectors.matching_inputs`` narrows the listings in SQL to those that can appear for the
client and reads each listing's distinct facts in one UNION; these tests prove that this changes
nothing a clinician sees (the same suggestions, order, scores, reasons and VI.C exclusions, and
SHARE! exactly when nothing fits), for clients of every kind, and that it takes four queries at any
size of the directory.
"""

from __future__ import annotations

import random
from datetime import date, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from directory.models import (
    Contact,
    Criterion,
    CriterionConfirmation,
    Group,
    GroupType,
    Language,
    Meeting,
    Need,
    ReviewFlag,
    ServiceArea,
)
from referrals.rules import matching
from referrals.selectors import matching as matching_selectors

TODAY = date(2026, 11, 15)
NEEDS = ["depression", "anxiety", "bipolar", "alcohol", "ocd", "bereavement"]
TYPES = {"A": "Support", "B": "Growth/Self-Improvement", "C": "Educational", "D": "Social"}
LANGUAGES = {"en": "English", "es": "Spanish", "ko": "Korean"}


def _vocabulary_rows():
    needs = [Need.objects.create(slug=slug, name=slug.title()) for slug in NEEDS]
    types = [
        GroupType.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in TYPES.items()
    ]
    languages = [Language.objects.create(code=c, name=n) for c, n in LANGUAGES.items()]
    areas = [
        ServiceArea.objects.create(slug=f"spa-{n}", name=f"Area {n}", kind="spa", spa_number=n)
        for n in (2, 4, 7)
    ] + [
        ServiceArea.objects.create(slug="countywide", name="Los Angeles County", kind="countywide"),
        ServiceArea.objects.create(slug="national", name="National", kind="national"),
        ServiceArea.objects.create(slug="orange", name="Orange County", kind="out-of-county"),
    ]
    return needs, types, languages, areas


def build_directory(count: int, *, seed: int, meetings_per_listing: int = 4):
    """A directory of ``count`` listings drawn at random: some inactive or archived, needs, types,
    languages and areas of their own or none, contacts with areas, meetings with an area and a
    language or neither, open and resolved review flags, every medication stance, and few
    distinct names (so that ranking often falls to the name, then the id)."""
    rng = random.Random(seed)
    needs, types, languages, areas = _vocabulary_rows()
    statuses = [Group.Status.ACTIVE] * 6 + [Group.Status.INACTIVE, Group.Status.DEFUNCT]
    groups = Group.objects.bulk_create(
        Group(
            name=rng.choice(["Circle", "circle", "Peers", "Recovery"]) + f" {n % 40}",
            slug=f"listing-{n}",
            format="III.D",
            status=rng.choice(statuses),
            archived_at=timezone.now() if rng.random() < 0.05 else None,
            is_twelve_step=rng.random() < 0.4,
            medication_stance=rng.choice(list(Group.MedicationStance)),
            last_verified_on=rng.choice([None, TODAY - timedelta(days=20), date(2019, 3, 4)]),
        )
        for n in range(count)
    )

    def links(through, field, choices, most):
        through.objects.bulk_create(
            through(group_id=g.pk, **{field: choice.pk})
            for g in groups
            for choice in rng.sample(choices, rng.randint(0, most))
        )

    links(Group.needs.through, "need_id", needs, 3)
    links(Group.types.through, "grouptype_id", types, 2)
    links(Group.languages.through, "language_id", languages, 1)
    links(Group.service_areas.through, "servicearea_id", areas, 1)
    contacts = Contact.objects.bulk_create(
        Contact(group_id=g.pk, kind=Contact.Kind.PHONE, phone="+13103058878")
        for g in groups
        if rng.random() < 0.3
    )
    Contact.service_areas.through.objects.bulk_create(
        Contact.service_areas.through(contact_id=c.pk, servicearea_id=rng.choice(areas).pk)
        for c in contacts
        if rng.random() < 0.5
    )
    Meeting.objects.bulk_create(
        Meeting(
            group_id=g.pk,
            weekday=rng.randint(0, 6),
            start_time=time(rng.randint(8, 20)),
            service_area_id=rng.choice([None, *(a.pk for a in areas)]),
            language_id=rng.choice([None, None, *(lang.pk for lang in languages)]),
        )
        for g in groups
        for _ in range(rng.randint(0, meetings_per_listing))
    )
    ReviewFlag.objects.bulk_create(
        ReviewFlag(
            group_id=g.pk,
            source=ReviewFlag.Source.FEEDBACK,
            summary="A concern",
            concerns_medication=rng.random() < 0.7,
            resolved_at=timezone.now() if rng.random() < 0.4 else None,
        )
        for g in groups
        if rng.random() < 0.1
    )
    # II.A–H: some criteria recorded, a few as not met.
    CriterionConfirmation.objects.bulk_create(
        CriterionConfirmation(
            group_id=g.pk,
            criterion=criterion,
            status=rng.choice(["meets", "meets", "meets", "does_not_meet", "not_confirmed"]),
        )
        for g in groups
        if rng.random() < 0.3
        for criterion in rng.sample(Criterion.values, rng.randint(1, 8))
    )
    return groups


def read_row_by_row():
    """The reference: every listing, available or not, from model instances and every related
    row (every meeting), the way the matching page first read them."""
    listings = []
    for g in Group.objects.prefetch_related(
        "needs",
        "types",
        "languages",
        "service_areas",
        "contacts__service_areas",
        "meetings__service_area",
        "meetings__language",
        "review_flags",
        "criteria",
    ):
        meetings = list(g.meetings.all())
        languages = {lang.code for lang in g.languages.all()}
        languages |= {m.language.code for m in meetings if m.language}
        areas = {a.slug for a in g.service_areas.all()}
        areas |= {a.slug for c in g.contacts.all() for a in c.service_areas.all()}
        areas |= {m.service_area.slug for m in meetings if m.service_area}
        listings.append(
            matching.Listing(
                id=g.pk,
                name=g.name,
                slug=g.slug,
                need_slugs=frozenset(n.slug for n in g.needs.all()),
                group_type_codes=frozenset(t.code for t in g.types.all()),
                language_codes=frozenset(languages),
                areas=frozenset(areas),
                # A phone or e-mail printed without an area: unknown, never everywhere.
                area_not_printed=any(
                    c.kind != Contact.Kind.WEB and not c.service_areas.all()
                    for c in g.contacts.all()
                ),
                is_twelve_step=g.is_twelve_step,
                medication_stance=matching.Stance(g.medication_stance),
                open_medication_concern=any(
                    f.concerns_medication and f.resolved_at is None for f in g.review_flags.all()
                ),
                # II.A–H: recorded as not met, and neither met nor not met.
                failed_criteria=frozenset(
                    c.criterion for c in g.criteria.all() if c.status == "does_not_meet"
                ),
                unconfirmed_criteria=matching.ALL_CRITERIA
                - {c.criterion for c in g.criteria.all() if c.status != "not_confirmed"},
                last_verified_on=g.last_verified_on,
                available=g.archived_at is None and g.status == Group.Status.ACTIVE,
            )
        )
    vocabulary = matching.Vocabulary(
        needs=dict(Need.objects.values_list("slug", "name")),
        languages=dict(Language.objects.values_list("code", "name")),
        group_types=dict(GroupType.objects.values_list("code", "name")),
        areas={
            a.slug: matching.Area(a.slug, a.name, a.kind, a.spa_number)
            for a in ServiceArea.objects.all()
        },
        criteria=dict(Criterion.choices),
    )
    return listings, vocabulary


def profiles(seed: int, count: int):
    """Clients of every kind: needs and types or none at all, a need or type the directory does
    not have, any language (none, one no listing records), any area (countywide, none, one the
    directory does not have), medicated or not, every 12-step preference."""
    rng = random.Random(seed)
    for _ in range(count):
        yield matching.ClientProfile(
            need_slugs=frozenset(rng.sample([*NEEDS, "not-in-directory"], rng.randint(0, 2))),
            group_type_codes=frozenset(rng.sample([*TYPES, "Z"], rng.randint(0, 1))),
            language_code=rng.choice([*LANGUAGES, "", "other", "hy"]),
            area_slug=rng.choice([None, "countywide", "spa-2", "spa-7", "national", "atlantis"]),
            on_prescribed_medication=rng.random() < 0.5,
            twelve_step=rng.choice(list(matching.TwelveStep)),
        )


def test_the_listings_and_vocabulary_are_those_read_row_by_row(db):
    build_directory(300, seed=1)
    every, vocabulary = read_row_by_row()
    available = {one.id: one for one in every if one.available}
    assert {one.id: one for one in matching_selectors.matching_listings()} == available
    assert matching_selectors.vocabulary() == vocabulary


@pytest.mark.parametrize("seed", [2, 3])
def test_matching_gives_what_ranking_every_listing_gave(db, seed):
    """The page's reads and the first reads give the same result for every client, with limits
    that cut through ties and limits that show everything."""
    build_directory(400, seed=seed)
    every, vocabulary = read_row_by_row()
    compared = 0
    for profile in profiles(seed, 40):
        listings, read_vocabulary = matching_selectors.matching_inputs(profile)
        assert read_vocabulary == vocabulary
        # Nothing that can appear is left out, and nothing unavailable is read.
        can_appear = {
            one.id for one in every if one.available and matching.is_relevant(one, profile)
        }
        assert {one.id for one in listings} == can_appear
        for limit in (1, 20, 500):
            expected = matching.match(
                every, profile, vocabulary=vocabulary, today=TODAY, limit=limit
            )
            got = matching.match(listings, profile, vocabulary=vocabulary, today=TODAY, limit=limit)
            assert got == expected
            compared += bool(expected.suggestions or expected.not_suitable)
    assert compared > 60  # the clients drawn did see listings, not only SHARE!


def test_a_client_nothing_fits_still_gets_share(db):
    """VIII.D: with needs the directory has no listing for, nothing is read and SHARE! shows."""
    build_directory(50, seed=4)
    Group.needs.through.objects.filter(need__slug="alcohol").delete()
    profile = matching.ClientProfile(need_slugs=frozenset({"alcohol"}))
    listings, vocabulary = matching_selectors.matching_inputs(profile)
    assert listings == []
    result = matching.match(listings, profile, vocabulary=vocabulary, today=TODAY)
    assert result.share_fallback and not result.suggestions and not result.not_suitable


def _queries(profile) -> int:
    with CaptureQueriesContext(connection) as queries:
        matching_selectors.matching_inputs(profile)
    return len(queries)


def test_four_queries_at_any_size_of_the_directory(db):
    """The vocabulary, the listings that can appear, their II.A–H criteria, their facts: four
    queries for 20 listings with a few meetings each and for 2,000 with ten each (20,000
    meetings, the county's)."""
    profile = matching.ClientProfile(
        need_slugs=frozenset({"depression"}), group_type_codes=frozenset({"A"}), area_slug="spa-7"
    )
    groups = build_directory(20, seed=5)
    few = _queries(profile)
    Meeting.objects.all().delete()
    Group.objects.filter(pk__in=[g.pk for g in groups]).delete()
    Need.objects.all().delete()
    Language.objects.all().delete()
    ServiceArea.objects.all().delete()
    build_directory(2000, seed=6, meetings_per_listing=20)
    assert Group.objects.count() == 2000 and Meeting.objects.count() > 15_000
    assert few == _queries(profile) == 4
