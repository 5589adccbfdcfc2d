"""core.access.fetch: a record of the user's own clinic, or 404, and both told to the access log."""

import pytest
from django.http import Http404
from django.test import RequestFactory

from accounts.services.access_log import _RequestAccessLog
from clients.models import Client
from core.access import fetch
from tests.factories.clients import ClientFactory
from tests.factories.referrals import ReferralFactory

pytestmark = pytest.mark.django_db


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    request.access_log = _RequestAccessLog()
    return request


def test_a_record_of_the_users_clinic_is_returned_and_named_as_the_subject():
    client = ClientFactory()
    request = _request(client.created_by)

    assert fetch(request, Client.objects.all(), client.pk) == client
    assert request.access_log.obj == client
    assert (request.access_log.object_type, request.access_log.object_id) == (
        "client",
        str(client.pk),
    )


def test_another_clinics_record_is_not_found_and_the_attempt_is_logged():
    mine, theirs = ClientFactory(), ClientFactory()
    assert mine.clinic_id != theirs.clinic_id
    request = _request(mine.created_by)

    with pytest.raises(Http404):
        fetch(request, Client.objects.all(), theirs.pk)
    assert request.access_log.obj is None
    assert request.access_log.object_id == str(theirs.pk)


def test_a_user_without_a_clinic_finds_nothing():
    client = ClientFactory()
    user = client.created_by
    user.clinic = None
    request = _request(user)

    with pytest.raises(Http404):
        fetch(request, Client.objects.all(), client.pk)


def test_the_log_type_can_name_the_record_otherwise():
    referral = ReferralFactory()
    request = _request(referral.clinician)

    fetch(request, type(referral).objects.all(), referral.pk, log_type="referral-sheet")
    assert request.access_log.object_type == "referral-sheet"


def test_a_view_without_the_access_log_fails_loudly():
    client = ClientFactory()
    request = RequestFactory().get("/")
    request.user = client.created_by

    with pytest.raises(AttributeError):
        fetch(request, Client.objects.all(), client.pk)
