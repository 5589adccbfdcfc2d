"""Writes of the sign-in lockout: one username's row, held for the whole attempt.

``hold`` must run inside ``transaction.atomic``: it locks the username's row (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite's immediate transactions serialise writers), so concurrent
guesses at one username wait for each other and each sees the count the last one left.
Twenty concurrent wrong passwords are then exactly five password checks and fifteen refusals.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from accounts.models import SignInLock
from accounts.rules import lockout as rules


def state_of(row: SignInLock) -> rules.LockState:
    return rules.LockState(
        failures=row.failures,
        last_failure_at=row.last_failure_at,
        locked_until=row.locked_until,
        lockouts=row.lockouts,
    )


def _store(row: SignInLock, state: rules.LockState) -> SignInLock:
    row.failures = state.failures
    row.last_failure_at = state.last_failure_at
    row.locked_until = state.locked_until
    row.lockouts = state.lockouts
    row.save(update_fields=["failures", "last_failure_at", "locked_until", "lockouts"])
    return row


def hold(username: str) -> SignInLock:
    """The username's row, created if new, locked until the surrounding transaction ends."""
    SignInLock.objects.bulk_create([SignInLock(username=username)], ignore_conflicts=True)
    return SignInLock.objects.select_for_update().get(username=username)


def record_failure(row: SignInLock, *, now=None) -> bool:
    """Count one wrong password; True when it locked the username."""
    state = rules.after_failure(state_of(row), now or timezone.now())
    _store(row, state)
    return state.failures == 0 and state.locked_until is not None


def record_success(row: SignInLock) -> None:
    if row.failures or row.lockouts or row.locked_until:
        _store(row, rules.after_success(state_of(row)))


def unlock(*, usernames) -> int:
    """Lift the locks and forget the failures of these usernames (an administrator's unlock)."""
    return SignInLock.objects.filter(username__in=list(usernames)).delete()[0]


def prune(*, now: datetime | None = None) -> int:
    """Delete the rows ``rules.is_forgotten`` says hold nothing (no lock, no failure for a day):
    one row per username ever typed wrong would otherwise grow for ever. The same condition as
    the rule, in SQL; a test checks the two agree."""
    now = now or timezone.now()
    cutoff = now - rules.LOCKOUTS_FORGOTTEN_AFTER
    not_locked = Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    quiet = Q(last_failure_at__isnull=True) | Q(last_failure_at__lt=cutoff)
    return SignInLock.objects.filter(not_locked & quiet).delete()[0]
