"""The site admin's verification call queue (VII.D), ordered by risk and by use.

It reads the referrals (how often each listing was chosen lately), so it sits here rather than
in the directory, which knows nothing of referrals. Order: an open medication concern first
(VI.C: a group that may tell medicated clients to stop), then an open clinicians' report, then
the listings referred to most in the last 90 days, then the stalest (never verified first).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.pagination import CountedPage, CountedPaginator
from directory.models import Contact, Group, ReviewFlag, VerificationCall
from directory.rules.currency import FAILURE_WINDOW, Attempt, Outcome, archive_proposal
from directory.selectors.manage import local_today
from referrals.models import ReferredGroup

QUEUE_PAGE_SIZE = 25
RECENT_USE = timedelta(days=90)


@dataclass
class QueueRow:
    group: Group
    medication_concern: bool
    reported: bool
    referred_recently: int
    archive_reason: str


def queue_listings(today=None):
    """Listings in the clinicians' search that are stale or carry an open flag, in call order."""
    today = today or local_today()
    since = timezone.now() - RECENT_USE
    open_flags = ReviewFlag.objects.filter(group=OuterRef("pk"), resolved_at__isnull=True)
    referred = (
        ReferredGroup.objects.filter(group=OuterRef("pk"), chosen_at__gte=since)
        .order_by()
        .values("group")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Group.objects.current()
        .annotate(
            medication_concern=Exists(open_flags.filter(concerns_medication=True)),
            reported=Exists(open_flags.filter(source=ReviewFlag.Source.CLINICIAN)),
            any_flag=Exists(open_flags),
            referred_recently=Coalesce(Subquery(referred, output_field=IntegerField()), 0),
        )
        .filter(Q(any_flag=True) | Q(pk__in=Group.objects.stale(today).values("pk")))
        .order_by(
            F("medication_concern").desc(),
            F("reported").desc(),
            F("referred_recently").desc(),
            F("last_verified_on").asc(nulls_first=True),
            "name",
            "pk",
        )
    )


def queue(page_number, today=None) -> tuple[CountedPage, list[QueueRow]]:
    """One page of the queue: its count, its rows, their phones and their recent attempts."""
    today = today or local_today()
    listings = queue_listings(today)
    page = CountedPaginator(listings, QUEUE_PAGE_SIZE, count=listings.count()).get_page(page_number)
    ids = [group.pk for group in page.object_list]
    groups = (
        Group.objects.filter(pk__in=ids)
        .prefetch_related(
            Prefetch("contacts", queryset=Contact.objects.filter(kind=Contact.Kind.PHONE)),
            Prefetch(
                "verification_calls",
                queryset=VerificationCall.objects.filter(called_on__gte=today - FAILURE_WINDOW),
                to_attr="recent_calls",
            ),
        )
        .in_bulk()
    )
    rows = []
    for listed in page.object_list:
        group = groups[listed.pk]
        attempts = [Attempt(c.called_on, Outcome(c.outcome)) for c in group.recent_calls]
        rows.append(
            QueueRow(
                group=group,
                medication_concern=listed.medication_concern,
                reported=listed.reported,
                referred_recently=listed.referred_recently,
                archive_reason=archive_proposal(attempts, today),
            )
        )
    return page, rows
