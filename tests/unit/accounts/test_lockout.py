"""The lockout rule: five failures lock for a cool-off that doubles, up to an hour (pure)."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.rules.lockout import (
    FAILURE_LIMIT,
    LockState,
    after_failure,
    after_success,
    cool_off,
    is_forgotten,
    is_locked,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lockouts", "minutes"), [(1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (9, 60)]
)
def test_cool_off_doubles_up_to_an_hour(lockouts, minutes):
    assert cool_off(lockouts) == timedelta(minutes=minutes)


def fail(state, times, at=NOW):
    for _ in range(times):
        state = after_failure(state, at)
    return state


def test_four_failures_do_not_lock_the_fifth_does():
    state = fail(LockState(), FAILURE_LIMIT - 1)
    assert not is_locked(state, NOW) and state.failures == 4
    state = fail(state, 1)
    assert is_locked(state, NOW)
    assert state.locked_until == NOW + timedelta(minutes=5)
    assert state.failures == 0 and state.lockouts == 1


def test_the_lock_ends_by_itself():
    state = fail(LockState(), 5)
    assert is_locked(state, NOW + timedelta(minutes=4, seconds=59))
    assert not is_locked(state, NOW + timedelta(minutes=5))


def test_each_lockout_in_a_row_lasts_longer():
    state = fail(LockState(), 5)
    later = NOW + timedelta(minutes=6)
    state = fail(state, 5, at=later)
    assert state.lockouts == 2
    assert state.locked_until == later + timedelta(minutes=10)


def test_a_day_without_failures_forgets_the_run_of_lockouts():
    state = fail(fail(LockState(), 5), 5, at=NOW + timedelta(minutes=6))
    much_later = NOW + timedelta(days=2)
    state = fail(state, 5, at=much_later)
    assert state.lockouts == 1
    assert state.locked_until == much_later + timedelta(minutes=5)


def test_success_starts_again():
    assert after_success(fail(LockState(), 5)) == LockState()


def test_a_day_without_failures_forgets_the_failures_too():
    state = fail(LockState(), FAILURE_LIMIT - 1)
    state = fail(state, 1, at=NOW + timedelta(days=1, seconds=1))
    assert not is_locked(state, NOW + timedelta(days=1, seconds=1))
    assert state.failures == 1


@pytest.mark.parametrize(
    ("state", "at", "forgotten"),
    [
        (LockState(), NOW, True),
        (LockState(failures=3, last_failure_at=NOW), NOW + timedelta(hours=23), False),
        (LockState(failures=3, last_failure_at=NOW), NOW + timedelta(days=1, seconds=1), True),
        # Locked: remembered until the lock ends, even if the last failure is old.
        (
            LockState(last_failure_at=NOW, locked_until=NOW + timedelta(days=2), lockouts=9),
            NOW + timedelta(days=1, hours=1),
            False,
        ),
        (
            LockState(last_failure_at=NOW, locked_until=NOW + timedelta(hours=1), lockouts=5),
            NOW + timedelta(days=1, seconds=1),
            True,
        ),
    ],
)
def test_what_can_be_forgotten(state, at, forgotten):
    assert is_forgotten(state, at) is forgotten
