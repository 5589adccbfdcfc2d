"""The referral procedure VIII.A–K on the referral's page, through real requests and a real
database: the policy's order enforced (409, nothing written), not applicable only where the
policy is conditional (VIII.C, D, H, K), peer introductions by first name only (VIII.C), the
first three advocate sessions (VIII.H), follow-ups (VIII.I–J), the contact-person answer
(VIII.K), the status that never contradicts the steps and the attendance, roles and tenancy on
every POST, one access-log row per request, bad input that never answers 500, and the page's
query count.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessEvent, Role
from clients.models import Attendance, PeerContact
from directory.models import Group, Language, Meeting, Need, ServiceArea
from referrals.models import FollowUp, ProcedureStep, Referral
from referrals.rules import matching, procedure
from referrals.selectors import procedure as procedure_selectors
from referrals.services import procedure as procedure_services
from referrals.services import referral as referral_services
from tests.factories.accounts import UserFactory
from tests.factories.clients import AttendanceFactory, ClientFactory, PeerContactFactory
from tests.factories.directory import GroupFactory, MeetingFactory, ReferralResourceFactory
from tests.factories.referrals import FollowUpScheduleFactory, ReferralFactory, ScreeningFactory

# A screening that refers, with the benefits explained (so VIII.A is done when the referral
# starts, as procedure_services.create_steps records it).
REFER_SCREENING = {
    "indications": [{"code": "IV.H", "detail": "depression"}],
    "no_indication_found": False,
    "selection_criterion": "met",
    "violence_without_impulse_control": "no",
    "expressed_disinterest": "no",
    "explanation_given": True,
    "on_prescribed_medication": "no",
}
LA = ZoneInfo("America/Los_Angeles")


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def clinician(clinic):
    """As conftest's, with a fixed name, so no random name can look like a peer's."""
    return UserFactory(
        username="clinician",
        clinic=clinic,
        roles=[Role.CLINICIAN],
        first_name="Dana",
        last_name="Whitfield",
    )


@pytest.fixture
def outsider(other_clinic):
    """As conftest's (a clinician and supervisor of another clinic), with a fixed name."""
    return UserFactory(
        username="outsider",
        clinic=other_clinic,
        roles=[Role.CLINICIAN, Role.SUPERVISOR],
        first_name="Lee",
        last_name="Okafor",
    )


@pytest.fixture
def taxonomy(db):
    needs = {"depression": Need.objects.create(slug="depression", name="Depression")}
    areas = {
        3: ServiceArea.objects.create(
            slug="san-gabriel", name="San Gabriel", kind=ServiceArea.Kind.SPA, spa_number=3
        ),
        7: ServiceArea.objects.create(
            slug="east", name="East", kind=ServiceArea.Kind.SPA, spa_number=7
        ),
    }
    languages = {
        code: Language.objects.create(code=code, name=name)
        for code, name in [("en", "English"), ("es", "Spanish")]
    }
    return {"needs": needs, "areas": areas, "languages": languages}


@pytest.fixture
def resources(db):
    """SHARE!, the Friendship Line and the Client Coalition, as the directory holds them."""
    share = ReferralResourceFactory(key="share", name="SHARE!")
    share.phones.create(phone="+18777427349", as_printed="1-877-SHARE-49")
    line = ReferralResourceFactory(
        key="friendship-line", name="Friendship Line", hours="6:00 p.m.–10:00 p.m."
    )
    line.phones.create(phone="+18884489777", as_printed="(888) 448-9777")
    coalition = ReferralResourceFactory(key="client-coalition", name="Client Coalition")
    coalition.phones.create(phone="+12136372370", as_printed="(213) 637-2370")
    return {"share": share, "friendship-line": line, "client-coalition": coalition}


def _group(name, taxonomy, *, meetings=((Meeting.Weekday.TUESDAY, "19:00"),)):
    group = GroupFactory(
        name=name,
        slug=name.lower().replace(" ", "-"),
        etiquette_note=f"{name}: no crosstalk; share for three minutes.",
    )
    group.needs.add(taxonomy["needs"]["depression"])
    group.service_areas.add(taxonomy["areas"][3], taxonomy["areas"][7])
    group.languages.add(taxonomy["languages"]["en"], taxonomy["languages"]["es"])
    for weekday, start in meetings:
        MeetingFactory(group=group, weekday=weekday, start_time=start, end_time=None)
    return group


@pytest.fixture
def group(taxonomy):
    return _group("Grupo Esperanza", taxonomy)


@pytest.fixture
def other_group(taxonomy):
    return _group("Depression Circle", taxonomy)


@pytest.fixture
def client_record(clinic, clinician):
    return ClientFactory(
        clinic=clinic,
        created_by=clinician,
        first_name="Ana",
        last_name="Reyes",
        record_number="424242",
    )


@pytest.fixture
def peer_client(other_clinic, outsider):
    """A client of ANOTHER clinic who attends the group and consented to be a contact."""
    return ClientFactory(
        clinic=other_clinic,
        created_by=outsider,
        first_name="Marisol",
        last_name="Quintanilla",
        record_number="778899",
    )


def _peer(client, group, first_name, phone="+13235550142", *, recorded_by):
    return PeerContactFactory(
        client=client,
        group=group,
        first_name=first_name,
        phone=phone,
        consented_on=date(2026, 1, 5),
        recorded_by=recorded_by,
    )


@pytest.fixture
def peer(peer_client, group, outsider):
    return _peer(peer_client, group, "Marisol", recorded_by=outsider)


@pytest.fixture
def preparing(client_record, clinician, taxonomy):
    """A referral whose client input (VIII.B) is still to be recorded."""
    screening = ScreeningFactory(
        client=client_record, screened_by=clinician, answers=REFER_SCREENING
    )
    return ReferralFactory(screening=screening)


def _approve(referral, by):
    """VIII.B as the client-input page leaves it: approved, and the step done."""
    Referral.objects.filter(pk=referral.pk).update(approval=Referral.Approval.APPROVED)
    ProcedureStep.objects.filter(referral=referral, code="VIII.B").update(
        status="done", completed_by=by, completed_at=timezone.now()
    )
    referral.refresh_from_db()


def _choose(referral, groups, by):
    """VIII.C's first half through the service the groups page calls."""
    suggestions = [
        matching.Suggestion(
            listing=matching.Listing(id=g.pk, name=g.name, slug=g.slug),
            score=10 - rank,
            reasons=("helps with depression",),
            rank=rank,
        )
        for rank, g in enumerate(groups, start=1)
    ]
    referral_services.choose_groups(
        referral=referral, suggestions=suggestions, chosen_ids=[g.pk for g in groups], by=by
    )
    referral.refresh_from_db()
    return referral


@pytest.fixture
def referred(preparing, clinician, group):
    """Approved (A and B done), one group chosen: the referral is "referred"."""
    _approve(preparing, clinician)
    return _choose(preparing, [group], clinician)


@pytest.fixture
def ready(referred, clinician, group, peer):
    """A referral on which every POST of the checklist can succeed: a peer to introduce, an
    attendance documented (VIII.K needs one), follow-ups scheduled."""
    _attend(referred, group, [timezone.localdate() - timedelta(days=1)], by=clinician)
    procedure_services.sync_status(referral=referred, by=clinician)
    referred.refresh_from_db()
    return {
        "referral": referred,
        "peer": peer,
        "followup": FollowUp.objects.filter(referral=referred).order_by("due_on").first(),
    }


# --- helpers -------------------------------------------------------------------------------------


def _url(referral, rest=""):
    return f"/referrals/{referral.pk}/{rest}"


def _attend(referral, group, dates, *, by, status=Attendance.Status.ATTENDED):
    """IX.A: attendance documented, written directly (no page records it yet)."""
    for on_date in dates:
        AttendanceFactory(
            client=referral.client, group=group, on_date=on_date, status=status, recorded_by=by
        )


def _step(referral, letter) -> ProcedureStep:
    return ProcedureStep.objects.get(referral=referral, code=f"VIII.{letter.upper()}")


def _radio(peer) -> str:
    """The introduction form's choice for a peer contact."""
    return f'name="peer_contact" value="{peer.pk}"'


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _row(page: str, letter: str) -> str:
    """The checklist's item for one step: <li ... id="step-x"> ... </li>."""
    match = re.search(rf'<li [^>]*id="step-{letter}">(.*?)</li>\s*(?=<li |</ol>)', page, re.S)
    assert match, f"step {letter} is not on the page"
    return match.group(1)


def _badge(page: str, letter: str) -> str:
    row = _row(page, letter)
    for badge in ("Done", "Not applicable", "To do now", "Pending"):
        if f">{badge}</span>" in row:
            return badge
    raise AssertionError(f"no status badge for step {letter}")


def _assert_consistent(referral):
    """The stored status never contradicts the steps and the attendance."""
    referral.refresh_from_db()
    assert (
        referral.status
        == procedure.derive_status(procedure_selectors.procedure_facts(referral)).value
    )


