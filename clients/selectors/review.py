"""The supervisor's review of self-help documentation (policy IX.A–B), as aggregate queries.

A supervisor reviews what their clinic's clinicians documented over a period and signs it off.
Each figure comes from a fixed number of aggregate queries (``Count(filter=...)``, ``Exists``)
that start from the clinic's rows for the period by a (clinic, date) index and reach other tables
by index, so the cost follows the clinic's activity in the period, not the size of the county's
tables. Python loops only over clinicians, the period's days and weeks, and the funnel's stages.

The figures, per clinician, for a period of whole days (``Period``, local time):

* **screened**: screenings they recorded at the clinic in the period;
* **not referred, by reason**: of those, the ones decided "do not refer now", counted under
  each clause whose BLOCKS reason decided it (IV no indication, V, VI.A, VI.B). A screening
  can have more than one such reason, so the clause counts can add up to more than the total;
* **referred**: referrals whose ``referred_at`` is in the period;
* **attendance documented** (IX.A): of those, the ones whose client has any attendance
  (attended or missed) documented for one of the referral's chosen groups, at any date;
* **six in a row** (VIII.G): of those referred, the ones engaged, or closed as completed after
  having been engaged;
* **concerns raised** (IX.B): feedback they recorded with at least one concern kind, given in
  the period;
* **documentation gaps**: of those referred, the ones referred more than ``gap_weeks`` weeks
  ago (counted back from now) with no attendance documented for a chosen group; referrals
  closed for another reason than completion (declined, lost contact, not eligible) have
  nothing left to document and are not gaps.

Clinicians are the clinic's staff with the clinician role, and anyone else with a screening,
referral or feedback at the clinic in the period (one who moved on still has figures where the
work was done). Every count is filtered by the clinic first.

The funnel is a cohort: of the period's screenings, how many were decided "refer", how many of
those referrals were made, had attendance documented and reached six in a row. Each stage is a
subset of the one before, so its "referred" can differ from the per-clinician "referred", which
counts referrals made in the period whatever the screening's date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.http import QueryDict
from django.utils import timezone

from clients.models import Attendance, DocumentationSignOff, Feedback
from core.pagination import CountedPage, CountedPaginator
from core.periods import Period, local_midnight, monday
from core.rows import UrlPattern, date_label
from referrals.models import Referral, ReferredGroup, Screening, ScreeningReason
from referrals.rules.medication_safety import AlertFigures
from referrals.selectors import medication_safety

DEFAULT_GAP_WEEKS = 4
MIN_GAP_WEEKS, MAX_GAP_WEEKS = 1, 26
GAPS_PAGE_SIZE = 25
SIGN_OFFS_SHOWN = 50

# The clauses whose BLOCKS reasons make a screening "do not refer now" (eligibility.py):
# IV (no indication found), V (selection criterion not met), VI.A and VI.B.
NOT_REFERRED_CLAUSES: tuple[tuple[str, str], ...] = (
    ("IV", "blocks_iv"),
    ("V", "blocks_v"),
    ("VI.A", "blocks_vi_a"),
    ("VI.B", "blocks_vi_b"),
)
CLAUSE_TITLES = {
    "IV": "No indication (IV)",
    "V": "Selection criterion not met (V)",
    "VI.A": "Violence without impulse control (VI.A)",
    "VI.B": "Disinterest after explanation (VI.B)",
}

FUNNEL_STAGES: tuple[tuple[str, str], ...] = (
    ("screened", "Screened"),
    ("decided_refer", "Decided: refer"),
    ("referred", "Referred"),
    ("attendance_documented", "Attendance documented"),
    ("six_in_a_row", "Six in a row"),
)

# VIII.G "six meetings in a row": the status says it (sync_status never contradicts the
# attendance), or it said so before the referral was closed as completed. "Completed" alone
# only needs an attendance, so the referral's history (one indexed lookup) tells which.
SIX_IN_A_ROW = Q(status=Referral.Status.ENGAGED) | (
    Q(status=Referral.Status.CLOSED, close_reason=Referral.CloseReason.COMPLETED)
    & Q(
        Exists(
            Referral.history.filter(id=OuterRef("pk"), status=Referral.Status.ENGAGED)
            .order_by()
            .values("pk")
        )
    )
)
# A referral closed for any other reason (declined, lost contact, not eligible) leaves nothing
# to document: it is never a documentation gap.
STILL_TO_DOCUMENT = ~Q(status=Referral.Status.CLOSED) | Q(
    close_reason=Referral.CloseReason.COMPLETED
)


# --- who counts as a clinician of the clinic -------------------------------------------------


def _clinician_roles():
    """The roles (groups) that grant the clinician's home: roles, never group names."""
    return Group.objects.filter(
        permissions__content_type__app_label="accounts",
        permissions__codename="use_clinician_home",
    ).values("pk")


