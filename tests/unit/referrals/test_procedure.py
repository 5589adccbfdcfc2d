"""The referral procedure of policy 04.9, VIII.A–K, and the referral's status
(referrals/rules/procedure.py), without a database.

VIII.A counsel on benefits; VIII.B goals, location, cultural/linguistic needs "with client input
and approval"; VIII.C refer to a specific group and, "When possible", introduce the client by
phone to a consumer attending it, first names only; VIII.D SHARE! and the Friendship Line "When
another client already attending ... is not available"; VIII.E Client Coalition; VIII.F etiquette;
VIII.G six scheduled meetings in a row; VIII.H "Whenever possible" a peer advocate for the first
three sessions; VIII.I report back at appointments; VIII.J reminders at regular intervals;
VIII.K ask "suitable clients" to be a contact person for "the group they attend".

The ``EXPECTED_*`` tables below are written from the policy's text, situation by situation, and
do not call the module's rules: each row says which problems (by code) the module must report.
"""

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from referrals.rules.procedure import (
    ADVOCATE_SESSIONS,
    D_NOT_NEEDED_REASON,
    STEPS,
    STEPS_BY_CODE,
    CloseReason,
    Problem,
    ReferralFacts,
    Status,
    Step,
    StepStatus,
    accompanied_sessions,
    advocate_session_problems,
    close_problems,
    completion_problems,
    derive_status,
    effective_status,
    followup_summary,
    followups_settled,
    not_applicable_problems,
    progress,
    waiting_steps,
)

REPO = Path(__file__).resolve().parents[3]
POLICY = REPO.parent / "shared" / "policy" / "dmh-04.9-referral-to-self-help-groups.txt"

DONE = StepStatus.DONE
NA = StepStatus.NOT_APPLICABLE
LETTERS = "ABCDEFGHIJK"


def steps(**statuses):
    """steps(A=DONE, C=NA) -> {"VIII.A": "done", "VIII.C": "not-applicable"}."""
    return {f"VIII.{letter}": status for letter, status in statuses.items()}


# ---- Situations ------------------------------------------------------------------------------
# A referral as it goes through the procedure. "legacy" is one whose groups were chosen (the
# Referrals I pages) before any step was recorded.

SITUATIONS = {
    "new": ReferralFacts(status=Status.PREPARING),
    "a-done": ReferralFacts(status=Status.PREPARING, steps=steps(A=DONE)),
    "approved": ReferralFacts(status=Status.PREPARING, approval="approved", steps=steps(A=DONE)),
    "b-done-no-groups": ReferralFacts(
        status=Status.PREPARING, approval="approved", steps=steps(A=DONE, B=DONE)
    ),
    "referred-no-peer": ReferralFacts(
        status=Status.REFERRED, approval="approved", groups_chosen=1, steps=steps(A=DONE, B=DONE)
    ),
    "referred-peer": ReferralFacts(
        status=Status.REFERRED,
        approval="approved",
        groups_chosen=2,
        active_peer_contacts=1,
        steps=steps(A=DONE, B=DONE),
    ),
    "c-na": ReferralFacts(
        status=Status.REFERRED,
        approval="approved",
        groups_chosen=1,
        steps=steps(A=DONE, B=DONE, C=NA),
    ),
    "c-done": ReferralFacts(
        status=Status.REFERRED,
        approval="approved",
        groups_chosen=1,
        active_peer_contacts=1,
        steps=steps(A=DONE, B=DONE, C=DONE),
    ),
    "attending": ReferralFacts(
        status=Status.ATTENDING,
        approval="approved",
        groups_chosen=1,
        attended=2,
        steps=steps(A=DONE, B=DONE),
    ),
    "declined": ReferralFacts(status=Status.PREPARING, approval="declined", steps=steps(A=DONE)),
    "legacy": ReferralFacts(status=Status.REFERRED, approval="approved", groups_chosen=1),
    "closed": ReferralFacts(
        status=Status.CLOSED,
        close_reason="lost-contact",
        approval="approved",
        groups_chosen=1,
        attended=3,
        active_peer_contacts=1,
        steps=steps(A=DONE, B=DONE),
    ),
}

