"""The referral procedure of policy 04.9, VIII.A–K, and the referral's status, as pure rules.

Services read a referral, its steps, chosen groups, attendance and peer contacts into
``ReferralFacts``, ask these functions what may happen, and store the result; values are the
model choices' strings. The order the policy needs is data, in ``STEPS``: each step names the
steps that must be settled (done, or not applicable with a reason) before it, and whether it
needs a chosen group or documented attendance, with the policy's reasons beside each definition.

Which steps may be "not applicable" follows the policy's wording:
- four are conditional: VIII.C "When possible" (the phone introduction), VIII.D "When another
  client ... is not available" and "may be referred", VIII.H "Whenever possible", VIII.K
  "suitable clients";
- the other seven (A, B, E, F, G, I, J) say "should" without a condition, so they are never
  marked not applicable: declining is done by closing the referral (VII.E), not by skipping.

VIII.D exists only for when the VIII.C introduction could not happen: when C is done, D is never
waiting and counts as settled (``effective_status``), so a referral can reach 11 of 11 without a
clinician marking D by hand. Marking D not applicable with a reason stays allowed, for the record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Step(StrEnum):
    """The same values as ``referrals.models.ProcedureStep.Code``."""

    A = "VIII.A"
    B = "VIII.B"
    C = "VIII.C"
    D = "VIII.D"
    E = "VIII.E"
    F = "VIII.F"
    G = "VIII.G"
    H = "VIII.H"
    I = "VIII.I"  # noqa: E741 (the policy's letter)
    J = "VIII.J"
    K = "VIII.K"


class StepStatus(StrEnum):
    """The same values as ``referrals.models.ProcedureStep.Status``."""

    PENDING = "pending"
    DONE = "done"
    NOT_APPLICABLE = "not-applicable"


class Status(StrEnum):
    """The same values as ``referrals.models.Referral.Status``."""

    PREPARING = "preparing"
    REFERRED = "referred"
    ATTENDING = "attending"
    ENGAGED = "engaged"
    CLOSED = "closed"


class CloseReason(StrEnum):
    """The same values as ``referrals.models.Referral.CloseReason``."""

    COMPLETED = "completed"
    DECLINED = "declined"
    LOST_CONTACT = "lost-contact"
    NOT_ELIGIBLE = "not-eligible"
    IN_ERROR = "in-error"


APPROVED = "approved"  # Referral.Approval.APPROVED
DECLINED = "declined"  # Referral.Approval.DECLINED

# VIII.G: clients "should be encouraged to attend six scheduled self-help meetings in a row":
# the encouragement and the "engaged" status use it; nothing requires it.
MEETINGS_IN_A_ROW = 6
# VIII.H: "the first three sessions".
ADVOCATE_SESSIONS = (1, 2, 3)

# What a service may store as the reason when it marks VIII.D not applicable after VIII.C.
D_NOT_NEEDED_REASON = "The client was introduced by phone to a peer who attends the group (VIII.C)."


@dataclass(frozen=True)
class StepDefinition:
    step: Step
    title: str  # the same words as ProcedureStep.Code's label
    policy_text: str  # verbatim from the policy (line breaks joined)
    # Steps that must be settled (done or not applicable) before this one may be recorded.
    requires: tuple[Step, ...]
    needs_groups_chosen: bool
    needs_attendance: bool
    may_be_not_applicable: bool
    what_to_do: str  # one plain sentence for the clinician
    # Steps that must have been marked not applicable before this one may be done (VIII.D:
    # only when the VIII.C introduction could not happen).
    requires_not_applicable: tuple[Step, ...] = ()

    @property
    def code(self) -> str:
        return self.step.value


STEPS: tuple[StepDefinition, ...] = (
    StepDefinition(
        Step.A,
        "Counselled on the benefits",
        "Clients should be counseled as to the benefits of their attending a self-help group.",
        # The first step: nothing comes before it. Never not applicable: every client referred
        # is counselled, and VI.B counts disinterest only "after adequate explanation".
        requires=(),
        needs_groups_chosen=False,
        needs_attendance=False,
        may_be_not_applicable=False,
        what_to_do="Explain to the client how attending a self-help group could help them.",
    ),
    StepDefinition(
        Step.B,
        "Goals, location, language and approval",
        "With client input and approval, the clinician should collect the following "
        "information in preparation for referral: Client goal(s) in group attendance, most "
        "convenient location for group attendance, and any specific cultural or linguistic "
        "needs.",
        # After A: the client approves once the benefits have been explained (VI.B "after
        # adequate explanation"). Done only with the client's approval ("With client input and
        # approval"); never not applicable, a client who declines closes the referral (VII.E).
        requires=(Step.A,),
        needs_groups_chosen=False,
        needs_attendance=False,
        may_be_not_applicable=False,
        what_to_do=(
            "With the client, write down their goals for attending, the most convenient place "
            "to attend and any cultural or language needs, and record that they approve."
        ),
    ),
    StepDefinition(
        Step.C,
        "Referred to a group; phone introduction to a peer",
        "Clinician may directly refer a client to a specific self-help group, based upon "
        "his/her personal knowledge or clinic referral lists. When possible, the client should "
        "be introduced on the clinician’s telephone to another consumer attending that group. "
        "Anonymity during referral should be maintained (e.g., introduce the individuals by "
        "first name only).",
        # B is collected "in preparation for referral", and the introduction is to a consumer
        # "attending that group": a group must be chosen. "When possible": not applicable, with
        # the reason, when no consenting peer contact attends the chosen groups.
        requires=(Step.B,),
        needs_groups_chosen=True,
        needs_attendance=False,
        may_be_not_applicable=True,
        what_to_do=(
            "Introduce the client by phone to a peer contact who attends the chosen group, "
            "using first names only."
        ),
    ),
    StepDefinition(
        Step.D,
        "SHARE! and the Friendship Line given",
        "When another client already attending the self-help group is not available, the "
        "client may be referred to SHARE! the Self-Help And Recovery Exchange [toll free "
        "1-877-SHARE-49] and also given the phone number and evening hours for the Friendship "
        "Line [(888) 448-9777, 6:00 p.m.-10:00 p.m.] to speak with a consumer involved in "
        "self-help groups/activities.",
        # "When another client already attending the self-help group is not available": only
        # once VIII.C's introduction was marked not applicable. "may be referred": not
        # applicable is allowed, with a reason.
        requires=(Step.B,),
        needs_groups_chosen=True,
        needs_attendance=False,
        may_be_not_applicable=True,
        what_to_do=(
            "Give the client SHARE!'s toll-free number and the Friendship Line's number and "
            "evening hours, so they can talk with a consumer involved in self-help."
        ),
        requires_not_applicable=(Step.C,),
    ),
    StepDefinition(
        Step.E,
        "Client Coalition contact given",
        "Clinicians should also give clients the contact information for the Client Coalition "
        "(LAC DMH Office of Consumer Affairs: (213) 637-2370",
        # "also": part of the referral, after B and with a group chosen. Never not applicable:
        # the policy asks it of every referral.
        requires=(Step.B,),
        needs_groups_chosen=True,
        needs_attendance=False,
        may_be_not_applicable=False,
        what_to_do="Give the client the contact information for the Client Coalition.",
    ),
    StepDefinition(
        Step.F,
        "Etiquette discussed",
        "Clinicians should discuss general and specific self-help group etiquette with the "
        "client. For example, the clinician might describe the appropriate focus of group "
        "sharing in 12-step programs.",
        # "specific self-help group etiquette" is the chosen group's: a group must be chosen.
        # Never not applicable: general etiquette applies to every group.
        requires=(Step.B,),
        needs_groups_chosen=True,
        needs_attendance=False,
        may_be_not_applicable=False,
        what_to_do=(
            "Talk through what to expect at the group and its etiquette, such as the focus of "
            "sharing."
        ),
    ),
    StepDefinition(
        Step.G,
        "Six meetings in a row encouraged",
        "Clients should be encouraged to attend six scheduled self-help meetings in a row and "
        "regularly thereafter.",
        # The meetings are the chosen group's. Never not applicable: asked of every client.
        requires=(Step.B,),
        needs_groups_chosen=True,
        needs_attendance=False,
        may_be_not_applicable=False,
        what_to_do=(
            "Encourage the client to attend six scheduled meetings in a row, and regularly "
            "after that."
        ),
    ),
    StepDefinition(
        Step.H,
        "Peer advocate for the first three sessions",
        "Whenever possible, peer advocates should accompany the clients to the first three "
        "sessions.",
        # The sessions are the chosen group's. "Whenever possible": not applicable, with the
        # reason, when no peer advocate can go.
        requires=(Step.B,),
        needs_groups_chosen=True,
        needs_attendance=False,
        may_be_not_applicable=True,
        what_to_do=(
            "If a peer advocate is available, arrange for them to go with the client to the "
            "first three sessions, and record which sessions they went to."
        ),
    ),
    StepDefinition(
        Step.I,
        "Reporting back at appointments",
        "Clients should be encouraged to report on their experience of self-help groups or "
        "programs during their regular clinical appointments.",
        # There is something to report on once a group is chosen. Never not applicable.
        requires=(Step.B,),
        needs_groups_chosen=True,
        needs_attendance=False,
        may_be_not_applicable=False,
        what_to_do=(
            "Ask the client to tell you about their experience of the group at their regular "
            "appointments."
        ),
    ),
    StepDefinition(
        Step.J,
        "Reminders at regular intervals",
        "At regular intervals clinicians should actively encourage clients to attend the "
        "self-help groups through reminders about goals and benefits.",
        # "attend the self-help groups": the chosen ones; the goals are B's. Never not
        # applicable.
        requires=(Step.B,),
        needs_groups_chosen=True,
        needs_attendance=False,
        may_be_not_applicable=False,
        what_to_do=(
            "Set up follow-ups that remind the client, at regular intervals, of their goals "
            "and the benefits of attending."
        ),
    ),
    StepDefinition(
        Step.K,
        "Asked to be a contact person",
        "Clinicians should ask suitable clients if they would like to be a contact person for "
        "the group they attend.",
        # "the group they attend": only once an attendance is documented. "suitable clients":
        # not applicable, with the reason, for a client who is not suitable.
        requires=(Step.B,),
        needs_groups_chosen=True,
        needs_attendance=True,
        may_be_not_applicable=True,
        what_to_do=(
            "Ask the client whether they would like to be a contact person for the group they "
            "attend, and record their answer."
        ),
    ),
)

STEPS_BY_CODE: dict[str, StepDefinition] = {d.code: d for d in STEPS}


@dataclass(frozen=True)
class ReferralFacts:
    status: Status
    close_reason: str = ""
    approval: str = "pending"  # "pending" | "approved" | "declined"
    groups_chosen: int = 0
    attended: int = 0  # meetings attended, documented (IX.A)
    six_in_a_row: bool = False  # six scheduled meetings in a row reached (computed elsewhere)
    steps: Mapping[str, StepStatus] = field(default_factory=dict)  # missing codes: pending
    active_peer_contacts: int = 0  # consenting, not withdrawn, for the chosen groups
    # VIII.J: the referral's follow-ups, how many are recorded, the next one still open and
    # whether one is due (today or overdue). The step follows these, never a stored flag.
    followups_scheduled: int = 0
    followups_done: int = 0
    next_followup_on: date | None = None
    followup_due_now: bool = False

    def step_status(self, step: Step | str) -> StepStatus:
        """The recorded status of a step (pending when not recorded)."""
        return StepStatus(self.steps.get(str(step), StepStatus.PENDING))

    @property
    def is_closed(self) -> bool:
        return self.status == Status.CLOSED or bool(self.close_reason)


@dataclass(frozen=True)
class Problem:
    step: str  # a step code, or "" for the referral as a whole
    code: str
    message: str


def _name(step: Step | str) -> str:
    """'VIII.E (Client Coalition contact given)'."""
    return f"{step} ({STEPS_BY_CODE[str(step)].title})"


# What to do first, when a later step needs this one settled.
_DO_FIRST = {
    Step.A: "Counsel the client on the benefits of self-help (VIII.A)",
    Step.B: "Record the client's goals, location, language and approval (VIII.B)",
}


def followups_settled(facts: ReferralFacts) -> bool:
    """VIII.J "At regular intervals ... reminders": done only once the reminders happened, that
    is every follow-up of the referral is recorded (or the referral is closed). Scheduling them
    is not doing them."""
    if facts.is_closed:
        return True
    return facts.followups_scheduled >= 1 and facts.followups_done >= facts.followups_scheduled


def followup_summary(facts: ReferralFacts) -> str:
    """VIII.J as the checklist shows it: "1 of 3 follow-ups done, next on 2026-12-14"."""
    total = facts.followups_scheduled
    if total < 1:
        return "No follow-ups scheduled yet."
    text = f"{facts.followups_done} of {total} follow-up{'s' if total != 1 else ''} done"
    if facts.next_followup_on is not None and not facts.is_closed:
        text += f", next on {facts.next_followup_on.isoformat()}"
    return text + "."


def effective_status(step: Step | str, facts: ReferralFacts) -> StepStatus:
    """A step's status as the procedure counts it: as recorded, except that VIII.D is not
    needed (so not applicable) once VIII.C's introduction took place ("When another client
    already attending ... is not available"), and VIII.J is derived from its follow-ups
    (``followups_settled``), whatever was stored."""
    if str(step) == Step.J:
        return StepStatus.DONE if followups_settled(facts) else StepStatus.PENDING
    recorded = facts.step_status(step)
    if (
        str(step) == Step.D
        and recorded == StepStatus.PENDING
        and facts.step_status(Step.C) == StepStatus.DONE
    ):
        return StepStatus.NOT_APPLICABLE
    return recorded


def _settled(step: Step, facts: ReferralFacts) -> bool:
    return facts.step_status(step) in (StepStatus.DONE, StepStatus.NOT_APPLICABLE)


def _unknown(step: Step | str) -> list[Problem]:
    return [Problem(str(step), "unknown-step", f"{step} is not a step of the procedure VIII.")]


def _closed(step: Step | str) -> Problem:
    return Problem(
        str(step),
        "closed",
        f"This referral is closed: {step} can no longer be recorded.",
    )


def _order_problems(defn: StepDefinition, facts: ReferralFacts) -> list[Problem]:
    """What must happen before the step, whether it is then done or marked not applicable:
    the steps it requires, a chosen group, a documented attendance."""
    code = defn.code
    problems = [
        Problem(
            code, "requires-step", f"{_DO_FIRST.get(before, f'Record {before}')} before {code}."
        )
        for before in defn.requires
        if not _settled(before, facts)
    ]
    if defn.needs_groups_chosen and facts.groups_chosen < 1:
        if facts.approval != APPROVED:
            message = (
                f"Record the client's approval (VIII.B) and choose a group with them (VIII.C) "
                f"before {code}."
            )
        elif defn.step == Step.C:
            message = "Choose a group with the client before recording the introduction (VIII.C)."
        else:
            message = f"Choose a group with the client (VIII.C) before {code}."
        problems.append(Problem(code, "needs-groups", message))
    for before in defn.requires_not_applicable:
        if facts.step_status(before) == StepStatus.PENDING:
            problems.append(
                Problem(
                    code,
                    "requires-not-applicable",
                    f"{code} is for when no peer is available: try the phone introduction "
                    f"({before}) first, or mark {before} not applicable with the reason.",
                )
            )
    if defn.needs_attendance and facts.attended < 1:
        problems.append(
            Problem(
                code,
                "needs-attendance",
                f"Document a meeting the client attended before {code}: the policy asks about "
                "the group they attend.",
            )
        )
    return problems


def _blocking_problems(defn: StepDefinition, facts: ReferralFacts) -> list[Problem]:
    """Why the step cannot be done now, whatever the clinician does within the step itself."""
    problems = _order_problems(defn, facts)
    code = defn.code
    if defn.step == Step.B and facts.approval == DECLINED:
        # VII.E: encouraged, not required. A client who declined is not talked round.
        problems.append(
            Problem(
                code,
                "client-declined",
                "The client declined the referral (VII.E): VIII.B cannot be done. Close the "
                "referral as declined.",
            )
        )
    for before in defn.requires_not_applicable:
        if facts.step_status(before) == StepStatus.DONE:
            problems.append(
                Problem(
                    code,
                    "peer-introduced",
                    f"The client was introduced to a peer ({before}), so {code} is not "
                    f"needed: mark {code} not applicable instead.",
                )
            )
    return problems


def completion_problems(step: Step | str, facts: ReferralFacts) -> list[Problem]:
    """Why ``step`` cannot be marked done now; empty when it may be."""
    if str(step) not in STEPS_BY_CODE:
        return _unknown(step)
    defn = STEPS_BY_CODE[str(step)]
    code = defn.code
    if facts.is_closed:
        return [_closed(code)]
    # Effective: VIII.J is done by its follow-ups, whatever was stored.
    if effective_status(code, facts) == StepStatus.DONE:
        return [Problem(code, "already-done", f"{_name(code)} is already done.")]
    problems = _blocking_problems(defn, facts)
    if defn.step == Step.B and facts.approval not in (APPROVED, DECLINED):
        # VIII.B "With client input and approval".
        problems.append(
            Problem(
                code,
                "needs-approval",
                "Record the client's approval of their goals, location and language (VIII.B) "
                "before marking VIII.B done.",
            )
        )
    if defn.step == Step.J and not problems:
        # VIII.J is done by recording its follow-ups, not by a button.
        problems.append(
            Problem(
                code,
                "followups-open",
                f"VIII.J is done when its follow-ups are recorded: {followup_summary(facts)}",
            )
        )
    if defn.step == Step.C and facts.active_peer_contacts < 1 and facts.groups_chosen >= 1:
        # The introduction is to "another consumer attending that group": one who consented
        # and has not withdrawn.
        problems.append(
            Problem(
                code,
                "no-peer-contact",
                "No peer contact who consented attends the chosen groups, so the phone "
                "introduction (VIII.C) cannot be recorded. Mark VIII.C not applicable with the "
                "reason, then give SHARE! and the Friendship Line (VIII.D).",
            )
        )
    return problems


def not_applicable_problems(step: Step | str, facts: ReferralFacts, reason: str) -> list[Problem]:
    """Why ``step`` cannot be marked not applicable with ``reason``; empty when it may be."""
    if str(step) not in STEPS_BY_CODE:
        return _unknown(step)
    defn = STEPS_BY_CODE[str(step)]
    code = defn.code
    if facts.is_closed:
        return [_closed(code)]
    if not defn.may_be_not_applicable:
        return [
            Problem(
                code,
                "never-not-applicable",
                f"{_name(code)} cannot be marked not applicable: the policy asks it for every "
                "referral. If the client no longer wants the referral, close it instead.",
            )
        ]
    recorded = facts.step_status(code)
    if recorded == StepStatus.DONE:
        return [Problem(code, "already-done", f"{_name(code)} is already done.")]
    if recorded == StepStatus.NOT_APPLICABLE:
        return [
            Problem(
                code,
                "already-not-applicable",
                f"{_name(code)} is already marked not applicable.",
            )
        ]
    problems = _order_problems(defn, facts)
    if not (reason or "").strip():
        problems.append(
            Problem(code, "reason-required", f"Give the reason {code} is not applicable.")
        )
    return problems


def advocate_session_problems(sessions: Sequence[int], already: Sequence[int]) -> list[Problem]:
    """VIII.H: which of "the first three sessions" a peer advocate accompanied.

    Only sessions 1, 2 and 3; each once, counting those ``already`` recorded.
    """
    code = Step.H.value
    if not sessions:
        return [
            Problem(
                code,
                "no-sessions",
                "Choose which of the first three sessions the peer advocate went to (VIII.H).",
            )
        ]
    recorded = {s for s in already if s in ADVOCATE_SESSIONS}
    problems = []
    if recorded >= set(ADVOCATE_SESSIONS):
        problems.append(
            Problem(
                code,
                "three-sessions-recorded",
                "The peer advocate is already recorded for all of the first three sessions "
                "(VIII.H); no other session can be added.",
            )
        )
    seen: set[int] = set()
    for s in sessions:
        if isinstance(s, bool) or not isinstance(s, int) or s not in ADVOCATE_SESSIONS:
            problems.append(
                Problem(
                    code,
                    "not-first-three",
                    f"Session {s} is not one of the first three sessions: VIII.H records "
                    "sessions 1, 2 and 3 only.",
                )
            )
        elif s in seen:
            problems.append(
                Problem(code, "session-repeated", f"Session {s} is given twice; give it once.")
            )
        else:
            seen.add(s)
            if s in recorded and not recorded >= set(ADVOCATE_SESSIONS):
                problems.append(
                    Problem(
                        code,
                        "session-already-recorded",
                        f"Session {s} is already recorded as accompanied (VIII.H).",
                    )
                )
    return problems


def accompanied_sessions(accompanied: Sequence[bool]) -> list[int]:
    """VIII.H: which of "the first three sessions" documented attendance says the peer
    advocate went to. ``accompanied`` holds, for each meeting the client attended at a chosen
    group since the referral, in date order, whether the advocate went; only the first three
    count. The same fact as the step's own record, entered once (IX.A attendance)."""
    return [n for n, went in enumerate(accompanied[: len(ADVOCATE_SESSIONS)], start=1) if went]