def _snapshot(referral):
    """Everything a checklist POST could write, to prove a refused one wrote nothing."""
    referral = Referral.objects.get(pk=referral.pk)
    return (
        referral.status,
        referral.close_reason,
        referral.version,
        sorted(
            ProcedureStep.objects.filter(referral=referral).values_list(
                "code", "status", "not_applicable_reason", "note", "completed_at", "peer_contact"
            )
        ),
        sorted(
            (row[0], row[1], row[2], row[3])
            for row in FollowUp.objects.filter(referral=referral).values_list(
                "id", "due_on", "done_at", "outcome"
            )
        ),
        sorted(
            PeerContact.objects.values_list("id", "status", "first_name", "client_id", "group_id")
        ),
        ProcedureStep.history.count(),
        FollowUp.history.count(),
        Referral.history.count(),
    )


def _new_events(before):
    return list(AccessEvent.objects.filter(id__gt=before).order_by("id"))


def _last_event_id():
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


# --- the happy path, page by page ----------------------------------------------------------------


def test_a_complete_referral_through_the_page(
    sign_in, clinician, preparing, group, peer, resources, taxonomy
):
    """VIII.A–K from the client's input to a completed referral, each step through its form."""
    client = sign_in(clinician)
    referral = preparing
    base = _url(referral)

    # VIII.A was recorded at screening; VIII.B through the client-input page.
    assert _step(referral, "a").status == "done"
    response = client.post(
        base + "client-input/",
        {
            "goals": "Meet people who understand depression",
            "preferred_area": taxonomy["areas"][3].pk,
            "location_text": "",
            "language": "es",
            "cultural_needs": "",
            "twelve_step": "no-preference",
            "approval": "approved",
            "declined_reason": "",
            "version": referral.version,
        },
    )
    assert response.status_code == 302, _text(response)
    assert _step(referral, "b").status == "done"
    _assert_consistent(referral)

    # VIII.C, first half: the group chosen on the groups page; VIII.J's follow-ups scheduled.
    response = client.post(base + "groups/", {"groups": [group.pk]})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "referred"
    _assert_consistent(referral)
    today = timezone.localdate()
    due = list(FollowUp.objects.filter(referral=referral).values_list("due_on", flat=True))
    assert due == [today + timedelta(weeks=w) for w in (1, 3, 6)]
    # VIII.J: scheduling the reminders is not giving them; nothing is due yet, so not to do now.
    assert _step(referral, "j").status == "pending"
    page = _text(client.get(base))
    assert _badge(page, "j") == "Pending"
    assert f"0 of 3 follow-ups done, next on {due[0].isoformat()}." in _row(page, "j")

    # VIII.C, second half: the peer by first name only; never their phone, surname or record.
    page = _text(client.get(base))
    row = _row(page, "c")
    assert _badge(page, "c") == "To do now"
    assert _radio(peer) in row and "Marisol" in row
    for secret in ("Quintanilla", "778899", "555-0142", "5550142", "+1323"):
        assert secret not in page
    response = client.post(
        base + "steps/c/introduction/", {"peer_contact": peer.pk, "note": "Spoke on speaker"}
    )
    # Back to the checklist at the next step waiting (E: the Client Coalition).
    assert response.status_code == 302 and response["Location"] == base + "#step-e"
    step = _step(referral, "c")
    assert step.status == "done" and step.peer_contact == peer and step.completed_by == clinician
    assert step.details == {"peer_first_name": "Marisol", "group_id": group.pk}
    page = _text(client.get(base))
    assert "Introduced to Marisol." in page and "Quintanilla" not in page
    # VIII.D is not needed once the introduction took place.
    assert _badge(page, "d") == "Not applicable"
    _assert_consistent(referral)

    # VIII.E (the Client Coalition), VIII.F (etiquette), VIII.G (six in a row, planned dates).
    assert "(213) 637-2370" in _row(page, "e")
    assert "no crosstalk; share for three minutes" in _row(page, "f")
    for letter in "efg":
        response = client.post(base + f"steps/{letter}/done/", {"note": f"step {letter}"})
        assert response.status_code == 302, letter
        assert _step(referral, letter).status == "done"
        _assert_consistent(referral)
    assert _step(referral, "e").details == {"given": ["client-coalition"]}
    stored = _step(referral, "g").details["planned"][str(group.pk)]
    planned = [date.fromisoformat(d) for d in stored]
    assert len(planned) == 6
    # Weekly on the group's Tuesday, starting within a week of the referral.
    assert all(d.weekday() == 1 for d in planned)  # Python's Tuesday
    assert [b - a for a, b in zip(planned, planned[1:], strict=False)] == [timedelta(days=7)] * 5
    assert today < planned[0] <= today + timedelta(days=8)
    page = _text(client.get(base))
    assert "Meetings in a row so far: 0 of the 6 encouraged" in page
    assert planned[0].strftime("%a ") in _row(page, "g")

    # VIII.H: the advocate for session 1, then 2 and 3; then the form is gone.
    response = client.post(base + "steps/h/advocate/", {"first_name": "Luz", "sessions": ["1"]})
    assert response.status_code == 302
    assert _step(referral, "h").details == {"advocate_first_name": "Luz", "sessions": [1]}
    response = client.post(
        base + "steps/h/advocate/", {"first_name": "Luz", "sessions": ["2", "3"]}
    )
    assert response.status_code == 302
    assert _step(referral, "h").details["sessions"] == [1, 2, 3]
    page = _text(client.get(base))
    assert "Luz went to sessions 1, 2, 3 of the first three." in page
    assert "steps/h/advocate/" not in page
    _assert_consistent(referral)

    # VIII.I.
    assert client.post(base + "steps/i/done/", {"note": ""}).status_code == 302
    assert _step(referral, "i").status == "done"
    _assert_consistent(referral)

    # VIII.J: the follow-ups are listed with their due dates; done once each is recorded.
    page = _text(client.get(base))
    for due_on in due:
        assert f"{due_on.day} {due_on:%b %Y}" in _row(page, "j")
    followups = list(FollowUp.objects.filter(referral=referral).order_by("due_on"))
    for n, followup in enumerate(followups, start=1):
        response = client.post(
            base + f"follow-ups/{followup.pk}/done/", {"outcome": "reminded", "note": ""}
        )
        assert response.status_code == 302
        page = _text(client.get(base))
        if n < len(followups):
            assert _badge(page, "j") != "Done"
            assert f"{n} of 3 follow-ups done, next on {due[n].isoformat()}." in page
            assert _step(referral, "j").status == "pending"
    assert _badge(page, "j") == "Done" and "3 of 3 follow-ups done." in page
    assert _step(referral, "j").status == "done"

    # VIII.K waits for an attendance; then a yes records a consenting peer contact.
    assert _badge(page, "k") == "Pending"
    first_meeting = planned[0]
    _attend(referral, group, [first_meeting], by=clinician)
    procedure_services.sync_status(referral=referral, by=clinician)
    referral.refresh_from_db()
    assert referral.status == "attending"
    _assert_consistent(referral)
    page = _text(client.get(base))
    assert _badge(page, "k") == "To do now"
    response = client.post(
        base + "steps/k/answer/",
        {"answer": "yes", "group": group.pk, "first_name": "Ana", "phone": "(323) 555-0199"},
    )
    assert response.status_code == 302, _text(response)
    contact = PeerContact.objects.get(client=referral.client_id)
    assert contact.status == "active" and contact.group == group
    assert contact.first_name == "Ana" and str(contact.phone) == "+13235550199"
    assert contact.consented_on == today and contact.clinic_id == referral.clinic_id
    assert _step(referral, "k").details == {"answer": "yes", "peer_contact_id": contact.pk}

    # Six scheduled meetings in a row (VIII.G): engaged, then closed as completed.
    _attend(referral, group, planned[1:6], by=clinician)
    assert procedure_services.sync_status(referral=referral, by=clinician) == "engaged"
    referral.refresh_from_db()
    assert referral.status == "engaged"
    _assert_consistent(referral)
    page = _text(client.get(base))
    assert "Meetings in a row so far: 6 of the 6 encouraged" in page
    assert "11 of 11 steps done or not applicable" in page
    response = client.post(base + "close/", {"reason": "completed", "note": "Going weekly"})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "closed" and referral.close_reason == "completed"
    _assert_consistent(referral)
    # Open follow-ups of a closed referral leave the worklist.
    assert not FollowUp.objects.filter(referral=referral, done_at__isnull=True).exists()
    page = _text(client.get(base))
    assert "Closed: Completed" in page and "Close the referral</button>" not in page


def test_a_step_post_moves_the_status_on_after_an_attendance(sign_in, clinician, referred, group):
    """A step posted after an attendance was documented stores "attending"."""
    _attend(referred, group, [timezone.localdate()], by=clinician)
    response = sign_in(clinician).post(_url(referred, "steps/e/done/"), {"note": ""})
    assert response.status_code == 302
    referred.refresh_from_db()
    assert referred.status == "attending"
    _assert_consistent(referred)


