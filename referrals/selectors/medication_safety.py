"""Reads for VI.C after the referral: the facts ``rules/medication_safety.py`` decides from.

Nothing here reads a stored "unsafe" mark: every answer is derived from the listing's current
stance, its medication concerns, the client's current record and the clinician's decisions, so
it holds whatever changed them (a form, the admin, an import, ``QuerySet.update``). History
tables only date the change; when a change left no history (a bulk update), the date is
"not recorded" and the group is unsafe all the same.

Every function costs a fixed number of queries whatever the number of referrals and whatever
the facts: the chosen groups are read in one query with everything VI.C decides from (the
latest decision, the stance and medication histories as subqueries, the concerns joined), so a
page costs the same whether or not a client is medicated or a group unsafe.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

from django.db.models import (
    DateTimeField,
    Exists,
    OuterRef,
    Q,
    StringAgg,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce, JSONObject
from django.utils import timezone

from clients.models import Client
from directory.models import Group, ReviewFlag
from referrals.models import MedicationSafetyDecision, Referral, ReferredGroup
from referrals.rules import medication_safety as rules
from referrals.rules.matching import Stance

# Before any history row: the lower bound of a run that no other value interrupted.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

OPEN = (Referral.Status.REFERRED, Referral.Status.ATTENDING, Referral.Status.ENGAGED)


def _medicated() -> Q:
    # VI.C: the screening or the client's current record saying so is enough (as matching).
    return Q(referral__client__on_prescribed_medication=True) | Q(
        referral__screening__on_prescribed_medication=True
    )


def _unsafe_group() -> Q:
    """A chosen group some current fact makes unsafe for a medicated client (in SQL)."""
    concern = ReviewFlag.objects.filter(group_id=OuterRef("group_id"), concerns_medication=True)
    return Q(group__medication_stance=Group.MedicationStance.DISCOURAGES) | Q(
        Exists(
            concern.filter(
                Q(resolved_at__isnull=True) | Q(outcome=ReviewFlag.Outcome.GROUP_REMOVED)
            )
        )
    )


def unsafe_candidates(referrals=None, *, clinic_id: int | None = None):
    """Chosen groups of open referrals that may be unsafe now: the client is medicated and the
    group discourages medication or has an open or confirmed concern. ``assess`` decides.

    ``clinic_id`` keeps to one clinic's referrals. The client and the screening are filtered by
    the clinic too (they always share the referral's): without it PostgreSQL answers the
    "medicated" test by scanning every client of the county, the review's one read that grew
    with the county rather than the clinic."""
    rows = ReferredGroup.objects.filter(referral__status__in=OPEN).filter(
        _medicated(), _unsafe_group()
    )
    if clinic_id is not None:
        rows = rows.filter(
            referral__clinic_id=clinic_id,
            referral__client__clinic_id=clinic_id,
            referral__screening__clinic_id=clinic_id,
        )
    if referrals is not None:
        rows = rows.filter(referral__in=referrals)
    return rows


ASSESSED = (
    "referral_id",
    "group_id",
    "group__name",
    "chosen_at",
    "group__medication_stance",
    "referral__client_id",
    "referral__client__on_prescribed_medication",
    "referral__screening__on_prescribed_medication",
)

# What VI.C reads beside each chosen group, in the rows' own query (``_with_facts``): the
# latest decision, when the stance and the client's medication took their current value, and
# the group's medication concerns as JSON text. A page's query count then never depends on
# whether any client is medicated or any group unsafe. The concerns are one value per row, not
# joined rows: joined, every other subquery ran once per concern instead of once per group.
DECISION = ("vic_decision_kind", "vic_decision_causes", "vic_decision_at", "vic_decision_reason")
SINCE = ("vic_stance_since", "vic_stance_latest", "vic_medicated_since", "vic_medicated_latest")


def assess_rows(rows, *, now: datetime | None = None) -> list[rules.Assessment]:
    """Each ``ReferredGroup`` of ``rows`` (a queryset) assessed under VI.C: one query."""
    return [assessment for assessment, _ in assess_rows_with(rows, now=now)]


def assess_rows_with(rows, *, now: datetime | None = None, extra=()) -> list[tuple]:
    """``assess_rows``, each assessment with the values of ``extra`` (fields or annotations
    of ``rows``) read in the same query: ``[(assessment, (value, ...)), ...]``. One query,
    whatever the rows and the facts."""
    now = now or timezone.now()
    n, m = len(ASSESSED), len(ASSESSED) + len(extra)
    read = (
        _with_facts(rows)
        .order_by("referral_id", "suggested_rank", "id")
        .values_list(*ASSESSED, *extra, *DECISION, *SINCE, "vic_concerns")
    )
    assessed = []
    for row in read:
        kind, causes, decided_at, reason = row[m : m + 4]
        stance_since, stance_latest, medicated_since, medicated_latest = row[m + 4 : m + 8]
        decision = (
            rules.Decision(
                kind=kind, causes=frozenset(causes or ()), decided_at=decided_at, reason=reason
            )
            if kind
            else None
        )
        assessment = _assess_one(
            row[:n],
            decision=decision,
            concerns=_concerns_of(row[m + 8]),
            # When the latest history row does not hold the current value, that value came
            # by a path that wrote no history: "not recorded".
            stance_since=stance_since
            if stance_latest == Group.MedicationStance.DISCOURAGES
            else None,
            medicated_since=medicated_since if medicated_latest else None,
            now=now,
        )
        assessed.append((assessment, row[n:m]))
    return assessed


def _assess_one(row, *, decision, concerns, stance_since, medicated_since, now):
    """VI.C for one row (referral, group, name, chosen at, stance, client, on the record,
    screened); the histories and concerns count only for a medicated client."""
    referral_id, group_id, name, chosen_at, stance, _, on_record, screened = row
    medicated = bool(on_record or screened)
    discourages = stance == Group.MedicationStance.DISCOURAGES
    return rules.assess(
        rules.ChosenGroup(
            referral_id=referral_id,
            group_id=group_id,
            group_name=name,
            chosen_at=chosen_at,
            medicated=medicated,
            stance=Stance(stance),
            stance_since=stance_since if medicated and discourages else None,
            medicated_since=medicated_since if medicated and on_record else None,
            concerns=tuple(concerns) if medicated else (),
            decision=decision,
        ),
        now=now,
    )


def _bearing() -> Q:
    """Medication concerns that bear on VI.C now: open ones, confirmed ones (the listing
    removed) and those found unfounded (the alert says it cleared)."""
    return Q(concerns_medication=True) & (
        Q(resolved_at__isnull=True)
        | Q(outcome__in=[ReviewFlag.Outcome.GROUP_REMOVED, ReviewFlag.Outcome.UNFOUNDED])
    )


def _since_facts() -> dict:
    """For a chosen group: the latest stance history row's stance and the start of the run of
    "discourages", the latest medication history row of the client and the start of the run
    of "on medication" (subqueries)."""
    stance_latest, stance_since = _run(
        Group.history,
        OuterRef("group_id"),
        Q(medication_stance=Group.MedicationStance.DISCOURAGES),
    )
    medicated_latest, medicated_since = _run(
        Client.history, OuterRef("referral__client_id"), Q(on_prescribed_medication=True)
    )
    return {
        "vic_stance_latest": Subquery(stance_latest.values("medication_stance")[:1]),
        "vic_stance_since": Subquery(stance_since),
        "vic_medicated_latest": Subquery(medicated_latest.values("on_prescribed_medication")[:1]),
        "vic_medicated_since": Subquery(medicated_since),
    }


def _with_facts(rows):
    """``rows`` (chosen groups) with the facts VI.C decides from, as annotations: the latest
    decision, the start of the current run of the stance and of the client's medication in
    their histories (``_since_facts``), and the concerns that bear (``_concerns_listed``)."""
    decisions = MedicationSafetyDecision.objects.filter(
        referral_id=OuterRef("referral_id"), group_id=OuterRef("group_id")
    ).order_by("-decided_at", "-id")
    return rows.annotate(
        vic_decision_kind=Subquery(decisions.values("kind")[:1]),
        vic_decision_causes=Subquery(decisions.values("causes")[:1]),
        vic_decision_at=Subquery(decisions.values("decided_at")[:1]),
        vic_decision_reason=Subquery(decisions.values("reason")[:1]),
        vic_concerns=_concerns_listed(),
        **_since_facts(),
    )


def chosen_with_facts(rows):
    """``rows`` (chosen groups read as objects, a page's) with the facts VI.C decides from
    beside each, one row per group: the histories' runs (``_since_facts``) and the concerns
    that bear as JSON text (``referral_alerts`` reads them), so that the page's VI.C needs no
    query of its own beyond the decisions it lists."""
    return rows.annotate(vic_concerns=_concerns_listed(), **_since_facts())


def _concerns_listed() -> Subquery:
    """The chosen group's concerns that bear (``_bearing``) as JSON objects separated by
    commas (``_concerns_of`` reads them), one value per chosen group."""
    concerns = (
        ReviewFlag.objects.filter(_bearing(), group_id=OuterRef("group_id"))
        .order_by()
        .values("group_id")
        .annotate(
            listed=StringAgg(
                Cast(
                    JSONObject(
                        flag_id="id",
                        summary="summary",
                        opened_at="opened_at",
                        resolved_at="resolved_at",
                        outcome="outcome",
                    ),
                    TextField(),
                ),
                Value(","),
            )
        )
        .values("listed")
    )
    return Subquery(concerns, output_field=TextField())


def _concerns_of(text: str | None) -> list[rules.Concern]:
    """The concerns ``_concerns_listed`` wrote as JSON, oldest first."""
    concerns = [
        rules.Concern(
            flag_id=item["flag_id"],
            summary=item["summary"],
            opened_at=_moment(item["opened_at"]),
            resolved_at=_moment(item["resolved_at"]),
            outcome=item["outcome"],
        )
        for item in json.loads(f"[{text or ''}]")
    ]
    return sorted(concerns, key=lambda c: (c.opened_at, c.flag_id))


def _moment(text: str | None) -> datetime | None:
    # PostgreSQL writes the offset; SQLite stores UTC without one.
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def _run(history, pk, holds: Q):
    """For the history rows of one object (``pk``), in time order (date, then history id):
    the latest row, and the date the trailing run of rows for which ``holds`` is true began
    (the first such row after the latest that does not hold), as subqueries."""
    rows = history.filter(id=pk)
    latest = rows.order_by("-history_date", "-history_id")
    # Inside the start's subquery, the object is that subquery's own row's.
    breaks = (
        history.filter(id=OuterRef("id")).exclude(holds).order_by("-history_date", "-history_id")
    )
    break_at = Subquery(breaks.values("history_date")[:1])
    break_id = Subquery(breaks.values("history_id")[:1])
    # No break: every row is after it (a date before any history, not a NOT EXISTS, which
    # PostgreSQL may answer by hashing the whole history table).
    after = Coalesce(break_at, Value(EPOCH, output_field=DateTimeField()))
    start = (
        rows.filter(holds)
        .filter(Q(history_date__gt=after) | Q(history_date=break_at, history_id__gt=break_id))
        .order_by("history_date", "history_id")
        .values("history_date")[:1]
    )
    return latest, start


# --- what pages ask ------------------------------------------------------------------------------


def referral_alerts(
    referral: Referral, *, now: datetime | None = None, chosen: list[ReferredGroup] | None = None
) -> dict:
    """The referral page's VI.C section: every chosen group not plainly safe, and the decisions
    recorded (the referral's VI.C history).

    ``chosen``: the referral's chosen groups already read through ``chosen_with_facts``, with
    their listings (the referral read with its client and screening); the decisions recorded
    are read once and serve both the history and the assessment: one query then. Without
    them, the chosen groups are assessed in a second one. Either way, whatever the facts."""
    now = now or timezone.now()
    recorded = list(
        MedicationSafetyDecision.objects.filter(referral=referral)
        .select_related("group", "replacement", "decided_by")
        .order_by("-decided_at", "-id")
    )
    if chosen is None:
        assessed = assess_rows(
            ReferredGroup.objects.filter(referral=referral, referral__status__in=OPEN), now=now
        )
    elif referral.status not in OPEN:
        assessed = []
    else:
        # Newest first: the first seen per group is the decision in force.
        latest: dict[int, rules.Decision] = {}
        for d in recorded:
            latest.setdefault(
                d.group_id,
                rules.Decision(
                    kind=d.kind,
                    causes=frozenset(d.causes),
                    decided_at=d.decided_at,
                    reason=d.reason,
                ),
            )
        on_record = referral.client.on_prescribed_medication
        assessed = [
            _assess_one(
                (
                    referral.pk,
                    c.group_id,
                    c.group.name,
                    c.chosen_at,
                    c.group.medication_stance,
                    referral.client_id,
                    on_record,
                    referral.screening.on_prescribed_medication,
                ),
                decision=latest.get(c.group_id),
                concerns=_concerns_of(c.vic_concerns),
                stance_since=c.vic_stance_since
                if c.vic_stance_latest == Group.MedicationStance.DISCOURAGES
                else None,
                medicated_since=c.vic_medicated_since if c.vic_medicated_latest else None,
                now=now,
            )
            for c in sorted(chosen, key=_rank)
        ]
    shown = [a for a in assessed if a.state != rules.State.SAFE]
    return {
        "vic_alerts": [a for a in shown if a.state == rules.State.ALERT],
        "vic_kept": [a for a in shown if a.state == rules.State.KEPT],
        "vic_cleared": [a for a in shown if a.state == rules.State.CLEARED],
        "vic_decisions": recorded,
    }


def _rank(chosen: ReferredGroup) -> tuple:
    # As the rows' query orders them on PostgreSQL: unranked choices last.
    return (chosen.suggested_rank is None, chosen.suggested_rank or 0, chosen.pk)


def withheld_group_ids(referral: Referral, *, now: datetime | None = None) -> set[int]:
    """Chosen groups the client's sheet no longer offers (VI.C rules them out now)."""
    return {
        a.group_id for a in assess_rows(unsafe_candidates([referral.pk]), now=now) if not a.offered
    }


def paused_referral_ids(referrals=None, *, now: datetime | None = None) -> set[int]:
    """Open referrals none of whose chosen groups may still be offered: their follow-up
    reminders stop (they would encourage going to a group VI.C now rules out)."""
    withheld: defaultdict[int, set[int]] = defaultdict(set)
    for a in assess_rows(unsafe_candidates(referrals), now=now):
        if not a.offered:
            withheld[a.referral_id].add(a.group_id)
    if not withheld:
        return set()
    chosen: defaultdict[int, set[int]] = defaultdict(set)
    for referral_id, group_id in ReferredGroup.objects.filter(referral_id__in=withheld).values_list(
        "referral_id", "group_id"
    ):
        chosen[referral_id].add(group_id)
    return {pk for pk, groups in chosen.items() if groups <= withheld[pk]}


def clinic_figures(clinic_id: int, *, start: datetime, end: datetime, now=None):
    """The supervisor's review: a clinic's VI.C alerts open now, and those closed in the period
    (decided by the clinician, or cleared by a concern found unfounded), with how long each
    stayed open."""
    now = now or timezone.now()
    open_now = [
        a for a in assess_rows(unsafe_candidates(clinic_id=clinic_id), now=now) if a.needs_decision
    ]
    # Every decision up to the period's end: those in the period are counted, and any of them
    # may already have closed an alert that a concern found unfounded later would "clear".
    decisions = list(
        MedicationSafetyDecision.objects.filter(referral__clinic_id=clinic_id, decided_at__lt=end)
        .order_by()
        .values_list("referral_id", "group_id", "alert_since", "decided_at")
    )
    decided = [(since, at) for _, _, since, at in decisions if at >= start]
    decided_at: dict[tuple[int, int], list] = {}
    for referral_id, group_id, _, at in decisions:
        decided_at.setdefault((referral_id, group_id), []).append(at)
    # Cleared: a medication concern found unfounded in the period, about a group chosen for
    # a medicated client of the clinic before it was resolved.
    cleared = list(
        ReferredGroup.objects.filter(referral__clinic_id=clinic_id)
        .filter(_medicated())
        .filter(
            group__review_flags__concerns_medication=True,
            group__review_flags__outcome=ReviewFlag.Outcome.UNFOUNDED,
            group__review_flags__resolved_at__gte=start,
            group__review_flags__resolved_at__lt=end,
        )
        .exclude(group__medication_stance=Group.MedicationStance.DISCOURAGES)
        .order_by()
        .values_list(
            "referral_id",
            "group_id",
            "chosen_at",
            "group__review_flags__opened_at",
            "group__review_flags__resolved_at",
        )
    )
    # An alert the clinician had already decided is counted once, as decided, not again as
    # cleared when the concern behind it is later found unfounded.
    closed_cleared = [
        (max(chosen_at, opened_at), resolved_at)
        for referral_id, group_id, chosen_at, opened_at, resolved_at in cleared
        if chosen_at < resolved_at
        and not any(
            max(chosen_at, opened_at) <= at <= resolved_at
            for at in decided_at.get((referral_id, group_id), ())
        )
    ]
    return rules.figures(
        open_since=[a.since for a in open_now],
        closed=decided + closed_cleared,
        decided=len(decided),
        cleared=len(closed_cleared),
        now=now,
    )
