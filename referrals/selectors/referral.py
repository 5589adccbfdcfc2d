"""Reads for the screening and referral pages, each in a fixed number of queries.

``screenings()`` and ``referrals()`` are the querysets the pages look a record up in (through
``core.access.fetch``, which scopes them to the clinic); ``client_history`` is what the client's
page shows of their screenings and referrals; ``referral_page`` gathers the referral's page.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    CharField,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    StringAgg,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Cast, Coalesce, Concat, RowNumber
from django.utils import timezone

from clients.models import Client, PeerContact
from directory.models import (
    Meeting,
    ReferralResource,
    ResourcePhone,
)
from referrals.models import (
    FollowUp,
    ProcedureStep,
    Referral,
    ReferredGroup,
    Screening,
    ScreeningReason,
)
from referrals.rules import procedure, schedule
from referrals.selectors import medication_safety
from referrals.selectors import procedure as procedure_selectors
from referrals.selectors.procedure import PEERS_OFFERED_PER_GROUP


def screenings():
    """Screenings with who screened and the reasons in order (``core.access.fetch`` scopes
    them to the clinic)."""
    return Screening.objects.select_related("client", "screened_by").prefetch_related(
        Prefetch("reasons", queryset=ScreeningReason.objects.order_by("order", "id"))
    )


def _meeting_times() -> Subquery:
    """A chosen group's weekly meetings as text, "weekday@start,…" (Sunday = 0), read with
    the group instead of in a query of their own (see ``_weekly``). In no particular order:
    the schedule's rules sort them (SQLite before 3.44 orders no aggregate)."""
    times = (
        Meeting.objects.filter(group_id=OuterRef("group_id"))
        .order_by()
        .values("group_id")
        .annotate(
            times=StringAgg(
                Concat(Cast("weekday", CharField()), Value("@"), Cast("start_time", CharField())),
                Value(","),
            )
        )
        .values("times")
    )
    return Subquery(times, output_field=CharField())


def _weekly(times: str | None) -> list[schedule.WeeklyMeeting]:
    meetings = []
    for item in (times or "").split(","):
        if item:
            weekday, start = item.split("@")
            meetings.append(schedule.WeeklyMeeting(int(weekday), dt.time.fromisoformat(start)))
    return meetings