def test_six_in_a_row_counts_only_an_unbroken_run(sign_in, clinician, referred, group):
    """VIII.G: a missed meeting breaks the run; six attended with a gap is not engaged."""
    start = timezone.localdate() - timedelta(weeks=12)
    weeks = [start + timedelta(weeks=n) for n in range(10)]
    # Three attended, one missed, five attended: six attended, but never six in a row.
    _attend(referred, group, weeks[:3] + weeks[4:9], by=clinician)
    _attend(referred, group, [weeks[3]], by=clinician, status=Attendance.Status.MISSED)
    client = sign_in(clinician)
    client.post(_url(referred, "steps/e/done/"), {"note": ""})
    referred.refresh_from_db()
    assert referred.status == "attending"
    assert "Meetings in a row so far: 5 of the 6 encouraged" in _text(client.get(_url(referred)))
    # The sixth in a row.
    _attend(referred, group, [weeks[9]], by=clinician)
    assert client.post(_url(referred, "steps/f/done/"), {"note": ""}).status_code == 302
    referred.refresh_from_db()
    assert referred.status == "engaged"
    _assert_consistent(referred)


# --- the policy's order (409, nothing written) ---------------------------------------------------


def _refused(response, message, before, referral):
    assert response.status_code == 409, response.status_code
    assert message in _text(response)
    assert _snapshot(referral) == before


def test_e_before_groups_are_chosen_is_refused(sign_in, clinician, preparing):
    _approve(preparing, clinician)
    before = _snapshot(preparing)
    response = sign_in(clinician).post(_url(preparing, "steps/e/done/"), {"note": ""})
    assert response.status_code == 409
    assert _snapshot(preparing) == before


def test_e_before_groups_are_chosen_says_why(sign_in, clinician, preparing):
    _approve(preparing, clinician)
    response = sign_in(clinician).post(_url(preparing, "steps/e/done/"), {"note": ""})
    assert response.status_code == 409
    assert "Choose a group with the client (VIII.C) before VIII.E." in _text(response)


def test_d_while_c_is_pending_is_refused(sign_in, clinician, referred, resources):
    before = _snapshot(referred)
    response = sign_in(clinician).post(_url(referred, "steps/d/done/"), {"note": ""})
    _refused(response, "VIII.D is for when no peer is available", before, referred)
    # The message is beside step D, on the page shown again.
    assert "VIII.D is for when no peer is available" in _row(_text(response), "d")


def test_d_after_the_introduction_is_refused(sign_in, clinician, referred, peer, resources):
    """VIII.D is for when no peer is available: once VIII.C took place it is not needed."""
    client = sign_in(clinician)
    client.post(_url(referred, "steps/c/introduction/"), {"peer_contact": peer.pk})
    before = _snapshot(referred)
    response = client.post(_url(referred, "steps/d/done/"), {"note": ""})
    _refused(response, "so VIII.D is not needed: mark VIII.D not applicable", before, referred)


def test_k_before_any_attendance_is_refused(sign_in, clinician, referred, group):
    client = sign_in(clinician)
    before = _snapshot(referred)
    response = client.post(
        _url(referred, "steps/k/answer/"),
        {"answer": "yes", "group": group.pk, "first_name": "Ana", "phone": "(323) 555-0199"},
    )
    _refused(response, "Document a meeting the client attended before VIII.K", before, referred)
    response = client.post(_url(referred, "steps/k/not-applicable/"), {"reason": "Not suitable"})
    _refused(response, "Document a meeting the client attended before VIII.K", before, referred)
    assert not PeerContact.objects.filter(client=referred.client_id).exists()


def test_steps_that_need_b_wait_for_it(sign_in, clinician, preparing, group, peer):
    """Groups chosen while VIII.B was never recorded done: every later step waits for B."""
    Referral.objects.filter(pk=preparing.pk).update(approval=Referral.Approval.APPROVED)
    preparing.refresh_from_db()
    referral = _choose(preparing, [group], clinician)
    assert _step(referral, "b").status == "pending"
    client = sign_in(clinician)
    before = _snapshot(referral)
    message = "Record the client's goals, location, language and approval (VIII.B) before VIII.{}."
    for letter in "efgi":
        response = client.post(_url(referral, f"steps/{letter}/done/"), {"note": ""})
        _refused(response, message.format(letter.upper()), before, referral)
    response = client.post(_url(referral, "steps/c/introduction/"), {"peer_contact": peer.pk})
    _refused(response, message.format("C"), before, referral)
    response = client.post(
        _url(referral, "steps/h/advocate/"), {"first_name": "Luz", "sessions": ["1"]}
    )
    _refused(response, message.format("H"), before, referral)
    response = client.post(_url(referral, "steps/h/not-applicable/"), {"reason": "None free"})
    _refused(response, message.format("H"), before, referral)


@pytest.mark.parametrize(
    ("rest", "data"),
    [
        ("steps/e/done/", {"note": ""}),
        ("steps/c/not-applicable/", {"reason": "No peer"}),
        ("steps/c/introduction/", "PEER"),
        ("steps/h/advocate/", {"first_name": "Luz", "sessions": ["1"]}),
        ("steps/k/answer/", {"answer": "no"}),
    ],
)
def test_nothing_is_recorded_on_a_closed_referral(sign_in, clinician, ready, rest, data):
    referral = ready["referral"]
    procedure_services.close_referral(referral=referral, reason="lost-contact", by=clinician)
    before = _snapshot(referral)
    if data == "PEER":
        data = {"peer_contact": ready["peer"].pk}
    response = sign_in(clinician).post(_url(referral, rest), data)
    _refused(response, "This referral is closed", before, referral)


def test_no_follow_up_is_added_to_a_closed_referral(sign_in, clinician, ready):
    referral = ready["referral"]
    procedure_services.close_referral(referral=referral, reason="declined", by=clinician)
    before = _snapshot(referral)
    response = sign_in(clinician).post(
        _url(referral, "follow-ups/"), {"due_on": timezone.localdate().isoformat()}
    )
    assert response.status_code == 400 and "The referral is closed." in _text(response)
    assert _snapshot(referral) == before


def test_closing_twice_is_refused(sign_in, clinician, ready):
    referral = ready["referral"]
    client = sign_in(clinician)
    assert client.post(_url(referral, "close/"), {"reason": "declined"}).status_code == 302
    before = _snapshot(referral)
    response = client.post(_url(referral, "close/"), {"reason": "lost-contact"})
    _refused(response, "This referral is already closed.", before, referral)


def test_no_advocate_session_is_added_to_a_closed_referral(sign_in, clinician, ready):
    referral = ready["referral"]
    client = sign_in(clinician)
    url = _url(referral, "steps/h/advocate/")
    assert client.post(url, {"first_name": "Luz", "sessions": ["1"]}).status_code == 302
    procedure_services.close_referral(referral=referral, reason="lost-contact", by=clinician)
    before = _snapshot(referral)
    response = client.post(url, {"first_name": "Luz", "sessions": ["2"]})
    _refused(response, "This referral is closed", before, referral)
    assert _step(referral, "h").details["sessions"] == [1]


def test_completed_needs_an_attendance_not_six_in_a_row(sign_in, clinician, referred, group):
    """Closing as "completed" needs a meeting attended (IX.A); VIII.G only asks that clients be
    encouraged to attend six in a row, so one meeting attended is enough."""
    client = sign_in(clinician)
    before = _snapshot(referred)
    response = client.post(_url(referred, "close/"), {"reason": "completed"})
    _refused(response, "Document a meeting the client attended (IX.A)", before, referred)
    _attend(referred, group, [timezone.localdate() - timedelta(days=1)], by=clinician)
    response = client.post(_url(referred, "close/"), {"reason": "completed"})
    assert response.status_code == 302
    referred.refresh_from_db()
    assert referred.status == "closed" and referred.close_reason == "completed"


# --- not applicable ------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_not_applicable_needs_a_reason(sign_in, clinician, referred, reason):
    before = _snapshot(referred)
    response = sign_in(clinician).post(
        _url(referred, "steps/c/not-applicable/"), {"reason": reason}
    )
    assert response.status_code == 400
    assert "Give the reason the step does not apply." in _text(response)
    assert _snapshot(referred) == before


@pytest.mark.parametrize("letter", list("abefgij"))
def test_only_conditional_steps_may_be_not_applicable(sign_in, clinician, referred, letter):
    """VIII.A, B, E, F, G, I, J say "should" without a condition: never not applicable."""
    before = _snapshot(referred)
    response = sign_in(clinician).post(
        _url(referred, f"steps/{letter}/not-applicable/"), {"reason": "Busy day"}
    )
    _refused(response, "cannot be marked not applicable", before, referred)


def test_c_not_applicable_opens_d(sign_in, clinician, referred, resources):
    """VIII.C "When possible"; VIII.D "When another client ... is not available"."""
    client = sign_in(clinician)
    page = _text(client.get(_url(referred)))
    assert _badge(page, "c") == "To do now" and _badge(page, "d") == "Pending"
    assert "No peer contact is available for the groups chosen" in _row(page, "c")
    response = client.post(
        _url(referred, "steps/c/not-applicable/"),
        {"reason": "No peer contact attending the group is available."},
    )
    assert response.status_code == 302
    step = _step(referred, "c")
    assert step.status == "not-applicable" and step.completed_by == clinician
    assert step.not_applicable_reason == "No peer contact attending the group is available."
    page = _text(client.get(_url(referred)))
    assert _badge(page, "c") == "Not applicable" and _badge(page, "d") == "To do now"
    row = _row(page, "d")
    assert "1-877-SHARE-49" in row and "(888) 448-9777" in row and "6:00 p.m.–10:00 p.m." in row
    assert client.post(_url(referred, "steps/d/done/"), {"note": ""}).status_code == 302
    step = _step(referred, "d")
    assert step.status == "done" and step.details == {"given": ["share", "friendship-line"]}
    _assert_consistent(referred)


