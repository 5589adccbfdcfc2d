"""The client's sheet (policy VII.A, VIII.C–G) through real requests: its content in English and
Spanish, nothing clinical on it ever, the access log, roles and tenancy, a referral without a
sheet yet, and a fixed number of queries."""

import html as html_lib
from datetime import date, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessEvent
from clients.models import PeerContact
from directory.models import (
    Contact,
    Language,
    Meeting,
    ServiceArea,
)
from referrals.models import ProcedureStep, Referral
from referrals.rules import clauses, eligibility
from referrals.services import screening as screening_services
from tests.factories.clients import ClientFactory, PeerContactFactory
from tests.factories.directory import (
    ContactFactory,
    GroupFactory,
    MeetingFactory,
    ReferralResourceFactory,
    ResourcePhoneFactory,
)
from tests.factories.referrals import ReferralFactory, ReferredGroupFactory

# The screening finds IV.H with a diagnosis the sheet must never show. No group, contact,
# meeting or resource in this file uses the words "bipolar", "mood", "diagnos", "substance" or
# "medication", so finding them on the sheet can only mean the screening leaked.
SCREENING = {
    "indications": [{"code": "IV.H", "detail": "bipolar"}, {"code": "IV.D", "detail": ""}],
    "no_indication_found": False,
    "selection_criterion": "met",
    "violence_without_impulse_control": "no",
    "expressed_disinterest": "no",
    "explanation_given": True,
    "on_prescribed_medication": "yes",
}
RECORD_NUMBER = "90817263"
GOALS = "Find people who understand, away from home"
CULTURAL_NEEDS = "Prefers a group with other grandmothers"
# Resource numbers and hours that are not the policy's, so that finding them proves the sheet
# reads the directory's referral resources rather than text typed into the template (VIII.D–E).
SHARE_PHONE = "+18775550149"
FRIENDSHIP_PHONE = "+18885550190"
COALITION_PHONE = "+12135550170"


@pytest.fixture
def areas(db):
    return {
        "east": ServiceArea.objects.create(
            slug="east", name="East", kind=ServiceArea.Kind.SPA, spa_number=7
        ),
        "san-gabriel": ServiceArea.objects.create(
            slug="san-gabriel", name="San Gabriel", kind=ServiceArea.Kind.SPA, spa_number=3
        ),
        "countywide": ServiceArea.objects.create(
            slug="countywide", name="Los Angeles County", kind=ServiceArea.Kind.COUNTYWIDE
        ),
    }


@pytest.fixture
def resources(db):
    share = ReferralResourceFactory(key="share", name="SHARE! the Self-Help And Recovery Exchange")
    ResourcePhoneFactory(resource=share, phone=SHARE_PHONE, label="Toll free")
    friendship = ReferralResourceFactory(
        key="friendship-line",
        name="Friendship Line",
        hours="5:00 p.m.-9:00 p.m.",
        opens_at=time(17, 0),
        closes_at=time(21, 0),
    )
    ResourcePhoneFactory(resource=friendship, phone=FRIENDSHIP_PHONE, label="Toll free")
    coalition = ReferralResourceFactory(
        key="client-coalition", name="Client Coalition (Office of Consumer Affairs)"
    )
    ResourcePhoneFactory(resource=coalition, phone=COALITION_PHONE)
    return {"share": share, "friendship": friendship, "coalition": coalition}


