"""The clinician's worklist, on their home page: what is theirs to do today (VIII.I–J).

First, **VI.C alerts**: a chosen group of the clinician's open referral that became unsafe for
the medicated client, until the clinician records a decision (``selectors/medication_safety``).

Then three lists, each paginated on its own (``fpage``, ``wpage``, ``rpage``):

* **Follow-ups** (VIII.J, "at regular intervals"): overdue (due before today, not done), due
  today, then due in the next ``UPCOMING_DAYS`` days.
* **Referrals waiting on a step** (VIII.A–K): referrals with a step the clinician can do now.
* **Clients due to report back** (VIII.I): active referrals the clinician has heard nothing
  about for ``REPORT_BACK_DAYS`` days.

Only the signed-in clinician's own referrals at their own clinic: another clinic's referral never
appears, even one that names them. The whole worklist costs a fixed number of queries whatever
the number of referrals, which is why "waiting on a step" is decided in SQL (``_waiting``) rather
than with ``procedure_facts``, which reads each referral.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    When,
    Window,
)
from django.http import QueryDict
from django.utils import timezone

from clients.models import Attendance
from core.pagination import CountedPage, CountedPaginator
from core.rows import UrlPattern, date_label
from referrals.models import FollowUp, ProcedureStep, Referral, ReferredGroup
from referrals.rules import medication_safety as vic_rules
from referrals.rules import procedure
from referrals.selectors import medication_safety

PAGE_SIZE = 20
# "Upcoming this week": due after today and at most this many days ahead (a rolling week, so
# that on a Friday the next Monday's follow-ups still show).
UPCOMING_DAYS = 7
# VIII.I: a client is due to report back when nothing has been heard from or about them for
# this many days (see ``_due_to_report_back``).
REPORT_BACK_DAYS = 14

ACTIVE = (Referral.Status.REFERRED, Referral.Status.ATTENDING, Referral.Status.ENGAGED)
# Statuses that imply a documented attendance: the stored status never contradicts the
# attendance (services.sync_status), so it stands in for an attendance query (VIII.K).
ATTENDED = (Referral.Status.ATTENDING, Referral.Status.ENGAGED)

Code = ProcedureStep.Code
StepStatus = ProcedureStep.Status
# On an active referral (groups chosen, so VIII.B settled), a pending step among these is one
# the clinician can do now, as procedure.waiting_steps decides; D and K have conditions of
# their own (see ``_waiting``).
WAITING_WHEN_PENDING = (
    Code.A,
    Code.B,
    Code.C,
    Code.E,
    Code.F,
    Code.G,
    Code.H,
    Code.I,
)


# --- the rules, as SQL ---------------------------------------------------------------------


def _own(user):
    """The user's referrals at their clinic (none without a clinic)."""
    if user.clinic_id is None:
        return Referral.objects.none()
    return Referral.objects.filter(clinic_id=user.clinic_id, clinician=user)


def _followups(today: date | None = None):
    """The referral's follow-ups; with ``today``, the open ones due by then (VIII.J)."""
    followups = FollowUp.objects.filter(referral=OuterRef("pk"))
    if today is None:
        return followups
    return followups.filter(done_at__isnull=True, due_on__lte=today)


def _waiting(today: date) -> Q:
    """Referrals with a step the clinician can do now (procedure.waiting_steps, in SQL).

    * Preparing: always. Groups are not chosen yet, so VIII.A (counsel), VIII.B (the client's
      input and approval) or VIII.C (choose a group with them) is the next thing to do.
    * Active (referred, attending, engaged): a pending step among A–C and E–I; D when it is
      pending and C was marked not applicable (SHARE! is for when no peer is available); J,
      which follows its follow-ups rather than a stored flag, when one is due by today or none
      is scheduled; K when it is pending and an attendance is documented, which the status says
      (attending or engaged: "the group they attend").

    Simplifications, each on the side of the stored data being consistent: an active referral
    is taken to have its groups chosen and VIII.B settled (choose_groups requires both), and
    the status stands in for the attendance (sync_status keeps them in step). Closed referrals
    never wait. The steps shown on each row come from procedure.waiting_steps itself.
    """
    steps = ProcedureStep.objects.filter(referral=OuterRef("pk"))
    pending = steps.filter(status=StepStatus.PENDING)
    active_and_waiting = (
        Q(Exists(pending.filter(code__in=WAITING_WHEN_PENDING)))
        | (
            Q(Exists(pending.filter(code=Code.D)))
            & Q(Exists(steps.filter(code=Code.C, status=StepStatus.NOT_APPLICABLE)))
        )
        | (Q(status__in=ATTENDED) & Q(Exists(pending.filter(code=Code.K))))
        | Q(Exists(_followups(today)))
        | ~Q(Exists(_followups()))
    )
    return Q(status=Referral.Status.PREPARING) | (Q(status__in=ACTIVE) & active_and_waiting)