@pytest.mark.parametrize("letter", list("hk"))
def test_h_and_k_may_be_not_applicable_with_the_reason(sign_in, clinician, ready, letter):
    referral = ready["referral"]
    response = sign_in(clinician).post(
        _url(referral, f"steps/{letter}/not-applicable/"), {"reason": "Not possible this time"}
    )
    assert response.status_code == 302
    step = _step(referral, letter)
    assert step.status == "not-applicable"
    assert step.not_applicable_reason == "Not possible this time"
    _assert_consistent(referral)


# --- VIII.H: the first three sessions ------------------------------------------------------------


def test_a_fourth_advocate_session_is_refused(sign_in, clinician, referred):
    client = sign_in(clinician)
    url = _url(referred, "steps/h/advocate/")
    assert client.post(url, {"first_name": "Luz", "sessions": ["1", "2", "3"]}).status_code == 302
    before = _snapshot(referred)
    # No fourth session exists on the form: a tampered one is invalid input.
    response = client.post(url, {"first_name": "Luz", "sessions": ["4"]})
    assert response.status_code == 400
    assert "Only the first three sessions are accompanied (VIII.H)." in _text(response)
    assert _snapshot(referred) == before
    # The three are recorded: no other session can be added.
    response = client.post(url, {"first_name": "Luz", "sessions": ["1"]})
    _refused(response, "already recorded for all of the first three sessions", before, referred)
    assert _step(referred, "h").details["sessions"] == [1, 2, 3]


def test_a_session_is_recorded_once(sign_in, clinician, referred):
    client = sign_in(clinician)
    url = _url(referred, "steps/h/advocate/")
    assert client.post(url, {"first_name": "Luz", "sessions": ["1"]}).status_code == 302
    before = _snapshot(referred)
    response = client.post(url, {"first_name": "Luz", "sessions": ["1"]})
    _refused(response, "Session 1 is already recorded as accompanied (VIII.H).", before, referred)
    response = client.post(url, {"first_name": "Luz", "sessions": ["2", "2"]})
    _refused(response, "Session 2 is given twice", before, referred)
    assert _step(referred, "h").details == {"advocate_first_name": "Luz", "sessions": [1]}


# --- VIII.C: peers offered and refused -----------------------------------------------------------


def test_a_withdrawn_peer_is_not_offered_and_cannot_be_introduced(
    sign_in, clinician, referred, peer, outsider
):
    procedure_services.withdraw_peer_contact(contact=peer, by=outsider)
    client = sign_in(clinician)
    page = _text(client.get(_url(referred)))
    assert _radio(peer) not in page and "Marisol" not in page
    before = _snapshot(referred)
    response = client.post(_url(referred, "steps/c/introduction/"), {"peer_contact": peer.pk})
    assert response.status_code == 400
    assert "That peer contact is no longer available (they may have withdrawn)." in _row(
        _text(response), "c"
    )
    assert _snapshot(referred) == before
    assert _step(referred, "c").status == "pending"


def test_withdrawal_between_page_and_post_is_refused(sign_in, clinician, referred, peer, outsider):
    """The page offered the peer; they withdrew before the clinician pressed the button."""
    client = sign_in(clinician)
    assert _radio(peer) in _text(client.get(_url(referred)))
    procedure_services.withdraw_peer_contact(contact=peer, by=outsider)
    response = client.post(_url(referred, "steps/c/introduction/"), {"peer_contact": peer.pk})
    assert response.status_code == 400
    assert _step(referred, "c").status == "pending"
    assert peer.history.first().history_user == outsider


def test_a_peer_of_another_group_is_refused(
    sign_in, clinician, referred, peer, other_group, peer_client, outsider
):
    elsewhere = _peer(peer_client, other_group, "Rosa", recorded_by=outsider)
    client = sign_in(clinician)
    page = _text(client.get(_url(referred)))
    assert "Rosa" not in page and _radio(elsewhere) not in page
    before = _snapshot(referred)
    response = client.post(_url(referred, "steps/c/introduction/"), {"peer_contact": elsewhere.pk})
    assert response.status_code == 400
    assert "no longer available" in _text(response)
    assert _snapshot(referred) == before


def test_the_client_is_never_offered_as_their_own_peer(
    sign_in, clinician, referred, group, client_record
):
    own = _peer(client_record, group, "Ana", recorded_by=clinician)
    client = sign_in(clinician)
    page = _text(client.get(_url(referred)))
    assert _radio(own) not in page
    # With only themself as a peer, none is available: VIII.C can only be not applicable.
    assert "No peer contact is available for the groups chosen" in _row(page, "c")
    before = _snapshot(referred)
    response = client.post(_url(referred, "steps/c/introduction/"), {"peer_contact": own.pk})
    assert response.status_code == 400
    assert _snapshot(referred) == before


def test_peers_are_offered_by_first_name_across_the_chosen_groups(
    sign_in, clinician, preparing, group, other_group, peer, peer_client, outsider
):
    _approve(preparing, clinician)
    referral = _choose(preparing, [group, other_group], clinician)
    second = _peer(peer_client, other_group, "Rosa", "+13235550177", recorded_by=outsider)
    row = _row(_text(sign_in(clinician).get(_url(referral))), "c")
    assert _radio(peer) in row and _radio(second) in row
    assert "Marisol" in row and "Rosa" in row
    for secret in ("Quintanilla", "778899", "555-0142", "555-0177"):
        assert secret not in row


def test_a_popular_group_offers_its_ten_latest_peers(
    sign_in, clinician, referred, group, outsider, other_clinic
):
    """A group with contact persons from all over the county: the page lists the ten who
    agreed most recently; any consenting peer may still be recorded as introduced."""
    peers = []
    for n in range(15):
        person = ClientFactory(clinic=other_clinic, created_by=outsider, first_name=f"Peer{n:02d}")
        contact = _peer(person, group, f"Peer{n:02d}", recorded_by=outsider)
        contact.consented_on = date(2026, 1, 1) + timedelta(days=n)
        contact.save(update_fields=["consented_on"])
        peers.append(contact)
    client = sign_in(clinician)
    row = _row(_text(client.get(_url(referred))), "c")
    offered = [p for p in peers if _radio(p) in row]
    assert offered == peers[5:]  # the ten latest, listed by first name
    assert row.index("Peer05") < row.index("Peer14")
    # An older consent, not listed, is still a valid choice (the form checks every one).
    response = client.post(_url(referred, "steps/c/introduction/"), {"peer_contact": peers[0].pk})
    assert response.status_code == 302
    assert _step(referred, "c").peer_contact == peers[0]


# --- VIII.I–J: follow-ups ------------------------------------------------------------------------


def test_a_follow_up_in_the_past_is_refused(sign_in, clinician, referred):
    before = _snapshot(referred)
    yesterday = timezone.localdate() - timedelta(days=1)
    response = sign_in(clinician).post(
        _url(referred, "follow-ups/"), {"due_on": yesterday.isoformat()}
    )
    assert response.status_code == 400
    assert "A follow-up cannot be due in the past." in _row(_text(response), "j")
    assert _snapshot(referred) == before


def test_a_follow_up_on_a_valid_date_is_listed(sign_in, clinician, referred):
    client = sign_in(clinician)
    due_on = timezone.localdate() + timedelta(days=10)
    response = client.post(_url(referred, "follow-ups/"), {"due_on": due_on.isoformat()})
    assert response.status_code == 302
    added = FollowUp.objects.get(referral=referred, due_on=due_on)
    assert added.clinician == referred.clinician and added.clinic_id == referred.clinic_id
    assert added.history.first().history_user == clinician
    row = _row(_text(client.get(_url(referred))), "j")
    assert f"{due_on.day} {due_on:%b %Y}" in row
    assert f"/follow-ups/{added.pk}/done/" in row


def test_a_double_clicked_add_adds_one_follow_up(sign_in, clinician, referred):
    client = sign_in(clinician)
    due_on = timezone.localdate() + timedelta(days=10)
    for _ in range(2):
        client.post(_url(referred, "follow-ups/"), {"due_on": due_on.isoformat()})
    assert FollowUp.objects.filter(referral=referred, due_on=due_on).count() == 1


def test_no_follow_up_before_groups_are_chosen(sign_in, clinician, preparing):
    _approve(preparing, clinician)
    before = _snapshot(preparing)
    response = sign_in(clinician).post(
        _url(preparing, "follow-ups/"),
        {"due_on": (timezone.localdate() + timedelta(days=3)).isoformat()},
    )
    assert response.status_code in (400, 409)
    assert _snapshot(preparing) == before


