"""Reads for matching (VIII.B–D, VI.C): the directory's listings as the pure rules want them.

Matching (``referrals/rules/matching.py``) works on plain facts; ``matching_inputs`` builds them
in four queries at any size of the directory: the vocabulary, the listings that can appear for
the client (narrowed in SQL by the rule matching itself applies), their II.A–H criteria, and
those listings' distinct needs, types, languages and areas, as ``values_list`` rows rather than
model instances.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import time, timedelta

from django.db import connection
from django.db.models import (
    CharField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    StringAgg,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Concat

from core.rows import UrlPattern, date_label, phone_labels
from directory.models import (
    Contact,
    Criterion,
    CriterionConfirmation,
    Group,
    GroupType,
    Language,
    Meeting,
    Need,
    ReferralResource,
    ResourcePhone,
    ReviewFlag,
    ServiceArea,
    current_months,
)
from referrals.models import (
    Referral,
)
from referrals.rules import eligibility, matching, schedule

# --- matching (VIII.B–D, VI.C) ---------------------------------------------------------------
#
# Four queries, whatever the size of the directory: the vocabulary (with ids), the listings
# that can appear for the client, their II.A–H criteria, and those listings' facts. What is
# shipped to Python grows with the listings that can appear, never with the meetings: a
# listing's ten meetings in one area and language come back as one row.

# What a row of the facts query is about (its second column): a need, a type, a language or an
# area of the listing (the third column holds the id), or one of its meetings' distinct
# (language, area) pairs (the third and fourth columns, either may be NULL).
_NEED, _TYPE, _LANGUAGE, _AREA, _MEETING = 1, 2, 3, 4, 5
# A phone or e-mail of the listing with no area: where it serves is unknown (matching).
_NO_AREA = 6
_TABLE_OF = {_NEED: "need", _TYPE: "type", _LANGUAGE: "language", _AREA: "area"}


@dataclass(frozen=True)
class _Catalogue:
    """The vocabulary matching words its reasons with, and each table's slugs or codes by id
    (the facts query reads ids, so that none of its parts joins a vocabulary table)."""

    vocabulary: matching.Vocabulary
    keys: dict[str, dict[int, str]]

    def ids(self, table: str, wanted) -> list[int]:
        wanted = set(wanted)
        return sorted(pk for pk, key in self.keys[table].items() if key in wanted)


def _catalogue() -> _Catalogue:
    """The four small vocabulary tables in one query (a UNION)."""

    def rows(model, table, key, area_kind=None, spa_number=None):
        # Every column an annotation, in the same order in each part of the UNION (a model
        # field named in values_list would be selected before the annotations).
        return (
            model.objects.annotate(
                vocabulary_table=Value(table, output_field=CharField()),
                vocabulary_id=F("pk"),
                vocabulary_key=F(key),
                vocabulary_name=F("name"),
                area_kind=area_kind or Value("", output_field=CharField()),
                # A typed NULL: PostgreSQL reads a bare NULL in a UNION as text.
                spa=spa_number or Cast(Value(None), IntegerField()),
            )
            .order_by()
            .values_list(
                "vocabulary_table",
                "vocabulary_id",
                "vocabulary_key",
                "vocabulary_name",
                "area_kind",
                "spa",
            )
        )

    names: dict[str, dict[str, str]] = {"need": {}, "language": {}, "type": {}}
    areas: dict[str, matching.Area] = {}
    keys: dict[str, dict[int, str]] = {"need": {}, "language": {}, "type": {}, "area": {}}
    query = rows(Need, "need", "slug").union(
        rows(Language, "language", "code"),
        rows(GroupType, "type", "code"),
        rows(ServiceArea, "area", "slug", F("kind"), F("spa_number")),
        all=True,
    )
    for table, pk, key, name, kind, spa in query.order_by():
        keys[table][pk] = key
        if table == "area":
            areas[key] = matching.Area(slug=key, name=name, kind=kind, spa_number=spa)
        else:
            names[table][key] = name
    vocabulary = matching.Vocabulary(
        needs=names["need"],
        languages=names["language"],
        group_types=names["type"],
        areas=areas,
        criteria=dict(Criterion.choices),
    )
    return _Catalogue(vocabulary=vocabulary, keys=keys)


def vocabulary() -> matching.Vocabulary:
    """Names for the reasons matching gives: one query."""
    return _catalogue().vocabulary


def _open_medication_concern():
    return Exists(
        ReviewFlag.objects.filter(
            group=OuterRef("pk"), concerns_medication=True, resolved_at__isnull=True
        )
    )


def _can_appear(profile: matching.ClientProfile | None, catalogue: _Catalogue):
    """The available listings (active, not archived) that ``matching.match`` can show this
    client, suggested or listed as not suitable: those that share a need or a group type with
    the client (``matching.is_relevant``), or every one for a client who named neither.

    Exact, not a guess: a listing left out here is one ``match`` would skip, so ranking these
    gives the same result as ranking the whole directory. A need or type the directory does not
    have cannot be shared, and is dropped.
    """
    available = Group.objects.current().filter(status=Group.Status.ACTIVE).order_by()
    if profile is None or not (profile.need_slugs or profile.group_type_codes):
        return available
    sharing = [
        through.objects.filter(**{f"{field}__in": ids}).values("group_id")
        for through, field, ids in (
            (Group.needs.through, "need_id", catalogue.ids("need", profile.need_slugs)),
            (Group.types.through, "grouptype_id", catalogue.ids("type", profile.group_type_codes)),
        )
        if ids
    ]
    if not sharing:
        return available.none()
    # One list of ids (a UNION), not OR-ed EXISTS, which PostgreSQL costs per listing: an
    # estimate that grows with the directory, and past 100,000 starts its JIT compiler (measured:
    # a third of a second added to a 5 ms query).
    return available.filter(pk__in=sharing[0].union(*sharing[1:]))


def _facts(listing_ids: list[int]) -> list[tuple[int, int, int | None, int | None]]:
    """(listing id, kind, id, area id) rows for the listings: their needs, types, own languages
    and areas, their contacts' areas, and their meetings' distinct (language, area) pairs, which
    a listing's languages and areas include (design notes, section 3). One query, reading the
    meetings once: ten meetings in one area and language are one row.

    The ids go in as one parameter: an array on PostgreSQL, whose planner then reads just these
    listings' rows by index (measured at county scale: 1 ms for the 106 listings of a client with
    one need, where joining the listings' query read all 20,000 meetings in 12 ms), and JSON on
    SQLite, which has no arrays. Written as SQL because the ORM would turn 2,000 ids into 2,000
    parameters in each of the six parts, and compiling that costs more than the query.
    """
    if not listing_ids:
        return []
    # Every name in this SQL comes from the models' own metadata and every value is a
    # parameter: nothing from a request is written into it (hence the noqa: S608).
    qn = connection.ops.quote_name
    if connection.vendor == "postgresql":
        # The array as its text form, which the driver passes as one string (as a list it would
        # quote each of 2,000 numbers in each of the six parts: 7 ms).
        one_of = "= ANY(%s::bigint[])"
        ids = "{" + ",".join(str(int(pk)) for pk in listing_ids) + "}"
    else:
        one_of, ids = "IN (SELECT value FROM json_each(%s))", json.dumps(list(listing_ids))

    def table(model) -> str:
        return qn(model._meta.db_table)

    def column(model, field) -> str:
        return qn(model._meta.get_field(field).column)

    def own(kind: int, model, value: str) -> str:
        listing, value = column(model, "group"), column(model, value)
        return (
            f"SELECT {listing}, {kind}, {value}, NULL FROM {table(model)}"  # noqa: S608
            f" WHERE {listing} {one_of}"
        )

    through = Contact.service_areas.through
    contact_group = column(Contact, "group")
    meeting_group = column(Meeting, "group")
    parts = [
        # First, so that its fourth column gives the UNION its type (a bare NULL would not).
        f"SELECT DISTINCT {meeting_group}, {_MEETING}, {column(Meeting, 'language')},"  # noqa: S608
        f" {column(Meeting, 'service_area')} FROM {table(Meeting)}"
        f" WHERE {meeting_group} {one_of}",
        own(_NEED, Group.needs.through, "need"),
        own(_TYPE, Group.types.through, "grouptype"),
        own(_LANGUAGE, Group.languages.through, "language"),
        own(_AREA, Group.service_areas.through, "servicearea"),
        f"SELECT c.{contact_group}, {_AREA}, a.{column(through, 'servicearea')}, NULL"  # noqa: S608
        f" FROM {table(through)} a JOIN {table(Contact)} c"
        f" ON c.{qn(Contact._meta.pk.column)} = a.{column(through, 'contact')}"
        f" WHERE c.{contact_group} {one_of}",
        # Contacts (not web addresses, which are no place) printed without an area.
        f"SELECT c.{contact_group}, {_NO_AREA}, NULL, NULL FROM {table(Contact)} c"  # noqa: S608
        f" WHERE c.{contact_group} {one_of} AND c.{column(Contact, 'kind')} <> %s"
        f" AND NOT EXISTS (SELECT 1 FROM {table(through)} a"
        f" WHERE a.{column(through, 'contact')} = c.{qn(Contact._meta.pk.column)})",
    ]
    # UNION ALL: the parts other than the meetings' hold no duplicates worth a database's sort
    # (a listing's two contacts in one area give two rows; Python keeps sets).
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), [ids] * len(parts) + [Contact.Kind.WEB])
        return cursor.fetchall()


def _criteria(groups) -> dict[int, tuple[set[str], set[str]]]:
    """II.A–H per listing of ``groups`` (a queryset): (failed, recorded) criteria. A criterion
    with no row, or "not confirmed", is unconfirmed. One query."""
    found: dict[int, tuple[set[str], set[str]]] = {}
    for group_id, criterion, status in (
        CriterionConfirmation.objects.filter(group__in=groups.values("pk"))
        .exclude(status=CriterionConfirmation.Status.NOT_CONFIRMED)
        .order_by()
        .values_list("group_id", "criterion", "status")
    ):
        failed, recorded = found.setdefault(group_id, (set(), set()))
        recorded.add(criterion)
        if status == CriterionConfirmation.Status.DOES_NOT_MEET:
            failed.add(criterion)
    return found


def _listings(profile, catalogue: _Catalogue, groups=None) -> list[matching.Listing]:
    groups = groups if groups is not None else _can_appear(profile, catalogue)
    criteria = _criteria(groups)
    groups = list(
        groups.annotate(open_medication_concern=_open_medication_concern()).values_list(
            "id",
            "name",
            "slug",
            "is_twelve_step",
            "medication_stance",
            "open_medication_concern",
            "last_verified_on",
        )
    )
    keys = {kind: catalogue.keys[table] for kind, table in _TABLE_OF.items()}
    languages, areas = keys[_LANGUAGE], keys[_AREA]
    # Per listing: its need slugs, type codes, language codes and area slugs.
    facts: dict[int, tuple[set[str], set[str], set[str], set[str]]] = {}
    area_not_printed: set[int] = set()
    for listing_id, kind, value_id, area_id in _facts([row[0] for row in groups]):
        if kind == _NO_AREA:
            area_not_printed.add(listing_id)
            continue
        sets = facts.get(listing_id)
        if sets is None:
            sets = facts[listing_id] = (set(), set(), set(), set())
        if kind == _MEETING:
            if value_id is not None:
                sets[_LANGUAGE - 1].add(languages[value_id])
            if area_id is not None:
                sets[_AREA - 1].add(areas[area_id])
        else:
            sets[kind - 1].add(keys[kind][value_id])
    none = (frozenset(),) * 4
    months = current_months()
    listed = []
    for pk, name, slug, twelve_step, stance, concern, verified in groups:
        needs, types, language_codes, area_slugs = facts.get(pk, none)
        failed, recorded = criteria.get(pk, (set(), set()))
        listed.append(
            matching.Listing(
                id=pk,
                name=name,
                slug=slug,
                need_slugs=frozenset(needs),
                group_type_codes=frozenset(types),
                language_codes=frozenset(language_codes),
                areas=frozenset(area_slugs),
                area_not_printed=pk in area_not_printed,
                is_twelve_step=twelve_step,
                medication_stance=matching.Stance(stance),
                open_medication_concern=concern,
                failed_criteria=frozenset(failed),
                unconfirmed_criteria=matching.ALL_CRITERIA - recorded,
                last_verified_on=verified,
                current_months=months,
            )
        )
    return listed


def matching_inputs(
    profile: matching.ClientProfile,
) -> tuple[list[matching.Listing], matching.Vocabulary]:
    """What ``matching.match`` needs for this client, in four queries at any size of the
    directory: the listings that can appear for them (``_can_appear``) and the vocabulary."""
    catalogue = _catalogue()
    return _listings(profile, catalogue), catalogue.vocabulary


def matching_listings(profile: matching.ClientProfile | None = None) -> list[matching.Listing]:
    """Every available listing as facts for matching, or, with ``profile``, those that can
    appear for that client (the same result from ``matching.match``)."""
    return _listings(profile, _catalogue())


# VIII.C: at most this many listings answer a search by name on the choose-groups page.
DIRECT_SEARCH_LIMIT = 15


def direct_search(query: str) -> list[Group]:
    """VIII.C: active listings whose name (or another name it is known by) holds ``query``,
    for the clinician to pick directly. A fixed number of rows, by name."""
    query = query.strip()
    if len(query) < 2:
        return []
    return list(
        Group.objects.current()
        .filter(status=Group.Status.ACTIVE)
        .annotate(alias_text=Cast("aliases", TextField()))
        .filter(Q(name__icontains=query) | Q(alias_text__icontains=query))
        .order_by("name", "pk")
        .only("pk", "name", "slug")[:DIRECT_SEARCH_LIMIT]
    )


def direct_listings(ids) -> tuple[list[matching.Listing], matching.Vocabulary]:
    """The listings with these ids as matching's facts (any status: ``direct_choice`` says
    why an unavailable one cannot be chosen), and the vocabulary."""
    catalogue = _catalogue()
    groups = Group.objects.filter(pk__in=list(ids)).order_by()
    listings = _listings(None, catalogue, groups)
    available = set(
        groups.filter(archived_at__isnull=True, status=Group.Status.ACTIVE).values_list(
            "pk", flat=True
        )
    )
    return [
        listing if listing.id in available else replace(listing, available=False)
        for listing in listings
    ], catalogue.vocabulary


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


# The listings in the client's language the groups page names when no suggestion offers it.
IN_LANGUAGE_SHOWN = 10


def listings_in_language(code: str, *, medicated: bool) -> list[Group]:
    """Available listings whose own languages or meetings record ``code``, whatever their
    needs, for a client no suggested group speaks to (VIII.B). VI.C still holds: for a
    medicated client, none that discourages medication or has an open medication concern.
    One query."""
    listings = (
        Group.objects.current()
        .filter(status=Group.Status.ACTIVE)
        .filter(
            Q(pk__in=Group.languages.through.objects.filter(language__code=code).values("group_id"))
            | Q(pk__in=Meeting.objects.filter(language__code=code).values("group_id"))
        )
    )
    if medicated:
        listings = listings.exclude(medication_stance=matching.Stance.DISCOURAGES).exclude(
            _open_medication_concern()
        )
    return list(listings.order_by("name", "id").only("id", "name", "slug")[:IN_LANGUAGE_SHOWN])


def share_resources() -> list[ReferralResource]:
    """SHARE! and the Friendship Line (VIII.D), shown when nothing fits."""
    return list(
        ReferralResource.objects.filter(key__in=["share", "friendship-line"])
        .order_by("name")
        .prefetch_related(
            Prefetch("phones", queryset=ResourcePhone.objects.order_by("order", "id"))
        )
    )


@dataclass(frozen=True)
class CardFacts:
    """VIII.C: what the clinician needs on a suggestion to act on it with the client there:
    how to call, when it meets (and next), in which languages, where, and how current. Each
    as the card prints it, formatted here once rather than by filters and ``{% url %}`` in
    the card (a fifth of the groups page's time, profiled)."""

    url: str  # the listing's page
    report_url: str  # VII.D: a clinician's report about it
    phones: list  # (E.164, national form, extension), in the listing's order
    meets: str  # the weekly times, then the next meeting
    languages: str
    areas: str
    verified: str


# Separators in the texts aggregated below (ASCII unit and record separators): in no name.
_UNIT, _RECORD = "\x1f", "\x1e"


def _joined(rows, text) -> Subquery:
    """``text`` of each of ``rows`` (related to the outer listing by ``group_id``), joined
    by ``_UNIT`` in one text, in no particular order (SQLite before 3.44 orders no
    aggregate): read with the listing instead of in a query of its own."""
    joined = (
        rows.filter(group_id=OuterRef("pk"))
        .order_by()
        .values("group_id")
        .annotate(joined=StringAgg(text, Value(_UNIT)))
        .values("joined")
    )
    return Subquery(joined, output_field=TextField())


# A meeting's start as the cards print it (``|time:"g:i a"``: "7:30 p.m.").
_TIME = "g:i a"


def _split(text: str | None) -> list[str]:
    return text.split(_UNIT) if text else []


def card_facts(listing_ids: list[int], *, today) -> dict[int, CardFacts]:
    """The facts of each suggested listing (at most matching's limit, 20), in two queries:
    the listings with their languages, areas and weekly meetings (each aggregated into a
    text), and their phones."""
    groups = (
        Group.objects.filter(pk__in=listing_ids)
        .annotate(
            language_names=_joined(Group.languages.through.objects, F("language__name")),
            area_names=_joined(
                Group.service_areas.through.objects,
                Concat(
                    Cast("servicearea__order", CharField()),
                    Value(_RECORD),
                    F("servicearea__name"),
                ),
            ),
            meeting_times=_joined(
                Meeting.objects,
                Concat(Cast("weekday", CharField()), Value("@"), Cast("start_time", CharField())),
            ),
        )
        .only("id", "slug", "last_verified_on")
    )
    phones: dict[int, list] = {}
    for group_id, stored, extension in (
        Contact.objects.filter(group_id__in=listing_ids, kind=Contact.Kind.PHONE)
        .order_by("order", "id")
        .values_list("group_id", Cast("phone", CharField()), "extension")
    ):
        e164, national = phone_labels(stored)
        phones.setdefault(group_id, []).append((e164, national, extension))
    details = UrlPattern("directory:group", "slug")
    report = UrlPattern("directory:report", "slug")
    # The same days and times recur across the cards: each label formatted once.
    days = {day: str(label) for day, label in Meeting.Weekday.choices}
    times: dict[time, str] = {}

    def at(start: time) -> str:
        label = times.get(start)
        if label is None:
            label = times[start] = date_label(start, _TIME)
        return label

    facts = {}
    for group in groups:
        weekly = []
        for item in _split(group.meeting_times):
            weekday, start = item.split("@")
            weekly.append(schedule.WeeklyMeeting(int(weekday), time.fromisoformat(start)))
        meetings = sorted(set(weekly), key=lambda m: (m.weekday, m.start))
        upcoming = schedule.next_meetings(meetings, after=today - timedelta(days=1), count=1)
        meets = "; ".join(f"{days[m.weekday]} {at(m.start)}" for m in meetings)
        meets = meets or "No meeting times listed"
        if upcoming:
            planned = upcoming[0]
            meets += f" · next {date_label(planned.on_date, 'D j M')}, {at(planned.start)}"
        areas = sorted(
            (int(order), name)
            for order, name in (item.split(_RECORD, 1) for item in _split(group.area_names))
        )
        facts[group.pk] = CardFacts(
            url=details(group.slug),
            report_url=report(group.slug),
            phones=phones.get(group.pk, []),
            meets=meets,
            languages=", ".join(sorted(_split(group.language_names))) or "Not listed",
            areas=", ".join(name for _, name in areas) or "Not listed",
            verified=date_label(group.last_verified_on, "j F Y", "Not yet verified"),
        )
    return facts