# Problem codes, one letter each in the tables; a cell lists a step's letters ("." for none).
CODES = {
    "R": "requires-step",  # an earlier step is not settled
    "G": "needs-groups",  # no group chosen yet
    "T": "needs-attendance",  # no attendance documented (VIII.K)
    "P": "needs-approval",  # VIII.B without the client's approval
    "Y": "client-declined",  # VII.E
    "N": "no-peer-contact",  # VIII.C with no consenting peer contact
    "Q": "requires-not-applicable",  # VIII.D before C was found not possible
    "I": "peer-introduced",  # VIII.D after C was done
    "d": "already-done",
    "n": "already-not-applicable",
    "v": "never-not-applicable",
    "X": "closed",
    "F": "followups-open",  # VIII.J is done by recording its follow-ups
}


def table(rows):
    """{situation: "cell cell ... (11 cells, A to K)"} -> [(situation, step, sorted codes)]."""
    out = []
    for situation, line in rows.items():
        cells = line.split()
        assert len(cells) == 11, situation
        for letter, cell in zip(LETTERS, cells, strict=True):
            codes = sorted(CODES[c] for c in cell if c != ".")
            out.append(
                pytest.param(situation, Step(f"VIII.{letter}"), codes, id=f"{situation}-{letter}")
            )
    return out


# ---- Marking a step done ---------------------------------------------------------------------
#                      A    B    C    D    E    F    G    H    I    J    K
EXPECTED_DONE = {
    "new":              ".   RP   RG   RGQ  RG   RG   RG   RG   RG   RG   RGT",
    "a-done":           "d   P    RG   RGQ  RG   RG   RG   RG   RG   RG   RGT",
    "approved":         "d   .    RG   RGQ  RG   RG   RG   RG   RG   RG   RGT",
    "b-done-no-groups": "d   d    G    GQ   G    G    G    G    G    G    GT",
    "referred-no-peer": "d   d    N    Q    .    .    .    .    .    F    T",
    "referred-peer":    "d   d    .    Q    .    .    .    .    .    F    T",
    # C was marked not applicable; with no peer contact it still cannot be done.
    "c-na":             "d   d    N    .    .    .    .    .    .    F    T",
    "c-done":           "d   d    d    I    .    .    .    .    .    F    T",
    "attending":        "d   d    N    Q    .    .    .    .    .    F    .",
    "declined":         "d   Y    RG   RGQ  RG   RG   RG   RG   RG   RG   RGT",
    "legacy":           ".   R    RN   RQ   R    R    R    R    R    R    RT",
    "closed":           "X   X    X    X    X    X    X    X    X    X    X",
}  # fmt: skip


@pytest.mark.parametrize(("situation", "step", "codes"), table(EXPECTED_DONE))
def test_completion_problems(situation, step, codes):
    """VIII.A–K: when each step may be marked done, situation by situation."""
    problems = completion_problems(step, SITUATIONS[situation])
    assert sorted(p.code for p in problems) == codes
    for p in problems:
        assert p.step == step
        assert step in p.message  # every message names the step it is about
        assert p.message.endswith(".")


