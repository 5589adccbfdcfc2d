"""How current the list is (VII.D), for site admins and supervisors: the share of listings
verified within the period, by heading and by Service Planning Area, the calls made this
month, open change requests, and listings whose medication stance (VI.C) is not known.

A fixed number of aggregate queries whatever the size of the list.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q

from directory.models import (
    Category,
    ChangeRequest,
    Group,
    ServiceArea,
    VerificationCall,
    current_cutoff,
)


@dataclass(frozen=True)
class Row:
    label: str
    listings: int
    current: int

    @property
    def stale(self) -> int:
        return self.listings - self.current

    @property
    def share(self) -> int:
        """Percent current, rounded down (0 when there is nothing to count)."""
        return self.current * 100 // self.listings if self.listings else 0


@dataclass(frozen=True)
class Progress:
    total: Row
    by_heading: list[Row]
    by_area: list[Row]
    calls_this_month: int
    reached_this_month: int
    open_change_requests: int
    stance_not_known: int
    month_start: date

    def chart(self, rows: list[Row]) -> dict:
        return {
            "labels": [row.label for row in rows],
            "current": [row.current for row in rows],
            "stale": [row.stale for row in rows],
        }

    @property
    def heading_chart(self) -> dict:
        return self.chart(self.by_heading)

    @property
    def area_chart(self) -> dict:
        return self.chart(self.by_area)


def progress(today: date) -> Progress:
    cutoff = current_cutoff(today)
    listed = Q(groups__archived_at__isnull=True)
    current = listed & Q(groups__last_verified_on__gte=cutoff)

    def rows(queryset):
        return [
            Row(item.name, item.listings, item.current)
            for item in queryset.annotate(
                listings=Count("groups", filter=listed, distinct=True),
                current=Count("groups", filter=current, distinct=True),
            )
        ]

    groups = Group.objects.current()
    totals = groups.aggregate(
        listings=Count("pk"),
        current=Count("pk", filter=Q(last_verified_on__gte=cutoff)),
        not_known=Count("pk", filter=Q(medication_stance=Group.MedicationStance.NOT_KNOWN)),
    )
    month_start = today.replace(day=1)
    calls = VerificationCall.objects.filter(called_on__gte=month_start).aggregate(
        made=Count("pk"),
        reached=Count("pk", filter=Q(outcome=VerificationCall.Outcome.REACHED)),
    )
    return Progress(
        total=Row("All listings", totals["listings"], totals["current"]),
        by_heading=rows(Category.objects.order_by("order", "name")),
        by_area=rows(
            ServiceArea.objects.filter(kind=ServiceArea.Kind.SPA).order_by("spa_number", "name")
        ),
        calls_this_month=calls["made"],
        reached_this_month=calls["reached"],
        open_change_requests=ChangeRequest.objects.filter(state=ChangeRequest.State.OPEN).count(),
        stance_not_known=totals["not_known"],
        month_start=month_start,
    )
