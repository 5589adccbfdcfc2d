"""Idle logoff after 15 minutes and an absolute limit of 12 hours, on a frozen clock."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AccessEvent, StaffSession
from tests.factories.accounts import PASSWORD

START = timezone.now().replace(microsecond=0)


@pytest.fixture
def signed_in_at_start(client, settings, clinician):
    settings.REQUIRE_MFA = False
    with time_machine.travel(START, tick=False):
        client.post("/account/sign-in/", {"username": clinician.username, "password": PASSWORD})
        assert client.get("/clinician/").status_code == 200
    return client


def get_at(client, moment, path="/clinician/", **extra):
    with time_machine.travel(moment, tick=False):
        return client.get(path, **extra)


def test_activity_within_fifteen_minutes_keeps_the_session(signed_in_at_start):
    client = signed_in_at_start
    for minutes in (14, 28, 42, 56):
        assert get_at(client, START + timedelta(minutes=minutes)).status_code == 200


def test_fifteen_idle_minutes_sign_out_on_the_server(signed_in_at_start, clinician):
    client = signed_in_at_start
    key = client.session.session_key
    response = get_at(client, START + timedelta(minutes=15, seconds=1))
    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/"
    assert not StaffSession.objects.filter(session_key=key).exists()
    event = AccessEvent.objects.get(action=AccessEvent.Action.SIGN_OUT)
    assert (event.user, event.reason) == (clinician, "idle timeout")
    response = get_at(client, START + timedelta(minutes=16), path="/account/sign-in/")
    assert b"15 minutes without activity" in response.content


def test_idle_logoff_answers_htmx_with_a_client_redirect(signed_in_at_start):
    response = get_at(signed_in_at_start, START + timedelta(minutes=20), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/account/sign-in/"


def test_twelve_hours_end_the_session_even_with_activity(signed_in_at_start, clinician):
    client = signed_in_at_start
    moment = START
    while moment < START + timedelta(hours=11, minutes=50):
        moment += timedelta(minutes=10)
        assert get_at(client, moment).status_code == 200, moment - START
    response = get_at(client, START + timedelta(hours=12))
    assert response.status_code == 302
    assert AccessEvent.objects.get(action=AccessEvent.Action.SIGN_OUT).reason == "session limit"
    assert "_auth_user_id" not in client.session