@pytest.fixture
def groups(areas):
    sunrise = GroupFactory(
        name="Sunrise Friends Circle",
        slug="sunrise-friends-circle",
        description="Peers meeting weekly to support one another.",
        etiquette_note="Members hold hands for the closing words; joining in is optional.",
    )
    ContactFactory(group=sunrise, phone="+13235550101", person_first_name="Rosa", order=1)
    sunrise.contacts.get(person_first_name="Rosa").service_areas.add(areas["east"])
    countywide = ContactFactory(group=sunrise, phone="+18005550102", order=2)
    countywide.service_areas.add(areas["countywide"])
    elsewhere = ContactFactory(group=sunrise, phone="+16265550103", order=3)
    elsewhere.service_areas.add(areas["san-gabriel"])
    ContactFactory(
        group=sunrise, kind=Contact.Kind.WEB, phone="", url="https://sunrise.example.org"
    )
    MeetingFactory(
        group=sunrise,
        weekday=Meeting.Weekday.MONDAY,
        start_time=time(10, 0),
        end_time=None,
        location_name="Pasadena Hall",
        address="1 Colorado Blvd, Pasadena",
        service_area=areas["san-gabriel"],
    )
    MeetingFactory(
        group=sunrise,
        weekday=Meeting.Weekday.FRIDAY,
        start_time=time(19, 0),
        end_time=time(20, 30),
        location_name="East LA Library",
        address="4837 E 3rd St, Los Angeles",
        service_area=areas["east"],
        language=Language.objects.create(code="es", name="Spanish"),
    )
    hope = GroupFactory(
        name="Hope Walkers",
        slug="hope-walkers",
        description="A walking group.",
        is_twelve_step=False,
        etiquette_note="",
    )
    only_elsewhere = ContactFactory(group=hope, phone="+16265550104")
    only_elsewhere.service_areas.add(areas["san-gabriel"])
    MeetingFactory(
        group=hope,
        weekday=Meeting.Weekday.SATURDAY,
        start_time=time(9, 0),
        end_time=time(10, 0),
        address="",
        online_url="https://meet.example.org/hope",
    )
    return {"sunrise": sunrise, "hope": hope}


def _referral(
    clinic,
    clinician,
    areas,
    groups,
    *,
    language="en",
    status="referred",
    record_number=RECORD_NUMBER,
    **client,
):
    record = ClientFactory(
        clinic=clinic,
        created_by=clinician,
        first_name="Marisol",
        last_name="Quintanilla",
        record_number=record_number,
        preferred_language=language,
        **client,
    )
    # A real screening through the service, so the reasons are the rules' own sentences.
    screening = screening_services.record_screening(
        client=record, answers=eligibility.ScreeningAnswers.from_dict(SCREENING), by=clinician
    )
    referral = ReferralFactory(
        screening=screening,
        status=status,
        approval=Referral.Approval.APPROVED,
        preferred_area=areas["east"],
        location_text="Boyle Heights",
        goals=GOALS,
        cultural_needs=CULTURAL_NEEDS,
        language=language if language in {"en", "es"} else "",
        referred_at=timezone.now() if status != "preparing" else None,
    )
    for rank, group in enumerate(groups, start=1):
        ReferredGroupFactory(
            referral=referral,
            group=group,
            # Matching's sentences name the need: clinical, never on the sheet.
            reasons=["helps with bipolar disorder", "meets in SPA 7"],
            suggested_rank=rank,
            chosen_at=timezone.now(),
            chosen_by=clinician,
        )
    return referral


@pytest.fixture
def referral(clinic, clinician, areas, groups, resources):
    return _referral(clinic, clinician, areas, [groups["sunrise"], groups["hope"]])


@pytest.fixture
def spanish_referral(clinic, clinician, areas, groups, resources):
    return _referral(clinic, clinician, areas, [groups["sunrise"], groups["hope"]], language="es")


def _sheet(client, referral):
    response = client.get(f"/referrals/{referral.pk}/sheet/")
    assert response.status_code == 200
    return response.content.decode()