def test_a_double_clicked_follow_up_is_recorded_once(sign_in, clinician, referred):
    client = sign_in(clinician)
    followup = FollowUp.objects.filter(referral=referred).order_by("due_on").first()
    url = _url(referred, f"follow-ups/{followup.pk}/done/")
    first = client.post(url, {"outcome": "reported", "note": "Went twice"})
    followup.refresh_from_db()
    done_at = followup.done_at
    second = client.post(url, {"outcome": "not-reached", "note": "second click"})
    assert first.status_code == second.status_code == 302
    followup.refresh_from_db()
    assert followup.done_at == done_at and followup.done_by == clinician
    assert followup.outcome == "reported" and followup.note == "Went twice"
    assert followup.history.count() == 1
    row = _row(_text(client.get(_url(referred))), "j")
    assert "The client reported back" in row and "Went twice" in row
    assert f"/follow-ups/{followup.pk}/done/" not in row


def test_a_follow_up_done_from_the_worklist_goes_back_there(sign_in, clinician, referred):
    followup = FollowUp.objects.filter(referral=referred).first()
    client = sign_in(clinician)
    response = client.post(
        _url(referred, f"follow-ups/{followup.pk}/done/"),
        {"outcome": "reminded", "next": "worklist"},
    )
    assert response.status_code == 302 and response["Location"] == "/clinician/"
    followup.refresh_from_db()
    assert followup.outcome == "reminded" and followup.done_at is not None
    # Any other "next" is ignored: no redirect off the site.
    other = FollowUp.objects.filter(referral=referred, done_at__isnull=True).first()
    response = client.post(
        _url(referred, f"follow-ups/{other.pk}/done/"),
        {"outcome": "reminded", "next": "https://evil.example/"},
    )
    assert response["Location"].startswith(_url(referred) + "#")


def test_a_follow_up_of_another_referral_is_not_found(
    sign_in, clinician, referred, client_record, group
):
    screening = ScreeningFactory(
        client=client_record, screened_by=clinician, answers=REFER_SCREENING
    )
    second = ReferralFactory(screening=screening)
    _approve(second, clinician)
    _choose(second, [group], clinician)
    theirs = FollowUp.objects.filter(referral=second).first()
    response = sign_in(clinician).post(
        _url(referred, f"follow-ups/{theirs.pk}/done/"), {"outcome": "reported"}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.done_at is None


def test_a_clinics_schedule_sets_the_follow_ups(clinic, clinician, preparing, group):
    """VIII.J: "At regular intervals"; a clinic may change the default 1, 3 and 6 weeks."""
    FollowUpScheduleFactory(clinic=clinic, weeks=[2, 4])
    _approve(preparing, clinician)
    referral = _choose(preparing, [group], clinician)
    today = timezone.localdate()
    assert list(FollowUp.objects.filter(referral=referral).values_list("due_on", flat=True)) == [
        today + timedelta(weeks=2),
        today + timedelta(weeks=4),
    ]
    # Scheduled, not yet done (VIII.J is done when they are recorded).
    assert _step(referral, "j").status == "pending"


# --- VIII.K: the contact-person answer -----------------------------------------------------------


def test_a_yes_makes_the_client_a_peer_offered_to_another_clinic_by_first_name(
    sign_in, clinician, ready, group, outsider, peer_client
):
    """VIII.K feeds VIII.C: the new contact is offered to another clinic's clinician for the
    same group, by first name only: never the surname, record number or phone."""
    referral = ready["referral"]
    client = sign_in(clinician)
    response = client.post(
        _url(referral, "steps/k/answer/"),
        {"answer": "yes", "group": group.pk, "first_name": "Ana", "phone": "(323) 555-0199"},
    )
    assert response.status_code == 302
    contact = PeerContact.objects.get(client=referral.client_id)
    # A client of the other clinic, referred to the same group by the outsider.
    screening = ScreeningFactory(
        client=ClientFactory(
            clinic=peer_client.clinic, created_by=outsider, first_name="Tomas", last_name="Lind"
        ),
        screened_by=outsider,
        answers=REFER_SCREENING,
    )
    theirs = ReferralFactory(screening=screening)
    _approve(theirs, outsider)
    _choose(theirs, [group], outsider)
    page = _text(sign_in(outsider).get(_url(theirs)))
    row = _row(page, "c")
    assert _radio(contact) in row and "Ana" in row
    for secret in ("Reyes", "424242", "555-0199", "5550199"):
        assert secret not in page
    # And our clinic's clinician cannot open the other clinic's referral at all.
    assert sign_in(clinician).get(_url(theirs)).status_code == 404


def test_a_no_records_the_answer_and_no_contact(sign_in, clinician, ready):
    referral = ready["referral"]
    response = sign_in(clinician).post(_url(referral, "steps/k/answer/"), {"answer": "no"})
    assert response.status_code == 302
    step = _step(referral, "k")
    assert step.status == "done" and step.details == {"answer": "no"}
    assert not PeerContact.objects.filter(client=referral.client_id).exists()


def test_a_double_clicked_yes_records_one_contact(sign_in, clinician, ready, group):
    referral = ready["referral"]
    client = sign_in(clinician)
    data = {"answer": "yes", "group": group.pk, "first_name": "Ana", "phone": "3235550199"}
    assert client.post(_url(referral, "steps/k/answer/"), data).status_code == 302
    assert client.post(_url(referral, "steps/k/answer/"), data).status_code == 302
    assert PeerContact.objects.filter(client=referral.client_id).count() == 1
    assert _step(referral, "k").history.filter(status="done").count() == 1


def test_a_yes_is_for_a_group_the_client_attends(sign_in, clinician, preparing, group, other_group):
    _approve(preparing, clinician)
    referral = _choose(preparing, [group, other_group], clinician)
    _attend(referral, group, [timezone.localdate()], by=clinician)
    response = sign_in(clinician).post(
        _url(referral, "steps/k/answer/"),
        {"answer": "yes", "group": other_group.pk, "first_name": "Ana", "phone": "3235550199"},
    )
    assert response.status_code in (400, 409)
    assert not PeerContact.objects.filter(client=referral.client_id).exists()
    assert _step(referral, "k").status == "pending"


# --- double clicks -------------------------------------------------------------------------------


@pytest.mark.parametrize("letter", list("efgi"))
def test_a_double_clicked_step_is_recorded_once(sign_in, clinician, referred, letter):
    client = sign_in(clinician)
    url = _url(referred, f"steps/{letter}/done/")
    assert client.post(url, {"note": "first"}).status_code == 302
    step = _step(referred, letter)
    assert client.post(url, {"note": "second"}).status_code == 302
    again = _step(referred, letter)
    assert (again.completed_at, again.completed_by, again.note) == (
        step.completed_at,
        clinician,
        "first",
    )
    assert again.history.filter(status="done").count() == 1
    assert again.history.first().history_user == clinician


def test_a_double_clicked_introduction_is_recorded_once(sign_in, clinician, referred, peer):
    client = sign_in(clinician)
    url = _url(referred, "steps/c/introduction/")
    assert client.post(url, {"peer_contact": peer.pk}).status_code == 302
    completed_at = _step(referred, "c").completed_at
    assert client.post(url, {"peer_contact": peer.pk}).status_code == 302
    step = _step(referred, "c")
    assert step.completed_at == completed_at
    assert step.history.filter(status="done").count() == 1


def test_a_double_clicked_not_applicable_is_recorded_once(sign_in, clinician, referred):
    client = sign_in(clinician)
    url = _url(referred, "steps/c/not-applicable/")
    assert client.post(url, {"reason": "No peer"}).status_code == 302
    assert client.post(url, {"reason": "Other reason"}).status_code == 302
    step = _step(referred, "c")
    assert step.not_applicable_reason == "No peer"
    assert step.history.filter(status="not-applicable").count() == 1


# --- the status never contradicts ----------------------------------------------------------------


def _k_yes(client, referral, group):
    return client.post(
        _url(referral, "steps/k/answer/"),
        {"answer": "yes", "group": group.pk, "first_name": "Ana", "phone": "3235550199"},
    )


@pytest.mark.parametrize(
    "action",
    [
        "step-done",
        "not-applicable",
        pytest.param("advocate"),
        pytest.param("contact-answer"),
        pytest.param("followup-done"),
    ],
)
def test_every_action_leaves_the_status_as_the_facts_say(
    sign_in, clinician, referred, group, action
):
    """After any checklist POST, the stored status is the derived one. An
    attendance is documented without a status change (no page records attendance yet), so the
    stored status is "referred" while the facts say "attending" until an action syncs it."""
    referral = referred
    _attend(referral, group, [timezone.localdate() - timedelta(days=1)], by=clinician)
    followup = FollowUp.objects.filter(referral=referral).first()
    referral.refresh_from_db()
    assert referral.status == "referred"
    client = sign_in(clinician)
    response = {
        "step-done": lambda: client.post(_url(referral, "steps/e/done/"), {"note": ""}),
        "not-applicable": lambda: client.post(
            _url(referral, "steps/h/not-applicable/"), {"reason": "None free"}
        ),
        "advocate": lambda: client.post(
            _url(referral, "steps/h/advocate/"), {"first_name": "Luz", "sessions": ["1"]}
        ),
        "contact-answer": lambda: _k_yes(client, referral, group),
        "followup-done": lambda: client.post(
            _url(referral, f"follow-ups/{followup.pk}/done/"), {"outcome": "reported"}
        ),
    }[action]()
    assert response.status_code == 302
    _assert_consistent(referral)
    assert referral.status == "attending"


# --- roles and tenancy on every POST -------------------------------------------------------------


def _post_urls(ready):
    referral, peer, followup = ready["referral"], ready["peer"], ready["followup"]
    return {
        "step-done": ("steps/e/done/", {"note": "Given"}),
        "step-not-applicable": ("steps/h/not-applicable/", {"reason": "No advocate free"}),
        "introduction": ("steps/c/introduction/", {"peer_contact": peer.pk}),
        "advocate": ("steps/h/advocate/", {"first_name": "Luz", "sessions": ["1"]}),
        "contact-answer": ("steps/k/answer/", {"answer": "no"}),
        "followup-add": (
            "follow-ups/",
            {"due_on": (timezone.localdate() + timedelta(days=9)).isoformat()},
        ),
        "followup-done": (f"follow-ups/{followup.pk}/done/", {"outcome": "reported"}),
        "close": ("close/", {"reason": "lost-contact"}),
    }, referral


POST_NAMES = [
    "step-done",
    "step-not-applicable",
    "introduction",
    "advocate",
    "contact-answer",
    "followup-add",
    "followup-done",
    "close",
]
# Clinicians hold the permissions; supervisors and site admins read (or nothing) and are refused;
# the outsider (clinician and supervisor of another clinic) and the superuser (no clinic) find
# no such referral.
EXPECTED_STATUS = {
    "clinician": 302,
    "supervisor": 403,
    "site_admin": 403,
    "no_role_user": 403,
    "outsider": 404,
    "superuser": 404,
}


@pytest.mark.parametrize("name", POST_NAMES)
@pytest.mark.parametrize("person", list(EXPECTED_STATUS))
def test_every_post_by_role_and_clinic(request, sign_in, ready, name, person):
    urls, referral = _post_urls(ready)
    rest, data = urls[name]
    user = request.getfixturevalue(person)
    client = sign_in(user)
    before, mark = _snapshot(referral), _last_event_id()
    response = client.post(_url(referral, rest), data)
    assert response.status_code == EXPECTED_STATUS[person]
    events = _new_events(mark)
    assert len(events) == 1  # exactly one access-log row per request
    event = events[0]
    if person == "clinician":
        assert response["Location"].startswith(_url(referral))
        assert _snapshot(referral) != before
        _assert_consistent(referral)
        assert (event.action, event.outcome) == ("edit", "success")
        assert (event.object_type, event.object_id) == ("referral", str(referral.pk))
        assert event.clinic_id == referral.clinic_id and event.user == user
    else:
        assert _snapshot(referral) == before
        if EXPECTED_STATUS[person] == 404:
            # The probe of another clinic's referral is logged with the id asked for.
            assert (event.action, event.outcome) == ("edit", "not-found")
            assert (event.object_type, event.object_id) == ("referral", str(referral.pk))
        else:
            assert event.outcome == "denied" and event.user == user


@pytest.mark.parametrize("name", POST_NAMES)
def test_anonymous_posts_are_sent_to_sign_in(client, ready, name):
    urls, referral = _post_urls(ready)
    rest, data = urls[name]
    before = _snapshot(referral)
    response = client.post(_url(referral, rest), data)
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]
    assert _snapshot(referral) == before


