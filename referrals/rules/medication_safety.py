"""VI.C after the referral: is a group already chosen for a client still safe for them?

VI.C: "For clients who are taking appropriately prescribed psychiatric medication, referrals
should not be made to self-help groups where members encourage clients to stop taking their
psychiatric medications against physician advice, or where mental health consumers are not
treated as full members of the group because of their prescribed medication use."

Matching applies VI.C when groups are chosen; this module applies it at every moment after,
from the facts as they are now: the listing's stance, its medication concerns (open, or
confirmed by a site admin who removed the listing), and whether the client takes prescribed
medication. Selectors pass those facts in; nothing here is stored, so whatever path changed a
fact (a form, the admin, an import, a bulk update) the answer follows it.

A chosen group is, for its referral:

- ``SAFE``: nothing makes it unsafe (or the client takes no prescribed medication);
- ``ALERT``: unsafe, and the clinician has not answered every current cause; it heads their
  worklist, the client's sheet and follow-up reminders leave it out;
- ``KEPT``: unsafe, but the clinician kept it with a reason after discussing it with the client
  and prescriber, answering every current cause; it leaves the worklist's head, and the sheet
  and reminders still leave it out (VI.C: no referral is made to it);
- ``CLEARED``: a concern that made it unsafe was resolved as unfounded, recently; the alert
  cleared by itself and says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from referrals.rules.matching import Stance

VI_C = "VI.C"

# How long the page says that an alert cleared by itself (a concern found unfounded).
CLEARED_SHOWN_FOR = timedelta(days=30)

# The outcomes a site admin gives a medication concern (``ReviewFlag.Outcome`` values).
UNFOUNDED = "unfounded"
STANCE_CHANGED = "stance-changed"
GROUP_REMOVED = "group-removed"

# The decisions a clinician records (``MedicationSafetyDecision.Kind`` values).
REMOVED = "removed"
REPLACED = "replaced"
KEPT = "kept"
DECISIONS = (REMOVED, REPLACED, KEPT)

# Both limbs, in the policy's words.
STANCE_UNSAFE = (
    "the listing now records that members encourage clients to stop taking their psychiatric "
    "medications against physician advice, or that members are not treated as full members "
    "because of their prescribed medication use"
)


class State(StrEnum):
    SAFE = "safe"
    ALERT = "alert"
    KEPT = "kept"
    CLEARED = "cleared"


@dataclass(frozen=True)
class Concern:
    """A medication concern about the listing (a ``ReviewFlag`` with ``concerns_medication``)."""

    flag_id: int
    summary: str
    opened_at: datetime
    resolved_at: datetime | None = None
    outcome: str = ""  # "" while open


@dataclass(frozen=True)
class Decision:
    """The clinician's latest answer for this group on this referral."""

    kind: str  # one of DECISIONS
    causes: frozenset[str]
    decided_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class ChosenGroup:
    """One chosen group of an open referral, with the facts VI.C is decided from."""

    referral_id: int
    group_id: int
    group_name: str
    chosen_at: datetime
    medicated: bool  # the screening or the client's current record says so
    stance: Stance = Stance.NOT_KNOWN
    # When the current stance was recorded; None when no record says (a bulk update).
    stance_since: datetime | None = None
    # When the client's record last changed to "on medication"; None when not recorded.
    medicated_since: datetime | None = None
    concerns: tuple[Concern, ...] = ()
    decision: Decision | None = None


@dataclass(frozen=True)
class Change:
    """What made the group unsafe, and when (None: the date was not recorded)."""

    cause: str  # "stance", "concern:<flag id>", "confirmed:<flag id>", "medication"
    what: str
    when: datetime | None


@dataclass(frozen=True)
class Assessment:
    referral_id: int
    group_id: int
    group_name: str
    state: State
    changes: tuple[Change, ...] = ()
    # When the group became unsafe for this referral (None: not recorded).
    since: datetime | None = None
    cleared_by: tuple[Concern, ...] = ()  # concerns resolved as unfounded (CLEARED)
    decision: Decision | None = None

    clause = VI_C

    @property
    def needs_decision(self) -> bool:
        return self.state == State.ALERT

    @property
    def offered(self) -> bool:
        """Whether the client's sheet and reminders may still offer the group."""
        return self.state in (State.SAFE, State.CLEARED)

    @property
    def causes(self) -> frozenset[str]:
        return frozenset(c.cause for c in self.changes if c.cause != "medication")


