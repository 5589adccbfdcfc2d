"""The note for the clinical record (IX.A–B), as pure text: from plain data to the note.

IX.A–B ask for attendance and the client's feedback in the clinical record, which is the county's
electronic health record, not this tool: so the tool writes a short plain-text note the clinician
pastes into it or prints. It holds the period's active referrals, attendance per group with the
six-in-a-row progress (VIII.G) and peer-advocate sessions (VIII.H), the feedback with any listing
review it opened (VI.C), who prepared it and when. ``build`` also decides whether the 42 CFR
Part 2 notice is required (``part2_reasons``).

The text is ASCII apart from what staff typed, wrapped at ``WIDTH`` columns, with dates as
MM/DD/YYYY (a US county record).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from clients.rules.attendance import Meeting, Run, run_of
from core import periods

# --- what makes a note carry the 42 CFR Part 2 notice ------------------------------------------

# A "substance-use group", for the notice: a listing whose needs (directory.Need slugs) include any
# of these. They are the needs IV.D's details suggest in referrals/rules/clauses.py (co-occurring
# use, addiction, alcohol, narcotics, marijuana, nicotine) plus secular sobriety, the one other need
# in the directory that is only about substance use. A group that also helps with, say, depression
# is still a substance-use group: naming it in a record says what it is for. Gambling, eating and
# sex-and-love addiction are not substance use and are left out.
SUBSTANCE_USE_NEEDS = frozenset(
    {
        "co-occurring-substance-use",
        "addiction",
        "alcohol",
        "narcotics",
        "marijuana",
        "nicotine",
        "sobriety-secular",
    }
)
# The indication "co-occurring substance use or abuse" (IV.D), as screening answers store it.
CO_OCCURRING_USE = "IV.D"

# 42 CFR § 2.32(a)(1), "Statement 1", as revised by the final rule of February 16, 2024
# (89 FR 12472; effective April 16, 2024, compliance required by February 16, 2026). Verbatim:
# the regulation requires this statement (or the short Statement 2 of § 2.32(a)(2)) to
# accompany each disclosure made with the patient's written consent. The long statement is used
# because it tells the reader what they may and may not do with the record.
PART2_HEADING = "42 CFR PART 2 NOTICE (42 CFR 2.32)"
PART2_STATEMENT = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules "
    "(42 CFR part 2). These rules prohibit you from using or disclosing this record, or "
    "testimony that describes the information contained in this record, in any civil, "
    "criminal, administrative, or legislative proceedings by any Federal, State, or local "
    "authority, against the patient, unless authorized by the consent of the patient, except "
    "as provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR "
    "2.64 or 2.65. In addition, the Federal rules prohibit you from making any other use or "
    "disclosure of this record unless at least one of the following applies:",
    "(i) Further use or disclosure is expressly permitted by the written consent of the "
    "individual whose information is being disclosed in this record or as otherwise permitted "
    "by 42 CFR part 2.",
    "(ii) You are a covered entity or business associate and have received the record for "
    "treatment, payment, or health care operations, or",
    "(iii) You have received the record from a covered entity or business associate as "
    "permitted by 45 CFR part 164, subparts A and E.",
    "A general authorization for the release of medical or other information is NOT "
    "sufficient to meet the required elements of written consent to further use or redisclose "
    "the record (see 42 CFR 2.31).",
)

# --- the note's shape --------------------------------------------------------------------------

WIDTH = 78  # columns: fits an EHR text box and a printed page in a monospaced font
# Per group, the note lists at most this many dates attended (and as many missed), the latest
# first, and says how many earlier ones there were: the counts carry the rest, and a note that
# lists a hundred dates is not read. The access to all of them stays in the tool.
DATES_SHOWN = 10
# The period: the last 90 days unless the clinician picks another, at most about a year (one
# note summarising more is not short, and the period bounds the rows read).
DEFAULT_DAYS = periods.DEFAULT_DAYS
MAX_DAYS = 366
DATE_FORMAT = "%m/%d/%Y"


@dataclass(frozen=True)
class NoteGroup:
    pk: int
    name: str
    needs: frozenset[str] = frozenset()  # directory.Need slugs

    @property
    def is_substance_use(self) -> bool:
        return bool(self.needs & SUBSTANCE_USE_NEEDS)


@dataclass(frozen=True)
class NoteReferral:
    pk: int
    status: str  # the label, e.g. "Attending"; a closed one with its reason
    referred_on: date | None  # None while still preparing (VIII.B)
    groups: tuple[NoteGroup, ...] = ()
    indications: tuple[str, ...] = ()  # the screening's IV codes, e.g. ("IV.A", "IV.D")


@dataclass(frozen=True)
class AttendedDate:
    on_date: date
    accompanied: bool = False  # VIII.H: a peer advocate went along


@dataclass(frozen=True)
class GroupAttendance:
    group: NoteGroup
    attended: int  # counts over the whole period (SQL aggregates)
    missed: int
    accompanied: int  # meetings attended with a peer advocate
    attended_dates: tuple[AttendedDate, ...]  # the latest DATES_SHOWN at most, latest first
    missed_dates: tuple[date, ...]  # likewise
    run: Run  # six in a row (VIII.G), over the meetings documented in the period


@dataclass(frozen=True)
class NoteFeedback:
    given_on: date
    group: NoteGroup
    frequency: str  # the label
    observations: str = ""
    concerns: str = ""
    concern_kinds: tuple[str, ...] = ()  # labels
    review: str = ""  # the state of the review flag the feedback opened, "" when none


@dataclass(frozen=True)
class NoteData:
    client_name: str
    record_number: str
    clinic_name: str
    start: date
    end: date
    prepared_by: str
    prepared_on: date
    referrals: tuple[NoteReferral, ...] = ()
    attendance: tuple[GroupAttendance, ...] = ()
    feedback: tuple[NoteFeedback, ...] = ()


@dataclass(frozen=True)
class Note:
    text: str
    # Why the Part 2 notice is on the note, in words for the clinician ("" reasons: no notice).
    part2_reasons: tuple[str, ...] = field(default=())

    @property
    def part2(self) -> bool:
        return bool(self.part2_reasons)


# --- the pure builder --------------------------------------------------------------------------


def part2_reasons(data: NoteData) -> tuple[str, ...]:
    """Why the note must carry the 42 CFR Part 2 notice; empty when it must not.

    Exactly when the note mentions (a) a substance-use group, in a referral, in attendance or in
    feedback, or (b) a referral whose screening found co-occurring substance use (IV.D). What
    the note does not mention (an earlier referral, a screening that led nowhere) does not count.
    """
    reasons: list[str] = []
    mentioned = [g for r in data.referrals for g in r.groups]
    mentioned += [a.group for a in data.attendance] + [f.group for f in data.feedback]
    seen: set[int] = set()
    for group in mentioned:
        if group.is_substance_use and group.pk not in seen:
            seen.add(group.pk)
            reasons.append(f"it names {group.name}, a substance-use group")
    for referral in data.referrals:
        if CO_OCCURRING_USE in referral.indications:
            when = _day(referral.referred_on) if referral.referred_on else "not yet referred"
            reasons.append(
                f"it mentions a referral ({when}) made for co-occurring substance use (IV.D)"
            )
    return tuple(reasons)


def notice_lines(width: int = WIDTH) -> list[str]:
    lines = [PART2_HEADING]
    for paragraph in PART2_STATEMENT:
        lines += _wrap(paragraph, width)
    return lines


def build(data: NoteData, *, width: int = WIDTH) -> Note:
    """The note's text from plain data: no query, no clock, no request."""
    reasons = part2_reasons(data)
    lines: list[str] = []
    if reasons:
        lines += notice_lines(width) + [""]
    lines += _wrap("SELF-HELP GROUPS: ATTENDANCE AND FEEDBACK (DMH policy 04.9, IX.A-B)", width)
    lines += _wrap(f"Client: {data.client_name}, record no. {data.record_number}", width)
    lines.append(f"Period: {_day(data.start)} to {_day(data.end)}")

    lines += ["", "Referrals active in the period"]
    if not data.referrals:
        lines.append("None.")
    for referral in data.referrals:
        when = f"Referred {_day(referral.referred_on)}" if referral.referred_on else "Not referred"
        names = "; ".join(g.name for g in referral.groups) or "no group chosen yet"
        lines += _wrap(f"- {when}, {referral.status}: {names}", width, subsequent="  ")

    lines += ["", "Attendance (IX.A)"]
    if not data.attendance:
        lines.append("None documented in the period.")
    for item in data.attendance:
        lines += _attendance_lines(item, width)

    lines += ["", "Feedback (IX.B)"]
    if not data.feedback:
        lines.append("None documented in the period.")
    for item in data.feedback:
        lines += _feedback_lines(item, width)

    lines.append("")
    lines += _wrap(
        f"Prepared by {data.prepared_by}, {data.clinic_name}, on {_day(data.prepared_on)}.", width
    )
    return Note(text="\n".join(lines) + "\n", part2_reasons=reasons)