def clinician_role_ids() -> list[int]:
    return [row["pk"] for row in _clinician_roles()]


def _clinicians_at(clinic_id: int, role_ids):
    """The clinic's staff holding one of those roles. The role ids are read first, on their
    own (a few rows): with the roles' join inside this subquery PostgreSQL scanned all 2,646
    clinician memberships of the county (6.7–12.4 ms); from the ids it reads the clinic's
    staff through the memberships' index (0.13 ms). Uncorrelated, so it is read once and
    each user looked up in a hash."""
    return get_user_model().objects.filter(clinic_id=clinic_id, groups__in=role_ids).values("pk")


def _worked_here(clinic_id: int) -> Q:
    """Anyone with a screening, referral or feedback at the clinic, at any date.

    ``IN`` over the clinic's own rows, which the (clinic, person) indexes read without touching
    a table, rather than an ``EXISTS`` per user, which made PostgreSQL read every member of the
    county's staff and hash every record of the clinic's history for each of three tables."""
    return (
        Q(pk__in=Screening.objects.filter(clinic_id=clinic_id).values("screened_by"))
        | Q(pk__in=Referral.objects.filter(clinic_id=clinic_id).values("clinician"))
        | Q(pk__in=Feedback.objects.filter(clinic_id=clinic_id).values("recorded_by"))
    )


def clinicians_for_sign_off(clinic_id: int | None, role_ids: list[int] | None = None):
    """Whom a supervisor may sign off: the clinic's staff with the clinician role, and anyone
    with a screening, referral or feedback at the clinic (who may have moved on since)."""
    User = get_user_model()
    if clinic_id is None:
        return User.objects.none()
    # Without the ids read first (the sign-off form's queryset, only evaluated on a post), the
    # roles stay a subquery: building the form costs no query.
    role_ids = _clinician_roles() if role_ids is None else role_ids
    return User.objects.filter(
        Q(pk__in=_clinicians_at(clinic_id, role_ids)) | _worked_here(clinic_id)
    ).order_by("last_name", "first_name", "username")


def clinic_staff(clinic_id: int | None, period: Period) -> list:
    """Everyone the page names, in one query: the sign-off choices (``clinicians_for_sign_off``),
    each with whether they are a clinician of this clinic and when this period of theirs was
    signed off. The rows of figures are drawn from these people (``clinician_figures``):
    whoever has figures in the period worked here, so no one is missed."""
    if clinic_id is None:
        return []
    signed_off_at = DocumentationSignOff.objects.filter(
        clinic_id=clinic_id,
        clinician=OuterRef("pk"),
        period_start=period.start,
        period_end=period.end,
    ).values("signed_at")[:1]
    role_ids = clinician_role_ids()
    return list(
        clinicians_for_sign_off(clinic_id, role_ids).annotate(
            clinician_here=ExpressionWrapper(
                Q(pk__in=_clinicians_at(clinic_id, role_ids)), output_field=BooleanField()
            ),
            signed_off_at=Subquery(signed_off_at),
        )
    )


def _listed(user, with_figures: set) -> bool:
    """A row of figures for: the clinic's active clinicians, and anyone with figures here (a
    user of ``clinic_staff``)."""
    return (user.clinician_here and user.is_active) or user.pk in with_figures


# --- the figures -----------------------------------------------------------------------------


def _documented_attendance() -> Exists:
    """IX.A: attendance (attended or missed) documented for one of the referral's chosen
    groups. A referral finds its attendance by its client and its chosen groups.

    Asked group by group (a referral has one or two): is there attendance of this client at
    this group? Each answer is one probe of the (client, group, date) index. (Asked as "the
    client's attendance at any of the chosen groups", PostgreSQL read all the client's
    attendance per referral, or hashed the whole table for a list of them.)"""
    attended = Attendance.objects.filter(
        client_id=OuterRef(OuterRef("client_id")), group_id=OuterRef("group_id")
    )
    return Exists(ReferredGroup.objects.filter(referral_id=OuterRef("pk")).filter(Exists(attended)))


