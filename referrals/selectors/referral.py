"""Reads for the screening and referral pages, each in a fixed number of queries.

Matching (``referrals/rules/matching.py``) works on plain facts; ``matching_inputs`` builds them in
three queries at any size of the directory: the vocabulary, the listings that can appear for the
client (narrowed in SQL by the rule matching itself applies), and those listings' distinct
needs, types, languages and areas, as ``values_list`` rows rather than model instances.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Cast, Coalesce, RowNumber
from django.utils import timezone

from clients.models import Attendance, Client, PeerContact
from clients.rules import attendance as attendance_rules
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
from referrals.models import (
    FollowUp,
    ProcedureStep,
    Referral,
    ReferredGroup,
    Screening,
    ScreeningReason,
)
from referrals.rules import eligibility, matching, procedure, schedule
from referrals.selectors import procedure as procedure_selectors


def screenings():
    """Screenings with who screened and the reasons in order (``core.access.fetch`` scopes
    them to the clinic)."""
    return Screening.objects.select_related("client", "screened_by").prefetch_related(
        Prefetch("reasons", queryset=ScreeningReason.objects.order_by("order", "id"))
    )


def referrals():
    """Referrals with what the referral's page shows (``core.access.fetch`` scopes them)."""
    return Referral.objects.select_related(
        "client", "clinician", "screening", "preferred_area", "approval_recorded_by"
    ).prefetch_related(
        "goal_needs",
        Prefetch("groups", queryset=ReferredGroup.objects.select_related("group")),
        Prefetch("screening__reasons", queryset=ScreeningReason.objects.order_by("order")),
    )


# --- the client's page: the screenings and referrals hung on a client --------------------------

# A client's page shows this many of the latest screenings and referrals, and says how many
# there are in all, so that the page stays short and its queries fixed.
SECTION_LIMIT = 25


def _count_of(model) -> Coalesce:
    """How many rows of ``model`` the client has, as a subquery (no join to multiply rows)."""
    counted = (
        model.objects.filter(client=OuterRef("pk"))
        .order_by()
        .values("client")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def client_history(clinic_id: int | None):
    """Clients with their latest screenings and referrals, for the client's page.

    Four queries whatever their number: the client (with the counts), the screenings with who
    screened, the referrals with the clinician, and the chosen groups with their listings.
    The related rows are filtered by clinic too: a second fence, should a row ever disagree
    with its client.
    """
    screenings = (
        Screening.objects.filter(clinic_id=clinic_id)
        .select_related("screened_by")
        .order_by("-screened_at", "-id")
    )
    chosen = ReferredGroup.objects.select_related("group").order_by("suggested_rank", "id")
    referrals = (
        Referral.objects.filter(clinic_id=clinic_id)
        .select_related("clinician")
        .prefetch_related(Prefetch("groups", queryset=chosen, to_attr="chosen_groups"))
        .order_by("-created_at", "-id")
    )
    return (
        Client.objects.select_related("primary_clinician", "created_by")
        .annotate(screening_count=_count_of(Screening), referral_count=_count_of(Referral))
        .prefetch_related(
            Prefetch(
                "screenings",
                queryset=screenings[:SECTION_LIMIT],
                to_attr="recent_screenings",
            ),
            Prefetch(
                "referrals",
                queryset=referrals[:SECTION_LIMIT],
                to_attr="recent_referrals",
            ),
        )
    )


# --- matching (VIII.B–D, VI.C) ---------------------------------------------------------------
#
# Three queries, whatever the size of the directory: the vocabulary (with ids), the listings
# that can appear for the client, and those listings' facts. What is shipped to Python grows with
# the listings that can appear, never with the meetings: a listing's ten meetings in one area
# and language come back as one row.

# What a row of the facts query is about (its second column): a need, a type, a language or an
# area of the listing (the third column holds the id), or one of its meetings' distinct
# (language, area) pairs (the third and fourth columns, either may be NULL).
_NEED, _TYPE, _LANGUAGE, _AREA, _MEETING = 1, 2, 3, 4, 5
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
    ]
    # UNION ALL: the parts other than the meetings' hold no duplicates worth a database's sort
    # (a listing's two contacts in one area give two rows; Python keeps sets).
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), [ids] * len(parts))
        return cursor.fetchall()