def _attendance_lines(item: GroupAttendance, width: int) -> list[str]:
    summary = f"{item.group.name}: attended {item.attended}, missed {item.missed}"
    if item.accompanied:
        summary += f"; {item.accompanied} with a peer advocate (VIII.H)"
    lines = _wrap(summary, width, subsequent="  ")
    if item.attended_dates:
        shown = [_day(d.on_date) + ("*" if d.accompanied else "") for d in item.attended_dates]
        lines += _wrap(
            "Attended: " + _listed(shown, item.attended), width, indent="  ", subsequent="    "
        )
    if item.missed_dates:
        shown = [_day(d) for d in item.missed_dates]
        lines += _wrap(
            "Missed: " + _listed(shown, item.missed), width, indent="  ", subsequent="    "
        )
    run = item.run
    # VIII.G: "six scheduled meetings in a row" (attendance_rules.SIX), over the period.
    progress = "reached" if run.reached_six else "not yet"
    lines += _wrap(
        f"Six in a row (VIII.G), this period: {progress}; longest run {run.longest}, "
        f"current run {run.current}",
        width,
        indent="  ",
        subsequent="    ",
    )
    if any(d.accompanied for d in item.attended_dates):
        lines.append("  * with a peer advocate")
    return lines


def _feedback_lines(item: NoteFeedback, width: int) -> list[str]:
    lines = _wrap(f"{_day(item.given_on)}, {item.group.name}", width, subsequent="  ")
    fields = [
        ("Frequency", item.frequency),
        ("Observations", item.observations),
        ("Concerns", item.concerns),
        ("Concern kinds", "; ".join(item.concern_kinds)),
        ("Listing review", item.review),
    ]
    for label, value in fields:
        if value and value.strip():
            lines += _wrap(f"{label}: {value}", width, indent="  ", subsequent="    ")
    return lines


