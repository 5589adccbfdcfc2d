"""The client's feedback on groups (policy IX.B) and the review flag a concern opens (VI.C),
through real requests: roles and tenancy, empty and tampered feedback (400, nothing saved),
the flag opened in the same transaction and naming no client, the site admin's worklist and
resolution, the client page's section, the access log, and query counts.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessEvent
from clients.models import Feedback
from clients.selectors import feedback as feedback_selectors
from clients.services import feedback as feedback_services
from directory.models import Group, ReviewFlag
from tests.factories.clients import ClientFactory
from tests.factories.directory import GroupFactory
from tests.factories.referrals import ReferralFactory, ReferredGroupFactory

STOP = Feedback.Concern.STOP_MEDICATION
NOT_FULL = Feedback.Concern.NOT_FULL_MEMBER
SAFETY = Feedback.Concern.SAFETY
OTHER = Feedback.Concern.OTHER


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def client_record(clinic, clinician):
    return ClientFactory(
        clinic=clinic,
        created_by=clinician,
        first_name="Ximena",
        last_name="Uzcategui",
        record_number="424242",
        on_prescribed_medication=True,
    )


@pytest.fixture
def other_client(other_clinic, outsider):
    return ClientFactory(clinic=other_clinic, created_by=outsider, record_number="515151")


@pytest.fixture
def groups(db):
    return {
        "referred": GroupFactory(name="Zeta Recovery Circle", slug="zeta-recovery-circle"),
        "other": GroupFactory(name="Alpha Peer Support", slug="alpha-peer-support"),
        "archived": GroupFactory(name="Old Friends Group", slug="old-friends-group"),
        "archived-referred": GroupFactory(name="Bygone Circle", slug="bygone-circle"),
    }


@pytest.fixture
def referred(client_record, clinician, groups):
    """The client's referral, with two chosen groups; one listing was archived since."""
    referral = ReferralFactory(screening__client=client_record, screening__screened_by=clinician)
    for rank, key in enumerate(["referred", "archived-referred"], start=1):
        ReferredGroupFactory(
            referral=referral,
            group=groups[key],
            suggested_rank=rank,
            chosen_at=timezone.now(),
            chosen_by=clinician,
        )
    Group.objects.filter(pk__in=[groups["archived"].pk, groups["archived-referred"].pk]).update(
        archived_at=timezone.now()
    )
    return referral


def _url(client) -> str:
    return f"/clients/{client.pk}/feedback/new/"


