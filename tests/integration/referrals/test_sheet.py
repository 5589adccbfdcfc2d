"""The client's sheet (policy VII.A, VIII.C–G) through real requests: its content in English and
Spanish, nothing clinical on it ever, the access log, roles and tenancy, a referral without a
sheet yet, and a fixed number of queries."""

import html as html_lib
import re
from datetime import date, time
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessEvent
from clients.models import PeerContact
from directory.models import (
    Contact,
    Group,
    Language,
    Meeting,
    ServiceArea,
)
from referrals.models import ProcedureStep, Referral
from referrals.rules import clauses, eligibility
from referrals.services import screening as screening_services
from referrals.templatetags import referral_tags
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
    # First names are a custom of many groups, not a rule of every group; fees are allowed if
    # small or nominal (I.C, II.G), so the sheet never says attending is free.
    assert "Many groups use first names only." in page
    assert "members use first names only" not in page
    assert "There is no fee" not in page and "no fee to attend" not in page
    assert "free or ask only a small fee to cover their costs" in page
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
    # Listing names as entered; the group's own English note is not put on a Spanish sheet:
    # the client is told the group has customs of its own, in Spanish.
    assert "Sunrise Friends Circle" in page and "Hope Walkers" in page
    assert "Members hold hands for the closing words" not in page
    assert "Este grupo tiene sus propias costumbres." in page
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
    assert "En muchos grupos las personas usan solo su nombre de pila." in page
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
    # Session, user, OTP device (permissions: the session's), the referral (1); the chosen groups,
    # their contacts for the area, their meetings, the peer introductions, the resources and their
    # phones, the groups' languages (7); VI.C now (the chosen groups it may rule out: 1); the
    # access-log write.
    assert many <= 13


# --- the Spanish sheet is all Spanish ---------------------------------------------------------

CATALOGUE = Path(__file__).resolve().parents[3] / "locale" / "es" / "LC_MESSAGES" / "django.po"
CLAUSE_CODE = re.compile(r"\b(?:I|II|III|IV|V|VI|VII|VIII|IX)\.[A-K]\b|\((?:IV|V|VI|VII|VIII)\)")


def _catalogue() -> list[tuple[str, str]]:
    """(English msgid, Spanish msgstr) pairs of the catalogue, plurals as their own pairs."""
    pairs, entry, key = [], {}, None
    for line in [*CATALOGUE.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry.get("msgid"):
                strings = [v for k, v in entry.items() if k.startswith("msgstr")]
                pairs.append((entry["msgid"], strings[0]))
                if entry.get("msgid_plural"):
                    pairs.append((entry["msgid_plural"], strings[-1]))
            entry, key = {}, None
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgid_plural|msgid|msgstr(?:\[\d\])?) "(.*)"$', line)
        if match:
            key = match.group(1)
            entry[key] = _unquote(match.group(2))
        elif line.startswith('"') and key:
            entry[key] += _unquote(line[1:-1])
    return pairs


def _unquote(text: str) -> str:
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def _client_text(page: str) -> str:
    """What the client reads: the sheet's article, without its markup."""
    article = page[page.index('<article class="client-sheet"') : page.index("</article>")]
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", article))
    return re.sub(r"\s+", " ", text)


def _english_fragments():
    """Each English sentence of the catalogue, cut at its placeholders, whose Spanish differs
    from it (a name kept as it is, "San Gabriel", is no English left behind)."""
    for english, spanish in _catalogue():
        if not english or english == spanish or english in spanish:
            continue
        if english in referral_tags.DATA_WORDS:
            # Place names ("East", "Los Angeles") also sit in addresses printed as entered;
            # the labels among them are checked one by one in the test.
            continue
        for fragment in re.split(r"%\(\w+\)s", english):
            fragment = fragment.strip(" .,:;–")
            if len(fragment.split()) >= 2 or (fragment and " " not in english):
                yield fragment


@pytest.fixture
def spanish_everything(clinic, clinician, areas, groups, resources):
    """A Spanish client's sheet with every client-facing branch: a twelve-step group whose
    note is the old seeded clinician instruction, a contact note and area label from the 2008
    list, phone labels, the Client Coalition's doubtful numbers, a group that may no longer meet
    and one listing more meetings than the sheet shows."""
    sunrise = groups["sunrise"]
    sunrise.is_twelve_step = True
    sunrise.etiquette_note = (
        "A twelve-step group patterned after Alcoholics Anonymous, with a particular structure "
        "of which clinicians should be aware (III.A). Describe to the client the appropriate "
        "focus of group sharing in 12-step programs (VIII.F)."
    )
    sunrise.save()
    ContactFactory(group=sunrise, phone="+18005550111", note="Toll free", area_label="L A County")
    for n in range(10):
        MeetingFactory(group=groups["hope"], weekday=n % 7, start_time=time(8 + n, 0))
    groups["hope"].status = "temporarily-closed"
    groups["hope"].save()
    resources["coalition"].needs_confirmation = True
    resources["coalition"].save()
    ResourcePhoneFactory(
        resource=resources["coalition"],
        phone="+12135550171",
        label="LAC DMH Office of Consumer Affairs",
    )
    return _referral(clinic, clinician, areas, [sunrise, groups["hope"]], language="es")