def _assert_nothing_clinical(page: str, referral: Referral):
    """Never on the sheet: the indication, the diagnosis, any screening answer or reason, the
    record number, medication status, goals and cultural needs (others may see the sheet)."""
    lowered = page.lower()
    reasons = list(referral.screening.reasons.values_list("message", flat=True))
    assert len(reasons) >= 4  # IV.D, IV.H, V, VI.C: the test is only as good as this
    for message in reasons:
        assert message not in page and html_lib.escape(message) not in page
    for found in SCREENING["indications"]:
        indication = clauses.INDICATIONS_BY_CODE[found["code"]]
        assert indication.title.lower() not in lowered
        assert found["code"] not in page
        if found["detail"]:
            assert indication.detail(found["detail"]).label.lower() not in lowered
    for word in ["bipolar", "mood disorder", "diagnos", "substance", "medication", "prescribed"]:
        assert word not in lowered, word
    for clause in ["VI.C", "VI.A", "IV."]:
        assert clause not in page
    assert RECORD_NUMBER not in page
    assert GOALS not in page and CULTURAL_NEEDS not in page and "Boyle Heights" not in page
    assert "Quintanilla" not in page  # the client is not named on a sheet others may see


# --- content, English ---------------------------------------------------------------------------


def test_english_sheet_has_groups_contacts_meetings_resources_and_encouragement(
    sign_in, clinician, referral
):
    """VIII.C–G in English: everything the client needs, from the directory's data."""
    page = _sheet(sign_in(clinician), referral)
    # VIII.C: the chosen groups with their descriptions.
    assert "Sunrise Friends Circle" in page and "Hope Walkers" in page
    assert "Peers meeting weekly to support one another." in page
    # Contacts for the client's area (SPA 7), countywide ones and unmapped ones; not those
    # serving another area only.
    assert "(323) 555-0101" in page and "ask for Rosa" in page
    assert "(800) 555-0102" in page
    assert "https://sunrise.example.org" in page
    assert "(626) 555-0103" not in page and "(626) 555-0104" not in page
    assert "No contact is listed for your area" in page  # Hope Walkers has none here
    # Meetings, the client's area first: Friday (East) before Monday (San Gabriel).
    assert "Friday" in page and "7 p.m.–8:30 p.m." in page and "East LA Library" in page
    assert "Monday" in page and "Pasadena Hall" in page
    assert page.index("East LA Library") < page.index("Pasadena Hall")
    assert "https://meet.example.org/hope" in page and "Saturday" in page
    # VIII.F: the group's own etiquette note and the general customs.
    assert "Members hold hands for the closing words" in page
    assert "members use first names only" in page
    assert "talk about your own experience" in page
    assert "no crosstalk" in page
    assert "Arrive on time. It is fine to just listen." in page
    # What to expect; VIII.G: six scheduled meetings in a row, and regularly after.
    assert "What to expect at your first meeting" in page
    assert "Try six scheduled meetings in a row, and keep going regularly after." in page
    # VIII.D–E from the referral resources: SHARE!, the Friendship Line and its hours, the
    # Client Coalition; their numbers as recorded, not the policy's as typed anywhere.
    assert "SHARE! the Self-Help And Recovery Exchange" in page and "(877) 555-0149" in page
    assert "Friendship Line" in page and "(888) 555-0190" in page
    assert "Hours: 5 p.m.–9 p.m." in page
    assert "Client Coalition (Office of Consumer Affairs)" in page and "(213) 555-0170" in page
    assert "448-9777" not in page and "637-2370" not in page
    # The clinician, the clinic, the date printed.
    assert clinician.get_full_name() in page or clinician.username in page
    assert "Hollywood Mental Health Center" in page
    assert timezone.localdate().strftime("%Y") in page
    assert 'lang="en"' in page
    assert "A translation of this sheet can be requested" not in page
    _assert_nothing_clinical(page, referral)


def test_resource_change_reaches_the_next_sheet(sign_in, clinician, referral, resources):
    """VIII.D: the Friendship Line's hours and number come from the directory."""
    client = sign_in(clinician)
    resources["friendship"].opens_at = time(18, 0)
    resources["friendship"].closes_at = time(22, 0)
    resources["friendship"].save()
    resources["friendship"].phones.update(phone="+18884489777")
    page = _sheet(client, referral)
    assert "Hours: 6 p.m.–10 p.m." in page and "(888) 448-9777" in page
    assert "(888) 555-0190" not in page


