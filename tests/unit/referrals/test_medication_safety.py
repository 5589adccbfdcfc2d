"""VI.C after the referral (referrals/rules/medication_safety.py): a chosen group's state from
current facts, the clinician's decision, and the supervisor's figures. Table-driven, no
database."""

from datetime import UTC, datetime, timedelta

import pytest

from referrals.rules import medication_safety as r
from referrals.rules.matching import Stance

CHOSEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def chosen(**kw) -> r.ChosenGroup:
    values = {
        "referral_id": 1,
        "group_id": 7,
        "group_name": "Circle",
        "chosen_at": CHOSEN,
        "medicated": True,
        "stance": Stance.NOT_KNOWN,
    }
    return r.ChosenGroup(**(values | kw))


def concern(flag_id=5, *, opened=CHOSEN + DAY, resolved=None, outcome=""):
    return r.Concern(
        flag_id=flag_id,
        summary="Members encouraged stopping prescribed medication",
        opened_at=opened,
        resolved_at=resolved,
        outcome=outcome,
    )


def kept(*causes, at=CHOSEN + 2 * DAY):
    return r.Decision(kind=r.KEPT, causes=frozenset(causes), decided_at=at, reason="Discussed.")


@pytest.mark.parametrize(
    ("facts", "state", "causes"),
    [
        # VI.C applies to clients on prescribed medication only.
        ({"medicated": False, "stance": Stance.DISCOURAGES}, r.State.SAFE, set()),
        ({"medicated": False, "concerns": (concern(),)}, r.State.SAFE, set()),
        # Stance: only "discourages" (either limb) rules a group out; "not known" does not.
        ({"stance": Stance.AFFIRMING}, r.State.SAFE, set()),
        ({"stance": Stance.NOT_KNOWN}, r.State.SAFE, set()),
        ({"stance": Stance.DISCOURAGES}, r.State.ALERT, {"stance"}),
        # An open medication concern rules it out until a site admin resolves it.
        ({"concerns": (concern(),)}, r.State.ALERT, {"concern:5"}),
        # Resolved: unfounded clears (and says so); group removed stays a confirmed cause.
        (
            {"concerns": (concern(resolved=NOW - DAY, outcome=r.UNFOUNDED),)},
            r.State.CLEARED,
            set(),
        ),
        (
            {
                "chosen_at": CHOSEN - 20 * DAY,
                "concerns": (
                    concern(opened=CHOSEN - 19 * DAY, resolved=NOW - 31 * DAY, outcome=r.UNFOUNDED),
                ),
            },
            r.State.SAFE,  # found unfounded 31 days ago: no longer announced
            set(),
        ),
        (
            {"concerns": (concern(resolved=NOW - DAY, outcome=r.GROUP_REMOVED),)},
            r.State.ALERT,
            {"confirmed:5"},
        ),
        # "Stance changed": the flag closes, the stance itself carries the cause.
        (
            {
                "stance": Stance.DISCOURAGES,
                "concerns": (concern(resolved=NOW - DAY, outcome=r.STANCE_CHANGED),),
            },
            r.State.ALERT,
            {"stance"},
        ),
        # Several causes at once, all named.
        (
            {"stance": Stance.DISCOURAGES, "concerns": (concern(5), concern(6))},
            r.State.ALERT,
            {"stance", "concern:5", "concern:6"},
        ),
        # Kept with a reason answering every current cause: no longer an alert ...
        (
            {"stance": Stance.DISCOURAGES, "decision": kept("stance")},
            r.State.KEPT,
            {"stance"},
        ),
        # ... but a new cause after the decision raises the alert again.
        (
            {
                "stance": Stance.DISCOURAGES,
                "concerns": (concern(9),),
                "decision": kept("stance"),
            },
            r.State.ALERT,
            {"stance", "concern:9"},
        ),
        # A removal decision on record does not answer a group chosen again later.
        (
            {
                "stance": Stance.DISCOURAGES,
                "decision": r.Decision(
                    kind=r.REMOVED, causes=frozenset({"stance"}), decided_at=CHOSEN
                ),
            },
            r.State.ALERT,
            {"stance"},
        ),
    ],
)
def test_vi_c_state_from_current_facts(facts, state, causes):
    """VI.C: the state of a chosen group follows the facts as they are now."""
    found = r.assess(chosen(**facts), now=NOW)
    assert found.state == state
    assert found.causes == causes
    assert found.needs_decision is (state == r.State.ALERT)
    assert found.offered is (state in (r.State.SAFE, r.State.CLEARED))