def _gap(cutoff: datetime) -> Q:
    """Referred before ``cutoff``, still to document, and no attendance documented."""
    return Q(referred_at__lt=cutoff) & STILL_TO_DOCUMENT & ~Q(_documented_attendance())


@dataclass
class ClinicianFigures:
    clinician: object | None  # the user; None for the clinic's totals
    screened: int = 0
    incomplete: int = 0
    not_referred: int = 0
    blocks: dict[str, int] = field(default_factory=dict)  # clause → screenings
    referred: int = 0
    attendance_documented: int = 0
    six_in_a_row: int = 0
    concerns: int = 0
    gaps: int = 0
    signed_off_at: datetime | None = None

    @property
    def name(self) -> str:
        if self.clinician is None:
            return "All clinicians"
        return self.clinician.get_full_name() or self.clinician.get_username()

    @property
    def signed_off_label(self) -> str:
        return date_label(self.signed_off_at, "M j, Y")

    @property
    def not_referred_by_clause(self) -> list[tuple[str, int]]:
        return [(clause, self.blocks.get(clause, 0)) for clause, _ in NOT_REFERRED_CLAUSES]


# How far a "refer" screening's referral got, for the funnel (FUNNEL_STAGES): each stage is
# reached only through the one before it.
NOT_MADE, MADE, DOCUMENTED, SIX = 0, 1, 2, 3
# The screening query's keys, by the stage a screening reached (its decision "refer" first).
_FUNNEL_KEYS = (
    ("decided_refer", NOT_MADE),
    ("funnel_referred", MADE),
    ("funnel_documented", DOCUMENTED),
    ("funnel_six", SIX),
)


def _referral_stage() -> Subquery:
    """The stage the screening's referral (one to one) reached; none when there is none.

    A scalar subquery, which PostgreSQL runs once per "refer" screening by the unique index on
    the referral's screening. (A join to the referrals let it hash the county's whole table,
    and ``EXISTS`` per stage read each referral three times.)"""
    return Subquery(
        Referral.objects.filter(screening_id=OuterRef("pk"))
        .order_by()
        .annotate(
            stage=Case(
                When(referred_at__isnull=True, then=Value(NOT_MADE)),
                When(~Q(_documented_attendance()), then=Value(MADE)),
                When(SIX_IN_A_ROW, then=Value(SIX)),
                default=Value(DOCUMENTED),
            )
        )
        .values("stage")[:1],
        output_field=IntegerField(),
    )


def _screening_counts(clinic_id: int, period: Period, *, funnel: bool) -> dict[int, dict]:
    """The period's screenings by who recorded them; with ``funnel``, the funnel's stages too
    (the CSV, which has no funnel, leaves them out). Counted by clinician, decision and stage
    (a few hundred groups at most), and added up here."""
    screenings = Screening.objects.filter(clinic_id=clinic_id).filter(period.moments("screened_at"))
    fields = ["screened_by", "decision"]
    if funnel:
        refer = Screening.Decision.REFER
        screenings = screenings.annotate(
            stage=Case(When(decision=refer, then=_referral_stage()), default=Value(None))
        )
        fields.append("stage")
    rows = screenings.order_by().values(*fields).annotate(n=Count("pk"))

    by_decision = {
        Screening.Decision.INCOMPLETE: "incomplete",
        Screening.Decision.NOT_NOW: "not_referred",
    }
    counts: dict[int, dict] = {}
    for row in rows:
        n = row["n"]
        figures = counts.setdefault(
            row["screened_by"],
            dict.fromkeys(["screened", *by_decision.values(), *dict(_FUNNEL_KEYS)], 0),
        )
        figures["screened"] += n
        if row["decision"] in by_decision:
            figures[by_decision[row["decision"]]] += n
        elif funnel and row["decision"] == Screening.Decision.REFER:
            stage = NOT_MADE if row["stage"] is None else row["stage"]
            for key, reached in _FUNNEL_KEYS:
                if stage >= reached:
                    figures[key] += n
    return counts


