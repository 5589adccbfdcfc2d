"""The lockout as the sign-in page applies it, the supervisor's view of it, and unlocking."""

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessEvent, SignInLock
from tests.factories.accounts import UserFactory
from tests.integration.accounts.test_sign_in import post_sign_in


def lock(client, username, times=5):
    for _ in range(times):
        response = post_sign_in(client, username, "wrong password!")
    return response


def test_the_lock_ends_by_itself_and_the_next_one_lasts_longer(client, settings, clinician):
    settings.REQUIRE_MFA = False
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert lock(client, clinician.username).status_code == 429
        event = AccessEvent.objects.get(action=AccessEvent.Action.LOCKOUT)
        assert event.reason == "5 failed attempts; locked 5 minutes"
    with time_machine.travel(start + timedelta(minutes=4), tick=False):
        response = post_sign_in(client, clinician.username)
        assert response.status_code == 429
        assert b"unlocks by itself" in response.content
    with time_machine.travel(start + timedelta(minutes=5, seconds=1), tick=False):
        # Five more wrong ones: locked again, for twice as long.
        assert lock(client, clinician.username).status_code == 429
        assert SignInLock.objects.get(username=clinician.username).locked_until == (
            timezone.now() + timedelta(minutes=10)
        )
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        assert post_sign_in(client, clinician.username).status_code == 302
        assert SignInLock.objects.get(username=clinician.username).lockouts == 0


def test_a_locked_attempt_never_checks_the_password(client, settings, clinician, monkeypatch):
    settings.REQUIRE_MFA = False
    lock(client, clinician.username)
    checked = []
    monkeypatch.setattr(
        "accounts.backends.StaffBackend.authenticate",
        lambda *args, **kwargs: checked.append(1),
    )
    assert post_sign_in(client, clinician.username).status_code == 429
    assert checked == []
    assert AccessEvent.objects.filter(
        action=AccessEvent.Action.FAILED_SIGN_IN, reason="account locked", outcome="denied"
    ).exists()


def test_unknown_usernames_lock_the_same_way(client, db):
    # Told apart, they would tell a guesser which usernames exist.
    assert lock(client, "no-such-person").status_code == 429


class TestSupervisorHome:
    def test_shows_locked_and_failing_accounts_of_the_clinic_only(
        self, client, sign_in, settings, supervisor, clinician, outsider
    ):
        settings.REQUIRE_MFA = False
        failing = UserFactory(username="typo-prone", clinic=clinician.clinic)
        lock(client, clinician.username)
        post_sign_in(client, failing.username, "wrong password!")
        lock(client, outsider.username)
        page = sign_in(supervisor).get(reverse("supervisor-home"))
        rows = {row.username: row for row in page.context["sign_in_trouble"]}
        assert set(rows) == {"clinician", "typo-prone"}
        assert rows["clinician"].is_locked and not rows["typo-prone"].is_locked
        assert rows["typo-prone"].failures == 1
        assert b"Locked until" in page.content
        assert b"outsider" not in page.content.split(b"trouble-heading")[1]

    def test_nothing_to_show(self, sign_in, supervisor):
        page = sign_in(supervisor).get(reverse("supervisor-home"))
        assert b"No account of your clinic is locked" in page.content


def test_superuser_unlock_is_logged(client, settings, clinician, superuser):
    settings.REQUIRE_MFA = False
    lock(client, clinician.username)
    admin_client = type(client)()
    admin_client.force_login(superuser)
    admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "unlock_sign_in", "_selected_action": [clinician.pk]},
    )
    assert post_sign_in(client, clinician.username).status_code == 302
    event = AccessEvent.objects.get(action=AccessEvent.Action.ACCOUNT)
    assert (event.user, event.object_type, event.object_id, event.reason) == (
        superuser,
        "user",
        str(clinician.pk),
        "sign-in unlocked",
    )


def test_pruning_deletes_exactly_the_rows_the_rule_calls_forgotten(db):
    """The daily prune (``manage.py prune_sign_in_locks``) in SQL and ``rules.is_forgotten``
    agree row by row: a lock still running or a failure within the day is kept."""
    from io import StringIO

    from django.core.management import call_command

    from accounts.rules import lockout as rules
    from accounts.services import lockout as services

    now = timezone.now()
    day = rules.LOCKOUTS_FORGOTTEN_AFTER
    rows = {
        "never-failed": {},
        "failed-an-hour-ago": {"failures": 2, "last_failure_at": now - timedelta(hours=1)},
        "failed-two-days-ago": {"failures": 4, "last_failure_at": now - 2 * day},
        "locked-now-old-failure": {
            "last_failure_at": now - 2 * day,
            "locked_until": now + timedelta(hours=1),
            "lockouts": 9,
        },
        "lock-ended-long-ago": {
            "last_failure_at": now - 3 * day,
            "locked_until": now - 3 * day,
            "lockouts": 1,
        },
        "lock-ended-recent-failure": {
            "last_failure_at": now - timedelta(minutes=30),
            "locked_until": now - timedelta(minutes=25),
            "lockouts": 1,
        },
    }
    for username, fields in rows.items():
        SignInLock.objects.create(username=username, **fields)
    expected_kept = {
        row.username
        for row in SignInLock.objects.all()
        if not rules.is_forgotten(services.state_of(row), now)
    }
    assert expected_kept == {
        "failed-an-hour-ago",
        "locked-now-old-failure",
        "lock-ended-recent-failure",
    }

    out = StringIO()
    call_command("prune_sign_in_locks", stdout=out)
    assert set(SignInLock.objects.values_list("username", flat=True)) == expected_kept
    assert "deleted: 3" in out.getvalue()
