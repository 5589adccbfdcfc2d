"""Peer contacts (policy VIII.K, VIII.C) through real requests: the clinic's own list with the
phones its clients chose to share, withdrawal that takes effect at once (no later introduction
offers the contact, and an introduction sent from an older page is refused), other clinics
seeing first name and group only, roles and tenancy, the access log, and query counts.
"""

from __future__ import annotations

import html
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessEvent
from clients.models import PeerContact
from clients.services import peer_contacts as peer_contact_services
from referrals.models import ProcedureStep, Referral
from tests.factories.clients import ClientFactory, PeerContactFactory
from tests.factories.directory import GroupFactory
from tests.factories.referrals import ReferralFactory, ReferredGroupFactory, ScreeningFactory

PHONE = "+13235550142"
PHONE_SHOWN = "(323) 555-0142"

REFER_SCREENING = {
    "indications": [{"code": "IV.H", "detail": "depression"}],
    "no_indication_found": False,
    "selection_criterion": "met",
    "violence_without_impulse_control": "no",
    "expressed_disinterest": "no",
    "explanation_given": True,
    "on_prescribed_medication": "no",
}


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def group(db):
    return GroupFactory(name="Grupo Esperanza", slug="grupo-esperanza")


@pytest.fixture
def contact_client(clinic, clinician):
    """A client of THIS clinic who attends the group."""
    return ClientFactory(
        clinic=clinic,
        created_by=clinician,
        first_name="Marisol",
        last_name="Quintanilla",
        record_number="778899",
    )


def _contact(client, group, first_name="Xiomara", phone=PHONE, *, by, **fields):
    return PeerContactFactory(
        client=client,
        group=group,
        first_name=first_name,
        phone=phone,
        consented_on=date(2026, 1, 5),
        recorded_by=by,
        **fields,
    )


@pytest.fixture
def contact(contact_client, group, clinician):
    # The first name they chose to share ("Xiomara") is not their record's first name.
    return _contact(contact_client, group, by=clinician)


@pytest.fixture
def theirs(other_clinic, outsider, group):
    """Another clinic's contact for the same group."""
    client = ClientFactory(
        clinic=other_clinic, created_by=outsider, first_name="Teodoro", last_name="Vance"
    )
    return _contact(client, group, "Teo", "+12135550199", by=outsider)


def _referred(client, by, groups) -> Referral:
    """A referral whose client input is approved (VIII.B done) and groups chosen: step C waits
    for the phone introduction (VIII.C)."""
    screening = ScreeningFactory(client=client, screened_by=by, answers=REFER_SCREENING)
    referral = ReferralFactory(screening=screening, approval=Referral.Approval.APPROVED)
    ProcedureStep.objects.filter(referral=referral, code=ProcedureStep.Code.B).update(
        status=ProcedureStep.Status.DONE, completed_by=by, completed_at=timezone.now()
    )
    for rank, chosen in enumerate(groups, start=1):
        ReferredGroupFactory(
            referral=referral,
            group=chosen,
            suggested_rank=rank,
            chosen_at=timezone.now(),
            chosen_by=by,
        )
    Referral.objects.filter(pk=referral.pk).update(
        status=Referral.Status.REFERRED, referred_at=timezone.now()
    )
    referral.refresh_from_db()
    return referral


@pytest.fixture
def their_referral(other_clinic, outsider, group):
    """A referral at ANOTHER clinic to the contact's group: introductions cross clinics."""
    client = ClientFactory(clinic=other_clinic, created_by=outsider, first_name="Rosa")
    return _referred(client, outsider, [group])


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _radio(contact) -> str:
    return f'name="peer_contact" value="{contact.pk}"'


def _page_events():
    return list(
        AccessEvent.objects.filter(action__in=["view", "create", "edit", "denied"]).order_by("id")
    )


LIST = "/clients/peer-contacts/"


def _withdraw_url(contact) -> str:
    return f"/clients/peer-contacts/{contact.pk}/withdraw/"


# --- the clinic's list -------------------------------------------------------------------------


def test_the_clinics_list_shows_what_each_client_chose_to_share(
    sign_in, clinician, contact, theirs
):
    response = sign_in(clinician).get(LIST)
    assert response.status_code == 200
    page = _text(response)
    row = page[page.index(f'id="contact-{contact.pk}"') :]
    row = row[: row.index("</tr>")]
    for shown in ["Xiomara", "Grupo Esperanza", PHONE_SHOWN, "Jan. 5, 2026", "Active"]:
        assert shown in row
    assert f'href="tel:{PHONE}"' in row
    assert f"/clients/{contact.client_id}/" in row  # the clinic's own client
    assert _withdraw_url(contact) in row
    # Another clinic's contacts are not on this clinic's list, by name or by phone.
    assert "Teo" not in page and "555-0199" not in page
    assert "VIII.K" in page