def _data(listing, **changes) -> dict:
    data = {
        "group": str(listing.pk),
        "given_on": timezone.localdate().isoformat(),
        "frequency": Feedback.Frequency.WEEKLY_OR_MORE,
        "observations": "Likes the Tuesday meeting; people are welcoming.",
        "concerns": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _events(**filters):
    return list(AccessEvent.objects.filter(**filters).order_by("id"))


def _page_events():
    """The access-log rows of pages (not sign-in, which the sign_in fixture does not log)."""
    return _events(action__in=["view", "create", "edit", "denied"])


# --- roles and tenancy -------------------------------------------------------------------------

PEOPLE = ["clinician", "supervisor", "site_admin", "no_role_user", "outsider", "superuser"]
# Clinicians document feedback; supervisors read it (on the client's page) but do not write
# it; site admins see no clients. The outsider and the superuser hold the permission but not
# this clinic: the client is "not found" for them.
EXPECTED = {
    "clinician": 200,
    "supervisor": 403,
    "site_admin": 403,
    "no_role_user": 403,
    "outsider": 404,
    "superuser": 404,
}


@pytest.mark.parametrize("person", PEOPLE)
def test_who_may_open_the_feedback_form(request, sign_in, client_record, groups, person):
    user = request.getfixturevalue(person)
    response = sign_in(user).get(_url(client_record))
    assert response.status_code == EXPECTED[person]
    if response.status_code == 404:
        [event] = _events(user=user, outcome=AccessEvent.Outcome.NOT_FOUND)
        assert (event.object_type, event.object_id) == ("client", str(client_record.pk))


@pytest.mark.parametrize("person", PEOPLE)
def test_who_may_document_feedback(request, sign_in, client_record, groups, person):
    user = request.getfixturevalue(person)
    response = sign_in(user).post(_url(client_record), _data(groups["other"]))
    assert response.status_code == {**EXPECTED, "clinician": 302}[person]
    assert Feedback.objects.exists() is (person == "clinician")


def test_another_clinics_client_is_not_found_and_the_probe_is_logged(
    sign_in, clinician, other_client, groups
):
    response = sign_in(clinician).post(
        _url(other_client), _data(groups["other"], concern_kinds=[STOP])
    )
    assert response.status_code == 404
    assert not Feedback.objects.exists() and not ReviewFlag.objects.exists()
    [event] = _page_events()
    assert (event.action, event.outcome) == ("create", "not-found")
    assert event.object_id == str(other_client.pk)


# --- the form ----------------------------------------------------------------------------------


def test_the_clients_referred_groups_come_first(
    sign_in, clinician, client_record, referred, groups
):
    """Referred groups first, even a listing archived since; other archived listings not at all."""
    page = _text(sign_in(clinician).get(_url(client_record)))
    referred_at = page.index('label="Groups this client was referred to"')
    others_at = page.index('label="Other listings"')
    assert referred_at < page.index("Zeta Recovery Circle") < others_at
    assert referred_at < page.index("Bygone Circle") < others_at
    assert page.index("Alpha Peer Support") > others_at  # alphabetically first, yet after
    assert "Old Friends Group" not in page
    for kind in Feedback.Concern:
        assert f'value="{kind.value}"' in page and kind.label in page
    assert "IX.B" in page


def test_a_client_with_no_referral_can_give_feedback_on_any_listing(
    sign_in, clinician, client_record, groups
):
    page = _text(sign_in(clinician).get(_url(client_record)))
    assert "Groups this client was referred to" not in page
    assert "Alpha Peer Support" in page and "Zeta Recovery Circle" in page


# --- saving ------------------------------------------------------------------------------------


def test_feedback_is_documented_with_who_and_when(
    sign_in, clinician, client_record, referred, groups
):
    """IX.B: the group, how often, the client's observations and concerns."""
    response = sign_in(clinician).post(
        _url(client_record),
        _data(
            groups["referred"],
            frequency=Feedback.Frequency.SOME_WEEKS,
            concerns="Worried about the bus ride home at night.",
            concern_kinds=[OTHER],
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == f"/clients/{client_record.pk}/#feedback"
    entry = Feedback.objects.get()
    assert (entry.client, entry.clinic_id, entry.group) == (
        client_record,
        client_record.clinic_id,
        groups["referred"],
    )
    assert entry.given_on == timezone.localdate()
    assert entry.frequency == "some-weeks"
    assert entry.observations == "Likes the Tuesday meeting; people are welcoming."
    assert entry.concern_kinds == ["other"]
    assert entry.recorded_by == clinician
    assert entry.history.get().history_user == clinician
    # "Another concern" opens no flag: its substance is only in the record's own words.
    assert entry.review_flag is None and not ReviewFlag.objects.exists()


def test_feedback_about_an_earlier_day_is_accepted(sign_in, clinician, client_record, groups):
    earlier = timezone.localdate() - timedelta(days=40)
    response = sign_in(clinician).post(
        _url(client_record), _data(groups["other"], given_on=earlier.isoformat())
    )
    assert response.status_code == 302
    assert Feedback.objects.get().given_on == earlier


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # Empty: frequency alone is not feedback (IX.B asks for observations or concerns).
        ({"observations": "", "concerns": ""}, feedback_selectors.EMPTY_MESSAGE),
        ({"observations": "   ", "concerns": "\n"}, feedback_selectors.EMPTY_MESSAGE),
        ({"frequency": None}, "Say how often the client goes to the group."),
        ({"frequency": "daily"}, "Choose how often the client goes from the list."),
        ({"group": None}, "Choose the group the feedback is about."),
        ({"group": "abc"}, "That group is not on the referral list"),
        ({"group": "999999"}, "That group is not on the referral list"),
        ({"given_on": None}, "Give the date."),
        ({"given_on": "2026-02-30"}, "Give a date (year-month-day)."),
        ({"given_on": "next tuesday"}, "Give a date (year-month-day)."),
        ({"given_on": "future"}, feedback_selectors.FUTURE_MESSAGE),
        ({"given_on": "1999-12-31"}, feedback_selectors.TOO_EARLY_MESSAGE),
        ({"concern_kinds": ["stop-meds"]}, "“stop-meds” is not a kind of concern on the list."),
        ({"concern_kinds": [STOP, "<script>"]}, "is not a kind of concern on the list."),
        ({"concern_kinds": [OTHER], "concerns": ""}, feedback_selectors.OTHER_NEEDS_TEXT_MESSAGE),
    ],
)
def test_bad_feedback_gets_a_clear_message_and_nothing_is_saved(
    sign_in, clinician, client_record, groups, changes, message
):
    if changes.get("given_on") == "future":
        changes = {"given_on": (timezone.localdate() + timedelta(days=1)).isoformat()}
    response = sign_in(clinician).post(_url(client_record), _data(groups["other"], **changes))
    assert response.status_code == 400
    page = _text(response)
    assert "Nothing was saved." in page
    assert message in page
    assert not Feedback.objects.exists() and not ReviewFlag.objects.exists()
    [event] = _page_events()
    assert (event.action, event.outcome, event.object_id) == (
        "create",
        "failure",
        str(client_record.pk),
    )


def test_an_archived_listing_not_referred_cannot_be_chosen(
    sign_in, clinician, client_record, groups
):
    Group.objects.filter(pk=groups["archived"].pk).update(archived_at=timezone.now())
    response = sign_in(clinician).post(_url(client_record), _data(groups["archived"]))
    assert response.status_code == 400
    assert not Feedback.objects.exists()


def test_what_was_typed_is_kept_when_refused(sign_in, clinician, client_record, groups):
    response = sign_in(clinician).post(
        _url(client_record),
        _data(groups["other"], observations="", concerns="", frequency="once"),
    )
    page = _text(response)
    assert re.search(r'value="once"[^>]*checked|checked[^>]*value="once"', page)


# --- the review flag (VI.C) --------------------------------------------------------------------


@pytest.mark.parametrize("kind", [STOP, NOT_FULL])
def test_a_medication_concern_opens_a_flag_at_once(sign_in, clinician, client_record, groups, kind):
    response = sign_in(clinician).post(
        _url(client_record),
        _data(
            groups["other"],
            concerns="Ximena Uzcategui (424242) said the sponsor told her to stop her pills.",
            concern_kinds=[kind],
        ),
    )
    assert response.status_code == 302
    entry = Feedback.objects.get()
    flag = entry.review_flag
    assert flag is not None and flag.is_open
    assert flag.group == groups["other"]
    assert flag.source == ReviewFlag.Source.FEEDBACK
    assert flag.concerns_medication is True
    assert flag.opened_by == clinician
    assert flag.history.get().history_user == clinician
    assert Feedback.Concern(kind).label in flag.summary
    assert "VI.C" in flag.detail
    # The message names the group and what now happens; it never names the client.
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("Alpha Peer Support is not suggested" in m for m in messages)
    assert not any("Ximena" in m or "424242" in m for m in messages)


def test_the_flag_names_the_concern_never_the_client(sign_in, clinician, client_record, groups):
    """The site admins see no clients: nothing of the client, nor the clinician's words."""
    sign_in(clinician).post(
        _url(client_record),
        _data(
            groups["other"],
            observations="Ximena goes with her sister Yolotl Uzcategui.",
            concerns="Ximena Uzcategui, record 424242, was told to stop lithium.",
            concern_kinds=[STOP, SAFETY],
        ),
    )
    entry = Feedback.objects.get()
    flag = entry.review_flag
    text = f"{flag.summary}\n{flag.detail}"
    for identifying in ["Ximena", "Uzcategui", "Yolotl", "424242", "lithium", "sister"]:
        assert identifying not in text
    assert f"/clients/{client_record.pk}/" not in text
    # The text is made from the kinds and the date alone: nothing else can have reached it.
    assert (flag.summary, flag.detail) == feedback_selectors.flag_text(
        entry.concern_kinds, given_on=entry.given_on
    )
    assert flag.summary == (
        "Client feedback: Members encouraged stopping prescribed medication; A safety concern"
    )


def test_a_safety_concern_opens_a_flag_that_is_not_a_medication_concern(
    sign_in, clinician, client_record, groups
):
    sign_in(clinician).post(
        _url(client_record),
        _data(groups["other"], concerns="Felt unsafe leaving.", concern_kinds=[SAFETY]),
    )
    flag = Feedback.objects.get().review_flag
    assert flag is not None and flag.is_open
    assert flag.concerns_medication is False  # a site admin looks; matching is unaffected
    assert flag.summary == "Client feedback: A safety concern"
    assert "VI.C" not in flag.detail


def test_each_report_is_its_own_flag(sign_in, clinician, client_record, groups, clinic):
    """Two clients report the same listing: two flags, each resolved on its own."""
    second = ClientFactory(clinic=clinic, created_by=clinician)
    client = sign_in(clinician)
    client.post(_url(client_record), _data(groups["other"], concern_kinds=[STOP]))
    client.post(_url(second), _data(groups["other"], concern_kinds=[STOP]))
    assert ReviewFlag.objects.filter(group=groups["other"], resolved_at=None).count() == 2
    assert Feedback.objects.values("review_flag").distinct().count() == 2


def test_a_double_sent_form_is_documented_once(sign_in, clinician, client_record, groups):
    client = sign_in(clinician)
    data = _data(groups["other"], concern_kinds=[STOP])
    assert client.post(_url(client_record), data).status_code == 302
    assert client.post(_url(client_record), data).status_code == 302
    assert Feedback.objects.count() == 1 and ReviewFlag.objects.count() == 1


def test_feedback_and_flag_are_saved_together_or_not_at_all(
    clinician, client_record, groups, monkeypatch
):
    """The flag is opened in the feedback's transaction: if the feedback fails, no flag."""

    def broken_save(self, *args, **kwargs):
        raise IntegrityError("the database refused the feedback")

    monkeypatch.setattr(Feedback, "save", broken_save)
    with pytest.raises(IntegrityError):
        feedback_services.record_feedback(
            client=client_record,
            group=groups["other"],
            given_on=timezone.localdate(),
            frequency="weekly",
            concern_kinds=[STOP],
            by=clinician,
        )
    assert not ReviewFlag.objects.exists()


def test_the_service_refuses_what_the_form_would(clinician, outsider, client_record, groups):
    record = {
        "client": client_record,
        "group": groups["other"],
        "given_on": timezone.localdate(),
        "frequency": "weekly",
        "observations": "Fine.",
    }
    with pytest.raises(ValidationError):
        feedback_services.record_feedback(**record, concern_kinds=["made-up"], by=clinician)
    with pytest.raises(ValidationError):
        feedback_services.record_feedback(**{**record, "observations": ""}, by=clinician)
    with pytest.raises(ValueError, match="staff of the client's clinic"):
        feedback_services.record_feedback(**record, by=outsider)
    assert not Feedback.objects.exists()


# --- the site admin's side, and the resolution back on the client's record -----------------------


def test_the_flag_is_on_the_site_admins_worklist_and_resolved_there(
    sign_in, clinician, site_admin, client_record, groups
):
    sign_in(clinician).post(
        _url(client_record), _data(groups["other"], concerns="Told to stop.", concern_kinds=[STOP])
    )
    flag = ReviewFlag.objects.get()
    admin = sign_in(site_admin)
    worklist = _text(admin.get("/directory/manage/"))
    assert "Client feedback: Members encouraged stopping prescribed medication" in worklist
    assert "Raised by client feedback" in worklist and "VI.C medication" in worklist
    assert f"/directory/flags/{flag.pk}/resolve/" in worklist
    resolve_page = _text(admin.get(f"/directory/flags/{flag.pk}/resolve/"))
    for page in (worklist, resolve_page):
        assert "Ximena" not in page and "Uzcategui" not in page and "424242" not in page
        assert "Told to stop." not in page
    response = admin.post(
        f"/directory/flags/{flag.pk}/resolve/",
        {
            "outcome": ReviewFlag.Outcome.UNFOUNDED,
            "resolution_note": "Called the group's contact: a new member misspoke; addressed.",
        },
    )
    assert response.status_code == 302
    flag.refresh_from_db()
    assert not flag.is_open and flag.resolved_by == site_admin
    assert "Client feedback" not in _text(admin.get("/directory/manage/"))
    # The clinician who documented the concern sees the resolution with the feedback.
    summary = feedback_selectors.feedback_summary(client_record)
    assert summary.entries[0].review_flag.resolution_note.startswith("Called the group's")
    assert summary.open_flags == 0


def _section(client_record, user) -> str:
    """The client page's feedback section as rendered for ``user``."""
    request = RequestFactory().get(f"/clients/{client_record.pk}/")
    request.user = user
    return html.unescape(
        render_to_string(
            "clients/_feedback_section.html",
            {
                "client": client_record,
                "feedback": feedback_selectors.feedback_summary(client_record),
            },
            request=request,
        )
    )


def test_the_section_shows_each_feedback_and_its_flags_state(
    clinician, site_admin, supervisor, client_record, groups
):
    today = timezone.localdate()
    plain = feedback_services.record_feedback(
        client=client_record,
        group=groups["referred"],
        given_on=today - timedelta(days=7),
        frequency="weekly",
        observations="Made a friend there.",
        by=clinician,
    )
    open_one = feedback_services.record_feedback(
        client=client_record,
        group=groups["other"],
        given_on=today - timedelta(days=1),
        frequency="once",
        concerns="Pressure to stop medication.",
        concern_kinds=[NOT_FULL],
        by=clinician,
    )
    resolved = feedback_services.record_feedback(
        client=client_record,
        group=groups["other"],
        given_on=today,
        frequency="stopped",
        concerns="Felt unsafe.",
        concern_kinds=[SAFETY],
        by=clinician,
    )
    from directory.services.listings import resolve_flag

    resolve_flag(flag=resolved.review_flag, note="Meeting moved to a staffed venue.", by=site_admin)
    section = _section(client_record, clinician)
    assert "Feedback on groups (policy IX.B)" in section
    assert "3 entries" in section
    # Newest first, each with its group.
    order = [section.index(f'id="feedback-{e.pk}"') for e in (resolved, open_one, plain)]
    assert order == sorted(order)
    assert "Made a friend there." in section and "Every week or more often" in section
    entry = section[section.index(f'id="feedback-{open_one.pk}"') :]
    entry = entry[: entry.index("</li>")]
    assert "Open" in entry and "not suggested to clients on prescribed medication" in entry
    assert "Not treated as a full member because of medication use" in entry
    entry = section[section.index(f'id="feedback-{resolved.pk}"') :]
    entry = entry[: entry.index("</li>")]
    assert "Resolved" in entry and "Meeting moved to a staffed venue." in entry
    assert site_admin.get_full_name() in entry  # who resolved it
    entry = section[section.index(f'id="feedback-{plain.pk}"') :]
    assert "Review flag" not in entry[: entry.index("</li>")]
    assert f"/clients/{client_record.pk}/feedback/new/" in section  # clinicians may add
    assert "/feedback/new/" not in _section(client_record, supervisor)  # supervisors read


def test_the_section_says_when_nothing_is_documented(clinician, client_record):
    assert "No feedback documented yet." in _section(client_record, clinician)


def test_the_summary_takes_one_query_whatever_the_number(clinician, client_record, groups):
    today = timezone.localdate()
    for n in range(30):
        feedback_services.record_feedback(
            client=client_record,
            group=groups["other"],
            given_on=today - timedelta(days=n),
            frequency="weekly",
            concerns=f"Report {n}",
            concern_kinds=[STOP] if n % 2 else [],
            by=clinician,
        )
    with CaptureQueriesContext(connection) as queries:
        summary = feedback_selectors.feedback_summary(client_record)
    # The latest entries with their groups and flags, each carrying the count of all.
    assert len(queries) == 1
    assert summary.count == 30 and summary.more
    clinician.has_perm("clients.add_feedback")  # the permissions, cached as a page has them
    request = RequestFactory().get("/")
    request.user = clinician
    with CaptureQueriesContext(connection) as queries:
        rendered = render_to_string(
            "clients/_feedback_section.html",
            {"client": client_record, "feedback": summary},
            request=request,
        )
    assert len(queries) == 0  # rendering asks for nothing more
    assert summary.count == 30 and len(summary.entries) == feedback_selectors.SUMMARY_LIMIT
    assert summary.more and "The latest 25 of 30 entries" in rendered
    assert summary.entries[0].given_on == today  # newest first


def test_another_clinics_feedback_row_never_shows(clinician, outsider, client_record, groups):
    """A second fence: a row whose clinic disagrees with its client is not shown."""
    entry = feedback_services.record_feedback(
        client=client_record,
        group=groups["other"],
        given_on=timezone.localdate(),
        frequency="weekly",
        observations="Fine.",
        by=clinician,
    )
    Feedback.objects.filter(pk=entry.pk).update(clinic=outsider.clinic)
    assert feedback_selectors.feedback_summary(client_record).count == 0


# --- the access log ----------------------------------------------------------------------------


def test_each_request_writes_one_access_log_row(sign_in, clinician, client_record, groups):
    client = sign_in(clinician)
    client.get(_url(client_record))
    [opened] = _page_events()
    assert (opened.action, opened.outcome) == ("view", "success")
    assert (opened.object_type, opened.object_id) == ("client", str(client_record.pk))
    client.post(_url(client_record), _data(groups["other"], concern_kinds=[STOP]))
    saved = _page_events()[1:]
    assert len(saved) == 1
    assert Feedback.objects.count() == 1
    assert (saved[0].action, saved[0].outcome) == ("create", "success")
    # The row names what was created: the feedback (of the client's clinic).
    assert (saved[0].object_type, saved[0].object_id) == (
        "feedback",
        str(Feedback.objects.get().pk),
    )
    assert saved[0].clinic_id == client_record.clinic_id


def test_the_form_page_runs_a_fixed_number_of_queries(
    sign_in, clinician, client_record, referred, groups
):
    client = sign_in(clinician)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(_url(client_record)).status_code == 200
        return len(queries)

    few = count()
    for n in range(40):
        GroupFactory(name=f"Listing {n}", slug=f"listing-{n}")
    assert count() == few


def test_dates_are_the_countys(clinician, client_record, groups):
    """A date later than the county's today is in the future, whatever the server's clock."""
    with pytest.raises(ValidationError):
        feedback_services.record_feedback(
            client=client_record,
            group=groups["other"],
            given_on=date(2026, 5, 2),
            frequency="weekly",
            observations="x",
            by=clinician,
            today=date(2026, 5, 1),
        )
