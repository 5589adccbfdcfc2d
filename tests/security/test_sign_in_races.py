"""Sign-in under concurrency: single-use codes and the lockout count, with threads on PostgreSQL.

The attack: eight sessions with the password sent one backup code at the same instant and 3-4
of them were signed in; one TOTP code signed in up to 3; concurrent wrong passwords got about 8
guesses before the lock instead of 5. Every code is now checked with its device's row locked,
and the sign-in holds the username's lock row for the whole attempt.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python -m pytest -s \
        tests/security/test_sign_in_races.py
"""

from collections import Counter

from django.test import Client as Browser
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessEvent, SignInLock
from accounts.services.two_factor import replace_backup_codes
from tests.factories.accounts import PASSWORD
from tests.integration.accounts.test_sign_in import current_code
from tests.security.test_concurrency import (  # noqa: F401 (a fixture the mark uses)
    _migrated_data_kept,
    at_once,
    concurrent,
    figure,
    statuses,
)

SESSIONS = 8


def password_only_sessions(user, count=SESSIONS):
    browsers = []
    for _ in range(count):
        browser = Browser(raise_request_exception=False)
        response = browser.post(
            reverse("accounts:sign-in"), {"username": user.username, "password": PASSWORD}
        )
        assert response.status_code == 302
        browsers.append(browser)
    return browsers


def signed_in(browsers) -> int:
    return sum(browser.get("/clinician/").status_code == 200 for browser in browsers)


@concurrent
def test_one_backup_code_signs_in_one_of_eight_sessions(settings, clinician):
    settings.REQUIRE_MFA = True
    TOTPDevice.objects.create(user=clinician, name="Authenticator app", confirmed=True)
    code = replace_backup_codes(by=clinician)[0]
    browsers = password_only_sessions(clinician)
    url = reverse("accounts:two-factor")
    responses = at_once([lambda b=b: b.post(url, {"token": code}) for b in browsers])
    counts = statuses(responses)
    figure(f"one backup code, {SESSIONS} sessions at once: {dict(counts)}")
    assert counts[302] == 1
    assert signed_in(browsers) == 1
    assert StaticToken.objects.filter(device__user=clinician).count() == 9


@concurrent
def test_one_app_code_signs_in_one_of_eight_sessions(settings, clinician):
    settings.REQUIRE_MFA = True
    device = TOTPDevice.objects.create(user=clinician, name="Authenticator app", confirmed=True)
    browsers = password_only_sessions(clinician)
    code = current_code(device)
    url = reverse("accounts:two-factor")
    responses = at_once([lambda b=b: b.post(url, {"token": code}) for b in browsers])
    counts = statuses(responses)
    figure(f"one app code, {SESSIONS} sessions at once: {dict(counts)}")
    assert counts[302] == 1
    assert signed_in(browsers) == 1


@concurrent
def test_twenty_concurrent_wrong_passwords_are_five_guesses(settings, clinician):
    settings.REQUIRE_MFA = False
    browsers = [Browser(raise_request_exception=False) for _ in range(20)]
    url = reverse("accounts:sign-in")
    data = {"username": clinician.username, "password": "a wrong guess"}
    responses = at_once([lambda b=b: b.post(url, data) for b in browsers])
    counts = statuses(responses)
    reasons = Counter(
        AccessEvent.objects.filter(username=clinician.username).values_list("reason", flat=True)
    )
    figure(f"20 wrong passwords at once: {dict(counts)}; log {dict(reasons)}")
    assert reasons["wrong username or password"] == 5  # five password checks, no more
    assert reasons["account locked"] == 15
    assert AccessEvent.objects.filter(action=AccessEvent.Action.LOCKOUT).count() == 1
    assert counts == Counter({200: 4, 429: 16})
    assert SignInLock.objects.get(username=clinician.username).lockouts == 1
    # The right password is refused too, until the cool-off ends.
    assert Browser().post(url, {**data, "password": PASSWORD}).status_code == 429
