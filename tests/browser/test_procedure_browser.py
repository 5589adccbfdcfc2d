"""The procedure in a real browser: a clinician takes a new client from "add a client" to the
printed Spanish sheet in Chromium, walking the referral procedure VIII.A–J on the referral's
checklist; a week later the worklist shows the one-week follow-up (VIII.J) and it is recorded from
there.
A screenshot of the sheet (screen and print media) and its PDF are kept in ``test-artifacts/``.

Also: axe finds nothing serious or critical on the checklist (just referred, each kind of
refusal, all but VIII.K done), the sheet (English, Spanish, print media, not ready yet), the
worklist (empty, with items) and the follow-up schedule (with an error); and the policy's order
holds in the browser: a step refused shows its message beside the step and nothing is saved.

Sign-in, the counting of screens, clicks and keystrokes, the live screening and the axe scans
come from the referral journey (``test_referrals_browser``); the scans run in a context that
bypasses the CSP (axe's script is injected), the journey under the strict CSP.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from clients.models import Client, PeerContact
from directory.models import Meeting, ReferralResource, ResourcePhone
from referrals.models import FollowUp, FollowUpSchedule, ProcedureStep, Referral
from referrals.rules import eligibility, matching
from referrals.selectors import matching as matching_selectors
from referrals.services import procedure as procedure_services
from referrals.services import referral as referral_services
from referrals.services import screening as screening_services
from tests.browser.conftest import SIGN_IN_PATH, path_is, sign_in_with_password
from tests.browser.test_referrals_browser import (  # the referral journey: data, counting, axe
    IV_H,
    IV_H_DETAIL,
    REFER_SCREENING,
    V_MET,
    VI_A_GROUP,
    VI_B_EXPLAINED,
    VI_B_GROUP,
    Scans,
    Tally,
    decision,
    directory_data,  # noqa: F401 (a fixture)
    live,
    sign_in_as_clinician,
)
from tests.factories.accounts import PASSWORD
from tests.factories.clients import ClientFactory
from tests.factories.directory import ContactFactory, MeetingFactory

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

GROUP = "Grupo Depresion Metro"
GROUP_PHONE = "+13235550144"  # the group's contact for SPA 4 (Metro)
ETIQUETTE = "Members stand for the closing words; joining in is optional."
PEER_FIRST_NAME = "Lupe"  # VIII.C: the peer contact, another client of the clinic
PEER_LAST_NAME = "Ferrer"
PEER_PHONE = "+13235550177"
ADVOCATE = "Marta"  # VIII.H
GOALS = "Talk with others who feel the same"
RECORD_NUMBER = "44559876"
# Resource numbers and hours that are not the policy's: finding them proves the checklist and
# the sheet read the directory's referral resources (VIII.D–E).
SHARE_PHONE = "+18775550149"
FRIENDSHIP_PHONE = "+18885550190"
COALITION_PHONE = "+12135550170"
PROCEDURE = "The referral procedure (VIII.A–K)"
FOLLOWUPS_TABLE = "Follow-ups (VIII.I–J)"


# --- Data ----------------------------------------------------------------------------------------


@pytest.fixture
def procedure_data(directory_data, clinician):  # noqa: F811
    """The referral journey's directory, with what the procedure and the sheet need for the
    Spanish group: a phone contact for Metro (SPA 4), two weekly meetings, an etiquette note,
    SHARE!, the Friendship Line with its hours, the Client Coalition, and a consenting peer
    contact who attends the group (another client of the clinic)."""
    group = directory_data["groups"]["spanish"]
    metro = directory_data["areas"][4]
    group.etiquette_note = ETIQUETTE
    group.save()
    contact = ContactFactory(group=group, phone=GROUP_PHONE, person_first_name="Elena")
    contact.service_areas.add(metro)
    for weekday, start, end, place in [
        (Meeting.Weekday.TUESDAY, "18:30", "20:00", "Biblioteca Benjamin Franklin"),
        (Meeting.Weekday.SATURDAY, "10:00", "11:30", "Centro Comunitario Hollenbeck"),
    ]:
        MeetingFactory(
            group=group,
            weekday=weekday,
            start_time=start,
            end_time=end,
            location_name=place,
            address="2200 E 1st St, Los Angeles",
            service_area=metro,
            language=directory_data["languages"]["es"],
        )
    share = ReferralResource.objects.create(
        key="share", name="SHARE! the Self-Help And Recovery Exchange"
    )
    ResourcePhone.objects.create(resource=share, phone=SHARE_PHONE, label="Toll free")
    friendship = ReferralResource.objects.create(
        key="friendship-line",
        name="Friendship Line",
        hours="5:00 p.m.-9:00 p.m.",
        opens_at=dt.time(17, 0),
        closes_at=dt.time(21, 0),
    )
    ResourcePhone.objects.create(resource=friendship, phone=FRIENDSHIP_PHONE)
    coalition = ReferralResource.objects.create(
        key="client-coalition", name="Client Coalition (Office of Consumer Affairs)"
    )
    ResourcePhone.objects.create(resource=coalition, phone=COALITION_PHONE)
    peer_client = ClientFactory(
        clinic=clinician.clinic,
        created_by=clinician,
        first_name="Guadalupe",
        last_name=PEER_LAST_NAME,
    )
    peer = PeerContact.objects.create(
        client=peer_client,
        clinic=clinician.clinic,
        group=group,
        first_name=PEER_FIRST_NAME,
        phone=PEER_PHONE,
        consented_on=timezone.localdate() - dt.timedelta(days=60),
        recorded_by=clinician,
    )
    return {**directory_data, "group": group, "metro": metro, "peer": peer}


def new_client(clinician, *, language="es", first="Rosa", last="Alvarez") -> Client:
    return ClientFactory(
        clinic=clinician.clinic,
        created_by=clinician,
        first_name=first,
        last_name=last,
        preferred_language=language,
        on_prescribed_medication=True,
    )


def refer(clinician, client: Client, data: dict, *, approve=True, choose=True) -> Referral:
    """A referral made through the services the pages use: screening (refer), VIII.B with the
    client's approval, then the Spanish group chosen (VIII.C), which schedules the follow-ups."""
    screening = screening_services.record_screening(
        client=client,
        answers=eligibility.ScreeningAnswers.from_dict(REFER_SCREENING),
        by=clinician,
    )
    referral = referral_services.start_referral(screening=screening, by=clinician)
    if not approve:
        return referral
    referral = referral_services.record_client_input(
        referral=referral,
        data={
            "goals": GOALS,
            "language": client.preferred_language,
            "preferred_area": data["metro"],
            "approval": Referral.Approval.APPROVED,
            "twelve_step": Referral.TwelveStep.NO_PREFERENCE,
        },
        version=referral.version,
        by=clinician,
    )
    if choose:
        result = matching.match(
            matching_selectors.matching_listings(),
            matching_selectors.client_profile(referral),
            vocabulary=matching_selectors.vocabulary(),
            today=timezone.localdate(),
        )
        referral_services.choose_groups(
            referral=referral,
            suggestions=result.suggestions,
            chosen_ids=[data["group"].pk],
            by=clinician,
        )
        referral.refresh_from_db()
    return referral