# ---- Marking a step not applicable -----------------------------------------------------------
# Only C ("When possible"), D ("When another client ... is not available", "may be referred"),
# H ("Whenever possible") and K ("suitable clients") have a condition in the policy.
#                      A    B    C    D    E    F    G    H    I    J    K
EXPECTED_NA = {
    "new":              "v   v    RG   RGQ  v    v    v    RG   v    v    RGT",
    "a-done":           "v   v    RG   RGQ  v    v    v    RG   v    v    RGT",
    "approved":         "v   v    RG   RGQ  v    v    v    RG   v    v    RGT",
    "b-done-no-groups": "v   v    G    GQ   v    v    v    G    v    v    GT",
    "referred-no-peer": "v   v    .    Q    v    v    v    .    v    v    T",
    # A peer contact exists but the introduction could not happen (not reachable): allowed.
    "referred-peer":    "v   v    .    Q    v    v    v    .    v    v    T",
    "c-na":             "v   v    n    .    v    v    v    .    v    v    T",
    # D after C done: not needed, and recording it as such is allowed.
    "c-done":           "v   v    d    .    v    v    v    .    v    v    T",
    "attending":        "v   v    .    Q    v    v    v    .    v    v    .",
    "declined":         "v   v    RG   RGQ  v    v    v    RG   v    v    RGT",
    "legacy":           "v   v    R    RQ   v    v    v    R    v    v    RT",
    "closed":           "X   X    X    X    X    X    X    X    X    X    X",
}  # fmt: skip


@pytest.mark.parametrize(("situation", "step", "codes"), table(EXPECTED_NA))
def test_not_applicable_problems(situation, step, codes):
    """VIII.C, D, H, K may be not applicable, with a reason; A, B, E, F, G, I, J never."""
    problems = not_applicable_problems(step, SITUATIONS[situation], "No peer contact available.")
    assert sorted(p.code for p in problems) == codes
    assert all(step in p.message for p in problems)


@pytest.mark.parametrize(
    ("step", "situation"),
    [
        (Step.C, "referred-no-peer"),
        (Step.D, "c-na"),
        (Step.H, "referred-peer"),
        (Step.K, "attending"),
    ],
)
@pytest.mark.parametrize("reason", ["", "   ", "\n\t", None])
def test_not_applicable_needs_a_reason(step, situation, reason):
    """A step is not applicable only with a reason (the model's check constraint says so too)."""
    problems = not_applicable_problems(step, SITUATIONS[situation], reason)
    assert [p.code for p in problems] == ["reason-required"]
    assert problems[0].message == f"Give the reason {step} is not applicable."
    # The same step with a reason is allowed: the blank reason was the only problem.
    assert not_applicable_problems(step, SITUATIONS[situation], "Not suitable just now.") == []


def test_which_steps_may_be_not_applicable():
    """The four conditional clauses, and only them."""
    assert {d.step for d in STEPS if d.may_be_not_applicable} == {Step.C, Step.D, Step.H, Step.K}


def test_a_never_applicable_step_says_to_close_instead():
    (problem,) = not_applicable_problems(Step.G, SITUATIONS["referred-peer"], "Not interested.")
    assert problem.code == "never-not-applicable"
    assert "VIII.G" in problem.message and "close" in problem.message


# ---- Messages ---------------------------------------------------------------------------------


MESSAGES = [
    (Step.B, "new", "requires-step",
     "Counsel the client on the benefits of self-help (VIII.A) before VIII.B."),
    (Step.E, "a-done", "requires-step",
     "Record the client's goals, location, language and approval (VIII.B) before VIII.E."),
    (Step.E, "new", "needs-groups",
     "Record the client's approval (VIII.B) and choose a group with them (VIII.C) "
     "before VIII.E."),
    (Step.F, "b-done-no-groups", "needs-groups",
     "Choose a group with the client (VIII.C) before VIII.F."),
    (Step.C, "b-done-no-groups", "needs-groups",
     "Choose a group with the client before recording the introduction (VIII.C)."),
    (Step.B, "a-done", "needs-approval",
     "Record the client's approval of their goals, location and language (VIII.B) "
     "before marking VIII.B done."),
    (Step.B, "declined", "client-declined",
     "The client declined the referral (VII.E): VIII.B cannot be done. "
     "Close the referral as declined."),
    (Step.C, "referred-no-peer", "no-peer-contact",
     "No peer contact who consented attends the chosen groups, so the phone introduction "
     "(VIII.C) cannot be recorded. Mark VIII.C not applicable with the reason, then give "
     "SHARE! and the Friendship Line (VIII.D)."),
    (Step.D, "referred-peer", "requires-not-applicable",
     "VIII.D is for when no peer is available: try the phone introduction (VIII.C) first, "
     "or mark VIII.C not applicable with the reason."),
    (Step.D, "c-done", "peer-introduced",
     "The client was introduced to a peer (VIII.C), so VIII.D is not needed: "
     "mark VIII.D not applicable instead."),
    (Step.K, "referred-peer", "needs-attendance",
     "Document a meeting the client attended before VIII.K: "
     "the policy asks about the group they attend."),
    (Step.A, "closed", "closed",
     "This referral is closed: VIII.A can no longer be recorded."),
    (Step.C, "c-done", "already-done",
     "VIII.C (Referred to a group; phone introduction to a peer) is already done."),
]  # fmt: skip