@pytest.mark.parametrize(
    ("facts", "since"),
    [
        # The earliest cause, but never before the group was chosen.
        ({"concerns": (concern(opened=CHOSEN + 3 * DAY),)}, CHOSEN + 3 * DAY),
        ({"concerns": (concern(opened=CHOSEN - 3 * DAY),)}, CHOSEN),
        (
            {"stance": Stance.DISCOURAGES, "stance_since": CHOSEN + 5 * DAY,
             "concerns": (concern(opened=CHOSEN + 2 * DAY),)},
            CHOSEN + 2 * DAY,
        ),
        # The client's record said "on medication" only later: from then.
        (
            {"concerns": (concern(opened=CHOSEN + DAY),), "medicated_since": CHOSEN + 6 * DAY},
            CHOSEN + 6 * DAY,
        ),
        # A stance changed without history (a bulk update): the date is not recorded.
        ({"stance": Stance.DISCOURAGES, "stance_since": None}, None),
    ],
)  # fmt: skip
def test_vi_c_alert_since(facts, since):
    assert r.assess(chosen(**facts), now=NOW).since == since


def test_vi_c_alert_says_what_changed_and_when():
    found = r.assess(
        chosen(
            stance=Stance.DISCOURAGES,
            stance_since=CHOSEN + 2 * DAY,
            concerns=(concern(opened=CHOSEN + DAY),),
            medicated_since=CHOSEN + 4 * DAY,
        ),
        now=NOW,
    )
    whats = {c.cause: (c.what, c.when) for c in found.changes}
    # Both limbs of VI.C, in the policy's words.
    assert whats["stance"] == (r.STANCE_UNSAFE, CHOSEN + 2 * DAY)
    assert "encourage clients to stop taking their psychiatric medications" in r.STANCE_UNSAFE
    assert "not treated as full members" in r.STANCE_UNSAFE
    assert whats["concern:5"][1] == CHOSEN + DAY
    assert "Members encouraged stopping" in whats["concern:5"][0]
    assert whats["medication"][1] == CHOSEN + 4 * DAY
    # The client's medication is context, not a cause a decision answers.
    assert found.causes == {"stance", "concern:5"}


def test_vi_c_cleared_names_the_concern_found_unfounded():
    flag = concern(resolved=NOW - DAY, outcome=r.UNFOUNDED)
    found = r.assess(chosen(concerns=(flag,)), now=NOW)
    assert found.state == r.State.CLEARED and found.cleared_by == (flag,)
    # Resolved before the group was chosen: nothing to announce for this referral.
    early = concern(opened=CHOSEN - 3 * DAY, resolved=CHOSEN - DAY, outcome=r.UNFOUNDED)
    assert r.assess(chosen(concerns=(early,)), now=NOW).state == r.State.SAFE


@pytest.mark.parametrize(
    ("kind", "reason", "discussed", "replacement", "errors"),
    [
        (r.REMOVED, "", False, False, 0),
        (r.REPLACED, "", False, True, 0),
        (r.REPLACED, "", False, False, 1),
        (r.KEPT, "Attends a meeting where it does not happen.", True, False, 0),
        (r.KEPT, "", True, False, 1),
        (r.KEPT, "Reason", False, False, 1),
        (r.KEPT, "  ", False, False, 2),
        ("ignore", "", False, False, 1),
    ],
)
def test_vi_c_decision_needs(kind, reason, discussed, replacement, errors):
    """VI.C: keeping the group needs a reason and the discussion with client and prescriber;
    choosing another needs the other group."""
    found = r.check_decision(kind=kind, reason=reason, discussed=discussed, replacement=replacement)
    assert len(found) == errors


def test_vi_c_figures_count_alerts_and_how_long_they_stayed_open():
    found = r.figures(
        open_since=[NOW - 30 * timedelta(hours=1), None],
        closed=[
            (NOW - 10 * DAY, NOW - 9 * DAY),  # 24 h
            (NOW - 10 * DAY, NOW - 10 * DAY + timedelta(hours=2)),  # 2 h
            (None, NOW - DAY),  # start not recorded
        ],
        decided=2,
        cleared=1,
        now=NOW,
    )
    assert found == r.AlertFigures(
        open_now=2,
        decided=2,
        cleared=1,
        median_hours_to_close=13.0,
        longest_hours_to_close=24.0,
        longest_open_hours=30.0,
        undated=2,
    )
    empty = r.figures(open_since=[], closed=[], decided=0, cleared=0, now=NOW)
    assert empty.median_hours_to_close is None and empty.longest_open_hours is None
