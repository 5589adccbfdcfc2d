"""Reads of the sign-in lockout: whether a username is locked, and a clinic's troubled accounts."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from accounts.models import SignInLock

RECENT_FAILURES = timedelta(days=1)


def clinic_sign_in_trouble(clinic, *, now=None):
    """The clinic's accounts that are locked now or failed a sign-in in the last day.

    Two queries whatever the clinic's size: the lock rows (the clinic's usernames a subquery)
    and their accounts (``row.account``).
    """
    if clinic is None:
        return []
    now = now or timezone.now()
    staff = get_user_model().objects.filter(clinic=clinic)
    rows = list(
        SignInLock.objects.filter(username__in=staff.values("username"))
        .filter(Q(locked_until__gt=now) | Q(last_failure_at__gte=now - RECENT_FAILURES))
        .order_by("-locked_until", "-last_failure_at", "username")
    )
    accounts = {
        user.username: user for user in staff.filter(username__in=[r.username for r in rows])
    }
    for row in rows:
        row.account = accounts.get(row.username)
        row.is_locked = row.locked_until is not None and row.locked_until > now
    return rows