@pytest.mark.parametrize(("step", "situation", "code", "message"), MESSAGES)
def test_messages_say_what_to_do_first(step, situation, code, message):
    problems = completion_problems(step, SITUATIONS[situation])
    assert Problem(step, code, message) in problems


def test_unknown_step_is_a_problem_not_an_exception():
    facts = SITUATIONS["referred-peer"]
    for check in (
        lambda s: completion_problems(s, facts),
        lambda s: not_applicable_problems(s, facts, "reason"),
    ):
        (problem,) = check("VIII.Z")
        assert problem.code == "unknown-step"
        assert "VIII.Z" in problem.message


def test_plain_strings_from_the_database_count_as_the_enums():
    """Services pass the model's strings: codes, statuses and status as plain str."""
    facts = ReferralFacts(
        status="referred",
        approval="approved",
        groups_chosen=1,
        steps={"VIII.A": "done", "VIII.B": "done", "VIII.C": "not-applicable"},
    )
    assert completion_problems("VIII.D", facts) == []
    assert waiting_steps(facts)[0] == "VIII.D"
    assert derive_status(ReferralFacts(status="closed", close_reason="declined")) == "closed"


# ---- VIII.H: the first three sessions ----------------------------------------------------------


@pytest.mark.parametrize(
    ("sessions", "already", "codes"),
    [
        ([1], [], []),
        ([1, 2, 3], [], []),
        ([3, 1], [], []),
        ([2], [1], []),
        ([3], [1, 2], []),
        ([], [], ["no-sessions"]),
        ([], [1], ["no-sessions"]),
        ([4], [], ["not-first-three"]),
        ([0], [], ["not-first-three"]),
        ([-1], [], ["not-first-three"]),
        ([1, 4], [], ["not-first-three"]),
        ([True], [], ["not-first-three"]),  # a bool is not a session number
        (["1"], [], ["not-first-three"]),
        ([1, 1], [], ["session-repeated"]),
        ([2, 3, 2], [], ["session-repeated"]),
        ([1], [1], ["session-already-recorded"]),
        ([2, 3], [1, 2], ["session-already-recorded"]),
        # A fourth "first three" session: all three are recorded already.
        ([1], [1, 2, 3], ["three-sessions-recorded"]),
        ([2, 3], [3, 2, 1], ["three-sessions-recorded"]),
        ([4], [1, 2, 3], ["not-first-three", "three-sessions-recorded"]),
    ],
)
def test_advocate_sessions(sessions, already, codes):
    """VIII.H: a peer advocate accompanies "the first three sessions": 1, 2, 3, each once."""
    problems = advocate_session_problems(sessions, already)
    assert sorted(p.code for p in problems) == codes
    assert all(p.step == "VIII.H" for p in problems)


def test_advocate_session_messages():
    (four,) = advocate_session_problems([4], [])
    assert four.message == (
        "Session 4 is not one of the first three sessions: VIII.H records sessions 1, 2 and 3 only."
    )
    (again,) = advocate_session_problems([2], [2])
    assert again.message == "Session 2 is already recorded as accompanied (VIII.H)."
    assert ADVOCATE_SESSIONS == (1, 2, 3)