def _blocked_counts(clinic_id: int, period: Period) -> dict[int, dict[str, int]]:
    """Of the period's "do not refer now" screenings, how many each clause's BLOCKS reasons
    ruled out, by who screened: the reasons of those screenings only, each screening counted
    once per clause however many of its reasons cite it."""
    rows = (
        ScreeningReason.objects.filter(
            kind=ScreeningReason.Kind.BLOCKS,
            clause__in=[clause for clause, _ in NOT_REFERRED_CLAUSES],
            screening__clinic_id=clinic_id,
            screening__decision=Screening.Decision.NOT_NOW,
        )
        .filter(period.moments("screening__screened_at"))
        .order_by()
        .values("screening__screened_by", "clause")
        .annotate(screenings=Count("screening_id", distinct=True))
    )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["screening__screened_by"], {})[row["clause"]] = row["screenings"]
    return counts


def _referral_counts(clinic_id: int, period: Period, gap_cutoff: datetime) -> dict[int, dict]:
    """The period's referrals by clinician, counted by whether attendance is documented, six in
    a row and "overdue" (made before the gap cutoff and still to document): the attendance is
    looked up once per referral, and the figures are added up here from at most eight groups
    per clinician. A gap is an overdue referral without attendance."""
    rows = (
        Referral.objects.filter(clinic_id=clinic_id)
        .filter(period.moments("referred_at"))
        .annotate(
            documented=_documented_attendance(),
            six=ExpressionWrapper(SIX_IN_A_ROW, output_field=BooleanField()),
            overdue=ExpressionWrapper(
                Q(referred_at__lt=gap_cutoff) & STILL_TO_DOCUMENT, output_field=BooleanField()
            ),
        )
        .order_by()
        .values("clinician", "documented", "six", "overdue")
        .annotate(n=Count("pk"))
    )
    counts: dict[int, dict] = {}
    for row in rows:
        n = row["n"]
        figures = counts.setdefault(
            row["clinician"],
            dict.fromkeys(["referred", "attendance_documented", "six_in_a_row", "gaps"], 0),
        )
        figures["referred"] += n
        if row["documented"]:
            figures["attendance_documented"] += n
        elif row["overdue"]:
            figures["gaps"] += n
        if row["six"]:
            figures["six_in_a_row"] += n
    return counts


def _concern_counts(clinic_id: int, period: Period) -> dict[int, int]:
    """IX.B: feedback with at least one concern kind, by who recorded it."""
    rows = (
        Feedback.objects.filter(clinic_id=clinic_id)
        .filter(period.dates("given_on"))
        .exclude(concern_kinds=[])
        .order_by()
        .values("recorded_by")
        .annotate(concerns=Count("pk"))
    )
    return {row["recorded_by"]: row["concerns"] for row in rows}


def _figures(
    clinic_id: int, period: Period, *, gap_weeks: int, now: datetime, staff: list, funnel: bool
) -> tuple[list[ClinicianFigures], list[tuple[str, int]] | None]:
    """The rows per clinician and, with ``funnel``, the funnel, in four queries (screenings,
    their BLOCKS reasons, referrals, feedback) besides ``staff``."""
    screenings = _screening_counts(clinic_id, period, funnel=funnel)
    blocks = _blocked_counts(clinic_id, period)
    referrals = _referral_counts(clinic_id, period, now - timedelta(weeks=gap_weeks))
    concerns = _concern_counts(clinic_id, period)
    with_figures = set(screenings) | set(referrals) | set(concerns)

    rows = []
    for user in staff:
        if not _listed(user, with_figures):
            continue
        s = screenings.get(user.pk, {})
        r = referrals.get(user.pk, {})
        b = blocks.get(user.pk, {})
        rows.append(
            ClinicianFigures(
                clinician=user,
                screened=s.get("screened", 0),
                incomplete=s.get("incomplete", 0),
                not_referred=s.get("not_referred", 0),
                blocks={clause: b.get(clause, 0) for clause, _ in NOT_REFERRED_CLAUSES},
                referred=r.get("referred", 0),
                attendance_documented=r.get("attendance_documented", 0),
                six_in_a_row=r.get("six_in_a_row", 0),
                concerns=concerns.get(user.pk, 0),
                gaps=r.get("gaps", 0),
                signed_off_at=user.signed_off_at,
            )
        )
    return rows, _funnel(screenings.values()) if funnel else None


def clinician_figures(
    clinic_id: int | None,
    period: Period,
    *,
    gap_weeks: int,
    now: datetime,
    staff: list | None = None,
) -> list[ClinicianFigures]:
    """One row per clinician, in five queries (``staff`` from ``clinic_staff`` saves one)."""
    if clinic_id is None:
        return []
    if staff is None:
        staff = clinic_staff(clinic_id, period)
    rows, _ = _figures(clinic_id, period, gap_weeks=gap_weeks, now=now, staff=staff, funnel=False)
    return rows