# --- content, Spanish ---------------------------------------------------------------------------


def test_spanish_sheet_is_translated_with_the_same_content(sign_in, clinician, spanish_referral):
    """A client whose preferred language is Spanish gets the sheet in Spanish: fixed text,
    weekday names, times and date; listing data as entered."""
    page = _sheet(sign_in(clinician), spanish_referral)
    assert 'lang="es"' in page
    assert "Sus grupos de autoayuda" in page
    # Listing data as entered.
    assert "Sunrise Friends Circle" in page and "Hope Walkers" in page
    assert "Members hold hands for the closing words" in page
    # Contacts for the area.
    assert "(323) 555-0101" in page and "pregunte por Rosa" in page
    assert "(800) 555-0102" in page and "(626) 555-0103" not in page
    assert "No hay ningún contacto registrado para su zona" in page
    # Meetings: Spanish weekday names and a 24-hour clock.
    assert "Viernes" in page and "19:00–20:30" in page
    assert "Lunes" in page and "Sábado" in page
    assert page.index("East LA Library") < page.index("Pasadena Hall")
    assert "En línea:" in page
    # VIII.F etiquette, what to expect, VIII.G six meetings.
    assert "Anonimato: los miembros se presentan solo con su nombre de pila." in page
    assert "hable de su propia experiencia" in page
    assert "comentarios cruzados" in page
    assert "Llegue a tiempo. Está bien solo escuchar." in page
    assert "Qué esperar en su primera reunión" in page
    assert "seis reuniones programadas seguidas" in page
    # VIII.D–E.
    assert "(877) 555-0149" in page and "(888) 555-0190" in page and "(213) 555-0170" in page
    assert "Horario: de 17:00 a 21:00" in page
    assert "Hollywood Mental Health Center" in page
    # The date in Spanish ("25 de noviembre de 2026").
    assert " de " + str(timezone.localdate().year) in page
    # No English left in the sheet's fixed text.
    for english in [
        "Your self-help groups",
        "Try six scheduled meetings",
        "What to expect",
        "Friday",
        "Hours:",
        "ask for",
    ]:
        assert english not in page, english
    _assert_nothing_clinical(page, spanish_referral)


def test_staff_pages_stay_english_after_a_spanish_sheet(sign_in, clinician, spanish_referral):
    client = sign_in(clinician)
    _sheet(client, spanish_referral)
    page = client.get(f"/referrals/{spanish_referral.pk}/").content.decode()
    assert "Groups referred to (VIII.C)" in page


# --- other languages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "language, other, line",
    [
        ("ko", "", "A translation of this sheet can be requested in Korean."),
        ("hy", "", "A translation of this sheet can be requested in Armenian."),
        ("other", "Tigrinya", "A translation of this sheet can be requested in Tigrinya."),
        ("other", "", "A translation of this sheet can be requested in your language."),
    ],
)
def test_other_language_gets_english_with_a_translation_line(
    sign_in, clinician, clinic, areas, groups, resources, language, other, line
):
    referral = _referral(
        clinic,
        clinician,
        areas,
        [groups["sunrise"]],
        language=language,
        preferred_language_other=other,
    )
    page = _sheet(sign_in(clinician), referral)
    assert line in page
    assert 'lang="en"' in page and "Your self-help groups" in page
    assert "Try six scheduled meetings in a row, and keep going regularly after." in page
    _assert_nothing_clinical(page, referral)


# --- peers: first names only (VIII.C) --------------------------------------------------------