# ---- The referral's status ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "close_reason", "groups", "attended", "six", "expected"),
    [
        ("preparing", "", 0, 0, False, "preparing"),
        ("preparing", "", 1, 0, False, "referred"),  # groups chosen: referred, whatever stored
        ("referred", "", 1, 0, False, "referred"),
        ("referred", "", 1, 1, False, "attending"),  # first attendance documented
        ("attending", "", 2, 5, False, "attending"),
        ("attending", "", 1, 6, True, "engaged"),  # VIII.G six in a row
        ("referred", "", 1, 0, True, "engaged"),  # six in a row counts, attended is a tally
        ("engaged", "", 1, 3, False, "attending"),  # stored status never overrides the facts
        # Contradictions: closed overrides everything; no group chosen means still preparing.
        ("referred", "lost-contact", 1, 0, False, "closed"),
        ("engaged", "completed", 1, 6, True, "closed"),
        ("closed", "declined", 0, 0, False, "closed"),
        ("closed", "", 1, 1, False, "closed"),
        ("engaged", "", 0, 6, True, "preparing"),
        ("attending", "", 0, 2, False, "preparing"),
    ],
)
def test_derive_status(stored, close_reason, groups, attended, six, expected):
    """Referred → attending (first attendance) → engaged (six in a row) → closed; never
    contradicting the facts."""
    facts = ReferralFacts(
        status=Status(stored),
        close_reason=close_reason,
        groups_chosen=groups,
        attended=attended,
        six_in_a_row=six,
    )
    assert derive_status(facts) == Status(expected)


@pytest.mark.parametrize(
    ("reason", "stored", "groups", "attended", "six", "codes"),
    [
        # Completed: once an attendance is documented. VIII.G encourages six in a row; it
        # requires nothing, so one meeting attended is enough to close as completed.
        ("completed", "engaged", 1, 6, True, []),
        ("completed", "attending", 1, 5, False, []),
        ("completed", "attending", 1, 1, False, []),
        ("completed", "referred", 1, 0, False, ["no-attendance"]),
        ("completed", "preparing", 0, 0, False, ["no-attendance"]),
        # Declined (VII.E: encouraged, not required) and lost contact: at any time before closed.
        ("declined", "preparing", 0, 0, False, []),
        ("declined", "referred", 1, 0, False, []),
        ("declined", "engaged", 1, 6, True, []),
        ("lost-contact", "preparing", 0, 0, False, []),
        ("lost-contact", "attending", 1, 2, False, []),
        ("lost-contact", "engaged", 1, 6, True, []),
        # Not eligible: only while preparing (eligibility is settled before groups are chosen).
        ("not-eligible", "preparing", 0, 0, False, []),
        ("not-eligible", "referred", 1, 0, False, ["groups-chosen"]),
        ("not-eligible", "attending", 1, 1, False, ["groups-chosen"]),
        # Stored "preparing" but groups chosen: the facts decide, not the stored status.
        ("not-eligible", "preparing", 1, 0, False, ["groups-chosen"]),
        # Unknown reasons are refused.
        ("moved-away", "referred", 1, 0, False, ["unknown-reason"]),
        ("", "referred", 1, 0, False, ["unknown-reason"]),
    ],
)
def test_close_problems(reason, stored, groups, attended, six, codes):
    facts = ReferralFacts(
        status=Status(stored), groups_chosen=groups, attended=attended, six_in_a_row=six
    )
    assert sorted(p.code for p in close_problems(reason, facts)) == codes


@pytest.mark.parametrize("reason", list(CloseReason))
@pytest.mark.parametrize(
    ("stored", "close_reason"), [("closed", "declined"), ("closed", ""), ("engaged", "completed")]
)
def test_closing_a_closed_referral_is_refused(reason, stored, close_reason):
    facts = ReferralFacts(
        status=Status(stored), close_reason=close_reason, groups_chosen=1, six_in_a_row=True
    )
    assert [p.code for p in close_problems(reason, facts)] == ["already-closed"]