def derive_status(facts: ReferralFacts) -> Status:
    """The status the facts imply, so that the stored status never contradicts them.

    Closed overrides everything (a closed referral is not reopened by new facts); without a
    chosen group the referral is still being prepared, whatever else is recorded; six scheduled
    meetings in a row (what VIII.G encourages) is engaged; a documented attendance (IX.A) is
    attending.
    """
    if facts.is_closed:
        return Status.CLOSED
    if facts.groups_chosen < 1:
        return Status.PREPARING
    if facts.six_in_a_row:
        return Status.ENGAGED
    if facts.attended >= 1:
        return Status.ATTENDING
    return Status.REFERRED


def close_problems(reason: CloseReason | str, facts: ReferralFacts) -> list[Problem]:
    """Why the referral cannot be closed with ``reason``; empty when it may be."""
    if facts.is_closed:
        return [Problem("", "already-closed", "This referral is already closed.")]
    try:
        reason = CloseReason(reason)
    except ValueError:
        return [Problem("", "unknown-reason", f"“{reason}” is not a reason to close a referral.")]
    if reason == CloseReason.COMPLETED and facts.attended < 1:
        # "Completed" says the client went: an attendance must be documented (IX.A). VIII.G
        # only asks that clients be encouraged to attend six meetings in a row; it sets no
        # number a referral must reach.
        return [
            Problem(
                "",
                "no-attendance",
                "Document a meeting the client attended (IX.A) before closing the referral as "
                "completed. If the client did not go, close it as declined or lost contact.",
            )
        ]
    if reason == CloseReason.NOT_ELIGIBLE and derive_status(facts) != Status.PREPARING:
        # Eligibility (IV–VI) is settled before groups are chosen; after that, the client
        # declines (VII.E) or is lost to contact.
        return [
            Problem(
                "",
                "groups-chosen",
                "Groups have already been chosen, so the referral cannot be closed as not "
                "eligible. Close it as declined or lost contact.",
            )
        ]
    # Declined (VII.E: encouraged, not required), lost contact and opened in error (a draft
    # started for the wrong client, or twice) are allowed at any time.
    return []