def test_a_supervisor_sees_the_checklist_without_its_buttons(sign_in, supervisor, ready):
    page = _text(sign_in(supervisor).get(_url(ready["referral"])))
    assert "The referral procedure (VIII.A–K)" in page
    assert "/steps/" not in page and "/follow-ups/" not in page and "/close/" not in page


@pytest.mark.parametrize("letter", ["z", "A", "l", "viii.a", "ab"])
@pytest.mark.parametrize("action", ["done", "not-applicable"])
def test_an_unknown_step_letter_is_not_found(sign_in, clinician, referred, letter, action):
    client = sign_in(clinician)
    before, mark = _snapshot(referred), _last_event_id()
    response = client.post(_url(referred, f"steps/{letter}/{action}/"), {"note": "", "reason": "x"})
    assert response.status_code == 404
    assert _snapshot(referred) == before
    [event] = _new_events(mark)
    assert event.outcome == "not-found" and event.object_id == str(referred.pk)


# --- the access log: one row per POST, whatever the outcome --------------------------------------


def test_each_post_writes_one_edit_row_for_the_referral(sign_in, clinician, ready, group):
    referral = ready["referral"]
    client = sign_in(clinician)
    posts = [
        ("steps/e/done/", {"note": ""}, "success"),
        ("steps/d/done/", {"note": ""}, "failure"),  # 409: C is pending
        ("steps/c/not-applicable/", {"reason": ""}, "failure"),  # 400
        ("steps/c/introduction/", {"peer_contact": ready["peer"].pk}, "success"),
        ("steps/h/advocate/", {"first_name": "Luz", "sessions": ["9"]}, "failure"),
        ("steps/k/answer/", {"answer": "no"}, "success"),
        ("follow-ups/", {"due_on": "2000-01-01"}, "failure"),
        ("close/", {"reason": "not-eligible"}, "failure"),  # 400: not a choice
    ]
    for rest, data, outcome in posts:
        mark = _last_event_id()
        client.post(_url(referral, rest), data)
        events = _new_events(mark)
        assert len(events) == 1, rest
        assert (events[0].action, events[0].outcome) == ("edit", outcome), rest
        assert (events[0].object_type, events[0].object_id) == ("referral", str(referral.pk))
        assert events[0].clinic_id == referral.clinic_id


# --- bad input never answers 500 -----------------------------------------------------------------


def _bad_inputs(ready):
    referral = ready["referral"]
    followup = ready["followup"]
    peer = ready["peer"]
    long_note = "x" * 2001
    return [
        # (path under the referral, data, status, text the page shows)
        ("steps/e/done/", {"note": long_note}, 400, "at most 2000 characters"),
        ("steps/e/not-applicable/", {}, 400, "Give the reason"),
        ("steps/c/not-applicable/", {"reason": "x" * 301}, 400, "at most 300 characters"),
        ("steps/b/done/", {"note": ""}, 400, "client's input and approval page"),
        ("steps/c/done/", {"note": ""}, 400, "Record the introduction"),
        ("steps/h/done/", {"note": ""}, 400, "Record the advocate"),
        ("steps/j/done/", {"note": ""}, 400, "Done when the follow-ups scheduled are recorded"),
        ("steps/k/done/", {"note": ""}, 400, "Record the client's answer."),
        ("steps/c/introduction/", {}, 400, "Choose the peer contact"),
        ("steps/c/introduction/", {"peer_contact": "abc"}, 400, "no longer available"),
        ("steps/c/introduction/", {"peer_contact": "-1"}, 400, "no longer available"),
        ("steps/c/introduction/", {"peer_contact": "1.5"}, 400, "no longer available"),
        ("steps/c/introduction/", {"peer_contact": "99999999"}, 400, "no longer available"),
        (
            "steps/c/introduction/",
            {"peer_contact": peer.pk, "note": long_note},
            400,
            "at most 2000 characters",
        ),
        ("steps/h/advocate/", {"sessions": ["1"]}, 400, "This field is required"),
        ("steps/h/advocate/", {"first_name": "x" * 41, "sessions": ["1"]}, 400, "at most 40"),
        ("steps/h/advocate/", {"first_name": "  ", "sessions": []}, 400, "required"),
        ("steps/h/advocate/", {"first_name": "Luz", "sessions": ["0"]}, 400, "first three"),
        ("steps/h/advocate/", {"first_name": "Luz", "sessions": ["abc"]}, 400, "first three"),
        ("steps/k/answer/", {}, 400, "required"),
        ("steps/k/answer/", {"answer": "maybe"}, 400, "maybe"),
        ("steps/k/answer/", {"answer": "yes"}, 400, "Give the phone they chose to share."),
        (
            "steps/k/answer/",
            {"answer": "yes", "group": "abc", "first_name": "Ana", "phone": "3235550199"},
            400,
            "valid choice",
        ),
        (
            "steps/k/answer/",
            {"answer": "yes", "group": "", "first_name": "Ana Maria", "phone": "not a phone"},
            400,
            "A first name only",
        ),
        ("follow-ups/", {}, 400, "required"),
        ("follow-ups/", {"due_on": "2026-13-45"}, 400, "valid date"),
        ("follow-ups/", {"due_on": "tomorrow"}, 400, "valid date"),
        (f"follow-ups/{followup.pk}/done/", {}, 400, "required"),
        (f"follow-ups/{followup.pk}/done/", {"outcome": "done"}, 400, "valid choice"),
        (
            f"follow-ups/{followup.pk}/done/",
            {"outcome": "reported", "note": long_note},
            400,
            "at most 2000 characters",
        ),
        ("close/", {}, 400, "required"),
        ("close/", {"reason": "not-eligible"}, 400, "valid choice"),
        ("close/", {"reason": "declined", "note": "x" * 101}, 400, "at most 100 characters"),
        (f"follow-ups/{followup.pk + 1000}/done/", {"outcome": "reported"}, 404, ""),
        ("follow-ups/abc/done/", {"outcome": "reported"}, 404, ""),
        ("steps/%20/done/", {}, 404, ""),
    ], referral