def test_the_spanish_sheet_has_no_english_sentence_from_the_catalogue(
    sign_in, clinician, spanish_everything
):
    """VII.A, VIII.C–F for a Spanish-speaking client: every fixed sentence and label in
    Spanish, no clause code, no instruction meant for the clinician."""
    text = _client_text(_sheet(sign_in(clinician), spanish_everything))
    fragments = list(_english_fragments())
    assert len(fragments) > 40  # the check is only as good as the catalogue it reads
    left = [f for f in fragments if re.search(rf"(?<!\w){re.escape(f)}(?!\w)", text)]
    assert left == []
    assert not CLAUSE_CODE.search(text), CLAUSE_CODE.search(text)
    for instruction in ["clinicians should", "Describe to the client", "of which clinicians"]:
        assert instruction not in text
    # Labels from the directory, in Spanish; the client's area too.
    assert "Llamada gratuita" in text and "Condado de Los Ángeles" in text
    assert "de su zona: Este." in text
    for label in ["Toll free", "L A County", "LAC DMH Office of Consumer Affairs"]:
        assert label not in text, label
    assert "Oficina de Asuntos del Consumidor" in text
    # VIII.F for a twelve-step group, in Spanish.
    assert "Este es un grupo de doce pasos" in text
    # VIII.E: the same caveat as the procedure page, in Spanish.
    assert "Estamos confirmando cuál de estos números está vigente." in text


def test_the_english_sheet_carries_the_client_coalition_caveat(
    sign_in, clinician, referral, resources
):
    """VIII.E: two numbers printed, one doubtful; the sheet says so as the procedure page does."""
    client = sign_in(clinician)
    assert "We are confirming which of these numbers is current." not in _sheet(client, referral)
    resources["coalition"].needs_confirmation = True
    resources["coalition"].save()
    page = _sheet(client, referral)
    assert "We are confirming which of these numbers is current." in page
    procedure_page = client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "a site admin is confirming these numbers" in procedure_page


def test_no_chosen_group_in_the_clients_language_is_said_and_share_offered(
    sign_in, clinician, clinic, areas, groups, resources
):
    """VIII.B linguistic needs: when no chosen group records the client's language the sheet
    says so in it and points to SHARE!; when one does (Sunrise meets in Spanish), it does not."""
    client = sign_in(clinician)
    english_only = _referral(clinic, clinician, areas, [groups["hope"]], language="es")
    text = _client_text(_sheet(client, english_only))
    assert "Ninguno de estos grupos indica reuniones en español." in text
    assert "SHARE!" in text
    with_spanish = _referral(
        clinic, clinician, areas, [groups["sunrise"]], language="es", record_number="90817265"
    )
    assert "Ninguno de estos grupos" not in _client_text(_sheet(client, with_spanish))
    english = _referral(
        clinic, clinician, areas, [groups["hope"]], language="en", record_number="90817266"
    )
    assert "None of these groups lists meetings" not in _sheet(client, english)


# --- VII.D: when the group's information was last checked ------------------------------------


def _verified_dates(groups):
    Group.objects.filter(pk=groups["sunrise"].pk).update(last_verified_on=date(2026, 3, 2))
    Group.objects.filter(pk=groups["hope"].pk).update(last_verified_on=None)


def test_the_sheet_says_when_the_information_was_checked_with_the_group(
    sign_in, clinician, referral, groups
):
    _verified_dates(groups)
    page = html_lib.unescape(_sheet(sign_in(clinician), referral))
    assert "Information checked with the group on March 2, 2026." in page
    assert "This information has not been checked with the group yet." in page


def test_the_spanish_sheet_says_it_in_spanish(sign_in, clinician, spanish_referral, groups):
    _verified_dates(groups)
    page = html_lib.unescape(_sheet(sign_in(clinician), spanish_referral))
    assert "Información confirmada con el grupo el 2 de marzo de 2026." in page
    assert "Esta información todavía no se ha confirmado con el grupo." in page