def assess(group: ChosenGroup, *, now: datetime) -> Assessment:
    """VI.C for one chosen group, from current facts."""

    def result(state: State, **kwargs) -> Assessment:
        return Assessment(
            referral_id=group.referral_id,
            group_id=group.group_id,
            group_name=group.group_name,
            state=state,
            decision=group.decision,
            **kwargs,
        )

    causes = _causes(group)
    if not group.medicated:
        return result(State.SAFE)
    if not causes:
        cleared = tuple(
            concern
            for concern in group.concerns
            if concern.outcome == UNFOUNDED
            and concern.resolved_at is not None
            and concern.resolved_at >= group.chosen_at
            and concern.resolved_at >= now - CLEARED_SHOWN_FOR
        )
        return result(State.CLEARED if cleared else State.SAFE, cleared_by=cleared)
    changes = list(causes)
    if group.medicated_since is not None and group.medicated_since > group.chosen_at:
        changes.append(
            Change(
                cause="medication",
                what="the client's record now says they take prescribed psychiatric medication",
                when=group.medicated_since,
            )
        )
    since = _since(group, causes)
    decision = group.decision
    answered = (
        decision is not None
        and decision.kind == KEPT
        and {c.cause for c in causes} <= decision.causes
    )
    return result(State.KEPT if answered else State.ALERT, changes=tuple(changes), since=since)


def _causes(group: ChosenGroup) -> list[Change]:
    causes = []
    if group.stance == Stance.DISCOURAGES:
        causes.append(Change(cause="stance", what=STANCE_UNSAFE, when=group.stance_since))
    for concern in group.concerns:
        if concern.resolved_at is None:
            causes.append(
                Change(
                    cause=f"concern:{concern.flag_id}",
                    what=(
                        "a medication concern was reported and a site admin has not yet "
                        f"resolved it: {concern.summary}"
                    ),
                    when=concern.opened_at,
                )
            )
        elif concern.outcome == GROUP_REMOVED:
            causes.append(
                Change(
                    cause=f"confirmed:{concern.flag_id}",
                    what=(
                        "a site admin confirmed a medication concern and removed the listing "
                        f"from the referral list: {concern.summary}"
                    ),
                    when=concern.resolved_at,
                )
            )
    return causes


def _since(group: ChosenGroup, causes: list[Change]) -> datetime | None:
    """When the group became unsafe for this referral: the earliest cause, not before the
    group was chosen nor before the client's record said they take medication. None when a
    cause's date was not recorded (the alert says so rather than guessing)."""
    times = [c.when for c in causes]
    if any(when is None for when in times):
        return None
    moments = [group.chosen_at, min(times)]  # type: ignore[type-var]
    if group.medicated_since is not None:
        moments.append(group.medicated_since)
    return max(moments)


# --- the clinician's decision ------------------------------------------------------------------


def check_decision(*, kind: str, reason: str, discussed: bool, replacement: bool) -> list[str]:
    """What is missing from a decision about an alert; empty when it may be recorded.

    Keeping a group VI.C now rules out needs the reason, after discussing it with the client and
    their prescriber; choosing another needs the other group."""
    errors = []
    if kind not in DECISIONS:
        errors.append("Choose what to do about the group: remove it, choose another, or keep it.")
        return errors
    if kind == KEPT:
        if not reason.strip():
            errors.append("Say why the group is kept: the reason is kept with the referral.")
        if not discussed:
            errors.append(
                "Keep the group only after discussing it with the client and their prescriber."
            )
    if kind == REPLACED and not replacement:
        errors.append("Pick the group to refer to instead.")
    return errors


# --- the supervisor's review -------------------------------------------------------------------


@dataclass(frozen=True)
class AlertFigures:
    """VI.C alerts at a clinic: how many, and how long they stayed open."""

    open_now: int
    decided: int
    cleared: int  # closed by a concern found unfounded
    # Hours open: of those decided or cleared in the period, and of those still open now.
    median_hours_to_close: float | None
    longest_hours_to_close: float | None
    longest_open_hours: float | None
    undated: int  # alerts whose start was not recorded (not in the hours)


def figures(
    *,
    open_since: Iterable[datetime | None],
    closed: Iterable[tuple[datetime | None, datetime]],
    decided: int,
    cleared: int,
    now: datetime,
) -> AlertFigures:
    """``open_since``: the start of each alert open now; ``closed``: (start, end) of each alert
    decided or cleared in the period."""
    open_since = list(open_since)
    closed = list(closed)
    durations = sorted(_hours(end - start) for start, end in closed if start is not None)
    open_hours = [_hours(now - start) for start in open_since if start is not None]
    undated = sum(1 for s in open_since if s is None) + sum(1 for s, _ in closed if s is None)
    return AlertFigures(
        open_now=len(open_since),
        decided=decided,
        cleared=cleared,
        median_hours_to_close=_median(durations),
        longest_hours_to_close=durations[-1] if durations else None,
        longest_open_hours=max(open_hours) if open_hours else None,
        undated=undated,
    )


def _hours(delta: timedelta) -> float:
    return round(max(delta.total_seconds(), 0) / 3600, 1)


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return round((values[middle - 1] + values[middle]) / 2, 1)