def test_bad_input_is_refused_with_a_message_and_nothing_written(sign_in, clinician, ready):
    cases, referral = _bad_inputs(ready)
    client = sign_in(clinician)
    before = _snapshot(referral)
    for rest, data, status, message in cases:
        response = client.post(_url(referral, rest), data)
        assert response.status_code == status, (rest, data, response.status_code)
        if message:
            assert message in _text(response), (rest, data)
        assert _snapshot(referral) == before, (rest, data)


@pytest.mark.parametrize(
    "path",
    [
        "/referrals/abc/steps/e/done/",
        "/referrals/-1/steps/e/done/",
        "/referrals/99999999999999999999999/steps/e/done/",
        "/referrals/99999999999999999999999/follow-ups/1/done/",
        "/referrals/1/follow-ups/99999999999999999999999/done/",
    ],
)
def test_nonsense_ids_are_not_found(sign_in, clinician, ready, path):
    response = sign_in(clinician).post(path, {"note": "", "outcome": "reported"})
    assert response.status_code == 404


def test_a_get_on_a_post_url_is_refused(sign_in, clinician, ready):
    response = sign_in(clinician).get(_url(ready["referral"], "steps/e/done/"))
    assert response.status_code == 405
    assert _step(ready["referral"], "e").status == "pending"


# --- planned dates (VIII.G) ----------------------------------------------------------------------


def test_planned_dates_start_the_day_after_the_local_referral_date(
    sign_in, clinician, referred, group
):
    # Monday 2 March 2026, 5:30 p.m. in Los Angeles (already Tuesday 01:30 in UTC); the group
    # meets on Tuesdays at 7 p.m., so the first planned meeting is Tuesday 3 March.
    Referral.objects.filter(pk=referred.pk).update(
        referred_at=datetime(2026, 3, 2, 17, 30, tzinfo=LA)
    )
    response = sign_in(clinician).post(_url(referred, "steps/g/done/"), {"note": ""})
    assert response.status_code == 302
    planned = _step(referred, "g").details["planned"][str(group.pk)]
    assert planned[0] == "2026-03-03"


def test_planned_dates_for_a_morning_referral(sign_in, clinician, referred, group):
    Referral.objects.filter(pk=referred.pk).update(
        referred_at=datetime(2026, 3, 2, 9, 0, tzinfo=LA)
    )
    client = sign_in(clinician)
    assert client.post(_url(referred, "steps/g/done/"), {"note": ""}).status_code == 302
    planned = _step(referred, "g").details["planned"][str(group.pk)]
    assert planned == [f"2026-03-{d:02d}" for d in (3, 10, 17, 24, 31)] + ["2026-04-07"]
    row = _row(_text(client.get(_url(referred))), "g")
    assert "Tue 3 Mar 7:00 p.m." in row and "Tue 7 Apr 7:00 p.m." in row


def test_a_group_without_meetings_stores_no_dates(sign_in, clinician, preparing, taxonomy):
    quiet = _group("Quiet Group", taxonomy, meetings=())
    _approve(preparing, clinician)
    referral = _choose(preparing, [quiet], clinician)
    client = sign_in(clinician)
    assert "no meeting times are listed" in _row(_text(client.get(_url(referral))), "g")
    assert client.post(_url(referral, "steps/g/done/"), {"note": ""}).status_code == 302
    assert _step(referral, "g").details == {"planned": {str(quiet.pk): []}}


# --- query count ---------------------------------------------------------------------------------


def _busy_referral(referral, groups, meetings_each, followups, *, by, peer_client, outsider):
    """A referral with groups chosen, meetings, follow-ups, peers, attendance and steps done."""
    for g in groups:
        Meeting.objects.bulk_create(
            Meeting(group=g, weekday=n % 7, start_time=time(8 + n % 12, 0))
            for n in range(meetings_each)
        )
        _peer(peer_client, g, f"Peer{g.pk}", recorded_by=outsider)
    _approve(referral, by)
    referral = _choose(referral, groups, by)
    FollowUp.objects.filter(referral=referral).delete()
    FollowUp.objects.bulk_create(
        FollowUp(
            referral=referral,
            clinic_id=referral.clinic_id,
            clinician=by,
            due_on=timezone.localdate() + timedelta(days=n),
            done_at=timezone.now() if n % 2 else None,
            done_by=by if n % 2 else None,
            outcome="reported" if n % 2 else "",
        )
        for n in range(followups)
    )
    _attend(referral, groups[0], [timezone.localdate() - timedelta(days=1)], by=by)
    for letter in "efg":
        procedure_services.complete_step(referral=referral, code=f"VIII.{letter.upper()}", by=by)
    procedure_services.record_advocate_sessions(
        referral=referral, first_name="Luz", sessions=[1], by=by
    )
    return referral


def _page_queries(client, referral):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url(referral))
    assert response.status_code == 200
    return len(queries), [q["sql"] for q in queries.captured_queries]


def test_the_referral_pages_queries_do_not_grow(
    sign_in, clinician, client_record, taxonomy, peer_client, outsider, resources
):
    client = sign_in(clinician)

    def new_referral():
        screening = ScreeningFactory(
            client=client_record, screened_by=clinician, answers=REFER_SCREENING
        )
        return ReferralFactory(screening=screening)

    small = _busy_referral(
        new_referral(),
        [_group("Small One", taxonomy, meetings=())],
        1,
        3,
        by=clinician,
        peer_client=peer_client,
        outsider=outsider,
    )
    big_groups = [_group(f"Big {n}", taxonomy, meetings=()) for n in range(3)]
    big = _busy_referral(
        new_referral(),
        big_groups,
        20,
        10,
        by=clinician,
        peer_client=peer_client,
        outsider=outsider,
    )
    for n in range(30):  # a popular group: more contact persons than the page lists
        person = ClientFactory(clinic=outsider.clinic, created_by=outsider)
        _peer(person, big_groups[0], f"Many{n}", recorded_by=outsider)
    assert Meeting.objects.count() == 1 + 60
    assert FollowUp.objects.filter(referral=big).count() == 10
    few, _ = _page_queries(client, small)
    many, sql = _page_queries(client, big)
    assert few == many, "\n".join(sql)
    assert many == PINNED_PAGE_QUERIES, "\n".join(sql)


# The referral page, whatever the number of groups, meetings, follow-ups and peers, and
# whatever VI.C finds (a medicated client, unsafe groups, concerns: test_medication_safety):
#   1 session, 2 user, 3 OTP device (the permission set is the session's);
#   4 the referral (with client, clinician, screening, area), 5 its goal needs, 6 the chosen
#     groups with their listings, their weekly meetings and VI.C's facts (the stance and
#     medication histories, the concerns) (selectors.referrals());
#   selectors.referral_page: 7 the steps (with who and the peer), 8 the client's records at
#     the groups (the runs and the meetings attended), 9 SHARE!/Friendship Line/Client
#     Coalition with their phones, 10 the peers offered (with their group), 11 the follow-ups
#     (with who did them); the procedure's facts are built from these, not read again;
#   VI.C from current facts (selectors/medication_safety.referral_alerts): 12 the decisions
#     recorded (the page's history, and the decisions in force);
#   13 the access-log row.
PINNED_PAGE_QUERIES = 13


def test_a_step_record_ends_with_one_full_stop(sign_in, clinician, referred, resources):
    """ "4:34 a.m." already ends the sentence: no second full stop after it."""
    morning = datetime(2026, 3, 2, 4, 34, tzinfo=LA)
    ProcedureStep.objects.filter(referral=referred, code="VIII.F").update(
        status="done", completed_by=clinician, completed_at=morning
    )
    html = sign_in(clinician).get(f"/referrals/{referred.pk}/").content.decode()
    assert "4:34 a.m." in html
    assert "a.m.." not in html and "p.m.." not in html


# --- VIII.H as a plan ----------------------------------------------------------------------


def test_the_advocate_is_planned_before_the_sessions_and_attendance_completes_the_step(
    sign_in, clinician, referred
):
    """VIII.H: "peer advocates should accompany the clients to the first three sessions":
    the advocate is recorded before the sessions; attendance marked "advocate went" then
    records each session, so the same fact is never entered twice."""
    web = sign_in(clinician)
    planned = web.post(f"/referrals/{referred.pk}/steps/h/advocate/", {"first_name": "Luz"})
    assert planned.status_code == 302
    step = _step(referred, "h")
    assert step.status == "pending"
    assert step.details == {"advocate_first_name": "Luz", "planned": True}
    page = web.get(f"/referrals/{referred.pk}/").content.decode()
    assert "Planned: Luz will go with the client to the first three sessions." in page

    group_id = referred.groups.get().group_id
    today = timezone.localdate()
    documented = web.post(
        f"/referrals/attendance/{referred.client_id}/new/",
        {
            "group": str(group_id),
            "dates": today.isoformat(),
            "status": "attended",
            "meeting": "",
            "accompanied": "yes",
            "source": "client",
            "before_referral_reason": "",
        },
    )
    assert documented.status_code == 302, documented.content[:500]
    step = _step(referred, "h")
    assert step.status == "done" and step.completed_by == clinician
    assert step.details["sessions"] == [1] and step.details["advocate_first_name"] == "Luz"