def test_close_messages():
    facts = ReferralFacts(status=Status.REFERRED, groups_chosen=1, attended=0)
    (problem,) = close_problems(CloseReason.COMPLETED, facts)
    assert "attended (IX.A)" in problem.message
    # VIII.G asks only that clients be encouraged: no wording may make six a requirement.
    assert "VIII.G" not in problem.message and "six" not in problem.message.lower()
    (problem,) = close_problems("not-eligible", facts)
    assert "declined or lost contact" in problem.message


# ---- What is waiting ---------------------------------------------------------------------------

C, D, E, F, G, H, I, J, K = (Step(f"VIII.{x}") for x in "CDEFGHIJK")  # noqa: E741


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        ("new", ["VIII.A"]),
        ("a-done", ["VIII.B"]),  # B: get the client's input and approval
        ("approved", ["VIII.B"]),
        ("b-done-no-groups", ["VIII.C"]),  # choosing the group is the first half of C
        ("referred-no-peer", [C, E, F, G, H, I, J]),  # C: mark it not applicable, or wait
        ("referred-peer", [C, E, F, G, H, I, J]),
        ("c-na", [D, E, F, G, H, I, J]),  # no peer: SHARE! and the Friendship Line
        ("c-done", [E, F, G, H, I, J]),  # a peer introduced: D not needed
        ("attending", [C, E, F, G, H, I, J, K]),  # an attendance: ask to be a contact
        ("declined", []),  # VII.E: nothing to chase
        ("legacy", ["VIII.A"]),  # groups chosen before the steps: A and B first
        ("closed", []),
    ],
)
def test_waiting_steps(situation, expected):
    assert waiting_steps(SITUATIONS[situation]) == expected


def test_waiting_steps_move_on_and_come_back_in_order():
    """Steps leave the list as they are settled, in the policy's order."""
    facts = ReferralFacts(
        status=Status.ATTENDING,
        approval="approved",
        groups_chosen=1,
        attended=1,
        steps=steps(A=DONE, B=DONE, C=NA, E=DONE, G=DONE, H=NA),
    )
    assert waiting_steps(facts) == [D, F, I, J, K]
    every_step_settled = steps(**dict.fromkeys(LETTERS, DONE))
    assert waiting_steps(ReferralFacts(status=Status.ENGAGED, steps=every_step_settled)) == []


def test_waiting_steps_are_the_ones_that_may_be_done_or_are_the_steps_own_work():
    """Consistency: a waiting step is either completable now, or its only obstacle is the
    work the step itself asks (B's approval, C's group and introduction)."""
    own_work = {("VIII.B", "needs-approval"), ("VIII.C", "needs-groups"),
                ("VIII.C", "no-peer-contact"), ("VIII.J", "followups-open")}  # fmt: skip
    for name, facts in SITUATIONS.items():
        for step in waiting_steps(facts):
            codes = {(p.step, p.code) for p in completion_problems(step, facts)}
            assert codes <= own_work, (name, step, codes)


# ---- Progress ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({}, 0),
        ({"A": DONE}, 1),
        ({"A": DONE, "B": DONE}, 2),
        ({"A": DONE, "B": DONE, "C": NA}, 3),  # D still to do
        ({"A": DONE, "B": DONE, "C": NA, "D": DONE}, 4),
        ({"A": DONE, "B": DONE, "C": DONE}, 4),  # D not needed once C is done
        ({"A": DONE, "B": DONE, "C": DONE, "D": NA}, 4),  # ... and not counted twice
        ({"A": DONE, "B": DONE, "H": NA, "K": NA}, 4),
        ({"A": DONE, "B": "pending", "C": "pending"}, 1),
        # A stored "done" for VIII.J counts for nothing: its follow-ups are not recorded.
        (dict.fromkeys(LETTERS, DONE), 10),
        ({**dict.fromkeys(LETTERS, DONE), "C": DONE, "D": "pending"}, 10),
        ({**dict.fromkeys(LETTERS, DONE), "C": NA, "D": NA, "H": NA, "K": NA}, 10),
    ],
)
def test_progress(statuses, expected):
    facts = ReferralFacts(
        status=Status.REFERRED,
        groups_chosen=1,
        steps=steps(**statuses),
        followups_scheduled=3,
        followups_done=2,
    )
    assert progress(facts) == (expected, 11)