def report_back_since(today: date) -> datetime:
    """The start of the window in which hearing from a client counts (VIII.I): midnight, local
    time, ``REPORT_BACK_DAYS`` days before today."""
    day = today - timedelta(days=REPORT_BACK_DAYS)
    return timezone.make_aware(datetime.combine(day, time.min))


def _heard_followups(since: datetime | None = None):
    """Follow-ups done (since ``since``) in which the client was reached: "could not reach the
    client" is not hearing back."""
    done = FollowUp.objects.filter(referral=OuterRef("pk"), done_at__isnull=False).exclude(
        outcome=FollowUp.Outcome.NOT_REACHED
    )
    return done.filter(done_at__gte=since) if since else done


def _documented_attendance(since: datetime | None = None):
    """Attendance (attended or missed) documented (since ``since``) at one of the referral's
    chosen groups: the client, or their peer advocate, reported on the group (VIII.I, IX.A).
    A referral finds its attendance by the client and the groups it chose."""
    chosen = ReferredGroup.objects.filter(referral_id=OuterRef(OuterRef("pk"))).values("group_id")
    documented = Attendance.objects.filter(client_id=OuterRef("client_id"), group_id__in=chosen)
    return documented.filter(recorded_at__gte=since) if since else documented


def _due_to_report_back(today: date) -> Q:
    """VIII.I "report on their experience ... during their regular clinical appointments":

    an active referral (referred, attending, engaged), referred before the window began, with
    no attendance documented and no follow-up done with the client reached since then (the
    last ``REPORT_BACK_DAYS`` days and today). A referral newly made is not yet due: the client
    has had no time to go.
    """
    since = report_back_since(today)
    return (
        Q(status__in=ACTIVE)
        & (Q(referred_at__isnull=True) | Q(referred_at__lt=since))
        & ~Q(Exists(_heard_followups(since)))
        & ~Q(Exists(_documented_attendance(since)))
    )


# --- pages ---------------------------------------------------------------------------------


@dataclass
class Section:
    """One list of the worklist: its page of rows, its count, and links to its other pages
    that keep the other lists where they were."""

    page: CountedPage
    count: int

    @property
    def rows(self) -> list:
        return self.page.object_list

    @property
    def previous_url(self) -> str:
        return self.page.previous_url

    @property
    def next_url(self) -> str:
        return self.page.next_url


@dataclass(frozen=True)
class VicAlert:
    """A VI.C alert on the worklist, with the client's name, the links and the date shown."""

    alert: vic_rules.Assessment
    client_name: str
    url: str = ""
    decide_url: str = ""
    since_label: str = ""


@dataclass
class Worklist:
    today: date
    vic_alerts: list[VicAlert]
    upcoming_until: date
    report_back_since: date
    report_back_days: int
    followups: Section
    overdue_count: int
    due_today_count: int
    upcoming_count: int
    waiting: Section
    report_back: Section


# Numbered pages, each counted in its own query (``COUNT(*) OVER ()``): each list is one
# clinician's own referrals and follow-ups (tens, or a few hundred over years), through the
# clinician's indexes, never the clinic's or the county's. A list's links keep the address,
# so the other lists stay on their pages.
def _page(queryset, query: QueryDict, param: str) -> Section:
    paginator = CountedPaginator(queryset, PAGE_SIZE, query=query, param=param)
    page = paginator.get_page(query.get(param))
    return Section(page=page, count=paginator.count)


def followups_due(user, today: date, *, paused: set[int] = frozenset()):
    """The user's open follow-ups at their clinic, up to ``UPCOMING_DAYS`` ahead, but those of
    referrals ``paused`` (every chosen group ruled out by VI.C now: their reminders stop)."""
    if user.clinic_id is None:
        return FollowUp.objects.none()
    # The follow-up's own clinician (copied from the referral's when it was scheduled), which
    # the worklist index and the reminder emails use too.
    return FollowUp.objects.filter(
        clinician=user,
        clinic_id=user.clinic_id,
        done_at__isnull=True,
        due_on__lte=today + timedelta(days=UPCOMING_DAYS),
    ).exclude(Q(referral__status=Referral.Status.CLOSED) | Q(referral_id__in=paused))