def totals(rows: list[ClinicianFigures]) -> ClinicianFigures:
    """The clinic's totals: each record counts under one clinician, so the sums are the
    clinic's figures."""
    total = ClinicianFigures(clinician=None)
    for row in rows:
        total.screened += row.screened
        total.incomplete += row.incomplete
        total.not_referred += row.not_referred
        for clause, _ in NOT_REFERRED_CLAUSES:
            total.blocks[clause] = total.blocks.get(clause, 0) + row.blocks.get(clause, 0)
        total.referred += row.referred
        total.attendance_documented += row.attendance_documented
        total.six_in_a_row += row.six_in_a_row
        total.concerns += row.concerns
        total.gaps += row.gaps
    return total


def _funnel(screening_rows: Iterable[dict]) -> list[tuple[str, int]]:
    """The funnel's stages, summed over the screening query's rows (one per clinician: every
    screening counts under exactly one)."""
    keys = {
        "screened": "screened",
        "decided_refer": "decided_refer",
        "referred": "funnel_referred",
        "attendance_documented": "funnel_documented",
        "six_in_a_row": "funnel_six",
    }
    sums = dict.fromkeys(keys.values(), 0)
    for row in screening_rows:
        for key in sums:
            sums[key] += row[key]
    return [(label, sums[keys[stage]]) for stage, label in FUNNEL_STAGES]


def funnel(clinic_id: int | None, period: Period) -> list[tuple[str, int]]:
    """The referral funnel of the screenings in the period, in one query (see the module)."""
    if clinic_id is None:
        return [(label, 0) for _, label in FUNNEL_STAGES]
    return _funnel(_screening_counts(clinic_id, period, funnel=True).values())


@dataclass(frozen=True)
class Week:
    monday: date
    attended: int
    missed: int
    label: str = ""  # the Monday as the page shows it

    @property
    def total(self) -> int:
        return self.attended + self.missed

    @property
    def iso(self) -> str:
        year, number, _ = self.monday.isocalendar()
        return f"{year}-W{number:02d}"


def attendance_by_week(clinic_id: int | None, period: Period) -> list[Week]:
    """IX.A: attendance documented for meetings in the period, by ISO week of the meeting,
    every week of the period shown, empty ones as zero. One query.

    The database counts by day and status (at most two rows a day, read from the (clinic,
    date, status) index alone); the days are added up into weeks here, which costs less than
    truncating every row's date to its week in SQL."""
    attended: dict[date, int] = {}
    missed: dict[date, int] = {}
    if clinic_id is not None:
        rows = (
            Attendance.objects.filter(clinic_id=clinic_id)
            .filter(period.dates("on_date"))
            .order_by()
            .values_list("on_date", "status")
            .annotate(n=Count("*"))
        )
        tally = {Attendance.Status.ATTENDED: attended, Attendance.Status.MISSED: missed}
        for on_date, status, n in rows:
            if status in tally:
                week = monday(on_date)
                tally[status][week] = tally[status].get(week, 0) + n
    return [
        Week(
            monday=week,
            attended=attended.get(week, 0),
            missed=missed.get(week, 0),
            label=date_label(week, "M j, Y"),
        )
        for week in period.weeks()
    ]


def gaps_page(
    clinic_id: int | None,
    period: Period,
    *,
    gap_weeks: int,
    now: datetime,
    count: int,
    number,
    query: QueryDict | None = None,
) -> CountedPage:
    """A page of the documentation gaps, oldest referral first: one query (the count comes
    from the per-clinician figures). Its links keep ``query`` (the period and the weeks)."""
    if clinic_id is None:
        queryset = Referral.objects.none()
    else:
        queryset = (
            Referral.objects.filter(clinic_id=clinic_id)
            .filter(period.moments("referred_at"))
            .filter(_gap(now - timedelta(weeks=gap_weeks)))
            .select_related("client", "clinician")
            .order_by("referred_at", "id")
        )
    # Numbered: the count comes free from the per-clinician figures, which read this period's
    # referrals at the clinic anyway; a later page's OFFSET skips only gaps of that period.
    paginator = CountedPaginator(
        queryset, GAPS_PAGE_SIZE, count=count, query=query, fragment="#gaps-heading"
    )
    page = paginator.get_page(number)
    # What each row shows, ready: the template resolves no route and formats no date per row.
    detail = UrlPattern("referrals:detail", "pk")
    for referral in page.object_list:
        referral.url = detail(referral.pk)
        referral.client_name = f"{referral.client.first_name} {referral.client.last_name}"
        clinician = referral.clinician
        referral.clinician_name = clinician.get_full_name() or clinician.get_username()
        referral.referred_label = date_label(referral.referred_at, "M j, Y")
    return page