def _listings(profile, catalogue: _Catalogue) -> list[matching.Listing]:
    groups = list(
        _can_appear(profile, catalogue)
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
    keys = {kind: catalogue.keys[table] for kind, table in _TABLE_OF.items()}
    languages, areas = keys[_LANGUAGE], keys[_AREA]
    # Per listing: its need slugs, type codes, language codes and area slugs.
    facts: dict[int, tuple[set[str], set[str], set[str], set[str]]] = {}
    for listing_id, kind, value_id, area_id in _facts([row[0] for row in groups]):
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
    listed = []
    for pk, name, slug, twelve_step, stance, concern, verified in groups:
        needs, types, language_codes, area_slugs = facts.get(pk, none)
        listed.append(
            matching.Listing(
                id=pk,
                name=name,
                slug=slug,
                need_slugs=frozenset(needs),
                group_type_codes=frozenset(types),
                language_codes=frozenset(language_codes),
                areas=frozenset(area_slugs),
                is_twelve_step=twelve_step,
                medication_stance=matching.Stance(stance),
                open_medication_concern=concern,
                last_verified_on=verified,
            )
        )
    return listed


def matching_inputs(
    profile: matching.ClientProfile,
) -> tuple[list[matching.Listing], matching.Vocabulary]:
    """What ``matching.match`` needs for this client, in three queries at any size of the
    directory: the listings that can appear for them (``_can_appear``) and the vocabulary."""
    catalogue = _catalogue()
    return _listings(profile, catalogue), catalogue.vocabulary


def matching_listings(profile: matching.ClientProfile | None = None) -> list[matching.Listing]:
    """Every available listing as facts for matching, or, with ``profile``, those that can
    appear for that client (the same result from ``matching.match``)."""
    return _listings(profile, _catalogue())


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


# --- the procedure ---------------------------------------------------------------------------


def procedure_facts(referral: Referral) -> procedure.ReferralFacts:
    """What the procedure's rules need to know about a referral: six small queries."""
    group_ids = list(referral.groups.values_list("group_id", flat=True))
    runs = attendance_runs_for(referral.client_id, group_ids)
    attended = Attendance.objects.filter(
        client_id=referral.client_id, group_id__in=group_ids, status=Attendance.Status.ATTENDED
    ).count()
    # The rules ask only whether there is one (VIII.C waits on a peer): counted up to
    # PEERS_OFFERED_PER_GROUP, not through a popular group's hundreds.
    peers = (
        PeerContact.objects.filter(group_id__in=group_ids, status=PeerContact.Status.ACTIVE)
        .exclude(client_id=referral.client_id)
        .order_by()[:PEERS_OFFERED_PER_GROUP]
        .count()
    )
    return procedure.ReferralFacts(
        status=procedure.Status(referral.status),
        close_reason=referral.close_reason,
        approval=referral.approval,
        groups_chosen=len(group_ids),
        attended=attended,
        six_in_a_row=any(run.reached_six for run in runs.values()),
        steps={
            code: procedure.StepStatus(status)
            for code, status in ProcedureStep.objects.filter(referral=referral).values_list(
                "code", "status"
            )
        },
        active_peer_contacts=peers,
    )


def attendance_runs_for(
    client_id: int, group_ids, *, schedules=None
) -> dict[int, attendance_rules.Run]:
    """VIII.G: six in a row per group, by the group's schedule (``clients/rules/attendance.py``)."""
    return procedure_selectors.runs_for(client_id, group_ids, schedules=schedules)


def peers_for(referral: Referral):
    """VIII.C: consenting peer contacts for the groups chosen, never the client themself.
    Withdrawn contacts are never offered (VIII.K: withdrawal takes effect at once).

    Every one of them: what the introduction form accepts. The page offers
    ``peers_offered``, a few per group."""
    return (
        PeerContact.objects.filter(
            group_id__in=referral.groups.values("group_id"), status=PeerContact.Status.ACTIVE
        )
        .exclude(client_id=referral.client_id)
        .select_related("group")
        .order_by("group__name", "first_name", "id")
    )


# A popular group gathers contact persons from clinics across the county, hundreds in time;
# the clinician needs one to call. The page lists at most this many per group.
PEERS_OFFERED_PER_GROUP = 10


def peers_offered(referral: Referral):
    """``peers_for``, at most ``PEERS_OFFERED_PER_GROUP`` a group: those who agreed most
    recently (the likeliest to be attending still). One query, whatever the number."""
    latest_first = Window(
        RowNumber(),
        partition_by=F("group_id"),
        order_by=(F("consented_on").desc(), F("id").desc()),
    )
    return (
        peers_for(referral)
        .annotate(rank_in_group=latest_first)
        .filter(rank_in_group__lte=PEERS_OFFERED_PER_GROUP)
    )


def referral_page(referral: Referral, *, today) -> dict:
    """Everything the referral's checklist shows, in a fixed number of queries."""
    steps = {
        step.code: step
        for step in ProcedureStep.objects.filter(referral=referral).select_related(
            "completed_by", "peer_contact"
        )
    }
    chosen = list(referral.groups.all())
    group_ids = [c.group_id for c in chosen]
    meetings = list(
        Meeting.objects.filter(group_id__in=group_ids).only("group_id", "weekday", "start_time")
    )
    planned = {
        c.group_id: schedule.next_meetings(
            [
                schedule.WeeklyMeeting(m.weekday, m.start_time)
                for m in meetings
                if m.group_id == c.group_id
            ],
            after=(timezone.localdate(referral.referred_at) if referral.referred_at else today),
        )
        for c in chosen
    }
    runs = attendance_runs_for(
        referral.client_id,
        group_ids,
        schedules={gid: [m.weekday for m in meetings if m.group_id == gid] for gid in group_ids},
    )
    resources = {
        r.key: r
        for r in ReferralResource.objects.filter(
            key__in=["share", "friendship-line", "client-coalition"]
        ).prefetch_related(
            Prefetch("phones", queryset=ResourcePhone.objects.order_by("order", "id"))
        )
    }
    facts = procedure_facts(referral)
    waiting = set(procedure.waiting_steps(facts))
    rows = []
    for definition in procedure.STEPS:
        code = definition.step.value
        rows.append(
            {
                "definition": definition,
                "letter": code[-1].lower(),
                "step": steps.get(code),
                "effective": procedure.effective_status(definition.step, facts).value,
                "waiting": definition.step in waiting,
            }
        )
    done, total = procedure.progress(facts)
    return {
        "steps": rows,
        "facts": facts,
        "progress_done": done,
        "progress_total": total,
        "chosen": chosen,
        "planned": planned,
        "runs": runs,
        "six_progress": max((run.progress for run in runs.values()), default=0),
        "peers": list(peers_offered(referral)),
        "resources": resources,
        "followups": list(
            FollowUp.objects.filter(referral=referral)
            .select_related("done_by")
            .order_by("due_on", "id")
        ),
    }