def clinician_worklist(user, *, today: date, query: QueryDict | None = None) -> Worklist:
    """Everything the worklist shows, in a fixed number of queries (see the module's note).

    Each list counts itself in its page's query (``COUNT(*) OVER ()``, the follow-ups'
    overdue, today and upcoming likewise), and each row carries its links and dates ready to
    show: the template resolves no route and formats no date per row."""
    query = query if query is not None else QueryDict()
    # VI.C: read once, from current facts: the alerts awaiting a decision head the worklist;
    # groups ruled out are not named on follow-ups, whose reminders stop when none is left.
    # The client's name and the number of groups chosen come with the rows assessed.
    own_open = _own(user).filter(status__in=ACTIVE)
    assessed = (
        medication_safety.assess_rows_with(
            medication_safety.unsafe_candidates(own_open).annotate(chosen_count=_chosen_count()),
            extra=("referral__client__first_name", "referral__client__last_name", "chosen_count"),
        )
        if user.clinic_id
        else []
    )
    vic_alerts = sorted(
        ((a, f"{first} {last}") for a, (first, last, _) in assessed if a.needs_decision),
        key=lambda pair: (
            pair[0].since is not None,
            pair[0].since or timezone.now(),
            pair[0].referral_id,
        ),
    )
    withheld: defaultdict[int, set[str]] = defaultdict(set)
    withheld_ids: defaultdict[int, set[int]] = defaultdict(set)
    chosen_counts: dict[int, int] = {}
    for a, (_, _, chosen_count) in assessed:
        chosen_counts[a.referral_id] = chosen_count
        if not a.offered:
            withheld[a.referral_id].add(a.group_name)
            withheld_ids[a.referral_id].add(a.group_id)
    # Paused: every chosen group of the referral ruled out (their reminders stop).
    paused = {pk for pk, ids in withheld_ids.items() if len(ids) >= chosen_counts[pk]}
    followups = followups_due(user, today, paused=paused)

    followup_section = _page(
        followups.select_related("referral__client")
        .annotate(
            overdue_count=_count_over(Q(due_on__lt=today)),
            due_today_count=_count_over(Q(due_on=today)),
            upcoming_count=_count_over(Q(due_on__gt=today)),
        )
        .order_by("due_on", "id"),
        query,
        "fpage",
    )
    first = followup_section.rows[0] if followup_section.rows else None
    waiting_section = _page(
        _own(user)
        .filter(_waiting(today))
        .select_related("client")
        .annotate(has_followups=Exists(_followups()), followup_due=Exists(_followups(today)))
        .order_by("created_at", "id"),
        query,
        "wpage",
    )
    report_section = _page(
        _own(user)
        .filter(_due_to_report_back(today))
        .select_related("client")
        .annotate(
            # When the clinician last heard, before the window (shown on the row).
            last_followup_at=Subquery(
                _heard_followups().order_by("-done_at").values("done_at")[:1]
            ),
            last_attendance_at=Subquery(
                _documented_attendance().order_by("-recorded_at").values("recorded_at")[:1]
            ),
        )
        .order_by("referred_at", "id"),
        query,
        "rpage",
    )

    referral_ids = {f.referral_id for f in followup_section.rows}
    referral_ids |= {a.referral_id for a, _ in vic_alerts}
    referral_ids |= {r.pk for r in waiting_section.rows}
    referral_ids |= {r.pk for r in report_section.rows}
    groups = _group_names(referral_ids, withheld)
    steps = _steps([r.pk for r in waiting_section.rows])

    detail = UrlPattern("referrals:detail", "pk")
    decide = UrlPattern("referrals:vic-decision", "pk", "group_id")
    record = UrlPattern("referrals:followup-done", "pk", "followup_id")
    for followup in followup_section.rows:
        client = followup.referral.client
        followup.client_name = f"{client.first_name} {client.last_name}"
        followup.url = detail(followup.referral_id)
        followup.done_url = record(followup.referral_id, followup.pk)
        followup.due_label = date_label(followup.due_on, "D, M j, Y")
        followup.due_short = date_label(followup.due_on, "M j, Y")
        followup.group_names = groups.get(followup.referral_id, [])
        followup.days_overdue = (today - followup.due_on).days
        followup.when = (
            "overdue"
            if followup.due_on < today
            else "today"
            if followup.due_on == today
            else "upcoming"
        )
    for referral in waiting_section.rows:
        referral.client_name = f"{referral.client.first_name} {referral.client.last_name}"
        referral.url = detail(referral.pk)
        referral.group_names = groups.get(referral.pk, [])
        referral.waiting_steps = [
            procedure.STEPS_BY_CODE[step.value]
            for step in procedure.waiting_steps(
                row_facts(referral, steps.get(referral.pk, {}), len(referral.group_names))
            )
        ]
    for referral in report_section.rows:
        referral.client_name = f"{referral.client.first_name} {referral.client.last_name}"
        referral.url = detail(referral.pk)
        referral.group_names = groups.get(referral.pk, [])
        referral.referred_label = date_label(referral.referred_at, "M j, Y", "–")
        referral.last_followup_label = date_label(referral.last_followup_at, "M j, Y")
        referral.last_attendance_label = date_label(referral.last_attendance_at, "M j, Y")

    return Worklist(
        today=today,
        vic_alerts=[
            VicAlert(
                a,
                name,
                url=detail(a.referral_id),
                decide_url=decide(a.referral_id, a.group_id),
                since_label=date_label(a.since, "M j, Y"),
            )
            for a, name in vic_alerts
        ],
        upcoming_until=today + timedelta(days=UPCOMING_DAYS),
        report_back_since=today - timedelta(days=REPORT_BACK_DAYS),
        report_back_days=REPORT_BACK_DAYS,
        followups=followup_section,
        overdue_count=first.overdue_count if first else 0,
        due_today_count=first.due_today_count if first else 0,
        upcoming_count=first.upcoming_count if first else 0,
        waiting=waiting_section,
        report_back=report_section,
    )


