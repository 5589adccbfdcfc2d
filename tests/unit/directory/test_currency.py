"""The rules of keeping the list current (VII.D), with VI.C from the call: table-driven, no
database."""

from datetime import date

import pytest

from directory.rules.currency import (
    Answer,
    Attempt,
    Outcome,
    Stance,
    archive_proposal,
    current_since,
    is_current,
    looks_like_html,
    months_before,
    plain_text_problem,
    stance_from_answers,
)

TODAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 12, 7), 12, date(2025, 12, 7)),
        (date(2026, 3, 31), 1, date(2026, 2, 28)),  # no February 31st: the month's last day
        (date(2024, 3, 31), 1, date(2024, 2, 29)),  # a leap year
        (date(2026, 1, 15), 1, date(2025, 12, 15)),
        (date(2026, 1, 15), 6, date(2025, 7, 15)),
        (date(2026, 1, 31), -1, date(2026, 2, 28)),  # forwards too (the last day current)
    ],
)
def test_months_before(day, months, expected):
    assert months_before(day, months) == expected


@pytest.mark.parametrize(
    ("verified", "months", "current"),
    [
        (None, 12, False),  # never verified is never current
        (date(2008, 11, 7), 12, False),  # the 2008 list
        (date(2025, 12, 6), 12, False),  # a day past twelve months
        (date(2025, 12, 7), 12, True),  # exactly twelve months: still current
        (TODAY, 12, True),
        (date(2026, 5, 1), 6, False),  # the period is a setting
        (date(2026, 6, 7), 6, True),
    ],
)
def test_is_current(verified, months, current):
    """VII.D: current for the configured months after a successful verification."""
    assert is_current(verified, TODAY, months) is current
    assert current_since(TODAY, months) == months_before(TODAY, months)


Y, N, U = Answer.YES, Answer.NO, Answer.NOT_ASKED


@pytest.mark.parametrize(
    ("encourages_stopping", "full_members", "stance"),
    [
        (N, Y, Stance.AFFIRMING),  # both safe answers
        (Y, Y, Stance.DISCOURAGES),  # either unsafe answer is enough (VI.C "or")
        (N, N, Stance.DISCOURAGES),
        (Y, N, Stance.DISCOURAGES),
        (Y, U, Stance.DISCOURAGES),
        (U, N, Stance.DISCOURAGES),
        (N, U, Stance.NOT_KNOWN),  # one safe answer is not enough to affirm
        (U, Y, Stance.NOT_KNOWN),
        (U, U, Stance.NOT_KNOWN),
    ],
)
def test_the_two_vi_c_questions_give_the_stance(encourages_stopping, full_members, stance):
    assert stance_from_answers(encourages_stopping, full_members) is stance


def _attempts(*rows):
    return [Attempt(date(2026, month, day), Outcome(outcome)) for month, day, outcome in rows]


@pytest.mark.parametrize(
    ("attempts", "proposed"),
    [
        ([], ""),
        (_attempts((11, 20, "no-answer"), (11, 29, "voicemail")), ""),  # two is not three
        (_attempts((11, 20, "no-answer"), (11, 29, "voicemail"), (12, 6, "disconnected")), "3"),
        # One of the three is older than 30 days.
        (_attempts((11, 1, "no-answer"), (11, 29, "voicemail"), (12, 6, "wrong-number")), ""),
        # A successful call between them starts the count again.
        (
            _attempts(
                (11, 20, "no-answer"),
                (11, 25, "reached"),
                (11, 29, "voicemail"),
                (12, 6, "no-answer"),
            ),
            "",
        ),
        (_attempts((12, 1, "group-closed")), "closed"),  # an answer, not a failure
        (_attempts((12, 1, "group-closed"), (12, 5, "reached")), ""),  # the latest call wins
    ],
)
def test_archiving_is_proposed_after_three_failures_in_30_days_or_a_closed_group(
    attempts, proposed
):
    reason = archive_proposal(attempts, TODAY)
    if proposed:
        assert proposed in reason
    else:
        assert reason == ""


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Tuesdays at 7 <b>pm</b>", True),
        ("<script>alert(1)</script>", True),
        ("a &lt; b", True),
        ("click javascript:alert(1)", True),
        ("< 5 members > sometimes", False),  # a plain "<" or ">" is text
        ("Dues: $1 & coffee", False),
        ("", False),
    ],
)
def test_plain_text_only(text, html):
    assert looks_like_html(text) is html


def test_size_limits():
    assert plain_text_problem("x" * 10, 10) == ""
    assert "At most 10" in plain_text_problem("x" * 11, 10)
    assert "no HTML" in plain_text_problem("<i>x</i>", 10)