def test_the_supervisor_reads_the_list_but_cannot_withdraw(sign_in, supervisor, contact):
    page = _text(sign_in(supervisor).get(LIST))
    assert "Xiomara" in page and PHONE_SHOWN in page
    assert _withdraw_url(contact) not in page


def test_withdrawn_contacts_stay_on_the_list_with_the_date_and_who(
    sign_in, clinician, contact, contact_client, group
):
    other = GroupFactory(name="Another Group", slug="another-group")
    _contact(contact_client, other, "Xiomara", by=clinician)
    peer_contact_services.withdraw_peer_contact(
        contact=contact, by=clinician, today=date(2026, 3, 9)
    )
    page = _text(sign_in(clinician).get(LIST))
    row = page[page.index(f'id="contact-{contact.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Withdrawn" in row and "March 9, 2026" in row
    assert clinician.get_full_name() in row
    assert _withdraw_url(contact) not in row  # nothing left to withdraw
    assert f'href="tel:{PHONE}"' not in row  # not a number to call any more
    # Those whose consent stands come first.
    assert page.index("Another Group") < page.index(f'id="contact-{contact.pk}"')


def test_an_empty_list_says_how_contacts_are_recorded(sign_in, clinician):
    page = _text(sign_in(clinician).get(LIST))
    assert "No client of the clinic has agreed to be a contact person yet." in page


PEOPLE = ["clinician", "supervisor", "site_admin", "no_role_user", "outsider", "superuser"]


@pytest.mark.parametrize(
    ("person", "status", "sees_ours"),
    [
        ("clinician", 200, True),
        ("supervisor", 200, True),
        ("site_admin", 403, False),
        ("no_role_user", 403, False),
        ("outsider", 200, False),  # their own clinic's list, which does not hold ours
        ("superuser", 200, False),  # no clinic: no one's contacts
    ],
)
def test_who_sees_the_list(request, sign_in, contact, person, status, sees_ours):
    user = request.getfixturevalue(person)
    response = sign_in(user).get(LIST)
    assert response.status_code == status
    if status == 200:
        page = _text(response)
        assert ("Xiomara" in page) is sees_ours
        assert (PHONE_SHOWN in page) is sees_ours


# --- withdrawal ----------------------------------------------------------------------------------


def test_withdrawal_takes_effect_at_once(sign_in, clinician, outsider, contact, their_referral):
    """VIII.K: once withdrawn, no introduction offers the contact (VIII.C), and an
    introduction sent from a page loaded before is refused."""
    theirs_side = sign_in(outsider)
    before = _text(theirs_side.get(f"/referrals/{their_referral.pk}/"))
    assert _radio(contact) in before  # offered to the other clinic's clinician ...

    response = sign_in(clinician).post(_withdraw_url(contact))
    assert response.status_code == 302 and response["Location"] == LIST
    contact.refresh_from_db()
    assert contact.status == PeerContact.Status.WITHDRAWN
    assert contact.withdrawn_on == timezone.localdate()
    record = contact.history.first()
    assert record.history_user == clinician and record.status == "withdrawn"

    theirs_side = sign_in(outsider)
    after = _text(theirs_side.get(f"/referrals/{their_referral.pk}/"))
    assert _radio(contact) not in after and "Xiomara" not in after  # ... and no longer
    refused = theirs_side.post(
        f"/referrals/{their_referral.pk}/steps/c/introduction/", {"peer_contact": contact.pk}
    )
    assert refused.status_code == 400
    assert "That peer contact is no longer available (they may have withdrawn)." in _text(refused)
    step = ProcedureStep.objects.get(referral=their_referral, code=ProcedureStep.Code.C)
    assert step.status == ProcedureStep.Status.PENDING and step.peer_contact is None


def test_other_clinics_see_only_the_first_name_and_the_group(
    sign_in, outsider, contact, their_referral
):
    """VIII.C: "introduce the individuals by first name only"; the phone stays at the clinic."""
    page = _text(sign_in(outsider).get(f"/referrals/{their_referral.pk}/"))
    assert _radio(contact) in page and "Xiomara" in page and "Grupo Esperanza" in page
    for hidden in [PHONE_SHOWN, "555-0142", "Quintanilla", "Marisol", "778899"]:
        assert hidden not in page
    assert f"/clients/{contact.client_id}/" not in page


def test_withdrawing_twice_changes_nothing(sign_in, clinician, contact):
    client = sign_in(clinician)
    client.post(_withdraw_url(contact))
    first = PeerContact.objects.get(pk=contact.pk)
    assert client.post(_withdraw_url(contact)).status_code == 302
    again = PeerContact.objects.get(pk=contact.pk)
    assert (again.status, again.withdrawn_on) == (first.status, first.withdrawn_on)
    assert contact.history.filter(status="withdrawn").count() == 1


def test_a_client_may_consent_again_after_withdrawing(clinician, contact, contact_client, group):
    """One active consent per client and group; a withdrawn one does not block a new one."""
    peer_contact_services.withdraw_peer_contact(contact=contact, by=clinician)
    again = _contact(contact_client, group, by=clinician)
    assert again.status == PeerContact.Status.ACTIVE


def test_another_clinics_contact_is_not_found_and_the_probe_is_logged(
    sign_in, clinician, outsider, contact
):
    response = sign_in(outsider).post(_withdraw_url(contact))
    assert response.status_code == 404
    contact.refresh_from_db()
    assert contact.status == PeerContact.Status.ACTIVE
    [event] = _page_events()
    assert (event.action, event.outcome) == ("edit", "not-found")
    assert (event.object_type, event.object_id) == ("peercontact", str(contact.pk))
    assert event.user == outsider


@pytest.mark.parametrize(
    ("person", "status"),
    [
        ("clinician", 302),
        ("supervisor", 403),  # reads the list; withdrawing is a clinician's
        ("site_admin", 403),
        ("no_role_user", 403),
        ("outsider", 404),
        ("superuser", 404),
    ],
)
def test_who_may_withdraw(request, sign_in, contact, person, status):
    user = request.getfixturevalue(person)
    assert sign_in(user).post(_withdraw_url(contact)).status_code == status
    contact.refresh_from_db()
    assert (contact.status == "withdrawn") is (status == 302)


def test_withdrawal_is_a_post(sign_in, clinician, contact):
    assert sign_in(clinician).get(_withdraw_url(contact)).status_code == 405
    contact.refresh_from_db()
    assert contact.status == PeerContact.Status.ACTIVE


def test_the_service_refuses_staff_of_another_clinic(outsider, contact):
    with pytest.raises(ValueError, match="own clinic"):
        peer_contact_services.withdraw_peer_contact(contact=contact, by=outsider)
    contact.refresh_from_db()
    assert contact.status == PeerContact.Status.ACTIVE


# --- the access log and query counts -----------------------------------------------------------


def test_each_request_writes_one_access_log_row(sign_in, clinician, contact):
    client = sign_in(clinician)
    client.get(LIST)
    [listed] = _page_events()
    assert (listed.action, listed.outcome) == ("view", "success")
    assert (listed.object_type, listed.object_id) == ("peercontact", "")
    client.post(_withdraw_url(contact))
    [withdrew] = _page_events()[1:]
    assert (withdrew.action, withdrew.outcome) == ("edit", "success")
    assert (withdrew.object_type, withdrew.object_id) == ("peercontact", str(contact.pk))
    assert withdrew.clinic_id == contact.clinic_id
    # The log holds ids, never what the client shared.
    assert not AccessEvent.objects.filter(reason__contains="555").exists()


def test_the_list_runs_a_fixed_number_of_queries(sign_in, clinician, clinic, contact, group):
    client = sign_in(clinician)
    gone = _contact(ClientFactory(clinic=clinic, created_by=clinician), group, by=clinician)
    peer_contact_services.withdraw_peer_contact(contact=gone, by=clinician)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(LIST).status_code == 200
        return len(queries)

    few = count()
    for n in range(60):
        owner = ClientFactory(clinic=clinic, created_by=clinician)
        made = _contact(owner, GroupFactory(), f"Peer{n}", by=clinician)
        if n % 3 == 0:
            peer_contact_services.withdraw_peer_contact(contact=made, by=clinician)
    # session, user, OTP device (permissions: the session's); the paginator's count; the page of
    # contacts with their groups and clients; who withdrew them (one query); the access-log row.
    assert count() == few == 7