def _introduce(referral, group, clinician, *, first_name, status=PeerContact.Status.ACTIVE):
    peer_client = ClientFactory(
        clinic=referral.clinic, created_by=clinician, first_name=first_name, last_name="Zeferino"
    )
    peer = PeerContactFactory(
        client=peer_client,
        clinic=referral.clinic,
        group=group,
        first_name=first_name,
        phone="+13235550188",
        consented_on=date(2026, 1, 5),
        status=status,
        withdrawn_on=date(2026, 2, 1) if status == PeerContact.Status.WITHDRAWN else None,
        recorded_by=clinician,
    )
    # VIII.C done with the introduction recorded (the referral may already have its steps).
    ProcedureStep.objects.update_or_create(
        referral=referral,
        code=ProcedureStep.Code.C,
        defaults={
            "status": ProcedureStep.Status.DONE,
            "peer_contact": peer,
            "completed_by": clinician,
            "completed_at": timezone.now(),
        },
    )
    return peer


def test_introduced_peer_is_shown_by_first_name_only(sign_in, clinician, referral, groups):
    """VIII.C anonymity: the peer's first name, never their last name or phone."""
    _introduce(referral, groups["sunrise"], clinician, first_name="Lupe")
    page = _sheet(sign_in(clinician), referral)
    assert "You spoke by phone with Lupe, who goes to this group." in page
    assert "Zeferino" not in page and "555-0188" not in page
    # Under the group the peer attends.
    assert page.index("Sunrise Friends Circle") < page.index("Lupe") < page.index("Hope Walkers")


def test_withdrawn_peer_is_not_on_the_sheet(sign_in, clinician, referral, groups):
    _introduce(referral, groups["sunrise"], clinician, first_name="Lupe", status="withdrawn")
    page = _sheet(sign_in(clinician), referral)
    assert "Lupe" not in page and "You spoke by phone" not in page


# --- meetings beyond what fits ---------------------------------------------------------------


def test_a_group_with_many_meetings_shows_the_nearest_and_counts_the_rest(
    sign_in, clinician, clinic, areas, groups, resources
):
    from referrals.selectors.sheet import MEETINGS_SHOWN

    for n in range(MEETINGS_SHOWN + 3):
        MeetingFactory(
            group=groups["hope"],
            weekday=n % 7,
            start_time=time(8 + n, 0),
            end_time=None,
            location_name=f"Hall {n}",
            service_area=areas["san-gabriel"],
        )
    referral = _referral(clinic, clinician, areas, [groups["hope"]])
    page = _sheet(sign_in(clinician), referral)
    # The online meeting (rank 1) comes before those elsewhere (rank 2); four are left off.
    assert "https://meet.example.org/hope" in page
    assert page.count("<tr>") - 1 == MEETINGS_SHOWN  # header row + the meetings shown
    assert "The group lists 4 more meetings." in page


# --- the access log ---------------------------------------------------------------------------


def test_printing_writes_one_print_row(sign_in, clinician, referral):
    _sheet(sign_in(clinician), referral)
    rows = list(AccessEvent.objects.filter(action=AccessEvent.Action.PRINT))
    assert len(rows) == 1
    (row,) = rows
    assert row.user == clinician and row.outcome == AccessEvent.Outcome.SUCCESS
    assert row.object_type == "referral" and row.object_id == str(referral.pk)
    assert row.clinic_id == referral.clinic_id
    # The row holds the record's id only, never its content.
    assert RECORD_NUMBER not in f"{row.reason} {row.object_id} {row.username}"


# --- roles and tenancy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "person, expected",
    [
        ("clinician", 200),
        ("supervisor", 200),
        ("site_admin", 403),
        ("no_role_user", 403),
        ("outsider", 404),
        ("superuser", 404),
    ],
)
def test_who_may_print_the_sheet(request, sign_in, referral, person, expected):
    user = request.getfixturevalue(person)
    response = sign_in(user).get(f"/referrals/{referral.pk}/sheet/")
    assert response.status_code == expected
    if expected == 404:
        # Another clinic's referral is "not found", and the probe is logged with the id.
        event = AccessEvent.objects.get(user=user, action=AccessEvent.Action.PRINT)
        assert event.outcome == AccessEvent.Outcome.NOT_FOUND
        assert event.object_type == "referral" and event.object_id == str(referral.pk)
        assert "Sunrise Friends Circle" not in response.content.decode()
    if expected == 403:
        assert AccessEvent.objects.filter(user=user, outcome=AccessEvent.Outcome.DENIED).exists()
        assert not AccessEvent.objects.filter(action=AccessEvent.Action.PRINT).exists()


