"""After a wrong code django-otp makes the device wait; the page says so instead of "wrong"."""

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories.accounts import PASSWORD
from tests.integration.accounts.test_sign_in import current_code


def test_a_right_code_during_the_wait_is_told_to_wait_then_accepted(client, settings, clinician):
    settings.REQUIRE_MFA = True
    device = TOTPDevice.objects.create(user=clinician, name="app", confirmed=True)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post("/account/sign-in/", {"username": clinician.username, "password": PASSWORD})
        wrong = "000000" if current_code(device) != "000000" else "111111"
        assert client.post(reverse("accounts:two-factor"), {"token": wrong}).status_code == 400
        response = client.post(reverse("accounts:two-factor"), {"token": current_code(device)})
        assert response.status_code == 429
        assert b"Too many wrong codes in a row" in response.content
    with time_machine.travel(start + timedelta(seconds=3), tick=False):
        device.refresh_from_db()
        response = client.post(reverse("accounts:two-factor"), {"token": current_code(device)})
        assert response.status_code == 302