def _count_over(condition: Q) -> Window:
    """How many rows of the whole list meet ``condition``, on each row of its page."""
    return Window(Sum(Case(When(condition, then=1), default=0, output_field=IntegerField())))


def _chosen_count() -> Subquery:
    """How many groups the row's referral has chosen."""
    counted = (
        ReferredGroup.objects.filter(referral_id=OuterRef("referral_id"))
        .order_by()
        .values("referral_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(counted, output_field=IntegerField())


def row_facts(referral: Referral, steps: dict, groups_chosen: int) -> procedure.ReferralFacts:
    """The facts procedure.waiting_steps needs, from what the worklist already read. The
    attendance is the status's word for it (``ATTENDED``); peer contacts do not change whether
    a step waits (no peer available is VIII.C's own work)."""
    return procedure.ReferralFacts(
        status=procedure.Status(referral.status),
        close_reason=referral.close_reason,
        approval=referral.approval,
        groups_chosen=groups_chosen,
        attended=1 if referral.status in ATTENDED else 0,
        steps={code: procedure.StepStatus(status) for code, status in steps.items()},
        # VIII.J from the two flags the waiting rows carry: follow-ups open (one stands for
        # "not all recorded") and one due by today. A referral with follow-ups none of which
        # is due is not waiting on J, recorded or not.
        followups_scheduled=1 if getattr(referral, "has_followups", False) else 0,
        followup_due_now=getattr(referral, "followup_due", False),
    )


def _group_names(referral_ids, withheld=None) -> dict[int, list[str]]:
    """The chosen groups' names for the rows on the pages: one query for all three lists.
    Groups VI.C rules out now (``withheld``, by referral) are not named: they are not offered."""
    withheld = withheld or {}
    names: defaultdict[int, list[str]] = defaultdict(list)
    if not referral_ids:
        return names
    for referral_id, name in (
        ReferredGroup.objects.filter(referral_id__in=referral_ids)
        .order_by("referral_id", "suggested_rank", "id")
        .values_list("referral_id", "group__name")
    ):
        if name not in withheld.get(referral_id, ()):
            names[referral_id].append(name)
    return names


def _steps(referral_ids) -> dict[int, dict[str, str]]:
    """Each waiting row's step statuses: one query for the page."""
    statuses: defaultdict[int, dict[str, str]] = defaultdict(dict)
    if not referral_ids:
        return statuses
    for referral_id, code, status in (
        ProcedureStep.objects.filter(referral_id__in=referral_ids)
        .order_by()  # no join for the model's default ordering
        .values_list("referral_id", "code", "status")
    ):
        statuses[referral_id][code] = status
    return statuses