def step(page: Page, letter: str) -> Locator:
    """One step of the checklist (its card, ``#step-c``)."""
    return page.locator(f"#step-{letter}")


def step_status(referral: Referral, code: str) -> str:
    return ProcedureStep.objects.get(referral=referral, code=code).status


def shown_date(day: dt.date) -> str:
    """A date as the checklist shows it ("j M Y": 2 Dec 2026)."""
    return f"{day.day} {day.strftime('%b %Y')}"


# --- Counting, stage by stage ----------------------------------------------------------------


class Stages:
    """The tally's figures at each milestone, for the closing note. A milestone is marked once
    the page it ends on has loaded, so that its load counts in its own stage."""

    def __init__(self, page: Page, tally: Tally):
        self.page = page
        self.tally = tally
        self.marks: list[tuple[str, tuple[int, int, int]]] = [("start", tally.snapshot())]

    def mark(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        self.marks.append((name, self.tally.snapshot()))

    def between(self, first: str, last: str) -> tuple[int, int, int]:
        names = [name for name, _ in self.marks]
        before = self.marks[names.index(first)][1]
        after = self.marks[names.index(last)][1]
        return tuple(b - a for a, b in zip(before, after, strict=True))

    def report(self) -> str:
        lines = ["A complete referral (screens = page loads, clicks, keystrokes):"]
        for (_, before), (name, after) in zip(self.marks, self.marks[1:], strict=False):
            s, c, k = (b - a for a, b in zip(before, after, strict=True))
            lines.append(f"  {name:<44} {s:>3} screens {c:>3} clicks {k:>4} keystrokes")
        s, c, k = self.between("signed in", "sheet printed")
        lines.append(
            f"  from 'add a client' to the printed sheet:     {s:>3} screens {c:>3} clicks "
            f"{k:>4} keystrokes ({self.tally.live_updates} live screening updates, no reload)"
        )
        return "\n".join(lines)


# --- 1. The journey ---------------------------------------------------------------------------


def test_a_clinician_completes_a_referral_to_the_printed_spanish_sheet(
    page, settings, clinician, procedure_data, capsys
):
    """The whole procedure: a new client, screened (IV–VI), counselled and approving (VIII.A–B),
    referred to a group (VIII.C), the checklist walked (C introduction, E, F, G, H, I; D not
    needed, J scheduled), the Spanish sheet printed; a week later the worklist shows the
    one-week follow-up (VIII.J), recorded from there."""
    settings.REQUIRE_MFA = False  # the demo's mode: a password, then the role's home
    tally = Tally()
    tally.watch(page)
    stages = Stages(page, tally)
    # The print dialogue is the browser's: window.print is only counted, on every page.
    page.add_init_script("window.print = () => { window.__printed = (window.__printed||0)+1; };")

    page.goto("/")
    expect(page).to_have_url(path_is(SIGN_IN_PATH))
    tally.type(page.get_by_label("Username"), clinician.username)
    tally.type(page.get_by_label("Password"), PASSWORD)
    tally.click(page.get_by_role("button", name="Sign in", exact=True))
    expect(page).to_have_url(path_is("/clinician/"))
    stages.mark("signed in")

    # A new client whose preferred language is Spanish.
    tally.click(page.get_by_role("navigation", name="Main").get_by_role("link", name="Clients"))
    tally.click(page.get_by_role("link", name="Add a client", exact=True))
    tally.type(page.get_by_label("Clinical record number"), RECORD_NUMBER)
    tally.type(page.get_by_label("First name"), "Rosa")
    tally.type(page.get_by_label("Last name"), "Alvarez")
    tally.choose(page.get_by_label("Preferred language"), "Spanish")
    tally.click(page.get_by_label("On appropriately prescribed psychiatric medication"))
    tally.click(page.get_by_role("button", name="Add the client", exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text("Rosa Alvarez")
    client = Client.objects.get(record_number=RECORD_NUMBER)
    assert client.preferred_language == "es"
    stages.mark("add the client")

    # The screening (IV–VI), live beside the questions, then saved: refer.
    tally.click(page.get_by_role("link", name="Screen this client").first)
    live(page, lambda: tally.click(page.get_by_role("checkbox", name=IV_H)), tally=tally)
    live(
        page, lambda: tally.choose(page.get_by_label(IV_H_DETAIL), "Mood disorder: depression"),
        tally=tally,
    )  # fmt: skip
    live(page, lambda: tally.click(page.get_by_label(V_MET)), tally=tally)
    live(
        page,
        lambda: tally.click(
            page.get_by_role("group", name=VI_A_GROUP).get_by_role("radio", name="No", exact=True)
        ),
        tally=tally,
    )
    live(page, lambda: tally.click(page.get_by_label(VI_B_EXPLAINED)), tally=tally)
    live(
        page,
        lambda: tally.click(
            page.get_by_role("group", name=VI_B_GROUP).get_by_role("radio", name="No", exact=True)
        ),
        tally=tally,
    )
    expect(decision(page)).to_contain_text("Refer.")
    tally.click(page.get_by_role("button", name="Save screening"))
    # "Refer": straight on to the referral's one working page.
    referral = Referral.objects.get(client=client)
    expect(page).to_have_url(path_is(f"/referrals/{referral.pk}/"))
    stages.mark("screening (IV–VI)")

    # VIII.A–B, in place: the client's goals, place and approval; the counselling box when it
    # is asked (VIII.A is already done when the screening recorded the explanation VI.B needs).
    counselled = page.get_by_label(re.compile(r"^I have counselled the client"))
    if counselled.count():
        tally.click(counselled)
    tally.type(page.get_by_label("The client's goals in attending a group, in their words"), GOALS)
    tally.type(page.get_by_label("Or a city, neighbourhood or ZIP code"), "Boyle Heights")
    tally.click(page.get_by_role("button", name="The client approves: save and show the groups"))
    expect(page.locator("#choose-groups")).to_be_focused()
    stages.mark("goals, place, approval (VIII.A–B)")

    # VIII.C, in place: the suggested group chosen with the client, in one click.
    # For a client on medication the suggestions are split by what is known of the group's
    # stance (VI.C); the group is picked wherever it is listed.
    tally.click(
        page.get_by_role("button", name=re.compile(rf"^Refer to this group\s*:\s*{GROUP}$"))
    )
    expect(page.get_by_role("region", name=PROCEDURE)).to_be_visible()
    expect(page).to_have_url(path_is(f"/referrals/{referral.pk}/"))
    stages.mark("choose the group (VIII.C)")

    # The checklist, just referred: A and B done. J's follow-ups are scheduled, not yet done.
    checklist = page.get_by_role("region", name=PROCEDURE)
    expect(checklist).to_contain_text("2 of 11 steps done or not applicable")
    for letter in "ab":
        expect(step(page, letter).locator(".badge", has_text="Done")).to_have_count(1)
    expect(step(page, "j").locator(".badge", has_text="Done")).to_have_count(0)
    expect(step(page, "j")).to_contain_text("0 of 3 follow-ups done, next on")
    for letter in "cefghi":
        expect(step(page, letter).locator(".badge", has_text="To do now")).to_have_count(1)
    expect(step(page, "k").locator(".badge", has_text="Pending")).to_have_count(1)

    # VIII.C: the phone introduction to a peer: the first name and the phone they chose to
    # share, to call from the step itself; no surname.
    peers = step(page, "c").get_by_role(
        "group", name="Peer contacts who attend the group (first names only)"
    )
    expect(peers.get_by_role("radio")).to_have_count(1)
    expect(peers).to_contain_text(PEER_FIRST_NAME)
    expect(peers.get_by_role("link", name=re.compile(r"555-0177"))).to_have_attribute(
        "href", re.compile(r"^tel:\+1\d{3}5550177$")
    )
    for hidden in (PEER_LAST_NAME, "Guadalupe"):
        expect(checklist).not_to_contain_text(hidden)
    tally.click(peers.get_by_role("radio", name=re.compile(rf"^{PEER_FIRST_NAME}\b")))
    tally.click(step(page, "c").get_by_role("button", name="The phone introduction took place"))
    expect(step(page, "c")).to_contain_text(f"Introduced to {PEER_FIRST_NAME}.")
    # VIII.D is only for when no peer is available: not needed now, and no button for it.
    expect(step(page, "d").locator(".badge", has_text="Not applicable")).to_have_count(1)
    expect(step(page, "d").get_by_role("button")).to_have_count(0)

    # VIII.E: the Client Coalition's number, from the directory, given.
    expect(step(page, "e")).to_contain_text("Client Coalition (Office of Consumer Affairs)")
    expect(step(page, "e")).to_contain_text(re.compile(r"555.?0170"))
    tally.click(step(page, "e").get_by_role("button", name="Given to the client"))
    expect(step(page, "e").locator(".badge", has_text="Done")).to_have_count(1)

    # VIII.F: the group's own etiquette note and the general customs, discussed.
    expect(step(page, "f")).to_contain_text(ETIQUETTE)
    expect(step(page, "f")).to_contain_text("no crosstalk")
    tally.click(step(page, "f").get_by_role("button", name="Etiquette discussed"))
    expect(step(page, "f").locator(".badge", has_text="Done")).to_have_count(1)

    # VIII.G: six meetings in a row, with the planned dates from the group's two weekly meetings.
    planned = step(page, "g").get_by_text(f"{GROUP}, the next six meetings:")
    expect(planned).to_be_visible()
    dates = planned.inner_text().split(":", 1)[1].split(";")
    assert len(dates) == 6, dates
    assert {d.split()[0] for d in dates} == {"Tue", "Sat"}, dates
    expect(step(page, "g")).to_contain_text("Meetings in a row so far: 0 of the 6 encouraged")
    tally.click(step(page, "g").get_by_role("button", name="Six meetings in a row encouraged"))
    expect(step(page, "g").locator(".badge", has_text="Done")).to_have_count(1)
    stored = ProcedureStep.objects.get(referral=referral, code="VIII.G").details["planned"]
    assert len(stored[str(procedure_data["group"].pk)]) == 6

    # VIII.H: the peer advocate (first name) went to session 1.
    tally.type(step(page, "h").get_by_label("Peer advocate's first name"), ADVOCATE)
    sessions = step(page, "h").get_by_role("group", name="Sessions accompanied")
    tally.click(sessions.get_by_role("checkbox", name="1", exact=True))
    tally.click(step(page, "h").get_by_role("button", name="Record"))
    expect(step(page, "h")).to_contain_text(f"{ADVOCATE} went to session 1 of the first three.")

    # VIII.I: reporting back at appointments, encouraged.
    tally.click(step(page, "i").get_by_role("button", name=re.compile(r"^Done")))
    expect(step(page, "i").locator(".badge", has_text="Done")).to_have_count(1)

    # Everything the referral day allows: all but VIII.J (its follow-ups are weeks away) and
    # VIII.K (it needs an attendance first).
    expect(checklist).to_contain_text("9 of 11 steps done or not applicable")
    expect(checklist.get_by_role("button", name=re.compile(r"^Done\b"))).to_have_count(0)
    statuses = dict(ProcedureStep.objects.filter(referral=referral).values_list("code", "status"))
    assert statuses == {
        **{f"VIII.{x}": "done" for x in "ABCEFGHI"},
        "VIII.D": "pending",  # counted as not needed, never recorded (procedure.effective_status)
        "VIII.J": "pending",  # done once its follow-ups are recorded, not when scheduled
        "VIII.K": "pending",
    }
    c_step = ProcedureStep.objects.get(referral=referral, code="VIII.C")
    assert c_step.peer_contact == procedure_data["peer"]
    assert c_step.details["peer_first_name"] == PEER_FIRST_NAME

    # VIII.I–J: the follow-ups at one, three and six weeks, listed on the referral.
    referred_on = timezone.localdate()
    due = [referred_on + dt.timedelta(weeks=w) for w in (1, 3, 6)]
    table = step(page, "j").get_by_role("table", name=FOLLOWUPS_TABLE)
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(3)
    for row, day in zip(rows.all(), due, strict=True):
        expect(row.get_by_role("cell").first).to_have_text(shown_date(day))
    assert (
        sorted(FollowUp.objects.filter(referral=referral).values_list("due_on", flat=True)) == due
    )
    stages.mark("the checklist (VIII.C–J)")

    # The client's sheet, in Spanish.
    tally.click(page.get_by_role("link", name="Print the client's sheet"))
    expect(page).to_have_url(re.compile(rf"/referrals/{referral.pk}/sheet/#print$"))
    sheet = page.locator("article.client-sheet")
    expect(sheet).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sus grupos de autoayuda")
    text = sheet.inner_text()
    for spanish in [
        GROUP,
        # VIII.C: the group's contact for the client's area, the peer by first name only.
        "(323) 555-0144",
        "pregunte por Elena",
        f"Usted habló por teléfono con {PEER_FIRST_NAME}, que asiste a este grupo.",
        # The two weekly meetings, with Spanish day names and a 24-hour clock.
        "Martes",
        "18:30–20:00",
        "Sábado",
        "10:00–11:30",
        "Biblioteca Benjamin Franklin",
        # VIII.F: the group's note is in English, so the Spanish sheet says it has customs of
        # its own; the general customs in Spanish.
        "Este grupo tiene sus propias costumbres.",
        "En muchos grupos las personas usan solo su nombre de pila.",
        "comentarios cruzados",
        # VIII.G: six scheduled meetings in a row.
        "Intente asistir a seis reuniones programadas seguidas, y después siga yendo con "
        "regularidad.",
        # VIII.D–E: SHARE!, the Friendship Line and its hours, the Client Coalition.
        "(877) 555-0149",
        "Friendship Line",
        "(888) 555-0190",
        "Horario: de 17:00 a 21:00",
        "(213) 555-0170",
        # The clinician and the clinic.
        clinician.clinic.name,
    ]:
        assert spanish in text, spanish
    lowered = text.lower()
    # Nothing clinical, nothing the client did not choose to share (the sheet may be seen by
    # others): no indication, diagnosis, screening answer, goals, record number, surname.
    for never in [
        "depression",
        "mood disorder",
        "trastorno",
        "diagnos",
        "indicat",
        "medication",
        "medicamento",
        "helps with",
        "iv.h",
        "vi.c",
        GOALS.lower(),
        "boyle heights",
        RECORD_NUMBER,
        "alvarez",
        PEER_LAST_NAME.lower(),
        "555-0177",
    ]:
        assert never not in lowered, never
    for english in ["Your self-help groups", "Try six scheduled meetings", "Hours:", "Tuesday"]:
        assert english not in text, english

    # "Print, or save as PDF" opens the browser's print dialogue (print.js, allowed by the
    # CSP); the dialogue itself is the browser's, so window.print is only counted here.
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed++; }; }")
    tally.click(page.get_by_role("button", name="Print, or save as PDF"))
    assert page.evaluate("window.__printed") == 1
    stages.mark("sheet printed")

    # The sheet kept as test artifacts: on screen, as printed (print.css), and as a PDF.
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "sheet-es.png", full_page=True)
    page.emulate_media(media="print")
    expect(page.locator(".sheet-toolbar")).to_be_hidden()  # staff's bar: not on the paper
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(sheet).to_be_visible()
    page.screenshot(path=ARTIFACTS / "sheet-es-print.png", full_page=True)
    page.pdf(path=ARTIFACTS / "sheet.pdf", format="Letter", print_background=True)
    page.emulate_media(media="screen")
    pdf = (ARTIFACTS / "sheet.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    assert 1 <= len(re.findall(rb"/Type\s*/Page[^s]", pdf)) <= 3  # a handout, not a booklet
    for name in ("sheet-es.png", "sheet-es-print.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000

    # The worklist, on the referral day: the one-week follow-up is upcoming this week.
    tally.click(page.get_by_role("navigation", name="Main").get_by_role("link", name="Clinician"))
    expect(page).to_have_url(path_is("/clinician/"))
    followups = page.get_by_role("region", name=re.compile(r"^Follow-ups"))
    expect(followups.locator("tbody tr")).to_have_count(1)
    expect(followups.locator("tbody tr")).to_contain_text("Rosa Alvarez")
    expect(followups.locator("tbody tr")).to_contain_text("Upcoming")
    stages.mark("worklist, the referral day")

    # A week later: the session has long ended (15 minutes idle); signed in again, the
    # one-week follow-up is due today, and is recorded from the worklist.
    week_later = dt.datetime.combine(
        due[0], dt.time(9, 30), tzinfo=ZoneInfo(django_settings.TIME_ZONE)
    )
    with time_machine.travel(week_later, tick=True):
        page.goto("/clinician/")
        expect(page).to_have_url(re.compile(re.escape(SIGN_IN_PATH)))
        tally.type(page.get_by_label("Username"), clinician.username)
        tally.type(page.get_by_label("Password"), PASSWORD)
        tally.click(page.get_by_role("button", name="Sign in", exact=True))
        expect(page).to_have_url(path_is("/clinician/"))
        followups = page.get_by_role("region", name=re.compile(r"^Follow-ups"))
        expect(followups).to_contain_text("0 overdue · 1 due today")
        row = followups.locator("tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Rosa Alvarez")
        expect(row).to_contain_text(GROUP)
        expect(row.locator(".badge", has_text="Due today")).to_have_count(1)
        tally.choose(
            row.get_by_label(re.compile(r"^Outcome of the follow-up")),
            "Reminded; nothing to report yet",
        )
        tally.type(row.get_by_label(re.compile(r"^Note on the follow-up")), "Going on Saturday")
        tally.click(row.get_by_role("button", name="Record"))
        expect(page.get_by_text("Follow-up recorded.")).to_be_visible()
        expect(followups.locator("tbody tr")).to_have_count(0)  # week 3 is two weeks away
        done = FollowUp.objects.get(referral=referral, due_on=due[0])
        assert done.outcome == "reminded" and done.note == "Going on Saturday"
        assert timezone.localdate(done.done_at) == due[0]
        assert FollowUp.objects.filter(referral=referral, done_at__isnull=True).count() == 2
    stages.mark("a week later: follow-up recorded")

    with capsys.disabled():
        print("\n" + stages.report())
    screens, clicks, keys = stages.between("signed in", "sheet printed")
    # Each step saves in place: the screens are the clients list, the add form, the client's
    # page (this journey adds, then screens from there), the screening, the referral's page and
    # the sheet (its dialogue opens as it loads, #print). The budgeted path is counted in
    # test_one_sitting_browser.
    assert screens <= 6 and clicks > 20 and keys > 0, (screens, clicks, keys)


# --- 2. Accessibility -------------------------------------------------------------------------


@pytest.fixture
def scan_page(new_context) -> Page:
    """A page in a context that bypasses the CSP, so that axe's script can run."""
    return new_context(bypass_csp=True).new_page()


def post_from_page(page: Page, action: str) -> None:
    """Submit a form built in the page (with the page's CSRF token) to ``action``: what a
    stale page or a hand-made request sends, a step the checklist offers no button for."""
    page.evaluate(
        """action => {
          const form = document.createElement('form');
          form.method = 'post';
          form.action = action;
          form.appendChild(document.querySelector('input[name=csrfmiddlewaretoken]').cloneNode());
          document.body.appendChild(form);
          form.submit();
        }""",
        action,
    )


def expect_refused(page: Page, letter: str, message: str) -> None:
    """The message is beside the step, as an alert, and the page is the referral's."""
    expect(page.get_by_role("heading", level=1)).to_contain_text("Referral of")
    expect(step(page, letter).get_by_role("alert")).to_contain_text(message)


def test_the_checklist_has_no_serious_accessibility_violations(
    scan_page, settings, clinician, procedure_data
):
    page = scan_page
    scans = Scans(page)
    referral = refer(clinician, new_client(clinician), procedure_data)
    sign_in_as_clinician(page, settings, clinician)
    url = f"/referrals/{referral.pk}/"

    page.goto(url)
    expect(step(page, "c").get_by_role("radio", name=re.compile(PEER_FIRST_NAME))).to_be_visible()
    # Each button names the step it records: "Done (VIII.I)", not one of several "Done"s
    # (those for "not applicable" are inside a closed <details>, hence include_hidden).
    for name in [
        "The phone introduction took place",
        "Given to the client (VIII.E)",
        "Etiquette discussed (VIII.F)",
        "Six meetings in a row encouraged (VIII.G)",
        "Record the peer advocate (VIII.H)",
        "Done (VIII.I)",
        "Record as not applicable (VIII.C)",
        "Record as not applicable (VIII.H)",
    ]:
        buttons = page.get_by_role("button", name=name, exact=True, include_hidden=True)
        expect(buttons).to_have_count(1)
    scans.scan("checklist, just referred")

    # "Does not apply" opened (the <details>), as a clinician would look at it.
    step(page, "c").get_by_text("Does not apply").click()
    scans.scan("checklist, 'does not apply' open")

    # 400: not applicable with only spaces for a reason.
    step(page, "c").get_by_label("Reason").fill("   ")
    step(page, "c").get_by_role("button", name="Record as not applicable").click()
    expect_refused(page, "c", "Give the reason the step does not apply.")
    scans.scan("checklist, reason missing (400)")

    # 409: VIII.D while VIII.C is pending.
    post_from_page(page, f"/referrals/{referral.pk}/steps/d/done/")
    expect_refused(page, "d", "try the phone introduction (VIII.C) first")
    scans.scan("checklist, VIII.D refused (409)")

    # 400: the advocate without a name.
    page.goto(url)
    step(page, "h").get_by_label("Peer advocate's first name").fill(" ")
    step(page, "h").get_by_role("button", name="Record").click()
    expect_refused(page, "h", "required")
    scans.scan("checklist, advocate without a name (400)")

    # 400 on the page as a whole: closing without a reason.
    page.get_by_role("button", name="Close the referral").click()
    expect(page.get_by_role("region", name=PROCEDURE).get_by_role("alert").first).to_be_visible()
    scans.scan("checklist, closing without a reason (400)")

    # Every step the referral day allows, done. Each saves in place: the next click waits
    # for its answer (the region drops a second request while one is on its way).
    page.goto(url)
    step(page, "c").get_by_role("radio", name=re.compile(PEER_FIRST_NAME)).check()
    step(page, "c").get_by_role("button", name="The phone introduction took place").click()
    expect(step(page, "c").locator(".badge", has_text="Done")).to_have_count(1)
    for letter, button in [
        ("e", "Given to the client"),
        ("f", "Etiquette discussed"),
        ("g", "Six meetings in a row encouraged"),
    ]:
        step(page, letter).get_by_role("button", name=button).click()
        expect(step(page, letter).locator(".badge", has_text="Done")).to_have_count(1)
    step(page, "h").get_by_label("Peer advocate's first name").fill(ADVOCATE)
    step(page, "h").get_by_role("checkbox", name="1", exact=True).check()
    step(page, "h").get_by_role("button", name="Record").click()
    expect(step(page, "h")).to_contain_text(f"{ADVOCATE} went to session 1")
    step(page, "i").get_by_role("button", name=re.compile(r"^Done")).click()
    # All but VIII.J (its follow-ups are not yet recorded) and VIII.K.
    expect(page.get_by_role("region", name=PROCEDURE)).to_contain_text("9 of 11 steps")
    scans.scan("checklist, all but VIII.J and VIII.K done")

    scans.check()
    assert len(scans.scanned) == 7


def test_the_sheet_has_no_serious_accessibility_violations(
    scan_page, settings, clinician, procedure_data
):
    page = scan_page
    scans = Scans(page)
    spanish = refer(clinician, new_client(clinician), procedure_data)
    english = refer(
        clinician, new_client(clinician, language="en", first="Ann", last="Lee"), procedure_data
    )
    preparing = refer(
        clinician, new_client(clinician, first="Ben", last="Cho"), procedure_data, choose=False
    )
    sign_in_as_clinician(page, settings, clinician)

    page.goto(f"/referrals/{english.pk}/sheet/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your self-help groups")
    expect(page.locator("article.client-sheet")).to_contain_text("Hours: 5 p.m.–9 p.m.")
    scans.scan("sheet, English")

    page.goto(f"/referrals/{spanish.pk}/sheet/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sus grupos de autoayuda")
    scans.scan("sheet, Spanish")
    page.emulate_media(media="print")
    scans.scan("sheet, Spanish, print media")
    page.emulate_media(media="screen")

    response = page.goto(f"/referrals/{preparing.pk}/sheet/")
    assert response.status == 409
    expect(page.get_by_role("alert")).to_contain_text("still being prepared")
    scans.scan("sheet, not ready (409)")

    scans.check()


def test_the_worklist_has_no_serious_accessibility_violations(
    scan_page, settings, clinician, procedure_data
):
    page = scan_page
    scans = Scans(page)
    sign_in_as_clinician(page, settings, clinician)
    expect(page.get_by_text("No follow-ups overdue, due today or due this week.")).to_be_visible()
    expect(page.get_by_text("No referral is waiting on a step.")).to_be_visible()
    expect(page.get_by_text("No client is due to report back.")).to_be_visible()
    scans.scan("worklist, empty")

    # Referred 20 days ago: the week-1 follow-up is overdue, week 3 is upcoming, and nothing
    # has been heard (VIII.I report back). Plus one referral still waiting on VIII.B.
    old = refer(clinician, new_client(clinician), procedure_data)
    twenty_days_ago = timezone.now() - dt.timedelta(days=20)
    Referral.objects.filter(pk=old.pk).update(referred_at=twenty_days_ago)
    for followup, weeks in zip(old.followups.order_by("due_on"), (1, 3, 6), strict=True):
        followup.due_on = timezone.localdate(twenty_days_ago) + dt.timedelta(weeks=weeks)
        followup.save(update_fields=["due_on"])
    refer(clinician, new_client(clinician, first="Ben", last="Cho"), procedure_data, approve=False)

    page.goto("/clinician/")
    followups = page.get_by_role("region", name=re.compile(r"^Follow-ups"))
    expect(followups.locator(".badge", has_text="Overdue 13 days")).to_have_count(1)
    expect(followups.locator(".badge", has_text="Upcoming")).to_have_count(1)
    waiting = page.get_by_role("region", name=re.compile(r"^Referrals waiting on a step"))
    expect(waiting.locator("tbody tr")).to_have_count(2)
    report = page.get_by_role("region", name=re.compile(r"^Clients due to report back"))
    expect(report.locator("tbody tr")).to_have_count(1)
    record = re.compile(r"^Record the follow-up of Rosa Alvarez due")
    expect(followups.get_by_role("button", name=record)).to_have_count(2)
    scans.scan("worklist, with items")

    row = followups.locator("tbody tr").first
    row.get_by_role("button", name="Record").click()
    expect(page.get_by_text("Follow-up recorded.")).to_be_visible()
    scans.scan("worklist, after recording a follow-up")

    scans.check()


def test_the_followup_schedule_has_no_serious_accessibility_violations(
    scan_page, settings, supervisor
):
    page = scan_page
    scans = Scans(page)
    settings.REQUIRE_MFA = False
    sign_in_with_password(page, supervisor.username)
    expect(page).to_have_url(path_is("/supervisor/"))
    page.get_by_role("link", name="Your clinic's follow-up schedule").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Follow-up schedule")
    weeks = page.get_by_label(re.compile(r"^Follow up after these weeks"))
    expect(weeks).to_have_value("1, 3, 6")
    scans.scan("follow-up schedule")

    weeks.fill("3, 1")
    page.get_by_role("button", name="Save the schedule").click()
    expect(page.get_by_text("List the weeks in increasing order")).to_be_visible()
    expect(page.get_by_text("Nothing was saved.")).to_be_visible()
    assert not FollowUpSchedule.objects.exists()
    scans.scan("follow-up schedule with an error (400)")

    page.get_by_label(re.compile(r"^Follow up after these weeks")).fill("1, 2, 4")
    page.get_by_role("button", name="Save the schedule").click()
    expect(page.get_by_text("The follow-up schedule is saved.")).to_be_visible()
    expect(page.get_by_role("region", name="Changes").locator("tbody tr")).to_have_count(1)
    assert FollowUpSchedule.objects.get().weeks == [1, 2, 4]
    scans.scan("follow-up schedule, saved, with its history")

    scans.check()


# --- 3. The policy's order, in the browser ----------------------------------------------------


def test_the_procedure_order_holds_in_the_browser(page, settings, clinician, procedure_data):
    """A step refused shows its message beside the step, with the right status, and nothing is
    saved: a reason is required for "not applicable" (the browser asks first, the server
    too); VIII.D only when no peer is available (VIII.C first); a peer who withdrew is not
    introduced; a step of a referral closed in another tab is refused (VII.E)."""
    referral = refer(clinician, new_client(clinician), procedure_data)
    sign_in_as_clinician(page, settings, clinician)
    url = f"/referrals/{referral.pk}/"
    page.goto(url)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    # Not applicable without a reason: the browser does not send it (the field is required).
    c = step(page, "c")
    c.get_by_text("Does not apply").click()
    reason = c.get_by_label("Reason")
    expect(reason).to_have_value("No peer contact attending the group is available.")
    reason.fill("")
    c.get_by_role("button", name="Record as not applicable").click()
    assert reason.evaluate("el => el.validity.valueMissing") is True
    expect(page).to_have_url(path_is(url))
    assert posts == []
    # Spaces pass the browser's check, not the server's: 400 and the message beside VIII.C.
    reason.fill("   ")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        c.get_by_role("button", name="Record as not applicable").click()
    assert answer.value.status == 400
    expect_refused(page, "c", "Give the reason the step does not apply.")
    # Beside that step only, and said at the top of the page, where the page opens, with a
    # link to the step.
    expect(page.get_by_role("alert")).to_have_count(2)
    summary = page.locator("#step-errors")
    expect(summary).to_contain_text("Nothing was saved. VIII.C:")
    expect(summary).to_contain_text("Give the reason the step does not apply.")
    expect(summary).to_be_in_viewport()
    summary.get_by_role("link", name="VIII.C").click()
    expect(page).to_have_url(re.compile(r"#step-c$"))
    expect(step(page, "c").get_by_role("alert")).to_be_in_viewport()
    assert step_status(referral, "VIII.C") == "pending"

    # VIII.D while VIII.C is pending: the checklist offers no button; posted anyway, 409.
    expect(step(page, "d").get_by_role("button")).to_have_count(0)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        post_from_page(page, f"/referrals/{referral.pk}/steps/d/done/")
    assert answer.value.status == 409
    expect_refused(page, "d", "try the phone introduction (VIII.C) first")
    assert step_status(referral, "VIII.D") == "pending"

    # The peer withdraws while the page is open: the introduction is refused, with the reason.
    page.goto(url)
    step(page, "c").get_by_role("radio", name=re.compile(PEER_FIRST_NAME)).check()
    procedure_services.withdraw_peer_contact(contact=procedure_data["peer"], by=clinician)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        step(page, "c").get_by_role("button", name="The phone introduction took place").click()
    assert answer.value.status == 400
    expect_refused(page, "c", "That peer contact is no longer available")
    assert step_status(referral, "VIII.C") == "pending"
    # With no peer left: the introduction is not offered, "not applicable" is, then VIII.D.
    page.goto(url)
    expect(step(page, "c").get_by_role("radio")).to_have_count(0)
    expect(step(page, "c")).to_contain_text("No peer contact is available")
    step(page, "c").get_by_text("Does not apply").click()
    step(page, "c").get_by_role("button", name="Record as not applicable").click()
    expect(step(page, "c").locator(".badge", has_text="Not applicable")).to_have_count(1)
    expect(step(page, "d")).to_contain_text("Friendship Line")
    step(page, "d").get_by_role("button", name="Given to the client").click()
    expect(step(page, "d").locator(".badge", has_text="Done")).to_have_count(1)
    assert step_status(referral, "VIII.D") == "done"

    # Closed in another tab (the client declined, VII.E); this tab still offers VIII.F: 409.
    other = page.context.new_page()
    other.goto(url)
    other.get_by_label("The client declined (VII.E)").check()
    other.get_by_role("button", name="Close the referral").click()
    expect(other.get_by_text("The referral is closed.")).to_be_visible()
    other.close()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        step(page, "f").get_by_role("button", name="Etiquette discussed").click()
    assert answer.value.status == 409
    expect_refused(page, "f", "This referral is closed: VIII.F can no longer be recorded.")
    assert step_status(referral, "VIII.F") == "pending"


def test_a_step_sent_twice_is_recorded_once(page, settings, clinician, procedure_data):
    """Bad input: a double-clicked submit records one step. Chromium itself sends a
    double click's form once, so the second submission comes from a second tab opened before
    the first was sent (what a slow double click or a resubmission does): it is answered with
    the checklist, the step done, and one record."""
    referral = refer(clinician, new_client(clinician), procedure_data)
    sign_in_as_clinician(page, settings, clinician)
    url = f"/referrals/{referral.pk}/"
    page.goto(url)
    stale = page.context.new_page()
    stale.goto(url)
    posts: list[int] = []
    for tab in (page, stale):
        tab.on("response", lambda r: posts.append(r.status) if r.request.method == "POST" else None)

    step(page, "e").get_by_role("button", name="Given to the client").dblclick()
    expect(step(page, "e").locator(".badge", has_text="Done")).to_have_count(1)
    stale.bring_to_front()
    step(stale, "e").get_by_role("button", name="Given to the client").click()
    # Saved in place: the checklist again, the address the referral's, no refusal.
    expect(step(stale, "e").locator(".badge", has_text="Done")).to_have_count(1)
    expect(stale).to_have_url(path_is(url))
    expect(stale.get_by_role("alert")).to_have_count(0)

    assert len(posts) >= 2 and set(posts) == {200}, posts
    e_step = ProcedureStep.objects.get(referral=referral, code="VIII.E")
    assert e_step.status == "done"
    assert e_step.history.filter(status="done").count() == 1