# ---- VIII.J: done only when its follow-ups are recorded ---------------------------------------

NEXT = date(2026, 12, 14)


@pytest.mark.parametrize(
    ("scheduled", "done", "next_on", "due_now", "closed", "status", "waits", "summary"),
    [
        # Scheduled, none recorded, none due yet: pending, not yet the clinician's work.
        (3, 0, NEXT, False, False, "pending", False, "0 of 3 follow-ups done, next on 2026-12-14."),
        # One is due (today or overdue): to do now.
        (3, 1, NEXT, True, False, "pending", True, "1 of 3 follow-ups done, next on 2026-12-14."),
        # Every follow-up recorded: done.
        (3, 3, None, False, False, "done", False, "3 of 3 follow-ups done."),
        (1, 1, None, False, False, "done", False, "1 of 1 follow-up done."),
        # None scheduled at all: to do now (add one), never done.
        (0, 0, None, False, False, "pending", True, "No follow-ups scheduled yet."),
        # A closed referral: settled, whatever was recorded.
        (3, 1, None, False, True, "done", False, "1 of 3 follow-ups done."),
    ],
)
def test_viii_j_follows_the_follow_ups(
    scheduled, done, next_on, due_now, closed, status, waits, summary
):
    facts = ReferralFacts(
        status=Status.CLOSED if closed else Status.REFERRED,
        close_reason="lost-contact" if closed else "",
        approval="approved",
        groups_chosen=1,
        # A stored "done" (as the old scheduling wrote) is never believed.
        steps=steps(A=DONE, B=DONE, J=DONE),
        followups_scheduled=scheduled,
        followups_done=done,
        next_followup_on=next_on,
        followup_due_now=due_now,
    )
    assert effective_status(Step.J, facts) == StepStatus(status)
    assert (Step.J in waiting_steps(facts)) is waits
    assert followup_summary(facts) == summary
    assert followups_settled(facts) is (status == "done")
    if not closed and status == "pending":
        (problem,) = completion_problems(Step.J, facts)
        assert problem.code == "followups-open" and summary in problem.message


def test_progress_counts_viii_j_once_its_follow_ups_are_recorded():
    every = steps(**dict.fromkeys(LETTERS, DONE))
    recorded = ReferralFacts(
        status=Status.REFERRED, groups_chosen=1, steps=every, followups_scheduled=3,
        followups_done=3,
    )  # fmt: skip
    assert progress(recorded) == (11, 11)


def test_d_counts_as_not_applicable_once_c_is_done():
    facts = SITUATIONS["c-done"]
    assert facts.step_status(Step.D) == StepStatus.PENDING
    assert effective_status(Step.D, facts) == StepStatus.NOT_APPLICABLE
    assert effective_status(Step.D, SITUATIONS["c-na"]) == StepStatus.PENDING
    assert "VIII.C" in D_NOT_NEEDED_REASON


# ---- The steps as data -------------------------------------------------------------------------


def test_every_step_has_one_definition_in_order():
    assert [d.step for d in STEPS] == list(Step)
    assert list(STEPS_BY_CODE) == [s.value for s in Step] == [f"VIII.{x}" for x in LETTERS]
    assert all(STEPS_BY_CODE[d.code] is d for d in STEPS)
    for d in STEPS:
        assert d.title and d.policy_text and d.what_to_do
        # One plain sentence for the clinician.
        assert d.what_to_do.endswith(".") and d.what_to_do.count(". ") == 0, d.step


