"""Sign-in lockout: five failures lock a username for a cool-off that doubles (pure).

A lock that only a superuser could lift let anyone shut any account out with five guesses.
Here a lock ends by itself: 5 minutes the first time, then 10, 20, 40, and at most an hour,
so a guesser gets about five tries an hour (and needs the second factor as well), while the
person locked out waits minutes, not a help-desk call. The run of lockouts is forgotten a day
after the last one, or at a successful sign-in. Per-address limits are nginx's (deploy/).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

FAILURE_LIMIT = 5
FIRST_COOL_OFF = timedelta(minutes=5)
LONGEST_COOL_OFF = timedelta(hours=1)
LOCKOUTS_FORGOTTEN_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class LockState:
    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None
    lockouts: int = 0


def cool_off(lockouts: int) -> timedelta:
    """How long the ``lockouts``-th lockout in a row lasts (1 is the first)."""
    return min(FIRST_COOL_OFF * 2 ** max(lockouts - 1, 0), LONGEST_COOL_OFF)


def is_locked(state: LockState, now: datetime) -> bool:
    return state.locked_until is not None and now < state.locked_until


def is_forgotten(state: LockState, now: datetime) -> bool:
    """Nothing left to remember: not locked, and no failure for a day. Such a state counts as
    a fresh one (``after_failure``), so its row can be deleted without changing any outcome."""
    return not is_locked(state, now) and (
        state.last_failure_at is None or now - state.last_failure_at > LOCKOUTS_FORGOTTEN_AFTER
    )


def after_failure(state: LockState, now: datetime) -> LockState:
    """The state after one more wrong password (never called while locked)."""
    if is_forgotten(state, now):
        # A day without failures forgets both the run of lockouts and the failures before it:
        # four typos last week do not make today's first one the fifth.
        state = LockState()
    lockouts = state.lockouts
    failures = state.failures + 1
    if failures >= FAILURE_LIMIT:
        lockouts += 1
        return LockState(
            failures=0,
            last_failure_at=now,
            locked_until=now + cool_off(lockouts),
            lockouts=lockouts,
        )
    return replace(state, failures=failures, last_failure_at=now, lockouts=lockouts)


def after_success(state: LockState) -> LockState:
    return LockState()