def test_planning_the_advocate_follows_the_policys_order(sign_in, clinician, preparing):
    """Before groups are chosen there are no sessions to plan for: 409, nothing saved."""
    response = sign_in(clinician).post(
        f"/referrals/{preparing.pk}/steps/h/advocate/", {"first_name": "Luz"}
    )
    assert response.status_code == 409
    assert _step(preparing, "h").details == {}


def test_the_peer_to_introduce_shows_a_first_name_and_a_phone_to_call(
    sign_in, clinician, referred, peer, group
):
    """VIII.C: the phone introduction needs the number on the step, not on another page;
    the peer's first name and the phone they chose to share, nothing more. A peer of another
    clinic is offered by first name only: the phone stays at their clinic."""
    own = ClientFactory(
        clinic=clinician.clinic, created_by=clinician, first_name="Dolores", last_name="Ybarra"
    )
    _peer(own, group, "Dolores", phone="+13235550177", recorded_by=clinician)
    html = sign_in(clinician).get(f"/referrals/{referred.pk}/").content.decode()
    assert '<a href="tel:+13235550177">call Dolores: (323) 555-0177</a>' in html
    assert "Ybarra" not in html
    assert "Marisol" in html and "555-0142" not in html and "Quintanilla" not in html


# --- The referral as one working page: saved in place, two tabs ---------------------------------

HX = {"HTTP_HX_REQUEST": "true"}


def _actions(since: int) -> list[str]:
    return list(
        AccessEvent.objects.filter(pk__gt=since).order_by("pk").values_list("action", flat=True)
    )


def _last_event() -> int:
    return AccessEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_a_step_saved_in_place_answers_the_region_and_logs_an_edit(sign_in, clinician, referred):
    """htmx: the working region (every form with the new version), never a redirect or a
    whole page; one "edit" row, no "view"."""
    web = sign_in(clinician)
    before = _last_event()
    version = referred.version
    answer = web.post(_url(referred, "steps/e/done/"), {"version": version}, **HX)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert html.lstrip().startswith('<div id="referral-work"') and "<html" not in html
    assert f'name="version" value="{version + 1}"' in html
    assert f'name="version" value="{version}"' not in html
    assert _step(referred, "e").status == "done"
    assert _actions(before) == ["edit"]
    assert answer.headers["Vary"].count("HX-Request") == 1


def test_without_javascript_a_step_posts_and_comes_back_to_the_page(sign_in, clinician, referred):
    """No JavaScript: Post/Redirect/Get to the referral's page, at the step waiting next."""
    web = sign_in(clinician)
    answer = web.post(_url(referred, "steps/e/done/"), {"version": referred.version})
    assert answer.status_code == 302
    assert answer["Location"].startswith(f"/referrals/{referred.pk}/#step-")


def test_a_step_from_an_older_page_answers_409_and_writes_nothing(sign_in, clinician, referred):
    """Two tabs: tab A records VIII.E; tab B, loaded before, sends VIII.F with the version it
    was loaded with: 409 in place, with the message beside the step, and nothing written."""
    web = sign_in(clinician)
    loaded = referred.version
    assert web.post(_url(referred, "steps/e/done/"), {"version": loaded}, **HX).status_code == 200
    stale = web.post(_url(referred, "steps/f/done/"), {"version": loaded, "note": "x"}, **HX)
    assert stale.status_code == 409
    text = _text(stale)
    assert "changed in another tab or by someone else" in text
    assert "The page now shows the current state" in text
    assert _badge(stale.content.decode(), "e") == "Done"  # the current state
    assert _step(referred, "f").status == "pending"
    referred.refresh_from_db()
    assert referred.version == loaded + 1
    # The same, without JavaScript: the whole page, 409, nothing written.
    page = web.post(_url(referred, "steps/f/done/"), {"version": loaded})
    assert page.status_code == 409 and "<html" in page.content.decode()
    assert _step(referred, "f").status == "pending"


def test_a_double_click_records_the_step_once_and_is_not_a_conflict(sign_in, clinician, referred):
    web = sign_in(clinician)
    data = {"version": referred.version}
    assert web.post(_url(referred, "steps/e/done/"), data, **HX).status_code == 200
    assert web.post(_url(referred, "steps/e/done/"), data, **HX).status_code == 200
    assert ProcedureStep.objects.filter(referral=referred, code="VIII.E").count() == 1


def test_a_damaged_version_is_bad_input(sign_in, clinician, referred):
    answer = sign_in(clinician).post(_url(referred, "steps/e/done/"), {"version": "x"}, **HX)
    assert answer.status_code == 400
    assert _step(referred, "e").status == "pending"


def test_a_step_out_of_order_is_refused_in_place(sign_in, clinician, referred):
    """409 for the policy's order, beside the step, in the region."""
    answer = sign_in(clinician).post(
        _url(referred, "steps/k/not-applicable/"), {"version": referred.version}, **HX
    )
    assert answer.status_code == 400  # no reason given
    assert 'id="referral-work"' in answer.content.decode()
    assert _step(referred, "k").status == "pending"


def test_the_clients_input_and_the_group_are_chosen_in_place(sign_in, clinician, preparing, group):
    """VIII.B then VIII.C on the referral's page: bad input (400) in place and kept; approval
    shows the groups; "refer to this group" chooses one; the page's own address throughout."""
    web = sign_in(clinician)
    base = _url(preparing)
    page = web.get(base).content.decode()
    assert 'id="input"' in page and 'id="choose-groups"' not in page
    data = {
        "page": "referral",
        "version": preparing.version,
        "goals": "Company",
        "language": "es",
        "twelve_step": "no-preference",
        "approval": "approved",
        "counselled": "on",
    }
    bad = web.post(_url(preparing, "client-input/"), data, **HX)
    assert bad.status_code == 400
    assert "Give the most convenient location" in _text(bad)
    assert "Company" in bad.content.decode()  # kept
    preparing.refresh_from_db()
    assert preparing.approval == "pending"

    area = group.service_areas.first().pk
    good = web.post(_url(preparing, "client-input/"), {**data, "preferred_area": area}, **HX)
    assert good.status_code == 200
    assert 'id="choose-groups"' in good.content.decode()
    preparing.refresh_from_db()
    assert preparing.approval == "approved"

    chosen = web.post(
        _url(preparing, "groups/"),
        {"page": "referral", "version": preparing.version, "only": group.pk},
        **HX,
    )
    assert chosen.status_code == 200
    assert "Print the client" in _text(chosen)
    preparing.refresh_from_db()
    assert preparing.status == "referred"
    assert list(preparing.groups.values_list("group_id", flat=True)) == [group.pk]


def test_without_javascript_the_clients_input_comes_back_to_the_page(
    sign_in, clinician, preparing, group
):
    web = sign_in(clinician)
    data = {
        "page": "referral",
        "version": preparing.version,
        "language": "es",
        "twelve_step": "no-preference",
        "approval": "approved",
        "counselled": "on",
        "preferred_area": group.service_areas.first().pk,
    }
    answer = web.post(_url(preparing, "client-input/"), data)
    assert answer.status_code == 302
    assert answer["Location"] == f"/referrals/{preparing.pk}/#choose-groups"


def test_a_group_excluded_under_vi_c_is_refused_in_place(
    sign_in, clinician, preparing, group, client_record
):
    """VI.C: a medicated client; a group that discourages medication, posted by hand as the
    one-click choice, is refused (400) with the reason and nothing is chosen."""
    _approve(preparing, clinician)
    Referral.objects.filter(pk=preparing.pk).update(preferred_area=group.service_areas.first())
    client_record.on_prescribed_medication = True
    client_record.save()
    group.medication_stance = Group.MedicationStance.DISCOURAGES
    group.save()
    preparing.refresh_from_db()
    answer = sign_in(clinician).post(
        _url(preparing, "groups/"),
        {"page": "referral", "version": preparing.version, "only": group.pk},
        **HX,
    )
    assert answer.status_code == 400
    assert "cannot be chosen (VI.C)" in _text(answer)
    preparing.refresh_from_db()
    assert preparing.status == "preparing" and not preparing.groups.exists()


def test_the_search_by_name_in_place_writes_no_view_row(sign_in, clinician, preparing, group):
    _approve(preparing, clinician)
    web = sign_in(clinician)
    before = _last_event()
    answer = web.get(_url(preparing, "groups/find/"), {"q": "Esperanza"}, **HX)
    assert answer.status_code == 200 and "Grupo Esperanza" in answer.content.decode()
    assert _actions(before) == []