def test_anonymous_is_sent_to_sign_in(client, referral):
    response = client.get(f"/referrals/{referral.pk}/sheet/")
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.PRINT).exists()


def test_sheet_is_read_only(sign_in, clinician, referral):
    response = sign_in(clinician).post(f"/referrals/{referral.pk}/sheet/")
    assert response.status_code == 405


# --- no sheet yet: 409 ------------------------------------------------------------------------


def test_preparing_referral_has_no_sheet(sign_in, clinician, clinic, areas, groups, resources):
    referral = _referral(clinic, clinician, areas, [], status=Referral.Status.PREPARING)
    response = sign_in(clinician).get(f"/referrals/{referral.pk}/sheet/")
    assert response.status_code == 409
    page = response.content.decode()
    assert "still being prepared" in page and "VIII.B" in page
    assert "Try six scheduled meetings" not in page
    event = AccessEvent.objects.get(action=AccessEvent.Action.PRINT)
    assert event.outcome == AccessEvent.Outcome.FAILURE and event.object_id == str(referral.pk)


def test_referral_without_groups_has_no_sheet(sign_in, clinician, clinic, areas, groups, resources):
    referral = _referral(clinic, clinician, areas, [])
    response = sign_in(clinician).get(f"/referrals/{referral.pk}/sheet/")
    assert response.status_code == 409
    assert "No group has been chosen" in response.content.decode()


# --- printing: a button, no inline script --------------------------------------------------------


def test_print_button_uses_a_static_script_with_the_nonce(sign_in, clinician, referral):
    response = sign_in(clinician).get(f"/referrals/{referral.pk}/sheet/")
    page = response.content.decode()
    assert "data-print-page" in page
    assert 'src="/static/js/print.js"' in page
    nonce = response.context["csp_nonce"]
    assert f'<script src="/static/js/print.js" nonce="{nonce}"' in page
    assert "onclick" not in page and "window.print" not in page
    assert 'class="no-print sheet-toolbar' in page


# --- a fixed number of queries ----------------------------------------------------------------


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _busy_group(n, areas):
    group = GroupFactory(name=f"Busy Circle {n}", slug=f"busy-circle-{n}")
    for c in range(12):
        contact = ContactFactory(group=group, phone=f"+1323555{1000 + n * 20 + c}")
        contact.service_areas.add(areas["east"] if c % 2 else areas["countywide"])
    for m in range(15):
        MeetingFactory(
            group=group,
            weekday=m % 7,
            start_time=time(7 + m % 12, 0),
            end_time=None,
            service_area=areas["east"] if m % 3 else areas["san-gabriel"],
        )
    return group


def test_query_count_does_not_grow_with_groups_contacts_and_meetings(
    sign_in, clinician, clinic, areas, resources
):
    client = sign_in(clinician)
    one = _referral(clinic, clinician, areas, [_busy_group(0, areas)])
    few = _count(client, f"/referrals/{one.pk}/sheet/")
    five = _referral(
        clinic,
        clinician,
        areas,
        [_busy_group(n, areas) for n in range(1, 6)],
        record_number="90817264",
    )
    peer_group = five.groups.first().group
    _introduce(five, peer_group, clinician, first_name="Lupe")
    many = _count(client, f"/referrals/{five.pk}/sheet/")
    assert many == few
    # Session, user, OTP device, permissions (2), the referral (1); the chosen groups, their
    # contacts for the area, their meetings, the peer introductions, the resources and their
    # phones (6); VI.C now (the chosen groups it may rule out: 1); the access-log write.
    assert many <= 14
