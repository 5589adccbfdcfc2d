"""Change requests from the groups themselves (VII.D): the public "Suggest a change" form, the
e-mailed single-use link, and the site admin's field-by-field review; abuse limits, history.

Mail goes to Django's in-memory outbox (pytest-django sets the locmem backend).
"""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail

from directory.models import ChangeRequest, Contact, Group, VerificationLink
from directory.selectors.change_requests import make_token
from tests.factories.directory import (
    ChangeRequestFactory,
    ContactFactory,
    GroupFactory,
    VerificationLinkFactory,
)

NOW = dt.datetime(2026, 12, 7, 18, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def group(db):
    group = GroupFactory(name="Emotions Anonymous", slug="emotions-anonymous")
    ContactFactory(group=group, phone="+18183774341")
    return group


SUGGESTION = {"phone": "(213) 555-0134", "message": "The number changed in May."}


# --- The public form ---------------------------------------------------------------------------


def test_anyone_can_suggest_a_change_and_it_waits_for_review(client, group):
    page = client.get(f"/groups/{group.slug}/suggest/")
    assert page.status_code == 200
    assert "Suggest a change: Emotions Anonymous" in page.content.decode()
    response = client.post(f"/groups/{group.slug}/suggest/", SUGGESTION)
    assert response.status_code == 200
    assert "A member of our staff will review it" in response.content.decode()
    request = ChangeRequest.objects.get()
    assert request.source == ChangeRequest.Source.PUBLIC_FORM
    assert request.proposed == {"phone": "(213) 555-0134"}
    assert request.state == ChangeRequest.State.OPEN
    assert len(request.sender_key) == 64 and "127.0.0.1" not in request.sender_key
    # Never straight into the catalogue.
    assert str(group.contacts.get().phone) == "+18183774341"


def test_the_form_is_in_spanish_when_asked(client, group):
    page = client.get(f"/groups/{group.slug}/suggest/?lang=es").content.decode()
    assert "Sugerir un cambio: Emotions Anonymous" in page
    assert "¿Los miembros alguna vez animan a otros a dejar los medicamentos psiquiátricos?" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"message": "<script>alert(1)</script>"}, "Plain text only, please: no HTML."),
        ({"name": "<b>Bold</b> Anonymous"}, "Plain text only, please: no HTML."),
        ({"description": "x" * 2001}, "Ensure this value has at most 2000 characters"),
        ({}, "Tell us what should change, or confirm that everything is correct."),
        ({"sender_email": "not an address", "phone": "1"}, "Enter a valid email address."),
    ],
)
def test_bad_suggestions_are_refused_with_the_typed_text_kept(client, group, data, message):
    response = client.post(f"/groups/{group.slug}/suggest/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page.replace("&#x27;", "'")
    assert "Nothing was sent yet" in page or message in page
    assert not ChangeRequest.objects.exists()
    if "name" in data:
        assert "&lt;b&gt;Bold&lt;/b&gt; Anonymous" in page  # kept, escaped


def test_the_honeypot_keeps_nothing(client, group):
    response = client.post(
        f"/groups/{group.slug}/suggest/", {**SUGGESTION, "website_url": "http://spam.example"}
    )
    assert response.status_code == 200  # the robot learns nothing
    assert not ChangeRequest.objects.exists()


def test_one_address_is_limited_per_hour(client, group, settings):
    settings.CHANGE_REQUESTS_PER_HOUR = 2
    for _ in range(2):
        assert client.post(f"/groups/{group.slug}/suggest/", SUGGESTION).status_code == 200
    refused = client.post(f"/groups/{group.slug}/suggest/", SUGGESTION)
    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode()
    assert "(213) 555-0134" in refused.content.decode()  # what was typed is kept
    assert ChangeRequest.objects.count() == 2
    # Another address is not limited by the first.
    other = client.post(f"/groups/{group.slug}/suggest/", SUGGESTION, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


def test_archived_or_unknown_listings_have_no_form(client, group):
    assert client.get("/groups/no-such-group/suggest/").status_code == 404
    Group.objects.filter(pk=group.pk).update(archived_at=NOW)
    assert client.get(f"/groups/{group.slug}/suggest/").status_code == 404


# --- The e-mailed link -------------------------------------------------------------------------


def _link_from_mail() -> str:
    body = mail.outbox[-1].body
    return re.search(r"https?://[^\s]+/groups/verify/[^\s]+/", body).group(0)


def test_a_site_admin_emails_a_single_use_link_and_the_group_answers(
    sign_in, site_admin, group, client, settings
):
    settings.SITE_URL = "https://selfhelp.example.org"
    admin = sign_in(site_admin)
    response = admin.post(f"/directory/{group.slug}/send-link/", {"email": "ea@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ea@example.org"]
    assert "Emotions Anonymous" in message.subject
    assert "<" not in message.body  # plain text
    url = _link_from_mail()
    assert url.startswith("https://selfhelp.example.org/groups/verify/")
    path = url.removeprefix("https://selfhelp.example.org")
    admin.logout()

    page = client.get(path)
    assert page.status_code == 200
    assert "Check your group's listing: Emotions Anonymous" in page.content.decode()
    answered = client.post(
        path,
        {
            "confirms_all": "",
            "fees_note": "No dues",
            "encourages_stopping": "no",
            "full_members": "yes",
        },
    )
    assert answered.status_code == 200
    request = ChangeRequest.objects.get()
    assert request.source == ChangeRequest.Source.EMAILED_LINK
    assert request.sender_email == "ea@example.org"
    assert request.proposed == {
        "fees_note": "No dues",
        "encourages_stopping": "no",
        "full_members": "yes",
    }
    assert VerificationLink.objects.get().used_at is not None
    # Single use: the second visit is refused and nothing more is queued.
    again = client.get(path)
    assert again.status_code == 410 and "used already" in again.content.decode()
    assert client.post(path, {"confirms_all": "on"}).status_code == 410
    assert ChangeRequest.objects.count() == 1


def test_expired_and_altered_links_are_refused(client, group, site_admin):
    link = VerificationLinkFactory(group=group, sent_by=site_admin)
    token = make_token(link)
    assert client.get(f"/groups/verify/{token}x/").status_code == 404
    assert client.get("/groups/verify/made-up/").status_code == 404
    with time_machine.travel(NOW + dt.timedelta(days=15)):
        expired = client.get(f"/groups/verify/{token}/")
    assert expired.status_code == 410 and "expired" in expired.content.decode()


def test_sending_a_link_is_for_site_admins(sign_in, clinician, supervisor, group):
    for user in (clinician, supervisor):
        response = sign_in(user).post(
            f"/directory/{group.slug}/send-link/", {"email": "ea@example.org"}
        )
        assert response.status_code == 403
    assert not mail.outbox and not VerificationLink.objects.exists()


# --- The review --------------------------------------------------------------------------------


def test_the_site_admin_accepts_edits_and_rejects_field_by_field(sign_in, site_admin, group):
    """VII.D: only what is accepted is written; the history names the request; VI.C answers
    accepted give the stance."""
    request = ChangeRequestFactory(
        group=group,
        source=ChangeRequest.Source.EMAILED_LINK,
        proposed={
            "phone": "(213) 555-0134",
            "name": "EA Los Angeles",
            "fees_note": "No dues",
            "meetings": "Tuesdays 7pm",
            "encourages_stopping": "no",
            "full_members": "yes",
        },
    )
    admin = sign_in(site_admin)
    page = admin.get(f"/directory/changes/{request.pk}/")
    assert page.status_code == 200
    assert "(213) 555-0134" in page.content.decode()
    response = admin.post(
        f"/directory/changes/{request.pk}/",
        {
            "decide_phone": "accept",
            "value_phone": "(213) 555-0199",  # edited
            "decide_name": "reject",
            "value_name": "EA Los Angeles",
            "decide_fees_note": "accept",
            "value_fees_note": "No dues",
            "decide_meetings": "reject",
            "decide_encourages_stopping": "accept",
            "decide_full_members": "accept",
            "verify": "on",
        },
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.name == "Emotions Anonymous"  # rejected
    assert group.fees_note == "No dues"
    assert group.medication_stance == Group.MedicationStance.AFFIRMING
    assert group.last_verified_on == dt.date(2026, 12, 7)
    phone = group.contacts.get(kind=Contact.Kind.PHONE)
    assert str(phone.phone) == "+12135550199"
    reason = f"Change request {request.pk}: The group's e-mailed verification link"
    assert group.history.first().history_change_reason == reason
    assert phone.history.first().history_change_reason == reason
    request.refresh_from_db()
    assert request.state == ChangeRequest.State.REVIEWED and request.reviewed_by == site_admin
    assert request.decisions["phone"] == "edited" and request.decisions["name"] == "rejected"
    assert request.decisions["fees_note"] == "accepted"
    # Reviewed once: a second post changes nothing.
    assert admin.post(f"/directory/changes/{request.pk}/", {}).status_code == 302


def test_a_bad_accepted_value_is_refused_and_nothing_is_written(sign_in, site_admin, group):
    request = ChangeRequestFactory(group=group, proposed={"phone": "call us"})
    response = sign_in(site_admin).post(
        f"/directory/changes/{request.pk}/", {"decide_phone": "accept", "value_phone": "call us"}
    )
    assert response.status_code == 400
    assert "The phone number entered is not valid." in response.content.decode()
    request.refresh_from_db()
    assert request.state == ChangeRequest.State.OPEN
    assert str(group.contacts.get().phone) == "+18183774341"


@pytest.mark.parametrize(
    ("who", "status"),
    [("clinician", 403), ("supervisor", 403), ("site_admin", 200), ("outsider", 403)],
)
def test_the_review_queue_is_for_site_admins(sign_in, request, who, status, group):
    change = ChangeRequestFactory(group=group)
    client = sign_in(request.getfixturevalue(who))
    assert client.get("/directory/changes/").status_code == status
    assert client.get(f"/directory/changes/{change.pk}/").status_code == status


def test_the_review_queue_queries_stay_fixed(sign_in, site_admin, count_queries):
    for _ in range(40):
        ChangeRequestFactory(group=GroupFactory())
    response = count_queries(sign_in(site_admin), "/directory/changes/")
    assert len(response.response.context["page"].object_list) == 25
    assert response == 5, response