def sign_offs(clinic_id: int | None, period: Period) -> list[DocumentationSignOff]:
    """Sign-offs at the clinic whose period overlaps this one, latest first (one query)."""
    if clinic_id is None:
        return []
    signed = list(
        DocumentationSignOff.objects.filter(
            clinic_id=clinic_id, period_start__lte=period.end, period_end__gte=period.start
        )
        .select_related("clinician", "signed_by")
        .order_by("-period_end", "-signed_at", "-id")[:SIGN_OFFS_SHOWN]
    )
    for row in signed:  # what each row shows, ready (no |date per row)
        row.clinician_name = row.clinician.get_full_name() or row.clinician.get_username()
        row.signed_by_name = row.signed_by.get_full_name() or row.signed_by.get_username()
        row.period_label = (
            f"{date_label(row.period_start, 'M j, Y')} to {date_label(row.period_end, 'M j, Y')}"
        )
        row.signed_label = date_label(row.signed_at, "M j, Y g:i a")
    return signed


# --- the whole page --------------------------------------------------------------------------


@dataclass
class Review:
    period: Period
    gap_weeks: int
    gap_cutoff: datetime
    rows: list[ClinicianFigures]
    total: ClinicianFigures
    funnel: list[tuple[str, int]]
    weeks: list[Week]
    gaps: CountedPage
    sign_offs: list[DocumentationSignOff]
    # VI.C alerts on the clinic's referrals: open now, and closed in the period, with how long
    # they stayed open (None for a user with no clinic).
    vic: AlertFigures | None = None
    # Whom the supervisor may sign off (``clinic_staff``): the sign-off form's choices.
    staff: list = field(default_factory=list)

    @property
    def funnel_chart(self) -> dict:
        return {
            "labels": [label for label, _ in self.funnel],
            "values": [value for _, value in self.funnel],
        }

    @property
    def weekly_chart(self) -> dict:
        return {
            "labels": [f"{w.monday:%b %-d}" for w in self.weeks],
            "attended": [w.attended for w in self.weeks],
            "missed": [w.missed for w in self.weeks],
        }

    @property
    def clinician_chart(self) -> dict:
        """Staff names and counts only: no client appears in any chart."""
        return {
            "labels": [row.name for row in self.rows],
            "referred": [row.referred for row in self.rows],
            "attendance_documented": [row.attendance_documented for row in self.rows],
            "six_in_a_row": [row.six_in_a_row for row in self.rows],
        }


def review(
    clinic_id: int | None,
    period: Period,
    *,
    gap_weeks: int = DEFAULT_GAP_WEEKS,
    now: datetime | None = None,
    gaps_page_number=None,
    gaps_query: QueryDict | None = None,
) -> Review:
    """Everything the page shows, in a fixed number of queries: one for the clinic's staff
    (the rows' clinicians and the sign-off form's choices), four for the per-clinician figures
    and the funnel, one for the weeks, one for the page of gaps, one for the sign-offs."""
    now = now or timezone.now()
    staff = clinic_staff(clinic_id, period)
    if clinic_id is None:
        rows, funnel_stages = [], funnel(None, period)
    else:
        rows, funnel_stages = _figures(
            clinic_id, period, gap_weeks=gap_weeks, now=now, staff=staff, funnel=True
        )
    total = totals(rows)
    return Review(
        period=period,
        gap_weeks=gap_weeks,
        gap_cutoff=now - timedelta(weeks=gap_weeks),
        rows=rows,
        total=total,
        funnel=funnel_stages,
        weeks=attendance_by_week(clinic_id, period),
        gaps=gaps_page(
            clinic_id,
            period,
            gap_weeks=gap_weeks,
            now=now,
            count=total.gaps,
            number=gaps_page_number,
            query=gaps_query,
        ),
        sign_offs=sign_offs(clinic_id, period),
        staff=staff,
        vic=(
            medication_safety.clinic_figures(
                clinic_id,
                start=local_midnight(period.start),
                end=local_midnight(period.end + timedelta(days=1)),
                now=now,
            )
            if clinic_id is not None
            else None
        ),
    )