# Problems that are the step's own work, not a reason to wait: getting the approval is what
# VIII.B asks; choosing the group is the first half of VIII.C and the introduction (or marking
# it not applicable when no peer is available) the second; recording the follow-ups is VIII.J.
_OWN_WORK = frozenset(
    {
        (Step.B, "needs-approval"),
        (Step.C, "needs-groups"),
        (Step.C, "no-peer-contact"),
        (Step.J, "followups-open"),
    }
)


def _j_waits(facts: ReferralFacts) -> bool:
    """VIII.J is to do now when a follow-up is due (today or overdue), or when none is
    scheduled at all (add one); follow-ups still ahead are not yet the clinician's work."""
    return facts.followup_due_now or facts.followups_scheduled < 1


def waiting_steps(facts: ReferralFacts) -> list[Step]:
    """The steps the clinician can and should do now, in the policy's order: still pending,
    with what must come before them in place (``requires``, a chosen group, an attendance).

    A step whose only obstacle is its own work is waiting (``_OWN_WORK``): B while the approval
    is still to ask, C once B is done (choose the group, then introduce or mark not
    applicable). D waits only once C was marked not applicable; nothing waits on a closed
    referral or after the client declined.
    """
    if facts.is_closed:
        return []
    return [
        defn.step
        for defn in STEPS
        if effective_status(defn.step, facts) == StepStatus.PENDING
        and all((defn.step, p.code) in _OWN_WORK for p in completion_problems(defn.step, facts))
        and (defn.step != Step.J or _j_waits(facts))
    ]


def progress(facts: ReferralFacts) -> tuple[int, int]:
    """(steps done or not applicable, 11). VIII.D counts as settled once C is done; VIII.J
    once its follow-ups are recorded."""
    settled = sum(
        effective_status(defn.step, facts) in (StepStatus.DONE, StepStatus.NOT_APPLICABLE)
        for defn in STEPS
    )
    return settled, len(STEPS)
