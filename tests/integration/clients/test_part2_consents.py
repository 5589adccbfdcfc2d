"""The client's 42 CFR Part 2 consents page: recording a signed consent and its revocation, who
may, bad input refused with nothing saved, the access log, a fixed number of queries, and the
effect on the referral's FHIR export (IV.D)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AccessEvent
from clients.models import SubstanceUseConsent
from tests.factories.clients import ClientFactory, SubstanceUseConsentFactory
from tests.factories.directory import GroupFactory, NeedFactory
from tests.factories.referrals import ReferralFactory, ReferredGroupFactory, ScreeningFactory


@pytest.fixture
def client_record(clinic, clinician):
    return ClientFactory(clinic=clinic, created_by=clinician)


def url(client_record) -> str:
    return f"/clients/{client_record.pk}/part2-consents/"


def valid(**changes) -> dict:
    today = timezone.localdate()
    return {
        "action": "record",
        "recipient": "The clinic's electronic health record",
        "purpose": "Treatment",
        "signed_on": today.isoformat(),
        "expires_on": (today + timedelta(days=365)).isoformat(),
        "expiry_event": "",
        **changes,
    }


def test_a_clinician_records_a_consent_with_who_and_when(sign_in, clinician, client_record):
    response = sign_in(clinician).post(url(client_record), valid())
    assert response.status_code == 302
    consent = SubstanceUseConsent.objects.get(client=client_record)
    assert consent.recorded_by == clinician and consent.clinic_id == client_record.clinic_id
    assert consent.history.first().history_user == clinician
    page = sign_in(clinician).get(url(client_record)).content.decode()
    assert "In force" in page and "The clinic&#x27;s electronic health record" in page
    event = AccessEvent.objects.filter(action=AccessEvent.Action.CREATE).get()
    assert event.object_type == "client" and event.object_id == str(client_record.pk)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"recipient": ""}, "Name the recipient"),
        ({"signed_on": "2099-01-01", "expires_on": "2099-02-01"}, "cannot be in the future"),
        ({"expires_on": "", "expiry_event": ""}, "or the event that ends it"),
        ({"expires_on": "2000-01-01"}, "cannot end before it was signed"),
        ({"signed_on": "yesterday"}, "Give a date"),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(
    sign_in, clinician, client_record, changes, message
):
    response = sign_in(clinician).post(url(client_record), valid(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SubstanceUseConsent.objects.exists()


def test_an_event_instead_of_a_date_is_enough(sign_in, clinician, client_record):
    data = valid(expires_on="", expiry_event="End of treatment at the clinic")
    assert sign_in(clinician).post(url(client_record), data).status_code == 302
    assert SubstanceUseConsent.objects.get().expiry_event == "End of treatment at the clinic"


def test_a_revocation_is_recorded_once_and_the_consent_kept(sign_in, clinician, client_record):
    consent = SubstanceUseConsentFactory(client=client_record, recorded_by=clinician)
    today = timezone.localdate().isoformat()
    session = sign_in(clinician)
    revoke = {"action": "revoke", "consent": consent.pk, "revoked_on": today}
    assert session.post(url(client_record), revoke).status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_on.isoformat() == today
    assert AccessEvent.objects.filter(action=AccessEvent.Action.EDIT).count() == 1
    # Revoked already: not offered again, and a second post changes nothing.
    assert session.post(url(client_record), revoke).status_code == 400
    assert "Revoked" in session.get(url(client_record)).content.decode()


@pytest.mark.parametrize(
    ("revoked_on", "message"),
    [("2099-01-01", "cannot be in the future"), ("2000-01-01", "before it was signed")],
)
def test_a_bad_revocation_is_refused(sign_in, clinician, client_record, revoked_on, message):
    consent = SubstanceUseConsentFactory(client=client_record, recorded_by=clinician)
    data = {"action": "revoke", "consent": consent.pk, "revoked_on": revoked_on}
    response = sign_in(clinician).post(url(client_record), data)
    assert response.status_code == 400 and message in response.content.decode()
    consent.refresh_from_db()
    assert consent.revoked_on is None


def test_another_clients_consent_cannot_be_revoked_here(sign_in, clinician, client_record, clinic):
    other = SubstanceUseConsentFactory(
        client=ClientFactory(clinic=clinic, created_by=clinician), recorded_by=clinician
    )
    data = {"action": "revoke", "consent": other.pk, "revoked_on": "2026-01-01"}
    assert sign_in(clinician).post(url(client_record), data).status_code == 400
    other.refresh_from_db()
    assert other.revoked_on is None


def test_revoking_stops_the_fhir_export_sending_substance_use(sign_in, clinic, clinician):
    """IV.D: after the revocation, the referral's Bundle leaves the substance-use group out."""
    sober = GroupFactory(slug="sober-steps", name="Sober Steps Fellowship")
    sober.needs.add(NeedFactory(slug="alcohol"))
    screening = ScreeningFactory(client=ClientFactory(clinic=clinic, created_by=clinician))
    now = timezone.now()
    referral = ReferralFactory(
        screening=screening,
        status="referred",
        approval="approved",
        approval_recorded_at=now,
        referred_at=now,
    )
    ReferredGroupFactory(referral=referral, group=sober)
    consent = SubstanceUseConsentFactory(
        client=referral.client, recorded_by=clinician, signed_on=timezone.localdate() - timedelta(1)
    )
    session = sign_in(clinician)
    assert "Sober Steps" in session.get(f"/referrals/{referral.pk}/fhir/").content.decode()
    today = timezone.localdate().isoformat()
    session.post(
        url(referral.client), {"action": "revoke", "consent": consent.pk, "revoked_on": today}
    )
    assert "Sober Steps" not in session.get(f"/referrals/{referral.pk}/fhir/").content.decode()


# --- roles and tenancy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ("clinician", 200),
        ("supervisor", 403),
        ("site_admin", 403),
        ("no_role_user", 403),
        ("outsider", 404),
    ],
)
def test_who_may_open_the_page(request, sign_in, client_record, person, expected):
    user = request.getfixturevalue(person)
    assert sign_in(user).get(url(client_record)).status_code == expected
    response = sign_in(user).post(url(client_record), valid())
    assert response.status_code == (302 if expected == 200 else expected)
    assert SubstanceUseConsent.objects.exists() is (expected == 200)
    if expected == 404:
        event = AccessEvent.objects.filter(user=user, action=AccessEvent.Action.VIEW).get()
        assert event.outcome == AccessEvent.Outcome.NOT_FOUND


def test_anonymous_is_sent_to_sign_in(client, client_record):
    response = client.get(url(client_record))
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]


# The session, the user, the OTP device (the permission set is the session's), the client, the
# consents with who recorded them, and the access log's row.
PAGE_QUERIES = 6


def test_queries_do_not_grow_with_consents(sign_in, clinician, client_record, count_queries):
    SubstanceUseConsentFactory(client=client_record, recorded_by=clinician)
    session = sign_in(clinician)
    session.get(url(client_record))  # the session's first request
    few = count_queries(session, url(client_record))
    for _ in range(25):
        SubstanceUseConsentFactory(client=client_record, recorded_by=clinician)
    assert count_queries(session, url(client_record)) == few == PAGE_QUERIES
