"""Reads for VI.C after the referral: the facts ``rules/medication_safety.py`` decides from.

Nothing here reads a stored "unsafe" mark: every answer is derived from the listing's current
stance, its medication concerns, the client's current record and the clinician's decisions, so
it holds whatever changed them (a form, the admin, an import, ``QuerySet.update``). History
tables only date the change; when a change left no history (a bulk update), the date is
"not recorded" and the group is unsafe all the same.

Every function costs a fixed number of queries whatever the number of referrals: the chosen
groups, their concerns, the stance and medication histories, and the decisions, each one query.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from clients.models import Client
from directory.models import Group, ReviewFlag
from referrals.models import MedicationSafetyDecision, Referral, ReferredGroup
from referrals.rules import medication_safety as rules
from referrals.rules.matching import Stance

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


def unsafe_candidates(referrals=None):
    """Chosen groups of open referrals that may be unsafe now: the client is medicated and the
    group discourages medication or has an open or confirmed concern. ``assess`` decides."""
    rows = ReferredGroup.objects.filter(referral__status__in=OPEN).filter(
        _medicated(), _unsafe_group()
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


def assess_rows(rows, *, now: datetime | None = None) -> list[rules.Assessment]:
    """Each ``ReferredGroup`` of ``rows`` (a queryset) assessed under VI.C: five queries."""
    return [assessment for assessment, _ in assess_rows_with(rows, now=now)]


def assess_rows_with(rows, *, now: datetime | None = None, extra=()) -> list[tuple]:
    """``assess_rows``, each assessment with the values of ``extra`` (fields or annotations
    of ``rows``) read in the same query: ``[(assessment, (value, ...)), ...]``."""
    n = len(ASSESSED)
    chosen = list(
        rows.order_by("referral_id", "suggested_rank", "id").values_list(*ASSESSED, *extra)
    )
    if not chosen:
        return []
    assessed = _assess([row[:n] for row in chosen], _decisions({row[0] for row in chosen}), now=now)
    return [(assessment, row[n:]) for assessment, row in zip(assessed, chosen, strict=True)]


def _assess(chosen: list[tuple], decisions: dict, *, now: datetime | None) -> list:
    """VI.C for rows (referral, group, name, chosen at, stance, client, on the record, screened)
    and the latest decisions: up to three queries (concerns, stance and medication histories),
    none when no client of the rows takes prescribed medication (VI.C asks nothing then)."""
    now = now or timezone.now()
    medicated_rows = [row for row in chosen if row[6] or row[7]]
    concerns = _concerns({row[1] for row in medicated_rows}) if medicated_rows else {}
    stance_since = _stance_since(
        {row[1] for row in medicated_rows if row[4] == Group.MedicationStance.DISCOURAGES}
    )
    medicated_since = _medicated_since({row[5] for row in medicated_rows if row[6]})
    assessed = []
    for referral_id, group_id, name, chosen_at, stance, client_id, on_record, screened in chosen:
        assessed.append(
            rules.assess(
                rules.ChosenGroup(
                    referral_id=referral_id,
                    group_id=group_id,
                    group_name=name,
                    chosen_at=chosen_at,
                    medicated=bool(on_record or screened),
                    stance=Stance(stance),
                    stance_since=stance_since.get(group_id),
                    medicated_since=medicated_since.get(client_id) if on_record else None,
                    concerns=tuple(concerns.get(group_id, ())),
                    decision=decisions.get((referral_id, group_id)),
                ),
                now=now,
            )
        )
    return assessed


def _concerns(group_ids) -> dict[int, list[rules.Concern]]:
    """Medication concerns that bear on VI.C now: open ones, confirmed ones (the listing
    removed) and those found unfounded (the alert says it cleared)."""
    found: defaultdict[int, list[rules.Concern]] = defaultdict(list)
    for group_id, pk, summary, opened_at, resolved_at, outcome in (
        ReviewFlag.objects.filter(group_id__in=group_ids, concerns_medication=True)
        .filter(
            Q(resolved_at__isnull=True)
            | Q(outcome__in=[ReviewFlag.Outcome.GROUP_REMOVED, ReviewFlag.Outcome.UNFOUNDED])
        )
        .order_by("group_id", "opened_at", "id")
        .values_list("group_id", "id", "summary", "opened_at", "resolved_at", "outcome")
    ):
        found[group_id].append(
            rules.Concern(
                flag_id=pk,
                summary=summary,
                opened_at=opened_at,
                resolved_at=resolved_at,
                outcome=outcome,
            )
        )
    return found


def _run_start(rows, holds) -> dict[int, datetime | None]:
    """For rows (key, when, value) in time order per key: when the trailing run of values for
    which ``holds`` is true began; None when the latest row does not hold (the current value
    came by a path that wrote no history)."""
    start: dict[int, datetime | None] = {}
    for key, when, value in rows:
        if holds(value):
            if start.get(key) is None:
                start[key] = when
        else:
            start[key] = None
    return start


def _stance_since(group_ids) -> dict[int, datetime | None]:
    if not group_ids:
        return {}
    rows = (
        Group.history.filter(id__in=group_ids)
        .order_by("id", "history_date", "history_id")
        .values_list("id", "history_date", "medication_stance")
    )
    return _run_start(rows, lambda stance: stance == Group.MedicationStance.DISCOURAGES)


def _medicated_since(client_ids) -> dict[int, datetime | None]:
    if not client_ids:
        return {}
    rows = (
        Client.history.filter(id__in=client_ids)
        .order_by("id", "history_date", "history_id")
        .values_list("id", "history_date", "on_prescribed_medication")
    )
    return _run_start(rows, bool)


def _decisions(referral_ids) -> dict[tuple[int, int], rules.Decision]:
    """The latest decision per (referral, group)."""
    latest: dict[tuple[int, int], rules.Decision] = {}
    for referral_id, group_id, kind, causes, decided_at, reason in (
        MedicationSafetyDecision.objects.filter(referral_id__in=referral_ids)
        .order_by("decided_at", "id")
        .values_list("referral_id", "group_id", "kind", "causes", "decided_at", "reason")
    ):
        latest[(referral_id, group_id)] = rules.Decision(
            kind=kind, causes=frozenset(causes), decided_at=decided_at, reason=reason
        )
    return latest


# --- what pages ask ------------------------------------------------------------------------------


def referral_alerts(
    referral: Referral, *, now: datetime | None = None, chosen: list[ReferredGroup] | None = None
) -> dict:
    """The referral page's VI.C section: every chosen group not plainly safe, and the decisions
    recorded (the referral's VI.C history).

    ``chosen``: the referral's chosen groups already read, with their listings (the referral
    read with its client and screening); the decisions recorded are read once and serve both
    the history and the assessment. Two queries then, and up to three more when the client
    takes prescribed medication (the concerns, and the stance and medication histories)."""
    recorded = list(
        MedicationSafetyDecision.objects.filter(referral=referral)
        .select_related("group", "replacement", "decided_by")
        .order_by("-decided_at", "-id")
    )
    if referral.status not in OPEN:
        assessed = []
    elif chosen is None:
        assessed = assess_rows(ReferredGroup.objects.filter(referral=referral), now=now)
    else:
        rows = [
            (
                referral.pk,
                c.group_id,
                c.group.name,
                c.chosen_at,
                c.group.medication_stance,
                referral.client_id,
                referral.client.on_prescribed_medication,
                referral.screening.on_prescribed_medication,
            )
            for c in sorted(chosen, key=_rank)
        ]
        # Newest first: the first seen per group is the decision in force.
        latest: dict[tuple[int, int], rules.Decision] = {}
        for d in recorded:
            latest.setdefault(
                (d.referral_id, d.group_id),
                rules.Decision(
                    kind=d.kind,
                    causes=frozenset(d.causes),
                    decided_at=d.decided_at,
                    reason=d.reason,
                ),
            )
        assessed = _assess(rows, latest, now=now) if rows else []
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


def pending_alerts(user, *, now: datetime | None = None) -> list[rules.Assessment]:
    """The clinician's own alerts awaiting a decision, oldest first (undated ones first: the
    longest they can have waited is unknown)."""
    if user.clinic_id is None:
        return []
    rows = unsafe_candidates().filter(referral__clinic_id=user.clinic_id, referral__clinician=user)
    alerts = [a for a in assess_rows(rows, now=now) if a.needs_decision]
    return sorted(alerts, key=lambda a: (a.since is not None, a.since or now, a.referral_id))


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
        a
        for a in assess_rows(unsafe_candidates().filter(referral__clinic_id=clinic_id), now=now)
        if a.needs_decision
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