def _listed(shown: list[str], total: int) -> str:
    text = ", ".join(shown)
    earlier = total - len(shown)
    return f"{text} and {earlier} earlier" if earlier > 0 else text


def _day(value: date) -> str:
    return value.strftime(DATE_FORMAT)


def _wrap(text: str, width: int, *, indent: str = "", subsequent: str | None = None) -> list[str]:
    """Wrap each line of ``text`` (staff may type several); blank lines are dropped."""
    rest = indent if subsequent is None else subsequent
    lines: list[str] = []
    for number, paragraph in enumerate(p for p in text.splitlines() if p.strip()):
        first = indent if number == 0 else rest
        lines += textwrap.wrap(
            paragraph.strip(),
            width=width,
            initial_indent=first,
            subsequent_indent=rest,
            break_on_hyphens=False,
        )
    return lines


def parse_period(params: Mapping[str, str], *, today: date) -> tuple[date, date]:
    """The note's period from the address (``start``, ``end``, YYYY-MM-DD), or the last 90
    days; ``periods.BadPeriod`` with every problem in plain words."""
    return periods.parse_period(params, today=today, max_days=MAX_DAYS, default_days=DEFAULT_DAYS)


def six_in_a_row(meetings: Iterable[Meeting]) -> Run:
    """VIII.G progress for one group: the only place the note calls the attendance rule, so
    that a schedule-aware rule can replace it here alone."""
    return run_of(meetings)