def referrals():
    """Referrals with what the referral's page shows (``core.access.fetch`` scopes them): the
    client, the clinician, the screening, the goal needs, and the chosen groups with their
    listings, weekly meetings and what VI.C decides from (``chosen_with_facts``)."""
    return Referral.objects.select_related(
        "client", "clinician", "screening", "preferred_area", "approval_recorded_by"
    ).prefetch_related(
        "goal_needs",
        Prefetch(
            "groups",
            queryset=medication_safety.chosen_with_facts(
                ReferredGroup.objects.select_related("group").annotate(
                    meeting_times=_meeting_times()
                )
            ),
        ),
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


# --- the procedure: peers to introduce, the referral's page -----------------------------------


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


RESOURCE_KEYS = ("share", "friendship-line", "client-coalition")


PHONE_FIELDS = tuple(f.attname for f in ResourcePhone._meta.concrete_fields)


def _resources(keys) -> dict[str, ReferralResource]:
    """The referral resources of ``keys`` with their phones in order, in one query: the phones
    joined (a row per phone, one with none for a resource without phones) and handed to each
    resource as if prefetched, so ``resource.phones.all`` reads nothing more."""
    rows = (
        ReferralResource.objects.filter(key__in=keys)
        .annotate(**{f"phone_row_{name}": F(f"phones__{name}") for name in PHONE_FIELDS})
        .order_by("id", "phones__order", "phones__id")
    )
    resources: dict[str, ReferralResource] = {}
    phones: dict[str, list[ResourcePhone]] = {}
    for row in rows:
        resource = resources.setdefault(row.key, row)
        found = phones.setdefault(row.key, [])
        if row.phone_row_id is not None:
            found.append(ResourcePhone(**{n: getattr(row, f"phone_row_{n}") for n in PHONE_FIELDS}))
    for key, resource in resources.items():
        listed = resource.phones.all()  # lazy: filled below, never run
        listed._result_cache, listed._prefetch_done = phones[key], True
        resource._prefetched_objects_cache = {"phones": listed}
    return resources


def referral_page(referral: Referral, *, today) -> dict:
    """Everything the referral's page shows, in a fixed number of queries whatever the number
    of groups, meetings, records, peers and follow-ups, and whatever VI.C finds.

    ``referral`` comes from ``referrals()``: its chosen groups, their listings, meetings and
    VI.C's facts are read with it. Then: the steps (with who did them and the peer
    introduced), the client's records at the groups (the runs and the meetings attended), the
    referral resources with their phones, the peers offered, the follow-ups, and VI.C's
    decisions (``referral_alerts``). The procedure's facts are built from these, not read
    again."""
    steps = {
        step.code: step
        for step in ProcedureStep.objects.filter(referral=referral).select_related(
            "completed_by", "peer_contact"
        )
    }
    chosen = list(referral.groups.all())
    group_ids = [c.group_id for c in chosen]
    weekly = {c.group_id: _weekly(getattr(c, "meeting_times", None)) for c in chosen}
    if any(not hasattr(c, "meeting_times") for c in chosen):  # not read through referrals()
        weekly = {gid: [] for gid in group_ids}
        for m in Meeting.objects.filter(group_id__in=group_ids).only(
            "group_id", "weekday", "start_time"
        ):
            weekly[m.group_id].append(schedule.WeeklyMeeting(m.weekday, m.start_time))
    after = timezone.localdate(referral.referred_at) if referral.referred_at else today
    planned = {c.group_id: schedule.next_meetings(weekly[c.group_id], after=after) for c in chosen}
    runs, attended = procedure_selectors.runs_and_attended(
        referral.client_id,
        group_ids,
        schedules={gid: sorted({m.weekday for m in weekly[gid]}) for gid in group_ids},
    )
    resources = _resources(RESOURCE_KEYS)
    peers = list(peers_offered(referral))
    followups = list(
        FollowUp.objects.filter(referral=referral)
        .select_related("done_by")
        .order_by("due_on", "id")
    )
    facts = procedure_selectors.facts_of(
        referral,
        groups_chosen=len(group_ids),
        attended=sum(attended.get(gid, 0) for gid in set(group_ids)),
        runs=runs,
        steps={code: step.status for code, step in steps.items()},
        # As procedure_facts counts them: up to PEERS_OFFERED_PER_GROUP (the rules ask
        # only whether there is one); the offered ones are at least that many when there are.
        active_peer_contacts=min(len(peers), PEERS_OFFERED_PER_GROUP),
        followups=procedure_selectors.followup_facts_of(followups, today=today),
    )
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
    # VIII.K: a contact person for a group the client attends: chosen and attended.
    attended_groups = sorted(
        {c.group_id: c.group for c in chosen if attended.get(c.group_id)}.values(),
        key=lambda g: (g.name, g.pk),
    )
    return {
        "followup_summary": procedure.followup_summary(facts),
        "steps": rows,
        "facts": facts,
        "progress_done": done,
        "progress_total": total,
        "chosen": chosen,
        "groups": chosen,
        "attended_groups": attended_groups,
        "planned": planned,
        "runs": runs,
        "six_progress": max((run.progress for run in runs.values()), default=0),
        "peers": peers,
        "resources": resources,
        "followups": followups,
        # VI.C after the referral, from current facts (templates/referrals/_vic_alerts.html).
        **medication_safety.referral_alerts(
            referral, chosen=chosen if all(hasattr(c, "vic_concerns") for c in chosen) else None
        ),
    }