def test_order_rules_as_data():
    """The order the policy needs: A first; B after A; everything else after B; D only once
    C was marked not applicable; K only once the client attends."""
    by = STEPS_BY_CODE
    assert by["VIII.A"].requires == ()
    assert by["VIII.B"].requires == (Step.A,)
    assert all(by[f"VIII.{x}"].requires == (Step.B,) for x in "CDEFGHIJK")
    assert by["VIII.D"].requires_not_applicable == (Step.C,)
    assert [d.step for d in STEPS if d.requires_not_applicable] == [Step.D]
    assert [d.step for d in STEPS if not d.needs_groups_chosen] == [Step.A, Step.B]
    assert [d.step for d in STEPS if d.needs_attendance] == [Step.K]
    # Every required step comes earlier in the policy's order (no cycles).
    order = list(Step)
    for d in STEPS:
        assert all(order.index(r) < order.index(d.step) for r in d.requires)


# Phrases each step's text must carry, copied from the policy.
KEY_PHRASES = {
    "VIII.A": ["counseled as to the benefits"],
    "VIII.B": ["With client input and approval", "most convenient location",
               "cultural or linguistic needs"],
    "VIII.C": ["refer a client to a specific self-help group", "When possible",
               "introduced on the clinician’s telephone", "first name only"],
    "VIII.D": ["is not available", "SHARE! the Self-Help And Recovery Exchange",
               "1-877-SHARE-49", "(888) 448-9777, 6:00 p.m.-10:00 p.m."],
    "VIII.E": ["Client Coalition", "(213) 637-2370"],
    "VIII.F": ["general and specific self-help group etiquette", "12-step programs"],
    "VIII.G": ["six scheduled self-help meetings in a row and regularly thereafter"],
    "VIII.H": ["Whenever possible", "peer advocates", "first three sessions"],
    "VIII.I": ["report on their experience", "regular clinical appointments"],
    "VIII.J": ["At regular intervals", "reminders about goals and benefits"],
    "VIII.K": ["suitable clients", "contact person for the group they attend"],
}  # fmt: skip


@pytest.mark.parametrize("code", list(KEY_PHRASES))
def test_policy_text_key_phrases(code):
    text = STEPS_BY_CODE[code].policy_text
    for phrase in KEY_PHRASES[code]:
        assert phrase in text, (code, phrase)
    assert "  " not in text and "\n" not in text


def _policy_section_viii():
    raw = POLICY.read_text(encoding="utf-8")
    section = raw[raw.index("VIII. Referral Procedure:") : raw.index("IX. Documentation")]
    joined = re.sub(r"-\n", "-", section)  # "12-\nstep", "SHARE-\n49"
    return re.sub(r"\s+", " ", joined)


@pytest.mark.skipif(not POLICY.exists(), reason="the policy text is outside the repository")
@pytest.mark.parametrize("definition", STEPS, ids=lambda d: d.code)
def test_policy_text_verbatim(definition):
    """Where the policy file is at hand, each step's text is its paragraph, word for word."""
    letter = definition.code.removeprefix("VIII.")
    assert f" {letter}. {definition.policy_text}" in _policy_section_viii()


def test_titles_match_the_model_choices():
    from referrals.models import ProcedureStep, Referral

    assert dict(ProcedureStep.Code.choices) == {d.code: d.title for d in STEPS}
    assert [s.value for s in StepStatus] == list(ProcedureStep.Status.values)
    assert [s.value for s in Status] == list(Referral.Status.values)
    assert [r.value for r in CloseReason] == list(Referral.CloseReason.values)
    assert {"pending", "approved", "declined"} == set(Referral.Approval.values)


def test_the_rules_need_no_django():
    """The rules run without Django: no ORM, no request, nothing configured."""
    script = (
        "import sys, referrals.rules.procedure; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'django'); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("accompanied", "sessions"),
    [
        ([], []),
        ([True], [1]),
        ([False, True], [2]),
        ([True, True, True], [1, 2, 3]),
        ([False, False, False, True], []),  # a fourth meeting is not one of the first three
        ([True, False, True, True], [1, 3]),
    ],
)
def test_accompanied_sessions_are_the_first_three_attended(accompanied, sessions):
    """VIII.H: "the first three sessions", read from attendance marked "advocate went"."""
    assert accompanied_sessions(accompanied) == sessions
