"""Keeping the annotated referral list current (policy VII.D): plain rules, no database.

- Cadence: a listing is *current* for a configurable number of months after a successful
  verification (``LISTING_CURRENT_MONTHS``, 12 by default); after that, or never verified,
  it is *stale*.
- The verification call: what each outcome of an attempt means, and when failed attempts
  (three in 30 days) or a closed group propose archiving, with the reason.
- VI.C from the call: the group's answers to the two neutral questions give its medication
  stance. Either answer that describes an unsafe group is enough to say it discourages
  medicated members; affirming needs both answers to be the safe ones; anything else stays
  "not known".
- Text sent from outside (the groups' own requests): plain text, no HTML.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

DEFAULT_CURRENT_MONTHS = 12


class Outcome(StrEnum):
    """What one call attempt gave (same values as ``VerificationCall.Outcome``)."""

    REACHED = "reached"
    NO_ANSWER = "no-answer"
    VOICEMAIL = "voicemail"
    DISCONNECTED = "disconnected"
    WRONG_NUMBER = "wrong-number"
    GROUP_CLOSED = "group-closed"


# Attempts that did not reach the group. "Group closed" reached someone who said so: it is an
# answer, and it proposes archiving on its own.
FAILED = frozenset(
    {Outcome.NO_ANSWER, Outcome.VOICEMAIL, Outcome.DISCONNECTED, Outcome.WRONG_NUMBER}
)
FAILURES_TO_PROPOSE_ARCHIVING = 3
FAILURE_WINDOW = timedelta(days=30)


class Answer(StrEnum):
    """An answer to one of the two VI.C questions."""

    YES = "yes"
    NO = "no"
    NOT_ASKED = "not-asked"  # not asked, or no clear answer


class Stance(StrEnum):
    """Same values as ``Group.MedicationStance``."""

    AFFIRMING = "affirming"
    NOT_KNOWN = "not-known"
    DISCOURAGES = "discourages"


# The two questions, asked neutrally: neither suggests the answer a caller hopes for (VI.C).
QUESTION_ENCOURAGE_STOP = "Do members ever encourage others to stop psychiatric medication?"
QUESTION_FULL_MEMBERS = "Are people who take prescribed psychiatric medication full members?"


def months_before(day: date, months: int) -> date:
    """The same day ``months`` months earlier (the month's last day when it has no such day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def current_since(today: date, months: int = DEFAULT_CURRENT_MONTHS) -> date:
    """The earliest verification date that still makes a listing current today (VII.D)."""
    return months_before(today, months)


def is_current(
    last_verified_on: date | None, today: date, months: int = DEFAULT_CURRENT_MONTHS
) -> bool:
    """VII.D: verified with the group within the period. Never verified is never current."""
    return last_verified_on is not None and last_verified_on >= current_since(today, months)


def stance_from_answers(encourages_stopping: Answer, full_members: Answer) -> Stance:
    """VI.C: the medication stance the group's own answers give.

    A group whose members encourage stopping medication, *or* (any one is enough) that does
    not treat medicated members as full members, discourages. Affirming needs both: members do
    not encourage stopping *and* medicated people are full members. Otherwise not known.
    """
    if encourages_stopping == Answer.YES or full_members == Answer.NO:
        return Stance.DISCOURAGES
    if encourages_stopping == Answer.NO and full_members == Answer.YES:
        return Stance.AFFIRMING
    return Stance.NOT_KNOWN


@dataclass(frozen=True)
class Attempt:
    on: date
    outcome: Outcome


def archive_proposal(attempts: Iterable[Attempt], today: date) -> str:
    """Why archiving the listing is proposed, or "" when it is not.

    A group that said it has closed, in its latest attempt; or three failed attempts (no
    answer, voicemail, disconnected, wrong number) within the last 30 days with no successful
    call after them. The site admin decides: this only proposes.
    """
    attempts = sorted(attempts, key=lambda a: a.on)
    if not attempts:
        return ""
    latest = attempts[-1]
    if latest.outcome == Outcome.GROUP_CLOSED:
        when = f"{latest.on:%B} {latest.on.day}, {latest.on.year}"
        return f"The group said it has closed (call of {when})."
    since = today - FAILURE_WINDOW
    recent = [a for a in attempts if a.on >= since]
    # Failures only count after the last successful call.
    for index in range(len(recent) - 1, -1, -1):
        if recent[index].outcome not in FAILED:
            recent = recent[index + 1 :]
            break
    if len(recent) >= FAILURES_TO_PROPOSE_ARCHIVING:
        kinds = ", ".join(sorted({a.outcome.value.replace("-", " ") for a in recent}))
        return (
            f"{len(recent)} failed call attempts in the last 30 days ({kinds}); "
            "nobody could reach the group."
        )
    return ""


# Text from outside the county (the groups' requests) is plain text: anything that looks like
# markup is refused, not stripped, so the sender knows what was not accepted.
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|&#?[a-zA-Z0-9]+;|javascript:", re.IGNORECASE)


def looks_like_html(text: str) -> bool:
    return bool(_MARKUP.search(text or ""))


# --- Change requests from the groups themselves ------------------------------------------------

# What a group (or anyone, on the public form) may propose, with a size limit each. The site
# admin accepts, edits or rejects each field; "meetings" and "languages" are read and entered
# by hand (a free description cannot be trusted to parse into meeting rows).
CHANGE_FIELDS = {
    "name": ("Name of the group", 200),
    "description": ("What the group does", 2000),
    "phone": ("Phone number", 40),
    "email": ("E-mail address", 254),
    "website": ("Web address", 300),
    "fees_note": ("Dues and fees", 500),
    "meetings": ("Meetings: days, times, places, online links", 3000),
    "languages": ("Languages", 200),
    "encourages_stopping": (QUESTION_ENCOURAGE_STOP, 10),
    "full_members": (QUESTION_FULL_MEMBERS, 10),
}
# Written straight to the listing when accepted; the others are entered by hand.
APPLIED_FIELDS = ("name", "description", "phone", "email", "website", "fees_note")
MEDICATION_FIELDS = ("encourages_stopping", "full_members")
MAX_MESSAGE = 2000


def plain_text_problem(text: str, limit: int) -> str:
    """Why a value sent from outside is refused, or "" when it is acceptable."""
    if len(text) > limit:
        return f"At most {limit} characters, please."
    if looks_like_html(text):
        return "Plain text only, please: no HTML."
    return ""


# --- Clinicians' one-click reports --------------------------------------------------------------

REPORT_CHOICES = {
    "number-not-working": "Number not working",
    "no-longer-meets": "Group no longer meets",
    "information-wrong": "Information wrong",
}
